"""Turn a course's lessons into notebooks: the content of each cell, with saved video outputs.

Only content lives here: how cells are marked is `cells`, where files go is `layout`, escaping
is `markup` (catalog text reaches markdown escaped; code cells name catalog entries by id), the
indexes' tables (saved here as built, redrawn by the kernel) are `board`'s.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from nbformat import NotebookNode

from companion.builder.extras import Extra
from companion.course.catalog import Assignment, Catalog, Check, Course, Lesson, Series
from companion.course.layout import ANSWERS, INDEX, REVIEW, Layout, catalog_from, reserved
from companion.course.markup import link, md, md_block, md_bold, py, url
from companion.course.prompts import prompts_for
from companion.errors import BuildError
from companion.kernel.board import course_table, heading, overview
from companion.kernel.embed import Embed, embed_for
from companion.kernel.selfcheck import CHECK_FORM, static_form
from companion.notebook.cells import ANSWER, CHECK, EMBED, LANGUAGE_INFO, META, SELF_CHECK, generated, seal
from companion.notebook.nodes import new_notebook, new_output

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
RUN_HINT = ("Watch the videos here, write your answers under the questions, then tick what you have done in the "
            "checklist at the end. To tick, run the lesson first: **Run ▸ Run All Cells**. "
            "Your answers are saved with the notebook, your ticks on this computer.")
OWNED = {"playlist", "channel"}  # resource kinds a channel makes itself (a podcast it is only listed with)
NBVAL_IGNORE = "nbval-ignore-output"  # an index's live progress is the learner's, not the saved one
# What answering takes in JupyterLab, key by key (a double-click on an empty answer cell after Run
# All leaves JupyterLab reading keys as commands); a browser test follows these words literally.
REFLECT_TEXT = ("## Reflect\n\nAnswer each question in the space just under it: click there, press **Enter**, "
                "type your answer, then press **Shift+Enter**. Save with **Ctrl+S** (⌘S on a Mac). "
                "Your answers are yours: rebuilding the notebooks keeps them.")
CHECKLIST_TEXT = ("## Checklist\n\nTick each video and resource when you are done, and the reflections when you have "
                  "written them. Boxes that don't respond, or none here? Run the lesson (**Run ▸ Run All Cells**): "
                  "your ticks are still there.")
CHECKS_TEXT = ("## Check yourself\n\nA few questions on this lesson's videos. Run the lesson, answer under each "
               "question and press **Check**: you see at once whether you are right, with a hint if not. "
               "**Show me** gives the answer.")
CHECKS_TICK = " A self-check ticks itself when you answer it right."
EXTRAS_TEXT = ("## Worked example\n\n*Code that makes the lesson's idea concrete. Run it, change it, run it again: "
               "rebuilding the notebooks keeps your edited cells next to fresh copies.*")


def _notebook(cells: list[NotebookNode], companion: dict[str, Any]) -> NotebookNode:
    """language_info is what ipykernel reports less the Python version (the same on every machine);
    the server adds the version on open (`serverext`), so JupyterLab finds nothing to change."""
    return new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": dict(LANGUAGE_INFO),
                                               META: companion})


def _code(role: str, key: str, source: str, **kwargs: Any) -> NotebookNode:
    """A generated code cell, its source collapsed: what a learner reads is its output."""
    return generated("code", role, key, source, collapsed=True, **kwargs)


class LessonBuilder:
    """Makes the notebooks of one course, each lesson linked to its neighbours in the course's order."""

    def __init__(self, catalog: Catalog, course: Course, privacy_enhanced: bool | None = None,
                 extras: dict[tuple[str, str], Extra] | None = None):
        self.catalog = catalog
        self.course = course
        self.extras = extras or {}
        self.layout = Layout(course)
        self.privacy = catalog.privacy_enhanced if privacy_enhanced is None else privacy_enhanced
        self.order = course.ordered()
        # positions by lesson id (unique in a course), so a lesson's place is not a scan of the course
        self._at = {l.id: i for i, l in enumerate(self.order)}

    def _nav(self, lesson: Lesson) -> str:
        i = self._at[lesson.id]
        parts = []
        if i > 0:
            prev = self.order[i - 1]
            parts.append(f"[← {md(_label(prev))}]({url(self.layout.name(prev))})")
        parts.append(f"[Course index]({url(self.layout.index.name)})")
        if i + 1 < len(self.order):
            nxt = self.order[i + 1]
            parts.append(f"[{md(_label(nxt))} →]({url(self.layout.name(nxt))})")
        return " · ".join(parts)

    def _header(self, lesson: Lesson) -> NotebookNode:
        """`# Lesson N — title`: N is the source's number, the only number a learner reads as the
        lesson's; where it sits is said in words (course, phase) and by the neighbours it links."""
        phase = self.course.phase_of(lesson)
        where = [f"**{md(self.course.title)}**"]
        if phase:
            where.append(f"{md(phase.title)} (lessons {phase.first}–{phase.last})")
        lines = [f"# {md(_label(lesson))}", "", " · ".join(where), "", self._nav(lesson)]
        if lesson.note:
            lines += ["", md_block(lesson.note, "> ")]
        lines += ["", f"*{RUN_HINT}*"]
        return generated("markdown", "header", "", "\n".join(lines))

    def _video_cells(self, n: int, a: Assignment, seen_series: set[str], count: int) -> list[NotebookNode]:
        v = self.catalog.videos[a.id]
        title = a.title or v.title
        meta = []
        series = self.catalog.series_of(a)
        if series:
            meta.append(f"*{md(series.title)}*")
        meta += [md(x) for x in (f"No. {v.number}" if v.number.isdigit() else v.number, v.date) if x]
        lines = [f"## {n}. {md(title)}", "", " · ".join(meta)] if meta else [f"## {n}. {md(title)}"]
        for note in (v.note, a.note):
            if note:
                lines += ["", md_block(note, "> ")]
        note = self._series_note(series.id) if series else ""
        if series and note and series.id not in seen_series:
            seen_series.add(series.id)
            lines += ["", f"*About {md(series.title)}:* {md(note)}"]
        embed = self._embed(a)
        if embed:
            lines += ["", f"▶ {link('Watch on YouTube', embed.watch_url)}"]
        else:
            lines += ["", f"The source list names this video but gives no link to it, so it can't play here: "
                          f"↗ {link('search for it on YouTube', v.url)}"]
        cells = [generated("markdown", "video", a.id, "\n".join(lines))]
        if embed:
            out = new_output("display_data", data=embed.bundle(), metadata={})
            cells.append(_code(EMBED, a.id, f"lesson.show_video({py(a.id)})", outputs=[out], count=count))
        return cells

    def _series_note(self, series_id: str) -> str:
        """What this course's source says about a series; a catalog-wide note (no source's) otherwise."""
        return self.course.series_note(series_id) or self.catalog.series[series_id].note

    def _embed(self, a: Assignment) -> Embed | None:
        return embed_for(self.catalog, a, self.privacy)

    def _resource_cells(self, lesson: Lesson, count: int) -> list[NotebookNode]:
        if not lesson.resources:
            return []
        lines = ["## Also for this lesson", ""]
        cells = []
        for a in lesson.resources:
            r = self.catalog.resources[a.id]
            title, series = a.title or r.title, self.catalog.series_of(a)
            # named with its channel: "Neural Networks / Deep Learning" alone reads as another series'
            owner = series.channel or series.title if series else ""
            who = "" if owner in title else f" by {md(owner)}" if r.kind in OWNED else f" · {md(owner)}"
            line = f"- {link(title, r.url)} ({md(r.kind)}{who})"
            notes = " ".join(md(x) for x in (r.note, a.note) if x)
            lines.append(f"{line}: {notes}" if notes else line)
        cells.append(generated("markdown", "resources", "", "\n".join(lines)))
        for a in lesson.resources:
            embed = self._embed(a)
            if embed:
                out = new_output("display_data", data=embed.bundle(), metadata={})
                cells.append(_code(EMBED, a.id, f"lesson.show_resource({py(a.id)})", outputs=[out], count=count))
                count += 1
        return cells

    def lesson(self, lesson: Lesson) -> NotebookNode:
        """A lesson's notebook as generated: header, videos with saved players, resources, worked example,
        prompts with empty answer cells, checklist; the learner's work is merged in by the writer."""
        cells = [self._header(lesson),
                 _code("setup", "", "from companion.lesson import open_lesson\n\n"
                                            f"lesson = open_lesson({py(self.course.id)}, {py(lesson.id)}"
                                            f"{', privacy_enhanced=True' if self.privacy else ''})", count=1)]
        seen: set[str] = set()
        count = 2
        for n, a in enumerate(lesson.videos, 1):
            cells += self._video_cells(n, a, seen, count)
            count += 1 if cells[-1].cell_type == "code" else 0
        cells += self._resource_cells(lesson, count)
        extra = self.extras.get((self.course.id, lesson.id))
        cells += self._extra_cells(extra)
        cells.append(generated("markdown", "reflect", "", REFLECT_TEXT))
        prompts = prompts_for(lesson, self.catalog, has_next=self._at[lesson.id] + 1 < len(self.order))
        for n, p in enumerate(prompts, 1):
            cells.append(generated("markdown", "prompt", p.id, _question(n, p.text)))
            cells.append(generated("markdown", ANSWER, p.id, "", tags=["answer"]))
        cells += self._check_cells(lesson, max(c.get("execution_count") or 0 for c in cells))
        cells.append(generated("markdown", "checklist-intro", "", CHECKLIST_TEXT + CHECKS_TICK * bool(lesson.checks)))
        cells.append(_code("checklist", "", "lesson.checklist()"))
        cells.append(generated("markdown", "footer", "", self._nav(lesson)))
        meta = {"course": self.course.id, "lesson": lesson.key, "lesson_id": lesson.id}
        if extra is not None:
            meta["extra"] = str(extra.source)
        return _notebook(cells, meta)

    def _check_cells(self, lesson: Lesson, count: int) -> list[NotebookNode]:
        """"Check yourself": per check its question (escaped; a choice's options listed) and a cell that
        names it by id, saved with a form that says to run the lesson (answer, hint, explanation stay
        in the catalog until the kernel shows them)."""
        if not lesson.checks:
            return []
        cells = [generated("markdown", "checks", "", CHECKS_TEXT)]
        for n, check in enumerate(lesson.checks, 1):
            cells.append(generated("markdown", CHECK, check.id, _check_question(n, check)))
            form = new_output("display_data", data=static_form(CHECK_FORM), metadata={})
            cells.append(_code(SELF_CHECK, check.id, f"lesson.self_check({py(check.id)})", outputs=[form],
                               count=count + n, owned_output=True))
        return cells

    def _extra_cells(self, extra: Extra | None) -> list[NotebookNode]:
        """The author's extra for this lesson under a heading of its own; code cells saved unrun."""
        if extra is None:
            return []
        cells = [generated("markdown", "extras-header", "", EXTRAS_TEXT)]
        for c in extra.cells:
            cells.append(generated(c.kind, "extra", c.key, c.source, tags=list(c.tags) or None))
        return cells

    def index(self) -> NotebookNode:
        """The course index: what the course is, then one table of its lessons with progress (the
        saved output of the cell that redraws it), then every series the course draws on."""
        c = self.course
        lines = [f"# {md(c.title)}", ""]
        if c.note:
            lines += [md_block(c.note, "> "), ""]
        if c.source:
            lines += [f"Made from the curator's list *{md(c.source_title or c.title)}*. [All courses](../{INDEX})", ""]
        numbers = [l.number for l in self.order if l.number is not None]
        gaps = sorted(set(range(min(numbers + [1]), max(numbers) + 1)) - set(numbers)) if numbers else []
        if gaps:
            lines += [f"*The list assigns no videos to lesson{'s' * (len(gaps) > 1)} "
                      f"{', '.join(map(str, gaps))}, so {'they have' if len(gaps) > 1 else 'it has'} no notebook.*", ""]
        lines += ["Each lesson links to its notebook. Run the cell below (**Run ▸ Run All Cells**) to fill in your "
                  "progress; until then it reads as on the day the notebooks were built."]
        cells = [generated("markdown", "course-header", "", "\n".join(lines))]
        table = new_output("display_data", data=course_table(self.catalog, c).bundle(), metadata={})
        cells.append(_code("progress", "", f"from companion.lesson import open_course\n\n"
                                                   f"open_course({py(c.id)}).progress()",
                               outputs=[table], count=1, tags=[NBVAL_IGNORE], owned_output=True))
        series = self._series_used()
        if series:
            lines = ["## Series in this course", ""]
            for s in series:
                links = [link(self.catalog.resources[r].kind, self.catalog.resources[r].url) for r in s.resources]
                entry = f"- **{md(s.title)}**" + (f" ({', '.join(links)})" if links else "")
                note = self._series_note(s.id)
                lines.append(entry + (f": {md(note)}" if note else ""))
            cells.append(generated("markdown", "series", "", "\n".join(lines)))
        return _notebook(cells, {"course": c.id, "lesson": "index"})

    def _series_used(self) -> list[Series]:
        """The series the course's source lists, in its order, then any other its items come from."""
        used = [self.catalog.series_of(a) for l in self.order for a in l.items]
        ids = dict.fromkeys([sid for sid, _ in self.course.series] + [s.id for s in used if s])
        return [self.catalog.series[sid] for sid in ids]


