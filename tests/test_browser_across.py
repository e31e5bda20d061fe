"""One learner across courses, in a real JupyterLab in Debian's chromium: a video ticked in one
course's lesson is offered as watched in another course's lesson that has the same video, and one
click ticks it there; start-here then says so, and the answers notebook's search box narrows its list.

Shares test_browser's build, server and browser set-up (its fixtures, imported here). Screenshots go
to /work/notes/shots/answers-*.png (a person looks at them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401
    CHECKBOX,
    NOTEBOOK_READY,
    Lab,
    expect,
    lab,
    run_all,
    screenshot,
    scroll_to_cell,
    server,
    tick,
)

from companion.learner.store import Note, ProgressStore

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")
VIDEO = "fNk_zzaMoSs"  # the first video of both lessons below
WATCHED_IN = ("math-for-ml", 2)
OFFERED_IN = ("ml-foundations", 1)


def open_path(lab: Lab, rel: str) -> None:
    lab.page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", rel)
    lab.page.wait_for_function(NOTEBOOK_READY, arg=rel)


def test_a_video_ticked_in_one_course_is_offered_as_watched_in_another_and_one_click_ticks_it(lab: Lab):
    page, store = lab.page, ProgressStore(lab.progress)
    first = lab.catalog.course(WATCHED_IN[0])
    other = lab.catalog.course(OFFERED_IN[0])
    lesson = other.lesson(OFFERED_IN[1])
    assert lesson.videos[0].id == VIDEO == first.lesson(WATCHED_IN[1]).videos[0].id
    assert not store.done_in().get(VIDEO), "the store must start without this video ticked"

    lab.open(*WATCHED_IN)
    run_all(page)
    boxes = page.locator(CHECKBOX)
    boxes.first.scroll_into_view_if_needed()
    tick(boxes.first)  # the box shows ☑ once the kernel saved it
    expect(page.get_by_text(re.compile(r"^1 of \d+ items done in this lesson"))).to_be_visible()
    assert store.done_in()[VIDEO] == frozenset({first.id})
    lab.close_all()

    lab.open(*OFFERED_IN)
    run_all(page)
    offer = page.locator(".companion-offer")
    expect(offer).to_have_text(f"watched in {first.title}: tick here too")
    expect(boxes.first).not_to_be_checked()  # an offer, not a tick made for the learner
    assert (other.id, lesson.id, VIDEO) not in store.ticks(other.id)
    scroll_to_cell(page, "checklist")
    offer.scroll_into_view_if_needed()
    screenshot(page, "answers-1-offered-in-another-course.png", SHOTS)
    offer.click()
    expect(boxes.first).to_be_checked()
    expect(offer).to_be_hidden()
    assert store.ticks(other.id)[(other.id, lesson.id, VIDEO)] is True
    screenshot(page, "answers-2-offer-taken.png", SHOTS)
    lab.close_all()

    # start-here: where to continue in each course, and how much of a course was seen in another
    open_path(lab, "start-here.ipynb")
    run_all(page)
    expect(page.get_by_text("of its videos seen in other courses").first).to_be_visible()
    screenshot(page, "answers-3-start-here.png", SHOTS)
    lab.close_all()

    store.add_note(Note("browser-note", other.id, lesson.id, VIDEO, 83.0, "the <span> of the columns", 1.0))
    open_path(lab, "my-answers-and-notes.ipynb")
    run_all(page)
    search = page.locator(".companion-search input")
    expect(page.locator(".companion-answers")).to_contain_text("the <span> of the columns")
    search.fill("nothing like this")
    expect(page.locator(".companion-answers")).to_contain_text("Nothing matches")
    search.fill("span columns")
    expect(page.locator(".companion-answers")).to_contain_text("1:23")
    screenshot(page, "answers-4-my-answers-and-notes.png", SHOTS)
    store.close()
