"""The indexes in a real JupyterLab: the saved course table reads before anything runs, its links
open lessons, and run, it and the top index show the learner's progress.

The server, build and browser come from test_browser (imported, not copied). Screenshots go to
`test-output/indexes/` (git-ignored) for a person to see."""

from __future__ import annotations

import json
import re

import pytest
from test_browser import (
    NOTEBOOK_READY,
    REPO,
    Lab,
    expect,
    lab,  # noqa: F401 - a fixture: the module's JupyterLab, no tab or kernel left after each test
    run_all,
    screenshot,
    server,  # noqa: F401 - a fixture: the module's JupyterLab
)

from companion.learner.store import ProgressStore
from companion.learner.tally import lesson_items

pytestmark = pytest.mark.browser

SHOTS = REPO / "test-output" / "indexes"
COURSE = "math-for-ml"




def _open(lab: Lab, rel: str) -> None:
    lab.page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", rel)
    lab.page.wait_for_function(NOTEBOOK_READY, arg=rel)


def test_the_course_table_reads_before_running_and_its_links_open_lessons(lab: Lab):
    course = lab.catalog.course(COURSE)
    second = course.ordered()[1]
    _open(lab, f"{COURSE}/index-{COURSE}.ipynb")
    table = lab.page.locator(".jp-OutputArea-output table").first
    expect(table).to_contain_text("Phase 1 — Linear algebra")
    expect(table).to_contain_text("not started")
    screenshot(lab.page, "course-index-saved.png", SHOTS)
    table.get_by_role("link", name=second.title, exact=True).click()
    rel = lab.notebook(COURSE, second.id).relative_to(lab.notebooks).as_posix()
    lab.page.wait_for_function(NOTEBOOK_READY, arg=rel)
    header = lab.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[0].model.sharedModel"
                               ".getSource()")
    assert header.startswith(f"# Lesson {second.number} — ")
    screenshot(lab.page, "lesson-header.png", SHOTS)


def test_run_indexes_show_progress_and_where_to_continue(lab: Lab):
    course = lab.catalog.course(COURSE)
    first, second = course.ordered()[:2]
    store = ProgressStore(lab.progress)
    try:
        for item, _ in lesson_items(lab.catalog, first):
            store.set(COURSE, first.id, item, True)
    finally:
        store.close()
    _open(lab, f"{COURSE}/index-{COURSE}.ipynb")
    run_all(lab.page)
    table = lab.page.locator(".jp-OutputArea-output table").first
    expect(table).to_contain_text(re.compile(rf"done \({len(lesson_items(lab.catalog, first))} items\)"))
    screenshot(lab.page, "course-index-run.png", SHOTS)
    lab.close_all()
    _open(lab, "start-here.ipynb")
    run_all(lab.page)
    expect(lab.page.locator(".jp-OutputArea-output").first).to_contain_text(
        f"Continue: Lesson {second.number} — {second.title}")
    expect(lab.page.locator(".jp-OutputArea-output").first).to_contain_text("Last 8 weeks")
    screenshot(lab.page, "top-index-run.png", SHOTS)


def test_an_untrusted_copy_of_an_index_still_shows_its_table_and_links(lab: Lab):
    """A clone's notebooks are not trusted until built on the machine: JupyterLab sanitizes the
    saved HTML table but keeps it, links and all (what a widget or an iframe would not survive)."""
    course = lab.catalog.course("ml-foundations")
    nb = json.loads((lab.notebooks / course.id / f"index-{course.id}.ipynb").read_text(encoding="utf-8"))
    nb["metadata"]["edited_elsewhere"] = True  # the content changes, so the build's signature no longer matches
    copy = lab.notebooks / course.id / "untrusted-index.ipynb"
    copy.write_text(json.dumps(nb), encoding="utf-8")
    try:
        _open(lab, copy.relative_to(lab.notebooks).as_posix())
        untrusted = ("() => window.jupyterapp.shell.currentWidget.content.widgets"
                     ".filter(c => c.model.type === 'code').map(c => c.model.trusted)")
        assert lab.page.evaluate(untrusted) == [False]
        links = lab.page.locator(".jp-OutputArea-output table a")
        expect(links).to_have_count(2 * len(course.lessons))
        screenshot(lab.page, "course-index-untrusted.png", SHOTS)
    finally:
        copy.unlink()


def test_a_course_link_on_start_here_opens_that_courses_index(lab: Lab):
    course = lab.catalog.course(COURSE)
    _open(lab, "start-here.ipynb")
    table = lab.page.locator(".jp-OutputArea-output table").first
    table.get_by_role("link", name=course.title, exact=True).click()
    lab.page.wait_for_function(NOTEBOOK_READY, arg=f"{COURSE}/index-{COURSE}.ipynb")
    shown = lab.page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output table").first  # the new tab's
    expect(shown).to_contain_text("Phase 1 — Linear algebra")
    screenshot(lab.page, "start-here-course-link-opened.png", SHOTS)


def test_a_video_watched_to_the_end_is_named_as_its_lesson_names_it_not_stopped_at(lab: Lab):
    course = lab.catalog.course("intuition-3blue1brown")
    lesson = course.ordered()[0]
    shown = lesson.videos[0].title  # the lesson's own words for the video, not the video's catalog title
    assert shown and shown != lab.catalog.videos[lesson.videos[0].id].title
    store = ProgressStore(lab.progress)
    try:
        store.save_position(course.id, lesson.id, lesson.videos[0].id, 1000.0, 1000.0, [(0.0, 1000.0)])
    finally:
        store.close()
    _open(lab, f"{course.id}/index-{course.id}.ipynb")
    run_all(lab.page)
    table = lab.page.locator(".jp-OutputArea-output table").first
    expect(table).to_contain_text(f"watched to the end: {shown}")
    expect(table).not_to_contain_text("stopped at")
    screenshot(lab.page, "course-index-watched-to-the-end.png", SHOTS)
