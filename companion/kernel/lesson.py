"""The API a lesson notebook calls: `open_lesson`, `open_course`, `overview`.

The generated code cells are `lesson = open_lesson("<course>", "<lesson>")`, then
`lesson.show_video("<id>")`, `lesson.show_resource("<id>")`, `lesson.self_check("<id>")` and
`lesson.checklist()`; a course index runs `open_course("<course>").progress()`, the top index
`overview()`. Imported by every lesson, so it stays small: the catalog model (plain JSON, no schema
pass), the player, the progress store and its arithmetic (`tally`). Nothing here builds notebooks or
touches the network. The catalog is the one `catalog.find` names (the build records it in the notebooks).
"""

from __future__ import annotations

import functools
import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.display import display
from traitlets import TraitError

from companion import settings
from companion.course.catalog import Assignment, Catalog, Course, Lesson
from companion.errors import CatalogError, StoreError, UsageError
from companion.kernel.context import Static, load_catalog, problem
from companion.kernel.embed import embed_for
from companion.learner.store import ProgressStore
from companion.learner.tally import course_progress, lesson_items

__all__ = ["open_lesson", "open_course", "overview", "LessonView", "CourseView"]
RERUN = "Run the notebook (Run ▸ Run All Cells) to tick again"


def _static_list(title: str, rows: list[str], note: str) -> tuple[str, str]:
    """A titled list as HTML (escaped) and as plain text."""
    page = (f'<div class="companion-static"><b>{html.escape(title)}</b><ul style="list-style:none;padding-left:0">'
            + "".join(f"<li>{html.escape(r)}</li>" for r in rows) + f"</ul><i>{html.escape(note)}</i></div>")
    return page, "\n".join([title, *rows, note])


def _explained(method: Callable[..., Any]) -> Callable[..., Any]:
    """The kernel reads catalog.json without the schema pass (that is the build's job), so a
    catalog hand-edited into a wrong shape after the build shows up here: say so, not a traceback."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (TypeError, KeyError, AttributeError, ValueError, TraitError) as e:
            display(problem(f"catalog.json does not fit this notebook any more ({type(e).__name__}: {e}); "
                             "run `companion validate`, then `companion build`"))
            return None

    return wrapper


class _Unavailable:
    """Stands in for a lesson or course that can't be opened: every call shows why, once per cell."""

    def __init__(self, message: str):
        self.message = message
        display(problem(message))

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: display(problem(self.message))


