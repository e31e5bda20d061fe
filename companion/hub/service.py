"""`companion hub-service`: the JupyterHub service that takes learners' ticks and shows progress.

Run by the hub as a managed service (see `companion.hub.config`). Identity always comes from the
hub: a request's token (a kernel's $JUPYTERHUB_API_TOKEN) or OAuth cookie is checked with the hub,
and the hub's user name decides whose rows are read or written, never a value in the request.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlparse

from jinja2 import Environment, PackageLoader, StrictUndefined
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from tornado import web
from tornado.http1connection import HTTP1Connection
from tornado.ioloop import IOLoop
from tornado.log import app_log

from companion import settings as companion_settings
from companion.course.catalog import Catalog
from companion.errors import CatalogError
from companion.hub import db, limits, report
from companion.learner import records
from companion.learner.store import clock
from companion.learner.tally import label, lesson_items

MAX_BATCH = 1000  # ticks and positions a request (the sender sends up to 500)
MAX_BODY = 2 * 2**20  # bytes of a request body, refused (413) before it is read
MAX_DIGITS = 20  # of an integer in a body: no time or number of seconds needs more
MAX_REFUSED = 50  # refused rows a request's answer lists; its other rows are not checked
MAX_CONNECTIONS = 1000  # open at once; more are closed at once, before file descriptors run out
IDLE_TIMEOUT = 30.0  # seconds a connection may wait for a request's headers or body, or idle between requests
AUTH_CACHE = 30  # seconds the hub's answer about a token is kept: revocation and group changes count after this
# the pages: every value a template shows is escaped (autoescape), so catalog and learner text never becomes markup
PAGES = Environment(loader=PackageLoader("companion.hub"), autoescape=True, undefined=StrictUndefined,
                    trim_blocks=True, lstrip_blocks=True)
PAGES.filters.update(clock=clock, label=label, when=report.when)


def render(template: str, **context: Any) -> str:
    """A page of `templates/` with `context`."""
    return PAGES.get_template(template).render(context)


class ServiceError(Exception):
    """The service can't start; the message says why and what to set."""


class Unavailable(Exception):
    """The database is down or unreachable: the sender keeps its rows and retries (503)."""


class DatabaseRefused(Exception):
    """The database refused rows of a request that passed the records' check: `rows` lists each as
    (list, index, why); the request's other rows are stored (400 for that request alone)."""

    def __init__(self, message: str, rows: list[tuple[str, int, str]] | None = None):
        super().__init__(message)
        self.rows = rows or []


@dataclass
class Settings:
    """What every handler works with: the database, the catalog file, the hub groups of instructors, the URL
    prefix the hub gave the service, the threads that do the database work, and how long the hub's answer
    about a token is kept."""

    engine: Engine
    catalog: Path
    instructor_groups: frozenset[str]
    prefix: str
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    auth_cache: int = AUTH_CACHE
    writer: Writer = field(init=False)
    expiry: dict[str, float | None] = field(default_factory=dict)  # token id -> when it expires (epoch s)
    asking: set[str] = field(default_factory=set)  # token ids whose expiry is being read from the hub
    known: tuple[Catalog, frozenset[tuple[str, str, str]], frozenset[tuple[str, str, str]]] | None = None

    def __post_init__(self) -> None:
        self.writer = Writer(self)

    def items(self) -> tuple[frozenset[tuple[str, str, str]], frozenset[tuple[str, str, str]]]:
        """(course, lesson, item) of every item a learner can tick, and of every video, in the current catalog:
        the only rows the service stores, so what one learner can store is bounded by the catalog."""
        cat = report.catalog(self.catalog)
        if self.known is None or self.known[0] is not cat:
            lessons = [(c, lesson) for c in cat.courses.values() for lesson in c.ordered()]
            self.known = (cat, frozenset((c.id, lesson.id, item) for c, lesson in lessons
                                         for item, _ in lesson_items(cat, lesson)),
                          frozenset((c.id, lesson.id, a.id) for c, lesson in lessons for a in lesson.videos))
        return self.known[1], self.known[2]


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]  # (ticks, positions), each row led by the learner


