"""Issue 22, item 9: a lesson's work follows the lesson. A learner's duplicate of a lesson never
takes the lesson's place; an answer, a note, a tick and a position move with the prompt or video
they belong to when the catalog moves it to another lesson; what can't be placed is said."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from helpers import run_cli, small_catalog, snapshot, write_catalog
from nbformat.v4 import new_markdown_cell

FIRST = Path("c1") / "01-first.ipynb"
COPY = Path("c1") / "01-first-Copy1.ipynb"  # what JupyterLab's "Duplicate" names it
MINE = Path("my-own-notes.ipynb")  # a learner's notebook that is no lesson's
ANSWER = "answer-recall-aircAruvnKk"


def build(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "build", "--catalog", folder / "catalog.json", "--no-trust", *extra)


def answer(path: Path, cell_id: str, text: str) -> None:
    """Type `text` into a cell and save, as JupyterLab does."""
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.id == cell_id).source = text
    nbformat.write(nb, path)


def answer_of(path: Path, cell_id: str) -> str:
    return next(c.source for c in nbformat.read(path, as_version=4).cells if c.id == cell_id)


def built_with_a_duplicate(folder: Path, capsys) -> Path:
    """A built course whose first lesson was duplicated in JupyterLab, each file answered differently,
    beside a notebook of the learner's own."""
    write_catalog(folder, small_catalog())
    assert build(capsys, folder)[0] == 0
    out = folder / "notebooks"
    shutil.copy(out / FIRST, out / COPY)
    answer(out / FIRST, ANSWER, "the learner's own answer")
    answer(out / COPY, ANSWER, "an answer in the copy")
    nbformat.write(nbformat.v4.new_notebook(cells=[new_markdown_cell("my notes")]), out / MINE)
    return out


def test_a_renamed_lesson_moves_the_learners_own_file_and_leaves_the_duplicate_as_it_is(tmp_path, capsys):
    out = built_with_a_duplicate(tmp_path, capsys)
    copy, mine = (out / COPY).read_bytes(), (out / MINE).read_bytes()
    data = small_catalog()
    data["courses"][0]["lessons"][0]["title"] = "First, renamed"
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0
    moved = out / "c1" / "01-first-renamed.ipynb"
    assert answer_of(moved, ANSWER) == "the learner's own answer"
    assert not (out / FIRST).exists()
    assert (out / COPY).read_bytes() == copy and (out / MINE).read_bytes() == mine
    assert (f"copy {out / COPY}: a copy of Lesson 1; left as it is (the lesson's notebook is "
            "c1/01-first-renamed.ipynb)") in printed.splitlines()
    assert f"lesson moved from {FIRST.as_posix()}" in printed
    code, printed, _ = build(capsys, tmp_path, "--check")
    assert code == 0, printed


def test_a_duplicate_is_never_updated_and_its_lesson_is(tmp_path, capsys):
    out = built_with_a_duplicate(tmp_path, capsys)
    copy = (out / COPY).read_bytes()
    data = small_catalog()
    data["videos"][0]["title"] = "A better title"
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0
    assert (out / COPY).read_bytes() == copy
    assert "A better title" in (out / FIRST).read_text() and answer_of(out / FIRST, ANSWER) == "the learner's own answer"
    assert f"copy {out / COPY}: a copy of Lesson 1; left as it is" in printed


def test_the_only_notebook_of_a_lesson_moves_with_it_whatever_its_name(tmp_path, capsys):
    """A learner who kept only the duplicate (and deleted the original) still has their work in the lesson."""
    out = built_with_a_duplicate(tmp_path, capsys)
    (out / FIRST).unlink()
    data = small_catalog()
    data["courses"][0]["lessons"][0]["title"] = "First, renamed"
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0 and "copy " not in printed
    assert answer_of(out / "c1" / "01-first-renamed.ipynb", ANSWER) == "an answer in the copy"
    assert not (out / COPY).exists()


def test_a_build_after_a_duplicate_was_reported_changes_nothing(tmp_path, capsys):
    out = built_with_a_duplicate(tmp_path, capsys)
    data = small_catalog()
    data["courses"][0]["lessons"][0]["title"] = "First, renamed"
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    before = snapshot(out)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0 and snapshot(out) == before
    assert printed.endswith("0 added, 0 updated, 0 removed, 0 archived, 5 unchanged\n")
