"""A no-op build that does no work: a stamp of a build's inputs and of the files it left.

After a build, `record` writes `.companion-build.json` in the output folder (atomically): content
hashes of the inputs (catalog, `lessons/` extras, the `companion` package's own files), where
nbformat, jupytext and IPython are and their stat, the options and environment that decide the
output, and the size, mtime_ns, ctime_ns and inode of every notebook and Markdown file under the
output folder and (when the build trusted the notebooks) of the trust database. `unchanged`
answers the next build from the stamp alone, without importing nbformat, planning or reading a
notebook, when every one of those is still the same. Any doubt (no stamp, an unreadable one, one
thing different, a file the stamp does not list) means None: the caller does the full build,
which is always right. The cells of the lesson extras a build parsed are kept too (by content hash,
in the user's cache folder), so a full build imports jupytext only for an extra that changed.

Limits: a file changed in the same clock tick as the build's last write, between that write and
`record`, may go unseen (`record` refuses files newer than the build's end); using the notebooks
in JupyterLab updates the trust database, so the next build after that is a full one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion import settings
from companion.builder.report import Report

NAME = ".companion-build.json"
_FORMAT = 1
_LIBRARIES = ("nbformat", "jupytext", "IPython")  # their code decides the bytes (and which extras parse)
_OUTPUT_SUFFIXES = (".ipynb", ".md")


@dataclass(frozen=True)
class Request:
    """One build's inputs as the caller gave them (`twins`, `privacy_enhanced`: None = default)."""

    catalog: Path
    extras: Path
    out: Path
    twins: bool | None
    privacy_enhanced: bool | None

    def key(self) -> dict[str, Any]:
        """Everything the notebooks' bytes depend on, as content hashes and values."""
        return {"format": _FORMAT, "catalog": str(self.catalog.resolve()), "out": str(self.out.resolve()),
                "twins": self.twins, "privacy_enhanced": self.privacy_enhanced,
                "catalog_sha256": _sha256(self.catalog), "extras": _tree_hashes(self.extras),
                "package": _package_hash(), "libraries": _libraries(), "python": sys.version,
                "env": settings.jupyter_paths(), "prefix": sys.prefix}


def unchanged(request: Request, *, trust: bool, writes: bool) -> Report | None:
    """The report of a build that would change nothing, or None when that is not certain.

    `writes`: a real build (not --check or --dry-run); with `trust`, it must also find the
    notebooks signed in the same trust database, untouched since."""
    stamp = _read(request.out / NAME)
    if stamp is None or stamp.get("key") != _jsonable(request.key()):
        return None
    if writes and trust != (stamp.get("trust") is not None):
        return None  # sign what an untrusted build left, or leave unsigned what it would not sign
    if writes and trust and _stats([Path(p) for p in stamp["trust"]["files"]]) != stamp["trust"]["stats"]:
        return None
    if _outputs(request.out) != stamp.get("files"):
        return None
    notebooks = int(stamp["notebooks"])
    return Report(unchanged=int(stamp["unchanged"]), trusted=notebooks if writes and trust else 0, out=request.out,
                  notebooks=notebooks, twins=bool(stamp["text"]))


def begin(request: Request) -> dict[str, Any]:
    """The key to `record` after the build: taken before it reads its inputs, so an input edited
    while it runs leaves no stamp (`record` compares the key again)."""
    key: dict[str, Any] = _jsonable(request.key())
    return key


def parsed_extras(key: dict[str, Any]) -> dict[str, list[Any]]:
    """The cells of the lesson extras this machine's builds parsed (by `extras.cache_key`: suffix and
    content hash), if the same code parsed them: a full build, even into a new folder, then imports
    jupytext only for an extra that changed. In `$XDG_CACHE_HOME/companion/` (default `~/.cache`)."""
    cache = _read(_cache_file())
    if cache is None or cache.get("against") != _parser(key) or not isinstance(cache.get("parsed"), dict):
        return {}
    parsed: dict[str, list[Any]] = cache["parsed"]
    return parsed


def _parser(key: dict[str, Any]) -> dict[str, Any]:
    return {k: key[k] for k in ("format", "package", "libraries", "python")}


def _cache_file() -> Path:
    return settings.cache_home() / "companion" / "parsed-extras.json"


