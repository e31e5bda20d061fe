"""Carry a learner's work from the notebook on disk into its regenerated version.

Cells are matched by id, never by position. Generated cells carry `metadata.companion.role`
and the digest of the source they were generated with; anything else is the learner's. Learner
cells stay after the generated cell they followed; text whose anchor (a video, a prompt) left
the catalog goes to a marked "notes from removed content" section, never away.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from nbformat import NotebookNode

from .cells import ANSWER, META, REMOVED, cell_id, is_generated, removed_header, role
from .cells import edited as _edited
from .cells import source as _source


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


def merge(new: NotebookNode, old: dict[str, Any] | None) -> NotebookNode:
    """`new` with every piece of learner work from `old` put back in its place."""
    if not old:
        return new
    old = adopt(old, new)
    new_ids = {c["id"] for c in new.cells}
    taken = set(new_ids) | {c.get("id", "") for c in old.get("cells", [])}
    after: dict[str | None, list[dict[str, Any]]] = {}
    answers: dict[str, dict[str, Any]] = {}
    removed: list[dict[str, Any]] = []
    anchor: str | None = None
    for c in old.get("cells", []):
        if is_generated(c):
            r = role(c)
            if r == REMOVED:
                anchor = REMOVED
                if _edited(c):  # the learner wrote in the header itself
                    removed.append(_as_learner_cell(c, taken))
                continue
            if r == ANSWER:
                if c["id"] in new_ids:
                    answers[c["id"]] = c
                elif _source(c).strip():
                    removed.append(c)
                anchor = c["id"]
                continue
            anchor = c["id"]
            if _edited(c):
                mine = _as_learner_cell(c, taken)
                (after.setdefault(anchor, []) if anchor in new_ids else removed).append(mine)
            continue
        if anchor == REMOVED or (anchor is not None and anchor not in new_ids):
            removed.append(c)
        else:
            after.setdefault(anchor, []).append(c)
    cells: list[Any] = list(after.get(None, []))
    for c in new.cells:
        if c["id"] in answers:
            kept = answers[c["id"]]
            c = copy.deepcopy(c)
            c["source"] = _source(kept)
            if kept.get("attachments"):
                c["attachments"] = kept["attachments"]
        cells.append(c)
        cells += after.get(c["id"], [])
    if removed:
        cells.append(removed_header())
        cells += removed
    merged = copy.deepcopy(new)
    merged.cells = [NotebookNode(copy.deepcopy(c)) if not isinstance(c, NotebookNode) else c for c in cells]
    return merged
