"""A lesson in the JupyterLite site (`companion site`) brought up to the site's latest build.

JupyterLite keeps a notebook the learner saved in the browser (IndexedDB), and that copy hides the
same path in a newer deployment (jupyterlite#1067). When a lesson runs, the kernel compares its
saved copy with the deployed file by the build's stamp; after a new build the tab writes the deployed
notebook with the learner's work put back by the build's own `merge` over the saved copy (unsaved
work saved first and merged too), reloads it and runs it again. `open_lesson` calls it where
$COMPANION_SITE is set (the site's kernel config sets it).
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


def updated(path: Path) -> Any:
    """The notebook at `path` (under /drive) as the deployed build makes it, with the learner's saved
    work put back by the build's merge; None when the saved copy is that build's already."""
    import nbformat

    from companion.notebook.merge import merge

    try:
        mine = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    new = _deployed(PurePosixPath(path.relative_to(DRIVE).as_posix()))
    if new is None or _stamp(new) is None or _stamp(new) == _stamp(mine):
        return None
    return merge(nbformat.from_dict(new), mine)


class Reload(anywidget.AnyWidget):
    """Brings the tab it is shown in up to the new build. The merge took the work the tab last saved:
    a tab holding unsaved work saves it first and runs the lesson again, so the merge takes that too
    (once per build and tab); then the merged notebook is written, the tab reloaded from it and run.
    The tab writes the file, not the kernel: a file changed under a tab makes its next save ask."""

    notebook = t.Unicode().tag(sync=True)  # the merged notebook, as JSON
    built = t.Unicode().tag(sync=True)  # the new build's seal

    _esm = t.Unicode("""
export default { async render({ model, el }) {
  const app = window.jupyterapp, node = el.closest('.jp-NotebookPanel');
  const panel = app && [...app.shell.widgets('main')].find(w => w.node === node && w.context);
  if (!panel) { el.textContent = 'This lesson was updated with the course: reload the page to see it.'; return; }
  const ctx = panel.context, once = 'companion-saved-before-' + model.get('built') + ':' + ctx.path;
  if (ctx.model.dirty && !sessionStorage.getItem(once)) {
    sessionStorage.setItem(once, '1');
    el.textContent = 'This lesson was updated with the course. Saving your work first…';
    await ctx.save();
    await app.commands.execute('notebook:run-all-cells');
    return;
  }
  el.textContent = 'This lesson was updated with the course; your answers are kept. Reloading it…';
  await app.serviceManager.contents.save(ctx.path,
    { type: 'notebook', format: 'json', content: JSON.parse(model.get('notebook')) });
  await ctx.revert();
  await app.commands.execute('notebook:run-all-cells');
} };""").tag(sync=True)


def refresh(course: Course, lesson: Lesson) -> None:
    """After a new build of the site: a widget that brings the lesson's tab up to it (`Reload`);
    when the saved copy is that build's, nothing happens."""
    merged = updated(DRIVE / Layout(course).path(lesson))
    if merged is not None:
        from IPython.display import display

        display(Reload(notebook=json.dumps(merged), built=str(_stamp(merged))))
