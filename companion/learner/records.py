"""The one definition of a learner's records: a tick, a video position, a note, and the position as
the hub's sender sends it (seconds played instead of the stretches).

Every side that takes a record checks it here, with the same bounds: the store, the player's
messages from the page, export and import, the hub's sender in the kernel and the hub's service.
So what the store keeps, export writes and import reads back, and what the kernel sends, the
service takes. `schema(kind)` is the same definition as JSON Schema (a test proves they agree);
`problems(kind, record)` is the check the code runs (fast: the service runs it on every row).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsrs import Card

MAX_ID = 200  # characters of a course, lesson, item or note id
MAX_TEXT = 10_000  # characters of a note
MAX_SECONDS = 24 * 3600.0  # a position, duration, moment or played stretch: no video is longer
MAX_STRETCHES = 1_000  # played stretches of one video (they are merged, so few in practice)
CLOCK_SKEW = 300.0  # seconds a time may lie in the future (another machine's clock)
MAX_CARD = 4 * MAX_ID  # characters of a review card's key (kind, course, lesson and prompt or note id)
MAX_FSRS = 2_000  # characters of a review card's FSRS state (JSON)
MAX_DATE = 32_503_680_000.0  # 3000-01-01: a review may be due far ahead, not beyond any calendar
KINDS = ("tick", "position", "note", "sent_position", "review")

# An id is text a page, a file name, a CSV cell and every database can show: no control
# characters (C0, DEL, C1), no lone surrogates (UTF-8 can't encode them). A note may hold tabs
# and line breaks, nothing else of those.
_ID_BAD = "\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
_TEXT_BAD = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\ud800-\\udfff"
_ID_RE = re.compile(f"[{_ID_BAD}]")
_TEXT_RE = re.compile(f"[{_TEXT_BAD}]")

Check = Callable[[Any, float], str]  # (value, latest allowed time) -> a problem, "" when fine


def shown(value: object) -> str:
    """A value inside a message: JSON, ASCII only, at most ~60 characters."""
    try:
        text = json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string(limit: int, bad: re.Pattern[str], noun: str, *, empty: bool = False) -> Check:
    """A check of text of at most `limit` characters without the characters `bad` finds (empty
    only when `empty`): an id, a note's text, a review card's key or state."""
    def check(value: object, _latest: float) -> str:
        if not isinstance(value, str) or (not value and not empty):
            return f"must be {'' if empty else 'non-empty '}text, not {shown(value)}"
        if len(value) > limit:
            return f"longer than {limit} characters"
        if bad.search(value):
            return f"holds a control character or a lone surrogate ({shown(value)}), not {noun}"
        return ""
    return check


_id = _string(MAX_ID, _ID_RE, "an id")
_text = _string(MAX_TEXT, _TEXT_RE, "text", empty=True)


def _bool(value: object, _latest: float) -> str:
    return "" if isinstance(value, bool) else f"must be true or false, not {shown(value)}"


def seconds_problem(value: object, _latest: float = 0.0) -> str:
    """A number of seconds within a video: 0 to MAX_SECONDS (NaN, infinities and huge numbers fail)."""
    if not _number(value) or not 0 <= value <= MAX_SECONDS:  # type: ignore[operator]
        return f"must be a number of seconds from 0 to {MAX_SECONDS:.0f}, not {shown(value)}"
    return ""


def _time(value: object, latest: float) -> str:
    """Seconds since 1970, no later than `latest`: a time from the future would beat every later click."""
    if not _number(value) or not 0 <= value < float("inf"):  # type: ignore[operator]
        return f"must be a number of seconds since 1970, not {shown(value)}"
    if value > latest:  # type: ignore[operator]
        return f"{shown(value)} is in the future ({utc(value)}); a clock is wrong"  # type: ignore[arg-type]
    return ""


def stretches_problem(value: object, _latest: float = 0.0) -> str:
    """Played stretches: at most MAX_STRETCHES [start, end] pairs of seconds (an empty one counts for nothing)."""
    if not isinstance(value, (list, tuple)) or len(value) > MAX_STRETCHES or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and not seconds_problem(p[0]) and not seconds_problem(p[1])
            for p in value):
        return (f"must be at most {MAX_STRETCHES} [start, end] pairs of seconds from 0 to {MAX_SECONDS:.0f}, "
                f"not {shown(value)}")
    return ""


_card = _string(MAX_CARD, _ID_RE, "an id")  # a review card's key: it joins a kind, course, lesson and prompt
_fsrs = _string(MAX_FSRS, _TEXT_RE, "text")  # its FSRS state as JSON (`fsrs_card` reads it, export checks it so)


def _date(value: object, _latest: float) -> str:
    """A date a review is due: seconds since 1970, possibly ahead, within any calendar."""
    if not _number(value) or not 0 <= value <= MAX_DATE:  # type: ignore[operator]
        return f"must be a number of seconds since 1970 before the year 3000, not {shown(value)}"
    return ""


_WHERE: dict[str, Check] = {"course": _id, "lesson": _id, "item": _id}
FIELDS: dict[str, dict[str, Check]] = {
    "tick": {**_WHERE, "done": _bool, "changed_at": _time},
    "position": {**_WHERE, "position": seconds_problem, "duration": seconds_problem, "played": stretches_problem,
                 "changed_at": _time},
    "note": {"id": _id, **_WHERE, "at": seconds_problem, "text": _text, "changed_at": _time},
    "sent_position": {**_WHERE, "position": seconds_problem, "duration": seconds_problem, "played": seconds_problem,
                      "changed_at": _time},
    "review": {"card": _card, "fsrs": _fsrs, "due": _date, "changed_at": _time},
}


def latest(now: float | None = None) -> float:
    """The latest time a record may carry: now (`companion.now`, which tests can set) plus the clock skew."""
    if now is None:
        from companion.learner.now import now as clock

        now = max(time.time(), clock().timestamp())
    return now + CLOCK_SKEW


def problems(kind: str, record: object, now: float | None = None) -> list[str]:
    """What is wrong with a record of `kind` (a dict with exactly its fields), one "field: why" a
    problem; [] when it is fine. `now` (default: the clock) bounds its times."""
    fields = FIELDS[kind]
    if not isinstance(record, dict):
        return [f"must be an object with {', '.join(fields)}"]
    limit = latest(now)
    found = [f"{key}: {why}" for key, check in fields.items() if (why := check(record.get(key), limit))]
    return found + [f"{shown(key)[:40]}: not a field of a {kind.replace('_', ' ')}" for key in record
                    if key not in fields]


def utc(seconds: float) -> str:
    """A time as pages and messages show it, in UTC; never fails on a value a check refused."""
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError, TypeError):
        return "far beyond any calendar"


def schema(kind: str, now: float | None = None) -> dict[str, Any]:
    """The JSON Schema of a record of `kind`, times bounded by `now` plus the clock skew."""
    ident = {"type": "string", "minLength": 1, "maxLength": MAX_ID, "pattern": f"^[^{_ID_BAD}]*$"}
    text = {"type": "string", "maxLength": MAX_TEXT, "pattern": f"^[^{_TEXT_BAD}]*$"}
    seconds = {"type": "number", "minimum": 0, "maximum": MAX_SECONDS}
    stretch = {"type": "array", "prefixItems": [seconds, seconds], "minItems": 2, "maxItems": 2}
    types: dict[Check, dict[str, Any]] = {_id: ident, _text: text, _bool: {"type": "boolean"}, seconds_problem: seconds,
             _time: {"type": "number", "minimum": 0, "maximum": latest(now)},
             stretches_problem: {"type": "array", "maxItems": MAX_STRETCHES, "items": stretch},
             _card: {**ident, "maxLength": MAX_CARD},
             _fsrs: {**text, "minLength": 1, "maxLength": MAX_FSRS},
             _date: {"type": "number", "minimum": 0, "maximum": MAX_DATE}}
    fields = FIELDS[kind]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": kind, "type": "object",
            "properties": {key: types[check] for key, check in fields.items()}, "required": list(fields),
            "additionalProperties": False}


def fsrs_card(text: str) -> Card:
    """A card's FSRS state from the JSON the store keeps; ValueError when it is not one. Here, with the
    records, so that the review, the store and the export read a card's state the same way."""
    from fsrs import Card  # only where reviews are read: a lesson that shows no card never loads it

    try:
        data = json.loads(text)
        card = Card.from_dict(data)
        if card.due.tzinfo is None:
            raise ValueError("its due date names no timezone")
        return card
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"not an FSRS card's state ({str(e)[:80]})") from None
