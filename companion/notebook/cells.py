"""The contract stored in learners' files: how a generated cell is marked, named and compared.

The builder writes it, the merge, the writer and the text twins read it back; owning it here
means renaming a role or a metadata key changes every side at once. A generated cell carries
`metadata.companion = {"role": ..., "digest": ...}` and the id its role gives it; a notebook
carries `metadata.companion = {"course", "lesson", "lesson_id", "catalog", "extra"}`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from nbformat import NotebookNode

from companion.notebook.nodes import new_code_cell, new_markdown_cell

META = "companion"  # the key under `metadata` of a notebook and of its generated cells
ANSWER = "answer"  # the empty cell under a prompt that is the learner's
EMBED = "embed"  # a code cell whose saved output is a player
CHECK = "check"  # a self-check's question (markdown), its id the check's
SELF_CHECK = "self-check"  # the code cell under a question: its widget, saved as a form without the answer
REMOVED = "removed-notes"  # the header of the "notes from removed content" section
# Roles of generated cells whose id names a catalog entry (a video, a resource's player, a prompt)
# rather than a place in the lesson: a learner's work under one follows it to another lesson.
MOVABLE = ("video", EMBED, "prompt", ANSWER)
NEXT, ABOUT_RESOURCES = "next", "resources"  # ids of generated prompts about their own lesson (prompts.py)
EXTRA_ROLES = ("extra", "extras-header")  # the cells a lesson extra adds
BUILT = "built"  # under a notebook's `metadata.companion`: the digest of its generated view as the build wrote it
# What ipykernel (6 and 7) reports as language_info, less the interpreter's version, which differs
# between machines: notebooks carry it so a kernel that connects finds nothing to change (the
# server extension adds the version on open; tests/test_serverext.py checks it against ipykernel).
LANGUAGE_INFO = {
    "name": "python",
    "mimetype": "text/x-python",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
    "file_extension": ".py",
}
REMOVED_TEXT = ("## Notes from removed content\n\nThe catalog no longer has the video, prompt or lesson these notes "
                "were written under. They are kept here for you; move or delete them as you like.")


def digest(text: str) -> str:
    """A short hash of a generated cell's source, to tell an edited cell from an untouched one."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cell_id(role: str, key: str = "") -> str:
    """The stable id of a generated cell: its role and the catalog id it shows, fit for nbformat."""
    raw = f"{role}-{key}" if key else role
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", raw)
    return safe if len(safe) <= 64 else f"{safe[:47]}-{digest(raw)}"


def generated(kind: str, role: str, key: str, source: str, *, outputs: list[Any] | None = None,
              count: int | None = None, tags: list[str] | None = None, owned_output: bool = False,
              collapsed: bool = False) -> NotebookNode:
    """A generated cell, marked with its role and the digest of its source. `owned_output`: the
    saved output is the build's (an index's table as built), so its digest is recorded too and a
    catalog change that redraws it updates the notebook, while the learner's later runs don't.
    `collapsed`: the source is folded (`jupyter.source_hidden`, which JupyterLab honours), so a lesson
    reads as videos, prompts and a checklist; the learner can still expand it."""
    meta: dict[str, Any] = {META: {"role": role, "digest": digest(source)}}
    if owned_output:
        meta[META]["output"] = digest(json.dumps([o.get("data") for o in outputs or []], sort_keys=True))
    if tags:
        meta["tags"] = tags
    if collapsed:
        meta["jupyter"] = {"source_hidden": True}
    if kind == "markdown":
        return new_markdown_cell(source, id=cell_id(role, key), metadata=meta)
    return new_code_cell(source, id=cell_id(role, key), metadata=meta, outputs=outputs or [], execution_count=count)


def role(cell: dict[str, Any]) -> str | None:
    """The role a generated cell was made for, or None for a cell without one."""
    meta = cell.get("metadata", {}).get(META)
    return meta.get("role") if isinstance(meta, dict) else None


