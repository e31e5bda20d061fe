"""Notebook nodes and notebook text as nbformat makes them, without its schema check.

nbformat's `new_*()` helpers validate each node against the notebook JSON schema (planning the
shipped catalog took 1.3–2.3 s that way, ~0.1 s with these), and `nbformat.writes` validates the
whole notebook again (~0.3 ms a notebook). The notebooks a build makes are valid by construction, so
these give the same nodes and byte-for-byte the same text without the check;
tests/test_nodes_identity.py proves it against the installed nbformat.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import nbformat as NBFORMAT, nbformat_minor as NBFORMAT_MINOR
from nbformat.v4.nbjson import writes


def new_markdown_cell(source: str = "", **kwargs: Any) -> NotebookNode:
    cell = NotebookNode(id="", cell_type="markdown", source=source, metadata=NotebookNode())
    cell.update(kwargs)
    return cell


def new_code_cell(source: str = "", **kwargs: Any) -> NotebookNode:
    cell = NotebookNode(id="", cell_type="code", metadata=NotebookNode(), execution_count=None, source=source,
                        outputs=[])
    cell.update(kwargs)
    return cell


def new_output(output_type: str, data: dict | None = None, **kwargs: Any) -> NotebookNode:
    """A `display_data` or `execute_result` output (the only kinds a build saves)."""
    if output_type not in ("display_data", "execute_result"):
        raise ValueError(f"unsupported output type {output_type!r}")
    output = NotebookNode(output_type=output_type, metadata=NotebookNode(), data=NotebookNode())
    if output_type == "execute_result":
        output.execution_count = None
    output.update(kwargs)
    if data is not None:
        output.data = data
    return output


def new_notebook(**kwargs: Any) -> NotebookNode:
    nb = NotebookNode(nbformat=NBFORMAT, nbformat_minor=NBFORMAT_MINOR, metadata=NotebookNode(), cells=[])
    nb.update(kwargs)
    return nb


def dumps(nb: NotebookNode) -> str:
    """The notebook's file text, exactly `nbformat.writes(nb) + "\\n"` minus its schema check (every
    notebook here is nbformat 4, made by this module): `nbformat.v4.writes`, nbformat's own
    serializer. (A copy of it without its deep copy saved 18 ms of a 111-notebook build: not worth
    owning nbformat's on-disk rules; `bench/run.py` prints the figures.)"""
    return writes(nb) + "\n"
