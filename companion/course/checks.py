"""Every problem of a catalog file, each named by the place it sits (`courses[0].lessons[2].videos[1]`):
the JSON Schema pass, then what a schema can't express (references between entries, duplicate ids and
numbers, links, text UTF-8 can't write). Works on the file's data, before any model exists.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Callable, Iterator, Set
from pathlib import Path
from typing import Any

from companion.course import youtube

SCHEMA_PATH = Path(__file__).with_name("catalog.schema.json")
MAX_QUOTED = 200  # characters of catalog text a message quotes


def schema() -> dict[str, Any]:
    """The catalog's JSON Schema, which also holds the limits the importer keeps to."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def schema_problems(data: Any) -> list[str]:
    """Every place the data breaks the catalog's JSON Schema, one message each in order of place; [] when none.

    A valid catalog (the usual case) is passed by fastjsonschema's compiled check alone; only a catalog
    it refuses is checked again by jsonschema, which lists every error with its place (as nbformat does
    with its notebooks). So a command importing nothing else that uses jsonschema doesn't import it:
    jsonschema loads its optional format checkers at import, one of which builds a grammar (~2 s)."""
    import fastjsonschema

    try:
        _fast_check()(data)
    except fastjsonschema.JsonSchemaValueException:
        pass
    else:
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{place(e.absolute_path)}: {_schema_message(e)}" for e in errors]


@functools.cache
def _fast_check() -> Callable[[Any], Any]:
    """The schema compiled by fastjsonschema (~70 ms, once per process). The schema uses only keywords
    draft 7 has, so its draft-7 code checks what the 2020-12 validator checks; `format` is left to
    annotate, as jsonschema does without a format checker; no `default` is filled into the data."""
    import fastjsonschema

    check: Callable[[Any], Any] = fastjsonschema.compile(schema(), use_default=False, use_formats=False)
    return check


def _schema_message(error: Any) -> str:
    """jsonschema's message, with the value it quotes cut to what a message line can hold."""
    message = _schema_text(error)
    quoted = repr(error.instance)
    return message.replace(quoted, _cut(quoted)) if len(quoted) > MAX_QUOTED else _cut(message, 4 * MAX_QUOTED)


def _schema_text(error: Any) -> str:
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        best = min(error.context, key=lambda e: len(e.absolute_path), default=None) if error.context else None
        if best is not None and best.validator != "type":
            return str(best.message)
    if error.validator == "additionalProperties":
        return str(error.message).replace("Additional properties are not allowed", "unknown field(s)")
    if error.validator == "pattern":
        why = error.schema.get("description", "pattern " + error.validator_value)
        return f"{error.instance!r} is not allowed here ({why})"
    return str(error.message)


def _cut(text: str, limit: int = MAX_QUOTED) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def place(path: Any) -> str:
    """A path as jsonschema's `error.absolute_path` gives it, `['courses', 0, 'lessons', 2]`, as
    the messages name places: `courses[0].lessons[2]`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def unencodable(data: Any) -> list[str]:
    """A problem for every key or string UTF-8 can't encode: the build would fail writing it."""
    return [f"{place(at)}: {_quote(text)} holds a lone surrogate (an escape like \\ud800 that is no "
            "character); UTF-8 can't write it" for at, text in _unencodable(data)]


