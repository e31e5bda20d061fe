"""`companion`: import indexes, validate the catalog, build notebooks, show progress.

The command line parses, calls the library API (`companion.build`, ...) and prints. Exit codes:
0 fine, 1 `build --check` found stale notebooks (or a bug: a traceback), 2 a mistake in the input
(a `CompanionError`: the message names the place). Only `CompanionError` is caught.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from companion import __version__, settings
from companion.course.catalog import CATALOG_NAME
from companion.errors import CatalogError, CompanionError, UsageError

if TYPE_CHECKING:
    from companion.builder.report import Report


@contextmanager
def quick_imports() -> Iterator[None]:
    """Run a command without paying for imports nobody on the command line uses, leaving every module
    whole for whoever uses it later in the process (an in-process test among them).

    jsonschema (imported by nbformat) takes `is_valid_syntax` from rfc3987_syntax for its "iri" format
    check, which nothing here runs; importing rfc3987_syntax builds an Earley grammar (~2 s of CPU). A
    stand-in takes its place for good, and imports it when first used: the check still works. jupytext
    imports its contents managers, and with them all of jupyter_server (~0.3 s); a command only converts
    text (`companion lab` starts JupyterLab in a new process). They are kept out while the command runs,
    and a jupytext imported meanwhile is forgotten after it, so the next `import jupytext` is whole."""
    spec = None if _GRAMMAR in sys.modules else importlib.util.find_spec(_GRAMMAR)
    if spec is not None:
        sys.modules[_GRAMMAR] = _Deferred(spec)
    kept_out = [name for name in _CONTENTS_MANAGERS if name not in sys.modules]
    had = set(sys.modules)
    for name in kept_out:
        sys.modules[name] = None  # type: ignore[assignment]  # an ImportError, which jupytext expects
    try:
        yield
    finally:
        for name in kept_out:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
        if kept_out:
            for name in set(sys.modules) - had:
                if name == "jupytext" or name.startswith("jupytext."):
                    del sys.modules[name]


_GRAMMAR = "rfc3987_syntax"
_CONTENTS_MANAGERS = ("jupytext.sync_contentsmanager", "jupytext.async_contentsmanager")


class _Deferred(types.ModuleType):
    """rfc3987_syntax until it is used: `is_valid_syntax` imports the real module at its first call,
    any other name at once."""

    def __init__(self, spec: ModuleSpec):
        super().__init__(spec.name)
        self.__spec__, self.__file__ = spec, spec.origin  # what tools scanning sys.modules ask, answered unloaded
        if spec.submodule_search_locations is not None:  # `from rfc3987_syntax import x` asks for it first
            self.__path__ = list(spec.submodule_search_locations)

        def is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
            return self._real().is_valid_syntax(*args, **kwargs)

        self.is_valid_syntax = is_valid_syntax

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def _real(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return importlib.import_module(self.__name__)


# C0 controls but tab and newline, DEL, C1 (ESC [ and CSI start ANSI sequences), bidi overrides,
# lone surrogates: catalog text holding them is shown as escapes, never acted on by a terminal.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class _Printable(io.TextIOBase):
    """stdout or stderr of a command: every message passes here on its way to the terminal."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(_UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


def _catalog_path(arg: str | None) -> Path:
    return Path(arg) if arg else Path(CATALOG_NAME)