@dataclass
class LessonView:
    """One lesson of the catalog, as its notebook's code cells use it."""

    catalog: Catalog
    course: Course
    lesson: Lesson
    store: ProgressStore
    privacy_enhanced: bool = False

    def _assignment(self, item: str) -> Assignment | None:
        return next((a for a in self.lesson.items if a.id == item), None)

    @_explained
    def show_video(self, item: str) -> None:
        """Show the player of one of this lesson's videos (the cell's saved output is the same)."""
        self._show(item)

    @_explained
    def show_resource(self, item: str) -> None:
        """Show the player of one of this lesson's embeddable resources (a playlist)."""
        self._show(item)

    def _show(self, item: str) -> None:
        a = self._assignment(item)
        embed = embed_for(self.catalog, a, self.privacy_enhanced) if a else None
        if embed is None:
            display(problem(f'"{item}" is not a video of this lesson any more; rebuild with `companion build`.'))
        else:
            from companion.kernel.player import (
                live_player,  # the live player, which remembers; it also carries `embed`'s output
            )

            display(live_player(embed, self.store, self.course.id, self.lesson.id, item,
                                self.catalog.watched_threshold,
                                {c.id: c.title for c in self.catalog.courses.values()}))

    @_explained
    def self_check(self, check_id: str) -> Any:
        """The self-check with this id: answer, Check, feedback at once; a right answer ticks its
        checklist item through the checklist's box (the path a click takes), else in the store."""
        from companion.kernel import selfcheck
        from companion.kernel.player import shown

        check = next((c for c in self.lesson.checks if c.id == check_id), None)
        if check is None:
            display(problem(f'"{check_id}" is not a self-check of this lesson any more; rebuild with '
                             "`companion build`."))
            return None

        def on_right() -> None:
            if not shown(self.course.id, self.lesson.id, check.item):
                self.store.set(self.course.id, self.lesson.id, check.item, True)

        try:
            return selfcheck.widget(check, self.store, self.course.id, self.lesson.id, on_right,
                                    lambda text: problem(text).data)
        except StoreError as e:
            display(problem(str(e)))
            return None

    @_explained
    def checklist(self) -> Any:
        """A box per video, resource and the reflections; each tick is saved as it is clicked."""
        import ipywidgets as w

        items = lesson_items(self.catalog, self.lesson)
        try:
            ticks = self.store.ticks(self.course.id, self.lesson.id)
            done_in = self.store.done_in()
        except StoreError as e:
            display(problem(str(e)))
            return w.VBox([w.Checkbox(description=label, disabled=True, indent=False) for _, label in items])
        hub = None  # on a JupyterHub, ticks also go to the companion service (companion/hub/client.py)
        if settings.hub_token():
            from companion.kernel.sender import sender_for

            hub = sender_for(self.store.path)
        status = w.HTML()
        bar = w.IntProgress(min=0, max=len(items), description="This lesson", style={"description_width": "initial"})

        def refresh() -> None:
            done = sum(b.value for b in boxes)
            bar.value = done
            try:
                all_ticks = self.store.ticks(self.course.id)
            except StoreError as e:
                status.value = problem(str(e)).data
                return
            rows = course_progress(self.catalog, self.course, all_ticks)
            c_done, c_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
            status.value = html.escape(f"{done} of {len(items)} items done in this lesson · course: {c_done} of "
                                       f"{c_total} items ({100 * c_done // max(c_total, 1)}%)")
            if hub:
                status.value += hub.aside_line()

        def save(item: str, done: bool) -> bool:
            try:
                self.store.set(self.course.id, self.lesson.id, item, done)
            except StoreError as e:
                status.value = problem(f"this tick was not saved: {e}").data
                return False
            if hub:
                hub.wake()
            return True

        saved_first: set[str] = set()  # a learner's click, saved before its box shows it

        def on_change(change: dict[str, Any], item: str) -> None:
            # the form a save keeps first, then the line the learner reads: once the line shows the
            # tick, the form JupyterLab would save already has it (both reach the page in order)
            shown.refresh()
            if item not in saved_first and not save(item, bool(change["new"])):
                return
            refresh()
            if self.store.reopened:  # the file was deleted or replaced: the tick went to the new one
                status.value += problem(self.store.reopened).data
                self.store.reopened = ""

        def click(index: int, done: bool) -> None:  # from the page, through the guard
            item = items[index][0]
            if save(item, done):
                saved_first.add(item)
                try:
                    boxes[index].value = done
                finally:
                    saved_first.discard(item)

        def form() -> tuple[str, str]:
            rows = [("☑ " if b.value else "☐ ") + b.description
                    + (f" — watched in {offers[i]}: tick here too" if offers.get(i) and not b.value else "")
                    for i, b in enumerate(boxes)]
            return _static_list(f"Checklist: {sum(b.value for b in boxes)} of {len(boxes)} done", rows,
                                f"Ticks are kept on this machine. {RERUN}.")

        boxes, rows, offers = [], [], {}
        videos = {a.id for a in self.lesson.videos}
        for item, label in items:
            box = w.Checkbox(value=bool(ticks.get((self.course.id, self.lesson.id, item))), description=label,
                             indent=False, layout=w.Layout(width="auto"))
            box.observe(lambda change, item=item: on_change(change, item), names="value")
            boxes.append(box)
            elsewhere = self._watched_elsewhere(done_in, item) if item in videos and not box.value else ""
            if elsewhere:
                offers[len(boxes) - 1] = elsewhere
            rows.append(self._offer(w, box, elsewhere) if elsewhere else box)
        by_item = {item: box for (item, _), box in zip(items, boxes, strict=True)}

        def watched(item: str) -> None:  # a player ticked it in the store: show it here at once
            if item in by_item:
                by_item[item].value = True

        from companion.kernel.player import on_watched

        on_watched(self.course.id, self.lesson.id, watched)
        refresh()
        from companion.kernel.tickguard import TickGuard

        shown = Static(w.VBox([*rows, bar, TickGuard(click, len(boxes)), status]), form)
        return shown

    def _watched_elsewhere(self, done_in: dict[str, frozenset[str]], item: str) -> str:
        """The title of another course where this video was ticked as watched, or ""."""
        others = sorted(done_in.get(item, frozenset()) - {self.course.id})
        titles = [self.catalog.courses[c].title if c in self.catalog.courses else c for c in others]
        return titles[0] if titles else ""

    @staticmethod
    def _offer(w: Any, box: Any, course_title: str) -> Any:
        """A box with a one-click offer beside it: the video was watched in another course; ticking
        it here too is the learner's choice, never made for them."""
        offer = w.Button(description=f"watched in {course_title}: tick here too", layout=w.Layout(width="auto"),
                         tooltip="You ticked this video in another course. Click to tick it here as well.")
        offer.add_class("companion-offer")

        def take(_: Any) -> None:
            box.value = True

        def hide(change: dict[str, Any]) -> None:
            offer.layout.display = "none" if change["new"] else ""

        offer.on_click(take)
        box.observe(hide, names="value")
        return w.HBox([box, offer])


