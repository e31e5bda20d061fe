"""Checklist ticks through real kernels (nbclient): remembered across restarts, errors shown."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from helpers import small_catalog, write_catalog
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from companion.cli import main
from companion.learner.store import ProgressStore


@pytest.fixture
def lesson_path(tmp_path, monkeypatch) -> Path:
    path = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(path), "--no-trust"]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    monkeypatch.delenv("COMPANION_CATALOG", raising=False)  # kernels find catalog.json above the notebook
    return tmp_path / "notebooks" / "c1" / "01-first.ipynb"


def run(path: Path, *extra: str) -> list[str]:
    """Run the lesson plus extra cells in a fresh kernel; the extra cells' printed text."""
    nb = nbformat.read(path, as_version=4)
    cells = [new_code_cell(src) for src in extra]
    nb.cells += cells
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs) for c in cells]


STATE = "print([b.value for b in lesson.checklist().children if hasattr(b, 'indent')])"


def test_a_tick_survives_a_kernel_restart(lesson_path, tmp_path):
    assert run(lesson_path, STATE) == ["[False, False, False, False]\n"]
    run(lesson_path, "box = lesson.checklist().children[1]\nbox.value = True")
    assert run(lesson_path, STATE) == ["[False, True, False, False]\n"]
    ticks = ProgressStore(tmp_path / "progress.sqlite").ticks()
    assert ticks == {("c1", "l1", "IHZwWFHWa-w"): True}


def test_two_kernels_on_one_store_see_each_others_ticks(lesson_path):
    run(lesson_path, "lesson.checklist().children[0].value = True")
    other = lesson_path.parent / "03-third.ipynb"
    run(other, "lesson.checklist().children[1].value = True")
    assert run(lesson_path, STATE) == ["[True, False, False, False]\n"]
    assert run(other, STATE) == ["[False, True]\n"]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_the_video_cells_show_the_live_player_carrying_exactly_the_saved_players(lesson_path):
    """The live player's output adds a widget view (which nbval never compares: random model ids)
    to exactly the HTML and text the build saved."""
    saved = nbformat.read(lesson_path, as_version=4)
    nb = nbformat.read(lesson_path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(lesson_path.parent)}}).execute()
    embeds = [(before, after) for before, after in zip(saved.cells, nb.cells, strict=True) if before.id.startswith("embed-")]
    assert embeds
    for before, after in embeds:
        assert all(WIDGET_VIEW in o.data for o in after.outputs), f"{after.id} shows no live player"
        assert [{k: v for k, v in o.data.items() if k != WIDGET_VIEW} for o in after.outputs] == \
            [o.data for o in before.outputs]


def test_a_damaged_store_is_explained_in_the_notebook_and_kept(lesson_path, tmp_path):
    store = tmp_path / "progress.sqlite"
    store.write_bytes(b"not sqlite" * 300)
    nb = nbformat.read(lesson_path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(lesson_path.parent)}}).execute()
    checklist = next(c for c in nb.cells if c.id == "checklist")
    shown = str(checklist.outputs)
    assert "damaged" in shown and "not reset" in shown
    assert store.read_bytes() == b"not sqlite" * 300
    assert list(tmp_path.glob("progress.sqlite.damaged-*"))


def test_running_a_lesson_imports_only_the_kernels_folders_and_neither_nbformat_nor_jsonschema(lesson_path):
    out = run(lesson_path, "import sys\nprint(sorted(m for m in sys.modules if m.startswith(('companion', 'nbformat', 'jsonschema'))))")
    loaded = ast.literal_eval(out[0])
    assert "companion.kernel.lesson" in loaded and "companion.kernel.player" in loaded
    # what a lesson may load (docs/architecture.md): the kernel's folder and the two below it, the face
    # the notebooks import, the errors, the settings; never the builder, the server extension, the hub or authoring
    allowed = ("companion.kernel", "companion.learner", "companion.course")
    strays = [m for m in loaded if not m.startswith(allowed)
              and m not in ("companion", "companion.lesson", "companion.errors", "companion.settings")]
    assert strays == [], strays


