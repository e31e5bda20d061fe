"""The learner's side: a background thread that sends ticks to the hub's companion service.

Active only on a JupyterHub (both $JUPYTERHUB_API_TOKEN and the service's address, from
$COMPANION_HUB_URL or the hub's public URL). The learner's SQLite store stays the source of
truth: a trigger there copies every tick into an outbox table in the same transaction, the thread
sends the outbox in batches and deletes what the service accepted, sets aside (in the store's
`hub_refused` table) only the rows it refused, and retries with backoff when the hub or service is
down. Each row is checked as the service checks it (`companion.records`) before it is sent. So a
click never waits for the network, and no tick is lost when the kernel, the hub or the service
restarts: the next sender picks up the outbox. Only ticks (course,
lesson, item, done, time) and video positions (position, duration, seconds played) are sent,
never a learner's answers or notes. Standard library only.
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from companion import settings
from companion.learner import records
from companion.learner.store import SCHEMA

SERVICE = "companion"
# Seconds played of a position row: the sum of its merged stretches ([[start, end], ...] as JSON);
# only this count is sent, and whether the video was watched travels as the item's tick.
PLAYED = ("coalesce((SELECT sum(json_extract(value, '$[1]') - json_extract(value, '$[0]')) "
          "FROM json_each(NEW.played)), 0)")
OUTBOX = """
CREATE TABLE IF NOT EXISTS hub_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course TEXT NOT NULL, lesson TEXT NOT NULL, item TEXT NOT NULL, done INTEGER NOT NULL, changed_at REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS hub_outbox_on_insert AFTER INSERT ON ticks BEGIN
    INSERT INTO hub_outbox (course, lesson, item, done, changed_at)
    VALUES (NEW.course, NEW.lesson, NEW.item, NEW.done, NEW.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS hub_outbox_on_update AFTER UPDATE ON ticks BEGIN
    INSERT INTO hub_outbox (course, lesson, item, done, changed_at)
    VALUES (NEW.course, NEW.lesson, NEW.item, NEW.done, NEW.changed_at);
END;
CREATE TABLE IF NOT EXISTS hub_refused (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, record TEXT NOT NULL, why TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hub_outbox_positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course TEXT NOT NULL, lesson TEXT NOT NULL, item TEXT NOT NULL,
    position REAL NOT NULL, duration REAL NOT NULL, played REAL NOT NULL, changed_at REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS hub_outbox_positions_on_insert AFTER INSERT ON positions BEGIN
    INSERT INTO hub_outbox_positions (course, lesson, item, position, duration, played, changed_at)
    VALUES (NEW.course, NEW.lesson, NEW.item, NEW.position, NEW.duration, %(played)s, NEW.changed_at);
END;
CREATE TRIGGER IF NOT EXISTS hub_outbox_positions_on_update AFTER UPDATE ON positions BEGIN
    INSERT INTO hub_outbox_positions (course, lesson, item, position, duration, played, changed_at)
    VALUES (NEW.course, NEW.lesson, NEW.item, NEW.position, NEW.duration, %(played)s, NEW.changed_at);
END;
""" % {"played": PLAYED}  # noqa: UP031 - SQL keeps its own braces-free template
BATCH = 500  # ticks a request (the service takes up to 1000)
WINDOW = 0.2  # seconds to wait after a tick for others to join its batch
POLL = 30.0  # seconds between looks at the outbox when nothing woke the thread (other kernels' ticks)


class Refused(Exception):
    """The service answered with an error; `status` says which, `refused` the rows a 400 named with why
    ({"list": "ticks" or "positions", "index": n, "why": text})."""

    def __init__(self, status: int, message: str, refused: list[dict[str, Any]] | None = None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.refused = refused or []


class Channel:
    """One kept-alive HTTP connection to the service's tick API, reopened after an error."""

    def __init__(self, url: str, token: str, timeout: float = 10.0):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.path = parts.path.rstrip("/") + "/api/ticks"
        self.headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def post(self, ticks: list[dict[str, Any]], positions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Send one batch; the service's answer, or Refused / OSError."""
        body = json.dumps({"ticks": ticks, "positions": positions} if positions else {"ticks": ticks},
                          ensure_ascii=False).encode("utf-8")
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request("POST", self.path, body, self.headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise OSError(f"cannot reach {self.host}:{self.port}: {e}") from None
        if response.status != 200:
            try:
                answer = json.loads(data)
                message, refused = str(answer["error"]), answer.get("refused")
            except (ValueError, KeyError, TypeError, AttributeError):
                message, refused = data[:200].decode("utf-8", "replace"), None
            raise Refused(response.status, message, refused if isinstance(refused, list) else None)
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise Refused(response.status, f"{self.host}:{self.port}{self.path} is not the companion service")
        return reply

    def close(self) -> None:
        """Drop the connection (`post` does after an error); the next `post` opens a new one."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def install_outbox(db: sqlite3.Connection) -> None:
    """Create the outbox and its triggers; on first install, queue every tick already made."""
    new = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'hub_outbox'").fetchone() is None
    seed = ("INSERT INTO hub_outbox (course, lesson, item, done, changed_at) "
            "SELECT course, lesson, item, done, changed_at FROM ticks ORDER BY changed_at;") if new else ""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'hub_outbox_positions'").fetchone() is None:
        seed += ("INSERT INTO hub_outbox_positions (course, lesson, item, position, duration, played, changed_at) "
                 f"SELECT course, lesson, item, position, duration, {PLAYED.replace('NEW.', '')}, changed_at "
                 "FROM positions ORDER BY changed_at;")
    db.executescript(f"BEGIN IMMEDIATE; {SCHEMA}; {OUTBOX} {seed} COMMIT;")


class Sender(threading.Thread):
    """Sends a store's outbox to the service; woken by each tick, retrying with capped backoff."""

    def __init__(self, store_path: Path, url: str, token: str, retry_max: float = 60.0):
        super().__init__(name="companion-hub-sender", daemon=True)
        self.store_path = store_path
        self.channel = Channel(url, token)
        self.retry_max = retry_max
        self.woken = threading.Event()

    def aside_line(self) -> str:
        """One plain line (HTML) for the lesson when the class's service refused some of this store's changes;
        "" when it refused none."""
        n = kept_aside(self.store_path)
        return (f"<br>{n} of your changes could not go to your class's progress page; they are kept on this "
                "machine.") if n else ""

    def wake(self) -> None:
        """Send soon: the checklist and the player call this after each tick or saved position."""
        self.woken.set()

    def run(self) -> None:
        """The thread's loop: send the outbox, back off after a failure (at most `retry_max` seconds), else wait
        for a tick or the next poll; it ends only with the kernel."""
        db = sqlite3.connect(self.store_path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        delay = 0.0
        while True:
            delay = 0.0 if self.flush(db) else min(self.retry_max, max(1.0, delay * 2)) * random.uniform(0.8, 1.2)
            if delay:
                time.sleep(delay)  # backing off: a tick meanwhile waits for the next try
                continue
            if self.woken.wait(POLL):
                self.woken.clear()
                time.sleep(WINDOW)  # let a burst of ticks join one batch

    def flush(self, db: sqlite3.Connection) -> bool:
        """Send the outbox until it is empty; False when the service could not take it."""
        while True:
            try:
                rows = db.execute("SELECT id, course, lesson, item, done, changed_at FROM hub_outbox "
                                  "ORDER BY id LIMIT ?", (BATCH,)).fetchall()
                videos = db.execute("SELECT id, course, lesson, item, position, duration, played, changed_at "
                                    "FROM hub_outbox_positions ORDER BY id LIMIT ?", (BATCH - len(rows),)).fetchall()
            except sqlite3.DatabaseError:
                return False
            if not rows and not videos:
                return True
            ticks = [{"course": c, "lesson": l, "item": i, "done": bool(d), "changed_at": t}
                     for _, c, l, i, d, t in rows]
            positions = [{"course": c, "lesson": l, "item": i, "position": p, "duration": d, "played": pl,
                          "changed_at": t} for _, c, l, i, p, d, pl, t in videos]
            # the service's own check of each row: one it would refuse is set aside without a round trip
            bad = [("ticks", n, "; ".join(why)) for n, t in enumerate(ticks) if (why := records.problems("tick", t))]
            bad += [("positions", n, "; ".join(why)) for n, p in enumerate(positions)
                    if (why := records.problems("sent_position", p))]
            if not bad:
                try:
                    self.channel.post(ticks, positions)
                except Refused as e:
                    if e.status not in (400, 413):
                        return False
                    bad = _named(e, len(ticks), len(positions))
                except OSError:
                    return False
            try:
                if bad:  # only those rows: the others go in the next round, at once
                    self._set_aside(db, bad, {"ticks": (rows, ticks), "positions": (videos, positions)})
                    continue
                if rows:
                    db.execute("DELETE FROM hub_outbox WHERE id <= ?", (rows[-1][0],))
                if videos:
                    db.execute("DELETE FROM hub_outbox_positions WHERE id <= ?", (videos[-1][0],))
            except sqlite3.DatabaseError:  # sent twice later at worst: the service keeps the newest
                return False

    @staticmethod
    def _set_aside(db: sqlite3.Connection, bad: list[tuple[str, int, str]],
                   batch: dict[str, tuple[list[Any], list[dict[str, Any]]]]) -> None:
        """Move refused rows from the outbox to `hub_refused` with why, in one transaction: they stay in
        the learner's own store (the ticks and positions tables are untouched) and are never sent again."""
        db.execute("BEGIN IMMEDIATE")
        try:
            for key, n, why in bad:
                outbox_rows, sent = batch[key]
                db.execute("INSERT INTO hub_refused (kind, record, why, at) VALUES (?, ?, ?, ?)",
                           (key, json.dumps(sent[n], ensure_ascii=False, default=str), why, time.time()))
                table = "hub_outbox" if key == "ticks" else "hub_outbox_positions"
                db.execute(f"DELETE FROM {table} WHERE id = ?", (outbox_rows[n][0],))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _named(refusal: Refused, ticks: int, positions: int) -> list[tuple[str, int, str]]:
    """The rows a 400 refused, as (list, index, why); every row of the batch when it names none it could."""
    sizes = {"ticks": ticks, "positions": positions}
    named = [(r["list"], r["index"], str(r.get("why", refusal.message))) for r in refusal.refused
             if isinstance(r, dict) and r.get("list") in sizes and isinstance(r.get("index"), int)
             and 0 <= r["index"] < sizes[r["list"]]]
    return named or [(key, n, refusal.message) for key, size in sizes.items() for n in range(size)]


def kept_aside(store_path: Path) -> int:
    """How many ticks and positions the service refused (kept in the learner's store, never sent)."""
    try:
        with closing(sqlite3.connect(store_path, timeout=5)) as db:
            return int(db.execute("SELECT count(*) FROM hub_refused").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0


_senders: dict[Path, Sender] = {}
_lock = threading.Lock()


def sender_for(store_path: Path) -> Sender | None:
    """The running sender for this store (started on first call), or None off a hub."""
    token, url = settings.hub_token(), settings.kernel_hub_url(SERVICE)
    if not token or not url:
        return None
    key = Path(store_path).resolve()
    with _lock:
        if key not in _senders:
            try:
                db = sqlite3.connect(key, timeout=30, isolation_level=None)
                try:
                    install_outbox(db)
                finally:
                    db.close()
            except sqlite3.DatabaseError:
                return None  # the store itself reports its problems to the learner
            retry_max = settings.hub_retry_max()
            _senders[key] = Sender(key, url, token, retry_max)
            _senders[key].start()
        return _senders[key]
