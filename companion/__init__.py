"""Jupyter notebook course companion: curated video courses as one notebook per lesson.

The library API (the `companion` command calls the same functions):

- `build(catalog, out, *, check, dry_run, twins, trust, privacy_enhanced) -> Report`
- `validate(catalog) -> str`
- `import_index(index, course, *, catalog, title) -> Imported`
- `progress(catalog, *, course, store) -> list[CourseProgress]`
- `export_progress(out, *, store) -> Exported`: all progress to a JSON file;
  `import_progress(file, *, catalog, store) -> ProgressImported` merges one in (newer changes win)
- `notes(catalog, *, course, store) -> str`: notes taken at moments of videos, as Markdown
- `answers(catalog, *, course, folder, store) -> str`: the learner's answers and notes, as Markdown;
  `export_answers(out, catalog, ...) -> Path` writes them to a file
- `resolve(source, *, catalog, accept) -> Resolved`: YouTube ids proposed, with the pages that
  confirm them, for videos the sources name by title only (`accept`: written into the catalog)

Mistakes in what they are given raise `CompanionError` (see `companion.errors`). Importing
`companion` is cheap: each function's modules load when it is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.errors import BuildError, CatalogError, CompanionError, NotFound, StoreError, UsageError

if TYPE_CHECKING:
    from companion.api import (
        Exported,
        Imported,
        ProgressImported,
        Resolved,
        answers,
        build,
        export_answers,
        export_progress,
        import_index,
        import_progress,
        notes,
        progress,
        resolve,
        validate,
    )
    from companion.builder.report import Report
    from companion.learner.tally import CourseProgress

__version__ = "0.1.0"  # the one place: pyproject.toml reads it ([tool.setuptools.dynamic])
__all__ = ["build", "validate", "import_index", "progress", "export_progress", "import_progress", "notes", "answers",
           "export_answers", "resolve",
           "Report", "Imported", "Resolved", "Exported", "ProgressImported",
           "CourseProgress",
           "CompanionError", "CatalogError", "NotFound", "BuildError", "UsageError", "StoreError"]

_LAZY = {"build": "api", "validate": "api", "import_index": "api", "progress": "api", "notes": "api", "Imported": "api",
         "resolve": "api", "Resolved": "api", "answers": "api", "export_answers": "api", "export_progress": "api",
         "import_progress": "api", "Exported": "api", "ProgressImported": "api",
         "Report": "builder.report", "CourseProgress": "learner.tally"}


def __getattr__(name: str) -> Any:
    """Load the API's modules on first use, so `import companion` (every lesson does) stays cheap."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension `companion` (switched on by the file the wheel installs in
    `etc/jupyter/jupyter_server_config.d/`): course notebooks open clean and keep their players on save."""
    return [{"module": "companion.server.extension"}]