def _check_question(n: int, check: Check) -> str:
    """A self-check's question, numbered, with its choices; never its answer."""
    lines = [f"**{n}.** {md_bold(check.question)}"]
    if check.kind == "choice":
        lines += [""] + [f"- {md_bold(c)}" for c in check.choices]
    return "\n".join(lines)


def _question(n: int, text: str) -> str:
    """A prompt as a numbered quote, so the learner's answer under it (plain text) reads as theirs."""
    return "> " + "\n> ".join(f"**Question {n}.** {text}".splitlines())


_label = heading  # one way of naming a lesson on every page: `Lesson N — title`


def catalog_index(catalog: Catalog) -> NotebookNode:
    """The top index: where to continue and a bar per course (saved as built, redrawn when run)."""
    lines = ["# Course companion", "", "Where you are in each course. Run the cell below (**Run ▸ Run All Cells**) to "
             "bring it up to date; progress is kept on this machine."]
    board = new_output("display_data", data=overview(catalog).bundle(), metadata={})
    cells = [generated("markdown", "courses", "", "\n".join(lines)),
             _code("overview", "", "from companion.lesson import overview\n\noverview()",
                       outputs=[board], count=1, tags=[NBVAL_IGNORE], owned_output=True)]
    cells.append(generated("markdown", "answers-link", "", ANSWERS_LINK))
    return _notebook(cells, {"course": None, "lesson": "index"})


