"""Whole-file writes: a reader (or a crash) sees the old file or the new one, never a mix.

Also the two promises the writer needs to lose nothing: a file is replaced only if it has not
changed since it was read (`Stamp`), and a copy put aside never takes the name of another
(`keep_aside`). `locked` serializes builds and imports that touch the same folder.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from companion import settings

Check = Callable[[], bool]  # asked just before a replace; False: leave the file as it is


@dataclass(frozen=True)
class Stamp:
    """What a file was when it was read: replacing it is safe only while it still is."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Stamp | None:
        """The file's stamp now; None when there is no file at `path`."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)

    def holds(self, path: Path) -> bool:
        """Whether the file at `path` is still the one stamped: same size, modification time and inode."""
        return Stamp.of(path) == self


def _temp(path: Path, text: str) -> str:
    """`text` in a synced temp file beside `path`, with `path`'s permissions; its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def write_text(path: Path, text: str, *, sync_dir: bool = True, check: Check | None = None) -> bool:
    """Replace `path` with `text`; with `check`, only if it still says yes just before the
    replace (else nothing changes and the answer is False)."""
    path = Path(path)
    tmp = _temp(path, text)
    try:
        if check is not None and not check():
            _unlink(tmp)
            return False
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    if sync_dir:
        _sync_dir(path.parent)
    return True


def write_many(files: Iterable[tuple[Path, str, Check | None]], workers: int = 8, chunk: int = 64) -> list[Path]:
    """`write_text` for each (path, text, check), in two phases: every new text goes to a synced
    temp file first (a few at a time, from a few threads, whose fsyncs the disk commits together:
    111 notebooks ~40 ms instead of ~400 ms; only `chunk` texts are held at once); only when all
    are staged are they renamed into place. A write that fails (a full disk, a read-only folder)
    removes the temp files and raises before any file changed. Returns the paths whose check
    said no (left as they are)."""
    from concurrent.futures import ThreadPoolExecutor
    from itertools import islice

    staged: list[tuple[Path, str, Check | None]] = []
    todo = iter(files)
    try:
        with ThreadPoolExecutor(workers) as pool:
            while batch := list(islice(todo, chunk)):
                futures = [(Path(path), check, pool.submit(_temp, Path(path), text)) for path, text, check in batch]
                errors = []
                for path, check, future in futures:
                    try:
                        staged.append((path, future.result(), check))
                    except BaseException as e:  # the others finish first, so all their temps are known
                        errors.append(e)
                if errors:
                    raise errors[0]
    except BaseException:
        for _, tmp, _ in staged:
            _unlink(tmp)
        raise
    refused = []
    for path, tmp, check in staged:
        if check is not None and not check():
            _unlink(tmp)
            refused.append(path)
        else:
            os.replace(tmp, path)
    for folder in dict.fromkeys(path.parent for path, _, _ in staged):
        _sync_dir(folder)
    return refused


def free_name(folder: Path, rel: PurePosixPath) -> Iterator[Path]:
    """`folder/rel`, then `folder/<stem>.2<suffix>`, `.3`, …: the names a copy may take in turn."""
    target = folder / rel
    yield target
    n = 2
    while True:
        yield target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1


def keep_aside(text_or_file: str | Path, folder: Path, rel: PurePosixPath) -> Path:
    """Put a text (or the bytes of a file) at the first free name `free_name` gives, never over
    another file: the name is claimed with a hard link, which fails if the name is taken."""
    if isinstance(text_or_file, Path):
        tmp = tempfile.mkstemp(dir=_made(folder / rel), prefix=".aside.", suffix=".tmp")
        os.close(tmp[0])
        with open(text_or_file, "rb") as src, open(tmp[1], "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        staged = tmp[1]
    else:
        staged = _temp(folder / rel, text_or_file)
    try:
        for name in free_name(folder, rel):
            try:
                os.link(staged, name)
            except FileExistsError:
                continue
            _sync_dir(name.parent)
            return name
    finally:
        _unlink(staged)
    raise AssertionError("unreachable")


def _made(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.parent


class Busy(Exception):
    """Another process holds the lock; `pid` is its process id when the system tells it."""

    def __init__(self, path: Path, pid: str):
        super().__init__(f"{path} is held by pid {pid or '?'}")
        self.path, self.pid = path, pid


@contextmanager
def locked(folder: Path, wait: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (made if missing) while the block runs, waiting at most
    `wait` seconds (default `$COMPANION_LOCK_WAIT`, else 30) for another holder; `Busy` after that.
    The folder itself is locked, so no lock file is left among the learner's files, and the lock
    goes with the process: a killed holder never leaves a stale lock. Where `fcntl` does not
    exist (Windows) the block runs unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    if wait is None:
        wait = settings.lock_wait()
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(folder, _holder(os.fstat(fd).st_ino)) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(inode: int) -> str:
    """The pid holding a flock on `inode`, from /proc/locks (Linux), or "" when unknown."""
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        f = line.split()
        if len(f) > 5 and f[1] == "FLOCK" and f[5].rsplit(":", 1)[-1] == str(inode):
            return f[4]
    return ""


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
