"""The JupyterLite site (`companion site`): its size, a first visit to a lesson until its kernel is
ready, a later visit (reload, and a browser restarted on the same profile), and Run All of the
lesson, in Debian's chromium with every request that is not to the site's loopback server refused;
then, with the browser offline and every request refused, a reload from the service worker's copy.

    .venv/bin/python bench/site.py [--runs 3] [--site DIR]

Targets (issue 21): first visit <= 10 s, later visits <= 6 s, Run All <= 3 s, site <= 60 MB.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from companion.builder.site import build_site, serving  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, REPO  # noqa: E402
from tests.test_site import KERNEL_IDLE, LESSON, RUN_ALL, wait_for_offline_copy  # noqa: E402

DONE = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const k = w.sessionContext.session.kernel;
    return k.status === 'idle' && w.content.widgets.filter(c => c.model.type === 'code')
        .every(c => c.model.executionCount !== null);
}"""
TIMEOUT_MS = 300_000


def size(site: Path) -> dict[str, float]:
    """MB in total and in the largest folders."""
    def mb(folder: Path) -> float:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6

    parts = {"total": mb(site)}
    for sub in ("build", "static/pyodide", "extensions", "files"):
        parts[sub] = mb(site / sub)
    return parts


def visit(page: Any, base: str) -> float:
    """Seconds from asking for the lesson to its kernel being idle."""
    start = time.monotonic()
    page.goto(f"{base}lab/index.html?path={LESSON}")
    page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
    return time.monotonic() - start


def run_all(page: Any) -> float:
    start = time.monotonic()
    page.evaluate(RUN_ALL)
    page.wait_for_function(DONE, timeout=TIMEOUT_MS, polling=50)
    return time.monotonic() - start


def measure(site: Path, base: str, profile: Path) -> dict[str, float]:
    refuse = re.compile(f"^(?!{re.escape(base)})")  # only what is not the site goes through Playwright
    out = {}
    with sync_playwright() as p:
        for round_ in ("first visit", "browser restart"):
            context = p.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), viewport={"width": 1300, "height": 900},
                args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
            context.route(refuse, lambda r: r.abort())
            page = context.pages[0] if context.pages else context.new_page()
            out[round_] = visit(page, base)
            if round_ == "first visit":
                out["run all (first)"] = run_all(page)
                out["reload"] = visit(page, base)
                out["run all (later)"] = run_all(page)
            else:
                wait_for_offline_copy(page, site)
                context.set_offline(True)
                context.route("**/*", lambda r: r.abort())
                out["offline reload"] = visit(page, base)
                out["run all (offline)"] = run_all(page)
            context.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--site", type=Path, help="a site already built (default: build one from the checkout)")
    args = ap.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is absent: install Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        site = args.site
        if site is None:
            start = time.monotonic()
            site = build_site(REPO / "catalog.json", Path(tmp) / "site")
            print(f"build: {time.monotonic() - start:.1f} s (downloads cached)")
        for part, mb in size(site).items():
            print(f"site size {part}: {mb:.1f} MB")
        runs: dict[str, list[float]] = {}
        with serving(site) as base:
            for i in range(args.runs):
                for key, seconds in measure(site, base, Path(tmp) / f"profile-{i}").items():
                    runs.setdefault(key, []).append(seconds)
        for key, values in runs.items():
            print(f"{key}: median {statistics.median(values):.1f} s  (runs: {', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
