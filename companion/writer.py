"""Bring the output folder in line with the catalog without losing what a learner wrote.

One matching pass, `reconcile`, compares the planned notebooks (and text twins) with what `scan`
found and says what to change and why; it writes nothing, so `build`, `--check` and `--dry-run`
all use it. `apply` then writes the changes: every file atomically and only when its bytes change,
all writes before any removal. A lesson that moved (renamed, renumbered) takes the learner's work
with it; a lesson that left the catalog is deleted only if nobody wrote in it, else archived under
`removed/`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

import nbformat
from nbformat import NotebookNode

from . import atomic, twins
from .cells import EXTRA_ROLES, META, generated_view, lesson_key, removed_header
from .layout import TWIN_SUFFIX, archived, is_build_file, twin_path, twin_root
from .merge import has_learner_work, merge
from .nodes import dumps

ACTIONS = ("add", "update", "remove", "archive", "skip", "keep")


@dataclass(frozen=True)
class Change:
    """One file the build would touch (or `keep`), with the reason shown by build and --dry-run."""

    action: str  # one of ACTIONS; `keep` leaves the file as it is
    path: PurePosixPath
    reason: str
    stale: str | None = None  # the reason --check reports it; None: --check lets it pass
    write: NotebookNode | str | None = field(default=None, compare=False, repr=False)  # new content
    sign: NotebookNode | None = field(default=None, compare=False, repr=False)  # to trust once written


@dataclass
class Report:
    """What a build changed (or, dry or checking, would change)."""

    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    trusted: int = 0
    out: Path | None = None  # the output folder
    notebooks: int = 0  # how many notebooks the catalog makes
    twins: bool = False  # whether text twins were kept (or checked) too

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def stale(self) -> list[Change]:
        """The changes `--check` reports: generated content that does not match the catalog."""
        return [c for c in self.changes if c.stale is not None]


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


@dataclass
class Scanned:
    """What the output folder holds: the build's notebooks, and (when asked) its text twins and
    the other Markdown files that stand where a twin would go."""

    notebooks: dict[PurePosixPath, _Existing]
    twins: dict[PurePosixPath, str] = field(default_factory=dict)
    blocked: set[PurePosixPath] = field(default_factory=set)


def scan(out: Path, *, text: bool = False) -> Scanned:
    """Read the output folder once; with `text`, its twins too."""
    notebooks = {rel: _Existing(rel, t) for rel, t in _files(out, "*.ipynb")}
    if not text:
        return Scanned(notebooks)
    found_twins = dict(_twins(out))
    root = twin_root(out)
    blocked = {_from_out(p.relative_to(root)) for p in root.rglob(f"*{TWIN_SUFFIX}")} if root.is_dir() else set()
    return Scanned(notebooks, found_twins, blocked - set(found_twins))


def _from_out(rel_to_root: Path | PurePosixPath) -> PurePosixPath:
    """A file under the twins' folder, as a path relative to the output folder."""
    return twin_path(PurePosixPath(*Path(rel_to_root).parts).with_suffix(".ipynb"))


def _twins(out: Path) -> Iterator[tuple[PurePosixPath, str]]:
    """(path relative to `out`, text) of the twins the build wrote: in `text/` beside `out`, and
    those earlier builds left inside `out` itself (a rebuild removes them there)."""
    for rel, text in _files(twin_root(out), f"*{TWIN_SUFFIX}"):
        if twins.is_twin(text):
            yield _from_out(rel), text
    for rel, text in _files(out, f"*{TWIN_SUFFIX}"):
        if twins.is_twin(text):
            yield rel, text


def has_twins(out: Path) -> bool:
    """Whether the output folder already keeps text twins (then builds and checks keep them too)."""
    return any(True for _ in _twins(out))