def cmd_validate(args: argparse.Namespace) -> int:
    """`companion validate`: check the catalog and print its summary; `CatalogError` lists each problem."""
    from companion.api import validate

    print(validate(_catalog_path(args.catalog)))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """`companion import`: add or replace a course from a markdown video index, saying whether anything changed."""
    from companion.api import import_index

    done = import_index(args.index, args.course, catalog=_catalog_path(args.catalog), title=args.title)
    name = Path(args.index).name
    if not done.changed:
        print(f"{done.catalog}: unchanged (course {done.course} already matches {name})")
    else:
        print(f"{done.catalog}: course {done.course} imported from {name} — {done.lessons} lessons")
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    """`companion resolve`: the ids proposed for videos named by title only, each with its pages, and
    what stays without one and why; `--accept` writes the proposals into the catalog."""
    from companion.api import resolve

    done = resolve(args.evidence, catalog=_catalog_path(args.catalog), accept=args.accept)
    for p in done.proposals:
        print(f'{p.video}: "{p.title}" is {p.youtube}, named by')
        for page in p.evidence:
            print(f"    {page}")
    for u in done.left:
        print(f'{u.video}: "{u.title}" keeps its search link: {u.why}')
    if args.accept:
        print(f"{done.catalog}: {done.written} id(s) written with their evidence; {len(done.left)} video(s) left")
    elif done.proposals:
        print(f"{len(done.proposals)} id(s) proposed, {len(done.left)} video(s) left; nothing was written: check the "
              f"pages, then run again with --accept to write them into {done.catalog}")
    else:
        print(f"no id proposed, {len(done.left)} video(s) left; nothing was written")
    return 0


def _shown(out: Path | None, rel: object) -> str:
    """A file the build touches, as a plain path (twins are `../text/...` from the output folder)."""
    return os.path.normpath(out / str(rel)) if out is not None else str(rel)


def cmd_build(args: argparse.Namespace) -> int:
    """`companion build`: write one notebook per lesson, keeping learner work; with `--check`, write nothing
    and exit 1 naming the notebooks that are out of date."""
    from companion.api import build

    path = _catalog_path(args.catalog)
    report = build(path, args.out, check=args.check, dry_run=args.dry_run, twins=args.text, trust=not args.no_trust,
                   privacy_enhanced=True if args.nocookie else None)
    out = report.out
    if args.check:
        for c in report.stale:
            print(f"stale: {_shown(out, c.path)}: {c.stale}")
        if report.stale:
            print(f"{len(report.stale)} file(s) out of date; run `companion build{' --text' if report.twins else ''}`",
                  file=sys.stderr)
            return 1
        print(f"{out}: {report.notebooks} notebooks{' and their text twins' if report.twins else ''} match {path}")
        return 0
    _print_changes(report, dry_run=args.dry_run)
    return 0


def _print_changes(report: Report, *, dry_run: bool = False) -> None:
    """Each change with its reason, then the counts."""
    verb = "would " if dry_run else ""
    for c in report.changes:
        print(f"{verb}{c.action} {_shown(report.out, c.path)}: {c.reason}")
    summary = (f"{report.out}: {report.count('add')} added, {report.count('update')} updated, "
               f"{report.count('remove')} removed, {report.count('archive')} archived, {report.unchanged} unchanged"
               + (f", {report.count('aside')} kept aside" if report.count("aside") else ""))
    print(("dry run, nothing written — " if dry_run else "") + summary
          + (f"; {report.trusted} trusted" if report.trusted else ""))


def cmd_progress(args: argparse.Namespace) -> int:
    """`companion progress`: show learner progress per course, phase and lesson, or export it to a JSON file,
    or merge in such an export (newer ticks win)."""
    from companion.api import export_progress, import_progress, progress

    if args.export:
        done = export_progress(args.export)
        for line in done.left_out:
            print(f"left out of the export, no import could take it: {line}")
        print(f"exported {done.ticks} ticks, {done.positions} positions and {done.notes} notes from {done.store} "
              f"to {done.file}")
        return 0
    if args.import_:
        got = import_progress(args.import_, catalog=_catalog_path(args.catalog))
        print(f"merged {got.file} into {got.store}: {got.taken} of {got.offered} ticks, positions and notes "
              f"({got.ticks}, {got.positions}, {got.notes}) were newer and taken")
        return 0
    from companion.learner.tally import label

    for course in progress(_catalog_path(args.catalog), course=args.course):
        total = course.total
        print(f"{course.course.title} [{course.course.id}]  {_bar(total.done, total.total)}  "
              f"{total.done}/{total.total}")
        for phase in course.phases:
            if phase.group.phase:
                d = phase.total
                print(f"  {phase.group.title:<56.56} {_bar(d.done, d.total)}  {d.done}/{d.total}")
            for lesson, d in phase.lessons:
                print(f"    {label(lesson):<54.54} {_bar(d.done, d.total)}  {d.done}/{d.total}")
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    """`companion notes`: print the notes taken at moments of videos, as Markdown; with --answers, the
    learner's answers too (to --out FILE, or printed)."""
    from companion.api import answers, export_answers, notes

    catalog = _catalog_path(args.catalog)
    if args.out and not args.answers:
        raise UsageError("--out: only with --answers (companion notes --answers --out FILE)")
    if args.answers and args.out:
        print(f"wrote your answers and notes to {export_answers(args.out, catalog, course=args.course)}")
    elif args.answers:
        print(answers(catalog, course=args.course), end="")
    else:
        print(notes(catalog, course=args.course), end="")
    return 0


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = width * done // total if total else 0
    return "[" + "#" * filled + "." * (width - filled) + "]"


