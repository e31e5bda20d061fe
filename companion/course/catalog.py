"""The catalog model: series, videos, resources and courses, checked as a whole.

It knows nothing of notebooks. `load` turns a catalog file into a `Catalog` or raises
`CatalogError` listing every problem with the place it sits (`courses[0].lessons[2].videos[1]`),
so a hand-edited file gets all its mistakes reported in one go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion import settings
from companion.course import checks
from companion.course.names import LEGACY_INDEX, TOP_INDEX, capitalised, course_index
from companion.errors import CatalogError, NotFound

CATALOG_NAME = "catalog.json"


@dataclass(frozen=True)
class Series:
    """A series of videos from one channel (a playlist, a lecture course); its `kind` shapes generated prompts."""

    id: str
    title: str
    channel: str = ""
    note: str = ""
    resources: tuple[str, ...] = ()
    kind: str = "explainer"  # explainer, lecture or live-coding: what a generated prompt may ask of it


@dataclass(frozen=True)
class Video:
    """One video, shared by every course that assigns it: its YouTube id, or only a `url` to find it where no
    source links it (an id is never guessed); `start` and `end` in seconds, `aliases` the titles lists use."""

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
    """Anything else a lesson points to (playlist, channel, book, article, podcast…); only a `playlist` id embeds."""

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
    """A reflection prompt, the author's or one `prompts_for` writes; its id keeps the answer under it across builds."""

    id: str
    text: str


@dataclass(frozen=True)
class Check:
    """A self-check on one of the lesson's videos: a question whose answer the kernel can check (a
    number within `tolerance`, the index of one of `choices`, an expression in `variables`, or a
    phrase or one of `accept`), with a hint for a wrong attempt and an explanation for the end."""

    id: str
    video: str
    question: str
    kind: str  # number, choice, expression or text
    answer: float | int | str
    hint: str
    explanation: str
    tolerance: float = 0.0
    choices: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    accept: tuple[str, ...] = ()

    @property
    def item(self) -> str:
        """Its checklist item: a check id can't hold ":", so it never names a video or resource."""
        return f"check:{self.id}"

    @property
    def shown_answer(self) -> str:
        """The expected answer as a learner who gives up reads it."""
        if self.kind == "choice":
            return self.choices[int(self.answer)]
        if self.kind == "number" and self.tolerance:
            return f"{self.answer:.10g} (give or take {self.tolerance:.10g})"
        return f"{self.answer:.10g}" if isinstance(self.answer, float) else str(self.answer)


@dataclass(frozen=True)
class Lesson:
    """One notebook's worth of a course: the videos and resources it assigns, numbered as its source numbers it
    (`number` None: an optional extra, placed after the numbered lessons)."""

    id: str
    title: str
    number: int | None = None
    note: str = ""
    videos: tuple[Assignment, ...] = ()
    resources: tuple[Assignment, ...] = ()
    prompts: tuple[Prompt, ...] = ()
    checks: tuple[Check, ...] = ()

    @property
    def key(self) -> int | str:
        """How notebooks and people name the lesson: its number, or its id when it has none."""
        return self.number if self.number is not None else self.id

    @property
    def items(self) -> tuple[Assignment, ...]:
        """Everything the lesson assigns, videos first (its checklist adds the reflections)."""
        return self.videos + self.resources


@dataclass(frozen=True)
class Phase:
    """A named stretch of a course, lessons `first` to `last` by number (both included), with its own bar."""

    id: str
    title: str
    first: int
    last: int
    note: str = ""

    def holds(self, lesson: Lesson) -> bool:
        """Whether the lesson's number falls in the phase; an unnumbered lesson is in none."""
        return lesson.number is not None and self.first <= lesson.number <= self.last


