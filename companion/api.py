"""The library API behind `import companion` (see `companion/__init__.py`): what the CLI calls.

Each function raises a `companion.errors.CompanionError` for a mistake in what it was given and
writes nothing then; any other exception is a bug.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from companion.course.catalog import CATALOG_NAME, load, read_json
from companion.errors import BuildError, BusyError, CatalogError, UsageError
from companion.notebook import atomic

if TYPE_CHECKING:
    from nbformat import NotebookNode
    from nbformat.sign import NotebookNotary

    from companion.authoring.evidence import Proposal, Source, Unresolved
    from companion.builder.follow import Had
    from companion.builder.report import Change, Report
    from companion.course.catalog import Catalog
    from companion.learner.store import ProgressStore
    from companion.learner.tally import CourseProgress

_EMPTY = {"$schema": "companion/course/catalog.schema.json", "series": [], "videos": [], "resources": [], "courses": []}


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
    from companion.builder import stamp
    from companion.builder.extras import folder_of

    path = Path(catalog)
    target = Path(out) if out is not None else default_out(path)
    _check_out(target, path, folder_of(path))
    writes = not (dry_run or check)
    request = stamp.Request(path, folder_of(path), target, twins, privacy_enhanced)
    done = stamp.unchanged(request, trust=trust, writes=writes)
    if done is not None:
        return done
    key = stamp.begin(request)
    parsed = stamp.parsed_extras(key)
    cat, planned, text = _plan(path, target, twins=twins, privacy_enhanced=privacy_enhanced, parsed=parsed)
    if not writes:
        return _sync(planned, target, text, dry_run=True, trust=trust)
    from companion.builder.follow import move_progress
    from companion.builder.trust import open_notary

    notary = open_notary() if trust else None  # a trust database that can't be written: stop before any change
    with _locked(target, "build"):  # the stamp too: a build that waited finds the tree as the first left it
        report = _sync(planned, target, text, dry_run=False, trust=trust, notary=notary,
                       progress=functools.partial(move_progress, cat, _store()))
        stamp.record(request, key, report, trust=trust, started_ns=stamp.now_ns(), parsed=parsed)
    return report


def _plan(path: Path, target: Path, *, twins: bool | None, privacy_enhanced: bool | None,
          parsed: dict[str, list[Any]]) -> tuple[Catalog, dict[PurePosixPath, NotebookNode], bool]:
    """Load and plan (nothing written: a catalog mistake stops here): the catalog, the notebooks
    it makes, and whether text twins are kept. `parsed`: lesson extras parsed before, added to."""
    from companion.builder import extras
    from companion.builder.plan import plan
    from companion.builder.scan import has_twins

    cat = load(path)
    lesson_extras = extras.load(cat, extras.folder_of(path), parsed=parsed)
    planned = plan(cat, privacy_enhanced, lesson_extras, folder=target)
    return cat, planned, has_twins(target) if twins is None else twins


def _sync(planned: dict[PurePosixPath, NotebookNode], target: Path, text: bool, *, dry_run: bool,
          trust: bool, notary: NotebookNotary | None = None,
          progress: Callable[[Had], list[Change]] | None = None) -> Report:
    """Reconcile the output folder with the plan, then apply (unless `dry_run`), then move the
    learner's progress with the videos the catalog moved (`progress`)."""
    from companion.builder.writer import sync

    report = sync(planned, target, dry_run=dry_run, trust=trust, text=text, notary=notary, progress=progress)
    report.out, report.notebooks, report.twins = target, len(planned), text
    return report


@contextmanager
def _locked(folder: Path, what: str) -> Iterator[None]:
    """Run the block as the only build (or import) in `folder`, after a bounded wait for another."""
    try:
        lock = atomic.locked(folder)
        lock.__enter__()
    except atomic.Busy as e:
        raise BusyError(f"{folder}: another {what} is running (pid {e.pid or '?'}); nothing was written. "
                        f"Wait for it to finish, then run this again") from None
    except OSError as e:
        raise BuildError(f"{folder}: cannot make or open the folder ({e.strerror or e}); nothing was written") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _check_out(out: Path, catalog: Path, lessons: Path) -> None:
    """Refuse an output folder the build would swallow or clobber other files in: a file, a
    folder holding the catalog or the lesson extras, or one inside the extras."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: a file is there, not a folder; give the folder the notebooks go in")
    target = out.resolve()
    for what, inside in (("the catalog", catalog), ("the lesson extras", lessons)):
        where = inside.resolve()
        if target == where or target in where.parents:
            raise UsageError(f"--out {out}: it holds {what} ({inside}), and the build treats every notebook in "
                             f"its output folder as its own; choose a folder of their own (default: "
                             f"{default_out(catalog)})")
    if lessons.resolve() in target.parents:
        raise UsageError(f"--out {out}: it is inside the lesson extras ({lessons}); choose another folder")


def validate(catalog: str | Path = CATALOG_NAME) -> str:
    """Check the catalog and its lesson extras; a one-line summary, or `CatalogError` naming each problem."""
    from companion.builder import extras

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
    (atomically) only when it changes and only when the result is a valid catalog; imports into
    one catalog run one at a time, so none is lost."""
    path, index = Path(catalog), Path(index)
    try:
        text = index.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{index}: cannot read: {e}") from None
    with _locked(path.parent, "import"):
        return _import(index, text, course, path, title)


