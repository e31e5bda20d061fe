"""Bring the output folder in line with the catalog without losing what a learner wrote.

One matching pass, `reconcile`, compares the planned notebooks (and text twins) with what `scan`
found and says what to change and why; it writes nothing, so `build`, `--check` and `--dry-run`
all use it. `apply` then writes the changes: every file atomically and only when its bytes change,
all writes before any removal. A lesson that moved (renamed, renumbered) takes the learner's work
with it; a lesson that left the catalog is deleted only if nobody wrote in it, else archived under
`removed/`. Work under a video or prompt the catalog moved to another lesson goes to that lesson
(`_moves`; the notebooks involved are written all or none). When several files claim one lesson
(a learner's duplicate), the lesson's own is used (`scan.owners`) and the others are left alone.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import NotebookNode

from companion.builder import twins
from companion.builder.follow import Had, destination
from companion.builder.report import Change, Moves, Report
from companion.builder.scan import Existing, Scanned, owners, refuse_nested, scan
from companion.builder.trust import lost_trust, open_notary, sign
from companion.course.layout import KEPT_FOLDER, archived, twin_path
from companion.errors import BuildError
from companion.notebook import atomic
from companion.notebook.cells import (
    ANSWER,
    BUILT,
    EMBED,
    EXTRA_ROLES,
    META,
    REMOVED,
    LessonKey,
    cell_id,
    generated_view,
    is_generated,
    lesson_key,
    movable,
    notebook_meta,
    removed_header,
    role,
    source,
)
from companion.notebook.merge import has_learner_work, merge, strays
from companion.notebook.nodes import dumps

if TYPE_CHECKING:
    from nbformat.sign import NotebookNotary

KEPT = PurePosixPath(KEPT_FOLDER)  # where files the build cannot use are kept


def _key(nb: NotebookNode) -> LessonKey:
    key = lesson_key(nb)
    assert key is not None, "a planned notebook always carries its lesson key"
    return key


def decide(nb: NotebookNode, path: PurePosixPath, source: Existing | None,
           moves: Moves | None = None) -> tuple[str, NotebookNode | None]:
    """What to write at `path` for the planned `nb` given the file the learner's work is read from:
    (reason, the merged notebook), or (reason, None) to leave the file as it is. The writer asks
    it once when planning and again whenever that file changed before it could be replaced."""
    old = source.nb if source is not None else None
    mine = source is not None and source.path == path and source.problem is None and old \
        and generated_view(old) == generated_view(nb)
    if mine and moves is None:
        return "only the learner's work differs", None
    moved: list[str] = []
    if moves is not None and moves.sent:
        now = strays(nb, old)
        moved = [a for a, cells in moves.sent.items() if now.get(a) == cells]
    merged = merge(nb, old, moves.incoming if moves else None, moved)
    if mine and old is not None and _same_cells(merged, old):
        return "only the learner's work differs", None  # what came from elsewhere was here already
    return _why(old, nb), merged


def _same_cells(nb: NotebookNode, old: dict[str, Any]) -> bool:
    return json.dumps(nb.cells, sort_keys=True) == json.dumps(old.get("cells"), sort_keys=True)


def reconcile(planned: dict[PurePosixPath, NotebookNode], scanned: Scanned, *, text: bool = False,
              untrusted: Callable[[dict[str, Any]], bool] | None = None) -> list[Change]:
    """Every change that brings `scanned` in line with `planned`, each with its reason; writes nothing.
    Notebook writes come first, then removals and archives, then the text twins (with `text`).
    A file the build cannot read or match, where it would write, is kept aside first. A learner's
    work under a video or prompt the catalog moved to another lesson goes with it (`_moves`); a file
    that `untrusted` says lost its trust is made again with the learner's work, to be signed."""
    existing = scanned.notebooks
    keys = {path: _key(nb) for path, nb in planned.items()}
    home = {key: path for path, key in keys.items()}
    by_key = owners(existing.values(), home)
    planned_keys = set(keys.values())
    consumed: set[PurePosixPath] = set()
    changes: list[Change] = []
    claimed: set[PurePosixPath] = set()

    def sources(path: PurePosixPath) -> tuple[Existing | None, str | None, Existing | None]:
        """The file at `path`, why it must be kept aside (or None), the file the learner's work is read from."""
        here = existing.get(path)
        aside = _aside(here, keys[path], planned_keys, by_key) if here is not None else None
        if here is not None and here.nb is not None and (here.key == keys[path] or (aside and here.key is None)):
            return here, aside, here
        return here, aside, by_key.get(keys[path])

    unchanged = {path for path, nb in planned.items()
                 if path in existing and existing[path].data == dumps(nb).encode()}
    found = {path: sources(path) for path in planned if path not in unchanged}
    leaving = {path: e for path, e in existing.items() if path not in planned and e.key is not None
               and e.key not in planned_keys and e.problem is None and e.nb and has_learner_work(e.nb)}
    moves = _moves(planned, keys, {path: s for path, (_, _, s) in found.items()}, leaving)
    for path, nb in planned.items():
        move = moves.get(path)
        if path in unchanged and (move is None or not move.incoming):
            changes.append(Change("keep", path, "unchanged", sign=nb))
            continue
        here, aside, source = found[path] if path in found else sources(path)
        if source is not None and source.path != path and source.path not in planned:
            consumed.add(source.path)
            reason = f"lesson moved from {source.path}"
        elif source is None:
            reason = "new in the catalog" if here is None else "replaces a notebook of another lesson"
        else:
            reason = ""
        why, merged = decide(nb, path, source, move)
        if merged is None and aside is None and source is not None and source.nb is not None \
                and untrusted is not None and untrusted(source.nb):
            why, merged = "not trusted on this machine, so its players were hidden: trusted again", merge(nb, source.nb)
        if merged is None and aside is None:
            changes.append(Change("keep", path, why))  # leave their file alone
            continue
        assert merged is not None, "a file kept aside is never the learner's own copy of this lesson"
        if here is None:
            stale = "missing"
        else:
            hw = here.problem or _why(here.nb, nb)
            stale = "does not match the catalog" + ("" if hw == "catalog changed" else f": {hw}")
        if aside is not None:
            where = _free(scanned, path, claimed)
            recovered = source is here and here is not None and here.nb and has_learner_work(here.nb)
            changes.append(Change("aside", path, f"{aside}; its bytes are kept in {scanned.root / where}"
                                  + ("; the work of yours found in it is in the new notebook" if recovered else "")
                                  + "; compare the two, then delete the copy", aside=where))
        if aside is not None:
            reason = "made again from the catalog" + (
                " and what could be read of the old file" if source is here else "")
        if move is not None and move.waiting and here is not None and here.problem is None and here.nb is not None \
                and generated_view(here.nb) == generated_view(nb):
            stale = "; ".join(move.waiting)  # what the catalog makes is here: only work from another lesson is not
        at_end = (f"your work under content no lesson has now is kept at the end of {path}, "
                  f"under \"Notes from removed content\"",) \
            if _kept_at_end(merged) > _kept_at_end(source.nb if source is not None else None) else ()
        changes.append(Change("add" if here is None else "update", path, "; ".join((reason or why,) + (
            move.why if move else ()) + at_end), stale, write=merged, sign=merged, plan=nb, read=source, replaces=here,
            moves=move))
    for path, e in existing.items():
        if path in planned or e.key is None:
            continue
        if e.key in planned_keys and path not in consumed:  # not the lesson's own file: a learner's duplicate
            changes.append(Change("copy", path, f"a copy of {_name(planned[home[e.key]])}; left as it is "
                                                f"(the lesson's notebook is {home[e.key]})"))
            continue
        work = bool(e.nb and has_learner_work(e.nb))
        if e.problem is not None:
            where = _free(scanned, path, claimed)
            changes.append(Change("aside", path, f"cannot read it ({e.problem}); moved to {scanned.root / where}",
                                  aside=where, read=e))
            changes.append(Change("remove", path, f"kept in {where}", read=e))
        elif path in consumed:
            changes.append(Change("remove", path, "its lesson and your work in it moved to a new file",
                                  None if work else "lesson moved", read=e))
        elif work:
            kept = nbformat.from_dict(e.nb)
            kept.cells.insert(0, removed_header())
            where = _free(scanned, path, claimed, archived(PurePosixPath()))
            gave = moves[path].why if path in moves else ()
            changes.append(Change("archive", path, "; ".join(
                (f"no longer in the catalog; your notes are kept in {scanned.root / where}",) + gave),
                write=kept, read=e, aside=where))
        else:
            changes.append(Change("remove", path, "no longer in the catalog", "not in the catalog", read=e))
    if text:
        changes += _reconcile_twins(planned, scanned, {c.path: c.reason for c in changes if c.action != "keep"})
    return changes


