"""What the indexes show of progress, as plain HTML with a text twin: the course table and the
top index's "Continue" lines and bars.

One function draws each, from `tally`'s arithmetic: the build calls it with nothing ticked and
saves the result as the index cell's output (so an index reads right before it is run, on
GitHub too), and the kernel calls it with the learner's ticks when the index runs. Plain HTML,
no widgets: a saved index reopens as it was, with nothing to reconnect.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from companion.course.catalog import Catalog, Course, Lesson
from companion.course.layout import REVIEW, Layout
from companion.course.markup import url
from companion.learner.tally import CourseProgress, Done, Ticks, Worked, of_course, resume, seen_elsewhere

_GREEN, _GREY = "#2e7d32", "#e0e0e0"


@dataclass(frozen=True)
class Board:
    """An HTML fragment and the text that says the same where HTML is not shown."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def bundle(self) -> dict[str, str]:
        """The display bundle the build saves as the cell's output."""
        return {"text/html": self.html, "text/plain": self.text}


def items(n: int) -> str:
    """`1 item`, `3 items`: how every count of checklist items reads."""
    return f"{n} item{'s' * (n != 1)}"


def state(d: Done) -> str:
    """A lesson's progress in words: not started, 2 of 5 items, done."""
    if d.done == 0:
        return "not started"
    if d.done >= d.total:
        return f"done ({items(d.total)})"
    return f"{d.done} of {items(d.total)}"


def bar(d: Done, width: int = 120) -> str:
    """A small inline bar (its share filled), followed by the count it draws."""
    share = 100 * d.done // max(d.total, 1)
    return (f'<span style="display:inline-block;width:{width}px;height:9px;background:{_GREY};border-radius:4px;'
            f'vertical-align:middle;margin-right:6px" title="{share}%"><span style="display:block;height:100%;'
            f'width:{share}%;background:{_GREEN};border-radius:4px"></span></span>'
            f"{d.done} of {items(d.total)} ({share}%)")


def heading(lesson: Lesson) -> str:
    """How every page names a lesson: `Lesson 12 — Title`, or the title of an unnumbered one."""
    return f"Lesson {lesson.number} — {lesson.title}" if lesson.number is not None else lesson.title


def _what(lesson: Lesson) -> str:
    parts = [f"{len(lesson.videos)} video{'s' * (len(lesson.videos) != 1)}"]
    if lesson.resources:
        parts.append(f"{len(lesson.resources)} resource{'s' * (len(lesson.resources) != 1)}")
    return ", ".join(parts)


def course_table(catalog: Catalog, course: Course, ticks: Ticks | None = None,
                 stopped: dict[str, str] | None = None, worked: Worked | None = None) -> Board:
    """The course index's one table: each lesson linked, what it holds and how far the learner is;
    a row per phase with its bar; above it, where to continue (`worked`: when each lesson was last
    worked in). `ticks=None` draws it as the build saves it (nothing done)."""
    progress = of_course(catalog, course, ticks or {})
    layout, stopped = Layout(course), stopped or {}
    e = html.escape
    rows = [f'<tr><th style="text-align:left" colspan="3">Whole course</th><td style="text-align:left">'
            f"{bar(progress.total, 160)}</td></tr>"]
    text = [f"Whole course: {state(progress.total)}"]
    for phase in progress.phases:
        g = phase.group
        if g.phase is None and g.numbered:  # a course without phases: "Whole course" is this row already
            text.append("")
            rows += [_lesson_row(layout, lesson, d, stopped, text) for lesson, d in phase.lessons]
            continue
        span = f"lessons {g.phase.first}–{g.phase.last}" if g.phase else ""
        title = e(g.title) + (f' <span style="font-weight:normal">({span})</span>' if span else "")
        rows.append(f'<tr><th style="text-align:left;padding-top:1em" colspan="3">{title}</th>'
                    f'<td style="text-align:left;padding-top:1em">{bar(phase.total)}</td></tr>')
        text.append(f"\n{g.title}: {state(phase.total)}")
        if g.phase and g.phase.note:
            rows.append(f'<tr><td colspan="4" style="text-align:left"><i>{e(g.phase.note)}</i></td></tr>')
        rows += [_lesson_row(layout, lesson, d, stopped, text) for lesson, d in phase.lessons]
    head = ('<tr><th style="text-align:left">Lesson</th><th style="text-align:left">Title</th>'
            '<th style="text-align:left">What it holds</th><th style="text-align:left">Your progress</th></tr>')
    table = f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    lines, lines_text = continue_lines(catalog, progress, ticks or {}, worked or {})
    if lines:
        return Board("<ul>" + "".join(lines) + "</ul>\n" + table, "\n".join(lines_text + [""] + text))
    return Board(table, "\n".join(text))


def _lesson_row(layout: Layout, lesson: Lesson, d: Done, stopped: dict[str, str], text: list[str]) -> str:
    """A lesson's row of the course table (its line of text added to `text`)."""
    e = html.escape
    href = e(url(layout.name(lesson)))
    number = f"Lesson {lesson.number}" if lesson.number is not None else "—"
    where = stopped.get(lesson.id, "")
    text.append(f"  {heading(lesson)}: {state(d)}" + (f" · {where}" if where else ""))
    return (f'<tr><td style="text-align:left;white-space:nowrap"><a href="{href}">{e(number)}</a></td>'
            f'<td style="text-align:left"><a href="{href}">{e(lesson.title)}</a></td>'
            f'<td style="text-align:left">{e(_what(lesson))}</td>'
            f'<td style="text-align:left">{e(state(d))}'
            + (f' <span style="color:#1565c0">· {e(where)}</span>' if where else "") + "</td></tr>")


