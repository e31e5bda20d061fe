"""Progress arithmetic (a tally of ticks): what a learner ticks in a lesson, and how much of a course is done.

Plain data, no IPython and no widgets, so `companion progress` and the notebooks' progress bars
(`companion.lesson`) count the same way; the phase grouping here is also the course index's.
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.course.catalog import Catalog, Course, Lesson, Phase

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


Worked = dict[tuple[str, str], float]  # (course, lesson) -> latest change, as `ProgressStore.last_worked` gives


@dataclass(frozen=True)
class Resume:
    """Where a course continues, and what the learner skipped in the lessons before it."""

    lesson: Lesson | None
    left_behind: tuple[tuple[Lesson, tuple[str, ...]], ...]


def _short(label: str) -> str:
    """A checklist label as the "Left behind" line names it: the title, "reflections" for the answers."""
    return "reflections" if label.startswith("✎") else label[2:]


def resume(catalog: Catalog, progress: CourseProgress, ticks: Ticks, worked: Worked) -> Resume:
    """The lesson the learner last worked in while it is unfinished, then the next unfinished one
    after it; the first unfinished lesson when nothing was worked (or all after it are done).
    Left behind: the unticked items of lessons before it that the learner started."""
    course = progress.course
    order = [(l, d) for p in progress.phases for l, d in p.lessons]
    times = [worked.get((course.id, l.id), -1.0) for l, _ in order]
    last = max(range(len(order)), key=lambda i: times[i]) if order and max(times) >= 0 else 0
    unfinished = [l for l, d in order if d.done < d.total]
    after = [l for l, d in order[last:] if d.done < d.total]
    here = next(iter(after or unfinished), None)
    behind = []
    for l, d in order:
        if l is here:
            break
        if 0 < d.done < d.total:
            left = tuple(_short(label) for item, label in lesson_items(catalog, l)
                         if not ticks.get((course.id, l.id, item)))
            behind.append((l, left))
    return Resume(here, tuple(behind))


def seen_elsewhere(course: Course, done_in: dict[str, frozenset[str]]) -> int:
    """How many distinct videos of `course` the learner ticked as watched in another course."""
    return len({a.id for l in course.lessons for a in l.videos if done_in.get(a.id, frozenset()) - {course.id}})
