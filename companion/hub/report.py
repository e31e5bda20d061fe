"""What the service shows: the learner's own page, the instructor's heat map and CSV export.

Plain HTML (a table with coloured cells is the heat map), no script: it renders anywhere and
every piece of catalog or learner text in it is escaped.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.course.catalog import Catalog, Course, Lesson, load
from companion.hub.db import Row
from companion.learner.records import utc
from companion.learner.store import clock
from companion.learner.tally import Ticks, course_progress
from companion.learner.tally import label as _label

_cache: dict[Path, tuple[float, Catalog]] = {}
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table.heat{border-collapse:collapse;font-size:12px}table.heat td,table.heat th{border:1px solid #fff;padding:2px 4px}
table.heat td.c{width:22px;height:18px;text-align:center}th.l{text-align:left;white-space:nowrap}
.stop td.c{background:#fde2e2}.legend span{display:inline-block;width:22px;height:12px;margin-right:2px}"""


def esc(text: object) -> str:
    """Any value as text safe in HTML, attributes included: catalog and learner text never becomes markup."""
    return html.escape(str(text), quote=True)


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


def progress_of(cat: Catalog, course: Course, rows: Iterable[Row]) -> list[LearnerProgress]:
    """Each learner with rows in the course, by name."""
    ticks: dict[str, Ticks] = {}
    last: dict[str, float] = {}
    for r in rows:
        if r.course == course.id:
            ticks.setdefault(r.learner, {})[(r.course, r.lesson, r.item)] = r.done
            last[r.learner] = max(last.get(r.learner, 0.0), r.changed_at)
    return [LearnerProgress(name, course_progress(cat, course, ticks[name]), last[name]) for name in sorted(ticks)]


def _colour(done: int, total: int) -> str:
    if not done:
        return "#eeeeee"
    share = done / max(total, 1)
    return f"hsl(140,{40 + int(30 * share)}%,{85 - int(50 * share)}%)"


def _cell(lesson: Lesson, done: int, total: int, who: str) -> str:
    tip = f"{who} — {_label(lesson)}: {done}/{total}"
    return f'<td class="c" style="background:{_colour(done, total)}" title="{esc(tip)}">{done or ""}</td>'


def heat_map(course: Course, learners: list[LearnerProgress], show_stops: bool) -> str:
    """Learners × lessons: a row per learner, a coloured cell per lesson (items done of total)."""
    lessons = course.ordered()
    phases = [course.phase_of(lesson) for lesson in lessons]
    head_phase = ""
    if any(phases):
        spans: list[list[Any]] = []
        for p in phases:
            if spans and spans[-1][0] is p:
                spans[-1][1] += 1
            else:
                spans.append([p, 1])
        head_phase = "<tr><th></th>" + "".join(
            f'<th colspan="{n}" title="{esc(p.title) if p else ""}">{esc(p.id) if p else ""}</th>' for p, n in spans
        ) + "<th></th><th></th></tr>"
    head = "<tr><th class=l>learner</th>" + "".join(
        f'<th title="{esc(_label(lesson))}">{esc(lesson.number if lesson.number is not None else "+")}</th>'
        for lesson in lessons) + "<th class=l>course</th><th class=l>last activity</th></tr>"
    body = []
    for lp in learners:
        done = sum(d for _, d, _ in lp.lessons)
        total = sum(t for _, _, t in lp.lessons)
        cells = "".join(_cell(l, d, t, lp.learner) for l, d, t in lp.lessons)
        body.append(f"<tr><th class=l>{esc(lp.learner)}</th>" + cells
                    + f"<td>{100 * done // max(total, 1)}%</td><td>{esc(when(lp.last_activity))}</td></tr>")
    if show_stops:
        stops = Counter(lp.stopped_at.id for lp in learners if lp.stopped_at)
        top = max(stops.values(), default=0)
        body.append('<tr class="stop"><th class=l>stopped here</th>' + "".join(
            f'<td class="c" style="background:hsl(0,70%,{95 - int(40 * stops[l.id] / top) if top else 95}%)" '
            f'title="{esc(_label(l))}: {stops[l.id]} learner(s)">{stops[l.id] or ""}</td>' for l in lessons)
            + "<td></td><td></td></tr>")
    return f'<table class="heat">{head_phase}{head}{"".join(body)}</table>'


