"""A learner's JupyterLab, end to end in Debian's chromium: notebooks open clean, reopen without
widget errors, survive a rebuild while open, and the file browser shows the courses.

Shares test_browser's build, server and browser set-up (its fixtures, imported here, give this
module a JupyterLab of its own); the server runs with the settings `scripts/setup` records in the
environment (companion/serverext.py), as a learner's plain `jupyter lab` would. Screenshots go to
test-output/browser/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_browser import (  # noqa: F401
    CHECKBOX,
    SCREENSHOTS,
    TIMEOUT_MS,
    Lab,
    expect,
    lab,
    run_all,
    screenshot,
    scroll_to_cell,
    server,
    tick,
)

from companion.course.layout import TOP  # noqa: E402

pytestmark = pytest.mark.browser

LESSON = ("deep-learning-3blue1brown", 1)
REBUILT = ("intuition-3blue1brown", 2)
TAB = '.lm-TabBar-tab.jp-mod-current[data-type="document-title"]'  # the open notebook's tab
WIDGET_ERRORS = re.compile(r"Error displaying widget|model not found", re.I)

# Everything JupyterLab does to a notebook when its kernel connects: the kernel's info reply
# (language_info) and its spec (kernelspec) are written into the notebook's metadata.
SETTLED = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    await w.context.ready;
    await w.sessionContext.ready;
    const kernel = w.sessionContext.session.kernel;
    await kernel.info;
    await kernel.spec;
    await new Promise(resolve => setTimeout(resolve, 1000));  // the metadata updates run on those replies
    return {dirty: w.context.model.dirty, app: window.jupyterapp.status.isDirty,
            title: document.title, language: w.context.model.getMetadata('language_info')};
}"""
CLOSED_OR_ASKED = """path => !!document.querySelector('.jp-Dialog') ||
    !Array.from(window.jupyterapp.shell.widgets('main')).some(w => w.context && w.context.path === path)"""


def companion(lab: Lab, *args: str) -> subprocess.CompletedProcess:
    """The real CLI against the module's catalog and notebooks, with the server's environment."""
    done = subprocess.run([sys.executable, "-m", "companion", *args, "--catalog", str(lab.catalog.path),
                           "--out", str(lab.notebooks)], env=lab.env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), f"{done.stdout}\n{done.stderr}"
    return done


def open_path(lab: Lab, rel: str) -> None:
    from test_browser import NOTEBOOK_READY

    lab.page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", rel)
    lab.page.wait_for_function(NOTEBOOK_READY, arg=rel)


def save(lab: Lab) -> None:
    """Ctrl+S as a command, not awaited: an awaited save never returns while a dialog is up."""
    lab.page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")


