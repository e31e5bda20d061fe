"""The package's metadata kept in one place: `environment.yml` (conda) names the same dependencies as
`pyproject.toml` with the same bounds, the version is written once, and the licence file is the one
`pyproject.toml` declares. Reads files only: fast."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml  # PyYAML, a dependency of jupytext
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SELF = canonicalize_name(PYPROJECT["project"]["name"])
# what environment.yml installs that is not a Python package of pyproject.toml: the interpreter, pip,
# and the programs `scripts/test` installs with apt-get or npm (JupyterHub's proxy, PostgreSQL for the hub tests)
NOT_PYTHON_PACKAGES = {"python", "pip", "configurable-http-proxy", "postgresql"}
CONDA_NAMES = {"python-fastjsonschema": "fastjsonschema"}  # conda-forge's name -> PyPI's


def pyproject_requirements() -> dict[str, SpecifierSet]:
    """Runtime and test dependencies (the test extra names the hub extra through the project itself)."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    found: dict[str, SpecifierSet] = {}
    pending = [*PYPROJECT["project"]["dependencies"], *optional["test"]]
    while pending:
        req = Requirement(pending.pop())
        name = canonicalize_name(req.name)
        if name == SELF:
            pending += [r for extra in req.extras for r in optional[extra]]
            continue
        assert name not in found, f"pyproject.toml names {name} twice"
        found[name] = req.specifier
    return found


def environment() -> tuple[dict[str, str], list[str], list[str]]:
    """environment.yml's conda dependencies (name -> spec as written), its pip list, and its other entries."""
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    conda: dict[str, str] = {}
    pip: list[str] = []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip += entry["pip"]
            continue
        name = re.split(r"[<>=!~ \[]", entry, maxsplit=1)[0]
        assert canonicalize_name(name) not in conda, f"environment.yml names {name} twice"
        conda[canonicalize_name(name)] = entry
    return conda, pip, env.get("channels", [])


def environment_requirements() -> dict[str, SpecifierSet]:
    """The Python packages environment.yml installs (conda's and pip's), with their bounds."""
    conda, pip, _ = environment()
    found: dict[str, SpecifierSet] = {}
    for name, spec in conda.items():
        if name not in NOT_PYTHON_PACKAGES:
            found[CONDA_NAMES.get(name, name)] = Requirement(spec).specifier  # conda's `name>=a,<b` is PEP 508's too
    for spec in pip:
        if spec.split() == ["-e", "."]:
            continue
        req = Requirement(spec)
        assert canonicalize_name(req.name) not in found, f"environment.yml names {req.name} twice"
        found[canonicalize_name(req.name)] = req.specifier
    return found


def test_environment_yml_names_every_dependency_of_pyproject_and_no_other():
    wanted, given = pyproject_requirements(), environment_requirements()
    assert sorted(set(wanted) - set(given)) == [], "in pyproject.toml, missing from environment.yml"
    assert sorted(set(given) - set(wanted)) == [], "in environment.yml, not in pyproject.toml"


def test_environment_yml_bounds_are_pyproject_bounds():
    wanted, given = pyproject_requirements(), environment_requirements()
    differ = {name: (str(wanted[name]), str(given[name])) for name in wanted.keys() & given.keys()
              if wanted[name] != given[name]}
    assert differ == {}, "bounds differ (pyproject.toml, environment.yml)"


def test_environment_yml_installs_this_project_with_a_python_it_supports():
    conda, pip, channels = environment()
    assert ["-e", "."] in [spec.split() for spec in pip], "environment.yml must install the project (pip: -e .)"
    python = conda["python"].removeprefix("python").lstrip("=")
    assert python in SpecifierSet(PYPROJECT["project"]["requires-python"]), (python, "requires-python")
    assert "conda-forge" in channels


def test_the_version_is_written_once_in_the_package():
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "companion.__version__"}
    init = (REPO / "companion" / "__init__.py").read_text(encoding="utf-8")
    assert len(re.findall(r"^__version__ = \"\d+\.\d+\.\d+\"", init, re.M)) == 1


def test_the_licence_file_is_the_licence_pyproject_declares():
    assert PYPROJECT["project"]["license"] == "MIT"
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert re.search(r"^Copyright \(c\) \d{4} ", text, re.M)