class Writer:
    """Group commit: the rows of all requests that arrive while a transaction runs go to the database
    together in the next one, so a commit (an fsync) serves many learners at once. Only rows that passed
    the records' check join; if the database still refuses a group, each request is tried alone, so one
    learner's request never fails another's; only a database that is down fails them all."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pending: list[tuple[Rows, asyncio.Future[None]]] = []
        self.running = False

    async def write(self, learner: str, ticks: list[tuple[Any, ...]], positions: list[tuple[Any, ...]]) -> None:
        """Queue a learner's rows for the next commit; returns once stored, else raises Unavailable or
        DatabaseRefused."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((([(learner, *t) for t in ticks], [(learner, *p) for p in positions]), future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                error = await self._store([rows for rows, _ in batch])
                if error is None or isinstance(error, Unavailable):
                    self._answer([future for _, future in batch], error)
                else:
                    for rows, future in batch:  # some request's rows broke the group: each alone
                        self._answer([future], await self._alone(rows))
        finally:
            self.running = False

    async def _alone(self, rows: Rows) -> Exception | None:
        """Store one request's rows; if the database refuses them, each row alone, so that only the rows it
        refuses are refused (DatabaseRefused naming them) and the others are stored."""
        error = await self._store([rows])
        if not isinstance(error, DatabaseRefused):
            return error
        refused = []
        for key, listed in (("ticks", rows[0]), ("positions", rows[1])):
            for n, row in enumerate(listed):
                one = await self._store([([row], []) if key == "ticks" else ([], [row])])
                if isinstance(one, Unavailable):
                    return one
                if one is not None:
                    refused.append((key, n, str(one)))
        return DatabaseRefused(str(error), refused) if refused else None

    async def _store(self, requests: list[Rows]) -> Exception | None:
        ticks = [row for t, _ in requests for row in t]
        positions = [row for _, p in requests for row in p]
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.settings.executor, db.store, self.settings.engine, ticks, positions, time.time())
        except (OperationalError, InterfaceError, DisconnectionError) as e:
            app_log.error("database unavailable: %s", str(e).splitlines()[0])
            return Unavailable(str(e))
        except Exception as e:  # noqa: BLE001 - any other refusal is the rows': tried alone, answered 400
            if isinstance(e, DBAPIError) and e.connection_invalidated:
                return Unavailable(str(e))
            app_log.error("database refused rows: %s", str(e).splitlines()[0][:300])
            return DatabaseRefused(str(e).splitlines()[0][:300])
        return None

    @staticmethod
    def _answer(futures: list[asyncio.Future[None]], error: Exception | None) -> None:
        for future in futures:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class _Handler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]  # jupyterhub ships no types
    """Identifies the caller with the hub before any handler method runs."""

    @property
    def cfg(self) -> Settings:
        return cast(Settings, self.settings["companion"])

    async def prepare(self) -> None:
        self.refusal: tuple[int, str] | None = None
        model = await self.hub_auth.get_user(self, sync=False)
        if not model or self._expired(model):
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
                                 "(see docs/teaching.md)")

    def _expired(self, model: dict[str, Any]) -> bool:
        """Whether the token behind `model` (a kernel's, or the OAuth cookie's) is past its expiry. The hub
        vouched for it just now when it is new, so its expiry is read from the hub beside this request, and
        kept: from then on an expired token is refused at once, not when the hub's kept answer runs out."""
        token_id = model.get("token_id")
        if not token_id:
            return False
        if token_id not in self.cfg.expiry:
            if token_id not in self.cfg.asking:
                self.cfg.asking.add(token_id)
                asyncio.get_running_loop().create_task(self._read_expiry(str(model.get("name")), token_id))
            return False
        expires = self.cfg.expiry[token_id]
        return expires is not None and expires <= time.time()

    async def _read_expiry(self, name: str, token_id: str) -> None:
        url = f"{self.hub_auth.api_url}/users/{quote(name)}/tokens/{quote(token_id)}"
        try:
            found = await self.hub_auth._api_request("GET", url)
            if len(self.cfg.expiry) > 100_000:
                self.cfg.expiry.clear()
            self.cfg.expiry[token_id] = _epoch(found.get("expires_at") if isinstance(found, dict) else None)
        except Exception as e:  # noqa: BLE001 - the hub's answer about the token stands; asked again next time
            app_log.warning("cannot read the expiry of token %s from the hub: %s", token_id, e)
        finally:
            self.cfg.asking.discard(token_id)

    @property
    def learner(self) -> str:
        return str(self.current_user["name"])

    def is_instructor(self) -> bool:
        user = self.current_user
        return bool(user and (user.get("admin") or set(user.get("groups") or ()) & self.cfg.instructor_groups))

    async def drawn(self, template: str, context: Callable[[], dict[str, Any]]) -> str:
        """A page gathered and drawn in a worker thread: a class's page takes a good part of a second
        (bench/hub_pages.py), which on the event loop would hold up every learner's ticks meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: render(template, **context()))

    async def in_db(self, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.cfg.executor, fn, self.cfg.engine, *args)
        except SQLAlchemyError as e:
            app_log.error("database error: %s", str(e).splitlines()[0][:300])
            raise web.HTTPError(503, reason="the progress database is unavailable; the sender will retry") from None


class ApiHandler(_Handler):
    """JSON in and out; refusals are JSON with a message, never a login redirect."""

    async def prepare(self) -> None:
        """Answer a caller the hub does not vouch for with a JSON 401 or 403 before the method runs."""
        await super().prepare()
        if self.refusal:
            self.fail(*self.refusal)

    def fail(self, status: int, message: str, **more: Any) -> None:
        """Answer `status` with `{"error": message, **more}`: the sender shows the message as the reason
        (and sets aside the rows a 400 lists in `refused`)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message, **more}))

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


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def parse_body(body: bytes) -> dict[str, list[Any]]:
    """A request body's lists of ticks and positions, or a ValueError saying why the whole body is refused:
    not JSON, nested too deeply, a huge integer, NaN, too many rows, other keys (say, a learner)."""
    try:
        data = json.loads(body, parse_constant=_no_constant, parse_int=_integer)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"body is not JSON: {str(e)[:200]}") from None
    except RecursionError:
        raise ValueError("body is not JSON: nested too deeply") from None
    if (not isinstance(data, dict) or "ticks" not in data or not set(data) <= {"ticks", "positions"}
            or not all(isinstance(v, list) for v in data.values())):
        raise ValueError('body must be {"ticks": [...], "positions": [...]}; the learner is decided by your hub token')
    given = len(data["ticks"]) + len(data.get("positions", []))
    if given > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} ticks and positions a request, got {given}")
    return {"ticks": data["ticks"], "positions": data.get("positions", [])}


