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

import nbformat
import pytest
from test_browser import REPO, _free_port, _stop, _wait_for_server

from companion.notebook.cells import LANGUAGE_INFO, digest, seal
from companion.server import extension as serverext

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


def test_the_environment_switches_the_extension_on_and_it_sets_the_culling_defaults(server):
    """A plain `jupyter server` of this environment, started with no option naming the companion."""
    switch = Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/companion.json"
    assert json.loads(switch.read_text()) == {"ServerApp": {"jpserver_extensions": {"companion": True}}}
    log = server[2].parent / "server.log"
    assert "companion: course notebooks open clean and keep their players on save" in log.read_text(errors="replace")
    url, token = server[:2]
    auth = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels", method="POST", data=b"{}",
                                                       headers=auth), timeout=60) as r:
        kernel = json.load(r)["id"]  # the server starts its culler with its first kernel
    try:
        assert "Culling kernels with idle durations > 900 seconds at 60 second intervals" in log.read_text(
            errors="replace")
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels/{kernel}", method="DELETE", headers=auth),
                               timeout=60).close()


def test_a_learners_own_kernel_settings_win_over_the_extensions_defaults_and_the_contents_manager_is_wrapped():
    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    app = ServerApp(config=Config({"MappingKernelManager": {"cull_idle_timeout": 60}}))
    base = app.contents_manager_class
    serverext._link_jupyter_server_extension(app)
    assert app.config.MappingKernelManager.cull_idle_timeout == 60
    assert app.config.MappingKernelManager.cull_interval == serverext.CULLING["cull_interval"]
    assert issubclass(app.contents_manager_class, base) and app.contents_manager_class is not base
    wrapped = app.contents_manager_class
    serverext._link_jupyter_server_extension(app)  # linked twice (an old config naming the class): wrapped once
    assert app.contents_manager_class is wrapped


def test_stable_language_info_is_what_ipykernel_reports_less_the_python_version():
    from ipykernel.ipkernel import IPythonKernel

    reported = dict(IPythonKernel.language_info)
    assert reported == serverext.live_language_info()
    reported.pop("version")
    assert reported == LANGUAGE_INFO


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
    assert saved["metadata"]["language_info"] == LANGUAGE_INFO


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
    rebuilt = copy.deepcopy(nb)  # as if a build changed the header
    header = rebuilt["cells"][0]
    header["source"] = "".join(header["source"]) + "\n\nRebuilt."
    header["metadata"]["companion"]["digest"] = digest(header["source"])
    rebuilt = seal(nbformat.from_dict(rebuilt))
    merged = serverext.take_in_rebuild(tab, rebuilt)
    assert merged is not tab and merged["cells"][0]["source"].endswith("Rebuilt.")
    assert "mine" in [c["source"] for c in merged["cells"]]
    rebuilt["cells"][1]["source"] = "edited by hand"  # a generated cell whose source no longer fits its digest
    assert serverext.take_in_rebuild(tab, rebuilt) is tab


def notary(server: tuple) -> Any:
    from nbformat.sign import NotebookNotary

    return NotebookNotary(data_dir=server[3]["JUPYTER_DATA_DIR"])


def signed(server: tuple, path: Path) -> bool:
    return bool(notary(server).check_signature(nbformat.read(path, as_version=4)))


def test_a_plain_save_of_a_run_lesson_writes_what_the_tab_holds_and_keeps_it_trusted(server):
    """After Run All the players' outputs carry widget views and new counts; the learner edits a
    generated cell, tags another and unfolds a third. None of that is a rebuild: saved as sent, signed."""
    notebooks = server[2]
    rel = lessons(notebooks / "math-for-ml")[0].relative_to(notebooks).as_posix()
    assert signed(server, notebooks / rel), "the build signs what it writes"
    tab = api(server, "GET", rel, query="?hash=1")["content"]
    code = [c for c in tab["cells"] if c["cell_type"] == "code"]
    assert code and all(c["metadata"].get("trusted") is True for c in code), "a signed file opens trusted"
    for n, c in enumerate(code, 1):  # Run All: every cell ran in this session (JupyterLab sends trusted)
        c["execution_count"] = n
        for out in c["outputs"]:
            if "text/html" in out.get("data", {}):
                out["data"][serverext.WIDGET_VIEW] = WIDGET
    embed = next(c for c in tab["cells"] if c["metadata"].get("companion", {}).get("role") == "embed")
    embed["metadata"]["jupyter"] = {"source_hidden": False}  # unfolded to read the code
    embed["metadata"]["tags"] = ["mine"]
    heading = next(c for c in tab["cells"] if c["cell_type"] == "markdown")
    heading["source"] = "".join(heading["source"]) + "\n\nMy note under the heading."
    sent = copy.deepcopy(tab)
    api(server, "PUT", rel, {"type": "notebook", "format": "json", "content": tab})

    saved = json.loads((notebooks / rel).read_text(encoding="utf-8"))
    assert [c["id"] for c in saved["cells"]] == [c["id"] for c in sent["cells"]], "cells added or lost on save"
    by_id = {c["id"]: c for c in saved["cells"]}
    assert "".join(by_id[heading["id"]]["source"]) == heading["source"]
    assert by_id[embed["id"]]["metadata"]["tags"] == ["mine"]
    assert by_id[embed["id"]]["metadata"]["jupyter"] == {"source_hidden": False}
    assert [c["execution_count"] for c in saved["cells"] if c["cell_type"] == "code"] == list(range(1, len(code) + 1))
    assert signed(server, notebooks / rel), "the save left the run lesson untrusted: its players vanish on reopen"


