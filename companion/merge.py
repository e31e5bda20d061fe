"""Carry a learner's work from the notebook on disk into its regenerated version.

Cells are matched by id, never by position. Generated cells carry `metadata.companion.role`
and the digest of the source they were generated with; anything else is the learner's. Learner
cells stay after the generated cell they followed; text whose anchor (a video, a prompt) left
the catalog goes to a marked "notes from removed content" section, never away.
"""

from __future__ import annotations

import copy
from typing import Any

from nbformat import NotebookNode

from .cells import ANSWER, META, REMOVED, edited as _edited, is_generated, removed_header, role, source as _source


def learner_cells(nb: dict) -> list[dict]:
    """Everything in `nb` the learner wrote: added cells, filled answers, edited generated cells."""
    out = []
    for c in nb.get("cells", []):
        if not is_generated(c):
            out.append(c)
        elif role(c) == ANSWER:
            if _source(c).strip():
                out.append(c)
        elif role(c) != REMOVED and _edited(c):
            out.append(c)
    return out


def has_learner_work(nb: dict) -> bool:
    return bool(learner_cells(nb))


def _as_learner_cell(cell: dict, taken: set[str]) -> dict:
    """A generated cell the learner edited, kept as their own cell next to the regenerated one."""
    mine = copy.deepcopy(cell)
    mine["metadata"].pop(META, None)
    base = f"{cell['id'][:50]}-edited"
    mine["id"], n = base, 2
    while mine["id"] in taken:
        mine["id"], n = f"{base}-{n}", n + 1
    taken.add(mine["id"])
    return mine


def merge(new: NotebookNode, old: dict | None) -> NotebookNode:
    """`new` with every piece of learner work from `old` put back in its place."""
    if not old:
        return new
    new_ids = {c["id"] for c in new.cells}
    taken = set(new_ids) | {c.get("id", "") for c in old.get("cells", [])}
    after: dict[str | None, list[dict]] = {}
    answers: dict[str, dict] = {}
    removed: list[dict] = []
    anchor: str | None = None
    for c in old.get("cells", []):
        if is_generated(c):
            r = role(c)
            if r == REMOVED:
                anchor = REMOVED
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
