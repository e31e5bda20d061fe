"""The Jupyter server side of the companion: what JupyterLab reads and saves of a course notebook.

Enabled for every JupyterLab started from this environment (`companion lab`, `bash scripts/lab`,
plain `jupyter lab`) by the settings in `companion/jupyter_server_config.json` (which also shut
idle kernels down), merged by `install_config` into the environment's
`<prefix>/etc/jupyter/jupyter_server_config.json`; `scripts/setup` and `companion lab` call it.
Not a `jupyter_server_config.d/` file: Jupyter reads only extension switches from those. Not
setuptools `data_files`: editable installs (`pip install -e`, conda's `- -e .`) leave them out.
It only touches notebooks the build wrote (`metadata.companion`); a learner's other notebooks
are opened and saved as they are.

- Open: the build writes `language_info` without the Python version (so builds are the same on
  every machine), and JupyterLab replaces `language_info` with the kernel's as soon as the kernel
  connects; any difference marks the notebook changed (●, "Save your work?" on close). The server
  hands JupyterLab the notebook with the version this environment's kernel reports, so nothing
  changes on open.
- Save: a widget output that also carries a static `text/html` (the checklist, the progress bars,
  players that follow the same contract) is saved without its widget view, so a reopened notebook
  shows the static form instead of "Error displaying widget: model not found"; the saved widget
  state (`metadata.widgets`) and the Python version are dropped, so a save leaves the generated
  content as the build wrote it. A hook never makes a save fail: on any error it logs and saves as is.
"""

from __future__ import annotations

import json
import logging
import platform
import sys
from pathlib import Path
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# What ipykernel (6 and 7) reports as language_info, less the interpreter's version, which differs
# between machines (tests/test_serverext.py checks it against the installed ipykernel).
LANGUAGE_INFO = {
    "name": "python",
    "mimetype": "text/x-python",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
    "file_extension": ".py",
}
CONFIG = Path(__file__).with_name("jupyter_server_config.json")
log = logging.getLogger(__name__)


def config_path(prefix: str = sys.prefix) -> Path:
    """The environment's own Jupyter server config file (read by `jupyter server` and `jupyter lab`)."""
    return Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.json"


def install_config(prefix: str = sys.prefix) -> Path:
    """Merge the companion's settings into the environment's server config (written only if that changes it)."""
    from . import atomic

    target = config_path(prefix)
    ours = json.loads(CONFIG.read_text(encoding="utf-8"))
    try:
        before = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        before = {}
    after = {**before, **{section: {**before.get(section, {}), **values} for section, values in ours.items()}}
    if after != before or not target.exists():
        atomic.write_text(target, json.dumps(after, indent=2) + "\n")
    return target


def live_language_info() -> dict:
    """language_info as the kernel of this environment reports it (its Python is the server's)."""
    return {**LANGUAGE_INFO, "version": platform.python_version()}


def _is_course_notebook(model: dict) -> bool:
    content = model.get("content") if model.get("type") == "notebook" else None
    return isinstance(content, dict) and isinstance(content.get("metadata", {}).get("companion"), dict)


def on_open(model: dict) -> dict:
    """The notebook as JupyterLab should see it: with the language_info its kernel will report."""
    try:
        if _is_course_notebook(model) and model["content"]["metadata"].get("language_info", {}).get("name") == "python":
            model["content"]["metadata"]["language_info"] = live_language_info()
    except Exception:  # opening must never fail because of us
        log.exception("companion: could not prepare %s for opening", model.get("path"))
    return model


def static_outputs(nb: dict) -> int:
    """Drop the widget view from outputs that carry a static `text/html` too; how many were changed."""
    changed = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data")
            if isinstance(data, dict) and WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
                changed += 1
    return changed


def pre_save(model: dict, path: str, contents_manager: Any = None, **kwargs: Any) -> None:
    """`FileContentsManager.pre_save_hook`: save a course notebook with static outputs, as built."""
    try:
        if not _is_course_notebook(model):
            return
        nb = model["content"]
        static_outputs(nb)
        meta = nb["metadata"]
        meta.pop("widgets", None)
        if isinstance(meta.get("language_info"), dict) and meta["language_info"].get("name") == "python":
            meta["language_info"] = dict(LANGUAGE_INFO)
    except Exception:  # a hook must never cost the learner a save
        log.exception("companion: save hook failed on %s; saved as is", path)


def contents_manager_class() -> type:
    """The server's default contents manager with the two steps above. Named by class in the config
    (`ServerApp.contents_manager_class`), so jupytext, which wraps whatever class is configured when
    its own extension loads, builds its manager on top of this one."""
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    class CourseContentsManager(AsyncLargeFileManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.register_pre_save_hook(pre_save)

        async def get(self, path: str, content: bool = True, type: str | None = None, format: str | None = None,
                      require_hash: bool = False) -> dict:
            return on_open(await super().get(path, content=content, type=type, format=format,
                                             require_hash=require_hash))

    return CourseContentsManager


def __getattr__(name: str) -> Any:  # `companion.serverext.CourseContentsManager` without importing the server at build time
    if name == "CourseContentsManager":
        cls = contents_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


if __name__ == "__main__":  # scripts/setup
    print(f"JupyterLab in this environment: course notebooks open clean, idle kernels stop ({install_config()})")
