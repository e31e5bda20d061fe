"""Where a learner's work goes when the catalog moves a video, resource or prompt to another lesson.

A lesson's work belongs to what it was written under: an answer to its prompt, notes under a
video, a video's tick, position and notes at a moment. When that leaves a lesson and another
lesson of the same course has it, the work goes there (`writer` for the notebooks, `move_progress`
for the store). One rule decides where, for both: the lesson that gained it (its old notebook, or
the store, had nothing of it), else the first lesson in the course that has it; a video kept in
several lessons thus takes the work of a lesson that dropped it to the one it was moved to, or to
its first remaining lesson. Work whose content no lesson of the course has stays where it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from companion.builder.report import Change
from companion.course.layout import Layout
from companion.errors import NotFound, StoreError
from companion.learner.tally import REFLECTIONS

if TYPE_CHECKING:
    from companion.course.catalog import Catalog
    from companion.learner.store import Moved, ProgressStore

T = TypeVar("T")


def destination(holders: Iterable[T], had: Callable[[T], bool]) -> T | None:
    """Of the lessons that have the content now (in course order), the one its work goes to:
    the first that did not have it before, else the first; None when none has it."""
    holders = list(holders)
    return next((h for h in holders if not had(h)), holders[0] if holders else None)


Had = Callable[[str, str, str], bool]  # (course, lesson id, item): whether the lesson's old notebook had it


def move_progress(catalog: Catalog, store: ProgressStore, had: Had) -> list[Change]:
    """Give the ticks, positions and notes of each video or resource that left a lesson to the
    lesson of its course that has it now (`destination`; `had`, or a row of its own in the store,
    tells a lesson that had it already), in one transaction; one report line per item moved.
    A store that does not exist yet is not made."""
    if not store.path.exists():
        return []
    try:
        rows = store.items()
        moves = _moves(catalog, rows, had)
        return [_said(catalog, m) for m in store.move(moves)] if moves else []
    except StoreError as e:
        return [Change("skip", PurePosixPath("."), f"ticks, positions and notes of videos that moved to another "
                                                 f"lesson were not moved with them: {e}")]


def _moves(catalog: Catalog, rows: frozenset[tuple[str, str, str]], had: Had) -> list[tuple[str, str, str, str]]:
    """(course, lesson, item, the lesson it goes to) for each video or resource the store holds
    progress of under a lesson that no longer has it, where another lesson of the course has it."""
    moves = []
    for course in catalog.courses.values():
        lessons = course.ordered()
        has = {lesson.id: {a.id for a in lesson.items} for lesson in lessons}
        holders: dict[str, list[str]] = {}
        for lesson in lessons:
            for a in lesson.items:
                holders.setdefault(a.id, []).append(lesson.id)
        for c, lesson_id, item in sorted(rows):
            if c != course.id or item == REFLECTIONS or item in has.get(lesson_id, ()):
                continue
            to = destination((h for h in holders.get(item, []) if h != lesson_id),
                             functools.partial(_had, rows, had, course.id, item))
            if to is not None:
                moves.append((course.id, lesson_id, item, to))
    return moves


def _had(rows: frozenset[tuple[str, str, str]], had: Had, course: str, item: str, lesson: str) -> bool:
    return (course, lesson, item) in rows or had(course, lesson, item)


def _said(catalog: Catalog, m: Moved) -> Change:
    """A move of the store as the build reports it, on the notebook of the lesson that took it."""
    from companion.kernel.board import heading

    course = catalog.courses[m.course]
    to = course.lesson(m.to)
    what = [w for w, n in (("the tick", m.tick), ("the position", m.position)) if n]
    what += [f"{m.notes} note{'s' * (m.notes != 1)}"] if m.notes else []
    said = " and ".join([", ".join(what[:-1]), what[-1]] if len(what) > 1 else what)
    item = catalog.videos[m.item].title if m.item in catalog.videos else catalog.resources[m.item].title
    kind = "video" if m.item in catalog.videos else "resource"
    try:
        origin = heading(course.lesson(m.lesson))
    except NotFound:
        origin = f"lesson {m.lesson} (no longer in the catalog)"
    return Change("progress", Layout(course).path(to),
                  f'took {said} of the {kind} "{item}" from {origin}')
