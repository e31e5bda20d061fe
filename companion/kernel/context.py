"""What every widget of a running lesson stands on: the catalog beside the notebooks, a widget
shown with the static form a save keeps (`Static`), and a problem said in words, not a traceback.
Its own module so that the lesson, the self-checks, the review and the answers page share it without
importing each other."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.display import display

from companion.course import catalog as catalog_mod
from companion.course.catalog import Catalog

_cache: dict[Path, tuple[float, Catalog]] = {}


def load_catalog() -> Catalog:
    """The catalog beside the notebooks, re-read when the file changes."""
    path = catalog_mod.find().resolve()
    mtime = path.stat().st_mtime
    if path not in _cache or _cache[path][0] != mtime:
        _cache[path] = (mtime, catalog_mod.load(path, schema=False))
    return _cache[path][1]


@dataclass(frozen=True)
class Problem:
    """A message shown in red where HTML renders and as plain text everywhere else."""

    text: str

    @property
    def data(self) -> str:
        """The HTML, for a widget's `value` (an HTML widget shows it in place)."""
        return self._repr_html_()

    def _repr_html_(self) -> str:
        return f'<div style="color:#b00020"><b>Course companion:</b> {html.escape(self.text)}</div>'

    def __repr__(self) -> str:
        return f"Course companion: {self.text}"


def problem(text: str) -> Problem:
    """What a cell shows instead of a traceback when the catalog or the store can't serve it."""
    return Problem(text)


class Static:
    """A widget shown with a static form beside it: `text/html` and `text/plain` that JupyterLab
    shows where the widget can't be (the notebook reopened without its kernel, GitHub, VS Code).
    JupyterLab saves a live widget as a reference to a kernel object; the server's save hook
    (`companion.server.extension`) keeps only the static form of an output that has one. The form is redrawn when
    the widget changes (`refresh`), so what is saved is what the learner last saw."""

    def __init__(self, widget: Any, form: Callable[[], tuple[str, str]]):
        self.widget, self.form, self._handle = widget, form, None

    def bundle(self) -> dict[str, Any]:
        """The widget's view with the static form beside it, as one output."""
        page, text = self.form()
        return {**self.widget._repr_mimebundle_(), "text/html": page, "text/plain": text}

    def _ipython_display_(self) -> None:
        self._handle = display(self.bundle(), raw=True, display_id=True)

    def refresh(self) -> None:
        """Redraw the static form in the output already shown, so a save keeps what the learner sees."""
        if self._handle is not None:
            self._handle.update(self.bundle(), raw=True)

    def __getattr__(self, name: str) -> Any:  # `lesson.checklist().children`, as with the bare widget
        return getattr(self.widget, name)
