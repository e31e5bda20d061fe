"""A run lesson survives its save, as a learner meets it in JupyterLab and chromium: Run All, tick,
write an answer, save (Ctrl+S, JupyterLab's autosave, or a save that takes in a rebuild made while
the tab was open), close, reopen: the players are there and the notebook is trusted.

The server is test_browser's (its fixtures, imported here, give this module a JupyterLab of its own)
and runs with the server extension this environment switches on, as a learner's `jupyter lab` would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from test_browser import (  # noqa: F401
    CHECKBOX,
    IFRAME,
    TIMEOUT_MS,
    Lab,
    expect,
    expected_embeds,
    lab,
    run_all,
    screenshot,
    scroll_to_cell,
    server,
    tick,
)
from test_browser_learner import companion, open_path, save, wait_for_file

pytestmark = pytest.mark.browser

LESSON = ("math-for-ml", 2)  # the lesson the learner who found the bug reproduced it on, every time
AUTOSAVE = "lab/user-settings/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"
TRUSTED = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const code = Array.from({length: cells.length}, (_, i) => cells.get(i)).filter(c => c.type === 'code');
    return code.length > 0 && code.every(c => c.trusted);
}"""


def signed(lab: Lab, path: Path) -> bool:
    """What the server decides on open: the file's signature is in this lab's trust database."""
    from nbformat.sign import NotebookNotary

    return bool(NotebookNotary(data_dir=lab.env["JUPYTER_DATA_DIR"]).check_signature(nbformat.read(path, 4)))


def answer_cell(path: Path) -> str:
    return next(c["id"] for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                if c["metadata"].get("tags") == ["answer"])


def type_answer(lab: Lab, cell_id: str, text: str) -> None:
    """Select the answer cell, Enter to edit, type, Shift+Enter to show it."""
    cell = scroll_to_cell(lab.page, cell_id)
    cell.click()
    lab.page.keyboard.press("Enter")
    expect(cell.locator(".cm-content")).to_be_focused()
    lab.page.keyboard.type(text)
    lab.page.keyboard.press("Shift+Enter")


def add_prompt(lab: Lab, path: Path, prompt: str) -> None:
    """An author's catalog edit to this lesson, then a build."""
    catalog = json.loads(lab.catalog.path.read_text(encoding="utf-8"))
    lesson_id = json.loads(path.read_text(encoding="utf-8"))["metadata"]["companion"]["lesson_id"]
    lesson = next(l for c in catalog["courses"] if c["id"] == LESSON[0] for l in c["lessons"] if l["id"] == lesson_id)
    lesson["prompts"] = [*lesson.get("prompts", []), {"id": f"added-{os.urandom(3).hex()}", "text": prompt}]
    lab.catalog.path.write_text(json.dumps(catalog, indent=2, ensure_ascii=False), encoding="utf-8")
    companion(lab, "build")


@pytest.mark.parametrize("how", ["ctrl-s", "autosave", "rebuild"])
def test_a_run_ticked_and_answered_lesson_reopens_trusted_with_its_players(lab: Lab, how: str):
    page, (course, key) = lab.page, LESSON
    path = lab.notebook(course, key)
    rel = path.relative_to(lab.notebooks).as_posix()
    players = len(expected_embeds(lab.catalog, course, key))
    assert players >= 1 and signed(lab, path), "the build trusts the lessons it writes"
    settings = Path(lab.env["JUPYTER_CONFIG_DIR"]) / AUTOSAVE
    if how == "autosave":  # JupyterLab's own autosave, every 2 s instead of every 2 min
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text('{"autosave": true, "autosaveInterval": 2}')
        lab.load()
        interval = page.evaluate("""async () => (await window.jupyterapp.serviceManager.settings.fetch(
            '@jupyterlab/docmanager-extension:plugin')).settings.autosaveInterval""")
        assert interval == 2, f"JupyterLab did not take the autosave setting: {interval}"
    try:
        open_path(lab, rel)
        run_all(page)
        boxes = page.locator(CHECKBOX)
        boxes.first.scroll_into_view_if_needed()
        tick(boxes.first)
        expect(page.locator(".jupyter-widgets").get_by_text("1 of", exact=False).first).to_be_visible()
        answer = f"my answer about vectors {os.urandom(3).hex()}"
        type_answer(lab, answer_cell(path), answer)
        needles = [answer, "Checklist: 1 of"]
        if how == "rebuild":
            prompt = f"A prompt the author added {os.urandom(3).hex()}"
            add_prompt(lab, path, prompt)
            needles.append(prompt)
        if how != "autosave":
            save(lab)
        wait_for_file(path, *needles, page=page, timeout_s=2 * TIMEOUT_MS / 1000)
        assert page.locator(".jp-Dialog").count() == 0, "saving asked a question"
        assert signed(lab, path), f"saved ({how}) but not trusted: the players vanish on reopen"
        screenshot(page, f"save-{how}-1-run-ticked-answered.png")
    finally:
        if settings.exists():
            settings.unlink()

    lab.close_all()
    if how == "rebuild":  # and a build that merges the saved lesson, closed this time
        add_prompt(lab, path, later := f"Another prompt, added after the save {os.urandom(3).hex()}")
        assert later in path.read_text(encoding="utf-8") and answer in path.read_text(encoding="utf-8")
        assert signed(lab, path), "the build merged the learner's lesson and left it untrusted"
    if how == "autosave":
        lab.load()  # back to the default interval for the next test
    open_path(lab, rel)
    expect(page.locator(IFRAME)).to_have_count(players)
    assert page.evaluate(TRUSTED), "the reopened notebook is not trusted"
    notebook = page.locator(".jp-Notebook")
    expect(notebook).to_contain_text(answer)
    page.locator(IFRAME).first.scroll_into_view_if_needed()
    screenshot(page, f"save-{how}-2-reopened.png")