def reconcile(planned: dict[PurePosixPath, NotebookNode], scanned: Scanned, *, text: bool = False) -> list[Change]:
    """Every change that brings `scanned` in line with `planned`, each with its reason; writes nothing.
    Notebook writes come first, then removals and archives, then the text twins (with `text`)."""
    existing = scanned.notebooks
    by_key = {e.key: e for e in existing.values() if e.key is not None}
    keys = {path: _key(nb) for path, nb in planned.items()}
    planned_keys = set(keys.values())
    consumed: set[PurePosixPath] = set()
    changes: list[Change] = []
    for path, nb in planned.items():
        key = keys[path]
        here = existing.get(path)
        if here is not None and here.text == dumps(nb):
            changes.append(Change("keep", path, "unchanged", sign=nb))
            continue
        source = here if here is not None and here.key == key else by_key.get(key)
        if source is not None and source.path != path and source.path not in planned:
            consumed.add(source.path)
            reason = f"lesson moved from {source.path}"
        elif source is None:
            reason = "new in the catalog" if here is None else "replaces a notebook of another lesson"
        else:
            reason = _why(source.nb, nb)
        old = source.nb if source is not None else None
        if source is not None and source.path == path and old and generated_view(old) == generated_view(nb):
            changes.append(Change("keep", path, "only the learner's work differs"))  # leave their file alone
            continue
        if here is None:
            stale = "missing"
        else:
            why = _why(here.nb, nb)
            stale = "does not match the catalog" + ("" if why == "catalog changed" else f": {why}")
        merged = merge(nb, old)
        changes.append(Change("add" if here is None else "update", path, reason, stale, write=merged, sign=merged))
    for path, e in existing.items():
        if path in planned or e.key is None:
            continue
        work = bool(e.nb and has_learner_work(e.nb))
        if path in consumed:
            changes.append(Change("remove", path, "its lesson and your work in it moved to a new file",
                                  None if work else "lesson moved"))
        elif e.key in planned_keys:
            continue  # another file already took this lesson's work
        elif work:
            kept = nbformat.from_dict(e.nb)
            kept.cells.insert(0, removed_header())
            changes.append(Change("archive", path, f"no longer in the catalog; your notes are kept in {archived(path)}",
                                  write=kept))
        else:
            changes.append(Change("remove", path, "no longer in the catalog", "not in the catalog"))
    if text:
        changes += _reconcile_twins(planned, scanned, {c.path: c.reason for c in changes if c.action != "keep"})
    return changes


def _reconcile_twins(planned: dict[PurePosixPath, NotebookNode], scanned: Scanned,
                     why: dict[PurePosixPath, str]) -> list[Change]:
    """The twins to write or remove so that each planned notebook has its twin and no other is left."""
    changes = []
    wanted: set[PurePosixPath] = set()
    for path, nb in planned.items():
        twin = twin_path(path)
        wanted.add(twin)
        expected = twins.dumps(nb)
        here = scanned.twins.get(twin)
        if here == expected:
            changes.append(Change("keep", twin, "unchanged"))
        elif here is None and twin in scanned.blocked:
            changes.append(Change("skip", twin, "a file that is not a text twin is in the way; move it to get the twin",
                                  f"text twin of {path} missing"))
        elif here is None:
            changes.append(Change("add", twin, f"text twin of {path}: {why.get(path) or 'new'}",
                                  f"text twin of {path} missing", write=expected))
        else:
            reason = why.get(path) or "did not match its notebook (edited, or written by another version)"
            changes.append(Change("update", twin, f"text twin of {path}: {reason}", f"text twin does not match {path}",
                                  write=expected))
    changes += [Change("remove", twin, "text twin of a notebook the catalog no longer makes",
                       "text twin of a notebook not in the catalog") for twin in scanned.twins if twin not in wanted]
    return changes


def _at(out: Path, rel: PurePosixPath) -> Path:
    """Where a change's file is: under `out`, or for a twin (`../text/...`) beside it, spelled plainly."""
    return Path(os.path.normpath(out / rel))


def apply(changes: list[Change], out: Path, *, trust: bool = True) -> int:
    """Write, archive and remove what `reconcile` found, all writes before any removal; with `trust`,
    sign every notebook the output keeps. Returns how many notebooks were trusted."""
    batch: list[tuple[Path, str]] = []
    for c in changes:
        if c.action in ("add", "update"):
            batch.append((_at(out, c.path), c.write if isinstance(c.write, str) else dumps(c.write)))
            if len(batch) == 64:  # a few at a time, so a big catalog's texts are not all held at once
                atomic.write_many(batch)
                batch = []
    atomic.write_many(batch)
    for c in changes:
        if c.action == "archive":
            assert isinstance(c.write, NotebookNode)
            atomic.write_text(out / archived(c.path), dumps(c.write))
            (out / c.path).unlink()
        elif c.action == "remove":
            _at(out, c.path).unlink()
    return _sign([c.sign for c in changes if c.sign is not None]) if trust else 0


def sync(planned: dict[PurePosixPath, NotebookNode], out: Path, *, dry_run: bool = False, trust: bool = True,
         text: bool = False) -> Report:
    """Reconcile, then (unless `dry_run`) apply: the report lists what changed or would change."""
    changes = reconcile(planned, scan(out, text=text), text=text)
    report = Report([c for c in changes if c.action != "keep"], unchanged=sum(c.action == "keep" for c in changes))
    if not dry_run:
        report.trusted = apply(changes, out, trust=trust)
    return report


def stale(planned: dict[PurePosixPath, NotebookNode], out: Path, *, text: bool = False) -> list[Change]:
    """Notebooks whose generated content does not match the catalog (learner work is ignored);
    with `text`, also text twins that are missing, differ from their notebook, or outlived it."""
    return sync(planned, out, dry_run=True, text=text).stale


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