def is_generated(cell: dict[str, Any]) -> bool:
    """A generated cell still has the id its role gives it; a pasted copy gets a new id."""
    r = role(cell)
    return r is not None and cell.get("id", "").startswith(cell_id(r))


def source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a list of lines on disk)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def edited(cell: dict[str, Any]) -> bool:
    """Whether the learner changed a generated cell since it was generated."""
    return bool(cell["metadata"][META].get("digest") != digest(source(cell)))


def all_answered(nb: dict[str, Any]) -> bool:
    """Whether every answer cell of a lesson holds text: what a save passes to
    `ProgressStore.mark_reflections` so the ✎ box ticks itself."""
    answers = [c for c in nb.get("cells", []) if role(c) == ANSWER]
    return bool(answers) and all(source(c).strip() for c in answers)


def removed_header() -> NotebookNode:
    """The heading above notes whose video, prompt or lesson left the catalog."""
    return generated("markdown", REMOVED, "", REMOVED_TEXT)


def notebook_meta(nb: dict[str, Any]) -> dict[str, Any] | None:
    """A notebook's `metadata.companion`, or None when the notebook was not made by a build."""
    meta = nb.get("metadata", {}).get(META)
    return meta if isinstance(meta, dict) else None


LessonKey = tuple[Any, Any]  # (course id, lesson id) as stored; a hand-edited file may hold anything


def lesson_key(nb: dict[str, Any]) -> LessonKey | None:
    """(course, lesson id) a built notebook is for, the same across renames and renumbering."""
    meta = notebook_meta(nb)
    if meta is None:
        return None
    return meta.get("course"), meta.get("lesson_id", meta.get("lesson"))


def generated_view(nb: dict[str, Any], *, outputs: bool = True) -> list[Any]:
    """What --check compares: generated cells as generated (roles, ids, digests, saved players),
    blind to answers, added cells, outputs of the learner's runs and edits the learner made.
    Without `outputs`, blind to the saved players too (a learner's run replaces them)."""
    view: list[Any] = [nb.get("metadata", {}).get(META)]
    for c in nb.get("cells", []):
        if is_generated(c) and role(c) != REMOVED:
            entry = [c["id"], c["cell_type"], c["metadata"][META].get("role"), c["metadata"][META].get("digest"),
                     c["metadata"][META].get("output")]
            if role(c) == EMBED and outputs:
                entry.append([{k: "".join(v) if isinstance(v, list) else v for k, v in o.get("data", {}).items()}
                              for o in c.get("outputs", [])])
            view.append(entry)
    return view


def seal(nb: NotebookNode) -> NotebookNode:
    """Record in the notebook what the build generated (`metadata.companion.built`), so a save can
    tell "a build rewrote this file since the tab opened it" from "the learner ran it": outputs
    and widgets differ after a run, this digest only after a build."""
    meta = nb.metadata[META]
    meta.pop(BUILT, None)
    meta[BUILT] = digest(json.dumps(generated_view(nb), sort_keys=True, ensure_ascii=False))
    return nb


def rebuilt(opened: dict[str, Any], on_disk: dict[str, Any]) -> bool:
    """Whether a build rewrote the generated content on disk since a tab opened `opened` (a tab sends
    back the metadata it opened). Notebooks from builds before `seal`: their generated cells compared,
    blind to outputs."""
    mine, theirs = notebook_meta(opened) or {}, notebook_meta(on_disk) or {}
    if BUILT in mine and BUILT in theirs:
        return bool(mine[BUILT] != theirs[BUILT])
    return generated_view(opened, outputs=False) != generated_view(on_disk, outputs=False)


def movable(cell: dict[str, Any]) -> bool:
    """Whether work under this generated cell may follow it to another lesson that has it now: a
    video, its player, a prompt and its answer, less the generated prompts every lesson asks about
    itself (their ids repeat across lessons, their questions don't)."""
    own = {cell_id(r, key) for r in ("prompt", ANSWER) for key in (NEXT, ABOUT_RESOURCES)}
    return role(cell) in MOVABLE and cell.get("id") not in own
