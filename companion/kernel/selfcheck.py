"""A lesson's self-checks in the kernel: the widget under each question, what it says, what it keeps.

The saved form of a self-check (the build's, and the one a save keeps: `context.Static`) never holds
the answer, the hint or the explanation; only the live widget shows them, after an attempt.
Every attempt goes to the progress store, so a restarted kernel shows the kept result, and a
right answer ticks the check's checklist item as a click would.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.course import grading
from companion.course.catalog import Check
from companion.course.markup import html_bold
from companion.errors import StoreError
from companion.learner.store import Attempt, ProgressStore

CHECK_FORM = "Run the lesson (Run ▸ Run All Cells) to check your answer here."


def static_form(text: str) -> dict[str, str]:
    """A self-check where no widget can be (the build's saved output, a saved notebook): escaped HTML
    and the same plain text."""
    return {"text/html": f'<div class="companion-static"><i>{html.escape(text)}</i></div>', "text/plain": text}


def judge(check: Check, typed: str) -> grading.Verdict:
    """Whether `typed` answers the check (for a choice, the index of the option picked, as text)."""
    if check.kind == "choice":
        return grading.choice(int(typed) if typed.isdigit() else None, int(check.answer))
    if check.kind == "number":
        return grading.number(typed, float(check.answer), check.tolerance)
    if check.kind == "expression":
        return grading.expression(typed, str(check.answer), check.variables)
    return grading.phrase(typed, str(check.answer), check.accept)


@dataclass(frozen=True)
class Feedback:
    """What the widget says after an attempt: `html` for the page, `text` without markup."""

    html: str
    text: str


def _said(lead: str, body: str, color: str) -> Feedback:
    return Feedback(f'<div style="color:{color}"><b>{html.escape(lead)}</b> {html_bold(body)}</div>',
                    f"{lead} {' '.join(body.split())}".strip())


def feedback(check: Check, verdict: grading.Verdict | None) -> Feedback:
    """An unreadable answer: why; wrong: "Not yet." and the hint; right: "Right." and the
    explanation; `verdict` None (the learner gave up): the answer and the explanation."""
    if verdict is None:
        return _said(f"The answer: {check.shown_answer}.", check.explanation, "#333")
    if verdict.unreadable:
        return _said("", verdict.unreadable, "#8a5300")
    if verdict.right:
        return _said("Right.", check.explanation, "#1b7a1b")
    return _said("Not yet.", check.hint, "#b00020")


def day(at: float) -> str:
    """A date as a learner reads it: "2 December 2026"."""
    t = time.localtime(at)
    return f"{t.tm_mday} {time.strftime('%B %Y', t)}"


def kept(check: Check, attempts: list[Attempt]) -> tuple[str, Feedback] | None:
    """What a rerun shows of earlier attempts, the first right answer, else having given up (None if
    neither): the line the saved form keeps (never the answer) and the widget's feedback."""
    mine = [a for a in attempts if a.check == check.id]
    right = next((a for a in mine if a.right), None)
    if right is not None:
        line = f"You answered this right on {day(right.at)}."
        return line, _said(line, check.explanation, "#1b7a1b")
    gave_up = next((a for a in mine if a.gave_up), None)
    if gave_up is not None:
        line = f"You asked for the answer on {day(gave_up.at)}."
        return line, _said(f"{line} The answer: {check.shown_answer}.", check.explanation, "#333")
    return None


def widget(check: Check, store: ProgressStore, course: str, lesson: str,
           on_right: Callable[[], None], problem: Callable[[str], str]) -> Any:
    """The live self-check: a text box (radio buttons for a choice), Check and Show me, and the
    feedback line; each attempt kept in `store`, `on_right` called on a right answer."""
    import ipywidgets as w

    from companion.kernel.context import Static

    if check.kind == "choice":
        answer: Any = w.RadioButtons(options=[(c, str(i)) for i, c in enumerate(check.choices)], value=None,
                                     layout=w.Layout(width="auto"))
    else:
        answer = w.Text(placeholder="Your answer", layout=w.Layout(width="24em"))
    go = w.Button(description="Check", button_style="primary")
    give_up = w.Button(description="Show me", tooltip="Show the answer and why")
    said = w.HTML()
    status = {"line": CHECK_FORM}
    before = kept(check, store.attempts(course, lesson))
    if before is not None:
        status["line"], said.value = before[0], before[1].html

    def keep(typed: str, right: bool, gave_up: bool = False) -> bool:
        try:
            store.add_attempt(Attempt(course, lesson, check.id, time.time(), typed, right, gave_up))
        except StoreError as e:  # the answer is judged all the same
            said.value += problem(f"this answer was not kept: {e}")
            return False
        return True

    def on_check(_: Any) -> None:
        typed = answer.value or ""
        verdict = judge(check, typed)
        said.value = feedback(check, verdict).html
        if verdict.unreadable:
            return
        if keep(typed, verdict.right) and verdict.right:
            status["line"] = f"You answered this right on {day(time.time())}."
            on_right()
        shown.refresh()

    def on_give_up(_: Any) -> None:
        said.value = feedback(check, None).html
        if keep("", False, gave_up=True) and not status["line"].startswith("You answered"):
            status["line"] = f"You asked for the answer on {day(time.time())}."
        shown.refresh()

    go.on_click(on_check)
    give_up.on_click(on_give_up)
    shown = Static(w.VBox([answer, w.HBox([go, give_up]), said]), lambda: _form(status["line"]))
    return shown


def _form(line: str) -> tuple[str, str]:
    data = static_form(line if line == CHECK_FORM else f"{line} {CHECK_FORM}")
    return data["text/html"], data["text/plain"]