def wait_for_file(path: Path, *needles: str, page: Any = None, timeout_s: float = TIMEOUT_MS / 1000) -> str:
    """The file's text once it holds every needle; fails at once if `page` shows a dialog meanwhile."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8")
        if all(n in text for n in needles):
            return text
        if page is not None and page.locator(".jp-Dialog").count():
            pytest.fail(f"JupyterLab asked instead of saving: {page.locator('.jp-Dialog').inner_text()!r}")
        time.sleep(0.3)  # the server writes the file: nothing in the page to wait on
    pytest.fail(f"{path} never held {needles}")


@pytest.mark.parametrize("kind", ["lesson", "course index", "top index"])
def test_an_untouched_notebook_stays_clean_once_its_kernel_connects_and_closes_without_a_question(lab: Lab, kind):
    page = lab.page
    course, key = LESSON
    rel = {"lesson": lab.notebook(course, key).relative_to(lab.notebooks).as_posix(),
           "course index": f"{course}/index-{course}.ipynb", "top index": "start-here.ipynb"}[kind]
    open_path(lab, rel)
    state = page.evaluate(SETTLED)
    assert state["language"].get("version"), "the kernel did not report its language_info yet"
    assert not state["dirty"] and not state["app"], f"{rel} marked changed on open: {state}"
    expect(page.locator(TAB)).not_to_have_class(re.compile(r"jp-mod-dirty"))
    screenshot(page, f"clean-on-open-{kind.replace(' ', '-')}.png")
    # Nothing to save: closing asks nothing, and a reload would not ask "Leave site?" (JupyterLab
    # asks exactly when its status is dirty).
    page.evaluate("() => { window.jupyterapp.commands.execute('application:close'); }")
    page.wait_for_function(CLOSED_OR_ASKED, arg=rel)
    assert page.locator(".jp-Dialog").count() == 0, "closing an untouched notebook asked a question"
    assert page.evaluate("() => window.jupyterapp.status.isDirty") is False


@pytest.mark.parametrize("kind", ["lesson", "course index"])
def test_run_save_and_reopen_shows_the_saved_static_form_never_a_widget_error(lab: Lab, kind):
    page = lab.page
    course, key = LESSON
    path = lab.notebook(course, key) if kind == "lesson" else lab.notebooks / course / f"index-{course}.ipynb"
    rel = path.relative_to(lab.notebooks).as_posix()
    open_path(lab, rel)
    run_all(page)
    if kind == "lesson":
        boxes = page.locator(CHECKBOX)
        boxes.first.scroll_into_view_if_needed()
        tick(boxes.first)
        expect(page.locator(".jupyter-widgets").get_by_text(re.compile(r"^1 of \d+ items done in this lesson"))).to_be_visible()
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")
    saved = wait_for_file(path, "Checklist: 1 of" if kind == "lesson" else "Whole course")
    assert "application/vnd.jupyter.widget-view+json" not in saved, "a live widget reference was saved"

    lab.close_all()  # the tab and its kernel are gone; reopening starts a kernel that has no widgets
    open_path(lab, rel)
    # a lesson's checklist: its static form; a course index: its table (plain HTML, never a widget)
    static = page.locator(".jp-OutputArea-output " + (".companion-static" if kind == "lesson" else "table"))
    if kind == "lesson":  # the checklist's, and each self-check's (saved as it was: no answer tried)
        checks = lab.catalog.course(course).lesson(key).checks
        expect(static.filter(has_text="to check your answer here")).to_have_count(len(checks))
        static = static.filter(has_text="Checklist:")
    expect(static).to_have_count(1)
    static.scroll_into_view_if_needed()
    if kind == "lesson":
        expect(static).to_contain_text("☑ ▶")
        expect(static).to_contain_text("Run All Cells")
    else:
        expect(static).to_contain_text("Whole course")
    page.evaluate(SETTLED)
    assert not WIDGET_ERRORS.search(page.locator(".jp-Notebook").inner_text()), "a widget error is on the page"
    screenshot(page, f"reopened-{kind.replace(' ', '-')}.png")


def test_rebuild_while_open_keeps_the_typed_answer_takes_the_catalog_change_and_asks_nothing(lab: Lab):
    page = lab.page
    course, key = REBUILT
    path = lab.notebook(course, key)
    rel = path.relative_to(lab.notebooks).as_posix()
    nb = json.loads(path.read_text(encoding="utf-8"))
    answer_id = next(c["id"] for c in nb["cells"] if c["metadata"].get("tags") == ["answer"])
    typed = f"typed before the rebuild {os.urandom(3).hex()}"
    open_path(lab, rel)
    page.evaluate(SETTLED)
    cell = scroll_to_cell(page, answer_id)
    cell.dblclick()
    expect(cell.locator(".cm-content")).to_be_focused()
    page.keyboard.type(typed)

    # The catalog gains a prompt for this lesson; the build runs while the tab holds unsaved text.
    catalog = json.loads(lab.catalog.path.read_text(encoding="utf-8"))
    lesson = next(l for c in catalog["courses"] if c["id"] == course for l in c["lessons"]
                  if l["id"] == nb["metadata"]["companion"]["lesson_id"])
    prompt = f"A prompt added while the lesson was open {os.urandom(3).hex()}"
    lesson["prompts"] = [*lesson.get("prompts", []), {"id": "added-while-open", "text": prompt}]
    lab.catalog.path.write_text(json.dumps(catalog, indent=2, ensure_ascii=False), encoding="utf-8")
    companion(lab, "build")
    assert prompt in path.read_text(encoding="utf-8") and typed not in path.read_text(encoding="utf-8")
    screenshot(page, "rebuild-while-open-1-typed-then-rebuilt.png")

    save(lab)
    wait_for_file(path, typed, prompt, page=page)
    assert page.locator(".jp-Dialog").count() == 0, "the save asked a question (File Changed?)"
    expect(page.locator(TAB)).not_to_have_class(re.compile(r"jp-mod-dirty"))
    assert companion(lab, "build", "--check").returncode == 0, "the saved notebook is not up to date"
    assert typed in path.read_text(encoding="utf-8") and prompt in path.read_text(encoding="utf-8")
    screenshot(page, "rebuild-while-open-2-saved-no-dialog.png")

    # Reopened, the tab shows both.
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:reload'); }")
    expect(page.locator(".jp-Notebook")).to_contain_text(prompt)
    expect(page.locator(".jp-Notebook")).to_contain_text(typed)
    assert page.locator(".jp-Dialog").count() == 0
    scroll_to_cell(page, "prompt-added-while-open")
    screenshot(page, "rebuild-while-open-3-reloaded.png")


def test_the_file_browser_shows_the_courses_not_the_repository(lab: Lab):
    page = lab.page
    page.evaluate("async () => { await window.jupyterapp.commands.execute('filebrowser:activate'); }")
    names = page.locator(".jp-DirListing-content .jp-DirListing-itemName")
    expect(names.first).to_be_visible()
    shown = set(names.all_inner_texts())
    assert shown == {*TOP, *lab.catalog.courses}, shown
    assert list((lab.notebooks.parent / "text").rglob("*.md")), "the build kept text twins: in text/, not here"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "file-browser.png"))  # with the file browser open
