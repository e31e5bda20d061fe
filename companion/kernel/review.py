"""Spaced review: cards made from what the learner wrote, scheduled with FSRS (the `fsrs` package).

A card is a reflection prompt the learner answered in a lesson notebook (read from disk: the
answer is theirs, in the file) or a note they kept at a moment of a video (the progress store).
Reviewing it, they answer again from memory, then see what they wrote before and rate how well
they recalled it: Again, Hard, Good or Easy. FSRS turns the rating into the next due date, kept in
the store's `reviews` table (exported with the rest of their progress, sent to no one). Time is
`now.now()`, which tests set. The review notebook calls `open_review()`; start-here counts what is due.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler

from companion.course.catalog import Catalog, Course
from companion.course.layout import Layout
from companion.course.prompts import prompts_for
from companion.errors import CompanionError
from companion.kernel.board import heading
from companion.learner.now import now
from companion.learner.records import fsrs_card
from companion.learner.store import Attempt, Note, ProgressStore, Review, clock
from companion.notebook.cells import ANSWER, cell_id, role, source

SCHEDULER = Scheduler()  # FSRS's published defaults: 90% recall wanted, learning steps of 1 and 10 minutes
RATINGS = (("Again", Rating.Again), ("Hard", Rating.Hard), ("Good", Rating.Good), ("Easy", Rating.Easy))


@dataclass(frozen=True)
class ReviewCard:
    """One thing to recall: the question shown first (markdown), the learner's earlier text shown after
    they answer again, where it comes from, and a link back to the video moment for a note."""

    key: str
    where: str
    question: str
    earlier: str
    link: str = ""


def prompt_cards(catalog: Catalog, root: Path) -> Iterator[ReviewCard]:
    """A card per reflection prompt whose answer cell holds text in the learner's lesson notebook
    under `root` (the notebooks folder); a notebook that is missing or unreadable gives none."""
    for course in catalog.courses.values():
        layout, order = Layout(course), course.ordered()
        for i, lesson in enumerate(order):
            answers = _answers(root / layout.path(lesson))
            if not answers:
                continue
            for p in prompts_for(lesson, catalog, has_next=i + 1 < len(order)):
                text = answers.get(cell_id(ANSWER, p.id), "").strip()
                if text:
                    yield ReviewCard(f"prompt/{course.id}/{lesson.id}/{p.id}", f"{course.title} · {heading(lesson)}",
                                     p.text, text)


def _answers(path: Path) -> dict[str, str]:
    """{cell id: text} of a lesson notebook's answer cells; empty when the file can't be read."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return {c["id"]: source(c) for c in cells if isinstance(c, dict) and role(c) == ANSWER and "id" in c}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def note_cards(catalog: Catalog, notes: list[Note]) -> Iterator[ReviewCard]:
    """A card per note kept at a moment of a video, linking to that moment on YouTube."""
    if not notes:
        return  # start-here counts cards on every run: no player import for a learner without notes
    from companion.course.markup import md
    from companion.kernel.player import moment_url

    for n in notes:
        video = catalog.videos.get(n.item)
        course: Course | None = catalog.courses.get(n.course)
        lesson = next((l for l in course.lessons if l.id == n.lesson), None) if course else None
        where = " · ".join(filter(None, [course.title if course else n.course, heading(lesson) if lesson else ""]))
        title = video.title if video else n.item
        yield ReviewCard(f"note/{n.id}", where, f"At {clock(n.at)} of _{md(title)}_ you kept a note. What did it say?",
                         n.text, moment_url(video.youtube, n.at) if video and video.youtube else "")


