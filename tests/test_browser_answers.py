"""Answering as the lesson says, in a real JupyterLab: the Reflect section's own words, read from the
notebook, followed key by key after Run All, put the typed answer in the answer cell and on disk.

Shares test_browser's build, server and browser (its fixtures, imported). Screenshots go to
test-output/browser/."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import pytest
from test_browser import (  # noqa: F401
    TIMEOUT_MS,
    Lab,
    expect,
    lab,
    run_all,
    screenshot,
    scroll_to_cell,
    server,
)

pytestmark = pytest.mark.browser

# one lesson per case: a case saves its answer into the module's copy of the notebook
LESSONS = {True: ("intuition-3blue1brown", 1), False: ("intuition-3blue1brown", 3)}
# The words an instruction uses for each action, in the order they appear in the text.
STEP = re.compile(r"\b(?P<click>click)\b|\bpress \*\*(?P<press>[^*]+)\*\*|\b(?P<type>type)\b|"
                  r"\bsave with \*\*(?P<save>[^*]+)\*\*", re.IGNORECASE)
KEYS = {"enter": "Enter", "shift+enter": "Shift+Enter", "ctrl+s": "Control+s"}  # the lesson's names → Playwright's


def steps(instruction: str) -> list[tuple[str, str]]:
    """(action, key) of each step the instruction names, in its order: click, press K, type, save with K."""
    out = []
    for m in STEP.finditer(instruction):
        kind = m.lastgroup or ""
        key = m[kind] if kind in ("press", "save") else ""
        out.append(("press" if kind == "save" else kind, KEYS[key.lower()] if key else ""))
    return out


def model_cells(page: Any) -> list[dict[str, str]]:
    return page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .map(c => ({id: c.model.id, source: c.model.sharedModel.getSource()}))""")


@pytest.mark.parametrize("run_first", [True, False], ids=["after-run-all", "before-running"])
def test_an_answer_typed_as_the_reflect_section_says_lands_in_its_cell_and_on_disk(lab: Lab, run_first: bool):
    page = lab.page
    path = lab.open(*LESSONS[run_first])
    nb = json.loads(path.read_text(encoding="utf-8"))
    instruction = next("".join(c["source"]) for c in nb["cells"] if c["id"] == "reflect")
    todo = steps(instruction)
    assert [a for a, _ in todo][:1] == ["click"] and ("type", "") in todo and ("press", "Control+s") in todo, (
        f"the Reflect section no longer says click, type and save in words this test reads: {instruction!r}")
    answer_id = next(c["id"] for c in nb["cells"] if c["metadata"].get("tags") == ["answer"])
    text = f"my answer about backprop {os.urandom(3).hex()}"  # letters JupyterLab binds to commands in command mode

    if run_first:
        run_all(page)
    before = model_cells(page)
    cell = scroll_to_cell(page, answer_id)
    screenshot(page, f"answer-1-before-{run_first=}.png")
    for action, key in todo:
        if action == "click":
            cell.click()
        elif action == "type":
            page.keyboard.type(text)
        else:
            page.keyboard.press(key)
    after = model_cells(page)
    assert len(after) == len(before), f"the keys made {len(after) - len(before)} stray cells"
    # Before running, JupyterLab shows an empty markdown cell as an open editor, so the click is
    # already in it and Enter adds a first blank line: the same answer in markdown, kept as typed.
    typed = "\n" + text if not run_first else text
    assert [c for c in after if c["id"] == answer_id] == [{"id": answer_id, "source": typed}]
    assert [c for c in after if c["id"] != answer_id] == [c for c in before if c["id"] != answer_id]
    expect(cell.locator(".jp-RenderedMarkdown")).to_contain_text(text)  # rendered, as the learner reads it

    deadline, saved = time.monotonic() + TIMEOUT_MS / 1000, {}
    while time.monotonic() < deadline:  # the server writes the file: nothing in the page to wait on
        try:  # jupyter_server writes a file in place (its backup copy aside): it can be read half written
            saved = {c["id"]: "".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}
        except ValueError:
            saved = {}
        if saved.get(answer_id) == typed:
            break
        time.sleep(0.3)
    assert saved.get(answer_id) == typed, "the save did not write the answer"
    assert len(saved) == len(before), "the file's cell count changed"
    assert page.locator(".jp-Dialog").count() == 0
    screenshot(page, f"answer-2-typed-and-saved-{run_first=}.png")


def test_a_series_lower_case_title_is_shown_with_a_capital(lab: Lab):
    lesson = lab.catalog.course("intuition-3blue1brown").lesson(1)
    assert lesson.videos[0].title == "What is a Neural Network?"  # the source writes "what is a Neural Network?"
    lab.open("intuition-3blue1brown", 1)
    expect(lab.page.locator(".jp-RenderedMarkdown h2").first).to_contain_text("1. What is a Neural Network?")
    screenshot(lab.page, "lesson-top-capitalised-title.png")
