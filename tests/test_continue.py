"""Continue means continue: the lesson where the learner last worked (while unfinished, then the next),
with what they skipped in earlier lessons listed apart. A real SQLite store gives the times."""

from __future__ import annotations

import pytest
from helpers import small_catalog, write_catalog

from companion.course.catalog import load
from companion.kernel.board import course_table, overview
from companion.learner.store import ProgressStore
from companion.learner.tally import REFLECTIONS


@pytest.fixture
def cat(tmp_path):
    return load(write_catalog(tmp_path, small_catalog()))


@pytest.fixture
def store(tmp_path):
    return ProgressStore(tmp_path / "progress.sqlite")


def tick_all(store, lesson, items, at, but=()):
    for n, item in enumerate(items):
        if item not in but:
            store.set("c1", lesson, item, True, at=at + n)


L1 = ["aircAruvnKk", "IHZwWFHWa-w", "pl", REFLECTIONS]
L2 = ["Ilg3gGewQ5U", "no-link", REFLECTIONS]


def board(cat, store):
    return overview(cat, store.ticks(), None, store.last_worked(), store.done_in())


def resume_lines(cat, store):
    """The top index's Continue and Left behind lines (under the review's link, which is not ours)."""
    return [line for line in board(cat, store).text.splitlines() if line.lstrip().startswith(("Continue", "Left"))]


def test_a_learner_who_skipped_a_reflection_continues_after_the_last_lesson_done_and_sees_it_left_behind(cat, store):
    tick_all(store, "l1", L1, 100, but=[REFLECTIONS])
    tick_all(store, "l2", L2, 200)
    text = resume_lines(cat, store)
    assert text[0] == "Continue: Lesson 3 — Third (in Course One)"  # not lesson 1, where a box is still empty
    assert text[1] == "  Left behind: Lesson 1 — First — reflections"
    page = board(cat, store).html
    assert 'Left behind: <a href="c1/01-first.ipynb">Lesson 1 — First</a> — reflections' in page


def test_continue_stays_on_an_unfinished_lesson_the_learner_worked_in_last(cat, store):
    tick_all(store, "l2", L2, 100)
    store.save_position("c1", "l1", "IHZwWFHWa-w", 300, 600, [(90, 300)], at=500)  # then went back to lesson 1
    assert resume_lines(cat, store)[0] == "Continue: Lesson 1 — First (in Course One)"
    assert "Left behind" not in board(cat, store).text  # nothing before lesson 1


def test_a_note_counts_as_work_and_a_finished_last_lesson_moves_continue_to_the_next_unfinished(cat, store):
    from companion.learner.store import Note

    tick_all(store, "l1", L1, 100)
    tick_all(store, "l3", ["aircAruvnKk", REFLECTIONS], 200)  # lesson 3 (the last) done, lesson 2 not started
    assert resume_lines(cat, store)[0] == "Continue: Lesson 2 — Second (in Course One)"
    store.add_note(Note("n1", "c1", "l2", "Ilg3gGewQ5U", 12.0, "a note", 900))
    assert resume_lines(cat, store)[0] == "Continue: Lesson 2 — Second (in Course One)"


def test_the_course_index_says_where_to_continue_above_its_table_once_started(cat, store):
    course = cat.courses["c1"]
    assert not course_table(cat, course, {}, {}, {}).html.startswith("<ul>")  # as the build saves it
    tick_all(store, "l1", L1, 100, but=["pl"])
    tick_all(store, "l2", L2, 200, but=["no-link"])
    table = course_table(cat, course, store.ticks("c1"), {}, store.last_worked("c1"))
    assert table.text.splitlines()[:2] == ["Continue: Lesson 2 — Second (in Course One)",
                                           "  Left behind: Lesson 1 — First — The playlist"]
    assert table.html.startswith('<ul><li><b>Continue:</b> <a href="02-second.ipynb">')


def test_last_worked_is_the_latest_tick_position_or_note_of_each_lesson(store):
    from companion.learner.store import Note

    store.set("c1", "l1", "a", True, at=10)
    store.save_position("c1", "l1", "a", 5, 60, [(0, 5)], at=30)
    store.add_note(Note("n", "c1", "l2", "b", 1.0, "x", 20))
    store.set("c2", "l1", "a", True, at=99)
    assert store.last_worked("c1") == {("c1", "l1"): 30, ("c1", "l2"): 20}
    assert store.last_worked()[("c2", "l1")] == 99