def lab_command(out: Path, lab_args: list[str]) -> list[str]:
    """`jupyter lab` rooted at the notebooks (not the repository), its printed URL opening the top
    index, with the companion's server extension on (as its installed switch does; named here too, so
    an install without the switch gets it); the learner's options come last, so win."""
    from companion.course.layout import INDEX

    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={out.resolve()}",
           f"--LabApp.default_url=/lab/tree/{INDEX}", "--ServerApp.jpserver_extensions=companion=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in lab_args:
        cmd.append("--allow-root")  # as root JupyterLab exits at once without it
    return cmd + lab_args


def cmd_lab(args: argparse.Namespace) -> int:
    """Build, then hand the terminal to JupyterLab on the course index."""
    from companion.api import build

    report = build(_catalog_path(args.catalog), args.out)
    _print_changes(report)
    assert report.out is not None
    cmd = lab_command(report.out, args.lab_args)
    os.execv(sys.executable, cmd)
    return 0  # not reached


def cmd_site(args: argparse.Namespace) -> int:
    """`companion site`: the JupyterLite site of the built notebooks; `--serve` previews it here."""
    from .builder.site import build_site, serving

    catalog = _catalog_path(args.catalog).resolve()
    out = build_site(catalog, Path(args.out) if args.out else catalog.parent / "site")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6
    print(f"{out}: the site of {catalog.parent / 'notebooks'} ({size:.0f} MB); publish the folder as it is")
    if args.serve:
        with serving(out, args.port) as url:
            print(f"serving it at {url} (Ctrl+C stops)", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
    return 0


def cmd_hub_service(args: argparse.Namespace) -> int:
    """Run the JupyterHub service (needs the `hub` extra); the hub starts it, see companion.hub.config."""
    try:
        from companion.hub import service
    except ImportError as e:
        raise UsageError(f"hub-service needs the hub extra (pip install 'course-companion[hub]'): {e}") from None
    try:
        settings = service.settings_from(args.db, _catalog_path(args.catalog), args.instructors, args.auth_cache)
    except service.ServiceError as e:
        raise UsageError(str(e)) from None
    service.serve(settings)
    return 0


def parser() -> argparse.ArgumentParser:
    """The `companion` command line: a subcommand each, whose `func` is the `cmd_*` that runs it."""
    p = argparse.ArgumentParser(prog="companion", description=(__doc__ or "").split("\n")[0])
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
    r = with_catalog(sub.add_parser("resolve", help="propose YouTube ids, with their evidence, for videos named "
                                                    "by title only"))
    r.add_argument("--evidence", required=True, metavar="FILE",
                   help='JSON file of public pages: {"pages": [{"url", "youtube", "title", "channel"}, ...]}')
    r.add_argument("--accept", action="store_true", help="write the proposed ids and their pages into the catalog")
    r.set_defaults(func=cmd_resolve)
    b = with_catalog(sub.add_parser("build", help="write one notebook per lesson, keeping learner work"))
    b.add_argument("--out", help="output folder (default: notebooks/ beside the catalog)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 naming notebooks that are out of date")
    b.add_argument("--dry-run", action="store_true", help="list what would be added, changed or removed, and why")
    b.add_argument("--nocookie", action="store_true", help="embed from youtube-nocookie.com (privacy-enhanced)")
    b.add_argument("--no-trust", action="store_true", help="do not mark the written notebooks trusted")
    b.add_argument("--text", action="store_true", default=None,
                   help="also keep a Markdown text twin of each notebook in text/ beside the output folder, for review "
                        "(the default once the output folder has twins); with --check, check them too")
    b.add_argument("--no-text", dest="text", action="store_false", help="leave text twins alone")
    b.set_defaults(func=cmd_build)
    g = with_catalog(sub.add_parser("progress", help="show, export or import learner progress"))
    g.add_argument("--course", help="only this course")
    g.add_argument("--export", metavar="FILE", help="write all progress to a JSON file")
    g.add_argument("--import", dest="import_", metavar="FILE", help="merge a JSON export (newer ticks win)")
    g.set_defaults(func=cmd_progress)
    n = with_catalog(sub.add_parser("notes", help="print the notes taken at moments of videos, as Markdown"))
    n.add_argument("--course", help="only this course")
    n.add_argument("--answers", action="store_true",
                   help="with the answers you wrote in your lesson notebooks, by course and lesson")
    n.add_argument("--out", metavar="FILE", help="with --answers: write them to this Markdown file")
    n.set_defaults(func=cmd_notes)
    lab = with_catalog(sub.add_parser(
        "lab", help="build, then open JupyterLab on the courses (other options go to jupyter lab)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build the notebooks, then start JupyterLab on them, opening the top index.",
        epilog="Any other option goes to jupyter lab, e.g.:\n"
               "  --port 8890                 serve on another port\n"
               "  --no-browser                print the URL (it opens the top index) instead of opening a browser\n"
               "  --ip 0.0.0.0                listen beyond this computer\n"
               "  --MappingKernelManager.cull_idle_timeout=3600\n"
               "                              stop the Python of a closed lesson after an hour idle\n"
               "                              (default 900 s = 15 min; 0 = never)\n"
               "  --MappingKernelManager.cull_connected=True\n"
               "                              also of lessons still open in a tab (then run the lesson\n"
               "                              again, twice if the first run only restarts Python)\n"
               "See `jupyter lab --help-all` for all of them."))
    lab.add_argument("--out", help="output folder (default: notebooks/ beside the catalog)")
    lab.set_defaults(func=cmd_lab)
    st = with_catalog(sub.add_parser("site", help="build the JupyterLite site of the notebooks (needs the site extra)"))
    st.add_argument("--out", help="output folder, replaced (default: site/ beside the catalog)")
    st.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1 to preview it")
    st.add_argument("--port", type=int, default=8000, help="with --serve: the port (default 8000)")
    st.set_defaults(func=cmd_site)
    hs = with_catalog(sub.add_parser("hub-service", help="the JupyterHub service collecting a class's progress"))
    hs.add_argument("--db", default=settings.hub_db(),
                    help="SQLAlchemy URL (default: $COMPANION_HUB_DB or sqlite:///companion-hub.sqlite)")
    hs.add_argument("--instructors", action="append", default=[], metavar="GROUP",
                    help="hub group whose members see the class (hub admins always do); repeatable")
    hs.add_argument("--auth-cache", type=int, default=30, metavar="SECONDS",
                    help="how long the hub's answer about a token is kept, 1 to 30 (default 30): a revoked token or "
                         "a group change counts after at most this long")
    hs.set_defaults(func=cmd_hub_service)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; a `CompanionError` is printed and exits 2, anything else is a bug and propagates.
    Everything printed passes `_Printable`: catalog text never drives the terminal."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(sys.stdout), _Printable(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams


def _main(argv: list[str] | None) -> int:
    p = parser()
    args, rest = p.parse_known_args(argv)
    if rest and args.command != "lab":
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    args.lab_args = rest
    try:
        with quick_imports():
            return int(args.func(args))
    except CatalogError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        print(f"{len(e.problems)} problem(s); nothing was written", file=sys.stderr)
        return 2
    except CompanionError as e:
        print(f"companion: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
