"""A no-op build answers from its stamp (`companion/stamp.py`), and anything that could change the
output makes it build in full: a learner's save, a deleted or added notebook, an edited catalog,
extra or `companion` package, another output folder, another --text, --nocookie or --no-trust.

Each build runs in a fresh interpreter; whether it built in full shows in `sys.modules`: the full
path imports nbformat, the stamp's does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import PYTHON, ROOT, small_catalog, subprocess_env, write_catalog

from companion.builder.stamp import NAME

PROBE = ("import sys; from companion.cli import main; code = main(sys.argv[1:]); "
         "print('FULL' if 'nbformat' in sys.modules else 'STAMP', code)")


def build(catalog: Path, *args: str | Path, pythonpath: Path | None = None) -> tuple[str, int, str]:
    """`companion build` in a new interpreter: ("FULL" or "STAMP", exit code, output)."""
    env = subprocess_env()
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    r = subprocess.run([PYTHON, "-c", PROBE, "build", "--catalog", str(catalog), *map(str, args)],
                       capture_output=True, text=True, env=env, cwd=catalog.parent, check=False)
    assert r.returncode == 0, r.stderr
    how, code = r.stdout.strip().splitlines()[-1].split()
    return how, int(code), r.stdout + r.stderr


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A catalog (with one lesson extra) built once, so the next build can answer from its stamp."""
    catalog = write_catalog(tmp_path, small_catalog())
    (tmp_path / "lessons" / "c1").mkdir(parents=True)
    (tmp_path / "lessons" / "c1" / "l1.md").write_text("A worked example.\n", encoding="utf-8")
    how, code, _ = build(catalog)
    assert (how, code) == ("FULL", 0)
    assert (tmp_path / "notebooks" / NAME).is_file()
    return catalog


def first_notebook(catalog: Path) -> Path:
    return catalog.parent / "notebooks" / "c1" / "01-first.ipynb"


def test_an_unchanged_tree_builds_and_checks_from_the_stamp_and_reports_the_same(built):
    how, code, out = build(built)
    assert (how, code) == ("STAMP", 0)
    assert "0 added, 0 updated, 0 removed, 0 archived, 7 unchanged; 7 trusted" in out
    how, code, out = build(built, "--check")
    assert (how, code) == ("STAMP", 0)
    assert "7 notebooks match" in out


def test_a_learners_save_makes_a_full_build_and_check(built):
    nb = first_notebook(built)
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["cells"].append({"cell_type": "markdown", "id": "mine", "metadata": {}, "source": ["My own note\n"]})
    nb.write_text(json.dumps(data, indent=1), encoding="utf-8")
    assert build(built, "--check")[:2] == ("FULL", 0)  # the learner's own cell is not stale
    assert build(built)[:2] == ("FULL", 0)
    assert "My own note" in nb.read_text(encoding="utf-8")
    assert build(built)[0] == "STAMP"


def test_a_save_that_keeps_size_and_mtime_still_makes_a_full_build(built):
    nb = first_notebook(built)
    before = nb.stat()
    text = nb.read_text(encoding="utf-8")
    nb.write_text(text.replace("First", "Tsrif", 1), encoding="utf-8")  # same size, in place
    os.utime(nb, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert build(built)[0] == "FULL"


def test_a_deleted_notebook_is_built_again(built):
    first_notebook(built).unlink()
    how, _, out = build(built)
    assert how == "FULL" and "1 added" in out
    assert first_notebook(built).is_file()


def test_a_notebook_added_to_the_folder_makes_a_full_build(built):
    stray = built.parent / "notebooks" / "c1" / "99-old.ipynb"
    shutil.copy(first_notebook(built), stray)
    assert build(built)[0] == "FULL"


def test_an_edited_catalog_makes_a_full_build(built):
    data = small_catalog()
    data["courses"][0]["lessons"][0]["title"] = "First, renamed"
    write_catalog(built.parent, data)
    how, _, out = build(built)
    assert how == "FULL" and "updated" in out
    assert any("First, renamed" in p.read_text() for p in (built.parent / "notebooks" / "c1").glob("*.ipynb"))


def test_an_edited_or_new_extra_makes_a_full_build(built):
    extra = built.parent / "lessons" / "c1" / "l1.md"
    extra.write_text("A better worked example.\n", encoding="utf-8")
    how, _, out = build(built)
    assert how == "FULL" and "1 updated" in out
    (built.parent / "lessons" / "c1" / "l2.md").write_text("Another.\n", encoding="utf-8")
    how, _, out = build(built)
    assert how == "FULL" and "1 updated" in out


def test_another_companion_version_makes_a_full_build(built, tmp_path_factory):
    copy = tmp_path_factory.mktemp("package")
    shutil.copytree(ROOT / "companion", copy / "companion", ignore=shutil.ignore_patterns("__pycache__"))
    assert build(built, pythonpath=copy)[0] == "STAMP"  # the same files: their hashes count, not their place
    init = copy / "companion" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace('__version__ = "', '__version__ = "9.'), encoding="utf-8")
    assert build(built, pythonpath=copy)[0] == "FULL"


