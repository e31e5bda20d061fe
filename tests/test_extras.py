"""Lesson extras (jupytext files under lessons/), text twins (`build --text`) and `build --dry-run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from helpers import ROOT, small_catalog, write_catalog
from nbformat.v4 import new_markdown_cell

from companion.builder import extras, stamp, twins
from companion.builder.plan import plan
from companion.cli import main
from companion.course.catalog import CatalogError, load
from companion.notebook.cells import digest

MYST = """\
### Counting

Some *words* before the code.

```{code-cell}
counts = {}
for ch in "hello":
    counts[ch] = counts.get(ch, 0) + 1
print(counts)
```

+++ {"id": "after"}

A named cell: its id stays when cells are added above it.

```{code-cell}
---
tags: [keep-me]
---
assert counts["l"] == 2
```
"""

PERCENT = """\
# %% [markdown]
# A percent-script extra.

# %%
print(sum(range(10)))
"""


def setup_course(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """The small catalog with extras `files` ({"c1/l1.md": text}) under lessons/; returns the catalog path."""
    catalog = write_catalog(tmp_path, small_catalog())
    for name, text in (files if files is not None else {"c1/l1.md": MYST, "c1/l2.py": PERCENT}).items():
        path = tmp_path / "lessons" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return catalog


def build(catalog: Path, *args: str) -> int:
    return main(["build", "--catalog", str(catalog), "--no-trust", *args])


def cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def roles(path: Path) -> list:
    return [(c.metadata.get("companion") or {}).get("role") for c in cells(path)]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and mtime: what "nothing written" must leave alone."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != stamp.NAME}


# ---- extras ---------------------------------------------------------------------------------------

def test_extra_cells_sit_between_the_videos_and_reflect(tmp_path):
    catalog = setup_course(tmp_path)
    assert build(catalog) == 0
    nb = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    r = roles(nb)
    header = r.index("extras-header")
    assert r[header - 1] in ("resources", "embed")  # after the videos and the resources
    assert r[header + 1:header + 5] == ["extra"] * 4
    assert r[header + 5] == "reflect"
    by_id = {c.id: c for c in cells(nb)}
    assert by_id["extras-header"].source.startswith("## Worked example")
    assert [c.id for c in cells(nb) if (c.metadata.get("companion") or {}).get("role") == "extra"] == \
        ["extra-1", "extra-2", "extra-after", "extra-4"]
    code = by_id["extra-2"]
    assert code.cell_type == "code" and code.execution_count is None and code.outputs == []
    assert code.metadata["companion"] == {"role": "extra", "digest": digest(code.source)}
    assert 'counts[ch] = counts.get(ch, 0) + 1' in code.source
    assert by_id["extra-4"].metadata["tags"] == ["keep-me"]
    assert nbformat.read(nb, as_version=4).metadata["companion"]["extra"] == "lessons/c1/l1.md"
    nbformat.validate(nbformat.read(nb, as_version=4))
    # the percent script went to lesson 2; lesson 3 has no extra
    assert [c.source for c in cells(tmp_path / "notebooks" / "c1" / "02-second.ipynb")
            if c.id.startswith("extra-")] == ["A percent-script extra.", "print(sum(range(10)))"]
    assert "extras-header" not in roles(tmp_path / "notebooks" / "c1" / "03-third.ipynb")


def test_editing_an_extra_updates_only_it_and_keeps_learner_work(tmp_path, capsys):
    catalog = setup_course(tmp_path)
    assert build(catalog) == 0
    nb_path = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    # the learner answers, adds a note under the first code cell and plays with the assert cell
    nb = nbformat.read(nb_path, as_version=4)
    answer = next(c for c in nb.cells if c.id.startswith("answer-"))
    answer.source = "My answer stays."
    i = next(i for i, c in enumerate(nb.cells) if c.id == "extra-2")
    nb.cells.insert(i + 1, new_markdown_cell("My note on the counting code."))
    next(c for c in nb.cells if c.id == "extra-4").source = "assert counts['l'] == 2, 'mine'"
    nbformat.write(nb, nb_path)
    before = {p: p.read_bytes() for p in (tmp_path / "notebooks").rglob("*.ipynb")}
    # the author edits the extra: new words in the first cell, a new last cell
    (tmp_path / "lessons" / "c1" / "l1.md").write_text(
        MYST.replace("Some *words*", "Some *other words*") + "\n```{code-cell}\nprint('new cell')\n```\n")
    capsys.readouterr()
    assert build(catalog, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"would update {tmp_path / 'notebooks' / 'c1' / '01-first.ipynb'}: extra lessons/c1/l1.md changed" in out
    assert build(catalog) == 0
    changed = [p for p, data in before.items() if p.read_bytes() != data]
    assert changed == [nb_path]
    after = cells(nb_path)
    sources = [c.source for c in after]
    assert "My answer stays." in sources
    assert "### Counting\n\nSome *other words* before the code." in sources
    assert "print('new cell')" in sources
    ids = [c.id for c in after]
    assert ids[ids.index("extra-2") + 1] != "extra-after"  # the learner's note still follows its cell
    assert after[ids.index("extra-2") + 1].source == "My note on the counting code."
    assert "assert counts['l'] == 2, 'mine'" in sources  # their edited copy ...
    assert after[ids.index("extra-4")].source == 'assert counts["l"] == 2'  # ... beside a fresh one
    assert build(catalog, "--check") == 0


BAD = {
    "typo in the lesson id": ({"c1/l11.md": MYST}, "lessons/c1/l11.md", 'no lesson "l11"'),
    "unknown course": ({"c2/l1.md": MYST}, "lessons/c2", 'no course "c2"'),
    "not a .md or .py": ({"c1/l1.txt": MYST}, "lessons/c1/l1.txt", "not an extra"),
    "outside a course folder": ({"l1.md": MYST}, "lessons/l1.md", "not an extra"),
    "bad cell options": ({"c1/l1.md": "text\n\n```{code-cell}\n---\ntags: [a\n---\nx = 1\n```\n"},
                         "lessons/c1/l1.md:3", "could not be read"),
    "not Python": ({"c1/l2.py": "# %%\nx = 1\n\n# %%\ny = (2,\n"}, "lessons/c1/l2.py:5", "not valid Python"),
    "not Python after a magic": ({"c1/l1.md": "```{code-cell}\n%matplotlib inline\ny = (2,\n```\n"},
                                 "lessons/c1/l1.md:3", "not valid Python"),
    "no cell markers": ({"c1/l2.py": "print('no markers')\n"}, "lessons/c1/l2.py", "# %%"),
    "percent options": ({"c1/l2.py": "# %% {broken\nx = 1\n"}, "lessons/c1/l2.py", "cell options"),
    "raw cell": ({"c1/l1.md": "```{raw-cell}\nraw\n```\n"}, "lessons/c1/l1.md", "raw cells"),
    "empty": ({"c1/l1.md": "\n"}, "lessons/c1/l1.md", "no cells"),
    "two extras for a lesson": ({"c1/l1.md": MYST, "c1/l1.py": PERCENT}, "lessons/c1/l1.py", "already has an extra"),
    "duplicate ids": ({"c1/l1.md": '+++ {"id": "x"}\n\na\n\n+++ {"id": "x"}\n\nb\n'}, "lessons/c1/l1.md", "id 'x'"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_extra_is_a_clean_error_and_nothing_is_written(tmp_path, capsys, case):
    files, where, words = BAD[case]
    catalog = setup_course(tmp_path, {"c1/l1.md": MYST})
    assert build(catalog) == 0
    shutil.rmtree(tmp_path / "lessons")
    setup_course(tmp_path, files)
    before = snapshot(tmp_path)
    capsys.readouterr()
    for args in ([], ["--check"], ["--dry-run"], ["--text"]):
        assert build(catalog, *args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert f"{tmp_path / where}" in err and words in err, err
        assert err.rstrip().endswith("nothing was written")
    assert main(["validate", "--catalog", str(catalog)]) == 2
    assert snapshot(tmp_path) == before


def test_ipython_syntax_in_an_extra_is_not_a_mistake(tmp_path):
    """Magics, shell escapes and `?` are what a notebook runs: the check reads them as IPython does."""
    code = ("```{code-cell}\n%matplotlib inline\nimport math\n```\n\n```{code-cell}\n!echo hi\nmath?\n```\n\n"
            "```{code-cell}\n%%time\nx = 1\n```\n")
    catalog = setup_course(tmp_path, {"c1/l1.md": code})
    assert build(catalog) == 0
    sources = [c.source for nb in (tmp_path / "notebooks").rglob("*.ipynb") for c in cells(nb)]
    assert "%%time\nx = 1" in sources and "!echo hi\nmath?" in sources


def test_unreadable_extras_name_their_file(tmp_path, capsys):
    catalog = setup_course(tmp_path, {"c1/l2.py": PERCENT})
    (tmp_path / "lessons" / "c1" / "l1.md").write_bytes(b"\xff\xfe not utf-8")
    os.symlink(tmp_path / "nowhere.md", tmp_path / "lessons" / "c1" / "l3.md")
    assert build(catalog) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'lessons/c1/l1.md'}: cannot read" in err
    assert f"{tmp_path / 'lessons/c1/l3.md'}: no such file (broken link)" in err
    assert not (tmp_path / "notebooks").exists()


def test_extras_load_reports_every_problem_at_once(tmp_path):
    catalog = setup_course(tmp_path, {"c1/l11.md": MYST, "c9/l1.md": MYST, "c1/l2.py": "# %%\n)\n"})
    with pytest.raises(CatalogError) as e:
        extras.load(load(catalog))
    assert len(e.value.problems) == 3
    assert any('did you mean "l1"' in p for p in e.value.problems)


def test_the_repo_extras_run_and_check_something():
    """Every shipped extra loads and its code runs in plain Python (nbval runs it in the notebooks)."""
    import matplotlib

    matplotlib.use("Agg")  # figures are drawn off-screen here; in a notebook the inline backend shows them
    import matplotlib.pyplot as plt

    found = extras.load(load(ROOT / "catalog.json"))
    assert len(found) >= 15
    for extra in found.values():
        code = [c.source for c in extra.cells if c.kind == "code"]
        assert code and any("assert" in c for c in code), extra.source
        namespace: dict = {}
        try:
            for source in code:
                exec(compile(source, str(extra.source), "exec"), namespace)
        finally:
            plt.close("all")


def test_every_course_and_each_of_the_first_five_math_phases_has_a_worked_example():
    cat = load(ROOT / "catalog.json")
    found = extras.load(cat)
    assert {course for course, _ in found} == set(cat.courses)
    math = cat.courses["math-for-ml"]
    with_extra = [l for l in math.lessons if ("math-for-ml", l.id) in found]
    assert len(math.phases) >= 5
    for phase in math.phases[:5]:
        assert any(phase.holds(l) for l in with_extra), phase.title


# ---- text twins -----------------------------------------------------------------------------------

def twin_of(notebook: Path) -> Path:
    """Where the build keeps a notebook's twin: `text/` beside `notebooks/`, the same path below it."""
    out = next(p for p in notebook.parents if p.name == "notebooks")
    return out.parent / "text" / notebook.relative_to(out).with_suffix(".md")


