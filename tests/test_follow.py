"""Issue 22, item 9: a lesson's work follows the lesson. A learner's duplicate of a lesson never
takes the lesson's place; an answer, a note, a tick and a position move with the prompt or video
they belong to when the catalog moves it to another lesson; what can't be placed is said."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from helpers import run_cli, small_catalog, snapshot, write_catalog
from nbformat.v4 import new_markdown_cell

from companion.learner import export
from companion.learner.store import Note, ProgressStore

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
    assert re.search(r": 0 added, 0 updated, 0 removed, 0 archived, \d+ unchanged\n$", printed), printed


def split_catalog() -> dict:
    """The small catalog with prompts of its own in the first lesson, to split it."""
    data = small_catalog()
    data["courses"][0]["lessons"][0]["prompts"] = [{"id": "p-nets", "text": "What is a neuron?"},
                                                   {"id": "p-descent", "text": "Why follow the gradient?"}]
    return data


def split(data: dict) -> dict:
    """Move the second video and its prompt out of lesson 1 into a new lesson 4."""
    lessons = data["courses"][0]["lessons"]
    video = lessons[0]["videos"].pop(1)
    prompt = lessons[0]["prompts"].pop(1)
    lessons.append({"id": "l4", "number": 4, "title": "Descent", "videos": [video], "prompts": [prompt]})
    return data


def learner_wrote_in_lesson_1(out: Path) -> None:
    path = out / FIRST
    nb = nbformat.read(path, as_version=4)
    answers = {"answer-p-nets": "neurons hold numbers", "answer-p-descent": "downhill is the fastest way down"}
    for c in nb.cells:
        c.source = answers.get(c.id, c.source)
    at = next(i for i, c in enumerate(nb.cells) if c.id == "embed-IHZwWFHWa-w")
    nb.cells.insert(at + 1, new_markdown_cell("my note under the descent video", id="my-note"))
    nbformat.write(nb, path)


def learner_watched_in_lesson_1() -> None:
    """The moved video ticked, half watched and noted at 1:30; the video that stays ticked too."""
    store = ProgressStore()
    store.set("c1", "l1", "IHZwWFHWa-w", True, at=100.0)
    store.set("c1", "l1", "aircAruvnKk", True, at=100.0)
    store.save_position("c1", "l1", "IHZwWFHWa-w", 90, 180, [(0, 90)], at=100.0)
    store.add_note(Note("note-1", "c1", "l1", "IHZwWFHWa-w", 90, "the slope points uphill", 100.0))


def test_a_split_lesson_takes_the_answer_and_the_note_with_the_video_and_prompt(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    write_catalog(tmp_path, split_catalog())
    assert build(capsys, tmp_path)[0] == 0
    out = tmp_path / "notebooks"
    learner_wrote_in_lesson_1(out)
    learner_watched_in_lesson_1()
    nbformat.write(nbformat.v4.new_notebook(cells=[new_markdown_cell("my notes")]), out / MINE)
    mine = (out / MINE).read_bytes()
    write_catalog(tmp_path, split(split_catalog()))
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0
    new = nbformat.read(out / "c1" / "04-descent.ipynb", as_version=4).cells
    ids = [c.id for c in new]
    assert ids[ids.index("embed-IHZwWFHWa-w") + 1] == "my-note"
    assert new[ids.index("answer-p-descent")].source == "downhill is the fastest way down"
    first = nbformat.read(out / FIRST, as_version=4).cells
    assert "removed-notes" not in [c.id for c in first]
    assert not any("downhill" in c.source or "my note" in c.source for c in first)
    assert next(c.source for c in first if c.id == "answer-p-nets") == "neurons hold numbers"
    assert (out / MINE).read_bytes() == mine
    moved = 'the video "Gradient descent" and the prompt "Why follow the gradient?"'
    assert f"your work under {moved} moved with them to c1/04-descent.ipynb" in printed
    assert f"took in your work under {moved} from c1/01-first.ipynb" in printed
    store = ProgressStore()
    assert store.ticks("c1") == {("c1", "l1", "aircAruvnKk"): True, ("c1", "l4", "IHZwWFHWa-w"): True}
    assert [(p.lesson, p.position, p.played) for p in store.positions("c1").values()] == [("l4", 90, ((0, 90),))]
    assert [(n.lesson, n.text) for n in store.notes("c1")] == [("l4", "the slope points uphill")]
    assert (f"progress {out / 'c1' / '04-descent.ipynb'}: took the tick, the position and 1 note of the video "
            '"Gradient descent" from Lesson 1 — First') in printed.splitlines()
    kept = export.write(store)
    before = snapshot(out)
    (out / ".companion-build.json").unlink()  # a full build, not the stamp's answer: nothing left to move
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0 and snapshot(out) == before and " 0 updated" in printed and "progress " not in printed
    assert export.write(store) == kept
    assert build(capsys, tmp_path, "--check")[0] == 0


def test_work_under_a_video_kept_in_several_lessons_goes_to_the_lesson_it_was_moved_to(tmp_path, capsys):
    """Lesson 3 has the first video too; moving it from lesson 1 to a new lesson takes the work there."""
    data = split_catalog()
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    out = tmp_path / "notebooks"
    path = out / FIRST
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.id == "embed-aircAruvnKk")
    nb.cells.insert(at + 1, new_markdown_cell("my note under the first video", id="my-note"))
    nbformat.write(nb, path)
    lessons = data["courses"][0]["lessons"]
    lessons[0]["videos"].pop(0)
    lessons.append({"id": "l4", "number": 4, "title": "Networks", "videos": ["aircAruvnKk"]})
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    assert "my note under the first video" in (out / "c1" / "04-networks.ipynb").read_text()
    assert "my note under the first video" not in (out / "c1" / "03-third.ipynb").read_text()
    assert "my note under the first video" not in path.read_text()


def test_an_answer_that_meets_another_answer_is_kept_beside_it(tmp_path, capsys):
    """Two lessons merged into one: each had its own answer to the same prompt; both are kept."""
    data = small_catalog()
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    out = tmp_path / "notebooks"
    answer(out / FIRST, ANSWER, "answered in lesson one")
    answer(out / "c1" / "03-third.ipynb", ANSWER, "answered in lesson three")
    lessons = data["courses"][0]["lessons"]
    lessons[0]["videos"].pop(0)  # the first video now only in lesson 3, whose answer says something else
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path, "--check")
    third = next(l for l in printed.splitlines() if l.startswith(f"stale: {out / 'c1' / '03-third.ipynb'}: "))
    assert code == 1 and third.endswith(" is still in c1/01-first.ipynb") and ": your work under the prompt " in third
    assert build(capsys, tmp_path)[0] == 0
    third = nbformat.read(out / "c1" / "03-third.ipynb", as_version=4).cells
    at = next(i for i, c in enumerate(third) if c.id == ANSWER)
    assert third[at].source == "answered in lesson three" and third[at + 1].source == "answered in lesson one"
    assert "answered in lesson one" not in (out / FIRST).read_text()
    before = snapshot(out)
    assert build(capsys, tmp_path)[0] == 0 and snapshot(out) == before


def test_progress_of_a_video_kept_in_several_lessons_goes_to_the_lesson_it_was_moved_to(tmp_path, capsys,
                                                                                         monkeypatch):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    data = split_catalog()
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    store = ProgressStore()
    store.set("c1", "l1", "aircAruvnKk", True, at=100.0)  # lesson 3 has the video too, unticked
    lessons = data["courses"][0]["lessons"]
    lessons[0]["videos"].pop(0)
    lessons.append({"id": "l4", "number": 4, "title": "Networks", "videos": ["aircAruvnKk"]})
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    assert store.ticks("c1") == {("c1", "l4", "aircAruvnKk"): True}


def test_progress_of_a_video_no_lesson_has_stays_where_it_was(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    data = small_catalog()
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    ProgressStore().set("c1", "l2", "no-link", True, at=100.0)
    data["courses"][0]["lessons"][1]["videos"].remove("no-link")
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0 and "progress " not in printed
    assert ProgressStore().ticks("c1") == {("c1", "l2", "no-link"): True}


def test_a_build_makes_no_progress_store(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    write_catalog(tmp_path, split_catalog())
    assert build(capsys, tmp_path)[0] == 0
    write_catalog(tmp_path, split(split_catalog()))
    assert build(capsys, tmp_path)[0] == 0
    assert not (tmp_path / "progress.sqlite").exists()


def test_a_lesson_merged_into_another_takes_its_work_there_and_is_archived_whole(tmp_path, capsys):
    data = small_catalog()
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    out = tmp_path / "notebooks"
    second = out / "c1" / "02-second.ipynb"
    answer(second, "answer-recall-Ilg3gGewQ5U", "backprop is the chain rule")
    lessons = data["courses"][0]["lessons"]
    lessons[0]["videos"] += lessons[1]["videos"]
    del lessons[1]
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0
    assert answer_of(out / FIRST, "answer-recall-Ilg3gGewQ5U") == "backprop is the chain rule"
    assert "backprop is the chain rule" in (out / "removed" / "c1" / "02-second.ipynb").read_text()
    assert not second.exists()
    assert (f'archive {second}: no longer in the catalog; your notes are kept in {out / "removed" / "c1" / "02-second.ipynb"}; '
            'your work under the prompt') in printed
    before = snapshot(out)
    assert build(capsys, tmp_path)[0] == 0 and snapshot(out) == before


def test_work_under_content_no_lesson_has_is_kept_at_the_end_and_the_build_says_where(tmp_path, capsys):
    data = small_catalog()
    write_catalog(tmp_path, data)
    assert build(capsys, tmp_path)[0] == 0
    out = tmp_path / "notebooks"
    answer(out / FIRST, ANSWER, "an answer about a video that is gone")
    lessons = data["courses"][0]["lessons"]
    lessons[0]["videos"].pop(0)
    del lessons[2]  # the only other lesson with that video
    write_catalog(tmp_path, data)
    code, printed, _ = build(capsys, tmp_path)
    assert code == 0
    line = next(l for l in printed.splitlines() if l.startswith(f"update {out / FIRST}"))
    assert line.endswith('your work under content no lesson has now is kept at the end of c1/01-first.ipynb, '
                         'under "Notes from removed content"')
    cells = nbformat.read(out / FIRST, as_version=4).cells
    assert [c.id for c in cells[-2:]] == ["removed-notes", ANSWER]
    assert cells[-2].source.startswith("## Notes from removed content\n\nThe catalog no longer has")


@pytest.mark.slow
def test_saves_to_the_lesson_work_leaves_while_the_build_moves_it_lose_nothing(tmp_path):
    """Real processes: a "learner" saves lesson 1 every 10 ms (read, add a line, replace) while
    a build splits it; the answer that moves and every saved line are somewhere afterwards."""
    import json
    import os
    import subprocess
    import threading
    import time

    from helpers import PYTHON, subprocess_env

    def cli(folder: Path) -> None:
        done = subprocess.run([PYTHON, "-m", "companion", "build", "--catalog", str(folder / "catalog.json"),
                               "--no-trust"], env=subprocess_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr

    def saver(path: Path, stop: threading.Event, saved: list[str]) -> None:
        n = 0
        while not stop.is_set():
            try:
                nb = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            mine = next(c for c in nb["cells"] if c["id"] == "mine")
            mine["source"] = "".join(mine["source"]) + f"save {n}\n"
            tmp = path.with_name(f".saver-{n}.tmp")
            tmp.write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, path)
            saved.append(f"save {n}")
            n += 1
            time.sleep(0.01)

    for round_ in range(4):
        folder = tmp_path / f"round-{round_}"
        folder.mkdir()
        write_catalog(folder, split_catalog())
        cli(folder)
        out = folder / "notebooks"
        learner_wrote_in_lesson_1(out)
        nb = nbformat.read(out / FIRST, as_version=4)
        nb.cells.insert(1, new_markdown_cell("", id="mine"))
        nbformat.write(nb, out / FIRST)
        write_catalog(folder, split(split_catalog()))
        stop, saved = threading.Event(), []
        thread = threading.Thread(target=saver, args=(out / FIRST, stop, saved))
        thread.start()
        try:
            cli(folder)
        finally:
            stop.set()
            thread.join()
        cli(folder)  # what a save kept from moving, the next build moves
        texts = {p.name: p.read_text() for p in (out / "c1").glob("*.ipynb")}
        assert "downhill is the fastest way down" in texts["04-descent.ipynb"]
        assert "my note under the descent video" in texts["04-descent.ipynb"]
        mine = next(c.source for c in nbformat.read(out / FIRST, as_version=4).cells if c.id == "mine")
        assert [line for line in saved if line not in mine.splitlines()] == []
