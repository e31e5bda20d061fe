"""A learner's answers and added cells survive every kind of catalog edit and rebuild."""

from __future__ import annotations

from pathlib import Path

import nbformat
from helpers import small_catalog, write_catalog
from nbformat.v4 import new_code_cell, new_markdown_cell

from companion.cli import main


def build(folder: Path, data: dict) -> None:
    write_catalog(folder, data)
    assert main(["build", "--catalog", str(folder / "catalog.json"), "--no-trust"]) == 0


def learner_writes(path: Path, answers: dict[str, str], added: list[tuple[str, nbformat.NotebookNode]]) -> None:
    """Edit as JupyterLab would: fill answer cells, insert own cells after given cells, save."""
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.id in answers:
            c.source = answers[c.id]
    for after, cell in added:
        i = next(i for i, c in enumerate(nb.cells) if c.id == after)
        nb.cells.insert(i + 1, cell)
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}  # as a saving frontend adds
    nbformat.write(nb, path)


def all_text(out: Path) -> str:
    return "\n".join(c.source for p in sorted(out.rglob("*.ipynb")) for c in nbformat.read(p, as_version=4).cells)


def texts_in_order(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


WORDS = {
    "a1": "My answer about neural networks",
    "a2": "My answer about gradient descent",
    "a3": "My answer about backprop",
    "a4": "My answer in lesson three",
    "n1": "A note I added under the gradient descent video",
    "n2": "x = 42  # my own code at the end",
    "n3": "A note before everything",
}


def learner_session(out: Path) -> None:
    learner_writes(out / "c1" / "01-first.ipynb",
                   {"answer-recall-aircAruvnKk": WORDS["a1"], "answer-recall-IHZwWFHWa-w": WORDS["a2"]},
                   [("embed-IHZwWFHWa-w", new_markdown_cell(WORDS["n1"])), ("footer", new_code_cell(WORDS["n2"]))])
    learner_writes(out / "c1" / "02-second.ipynb", {"answer-recall-Ilg3gGewQ5U": WORDS["a3"]}, [])
    nb = nbformat.read(out / "c1" / "02-second.ipynb", as_version=4)
    nb.cells.insert(0, new_markdown_cell(WORDS["n3"]))
    nbformat.write(nb, out / "c1" / "02-second.ipynb")
    learner_writes(out / "c1" / "03-third.ipynb", {"answer-recall-aircAruvnKk": WORDS["a4"]}, [])


def assert_nothing_lost(out: Path) -> None:
    text = all_text(out)
    lost = [k for k, w in WORDS.items() if w not in text]
    assert lost == []


def test_rebuilding_an_unchanged_catalog_leaves_learner_files_untouched(tmp_path, capsys):
    data = small_catalog()
    build(tmp_path, data)
    out = tmp_path / "notebooks"
    learner_session(out)
    before = {p: p.read_bytes() for p in out.rglob("*.ipynb")}
    build(tmp_path, data)
    assert {p: p.read_bytes() for p in out.rglob("*.ipynb")} == before
    capsys.readouterr()
    assert main(["build", "--check", "--catalog", str(tmp_path / "catalog.json")]) == 0


def test_answers_and_added_cells_stay_in_place_when_a_lesson_is_renamed(tmp_path):
    data = small_catalog()
    build(tmp_path, data)
    out = tmp_path / "notebooks"
    learner_session(out)
    untouched_index = (out / "c1" / "index-c1.ipynb").read_bytes()
    data["courses"][0]["lessons"][0]["title"] = "First, renamed"
    build(tmp_path, data)
    assert not (out / "c1" / "01-first.ipynb").exists()
    cells = texts_in_order(out / "c1" / "01-first-renamed.ipynb")
    assert cells.index(WORDS["n1"]) == cells.index('lesson.show_video("IHZwWFHWa-w")') + 1
    assert cells[-1] == WORDS["n2"]
    assert WORDS["a1"] in cells and WORDS["a2"] in cells
    assert texts_in_order(out / "c1" / "02-second.ipynb")[0] == WORDS["n3"]
    assert (out / "c1" / "index-c1.ipynb").read_bytes() != untouched_index  # the index lists the new title
    assert_nothing_lost(out)


def test_a_scripted_series_of_catalog_edits_loses_no_learner_text(tmp_path):
    data = small_catalog()
    build(tmp_path, data)
    out = tmp_path / "notebooks"
    learner_session(out)
    lessons = data["courses"][0]["lessons"]

    lessons[0]["title"] = "First, renamed"  # rename a lesson
    build(tmp_path, data)
    assert_nothing_lost(out)

    moved = lessons[0]["videos"].pop(1)  # move a video to another lesson
    lessons[1]["videos"].append(moved)
    build(tmp_path, data)
    assert_nothing_lost(out)
    first = texts_in_order(out / "c1" / "01-first-renamed.ipynb")
    assert WORDS["a2"] not in first and WORDS["n1"] not in first  # they went with the video (test_follow.py)
    second = texts_in_order(out / "c1" / "02-second.ipynb")
    assert second.index(WORDS["n1"]) == second.index('lesson.show_video("IHZwWFHWa-w")') + 1
    assert WORDS["a2"] in second

    lessons[1]["videos"].remove("Ilg3gGewQ5U")  # delete a video
    data["videos"] = [v for v in data["videos"] if v["id"] != "Ilg3gGewQ5U"]
    build(tmp_path, data)
    assert_nothing_lost(out)

    del lessons[2]  # delete a lesson: its notebook holds an answer, so it is archived
    build(tmp_path, data)
    assert_nothing_lost(out)
    assert not (out / "c1" / "03-third.ipynb").exists()
    assert WORDS["a4"] in all_text(out / "removed")

    lessons[0]["number"], lessons[1]["number"] = 2, 1  # reorder lessons
    build(tmp_path, data)
    assert_nothing_lost(out)
    assert WORDS["a1"] in "\n".join(texts_in_order(out / "c1" / "02-first-renamed.ipynb"))
    assert texts_in_order(out / "c1" / "01-second.ipynb")[0] == WORDS["n3"]

    rebuilt = {p: p.read_bytes() for p in out.rglob("*.ipynb")}
    build(tmp_path, data)  # and a rebuild after all that changes nothing
    assert {p: p.read_bytes() for p in out.rglob("*.ipynb")} == rebuilt


def test_a_lesson_nobody_wrote_in_is_deleted_with_its_catalog_entry(tmp_path):
    data = small_catalog()
    build(tmp_path, data)
    del data["courses"][0]["lessons"][2]
    build(tmp_path, data)
    out = tmp_path / "notebooks"
    assert not (out / "c1" / "03-third.ipynb").exists() and not (out / "removed").exists()


def test_an_edited_generated_cell_is_kept_as_the_learners_own_next_to_the_new_one(tmp_path):
    data = small_catalog()
    build(tmp_path, data)
    path = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.id == "video-aircAruvnKk").source += "\n\nMy margin note."
    nbformat.write(nb, path)
    data["videos"][0]["title"] = "A better title"
    build(tmp_path, data)
    cells = nbformat.read(path, as_version=4).cells
    i = next(i for i, c in enumerate(cells) if c.id == "video-aircAruvnKk")
    assert "A better title" in cells[i].source and "My margin note." not in cells[i].source
    assert "My margin note." in cells[i + 1].source and "companion" not in cells[i + 1].metadata


def test_generated_notebooks_carry_no_widget_state_or_learner_outputs(tmp_path):
    from helpers import ROOT

    for p in (ROOT / "notebooks").rglob("*.ipynb"):
        nb = nbformat.read(p, as_version=4)
        assert "widgets" not in nb.metadata, p
        for c in nb.cells:
            meta = c.metadata.get("companion", {})
            if c.cell_type == "code" and meta.get("role") != "embed":  # a player, or an index's table as built
                assert c.outputs == [] or "output" in meta, (p, c.id)
