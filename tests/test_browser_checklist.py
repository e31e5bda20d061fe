"""A checklist whose kernel is gone, in a real JupyterLab: it says so and cannot be ticked, and the
store is unchanged; while its kernel runs, a click is saved before the box shows ☑.

Shares test_browser's build, server and browser (its fixtures, imported). Screenshots go to
test-output/browser/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_browser import (  # noqa: F401
    CHECKBOX,
    Lab,
    expect,
    lab,
    run_all,
    screenshot,
    scroll_to_cell,
    server,
)

from companion.kernel.tickguard import GONE
from companion.learner.store import ProgressStore
from companion.learner.tally import lesson_items

pytestmark = pytest.mark.browser

LESSON = ("deep-learning-3blue1brown", 2)
REFUSED = ".jp-OutputArea-output .cc-refused"


def ticked_and_saved(lab: Lab, store: ProgressStore, course: str, lesson_id: str, n_items: int) -> dict:
    """Run the lesson and tick its first box the learner's way; the store's ticks for the lesson then."""
    page = lab.page
    lab.open(course, LESSON[1])
    run_all(page)
    boxes = page.locator(CHECKBOX)
    expect(boxes).to_have_count(n_items)
    scroll_to_cell(page, "checklist")
    boxes.first.click()
    expect(boxes.first).to_be_checked()
    expect(page.locator(".jp-OutputArea-output .jupyter-widgets")
           .get_by_text(re.compile(rf"^1 of {n_items} items done in this lesson"))).to_be_visible()
    return store.ticks(course, lesson_id)


def try_to_tick(page: Any, box: Any) -> None:
    """What a learner does: click the box (a disabled one takes the click and does nothing)."""
    box.click(force=True)


@pytest.mark.parametrize("how", ["Kernel menu", "elsewhere"])
def test_after_a_restart_the_old_checklist_says_so_and_a_click_ticks_nothing(lab: Lab, how: str):
    course = LESSON[0]
    lesson = lab.catalog.course(course).lesson(LESSON[1])
    items = [item for item, _ in lesson_items(lab.catalog, lesson)]  # the checklist's boxes, in order
    n_items = len(items)
    store = ProgressStore(lab.progress)
    try:
        before = ticked_and_saved(lab, store, course, lesson.id, n_items)
        assert before[(course, lesson.id, items[0])] is True
        page = lab.page
        boxes = page.locator(CHECKBOX)
        refused = page.locator(REFUSED)
        expect(refused).to_be_hidden()
        scroll_to_cell(page, "reflect")
        screenshot(page, "checklist-lesson-questions.png")

        if how == "Kernel menu":  # the learner's way: Kernel ▸ Restart Kernel…, then the dialog's Restart
            page.evaluate("() => { window.jupyterapp.commands.execute('kernelmenu:restart'); }")
            page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()
            expect(refused).to_have_text(GONE)  # said at once, before any click
        else:  # another tab or the server restarted it: this page saw nothing happen
            kernel = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id")
            lab.api("POST", f"/api/kernels/{kernel}/restart")
        expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"\| Idle"))

        second = boxes.nth(1)
        second.scroll_into_view_if_needed()
        try_to_tick(page, second)
        expect(refused).to_have_text(GONE)
        expect(second).not_to_be_checked()
        for i in range(n_items):
            expect(boxes.nth(i)).to_be_disabled()
        expect(boxes.first).to_be_checked()  # the saved tick still shows
        assert store.ticks(course, lesson.id) == before, "a click on a checklist without its kernel changed the store"
        scroll_to_cell(page, "checklist")
        screenshot(page, f"checklist-refused-after-restart-{how.replace(' ', '-').lower()}.png")

        run_all(page)  # as the message says: the new checklist ticks again
        expect(refused).to_be_hidden()
        expect(boxes.nth(1)).to_be_enabled()
        boxes.nth(1).click()
        expect(boxes.nth(1)).to_be_checked()
        expect(page.locator(".jp-OutputArea-output .jupyter-widgets")
               .get_by_text(re.compile(rf"^2 of {n_items} items done in this lesson"))).to_be_visible()
        assert store.ticks(course, lesson.id)[(course, lesson.id, items[1])] is True
    finally:
        for item in items:  # the next case starts from no ticks again
            store.set(course, lesson.id, item, False)
        store.close()
