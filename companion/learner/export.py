"""The progress export: the JSON file a learner carries to another machine (`companion progress
--export` / `--import`).

Read strictly, since a tick can't be taken back once merged: every problem is listed with its
place, and a file with any problem is not imported at all.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from companion.learner import records
from companion.learner.records import shown
from companion.learner.store import Note, Position, ProgressStore, Review, Tick

FORMAT = "course-companion-progress"
VERSION = 3  # 1: ticks only; 2: positions and notes too; 3: review cards' schedules too
VERSIONS = (1, 2, 3)  # what `read_export` reads
MAX_BYTES = 64 * 1024 * 1024
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


def write(store: ProgressStore) -> tuple[str, list[str]]:
    """Everything in the store as the file `companion progress --export` writes, and a line for each
    record left out because import would refuse it (kept before the store checked what it takes)."""
    left_out: list[str] = []

    def valid(kind: str, entries: Iterable[Any]) -> list[Any]:
        kept = []
        for entry in entries:
            found = records.problems(kind, asdict(entry))
            if found:
                where = entry.card if kind == "review" else f"{entry.course}/{entry.lesson}/{entry.item}"
                left_out.append(f"a {kind} of {where}: {found[0]}")
            else:
                kept.append(entry)
        return kept

    return dumps(valid("tick", store.all()), valid("position", store.positions().values()),
                 valid("note", store.notes()), valid("review", store.reviews().values())), left_out


def merge(store: ProgressStore, export: Export) -> int:
    """Take an export into the store: each record unless the store has a newer change of it."""
    return store.merge(export.ticks, export.positions, export.notes, export.reviews)


def read_export(text: str, name: str, now: float | None = None, courses: Collection[str] | None = None) -> Export:
    """Ticks, positions, notes and review schedules of an exported file (version 1 has ticks only,
    2 no reviews), or a ValueError
    listing each problem with its place.

    Strict, since a tick can't be taken back: each record is checked as the store checks it
    (`companion.records`: times not later than now plus a clock skew, bounded ids, seconds and
    text), and its course must be one of `courses` (the catalog's) when given."""
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
    version = data.get("version", 1)  # the first exports had none
    if version not in VERSIONS or isinstance(version, bool):
        raise ValueError(f"{name}: an export of version {shown(version)}, which this course companion cannot read "
                         f"(it reads versions {', '.join(map(str, VERSIONS))}); upgrade the companion; "
                         "nothing was imported")
    problems: list[str] = []
    checked = {kind: list(_entries(kind, data, name, now, problems, courses))
               for kind in ("tick", "position", "note", "review")}
    if problems:
        more = f" … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ValueError("\n".join(problems[:MAX_LISTED]) + more + "\nnothing was imported")
    return Export([Tick(**t) for t in checked["tick"]],
                  [Position(**{**p, "played": tuple((float(a), float(b)) for a, b in p["played"])})
                   for p in checked["position"]],
                  [Note(**n) for n in checked["note"]],
                  [Review(**r) for r in checked["review"]])


def _entries(kind: str, data: dict[str, Any], name: str, now: float | None, problems: list[str],
             courses: Collection[str] | None) -> Iterator[dict[str, Any]]:
    """The records of one of the export's lists that pass `records.problems`; a problem for each other."""
    key = kind + "s"
    entries = data.get(key, [])  # version 1 files have ticks only
    if not isinstance(entries, list):
        problems.append(f"{name}: {key}: must be a list")
        return
    for i, entry in enumerate(entries):
        found = records.problems(kind, entry, now)
        if not found and kind == "review":
            found = _fsrs(entry["fsrs"])
        if not found and courses is not None and "course" in entry and entry["course"] not in courses:
            found = [f"course: {shown(entry['course'])} is not a course of the catalog; import it into the "
                     "companion set up with that course"]
        problems += [f"{name}: {key}[{i}].{p}" if not p.startswith("must") else f"{name}: {key}[{i}]: {p}"
                     for p in found]
        if not found:
            yield {**entry, **{k: float(entry[k]) for k in records.FIELDS[kind] if k in _TIMES}}


_TIMES = {"changed_at", "position", "duration", "at", "due"}


def _fsrs(state: str) -> list[str]:
    """A card's FSRS state as the review reads it (`records.fsrs_card`), or why it is not one."""
    try:
        records.fsrs_card(state)
    except ValueError as e:
        return [f"fsrs: {e}"]
    return []


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a progress export can hold")
