"""The Jupyter server side of the companion: what JupyterLab reads and saves of a course notebook.

A Jupyter server extension, turned on the way the ecosystem does it: the wheel installs the switch
`<prefix>/etc/jupyter/jupyter_server_config.d/companion.json` (`{"ServerApp": {"jpserver_extensions":
{"companion": true}}}`, `jupyter server extension enable companion --sys-prefix` for an editable
install), so any JupyterLab or `jupyterhub-singleuser` of that environment loads it with nothing run
at install or start time. `companion._jupyter_server_extension_points` names this module; its
`_link_jupyter_server_extension` runs before the server builds its managers and wraps whatever
contents manager is configured (jupytext wraps the result in turn when its own extension loads),
and sets the kernel culling defaults the user has not set.
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
  state (`metadata.widgets`) and the Python version are dropped. Otherwise a save writes what the
  tab holds, outputs and trust included: the server signs it when every code cell is trusted, so
  the players show again on reopen. A hook never makes a save fail: on any error it logs and saves
  as is.
- Rebuild while open: `companion build` rewrites an open notebook on disk (keeping the learner's
  saved work, as always). JupyterLab checks a file's hash before saving and asks "File Changed:
  Overwrite or Revert?" when it moved; for course notebooks the server's hash covers only the
  learner's work, so a rebuild does not move it and the tab saves without a question. The save
  then takes the tab's work into the regenerated content on disk (`take_in_rebuild`), told from a
  plain save by the build's seal (`cells.rebuilt`), never by outputs a run changed; a tab that was
  trusted stays trusted, since the build signed what it wrote.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import platform
from pathlib import Path
from typing import Any

from companion.notebook.cells import LANGUAGE_INFO

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Kernel culling the server applies unless the learner configured it: a closed lesson's kernel
# (~55 MB) stops after 15 idle minutes; kernels of lessons open in a tab are left alone.
CULLING = {"cull_idle_timeout": 900, "cull_interval": 60, "cull_connected": False}
log = logging.getLogger(__name__)


def _link_jupyter_server_extension(serverapp: Any) -> None:
    """Before the server builds its managers: the course contents manager around the configured one,
    and the culling defaults where the learner set none. What the hooks log goes to the server's log."""
    global log
    log = serverapp.log.getChild("companion")
    base = serverapp.contents_manager_class
    if not getattr(base, "companion_course_notebooks", False):
        serverapp.contents_manager_class = course_contents_manager_class(base)
    from traitlets.config import Config

    mine = {**serverapp.config.get("MappingKernelManager", {}), **serverapp.config.get("AsyncMappingKernelManager", {})}
    missing = {k: v for k, v in CULLING.items() if k not in mine}
    if missing:
        serverapp.update_config(Config({"MappingKernelManager": missing}))


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Nothing left to set up once linked; the line says the extension is on."""
    serverapp.log.info("companion: course notebooks open clean and keep their players on save")


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

    from companion.notebook.cells import source
    from companion.notebook.merge import learner_cells

    work = [[c.get("id"), c.get("cell_type"), source(c)] for c in learner_cells(nb)]
    return hashlib.sha256(json.dumps(work, ensure_ascii=False).encode()).hexdigest()


def take_in_rebuild(incoming: dict[str, Any], on_disk: dict[str, Any]) -> dict[str, Any]:
    """What to save when a build rewrote the notebook while it was open: the learner's work from
    the tab (`incoming`) in the generated content on disk; `incoming` itself when nothing was rebuilt."""
    import nbformat

    from companion.notebook.cells import ANSWER, REMOVED, edited, is_generated, notebook_meta, rebuilt, role, source
    from companion.notebook.merge import merge, unseen

    if notebook_meta(on_disk) is None or not rebuilt(incoming, on_disk):
        return incoming
    if any(is_generated(c) and role(c) not in (REMOVED, ANSWER) and edited(c) for c in on_disk["cells"]):
        return incoming  # the disk holds an edit of a generated cell saved since the build: the next build sorts it
    built = copy.deepcopy(on_disk)
    built["cells"] = [{**c, "source": ""} if role(c) == ANSWER else c for c in built["cells"]
                      if is_generated(c) and role(c) != REMOVED]
    merged = merge(nbformat.from_dict(built), incoming, unseen(on_disk, incoming))
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


def _trusted_tab(notary: Any, nb: dict[str, Any]) -> bool:
    """Whether the server would sign what the tab sent: every code cell trusted (`check_cells`
    pops the flags it reads, so it looks at a copy)."""
    import nbformat

    return bool(notary.check_cells(nbformat.from_dict(copy.deepcopy(nb))))


def _signed(notary: Any, nb: dict[str, Any]) -> bool:
    import nbformat

    return bool(notary.check_signature(nbformat.from_dict(copy.deepcopy(nb))))


def pre_save(model: dict[str, Any], path: str, contents_manager: Any = None, **kwargs: Any) -> None:
    """`FileContentsManager.pre_save_hook`: save a course notebook with static outputs, as built,
    taking in what a build changed on disk since the tab opened it. The server signs the result only
    when every code cell carries the tab's trust: cells taken from the rebuilt file get it when the
    tab was trusted and the build signed that file (its content is the build's, not a stranger's)."""
    try:
        if not _is_course_notebook(model):
            return
        static_outputs(model["content"])
        on_disk = _on_disk(contents_manager, path) if contents_manager is not None else None
        if on_disk is not None:
            incoming = model["content"]
            merged = take_in_rebuild(incoming, on_disk)
            if merged is not incoming:
                notary = getattr(contents_manager, "notary", None)
                if notary is not None and _trusted_tab(notary, incoming) and _signed(notary, on_disk):
                    notary.mark_cells(merged, True)
                model["content"] = merged
        meta = model["content"]["metadata"]
        meta.pop("widgets", None)
        if isinstance(meta.get("language_info"), dict) and meta["language_info"].get("name") == "python":
            meta["language_info"] = dict(LANGUAGE_INFO)
    except Exception:  # a hook must never cost the learner a save
        log.exception("companion: save hook failed on %s; saved as is", path)
    else:
        _reflections_written(model["content"], path)


def _reflections_written(nb: dict[str, Any], path: str) -> None:
    """Tick the lesson's ✎ box once every answer cell holds text: the save is where answers are seen."""
    from companion.notebook.cells import all_answered, notebook_meta

    meta = notebook_meta(nb) or {}
    if not (isinstance(meta.get("course"), str) and isinstance(meta.get("lesson_id"), str) and all_answered(nb)):
        return
    try:
        from companion.learner.store import ProgressStore

        store = ProgressStore()
        try:
            store.mark_reflections(meta["course"], meta["lesson_id"], True)
        finally:
            store.close()
    except Exception:  # the save goes on; the learner can still tick the box by hand
        log.exception("companion: could not tick the reflections of %s", path)


