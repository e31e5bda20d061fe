"""A lesson in the JupyterLite site (`companion site`) brought up to the site's latest build.

JupyterLite keeps a notebook the learner saved in the browser (IndexedDB), and that copy hides the
same path in a newer deployment (jupyterlite#1067). When a lesson runs, the kernel compares its
saved copy with the deployed file by the build's stamp; after a new build it writes the deployed
notebook with the learner's work put back by the build's own `merge` over the saved copy, and the
tab reloads it and runs it again. `open_lesson` calls it where $COMPANION_SITE is set (the site's
kernel config sets it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import anywidget
import traitlets as t

from companion.course.catalog import Course, Lesson
from companion.course.layout import Layout

DRIVE = Path("/drive")  # where JupyterLite's kernel sees the site's files


def _stamp(nb: dict[str, Any]) -> Any:
    return nb.get("metadata", {}).get("companion", {}).get("built")


def _deployed(rel: PurePosixPath) -> dict[str, Any] | None:
    """The notebook at `rel` as the site now serves it, past any copy the browser keeps."""
    import js  # type: ignore[import-not-found]  # Pyodide's bridge to the page
    from pyodide.http import open_url  # type: ignore[import-not-found]

    base = str(js.location.href).split("/extensions/")[0]
    try:
        return json.loads(open_url(f"{base}/files/{rel}?fresh={os.urandom(4).hex()}").read())  # type: ignore[no-any-return]
    except Exception:  # offline, or the file left the site: the saved copy stays as it is  # noqa: BLE001
        return None


def updated(path: Path) -> bool:
    """Bring the notebook at `path` (under /drive) up to the deployed build, keeping the learner's
    work; True when it was rewritten."""
    import nbformat

    from companion.notebook.merge import merge
    from companion.notebook.nodes import dumps

    try:
        mine = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    new = _deployed(PurePosixPath(path.relative_to(DRIVE).as_posix()))
    if new is None or _stamp(new) is None or _stamp(new) == _stamp(mine):
        return False
    path.write_text(dumps(merge(nbformat.from_dict(new), mine)), encoding="utf-8")
    return True


class Reload(anywidget.AnyWidget):
    """Reloads the notebook it is shown in from the file, then runs it again."""

    _esm = t.Unicode("""
export default { render({ el }) {
  const app = window.jupyterapp, node = el.closest('.jp-NotebookPanel');
  const panel = app && [...app.shell.widgets('main')].find(w => w.node === node && w.context);
  el.textContent = 'This lesson was updated with the course; your answers are kept. Reloading it…';
  if (panel) { panel.context.revert().then(() => app.commands.execute('notebook:run-all-cells')); }
} };""").tag(sync=True)


def refresh(course: Course, lesson: Lesson) -> None:
    """After a new build of the site: the lesson's notebook rewritten (`updated`) and shown a
    widget that reloads its tab; when nothing changed, nothing happens."""
    if updated(DRIVE / Layout(course).path(lesson)):
        from IPython.display import display

        display(Reload())