def _moves(planned: dict[PurePosixPath, NotebookNode], keys: dict[PurePosixPath, LessonKey],
           sources: dict[PurePosixPath, Existing | None], leaving: dict[PurePosixPath, Existing]
           ) -> dict[PurePosixPath, Moves]:
    """For each notebook of a changed lesson, the work leaving it with a video or prompt another
    lesson of its course now has, and the work it takes in (`follow.destination` decides where).
    `sources`: the file each changed lesson's work is read from; a lesson not in it is unchanged.
    `leaving`: the notebooks, with work in them, of lessons that left the catalog (they are
    archived whole; what another lesson has now goes there too)."""
    gone = {path: strays(planned[path], s.nb) for path, s in sources.items() if s is not None and s.nb}
    gone |= {path: strays(_NOTHING, e.nb) for path, e in leaving.items()}
    course = {path: key[0] for path, key in keys.items()} | {path: e.key[0] for path, e in leaving.items() if e.key}
    read = {path: s.path for path, s in sources.items() if s is not None} | {path: path for path in leaving}
    if not any(gone.values()):
        return {}
    holders: dict[tuple[Any, str], list[PurePosixPath]] = {}
    for path, nb in planned.items():
        for c in nb.cells:
            if movable(c):
                holders.setdefault((keys[path][0], c.id), []).append(path)
    for lessons in holders.values():
        lessons.sort(key=lambda q: _order(planned[q]))  # the course's order, as `Course.ordered` gives it

    @functools.cache
    def old_ids(path: PurePosixPath) -> frozenset[str]:
        if path not in sources:
            return frozenset(c.id for c in planned[path].cells)  # unchanged: the file is the plan
        old = sources[path]
        cells = (old.nb or {}).get("cells", []) if old is not None else []
        return frozenset(str(c.get("id")) for c in cells if is_generated(c))

    out: dict[PurePosixPath, Moves] = {}
    sent: dict[tuple[PurePosixPath, PurePosixPath], list[str]] = {}
    for path, work in gone.items():
        for anchor, cells in work.items():
            to = destination((q for q in holders.get((course[path], anchor), []) if q != path),
                             functools.partial(_had, old_ids, anchor))
            if to is None:
                continue  # no lesson has it now: it stays here, under "Notes from removed content"
            out.setdefault(to, Moves()).incoming.setdefault(anchor, []).extend(cells)
            out.setdefault(path, Moves()).sent[anchor] = cells
            sent.setdefault((path, to), []).append(_what(planned[to], anchor))
    for (path, to), what in sent.items():
        items = " and ".join(dict.fromkeys(what))
        them = "it" if len(set(what)) == 1 else "them"
        out[path] = replace(out[path], why=out[path].why + (f"your work under {items} moved with {them} to {to}",))
        out[to] = replace(out[to], why=out[to].why + (f"took in your work under {items} from {read[path]}",),
                          waiting=out[to].waiting + (f"your work under {items} is still in {read[path]}",))
    return out


