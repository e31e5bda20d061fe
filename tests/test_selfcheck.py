"""Self-checks: read from the catalog and checked with their place named, built into a lesson
without their answers, and answered in a real kernel (nbclient) with the result kept in the store."""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import ROOT, small_catalog, write_catalog
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from companion.cli import main
from companion.course import catalog, grading
from companion.errors import CatalogError
from companion.kernel import selfcheck
from companion.learner import store
from companion.learner.store import Attempt, ProgressStore

CHECKS = [
    {"id": "count-layers", "video": "aircAruvnKk", "question": "How many **hidden** layers? [see 2:10]",
     "kind": "number", "answer": 2, "tolerance": 0, "hint": "Count the columns between input and output.",
     "explanation": "Two hidden layers of 16 neurons sit between the 784 inputs and the 10 outputs."},
    {"id": "pick-one", "video": "IHZwWFHWa-w", "question": "Gradient descent moves <b>which</b> way?",
     "kind": "choice", "choices": ["Uphill", "Downhill, against the gradient", "Sideways"], "answer": 1,
     "hint": "Which way makes the cost smaller?", "explanation": "It steps against the gradient, downhill."},
    {"id": "sigmoid", "video": "aircAruvnKk", "question": "Write the sigmoid of x.", "kind": "expression",
     "answer": "1/(1+exp(-x))", "variables": ["x"], "hint": "It squashes with an exponential.",
     "explanation": "σ(x) = 1/(1+e^(−x)) squashes any number into (0, 1)."},
]


def with_checks(checks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = small_catalog()
    data["courses"][0]["lessons"][0]["checks"] = copy.deepcopy(CHECKS if checks is None else checks)
    return data


def problems(data: dict[str, Any]) -> list[str]:
    from companion.course.checks import schema_problems

    found = schema_problems(data)
    if found:
        return found
    try:
        catalog.from_data(data)
    except CatalogError as e:
        return e.problems
    return []


def test_checks_are_read_into_the_lesson_with_every_field():
    lesson = catalog.from_data(with_checks()).course("c1").lesson("l1")
    number, choice, expression = lesson.checks
    assert (number.id, number.kind, number.answer, number.tolerance, number.item) == \
        ("count-layers", "number", 2, 0.0, "check:count-layers")
    assert choice.choices == ("Uphill", "Downhill, against the gradient", "Sideways")
    assert choice.shown_answer == "Downhill, against the gradient"
    assert expression.variables == ("x",)
    assert problems(with_checks()) == []


@pytest.mark.parametrize("change, message", [
    (lambda c: c[0].update(video="Ilg3gGewQ5U"),
     'courses[0].lessons[0].checks[0]: video "Ilg3gGewQ5U" is not one of this lesson\'s videos'),
    (lambda c: c[1].update(answer=3), "courses[0].lessons[0].checks[1].answer: choice 3 is not one of the 3 choices"),
    (lambda c: c[2].update(answer="1/(1+exp(-q))"),
     "courses[0].lessons[0].checks[2].answer: \"1/(1+exp(-q))\" can't be checked: 'q' is not part of this question"),
    (lambda c: c[2].update(id="count-layers"), 'courses[0].lessons[0].checks[2].id: duplicate check id "count-layers"'),
    (lambda c: c[1].update(tolerance=1), 'courses[0].lessons[0].checks[1].tolerance: only a number check has'),
    (lambda c: c[0].update(id="Count Layers"), "courses[0].lessons[0].checks[0].id: 'Count Layers' is not allowed"),
    (lambda c: c[0].update(answer="two"), "courses[0].lessons[0].checks[0]"),
    (lambda c: c[1].pop("choices"), "courses[0].lessons[0].checks[1]: 'choices' is a required property"),
])
def test_a_wrong_check_is_reported_at_its_place(change, message):
    checks = copy.deepcopy(CHECKS)
    change(checks)
    found = problems(with_checks(checks))
    assert any(p.startswith(message) for p in found), found


@pytest.fixture
def built(tmp_path, monkeypatch) -> Path:
    path = write_catalog(tmp_path, with_checks())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    monkeypatch.delenv("COMPANION_CATALOG", raising=False)
    return tmp_path / "notebooks" / "c1" / "01-first.ipynb"


def test_the_lesson_shows_each_question_escaped_under_the_prompts_and_names_the_check_by_id(built):
    nb = nbformat.read(built, as_version=4)
    ids = [c.id for c in nb.cells]
    assert ids.index("checks") > max(i for i, c in enumerate(ids) if c.startswith("answer-"))
    assert ids.index("checks") < ids.index("checklist-intro")
    cells = {c.id: c for c in nb.cells}
    assert cells["check-count-layers"].source == r"**1.** How many **hidden** layers? \[see 2:10\]"
    assert "&lt;b&gt;which&lt;/b&gt;" in cells["check-pick-one"].source
    assert "- Downhill, against the gradient" in cells["check-pick-one"].source
    code = cells["self-check-pick-one"]
    assert code.source == 'lesson.self_check("pick-one")'
    assert [o.data["text/plain"] for o in code.outputs] == [selfcheck.CHECK_FORM]
    assert code.execution_count is not None


def test_no_answer_hint_or_explanation_is_in_the_built_lesson(built):
    text = built.read_text(encoding="utf-8")
    for check in CHECKS:
        assert json.dumps(check["hint"])[1:-1] not in text and json.dumps(check["explanation"])[1:-1] not in text
    assert "1/(1+exp(-x))" not in text


@pytest.mark.parametrize("typed, lead, body", [
    ("3", "Not yet.", "Count the columns"),
    ("two", "", "'two' is not part of this question"),
    ("2", "Right.", "Two hidden layers"),
])
def test_feedback_says_not_yet_with_the_hint_right_with_the_explanation_or_why_unreadable(typed, lead, body):
    check = catalog.from_data(with_checks()).course("c1").lesson("l1").checks[0]
    said = selfcheck.feedback(check, selfcheck.judge(check, typed))
    assert said.text.startswith(lead) and body in said.text


def test_giving_up_shows_the_answer_and_the_explanation():
    check = catalog.from_data(with_checks()).course("c1").lesson("l1").checks[1]
    said = selfcheck.feedback(check, None)
    assert said.text.startswith("The answer: Downhill, against the gradient.") and "downhill" in said.text


def test_attempts_are_kept_with_the_typed_text_bounded(tmp_path):
    s = ProgressStore(tmp_path / "p.sqlite")
    s.add_attempt(Attempt("c1", "l1", "count-layers", 100.0, "9" * 5000, False))
    s.add_attempt(Attempt("c1", "l1", "count-layers", 200.0, "2", True))
    s.add_attempt(Attempt("c1", "l2", "other", 150.0, "", False, gave_up=True))
    got = s.attempts("c1", "l1")
    assert [(a.check, a.typed[:3], len(a.typed), a.right) for a in got] == \
        [("count-layers", "999", grading.MAX_TYPED, False), ("count-layers", "2", 1, True)]
    assert [a.gave_up for a in s.attempts("c1")] == [False, False, True]


def test_a_store_of_the_previous_version_gains_the_attempts_table_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(store.SCHEMA)
    db.executescript(store.MIGRATIONS[0])
    db.execute("INSERT INTO ticks VALUES ('c1', 'l1', 'v', 1, 5.0)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    s = ProgressStore(path)
    assert s.ticks() == {("c1", "l1", "v"): True}
    assert s.attempts() == []
    assert s._run("PRAGMA user_version")[0][0] == store.VERSION


def run(path: Path, *extra: str) -> list[str]:
    """Run the lesson, then extra cells, in a fresh kernel; the extra cells' printed text."""
    nb = nbformat.read(path, as_version=4)
    cells = [new_code_cell(src) for src in extra]
    nb.cells += cells
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs) for c in cells]