def _import(index: Path, text: str, course: str, path: Path, title: str | None) -> Imported:
    """`import_index` once it is the only import into `path`: the catalog is read under the lock."""
    from companion.authoring.importer import import_index as import_into

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


@dataclass(frozen=True)
class Resolved:
    """What `resolve` found: an id proposed (with its pages) or the reason there is none, for each
    catalog video without one, and how many proposals were written (`accept`)."""

    catalog: Path
    proposals: list[Proposal]
    left: list[Unresolved]
    written: int


def resolve(source: str | Path | Source, *, catalog: str | Path = CATALOG_NAME, accept: bool = False) -> Resolved:
    """Propose YouTube ids for the catalog's videos that have none, from the pages `source` knows
    (a path: an evidence file, see `companion.evidence.EvidenceFile`); `accept` writes them into the
    catalog with their pages as `evidence` (atomically, only a valid result), else nothing is written."""
    from companion.authoring.evidence import EvidenceFile, propose
    from companion.authoring.evidence import accept as accept_into

    path = Path(catalog)
    pages = EvidenceFile(Path(source)) if isinstance(source, (str, Path)) else source
    load(path)  # a catalog with mistakes is reported as such, before anything is proposed for it
    proposals, left = propose(read_json(path), pages)
    if not accept or not proposals:
        return Resolved(path, proposals, left, 0)
    with _locked(path.parent, "import"):  # the catalog is read again under the lock: no import is lost
        data = read_json(path)
        proposals, left = propose(data, pages)
        written = accept_into(data, proposals)
        problems = problems_of(data)
        if problems:
            raise CatalogError([f"after resolving: {p}" for p in problems])
        if written:
            atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return Resolved(path, proposals, left, written)


def _refuse_broken(before: str, path: Path) -> None:
    """Blame the catalog, not the import, when it was invalid before the import began."""
    problems = problems_of(json.loads(before))
    if problems:
        raise CatalogError(problems + [f"{path}: fix these before importing into it"])


def _check_course_id(course_id: str) -> None:
    from companion.course.checks import schema

    slug = schema()["$defs"]["slug"]
    if not re.search(slug["pattern"], course_id):
        raise UsageError(f"--course: {course_id!r} is not allowed ({slug['description']})")


def problems_of(data: Any) -> list[str]:
    """Every problem of catalog data (schema first, then references), empty when it is valid."""
    from companion.course.catalog import from_data
    from companion.course.checks import schema_problems

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
    from companion.learner.tally import of_course

    cat = load(Path(catalog))  # a command checks what it shows; only kernels trust the build
    ticks = (store or _store()).ticks()
    courses = [cat.course(course)] if course else list(cat.courses.values())
    return [of_course(cat, c, ticks) for c in courses]


def notes(catalog: str | Path = CATALOG_NAME, *, course: str | None = None,
          store: ProgressStore | None = None) -> str:
    """A course's notes (or every course's) as Markdown, by lesson and video, each linking to its moment."""
    from companion.kernel.player import notes_markdown

    cat = load(Path(catalog))
    courses = [cat.course(course)] if course else list(cat.courses.values())
    return notes_markdown(cat, courses, (store or _store()).notes(course))


def answers(catalog: str | Path = CATALOG_NAME, *, course: str | None = None, folder: str | Path | None = None,
            store: ProgressStore | None = None) -> str:
    """Every answer the learner wrote in their lesson notebooks (in `folder`, default: `notebooks/`
    beside the catalog) and every note, by course and lesson, as one Markdown text."""
    from companion.kernel.answers import gather, markdown

    path = Path(catalog)
    cat = load(path)
    if course:
        cat.course(course)  # an unknown course is named before anything is read
    notebooks = Path(folder) if folder is not None else default_out(path)
    return markdown(cat, gather(cat, notebooks, (store or _store()).notes(course), course))