def _hashed(manager: Any, path: str, model: dict[str, Any], content: bool, require_hash: bool) -> dict[str, Any]:
    """The model JupyterLab gets: a course notebook's hash over the learner's work only, and the
    language_info its kernel will report."""
    if require_hash and model.get("type") == "notebook":
        try:
            nb = model["content"] if content else _on_disk(manager, path)
            if isinstance(nb, dict) and isinstance(nb.get("metadata", {}).get("companion"), dict):
                model["hash"], model["hash_algorithm"] = learner_hash(nb), "companion-learner-sha256"
        except Exception:  # the byte hash stands: at worst JupyterLab asks about a rebuild
            log.exception("companion: could not hash %s", path)
    return on_open(model)


def course_contents_manager_class(base: type) -> type:
    """`base` (the server's configured contents manager) with the open and save steps above, as
    jupytext builds its manager on whatever class it finds. Jupyter server 2's managers are async;
    a synchronous one configured by hand is left as it is (and said in the server's log)."""
    if not inspect.iscoroutinefunction(getattr(base, "get", None)):
        log.warning("companion: %s is not an async contents manager; course notebooks are saved as is",
                    base.__name__)
        return base

    class CourseContentsManager(base):  # type: ignore[misc]
        companion_course_notebooks = True

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.register_pre_save_hook(pre_save)

        async def get(self, path: str, content: bool = True, type: str | None = None,
                      format: str | None = None, require_hash: bool = False) -> dict[str, Any]:
            model = await super().get(path, content=content, type=type, format=format, require_hash=require_hash)
            return _hashed(self, path, model, content, require_hash)

    return CourseContentsManager


def __getattr__(name: str) -> Any:
    """`CourseContentsManager` (also `companion.serverext.CourseContentsManager`), which environments
    set up by earlier versions name in their server config: the default manager with the course steps."""
    if name == "CourseContentsManager":
        from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

        cls = course_contents_manager_class(AsyncLargeFileManager)
        globals()[name] = cls
        return cls
    raise AttributeError(name)
