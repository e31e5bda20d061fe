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
from typing import Any, Callable, Iterable, Iterator

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
# A learner's click always wins: it is dated now, or just after the item's last change when that
# is later (a clock set back, or a time imported before imports refused future ticks).
CLICK = """
INSERT INTO ticks (course, lesson, item, done, changed_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (course, lesson, item) DO UPDATE SET done = excluded.done,
changed_at = max(excluded.changed_at, ticks.changed_at + 0.001)"""
EXPORT_FORMAT = "course-companion-progress"
CLOCK_SKEW = 300.0  # seconds an imported tick may lie in the future (another machine's clock)
MAX_EXPORT_BYTES = 64 * 1024 * 1024
MAX_ID = 200  # characters of a course, lesson or item id in an export
MAX_LISTED = 20  # problems of an export listed before "… and N more"
SQLITE_HEADER = b"SQLite format 3\x00"


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
        # absolute: a notebook that changes directory must not look like a replaced store
        self.path = (Path(path) if path else default_path()).absolute()
        self.timeout = timeout
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self.reopened = ""  # why the last call reopened the file, for the notebook to say

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            if _identity(self.path) == self._identity:
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
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            db.execute("PRAGMA busy_timeout = %d" % int(self.timeout * 1000))
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(SCHEMA)
            db.execute("SELECT count(*) FROM ticks").fetchone()
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None
        self._db = db
        self._identity = _identity(self.path)
        return db

    def _explain(self, e: sqlite3.DatabaseError) -> StoreError:
        text = str(e)
        if "full" in text:
            return StoreError(f"progress store {self.path}: the disk is full ({text}); nothing was changed, "
                              "the store is intact: free some space and try again")
        if isinstance(e, (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)):
            return StoreError(f"progress store {self.path} refused a value ({text}); nothing was changed")
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

    def _run(self, sql: str, args: Iterable = ()) -> list[tuple]:
        try:
            return self._connect().execute(sql, tuple(args)).fetchall()
        except sqlite3.DatabaseError as e:
            raise self._explain(e) from None

    def set(self, course: str, lesson: str, item: str, done: bool, at: float | None = None) -> None:
        """A learner's click (`at` None: it beats any stored time), or a change dated `at`."""
        if at is None:
            self._run(CLICK, (course, lesson, item, int(done), time.time()))
        else:
            self._run(UPSERT, (course, lesson, item, int(done), at))

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
            self._identity = None


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


def read_export(text: str, name: str, now: float | None = None) -> list[Tick]:
    """Ticks of an exported file, or a ValueError listing each problem with its place.

    Strict, since a tick can't be taken back: `done` is true or false, `changed_at` a finite
    number of seconds since 1970 (what the export writes) not later than now plus a clock skew,
    ids are text of at most MAX_ID characters that UTF-8 can encode."""
    if len(text) > MAX_EXPORT_BYTES:
        raise ValueError(f"{name}: larger than {MAX_EXPORT_BYTES // 2**20} MB; not a progress export")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}:{e.lineno}: not JSON: {e.msg}") from None
    except ValueError as e:  # NaN/Infinity, or an integer of more than 4300 digits
        raise ValueError(f"{name}: not a progress export: {str(e)[:100]}") from None
    except RecursionError:
        raise ValueError(f"{name}: not a progress export: nested too deeply") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(data.get("ticks"), list):
        raise ValueError(f"{name}: not a course companion progress export")
    when = _changed_at((time.time() if now is None else now) + CLOCK_SKEW)
    problems: list[str] = []
    ticks = [Tick(t["course"], t["lesson"], t["item"], t["done"], float(t["changed_at"])) for t in _entries(data["ticks"], f"{name}: ticks", problems, {
        "course": _id, "lesson": _id, "item": _id, "done": _bool, "changed_at": when})]
    if problems:
        more = f" … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ValueError("\n".join(problems[:MAX_LISTED]) + more + "\nnothing was imported")
    return ticks


Check = Callable[[Any], str]  # a field's problem ("" when fine)


def _entries(items: list, at: str, problems: list[str], fields: dict[str, Check]) -> Iterator[dict[str, Any]]:
    """The entries of an export's list whose every field passes its check; a problem for each other."""
    for i, entry in enumerate(items):
        if not isinstance(entry, dict):
            problems.append(f"{at}[{i}]: must be an object with {', '.join(fields)}")
            continue
        mine = [f"{at}[{i}].{key}: {p}" for key, check in fields.items() if (p := check(entry.get(key)))]
        problems += mine
        if not mine:
            yield {key: entry[key] for key in fields}


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a progress export can hold")


def _id(value: object) -> str:
    if not isinstance(value, str) or not value:
        return f"must be non-empty text, not {_shown(value)}"
    if len(value) > MAX_ID:
        return f"longer than {MAX_ID} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"holds a lone surrogate ({_shown(value)}), not text"
    return ""


def _bool(value: object) -> str:
    return "" if isinstance(value, bool) else f"must be true or false, not {_shown(value)}"


def _seconds(value: object) -> str:
    """A finite, non-negative number (JSON has no NaN; true is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        return f"must be a number of seconds, not {_shown(value)}"
    return ""


def _changed_at(limit: float) -> Check:
    """Seconds since 1970, no later than `limit`: a time from the future would beat every later click."""
    def check(value: object) -> str:
        if not isinstance(value, (int, float)) or _seconds(value):
            return f"must be a number of seconds since 1970, not {_shown(value)}"
        if value > limit:
            return f"{_shown(value)} is in the future ({_utc(value)}); the other machine's clock is wrong, fix it and export again"
        return ""
    return check


def _shown(value: object) -> str:
    """A value inside a message: JSON, ASCII only, at most ~60 characters."""
    try:
        text = json.dumps(value)
    except (ValueError, TypeError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _utc(seconds: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return "far beyond any calendar"
