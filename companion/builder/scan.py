"""The output folder as the build reads it: one walk for reading and writing, each notebook's bytes
with the stamp they had when read, and the text twins the build wrote.

Reading is separate from deciding (`writer.reconcile`) so that `build`, `--check` and `--dry-run` see
the same folder the same way, and a save that lands after the read is noticed before a write.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from companion.builder import twins
from companion.course.layout import TWIN_SUFFIX, is_build_file, twin_path, twin_root
from companion.errors import BuildError
from companion.notebook import atomic, salvage
from companion.notebook.cells import META, LessonKey, lesson_key

BIG = 16 << 20  # a notebook at a place the catalog does not use is read only if smaller, or marked
TAIL = 1 << 20  # ... in its last MiB, where nbformat's sorted keys put `metadata.companion`


@dataclass
class Existing:
    """A notebook file in the output folder as the build read it: its bytes, what they were when
    read (`stamp`, to notice a save that lands later), and, parsed on demand, the notebook."""

    path: PurePosixPath
    data: bytes
    stamp: atomic.Stamp | None
    _quick: salvage.Read | None = None
    _read: salvage.Read | None = None

    @classmethod
    def load(cls, out: Path, rel: PurePosixPath) -> Existing | None:
        """The file at `out/rel` with the stamp of the very bytes read (None when it kept changing while read,
        so it is never replaced unasked); None when there is no file."""
        path = out / rel
        for _ in range(3):  # a stat, then the bytes, then the stat again: both from one version
            stamp = atomic.Stamp.of(path)
            try:
                data = path.read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                return None
            if stamp is not None and stamp.holds(path):
                return cls(rel, data, stamp)
        return cls(rel, data, None)  # saved over and over while read: never replaced unasked

    @property
    def parsed(self) -> salvage.Read:
        """The notebook checked against nbformat's schema: what the merge may use as it is."""
        if self._read is None:
            if self._quick is None:
                self._quick = salvage.read(self.data, schema=False)
            self._read = salvage.checked(self._quick)
        return self._read

    @property
    def nb(self) -> dict[str, Any] | None:
        """The notebook as far as it could be read; None when nothing could be recovered."""
        return self.parsed.nb

    @property
    def problem(self) -> str | None:
        """Why the file is not a well-formed notebook; None when it is."""
        return self.parsed.problem

    @property
    def key(self) -> LessonKey | None:
        """The lesson it is for; None when `metadata.companion` is missing or names no lesson."""
        if self._quick is None and self._read is None:  # which lesson it is needs no schema check
            self._quick = salvage.read(self.data, schema=False)
        read = self._read or self._quick
        nb = read.nb if read is not None else None
        key = lesson_key(nb) if isinstance(nb, dict) and isinstance(nb.get("metadata"), dict) else None
        if key is None or key == (None, None) or not all(k is None or isinstance(k, (str, int)) for k in key):
            return None
        return key

    def unchanged(self, out: Path) -> bool:
        """Whether the file under `out` still holds the bytes read: nobody saved it while the build ran."""
        return self.stamp is not None and self.stamp.holds(out / self.path)


# The names tools give a duplicate: JupyterLab's "Duplicate" (`x-Copy1`), file managers (`x - Copy`,
# `x copy 2`, `x (copy)`, `x (1)`, `Copy of x`).
_COPY_NAME = re.compile(r"(-Copy\d+| - Copy( \(\d+\))?| copy( \d+)?| \((another )?copy( \d+)?\)| \(\d+\))$|^Copy of ",
                        re.IGNORECASE)


def copy_name(path: PurePosixPath) -> bool:
    """Whether a file's name is one a tool gives a duplicate of a notebook (`x-Copy1.ipynb`, ...)."""
    return bool(_COPY_NAME.search(path.stem))


def owners(notebooks: Iterable[Existing], where: dict[LessonKey, PurePosixPath]) -> dict[LessonKey, Existing]:
    """For each lesson, the one file that is its notebook when several claim it (a learner's
    duplicate carries the same `metadata.companion`): the file at the lesson's own path `where`,
    then a well-formed one over a damaged one, then one whose name is not a copy's, then the
    shortest name (`x.ipynb` before `x-2.ipynb`). The others are copies: the build leaves them alone."""
    chosen: dict[LessonKey, tuple[tuple[bool, bool, bool, int, str], Existing]] = {}
    for e in notebooks:
        key = e.key
        if key is not None:
            rank = (e.path != where.get(key), e.problem is not None, copy_name(e.path), len(e.path.name), str(e.path))
            if key not in chosen or rank < chosen[key][0]:
                chosen[key] = (rank, e)
    return {key: e for key, (_, e) in chosen.items()}


