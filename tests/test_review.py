"""Spaced review: which cards the learner's work gives, and how FSRS schedules them on a clock the test sets."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating
from helpers import ROOT

from companion.builder.plan import plan
from companion.course.catalog import load
from companion.course.layout import REVIEW, Layout
from companion.course.prompts import prompts_for
from companion.errors import UsageError
from companion.kernel.board import overview
from companion.kernel.review import cards, due, due_count, note_cards, rate
from companion.learner import export
from companion.learner.export import read_export
from companion.learner.now import now
from companion.learner.store import Note, ProgressStore
from companion.notebook.cells import ANSWER, cell_id

CATALOG = load(ROOT / "catalog.json")
COURSE = next(iter(CATALOG.courses.values()))
LESSON = COURSE.ordered()[0]
T0 = datetime.fromisoformat("2027-03-01T09:00:00+00:00")


def _lesson_with_answers(root: Path, answers: dict[str, str]) -> Path:
    """A copy of the built lesson notebook under `root`, its answer cells for the given prompt ids filled in."""
    rel = Layout(COURSE).path(LESSON)
    path = root / rel
    path.parent.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / rel, path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    for c in nb["cells"]:
        for pid, text in answers.items():
            if c["id"] == cell_id(ANSWER, pid):
                c["source"] = text
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    s = ProgressStore(tmp_path / "p.sqlite")
    yield s
    s.close()


def test_only_prompts_answered_in_the_lesson_notebook_become_cards(tmp_path, store):
    prompts = prompts_for(LESSON, CATALOG, has_next=len(COURSE.ordered()) > 1)
    first, second = prompts[0], prompts[1]
    _lesson_with_answers(tmp_path, {first.id: "My first answer", second.id: "   \n"})
    found = cards(CATALOG, store, tmp_path)
    assert [(c.key, c.question, c.earlier) for c in found] == [
        (f"prompt/{COURSE.id}/{LESSON.id}/{first.id}", first.text, "My first answer")]
    assert COURSE.title in found[0].where and LESSON.title in found[0].where


def test_an_unreadable_lesson_notebook_gives_no_card_and_no_error(tmp_path, store):
    path = _lesson_with_answers(tmp_path, {})
    path.write_text("{ not json", encoding="utf-8")
    assert cards(CATALOG, store, tmp_path) == []


def test_a_note_becomes_a_card_that_opens_the_video_at_its_moment(store):
    video = next(a for a in LESSON.videos if CATALOG.videos[a.id].youtube)
    store.add_note(Note("n1", COURSE.id, LESSON.id, video.id, 754.6, "the loss is a sum", 1.0))
    (card,) = note_cards(CATALOG, store.notes())
    assert card.key == "note/n1" and card.earlier == "the loss is a sum"
    assert card.link == f"https://www.youtube.com/watch?v={CATALOG.videos[video.id].youtube}&t=754s"
    assert "12:34" in card.question


def test_good_moves_the_due_date_forward_and_again_keeps_it_soon(tmp_path, store, monkeypatch):
    monkeypatch.setenv("COMPANION_CLOCK", T0.isoformat())  # the store's clock agrees with the ratings' times
    _lesson_with_answers(tmp_path, {p.id: f"answer {p.id}" for p in prompts_for(LESSON, CATALOG)[:2]})
    found = cards(CATALOG, store, tmp_path)
    good, again = due(found, store.reviews(), T0)
    assert good.state.due <= T0 and again.state.due <= T0, "a card never rated is due"
    r_good = rate(store, good, Rating.Good, T0)
    r_again = rate(store, again, Rating.Again, T0)
    assert r_again.due - T0.timestamp() <= 10 * 60, "Again brings the card back within minutes"
    assert r_good.due > r_again.due > T0.timestamp()
    assert due(found, store.reviews(), T0) == [], "rated cards are not due at the moment they were rated"

    # The clock moves on past the Good card's date: both are due again; Good again takes it further.
    later = datetime.fromtimestamp(r_good.due, T0.tzinfo) + timedelta(minutes=1)
    monkeypatch.setenv("COMPANION_CLOCK", later.isoformat())
    again_due = due(found, store.reviews(), later)
    assert {d.card.key for d in again_due} == {good.card.key, again.card.key}
    second = rate(store, next(d for d in again_due if d.card.key == good.card.key), Rating.Good, later)
    assert second.due - later.timestamp() > r_good.due - T0.timestamp(), "each Good spaces the card further"
    assert second.due - later.timestamp() >= 86400, "a card recalled twice waits at least a day"


def test_due_count_reads_the_clock_the_environment_sets(tmp_path, store, monkeypatch):
    _lesson_with_answers(tmp_path, {prompts_for(LESSON, CATALOG)[0].id: "an answer"})
    monkeypatch.setenv("COMPANION_CLOCK", T0.isoformat())
    assert now() == T0
    assert due_count(CATALOG, store, tmp_path) == 1
    (item,) = due(cards(CATALOG, store, tmp_path), store.reviews(), now())
    review = rate(store, item, Rating.Easy, now())
    assert due_count(CATALOG, store, tmp_path) == 0
    monkeypatch.setenv("COMPANION_CLOCK", datetime.fromtimestamp(review.due + 1, T0.tzinfo).isoformat())
    assert due_count(CATALOG, store, tmp_path) == 1


def test_a_clock_set_to_nonsense_is_named(monkeypatch):
    monkeypatch.setenv("COMPANION_CLOCK", "next tuesday")
    with pytest.raises(UsageError, match="COMPANION_CLOCK='next tuesday'"):
        now()


def test_schedules_travel_in_the_progress_export_and_a_bad_one_is_refused(tmp_path, store, monkeypatch):
    monkeypatch.setenv("COMPANION_CLOCK", T0.isoformat())
    _lesson_with_answers(tmp_path, {prompts_for(LESSON, CATALOG)[0].id: "an answer"})
    (item,) = due(cards(CATALOG, store, tmp_path), {}, T0)
    review = rate(store, item, Rating.Good, T0)
    text, left_out = export.write(store)
    assert left_out == []
    other = ProgressStore(tmp_path / "other.sqlite")
    export.merge(other, read_export(text, "export.json", now=T0.timestamp()))
    assert other.reviews() == {review.card: review}

    data = json.loads(text)
    data["reviews"][0]["fsrs"] = '{"due": "soon"}'
    with pytest.raises(ValueError, match=r"reviews\[0\]\.fsrs: not an FSRS card") as e:
        read_export(json.dumps(data), "export.json", now=T0.timestamp())
    assert "nothing was imported" in str(e.value)
    other.close()


def test_review_schedules_are_in_a_table_no_trigger_sends_anywhere(store):
    store.ticks()  # creates and migrates the file
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'reviews'").fetchone() == (1,)
    from companion.kernel.sender import OUTBOX

    db.executescript(OUTBOX)  # what a hub's sender adds to the store
    triggers = [sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
    assert triggers and not [t for t in triggers if "reviews" in t]
    db.close()


def test_start_here_links_the_review_first_and_without_a_count_as_built():
    nb = plan(CATALOG)[Path(REVIEW)]
    assert [c["metadata"]["companion"]["role"] for c in nb.cells] == ["review-intro", "review"]
    built = overview(CATALOG)
    assert built.text.splitlines()[0] == "Review"
    assert built.html.startswith(f'<p><b><a href="{REVIEW}">Review</a></b></p>')
    assert overview(CATALOG, due=3).text.splitlines()[0] == "Review: 3 due"


def test_a_self_check_answered_wrong_becomes_a_card_and_one_answered_right_at_once_does_not(tmp_path, store):
    from companion.learner.store import Attempt

    course = next(c for c in CATALOG.courses.values() if any(len(l.checks) >= 2 for l in c.lessons))
    lesson = next(l for l in course.lessons if len(l.checks) >= 2)
    missed, known = lesson.checks[:2]
    store.add_attempt(Attempt(course.id, lesson.id, missed.id, T0.timestamp(), "wrong", False))
    store.add_attempt(Attempt(course.id, lesson.id, missed.id, T0.timestamp() + 5, "right", True))
    store.add_attempt(Attempt(course.id, lesson.id, known.id, T0.timestamp(), "right", True))
    found = [c for c in cards(CATALOG, store, tmp_path) if c.key.startswith("check/")]
    assert [c.key for c in found] == [f"check/{course.id}/{lesson.id}/{missed.id}"]
    assert missed.explanation in found[0].earlier and missed.hint not in found[0].question