_NOTHING = NotebookNode(cells=[])  # what a lesson that left the catalog has now


def _kept_at_end(nb: dict[str, Any] | None) -> int:
    """How many cells a notebook keeps under "Notes from removed content"."""
    cells = (nb or {}).get("cells", [])
    at = next((i for i, c in enumerate(cells) if isinstance(c, dict) and role(c) == REMOVED), len(cells))
    return len(cells[at + 1:])


def _order(nb: NotebookNode) -> tuple[int, int]:
    lesson = nb.metadata[META].get("lesson")
    return (0, lesson) if isinstance(lesson, int) else (1, 0)


def _had(old_ids: Callable[[PurePosixPath], frozenset[str]], anchor: str, path: PurePosixPath) -> bool:
    return anchor in old_ids(path)


_UNESCAPE = re.compile(r"\\(.)")


def _what(nb: NotebookNode, anchor: str) -> str:
    """A video or prompt as a learner reads it in a report line: `the video "Backpropagation"`."""
    at = {c.id: i for i, c in enumerate(nb.cells)}[anchor]
    if role(nb.cells[at]) in (ANSWER, EMBED) and at > 0 and role(nb.cells[at - 1]) in ("prompt", "video"):
        at -= 1  # an answer is its prompt's, a player its video's
    c = nb.cells[at]
    first = source(c).strip().split("\n")[0]
    if role(c) == "prompt":
        first = re.sub(r"^>\s*\*\*Question \d+\.\*\*\s*", "", first)  # "> **Question 1.** text" (builder._question)
    line = _UNESCAPE.sub(r"\1", first).lstrip("#").strip().strip("*")
    if role(c) == "video":
        line = line.split(". ", 1)[-1]  # "## 2. Title"
    kind = {"video": "the video", "prompt": "the prompt"}.get(role(c) or "", "the player")
    return f'{kind} "{line if len(line) <= 60 else line[:59] + "…"}"'


