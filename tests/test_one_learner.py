"""One learner across courses: a video watched, its position and its notes are the learner's, shown in
every course that has the video. Real SQLite; the checklist through a real kernel (nbclient)."""

from __future__ import annotations

import nbformat
import pytest
from helpers import small_catalog, write_catalog
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from companion.cli import main
from companion.course.catalog import load
from companion.kernel.board import overview
from companion.kernel.embed import embed_for
from companion.kernel.player import Player, Tracker
from companion.learner.store import Note, ProgressStore

SHARED = "aircAruvnKk"  # in c1's lessons 1 and 3, and in c2's lesson 1


def two_courses() -> dict:
    data = small_catalog()
    data["courses"].append({"id": "c2", "title": "Course Two", "lessons": [
        {"id": "m1", "number": 1, "title": "Again", "videos": [SHARED, "Ilg3gGewQ5U"]}]})
    return data


@pytest.fixture
def built(tmp_path, monkeypatch):
    path = write_catalog(tmp_path, two_courses())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    monkeypatch.delenv("COMPANION_CATALOG", raising=False)
    return tmp_path


def test_done_in_names_every_course_where_a_video_is_ticked_and_leaves_unticks_out(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c1", "l1", SHARED, True)
    store.set("c2", "m1", SHARED, True)
    store.set("c2", "m1", "Ilg3gGewQ5U", False)
    assert store.done_in() == {SHARED: frozenset({"c1", "c2"})}


@pytest.mark.slow
def test_the_checklist_offers_a_video_watched_in_another_course_and_ticks_only_when_clicked(built):
    store = ProgressStore(built / "progress.sqlite")
    store.set("c1", "l1", SHARED, True)
    path = built / "notebooks" / "c2" / "01-again.ipynb"
    nb = nbformat.read(path, as_version=4)
    probe = new_code_cell("c = lesson.checklist()\n"
                          "offer = [b for r in c.children if hasattr(r, 'children') for b in r.children "
                          "if hasattr(b, 'on_click')]\n"
                          "print(len(offer), offer[0].description)\n"
                          "offer[0].click()\n"
                          "print(offer[0].layout.display)")
    nb.cells.append(probe)
    assert store.ticks("c2") == {}  # nothing ticked for the learner before the click
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute()
    checklist = next(c for c in nb.cells if c.get("source") == "lesson.checklist()")
    saved = "".join(o.get("data", {}).get("text/plain", "") for o in checklist.outputs)
    assert "☐ ▶ But what is a neural network? — watched in Course One: tick here too" in saved
    assert "".join(o.get("text", "") for o in probe.outputs) == "1 watched in Course One: tick here too\nnone\n"
    assert store.ticks("c2") == {("c2", "m1", SHARED): True}


def test_the_player_resumes_where_the_video_was_last_left_in_any_course(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.save_position("c1", "l1", SHARED, 200, 1000, [(0, 200)], at=100)
    store.save_position("c1", "l3", SHARED, 420, 1000, [(300, 420)], at=300)
    store.save_position("c2", "m1", SHARED, 50, 1000, [(0, 50)], at=200)
    tracker = Tracker(store, "c2", "m1", SHARED, 0, 0, 0.9)
    assert tracker.position == 420  # the latest, from course one's lesson 3
    assert tracker.played == ((0.0, 50.0),)  # what decides this course's tick is what was played here


def test_the_players_notes_list_every_courses_note_on_the_video_saying_where_it_was_taken(tmp_path):
    cat = load(write_catalog(tmp_path, two_courses()))
    store = ProgressStore(tmp_path / "p.sqlite")
    store.add_note(Note("a", "c1", "l1", SHARED, 30.0, "<b>from one</b>", 1))
    store.add_note(Note("b", "c2", "m1", SHARED, 10.0, "here", 2))
    store.add_note(Note("c", "c1", "l1", "IHZwWFHWa-w", 5.0, "other video", 3))
    lesson = cat.courses["c2"].lesson("m1")
    embed = embed_for(cat, lesson.videos[0], False)
    assert embed is not None
    player = Player(embed, Tracker(store, "c2", "m1", SHARED, 0, 0, 0.9), courses={"c1": "Course One"})
    assert [(n["text"], n["where"]) for n in player.notes] == [("here", ""), ("<b>from one</b>", "Course One")]


def test_start_here_says_how_many_of_each_courses_videos_were_seen_in_other_courses(tmp_path):
    cat = load(write_catalog(tmp_path, two_courses()))
    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c1", "l1", SHARED, True)
    store.set("c1", "l2", "Ilg3gGewQ5U", True)
    text = overview(cat, store.ticks(), None, store.last_worked(), store.done_in()).text
    assert "Course Two (1 lessons): not started · 2 of its videos seen in other courses" in text
    assert "seen in other courses" not in next(line for line in text.splitlines() if line.startswith("Course One"))