def test_no_network_is_touched_when_a_lesson_runs(lesson_path):
    guard = ("import socket\n"
             "def _refuse(*a, **k): raise RuntimeError('network used')\n"
             "socket.socket.connect = _refuse\nsocket.create_connection = _refuse\n")
    nb = nbformat.read(lesson_path, as_version=4)
    nb.cells.insert(0, new_code_cell(guard))
    NotebookClient(nb, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(lesson_path.parent)}}).execute()  # raises on any error
    assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", []))


def test_a_catalog_edited_into_a_wrong_shape_after_the_build_is_explained_not_a_traceback(lesson_path, tmp_path):
    import json

    catalog = tmp_path / "catalog.json"
    data = json.loads(catalog.read_text())
    data["videos"][0]["title"] = None  # the schema would refuse this; the kernel does not run it
    catalog.write_text(json.dumps(data))
    nb = nbformat.read(lesson_path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(lesson_path.parent)}}).execute()
    checklist = next(c for c in nb.cells if c.id == "checklist")
    assert "run `companion validate`" in str(checklist.outputs)
    assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", []))


def test_notebooks_built_elsewhere_find_their_catalog_when_run(tmp_path, monkeypatch):
    """`build --out` outside the catalog's folder: no catalog.json above the notebooks, so the
    lesson finds it through the path the build recorded in the notebooks' metadata."""
    (tmp_path / "src").mkdir()
    catalog = write_catalog(tmp_path / "src", small_catalog())
    out = tmp_path / "elsewhere" / "notebooks"
    assert main(["build", "--catalog", str(catalog), "--out", str(out), "--no-trust"]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    monkeypatch.delenv("COMPANION_CATALOG", raising=False)
    lesson = out / "c1" / "01-first.ipynb"
    assert nbformat.read(lesson, as_version=4).metadata["companion"]["catalog"] == "../../../src/catalog.json"
    assert nbformat.read(out / "start-here.ipynb", as_version=4).metadata["companion"]["catalog"] == "../../src/catalog.json"
    assert run(lesson, STATE, "print(type(lesson).__name__)") == ["[False, False, False, False]\n", "LessonView\n"]


def test_checklist_and_progress_outputs_carry_a_static_form_that_follows_the_ticks(lesson_path):
    """What the save hook keeps when a learner saves: the checklist as readable ticks, not a widget id."""
    nb = nbformat.read(lesson_path, as_version=4)
    nb.cells.append(new_code_cell("shown = lesson.checklist()\ndisplay(shown)\nshown.children[1].value = True"))
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(lesson_path.parent)}},
                   store_widget_state=False).execute()
    [shown] = next(c for c in nb.cells if c.id == "checklist").outputs
    assert "application/vnd.jupyter.widget-view+json" in shown.data
    assert shown.data["text/html"].count("☐") == 4 and "Run All Cells" in shown.data["text/html"]
    assert shown.data["text/plain"].startswith("Checklist: 0 of 4 done\n☐ ▶ ")
    # A tick redraws the static form of the checklist it was made in.
    [ticked] = nb.cells[-1].outputs
    assert ticked.data["text/plain"].startswith("Checklist: 1 of 4 done\n☐ ▶ ")
    assert ticked.data["text/plain"].split("\n")[2].startswith("☑ ▶ ")
    index = nbformat.read(lesson_path.parent / "index-c1.ipynb", as_version=4)
    NotebookClient(index, kernel_name="python3", timeout=60,
                   resources={"metadata": {"path": str(lesson_path.parent)}}).execute()
    [bars] = next(c for c in index.cells if c.id == "progress").outputs
    # the index's progress is plain HTML (companion.kernel.board): nothing a reopened notebook can't show
    assert "Whole course: 1 of" in bars.data["text/plain"] and not any("widget" in m for m in bars.data)
