"""Bring the output folder in line with the catalog without losing what a learner wrote.

Every notebook is written atomically and only when its bytes change; a lesson that moved
(renamed, renumbered) takes the learner's work with it; a lesson that left the catalog is
deleted only if nobody wrote in it, else archived under `removed/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
from nbformat import NotebookNode

from . import atomic
from .builder import dumps
from .merge import generated_view, has_learner_work, merge, removed_header

REMOVED_FOLDER = "removed"


@dataclass(frozen=True)
class Change:
    action: str  # add | update | remove | archive
    path: PurePosixPath
    reason: str


@dataclass
class Report:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    trusted: int = 0

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


@dataclass
class _Existing:
    path: PurePosixPath
    text: str
    _nb: dict | None = None

    @property
    def nb(self) -> dict | None:
        if self._nb is None:
            try:
                self._nb = json.loads(self.text)
            except json.JSONDecodeError:
                self._nb = {}
        return self._nb or None

    @property
    def key(self) -> tuple | None:
        meta = (self.nb or {}).get("metadata", {}).get("companion")
        if not isinstance(meta, dict):
            return None
        return meta.get("course"), meta.get("lesson_id", meta.get("lesson"))


def _key(nb: NotebookNode) -> tuple:
    meta = nb.metadata["companion"]
    return meta["course"], meta.get("lesson_id", meta["lesson"])


def _scan(out: Path) -> dict[PurePosixPath, _Existing]:
    found = {}
    if not out.is_dir():
        return found
    for p in sorted(out.rglob("*.ipynb")):
        rel = PurePosixPath(p.relative_to(out).as_posix())
        if ".ipynb_checkpoints" in rel.parts or rel.parts[0] == REMOVED_FOLDER:
            continue
        try:
            found[rel] = _Existing(rel, p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return found


def sync(planned: dict[PurePosixPath, NotebookNode], out: Path, *, dry_run: bool = False, trust: bool = True) -> Report:
    """Write what changed; with `dry_run`, only say what would change."""
    existing = _scan(out)
    by_key = {e.key: e for e in existing.values() if e.key is not None}
    planned_keys = {_key(nb) for nb in planned.values()}
    report = Report()
    consumed: set[PurePosixPath] = set()
    to_sign: list[NotebookNode] = []
    for path, nb in planned.items():
        expected = dumps(nb)
        here = existing.get(path)
        if here is not None and here.text == expected:
            report.unchanged += 1
            to_sign.append(nb)
            continue
        source = here if here is not None and here.key == _key(nb) else by_key.get(_key(nb))
        if source is not None and source.path != path and source.path not in planned:
            consumed.add(source.path)
            reason = f"lesson moved from {source.path}"
        elif source is None:
            reason = "new in the catalog" if here is None else "replaces a notebook of another lesson"
        else:
            reason = "catalog changed"
        old = source.nb if source is not None else None
        if source is not None and source.path == path and old and generated_view(old) == generated_view(nb):
            report.unchanged += 1  # only the learner's work differs: leave their file alone
            continue
        merged = merge(nb, old)
        if not dry_run:
            atomic.write_text(out / path, dumps(merged))
        to_sign.append(merged)
        report.changes.append(Change("add" if here is None else "update", path, reason))
    for path, e in existing.items():
        if path in planned or e.key is None:
            continue
        if path in consumed:
            report.changes.append(Change("remove", path, "its lesson and your work in it moved to a new file"))
            if not dry_run:
                (out / path).unlink()
        elif e.key in planned_keys:
            continue  # another file already took this lesson's work
        elif e.nb and has_learner_work(e.nb):
            target = PurePosixPath(REMOVED_FOLDER) / path
            report.changes.append(Change("archive", path, f"no longer in the catalog; your notes are kept in {target}"))
            if not dry_run:
                kept = nbformat.from_dict(e.nb)
                kept.cells.insert(0, removed_header())
                atomic.write_text(out / target, dumps(kept))
                (out / path).unlink()
        else:
            report.changes.append(Change("remove", path, "no longer in the catalog"))
            if not dry_run:
                (out / path).unlink()
    if trust and not dry_run:
        report.trusted = _sign(to_sign)
    return report


def stale(planned: dict[PurePosixPath, NotebookNode], out: Path) -> list[Change]:
    """Notebooks whose generated content does not match the catalog (learner work is ignored)."""
    existing = _scan(out)
    problems = []
    for path, nb in planned.items():
        here = existing.get(path)
        if here is None:
            problems.append(Change("add", path, "missing"))
        elif here.text != dumps(nb) and (not here.nb or generated_view(here.nb) != generated_view(nb)):
            problems.append(Change("update", path, "does not match the catalog"))
    planned_keys = {_key(nb) for nb in planned.values()}
    for path, e in existing.items():
        if path not in planned and e.key is not None and not (e.nb and has_learner_work(e.nb)):
            problems.append(Change("remove", path, "not in the catalog" if e.key not in planned_keys else "lesson moved"))
    return problems


def _sign(notebooks: list[NotebookNode]) -> int:
    """Trust what the build wrote, so the saved players show on open; trust is per machine."""
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    for nb in notebooks:
        notary.sign(nb)
    return len(notebooks)
