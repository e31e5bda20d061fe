"""The catalog model: series, videos, resources and courses, checked as a whole.

It knows nothing of notebooks. `load` turns a catalog file into a `Catalog` or raises
`CatalogError` listing every problem with the place it sits (`courses[0].lessons[2].videos[1]`),
so a hand-edited file gets all its mistakes reported in one go.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import youtube
from .errors import CatalogError, NotFound
from .names import LEGACY_INDEX, TOP_INDEX, course_index

SCHEMA_PATH = Path(__file__).with_name("catalog.schema.json")
CATALOG_NAME = "catalog.json"
MAX_QUOTED = 200  # characters of catalog text a message quotes


@dataclass(frozen=True)
class Series:
    id: str
    title: str
    channel: str = ""
    note: str = ""
    resources: tuple[str, ...] = ()
    kind: str = "explainer"  # explainer, lecture or live-coding: what a generated prompt may ask of it


@dataclass(frozen=True)
class Video:
    id: str
    title: str
    series: str = ""
    number: str = ""
    youtube: str = ""
    url: str = ""
    start: int | None = None
    end: int | None = None
    date: str = ""
    note: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resource:
    id: str
    title: str
    kind: str
    url: str
    playlist: str = ""
    series: str = ""
    note: str = ""


@dataclass(frozen=True)
class Assignment:
    """An item (video or resource) as one lesson assigns it, with the curator's words for it there."""

    id: str
    title: str = ""
    note: str = ""
    start: int | None = None
    end: int | None = None
    playlist: str = ""
    series: str = ""  # the series the course's source lists it under, when not the item's own


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    number: int | None = None
    note: str = ""
    videos: tuple[Assignment, ...] = ()
    resources: tuple[Assignment, ...] = ()
    prompts: tuple[Prompt, ...] = ()

    @property
    def key(self) -> int | str:
        """How notebooks and people name the lesson: its number, or its id when it has none."""
        return self.number if self.number is not None else self.id

    @property
    def items(self) -> tuple[Assignment, ...]:
        return self.videos + self.resources


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    first: int
    last: int
    note: str = ""

    def holds(self, lesson: Lesson) -> bool:
        return lesson.number is not None and self.first <= lesson.number <= self.last


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    lessons: tuple[Lesson, ...]
    source: str = ""
    note: str = ""
    phases: tuple[Phase, ...] = ()
    series: tuple[tuple[str, str], ...] = ()  # (series id, the note this course's source wrote), in its order
    source_title: str = ""

    def series_note(self, series_id: str) -> str:
        """What this course's source says about a series (another source's words stay in its course)."""
        return next((note for sid, note in self.series if sid == series_id), "")

    def lesson(self, key: int | str) -> Lesson:
        for lesson in self.lessons:
            if lesson.key == key or lesson.id == key:
                return lesson
        raise NotFound(f'course "{self.id}" has no lesson {key!r}')

    def phase_of(self, lesson: Lesson) -> Phase | None:
        return next((p for p in self.phases if p.holds(lesson)), None)

    def ordered(self) -> list[Lesson]:
        """Numbered lessons in order, then the ones without a number (optional extras)."""
        numbered = sorted((l for l in self.lessons if l.number is not None), key=lambda l: l.number or 0)
        return numbered + [l for l in self.lessons if l.number is None]


@dataclass(frozen=True)
class Catalog:
    series: dict[str, Series]
    videos: dict[str, Video]
    resources: dict[str, Resource]
    courses: dict[str, Course]
    privacy_enhanced: bool = False
    path: Path | None = field(default=None, compare=False)
    watched_threshold: float = 0.9  # share of a video played that ticks it (settings.watched_threshold)

    def series_of(self, a: Assignment) -> Series | None:
        """The series a lesson's item is listed under: the course's own listing, else the item's."""
        item = self.videos.get(a.id) or self.resources.get(a.id)
        return self.series.get(a.series or (item.series if item else ""))

    def course(self, course_id: str) -> Course:
        try:
            return self.courses[course_id]
        except KeyError:
            raise NotFound(f'no course "{course_id}" in the catalog') from None