def references(data: dict[str, Any], series: Set[str], videos: Set[str], resources: Set[str]) -> list[str]:
    """References, ids, numbers and links, given the ids each kind of entry has: what JSON Schema
    can't see."""
    problems: list[str] = [f"{at}: {x!r} is not a whole number; write it without a decimal point"
                           for at, x in _whole_numbers(data) if isinstance(x, float)]
    for i, v in enumerate(data.get("videos", [])):
        at = f"videos[{i}]"
        if v.get("youtube") and not youtube.VIDEO_ID.match(v["youtube"]):
            problems.append(f'{at}.youtube: malformed YouTube id {_quote(v["youtube"])} '
                            "(11 characters of A-Z a-z 0-9 _ -)")
        if not v.get("youtube") and not v.get("url"):
            problems.append(f'{at}: video "{v["id"]}" needs a "youtube" id or a "url" to find it')
        if v.get("evidence") and not v.get("youtube"):
            problems.append(f'{at}.evidence: the pages confirm a YouTube id, and video "{v["id"]}" has none; '
                            'add its "youtube" id or remove the evidence')
        if v.get("series") and v["series"] not in series:
            problems.append(f'{at}.series: unknown series "{v["series"]}"')
        if v.get("start") is not None and v.get("end") is not None and v["end"] <= v["start"]:
            problems.append(f"{at}.end: ends at {v['end']} s, not after its start at {v['start']} s")
    for i, r in enumerate(data.get("resources", [])):
        if r.get("series") and r["series"] not in series:
            problems.append(f'resources[{i}].series: unknown series "{r["series"]}"')
        if r.get("playlist") and not youtube.PLAYLIST_ID.match(r["playlist"]):
            problems.append(f'resources[{i}].playlist: malformed YouTube playlist id {_quote(r["playlist"])}')
    for i, s in enumerate(data.get("series", [])):
        for j, rid in enumerate(s.get("resources", [])):
            if rid not in resources:
                problems.append(f'series[{i}].resources[{j}]: unknown resource "{rid}"')
    for vid in videos & resources:
        problems.append(f'resources: id "{vid}" is also a video id; an item id must name one thing')
    problems += [f"{at}: link is not http(s): {url!r}" for at, url in _urls(data) if not youtube.is_http_url(url)]
    for ci, c in enumerate(data.get("courses", [])):
        problems += _course_problems(f"courses[{ci}]", c, videos, resources)
        problems += [f'{at}: unknown series "{sid}"' for at, sid in _series_refs(f"courses[{ci}]", c)
                     if sid not in series]
    return problems


def _quote(value: Any) -> str:
    """A value from the catalog inside a message: quoted, escaped, on one line, cut."""
    return _cut(json.dumps(value))