def test_the_same_notebooks_in_another_folder_are_built_in_full(built):
    elsewhere = built.parent / "copy"
    shutil.copytree(built.parent / "notebooks", elsewhere)
    how, _, _ = build(built, "--out", elsewhere)
    assert how == "FULL"
    assert build(built, "--out", elsewhere)[0] == "STAMP"


@pytest.mark.parametrize("option, effect", [("--text", "added"), ("--nocookie", "updated")])
def test_another_output_option_makes_a_full_build(built, option, effect):
    how, _, out = build(built, option)
    assert how == "FULL" and effect in out
    assert build(built, option)[0] == "STAMP"


def test_a_build_after_an_untrusted_one_signs_in_full(built, tmp_path_factory):
    catalog = write_catalog(tmp_path_factory.mktemp("untrusted"), small_catalog())
    assert build(catalog, "--no-trust")[0] == "FULL"
    assert build(catalog, "--no-trust")[0] == "STAMP"
    how, _, out = build(catalog)
    assert how == "FULL" and "trusted" in out
    assert build(catalog)[0] == "STAMP"
    assert build(catalog, "--no-trust")[0] == "FULL"


def test_a_changed_trust_database_makes_a_full_build_that_signs_again(built, tmp_path_factory, monkeypatch):
    data_dir = tmp_path_factory.mktemp("jupyter-data")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data_dir))  # subprocess_env passes it to the builds
    assert build(built)[0] == "FULL"  # another database: the environment differs
    assert build(built)[0] == "STAMP"
    (data_dir / "nbsignatures.db").unlink()
    assert build(built)[0] == "FULL"
    assert (data_dir / "nbsignatures.db").is_file()


def test_a_garbled_stamp_means_a_full_build_that_writes_a_good_one(built):
    stamp = built.parent / "notebooks" / NAME
    stamp.write_text("{not json", encoding="utf-8")
    assert build(built)[0] == "FULL"
    assert build(built)[0] == "STAMP"


def test_a_full_build_parses_only_the_extras_that_changed(built):
    # an import audit hook sees jupytext imported (the command forgets it after, see cli.quick_imports)
    probe = ("import sys; seen = []; sys.addaudithook(lambda e, a: seen.append(a[0]) if e == 'import' else None); "
             + PROBE.replace("print(", "print('jupytext' in seen, "))
    data = small_catalog()
    data["courses"][0]["lessons"][1]["title"] = "Second, renamed"
    write_catalog(built.parent, data)

    def run(*args: str | Path) -> str:
        r = subprocess.run([PYTHON, "-c", probe, "build", "--catalog", str(built), *map(str, args)],
                           capture_output=True, text=True, env=subprocess_env(), cwd=built.parent, check=False)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip().splitlines()[-1]

    assert run() == "False FULL 0"  # the catalog changed, the extra did not: its cells were kept
    assert run("--out", built.parent / "new") == "False FULL 0"  # a new folder: the same cells
    assert "A worked example." in (built.parent / "new" / "c1" / "01-first.ipynb").read_text(encoding="utf-8")
    (built.parent / "lessons" / "c1" / "l1.md").write_text("Changed.\n", encoding="utf-8")
    assert run() == "True FULL 0"
    assert "Changed." in first_notebook(built).read_text(encoding="utf-8")
