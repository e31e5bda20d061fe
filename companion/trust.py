"""Trust for what a build writes, so the saved players show when a learner opens a lesson.

Trust is per machine, in the Jupyter data folder; checked writable before anything is written, and
recorded in one transaction, since `NotebookNotary.sign` commits once or twice per notebook.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nbformat import NotebookNode

from .errors import BuildError

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