def _open(course_id: str) -> tuple[Catalog, Course]:
    cat = load_catalog()
    return cat, cat.course(course_id)


def open_lesson(course_id: str, lesson_id: str, store: ProgressStore | None = None,
                privacy_enhanced: bool | None = None) -> LessonView | _Unavailable:
    """The lesson a notebook's code cells talk to; a clear message instead of a traceback."""
    try:
        cat, course = _open(course_id)
        lesson = course.lesson(lesson_id)
    except (CatalogError, KeyError, OSError) as e:
        return _Unavailable(f"cannot open lesson {lesson_id} of {course_id}: {e}")
    privacy = cat.privacy_enhanced if privacy_enhanced is None else privacy_enhanced
    if settings.in_site():  # the JupyterLite site (companion.builder.site)
        from companion.kernel.browser import refresh  # a copy the browser saved, brought up to a new build

        refresh(course, lesson)
    return LessonView(cat, course, lesson, store or ProgressStore(), privacy)


@dataclass
class CourseView:
    """One course of the catalog, as its index notebook uses it."""

    catalog: Catalog
    course: Course
    store: ProgressStore

    @_explained
    def progress(self) -> Any:
        """The course table with this learner's progress (the build saved it with nothing done)."""
        from companion.kernel.board import course_table
        from companion.kernel.player import stopped_at

        try:
            ticks = self.store.ticks(self.course.id)
        except StoreError as e:
            display(problem(str(e)))
            return None
        try:
            stopped = stopped_at(self.catalog, self.course, self.store.positions(self.course.id))
            worked = self.store.last_worked(self.course.id)
        except StoreError:
            stopped, worked = {}, {}
        return course_table(self.catalog, self.course, ticks, stopped, worked)


def open_course(course_id: str, store: ProgressStore | None = None) -> CourseView | _Unavailable:
    """The course a course index's code cell talks to; a clear message instead of a traceback."""
    try:
        cat, course = _open(course_id)
    except (CatalogError, KeyError, OSError) as e:
        return _Unavailable(f"cannot open course {course_id}: {e}")
    return CourseView(cat, course, store or ProgressStore())


@_explained
def overview(store: ProgressStore | None = None) -> Any:
    """The top index: where to continue in each course started, and a bar per course."""
    from companion.kernel.board import activity
    from companion.kernel.board import overview as board
    from companion.kernel.review import due_count

    try:
        cat = load_catalog()
        store = store or ProgressStore()
        ticks = store.ticks()
        done_at = [t.changed_at for t in store.all() if t.done]
        worked, done_in = store.last_worked(), store.done_in()
        due = due_count(cat, store, Path.cwd())  # start-here's kernel runs in the notebooks folder
    except (CatalogError, StoreError, UsageError, OSError) as e:
        display(problem(str(e)))
        return None
    return board(cat, ticks, activity(done_at, time.time()), worked, done_in, due)
