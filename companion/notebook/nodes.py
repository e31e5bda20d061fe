"""Notebook nodes and notebook text as nbformat makes them, without its schema check.

nbformat's `new_*()` helpers validate each node against the notebook JSON schema (planning the
shipped catalog took 1.3–2.3 s that way, ~0.1 s with these), and `nbformat.writes` validates the
whole notebook again and deep-copies it (111 notebooks: ~135 ms; `nbformat.v4.writes`, the copy
without the check, ~65 ms; `writes` here ~30 ms: `python bench/rewrites.py`). The notebooks a build
makes are valid by construction, so these give the same nodes and byte-for-byte the same text
without the check; tests/test_nodes_identity.py proves it against the installed nbformat.
"""

from __future__ import annotations

import json
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import nbformat as NBFORMAT
from nbformat.v4 import nbformat_minor as NBFORMAT_MINOR
from nbformat.v4.nbjson import BytesEncoder


def new_markdown_cell(source: str = "", **kwargs: Any) -> NotebookNode:
    """`nbformat.v4.new_markdown_cell`, unchecked; the id is "" until the caller gives one."""
    cell = NotebookNode(id="", cell_type="markdown", source=source, metadata=NotebookNode())
    cell.update(kwargs)
    return cell


def new_code_cell(source: str = "", **kwargs: Any) -> NotebookNode:
    """`nbformat.v4.new_code_cell`, unchecked; the id is "" until the caller gives one."""
    cell = NotebookNode(id="", cell_type="code", metadata=NotebookNode(), execution_count=None, source=source,
                        outputs=[])
    cell.update(kwargs)
    return cell


def new_output(output_type: str, data: dict[str, Any] | None = None, **kwargs: Any) -> NotebookNode:
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
    """`nbformat.v4.new_notebook`: an empty nbformat 4 notebook, unchecked."""
    nb = NotebookNode(nbformat=NBFORMAT, nbformat_minor=NBFORMAT_MINOR, metadata=NotebookNode(), cells=[])
    nb.update(kwargs)
    return nb


# What nbformat.v4.nbjson.writes does to a (deep) copy before json.dumps: split text into lines
# (rwbase.split_lines) and drop transient keys (rwbase.strip_transient). Here only the containers
# that change are copied.
_SPLIT_MIMES = {"application/javascript", "image/svg+xml"}
_TRANSIENT_NB = ("orig_nbformat", "orig_nbformat_minor", "signature")


def _split_bundle(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.splitlines(True) if isinstance(v, str) and (k.startswith("text/") or k in _SPLIT_MIMES) else v
            for k, v in data.items()}


def _output_on_disk(output: dict[str, Any]) -> dict[str, Any]:
    kind = output.get("output_type")
    if kind in ("execute_result", "display_data") and "data" in output:
        return {**output, "data": _split_bundle(output["data"])}
    if kind == "stream" and isinstance(output.get("text"), str):
        return {**output, "text": output["text"].splitlines(True)}
    return output


def _cell_on_disk(cell: dict[str, Any]) -> dict[str, Any]:
    out = dict(cell)
    if isinstance(out.get("source"), str):
        out["source"] = out["source"].splitlines(True)
    if "attachments" in out:
        out["attachments"] = {name: _split_bundle(bundle) for name, bundle in out["attachments"].items()}
    if out["cell_type"] == "code":
        out["outputs"] = [_output_on_disk(o) for o in out["outputs"]]
    if "trusted" in out["metadata"]:
        out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "trusted"}
    return out


def writes(nb: dict[str, Any]) -> str:
    """`nbformat.writes(nb)` for a v4 notebook, without validating it."""
    disk = dict(nb)
    disk["metadata"] = {k: v for k, v in nb["metadata"].items() if k not in _TRANSIENT_NB}
    disk["cells"] = [_cell_on_disk(c) for c in nb["cells"]]
    return json.dumps(disk, cls=BytesEncoder, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)


def dumps(nb: NotebookNode) -> str:
    """The notebook's file text: exactly `nbformat.writes(nb) + "\\n"`, minus its schema check
    (every notebook here is nbformat 4, made by this module)."""
    return writes(nb) + "\n"
