"""Progress arithmetic (a tally of ticks): what a learner ticks in a lesson, and how much of a course is done.

Plain data, no IPython and no widgets, so `companion progress` and the notebooks' progress bars
(`companion.lesson`) count the same way; the phase grouping here is also the course index's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import Catalog, Course, Lesson, Phase

REFLECTIONS = "reflections"  # the checklist item for a lesson's written answers
Ticks = dict[tuple[str, str, str], bool]  # (course, lesson, item) -> ticked, as `ProgressStore.ticks` gives


@dataclass(frozen=True)
class Group:
    """Consecutive lessons of a course in one phase, or outside every phase."""

    phase: Phase | None
    numbered: bool
    lessons: tuple[Lesson, ...]

    @property
    def title(self) -> str:
        """The phase's title, or what the course index calls lessons outside every phase."""
        if self.phase:
            return self.phase.title
        return "Lessons" if self.numbered else "Beyond the lessons"


def groups(course: Course) -> list[Group]:
    """The course's lessons in order, grouped by phase (the one grouping index, bars and table use)."""
    out: list[Group] = []
    for lesson in course.ordered():
        phase = course.phase_of(lesson)
        numbered = lesson.number is not None
        if out and out[-1].phase == phase and (phase or out[-1].numbered == numbered):
            out[-1] = Group(phase, out[-1].numbered, out[-1].lessons + (lesson,))
        else:
            out.append(Group(phase, numbered, (lesson,)))
    return out


def lesson_items(catalog: Catalog, lesson: Lesson) -> list[tuple[str, str]]:
    """(item id, label) of everything a learner ticks in a lesson."""
    items = []
    for a in lesson.videos:
        items.append((a.id, "▶ " + (a.title or catalog.videos[a.id].title)))
    for a in lesson.resources:
        items.append((a.id, "☰ " + (a.title or catalog.resources[a.id].title)))
    items.append((REFLECTIONS, "✎ Reflections written"))
    items += [(c.item, f"✓ Check yourself {n}: answered right") for n, c in enumerate(lesson.checks, 1)]
    return items


@dataclass(frozen=True)
class Done:
    """How many of a lesson's (or phase's, or course's) items are ticked."""

    done: int
    total: int

    def __add__(self, other: Done) -> Done:
        return Done(self.done + other.done, self.total + other.total)


def lesson_progress(catalog: Catalog, course: Course, lesson: Lesson, ticks: Ticks) -> Done:
    """Ticked items of one lesson."""
    items = lesson_items(catalog, lesson)
    return Done(sum(1 for item, _ in items if ticks.get((course.id, lesson.id, item))), len(items))


def course_progress(catalog: Catalog, course: Course, ticks: Ticks) -> list[tuple[Lesson, int, int]]:
    """(lesson, done, total) for each lesson, in course order."""
    rows = []
    for lesson in course.ordered():
        d = lesson_progress(catalog, course, lesson, ticks)
        rows.append((lesson, d.done, d.total))
    return rows


@dataclass(frozen=True)
class PhaseProgress:
    """A phase (or run of lessons outside phases) with each lesson's progress."""

    group: Group
    lessons: tuple[tuple[Lesson, Done], ...]

    @property
    def total(self) -> Done:
        """Items ticked of all the group's lessons: the bar a phase gets."""
        return sum((d for _, d in self.lessons), Done(0, 0))


@dataclass(frozen=True)
class CourseProgress:
    """A course's progress, phase by phase; what `companion.progress` returns per course."""

    course: Course
    phases: tuple[PhaseProgress, ...]

    @property
    def total(self) -> Done:
        """Items ticked in the whole course: the bar `overview` and `companion progress` show for it."""
        return sum((p.total for p in self.phases), Done(0, 0))


def of_course(catalog: Catalog, course: Course, ticks: Ticks) -> CourseProgress:
    """Progress of every lesson of `course`, grouped by phase."""
    return CourseProgress(course, tuple(
        PhaseProgress(g, tuple((l, lesson_progress(catalog, course, l, ticks)) for l in g.lessons))
        for g in groups(course)))


def label(lesson: Lesson) -> str:
    """A lesson as a progress table or bar names it: `12. Title`."""
    return f"{lesson.number}. {lesson.title}" if lesson.number is not None else lesson.title
