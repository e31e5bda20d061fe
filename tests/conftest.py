from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "sources"  # the five source documents, kept in the repository as given


@pytest.fixture
def repo_catalog(tmp_path: Path) -> Path:
    """A copy of the project's catalog in a scratch folder (builds write notebooks/ beside it)."""
    dst = tmp_path / "catalog.json"
    shutil.copy(ROOT / "catalog.json", dst)
    return dst


def small_catalog() -> dict:
    """Two series, four videos, one course of three lessons: enough to exercise every cell kind."""
    return {
        "series": [{"id": "s1", "title": "Series One", "channel": "Chan", "note": "About series one."}],
        "videos": [
            {"id": "aircAruvnKk", "title": "But what is a neural network?", "series": "s1", "youtube": "aircAruvnKk"},
            {"id": "IHZwWFHWa-w", "title": "Gradient descent", "series": "s1", "youtube": "IHZwWFHWa-w"},
            {"id": "Ilg3gGewQ5U", "title": "Backpropagation", "series": "s1", "youtube": "Ilg3gGewQ5U"},
            {"id": "no-link", "title": "A lecture with no link", "url": "https://www.youtube.com/results?search_query=x"},
        ],
        "resources": [{"id": "pl", "title": "The playlist", "kind": "playlist",
                       "url": "https://www.youtube.com/playlist?list=PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi",
                       "playlist": "PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi"}],
        "courses": [{"id": "c1", "title": "Course One", "lessons": [
            {"id": "l1", "number": 1, "title": "First", "videos": ["aircAruvnKk", {"id": "IHZwWFHWa-w", "start": 90}],
             "resources": ["pl"]},
            {"id": "l2", "number": 2, "title": "Second", "videos": ["Ilg3gGewQ5U", "no-link"]},
            {"id": "l3", "number": 3, "title": "Third", "videos": ["aircAruvnKk"]},
        ]}],
    }


def write_catalog(folder: Path, data: dict) -> Path:
    path = folder / "catalog.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path