def check_cards(catalog: Catalog, attempts: list[Attempt]) -> Iterator[ReviewCard]:
    """A card per self-check the learner answered wrong at least once (or asked to be shown): the
    question again, then the answer and why, as the lesson gave them."""
    from companion.course.markup import md_bold

    missed = {(a.course, a.lesson, a.check) for a in attempts if not a.right}
    for course in catalog.courses.values():
        for lesson in course.lessons:
            for check in lesson.checks:
                if (course.id, lesson.id, check.id) in missed:
                    question = "\n".join([md_bold(check.question), *(f"- {md_bold(c)}" for c in check.choices)])
                    yield ReviewCard(f"check/{course.id}/{lesson.id}/{check.id}",
                                     f"{course.title} · {heading(lesson)}", question,
                                     f"{check.shown_answer}. {check.explanation}")


def cards(catalog: Catalog, store: ProgressStore, root: Path) -> list[ReviewCard]:
    """Every card the learner's work gives, source by source: the one place a new source joins."""
    return [*prompt_cards(catalog, root), *note_cards(catalog, store.notes()),
            *check_cards(catalog, store.attempts())]


def _new(key: str, at: datetime) -> Card:
    """A card never rated: due now; its id derived from its key, so the same card has the same id."""
    return Card(card_id=int(hashlib.sha256(key.encode()).hexdigest()[:12], 16), due=at)


@dataclass(frozen=True)
class Due:
    """A card with its FSRS state, due at or before the moment it was picked."""

    card: ReviewCard
    state: Card


def due(found: list[ReviewCard], reviews: dict[str, Review], at: datetime) -> list[Due]:
    """The cards due at `at`, the longest overdue first; new cards (never rated) are due."""
    out = []
    for c in found:
        r = reviews.get(c.key)
        state = fsrs_card(r.fsrs) if r else _new(c.key, at)
        if state.due <= at:
            out.append(Due(c, state))
    return sorted(out, key=lambda d: (d.state.due, d.card.key))


def rate(store: ProgressStore, item: Due, rating: Rating, at: datetime) -> Review:
    """Schedule the card's next review from the learner's rating, and keep it."""
    state, _ = SCHEDULER.review_card(item.state, rating, at)
    review = Review(item.card.key, json.dumps(state.to_dict(), sort_keys=True), state.due.timestamp(), at.timestamp())
    store.save_review(review)
    return review


def due_count(catalog: Catalog, store: ProgressStore, root: Path) -> int:
    """How many cards are due now, for start-here's link."""
    return len(due(cards(catalog, store, root), store.reviews(), now()))


def when(due_at: float, at: datetime) -> str:
    """When a card comes back, in words: "in 10 minutes", "tomorrow", "in 4 days (Mar 5)"."""
    seconds = due_at - at.timestamp()
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return f"in {minutes} minute{'s' * (minutes != 1)}"
    if seconds < 86400:
        hours = round(seconds / 3600)
        return f"in {hours} hour{'s' * (hours != 1)}"
    days = round(seconds / 86400)
    day = datetime.fromtimestamp(due_at, UTC)
    date = f"{day:%b} {day.day}"  # not %-d: Windows' strftime has no such flag
    return "tomorrow" if days == 1 else f"in {days} days ({date})"


