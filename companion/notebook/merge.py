"""Carry a learner's work from the notebook on disk into its regenerated version.

Cells are matched by id, never by position. Generated cells carry `metadata.companion.role`
and the digest of the source they were generated with; anything else is the learner's. Learner
cells stay after the generated cell they followed; text whose anchor (a video, a prompt) moved
to another lesson follows it there (`strays`, then `merge(incoming=...)` in that lesson); text
whose anchor left the catalog goes to a marked "notes from removed content" section, never away.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode

from companion.notebook.cells import ANSWER, META, REMOVED, cell_id, is_generated, removed_header, role
from companion.notebook.cells import edited as _edited
from companion.notebook.cells import movable as _movable
from companion.notebook.cells import source as _source


def learner_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything in `nb` the learner wrote: added cells, filled answers, edited generated cells."""
    out = []
    for c in nb.get("cells", []):
        if not is_generated(c):
            out.append(c)
        elif role(c) == ANSWER:
            if _source(c).strip():
                out.append(c)
        elif _edited(c):
            out.append(c)
    return out


def has_learner_work(nb: dict[str, Any]) -> bool:
    """Whether the learner wrote anything in `nb`: a notebook whose lesson left the catalog is then archived,
    not removed."""
    return bool(learner_cells(nb))


def _as_learner_cell(cell: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """A generated cell the learner edited, kept as their own cell next to the regenerated one."""
    mine = copy.deepcopy(cell)
    mine["metadata"].pop(META, None)
    base = f"{cell['id'][:50]}-edited"
    mine["id"], n = base, 2
    while mine["id"] in taken:
        mine["id"], n = f"{base}-{n}", n + 1
    taken.add(mine["id"])
    return mine


def adopt(old: dict[str, Any], new: NotebookNode) -> dict[str, Any]:
    """`old` with ids given back to the generated cells that lost theirs, so they are matched, not
    kept twice: nbformat 4.4 files have no ids, other tools strip or renumber them, and some strip
    cell metadata too. A cell with a role takes its role's id in `new` when the notebook lacks
    that id (by digest; an answer by the prompt it follows); a cell without a role or an id whose
    text is a generated cell's takes that cell's id and mark; the answer cell after a matched
    prompt is that prompt's answer. Everything else is the learner's and keeps (or gets) an id."""
    cells = old.get("cells", [])
    present = {c.get("id") for c in cells if is_generated(c)}
    ids = {c["id"] for c in new.cells}
    if all(is_generated(c) or (role(c) is None and c.get("id") and c["id"] not in ids) for c in cells) \
            and len({c["id"] for c in cells}) == len(cells):
        return old  # the common case: nothing lost its id or its mark
    generated = [c for c in new.cells if c["id"] not in present]
    free = {c["id"]: c for c in generated}
    free_marks = {cid: c["metadata"][META] for cid, c in free.items()}
    follows = {a["id"]: b for a, b in itertools.pairwise(new.cells)}
    by_digest: dict[tuple[Any, ...], list[str]] = {}
    by_text: dict[tuple[Any, ...], list[str]] = {}
    for c in generated:
        by_digest.setdefault((role(c), c["metadata"][META].get("digest")), []).append(c["id"])
        by_text.setdefault((c["cell_type"], _source(c).strip()), []).append(c["id"])
    taken = {c.get("id") for c in cells} | {c["id"] for c in new.cells}
    out: list[dict[str, Any]] = []
    last: str | None = None
    fresh = 0
    used: set[str] = set()

    def claim(candidates: list[str]) -> str | None:
        while candidates:
            cid = candidates.pop(0)
            if cid in free:
                del free[cid]
                return cid
        return None

    for c in cells:
        c = dict(c)
        r, cid = role(c), c.get("id")
        answer: dict[str, Any] | None = follows.get(last) if last is not None else None
        if r is not None and is_generated(c):
            nid, last = None, cid
        elif (r == ANSWER or (r is None and not cid)) and answer is not None and answer["id"] in free \
                and role(answer) == ANSWER:
            nid = claim([answer["id"]])  # the answer under the prompt just matched
        elif cid is not None and cid in free:
            nid = claim([cid])  # the id kept, the mark stripped or garbled
        elif r is not None and r != ANSWER:  # by digest; a role that names no catalog entry, by role
            nid = claim(by_digest.get((r, c["metadata"][META].get("digest")), [])) or claim([cell_id(r)])
            nid = nid or (cell_id(REMOVED) if r == REMOVED else None)
        elif r is None and not cid:
            nid = claim(by_text.get((c["cell_type"], _source(c).strip()), []))
        else:
            nid = None
        if nid is not None:
            own = r is not None and (nid not in free_marks or r == free_marks[nid].get("role"))
            mark = c["metadata"][META] if own else free_marks[nid]  # its own digest tells an edit
            c["id"], c["metadata"], last = nid, {**c["metadata"], META: dict(mark)}, nid
        elif r is not None and not cid:
            c["id"] = f"{cell_id(r)}-unmatched-{len(out)}"  # generated for content the catalog no longer has
        mine = nid is None and not (r is not None and is_generated(c))
        if not c.get("id") or c["id"] in used or (mine and c["id"] in ids):  # never two cells with one id
            while f"recovered-{fresh}" in taken:
                fresh += 1
            c["id"] = f"recovered-{fresh}"
            taken.add(c["id"])
        used.add(c["id"])
        out.append(c)
    return {**old, "cells": out}


Cells = list[dict[str, Any]]


@dataclass
class _Sorted:
    """The learner's work in an old notebook, sorted by where it goes in the new one."""

    after: dict[str | None, Cells] = field(default_factory=dict)  # by the id of the generated cell it follows
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # answer cells the new notebook has too
    # in the old order: work whose anchor left this lesson, with that anchor when it names a
    # catalog entry (a video, resource or prompt another lesson may have now), else None
    gone: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)


