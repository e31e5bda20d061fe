"""What lessons and indexes say to a learner: titles, one numbering, prompts, curators' notes
where they wrote them, indexes that guide (issue 11)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT, small_catalog, write_catalog

from companion.cli import main
from companion.course.catalog import Prompt, from_data, load
from companion.course.markup import md
from companion.course.prompts import prompts_for
from companion.kernel.board import course_table, overview
from companion.learner.tally import lesson_items

CATALOG = load(ROOT / "catalog.json")
NOTEBOOKS = ROOT / "notebooks"


def notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def text_of(nb: nbformat.NotebookNode) -> str:
    """Everything a learner reads in a notebook: cell sources and saved text outputs."""
    parts = []
    for c in nb.cells:
        parts.append(c.source)
        for o in c.get("outputs", []):
            parts += [str(o.get("data", {}).get(k, "")) for k in ("text/plain", "text/html")]
    return "\n".join(parts)


def course_notebooks(course_id: str) -> list[Path]:
    return sorted((NOTEBOOKS / course_id).glob("*.ipynb"))


# ---- titles, numbering, prompts of the project's catalog ------------------------------------------

def test_titles_are_unique_per_course_and_not_glued_video_titles():
    for course in CATALOG.courses.values():
        titles = [l.title for l in course.lessons]
        assert len(titles) == len(set(titles)), course.id
        for t in titles:
            assert " · " not in t and not re.search(r"\(\+\d+ more\)", t), (course.id, t)
            assert not re.match(r"(lesson|chapter)\s*\d+\s*:", t, re.IGNORECASE), (course.id, t)


def test_every_numbered_lesson_has_at_least_two_prompts_of_its_own():
    for course in CATALOG.courses.values():
        for lesson in course.lessons:
            if lesson.number is not None:
                assert len(lesson.prompts) >= 2, (course.id, lesson.id)


def test_no_prompt_text_with_titles_masked_is_shared_by_more_than_three_lessons():
    titles = sorted({t for v in CATALOG.videos.values() for t in (v.title, *v.aliases)}
                    | {r.title for r in CATALOG.resources.values()}
                    | {l.title for c in CATALOG.courses.values() for l in c.lessons}, key=len, reverse=True)

    def masked(text: str) -> str:
        for t in titles:
            text = text.replace(t, "<title>")
        return " ".join(text.lower().split())

    counts = Counter(masked(p.text) for c in CATALOG.courses.values() for l in c.lessons
                     for p in dict((masked(p.text), p) for p in l.prompts).values())
    shared = {t: n for t, n in counts.items() if n > 3}
    assert not shared


@pytest.mark.parametrize("course_id", sorted(CATALOG.courses))
def test_a_headers_lesson_number_is_the_lessons_own_number(course_id):
    course = CATALOG.courses[course_id]
    for path in course_notebooks(course_id):
        nb = notebook(path)
        key = nb.metadata.companion["lesson"]
        if key == "index":
            continue
        lesson = course.lesson(key)
        header = next(c.source for c in nb.cells if c.id == "header")
        title, where = header.split("\n\n")[:2]
        numbers = [int(n) for n in re.findall(r"\blesson (\d+)\b", title + "\n" + where, re.IGNORECASE)]
        if lesson.number is None:
            assert numbers == [], path.name
        else:
            assert numbers == [lesson.number], path.name
            assert title == f"# Lesson {lesson.number} — " + title.split(" — ", 1)[1]
        assert not re.search(r"\b\d+ of \d+\b", where), path.name  # no position a learner could read as a number


# ---- notes where the curator put them -------------------------------------------------------------

def test_a_series_blurb_from_one_source_never_appears_in_another_sources_course():
    written = {(c.id, note) for c in CATALOG.courses.values() for _, note in c.series if note}
    assert written  # the two series indexes have blurbs
    for course in CATALOG.courses.values():
        own = {note for cid, note in written if cid == course.id}
        text = "\n".join(text_of(notebook(p)) for p in course_notebooks(course.id))
        for cid, note in written:
            if cid != course.id and note not in own:
                assert md_words(note) not in text, (course.id, cid, note[:40])


def md_words(note: str) -> str:
    """A stretch of a note as it reads in the notebook source (before markdown escaping bites)."""
    return max(re.split(r"[\\`*_{}\[\]()#|~$<>&]", note), key=len).strip()


def test_each_course_shows_every_note_its_source_wrote_about_a_series():
    for course in CATALOG.courses.values():
        index = text_of(notebook(NOTEBOOKS / course.id / f"index-{course.id}.ipynb"))
        for sid, note in course.series:
            assert md(CATALOG.series[sid].title) in index, (course.id, sid)
            if note:
                assert md_words(note) in index, (course.id, sid)
    assert "The geometric trilogy on why deep learning works" in text_of(
        notebook(next(NOTEBOOKS.glob("ml-foundations/16-*.ipynb"))))


def test_series_in_this_course_lists_every_series_the_course_uses():
    for course in CATALOG.courses.values():
        index = notebook(NOTEBOOKS / course.id / f"index-{course.id}.ipynb")
        listed = next(c.source for c in index.cells if c.id == "series")
        for lesson in course.lessons:
            for a in lesson.items:
                series = CATALOG.series_of(a)
                if series:
                    assert md(series.title) in listed, (course.id, series.id)
    listed = next(c.source for c in notebook(NOTEBOOKS / "math-for-ml" / "index-math-for-ml.ipynb").cells if c.id == "series")
    assert all(name in listed for name in ("Trefor Bazett", "Socratica", "Eigenchris"))


def test_a_playlist_is_attributed_to_its_own_channel():
    lesson = notebook(next(NOTEBOOKS.glob("math-for-ml/41-*.ipynb")))
    line = next(l for l in next(c.source for c in lesson.cells if c.id == "resources").splitlines()
                if "Neural Networks / Deep Learning" in l)
    assert "StatQuest" in line and "3Blue1Brown" not in line


# ---- fallback prompts -----------------------------------------------------------------------------

def fallback_catalog() -> dict:
    data = small_catalog()
    data["series"] += [{"id": "live", "title": "Live builds", "channel": "Coder", "kind": "live-coding"},
                       {"id": "talks", "title": "Talks", "channel": "Uni", "kind": "lecture"}]
    data["videos"] += [{"id": "dQw4w9WgXcQ", "title": "Building a thing", "series": "live", "youtube": "dQw4w9WgXcQ"},
                       {"id": "9bZkp7q19f0", "title": "The big theorem", "series": "talks", "youtube": "9bZkp7q19f0"}]
    data["courses"][0]["lessons"][2]["videos"] = ["dQw4w9WgXcQ", "9bZkp7q19f0"]
    return data


def fallback(data: dict, lesson_id: str, **kw) -> list[Prompt]:
    cat = from_data(data)
    course = cat.courses["c1"]
    return prompts_for(course.lesson(lesson_id), cat, **kw)


def test_fallback_prompts_fit_the_kind_of_item():
    third = {p.id: p.text for p in fallback(fallback_catalog(), "l3")}
    assert "code from memory" in third["recall-dQw4w9WgXcQ"]
    assert "main result" in third["recall-9bZkp7q19f0"]
    first = {p.id: p.text for p in fallback(fallback_catalog(), "l1")}
    assert "read or watch first" in first["resources"]  # a playlist


def test_fallback_prompts_pair_only_videos_of_one_series():
    third = fallback(fallback_catalog(), "l3")  # a live build and a lecture: nothing to pair
    assert not any(p.id.startswith("follow-") for p in third)
    first = {p.id: p.text for p in fallback(fallback_catalog(), "l1")}  # two videos of one series
    assert "continues" in first["follow-IHZwWFHWa-w"]


def test_the_last_lesson_never_speaks_of_the_next_one():
    assert "before the next lesson" in fallback(fallback_catalog(), "l1", has_next=True)[-1].text
    assert "next lesson" not in fallback(fallback_catalog(), "l3", has_next=False)[-1].text


def test_an_answer_under_a_generated_prompt_stays_in_its_lesson_when_the_author_writes_prompts(tmp_path):
    data = fallback_catalog()
    path = write_catalog(tmp_path, data)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    lesson = tmp_path / "notebooks" / "c1" / "03-third.ipynb"
    nb = notebook(lesson)
    assert "next lesson" not in text_of(nb)  # the course's last lesson
    answer = next(c for c in nb.cells if c.id == "answer-next")
    answer.source = "My answer to the generated prompt."
    nbformat.write(nb, lesson)
    data["courses"][0]["lessons"][2]["prompts"] = [{"id": "own", "text": "The author's own prompt."},
                                                   {"id": "own-2", "text": "And a second."}]
    write_catalog(tmp_path, data)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    cells = notebook(lesson).cells
    ids = [c.id for c in cells]
    assert "prompt-own" in ids and "prompt-next" not in ids
    removed = ids.index("removed-notes")
    assert [c.source for c in cells[removed + 1:]] == ["My answer to the generated prompt."]


# ---- indexes ---------------------------------------------------------------------------------------

def test_the_course_index_is_one_table_of_linked_lessons_readable_before_it_runs():
    course = CATALOG.courses["math-for-ml"]
    index = notebook(NOTEBOOKS / "math-for-ml" / "index-math-for-ml.ipynb")
    assert [c.id for c in index.cells] == ["course-header", "progress", "series"]
    header = index.cells[0].source
    assert "Video Series Index" in header and course.source not in header  # the source by its title
    saved = index.cells[1].outputs[0].data
    table = saved["text/html"]
    assert table.count("<table>") == 1
    for lesson in course.lessons:
        assert table.count(f">{lesson.title.replace('&', '&amp;').replace(chr(39), '&#x27;')}</a>") == 1, lesson.id
    for phase in course.phases:
        assert phase.title in table
    total = sum(len(lesson_items(CATALOG, l)) for l in course.lessons)
    assert f"0 of {total} items" in table and "not started" in saved["text/plain"]
    assert "nbval-ignore-output" in index.cells[1].metadata.tags


def test_the_course_table_shows_progress_and_where_the_learner_stopped():
    course = CATALOG.courses["llms-asap"]
    first = course.ordered()[0]
    ticks = {(course.id, first.id, a.id): True for a in first.items}
    board = course_table(CATALOG, course, ticks, {course.ordered()[1].id: "stopped at 3:07 in Some video"})
    total = len(lesson_items(CATALOG, first))  # its videos and resources, the reflections and its self-checks
    assert f"Lesson {first.number} — {first.title}: {len(first.items)} of {total} items" in board.text
    assert "· stopped at 3:07 in Some video" in board.text and "· stopped at 3:07 in Some video" in board.html


def test_the_top_index_opens_with_the_review_then_where_to_continue_in_each_course_started():
    course = CATALOG.courses["math-for-ml"]
    first = course.ordered()[0]
    ticks = {(course.id, first.id, item): True for item, _ in lesson_items(CATALOG, first)}
    board = overview(CATALOG, ticks)
    nxt = course.ordered()[1]
    assert board.text.splitlines()[:2] == ["Review", f"Continue: Lesson {nxt.number} — {nxt.title} (in {course.title})"]
    assert board.html.startswith('<p><b><a href="review.ipynb">Review</a></b></p>\n<ul><li><b>Continue:</b>')
    assert len(re.findall(r"Continue:", board.text)) == 1  # only the course started
    assert board.html.count("<tr>") == len(CATALOG.courses) + 1  # a bar per course, under a header row
    saved = notebook(NOTEBOOKS / "start-here.ipynb").cells[1].outputs[0].data["text/plain"]
    assert "Nothing ticked yet" in saved and "items" not in saved.split("\n")[0]


def test_a_catalog_change_redraws_the_saved_table_and_a_learners_run_of_the_index_is_left_alone(tmp_path):
    data = small_catalog()
    path = write_catalog(tmp_path, data)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    index = tmp_path / "notebooks" / "c1" / "index-c1.ipynb"
    nb = notebook(index)
    nb.cells[1].outputs[0].data = {"text/plain": "the learner's progress, as their run drew it"}
    nbformat.write(nb, index)
    ran = index.read_bytes()
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    assert index.read_bytes() == ran
    data["courses"][0]["lessons"][1]["title"] = "Second, renamed"
    write_catalog(tmp_path, data)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    assert ">Second, renamed</a>" in notebook(index).cells[1].outputs[0].data["text/html"]


def test_the_top_index_draws_the_last_weeks_of_activity_when_there_is_some():
    from companion.kernel.board import WEEK, activity

    now = 1_000 * WEEK
    assert activity([], now) is None and activity([now - 9 * WEEK], now) is None  # nothing in the window
    recent = activity([now - 60, now - 120, now - 2 * WEEK - 5], now)
    assert recent is not None and recent.text.endswith(": 0, 0, 0, 0, 0, 1, 0, 2")
    assert recent.html.count('title="') == 8 and 'title="2 items, this week"' in recent.html
    board = overview(CATALOG, {}, recent)
    assert board.html.endswith(recent.html) and board.text.endswith(recent.text)
