"""Bring the output folder in line with the catalog without losing what a learner wrote.

Every notebook is written atomically and only when its bytes change; a lesson that moved
(renamed, renumbered) takes the learner's work with it; a lesson that left the catalog is
deleted only if nobody wrote in it, else archived under `removed/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

import nbformat
from nbformat import NotebookNode

from . import atomic, twins
from .cells import EXTRA_ROLES, META, generated_view, lesson_key, removed_header
from .layout import TWIN_SUFFIX, archived, is_build_file, twin_path
from .merge import has_learner_work, merge
from .nodes import dumps



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
        return lesson_key(self.nb or {})


def _key(nb: NotebookNode) -> tuple:
    key = lesson_key(nb)
    assert key is not None, "a planned notebook always carries its lesson key"
    return key


def _files(out: Path, pattern: str) -> Iterator[tuple[PurePosixPath, str]]:
    """(path under `out`, text) of the build's files matching `pattern`, outside checkpoints and
    the archive of removed lessons; unreadable files are skipped."""
    if not out.is_dir():
        return
    for p in sorted(out.rglob(pattern)):
        rel = PurePosixPath(p.relative_to(out).as_posix())
        if not is_build_file(rel) or not p.is_file():
            continue
        try:
            yield rel, p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue


def _scan(out: Path) -> dict[PurePosixPath, _Existing]:
    return {rel: _Existing(rel, text) for rel, text in _files(out, "*.ipynb")}


def sync(planned: dict[PurePosixPath, NotebookNode], out: Path, *, dry_run: bool = False, trust: bool = True,
         text: bool = False) -> Report:
    """Write what changed; with `dry_run`, only say what would change; with `text`, keep each
    notebook's text twin (`twins`) beside it too."""
    existing = _scan(out)
    by_key = {e.key: e for e in existing.values() if e.key is not None}
    planned_keys = {_key(nb) for nb in planned.values()}
    report = Report()
    consumed: set[PurePosixPath] = set()
    to_sign: list[NotebookNode] = []
    to_write: list[tuple[Path, str]] = []
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
            reason = _why(source.nb, nb)
        old = source.nb if source is not None else None
        if source is not None and source.path == path and old and generated_view(old) == generated_view(nb):
            report.unchanged += 1  # only the learner's work differs: leave their file alone
            continue
        merged = merge(nb, old)
        if not dry_run:
            to_write.append((out / path, expected if merged is nb else dumps(merged)))
            if len(to_write) == 64:  # a few at a time, so a big catalog's texts are not all held at once
                atomic.write_many(to_write)
                to_write = []
        to_sign.append(merged)
        report.changes.append(Change("add" if here is None else "update", path, reason))
    atomic.write_many(to_write)  # all written before any file below is removed
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
            target = archived(path)
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
    if text:
        report.unchanged += _sync_twins(planned, out, report, dry_run)
    if trust and not dry_run:
        report.trusted = _sign(to_sign)
    return report


def _why(old: dict | None, nb: NotebookNode) -> str:
    """What changed in a lesson's generated cells, for `--dry-run`: the catalog, its extra, or both."""
    before = ((old or {}).get("metadata", {}).get(META) or {}).get("extra")
    after = nb.metadata[META].get("extra")
    if after and not before:
        return f"new extra {after}"
    if before and not after:
        return f"extra {before} removed"
    if not after:
        return "catalog changed"

    def split(view: list) -> tuple[list, list]:
        meta = {k: v for k, v in (view[0] or {}).items() if k != "extra"}
        extra = [e for e in view[1:] if e[2] in EXTRA_ROLES]
        return [meta] + [e for e in view[1:] if e[2] not in EXTRA_ROLES], extra

    (cat_old, extra_old), (cat_new, extra_new) = split(generated_view(old or {})), split(generated_view(nb))
    if cat_old == cat_new:
        return f"extra {after} changed"
    return "catalog changed" if extra_old == extra_new else f"catalog and extra {after} changed"


def _scan_twins(out: Path) -> dict[PurePosixPath, str]:
    """The text twins in `out` (Markdown files this tool wrote), by path."""
    return {rel: text for rel, text in _files(out, f"*{TWIN_SUFFIX}") if twins.is_twin(text)}


def has_twins(out: Path) -> bool:
    """Whether the output folder already keeps text twins (then builds and checks keep them too)."""
    return any(twins.is_twin(text) for _, text in _files(out, f"*{TWIN_SUFFIX}"))


