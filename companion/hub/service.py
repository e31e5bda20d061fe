"""`companion hub-service`: the JupyterHub service that takes learners' ticks and shows progress.

Run by the hub as a managed service (see `companion.hub.config`). Identity always comes from the
hub: a request's token (a kernel's $JUPYTERHUB_API_TOKEN) or OAuth cookie is checked with the hub,
and the hub's user name decides whose rows are read or written, never a value in the request.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.log import app_log

from ..catalog import Catalog
from ..errors import CatalogError
from . import db, report

MAX_BATCH = 1000
MAX_TEXT = 200
TICK_KEYS = {"course", "lesson", "item", "done", "changed_at"}
POSITION_KEYS = {"course", "lesson", "item", "position", "duration", "played", "changed_at"}


class ServiceError(Exception):
    """The service can't start; the message says why and what to set."""


@dataclass
class Settings:
    """What every handler works with: the database, the catalog file, the hub groups of instructors, the URL
    prefix the hub gave the service, and the threads that do the database work."""

    engine: Engine
    catalog: Path
    instructor_groups: frozenset[str]
    prefix: str
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    writer: Writer = field(init=False)

    def __post_init__(self) -> None:
        self.writer = Writer(self)


class Writer:
    """Group commit: the ticks of all requests that arrive while a transaction runs go to the
    database together in the next one, so a commit (an fsync) serves many learners at once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self.running = False

    async def write(self, learner: str, ticks: list[tuple[str, str, str, bool, float]]) -> None:
        """Queue a learner's ticks for the next commit; returns once stored, or raises what the commit raised."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append(([(learner, *t) for t in ticks], future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                rows = [row for rows, _ in batch for row in rows]
                try:
                    await asyncio.get_running_loop().run_in_executor(
                        self.settings.executor, db.upsert, self.settings.engine, rows, time.time())
                except Exception as e:  # noqa: BLE001 - every waiting request must hear of it, not hang
                    for _, future in batch:
                        future.set_exception(e)
                else:
                    for _, future in batch:
                        future.set_result(None)
        finally:
            self.running = False


class _Handler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]  # jupyterhub ships no types
    """Identifies the caller with the hub before any handler method runs."""

    @property
    def cfg(self) -> Settings:
        return cast(Settings, self.settings["companion"])

    async def prepare(self) -> None:
        self.refusal: tuple[int, str] | None = None
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            self._hub_auth_user_cache = None
            self.refusal = (401, "no valid JupyterHub login or token: the token is wrong or expired "
                                 "(a kernel sends $JUPYTERHUB_API_TOKEN as 'Authorization: token ...')")
            return
        try:
            self._hub_auth_user_cache = self.check_hub_user(model)
        except UserNotAllowed:
            self._hub_auth_user_cache = None
            self.refusal = (403, f"hub user {model.get('name')!r} may not use this service: the token lacks the "
                                 f"scope {' or '.join(sorted(self.hub_auth.access_scopes))} "
                                 "(see README, Teaching a class)")

    @property
    def learner(self) -> str:
        return str(self.current_user["name"])

    def is_instructor(self) -> bool:
        user = self.current_user
        return bool(user and (user.get("admin") or set(user.get("groups") or ()) & self.cfg.instructor_groups))

    async def in_db(self, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.cfg.executor, fn, self.cfg.engine, *args)
        except SQLAlchemyError as e:
            app_log.error("database error: %s", e)
            raise web.HTTPError(503, reason="the progress database is unavailable; the sender will retry") from None


class ApiHandler(_Handler):
    """JSON in and out; refusals are JSON with a message, never a login redirect."""

    async def prepare(self) -> None:
        """Answer a caller the hub does not vouch for with a JSON 401 or 403 before the method runs."""
        await super().prepare()
        if self.refusal:
            self.fail(*self.refusal)

    def fail(self, status: int, message: str) -> None:
        """Answer `status` with `{"error": message}`: the sender shows the message as the reason."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Tornado's own errors (a 503 from `in_db`, a 500) as JSON too, so a sender reads them like a refusal."""
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": self._reason}))

    def send(self, data: Any) -> None:
        """Answer 200 with `data` as JSON."""
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    async def own(self, name: str) -> dict[str, Any]:
        """A learner's rows and video positions as JSON."""
        data = report.rows_json(await self.in_db(db.rows, None, name))
        keys = db.POSITION[1:]  # the learner is the caller's business, not the answer's
        data["positions"] = [dict(zip(keys, p[1:], strict=True)) for p in await self.in_db(db.positions, None, name)]
        return data


