"""Small things a learner reads: titles capitalised, where a video was left said as the lesson names it,
prompts that stand alone, and the ✎ box ticked for them once every answer is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT, small_catalog, write_catalog

from companion.cli import main
from companion.course.catalog import from_data, load
from companion.course.names import capitalised
from companion.kernel.player import stopped_at
from companion.learner.store import ProgressStore
from companion.learner.tally import REFLECTIONS
from companion.notebook.cells import all_answered


@pytest.mark.parametrize("title, shown", [
    ("what is a Neural Network?", "What is a Neural Network?"),
    ("gradient descent", "Gradient descent"),
    ("e^(iπ) in 3.14 minutes", "e^(iπ) in 3.14 minutes"),  # a formula, not a word
    ("iPhone apps", "iPhone apps"),
    ("3Blue1Brown — Probability", "3Blue1Brown — Probability"),
    ("Already Capitalised", "Already Capitalised"),
    ("", ""),
])
def test_a_title_whose_first_word_is_all_lower_case_starts_with_a_capital_and_no_other_is_changed(title, shown):
    assert capitalised(title) == shown


def test_a_series_lower_case_title_is_shown_capitalised_in_the_lesson_heading_and_checklist(tmp_path):
    data = small_catalog()
    data["courses"][0]["lessons"][0]["videos"][0] = {"id": "aircAruvnKk", "title": "what is a Neural Network?"}
    data["videos"][1]["title"] = "gradient descent"
    path = write_catalog(tmp_path, data)
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    text = (tmp_path / "notebooks" / "c1" / "01-first.ipynb").read_text(encoding="utf-8")
    assert "## 1. What is a Neural Network?" in text and "## 2. Gradient descent" in text
    assert "what is a Neural Network?" not in text and "gradient descent" not in text.replace("Gradient descent", "")
    lesson = from_data(data).course("c1").lesson(1)
    assert [a.title for a in lesson.videos] == ["What is a Neural Network?", ""]


def _stopped(store_path: Path, data: dict, position: float, item: str = "aircAruvnKk") -> str:
    """What the course index says of lesson l1 once `item` was left at `position` (of 600 s)."""
    catalog = from_data(data)
    course = catalog.course("c1")
    store = ProgressStore(store_path)
    try:
        store.save_position("c1", "l1", item, position, 600.0, [(0.0, position)])
        return stopped_at(catalog, course, store.positions("c1"))["l1"]
    finally:
        store.close()


def test_the_index_names_a_video_as_its_lesson_does_and_a_video_watched_to_the_end_is_not_stopped(tmp_path):
    data, store = small_catalog(), tmp_path / "p.sqlite"
    data["courses"][0]["lessons"][0]["videos"][0] = {"id": "aircAruvnKk", "title": "Neurons, intuitively"}
    assert _stopped(store, data, 125.0) == "stopped at 2:05 in Neurons, intuitively"
    assert _stopped(store, data, 600.0) == "watched to the end: Neurons, intuitively"
    assert _stopped(store, data, 595.0) == "watched to the end: Neurons, intuitively"  # the last seconds: credits
    # a clip that ends early (the lesson's `end`) is finished at its own end
    data["courses"][0]["lessons"][0]["videos"][1] = {"id": "IHZwWFHWa-w", "start": 90, "end": 300}
    assert _stopped(store, data, 299.0, "IHZwWFHWa-w") == "watched to the end: Gradient descent"


def test_reflections_tick_themselves_once_every_answer_is_written_and_a_learners_own_choice_stands(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    key = ("c", "l", REFLECTIONS)
    assert store.mark_reflections("c", "l", all_answered=False) is False
    assert store.ticks("c", "l") == {}
    assert store.mark_reflections("c", "l", all_answered=True) is True
    assert store.ticks("c", "l") == {key: True}
    assert store.mark_reflections("c", "l", all_answered=True) is False  # once: nothing new
    store.set(*key, False)  # the learner unticks it: that stands
    assert store.mark_reflections("c", "l", all_answered=True) is False
    assert store.ticks("c", "l") == {key: False}
    store.set("c", "other", REFLECTIONS, True)  # an answer emptied later takes no tick back
    assert store.mark_reflections("c", "other", all_answered=False) is False
    assert store.ticks("c", "other") == {("c", "other", REFLECTIONS): True}


def test_a_lesson_is_all_answered_only_when_every_answer_cell_has_text(tmp_path):
    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    nb = nbformat.read(tmp_path / "notebooks" / "c1" / "01-first.ipynb", as_version=4)
    answers = [c for c in nb.cells if c.metadata.get("tags") == ["answer"]]
    assert len(answers) >= 2 and not all_answered(nb)
    for c in answers[:-1]:
        c.source = "my answer"
    answers[-1].source = " \n"
    assert not all_answered(nb)
    answers[-1].source = "the last one"
    assert all_answered(nb)
    assert not all_answered({"cells": [c for c in nb.cells if c not in answers]})  # nothing to answer


def test_no_prompt_names_a_person_the_lesson_never_introduces():
    """A note signed "— Mark" shows only in its course index: a prompt that names him reads as a stranger."""
    catalog = load(ROOT / "catalog.json")
    raw = json.loads((ROOT / "catalog.json").read_text(encoding="utf-8"))
    notes = [c.get("note", "") for c in raw["courses"]] + [s.get("note", "") for s in raw["series"]]
    signers = {m[1] for note in notes for m in re.finditer(r"(?m)^— (\w+)\s*$", note)}
    assert "Mark" in signers
    named = [(c.id, l.id, p.text) for c in catalog.courses.values() for l in c.lessons for p in l.prompts
             if any(re.search(rf"\b{s}\b(?! the\b)", p.text) for s in signers)]  # not the verb: "Mark the …"
    assert not named, named
