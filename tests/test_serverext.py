"""The companion's Jupyter server side, through a real Jupyter server of this environment (its REST API).

The server is started as a learner's plain `jupyter server`/`jupyter lab` would be, with no option
naming the companion: what it does to course notebooks comes from the config `scripts/setup`
installs in the environment.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import REPO, _free_port, _stop, _wait_for_server

from companion import serverext

WIDGET = {"model_id": "0123abcd", "version_major": 2, "version_minor": 0}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path, dict]]:
    tmp = tmp_path_factory.mktemp("serverext")
    notebooks, token = tmp / "notebooks", os.urandom(16).hex()
    shutil.copy(REPO / "catalog.json", tmp / "catalog.json")
    shutil.copytree(REPO / "lessons", tmp / "lessons")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "cfg"), "JUPYTER_DATA_DIR": str(tmp / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "IPYTHONDIR": str(tmp / "ipython"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    assert companion(env, "build", "--catalog", str(tmp / "catalog.json"), "--out", str(notebooks)).returncode == 0
    log = tmp / "server.log"
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={_free_port()}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        yield _wait_for_server(proc, tmp / "runtime", token, log), token, notebooks, env
    finally:
        _stop(proc)


def companion(env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "companion", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return done


def api(server: tuple, method: str, path: str, body: Any = None, query: str = "") -> Any:
    url, token = server[:2]
    req = urllib.request.Request(f"{url}/api/contents/{path}{query}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def joined(data: dict) -> dict:
    """An output's data as sent: nbformat writes text as a list of lines."""
    return {k: "".join(v) if isinstance(v, list) else v for k, v in data.items()}


def lessons(folder: Path) -> list[Path]:
    """A course folder's numbered lessons, in order."""
    return sorted(folder.glob("[0-9]*.ipynb"))


def a_lesson(notebooks: Path) -> str:
    return lessons(notebooks / "deep-learning-3blue1brown")[0].relative_to(notebooks).as_posix()


def test_environment_config_names_the_companion_for_any_jupyter_started_here():
    installed = serverext.config_path()
    assert installed.is_file(), f"{installed} missing: run bash scripts/setup"
    config = json.loads(serverext.CONFIG.read_text())
    env = json.loads(installed.read_text())
    assert all(env[section][k] == v for section, values in config.items() for k, v in values.items())
    assert config["ServerApp"]["contents_manager_class"] == "companion.serverext.CourseContentsManager"
    assert config["MappingKernelManager"]["cull_idle_timeout"] == 15 * 60
    assert config["MappingKernelManager"]["cull_connected"] is False, "an open tab keeps a working checklist"


def test_install_config_merges_into_an_existing_server_config_and_keeps_its_settings(tmp_path):
    target = serverext.config_path(str(tmp_path))
    target.parent.mkdir(parents=True)
    target.write_text('{"ServerApp": {"port": 8899}, "LabApp": {"news_url": null}}')
    assert serverext.install_config(str(tmp_path)) == target
    merged = json.loads(target.read_text())
    assert merged["ServerApp"] == {"port": 8899, **json.loads(serverext.CONFIG.read_text())["ServerApp"]}
    assert merged["LabApp"] == {"news_url": None}
    before = target.stat().st_mtime_ns
    serverext.install_config(str(tmp_path))
    assert target.stat().st_mtime_ns == before, "an up-to-date config is not rewritten"


def test_stable_language_info_is_what_ipykernel_reports_less_the_python_version():
    from ipykernel.ipkernel import IPythonKernel

    reported = dict(IPythonKernel.language_info)
    assert reported == serverext.live_language_info()
    reported.pop("version")
    assert reported == serverext.LANGUAGE_INFO


def test_opened_course_notebook_carries_the_kernels_language_info_but_the_file_does_not(server):
    path = a_lesson(server[2])
    on_disk = json.loads((server[2] / path).read_text(encoding="utf-8"))
    assert "version" not in on_disk["metadata"]["language_info"]
    opened = api(server, "GET", path)
    assert opened["content"]["metadata"]["language_info"] == serverext.live_language_info()


def test_save_keeps_static_html_drops_widget_views_state_and_python_version(server):
    path = a_lesson(server[2])
    nb = api(server, "GET", path)["content"]
    checklist = next(c for c in nb["cells"] if c["id"] == "checklist")
    static = "<ul><li>☑ watched</li></ul>"
    checklist["outputs"] = [
        {"output_type": "display_data", "metadata": {},
         "data": {serverext.WIDGET_VIEW: WIDGET, "text/html": static, "text/plain": "☑ watched"}},
        {"output_type": "display_data", "metadata": {},  # a widget with nothing static to fall back on stays
         "data": {serverext.WIDGET_VIEW: WIDGET, "text/plain": "VBox()"}}]
    checklist["execution_count"] = 7
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    api(server, "PUT", path, {"type": "notebook", "format": "json", "content": nb})

    saved = json.loads((server[2] / path).read_text(encoding="utf-8"))
    outs = next(c for c in saved["cells"] if c["id"] == "checklist")["outputs"]
    assert joined(outs[0]["data"]) == {"text/html": static, "text/plain": "☑ watched"}
    assert joined(outs[1]["data"]) == {serverext.WIDGET_VIEW: WIDGET, "text/plain": "VBox()"}
    assert "widgets" not in saved["metadata"]
    assert saved["metadata"]["language_info"] == serverext.LANGUAGE_INFO