def export_answers(out: str | Path, catalog: str | Path = CATALOG_NAME, *, course: str | None = None,
                   folder: str | Path | None = None, store: ProgressStore | None = None) -> Path:
    """Write `answers(...)` to the Markdown file `out`, whole or not at all; a path that can't take it
    (a folder, a missing folder, a notebook, a database) is refused before anything is read."""
    from companion.learner.store import is_sqlite_file

    target = Path(out)
    if target.is_dir():
        raise UsageError(f"--out {target}: is a folder; give the name of a Markdown file to write")
    if not target.parent.is_dir():
        raise UsageError(f"--out {target}: folder {target.parent} does not exist; nothing was written")
    if target.suffix.lower() == ".ipynb" or is_sqlite_file(target):
        raise UsageError(f"--out {target}: is a notebook or a database, not a Markdown file; nothing was written")
    text = answers(catalog, course=course, folder=folder, store=store)
    try:
        atomic.write_text(target, text)
    except OSError as e:
        raise UsageError(f"--out {target}: cannot write ({e.strerror or e}); nothing was written") from None
    return target


@dataclass(frozen=True)
class Exported:
    """What `export_progress` wrote: the file, the store it came from, what it holds, and each line of
    the store left out because no import could take it back."""

    file: Path
    store: Path
    ticks: int
    positions: int
    notes: int
    left_out: list[str]


def export_progress(out: str | Path, *, store: ProgressStore | None = None) -> Exported:
    """Write every tick, video position, note and review of the progress store to the JSON file `out`,
    whole or not at all; the store itself, its journal or any SQLite file is refused as `out`."""
    from companion.learner import export

    store = store or _store()
    target = Path(out)
    _check_export_target(target, store.path)
    text, left_out = export.write(store)
    try:
        atomic.write_text(target, text)
    except OSError as e:
        raise UsageError(f"{target}: cannot write the export ({e.strerror or e}); nothing was written") from None
    return Exported(target, store.path, sum(1 for _ in store.all()), len(store.positions()), len(store.notes()),
                    left_out)


def _check_export_target(target: Path, store_path: Path) -> None:
    """An export is a new JSON file: never the store itself, its journal, or any SQLite file."""
    from companion.learner.store import is_sqlite_file

    if target.is_dir():
        raise UsageError(f"--export {target}: is a folder; give the name of a file to write")
    if not target.parent.is_dir():
        raise UsageError(f"--export {target}: folder {target.parent} does not exist")
    store_files = {Path(f"{store_path}{suffix}").resolve() for suffix in ("", "-wal", "-shm", "-journal")}
    if target.resolve() in store_files or is_sqlite_file(target):
        raise UsageError(f"--export {target}: is a SQLite database (the progress store is {store_path}); "
                         "nothing was written, give the name of a new .json file")


@dataclass(frozen=True)
class ProgressImported:
    """What `import_progress` merged: the file (as given), the store, how many entries of each kind
    the file offered, and how many of them were newer than the store's and taken."""

    file: str
    store: Path
    taken: int
    ticks: int
    positions: int
    notes: int

    @property
    def offered(self) -> int:
        """Ticks, positions and notes the file held."""
        return self.ticks + self.positions + self.notes


def import_progress(file: str | Path, *, catalog: str | Path = CATALOG_NAME,
                    store: ProgressStore | None = None) -> ProgressImported:
    """Merge a progress export into the store, the newer change of each entry winning; the whole file
    is checked first (against `catalog`'s courses), so a bad one changes nothing."""
    from companion.learner import export

    store = store or _store()
    text = _read_import(Path(file))
    courses = load(Path(catalog)).courses
    try:
        data = export.read_export(text, str(file), courses=courses)
    except ValueError as e:
        raise UsageError(str(e)) from None
    taken = export.merge(store, data)
    return ProgressImported(str(file), store.path, taken, len(data.ticks), len(data.positions), len(data.notes))


def _read_import(path: Path) -> str:
    """An import file's text, its size checked before it is read and read at most MAX_BYTES and one more
    (a device like /dev/zero has no size), so a huge file is refused without filling the memory."""
    from companion.learner.export import MAX_BYTES

    too_big = UsageError(f"{path}: larger than {MAX_BYTES // 2**20} MB; not a progress export, nothing was imported")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise too_big
        with path.open("rb") as f:
            chunks, size = [], 0
            while size <= MAX_BYTES and (chunk := f.read(min(2**20, MAX_BYTES + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    if size > MAX_BYTES:
        raise too_big
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: cannot read: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _store() -> ProgressStore:
    from companion.learner.store import ProgressStore

    return ProgressStore()
