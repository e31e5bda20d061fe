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

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def destination(holders: Iterable[T], had: Callable[[T], bool]) -> T | None:
    """Of the lessons that have the content now (in course order), the one its work goes to:
    the first that did not have it before, else the first; None when none has it."""
    holders = list(holders)
    return next((h for h in holders if not had(h)), holders[0] if holders else None)