ANSWERS_LINK = (f"**[My answers and notes]({url(ANSWERS)})**: everything you wrote under the prompts and every note "
                "you took on a video, from all courses, in one place, with a search box.")
ANSWERS_TEXT = ("# My answers and notes\n\nEverything you wrote under a lesson's prompts and every note you took at a "
                "moment of a video, by course and lesson. Run the cell below (**Run ▸ Run All Cells**) to gather them, "
                "then type in the search box to narrow the list. To keep them in one file, run "
                "`companion notes --answers --out my-answers.md`.\n\n"
                f"[← All courses]({url(INDEX)})")


def answers_notebook() -> NotebookNode:
    """The learner's answers and notes, gathered when run (saved without outputs: they are the learner's)."""
    cells = [generated("markdown", "answers-header", "", ANSWERS_TEXT),
             _code("answers", "", "from companion.answers import show\n\nshow()")]
    return _notebook(cells, {"course": None, "lesson": "answers"})


REVIEW_TEXT = ("# Review\n\nWhat you wrote comes back here to recall: your answers to the lessons' prompts and the "
               "notes you kept on videos. Run this notebook (**Run ▸ Run All Cells**) to see the cards due today. "
               "Answer each from memory, then compare with what you wrote before and rate how well you recalled it: "
               "*Again*, *Hard*, *Good* or *Easy*. The better you knew it, the later it comes back. "
               "The dates are kept on this computer only.\n\n[Back to all courses](" + INDEX + ")")


