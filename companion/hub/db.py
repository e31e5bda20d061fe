"""The service's database: one row per learner, course, lesson and item (the newest change wins).

SQLAlchemy so PostgreSQL serves a class and SQLite a single machine or a test; the schema is
owned by the Alembic migrations shipped in `migrations/`, run at service start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Boolean, Float, Index, String, create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    pass


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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creates it on a new database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def upsert(engine: Engine, ticks: Iterable[tuple[str, str, str, str, bool, float]], now: float) -> None:
    """Store (learner, course, lesson, item, done, changed_at) ticks in one transaction, each unless
    its row already holds a newer change; of one item's ticks given together, the newest counts."""
    newest: dict[tuple[str, str, str, str], dict] = {}
    for learner, c, l, i, d, t in ticks:
        key = (learner, c, l, i)
        if key not in newest or t >= newest[key]["changed_at"]:
            newest[key] = {"learner": learner, "course": c, "lesson": l, "item": i, "done": d, "changed_at": t,
                           "received_at": now}
    if not newest:
        return
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Progress)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Progress.learner, Progress.course, Progress.lesson, Progress.item],
        set_={"done": stmt.excluded.done, "changed_at": stmt.excluded.changed_at,
              "received_at": stmt.excluded.received_at},
        where=stmt.excluded.changed_at >= Progress.changed_at,
    )
    with engine.begin() as connection:
        connection.execute(stmt, list(newest.values()))


def upsert_positions(engine: Engine, positions: Iterable[tuple[str, str, str, str, float, float, float, float]],
                     now: float) -> None:
    """Store (learner, course, lesson, item, position, duration, played, changed_at) in one
    transaction, each unless its row already holds a newer one (as `upsert` does for ticks)."""
    newest: dict[tuple[str, str, str, str], dict] = {}
    for learner, c, l, i, pos, dur, played, t in positions:
        key = (learner, c, l, i)
        if key not in newest or t >= newest[key]["changed_at"]:
            newest[key] = {"learner": learner, "course": c, "lesson": l, "item": i, "position": pos,
                           "duration": dur, "played": played, "changed_at": t, "received_at": now}
    if not newest:
        return
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(VideoPosition)
    stmt = stmt.on_conflict_do_update(
        index_elements=[VideoPosition.learner, VideoPosition.course, VideoPosition.lesson, VideoPosition.item],
        set_={k: getattr(stmt.excluded, k) for k in ("position", "duration", "played", "changed_at", "received_at")},
        where=stmt.excluded.changed_at >= VideoPosition.changed_at,
    )
    with engine.begin() as connection:
        connection.execute(stmt, list(newest.values()))


def positions(engine: Engine, course: str | None = None, learner: str | None = None) -> list[tuple]:
    """(learner, course, lesson, item, position, duration, played, changed_at) rows, in a stable order."""
    q = select(VideoPosition.learner, VideoPosition.course, VideoPosition.lesson, VideoPosition.item,
               VideoPosition.position, VideoPosition.duration, VideoPosition.played, VideoPosition.changed_at)
    if course is not None:
        q = q.where(VideoPosition.course == course)
    if learner is not None:
        q = q.where(VideoPosition.learner == learner)
    q = q.order_by(VideoPosition.course, VideoPosition.learner, VideoPosition.lesson, VideoPosition.item)
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(q)]


def rows(engine: Engine, course: str | None = None, learner: str | None = None) -> list[Row]:
    """Rows of one course and/or one learner, in a stable order."""
    q = select(Progress.learner, Progress.course, Progress.lesson, Progress.item, Progress.done,
               Progress.changed_at, Progress.received_at)
    if course is not None:
        q = q.where(Progress.course == course)
    if learner is not None:
        q = q.where(Progress.learner == learner)
    q = q.order_by(Progress.course, Progress.learner, Progress.lesson, Progress.item)
    with engine.connect() as connection:
        return [Row(*r) for r in connection.execute(q)]


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Progress)).scalar_one()