def continue_lines(catalog: Catalog, progress: CourseProgress, ticks: Ticks, worked: Worked,
                   from_top: bool = False) -> tuple[list[str], list[str]]:
    """`<li>` items (and their text) for a started course: Continue at the lesson last worked in
    (`tally.resume`), then what was left behind in the lessons before it. `from_top`: links from the
    top index (start-here), else from the course's own folder. Nothing for a course not started."""
    if not progress.total.done and not any(c == progress.course.id for c, _ in worked):
        return [], []
    r = resume(catalog, progress, ticks, worked)
    e, course, layout = html.escape, progress.course, Layout(progress.course)

    def where(lesson: Lesson) -> str:
        return str(layout.path(lesson)) if from_top else layout.name(lesson)

    items, text = [], []
    if r.lesson is not None:
        href = e(url(where(r.lesson)))
        items.append(f'<li><b>Continue:</b> <a href="{href}">{e(heading(r.lesson))}</a> '
                     f"<span>in {e(course.title)}</span></li>")
        text.append(f"Continue: {heading(r.lesson)} (in {course.title})")
    for lesson, left in r.left_behind:
        href = e(url(where(lesson)))
        items.append(f'<li style="color:#555">Left behind: <a href="{href}">{e(heading(lesson))}</a> — '
                     f"{e(', '.join(left))}</li>")
        text.append(f"  Left behind: {heading(lesson)} — {', '.join(left)}")
    return items, text


WEEK = 7 * 24 * 3600


def activity(done_at: list[float], now: float, weeks: int = 8) -> Board | None:
    """Items ticked per week over the last `weeks` weeks (by when each was last ticked), as a row
    of small columns; None when nothing was ticked in that time."""
    counts = [0] * weeks
    for t in done_at:
        age = int((now - t) // WEEK)
        if 0 <= age < weeks:
            counts[weeks - 1 - age] += 1
    if not any(counts):
        return None
    top = max(counts)
    columns = "".join(
        f'<span title="{n} item{"s" * (n != 1)}, {"this week" if i == weeks - 1 else f"{weeks - 1 - i} weeks ago"}" '
        f'style="display:inline-block;width:18px;margin-right:4px;vertical-align:bottom;'
        f'height:{max(2, 40 * n // top)}px;background:{_GREEN if n else _GREY}"></span>'
        for i, n in enumerate(counts))
    html_ = (f"<p><b>Last {weeks} weeks</b> (items ticked per week, this week on the right)<br>"
             f'<span style="display:inline-block;height:40px;line-height:0">{columns}</span></p>')
    return Board(html_, f"Items ticked per week, the last {weeks} (oldest first): {', '.join(map(str, counts))}")


def overview(catalog: Catalog, ticks: Ticks | None = None, recent: Board | None = None,
             worked: Worked | None = None, done_in: dict[str, frozenset[str]] | None = None,
             due: int | None = None) -> Board:
    """The top index: a link to the review (saying how many cards are `due`; the build, which knows
    none, links it bare), where to continue in each course started (and what was left behind), a bar
    per course with how many of its videos were watched in other courses (`done_in`, from
    `ProgressStore.done_in`), and the learner's `activity` when there is some."""
    e = html.escape
    ticks, worked, done_in = ticks or {}, worked or {}, done_in or {}
    progresses = [of_course(catalog, c, ticks) for c in catalog.courses.values()]
    resume, resume_text = [], []
    for p in progresses:
        lines, text_lines = continue_lines(catalog, p, ticks, worked, from_top=True)
        resume += lines
        resume_text += text_lines
    seen = {p.course.id: seen_elsewhere(p.course, done_in) for p in progresses}
    if resume:
        top = "<ul>" + "".join(resume) + "</ul>"
    else:
        top = "<p><b>Nothing ticked yet.</b> Pick a course below and open its first lesson.</p>"
        resume_text = ["Nothing ticked yet. Pick a course below and open its first lesson."]
    review = "Review" if due is None else f"Review: {due} due"
    top, resume_text = f'<p><b><a href="{e(url(REVIEW))}">{e(review)}</a></b></p>\n' + top, [review, *resume_text]
    rows = [f'<tr><td style="text-align:left"><a href="{e(url(str(Layout(p.course).index)))}">{e(p.course.title)}</a>'

            f'</td><td style="text-align:left">{len(p.course.lessons)} lessons</td>'
            f'<td style="text-align:left">{bar(p.total, 160)}{_seen(seen[p.course.id], True)}</td></tr>'
            for p in progresses]
    table = ('<table>\n<thead><tr><th style="text-align:left">Course</th><th style="text-align:left">Size</th>'
             '<th style="text-align:left">Your progress</th></tr></thead>\n<tbody>\n' + "\n".join(rows)
             + "\n</tbody>\n</table>")
    text = resume_text + [""] + [f"{p.course.title} ({len(p.course.lessons)} lessons): {state(p.total)}"
                                 + _seen(seen[p.course.id], False) for p in progresses]
    if recent is not None:
        return Board(top + "\n" + table + "\n" + recent.html, "\n".join(text + ["", recent.text]))
    return Board(top + "\n" + table, "\n".join(text))


def _seen(n: int, as_html: bool) -> str:
    """" · 12 of its videos seen in other courses", or nothing when none were."""
    if not n:
        return ""
    words = f"{n} of its videos seen in other courses"
    return f' <span style="color:#1565c0">· {html.escape(words)}</span>' if as_html else f" · {words}"
