"""A command imports nothing it doesn't use (the IRI grammar jsonschema builds at import, jupytext's contents
managers with all of jupyter_server) and leaves every module whole for whoever uses it next in the process."""

from __future__ import annotations

import json
import subprocess

from helpers import PYTHON, small_catalog, subprocess_env, write_catalog

PROBE = """
import json, sys
from companion.cli import main
code = main(sys.argv[1:])
loaded = {m: m in sys.modules for m in ("nbformat", "jsonschema", "jupytext", "rfc3987_syntax.syntax_helpers",
                                        "jupyter_server")}
none = sorted(m for m, v in sys.modules.items() if v is None and m.startswith(("jupytext", "rfc3987")))
import jsonschema
checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
iri = [checker.conforms(v, "iri") for v in ("https://example.org/ä", "not an iri")]
import jupytext
print(json.dumps({"code": code, "loaded": loaded, "none": none, "iri": iri,
                  "manager": jupytext.TextFileContentsManager.__name__}))
"""


def _probe(*argv: str, cwd) -> dict:
    done = subprocess.run([PYTHON, "-c", PROBE, *argv], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=subprocess_env(COMPANION_PROGRESS=str(cwd / "progress.sqlite")))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_full_build_with_text_twins_loads_neither_the_iri_grammar_nor_jupyter_server(tmp_path):
    catalog = write_catalog(tmp_path, small_catalog())
    got = _probe("build", "--catalog", str(catalog), "--no-trust", "--text", cwd=tmp_path)
    assert got["code"] == 0 and any((tmp_path / "text").rglob("*.md"))  # jupytext wrote them
    assert got["loaded"] == {"nbformat": True, "jsonschema": True, "jupytext": False,  # forgotten after the command
                             "rfc3987_syntax.syntax_helpers": False, "jupyter_server": False}


def test_after_a_command_jsonschema_checks_iris_and_jupytext_is_whole(tmp_path):
    catalog = write_catalog(tmp_path, small_catalog())
    got = _probe("build", "--catalog", str(catalog), "--no-trust", "--text", cwd=tmp_path)
    assert got["none"] == []
    assert got["iri"] == [True, False]
    assert got["manager"] == "SyncJupytextContentsManager"  # the class, not the ImportError kept for it


def test_validating_a_valid_catalog_does_not_import_jsonschema(tmp_path):
    catalog = write_catalog(tmp_path, small_catalog())
    got = _probe("validate", "--catalog", str(catalog), cwd=tmp_path)
    assert got["code"] == 0 and got["loaded"]["jsonschema"] is False


def test_an_invalid_catalog_is_still_told_every_place_by_jsonschema(tmp_path):
    data = small_catalog()
    data["courses"][0]["lessons"][2]["title"] = 3
    data["videos"][0]["title"] = None
    catalog = write_catalog(tmp_path, data)
    done = subprocess.run([PYTHON, "-m", "companion", "validate", "--catalog", str(catalog)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=subprocess_env())
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["courses[0].lessons[2].title: 3 is not of type 'string'",
                                        "videos[0].title: None is not of type 'string'",
                                        "2 problem(s); nothing was written"]
