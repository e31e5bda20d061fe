"""Learner progress in SQLite: a tick per (course, lesson, item), with the time it changed.

One small table in WAL mode, one transaction per tick, so two kernels and a CLI can share the
file at once. A file that can't be used is never reset: it is copied aside and reported.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS ticks (
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    item TEXT NOT NULL,
    done INTEGER NOT NULL,
    changed_at REAL NOT NULL,
    PRIMARY KEY (course, lesson, item)
)"""
UPSERT = """
INSERT INTO ticks (course, lesson, item, done, changed_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (course, lesson, item) DO UPDATE SET done = excluded.done, changed_at = excluded.changed_at
WHERE excluded.changed_at >= ticks.changed_at"""
MERGE = UPSERT.replace(">=", ">")  # an import only takes what is strictly newer
EXPORT_FORMAT = "course-companion-progress"


@dataclass(frozen=True)
class Tick:
    course: str
    lesson: str
    item: str
    done: bool
    changed_at: float


def default_path() -> Path:
    if os.environ.get("COMPANION_PROGRESS"):
        return Path(os.environ["COMPANION_PROGRESS"])
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "companion" / "progress.sqlite"


class ProgressStore:
    def __init__(self, path: Path | str | None = None, timeout: float = 10.0):
        self.path = Path(path) if path else default_path()
        self.timeout = timeout
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"progress store {self.path}: cannot create its folder: {e.strerror or e}") from None
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            db.execute("PRAGMA busy_timeout = %d" % int(self.timeout * 1000))
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(SCHEMA)
            db.execute("SELECT count(*) FROM ticks").fetchone()
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None
        self._db = db
        return db

    def _explain(self, e: sqlite3.DatabaseError) -> StoreError:
        text = str(e)
        if "locked" in text or "busy" in text:
            return StoreError(f"progress store {self.path} is locked by another program ({text}); "
                              "nothing was changed, try again when it is closed")
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return StoreError(f"progress store {self.path} cannot be written ({text}); "
                              "check the file's permissions or set COMPANION_PROGRESS to another path")
        backup = self._backup()
        kept = f"a copy was kept at {backup}" if backup else "it was left as it is"
        return StoreError(f"progress store {self.path} is damaged ({text}); it was not reset: {kept}. "
                          "Restore a backup, or move the file away to start a new store")

    def _backup(self) -> Path | None:
        if not self.path.is_file():
            return None
        backup = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            shutil.copy2(self.path, backup)
        except OSError:
            return None
        return backup

    def _run(self, sql: str, args: Iterable = ()) -> list[tuple]:
        try:
            return self._connect().execute(sql, tuple(args)).fetchall()
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None

    def set(self, course: str, lesson: str, item: str, done: bool, at: float | None = None) -> None:
        self._run(UPSERT, (course, lesson, item, int(done), time.time() if at is None else at))

    def ticks(self, course: str | None = None, lesson: str | None = None) -> dict[tuple[str, str, str], bool]:
        """{(course, lesson, item): done} for what was ever ticked or unticked."""
        sql, args = "SELECT course, lesson, item, done FROM ticks", []
        if course is not None:
            sql += " WHERE course = ?"
            args.append(course)
            if lesson is not None:
                sql += " AND lesson = ?"
                args.append(lesson)
        return {(c, l, i): bool(d) for c, l, i, d in self._run(sql, args)}

    def all(self) -> Iterator[Tick]:
        for row in self._run("SELECT course, lesson, item, done, changed_at FROM ticks ORDER BY course, lesson, item"):
            yield Tick(row[0], row[1], row[2], bool(row[3]), row[4])

    def merge(self, ticks: Iterable[Tick]) -> int:
        """Take each tick unless the store already has a newer change of that item."""
        rows = [(t.course, t.lesson, t.item, int(t.done), t.changed_at) for t in ticks]
        db = self._connect()
        try:
            before = db.total_changes
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(MERGE, rows)
            return db.total_changes - before
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None

    def export_json(self) -> str:
        ticks = [{"course": t.course, "lesson": t.lesson, "item": t.item, "done": t.done, "changed_at": t.changed_at}
                 for t in self.all()]
        return json.dumps({"format": EXPORT_FORMAT, "version": 1, "ticks": ticks}, indent=1) + "\n"

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def read_export(text: str, name: str) -> list[Tick]:
    """Ticks of an exported file, or a ValueError naming what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}:{e.lineno}: not JSON: {e.msg}") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(data.get("ticks"), list):
        raise ValueError(f"{name}: not a course companion progress export")
    out = []
    for i, t in enumerate(data["ticks"]):
        try:
            if not all(isinstance(t[k], str) for k in ("course", "lesson", "item")):
                raise TypeError
            out.append(Tick(t["course"], t["lesson"], t["item"], bool(t["done"]), float(t["changed_at"])))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}: ticks[{i}] needs course, lesson, item (text), done and changed_at") from None
    return out
