"""Lesson extras: cells an author writes for one lesson, as a jupytext text file beside the catalog.

`lessons/<course-id>/<lesson-id>.md` (MyST or jupytext Markdown) or `.py` (percent script) holds
markdown and code cells that `companion build` places in that lesson's notebook, in a "Worked example"
section before "Reflect". Unlike catalog text, an extra is the author's own markdown and Python and
reaches the notebook as written: it is part of the repository, like the code of `companion` itself.

A cell's id comes from its position in the file (`extra-3`) unless the author names it with an `id`
in the cell's options (`+++ {"id": "counts"}`, `# %% id="counts"`, `:id: counts`), which keeps a
learner's notes beside it when cells are inserted above it. Every mistake (a file for a course or
lesson the catalog doesn't have, a file that can't be read or parsed, a code cell that isn't
Python) is reported with its file, and the line where one is known, as a `CatalogError`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from companion.course.catalog import Catalog
from companion.errors import CatalogError

FOLDER = "lessons"
SUFFIXES = (".md", ".py")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_AT_LINE = re.compile(r"\bat line (\d+)\b")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_MARKDOWN_FORMAT = re.compile(r"^\s*format_name:\s*markdown\s*$", re.M)


@dataclass(frozen=True)
class ExtraCell:
    """One cell of a lesson extra: markdown or Python, as the author wrote it, under a stable `key`."""

    kind: str  # markdown | code
    key: str  # the author's id, or the cell's 1-based position in the file
    source: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extra:
    """A lesson's worked example: the cells of `lessons/<course>/<lesson>.md` or `.py`, in the file's order."""

    course: str
    lesson: str
    source: PurePosixPath  # relative to the catalog's folder: lessons/<course>/<lesson>.md
    cells: tuple[ExtraCell, ...]


def folder_of(catalog_path: Path | None) -> Path:
    """Where a catalog's extras live: `lessons/` beside it."""
    return (Path(catalog_path).parent if catalog_path is not None else Path(".")) / FOLDER


def load(catalog: Catalog, folder: Path | None = None, *,
         parsed: dict[str, list[Any]] | None = None) -> dict[tuple[str, str], Extra]:
    """Every extra under `folder` (default: `lessons/` beside the catalog), keyed by (course, lesson).
    `parsed`: the cells of files read before, by `cache_key` (see `read`).

    Raises `CatalogError` listing every problem: a file no lesson would show is a mistake too."""
    folder = Path(folder) if folder is not None else folder_of(catalog.path)
    if not folder.is_dir():
        return {}
    problems: list[str] = []
    found: dict[tuple[str, str], Extra] = {}
    for entry in sorted(folder.iterdir()):
        if _hidden(entry):
            continue
        if not entry.is_dir():
            if entry.name.lower() != "readme.md":
                problems.append(f"{entry}: not an extra; extras go in {folder}/<course-id>/<lesson-id>.md or .py")
            continue
        course = catalog.courses.get(entry.name)
        if course is None:
            problems.append(f'{entry}: no course "{entry.name}" in the catalog{_suggest(entry.name, catalog.courses)}')
            continue
        lesson_ids = [l.id for l in course.lessons]
        for path in sorted(entry.iterdir()):
            if _hidden(path):
                continue
            if path.suffix not in SUFFIXES or path.is_dir():
                problems.append(f"{path}: not an extra; name it <lesson-id>.md (MyST) or <lesson-id>.py "
                                "(percent script)")
                continue
            if path.stem not in lesson_ids:
                problems.append(f'{path}: course "{course.id}" has no lesson "{path.stem}"'
                                f"{_suggest(path.stem, lesson_ids)}")
                continue
            key = (course.id, path.stem)
            if key in found:
                problems.append(f"{path}: lesson {path.stem} already has an extra, {found[key].source}; keep one")
                continue
            try:
                cells = read(path, parsed)
            except ExtraError as e:
                problems += e.problems
                continue
            found[key] = Extra(course.id, path.stem, PurePosixPath(FOLDER, entry.name, path.name), tuple(cells))
    if problems:
        raise CatalogError(problems)
    return found


class ExtraError(CatalogError):
    """An extra file that can't be used; `problems` name the file (and line)."""


