"""A learner's own work in one place: every answer they wrote under a prompt (read from their lesson
notebooks on disk) and every note they took at a moment of a video (from the progress store), by
course and lesson.

`gather` reads, `markdown` writes the file `companion notes --answers` exports, `page` draws the
list (everything in it escaped) and `show` is what `my-answers-and-notes.ipynb` runs: a search box
over that list, filtered as the learner types.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.course.catalog import Catalog, Course, Lesson
from companion.course.layout import Layout
from companion.course.markup import md
from companion.course.prompts import prompts_for
from companion.kernel.board import heading
from companion.kernel.player import moment_url
from companion.learner.store import Note, clock
from companion.notebook.cells import ANSWER, cell_id, role, source

GONE = "A prompt no longer in this lesson"
_LINK = 'style="color:#1565c0"'  # a widget's HTML gets no link colour of its own


@dataclass(frozen=True)
class Answer:
    """What the learner wrote under one prompt (the prompt as plain text)."""

    prompt: str
    text: str


@dataclass(frozen=True)
class LessonWork:
    """A lesson's answers and notes; a lesson with neither is not gathered."""

    course: Course
    lesson: Lesson
    answers: tuple[Answer, ...]
    notes: tuple[tuple[str, Note], ...]  # (video title, note), in order of video and moment

    def matches(self, query: str) -> LessonWork | None:
        """Only the answers and notes holding every word of `query` (any case); the whole lesson when
        its title or course does; None when nothing matches."""
        words = query.lower().split()
        if not words:
            return self

        def hit(*texts: str) -> bool:
            joined = " ".join(texts).lower()
            return all(w in joined for w in words)

        if hit(self.course.title, heading(self.lesson)):
            return self
        answers = tuple(a for a in self.answers if hit(a.prompt, a.text))
        notes = tuple((t, n) for t, n in self.notes if hit(t, n.text))
        return LessonWork(self.course, self.lesson, answers, notes) if answers or notes else None


def plain(markdown: str) -> str:
    """A prompt's markdown as the words a learner reads: emphasis marks and escapes dropped."""
    text = re.sub(r"(?<!\\)(\*\*|[_*])", "", markdown)
    return html.unescape(re.sub(r"\\(.)", r"\1", text.replace("&#92;", "\\")))