def check_rows(data: dict[str, list[Any]], known: tuple[frozenset[tuple[str, str, str]], ...] | None = None,
               now: float | None = None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[dict[str, Any]]]:
    """The ticks and positions of a parsed body as rows, and each row refused with why: one that fails
    `companion.records` (the check the kernel's sender makes too) or, given `known` (the catalog's items
    and videos), is about an item the catalog doesn't hold. After MAX_REFUSED refused rows the rest is not
    checked (a request of junk costs little): the sender sets those aside and sends the rest again."""
    refused: list[dict[str, Any]] = []
    rows: dict[str, list[tuple[Any, ...]]] = {"ticks": [], "positions": []}
    now = time.time() if now is None else now
    for key, kind, fields in (("ticks", "tick", db.TICK[4:]), ("positions", "sent_position", db.POSITION[4:])):
        for n, row in enumerate(data[key]):
            if len(refused) >= MAX_REFUSED:
                break
            why = records.problems(kind, row, now)
            where = (row["course"], row["lesson"], row["item"]) if not why else None
            if where and known is not None and where not in known[key == "positions"]:
                why = [f"course, lesson, item: not {'an item' if key == 'ticks' else 'a video'} of the class's catalog"]
            if why:
                refused.append({"list": key, "index": n, "why": "; ".join(why)})
            else:
                rows[key].append((row["course"], row["lesson"], row["item"], *(row[f] for f in fields)))
    return rows["ticks"], rows["positions"], refused