def find(start: Path | None = None) -> Path:
    """The catalog a kernel or command should use: $COMPANION_CATALOG, else the one the build
    recorded in the notebooks of this folder (`recorded`), else the nearest catalog.json in this
    folder or one above it (notebooks built into the default `notebooks/` live below it)."""
    if os.environ.get("COMPANION_CATALOG"):
        return Path(os.environ["COMPANION_CATALOG"])
    here = (start or Path.cwd()).resolve()
    found = recorded(here)
    if found is not None:
        return found
    for folder in (here, *here.parents):
        if (folder / CATALOG_NAME).is_file():
            return folder / CATALOG_NAME
    raise CatalogError([f"no {CATALOG_NAME} in {here} or any folder above it; set COMPANION_CATALOG to its path"])


def recorded(folder: Path) -> Path | None:
    """The catalog the build recorded in `folder`'s index notebook (every folder it writes has one:
    `metadata.companion.catalog`, relative to the notebook; `index.ipynb` in older builds), when
    that file is there."""
    try:
        index = next(p for p in (folder / name for name in (TOP_INDEX, course_index(folder.name), LEGACY_INDEX))
                     if p.is_file())
        meta = json.loads(index.read_text(encoding="utf-8"))["metadata"]["companion"]["catalog"]
    except (StopIteration, OSError, ValueError, TypeError, KeyError):
        return None
    path = folder / meta if isinstance(meta, str) else None
    return path if path is not None and path.is_file() else None


def read_json(path: Path) -> Any:
    """The parsed file, or a CatalogError naming the file and the line of a syntax error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogError([f"{path}: cannot read: {e}"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogError([f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}"]) from None
    except RecursionError:
        raise CatalogError([f"{path}: invalid JSON: nested too deeply"]) from None
    except ValueError as e:  # an integer of more than 4300 digits: Python refuses to convert it
        raise CatalogError([f"{path}: invalid JSON: a number too long to read ({str(e).split(':')[0]})"]) from None


def load(path: Path, *, schema: bool = True) -> Catalog:
    """Read, check and build the model. `schema=False` skips the JSON Schema pass (which needs
    jsonschema) for a kernel that only displays what a checked build already accepted."""
    data = read_json(path)
    problems = schema_problems(data) if schema else []
    if problems:
        raise CatalogError(problems)
    return from_data(data, path=Path(path))


def schema() -> dict[str, Any]:
    """The catalog's JSON Schema, which also holds the limits the importer keeps to."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def schema_problems(data: Any) -> list[str]:
    import jsonschema  # only the checking commands pay for this import

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{place(e.absolute_path)}: {_schema_message(e)}" for e in errors]


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


def from_data(data: dict[str, Any], path: Path | None = None) -> Catalog:
    """Build the model from schema-shaped data and run the checks a schema can't express."""
    if not isinstance(data, dict):
        raise CatalogError(["(top level): the catalog must be a JSON object"])
    problems = [f"{place(at)}: {_quote(text)} holds a lone surrogate (an escape like \\ud800 that is no "
                "character); UTF-8 can't write it" for at, text in _unencodable(data)]
    try:
        series = _index(data.get("series", []), "series", _series, problems)
        videos = _index(data.get("videos", []), "videos", _video, problems)
        resources = _index(data.get("resources", []), "resources", _resource, problems)
        courses = _index(data.get("courses", []), "courses", _course, problems)
        problems += _cross_problems(data, series, videos, resources, courses)
        settings = data.get("settings", {})
        privacy, threshold = bool(settings.get("privacy_enhanced")), float(settings.get("watched_threshold", 0.9))
    except (TypeError, KeyError, AttributeError, ValueError) as e:  # only unchecked data (schema=False) gets here
        what = " ".join(str(e).split())
        raise CatalogError([f"(top level): malformed catalog ({what}); run `companion validate`"]) from None
    if problems:
        raise CatalogError(problems)
    return Catalog(series, videos, resources, courses, privacy, path, threshold)