def review_notebook() -> NotebookNode:
    """The review notebook: what it is for, and the cell that shows the due cards (saved unrun:
    the cards are the learner's, drawn from their lessons and notes when it runs)."""
    cells = [generated("markdown", "review-intro", "", REVIEW_TEXT),
             _code("review", "", "from companion.review import open_review\n\nopen_review()")]
    return _notebook(cells, {"course": None, "lesson": "review"})


def plan(catalog: Catalog, privacy_enhanced: bool | None = None,
         extras: dict[tuple[str, str], Extra] | None = None, *,
         folder: Path | None = None) -> dict[PurePosixPath, NotebookNode]:
    """Every notebook the catalog asks for, keyed by its path under the output folder; `extras`
    (from `extras.load`) adds authors' worked examples to their lessons. Given the output
    `folder`, each notebook records where the catalog is, relative to the notebook
    (`metadata.companion.catalog`), so a lesson finds it when run wherever it was written."""
    out: dict[PurePosixPath, NotebookNode] = {PurePosixPath(INDEX): catalog_index(catalog),
                                              PurePosixPath(ANSWERS): answers_notebook(),
                                              PurePosixPath(REVIEW): review_notebook()}
    for course in catalog.courses.values():
        why = reserved(course.id)
        if why:
            raise BuildError(f'courses "{course.id}": "{course.id}" cannot be a course folder ({why}); '
                             "give the course another id")
        builder = LessonBuilder(catalog, course, privacy_enhanced, extras)
        out[builder.layout.index] = builder.index()
        for lesson in course.lessons:
            path = builder.layout.path(lesson)
            if path in out:
                raise BuildError(f'courses "{course.id}": lesson "{lesson.id}" would be written to {path}, '
                                 "which another notebook already uses; give it another id or title")
            if reserved(path.name):
                raise BuildError(f'courses "{course.id}": lesson "{lesson.id}" would be written to {path}, '
                                 "a name Windows reserves; give it another id")
            out[path] = builder.lesson(lesson)
    if folder is not None and catalog.path is not None:
        where = {parent: catalog_from(folder / parent, catalog.path) for parent in {p.parent for p in out}}
        for path, nb in out.items():
            nb.metadata[META]["catalog"] = where[path.parent]
    for nb in out.values():
        seal(nb)
    return out
