"""Issue 12: files the build cannot read or match, the output tree, archives, id-less cells.

Every notebook here is damaged the way real ones are (a `git pull` that conflicts, a crash of
another tool, an old nbformat, a tool that strips ids or metadata): the build keeps the bytes
aside, says where, puts back the learner's text it can read, and never ends in a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from helpers import run_cli, small_catalog, write_catalog

from companion.course.layout import TOP

ANSWER = "MY ANSWER: the chain rule, applied backwards"
FIRST = Path("c1") / "01-first.ipynb"


def build(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "build", "--catalog", folder / "catalog.json", "--no-trust", *extra)


def answered(folder: Path, capsys, text: str = ANSWER) -> Path:
    """A built course whose first lesson has an answer typed in, saved as JupyterLab saves."""
    folder.mkdir(exist_ok=True)
    write_catalog(folder, small_catalog())
    assert build(capsys, folder)[0] == 0
    path = folder / "notebooks" / FIRST
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.id.startswith("answer-")).source = text
    nbformat.write(nb, path)
    return path


def _conflict(text: str, folder: Path) -> str:
    """What `git merge-file` leaves when the learner's answer and an upstream edit of the same
    cell meet (a `git pull` of rebuilt notebooks)."""
    ours, base, theirs = (folder / n for n in ("ours", "base", "theirs"))
    ours.write_text(text)
    base.write_text(text.replace(json.dumps(ANSWER), '""'))
    theirs.write_text(text.replace(json.dumps(ANSWER), json.dumps("their answer")))
    done = subprocess.run(["git", "merge-file", "-p", str(ours), str(base), str(theirs)], capture_output=True)
    assert b"<<<<<<<" in done.stdout
    return done.stdout.decode()


def _truncated(text: str) -> str:
    end = text.index(json.dumps(ANSWER)) + len(json.dumps(ANSWER))
    return text[: text.index("}", end) + 300]


def _v3(text: str) -> str:
    return nbformat.writes(nbformat.convert(nbformat.reads(text, as_version=4), 3))


def _reshape(change) -> callable:
    def damage(text: str) -> str:
        nb = json.loads(text)
        change(nb)
        return json.dumps(nb, indent=1)
    return damage


DAMAGE = {
    "truncated JSON": (_truncated, True),
    "git conflict markers": (None, True),  # made with git, below
    "nbformat 3": (_v3, True),
    "invalid UTF-8": (lambda t: t.replace(ANSWER, ANSWER + " caf\udce9"), True),  # typed in latin-1
    "metadata.companion removed": (_reshape(lambda nb: nb["metadata"].pop("companion")), True),
    "a JSON string": (lambda t: json.dumps("just a string"), False),
    "metadata a list": (_reshape(lambda nb: nb.update(metadata=[])), True),
    "cells without metadata": (_reshape(lambda nb: [c.pop("metadata") for c in nb["cells"]]), True),
    "cells without ids or metadata": (_reshape(lambda nb: [(c.pop("metadata"), c.pop("id")) for c in nb["cells"]]), True),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_notebook_the_build_cannot_read_is_kept_aside_and_its_answers_recovered(tmp_path, capsys, kind):
    path = answered(tmp_path, capsys)
    damage, recoverable = DAMAGE[kind]
    text = path.read_text()
    bad = _conflict(text, tmp_path) if damage is None else damage(text)
    data = bad.encode("utf-8", errors="surrogateescape")
    path.write_bytes(data)
    code, out, err = build(capsys, tmp_path)
    assert code == 0, err
    kept = tmp_path / "notebooks" / "kept-aside" / FIRST
    assert kept.read_bytes() == data  # the bytes as they were, never overwritten
    assert f"aside {path}" in out and str(kept) in out
    nb = nbformat.read(path, as_version=4)  # a readable notebook again
    nbformat.validate(nb)
    sources = [c.source for c in nb.cells]
    assert any(ANSWER in s for s in sources) == recoverable
    assert sum(s.startswith("# Lesson 1 — First") for s in sources) == 1  # the lesson is not there twice
    assert build(capsys, tmp_path)[1].endswith(f"0 added, 0 updated, 0 removed, 0 archived, {len(TOP) + 4} unchanged\n")


def test_a_second_unreadable_copy_never_overwrites_the_first(tmp_path, capsys):
    path = answered(tmp_path, capsys)
    for n in (1, 2):
        path.write_text(f"{{ broken {n}")
        assert build(capsys, tmp_path)[0] == 0
    kept = tmp_path / "notebooks" / "kept-aside" / "c1"
    assert (kept / "01-first.ipynb").read_text() == "{ broken 1"
    assert (kept / "01-first.2.ipynb").read_text() == "{ broken 2"


def test_check_names_an_unreadable_notebook_without_a_traceback(tmp_path, capsys):
    path = answered(tmp_path, capsys)
    path.write_text('"a string"')
    code, out, _ = build(capsys, tmp_path, "--check")
    assert code == 1 and f"stale: {path}: does not match the catalog: not a notebook (a JSON string)" in out
    assert path.read_text() == '"a string"'


def test_a_notebook_of_another_lesson_with_work_is_kept_aside_not_overwritten(tmp_path, capsys):
    answered(tmp_path, capsys)
    data = small_catalog()
    data["courses"][0]["lessons"][0]["id"] = "l1-new"  # same file name, another lesson: l1 left the catalog
    write_catalog(tmp_path, data)
    code, out, _ = build(capsys, tmp_path)
    assert code == 0
    kept = tmp_path / "notebooks" / "kept-aside" / FIRST
    assert ANSWER in kept.read_text() and "it holds your work in another lesson (l1)" in out


# --- 2. one way of walking the output tree; output folders that would swallow something ---

def test_a_symlinked_course_folder_is_read_and_written_through_the_link(tmp_path, capsys):
    path = answered(tmp_path, capsys)
    elsewhere = tmp_path / "elsewhere"
    os.rename(path.parent, elsewhere)
    path.parent.symlink_to(elsewhere, target_is_directory=True)
    code, out, _ = build(capsys, tmp_path)
    assert code == 0 and "0 added" in out, out  # (updated: the catalog's path as seen from the linked folder)
    data = small_catalog()
    data["courses"][0]["title"] = "Course One, again"
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    assert ANSWER in (elsewhere / "01-first.ipynb").read_text() and "Course One, again" in (elsewhere / "01-first.ipynb").read_text()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["01-first.ipynb", "02-second.ipynb", "03-third.ipynb", "index-c1.ipynb"]


def test_a_symlink_loop_in_the_output_folder_is_walked_once(tmp_path, capsys):
    answered(tmp_path, capsys)
    (tmp_path / "notebooks" / "c1" / "loop").symlink_to("..", target_is_directory=True)
    code, out, _ = build(capsys, tmp_path)
    assert code == 0 and f"{len(TOP) + 4} unchanged" in out


@pytest.mark.parametrize("out", [".", "catalog.json", "lessons", "lessons/sub"])
def test_an_output_folder_that_would_swallow_or_clobber_other_files_is_refused(tmp_path, capsys, out):
    answered(tmp_path, capsys)
    (tmp_path / "lessons").mkdir()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, _, err = build(capsys, tmp_path, "--out", tmp_path / out)
    assert code == 2 and f"--out {tmp_path / out}:" in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_an_output_folder_around_another_output_folder_is_refused(tmp_path, capsys):
    answered(tmp_path / "course", capsys)
    (tmp_path / "other").mkdir()
    other = (tmp_path / "course" / "catalog.json").rename(tmp_path / "other" / "catalog.json")
    code, _, err = run_cli(capsys, "build", "--catalog", other, "--out", tmp_path / "course", "--no-trust")
    assert code == 2 and "notebooks/start-here.ipynb is the index of another output folder" in err


# --- 3. archives ---

def test_an_archive_never_overwrites_an_earlier_archive(tmp_path, capsys):
    data = small_catalog()
    third = data["courses"][0]["lessons"].pop()
    for answer in ("ANSWER A", "ANSWER B"):
        data["courses"][0]["lessons"].append(third)
        write_catalog(tmp_path, data)
        assert build(capsys, tmp_path)[0] == 0
        path = tmp_path / "notebooks" / "c1" / "03-third.ipynb"
        nb = nbformat.read(path, as_version=4)
        next(c for c in nb.cells if c.id.startswith("answer-")).source = answer
        nbformat.write(nb, path)
        data["courses"][0]["lessons"].pop()
        write_catalog(tmp_path, data)
        assert build(capsys, tmp_path)[0] == 0
    removed = tmp_path / "notebooks" / "removed" / "c1"
    assert "ANSWER A" in (removed / "03-third.ipynb").read_text()
    assert "ANSWER B" in (removed / "03-third.2.ipynb").read_text()


# --- 10. the removed-notes header, cells without ids, large notebooks of the learner's ---

def test_text_typed_into_the_removed_notes_header_is_kept(tmp_path, capsys):
    path = answered(tmp_path, capsys)
    data = small_catalog()
    data["courses"][0]["lessons"][0]["videos"] = ["IHZwWFHWa-w"]  # the answered video's prompt goes
    del data["courses"][0]["lessons"][2]  # with the other lesson that has it (else the answer would go there)
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    nb = nbformat.read(path, as_version=4)
    header = next(c for c in nb.cells if c.id == "removed-notes")
    header.source += "\n\nMY OWN WORDS IN THE HEADER"
    nbformat.write(nb, path)
    for title in ("Course One, again", "Course One"):
        data["courses"][0]["title"] = title
        write_catalog(tmp_path, data)
        assert build(capsys, tmp_path)[0] == 0
        text = path.read_text()
        assert text.count("MY OWN WORDS IN THE HEADER") == 1 and ANSWER in text


@pytest.mark.parametrize("strip", ["ids (nbformat 4.4)", "ids renumbered", "ids and metadata"])
def test_cells_without_their_ids_are_matched_not_kept_twice(tmp_path, capsys, strip):
    path = answered(tmp_path, capsys)
    nb = json.loads(path.read_text())
    for n, c in enumerate(nb["cells"]):
        if strip == "ids renumbered":
            c["id"] = f"x{n:06d}"
        else:
            del c["id"]
        if strip == "ids and metadata":
            c["metadata"] = {}
    nb["nbformat_minor"] = 4
    path.write_text(json.dumps(nb, indent=1))
    data = small_catalog()
    if strip != "ids and metadata":  # then only the text tells a generated cell: it must not change
        data["courses"][0]["title"] = "Course One, again"
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    cells = nbformat.read(path, as_version=4).cells
    fresh = nbformat.reads(json.dumps(_built(tmp_path, data)), as_version=4).cells
    assert [c.id for c in cells] == [c.id for c in fresh]  # the lesson once, no stray copies
    assert next(c for c in cells if c.id.startswith("answer-")).source == ANSWER


def _built(tmp_path: Path, data: dict) -> dict:
    other = tmp_path / "fresh"
    other.mkdir()
    write_catalog(other, data)
    from companion.cli import main

    assert main(["build", "--catalog", str(other / "catalog.json"), "--no-trust"]) == 0
    return json.loads((other / "notebooks" / FIRST).read_text())


PEAK = """
import resource, sys
from companion.cli import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
sys.exit(code)
"""


def _peak_mb(folder: Path) -> int:
    from helpers import PYTHON, subprocess_env

    done = subprocess.run([PYTHON, "-c", PEAK, "build", "--catalog", str(folder / "catalog.json"), "--no-trust"],
                          capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "0 added, 0 updated" in done.stdout
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_a_no_op_build_does_not_read_the_learners_large_notebooks(tmp_path, capsys):
    answered(tmp_path, capsys)
    before = _peak_mb(tmp_path)
    big = tmp_path / "notebooks" / "c1" / "my-data.ipynb"
    with open(big, "w") as f:  # written in pieces: this process must not hold 300 MB (its children inherit the peak)
        f.write('{"cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": '
                '[{"name": "stdout", "output_type": "stream", "text": "')
        for _ in range(300):
            f.write("x" * (1 << 20))
        f.write('"}], "source": ""}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    after = _peak_mb(tmp_path)
    print(f"peak RSS of a no-op build: {before} MB; with a 300 MB notebook of the learner's beside: {after} MB")
    assert after < before + 30


def test_a_damaged_notebook_of_a_lesson_that_moved_is_kept_aside_and_its_answers_move(tmp_path, capsys):
    path = answered(tmp_path, capsys)
    path.write_text(_conflict(path.read_text(), tmp_path))
    data = small_catalog()
    data["courses"][0]["lessons"][0]["title"] = "First, renamed"
    write_catalog(tmp_path, data)
    code, out, _ = build(capsys, tmp_path)
    assert code == 0 and not path.exists()
    assert ANSWER in (path.parent / "01-first-renamed.ipynb").read_text()
    assert "<<<<<<<" in (tmp_path / "notebooks" / "kept-aside" / FIRST).read_text()
