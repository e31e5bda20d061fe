"""Learner progress in SQLite: a tick per (course, lesson, item), with the time it changed; where
each video was left and which stretches of it were played; notes at a moment of a video.

Small tables in WAL mode, one transaction per write, so two kernels and a CLI can share the
file at once. A file that can't be used is never reset: it is copied aside and reported.
`PRAGMA user_version` numbers the schema; an older store is migrated in place, keeping every row.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
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
# Each entry takes the store from version i to i + 1 (version 0: the ticks table alone).
MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS positions (
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    item TEXT NOT NULL,
    position REAL NOT NULL,
    duration REAL NOT NULL,
    played TEXT NOT NULL,
    changed_at REAL NOT NULL,
    PRIMARY KEY (course, lesson, item)
);
CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY,
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    item TEXT NOT NULL,
    at REAL NOT NULL,
    text TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_item ON notes (course, lesson, item, at);
"""]
VERSION = len(MIGRATIONS)
UPSERT = """
INSERT INTO ticks (course, lesson, item, done, changed_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (course, lesson, item) DO UPDATE SET done = excluded.done, changed_at = excluded.changed_at
WHERE excluded.changed_at >= ticks.changed_at"""
MERGE = UPSERT.replace(">=", ">")  # an import only takes what is strictly newer
POSITION_UPSERT = """
INSERT INTO positions (course, lesson, item, position, duration, played, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (course, lesson, item) DO UPDATE SET position = excluded.position, duration = excluded.duration,
    played = excluded.played, changed_at = excluded.changed_at
WHERE excluded.changed_at >= positions.changed_at"""
POSITION_MERGE = POSITION_UPSERT.replace(">=", ">")
NOTE_UPSERT = """
INSERT INTO notes (id, course, lesson, item, at, text, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET at = excluded.at, text = excluded.text, changed_at = excluded.changed_at
WHERE excluded.changed_at > notes.changed_at"""
EXPORT_FORMAT = "course-companion-progress"


@dataclass(frozen=True)
class Tick:
    course: str
    lesson: str
    item: str
    done: bool
    changed_at: float


Interval = tuple[float, float]


@dataclass(frozen=True)
class Position:
    """Where a video was left, how long it is, and the stretches of it actually played."""

    course: str
    lesson: str
    item: str
    position: float
    duration: float
    played: tuple[Interval, ...]
    changed_at: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.course, self.lesson, self.item)


@dataclass(frozen=True)
class Note:
    """A line a learner wrote at a moment (`at`, seconds) of a video."""

    id: str
    course: str
    lesson: str
    item: str
    at: float
    text: str
    changed_at: float


@dataclass(frozen=True)
class Export:
    ticks: list[Tick]
    positions: list[Position]
    notes: list[Note]