def test_text_twins_are_written_in_a_text_folder_beside_the_notebooks_and_deterministically(tmp_path, capsys):
    catalog = setup_course(tmp_path)
    assert build(catalog, "--text") == 0
    out = tmp_path / "notebooks"
    notebooks = sorted(out.rglob("*.ipynb"))
    assert sorted((tmp_path / "text").rglob("*.md")) == sorted(twin_of(p) for p in notebooks)
    assert not list(out.rglob("*.md")), "no twin among the notebooks a learner browses"
    first = {**snapshot(out), **snapshot(tmp_path / "text")}
    capsys.readouterr()
    assert build(catalog, "--text") == 0
    assert ", 0 added, 0 updated" in capsys.readouterr().out.replace("notebooks:", ",")
    assert {**snapshot(out), **snapshot(tmp_path / "text")} == first  # not even rewritten
    other = tmp_path / "again"
    shutil.copytree(tmp_path / "lessons", other / "lessons")
    again = setup_course(other, {})
    assert build(again, "--text") == 0
    again_files = {**snapshot(other / "notebooks"), **snapshot(other / "text")}
    assert {p: b for p, (b, _) in again_files.items()} == {p: b for p, (b, _) in first.items()}
    text = twin_of(out / "c1" / "01-first.ipynb").read_text()
    assert "jupytext_version:" not in text  # a jupytext upgrade alone does not change twins
    assert "print(counts)" in text and "## Worked example" in text


