"""The JupyterLite site (`companion site`) in Debian's chromium, with every request that is not to
the site's loopback server refused: a lesson runs in the browser's Python, a tick and an answer
survive a reload, and a new build deployed over the site shows its new prompt and keeps the answer."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

from companion.api import build
from companion.builder.site import build_site, serving
from companion.kernel.embed import OFFLINE
from tests.test_browser import CHECKBOX, CHROMIUM, CHROMIUM_ARGS, REPO, scroll_to_cell, tick

pytestmark = pytest.mark.browser

LESSON = "math-for-ml/02-vectors-as-arrows-and-as-lists-of.ipynb"
SHOTS = REPO / "test-output" / "site"
TIMEOUT_MS = 120_000  # a first visit loads ~40 MB into a new Python on a shared 2-core machine
KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!(k && k.status === 'idle' && w.content.widgets.length);
}"""
RUN_ALL = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    await w.context.ready; await w.sessionContext.ready;
    await window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""
DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"
CELLS = """() => Object.fromEntries(window.jupyterapp.shell.currentWidget.content.widgets
    .map(c => [c.model.id, c.model.sharedModel.getSource()]))"""


@contextmanager
def offline_browser(base: str) -> Iterator[Any]:
    """A chromium context that can reach `base` and nothing else; yields (context, refused URLs)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium for browser tests")
    refused: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            *CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", route)
            yield context, refused
        finally:
            browser.close()


def open_lesson(page: Any, base: str, path: str = LESSON) -> None:
    """Open a notebook of the site and wait until its kernel is ready."""
    page.goto(f"{base}lab/index.html?path={path}")
    page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)


def run_all(page: Any) -> None:
    page.evaluate(RUN_ALL)
    expect(page.locator(CHECKBOX).first).to_be_visible()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def saved(page: Any) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def wait_for_offline_copy(page: Any, site: Path) -> None:
    """Until the site's service worker has every file of this build, and no other build's, in Cache
    Storage (polled here: wait_for_function takes a Promise for true)."""
    manifest = next(site.glob("offline-*.json"))
    want = {f"companion-{manifest.stem}": len(json.loads(manifest.read_text(encoding="utf-8")))}
    copies = """async () => Object.fromEntries(await Promise.all((await caches.keys())
        .filter(n => n.startsWith('companion-offline-'))
        .map(async n => [n, (await (await caches.open(n)).keys()).length])))"""
    for _ in range(TIMEOUT_MS // 500):
        if (held := page.evaluate(copies)) == want:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"the offline copy is {held}, not {want}")


def deploy(site: Path, live: Path) -> None:
    """What a static host does with a new build: the folder's files replaced."""
    if live.exists():
        shutil.rmtree(live)
    shutil.copytree(site, live)


