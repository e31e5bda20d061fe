"""What keeps the service answering under a flood: a cap on open connections (below the process's
file descriptors, so accepting never fails in a loop) and a log that cannot grow without bound."""

from __future__ import annotations

import logging
import resource
import sys
import time
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.log import app_log

LOG_PER_MINUTE = 60  # lines the service logs a minute at most; the rest are counted, then said in one line


class CappedServer(HTTPServer):
    """An HTTP server that closes a new connection at once while `cap` are open."""

    def initialize(self, *args: Any, cap: int = 1000, **kwargs: Any) -> None:
        """HTTPServer's settings, and the cap."""
        super().initialize(*args, **kwargs)
        self.cap = cap

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        """Serve a new connection, or close it when `cap` are open already."""
        if len(self._connections) >= self.cap:  # tornado's own set of open connections
            app_log.warning("%d connections open, the most the service keeps: a new one was closed", self.cap)
            stream.close()
            return
        super().handle_stream(stream, address)


def connection_cap(wanted: int) -> int:
    """`wanted`, or fewer when the process may open too few files (each connection is one; the database,
    the log and the hub need some): the soft limit is raised to the hard one first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(1, min(wanted, soft - 100))


class AtMost(logging.Filter):
    """Lets through at most `per_minute` records a minute; the first one after a minute with drops says how
    many were dropped."""

    def __init__(self, per_minute: int = LOG_PER_MINUTE, clock: Any = time.monotonic):
        super().__init__()
        self.per_minute, self.clock = per_minute, clock
        self.start, self.count, self.dropped = clock(), 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        """True for a record to log; a dropped one is counted."""
        now = self.clock()
        if now - self.start >= 60:
            if self.dropped:
                record.msg = f"({self.dropped} log lines dropped in the last minute) {record.msg}"
            self.start, self.count, self.dropped = now, 0, 0
        self.count += 1
        if self.count > self.per_minute:
            self.dropped += 1
            return False
        return True


def log_at_most(per_minute: int = LOG_PER_MINUTE) -> None:
    """Warnings and errors of every logger (tornado's, asyncio's, the service's) to stderr, at most
    `per_minute` lines a minute."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[companion %(asctime)s %(levelname)s] %(message)s"))
    handler.addFilter(AtMost(per_minute))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