def _answers(catalog: Catalog, lesson: Lesson, path: Path) -> tuple[Answer, ...]:
    """The non-empty answer cells of a lesson's notebook, under their prompts; an unreadable or
    missing notebook has none (the learner never opened it, or it is being written)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if isinstance(c, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    prompts = {cell_id(ANSWER, p.id): plain(p.text) for p in prompts_for(lesson, catalog)}
    out = []
    for c in cells:
        tags = c.get("metadata", {}).get("tags", [])
        if role(c) != ANSWER and "answer" not in (tags if isinstance(tags, list) else []):
            continue
        text = source(c).strip()
        if text:
            out.append(Answer(prompts.get(str(c.get("id", "")), GONE), text))
    return tuple(out)


def gather(catalog: Catalog, folder: Path, notes: Iterable[Note], course: str | None = None) -> list[LessonWork]:
    """Every lesson (of `course`, or of every course) with an answer in its notebook under `folder`
    (the notebooks' folder) or a note in `notes`, in course order."""
    by_lesson: dict[tuple[str, str], list[Note]] = {}
    for n in notes:
        by_lesson.setdefault((n.course, n.lesson), []).append(n)
    courses = [catalog.course(course)] if course else list(catalog.courses.values())
    out = []
    for c in courses:
        layout = Layout(c)
        for lesson in c.ordered():
            answers = _answers(catalog, lesson, folder / layout.path(lesson))
            order = {a.id: i for i, a in enumerate(lesson.videos)}
            found = sorted(by_lesson.get((c.id, lesson.id), []), key=lambda n: (order.get(n.item, 1 << 30), n.at))
            titled = tuple((_title(catalog, lesson, n.item), n) for n in found)
            if answers or titled:
                out.append(LessonWork(c, lesson, answers, titled))
    return out


def _title(catalog: Catalog, lesson: Lesson, item: str) -> str:
    a = next((a for a in lesson.videos if a.id == item), None)
    video = catalog.videos.get(item)
    return (a.title if a else "") or (video.title if video else item)


def _youtube(catalog: Catalog, item: str) -> str:
    video = catalog.videos.get(item)
    return (video.youtube if video else "") or item


def markdown(catalog: Catalog, work: list[LessonWork]) -> str:
    """The export: a heading per course and lesson, each answer under its prompt (as the learner wrote
    it, quoted), each note linked to its moment."""
    lines = ["# My answers and notes", ""]
    course = None
    for w in work:
        if w.course is not course:
            course = w.course
            lines += [f"## {md(course.title)}", ""]
        lines += [f"### {md(heading(w.lesson))}", ""]
        for a in w.answers:
            lines += [f"**{md(a.prompt)}**", "", *(f"> {line}".rstrip() for line in a.text.splitlines()), ""]
        if w.notes:
            lines += ["Notes:", ""]
            lines += [f"- [{clock(n.at)}]({moment_url(_youtube(catalog, n.item), n.at)}) *{md(t)}*: {md(n.text)}"
                      for t, n in w.notes]
            lines.append("")
    if not work:
        lines += ["No answers or notes yet.", ""]
    return "\n".join(lines)


def page(catalog: Catalog, work: list[LessonWork], query: str = "") -> tuple[str, str]:
    """The list as escaped HTML and as text, narrowed to what matches `query`."""
    e = html.escape
    shown = [m for w in work if (m := w.matches(query)) is not None]
    parts, text = [], []
    course = None
    for w in shown:
        if w.course is not course:
            course = w.course
            parts.append(f"<h3>{e(course.title)}</h3>")
            text.append(f"\n{course.title}")
        href = e(f"{course.id}/{Layout(course).name(w.lesson)}")
        parts.append(f'<h4><a href="{href}" {_LINK}>{e(heading(w.lesson))}</a></h4>')
        text.append(f"  {heading(w.lesson)}")
        for a in w.answers:
            parts.append(f'<p style="margin:4px 0"><b>{e(a.prompt)}</b></p>'
                         f'<blockquote style="white-space:pre-wrap;margin:0 0 8px 12px">{e(a.text)}</blockquote>')
            text += [f"    {a.prompt}", *(f"      {line}" for line in a.text.splitlines())]
        if w.notes:
            items = "".join(f'<li><a href="{e(moment_url(_youtube(catalog, n.item), n.at))}" target="_blank" '
                            f'rel="noopener" {_LINK}>{clock(n.at)}</a> <i>{e(t)}</i>: {e(n.text)}</li>'
                            for t, n in w.notes)
            parts.append(f"<ul>{items}</ul>")
            text += [f"    {clock(n.at)} {t}: {n.text}" for t, n in w.notes]
    if not work:
        none = "No answers or notes yet: write under a lesson's prompts, or take a note at a moment of a video."
    elif not shown:
        none = f"Nothing matches “{query}”."
    else:
        none = ""
    if none:
        parts.append(f"<p><i>{e(none)}</i></p>")
        text.append(none)
    return '<div class="companion-answers">' + "".join(parts) + "</div>", "\n".join(text).strip()


def show(folder: Path | None = None, store: Any = None) -> Any:
    """The notebook's list with a search box; `folder`: the notebooks' folder (default: where the
    kernel runs, the folder this notebook is in)."""
    import ipywidgets as w
    from IPython.display import display

    from companion.errors import CatalogError, StoreError
    from companion.kernel.context import Static, load_catalog, problem
    from companion.learner.store import ProgressStore

    try:
        catalog = load_catalog()
        notes = (store or ProgressStore()).notes()
    except (CatalogError, StoreError, OSError) as err:
        display(problem(str(err)))
        return None
    work = gather(catalog, folder or Path.cwd(), notes)
    box = w.Text(placeholder="Search your answers and notes", description="Search",
                 continuous_update=True, layout=w.Layout(width="420px"))
    box.add_class("companion-search")
    found = w.HTML()

    def form() -> tuple[str, str]:
        return page(catalog, work, box.value)

    def redraw(_: Any = None) -> None:
        found.value = form()[0]
        shown.refresh()

    shown = Static(w.VBox([box, found]), form)
    box.observe(redraw, names="value")
    found.value = form()[0]
    return shown
