"""Read a notebook file whatever shape it is in, recovering what a learner wrote.

The build meets files it did not write: cut short by a crash of another tool, left with git
conflict markers by a `git pull`, saved as nbformat 3, not UTF-8, a JSON string, `metadata` a
list, cells without metadata or ids. `read` turns any of them into a notebook-shaped dict (cells
are dicts with an id, a type, a source string and a metadata dict) plus the reason the file could
not be used as it is; the writer keeps the bytes aside and merges the recovered cells.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

_MARKERS = re.compile(r"^(<{7}|\|{7}|={7}|>{7})(?: .*)?$")


@dataclass
class Read:
    """A notebook file as read: `nb` (as it is when well-formed; else what could be recovered, or
    None) and `problem` (None when the file was a well-formed notebook)."""

    nb: dict[str, Any] | None
    problem: str | None = None


def read(data: bytes, *, schema: bool = True) -> Read:
    """`data` as a notebook; without `schema`, a file that parses as a JSON object is returned as
    it is, unchecked (enough to learn which lesson it is for: `checked` finishes the job)."""
    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append(f"not UTF-8 (byte {data[e.start]:#04x} at offset {e.start})")
        text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if any(_MARKERS.match(line) for line in text.splitlines()):
        text = ours(text)
        problems.append("git conflict markers (your side of the conflict was used)")
    try:
        raw: Any = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        where = f" at line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
        problems.append(f"not valid JSON{where}")
        raw = {"cells": _complete_cells(text)}
    if not problems and isinstance(raw, dict):
        return checked(Read(raw)) if schema else Read(raw)
    nb = normalize(raw, problems)
    return Read(nb, "; ".join(dict.fromkeys(problems)))


def checked(r: Read) -> Read:
    """`r` (from `read` without `schema`) checked against nbformat's schema."""
    if r.problem is not None or r.nb is None:
        return r
    problems = _invalid(r.nb)
    if not problems:
        return r  # a well-formed notebook, used as it is
    return Read(normalize(r.nb, problems), "; ".join(dict.fromkeys(problems)))


def _invalid(raw: dict[str, Any]) -> list[str]:
    """What makes a notebook of the right shape one JupyterLab would refuse (nbformat's schema)."""
    from nbformat import ValidationError, validator

    if not isinstance(raw.get("nbformat_minor"), int) or raw.get("nbformat") != 4:
        return ["no nbformat version 4"]
    cells = raw.get("cells")
    ids = [c.get("id") for c in cells if isinstance(c, dict) and c.get("id")] if isinstance(cells, list) else []
    if len(set(map(str, ids))) < len(ids):
        return ["two cells share an id"]  # (nbformat's check would renumber them in place)
    try:
        with warnings.catch_warnings():  # a missing id is the merge's to match, not a warning's
            warnings.simplefilter("ignore")
            validator.validate(copy.deepcopy(raw))  # (it fills in missing ids in place)
    except ValidationError as e:
        return [f"not a valid notebook ({str(e.message)[:200]})"]
    except (TypeError, KeyError, AttributeError, ValueError):  # nbformat's own checks trip on some shapes
        return ["not a valid notebook"]
    return []


def ours(text: str) -> str:
    """`text` with each git conflict resolved to its first side ("ours": the learner's copy when
    a `git pull` of rebuilt notebooks conflicts with their answers)."""
    out, state = [], "both"
    for line in text.splitlines(keepends=True):
        m = _MARKERS.match(line.rstrip("\r\n"))
        kind = m.group(1)[0] if m else None
        if kind == "<":
            state = "ours"
        elif kind == "|" and state == "ours":
            state = "base"
        elif kind == "=" and state in ("ours", "base"):
            state = "theirs"
        elif kind == ">" and state == "theirs":
            state = "both"
        elif state in ("both", "ours"):
            out.append(line)
    return "".join(out)


def _complete_cells(text: str) -> list[Any]:
    """The cells of a notebook cut short that were complete before the cut."""
    start = re.search(r'"(cells|worksheets)"\s*:\s*\[', text)
    if not start:
        return []
    decoder, i = json.JSONDecoder(), start.end()
    cells: list[Any] = []
    if start.group(1) == "worksheets":
        inner = re.compile(r'"cells"\s*:\s*\[').search(text, i)
        if not inner:
            return []
        i = inner.end()
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        try:
            cell, i = decoder.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError):
            return cells
        cells.append(cell)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def normalize(raw: Any, problems: list[str]) -> dict[str, Any] | None:
    """A notebook-shaped dict from whatever JSON a file held; each way it was off goes to `problems`."""
    if not isinstance(raw, dict):
        kind = {str: "a JSON string", list: "a JSON list", type(None): "null"}.get(type(raw), "a JSON value")
        problems.append(f"not a notebook ({kind})")
        if isinstance(raw, str) and raw.strip():
            return {"metadata": {}, "cells": [_cell({"cell_type": "markdown", "source": raw}, 0)]}
        return None
    cells: Any = raw.get("cells")
    if raw.get("nbformat", 4) != 4 or "worksheets" in raw:
        problems.append(f"nbformat {raw.get('nbformat', '?')} (this version writes nbformat 4)")
        sheets = raw.get("worksheets")
        if isinstance(sheets, list):
            cells = [c for s in sheets if isinstance(s, dict) and isinstance(s.get("cells"), list) for c in s["cells"]]
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict):
        problems.append(f"its metadata is {type(metadata).__name__}, not an object")
        metadata = {}
    if not isinstance(cells, list):
        problems.append("it has no list of cells")
        cells = []
    out, odd = [], []
    for n, c in enumerate(cells):
        if isinstance(c, dict) and not _text(c.get("source", c.get("input", ""))).strip() and not isinstance(
                (c.get("metadata") or {}).get("companion") if isinstance(c.get("metadata"), dict) else None, dict):
            continue  # an empty cell of nobody's: nothing to recover
        if not isinstance(c, dict):
            odd.append(n)
            if isinstance(c, str) and c.strip():
                out.append(_cell({"cell_type": "markdown", "source": c}, n))
            continue
        if not isinstance(c.get("metadata"), dict) or not isinstance(c.get("source", c.get("input", "")), (str, list)):
            odd.append(n)
        out.append(_cell(c, n))
    if odd:
        more = f" and {len(odd) - 1} more" if len(odd) > 1 else ""
        problems.append(f"cell {odd[0]}{more} not of the right shape (no metadata, or source not text)")
    return {"metadata": metadata, "cells": out, "nbformat": 4, "nbformat_minor": 5}


def _cell(c: dict[str, Any], n: int) -> dict[str, Any]:
    """What a damaged cell still tells, as a valid cell: its type, id (when it is a valid one),
    source and metadata; outputs are left out (running the cell makes them again)."""
    kind = c.get("cell_type")
    kind = kind if kind in ("markdown", "code", "raw") else ("markdown" if kind == "heading" else "raw")
    source = _text(c.get("source", c.get("input", "")))
    if c.get("cell_type") == "heading" and isinstance(c.get("level"), int):
        source = "#" * c["level"] + " " + source
    metadata = c["metadata"] if isinstance(c.get("metadata"), dict) else {}
    cell: dict[str, Any] = {"cell_type": kind, "metadata": _json_safe(metadata), "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    if isinstance(c.get("id"), str) and _ID.match(c["id"]):
        cell["id"] = c["id"]
    return cell


_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _json_safe(meta: dict[str, Any]) -> dict[str, Any]:
    """Cell metadata kept only when nbformat would accept it as it is: a dict of str keys."""
    return meta if all(isinstance(k, str) and k for k in meta) else {}
