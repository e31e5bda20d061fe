"""Trust for what a build writes, so the saved players show when a learner opens a lesson.

Trust is per machine, in the Jupyter data folder; checked writable before anything is written, and
recorded in one transaction, since `NotebookNotary.sign` commits once or twice per notebook.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import NotebookNode

from companion.errors import BuildError

if TYPE_CHECKING:  # imported when used: nbformat.sign brings traitlets' config machinery (~30 ms)
    from nbformat.sign import NotebookNotary


def open_notary() -> NotebookNotary:
    """This machine's notary, checked writable before the build writes anything: trust is stored
    in the Jupyter data folder, and a build that fails there after writing is half done."""
    import sqlite3

    from jupyter_core.paths import jupyter_data_dir
    from nbformat.sign import NotebookNotary, SQLiteSignatureStore

    try:
        notary = NotebookNotary()
        notary.secret  # noqa: B018 - made and written on first use
        store = notary.store
        if isinstance(store, SQLiteSignatureStore):
            if store.db is None or store.db_file == ":memory:":
                raise OSError(f"cannot open {notary.db_file}")
            store.db.execute("BEGIN IMMEDIATE")
            store.db.rollback()
    except (OSError, sqlite3.Error) as e:
        raise BuildError(f"cannot record trust in {jupyter_data_dir()}: {e}; nothing was written. Make that "
                         "folder writable (or set JUPYTER_DATA_DIR), or build with --no-trust") from None
    return notary


def sign(notary: NotebookNotary, notebooks: list[NotebookNode]) -> int:
    """Trust what the build wrote, so the saved players show on open; trust is per machine.

    The signatures `NotebookNotary.sign` stores, but in one transaction and only those not stored
    yet: `sign` commits (fsyncs) the database once or twice per notebook, most of a no-op rebuild."""
    from nbformat.sign import SQLiteSignatureStore

    store = notary.store
    if not isinstance(store, SQLiteSignatureStore) or store.db is None:
        for nb in notebooks:
            notary.sign(nb)
        return len(notebooks)
    db, algorithm = store.db, notary.algorithm
    known = {row[0] for row in db.execute("SELECT signature FROM nbsignatures WHERE algorithm = ?", (algorithm,))}
    new = [d for d in dict.fromkeys(notary.compute_signature(nb) for nb in notebooks) if d not in known]
    if new:
        now = datetime.now(tz=UTC)
        with db:
            db.executemany("INSERT INTO nbsignatures (algorithm, signature, last_seen) VALUES (?, ?, ?)",
                           [(algorithm, d, now) for d in new])
        (count,) = db.execute("SELECT Count(*) FROM nbsignatures").fetchone()
        if count > store.cache_size:
            with db:
                store.cull_db()
    return len(notebooks)


def _plain(cell: dict[str, Any]) -> bool:
    """A code cell whose outputs JupyterLab shows the same trusted or not (text, errors)."""
    return all(o.get("output_type") in ("stream", "error") or set(o.get("data", {})) <= {"text/plain"}
               for o in cell.get("outputs", []))


def lost_trust(notary: NotebookNotary, nb: dict[str, Any]) -> bool:
    """A lesson that is not signed on this machine though nothing of the learner's in it needs
    trusting (a save by an earlier server extension lost it, and with it the players). Made again
    from the catalog with the learner's work, the build's own outputs are all that shows HTML, and
    signing it trusts nothing else. A lesson with rich outputs of the learner's own code stays
    untrusted until the learner runs it."""
    from companion.notebook.merge import learner_cells

    if notary.check_signature(nbformat.from_dict(copy.deepcopy(nb))):
        return False
    return all(_plain(c) for c in learner_cells(nb) if c.get("cell_type") == "code")
