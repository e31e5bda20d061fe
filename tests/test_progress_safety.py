"""Progress import, export and the store under hostile conditions (issue 12, items 5–7): strict
import files, ticks from the future, a store deleted or replaced under a running kernel, exports
onto a database, a full disk and a read-only folder (real tmpfs mounts when run as root)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from companion.cli import main
from companion.learner.export import read_export
from companion.learner.records import CLOCK_SKEW
from companion.learner.store import ProgressStore, StoreError

YEAR_2100 = 4102444800.0


def export(*ticks: dict) -> str:
    return json.dumps({"format": "course-companion-progress", "version": 1, "ticks": list(ticks)})


def tick(**changes: object) -> dict:
    return {"course": "math-for-ml", "lesson": "l", "item": "v", "done": True, "changed_at": 1000.0, **changes}


@pytest.fixture
def store_env(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "progress.sqlite"
    monkeypatch.setenv("COMPANION_PROGRESS", str(path))
    ProgressStore(path).set("c", "l", "kept", True, at=500.0)
    return path


# --- 5. strict import files -------------------------------------------------------------------------

@pytest.mark.parametrize("text, place, says", [
    (export(tick(done="false")), "ticks[0].done", 'not "false"'),
    (export(tick(done=1)), "ticks[0].done", "true or false"),
    (export(tick(changed_at=True)), "ticks[0].changed_at", "not true"),
    (export(tick(changed_at="1e5")), "ticks[0].changed_at", 'not "1e5"'),
    (export(tick(changed_at=-1)), "ticks[0].changed_at", "seconds since 1970"),
    (export(tick(), tick(item=7)), "ticks[1].item", "non-empty text"),
    (export(tick(item="x" * 1000)), "ticks[0].item", "longer than 200"),
    (export(tick(item="\ud800")), "ticks[0].item", "lone surrogate"),
    (export(tick(changed_at=YEAR_2100)), "ticks[0].changed_at", "in the future (2100-01-01"),
    (export(tick()).replace("1000.0", "1" + "0" * 400), "ticks[0].changed_at", "in the future"),
    (export(tick()).replace("1000.0", "NaN"), "progress.json", "NaN"),
    (export(tick()).replace("1000.0", "Infinity"), "progress.json", "Infinity"),
    (export(tick()).replace("1000.0", "1" * 5000), "progress.json", "not a progress export"),
    ("[" * 100_000 + "]" * 100_000, "progress.json", "nested too deeply"),
    (export(*[tick(done="yes")] * 30), "ticks[19].done", "and 10 more"),
])
def test_an_import_with_a_wrong_value_is_refused_naming_its_place_and_changes_nothing(
        tmp_path, store_env, capsys, text, place, says):
    source = tmp_path / "progress.json"
    source.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert main(["progress", "--import", str(source)]) == 2
    err = capsys.readouterr().err
    assert place in err and says in err and "Traceback" not in err
    assert len(err) < 4000  # every value quoted is cut
    assert not list(store_env.parent.glob("*damaged*"))  # a wrong value is not damage
    assert ProgressStore(store_env).ticks() == {("c", "l", "kept"): True}


def test_a_tick_within_the_clock_skew_is_taken():
    now = time.time()
    ticks = read_export(export(tick(changed_at=now + CLOCK_SKEW / 2)), "p.json", now=now).ticks
    assert ticks[0].done is True and ticks[0].changed_at == now + CLOCK_SKEW / 2


def test_a_learners_click_beats_a_stored_time_from_the_future(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c", "l", "v", True, at=1.0)
    with sqlite3.connect(store.path) as db:  # stored before imports and the store refused future ticks
        db.execute("UPDATE ticks SET changed_at = ?", (YEAR_2100,))
    store.set("c", "l", "v", False)  # the learner un-ticks
    assert store.ticks() == {("c", "l", "v"): False}
    store.set("c", "l", "v", True)
    assert store.ticks() == {("c", "l", "v"): True}
    assert next(store.all()).changed_at > YEAR_2100


def test_a_click_is_dated_now_when_nothing_later_is_stored(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.set("c", "l", "v", True, at=100.0)
    before = time.time()
    store.set("c", "l", "v", False)
    assert before <= next(store.all()).changed_at <= time.time()


# --- 6. the store replaced or deleted under a running kernel ------------------------------------------

def test_a_store_deleted_while_open_is_reopened_and_later_ticks_are_kept(tmp_path):
    path = tmp_path / "p.sqlite"
    store = ProgressStore(path)
    store.set("c", "l", "a", True)
    for f in tmp_path.glob("p.sqlite*"):
        f.unlink()
    store.set("c", "l", "b", True)
    assert "deleted or replaced" in store.reopened
    assert ProgressStore(path).ticks() == {("c", "l", "b"): True}


def test_a_store_replaced_while_open_takes_later_ticks_in_the_new_file(tmp_path):
    path, restored = tmp_path / "p.sqlite", tmp_path / "backup.sqlite"
    store = ProgressStore(path)
    store.set("c", "l", "a", True)
    other = ProgressStore(restored)
    other.set("c", "l", "from-backup", True)
    other.close()
    os.replace(restored, path)
    store.set("c", "l", "b", True)
    assert ProgressStore(path).ticks() == {("c", "l", "from-backup"): True, ("c", "l", "b"): True}


@pytest.mark.slow
def test_the_notebook_says_when_the_store_was_replaced_under_its_kernel(tmp_path, monkeypatch):
    from helpers import small_catalog, write_catalog
    from test_kernel_state import run

    catalog = write_catalog(tmp_path, small_catalog())
    assert main(["build", "--catalog", str(catalog), "--no-trust"]) == 0
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "progress.sqlite"))
    monkeypatch.delenv("COMPANION_CATALOG", raising=False)
    out = run(tmp_path / "notebooks" / "c1" / "01-first.ipynb",
              "import os, glob\nbox = lesson.checklist()\nbox.children[0].value = True\n"
              "[os.remove(f) for f in glob.glob(os.environ['COMPANION_PROGRESS'] + '*')]\n"
              "box.children[1].value = True\nprint(box.children[-1].value)")
    assert "deleted or replaced" in out[0]
    assert ProgressStore(tmp_path / "progress.sqlite").ticks() == {("c1", "l1", "IHZwWFHWa-w"): True}


def test_a_kernel_changing_directory_keeps_writing_to_the_same_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = ProgressStore("p.sqlite")  # a relative COMPANION_PROGRESS
    store.set("c", "l", "a", True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    store.set("c", "l", "b", True)
    assert not store.reopened and not (tmp_path / "elsewhere" / "p.sqlite").exists()
    assert ProgressStore(tmp_path / "p.sqlite").ticks() == {("c", "l", "a"): True, ("c", "l", "b"): True}


@pytest.mark.parametrize("target", ["progress.sqlite", "progress.sqlite-wal", "other.sqlite"])
def test_export_onto_the_store_or_any_sqlite_file_is_refused(tmp_path, store_env, capsys, target):
    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE t (x)")
    ProgressStore(store_env).set("c", "l", "more", True)  # leaves a -wal beside the store
    assert main(["progress", "--export", str(tmp_path / target)]) == 2
    assert "is a SQLite database" in capsys.readouterr().err
    assert ProgressStore(store_env).ticks() == {("c", "l", "kept"): True, ("c", "l", "more"): True}
    assert sqlite3.connect(tmp_path / "other.sqlite").execute("SELECT count(*) FROM t").fetchone() == (0,)


# --- 7. missing, directory, full and read-only places -------------------------------------------------

def test_export_into_a_folder_or_a_missing_folder_is_a_clear_error(tmp_path, store_env, capsys):
    assert main(["progress", "--export", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["progress", "--export", str(tmp_path / "nowhere" / "p.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_import_of_a_folder_or_a_missing_file_is_a_clear_error(tmp_path, store_env, capsys):
    assert main(["progress", "--import", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err
    assert main(["progress", "--import", str(tmp_path / "missing.json")]) == 2
    assert "No such file" in capsys.readouterr().err


@pytest.fixture
def small_disk(tmp_path):
    """A real 256 kB tmpfs (needs root): what a full disk does, not a simulation."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass


