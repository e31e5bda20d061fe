"""`companion`: import indexes, validate the catalog, build notebooks, show progress.

Exit codes: 0 fine, 1 `build --check` found stale notebooks, 2 a mistake in the input (the
message names the place), never a traceback for a user's mistake.
"""

from __future__ import annotations

import sys

# jsonschema (through nbformat) imports rfc3987_syntax for IRI formats nobody here checks; it
# builds a grammar at import and costs ~2 s per command. Blocking it makes that import fail,
# which jsonschema handles by leaving the "iri" format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
# The same for the libraries behind jsonschema's other format checks (~0.1 s of imports, arrow
# among them): no schema checked here (the catalog's, nbformat's) uses a format checker.
# jupytext (lesson extras, text twins) imports its contents managers, and with them all of
# jupyter_server (~0.2 s), at import; the CLI only converts text. Blocked the same way: jupytext
# catches the ImportError. `companion lab` starts JupyterLab in a new process, which has them.
for _unused in ("isoduration", "rfc3986_validator", "rfc3339_validator", "rfc3987", "fqdn", "webcolors", "jsonpointer",
                "uri_template", "jupytext.sync_contentsmanager", "jupytext.async_contentsmanager"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from . import __version__, atomic  # noqa: E402
from .catalog import CATALOG_NAME, CatalogError, load, read_json  # noqa: E402


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


def _catalog_path(arg: str | None) -> Path:
    return Path(arg) if arg else Path(CATALOG_NAME)


def cmd_validate(args: argparse.Namespace) -> int:
    from . import extras

    cat = load(_catalog_path(args.catalog))
    lesson_extras = extras.load(cat, extras.folder_of(_catalog_path(args.catalog)))
    lessons = sum(len(c.lessons) for c in cat.courses.values())
    print(f"{_catalog_path(args.catalog)}: valid — {len(cat.courses)} courses, {lessons} lessons, "
          f"{len(cat.videos)} videos, {len(cat.resources)} resources"
          + (f", {len(lesson_extras)} lesson extras" if lesson_extras else ""))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .importer import import_index

    path = _catalog_path(args.catalog)
    index = Path(args.index)
    try:
        text = index.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{index}: cannot read: {e}") from None
    data = read_json(path) if path.exists() else {"$schema": "companion/catalog.schema.json", "series": [],
                                                    "videos": [], "resources": [], "courses": []}
    _check_course_id(args.course)
    before = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        import_index(data, text, course_id=args.course, name=index.name, title=args.title)
    except (TypeError, KeyError, AttributeError, ValueError):
        _refuse_broken(before, path)  # the importer met a catalog it cannot read
        raise
    load_problems = _problems_of(data)
    if load_problems:
        _refuse_broken(before, path)
        raise CatalogError([f"after importing {index.name}: {p}" for p in load_problems])
    after = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if after == before:
        print(f"{path}: unchanged (course {args.course} already matches {index.name})")
        return 0
    atomic.write_text(path, after)
    course = next(c for c in data["courses"] if c["id"] == args.course)
    print(f"{path}: course {args.course} imported from {index.name} — {len(course['lessons'])} lessons")
    return 0


def _refuse_broken(before: str, path: Path) -> None:
    """Blame the catalog, not the import, when it was invalid before the import began."""
    problems = _problems_of(json.loads(before))
    if problems:
        raise CatalogError(problems + [f"{path}: fix these before importing into it"])


def _check_course_id(course_id: str) -> None:
    import re

    from .catalog import schema

    slug = schema()["$defs"]["slug"]
    if not re.search(slug["pattern"], course_id):
        raise UsageError(f"--course: {course_id!r} is not allowed ({slug['description']})")


def _problems_of(data: dict) -> list[str]:
    from .catalog import from_data, schema_problems

    problems = schema_problems(data)
    if problems:
        return problems
    try:
        from_data(data)
    except CatalogError as e:
        return e.problems
    return []


def cmd_build(args: argparse.Namespace) -> int:
    from . import extras
    from .builder import BuildError, plan
    from .writer import has_twins, stale, sync

    path = _catalog_path(args.catalog)
    cat = load(path)
    lesson_extras = extras.load(cat, extras.folder_of(path))
    out = Path(args.out) if args.out else path.parent / "notebooks"
    try:
        planned = plan(cat, True if args.nocookie else None, lesson_extras)
    except BuildError as e:
        raise UsageError(str(e)) from None
    text = getattr(args, "text", None)
    if text is None:  # neither --text nor --no-text: keep twins where there are some
        text = has_twins(out)
    if args.check:
        problems = stale(planned, out, text=text)
        for c in problems:
            print(f"stale: {out / c.path}: {c.reason}")
        if problems:
            print(f"{len(problems)} file(s) out of date; run `companion build{' --text' if text else ''}`",
                  file=sys.stderr)
            return 1
        print(f"{out}: {len(planned)} notebooks{' and their text twins' if text else ''} match {path}")
        return 0
    report = sync(planned, out, dry_run=args.dry_run, trust=not args.no_trust, text=text)
    verb = "would" if args.dry_run else ""
    for c in report.changes:
        print(f"{verb + ' ' if verb else ''}{c.action} {out / c.path}: {c.reason}")
    summary = (f"{out}: {report.count('add')} added, {report.count('update')} updated, "
               f"{report.count('remove')} removed, {report.count('archive')} archived, {report.unchanged} unchanged")
    print(("dry run, nothing written — " if args.dry_run else "") + summary
          + (f"; {report.trusted} trusted" if report.trusted else ""))
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    from .store import ProgressStore, read_export

    store = ProgressStore()
    if args.export:
        atomic.write_text(Path(args.export), store.export_json())
        print(f"exported {sum(1 for _ in store.all())} ticks from {store.path} to {args.export}")
        return 0
    if args.import_:
        try:
            text = Path(args.import_).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{args.import_}: cannot read: {e}") from None
        try:
            ticks = read_export(text, args.import_)
        except ValueError as e:
            raise UsageError(str(e)) from None
        changed = store.merge(ticks)
        print(f"merged {args.import_} into {store.path}: {changed} of {len(ticks)} ticks were newer and taken")
        return 0
    from .kernel import course_progress

    cat = load(_catalog_path(args.catalog))  # a command checks what it shows; only kernels trust the build
    ticks = store.ticks()
    courses = [cat.course(args.course)] if args.course else list(cat.courses.values())
    for course in courses:
        rows = course_progress(cat, course, ticks)
        done, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
        print(f"{course.title} [{course.id}]  {_bar(done, total)}  {done}/{total}")
        for phase_title, part in _by_phase(course, rows):
            if phase_title:
                d, t = sum(r[1] for r in part), sum(r[2] for r in part)
                print(f"  {phase_title:<56.56} {_bar(d, t)}  {d}/{t}")
            for lesson, d, t in part:
                label = f"{lesson.number}. {lesson.title}" if lesson.number is not None else lesson.title
                print(f"    {label:<54.54} {_bar(d, t)}  {d}/{t}")
    return 0


def _by_phase(course, rows):
    groups: list[tuple[str, list]] = []
    for row in rows:
        phase = course.phase_of(row[0])
        title = phase.title if phase else ""
        if not groups or groups[-1][0] != title:
            groups.append((title, []))
        groups[-1][1].append(row)
    return groups


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = width * done // total if total else 0
    return "[" + "#" * filled + "." * (width - filled) + "]"


def cmd_lab(args: argparse.Namespace) -> int:
    """Build, then hand the terminal to JupyterLab on the course index."""
    code = cmd_build(argparse.Namespace(catalog=args.catalog, out=args.out, check=False, dry_run=False,
                                        nocookie=False, no_trust=False))
    if code:
        return code
    out = Path(args.out) if args.out else _catalog_path(args.catalog).parent / "notebooks"
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={out.parent.resolve()}",
           f"{out.name}/index.ipynb", *args.lab_args]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args.lab_args:
        cmd.append("--allow-root")
    os.execv(sys.executable, cmd)
    return 0  # not reached