def _phase_table(course: Course, learners: list[LearnerProgress]) -> str:
    if not course.phases:
        return ""
    head = "<tr><th class=l>learner</th>" + "".join(f"<th>{esc(p.title)}</th>" for p in course.phases) + "</tr>"
    body = []
    for lp in learners:
        cells = []
        for p in course.phases:
            part = [(d, t) for lesson, d, t in lp.lessons if p.holds(lesson)]
            d, t = sum(x for x, _ in part), sum(y for _, y in part)
            cells.append(f'<td style="background:{_colour(d, t)}">{100 * d // max(t, 1)}%</td>')
        body.append(f"<tr><th class=l>{esc(lp.learner)}</th>{''.join(cells)}</tr>")
    return f'<h3>By phase</h3><table class="heat">{head}{"".join(body)}</table>'


def _stops(course: Course, learners: list[LearnerProgress]) -> str:
    stops = Counter(lp.stopped_at.id for lp in learners if lp.stopped_at)
    if not stops:
        return ""
    items = "".join(f"<li>{esc(_label(course.lesson(lid)))}: {n} learner(s)</li>" for lid, n in stops.most_common(5))
    return f"<h3>Where most learners stop</h3><ol>{items}</ol>"


def page(title: str, body: str) -> str:
    """A whole HTML page in the service's style; `title` is escaped here, `body` must be HTML already."""
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title><style>{STYLE}</style>'
            f"</head><body><h1>{esc(title)}</h1>{body}</body></html>")


def videos_table(cat: Catalog, course: Course, positions: Sequence[tuple[Any, ...]], who: bool) -> str:
    """Where each learner stopped in each video of the course: position of duration, seconds played."""
    lessons = {l.id: l for l in course.ordered()}
    lines = []
    for learner, c, lesson, item, pos, dur, played, at in positions:
        if c != course.id:
            continue
        l = lessons.get(lesson)
        where = _label(l) if l is not None else lesson
        lines.append("<tr>" + (f"<td class=l>{esc(learner)}</td>" if who else "")
                     + f"<td class=l>{esc(where)}</td><td class=l>{esc(item)}</td>"
                     + f"<td>{clock(pos)} of {clock(dur)}</td><td>{clock(played)}</td><td>{esc(when(at))}</td></tr>")
    if not lines:
        return ""
    head = ("<tr>" + ("<th class=l>learner</th>" if who else "")
            + "<th class=l>lesson</th><th class=l>video</th><th>stopped at</th><th>played</th><th>when</th></tr>")
    return f"<h3>Videos: where each stopped</h3><table>{head}{''.join(lines)}</table>"


def instructor_page(cat: Catalog, rows: list[Row], prefix: str, positions: Sequence[tuple[Any, ...]] = ()) -> str:
    """The instructor's page: per course, the heat map with where learners stop, the phases and the videos;
    progress for courses the catalog no longer has is named at the end."""
    parts = [f'<p><a href="{esc(prefix)}instructor.csv">Export CSV</a> · colour: share of a lesson\'s items done '
             '(grey: none); the red row counts learners whose first unfinished lesson it is.</p>']
    for course in cat.courses.values():
        learners = progress_of(cat, course, rows)
        if not learners:
            continue
        parts.append(f"<h2>{esc(course.title)} <small>[{esc(course.id)}] · {len(learners)} learner(s)</small></h2>")
        parts += [heat_map(course, learners, show_stops=True), _stops(course, learners), _phase_table(course, learners),
                  videos_table(cat, course, list(positions), who=True)]
    unknown = sorted({r.course for r in rows} - set(cat.courses))
    if unknown:
        parts.append(f"<p>Progress for courses not in the catalog: {esc(', '.join(unknown))}</p>")
    if len(parts) == 1:
        parts.append("<p>No progress has arrived yet.</p>")
    return page("Course companion — the class", "".join(parts))


def learner_page(cat: Catalog, learner: str, rows: list[Row], instructor: bool, prefix: str,
                 positions: Sequence[tuple[Any, ...]] = ()) -> str:
    """A learner's own page: their heat map and video positions per course, and a link to the class for an
    instructor."""
    parts = [f"<p>Progress of <b>{esc(learner)}</b> as your kernels sent it (your answers never leave your home).</p>"]
    if instructor:
        parts.append(f'<p><a href="{esc(prefix)}instructor">The instructor\'s view of the class</a></p>')
    for course in cat.courses.values():
        mine = progress_of(cat, course, rows)
        if mine:
            parts += [f"<h2>{esc(course.title)}</h2>", heat_map(course, mine, show_stops=False),
                      videos_table(cat, course, list(positions), who=False)]
    if len(parts) == 1 + instructor:
        parts.append("<p>Nothing yet: tick an item in a lesson notebook.</p>")
    return page("Course companion — my progress", "".join(parts))


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
