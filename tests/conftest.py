from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import ROOT

# The edit-test loop is `pytest -m "not slow" tests`: the unit and property tests. `slow` is what
# starts a real browser, hub, server, kernel or other processes, installs the wheel, builds at scale
# or runs a fuzz campaign; `scripts/test` runs everything. Whole modules are named here; a slow test
# in a module of fast ones carries `@pytest.mark.slow` itself.
SLOW_MARKERS = {"browser", "hub", "install"}
SLOW_MODULES = {
    "test_concurrent_writes.py",  # builds, saves and imports racing in real processes
    "test_crash_safety.py",  # builds and imports killed at every named point
    "test_fuzz.py", "test_fuzz_notebooks.py",  # thousands of generated hostile inputs
    "test_kernel_state.py",  # real kernels
    "test_lab_command.py",  # a real JupyterLab
    "test_links.py",  # the built notebooks run in real kernels
    "test_noop_build.py",  # builds in subprocesses that count what they read
    "test_scale.py",  # 10,000 videos in 1,000 lessons
    "test_serverext.py",  # a real Jupyter server
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (item.path.name in SLOW_MODULES or item.path.suffix == ".ipynb"  # nbval runs the notebooks
                or any(mark.name in SLOW_MARKERS for mark in item.iter_markers())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def repo_catalog(tmp_path: Path) -> Path:
    """A copy of the project's catalog in a scratch folder (builds write notebooks/ beside it)."""
    dst = tmp_path / "catalog.json"
    shutil.copy(ROOT / "catalog.json", dst)
    return dst