@dataclass(frozen=True)
class Course:
    """A course made from one source list: its lessons, its phases and the series the source names."""

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
        """The lesson with this number or id (as a notebook's `open_lesson` names it); `NotFound` otherwise."""
        for lesson in self.lessons:
            if lesson.key == key or lesson.id == key:
                return lesson
        raise NotFound(f'course "{self.id}" has no lesson {key!r}')

    def phase_of(self, lesson: Lesson) -> Phase | None:
        """The phase that holds the lesson; None for an unnumbered lesson or one outside every phase."""
        return next((p for p in self.phases if p.holds(lesson)), None)

    def ordered(self) -> list[Lesson]:
        """Numbered lessons in order, then the ones without a number (optional extras)."""
        numbered = sorted((l for l in self.lessons if l.number is not None), key=lambda l: l.number or 0)
        return numbered + [l for l in self.lessons if l.number is None]


@dataclass(frozen=True)
class Catalog:
    """A checked catalog file: series, videos and resources by id, and the courses that assign them."""

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
        """The course with this id; `NotFound` naming it when the catalog has none."""
        try:
            return self.courses[course_id]
        except KeyError:
            raise NotFound(f'no course "{course_id}" in the catalog') from None


def find(start: Path | None = None) -> Path:
    """The catalog a kernel or command should use: $COMPANION_CATALOG, else the one the build
    recorded in the notebooks of this folder (`recorded`), else the nearest catalog.json in this
    folder or one above it (notebooks built into the default `notebooks/` live below it)."""
    chosen = settings.catalog()
    if chosen is not None:
        return chosen
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
    problems = checks.schema_problems(data) if schema else []
    if problems:
        raise CatalogError(problems)
    return from_data(data, path=Path(path))


def from_data(data: dict[str, Any], path: Path | None = None) -> Catalog:
    """Build the model from schema-shaped data and run the checks a schema can't express."""
    if not isinstance(data, dict):
        raise CatalogError(["(top level): the catalog must be a JSON object"])
    problems = checks.unencodable(data)
    try:
        series = _index(data.get("series", []), "series", _series, problems)
        videos = _index(data.get("videos", []), "videos", _video, problems)
        resources = _index(data.get("resources", []), "resources", _resource, problems)
        courses = _index(data.get("courses", []), "courses", _course, problems)
        problems += checks.references(data, series.keys(), videos.keys(), resources.keys())
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
    return Video(d["id"], capitalised(d["title"]), d.get("series", ""), d.get("number", ""), d.get("youtube", ""),
                 d.get("url", ""), d.get("start"), d.get("end"), d.get("date", ""), d.get("note", ""),
                 tuple(d.get("aliases", ())))


def _resource(d: dict[str, Any]) -> Resource:
    return Resource(d["id"], capitalised(d["title"]), d["kind"], d["url"], d.get("playlist", ""), d.get("series", ""),
                    d.get("note", ""))


def _assignment(d: str | dict[str, Any]) -> Assignment:
    if isinstance(d, str):
        return Assignment(d)
    return Assignment(d["id"], capitalised(d.get("title", "")), d.get("note", ""), d.get("start"), d.get("end"),
                      d.get("playlist", ""), d.get("series", ""))


def _lesson(d: dict[str, Any]) -> Lesson:
    return Lesson(d["id"], d["title"], d.get("number"), d.get("note", ""),
                  tuple(_assignment(a) for a in d.get("videos", ())),
                  tuple(_assignment(a) for a in d.get("resources", ())),
                  tuple(Prompt(p["id"], p["text"]) for p in d.get("prompts", ())),
                  tuple(_check(c) for c in d.get("checks", ())))


def _check(d: dict[str, Any]) -> Check:
    return Check(d["id"], d["video"], d["question"], d["kind"], d["answer"], d["hint"], d["explanation"],
                 float(d.get("tolerance", 0)), tuple(d.get("choices", ())), tuple(d.get("variables", ())),
                 tuple(d.get("accept", ())))


def _course(d: dict[str, Any]) -> Course:
    phases = tuple(Phase(p["id"], p["title"], p["first"], p["last"], p.get("note", "")) for p in d.get("phases", ()))
    return Course(d["id"], d["title"], tuple(_lesson(l) for l in d["lessons"]), d.get("source", ""),
                  d.get("note", ""), phases, tuple((s["id"], s.get("note", "")) for s in d.get("series", ())),
                  d.get("source_title", ""))