def _name(nb: NotebookNode) -> str:
    """A lesson as a learner names it in a report line: "Lesson 41", or its id when it has no number."""
    lesson = nb.metadata[META].get("lesson")
    return f"Lesson {lesson}" if isinstance(lesson, int) else f"lesson {lesson}"


def _aside(here: Existing, key: LessonKey, planned_keys: set[LessonKey],
           by_key: dict[LessonKey, Existing]) -> str | None:
    """Why the file where a planned notebook goes must be kept aside before it is replaced, or None."""
    if here.problem is not None:
        return f"cannot read it ({here.problem})"
    if here.key is None:
        return "it does not say which lesson it is (metadata.companion missing or damaged)"
    if here.key != key and here.nb and has_learner_work(here.nb) \
            and (here.key not in planned_keys or by_key.get(here.key) is not here):
        return f"it holds your work in another lesson ({here.key[1]})"
    return None


def _free(scanned: Scanned, path: PurePosixPath, claimed: set[PurePosixPath],
          folder: PurePosixPath = KEPT) -> PurePosixPath:
    """The first name under `folder` for `path` that no file has (or that this build has not
    given away already); `apply` claims it for good, and takes the next if it is gone by then."""
    root = scanned.root
    for name in atomic.free_name(root / folder, path):
        rel = PurePosixPath(name.relative_to(root).as_posix())
        if rel not in claimed and not name.exists():
            claimed.add(rel)
            return rel
    raise AssertionError("unreachable")

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


RETRIES = 5  # re-reads of a notebook saved again and again while the build wanted to replace it


def apply(changes: list[Change], out: Path, *, trust: bool = True,
          notary: NotebookNotary | None = None) -> tuple[int, list[Change]]:
    """Write, archive and remove what `reconcile` found: files kept aside first, then every write
    (all staged before any file is replaced: a full disk changes nothing), then archives and
    removals; with `trust`, sign every notebook the output keeps. A file saved since it was read
    is read again and merged again (`decide`), never overwritten. Returns how many notebooks were
    trusted and what went otherwise than planned."""
    if trust and notary is None:
        notary = open_notary()  # a trust database that can't be written stops the build here
    events: list[Change] = []
    for c in changes:
        if c.action == "aside" and c.read is None:
            assert c.aside is not None
            atomic.keep_aside(out / c.path, out, c.aside)
    # the notebooks taking in work first, so a file giving it away is replaced after them
    writes = sorted((c for c in changes if c.action in ("add", "update")),
                    key=lambda c: not (c.moves is not None and c.moves.incoming))
    signed: dict[PurePosixPath, NotebookNode | None] = {c.path: c.sign for c in changes if c.sign is not None}
    together = _Together([c for c in writes if c.moves is not None], out)
    try:
        refused = atomic.write_many((out / c.path, _text(c), together.check(c)) for c in writes)
    except OSError as e:
        raise BuildError(f"cannot write {e.filename or out}: {e.strerror or e}; no notebook was changed") from None
    for c in (c for c in writes if out / c.path in refused):
        if c.moves is not None and not together.ok:
            events.append(Change("skip", c.path, "saved while the build ran; left as it is, with the work that was "
                                                 "to move between it and other lessons: build again"))
            signed[c.path] = None
        else:
            signed[c.path] = _rewrite(c, out, events)
    for c in changes:
        if c.action == "aside" and c.read is not None:
            assert c.aside is not None
            atomic.keep_aside(out / c.path, out, c.aside)
        elif c.action == "archive":
            assert isinstance(c.write, NotebookNode) and c.aside is not None and c.read is not None
            if c.read.unchanged(out):
                atomic.keep_aside(dumps(c.write), out, c.aside)
            else:
                atomic.keep_aside(out / c.path, out, c.aside)  # saved meanwhile: kept as saved
            _unlink(out / c.path)
        elif c.action == "remove":
            if c.read is not None and not c.read.unchanged(out):
                events.append(Change("skip", c.path, "saved while the build ran; left as it is: build again"))
                continue
            _unlink(out / c.path)
    kept = [nb for nb in signed.values() if nb is not None]
    return (sign(notary, kept) if notary is not None else 0), events


def _text(c: Change) -> str:
    assert c.write is not None, "an add or update always has its content"
    return c.write if isinstance(c.write, str) else dumps(c.write)


def _check(c: Change, out: Path) -> atomic.Check | None:
    """For a notebook: replace it only while it, and the file the learner's work was read from,
    are still as read (a new file: only while none appeared)."""
    if c.plan is None:
        return None  # a text twin holds nothing of the learner's
    here, read = c.replaces, c.read
    return lambda: ((here.unchanged(out) if here is not None else not (out / c.path).exists())
                    and (read is None or read is here or read.unchanged(out)))