@web.stream_request_body
class TicksHandler(ApiHandler):
    """`api/ticks`: where a learner's kernel sends ticks and video positions, and reads back its own.
    The body is read only after the caller is known and its declared size is within MAX_BODY."""

    async def prepare(self) -> None:
        """Refuse a body too large before reading it (413); then the caller as every API request."""
        self.chunks: list[bytes] = []
        self.size = 0
        cast(HTTP1Connection, self.request.connection).set_max_body_size(MAX_BODY)  # a chunked body is cut there too
        declared = self.request.headers.get("Content-Length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            self.set_header("Connection", "close")
            return self.fail(413, f"a request body may hold at most {MAX_BODY} bytes; "
                                  f"send at most {MAX_BATCH} ticks and positions a request")
        await super().prepare()

    def data_received(self, chunk: bytes) -> None:
        """Keep a chunk of the body (never more than MAX_BODY bytes in all: tornado stops the connection)."""
        if not self._finished:
            self.size += len(chunk)
            self.chunks.append(chunk)

    async def post(self) -> None:
        """Store the caller's own ticks and positions, all or none: a row that fails the records' check or
        names an item outside the catalog refuses the request (400) with each such row and why, before it
        could join a transaction shared with other learners."""
        try:
            data = parse_body(b"".join(self.chunks))
            ticks, positions, refused = check_rows(data, self.cfg.items())
        except ValueError as e:
            return self.fail(400, str(e))
        except (CatalogError, OSError):
            return self.fail(503, "the class's catalog cannot be read; the sender will retry")
        if refused:
            return self.fail(400, f"{len(refused)} of the rows refused, nothing stored; first: "
                                  f"{refused[0]['list']}[{refused[0]['index']}]: {refused[0]['why']}", refused=refused)
        try:
            await self.cfg.writer.write(self.learner, ticks, positions)
        except Unavailable:
            return self.fail(503, "the progress database is unavailable; the sender will retry")
        except DatabaseRefused as e:
            refused = [{"list": key, "index": n, "why": f"refused by the database: {why}"} for key, n, why in e.rows]
            return self.fail(400, f"the progress database refused {len(refused)} of the rows, the others are "
                                  f"stored: {e}", refused=refused)
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
        self.finish(render("message.html", title="Not allowed" if status_code in (401, 403) else "Error", message=text))

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
            self.finish(render("message.html", title="Not allowed", message=self.refusal[1]))
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
        cat, learner, instructor, prefix = self.catalog(), self.learner, self.is_instructor(), self.cfg.prefix
        self.finish(await self.drawn("learner.html", lambda: dict(
            learner=learner, instructor=instructor, prefix=prefix, progress=report.progress(cat, rows, positions))))


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
            self.finish(render("message.html", title="Not allowed", message=(
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
        positions = await self.in_db(db.positions, course, None)
        prefix = self.cfg.prefix
        self.finish(await self.drawn("instructor.html", lambda: dict(
            prefix=prefix, progress=report.progress(cat, rows, positions))))


def make_app(settings: Settings) -> web.Application:
    """The service's routes under the hub's prefix, each caller identified by the hub with the service's token."""
    p = settings.prefix
    # the one instance every handler (and the OAuth callback) asks: `HubAuthenticated.hub_auth` is the singleton
    hub_auth = HubOAuth.instance(api_token=companion_settings.hub_token(), cache_max_age=settings.auth_cache)
    return web.Application([
        (p, LearnerPage),
        (p + "instructor(\\.csv)?", InstructorPage),
        (p + "api/ticks", TicksHandler),
        (p + "api/learners/([^/]+)/ticks", LearnerTicksHandler),
        (p + "api/health", HealthHandler),
        (p + "oauth_callback", HubOAuthCallbackHandler),
    ], companion=settings, hub_auth=hub_auth, cookie_secret=os.urandom(32), login_url=hub_auth.login_url)


def settings_from(db_url: str, catalog: Path, instructor_groups: list[str], auth_cache: int = AUTH_CACHE) -> Settings:
    """Open (and migrate) the database; a clear ServiceError when it can't be used."""
    if not 1 <= auth_cache <= AUTH_CACHE:
        raise ServiceError(f"--auth-cache {auth_cache}: must be 1 to {AUTH_CACHE} seconds (how long a revoked token "
                           "may still be taken)")
    if companion_settings.hub_token() is None:
        raise ServiceError("JUPYTERHUB_API_TOKEN is not set: run this as a JupyterHub managed service "
                           "(docs/teaching.md)")
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
                    companion_settings.hub_service_prefix(), ThreadPoolExecutor(workers),
                    auth_cache)


def _epoch(iso: object) -> float | None:
    """A hub time ("2026-01-02T03:04:05.678Z") as seconds since 1970; None for none."""
    if not isinstance(iso, str):
        return None
    when = datetime.fromisoformat(iso)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def serve(settings: Settings) -> None:
    """Listen where the hub expects the service ($JUPYTERHUB_SERVICE_URL; $COMPANION_HUB_BIND picks the
    address) and serve until the hub stops it."""
    url = urlparse(companion_settings.hub_service_url())
    limits.log_at_most()
    server = limits.CappedServer(make_app(settings), xheaders=True, max_body_size=MAX_BODY,
                                 idle_connection_timeout=IDLE_TIMEOUT, body_timeout=IDLE_TIMEOUT,
                                 cap=limits.connection_cap(MAX_CONNECTIONS))
    server.listen(url.port or 80, companion_settings.hub_bind() or url.hostname or "127.0.0.1")
    print(f"companion hub-service on {url.geturl()}{settings.prefix}, database {settings.engine.url!r}",
          file=sys.stderr, flush=True)
    IOLoop.current().start()