def cmd_hub_service(args: argparse.Namespace) -> int:
    """Run the JupyterHub service (needs the `hub` extra); the hub starts it, see companion.hub.config."""
    try:
        from .hub import service
    except ImportError as e:
        raise UsageError(f"hub-service needs the hub extra (pip install 'course-companion[hub]'): {e}") from None
    try:
        settings = service.settings_from(args.db, _catalog_path(args.catalog), args.instructors)
    except service.ServiceError as e:
        raise UsageError(str(e)) from None
    service.serve(settings)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="companion", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def with_catalog(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--catalog", help=f"catalog file (default: ./{CATALOG_NAME})")
        return sp

    v = with_catalog(sub.add_parser("validate", help="check the catalog; one line per problem"))
    v.set_defaults(func=cmd_validate)
    i = with_catalog(sub.add_parser("import", help="add or replace a course from a markdown video index"))
    i.add_argument("index", help="markdown file: ## series headings with | Title | Lesson | Link | tables")
    i.add_argument("--course", required=True, help="id of the course to add or replace")
    i.add_argument("--title", help="course title (default: the index's # heading)")
    i.set_defaults(func=cmd_import)
    b = with_catalog(sub.add_parser("build", help="write one notebook per lesson, keeping learner work"))
    b.add_argument("--out", help="output folder (default: notebooks/ beside the catalog)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 naming notebooks that are out of date")
    b.add_argument("--dry-run", action="store_true", help="list what would be added, changed or removed, and why")
    b.add_argument("--nocookie", action="store_true", help="embed from youtube-nocookie.com (privacy-enhanced)")
    b.add_argument("--no-trust", action="store_true", help="do not mark the written notebooks trusted")
    b.add_argument("--text", action="store_true", default=None,
                   help="also keep a Markdown text twin of each notebook beside it, for review "
                        "(the default once the output folder has twins); with --check, check them too")
    b.add_argument("--no-text", dest="text", action="store_false", help="leave text twins alone")
    b.set_defaults(func=cmd_build)
    g = with_catalog(sub.add_parser("progress", help="show, export or import learner progress"))
    g.add_argument("--course", help="only this course")
    g.add_argument("--export", metavar="FILE", help="write all progress to a JSON file")
    g.add_argument("--import", dest="import_", metavar="FILE", help="merge a JSON export (newer ticks win)")
    g.set_defaults(func=cmd_progress)
    lab = with_catalog(sub.add_parser("lab", help="build, then open JupyterLab on the courses (other options go to jupyter lab)"))
    lab.add_argument("--out", help="output folder (default: notebooks/ beside the catalog)")
    lab.set_defaults(func=cmd_lab)
    hs = with_catalog(sub.add_parser("hub-service", help="the JupyterHub service collecting a class's progress"))
    hs.add_argument("--db", default=os.environ.get("COMPANION_HUB_DB", "sqlite:///companion-hub.sqlite"),
                    help="SQLAlchemy URL (default: $COMPANION_HUB_DB or sqlite:///companion-hub.sqlite)")
    hs.add_argument("--instructors", action="append", default=[], metavar="GROUP",
                    help="hub group whose members see the class (hub admins always do); repeatable")
    hs.set_defaults(func=cmd_hub_service)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args, rest = p.parse_known_args(argv)
    if rest and args.command != "lab":
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    args.lab_args = rest
    from .store import StoreError

    try:
        return args.func(args)
    except CatalogError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        print(f"{len(e.problems)} problem(s); nothing was written", file=sys.stderr)
        return 2
    except (UsageError, StoreError) as e:
        print(f"companion: {e}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"companion: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
