"""`companion lab`: JupyterLab on the notebooks folder, its printed URL opening the top index."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
from test_browser import REPO, _free_port, _stop

from companion.cli import lab_command, main
from companion.course.layout import TOP

TIMEOUT_S = 60


def test_lab_help_documents_that_other_options_go_to_jupyter_lab(capsys):
    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    out = capsys.readouterr().out
    assert "Any other option goes to jupyter lab" in out
    assert "--no-browser" in out and "cull_idle_timeout" in out and "15 min" in out


def test_learner_options_come_last_so_they_win(tmp_path):
    cmd = lab_command(tmp_path, ["--MappingKernelManager.cull_idle_timeout=60"])
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in cmd
    assert "--ServerApp.jpserver_extensions=companion=True" in cmd, "the server extension, even with no switch"
    assert cmd[-1] == "--MappingKernelManager.cull_idle_timeout=60"


def test_no_browser_prints_a_url_that_opens_the_top_index_of_a_server_rooted_at_the_notebooks(tmp_path):
    shutil.copy(REPO / "catalog.json", tmp_path / "catalog.json")
    shutil.copytree(REPO / "lessons", tmp_path / "lessons")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "IPYTHONDIR": str(tmp_path / "ipython"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "companion", "lab", "--no-browser", "--ip=127.0.0.1",
                                 f"--port={_free_port()}"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, url = time.monotonic() + TIMEOUT_S * 3, None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"(http://127\.0\.0\.1:\d+/\S*\?token=\w+)", log.read_text(errors="replace"))
            url = found and found.group(1)
            time.sleep(0.3)  # another process's output: nothing to wait on but the file
        assert url, f"no URL printed:\n{log.read_text(errors='replace')[-3000:]}"
        assert re.match(r"http://127\.0\.0\.1:\d+/lab/tree/start-here\.ipynb\?token=", url), url
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        base, token = url.split("/lab/")[0], url.rsplit("token=", 1)[1]
        with urllib.request.urlopen(f"{base}/api/contents/?token={token}", timeout=30) as r:
            names = {c["name"] for c in json.load(r)["content"]}
        courses = {c["id"] for c in json.loads((tmp_path / "catalog.json").read_text())["courses"]}
        assert names == {*TOP, *courses}, "the file browser shows the courses, not the repository"
    finally:
        _stop(proc)
