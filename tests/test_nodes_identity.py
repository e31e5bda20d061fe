"""The build skips nbformat's schema checks (companion/nodes.py); with the installed nbformat, that
must not change one byte: its nodes are the nodes nbformat's `new_*()` make, every notebook the
shipped catalog plans is valid, and its text is what `nbformat.writes` writes. A new nbformat that
makes nodes or text differently fails here, not in a learner's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import nbformat.v4
import pytest
from helpers import ROOT

from companion.builder import extras
from companion.builder.plan import plan
from companion.course.catalog import load
from companion.notebook import nodes


def _without_id(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "id"}  # nbformat's ids are random; the builder sets its own


@pytest.mark.parametrize("make, args, kwargs", [
    ("new_markdown_cell", ("# Title\n\ntext",), {"metadata": {"companion": {"role": "title"}}}),
    ("new_code_cell", ("print(1)",), {"metadata": {"tags": ["x"]}}),
    ("new_code_cell", (), {"outputs": [], "execution_count": 3}),
    ("new_output", ("display_data",), {"data": {"text/plain": "a\nb", "text/html": "<b>x</b>"}, "metadata": {}}),
    ("new_output", ("execute_result",), {"data": {"text/plain": "1"}, "execution_count": 1}),
    ("new_notebook", (), {"metadata": {"companion": {"course_id": "c"}}, "cells": []}),
])
def test_each_node_is_the_node_nbformat_makes(make, args, kwargs):
    ours, theirs = getattr(nodes, make)(*args, **kwargs), getattr(nbformat.v4, make)(*args, **kwargs)
    assert _without_id(ours) == _without_id(theirs)
    assert type(ours) is type(theirs)


@pytest.fixture(scope="module", params=[None, True], ids=["default embeds", "nocookie embeds"])
def planned(request) -> dict:
    """Every notebook the shipped catalog (with its lesson extras) plans."""
    catalog = ROOT / "catalog.json"
    cat = load(catalog)
    return plan(cat, request.param, extras.load(cat, extras.folder_of(catalog)), folder=ROOT / "notebooks")


def test_every_planned_notebook_is_valid_and_written_as_nbformat_writes_it(planned):
    assert len(planned) > 100
    for path, nb in planned.items():
        nbformat.validate(nb)
        assert nodes.dumps(nb) == nbformat.writes(nb) + "\n", path


def test_every_committed_notebook_rewrites_to_its_own_bytes():
    files = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    assert files
    for f in files:
        text = f.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        assert nodes.dumps(nb) == nbformat.writes(nb) + "\n" == text, Path(f).relative_to(ROOT)