def _sort(new_ids: set[str], old: dict[str, Any]) -> _Sorted:
    taken = set(new_ids) | {c.get("id", "") for c in old.get("cells", [])}
    out = _Sorted()
    anchor: str | None = None
    movable = False  # whether `anchor` names a catalog entry

    def away(c: dict[str, Any]) -> None:
        out.gone.append((anchor if movable and anchor not in new_ids else None, c))

    for c in old.get("cells", []):
        if is_generated(c):
            r = role(c)
            if r == REMOVED:
                anchor, movable = REMOVED, False
                if _edited(c):  # the learner wrote in the header itself
                    away(_as_learner_cell(c, taken))
                continue
            anchor, movable = c["id"], _movable(c)
            if r == ANSWER:
                if c["id"] in new_ids:
                    out.answers[c["id"]] = c
                elif _source(c).strip():
                    away(c)
                continue
            if _edited(c):
                mine = _as_learner_cell(c, taken)
                if anchor in new_ids:
                    out.after.setdefault(anchor, []).append(mine)
                else:
                    away(mine)
            continue
        if anchor == REMOVED or (anchor is not None and anchor not in new_ids):
            away(c)
        else:
            out.after.setdefault(anchor, []).append(c)
    return out


def strays(new: NotebookNode, old: dict[str, Any] | None) -> dict[str, Cells]:
    """The learner's work in `old` under videos, resources and prompts `new` no longer has, by the
    id of the generated cell it was under (an answer: its own id): what may follow that content
    to the lesson that has it now."""
    if not old:
        return {}
    out: dict[str, Cells] = {}
    for anchor, c in _sort({c["id"] for c in new.cells}, adopt(old, new)).gone:
        if anchor is not None:
            out.setdefault(anchor, []).append(c)
    return out


def merge(new: NotebookNode, old: dict[str, Any] | None, incoming: dict[str, Cells] | None = None,
          moved: Iterable[str] = ()) -> NotebookNode:
    """`new` with every piece of learner work from `old` put back in its place. `moved`: anchors
    (keys of `strays`) whose work another lesson takes, left out here; `incoming`: such work
    from other lessons, by the id of the generated cell in `new` it goes under (an answer fills
    the empty answer cell, or follows it when this lesson's answer says something else)."""
    if not old and not incoming:
        return new
    new_ids = {c["id"] for c in new.cells}
    work = _sort(new_ids, adopt(old, new) if old else {})
    gone = set(moved)
    removed = [c for anchor, c in work.gone if anchor is None or anchor not in gone]
    taken = set(new_ids) | {c.get("id", "") for c in (old or {}).get("cells", [])}
    for anchor, pieces in (incoming or {}).items():
        _take_in(work, anchor, pieces, taken)
    cells: list[Any] = list(work.after.get(None, []))
    for c in new.cells:
        if c["id"] in work.answers:
            kept = work.answers[c["id"]]
            c = copy.deepcopy(c)
            c["source"] = _source(kept)
            if kept.get("attachments"):
                c["attachments"] = kept["attachments"]
        cells.append(c)
        cells += work.after.get(c["id"], [])
    if removed:
        cells.append(removed_header())
        cells += removed
    merged = copy.deepcopy(new)
    merged.cells = [NotebookNode(copy.deepcopy(c)) if not isinstance(c, NotebookNode) else c for c in cells]
    return merged


def unseen(on_disk: dict[str, Any], tab: dict[str, Any]) -> dict[str, Cells]:
    """Learner work on disk that a tab opened before a build lacks (work the build moved here with its
    video or prompt), by the generated cell it goes under, for `merge`'s `incoming`: cells whose id
    the tab has not, answers the tab left empty. What the tab has is newer and stays as the tab has it."""
    ids = {c.get("id") for c in tab.get("cells", [])}
    empty = {c.get("id") for c in tab.get("cells", []) if role(c) == ANSWER and not _source(c).strip()}
    work = _sort({c["id"] for c in on_disk.get("cells", []) if is_generated(c)}, on_disk)
    out: dict[str, Cells] = {}
    for anchor, cells in work.after.items():
        fresh = [c for c in cells if c.get("id") not in ids]
        if anchor is not None and fresh:
            out[anchor] = fresh
    for answer, c in work.answers.items():
        if _source(c).strip() and (answer in empty or answer not in ids):
            out.setdefault(answer, []).append(c)
    return out


def _take_in(work: _Sorted, anchor: str, cells: Cells, taken: set[str]) -> None:
    """Work that followed its video or prompt from another lesson, put under `anchor` here; what
    this notebook already holds (the same cell, the same answer) is not added twice."""
    here = work.after.setdefault(anchor, [])
    for c in cells:
        if role(c) == ANSWER and is_generated(c) and c["id"] == anchor:
            mine = _source(work.answers.get(anchor, {})).strip()
            if not mine:
                work.answers[anchor] = c
                continue
            if mine == _source(c).strip():
                continue
            c = _as_learner_cell(c, taken)  # this lesson's answer says something else: both are kept
        if any(_source(h) == _source(c) and h.get("cell_type") == c.get("cell_type") for h in here):
            continue
        if c.get("id") in taken and not any(h is c for h in here):
            c = {**c, "id": _fresh(c.get("id", ""), taken)}
        taken.add(c["id"])
        here.append(c)


def _fresh(base: str, taken: set[str]) -> str:
    """An id like `base` no cell of the notebook has."""
    base = f"{base[:50]}-moved"
    n, cid = 2, base
    while cid in taken:
        cid, n = f"{base}-{n}", n + 1
    return cid
