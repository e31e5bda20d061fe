"""The service's database: one row per learner, course, lesson and item (the newest change wins).

SQLAlchemy so PostgreSQL serves a class and SQLite a single machine or a test; the schema is
owned by the Alembic migrations shipped in `migrations/`, run at service start.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Float, Index, String, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from companion.learner import records

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    """The tables' declarative base; `migrations/env.py` gives its metadata to Alembic."""


class Progress(Base):
    """A learner's latest state of one checklist item; `learner` is the hub's user name."""

    __tablename__ = "progress"
    learner: Mapped[str] = mapped_column(String(255), primary_key=True)
    course: Mapped[str] = mapped_column(String(200), primary_key=True)
    lesson: Mapped[str] = mapped_column(String(200), primary_key=True)
    item: Mapped[str] = mapped_column(String(200), primary_key=True)
    done: Mapped[bool] = mapped_column(Boolean, nullable=False)
    changed_at: Mapped[float] = mapped_column(Float, nullable=False)  # on the learner's clock
    received_at: Mapped[float] = mapped_column(Float, nullable=False)  # on the service's clock
    __table_args__ = (Index("ix_progress_course_learner", "course", "learner"),)


class VideoPosition(Base):
    """Where a learner stopped in one video: position and duration in seconds, and the seconds
    actually played (whether it counts as watched is the learner's tick of the item)."""

    __tablename__ = "positions"
    learner: Mapped[str] = mapped_column(String(255), primary_key=True)
    course: Mapped[str] = mapped_column(String(200), primary_key=True)
    lesson: Mapped[str] = mapped_column(String(200), primary_key=True)
    item: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[float] = mapped_column(Float, nullable=False)
    duration: Mapped[float] = mapped_column(Float, nullable=False)
    played: Mapped[float] = mapped_column(Float, nullable=False)
    changed_at: Mapped[float] = mapped_column(Float, nullable=False)
    received_at: Mapped[float] = mapped_column(Float, nullable=False)
    __table_args__ = (Index("ix_positions_course_learner", "course", "learner"),)


@dataclass(frozen=True)
class Row:
    """A learner's latest tick of one item (a `Progress` row), as the pages, the CSV and the API read it."""

    learner: str
    course: str
    lesson: str
    item: str
    done: bool
    changed_at: float
    received_at: float


def engine_for(url: str, pool_size: int = 8) -> Engine:
    """An engine with a pool fit for the backend: SQLite in WAL mode with one writer at a time."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            dbapi_connection.execute("PRAGMA synchronous = NORMAL")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


MIGRATION_LOCK = 0x636F6D70  # "comp": the PostgreSQL advisory lock the service's migrations take


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creates it on a new database). Services starting
    together (replicas, a restart) migrate one at a time: on PostgreSQL under an advisory lock held until
    the migration's transaction ends, on SQLite under a lock on a file beside the database; the next one
    then finds the schema current."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with _file_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database>.migrate-lock` for a SQLite file; nothing for other databases."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# a row is a learner's record as `companion.learner.records` defines it (the sender's, checked there)
KEY = ("learner", *list(records.FIELDS["tick"])[:3])  # what one row is about, in both tables
TICK = (*KEY, *list(records.FIELDS["tick"])[3:])  # a tick as given and as read
POSITION = (*KEY, *list(records.FIELDS["sent_position"])[3:])  # a position as given and as read


def store(engine: Engine, ticks: Iterable[tuple[str, str, str, str, bool, float]],
          positions: Iterable[tuple[str, str, str, str, float, float, float, float]], now: float) -> None:
    """Store ticks (as `upsert`) and positions (as `upsert_positions`) in one transaction."""
    with engine.begin() as connection:
        _upsert_newer(connection, Progress, (dict(zip(TICK, t, strict=True)) for t in ticks),
                      now)
        _upsert_newer(connection, VideoPosition, (dict(zip(POSITION, p, strict=True)) for p in positions), now)


def upsert(engine: Engine, ticks: Iterable[tuple[str, str, str, str, bool, float]], now: float) -> None:
    """Store (learner, course, lesson, item, done, changed_at) ticks in one transaction, each unless
    its row already holds a newer change; of one item's ticks given together, the newest counts."""
    store(engine, ticks, (), now)


def upsert_positions(engine: Engine, positions: Iterable[tuple[str, str, str, str, float, float, float, float]],
                     now: float) -> None:
    """Store (learner, course, lesson, item, position, duration, played, changed_at) in one
    transaction, each unless its row already holds a newer one (as `upsert` does for ticks)."""
    store(engine, (), positions, now)


def _upsert_newer(connection: Connection, table: type[Progress] | type[VideoPosition], given: Iterable[dict[str, Any]],
                  now: float) -> None:
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in given:
        key = tuple(row[k] for k in KEY)
        if key not in newest or row["changed_at"] >= newest[key]["changed_at"]:
            newest[key] = {**row, "received_at": now}
    if not newest:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[getattr(table, k) for k in KEY],
        set_={k: getattr(stmt.excluded, k) for k in next(iter(newest.values())) if k not in KEY},
        where=stmt.excluded.changed_at >= table.changed_at,
    )
    connection.execute(stmt, list(newest.values()))


def positions(engine: Engine, course: str | None = None, learner: str | None = None) -> list[tuple[Any, ...]]:
    """(learner, course, lesson, item, position, duration, played, changed_at) rows, in a stable order."""
    return [tuple(r) for r in _select(engine, VideoPosition, POSITION, course, learner)]


def rows(engine: Engine, course: str | None = None, learner: str | None = None) -> list[Row]:
    """Rows of one course and/or one learner, in a stable order."""
    columns = (*TICK, "received_at")
    return [Row(*r) for r in _select(engine, Progress, columns, course, learner)]


def _select(engine: Engine, table: type[Progress] | type[VideoPosition], columns: tuple[str, ...],
            course: str | None, learner: str | None) -> list[Any]:
    q = select(*(getattr(table, c) for c in columns))
    if course is not None:
        q = q.where(table.course == course)
    if learner is not None:
        q = q.where(table.learner == learner)
    q = q.order_by(table.course, table.learner, table.lesson, table.item)
    with engine.connect() as connection:
        return list(connection.execute(q))


def count(engine: Engine) -> int:
    """How many tick rows the database holds, all learners together (the load benchmark checks it)."""
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Progress)).scalar_one()
