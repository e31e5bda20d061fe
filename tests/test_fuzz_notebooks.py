"""Notebooks of any shape where the build writes: whatever a file holds (JSON of the wrong shape,
a built notebook with parts replaced or removed, bytes cut short or stuffed with conflict markers
or bytes that are not UTF-8), the build ends normally, its bytes are kept (aside, or merged
because they were a readable notebook of the lesson), the result matches the catalog, and the
next build changes nothing."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat
from helpers import small_catalog, write_catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.notebook import salvage
from companion.notebook.cells import lesson_key

FIRST = Path("c1") / "01-first.ipynb"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)

_BUILT: dict[str, Path] = {}


def built() -> Path:
    """One built course, copied for each example."""
    if "dir" not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="fuzz-base-"))
        write_catalog(folder, small_catalog())
        from companion.api import build

        build(folder / "catalog.json", trust=False)
        _BUILT["dir"] = folder
    return _BUILT["dir"]


PLACES = ["", "metadata", "metadata.companion", "cells", "nbformat", "cells.0", "cells.3", "cells.3.metadata",
          "cells.3.id", "cells.3.source", "cells.-3.metadata.companion", "cells.-3.cell_type"]


@st.composite
def reshaped(draw) -> bytes:
    """The built notebook with one part replaced by any JSON value, or removed."""
    nb = json.loads((built() / "notebooks" / FIRST).read_text())
    place = draw(st.sampled_from(PLACES))
    if not place:
        return json.dumps(draw(json_values)).encode()
    *parents, last = place.split(".")
    target = nb
    for p in parents:
        target = target[int(p)] if isinstance(target, list) else target[p]
    key = int(last) if isinstance(target, list) else last
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(json_values)
    return json.dumps(nb, indent=1).encode()


@st.composite
def damaged_bytes(draw) -> bytes:
    """The built notebook's bytes cut short, with conflict markers, or with bytes that are not UTF-8."""
    data = (built() / "notebooks" / FIRST).read_bytes()
    at = draw(st.integers(0, len(data)))
    how = draw(st.sampled_from(["cut", "markers", "byte"]))
    if how == "cut":
        return data[:at]
    if how == "byte":
        return data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]
    lines = data.split(b"\n")
    i, j = sorted(draw(st.lists(st.integers(0, len(lines)), min_size=2, max_size=2)))
    return b"\n".join(lines[:i] + [b"<<<<<<< HEAD"] + lines[i:j] + [b"======="] + lines[i:j] + [b">>>>>>> theirs"]
                      + lines[j:])


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(reshaped(), damaged_bytes(), json_values.map(lambda v: json.dumps(v).encode())))
def test_a_notebook_of_any_shape_is_kept_and_the_build_goes_on(data):
    from companion.api import build

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "course"
        shutil.copytree(built(), folder)
        (folder / "notebooks" / FIRST).write_bytes(data)
        report = build(folder / "catalog.json", trust=False)  # a traceback fails the test
        kept = [p.read_bytes() for p in (folder / "notebooks" / "kept-aside").rglob("*") if p.is_file()]
        read = salvage.read(data)
        if data not in kept:  # then it was a readable notebook of this lesson, merged
            assert read.problem is None and lesson_key(read.nb or {}) == ("c1", "l1")
        assert [c.path for c in build(folder / "catalog.json", check=True).stale] == []
        nbformat.validate(nbformat.read(folder / "notebooks" / FIRST, as_version=nbformat.NO_CONVERT))
        again = build(folder / "catalog.json", trust=False)
        assert [c for c in again.changes if c.action != "keep"] == [], report.changes
