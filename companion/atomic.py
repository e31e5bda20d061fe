"""Whole-file writes: a reader (or a crash) sees the old file or the new one, never a mix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable


def write_text(path: Path, text: str, *, sync_dir: bool = True) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_dir:
        _sync_dir(path.parent)


def write_many(files: Iterable[tuple[Path, str]], workers: int = 8) -> None:
    """`write_text` for each (path, text), each file as safe as alone. Most of a write is waiting
    for fsync, so the files are written from a few threads, whose fsyncs the disk commits together
    (111 notebooks: ~40 ms instead of ~400 ms), and each folder is synced once, after its files."""
    from concurrent.futures import ThreadPoolExecutor

    files = [(Path(path), text) for path, text in files]
    if len(files) < 2:
        for path, text in files:
            write_text(path, text)
        return
    with ThreadPoolExecutor(min(workers, len(files))) as pool:
        for _ in pool.map(lambda f: write_text(*f, sync_dir=False), files):
            pass  # re-raises the first error, after the other writes have finished
    for folder in dict.fromkeys(path.parent for path, _ in files):
        _sync_dir(folder)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