def test_twin_cell_ids_survive_the_round_trip(tmp_path):
    catalog = setup_course(tmp_path)
    assert build(catalog, "--text") == 0
    for nb_path in sorted((tmp_path / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        text = twin_of(nb_path).read_text(encoding="utf-8")
        plain = jupytext.reads(text, fmt="md")  # plain jupytext: ids ride in the cell metadata
        assert [c.metadata["id"] for c in plain.cells] == [c.id for c in nb.cells]
        back = twins.reads(text)
        assert [c.id for c in back.cells] == [c.id for c in nb.cells]
        assert [(c.cell_type, c.source, c.metadata) for c in back.cells] == \
            [(c.cell_type, c.source, c.metadata) for c in nb.cells]
        assert twins.dumps(back) == text  # and back again: no churn


def test_every_repo_notebook_reads_back_from_its_twin():
    cat = load(ROOT / "catalog.json")
    for path, nb in plan(cat, extras=extras.load(cat), folder=ROOT / "notebooks").items():
        back = twins.reads(twins.dumps(nb))
        assert [(c.id, c.cell_type, c.source, c.metadata) for c in back.cells] == \
            [(c.id, c.cell_type, c.source, c.metadata) for c in nb.cells], path
        assert back.metadata["companion"] == nb.metadata["companion"]


def test_check_covers_twins(tmp_path, capsys):
    catalog = setup_course(tmp_path)
    assert build(catalog, "--text") == 0
    out = tmp_path / "notebooks"
    twin = twin_of(out / "c1" / "01-first.ipynb")
    readme = twin.parent.parent / "README.md"
    readme.write_text("# Not a twin\n")  # Markdown of one's own is neither checked nor removed
    assert build(catalog, "--check") == 0
    good = twin.read_text()
    twin.write_text(good.replace("Some *words*", "Some *edited words*"))
    capsys.readouterr()
    for args in (["--check"], ["--check", "--text"]):  # once twins exist, a plain --check covers them
        assert build(catalog, *args) == 1
        assert f"stale: {twin}: text twin does not match c1/01-first.ipynb" in capsys.readouterr().out
    assert build(catalog, "--check", "--no-text") == 0
    twin.unlink()
    capsys.readouterr()
    assert build(catalog, "--check", "--text") == 1
    assert f"stale: {twin}: text twin of c1/01-first.ipynb missing" in capsys.readouterr().out
    gone = twin.parent / "09-gone.md"
    gone.write_text(good)
    assert build(catalog, "--check", "--text") == 1
    assert f"stale: {gone}: text twin of a notebook not in the catalog" in capsys.readouterr().out
    assert build(catalog) == 0  # twins exist: a plain build keeps them
    assert twin.read_text() == good and not gone.exists()
    assert readme.read_text() == "# Not a twin\n"
    assert build(catalog, "--check", "--text") == 0


def test_a_plain_build_keeps_existing_twins_in_step_with_the_catalog(tmp_path):
    catalog = setup_course(tmp_path)
    assert build(catalog, "--text") == 0
    data = small_catalog()
    data["courses"][0]["lessons"][2]["title"] = "Third, renamed"
    write_catalog(tmp_path, data)
    assert build(catalog) == 0
    out = tmp_path / "text" / "c1"
    assert not (out / "03-third.md").exists() and "Third, renamed" in (out / "03-third-renamed.md").read_text()
    assert build(catalog, "--check", "--text") == 0


def test_twins_an_earlier_build_left_among_the_notebooks_move_to_the_text_folder(tmp_path, capsys):
    catalog = setup_course(tmp_path)
    assert build(catalog, "--text") == 0
    out, text = tmp_path / "notebooks", tmp_path / "text"
    for twin in text.rglob("*.md"):  # where builds before this one kept them
        twin.rename(out / twin.relative_to(text))
    shutil.rmtree(text)
    assert build(catalog, "--check") == 1  # the twins are found, and are out of place
    assert build(catalog) == 0
    assert not list(out.rglob("*.md"))
    assert sorted(text.rglob("*.md")) == sorted(twin_of(p) for p in out.rglob("*.ipynb"))
    assert build(catalog, "--check", "--text") == 0


@pytest.mark.slow
def test_pytest_collects_notebooks_not_twins(tmp_path):
    catalog = setup_course(tmp_path)
    assert build(catalog, "--text") == 0
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--nbval",
                          "--nbval-current-env", "notebooks"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    collected = {line.split("::")[0] for line in run.stdout.splitlines() if "::" in line}
    assert collected == {str(p.relative_to(tmp_path)) for p in (tmp_path / "notebooks").rglob("*.ipynb")}


# ---- dry run --------------------------------------------------------------------------------------

def test_dry_run_lists_extra_and_twin_changes_and_writes_nothing(tmp_path, capsys):
    catalog = setup_course(tmp_path, {})
    assert build(catalog) == 0
    setup_course(tmp_path, {"c1/l1.md": MYST})
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert build(catalog, "--dry-run", "--text") == 0
    out = capsys.readouterr().out
    nb = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    assert f"would update {nb}: new extra lessons/c1/l1.md" in out
    assert f"would add {twin_of(nb)}: text twin of c1/01-first.ipynb: new extra lessons/c1/l1.md" in out
    assert f"would add {tmp_path / 'text' / 'c1' / '02-second.md'}: text twin of c1/02-second.ipynb: new" in out
    assert "dry run, nothing written" in out
    assert snapshot(tmp_path) == before
    assert build(catalog, "--text") == 0
    (tmp_path / "lessons" / "c1" / "l1.md").unlink()
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert build(catalog, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"would update {nb}: extra lessons/c1/l1.md removed" in out
    assert f"would update {twin_of(nb)}: text twin of c1/01-first.ipynb: extra lessons/c1/l1.md removed" in out
    assert snapshot(tmp_path) == before
