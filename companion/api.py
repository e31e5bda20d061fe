"""The library API behind `import companion` (see `companion/__init__.py`): what the CLI calls.

Each function raises a `companion.errors.CompanionError` for a mistake in what it was given and
writes nothing then; any other exception is a bug.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import atomic
from .catalog import CATALOG_NAME, load, read_json
from .errors import CatalogError, UsageError
from .tally import CourseProgress
from .store import ProgressStore

if TYPE_CHECKING:
    from .writer import Report

_EMPTY = {"$schema": "companion/catalog.schema.json", "series": [], "videos": [], "resources": [], "courses": []}


def default_out(catalog: Path) -> Path:
    """Where notebooks go when no output folder is given: `notebooks/` beside the catalog."""
    return catalog.parent / "notebooks"


def build(catalog: str | Path = CATALOG_NAME, out: str | Path | None = None, *, check: bool = False,
          dry_run: bool = False, twins: bool | None = None, trust: bool = True,
          privacy_enhanced: bool | None = None) -> Report:
    """Write one notebook per lesson of `catalog` into `out` (default: `notebooks/` beside it),
    keeping learners' work. `check` or `dry_run`: write nothing, only report (`Report.stale`
    lists what --check fails on). `twins`: keep jupytext text twins (None: if `out` has some).
    `trust`: sign the notebooks in this machine's trust database. `privacy_enhanced`: embed from
    youtube-nocookie.com (None: the catalog's setting)."""
    from . import extras
    from .builder import plan
    from .writer import has_twins, sync

    path = Path(catalog)
    cat = load(path)
    lesson_extras = extras.load(cat, extras.folder_of(path))
    target = Path(out) if out is not None else default_out(path)
    planned = plan(cat, privacy_enhanced, lesson_extras, folder=target)
    text = has_twins(target) if twins is None else twins
    report = sync(planned, target, dry_run=dry_run or check, trust=trust, text=text)
    report.out, report.notebooks, report.twins = target, len(planned), text
    return report


def validate(catalog: str | Path = CATALOG_NAME) -> str:
    """Check the catalog and its lesson extras; a one-line summary, or `CatalogError` naming each problem."""
    from . import extras

    path = Path(catalog)
    cat = load(path)
    lesson_extras = extras.load(cat, extras.folder_of(path))
    lessons = sum(len(c.lessons) for c in cat.courses.values())
    return (f"{path}: valid — {len(cat.courses)} courses, {lessons} lessons, {len(cat.videos)} videos, "
            f"{len(cat.resources)} resources" + (f", {len(lesson_extras)} lesson extras" if lesson_extras else ""))


@dataclass(frozen=True)
class Imported:
    """What `import_index` did: the course it wrote (or found already matching) and its size."""

    catalog: Path
    course: str
    lessons: int
    changed: bool


def import_index(index: str | Path, course: str, *, catalog: str | Path = CATALOG_NAME,
                 title: str | None = None) -> Imported:
    """Add or replace `course` in `catalog` from a markdown video index; the catalog is written
    (atomically) only when it changes and only when the result is a valid catalog."""
    from .importer import import_index as import_into

    path, index = Path(catalog), Path(index)
    try:
        text = index.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{index}: cannot read: {e}") from None
    data = read_json(path) if path.exists() else json.loads(json.dumps(_EMPTY))
    _check_course_id(course)
    before = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        import_into(data, text, course_id=course, name=index.name, title=title)
    except (TypeError, KeyError, AttributeError, ValueError):
        _refuse_broken(before, path)  # the importer met a catalog it cannot read
        raise
    load_problems = problems_of(data)
    if load_problems:
        _refuse_broken(before, path)
        raise CatalogError([f"after importing {index.name}: {p}" for p in load_problems])
    after = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lessons = len(next(c for c in data["courses"] if c["id"] == course)["lessons"])
    if after != before:
        atomic.write_text(path, after)
    return Imported(path, course, lessons, after != before)


def _refuse_broken(before: str, path: Path) -> None:
    """Blame the catalog, not the import, when it was invalid before the import began."""
    problems = problems_of(json.loads(before))
    if problems:
        raise CatalogError(problems + [f"{path}: fix these before importing into it"])


def _check_course_id(course_id: str) -> None:
    from .catalog import schema

    slug = schema()["$defs"]["slug"]
    if not re.search(slug["pattern"], course_id):
        raise UsageError(f"--course: {course_id!r} is not allowed ({slug['description']})")


def problems_of(data: Any) -> list[str]:
    """Every problem of catalog data (schema first, then references), empty when it is valid."""
    from .catalog import from_data, schema_problems

    problems = schema_problems(data)
    if problems:
        return problems
    try:
        from_data(data)
    except CatalogError as e:
        return e.problems
    return []


def progress(catalog: str | Path = CATALOG_NAME, *, course: str | None = None,
             store: ProgressStore | None = None) -> list[CourseProgress]:
    """Progress per course (or only `course`), phase by phase, from the progress store."""
    from .tally import of_course

    cat = load(Path(catalog))  # a command checks what it shows; only kernels trust the build
    ticks = (store or ProgressStore()).ticks()
    courses = [cat.course(course)] if course else list(cat.courses.values())
    return [of_course(cat, c, ticks) for c in courses]