class _Together:
    """The notebooks that pass work between them in one build are written all or none: each is
    replaced only if, when the first of them is, none of them was saved since it was read."""

    def __init__(self, members: list[Change], out: Path):
        self.members, self.out = members, out
        self.ok: bool | None = None  # unknown until the first of them is about to be replaced

    def check(self, c: Change) -> atomic.Check | None:
        own = _check(c, self.out)
        if c.moves is None or own is None:
            return own

        def all_then_own() -> bool:
            if self.ok is None:
                self.ok = all(check() for check in (_check(m, self.out) for m in self.members) if check is not None)
            return self.ok and own()
        return all_then_own


def _rewrite(c: Change, out: Path, events: list[Change]) -> NotebookNode | None:
    """The notebook was saved after it was read: read it again, merge again, write if it stayed
    put; a bounded number of times. What was written (to sign), or None when the file was left as
    the learner saved it (then the next build merges it)."""
    assert c.plan is not None
    read = c.read
    skip = Change("skip", c.path, "saved while the build ran; left as it is: build again to update it")
    if read is None or read.path != c.path:
        events.append(skip)  # a new file appeared there, or a moved lesson's old file changed
        return None
    for _ in range(RETRIES):
        fresh = Existing.load(out, c.path)
        if fresh is None or fresh.key != read.key or fresh.problem is not None:
            break  # no longer this lesson's notebook as the build can read it: leave it
        if fresh.stamp is None:
            continue
        _, merged = decide(c.plan, c.path, fresh, c.moves)
        if merged is None:
            return None  # only the learner's work differs now: their file stays as saved
        if atomic.write_text(out / c.path, dumps(merged), check=functools.partial(fresh.unchanged, out)):
            events.append(Change("remerge", c.path, "saved while the build ran: read and merged again"))
            return merged
    events.append(skip)
    return None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def sync(planned: dict[PurePosixPath, NotebookNode], out: Path, *, dry_run: bool = False, trust: bool = True,
         text: bool = False, notary: NotebookNotary | None = None,
         progress: Callable[[Had], list[Change]] | None = None) -> Report:
    """Reconcile, then (unless `dry_run`) apply: the report lists what changed or would change.
    `progress` (`follow.move_progress` on a catalog and a store) then moves ticks, positions and
    notes with their videos, told which lessons' notebooks had which video before this build."""
    scanned = scan(out, text=text, expected=set(planned))
    refuse_nested(scanned)
    untrusted = functools.partial(lost_trust, notary) if notary is not None and trust and not dry_run else None
    changes = reconcile(planned, scanned, text=text, untrusted=untrusted)
    report = Report([c for c in changes if c.action != "keep"], unchanged=sum(c.action == "keep" for c in changes))
    if not dry_run:
        report.trusted, events = apply(changes, out, trust=trust, notary=notary)
        report.changes += events
        if progress is not None:
            report.changes += progress(functools.partial(_had_before, owners(scanned.notebooks.values(), {})))
    return report


def _had_before(files: dict[LessonKey, Existing], course: str, lesson: str, item: str) -> bool:
    """Whether the lesson's notebook, as this build found it, showed the video or resource `item`."""
    e = files.get((course, lesson))
    cells = (e.nb or {}).get("cells", []) if e is not None else []
    return any(c.get("id") in (cell_id("video", item), cell_id(EMBED, item)) for c in cells if is_generated(c))


def _why(old: dict[str, Any] | None, nb: NotebookNode) -> str:
    """What changed in a lesson's generated cells, for `--dry-run`: the catalog, its extra, or both."""
    before = (notebook_meta(old or {}) or {}).get("extra")
    after = nb.metadata[META].get("extra")
    if after and not before:
        return f"new extra {after}"
    if before and not after:
        return f"extra {before} removed"
    if not after:
        return "catalog changed"

    def split(view: list[Any]) -> tuple[list[Any], list[Any]]:
        meta = {k: v for k, v in (view[0] or {}).items() if k not in ("extra", BUILT)}
        extra = [e for e in view[1:] if e[2] in EXTRA_ROLES]
        return [meta] + [e for e in view[1:] if e[2] not in EXTRA_ROLES], extra

    (cat_old, extra_old), (cat_new, extra_new) = split(generated_view(old or {})), split(generated_view(nb))
    if cat_old == cat_new:
        return f"extra {after} changed"
    return "catalog changed" if extra_old == extra_new else f"catalog and extra {after} changed"
