"""The library API (`companion.build`, `import_index`, `progress`) and its one error family."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import small_catalog, write_catalog

import companion
from companion.builder import plan as builder
from companion.cli import main


def test_build_returns_a_report_and_check_reports_stale_without_writing(tmp_path):
    cat = write_catalog(tmp_path, small_catalog())
    report = companion.build(cat, trust=False)
    assert report.out == tmp_path / "notebooks" and report.count("add") == report.notebooks == 7  # 3 lessons, 2 indexes, review, my answers
    nb = tmp_path / "notebooks" / "c1" / "01-first.ipynb"
    nb.unlink()
    check = companion.build(cat, check=True)
    assert [(c.path.as_posix(), c.stale) for c in check.stale] == [("c1/01-first.ipynb", "missing")]
    assert not nb.exists()
    assert companion.build(cat, dry_run=True, trust=False).count("add") == 1 and not nb.exists()


def test_import_index_and_progress_through_the_api(tmp_path):
    cat = write_catalog(tmp_path, small_catalog())
    index = tmp_path / "index.md"
    index.write_text("# Imported\n\n## A series\n\n| # | Title | Lesson | Link |\n|---|---|---|---|\n"
                     "| 1 | A talk | 1 | https://www.youtube.com/watch?v=aircAruvnKk |\n", encoding="utf-8")
    done = companion.import_index(index, "imported", catalog=cat)
    assert (done.course, done.lessons, done.changed) == ("imported", 1, True)
    assert not companion.import_index(index, "imported", catalog=cat).changed
    (course,) = companion.progress(cat, course="c1")
    assert course.total.done == 0 and course.total.total == sum(p.total.total for p in course.phases) > 0


def test_progress_travels_from_one_store_to_another_through_the_api(tmp_path):
    from companion.learner.store import ProgressStore

    cat = write_catalog(tmp_path, small_catalog())
    mine, theirs = ProgressStore(tmp_path / "mine.sqlite"), ProgressStore(tmp_path / "theirs.sqlite")
    mine.set("c1", "l1", "aircAruvnKk", True, at=100.0)
    mine.save_position("c1", "l1", "aircAruvnKk", 12.0, 600.0, [(0.0, 12.0)])
    out = companion.export_progress(tmp_path / "progress.json", store=mine)
    assert (out.file, out.store, out.ticks, out.positions, out.notes, out.left_out) == (
        tmp_path / "progress.json", mine.path, 1, 1, 0, [])
    got = companion.import_progress(tmp_path / "progress.json", catalog=cat, store=theirs)
    assert (got.taken, got.offered, got.ticks, got.positions, got.notes) == (2, 2, 1, 1, 0)
    assert theirs.ticks("c1") == {("c1", "l1", "aircAruvnKk"): True}
    assert companion.import_progress(tmp_path / "progress.json", catalog=cat, store=theirs).taken == 0


def test_an_export_onto_the_store_and_an_unreadable_import_are_user_mistakes(tmp_path):
    from companion.learner.store import ProgressStore

    store = ProgressStore(tmp_path / "progress.sqlite")
    store.set("c1", "l1", "aircAruvnKk", True)
    before = store.path.read_bytes()
    with pytest.raises(companion.UsageError, match="is a SQLite database"):
        companion.export_progress(store.path, store=store)
    assert store.path.read_bytes() == before
    with pytest.raises(companion.UsageError, match="cannot read"):
        companion.import_progress(tmp_path / "missing.json", catalog=write_catalog(tmp_path, small_catalog()),
                                  store=store)


def test_an_unknown_course_is_a_user_mistake_with_exit_2(tmp_path, capsys):
    cat = write_catalog(tmp_path, small_catalog())
    with pytest.raises(companion.NotFound):
        companion.progress(cat, course="nope")
    assert main(["progress", "--catalog", str(cat), "--course", "nope"]) == 2
    assert 'no course "nope"' in capsys.readouterr().err


def test_a_bug_is_not_reported_as_a_user_mistake(tmp_path, monkeypatch):
    """A stray KeyError inside the build propagates (a traceback, exit 1), never 'exit 2 with a message'."""
    cat = write_catalog(tmp_path, small_catalog())

    def broken(*args, **kwargs):
        return {}["missing"]

    monkeypatch.setattr(builder, "plan", broken)
    with pytest.raises(KeyError):
        main(["build", "--catalog", str(cat)])


def test_importing_companion_loads_neither_nbformat_nor_the_builder():
    code = ("import json, sys, companion; assert callable(companion.build); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('companion', 'nbformat')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "nbformat" not in loaded and "companion.builder.plan" not in loaded, loaded


def test_every_name_in_all_resolves_and_is_documented():
    for name in companion.__all__:
        assert getattr(companion, name).__doc__, name