def _markdown(text: str) -> str:
    """Markdown as HTML, with any HTML in it shown as text (a learner's answer, catalog prompts)."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).render(text))


class Session:
    """The review widget: one due card at a time; answer, see the earlier answer, rate."""

    def __init__(self, store: ProgressStore, found: list[ReviewCard]):
        import ipywidgets as w

        self.store, self.found = store, found
        self.changed: Callable[[], None] = lambda: None  # what a rating also redraws (the saved form)
        self.queue = due(found, store.reviews(), now())
        self.done = 0
        self.head, self.where, self.question = w.HTML(), w.HTML(), w.HTML()
        self.typed = w.Textarea(placeholder="Your answer, from memory", layout=w.Layout(width="95%", height="6em"))
        self.reveal = w.Button(description="Show my earlier answer", button_style="info",
                               layout=w.Layout(width="auto"))
        self.earlier = w.HTML()
        self.buttons = [w.Button(description=label, layout=w.Layout(width="7em")) for label, _ in RATINGS]
        self.rating = w.HBox(self.buttons)
        self.status = w.HTML()
        self.reveal.on_click(lambda _: self._show_earlier())
        for button, (_, value) in zip(self.buttons, RATINGS, strict=True):
            button.on_click(lambda _, value=value: self._rate(value))
        self.box = w.VBox([self.head, self.where, self.question, self.typed, self.reveal, self.earlier,
                           self.rating, self.status])
        self._show()

    def _show(self) -> None:
        if not self.queue:
            self._finished()
            return
        item = self.queue[0].card
        total = self.done + len(self.queue)
        self.head.value = f"<b>Review: card {self.done + 1} of {total} due</b>"
        link = (f' · <a href="{html.escape(item.link)}" target="_blank" rel="noopener">watch that moment ↗</a>'
                if item.link else "")
        self.where.value = f'<span style="color:#555">{html.escape(item.where)}</span>{link}'
        self.question.value = _markdown(item.question)
        self.typed.value = ""
        self.earlier.value = ""
        self._visible(typed=True, reveal=True, rating=False)

    def _show_earlier(self) -> None:
        item = self.queue[0].card
        self.earlier.value = ('<div style="border-left:3px solid #1565c0;padding-left:8px"><i>What you wrote '
                              f"before:</i>{_markdown(item.earlier)}</div><p>How well did you recall it?</p>")
        self._visible(typed=True, reveal=False, rating=True)

    def _rate(self, rating: Rating) -> None:
        if not self.queue:
            return
        item = self.queue.pop(0)
        try:
            at = now()
            review = rate(self.store, item, rating, at)
        except CompanionError as e:  # the store can't be written: say so and keep the card
            self.queue.insert(0, item)
            self.status.value = f'<span style="color:#b00020">Not kept: {html.escape(str(e))}</span>'
            return
        self.done += 1
        self.status.value = html.escape(f"The last card ({rating.name}) comes back {when(review.due, at)}.")
        self._show()
        self.changed()

    def _finished(self) -> None:
        upcoming = [r.due for r in self.store.reviews().values()]
        if not self.found:
            self.head.value = "<b>No cards yet.</b>"
            self.where.value = ("Write answers under a lesson's prompts (and save the lesson), or keep notes on a "
                                "video: they come back here for you to recall.")
        else:
            self.head.value = f"<b>Nothing more due.</b> You reviewed {self.done} card{'s' * (self.done != 1)}."
            nxt = min(upcoming, default=None)
            self.where.value = html.escape(f"The next card is due {when(nxt, now())}: run this notebook again then."
                                           if nxt else "")
        self.question.value = self.earlier.value = ""
        self._visible(typed=False, reveal=False, rating=False)

    def _visible(self, *, typed: bool, reveal: bool, rating: bool) -> None:
        for widget, shown in ((self.typed, typed), (self.reveal, reveal), (self.rating, rating)):
            widget.layout.display = None if shown else "none"

    def form(self) -> tuple[str, str]:
        """What a saved review notebook shows: how many were due when it last ran, nothing of the cards."""
        left = len(self.queue)
        text = (f"Review: {left} card{'s' * (left != 1)} still due when this last ran. "
                "Run the notebook (Run ▸ Run All Cells) to review.")
        return f"<p>{html.escape(text)}</p>", text


def open_review(store: ProgressStore | None = None, root: Path | None = None) -> Any:
    """The review notebook's one call: the due cards of this learner's lessons (the notebooks folder is
    the kernel's working folder, where review.ipynb is) and notes, as a widget."""
    from companion.kernel.context import Static, load_catalog, problem

    try:
        store = store or ProgressStore()
        session = Session(store, cards(load_catalog(), store, root or Path.cwd()))
    except (CompanionError, OSError) as e:
        return problem(str(e))
    shown = Static(session.box, session.form)
    session.changed = shown.refresh
    return shown