def test_a_save_that_takes_in_a_rebuild_keeps_a_trusted_tab_trusted(server):
    notebooks, env = server[2], server[3]
    catalog_path = notebooks.parent / "catalog.json"
    path = lessons(notebooks / "intuition-3blue1brown")[2]
    rel = path.relative_to(notebooks).as_posix()
    tab = api(server, "GET", rel, query="?hash=1")["content"]
    next(c for c in tab["cells"] if c["metadata"].get("tags") == ["answer"])["source"] = "my answer"
    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    lesson_id = json.loads(path.read_text(encoding="utf-8"))["metadata"]["companion"]["lesson_id"]
    lesson = next(l for c in catalog["courses"] if c["id"] == "intuition-3blue1brown" for l in c["lessons"]
                  if l["id"] == lesson_id)
    lesson["prompts"] = [*lesson.get("prompts", []), {"id": "added-for-trust", "text": "Added while open, trusted"}]
    catalog_path.write_text(json.dumps(catalog, indent=2, ensure_ascii=False), encoding="utf-8")
    companion(env, "build", "--catalog", str(catalog_path), "--out", str(notebooks))

    api(server, "PUT", rel, {"type": "notebook", "format": "json", "content": tab})
    saved = path.read_text(encoding="utf-8")
    assert "my answer" in saved and "Added while open, trusted" in saved
    assert signed(server, path), "the merged save is not signed: its players vanish on reopen"


def test_a_save_after_a_build_moved_work_into_the_open_lesson_keeps_that_work_and_the_tabs():
    """A build moved an answer and a cell of the learner's into this lesson (their video or prompt
    came here) while a tab had it open; the tab's save takes them in, and its own newer text wins."""
    nb = json.loads(next((REPO / "notebooks" / "deep-learning-3blue1brown").glob("01-*.ipynb")).read_text())
    answers = [c for c in nb["cells"] if c["metadata"].get("tags") == ["answer"]]
    assert len(answers) >= 2
    tab = copy.deepcopy(nb)
    by_id = {c["id"]: c for c in tab["cells"]}
    by_id[answers[0]["id"]]["source"] = "the tab's answer"
    mine = nbformat.v4.new_markdown_cell("my own cell, edited in the tab", id="mine-1")
    tab["cells"].insert(tab["cells"].index(by_id[answers[0]["id"]]) + 1, mine)

    on_disk = copy.deepcopy(nb)  # the build: a moved-in answer, a moved-in cell, the learner's older save
    disk = {c["id"]: c for c in on_disk["cells"]}
    disk[answers[1]["id"]]["source"] = "an answer that came with its prompt from another lesson"
    at = on_disk["cells"].index(disk[answers[0]["id"]]) + 1
    on_disk["cells"][at:at] = [nbformat.v4.new_markdown_cell("my own cell, as saved before", id="mine-1"),
                               nbformat.v4.new_markdown_cell("a note that came with its video", id="moved-1")]
    header = on_disk["cells"][0]
    header["source"] = "".join(header["source"]) + "\n\nRebuilt."
    header["metadata"]["companion"]["digest"] = digest(header["source"])
    on_disk = seal(nbformat.from_dict(on_disk))

    saved = serverext.take_in_rebuild(tab, on_disk)
    texts = ["".join(c["source"]) for c in saved["cells"]]
    assert "the tab's answer" in texts and "my own cell, edited in the tab" in texts
    assert "an answer that came with its prompt from another lesson" in texts
    assert "a note that came with its video" in texts
    assert "my own cell, as saved before" not in texts, "the tab's newer text wins; no stale twin"
    assert texts[0].endswith("Rebuilt.")


def test_saving_a_lesson_whose_every_answer_has_text_ticks_its_reflections_box(server):
    from companion.learner.store import ProgressStore
    from companion.learner.tally import REFLECTIONS

    notebooks, env = server[2], server[3]
    rel = lessons(notebooks / "llms-asap")[1].relative_to(notebooks).as_posix()
    meta = json.loads((notebooks / rel).read_text(encoding="utf-8"))["metadata"]["companion"]
    key = (meta["course"], meta["lesson_id"], REFLECTIONS)
    store = ProgressStore(env["COMPANION_PROGRESS"])  # the server's (conftest.py sets it for every test)
    tab = api(server, "GET", rel)["content"]
    answers = [c for c in tab["cells"] if c["metadata"].get("tags") == ["answer"]]
    assert len(answers) >= 2
    for c in answers[:-1]:
        c["source"] = "written"
    api(server, "PUT", rel, {"type": "notebook", "format": "json", "content": tab})
    assert key not in store.ticks(), "one answer is still empty: not ticked"
    answers[-1]["source"] = "and the last one"
    api(server, "PUT", rel, {"type": "notebook", "format": "json", "content": tab})
    assert store.ticks().get(key) is True, "every answer has text: the ✎ box ticks itself"
    store.close()


def test_the_contents_manager_earlier_setups_name_in_their_config_still_loads():
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    from companion.serverext import CourseContentsManager

    assert issubclass(CourseContentsManager, AsyncLargeFileManager)
    assert CourseContentsManager.__name__ == "CourseContentsManager"
