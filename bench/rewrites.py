"""What companion's own copies of nbformat's work save: `python bench/rewrites.py CATALOG [OLD_SRC]`.

Prints JSON: milliseconds (best of 5) for the planned notebooks of CATALOG serialized by
`nbformat.writes` (validates, deep-copies), `nbformat.v4.writes` (deep-copies) and `nodes.writes`
(neither; OLD_SRC: a copy of companion/ from before, to time its `nodes.writes` too);
validating each notebook; and signing them by `NotebookNotary.sign` one by one against
`trust.sign` (one transaction), into a new trust database and into one that has them all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import nbformat.v4
from nbformat.sign import NotebookNotary

from companion.builder import extras, trust
from companion.builder.plan import plan
from companion.course.catalog import load
from companion.notebook import nodes


def best(f: Callable[[], Any], n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def signing(f: Callable[[], Any]) -> tuple[float, float]:
    """(into a new trust database, again into the same) in ms, best of 3."""
    new, again = [], []
    for _ in range(3):
        os.environ["JUPYTER_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-trust-")
        t0 = time.perf_counter()
        f()
        new.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        f()
        again.append(time.perf_counter() - t0)
    return min(new) * 1000, min(again) * 1000


def main() -> int:
    catalog = Path(sys.argv[1])
    cat = load(catalog)
    nbs = list(plan(cat, None, extras.load(cat, extras.folder_of(catalog)), folder=catalog.parent / "nb").values())
    out: dict[str, Any] = {"notebooks": len(nbs)}
    out["nbformat.writes"] = best(lambda: [nbformat.writes(nb) for nb in nbs])
    out["nbformat.v4.writes"] = best(lambda: [nbformat.v4.writes(nb) for nb in nbs])
    out["nodes.writes"] = best(lambda: [nodes.writes(nb) for nb in nbs])
    if len(sys.argv) > 2:
        spec = importlib.util.spec_from_file_location("old_nodes", Path(sys.argv[2]) / "companion" / "nodes.py")
        assert spec is not None and spec.loader is not None
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        if hasattr(old, "writes"):
            out["old nodes.writes"] = best(lambda: [old.writes(nb) for nb in nbs])
    out["validate each"] = best(lambda: [nbformat.validate(nb) for nb in nbs])

    def notary() -> None:
        n = NotebookNotary()
        for nb in nbs:
            n.sign(nb)

    out["NotebookNotary.sign"] = signing(notary)
    out["trust.sign"] = signing(lambda: trust.sign(trust.open_notary(), nbs))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
