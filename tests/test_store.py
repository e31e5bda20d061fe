from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3

import pytest
from helpers import ROOT

from companion.cli import main
from companion.course.catalog import load
from companion.learner.store import ProgressStore, StoreError
from companion.learner.tally import lesson_items


def test_a_tick_is_kept_with_the_time_it_changed(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c", "l", "v", True, at=100.0)
    store.set("c", "l", "w", False, at=101.0)
    assert store.ticks("c") == {("c", "l", "v"): True, ("c", "l", "w"): False}
    assert [t.changed_at for t in store.all()] == [100.0, 101.0]
    assert sqlite3.connect(tmp_path / "p.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_store_lives_where_COMPANION_PROGRESS_says(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "x" / "y.sqlite"))
    ProgressStore().set("c", "l", "v", True)
    assert (tmp_path / "x" / "y.sqlite").is_file()


def test_without_the_variable_it_lives_in_jupyters_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_PROGRESS")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jd"))
    assert ProgressStore().path == tmp_path / "jd" / "companion" / "progress.sqlite"


def _tick_many(path: str, worker: int, n: int) -> None:
    store = ProgressStore(path)
    for i in range(n):
        store.set("c", f"l{worker}", f"v{i}", True)


@pytest.mark.slow
def test_four_processes_ticking_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "p.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_tick_many, args=(path, w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ticks = ProgressStore(path).ticks("c")
    assert len(ticks) == 800 and all(ticks.values())


def test_a_corrupt_store_is_reported_backed_up_and_never_reset(tmp_path):
    path = tmp_path / "p.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as e:
        ProgressStore(path).ticks()
    assert "damaged" in str(e.value) and "not reset" in str(e.value)
    backups = list(tmp_path.glob("p.sqlite.damaged-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == path.read_bytes() == b"this is not a database" * 100


def test_a_locked_store_is_reported_not_waited_on_forever(tmp_path):
    path = tmp_path / "p.sqlite"
    ProgressStore(path).set("c", "l", "v", True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            ProgressStore(path, timeout=0.2).set("c", "l", "w", True)
    finally:
        holder.execute("ROLLBACK")
    assert ProgressStore(path).ticks() == {("c", "l", "v"): True}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_store_is_reported(tmp_path):
    path = tmp_path / "p.sqlite"
    ProgressStore(path).set("c", "l", "v", True)
    path.chmod(0o444)
    with pytest.raises(StoreError, match="cannot be written"):
        ProgressStore(path).set("c", "l", "w", True)


def test_a_store_folder_that_cannot_be_made_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create its folder"):
        ProgressStore(blocker / "sub" / "p.sqlite").ticks()


def test_export_then_import_merges_and_never_drops_newer_ticks(tmp_path, monkeypatch, capsys):
    laptop, desktop = tmp_path / "laptop.sqlite", tmp_path / "desktop.sqlite"
    ProgressStore(laptop).set("math-for-ml", "l", "a", True, at=10)
    ProgressStore(laptop).set("math-for-ml", "l", "b", True, at=10)
    ProgressStore(desktop).set("math-for-ml", "l", "a", False, at=20)  # a newer untick
    ProgressStore(desktop).set("math-for-ml", "l", "z", True, at=5)
    monkeypatch.setenv("COMPANION_PROGRESS", str(laptop))
    assert main(["progress", "--export", str(tmp_path / "p.json")]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(desktop))
    assert main(["progress", "--import", str(tmp_path / "p.json")]) == 0
    assert ProgressStore(desktop).ticks() == {("math-for-ml", "l", "a"): False, ("math-for-ml", "l", "b"): True, ("math-for-ml", "l", "z"): True}
    assert main(["progress", "--import", str(tmp_path / "p.json")]) == 0
    assert "0 of 2 ticks, positions and notes" in capsys.readouterr().out.splitlines()[-1]


def test_importing_a_file_that_is_not_an_export_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ticks": "no"}))
    assert main(["progress", "--import", str(bad)]) == 2
    assert "not a course companion progress export" in capsys.readouterr().err


def test_progress_table_shows_lessons_and_phases(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    ProgressStore().set("math-for-ml", "lesson-2", "fNk_zzaMoSs", True)
    assert main(["progress", "--course", "math-for-ml", "--catalog", str(ROOT / "catalog.json")]) == 0
    out = capsys.readouterr().out
    assert "Phase 1 — Linear algebra" in out
    cat = load(ROOT / "catalog.json")
    total = len(lesson_items(cat, cat.course("math-for-ml").lesson("lesson-2")))  # with its self-checks
    assert any(line.strip().startswith("2. Vectors as arrows and as lists of numbers") and line.endswith(f"1/{total}")
               for line in out.splitlines())


def test_cli_reports_a_corrupt_store_without_a_traceback(monkeypatch, tmp_path, capsys):
    path = tmp_path / "p.sqlite"
    path.write_bytes(b"garbage" * 500)
    monkeypatch.setenv("COMPANION_PROGRESS", str(path))
    assert main(["progress", "--catalog", str(ROOT / "catalog.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("companion: progress store") and "Traceback" not in err
    assert path.read_bytes() == b"garbage" * 500


def test_a_store_opened_in_one_thread_is_usable_from_another(tmp_path):
    """ipykernel 7 handles widget messages (a tick, a player's report) off the thread that ran the cell."""
    import threading

    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c", "l", "v", True)  # connects on this thread
    errors: list[Exception] = []

    def elsewhere() -> None:
        try:
            store.set("c", "l", "w", True)
            store.save_position("c", "l", "w", 12.0, 600.0, [(0, 12)])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join(30)
    assert errors == [] and store.ticks() == {("c", "l", "v"): True, ("c", "l", "w"): True}
    assert not list(tmp_path.glob("*.damaged-*"))


def test_in_whole_file_mode_each_change_is_in_the_file_at_once_and_two_kernels_see_each_other(tmp_path, monkeypatch):
    # the JupyterLite site's mode (/drive can't hold a live SQLite file): the file is only ever written whole
    monkeypatch.setenv("COMPANION_PROGRESS_WHOLE_FILE", "1")
    path = tmp_path / "drive" / "progress.sqlite"
    one, two = ProgressStore(path), ProgressStore(path)
    one.set("c", "l", "video-a", True)
    assert sorted(p.name for p in path.parent.iterdir()) == ["progress.sqlite"]  # no -wal, no -journal beside it
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT item, done FROM ticks").fetchall() == [("video-a", 1)]
    two.set("c", "l", "video-b", True)
    assert one.ticks() == {("c", "l", "video-a"): True, ("c", "l", "video-b"): True}