def test_other_notebooks_are_saved_exactly_as_sent(server):
    nb = json.loads((server[2] / a_lesson(server[2])).read_text(encoding="utf-8"))
    del nb["metadata"]["companion"]
    nb["metadata"]["language_info"] = serverext.live_language_info()
    nb["cells"][0]["outputs"] = []
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {serverext.WIDGET_VIEW: WIDGET, "text/html": "<b>x</b>", "text/plain": "x"}}]
    api(server, "PUT", "mine.ipynb", {"type": "notebook", "format": "json", "content": copy.deepcopy(nb)})
    saved = json.loads((server[2] / "mine.ipynb").read_text(encoding="utf-8"))
    assert saved["metadata"]["language_info"] == nb["metadata"]["language_info"]
    assert joined(next(c for c in saved["cells"] if c["id"] == code["id"])["outputs"][0]["data"]) == code["outputs"][0]["data"]


@pytest.mark.parametrize("content", [{"metadata": {"companion": {}}, "cells": [None, {"cell_type": "code"}]},
                                     {"metadata": {"companion": {}, "language_info": "python"}, "cells": "?"}])
def test_save_hook_never_raises_on_a_notebook_it_does_not_understand(content):
    model = {"type": "notebook", "content": content}
    serverext.pre_save(model=model, path="x.ipynb", contents_manager=None)
    assert serverext.on_open(model) is model


def test_a_rebuild_while_open_keeps_the_hash_and_the_next_save_holds_both_answer_and_catalog_change(server):
    notebooks, env = server[2], server[3]
    catalog_path = notebooks.parent / "catalog.json"
    path = lessons(notebooks / "intuition-3blue1brown")[1]
    rel = path.relative_to(notebooks).as_posix()
    opened = api(server, "GET", rel, query="?hash=1")
    tab = opened["content"]
    answer = next(c for c in tab["cells"] if c["metadata"].get("tags") == ["answer"])
    answer["source"] = "typed in the tab, not saved yet"

    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    lesson_id = json.loads(path.read_text(encoding="utf-8"))["metadata"]["companion"]["lesson_id"]
    course = next(c for c in catalog["courses"] if c["id"] == "intuition-3blue1brown")
    lesson = next(l for l in course["lessons"] if l["id"] == lesson_id)
    lesson["prompts"] = [*lesson.get("prompts", []), {"id": "added-while-open", "text": "A prompt added while open"}]
    catalog_path.write_text(json.dumps(catalog, indent=2, ensure_ascii=False), encoding="utf-8")
    companion(env, "build", "--catalog", str(catalog_path), "--out", str(notebooks))
    assert "A prompt added while open" in path.read_text(encoding="utf-8")

    # What JupyterLab asks before saving: the hash has not moved, so it saves without a dialog.
    assert api(server, "GET", rel, query="?content=0&hash=1")["hash"] == opened["hash"]
    api(server, "PUT", rel, {"type": "notebook", "format": "json", "content": tab})
    saved = json.loads(path.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in saved["cells"]]
    assert "typed in the tab, not saved yet" in sources and any("A prompt added while open" in s for s in sources)
    check = companion(env, "build", "--check", "--catalog", str(catalog_path), "--out", str(notebooks))
    assert check.returncode == 0, check.stdout
    # The hash follows the learner's work (JupyterLab reads it again after its own save); work saved
    # elsewhere (another tab, a copy) moves it too, and then JupyterLab asks, as it should.
    assert api(server, "GET", rel, query="?content=0&hash=1")["hash"] != opened["hash"]


def test_a_save_without_a_rebuild_or_over_an_edited_generated_cell_is_saved_as_sent():
    """The merge runs only when a build changed generated content, and never guesses over an edit
    of a generated cell saved since the build (the next build keeps that edit as the learner's)."""
    nb = json.loads(next((REPO / "notebooks" / "deep-learning-3blue1brown").glob("01-*.ipynb")).read_text())
    tab = copy.deepcopy(nb)
    next(c for c in tab["cells"] if c["metadata"].get("tags") == ["answer"])["source"] = "mine"
    assert serverext.take_in_rebuild(tab, nb) is tab
    from companion.cells import digest

    rebuilt = copy.deepcopy(nb)  # as if a build changed the header
    header = rebuilt["cells"][0]
    header["source"] = "".join(header["source"]) + "\n\nRebuilt."
    header["metadata"]["companion"]["digest"] = digest(header["source"])
    merged = serverext.take_in_rebuild(tab, rebuilt)
    assert merged is not tab and merged["cells"][0]["source"].endswith("Rebuilt.")
    assert "mine" in [c["source"] for c in merged["cells"]]
    rebuilt["cells"][1]["source"] = "edited by hand"  # a generated cell whose source no longer fits its digest
    assert serverext.take_in_rebuild(tab, rebuilt) is tab
