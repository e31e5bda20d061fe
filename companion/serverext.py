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
- Rebuild while open: `companion build` rewrites an open notebook on disk (keeping the learner's
  saved work, as always). JupyterLab checks a file's hash before saving and asks "File Changed:
  Overwrite or Revert?" when it moved; for course notebooks the server's hash covers only the
  learner's work, so a rebuild does not move it and the tab saves without a question. The save
  then takes the tab's work into the regenerated content on disk (`take_in_rebuild`): both end
  up in the file, and a later build finds it up to date. The tab shows the new content when the
  learner reopens it (or File ▸ Reload Notebook from Disk).
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


def live_language_info() -> dict[str, Any]:
    """language_info as the kernel of this environment reports it (its Python is the server's)."""
    return {**LANGUAGE_INFO, "version": platform.python_version()}


def _is_course_notebook(model: dict[str, Any]) -> bool:
    content = model.get("content") if model.get("type") == "notebook" else None
    return isinstance(content, dict) and isinstance(content.get("metadata", {}).get("companion"), dict)


def on_open(model: dict[str, Any]) -> dict[str, Any]:
    """The notebook as JupyterLab should see it: with the language_info its kernel will report."""
    try:
        if _is_course_notebook(model) and model["content"]["metadata"].get("language_info", {}).get("name") == "python":
            model["content"]["metadata"]["language_info"] = live_language_info()
    except Exception:  # opening must never fail because of us
        log.exception("companion: could not prepare %s for opening", model.get("path"))
    return model


def static_outputs(nb: dict[str, Any]) -> int:
    """Drop the widget view from outputs that carry a static `text/html` too; how many were changed."""
    changed = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data")
            if isinstance(data, dict) and WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
                changed += 1
    return changed


def learner_hash(nb: dict[str, Any]) -> str:
    """A hash of what the learner wrote in a notebook (answers, added and edited cells), blind to
    generated content: JupyterLab asks "File Changed: Overwrite or Revert?" when a file's hash
    moved since it was opened, and a rebuild moves only generated content, which the save takes in."""
    import hashlib

    from .cells import source
    from .merge import learner_cells

    work = [[c.get("id"), c.get("cell_type"), source(c)] for c in learner_cells(nb)]
    return hashlib.sha256(json.dumps(work, ensure_ascii=False).encode()).hexdigest()


def take_in_rebuild(incoming: dict[str, Any], on_disk: dict[str, Any]) -> dict[str, Any]:
    """What to save when a build rewrote the notebook while it was open: the learner's work from
    the tab (`incoming`) in the generated content on disk; `incoming` itself when nothing was rebuilt."""
    import copy

    import nbformat

    from .cells import ANSWER, REMOVED, edited, generated_view, is_generated, notebook_meta, role, source
    from .merge import merge

    if notebook_meta(on_disk) is None or generated_view(on_disk) == generated_view(incoming):
        return incoming
    if any(is_generated(c) and role(c) not in (REMOVED, ANSWER) and edited(c) for c in on_disk["cells"]):
        return incoming  # the disk holds an edit of a generated cell saved since the build: the next build sorts it
    built = copy.deepcopy(on_disk)
    built["cells"] = [{**c, "source": ""} if role(c) == ANSWER else c for c in built["cells"]
                      if is_generated(c) and role(c) != REMOVED]
    merged = merge(nbformat.from_dict(built), incoming)
    ran = {c["id"]: c for c in incoming["cells"] if c.get("cell_type") == "code" and "id" in c}
    for c in merged.cells:  # outputs of the learner's last run, where the code is the same
        mine = ran.get(c.get("id"))
        if mine is not None and c.cell_type == "code" and source(mine) == source(c):
            c.outputs, c.execution_count = copy.deepcopy(mine.get("outputs", [])), mine.get("execution_count")
    merged.metadata = {**incoming.get("metadata", {}), **{k: v for k, v in on_disk["metadata"].items()
                                                          if k in ("companion", "kernelspec")}}
    return merged


def _on_disk(contents_manager: Any, path: str) -> dict[str, Any] | None:
    try:
        nb = json.loads(Path(contents_manager._get_os_path(path)).read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError):
        return None
    return nb if isinstance(nb, dict) else None


def pre_save(model: dict[str, Any], path: str, contents_manager: Any = None, **kwargs: Any) -> None:
    """`FileContentsManager.pre_save_hook`: save a course notebook with static outputs, as built,
    taking in what a build changed on disk since the tab opened it."""
    try:
        if not _is_course_notebook(model):
            return
        on_disk = _on_disk(contents_manager, path) if contents_manager is not None else None
        if on_disk is not None:
            model["content"] = take_in_rebuild(model["content"], on_disk)
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
            self.register_pre_save_hook(pre_save)  # type: ignore[no-untyped-call]

        async def get(self, path: str, content: bool = True, type: str | None = None, format: str | None = None,
                      require_hash: bool = False) -> dict[str, Any]:
            model: dict[str, Any] = await super().get(  # type: ignore[no-untyped-call]
                path, content=content, type=type, format=format, require_hash=require_hash)
            if require_hash and model.get("type") == "notebook":
                try:
                    nb = model["content"] if content else _on_disk(self, path)
                    if isinstance(nb, dict) and isinstance(nb.get("metadata", {}).get("companion"), dict):
                        model["hash"], model["hash_algorithm"] = learner_hash(nb), "companion-learner-sha256"
                except Exception:  # the byte hash stands: at worst JupyterLab asks about a rebuild
                    log.exception("companion: could not hash %s", path)
            return on_open(model)

    return CourseContentsManager


# `companion.serverext.CourseContentsManager` without importing the server at build time
def __getattr__(name: str) -> Any:
    if name == "CourseContentsManager":
        cls = contents_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


if __name__ == "__main__":  # scripts/setup
    print(f"JupyterLab in this environment: course notebooks open clean, idle kernels stop ({install_config()})")
