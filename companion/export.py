"""The progress export: the JSON file a learner carries to another machine (`companion progress
--export` / `--import`).

Read strictly, since a tick can't be taken back once merged: every problem is listed with its
place, and a file with any problem is not imported at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from .store import Note, Position, Review, Tick

FORMAT = "course-companion-progress"
VERSION = 3  # 1: ticks only; 2: positions and notes too; 3: review cards' schedules too
CLOCK_SKEW = 300.0  # seconds an imported tick may lie in the future (another machine's clock)
MAX_BYTES = 64 * 1024 * 1024
MAX_ID = 200  # characters of a course, lesson or item id
MAX_NOTE = 10_000  # characters of a note
MAX_CARD = 4 * MAX_ID  # characters of a review card's key (kind, course, lesson and prompt or note id)
MAX_FSRS = 2_000  # characters of a card's FSRS state
MAX_LISTED = 20  # problems listed before "… and N more"


@dataclass(frozen=True)
class Export:
    """What an export file holds."""

    ticks: list[Tick]
    positions: list[Position]
    notes: list[Note]
    reviews: list[Review]


def dumps(ticks: list[Tick], positions: list[Position], notes: list[Note], reviews: list[Review]) -> str:
    """The export file's text; `read_export` reads it back."""
    return json.dumps({"format": FORMAT, "version": VERSION, "ticks": [asdict(t) for t in ticks],
                       "positions": [asdict(p) for p in positions], "notes": [asdict(n) for n in notes],
                       "reviews": [asdict(r) for r in reviews]},
                      indent=1, ensure_ascii=False) + "\n"  # fields in the records' order; tuples as lists


def read_export(text: str, name: str, now: float | None = None) -> Export:
    """Ticks, positions, notes and review schedules of an exported file (version 1 has ticks only,
    2 no reviews), or a ValueError
    listing each problem with its place.

    Strict, since a tick can't be taken back: `done` is true or false, `changed_at` a finite
    number of seconds since 1970 (what the export writes) not later than now plus a clock skew,
    ids are text of at most MAX_ID characters that UTF-8 can encode."""
    if len(text) > MAX_BYTES:
        raise ValueError(f"{name}: larger than {MAX_BYTES // 2**20} MB; not a progress export")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}:{e.lineno}: not JSON: {e.msg}") from None
    except ValueError as e:  # NaN/Infinity, or an integer of more than 4300 digits
        raise ValueError(f"{name}: not a progress export: {str(e)[:100]}") from None
    except RecursionError:
        raise ValueError(f"{name}: not a progress export: nested too deeply") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("ticks"), list):
        raise ValueError(f"{name}: not a course companion progress export")
    when = _changed_at((time.time() if now is None else now) + CLOCK_SKEW)
    problems: list[str] = []
    where = {"course": _id, "lesson": _id, "item": _id}
    ticks = [Tick(t["course"], t["lesson"], t["item"], t["done"], float(t["changed_at"]))
             for t in _entries(data["ticks"], f"{name}: ticks", problems,
                               {**where, "done": _bool, "changed_at": when})]
    positions = [Position(p["course"], p["lesson"], p["item"], float(p["position"]), float(p["duration"]),
                          tuple((float(a), float(b)) for a, b in p["played"]), float(p["changed_at"]))
                 for p in _entries(_list(data, "positions", name, problems), f"{name}: positions", problems,
                                   {**where, "position": _seconds, "duration": _seconds, "played": _stretches,
                                    "changed_at": when})]
    notes = [Note(n["id"], n["course"], n["lesson"], n["item"], float(n["at"]), n["text"], float(n["changed_at"]))
             for n in _entries(_list(data, "notes", name, problems), f"{name}: notes", problems,
                               {"id": _id, **where, "at": _seconds, "text": _text, "changed_at": when})]
    reviews = [Review(r["card"], r["fsrs"], float(r["due"]), float(r["changed_at"]))
               for r in _entries(_list(data, "reviews", name, problems), f"{name}: reviews", problems,
                                 {"card": _card, "fsrs": _fsrs, "due": _seconds, "changed_at": when})]
    if problems:
        more = f" … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ValueError("\n".join(problems[:MAX_LISTED]) + more + "\nnothing was imported")
    return Export(ticks, positions, notes, reviews)


def _list(data: dict[str, Any], key: str, name: str, problems: list[str]) -> list[Any]:
    """An optional list of the export (version 1 files have ticks only)."""
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{name}: {key}: must be a list")
        return []
    return value


Check = Callable[[Any], str]  # a field's problem ("" when fine)


def _entries(items: list[Any], at: str, problems: list[str], fields: dict[str, Check]) -> Iterator[dict[str, Any]]:
    """The entries of an export's list whose every field passes its check; a problem for each other."""
    for i, entry in enumerate(items):
        if not isinstance(entry, dict):
            problems.append(f"{at}[{i}]: must be an object with {', '.join(fields)}")
            continue
        mine = [f"{at}[{i}].{key}: {p}" for key, check in fields.items() if (p := check(entry.get(key)))]
        problems += mine
        if not mine:
            yield {key: entry[key] for key in fields}


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a progress export can hold")


def _id(value: object) -> str:
    if not isinstance(value, str) or not value:
        return f"must be non-empty text, not {_shown(value)}"
    return _text(value, MAX_ID)


def _card(value: object) -> str:
    if not isinstance(value, str) or not value:
        return f"must be non-empty text, not {_shown(value)}"
    return _text(value, MAX_CARD)


def _fsrs(value: object) -> str:
    """A card's FSRS state as the review notebook stores it (`review.fsrs_card` reads it)."""
    from .review import fsrs_card

    problem = _text(value, MAX_FSRS)
    if problem or not isinstance(value, str):
        return problem
    try:
        fsrs_card(value)
    except ValueError as e:
        return str(e)
    return ""


def _bool(value: object) -> str:
    return "" if isinstance(value, bool) else f"must be true or false, not {_shown(value)}"


def _seconds(value: object) -> str:
    """A finite, non-negative number (JSON has no NaN; true is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        return f"must be a number of seconds, not {_shown(value)}"
    return ""


def _changed_at(limit: float) -> Check:
    """Seconds since 1970, no later than `limit`: a time from the future would beat every later click."""
    def check(value: object) -> str:
        if not isinstance(value, (int, float)) or _seconds(value):
            return f"must be a number of seconds since 1970, not {_shown(value)}"
        if value > limit:
            return (f"{_shown(value)} is in the future ({_utc(value)}); the other machine's clock is wrong, "
                    "fix it and export again")
        return ""
    return check


def _shown(value: object) -> str:
    """A value inside a message: JSON, ASCII only, at most ~60 characters."""
    try:
        text = json.dumps(value)
    except (ValueError, TypeError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _utc(seconds: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return "far beyond any calendar"


def _stretches(value: object) -> str:
    """Played stretches: [start, end] pairs of seconds."""
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 and not any(map(_seconds, p))
                                              for p in value):
        return f"must be a list of [start, end] pairs of seconds, not {_shown(value)}"
    return ""


def _text(value: object, limit: int = MAX_NOTE) -> str:
    """Text of at most `limit` characters that UTF-8 can encode (a lone surrogate can't be)."""
    if not isinstance(value, str):
        return f"must be text, not {_shown(value)}"
    if len(value) > limit:
        return f"longer than {limit} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"holds a lone surrogate ({_shown(value)}), not text"
    return ""
