"""`pip install course-companion` is enough: the wheel, installed into a new virtual environment with
nothing else run (no `scripts/setup`, no `companion lab`), gives a plain `jupyter lab` the server
extension, so a lesson opens clean, and reopens after Run All and a save with its players and the
static form of its checklist, never "Error displaying widget: model not found".

The wheel is built from this checkout; its dependencies come from the package index (pip's cache
makes a second run quick). The browser is test_browser's (`serve_lab`, with the new environment's
Python for the build, the server and the kernels, and nothing of this checkout on their path).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import CHECKBOX, IFRAME, REPO, Lab, expect, expected_embeds, run_all, screenshot, serve_lab, tick
from test_browser_learner import SETTLED, TAB, WIDGET_ERRORS, open_path, save, wait_for_file

pytestmark = [pytest.mark.browser, pytest.mark.install]

LESSON = ("math-for-ml", 2)


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    # never in this checkout: `python -c` and `-m` put the working folder first on the path
    done = subprocess.run([str(c) for c in cmd], cwd=cwd or Path(tempfile.gettempdir()), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel of this checkout installed by pip, and nothing else."""
    tmp = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", REPO)
    (wheel,) = (tmp / "dist").glob("course_companion-*.whl")
    _run(sys.executable, "-m", "venv", tmp / "venv")
    python = tmp / "venv" / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    return python


@pytest.fixture(scope="module")
def wheel_lab(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with serve_lab(tmp_path_factory.mktemp("wheel-lab"), str(installed), this_checkout=False) as lab:
        yield lab


def test_the_wheel_installs_the_switch_that_turns_the_extension_on(installed: Path):
    switch = installed.parents[1] / "etc/jupyter/jupyter_server_config.d/companion.json"
    assert json.loads(switch.read_text()) == {"ServerApp": {"jpserver_extensions": {"companion": True}}}
    where = _run(installed, "-c", "import companion; print(companion.__file__)")
    assert str(installed.parents[1]) in where, f"the new environment imports another companion: {where}"
    assert str(REPO) not in where


def test_the_wheel_ships_the_hub_pages_templates(installed: Path):
    code = ("from importlib.resources import files; "
            "print(*sorted(p.name for p in (files('companion.hub') / 'templates').iterdir()))")
    shipped = _run(installed, "-c", code).split()
    assert shipped == sorted(p.name for p in (REPO / "companion" / "hub" / "templates").iterdir()), shipped


def test_a_plain_jupyter_lab_of_a_pip_install_opens_clean_and_reopens_with_players_and_ticks(wheel_lab: Lab):
    lab, page, (course, key) = wheel_lab, wheel_lab.page, LESSON
    assert lab.log is not None
    assert "companion: course notebooks open clean" in lab.log.read_text(errors="replace")
    path = lab.notebook(course, key)
    rel = path.relative_to(lab.notebooks).as_posix()
    players = len(expected_embeds(lab.catalog, course, key))

    open_path(lab, rel)
    state = page.evaluate(SETTLED)
    assert not state["dirty"] and not state["app"], f"marked changed on open: {state}"
    expect(page.locator(IFRAME)).to_have_count(players)

    run_all(page)
    boxes = page.locator(CHECKBOX)
    boxes.first.scroll_into_view_if_needed()
    tick(boxes.first)
    expect(page.locator(".jupyter-widgets").get_by_text("1 of", exact=False).first).to_be_visible()
    save(lab)
    saved = wait_for_file(path, "Checklist: 1 of", page=page)
    assert "application/vnd.jupyter.widget-view+json" not in saved, "a live widget reference was saved"

    lab.close_all()
    open_path(lab, rel)
    expect(page.locator(IFRAME)).to_have_count(players)
    static = page.locator(".jp-OutputArea-output .companion-static").filter(has_text="Checklist:")  # not a self-check
    expect(static).to_have_count(1)
    expect(static).to_contain_text("☑ ▶")
    page.evaluate(SETTLED)
    expect(page.locator(TAB)).not_to_have_class(re.compile(r"jp-mod-dirty"))
    assert not WIDGET_ERRORS.search(page.locator(".jp-Notebook").inner_text()), "a widget error is on the page"
    screenshot(page, "pip-install-reopened.png")