def walk(out: Path, suffix: str) -> Iterator[PurePosixPath]:
    """Every file under `out` ending in `suffix` the build may own, sorted: the one way the build
    looks at its output folder, for reading and writing alike. Symlinked folders are followed,
    as writes through them go where they point; a link back up the tree is walked once."""
    if not out.is_dir():
        return
    seen: set[tuple[int, int]] = set()
    found = []
    for folder, dirs, files in os.walk(out, followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        base = PurePosixPath(Path(folder).relative_to(out).as_posix())
        dirs[:] = sorted(d for d in dirs if is_build_file(base / d))
        found += [base / f for f in files if f.endswith(suffix) and is_build_file(base / f)]
    yield from sorted(p for p in found if (out / p).is_file())


def _may_be_ours(path: Path) -> bool:
    """Whether a notebook the catalog has no place for could be a build's (a lesson that moved or
    left): small ones are read; of a big one (a learner's own data) only the tail is looked at."""
    try:
        size = path.stat().st_size
        if size <= BIG:
            return True
        with open(path, "rb") as f:
            f.seek(size - TAIL)
            return f'"{META}"'.encode() in f.read()
    except OSError:
        return False


@dataclass
class Scanned:
    """What the output folder holds: the build's notebooks, and (when asked) its text twins and
    the other Markdown files that stand where a twin would go."""

    root: Path
    notebooks: dict[PurePosixPath, Existing]
    twins: dict[PurePosixPath, str] = field(default_factory=dict)
    blocked: set[PurePosixPath] = field(default_factory=set)


def scan(out: Path, *, text: bool = False, expected: Iterable[PurePosixPath] = ()) -> Scanned:
    """Read the output folder once: the notebooks at the `expected` paths, and those elsewhere
    that may be a build's; with `text`, the twins too."""
    expected = set(expected)
    notebooks = {}
    for rel in walk(out, ".ipynb"):
        if rel in expected or _may_be_ours(out / rel):
            e = Existing.load(out, rel)
            if e is not None:
                notebooks[rel] = e
    if not text:
        return Scanned(out, notebooks)
    found = dict(_twins(out))
    root = twin_root(out)
    blocked = {_from_out(rel) for rel in walk(root, TWIN_SUFFIX)} - set(found) if root.is_dir() else set()
    return Scanned(out, notebooks, found, blocked)


def _twin_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _from_out(rel_to_root: Path | PurePosixPath) -> PurePosixPath:
    """A file under the twins' folder, as a path relative to the output folder."""
    return twin_path(PurePosixPath(*Path(rel_to_root).parts).with_suffix(".ipynb"))


def _twins(out: Path) -> Iterator[tuple[PurePosixPath, str]]:
    """(path relative to `out`, text) of the twins the build wrote: in `text/` beside `out`, and
    those earlier builds left inside `out` itself (a rebuild removes them there)."""
    root = twin_root(out)
    for base, relative in ((root, _from_out), (out, PurePosixPath)):
        for rel in walk(base, TWIN_SUFFIX) if base.is_dir() else ():
            text = _twin_text(base / rel)
            if twins.is_twin(text):
                yield relative(rel), text

def has_twins(out: Path) -> bool:
    """Whether the output folder already keeps text twins (then builds and checks keep them too)."""
    return any(True for _ in _twins(out))


def refuse_nested(scanned: Scanned) -> None:
    """An output folder that holds another build's output (its top index deeper down, under any
    name a build gave it) would swallow it: its lessons moved up and its files removed. Refuse that."""
    for e in scanned.notebooks.values():
        if e.key == (None, "index") and e.path.parent != PurePosixPath("."):
            raise BuildError(f"{e.path} is the index of another output folder inside this one; "
                             f"build into {e.path.parent} (or elsewhere), not around it")
