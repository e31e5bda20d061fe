"""What the service's pages show, as data: each course's learners with items done per lesson, where they
stop, and where they stopped in each video; the CSV export and the API's rows. The pages themselves
are the templates in `templates/`, which escape every value they show.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from companion.course.catalog import Catalog, Course, Lesson, Phase, load
from companion.hub.db import Row
from companion.learner.records import utc
from companion.learner.tally import Ticks, course_progress
from companion.learner.tally import label as _label

_cache: dict[Path, tuple[float, Catalog]] = {}


def catalog(path: Path) -> Catalog:
    """The course catalog, re-read when the file changes (lesson titles and order for the pages)."""
    mtime = path.stat().st_mtime
    if path not in _cache or _cache[path][0] != mtime:
        _cache[path] = (mtime, load(path))
    return _cache[path][1]


def when(t: float | None) -> str:
    """A time as the pages show it, in UTC; a dash for none (never an error, whatever a row holds)."""
    return utc(t) if t else "—"


def rows_json(rows: list[Row]) -> dict[str, Any]:
    """Tick rows as the API answers them, without the service's receive time."""
    return {"ticks": [{"learner": r.learner, "course": r.course, "lesson": r.lesson, "item": r.item, "done": r.done,
                       "changed_at": r.changed_at} for r in rows]}


@dataclass(frozen=True)
class LearnerProgress:
    """One learner in one course: items done of total per lesson, and the time of their latest tick
    (on the learner's clock)."""

    learner: str
    lessons: list[tuple[Lesson, int, int]]  # (lesson, done, total) in course order
    last_activity: float

    @property
    def stopped_at(self) -> Lesson | None:
        """The first lesson in course order not finished: where this learner stands or stopped."""
        return next((lesson for lesson, done, total in self.lessons if done < total), None)

    @property
    def done(self) -> int:
        """Items done in the whole course."""
        return sum(done for _, done, _ in self.lessons)

    @property
    def total(self) -> int:
        """Items in the whole course."""
        return sum(total for _, _, total in self.lessons)

    def in_phase(self, phase: Phase) -> tuple[int, int]:
        """Items done and items in the phase's lessons."""
        part = [(done, total) for lesson, done, total in self.lessons if phase.holds(lesson)]
        return sum(done for done, _ in part), sum(total for _, total in part)


@dataclass(frozen=True)
class VideoStop:
    """Where a learner stopped in a video of a lesson (seconds), and when (on the learner's clock)."""

    learner: str
    lesson: str  # as the pages name it; the id of a lesson the catalog no longer has
    video: str
    position: float
    duration: float
    played: float
    at: float


@dataclass(frozen=True)
class CourseProgress:
    """A course's learners (by name) and video positions, and the counts its page shows."""

    course: Course
    learners: list[LearnerProgress]
    videos: list[VideoStop]

    @cached_property
    def lessons(self) -> list[Lesson]:
        """The course's lessons in order: the columns of its heat map."""
        return self.course.ordered()

    @cached_property
    def phase_spans(self) -> list[tuple[Phase | None, int]]:
        """The phases over the lessons, each with how many lessons in a row it spans (None: lessons in no
        phase); empty for a course without phases."""
        phases = [self.course.phase_of(lesson) for lesson in self.lessons]
        spans: list[tuple[Phase | None, int]] = []
        for p in phases if any(phases) else ():
            if spans and spans[-1][0] is p:
                spans[-1] = (p, spans[-1][1] + 1)
            else:
                spans.append((p, 1))
        return spans

    @cached_property
    def stops(self) -> Counter[str]:
        """Lesson id → how many learners' first unfinished lesson it is."""
        return Counter(lp.stopped_at.id for lp in self.learners if lp.stopped_at)

    @cached_property
    def most_stops(self) -> int:
        """The largest count of `stops` (0 for none): the darkest red."""
        return max(self.stops.values(), default=0)

    @property
    def top_stops(self) -> list[tuple[Lesson, int]]:
        """The five lessons where most learners stop, with how many."""
        return [(self.course.lesson(lid), n) for lid, n in self.stops.most_common(5)]


@dataclass(frozen=True)
class Progress:
    """What a page shows: each course with progress, in catalog order, and the courses rows name that the
    catalog no longer has."""

    courses: list[CourseProgress]
    unknown: list[str]


def progress_of(cat: Catalog, course: Course, rows: Iterable[Row]) -> list[LearnerProgress]:
    """Each learner with rows in the course, by name."""
    ticks: dict[str, Ticks] = {}
    last: dict[str, float] = {}
    for r in rows:
        if r.course == course.id:
            ticks.setdefault(r.learner, {})[(r.course, r.lesson, r.item)] = r.done
            last[r.learner] = max(last.get(r.learner, 0.0), r.changed_at)
    return [LearnerProgress(name, course_progress(cat, course, ticks[name]), last[name]) for name in sorted(ticks)]


def videos_of(course: Course, positions: Iterable[tuple[Any, ...]]) -> list[VideoStop]:
    """The course's video positions (rows as `db.positions` gives them), each lesson named as the pages do."""
    lessons = {l.id: l for l in course.ordered()}
    return [VideoStop(learner, _label(lessons[lesson]) if lesson in lessons else lesson, item, pos, dur, played, at)
            for learner, c, lesson, item, pos, dur, played, at in positions if c == course.id]


def progress(cat: Catalog, rows: list[Row], positions: Sequence[tuple[Any, ...]] = ()) -> Progress:
    """The progress in `rows` and video `positions` (of one learner or of the class) course by course."""
    courses = [CourseProgress(course, learners, videos_of(course, positions)) for course in cat.courses.values()
               if (learners := progress_of(cat, course, rows))]
    return Progress(courses, sorted({r.course for r in rows} - set(cat.courses)))


def _cell_text(text: object) -> object:
    """A cell a spreadsheet won't run as a formula: text starting with = + - @ (or a tab or carriage
    return before one) gets a leading quote; numbers stay numbers."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_text(cat: Catalog, rows: list[Row]) -> str:
    """One line per learner and lesson of every course with progress."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["learner", "course", "phase", "lesson", "lesson_number", "lesson_title", "done", "total",
                "last_activity_utc"])
    for course in cat.courses.values():
        for lp in progress_of(cat, course, rows):
            for lesson, done, total in lp.lessons:
                phase = course.phase_of(lesson)
                w.writerow([_cell_text(cell) for cell in (
                    lp.learner, course.id, phase.id if phase else "", lesson.id,
                    "" if lesson.number is None else lesson.number, lesson.title, done, total,
                    when(lp.last_activity))])
    return out.getvalue()