def _unencodable(data: Any) -> Iterator[tuple[list[Any], str]]:
    """(place, text) of every key or string UTF-8 can't encode: the build would fail writing it."""
    stack: list[tuple[list[Any], Any]] = [([], data)]
    while stack:
        at, value = stack.pop()
        if isinstance(value, dict):
            for key in value:
                if not _encodable(key):
                    yield at, key
            stack.extend(reversed([([*at, key], item) for key, item in value.items()]))  # in file order
        elif isinstance(value, list):
            stack.extend(reversed([([*at, i], item) for i, item in enumerate(value)]))
        elif isinstance(value, str) and not _encodable(value):
            yield at, value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _whole_numbers(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The integer fields: JSON Schema counts 1.0 as an integer, the model and file names need int."""
    for i, v in enumerate(data.get("videos", [])):
        yield from ((f"videos[{i}].{k}", v.get(k)) for k in ("start", "end"))
    for ci, c in enumerate(data.get("courses", [])):
        for pi, p in enumerate(c.get("phases", [])):
            yield from ((f"courses[{ci}].phases[{pi}].{k}", p.get(k)) for k in ("first", "last"))
        for li, lesson in enumerate(c.get("lessons", [])):
            yield f"courses[{ci}].lessons[{li}].number", lesson.get("number")
            yield from ((f"courses[{ci}].lessons[{li}].checks[{ki}].answer", k["answer"])
                        for ki, k in enumerate(lesson.get("checks", [])) if k.get("kind") == "choice")
            for kind in ("videos", "resources"):
                for ai, a in enumerate(lesson.get(kind, [])):
                    if isinstance(a, dict):
                        at = f"courses[{ci}].lessons[{li}].{kind}[{ai}]"
                        yield from ((f"{at}.{k}", a.get(k)) for k in ("start", "end"))


def _urls(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for kind in ("videos", "resources"):
        for i, item in enumerate(data.get(kind, [])):
            if "url" in item:
                yield f"{kind}[{i}].url", item["url"]
            for j, page in enumerate(item.get("evidence", ())):
                yield f"{kind}[{i}].evidence[{j}]", page


def _series_refs(at: str, c: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Where a course names a series: its list of the source's series, and items listed under another."""
    for si, s in enumerate(c.get("series", [])):
        yield f"{at}.series[{si}].id", s["id"]
    for li, lesson in enumerate(c.get("lessons", [])):
        for kind in ("videos", "resources"):
            for ai, a in enumerate(lesson.get(kind, [])):
                if isinstance(a, dict) and a.get("series"):
                    yield f"{at}.lessons[{li}].{kind}[{ai}].series", a["series"]


def _course_problems(at: str, c: dict[str, Any], videos: Set[str], resources: Set[str]) -> list[str]:
    problems: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_numbers: dict[int, int] = {}
    for li, lesson in enumerate(c.get("lessons", [])):
        lat = f"{at}.lessons[{li}]"
        if lesson["id"] in seen_ids:
            first = seen_ids[lesson["id"]]
            problems.append(f'{lat}.id: duplicate lesson id "{lesson["id"]}" (first at {at}.lessons[{first}])')
        seen_ids.setdefault(lesson["id"], li)
        number = lesson.get("number")
        if number is not None:
            if number in seen_numbers:
                other = seen_numbers[number]
                problems.append(f"{lat}.number: lesson number {number} is also used by {at}.lessons[{other}]")
            seen_numbers.setdefault(number, li)
        for kind, known in (("videos", videos), ("resources", resources)):
            seen_items: set[str] = set()
            for ai, a in enumerate(lesson.get(kind, [])):
                item = a if isinstance(a, str) else a["id"]
                if item not in known:
                    problems.append(f'{lat}.{kind}[{ai}]: unknown {kind[:-1]} "{item}"')
                if item in seen_items:
                    problems.append(f'{lat}.{kind}[{ai}]: "{item}" is assigned twice in this lesson')
                seen_items.add(item)
                if isinstance(a, dict) and a.get("playlist") and not youtube.PLAYLIST_ID.match(a["playlist"]):
                    problems.append(f"{lat}.{kind}[{ai}].playlist: malformed YouTube playlist id "
                                    f"{_quote(a['playlist'])}")
        problems += _check_problems(lat, lesson)
        prompt_ids = [p["id"] for p in lesson.get("prompts", [])]
        for pi, pid in enumerate(prompt_ids):
            if pid in prompt_ids[:pi]:
                problems.append(f'{lat}.prompts[{pi}].id: duplicate prompt id "{pid}"')
    phases = sorted(enumerate(c.get("phases", [])), key=lambda p: p[1]["first"])
    for (i, p), (j, q) in itertools.pairwise(phases):
        if q["first"] <= p["last"]:
            problems.append(f"{at}.phases[{j}]: lessons {q['first']}–{q['last']} overlap {at}.phases[{i}] "
                            f"({p['first']}–{p['last']})")
    for i, p in phases:
        if p["last"] < p["first"]:
            problems.append(f"{at}.phases[{i}]: last lesson {p['last']} comes before first lesson {p['first']}")
    return problems


_ONLY_FOR = {"tolerance": "number", "choices": "choice", "variables": "expression", "accept": "text"}


def _check_problems(lat: str, lesson: dict[str, Any]) -> list[str]:
    """A lesson's self-checks: on a video of the lesson, ids unique, fields fit for their kind, and
    an answer the kernel can check (a choice in range, an expression grading can read)."""
    problems: list[str] = []
    videos = {a if isinstance(a, str) else a["id"] for a in lesson.get("videos", [])}
    seen: dict[str, int] = {}
    for i, c in enumerate(lesson.get("checks", [])):
        at = f"{lat}.checks[{i}]"
        if c["id"] in seen:
            problems.append(f'{at}.id: duplicate check id "{c["id"]}" (first at {lat}.checks[{seen[c["id"]]}])')
        seen.setdefault(c["id"], i)
        if c["video"] not in videos:
            problems.append(f'{at}: video {_quote(c["video"])} is not one of this lesson\'s videos')
        problems += [f'{at}.{field}: only a {kind} check has "{field}"' for field, kind in _ONLY_FOR.items()
                     if field in c and c["kind"] != kind]
        answer = c["answer"]
        if c["kind"] == "choice" and not 0 <= answer < len(c["choices"]):
            problems.append(f"{at}.answer: choice {answer} is not one of the {len(c['choices'])} choices "
                            f"(0 to {len(c['choices']) - 1})")
        elif c["kind"] == "number" and not math.isfinite(answer):
            problems.append(f"{at}.answer: {answer} is not a number a learner can type")
        elif c["kind"] == "expression":
            from companion.course import grading  # a kernel reading a catalog without expressions never needs it

            verdict = grading.expression(answer, answer, c.get("variables", []))
            if not verdict.right:
                why = verdict.unreadable or "it has no value at the points answers are compared at"
                problems.append(f"{at}.answer: {_quote(answer)} can't be checked: {why}")
    return problems
