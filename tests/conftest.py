from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import ROOT


@pytest.fixture
def repo_catalog(tmp_path: Path) -> Path:
    """A copy of the project's catalog in a scratch folder (builds write notebooks/ beside it)."""
    dst = tmp_path / "catalog.json"
    shutil.copy(ROOT / "catalog.json", dst)
    return dst