def read(path: Path, parsed: dict[str, list[Any]] | None = None) -> list[ExtraCell]:
    """The cells of one extra file, checked; raises `ExtraError`. With `parsed`, a file read before
    (same suffix and bytes: `cache_key`) is not parsed again (no jupytext import), and a new one is
    added to it: `companion.stamp` keeps it between builds."""
    path = Path(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text reads it
    except FileNotFoundError:
        raise ExtraError([f"{path}: no such file" + (" (broken link)" if path.is_symlink() else "")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ExtraError([f"{path}: cannot read: {e}"]) from None
    if parsed is None:
        return reads(text, path)
    key = cache_key(path.suffix, hashlib.sha256(data).hexdigest())
    if key in parsed:
        return [ExtraCell(kind, cell_key, source, tuple(tags)) for kind, cell_key, source, tags in parsed[key]]
    cells = reads(text, path)
    parsed[key] = [[c.kind, c.key, c.source, list(c.tags)] for c in cells]
    return cells


def cache_key(suffix: str, sha256: str) -> str:
    """What `read` files a parsed extra under: its suffix (the format) and its bytes' hash."""
    return f"{suffix}:{sha256}"


def reads(text: str, path: Path) -> list[ExtraCell]:
    """Parse `text` as the jupytext format its suffix names; `path` is for messages."""
    import jupytext
    from jupytext.formats import guess_format

    path = Path(path)
    if path.suffix == ".py":
        if guess_format(text, ".py")[0] != "percent":
            raise ExtraError([f"{path}: no `# %%` cell markers; write a .py extra as a jupytext percent script"])
        fmt = "py:percent"
    else:  # MyST, unless a jupytext header says the file is jupytext Markdown (```python cells)
        header = _FRONT_MATTER.match(text)
        fmt = "md:markdown" if header and _MARKDOWN_FORMAT.search(header.group(0)) else "md:myst"
    try:
        nb = jupytext.reads(text, fmt=fmt)
    except Exception as e:  # jupytext raises many kinds (MystMetadataParsingError, YAML, JSON, ValueError)
        message = " ".join(str(e).split("\n")[0].split())
        line = _AT_LINE.search(message)
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise ExtraError([f"{where}: cannot parse ({type(e).__name__}): {message}"]) from None
    lines = text.splitlines()
    cursor = 0
    problems: list[str] = []
    cells: list[ExtraCell] = []
    keys: dict[str, int] = {}
    for n, cell in enumerate(nb.cells, 1):
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        start = _locate(lines, source, cursor)
        if start is not None:
            cursor = start + len(source.splitlines())
        where = f"{path}:{start + 1}: cell {n}" if start is not None else f"{path}: cell {n}"
        meta = dict(cell.metadata)
        if cell.cell_type not in ("markdown", "code"):
            problems.append(f"{where}: {cell.cell_type} cells are not supported; use markdown or code cells")
            continue
        if "incorrectly_encoded_metadata" in meta:
            problems.append(f"{where}: cannot read the cell options {meta['incorrectly_encoded_metadata']!r}")
            continue
        key = str(meta.get("id", n))
        if not _ID.match(key):
            problems.append(f"{where}: id {key!r} is not allowed; use up to 40 letters, digits, - and _")
            continue
        if key in keys:
            problems.append(f"{where}: id {key!r} is also used by cell {keys[key]}")
            continue
        keys[key] = n
        tags = meta.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append(f"{where}: tags must be a list of strings")
            continue
        if cell.cell_type == "code":
            error = _syntax_error(source)
            if error is not None:
                lineno, msg = error
                at = f"{path}:{start + lineno}: cell {n}" if start is not None else f"{where}, line {lineno}"
                problems.append(f"{at}: not valid Python: {msg}")
                continue
        elif not source.strip():
            continue  # an empty markdown cell shows nothing
        cells.append(ExtraCell(cell.cell_type, key, source, tuple(tags)))
    if not problems and not cells:
        problems.append(f"{path}: no cells; write markdown and code cells, or delete the file")
    if problems:
        raise ExtraError(problems)
    return cells


def _hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__pycache__"


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _locate(lines: list[str], source: str, start: int) -> int | None:
    """Index of the first line of `source` in the file at or after `start`, when it appears verbatim."""
    block = source.splitlines()
    if not block:
        return None
    for i in range(start, len(lines) - len(block) + 1):
        if lines[i] == block[0] and lines[i:i + len(block)] == block:
            return i
    return None


def _syntax_error(source: str) -> tuple[int, str] | None:
    """(line in the cell, message) of a syntax error, after IPython's own rewriting of `%magics`.
    Plain Python is read as it is: IPython (~0.1 s to import and run) is asked only about the rest."""
    import ast

    try:
        ast.parse(source, mode="exec")
        return None
    except SyntaxError:
        pass
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        ast.parse(TransformerManager().transform_cell(source), mode="exec")
    except SyntaxError as e:
        return (e.lineno or 1), e.msg
    return None
