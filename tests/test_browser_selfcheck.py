"""A self-check in a learner's JupyterLab (Debian's chromium): a wrong answer shows the hint, a right
one the explanation and ticks the checklist, and after a kernel restart and Run All the result is kept.

Shares test_browser's build, server and browser set-up; the screenshot after a right answer is the
learner guide's (docs/self-check.png, shown in docs/learner-guide.md).
"""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401
    CHECKBOX,
    REPO,
    Lab,
    expect,
    lab,
    run_all,
    screenshot,
    scroll_to_cell,
    server,
)

from companion.learner.store import ProgressStore
from companion.learner.tally import lesson_items

pytestmark = pytest.mark.browser

LESSON = ("deep-learning-3blue1brown", 1)
CHECK = "total-params"  # a number: 784·16 + 16 + 16·16 + 16 + 16·10 + 10


def answer(cell, typed: str) -> None:
    cell.locator(".jupyter-widgets input[type='text']").fill(typed)
    cell.get_by_role("button", name="Check").click()


def test_a_self_check_answered_wrong_shows_its_hint_then_right_its_explanation_ticks_and_is_kept(lab: Lab):
    course, key = LESSON
    lesson = lab.catalog.course(course).lesson(key)
    check = next(c for c in lesson.checks if c.id == CHECK)
    at = [item for item, _ in lesson_items(lab.catalog, lesson)].index(check.item)
    page = lab.page
    lab.open(course, key)

    # Before running, the saved form: no answer, no hint, no explanation; just what to do.
    cell = scroll_to_cell(page, f"self-check-{CHECK}")
    expect(cell).to_contain_text("Run the lesson (Run ▸ Run All Cells) to check your answer here.")
    expect(cell).not_to_contain_text(check.hint[:40])

    run_all(page)
    cell = scroll_to_cell(page, f"self-check-{CHECK}")
    answer(cell, "12000")
    expect(cell).to_contain_text("Not yet.")
    expect(cell).to_contain_text(check.hint[:40])
    expect(cell).not_to_contain_text(check.explanation[:40])

    answer(cell, "13,002")
    expect(cell).to_contain_text("Right.")
    expect(cell).to_contain_text(check.explanation[:40])
    box = page.locator(CHECKBOX).nth(at)
    expect(box).to_be_checked()
    store = ProgressStore(lab.progress)
    try:
        assert [(a.typed, a.right) for a in store.attempts(course, lesson.id) if a.check == CHECK] == \
            [("12000", False), ("13,002", True)]
        assert store.ticks(course, lesson.id).get((course, lesson.id, check.item)) is True
    finally:
        store.close()
    scroll_to_cell(page, f"check-{CHECK}")
    screenshot(page, "self-check.png", folder=REPO / "docs")
    scroll_to_cell(page, "checklist")
    screenshot(page, "self-check-ticked.png")

    # A new kernel and Run All: the kept result and the tick come back from the store.
    page.evaluate("""async () => {
        const w = window.jupyterapp.shell.currentWidget;
        await w.sessionContext.restartKernel();
        await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
    }""")
    expect(page.locator(CHECKBOX)).to_have_count(0)
    run_all(page)
    cell = scroll_to_cell(page, f"self-check-{CHECK}")
    expect(cell).to_contain_text(re.compile(r"You answered this right on \d+ \w+ \d{4}\."))
    expect(page.locator(CHECKBOX).nth(at)).to_be_checked()
    screenshot(page, "self-check-after-restart.png")