ANSWER = """
w = lesson.self_check("count-layers")
box, buttons, said = w.children
check, show_me = buttons.children
box.value = {typed!r}
check.click()
print(said.value)
"""
TICKED = """
boxes = [b for b in lesson.checklist().children if hasattr(b, 'indent')]
print([b.description for b in boxes if b.value])
"""


@pytest.mark.slow
def test_wrong_then_right_then_a_restart_keeps_the_result_and_the_tick(built, tmp_path):
    wrong, right, ticked = run(built, ANSWER.format(typed="3"), ANSWER.format(typed="2"), TICKED)
    assert "Not yet." in wrong and "Count the columns" in wrong
    assert "Right." in right and "Two hidden layers" in right
    assert ticked.strip() == "['✓ Check yourself 1: answered right']"
    s = ProgressStore(tmp_path / "progress.sqlite")
    assert [(a.typed, a.right) for a in s.attempts("c1", "l1")] == [("3", False), ("2", True)]
    assert s.ticks("c1", "l1") == {("c1", "l1", "check:count-layers"): True}
    # a new kernel: the lesson shows the kept result, in the widget and in the form a save keeps
    nb = nbformat.read(built, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(built.parent)}}).execute()
    out = next(c for c in nb.cells if c.id == "self-check-count-layers").outputs[0].data
    assert re.match(r"You answered this right on \d+ \w+ \d{4}\. ", out["text/plain"])
    assert "Two hidden" not in out["text/plain"] and "Two hidden" not in out["text/html"]
    assert "✓ Check yourself 1: answered right" in \
        next(c for c in nb.cells if c.id == "checklist").outputs[0].data["text/plain"].split("☑ ")[-1]


@pytest.mark.slow
def test_giving_up_in_the_kernel_shows_the_answer_but_the_saved_form_does_not(built):
    shown = run(built, 'w = lesson.self_check("pick-one")\nw.children[1].children[1].click()\n'
                       'print(w.children[2].value)\nprint(w.bundle()["text/plain"])')[0]
    live, form = shown.split("\n", 1)
    assert "Downhill, against the gradient" in live and "steps against the gradient" in live
    assert form.startswith("You asked for the answer on") and "Downhill" not in form


def test_no_built_notebook_shows_a_checks_hint_explanation_or_number_answer():
    """Over the project's own notebooks: the expected answer is not readable in a lesson's text or
    saved outputs (hints and explanations nowhere; a number's answer not in a self-check's output)."""
    cat = catalog.load(ROOT / "catalog.json", schema=False)
    lessons = {(c.id, l.id): l for c in cat.courses.values() for l in c.lessons}
    checked = 0
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        meta = nb["metadata"].get("companion", {})
        lesson = lessons.get((meta.get("course"), meta.get("lesson_id")))
        if lesson is None or not lesson.checks:
            continue
        text = json.dumps(nb, ensure_ascii=False)
        outputs = {c["id"]: json.dumps(c.get("outputs", []), ensure_ascii=False) for c in nb["cells"]}
        for check in lesson.checks:
            for secret in (check.hint, check.explanation):
                assert json.dumps(secret, ensure_ascii=False)[1:-1] not in text, f"{path.name}: {check.id}"
            out = outputs[f"self-check-{check.id}"]
            assert selfcheck.CHECK_FORM in out
            if check.kind == "number":
                for written in {str(check.answer), f"{float(check.answer):.10g}"}:
                    assert not re.search(rf"(?<![\d.]){re.escape(written)}(?![\d.])", out), check.id
            checked += 1
    assert checked == sum(len(l.checks) for l in lessons.values()) >= 250