def union(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Overlapping or touching stretches merged, in order: played twice counts once."""
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


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
        # ipykernel 7 runs widget messages (a tick, a player's report) on another thread than the
        # cells: one connection shared across threads, one statement at a time.
        self._lock = threading.RLock()

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"progress store {self.path}: cannot create its folder: {e.strerror or e}") from None
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = %d" % int(self.timeout * 1000))
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(SCHEMA)
            db.execute("SELECT count(*) FROM ticks").fetchone()
            self._migrate(db)
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None
        self._db = db
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring an older store up to VERSION in one transaction; its rows stay as they are."""
        if db.execute("PRAGMA user_version").fetchone()[0] == VERSION:
            return
        db.execute("BEGIN IMMEDIATE")  # another process may be migrating the same file: read again inside
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > VERSION:
                raise StoreError(f"progress store {self.path} was written by a newer course companion "
                                 f"(schema {version}, this one knows {VERSION}); upgrade the companion")
            for step in MIGRATIONS[version:]:
                for statement in filter(str.strip, step.split(";")):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _explain(self, e: sqlite3.DatabaseError) -> StoreError:
        text = str(e)
        if isinstance(e, sqlite3.ProgrammingError):  # a misuse of the connection, not a damaged file: no backup
            return StoreError(f"progress store {self.path} could not be used ({text}); nothing was changed")
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
        with self._lock:
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

    def save_position(self, course: str, lesson: str, item: str, position: float, duration: float,
                      played: Iterable[Interval], at: float | None = None) -> None:
        self._run(POSITION_UPSERT, (course, lesson, item, float(position), float(duration),
                                    json.dumps(union(played)), time.time() if at is None else at))

    def positions(self, course: str | None = None, lesson: str | None = None) -> dict[tuple[str, str, str], Position]:
        """{(course, lesson, item): Position} of every video a learner played."""
        sql, args = "SELECT course, lesson, item, position, duration, played, changed_at FROM positions", []
        if course is not None:
            sql += " WHERE course = ?"
            args.append(course)
            if lesson is not None:
                sql += " AND lesson = ?"
                args.append(lesson)
        out = {}
        for c, l, i, pos, dur, played, at in self._run(sql + " ORDER BY course, lesson, item", args):
            p = Position(c, l, i, pos, dur, union(json.loads(played)), at)
            out[p.key] = p
        return out

    def add_note(self, note: Note) -> None:
        self._run(NOTE_UPSERT, (note.id, note.course, note.lesson, note.item, note.at, note.text, note.changed_at))

    def notes(self, course: str | None = None, lesson: str | None = None, item: str | None = None) -> list[Note]:
        """Notes in order of course, lesson, item and moment."""
        sql, args = "SELECT id, course, lesson, item, at, text, changed_at FROM notes", []
        where = [(k, v) for k, v in (("course", course), ("lesson", lesson), ("item", item)) if v is not None]
        if where:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k, _ in where)
            args = [v for _, v in where]
        return [Note(*row) for row in self._run(sql + " ORDER BY course, lesson, item, at, changed_at", args)]

    def merge(self, data: Export | Iterable[Tick]) -> int:
        """Take each tick, position and note unless the store already has a newer change of it."""
        export = data if isinstance(data, Export) else Export(list(data), [], [])
        with self._lock:
            return self._merge(export)

    def _merge(self, export: Export) -> int:
        db = self._connect()
        try:
            before = db.total_changes
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(MERGE, [(t.course, t.lesson, t.item, int(t.done), t.changed_at) for t in export.ticks])
                db.executemany(POSITION_MERGE, [(p.course, p.lesson, p.item, p.position, p.duration,
                                                 json.dumps(union(p.played)), p.changed_at) for p in export.positions])
                db.executemany(NOTE_UPSERT, [(n.id, n.course, n.lesson, n.item, n.at, n.text, n.changed_at)
                                             for n in export.notes])
            return db.total_changes - before
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None

    def export_json(self) -> str:
        ticks = [{"course": t.course, "lesson": t.lesson, "item": t.item, "done": t.done, "changed_at": t.changed_at}
                 for t in self.all()]
        positions = [{"course": p.course, "lesson": p.lesson, "item": p.item, "position": p.position,
                      "duration": p.duration, "played": [list(i) for i in p.played], "changed_at": p.changed_at}
                     for p in self.positions().values()]
        notes = [{"id": n.id, "course": n.course, "lesson": n.lesson, "item": n.item, "at": n.at, "text": n.text,
                  "changed_at": n.changed_at} for n in self.notes()]
        return json.dumps({"format": EXPORT_FORMAT, "version": 2, "ticks": ticks, "positions": positions,
                           "notes": notes}, indent=1, ensure_ascii=False) + "\n"

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def read_export(text: str, name: str) -> Export:
    """Ticks, positions and notes of an exported file (version 1 has ticks only), or a ValueError
    naming what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}:{e.lineno}: not JSON: {e.msg}") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(data.get("ticks"), list):
        raise ValueError(f"{name}: not a course companion progress export")
    out = []
    for i, t in enumerate(data["ticks"]):
        try:
            _keys(t)
            out.append(Tick(t["course"], t["lesson"], t["item"], bool(t["done"]), float(t["changed_at"])))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}: ticks[{i}] needs course, lesson, item (text), done and changed_at") from None
    positions, notes = [], []
    for i, p in enumerate(_list(data, "positions", name)):
        try:
            _keys(p)
            played = tuple((float(a), float(b)) for a, b in p["played"])
            positions.append(Position(p["course"], p["lesson"], p["item"], float(p["position"]), float(p["duration"]),
                                      played, float(p["changed_at"])))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}: positions[{i}] needs course, lesson, item (text), position, duration, "
                             "played ([start, end] pairs) and changed_at") from None
    for i, n in enumerate(_list(data, "notes", name)):
        try:
            _keys(n, "id", "text")
            notes.append(Note(n["id"], n["course"], n["lesson"], n["item"], float(n["at"]), n["text"],
                              float(n["changed_at"])))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}: notes[{i}] needs id, course, lesson, item, text (text), at and changed_at") from None
    return Export(out, positions, notes)


def _list(data: dict, key: str, name: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{name}: {key} must be a list")
    return value


def _keys(entry: dict, *more: str) -> None:
    if not all(isinstance(entry[k], str) for k in ("course", "lesson", "item", *more)):
        raise TypeError