def _sync_twins(planned: dict[PurePosixPath, NotebookNode], out: Path, report: Report, dry_run: bool) -> int:
    """Write the twins that differ from their notebooks, remove those of notebooks that left; count the rest."""
    existing = _scan_twins(out)
    why = {c.path: c.reason for c in report.changes}
    unchanged = 0
    wanted: set[PurePosixPath] = set()
    for path, nb in planned.items():
        twin = twin_path(path)
        wanted.add(twin)
        expected = twins.dumps(nb)
        here = existing.get(twin)
        if here == expected:
            unchanged += 1
            continue
        if here is None and (out / twin).exists():
            report.changes.append(Change("skip", twin, "a file that is not a text twin is in the way; "
                                                       "move it to get the twin"))
            continue
        reason = why.get(path) or ("did not match its notebook (edited, or written by another version)"
                                   if here is not None else "new")
        report.changes.append(Change("add" if here is None else "update", twin, f"text twin of {path}: {reason}"))
        if not dry_run:
            atomic.write_text(out / twin, expected)
    for twin in existing:
        if twin not in wanted:
            report.changes.append(Change("remove", twin, "text twin of a notebook the catalog no longer makes"))
            if not dry_run:
                (out / twin).unlink()
    return unchanged


def stale(planned: dict[PurePosixPath, NotebookNode], out: Path, *, text: bool = False) -> list[Change]:
    """Notebooks whose generated content does not match the catalog (learner work is ignored);
    with `text`, also text twins that are missing, differ from their notebook, or outlived it."""
    existing = _scan(out)
    problems = []
    for path, nb in planned.items():
        here = existing.get(path)
        if here is None:
            problems.append(Change("add", path, "missing"))
        elif here.text != dumps(nb) and (not here.nb or generated_view(here.nb) != generated_view(nb)):
            why = _why(here.nb, nb)
            problems.append(Change("update", path, "does not match the catalog" if why == "catalog changed"
                                   else f"does not match the catalog: {why}"))
    planned_keys = {_key(nb) for nb in planned.values()}
    for path, e in existing.items():
        if path not in planned and e.key is not None and not (e.nb and has_learner_work(e.nb)):
            problems.append(Change("remove", path, "not in the catalog" if e.key not in planned_keys else "lesson moved"))
    if text:
        problems += _stale_twins(planned, out)
    return problems


def _stale_twins(planned: dict[PurePosixPath, NotebookNode], out: Path) -> list[Change]:
    existing = _scan_twins(out)
    problems = []
    for path, nb in planned.items():
        twin = twin_path(path)
        here = existing.get(twin)
        if here is None:
            problems.append(Change("add", twin, f"text twin of {path} missing"))
        elif here != twins.dumps(nb):
            problems.append(Change("update", twin, f"text twin does not match {path}"))
    wanted = {twin_path(p) for p in planned}
    problems += [Change("remove", t, "text twin of a notebook not in the catalog") for t in existing if t not in wanted]
    return problems


def _sign(notebooks: list[NotebookNode]) -> int:
    """Trust what the build wrote, so the saved players show on open; trust is per machine.

    The signatures `NotebookNotary.sign` stores, but in one transaction and only those not stored
    yet: `sign` commits (fsyncs) the database once or twice per notebook, most of a no-op rebuild."""
    from datetime import datetime, timezone

    from nbformat.sign import NotebookNotary, SQLiteSignatureStore

    notary = NotebookNotary()
    store = notary.store
    if not isinstance(store, SQLiteSignatureStore) or store.db is None:
        for nb in notebooks:
            notary.sign(nb)
        return len(notebooks)
    db, algorithm = store.db, notary.algorithm
    known = {row[0] for row in db.execute("SELECT signature FROM nbsignatures WHERE algorithm = ?", (algorithm,))}
    new = [d for d in dict.fromkeys(notary.compute_signature(nb) for nb in notebooks) if d not in known]
    if new:
        now = datetime.now(tz=timezone.utc)
        with db:
            db.executemany("INSERT INTO nbsignatures (algorithm, signature, last_seen) VALUES (?, ?, ?)",
                           [(algorithm, d, now) for d in new])
        (count,) = db.execute("SELECT Count(*) FROM nbsignatures").fetchone()
        if count > store.cache_size:
            with db:
                store.cull_db()
    return len(notebooks)