def _number(value: Any, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: must be {what}")
    return float(value)


def _texts(entry: Any, keys: set[str], where: str) -> tuple[str, str, str]:
    if not isinstance(entry, dict) or set(entry) != keys:
        raise ValueError(f"{where}: needs exactly {', '.join(sorted(keys))}")
    texts = (entry["course"], entry["lesson"], entry["item"])
    if not all(isinstance(s, str) and 0 < len(s) <= MAX_TEXT for s in texts):
        raise ValueError(f"{where}: course, lesson and item must be text of 1 to {MAX_TEXT} characters")
    return texts


def parse_ticks(body: bytes) -> tuple[list[tuple[str, str, str, bool, float]],
                                      list[tuple[str, str, str, float, float, float, float]]]:
    """The ticks and video positions of a request body, or a ValueError naming what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"body is not JSON: {e}") from None
    if (not isinstance(data, dict) or "ticks" not in data or not set(data) <= {"ticks", "positions"}
            or not all(isinstance(v, list) for v in data.values())):
        raise ValueError('body must be {"ticks": [...], "positions": [...]}; the learner is decided by your hub token')
    given = len(data["ticks"]) + len(data.get("positions", []))
    if given > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} ticks and positions a request, got {given}")
    ticks: list[tuple[str, str, str, bool, float]] = []
    for n, t in enumerate(data["ticks"]):
        texts = _texts(t, TICK_KEYS, f"ticks[{n}]")
        if not isinstance(t["done"], bool):
            raise ValueError(f"ticks[{n}].done: must be true or false")
        when = _number(t["changed_at"], f"ticks[{n}].changed_at", "a time in seconds since 1970")
        ticks.append((*texts, t["done"], when))
    positions: list[tuple[str, str, str, float, float, float, float]] = []
    for n, p in enumerate(data.get("positions", [])):
        texts = _texts(p, POSITION_KEYS, f"positions[{n}]")
        position, duration, played = (_number(p[k], f"positions[{n}].{k}", "seconds, 0 or more")
                                      for k in ("position", "duration", "played"))
        at = _number(p["changed_at"], f"positions[{n}].changed_at", "a time in seconds since 1970")
        positions.append((*texts, position, duration, played, at))
    return ticks, positions


class TicksHandler(ApiHandler):
    """`api/ticks`: where a learner's kernel sends ticks and video positions, and reads back its own."""

    async def post(self) -> None:
        """Store the caller's own ticks."""
        try:
            ticks, positions = parse_ticks(self.request.body)
        except ValueError as e:
            return self.fail(400, str(e))
        try:
            await self.cfg.writer.write(self.learner, ticks)
            if positions:
                await self.in_db(db.upsert_positions, [(self.learner, *p) for p in positions], time.time())
        except Exception as e:  # noqa: BLE001 - the sender keeps the ticks and retries
            app_log.error("ticks of %s not stored: %s", self.learner, e)
            return self.fail(503, "the progress database is unavailable; the sender will retry")
        self.send({"accepted": len(ticks), "positions": len(positions), "learner": self.learner})

    async def get(self) -> None:
        """The caller's own rows."""
        self.send(await self.own(self.learner))


class LearnerTicksHandler(ApiHandler):
    """`api/learners/<name>/ticks`: one learner's progress as JSON."""

    async def get(self, name: str) -> None:
        """A learner's rows: only to that learner or an instructor."""
        if name != self.learner and not self.is_instructor():
            return self.fail(403, f"hub user {self.learner!r} may read only their own progress, not {name!r}")
        self.send(await self.own(name))


class HealthHandler(web.RequestHandler):
    """`api/health`: whether the service is up, answered without a login (the hub tests wait on it)."""

    def get(self) -> None:
        """`{"ok": true}` to anyone; the database is not asked."""
        self.finish({"ok": True})


class PageHandler(_Handler):
    """HTML pages: an unknown visitor is sent to the hub's login, a refused one gets a page saying why."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """An error as an HTML page saying why (the message the handler gave, else tornado's reason)."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        logged = isinstance(error, web.HTTPError) and error.log_message
        text = error.log_message % error.args if logged else self._reason
        self.finish(report.page("Not allowed" if status_code in (401, 403) else "Error", f"<p>{report.esc(text)}</p>"))

    def catalog(self) -> Catalog:
        """The catalog the pages are drawn from, re-read when it changes; a 500 page naming its problems otherwise."""
        try:
            return report.catalog(self.cfg.catalog)
        except (CatalogError, OSError) as e:
            problems = "; ".join(e.problems) if isinstance(e, CatalogError) else str(e)
            why = f"the course catalog {self.cfg.catalog} cannot be read: {problems}"
            raise web.HTTPError(500, "%s", why) from None

    def refuse(self) -> bool:
        """Answer a hub user without the service's scope with a 403 page; True when the request is answered."""
        if self.refusal and self.refusal[0] == 403:
            self.set_status(403)
            self.finish(report.page("Not allowed", f"<p>{report.esc(self.refusal[1])}</p>"))
            return True
        return False


class LearnerPage(PageHandler):
    """The service's front page: the visitor's own progress."""

    @web.authenticated
    async def get(self) -> None:
        """The logged-in learner's heat map and video positions, with a link to the class for an instructor;
        a visitor without a hub login is sent to log in."""
        if self.refuse():
            return
        rows = await self.in_db(db.rows, None, self.learner)
        positions = await self.in_db(db.positions, None, self.learner)
        self.finish(report.learner_page(self.catalog(), self.learner, rows,
                                        self.is_instructor(), self.cfg.prefix, positions))


class InstructorPage(PageHandler):
    """`instructor` and `instructor.csv`: the whole class's progress, for hub admins and the instructor groups."""

    @web.authenticated
    async def get(self, csv: str | None = None) -> None:
        """The class's page (`?course=` for one course), or with `.csv` its CSV file; a learner gets a 403 page
        saying who may see it."""
        if self.refuse():
            return
        if not self.is_instructor():
            groups = ", ".join(sorted(self.cfg.instructor_groups)) or "none configured"
            self.set_status(403)
            self.finish(report.page("Not allowed", report.esc(
                f"The instructor's view is for hub admins and members of the instructor group(s) ({groups}); "
                f"{self.learner} is neither. Your own progress is at {self.cfg.prefix}")))
            return
        course = self.get_argument("course", None)
        rows = await self.in_db(db.rows, course, None)
        cat = self.catalog()
        if csv:
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header("Content-Disposition", 'attachment; filename="companion-progress.csv"')
            self.finish(report.csv_text(cat, rows))
            return
        self.finish(report.instructor_page(cat, rows, self.cfg.prefix, await self.in_db(db.positions, course, None)))


def make_app(settings: Settings) -> web.Application:
    """The service's routes under the hub's prefix, each caller identified by the hub with the service's token."""
    p = settings.prefix
    hub_auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=300)
    return web.Application([
        (p, LearnerPage),
        (p + "instructor(\\.csv)?", InstructorPage),
        (p + "api/ticks", TicksHandler),
        (p + "api/learners/([^/]+)/ticks", LearnerTicksHandler),
        (p + "api/health", HealthHandler),
        (p + "oauth_callback", HubOAuthCallbackHandler),
    ], companion=settings, hub_auth=hub_auth, cookie_secret=os.urandom(32), login_url=hub_auth.login_url)


def settings_from(db_url: str, catalog: Path, instructor_groups: list[str]) -> Settings:
    """Open (and migrate) the database; a clear ServiceError when it can't be used."""
    if "JUPYTERHUB_API_TOKEN" not in os.environ:
        raise ServiceError("JUPYTERHUB_API_TOKEN is not set: run this as a JupyterHub managed service "
                           "(README, 'Teaching a class')")
    try:
        report.catalog(catalog)
    except CatalogError as e:
        raise ServiceError(f"--catalog {catalog}: " + "; ".join(e.problems)) from None
    except OSError as e:
        raise ServiceError(f"--catalog {catalog}: cannot read: {e.strerror or e}") from None
    engine = db.engine_for(db_url)
    try:
        db.migrate(engine)
    except SQLAlchemyError as e:
        raise ServiceError(f"--db {engine.url!r}: cannot open or migrate the database: {e.__class__.__name__}: "
                           f"{str(e).splitlines()[0]}") from None
    workers = 1 if engine.dialect.name == "sqlite" else 8
    return Settings(engine, catalog, frozenset(instructor_groups),
                    os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/companion/"), ThreadPoolExecutor(workers))


def serve(settings: Settings) -> None:
    """Listen where the hub expects the service ($JUPYTERHUB_SERVICE_URL; $COMPANION_HUB_BIND picks the
    address) and serve until the hub stops it."""
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    server = HTTPServer(make_app(settings), xheaders=True)
    server.listen(url.port or 80, os.environ.get("COMPANION_HUB_BIND") or url.hostname or "127.0.0.1")
    print(f"companion hub-service on {url.geturl()}{settings.prefix}, database {settings.engine.url!r}",
          file=sys.stderr, flush=True)
    IOLoop.current().start()
