"""Issue 12 item 7 for `build`: a full disk, a read-only output folder, a read-only Jupyter data
folder. Each ends with a message and exit 2, and no notebook changed: the build stages every
file before it replaces any, and checks the trust database before it writes.

Real file systems, no mocks: a small tmpfs that fills up, and read-only bind mounts (these
need the right to mount, which CI containers and root have; elsewhere the tests are skipped)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import run_cli, small_catalog, snapshot, write_catalog


def _mount(*argv: str) -> None:
    done = subprocess.run(["mount", *argv], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")


@contextmanager
def mounted(folder: Path, *argv: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    _mount(*argv, str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    with mounted(folder, "--bind", str(folder)):
        _mount("-o", "remount,bind,ro", str(folder))
        yield folder


def _changed_catalog(folder: Path) -> None:
    data = small_catalog()
    data["courses"][0]["title"] = "Course One, and every notebook of it rewritten " * 20
    write_catalog(folder, data)


def test_a_full_disk_changes_no_notebook_and_says_so(tmp_path, capsys):
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=1m", "tmpfs") as disk:
        write_catalog(disk, small_catalog())
        assert run_cli(capsys, "build", "--catalog", disk / "catalog.json", "--no-trust")[0] == 0
        before = snapshot(disk / "notebooks")
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
        os.truncate(filler, filler.stat().st_size - 8192)  # room for a notebook, not five
        _changed_catalog(disk)
        code, _, err = run_cli(capsys, "build", "--catalog", disk / "catalog.json", "--no-trust")
        assert code == 2 and "No space left on device; no notebook was changed" in err, err
        assert snapshot(disk / "notebooks") == before  # no notebook changed, no temp file left


def test_a_read_only_output_folder_changes_nothing_and_says_so(tmp_path, capsys):
    write_catalog(tmp_path, small_catalog())
    assert run_cli(capsys, "build", "--catalog", tmp_path / "catalog.json", "--no-trust")[0] == 0
    before = snapshot(tmp_path / "notebooks")
    _changed_catalog(tmp_path)
    with read_only(tmp_path / "notebooks"):
        code, _, err = run_cli(capsys, "build", "--catalog", tmp_path / "catalog.json", "--no-trust")
    assert code == 2 and "Read-only file system; no notebook was changed" in err, err
    assert snapshot(tmp_path / "notebooks") == before


def test_a_read_only_jupyter_data_folder_stops_the_build_before_it_writes(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "jupyter-data"
    data_dir.mkdir()
    write_catalog(tmp_path, small_catalog())
    with read_only(data_dir):
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(data_dir))
        code, _, err = run_cli(capsys, "build", "--catalog", tmp_path / "catalog.json")
    assert code == 2 and f"cannot record trust in {data_dir}" in err and "--no-trust" in err, err
    assert not (tmp_path / "notebooks").exists()  # not even the output folder
