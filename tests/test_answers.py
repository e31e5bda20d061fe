"""My answers and notes: the learner's answers read from their lesson notebooks on disk and their notes
from a real SQLite store, gathered by course and lesson, searched, shown escaped and exported to
Markdown (`companion notes --answers`); the notebook run in a real kernel (nbclient)."""

from __future__ import annotations

import nbformat
import pytest
from helpers import run_cli, small_catalog, write_catalog
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from companion.cli import main
from companion.course.catalog import load
from companion.kernel.answers import gather, markdown, page
from companion.learner.store import Note, ProgressStore

ANSWER = "A network is <b>layers</b> of numbers;\nweights are learned."


@pytest.fixture
def built(tmp_path, monkeypatch):
    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    monkeypatch.delenv("COMPANION_CATALOG", raising=False)
    lesson = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    nb = nbformat.read(lesson, as_version=4)
    cell = next(c for c in nb.cells if c.id == "answer-recall-aircAruvnKk")
    cell.source = ANSWER
    nbformat.write(nb, lesson)
    store = ProgressStore(tmp_path / "progress.sqlite")
    store.add_note(Note("n1", "c1", "l2", "Ilg3gGewQ5U", 75.0, "chain rule, <i>again</i>", 1.0))
    return tmp_path


def test_gathers_each_answer_under_its_prompt_and_each_note_by_course_and_lesson(built):
    cat = load(built / "catalog.json")
    work = gather(cat, built / "notebooks", ProgressStore(built / "progress.sqlite").notes())
    assert [(w.course.id, w.lesson.id) for w in work] == [("c1", "l1"), ("c1", "l2")]  # lesson 3: nothing written
    [answer] = work[0].answers
    assert answer.prompt.startswith("Explain the central idea of But what is a neural network?")
    assert answer.text == ANSWER
    [(title, note)] = work[1].notes
    assert title == "Backpropagation" and note.at == 75.0


def test_the_search_narrows_the_list_and_everything_shown_is_escaped(built):
    cat = load(built / "catalog.json")
    work = gather(cat, built / "notebooks", ProgressStore(built / "progress.sqlite").notes())
    everything, _ = page(cat, work)
    assert "&lt;b&gt;layers&lt;/b&gt;" in everything and "<b>layers</b>" not in everything
    assert "&lt;i&gt;again&lt;/i&gt;" in everything
    html, text = page(cat, work, "CHAIN rule")
    assert "Backpropagation" in html and "layers" not in html and "Lesson 1" not in text
    html, text = page(cat, work, "no such words")
    assert text == "Nothing matches “no such words”." and "Lesson" not in html


def test_the_export_is_one_markdown_file_with_answers_quoted_and_notes_linked_to_their_moment(built, capsys):
    out = built / "mine.md"
    code, said, _ = run_cli(capsys, "notes", "--answers", "--catalog", str(built / "catalog.json"),
                            "--out", str(out))
    assert code == 0 and str(out) in said
    text = out.read_text(encoding="utf-8")
    cat = load(built / "catalog.json")
    assert text == markdown(cat, gather(cat, built / "notebooks", ProgressStore(built / "progress.sqlite").notes()))
    assert "## Course One\n\n### Lesson 1 — First\n" in text
    assert "> A network is <b>layers</b> of numbers;\n> weights are learned." in text  # the learner's own markdown
    assert "- [1:15](https://www.youtube.com/watch?v=Ilg3gGewQ5U&t=75s) *Backpropagation*: chain rule, " in text


@pytest.mark.parametrize("where", ["missing/mine.md", ".", "c1.ipynb"])
def test_a_bad_out_path_is_refused_with_exit_2_and_nothing_is_written(built, capsys, where):
    before = sorted(p.name for p in built.iterdir())
    code, _, err = run_cli(capsys, "notes", "--answers", "--catalog", str(built / "catalog.json"),
                           "--out", str(built / where))
    assert code == 2 and err.startswith("companion: --out ") and "Traceback" not in err
    assert sorted(p.name for p in built.iterdir()) == before


def test_out_without_answers_is_refused(built, capsys):
    code, _, err = run_cli(capsys, "notes", "--catalog", str(built / "catalog.json"), "--out", str(built / "x.md"))
    assert code == 2 and "--answers" in err and not (built / "x.md").exists()


@pytest.mark.slow
def test_the_notebook_gathers_them_in_a_kernel_and_its_search_box_filters_as_the_learner_types(built):
    path = built / "notebooks" / "my-answers-and-notes.ipynb"
    nb = nbformat.read(path, as_version=4)
    probe = new_code_cell("import ipywidgets as w\n"
                          "shown = _\n"
                          "box, found = shown.children\n"
                          "print('Backpropagation' in found.value, 'layers' in found.value)\n"
                          "box.value = 'chain'\n"
                          "print('Backpropagation' in found.value, 'layers' in found.value)")
    nb.cells.append(probe)
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute()
    shown = next(c for c in nb.cells if "show()" in c.source)
    saved = "".join(o.get("data", {}).get("text/plain", "") for o in shown.outputs)
    assert "".join(o.get("text", "") for o in probe.outputs) == "True True\nTrue False\n"
    # the form a save keeps is what the learner last saw: the list as narrowed by the search
    assert "Lesson 2 — Second" in saved and "1:15 Backpropagation" in saved and "Lesson 1" not in saved