def test_export_onto_a_full_disk_says_so_and_leaves_no_partial_file(small_disk, tmp_path, monkeypatch, capsys):
    store = ProgressStore(tmp_path / "p.sqlite")
    for i in range(400):
        store.set("c", "l", f"item-{i}", True, at=1000.0)
    monkeypatch.setenv("COMPANION_PROGRESS", str(tmp_path / "p.sqlite"))
    (small_disk / "p.json").write_text("old export\n")
    fill(small_disk)
    assert main(["progress", "--export", str(small_disk / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "nothing was written" in err
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "p.json"]
    assert (small_disk / "p.json").read_text() == "old export\n"


def test_a_tick_or_import_on_a_full_disk_is_not_called_damage(small_disk, tmp_path, monkeypatch, capsys):
    path = small_disk / "p.sqlite"
    store = ProgressStore(path)
    store.set("c", "l", "first", True, at=1000.0)
    fill(small_disk)
    with pytest.raises(StoreError) as e:
        for i in range(2000):
            store.set("c", "l", f"item-{i:04d}-" + "x" * 150, True)
    assert "disk is full" in str(e.value) and "damaged" not in str(e.value)
    source = tmp_path / "in.json"
    source.write_text(export(*[tick(item=f"imported-{i}-" + "y" * 150) for i in range(500)]))
    monkeypatch.setenv("COMPANION_PROGRESS", str(path))
    assert main(["progress", "--import", str(source)]) == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and "damaged" not in err
    assert not list(small_disk.glob("*damaged*"))
    (small_disk / "filler").unlink()
    assert ProgressStore(path).ticks()[("c", "l", "first")] is True  # the store is intact


def test_a_read_only_data_dir_is_a_clear_error(small_disk, monkeypatch, capsys, tmp_path):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    monkeypatch.delenv("COMPANION_PROGRESS")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(small_disk / "jupyter"))
    catalog = Path(__file__).resolve().parent.parent / "catalog.json"
    assert main(["progress", "--catalog", str(catalog)]) == 2
    err = capsys.readouterr().err
    assert "cannot create its folder" in err and "Read-only file system" in err
    assert main(["progress", "--export", str(tmp_path / "p.json")]) == 2
    assert not (tmp_path / "p.json").exists()