def second_build(tmp: Path, prompt: str) -> Path:
    """The checkout's catalog with lesson 2's first prompt reworded, built like a course update."""
    shutil.copytree(REPO / "lessons", tmp / "lessons")
    shutil.copytree(REPO / "notebooks", tmp / "notebooks")
    catalog = json.loads((REPO / "catalog.json").read_text(encoding="utf-8"))
    lesson = next(l for c in catalog["courses"] if c["id"] == "math-for-ml" for l in c["lessons"] if l["id"] == "lesson-2")
    lesson["prompts"][0]["text"] = prompt
    (tmp / "catalog.json").write_text(json.dumps(catalog, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    build(tmp / "catalog.json", tmp / "notebooks", trust=False)
    return tmp / "catalog.json"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(REPO / "catalog.json", tmp_path_factory.mktemp("site") / "site")


def test_a_lesson_runs_offline_in_the_site_keeps_tick_and_answer_and_takes_a_new_build(site: Path, tmp_path: Path):
    served, built = (nbformat.read(folder / LESSON, as_version=4) for folder in (site / "files", REPO / "notebooks"))
    assert served.cells == built.cells and served.metadata.companion == built.metadata.companion
    assert served.metadata.kernelspec.name == "python"  # the site's kernel: the lesson opens unchanged
    assert '"text/html": "' in (site / "files" / LESSON).read_text(encoding="utf-8")  # whole, not a list of lines
    new_prompt = f"Reworded for the second build {os.urandom(3).hex()}: name the three views of a vector."
    site_2 = build_site(second_build(tmp_path / "checkout-2", new_prompt), tmp_path / "site-2")
    nb = json.loads((REPO / "notebooks" / LESSON).read_text(encoding="utf-8"))
    answer_id = next(c["id"] for c in nb["cells"] if c["metadata"].get("tags") == ["answer"])
    prompt_id = next(c["id"] for c in nb["cells"] if c["metadata"].get("companion", {}).get("role") == "prompt")
    answer = f"an arrow, a list, anything added and scaled {os.urandom(3).hex()}"
    live = tmp_path / "live"
    deploy(site, live)

    with serving(live) as base, offline_browser(base) as (context, refused):
        page = context.new_page()
        page.goto(base)  # the address a teacher sends: start-here, as built
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.title.label === 'start-here.ipynb'")
        open_lesson(page, base)
        assert not page.evaluate(DIRTY)  # no "changed" mark on a lesson only opened
        run_all(page)
        box = page.locator(CHECKBOX).first
        tick(box)
        cell = scroll_to_cell(page, answer_id)
        cell.click()
        page.keyboard.press("Enter")
        page.keyboard.type(answer)
        page.keyboard.press("Shift+Enter")
        saved(page)
        shot(page, "1-ticked-and-answered.png")

        page.reload()
        page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
        assert page.evaluate(CELLS)[answer_id] == answer
        run_all(page)
        expect(page.locator(CHECKBOX).first).to_be_checked()
        shot(page, "2-after-reload.png")

        deploy(site_2, live)
        page.reload()
        page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
        run_all(page)  # the lesson sees the new build, rewrites its saved copy and reloads the tab
        page.wait_for_function(f"() => ({CELLS})()[{json.dumps(prompt_id)}].includes({json.dumps(new_prompt)})")
        cells = page.evaluate(CELLS)
        assert cells[answer_id] == answer
        expect(page.locator(CHECKBOX).first).to_be_checked()
        shot(page, "3-new-build-keeps-the-tick.png")
        scroll_to_cell(page, prompt_id)
        expect(page.locator(".jp-RenderedMarkdown", has_text=new_prompt)).to_be_visible()
        expect(page.locator(".jp-RenderedMarkdown", has_text=answer)).to_be_visible()
        shot(page, "4-new-build-shows-the-new-prompt-and-keeps-the-answer.png")
        wait_for_offline_copy(page, site_2)  # the new build's worker replaced the offline copy
        assert refused and not any(u.startswith(base) for u in refused)



def test_the_site_opens_runs_a_lesson_and_keeps_a_tick_offline_after_one_visit(site: Path) -> None:
    live_server = ExitStack()
    base = live_server.enter_context(serving(site))
    with live_server, offline_browser(base) as (context, refused):
        page = context.new_page()
        open_lesson(page, base, "math-for-ml/index-math-for-ml.ipynb")  # lesson 2 is first opened offline
        page.evaluate(RUN_ALL)
        wait_for_offline_copy(page, site)

        live_server.close()  # the network cut: no server, and nothing leaves the browser
        context.set_offline(True)
        cut: list[str] = []

        def refuse(r: Any) -> None:
            cut.append(r.request.url)
            r.abort()

        context.route("**/*", refuse)
        page.reload()
        page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
        open_lesson(page, base)
        run_all(page)
        tick(page.locator(CHECKBOX).first)
        shot(page, "offline-1-lesson-ran-and-ticked.png")
        player = page.locator(".cc-offline").first
        player.scroll_into_view_if_needed()
        expect(player).to_contain_text(OFFLINE)
        shot(page, "offline-2-the-player-says-it-needs-the-network.png")

        page.reload()
        page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
        run_all(page)
        expect(page.locator(CHECKBOX).first).to_be_checked()
        shot(page, "offline-3-tick-kept-after-reload.png")
        assert any(u.startswith(base) for u in cut), "the worker never tried the network"
        assert not any(u.startswith(base) for u in refused)