def _index(items: list[dict[str, Any]], name: str, make: Any, problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first_at: dict[str, int] = {}
    for i, raw in enumerate(items):
        obj = make(raw)
        if obj.id in out:
            problems.append(f'{name}[{i}].id: duplicate id "{obj.id}" (first used at {name}[{first_at[obj.id]}])')
            continue
        out[obj.id] = obj
        first_at[obj.id] = i
    return out


def _series(d: dict[str, Any]) -> Series:
    return Series(d["id"], d["title"], d.get("channel", ""), d.get("note", ""), tuple(d.get("resources", ())),
                  d.get("kind", "explainer"))


def _video(d: dict[str, Any]) -> Video:
    return Video(d["id"], d["title"], d.get("series", ""), d.get("number", ""), d.get("youtube", ""),
                 d.get("url", ""), d.get("start"), d.get("end"), d.get("date", ""), d.get("note", ""),
                 tuple(d.get("aliases", ())))


def _resource(d: dict[str, Any]) -> Resource:
    return Resource(d["id"], d["title"], d["kind"], d["url"], d.get("playlist", ""), d.get("series", ""),
                    d.get("note", ""))


def _assignment(d: str | dict[str, Any]) -> Assignment:
    if isinstance(d, str):
        return Assignment(d)
    return Assignment(d["id"], d.get("title", ""), d.get("note", ""), d.get("start"), d.get("end"),
                      d.get("playlist", ""), d.get("series", ""))


def _lesson(d: dict[str, Any]) -> Lesson:
    return Lesson(d["id"], d["title"], d.get("number"), d.get("note", ""),
                  tuple(_assignment(a) for a in d.get("videos", ())),
                  tuple(_assignment(a) for a in d.get("resources", ())),
                  tuple(Prompt(p["id"], p["text"]) for p in d.get("prompts", ())))


def _course(d: dict[str, Any]) -> Course:
    phases = tuple(Phase(p["id"], p["title"], p["first"], p["last"], p.get("note", "")) for p in d.get("phases", ()))
    return Course(d["id"], d["title"], tuple(_lesson(l) for l in d["lessons"]), d.get("source", ""),
                  d.get("note", ""), phases, tuple((s["id"], s.get("note", "")) for s in d.get("series", ())),
                  d.get("source_title", ""))


def _cross_problems(data: dict[str, Any], series: dict[str, Any], videos: dict[str, Any],
                    resources: dict[str, Any], courses: dict[str, Any]) -> list[str]:
    """References, ids and links: what JSON Schema can't see."""
    problems: list[str] = [f"{at}: {x!r} is not a whole number; write it without a decimal point"
                           for at, x in _whole_numbers(data) if isinstance(x, float)]
    for i, v in enumerate(data.get("videos", [])):
        at = f"videos[{i}]"
        if v.get("youtube") and not youtube.VIDEO_ID.match(v["youtube"]):
            problems.append(f'{at}.youtube: malformed YouTube id {_quote(v["youtube"])} '
                            "(11 characters of A-Z a-z 0-9 _ -)")
        if not v.get("youtube") and not v.get("url"):
            problems.append(f'{at}: video "{v["id"]}" needs a "youtube" id or a "url" to find it')
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
    for vid in videos.keys() & resources.keys():
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


def _series_refs(at: str, c: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Where a course names a series: its list of the source's series, and items listed under another."""
    for si, s in enumerate(c.get("series", [])):
        yield f"{at}.series[{si}].id", s["id"]
    for li, lesson in enumerate(c.get("lessons", [])):
        for kind in ("videos", "resources"):
            for ai, a in enumerate(lesson.get(kind, [])):
                if isinstance(a, dict) and a.get("series"):
                    yield f"{at}.lessons[{li}].{kind}[{ai}].series", a["series"]


def _course_problems(at: str, c: dict[str, Any], videos: dict[str, Any], resources: dict[str, Any]) -> list[str]:
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
