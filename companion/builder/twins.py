"""Text twins: each generated notebook as a jupytext Markdown file beside it, for reviewing diffs.

`companion build --text` writes `notebooks/<course>/<name>.md` next to `<name>.ipynb`, from the
generated notebook only (never a learner's work), so a catalog or extra change shows up in review
as plain text. The twin is rebuilt, not merged: edits made to it are overwritten.

Format: jupytext Markdown (`md`), not MyST. MyST drops empty markdown cells on reading, and the
answer cells a learner writes in are empty when generated, so a MyST twin would not read back as
the same cells. Cell ids: jupytext gives cells read from text new random ids (jupytext #735), so
the twin also keeps each cell's id as an `id` entry in the cell's metadata; `reads` puts it back.
Outputs (the saved players) are not in the twin. The header leaves out jupytext's version, so a
jupytext upgrade alone does not make every twin stale.
"""

from __future__ import annotations

import copy
import re

from nbformat import NotebookNode

from companion.notebook.cells import META

FORMAT = "md"
MARKER = "companion_twin"
NOTE = "written by companion build --text; edits here are overwritten"
_FILTER = f"kernelspec,{META},{MARKER},-jupytext.text_representation.jupytext_version"
_HEADER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def dumps(nb: NotebookNode) -> str:
    """The twin's text: the same for the same notebook, whatever jupytext version writes it."""
    import jupytext

    twin = copy.deepcopy(nb)
    twin.metadata = NotebookNode({k: v for k, v in nb.metadata.items() if k in ("kernelspec", META)})
    twin.metadata[MARKER] = NOTE
    twin.metadata["jupytext"] = {"notebook_metadata_filter": _FILTER}
    for cell in twin.cells:
        cell.metadata = NotebookNode({"id": cell.id, **{k: v for k, v in cell.metadata.items() if k != "id"}})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    text: str = jupytext.writes(twin, fmt=FORMAT)
    return text if text.endswith("\n") else text + "\n"


def reads(text: str) -> NotebookNode:
    """A twin as a notebook again, with the ids of the notebook it was written from (no outputs)."""
    import jupytext

    nb: NotebookNode = jupytext.reads(text, fmt=FORMAT)
    for cell in nb.cells:
        if "id" in cell.metadata:
            cell.id = str(cell.metadata.pop("id"))
    nb.metadata.pop(MARKER, None)
    nb.metadata.pop("jupytext", None)
    return nb


def is_twin(text: str) -> bool:
    """Whether a Markdown file is a twin this tool wrote (so a rebuild may replace or remove it)."""
    header = _HEADER.match(text)
    return header is not None and f"\n  {MARKER}:" in "\n" + header.group(1)
