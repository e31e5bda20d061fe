"""Check that the build's fast path writes what nbformat would: `python bench/identical.py CATALOG [NOTEBOOKS...]`.

The builder makes nodes without nbformat's per-node schema check (`companion/nodes.py`) and
serializes them without `nbformat.writes`' validation and deep copy. This plans every notebook of
CATALOG (default and --nocookie embeds) both ways, and re-serializes every given notebook file,
and prints one line: `<identical> <total> <invalid>`.
"""

from __future__ import annotations

import inspect
import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
import nbformat.v4  # noqa: E402

from companion import builder, nodes  # noqa: E402
from companion.catalog import load  # noqa: E402

CONSTRUCTORS = ("new_code_cell", "new_markdown_cell", "new_notebook", "new_output")


def plan_both(catalog: Path, privacy: bool | None) -> tuple[dict, dict | None]:
    cat = load(catalog)
    try:
        from companion.extras import folder_of, load as load_extras

        args: tuple = (privacy, load_extras(cat, folder_of(catalog)))
    except ImportError:
        args = (privacy,)
    # since the notebooks record their catalog's place, planning needs the output folder (older copies: --src)
    kwargs = {"folder": catalog.parent / "notebooks"} if "folder" in inspect.signature(builder.plan).parameters else {}
    fast = builder.plan(cat, *args, **kwargs)
    # the constructors live in the builder, or (since the cells contract moved out) in `cells`
    owners = [m for m in (builder, sys.modules.get("companion.cells")) if m is not None]
    where = {name: next((m for m in owners if hasattr(m, name)), None) for name in CONSTRUCTORS}
    if any(m is None for m in where.values()):
        return fast, None
    saved = {name: getattr(m, name) for name, m in where.items()}
    try:
        for name, m in where.items():
            setattr(m, name, getattr(nbformat.v4, name))
        slow = builder.plan(cat, *args, **kwargs)
    finally:
        for name, f in saved.items():
            setattr(where[name], name, f)
    return fast, slow


def main() -> int:
    catalog, files = Path(sys.argv[1]), [Path(f) for f in sys.argv[2:]]
    same = total = invalid = 0
    for privacy in (None, True):
        fast, slow = plan_both(catalog, privacy)
        for path, nb in fast.items():
            total += 1
            try:
                nbformat.validate(nb)
            except nbformat.ValidationError:
                invalid += 1
            reference = nbformat.writes(slow[path] if slow is not None else nb) + "\n"
            same += nodes.dumps(nb) == reference and (slow is None or nb == slow[path])
    for f in files:
        nb = nbformat.read(f, as_version=nbformat.NO_CONVERT)
        total += 1
        same += nodes.dumps(nb) == nbformat.writes(nb) + "\n"
    print(same, total, invalid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