def _keep_parsed(key: dict[str, Any], parsed: dict[str, list[Any]]) -> None:
    """Save what this build parsed (only its current extras), if that is news; a cache that can't be
    written is no error."""
    from companion.builder.extras import cache_key

    current = {cache_key(Path(rel).suffix, sha) for rel, sha in key["extras"].items() if sha}
    keep = {k: v for k, v in parsed.items() if k in current}
    cache = {"against": _parser(key), "parsed": keep}
    if not keep or _read(_cache_file()) == _jsonable(cache):
        return
    from companion.notebook import atomic

    try:
        atomic.write_text(_cache_file(), json.dumps(cache, separators=(",", ":")) + "\n", sync_dir=False)
    except OSError:
        pass


def record(request: Request, key: dict[str, Any], report: Report, *, trust: bool, started_ns: int,
           parsed: dict[str, list[Any]]) -> None:
    """Stamp the output folder after a build (not --check or --dry-run: they write nothing) that
    left it matching the catalog; else remove the stamp. `started_ns`: `time.time_ns()` when the
    build finished writing; a file changed after it (a learner's save) leaves no stamp."""
    _keep_parsed(key, parsed)
    path = request.out / NAME
    if any(c.action == "skip" for c in report.changes) or not request.out.is_dir():
        _remove(path)
        return
    files = _outputs(request.out)
    if any(stat[1] > started_ns for stat in files.values()) or _jsonable(request.key()) != key:
        _remove(path)
        return
    trusted: dict[str, Any] | None = None
    if trust:
        from nbformat.sign import NotebookNotary

        notary = NotebookNotary()
        if notary.db_file == ":memory:":
            _remove(path)
            return
        names = [str(notary.db_file), str(notary.secret_file)]
        trusted = {"files": names, "stats": _stats([Path(n) for n in names])}
    kept = report.unchanged + sum(1 for c in report.changes if c.action in ("add", "update"))
    from companion.notebook import atomic

    stamp = {"key": key, "trust": trusted, "notebooks": report.notebooks, "unchanged": kept,
             "text": report.twins, "files": files}

    atomic.write_text(path, json.dumps(stamp, separators=(",", ":")) + "\n", sync_dir=False)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _read(path: Path) -> dict[str, Any] | None:
    try:
        stamp = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _jsonable(value: Any) -> Any:
    """The value as a stamp read back from JSON holds it (lists for tuples), to compare with one."""
    return json.loads(json.dumps(value))


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _tree_hashes(folder: Path) -> dict[str, str | None]:
    """Every file under `folder` (hidden ones too), by path, with its content hash."""
    found: dict[str, str | None] = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            p = Path(root, name)
            found[p.relative_to(folder).as_posix()] = _sha256(p)
    return found


def _package_hash() -> str:
    """One hash of this package's files: an edited `companion` (an editable install) builds anew."""
    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # companion/, not this folder
    for rel, sha in _tree_hashes(package).items():
        if "__pycache__" not in rel:
            digest.update(f"{rel}\0{sha}\n".encode())
    return digest.hexdigest()


def _libraries() -> dict[str, Any]:
    """Where each library's code is and its stat: an upgrade rewrites it. Found, not imported."""
    from importlib.machinery import PathFinder

    found: dict[str, Any] = {}
    for name in _LIBRARIES:
        spec = PathFinder.find_spec(name)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        found[name] = [str(origin), _stats([origin])] if origin is not None else None
    return found


def _stats(paths: list[Path]) -> list[list[int] | None]:
    out: list[list[int] | None] = []
    for p in paths:
        try:
            s = p.stat()
        except OSError:
            out.append(None)
            continue
        out.append([s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino])
    return out


def _outputs(out: Path) -> dict[str, list[int]]:
    """Size, mtime_ns, ctime_ns and inode of every notebook and Markdown file under `out` and in
    the text twins' folder beside it (not in hidden folders: JupyterLab's checkpoints; a learner's
    save changes the notebook itself)."""
    from companion.course.layout import twin_root

    found: dict[str, list[int]] = {}
    for base in (out, twin_root(out)):
        for root, dirs, names in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if name.endswith(_OUTPUT_SUFFIXES) and not name.startswith("."):
                    p = os.path.join(root, name)
                    try:
                        s = os.stat(p)
                    except OSError:
                        continue
                    found[os.path.relpath(p, out)] = [s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino]
    return found


def now_ns() -> int:
    """The clock `record` compares file times with."""
    return time.time_ns()
