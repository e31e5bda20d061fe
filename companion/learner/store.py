"""Learner progress in SQLite: a tick per (course, lesson, item), with the time it changed; where
each video was left and which stretches of it were played; notes at a moment of a video; when
each review card is due (FSRS); attempts at a lesson's self-checks.

Small tables in WAL mode, one transaction per write, so two kernels and a CLI can share the
file at once. A file that can't be used is never reset: it is copied aside and reported.
Where the folder can't hold a live SQLite file (JupyterLite's /drive: its files are written whole,
SQLite's partial writes and locks fail there), $COMPANION_PROGRESS_WHOLE_FILE=1 keeps the database
in a working copy and writes the whole file back after each change (`_Whole`).
`PRAGMA user_version` numbers the schema; an older store is migrated in place, keeping every row.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from companion import settings
from companion.errors import StoreError
from companion.learner import records
from companion.learner.tally import REFLECTIONS

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
""", """
CREATE TABLE IF NOT EXISTS reviews (
    card TEXT PRIMARY KEY,
    fsrs TEXT NOT NULL,
    due REAL NOT NULL,
    changed_at REAL NOT NULL
);
""", """
CREATE TABLE IF NOT EXISTS attempts (
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    check_id TEXT NOT NULL,
    at REAL NOT NULL,
    typed TEXT NOT NULL,
    correct INTEGER NOT NULL,
    gave_up INTEGER NOT NULL
);
-- unique, so an attempt merged twice (a future progress import) is kept once
CREATE UNIQUE INDEX IF NOT EXISTS attempts_by_check ON attempts (course, lesson, check_id, at);
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
# Where the learner left a video now wins like a click, over a stored time from the future too.
POSITION_CLICK = """
INSERT INTO positions (course, lesson, item, position, duration, played, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (course, lesson, item) DO UPDATE SET position = excluded.position, duration = excluded.duration,
    played = excluded.played, changed_at = max(excluded.changed_at, positions.changed_at + 0.001)"""
NOTE_UPSERT = """
INSERT INTO notes (id, course, lesson, item, at, text, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET at = excluded.at, text = excluded.text, changed_at = excluded.changed_at
WHERE excluded.changed_at > notes.changed_at"""
# Review cards (`review`): no trigger copies them anywhere, they stay on this machine.
REVIEW_UPSERT = """
INSERT INTO reviews (card, fsrs, due, changed_at) VALUES (?, ?, ?, ?)
ON CONFLICT (card) DO UPDATE SET fsrs = excluded.fsrs, due = excluded.due, changed_at = excluded.changed_at
WHERE excluded.changed_at >= reviews.changed_at"""
REVIEW_MERGE = REVIEW_UPSERT.replace(">=", ">")
# A learner's click always wins: it is dated now, or just after the item's last change when that
# is later (a clock set back, or a time imported before imports refused future ticks).
CLICK = """
INSERT INTO ticks (course, lesson, item, done, changed_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (course, lesson, item) DO UPDATE SET done = excluded.done,
changed_at = max(excluded.changed_at, ticks.changed_at + 0.001)"""
# A tick given for the learner (their reflections all written), only where they never set the box themselves.
UNTOUCHED = """
INSERT INTO ticks (course, lesson, item, done, changed_at) VALUES (?, ?, ?, 1, ?)
ON CONFLICT (course, lesson, item) DO NOTHING"""
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Tick:
    """A checklist item ticked or unticked, and when (seconds since 1970): the newest change of an item wins."""

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
        """The item it is about, (course, lesson, item), as `ticks` keys it too."""
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
class Review:
    """A review card's schedule: its FSRS state (`fsrs.Card.to_dict()` as JSON), when it is due
    next and when it was last rated (seconds since 1970)."""

    card: str
    fsrs: str
    due: float
    changed_at: float


@dataclass(frozen=True)
class Attempt:
    """One answer to a lesson's self-check: what was typed (at most `MAX_TYPED` characters), whether it
    was right, or that the learner gave up and was shown the answer (`gave_up`, `typed` empty)."""

    course: str
    lesson: str
    check: str
    at: float
    typed: str
    right: bool
    gave_up: bool = False


@dataclass(frozen=True)
class Moved:
    """What `ProgressStore.move` gave from one lesson to another of a course for an item."""

    course: str
    lesson: str
    item: str
    to: str
    tick: bool
    position: bool
    notes: int


def clock(seconds: float) -> str:
    """2232 → "37:12", 4000 → "1:06:40"; a dash for what no video holds (a value stored before the
    records were checked: infinite, huge, not a number)."""
    if records.seconds_problem(seconds):
        return "—"
    s = int(seconds)
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


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
    """Where progress is kept: $COMPANION_PROGRESS, else `companion/progress.sqlite` in Jupyter's data folder."""
    chosen = settings.progress_store()
    if chosen is not None:
        return chosen
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "companion" / "progress.sqlite"


class ProgressStore:
    """A learner's ticks, video positions and notes, in one SQLite file on their machine, shared by their
    kernels and the CLI; any failure is a `StoreError` saying what was kept."""

    def __init__(self, path: Path | str | None = None, timeout: float = 10.0):
        # absolute: a notebook that changes directory must not look like a replaced store
        self.path = (Path(path) if path else default_path()).absolute()
        self.timeout = timeout
        self._db: sqlite3.Connection | None = None
        # ipykernel 7 runs widget messages (a tick, a player's report) on another thread than the
        # cells: one connection shared across threads, one statement at a time.
        self._lock = threading.RLock()
        self._identity: tuple[int, int] | None = None
        self._whole = _Whole(self.path) if settings.progress_whole_file() else None
        self.reopened = ""  # why the last call reopened the file, for the notebook to say

    def _connect(self) -> sqlite3.Connection:
        if self._whole is not None and self._db is not None and self._whole.changed():
            self.close()  # another kernel wrote the file: work on its copy
        if self._db is not None:
            if _identity(self._whole.working if self._whole is not None else self.path) == self._identity:
                return self._db
            # Deleted or replaced under us: later ticks go to the file now at the path. Our WAL
            # holds pages of the old file; emptied first, so SQLite can't replay them into the new one.
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError:
                pass
            self.close()
            self.reopened = (f"progress store {self.path} was deleted or replaced while this kernel ran; "
                             "reopened the file now at that path")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"progress store {self.path}: cannot create its folder: {e.strerror or e}") from None
        try:
            live = self._whole.open() if self._whole is not None else self.path
            db = sqlite3.connect(live, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(SCHEMA)
            db.execute("SELECT count(*) FROM ticks").fetchone()
            self._migrate(db)
            self._written(db)
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None
        self._db = db
        self._identity = _identity(live)
        return db

    def _written(self, db: sqlite3.Connection) -> None:
        """In whole-file mode, the file gets every change as soon as it is committed."""
        if self._whole is not None:
            self._whole.save(db)

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
        if "full" in text:
            return StoreError(f"progress store {self.path}: the disk is full ({text}); nothing was changed, "
                              "the store is intact: free some space and try again")
        if isinstance(e, (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)) or \
                "malformed JSON" in text:
            # a refused value or a misuse of the connection, not a damaged file: no backup
            return StoreError(f"progress store {self.path} refused a value or call ({text}); nothing was changed")
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
            backup.unlink(missing_ok=True)  # a partial copy (a full disk) is no backup
            return None
        return backup

    def _run(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                db = self._connect()
                rows = db.execute(sql, tuple(args)).fetchall()
                self._written(db)
                return rows
            except sqlite3.DatabaseError as e:
                raise self._explain(e) from None

    def _check(self, kind: str, record: dict[str, Any]) -> None:
        """Refuse a record the export could not write or the hub could not take; nothing is written."""
        found = records.problems(kind, record)
        if found:
            raise StoreError(f"progress store {self.path}: not kept, the {kind} is not valid ({found[0]}); "
                             "nothing was changed")

    def set(self, course: str, lesson: str, item: str, done: bool, at: float | None = None) -> None:
        """A learner's click (`at` None: it beats any stored time), or a change dated `at`."""
        self._check("tick", {"course": course, "lesson": lesson, "item": item, "done": bool(done),
                             "changed_at": time.time() if at is None else at})
        if at is None:
            self._run(CLICK, (course, lesson, item, int(done), time.time()))
        else:
            self._run(UPSERT, (course, lesson, item, int(done), at))

    def mark_reflections(self, course: str, lesson: str, all_answered: bool) -> bool:
        """Tick the lesson's ✎ "Reflections written" once every answer cell has text (what a save
        sees); True when this ticked it. Like a video's watched tick, it is given once: a box the
        learner ticked or unticked stays as they left it, and emptying an answer later unticks nothing."""
        if not all_answered:
            return False
        with self._lock:
            try:
                db = self._connect()
                given = db.execute(UNTOUCHED, (course, lesson, REFLECTIONS, time.time())).rowcount == 1
                self._written(db)
                return given
            except sqlite3.DatabaseError as e:
                raise self._explain(e) from None

    def ticks(self, course: str | None = None, lesson: str | None = None) -> dict[tuple[str, str, str], bool]:
        """{(course, lesson, item): done} for what was ever ticked or unticked."""
        where, args = _where(course, lesson)
        return {(c, l, i): bool(d) for c, l, i, d in self._run("SELECT course, lesson, item, done FROM ticks" + where,
                                                                  args)}

    def all(self) -> Iterator[Tick]:
        """Every tick and untick with its time, in order of course, lesson and item."""
        for row in self._run("SELECT course, lesson, item, done, changed_at FROM ticks ORDER BY course, lesson, item"):
            yield Tick(row[0], row[1], row[2], bool(row[3]), row[4])

    def save_position(self, course: str, lesson: str, item: str, position: float, duration: float,
                      played: Iterable[Interval], at: float | None = None) -> None:
        """Where a video was left and the stretches played: the learner's own report (`at` None, it wins
        like a click), or one dated `at` (a newer stored one stays)."""
        stretches = list(played)
        self._check("position", {"course": course, "lesson": lesson, "item": item, "position": position,
                                 "duration": duration, "played": stretches,
                                 "changed_at": time.time() if at is None else at})
        self._run(POSITION_UPSERT if at is not None else POSITION_CLICK,
                  (course, lesson, item, float(position), float(duration), json.dumps(union(stretches)),
                   time.time() if at is None else at))

    def positions(self, course: str | None = None, lesson: str | None = None) -> dict[tuple[str, str, str], Position]:
        """{(course, lesson, item): Position} of every video a learner played."""
        where, args = _where(course, lesson)
        sql = "SELECT course, lesson, item, position, duration, played, changed_at FROM positions" + where
        out = {}
        for c, l, i, pos, dur, played, at in self._run(sql + " ORDER BY course, lesson, item", args):
            p = Position(c, l, i, pos, dur, _stretches(played), at)
            out[p.key] = p
        return out

    def add_note(self, note: Note) -> None:
        """Save a note, or replace the one with its id when this one is newer (an edited text or moment)."""
        self._check("note", asdict(note))
        self._run(NOTE_UPSERT, (note.id, note.course, note.lesson, note.item, note.at, note.text, note.changed_at))

    def notes(self, course: str | None = None, lesson: str | None = None, item: str | None = None) -> list[Note]:
        """Notes in order of course, lesson, item and moment."""
        sql, args = "SELECT id, course, lesson, item, at, text, changed_at FROM notes", []
        where = [(k, v) for k, v in (("course", course), ("lesson", lesson), ("item", item)) if v is not None]
        if where:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k, _ in where)
            args = [v for _, v in where]
        return [Note(*row) for row in self._run(sql + " ORDER BY course, lesson, item, at, changed_at", args)]

    # Across courses: a video's ticks, positions and notes stay keyed by (course, lesson, item), so hub
    # sync and export are unchanged; these read them as the learner's, whichever course they were made in.
    def done_in(self) -> dict[str, frozenset[str]]:
        """{item: the courses where it is ticked done}: a video watched in one course is seen in all."""
        out: dict[str, set[str]] = {}
        for item, course in self._run("SELECT item, course FROM ticks WHERE done = 1"):
            out.setdefault(item, set()).add(course)
        return {item: frozenset(courses) for item, courses in out.items()}

    def latest_position(self, item: str) -> Position | None:
        """Where the learner last left a video, in whichever course and lesson that was."""
        rows = self._run("SELECT course, lesson, item, position, duration, played, changed_at FROM positions "
                         "WHERE item = ? ORDER BY changed_at DESC LIMIT 1", (item,))
        return next((Position(c, l, i, pos, dur, union(json.loads(pl)), at) for c, l, i, pos, dur, pl, at in rows),
                    None)

    def last_worked(self, course: str | None = None) -> dict[tuple[str, str], float]:
        """{(course, lesson): the latest time anything of it changed}: a tick, a position or a note."""
        where, args = _where(course, None)
        tables = " UNION ALL ".join(f"SELECT course, lesson, changed_at FROM {t}{where}"
                                    for t in ("ticks", "positions", "notes"))
        return {(c, l): at for c, l, at in self._run(f"SELECT course, lesson, max(changed_at) FROM ({tables}) "
                                                      "GROUP BY course, lesson", args * 3)}
    def save_review(self, review: Review) -> None:
        """Keep a card's new schedule, unless the store holds a later rating of it."""
        self._check("review", asdict(review))
        self._run(REVIEW_UPSERT, (review.card, review.fsrs, review.due, review.changed_at))

    def reviews(self) -> dict[str, Review]:
        """{card key: Review} of every card ever rated."""
        return {row[0]: Review(*row) for row in self._run("SELECT card, fsrs, due, changed_at FROM reviews "
                                                          "ORDER BY card")}

    def add_attempt(self, attempt: Attempt) -> None:
        """Keep one attempt at a self-check; what was typed is cut to the length grading reads."""
        from companion.course.grading import MAX_TYPED

        a = attempt
        self._run("INSERT OR IGNORE INTO attempts (course, lesson, check_id, at, typed, correct, gave_up) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (a.course, a.lesson, a.check, a.at, a.typed[:MAX_TYPED], int(a.right), int(a.gave_up)))

    def attempts(self, course: str | None = None, lesson: str | None = None) -> list[Attempt]:
        """Attempts at self-checks, oldest first within each check (of a course, or of one of its lessons)."""
        where, args = _where(course, lesson)
        sql = "SELECT course, lesson, check_id, at, typed, correct, gave_up FROM attempts" + where
        return [Attempt(c, l, k, at, typed, bool(right), bool(gave_up))
                for c, l, k, at, typed, right, gave_up in self._run(sql + " ORDER BY course, lesson, check_id, at",
                                                                     args)]

    def merge(self, ticks: Iterable[Tick] = (), positions: Iterable[Position] = (), notes: Iterable[Note] = (),
              reviews: Iterable[Review] = ()) -> int:
        """Take each tick, position, note and review unless the store already has a newer change of it;
        all or nothing (an export file, or a learner's moves from another machine)."""
        batch: tuple[list[Tick], list[Position], list[Note], list[Review]] = (
            list(ticks), list(positions), list(notes), list(reviews))
        kinds: list[tuple[str, list[Any]]] = list(zip(("tick", "position", "note", "review"), batch, strict=True))
        for kind, entries in kinds:
            for entry in entries:
                self._check(kind, asdict(entry))
        with self._lock:
            return self._merge(*batch)

    def _merge(self, ticks: list[Tick], positions: list[Position], notes: list[Note], reviews: list[Review]) -> int:
        db = self._connect()
        try:
            before = db.total_changes
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(MERGE, [(t.course, t.lesson, t.item, int(t.done), t.changed_at) for t in ticks])
                db.executemany(POSITION_MERGE, [(p.course, p.lesson, p.item, p.position, p.duration,
                                                 json.dumps(union(p.played)), p.changed_at) for p in positions])
                db.executemany(NOTE_UPSERT, [(n.id, n.course, n.lesson, n.item, n.at, n.text, n.changed_at)
                                             for n in notes])
                db.executemany(REVIEW_MERGE, [(r.card, r.fsrs, r.due, r.changed_at) for r in reviews])
            self._written(db)
            return db.total_changes - before
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None

    def items(self) -> frozenset[tuple[str, str, str]]:
        """Every (course, lesson, item) the store holds a tick, a position or a note of."""
        return frozenset(self._run(" UNION ".join(f"SELECT course, lesson, item FROM {table}"
                                                   for table in ("ticks", "positions", "notes"))))

    def move(self, moves: Iterable[tuple[str, str, str, str]]) -> list[Moved]:
        """Give each (course, lesson, item) of `moves` to another lesson of its course (the fourth
        field): its tick (the newer wins where that lesson has one), its position (the newer, with
        the stretches played in both) and its notes; in one transaction, so all move or none.
        Moving what is no longer there moves nothing: a second call changes nothing."""
        with self._lock:
            db = self._connect()
            try:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    moved = [self._move(db, *m) for m in moves]
                self._written(db)
                return moved
            except sqlite3.DatabaseError as e:
                raise self._explain(e) from None

    def _move(self, db: sqlite3.Connection, course: str, lesson: str, item: str, to: str) -> Moved:
        old = (course, lesson, item)
        tick = db.execute("SELECT done, changed_at FROM ticks WHERE course = ? AND lesson = ? AND item = ?",
                          old).fetchone()
        if tick is not None:
            db.execute(MERGE, (course, to, item, *tick))
            db.execute("DELETE FROM ticks WHERE course = ? AND lesson = ? AND item = ?", old)
        sql = ("SELECT position, duration, played, changed_at FROM positions "
               "WHERE course = ? AND lesson = ? AND item = ?")
        here, there = db.execute(sql, old).fetchone(), db.execute(sql, (course, to, item)).fetchone()
        if here is not None:
            newer = here if there is None or here[3] > there[3] else there
            played = union(json.loads(here[2]) + (json.loads(there[2]) if there is not None else []))
            db.execute(POSITION_UPSERT, (course, to, item, newer[0], newer[1], json.dumps(played), newer[3]))
            db.execute("DELETE FROM positions WHERE course = ? AND lesson = ? AND item = ?", old)
        notes = db.execute("UPDATE notes SET lesson = ? WHERE course = ? AND lesson = ? AND item = ?",
                           (to, *old)).rowcount
        return Moved(course, lesson, item, to, tick is not None, here is not None, notes)

    def close(self) -> None:
        """Close the file; the next call opens it again."""
        if self._db is not None:
            self._db.close()
            self._db = None
            self._identity = None


class _Whole:
    """The store's file read whole into a working copy, and written whole after each change."""

    def __init__(self, path: Path):
        self.path = path
        self.working = Path(tempfile.mkdtemp(prefix="companion-progress-")) / path.name
        self.changes = -1  # the connection's total_changes when the file was last written
        self.seen: tuple[int, float] | None = None  # the file's (size, mtime) when last read or written

    def _stat(self) -> tuple[int, float] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_size, st.st_mtime

    def changed(self) -> bool:
        return self._stat() != self.seen

    def open(self) -> Path:
        self.working.unlink(missing_ok=True)
        if self.path.is_file():
            shutil.copyfile(self.path, self.working)
        self.seen, self.changes = self._stat(), -1
        return self.working

    def save(self, db: sqlite3.Connection) -> None:
        if db.total_changes == self.changes or db.in_transaction:
            return
        data = db.serialize()
        try:
            self.path.write_bytes(data)
        except OSError as e:
            raise StoreError(f"progress store {self.path}: could not write it ({e.strerror or e}); "
                             "the change is kept in this kernel only") from None
        self.changes, self.seen = db.total_changes, self._stat()


def _where(course: str | None, lesson: str | None) -> tuple[str, list[str]]:
    """The WHERE clause (and its arguments) that narrows a table to a course, or to one of its lessons."""
    if course is None:
        return "", []
    if lesson is None:
        return " WHERE course = ?", [course]
    return " WHERE course = ? AND lesson = ?", [course, lesson]


def _stretches(played: str) -> tuple[Interval, ...]:
    """The played stretches a row holds; none for a value that isn't a list of pairs (kept before checks)."""
    try:
        pairs = json.loads(played)
        return union(pairs) if not records.stretches_problem(pairs) else ()
    except (ValueError, TypeError):
        return ()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def is_sqlite_file(path: Path) -> bool:
    """True for any SQLite database (a progress store, the trust database): never export onto one."""
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False
