"""The companion on JupyterHub, end to end: a real hub on the loopback address (DummyAuthenticator,
SimpleLocalProcessSpawner, configurable-http-proxy from npm) manages the companion service; two
learners and an admin log in; each learner's ticks are made by the lesson's own code in a real
kernel, with the hub environment a single-user server gives its kernels. Run against SQLite and
against a PostgreSQL cluster the test starts.

Learners A and B run their kernels here, started with the environment a single-user server gives
(their $JUPYTERHUB_API_TOKEN is issued by the hub's API with exactly the scopes a spawned server's
token gets), so the test can stop and restart them around a hub restart; learner C goes the whole
way once: the hub spawns C's single-user server (~5 s), whose own kernel ticks.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
import requests
from helpers import ROOT
from hubkit import CATALOG_PATH, SERVER_TOKEN_SCOPES, SERVICE_PREFIX, Hub, Knocks, Postgres, wait_for
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager

from companion.course.catalog import load
from companion.learner.tally import lesson_items

pytestmark = pytest.mark.hub
CATALOG = CATALOG_PATH
A, B, TEACHER = "learner-a", "learner-b", "teacher"
AUTH_CACHE = 10  # seconds the test hub's service keeps the hub's answer about a token (at most 30)


class Learner:
    """A learner's home (own progress store) and a kernel started as their single-user server would."""

    def __init__(self, name: str, hub: Hub, home: Path):
        self.name, self.hub, self.home = name, hub, home
        self.token = hub.user_token(name)
        self.store = home / "progress.sqlite"
        self.kernel: KernelManager | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "JUPYTERHUB_API_TOKEN": self.token, "JUPYTERHUB_API_URL": f"{self.hub.url}/hub/api",
                "JUPYTERHUB_USER": self.name, "JUPYTERHUB_SERVICE_PREFIX": f"/user/{self.name}/",
                "COMPANION_HUB_URL": self.hub.service_url, "COMPANION_PROGRESS": str(self.store),
                "COMPANION_CATALOG": str(CATALOG), "COMPANION_HUB_RETRY_MAX": "1",
                "JUPYTER_DATA_DIR": str(self.home / "jupyter-data")}

    def start_kernel(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.kernel = KernelManager(kernel_name="python3")
        self.kernel.start_kernel(env=self.env(), cwd=str(self.home))
        self.client = self.kernel.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def tick(self, course: str, lesson: str, *indexes: int) -> None:
        """What a learner does in a lesson notebook: open the checklist and tick boxes."""
        code = (f"from companion.lesson import open_lesson\n_view = open_lesson({course!r}, {lesson!r})\n"
                "_box = _view.checklist()\n" + "".join(f"_box.children[{i}].value = True\n" for i in indexes))
        reply = self.client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    def watch(self, course: str, lesson: str, item: str, position: float, duration: float) -> None:
        """What the player reports when a learner pauses a video (companion/player.py's Tracker)."""
        code = (f"from companion.kernel.player import Tracker\nfrom companion.learner.store import ProgressStore\nimport os\n"
                f"Tracker(ProgressStore(os.environ['COMPANION_PROGRESS']), {course!r}, {lesson!r}, {item!r}, 0, 0, 0.9)"
                f".report('pause', {position}, {duration}, [(0, {position})])\n")
        reply = self.client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    def stop_kernel(self) -> None:
        if self.kernel is not None:
            self.client.stop_channels()
            self.kernel.shutdown_kernel(now=True)
            self.kernel = None

    def get(self, path: str, token: str | None = None) -> requests.Response:
        return requests.get(self.hub.service_url + path, timeout=10,
                            headers={"Authorization": f"token {token or self.token}"})

    def sent(self) -> set[tuple[str, str, str]]:
        r = self.get("api/ticks")
        r.raise_for_status()
        return {(t["course"], t["lesson"], t["item"]) for t in r.json()["ticks"] if t["done"]}

    def wait_sent(self, expected: set[tuple[str, str, str]], timeout: float = 30) -> None:
        wait_for(lambda: expected <= self.sent(), timeout, f"{self.name}'s ticks at the service", log=self.hub.log)


class Classroom:
    def __init__(self, hub: Hub, learners: dict[str, Learner], course: str, lessons: list[str], items: dict):
        self.hub, self.learners, self.course, self.lessons, self.items = hub, learners, course, lessons, items

    def expected(self, lesson: int, *indexes: int) -> set[tuple[str, str, str]]:
        return {(self.course, self.lessons[lesson], self.items[lesson][i]) for i in indexes}


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres()
    yield pg
    pg.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def classroom(request, tmp_path_factory):
    """A running hub whose two learners ticked lesson items in their kernels, and an admin logged in."""
    work = tmp_path_factory.mktemp(f"hub-{request.param}")
    db = request.getfixturevalue("postgres").url if request.param == "postgresql" else f"sqlite:///{work}/companion.sqlite"
    hub = Hub(work / "hub", db, CATALOG, auth_cache=AUTH_CACHE)
    hub.start()
    learners: dict[str, Learner] = {}
    try:
        cat = load(CATALOG)
        course = next(iter(cat.courses.values()))
        lessons = [lesson for lesson in course.ordered() if len(lesson_items(cat, lesson)) >= 3][:2]
        room = Classroom(hub, learners, course.id, [l.id for l in lessons],
                         {n: [item for item, _ in lesson_items(cat, l)] for n, l in enumerate(lessons)})
        room.postgres = request.getfixturevalue("postgres") if request.param == "postgresql" else None
        room.db = db
        room.sessions = {name: hub.login(name) for name in (TEACHER, A, B)}
        for name in (A, B):
            learners[name] = Learner(name, hub, work / "home" / name)
            learners[name].start_kernel()
        learners[A].tick(room.course, room.lessons[0], 0, 1)
        learners[A].tick(room.course, room.lessons[1], 0)
        learners[B].tick(room.course, room.lessons[0], 0)
        learners[A].wait_sent(room.expected(0, 0, 1) | room.expected(1, 0))
        learners[B].wait_sent(room.expected(0, 0))
        yield room
    finally:
        for learner in learners.values():
            learner.stop_kernel()
        hub.stop()


def test_admin_page_shows_each_learners_progress_by_lesson(classroom):
    page = classroom.sessions[TEACHER].get(classroom.hub.url + SERVICE_PREFIX + "instructor", timeout=10)
    assert page.status_code == 200
    assert f'{A} — ' in page.text and f'{B} — ' in page.text
    exported = classroom.sessions[TEACHER].get(classroom.hub.url + SERVICE_PREFIX + "instructor.csv", timeout=10)
    rows = {(r["learner"], r["lesson"]): int(r["done"]) for r in csv.DictReader(io.StringIO(exported.text))
            if r["course"] == classroom.course}
    first, second = classroom.lessons
    assert (rows[(A, first)], rows[(A, second)], rows[(B, first)], rows[(B, second)]) == (2, 1, 1, 0)


def test_where_a_learner_stopped_in_a_video_reaches_the_admin_page_and_only_their_own(classroom):
    a, b = classroom.learners[A], classroom.learners[B]
    video = classroom.items[0][0]
    a.watch(classroom.course, classroom.lessons[0], video, 42.5, 600.0)
    wait_for(lambda: a.get("api/ticks").json()["positions"], 30, f"{A}'s position at the service", log=classroom.hub.log)
    assert [(p["item"], p["position"], p["duration"], p["played"]) for p in a.get("api/ticks").json()["positions"]] == [
        (video, 42.5, 600.0, 42.5)]
    page = classroom.sessions[TEACHER].get(classroom.hub.url + SERVICE_PREFIX + "instructor", timeout=10).text
    assert "stopped at" in page and "0:42 of 10:00" in page
    assert "0:42 of 10:00" in classroom.sessions[A].get(classroom.hub.url + SERVICE_PREFIX, timeout=10).text
    assert b.get("api/ticks").json()["positions"] == [] and b.get(f"api/learners/{A}/ticks").status_code == 403
    assert "0:42" not in classroom.sessions[B].get(classroom.hub.url + SERVICE_PREFIX, timeout=10).text


def test_a_member_of_the_instructors_group_sees_the_class(classroom):
    hub = classroom.hub
    hub.user_token("assistant")
    hub.api("POST", "/groups/teachers", json={"users": ["assistant"]})
    page = hub.login("assistant").get(hub.url + SERVICE_PREFIX + "instructor", timeout=10)
    assert page.status_code == 200 and f"{A} — " in page.text and f"{B} — " in page.text


def test_a_learner_sees_only_their_own_rows(classroom):
    a = classroom.learners[A]
    assert {t["learner"] for t in a.get("api/ticks").json()["ticks"]} == {A}
    refused = a.get(f"api/learners/{B}/ticks")
    assert refused.status_code == 403 and "only their own" in refused.json()["error"]
    own_page = classroom.sessions[A].get(classroom.hub.url + SERVICE_PREFIX, timeout=10)
    assert own_page.status_code == 200 and A in own_page.text and B not in own_page.text
    class_page = classroom.sessions[A].get(classroom.hub.url + SERVICE_PREFIX + "instructor", timeout=10)
    assert class_page.status_code == 403 and "for hub admins" in class_page.text and B not in class_page.text


def test_the_token_decides_the_learner_not_the_request(classroom):
    a = classroom.learners[A]
    claim = requests.post(classroom.hub.service_url + "api/ticks", timeout=10, headers={"Authorization": f"token {a.token}"},
                          json={"ticks": [], "learner": B})
    assert claim.status_code == 400 and "decided by your hub token" in claim.json()["error"]
    assert classroom.learners[B].sent() == classroom.expected(0, 0)
    tick = {"course": classroom.course, "lesson": classroom.lessons[1], "item": classroom.items[1][2], "done": True,
            "changed_at": time.time()}
    cross_site = classroom.sessions[A].post(classroom.hub.url + SERVICE_PREFIX + "api/ticks", json={"ticks": [tick]},
                                            timeout=10)  # the login cookie alone, no xsrf token: not A's kernel
    assert cross_site.status_code == 401 and tick["item"] not in {item for _, _, item in a.sent()}


def test_a_wrong_revoked_or_unscoped_token_is_refused_with_a_reason(classroom):
    a, hub = classroom.learners[A], classroom.hub
    wrong = a.get("api/ticks", token="not-a-token")
    assert wrong.status_code == 401 and "wrong or expired" in wrong.json()["error"]
    revoked = hub.user_token(A)
    token_id = requests.get(f"{hub.url}/hub/api/user", headers={"Authorization": f"token {revoked}"}, timeout=10).json()["token_id"]
    hub.api("DELETE", f"/users/{A}/tokens/{token_id}")
    assert a.get("api/ticks", token=revoked).status_code == 401
    unscoped = a.get("api/ticks", token=hub.user_token(A, [s for s in SERVER_TOKEN_SCOPES if "services" not in s]))
    assert unscoped.status_code == 403 and "access:services!service=companion" in unscoped.json()["error"]


def test_a_kernel_of_a_spawned_single_user_server_sends_its_ticks(classroom):
    """The whole path as configure() sets it up: the hub spawns the server with its own
    $JUPYTERHUB_API_TOKEN and $COMPANION_HUB_URL, the server starts the kernel, the progress store
    is the learner's default one in their home."""
    hub, name = classroom.hub, "learner-c"
    hub.spawn(name)
    headers = {"Authorization": f"token {hub.driver_token}"}
    # jupyterhub-singleuser loads the companion's server extension from the environment's switch,
    # as `pip install course-companion` in a single-user image would: a course notebook it serves
    # gets the learner-work hash (serverext), not the byte hash
    lesson = next((ROOT / "notebooks" / "deep-learning-3blue1brown").glob("01-*.ipynb"))
    put = requests.put(f"{hub.url}/user/{name}/api/contents/lesson.ipynb", headers=headers, timeout=60,
                       json={"type": "notebook", "format": "json", "content": json.loads(lesson.read_text())})
    put.raise_for_status()
    got = requests.get(f"{hub.url}/user/{name}/api/contents/lesson.ipynb?content=0&hash=1", headers=headers,
                       timeout=60).json()
    assert got.get("hash_algorithm") == "companion-learner-sha256", got
    started = requests.post(f"{hub.url}/user/{name}/api/kernels", headers=headers, json={"name": "python3"}, timeout=60)
    started.raise_for_status()
    connection = hub.work / "home" / name / ".local/share/jupyter/runtime" / f"kernel-{started.json()['id']}.json"
    client = BlockingKernelClient()
    client.load_connection_file(str(connection))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        code = (f"from companion.lesson import open_lesson\n_box = open_lesson({classroom.course!r}, "
                f"{classroom.lessons[0]!r}).checklist()\n_box.children[1].value = True\n")
        assert client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)["content"]["status"] == "ok"
    finally:
        client.stop_channels()
    admin = classroom.sessions[TEACHER]
    wait_for(lambda: f"{name},{classroom.course}" in admin.get(hub.url + SERVICE_PREFIX + "instructor.csv", timeout=10).text,
             30, f"{name}'s tick on the instructor's export", log=hub.log)
    assert (hub.work / "home" / name / ".local/share/jupyter/companion/progress.sqlite").is_file()
    hub.api("DELETE", f"/users/{name}/server")


# --- issue 18: the class hub under attack and overload ------------------------------------------------

def _post(room, token: str, body, **headers) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(room.hub.service_url + "api/ticks", data=data, timeout=60,
                         headers={"Authorization": f"token {token}", "Content-Type": "application/json", **headers})


def _item(room, n: int = 0, index: int = 0, **changes) -> dict:
    """A tick of the `index`th item of the room's `n`th lesson, `changes` applied."""
    return {"course": room.course, "lesson": room.lessons[n], "item": room.items[n][index], "done": True,
            "changed_at": time.time(), **changes}


def _video(room, **changes) -> dict:
    return {"course": room.course, "lesson": room.lessons[0], "item": room.items[0][0], "position": 4.0,
            "duration": 9.0, "played": 3.0, "changed_at": time.time(), **changes}


def test_a_far_future_time_or_an_unshowable_value_is_refused_and_no_stored_row_breaks_a_page(classroom):
    hub, name = classroom.hub, "learner-future"
    token = hub.user_token(name)
    for body, place in [({"ticks": [_item(classroom, changed_at=1e18)]}, "changed_at"),
                        ({"ticks": [], "positions": [_video(classroom, position=1e308)]}, "position"),
                        ({"ticks": [], "positions": [_video(classroom, played=-5)]}, "played")]:
        refused = _post(classroom, token, body)
        assert refused.status_code == 400 and place in refused.json()["refused"][0]["why"], refused.text
    assert requests.get(hub.service_url + "api/ticks", headers={"Authorization": f"token {token}"},
                        timeout=10).json() == {"ticks": [], "positions": []}
    from companion.hub import db

    engine = db.engine_for(classroom.db)  # rows stored before the service checked them
    db.upsert(engine, [(name, classroom.course, classroom.lessons[0], classroom.items[0][1], True, 1e18)], now=1e18)
    db.upsert_positions(engine, [(name, classroom.course, classroom.lessons[0], classroom.items[0][0], 1e308, 1e308,
                                  1e308, 1e18)], now=1e18)
    try:
        teacher, own = classroom.sessions[TEACHER], hub.login(name)
        for session, path in [(teacher, "instructor"), (teacher, "instructor.csv"), (own, "")]:
            page = session.get(hub.url + SERVICE_PREFIX + path, timeout=10)
            assert page.status_code == 200 and name in page.text, (path, page.text[:300])
            assert "far beyond any calendar" in page.text
    finally:
        with engine.begin() as connection:
            for table in (db.Progress, db.VideoPosition):
                connection.execute(table.__table__.delete().where(table.learner == name))


def test_one_learners_bad_rows_never_fail_another_learners_requests(classroom):
    from concurrent.futures import ThreadPoolExecutor

    hub = classroom.hub
    bad, good = hub.user_token("learner-nul"), hub.user_token("learner-good")
    bodies = [{"ticks": [_item(classroom, item="a\x00b")]}, {"ticks": [_item(classroom, item="\ud800")]},
              {"ticks": [_item(classroom), _item(classroom, lesson="x\x1b[31m")]}]

    def send_bad(n: int) -> int:
        return _post(classroom, bad, json.dumps(bodies[n % 3]).encode("utf-8", "surrogatepass")).status_code

    def send_good(n: int) -> int:
        return _post(classroom, good, {"ticks": [_item(classroom, n % 2, n % 3)]}).status_code

    with ThreadPoolExecutor(16) as pool:
        bad_answers = pool.map(send_bad, range(60))
        good_answers = pool.map(send_good, range(120))
        assert set(bad_answers) == {400} and set(good_answers) == {200}
    answer = _post(classroom, bad, {"ticks": [_item(classroom, 0, 0), _item(classroom, item="a\x00b")]}).json()
    assert [(r["list"], r["index"]) for r in answer["refused"]] == [("ticks", 1)] and "control" in answer["refused"][0]["why"]
    mine = requests.get(hub.service_url + "api/ticks", headers={"Authorization": f"token {bad}"}, timeout=10).json()
    assert mine["ticks"] == []  # a request with a refused row stores none of its rows


def test_a_refused_row_is_set_aside_in_the_store_and_the_rest_of_its_batch_arrives(classroom, tmp_path):
    from companion.kernel.sender import Sender, install_outbox, kept_aside
    from companion.learner.store import ProgressStore

    hub, name = classroom.hub, "learner-aside"
    token = hub.user_token(name)
    store = ProgressStore(tmp_path / "progress.sqlite")
    assert store.ticks() == {}  # the store's tables made
    with sqlite3.connect(store.path, isolation_level=None) as db:
        install_outbox(db)
    for index in range(3):
        store.set(classroom.course, classroom.lessons[1], classroom.items[1][index], True)
    with sqlite3.connect(store.path, isolation_level=None) as db:  # what only the service can tell: not its catalog
        db.execute("INSERT INTO hub_outbox (course, lesson, item, done, changed_at) VALUES (?, ?, ?, 1, ?)",
                   (classroom.course, classroom.lessons[1], "an-item-the-class-never-had", time.time()))
        db.execute("INSERT INTO hub_outbox (course, lesson, item, done, changed_at) VALUES (?, ?, ?, 1, ?)",
                   (classroom.course, classroom.lessons[1], classroom.items[1][0], 1e18))  # from the future
    sender = Sender(store.path, hub.service_url, token)
    with sqlite3.connect(store.path, isolation_level=None) as db:
        assert sender.flush(db) is True
        assert db.execute("SELECT count(*) FROM hub_outbox").fetchone()[0] == 0
        aside = db.execute("SELECT kind, record, why FROM hub_refused ORDER BY id").fetchall()
    assert [(kind, json.loads(record)["item"]) for kind, record, _ in aside] == [
        ("ticks", classroom.items[1][0]), ("ticks", "an-item-the-class-never-had")]
    assert "in the future" in aside[0][2] and "catalog" in aside[1][2]
    got = requests.get(hub.service_url + "api/ticks", headers={"Authorization": f"token {token}"}, timeout=10).json()
    assert {t["item"] for t in got["ticks"]} == set(classroom.items[1][:3])
    assert kept_aside(store.path) == 2 and "2 of your changes" in sender.aside_line()
    assert len(store.ticks()) == 3  # the learner's own progress is untouched


def test_an_expired_token_is_refused_at_once_and_a_revoked_one_within_the_stated_bound(classroom):
    hub, name = classroom.hub, "learner-expiring"
    expiring = hub.user_token(name, expires_in=3)
    created = time.monotonic()
    assert _post(classroom, expiring, {"ticks": [_item(classroom)]}).status_code == 200
    time.sleep(max(0.0, created + 3.5 - time.monotonic()))  # expired; the hub's answer is still kept for 10 s
    late = _post(classroom, expiring, {"ticks": [_item(classroom)]})
    assert late.status_code == 401 and "expired" in late.json()["error"]
    revoked = hub.user_token(name)
    assert _post(classroom, revoked, {"ticks": [_item(classroom)]}).status_code == 200
    token_id = requests.get(f"{hub.url}/hub/api/user", headers={"Authorization": f"token {revoked}"},
                            timeout=10).json()["token_id"]
    hub.api("DELETE", f"/users/{name}/tokens/{token_id}")
    start, answers = time.monotonic(), []
    wait_for(lambda: answers.append(_post(classroom, revoked, {"ticks": [_item(classroom)]}).status_code) or
             answers[-1] == 401, AUTH_CACHE + 5, "the revoked token refused", log=hub.log)
    assert time.monotonic() - start <= AUTH_CACHE + 2, answers


def test_leaving_the_instructors_group_closes_the_class_page_within_the_stated_bound(classroom):
    hub, name = classroom.hub, "assistant-leaving"
    hub.user_token(name)
    hub.api("POST", "/groups/teachers/users", json={"users": [name]})
    session = hub.login(name)
    assert session.get(hub.url + SERVICE_PREFIX + "instructor", timeout=10).status_code == 200
    hub.api("DELETE", "/groups/teachers/users", json={"users": [name]})
    wait_for(lambda: session.get(hub.url + SERVICE_PREFIX + "instructor", timeout=10).status_code == 403,
             AUTH_CACHE + 5, "the class page closed to a former instructor", log=hub.log)


def test_hostile_bodies_are_refused_before_they_cost_anything(classroom):
    import socket

    hub, name = classroom.hub, "learner-hostile"
    token = hub.user_token(name)
    from companion.hub.service import MAX_BODY

    too_big = _post(classroom, token, b" " * (MAX_BODY + 1))
    assert too_big.status_code == 413 and "at most" in too_big.json()["error"]
    for body in [b"[" * 100_000, b'{"ticks": [' + json.dumps(_item(classroom)).encode()[:-1] + b', "x": 1' + b"0" * 400
                 + b"}]}", b'{"ticks": [{"course": NaN}]}']:
        answer = _post(classroom, token, body)
        assert answer.status_code == 400 and answer.json()["error"], body[:50]
    junk = [_item(classroom, course="junk", item=f"i{n}") for n in range(1000)]
    answer = _post(classroom, token, {"ticks": junk})
    assert answer.status_code == 400 and len(answer.json()["refused"]) == 50  # checked no further
    assert requests.get(hub.service_url + "api/ticks", headers={"Authorization": f"token {token}"},
                        timeout=10).json()["ticks"] == []
    with socket.create_connection(("127.0.0.1", hub.service_port)) as idle:  # a half-open request: headers only
        idle.sendall(b"POST " + SERVICE_PREFIX.encode() + b"api/ticks HTTP/1.1\r\nHost: x\r\nContent-Length: "
                     + str(MAX_BODY + 10).encode() + b"\r\nAuthorization: token " + token.encode() + b"\r\n\r\n")
        idle.settimeout(30)
        assert b"413" in idle.recv(1000).split(b"\r\n")[0]


def test_ticks_refused_while_the_database_is_down_arrive_after_it_returns(classroom):
    if classroom.postgres is None:
        pytest.skip("SQLite is a file of the service, not a server that can be down")
    a = classroom.learners[A]
    classroom.postgres.stop(keep=True)
    try:
        tick = {"course": classroom.course, "lesson": classroom.lessons[1], "item": classroom.items[1][1],
                "done": True, "changed_at": time.time()}
        down = requests.post(classroom.hub.service_url + "api/ticks", timeout=30, headers={"Authorization": f"token {a.token}"},
                             json={"ticks": [tick]})
        assert down.status_code == 503 and "will retry" in down.json()["error"]
        with Knocks(classroom.postgres.port) as database:  # the test watches the stopped database's port
            a.tick(classroom.course, classroom.lessons[1], 2)
            # A's sender posts the tick; storing it, the service reaches for the database, finds it down, and
            # answers 503 as it answered `down` (no other request is sent meanwhile)
            knock = wait_for(lambda: database.seen, 30, "the service trying to store A's tick", log=classroom.hub.log)
            assert knock[0][4:8] in (b"\x04\xd2\x16\x2f", b"\x00\x03\x00\x00")  # a PostgreSQL client's SSLRequest or startup
    finally:
        classroom.postgres.start()
    a.wait_sent(classroom.expected(1, 0, 2))


def test_ticks_made_while_the_hub_is_down_arrive_after_it_restarts(classroom):
    """A's kernel keeps retrying; B's kernel is gone before the hub returns, so B's tick waits in
    B's own store until the next kernel opens a lesson."""
    a, b, hub = classroom.learners[A], classroom.learners[B], classroom.hub
    hub.stop()
    with Knocks(hub.service_port) as service:  # the test watches the stopped service's port
        a.tick(classroom.course, classroom.lessons[0], 2)
        b.tick(classroom.course, classroom.lessons[1], 1)
        b.stop_kernel()
        with sqlite3.connect(b.store) as db:
            assert db.execute("SELECT count(*) FROM hub_outbox").fetchone()[0] == 1
        tried = wait_for(lambda: [k for k in service.seen if f"token {a.token}".encode() in k], 30,
                         "A's sender trying while the hub is down")
        assert b"POST " + SERVICE_PREFIX.encode() + b"api/ticks" in tried[0]
        assert classroom.items[0][2].encode() in tried[0]  # the tick made while the hub was down, cut off unanswered
    hub.start()
    a.wait_sent(classroom.expected(0, 0, 1, 2) | classroom.expected(1, 0))
    b.start_kernel()
    b.tick(classroom.course, classroom.lessons[1])  # opening the lesson is enough
    b.wait_sent(classroom.expected(0, 0) | classroom.expected(1, 1))


def test_off_a_hub_the_store_gets_no_outbox_and_nothing_is_sent(tmp_path, monkeypatch):
    from companion.kernel.sender import sender_for
    from companion.learner.store import ProgressStore

    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    monkeypatch.setenv("COMPANION_HUB_URL", "http://127.0.0.1:9/services/companion/")
    store = ProgressStore(tmp_path / "progress.sqlite")
    store.set("c", "l", "i", True)
    assert sender_for(store.path) is None
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'hub_%'").fetchall() == []


def test_the_outbox_queues_earlier_and_later_ticks_but_not_a_refused_older_change(tmp_path):
    from companion.kernel.sender import install_outbox
    from companion.learner.store import ProgressStore, Tick

    store = ProgressStore(tmp_path / "progress.sqlite")
    store.set("c", "l", "before", True, at=10.0)
    with sqlite3.connect(store.path, isolation_level=None) as db:
        install_outbox(db)
        install_outbox(db)  # a second kernel: no second copy
    store.set("c", "l", "after", True, at=20.0)
    store.merge(ticks=[Tick("c", "l", "after", False, 5.0)])  # older than the store's: not taken, not sent
    with sqlite3.connect(store.path) as db:
        queued = db.execute("SELECT course, lesson, item, done, changed_at FROM hub_outbox ORDER BY id").fetchall()
    assert queued == [("c", "l", "before", 1, 10.0), ("c", "l", "after", 1, 20.0)]


def test_the_outbox_queues_positions_as_seconds_played_and_never_a_note(tmp_path):
    from companion.kernel.sender import install_outbox
    from companion.learner.store import Note, ProgressStore

    store = ProgressStore(tmp_path / "progress.sqlite")
    store.save_position("c", "l", "old", 30.0, 100.0, [(0.0, 30.0)], at=10.0)
    with sqlite3.connect(store.path, isolation_level=None) as db:
        install_outbox(db)
    store.save_position("c", "l", "v", 42.5, 600.0, [(0.0, 20.0), (10.0, 40.0), (100.0, 102.5)], at=20.0)
    store.add_note(Note("n1", "c", "l", "v", 12.0, "MY PRIVATE NOTE", 21.0))
    with sqlite3.connect(store.path) as db:
        queued = db.execute("SELECT course, lesson, item, position, duration, played, changed_at "
                            "FROM hub_outbox_positions ORDER BY id").fetchall()
        everything = [row for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                    "AND name LIKE 'hub_%'")
                      for row in db.execute(f"SELECT * FROM {name}")]
    assert queued == [("c", "l", "old", 30.0, 100.0, 30.0, 10.0), ("c", "l", "v", 42.5, 600.0, 42.5, 20.0)]
    assert everything and not any("MY PRIVATE NOTE" in str(row) for row in everything)


def test_the_service_takes_only_tick_fields(tmp_path):
    from companion.hub.service import check_rows, parse_body

    def rows(body: dict):
        ticks, positions, refused = check_rows(parse_body(json.dumps(body).encode()))
        return ticks, positions, [r["why"] for r in refused]

    tick = {"course": "c", "lesson": "l", "item": "i", "done": True, "changed_at": 1.0}
    assert rows({"ticks": [tick]}) == ([("c", "l", "i", True, 1.0)], [], [])
    for bad, reason in [({**tick, "answer": "my reflection"}, "not a field of a tick"), ({**tick, "done": 1}, "true or false"),
                        ({**tick, "item": ""}, "non-empty text"), ({**tick, "changed_at": "now"}, "seconds since 1970")]:
        assert reason in rows({"ticks": [tick, bad]})[2][0]
    video = {"course": "c", "lesson": "l", "item": "v", "position": 4.0, "duration": 9.0, "played": 3.0, "changed_at": 2.0}
    assert rows({"ticks": [], "positions": [video]}) == ([], [("c", "l", "v", 4.0, 9.0, 3.0, 2.0)], [])
    for bad, reason in [({**video, "text": "a note"}, "not a field of a sent position"),
                        ({**video, "position": -1}, "seconds from 0")]:
        assert reason in rows({"ticks": [], "positions": [bad]})[2][0]


def test_the_migrations_build_exactly_the_models_schema(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from companion.hub import db

    engine = db.engine_for(f"sqlite:///{tmp_path}/companion.sqlite")
    db.migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.Base.metadata) == []


def test_migration_0002_keeps_a_0001_databases_rows_and_takes_positions(tmp_path):
    from alembic import command
    from alembic.config import Config

    from companion.hub import db

    engine = db.engine_for(f"sqlite:///{tmp_path}/companion.sqlite")
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
    db.upsert(engine, [(A, "c", "l", "i", True, 1.0)], now=2.0)
    db.migrate(engine)
    assert db.rows(engine) == [db.Row(A, "c", "l", "i", True, 1.0, 2.0)]
    db.upsert_positions(engine, [(A, "c", "l", "v", 5.0, 9.0, 4.0, 3.0), (A, "c", "l", "v", 1.0, 9.0, 1.0, 2.0)], now=4.0)
    assert db.positions(engine) == [(A, "c", "l", "v", 5.0, 9.0, 4.0, 3.0)]


def test_hub_service_explains_what_is_missing_with_exit_2(monkeypatch, capsys, tmp_path):
    from hubkit import free_port

    from companion.cli import main

    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    assert main(["hub-service", "--catalog", str(CATALOG)]) == 2
    assert "run this as a JupyterHub managed service" in capsys.readouterr().err
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "x")
    assert main(["hub-service", "--catalog", str(tmp_path / "none.json")]) == 2
    assert "--catalog" in capsys.readouterr().err
    unreachable = f"postgresql+psycopg://companion@127.0.0.1:{free_port()}/postgres"
    assert main(["hub-service", "--catalog", str(CATALOG), "--db", unreachable]) == 2
    assert "--db" in capsys.readouterr().err


def test_the_csv_export_never_starts_a_cell_with_a_formula():
    from companion.hub import report
    from companion.hub.db import Row

    cat = load(CATALOG)
    course = next(iter(cat.courses.values()))
    lesson = course.ordered()[0]
    item = lesson_items(cat, lesson)[0][0]
    text = report.csv_text(cat, [Row("=HYPERLINK(1)", course.id, lesson.id, item, True, 1.0, 1.0)])
    learners = {line["learner"] for line in csv.DictReader(io.StringIO(text))}
    assert learners == {"'=HYPERLINK(1)"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request, tmp_path) -> str:
    """The URL of a new, empty database: a SQLite file, or a new database in the module's PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/companion.sqlite"
    import psycopg

    pg = request.getfixturevalue("postgres")
    name = f"fresh_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=companion dbname=postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return pg.url.rsplit("/", 1)[0] + "/" + name


def test_four_services_starting_at_once_on_a_new_database_all_migrate_it(fresh_db):
    import subprocess
    import sys

    code = "import sys; from companion.hub import db; db.migrate(db.engine_for(sys.argv[1]))"
    starts = [subprocess.Popen([sys.executable, "-c", code, fresh_db], stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0, 0], errors
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from companion.hub import db

    with db.engine_for(fresh_db).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.Base.metadata) == []


def test_a_row_the_database_refuses_fails_alone_not_the_rows_and_requests_committed_with_it(fresh_db):
    import asyncio

    from companion.hub import db
    from companion.hub.service import DatabaseRefused, Settings

    engine = db.engine_for(fresh_db)
    db.migrate(engine)
    writer = Settings(engine, CATALOG, frozenset(), "/").writer
    bad = "a\x00b" if engine.dialect.name == "postgresql" else "\ud800"  # what each database refuses

    async def together():
        return await asyncio.gather(*(writer.write(f"learner-{n}", [("c", "l", f"i{n}", True, 1.0)], [])
                                      for n in range(5)),
                                    writer.write("hostile", [("c", "l", "fine", True, 1.0), ("c", "l", bad, True, 1.0)],
                                                 []), return_exceptions=True)

    answers = asyncio.run(together())
    assert answers[:5] == [None] * 5 and isinstance(answers[5], DatabaseRefused)
    assert [(key, n) for key, n, _ in answers[5].rows] == [("ticks", 1)]
    assert sorted((r.learner, r.item) for r in db.rows(engine)) == [
        ("hostile", "fine"), *((f"learner-{n}", f"i{n}") for n in range(5))]


def test_the_service_closes_connections_over_its_cap_and_connections_left_idle():
    import asyncio
    import socket
    import threading

    from tornado import web
    from tornado.ioloop import IOLoop
    from tornado.netutil import bind_sockets

    from companion.hub.limits import CappedServer

    class Hello(web.RequestHandler):
        def get(self) -> None:
            self.finish("hello")

    started, box = threading.Event(), {}

    def serve() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        sockets = bind_sockets(0, "127.0.0.1")
        CappedServer(web.Application([("/", Hello)]), cap=3, idle_connection_timeout=1.0).add_sockets(sockets)
        box["port"], box["loop"] = sockets[0].getsockname()[1], IOLoop.current()
        started.set()
        IOLoop.current().start()

    threading.Thread(target=serve, daemon=True).start()
    started.wait(10)

    def connect() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", box["port"]))
        s.settimeout(20)
        return s

    try:
        idle = [connect() for _ in range(3)]
        time.sleep(0.3)  # let the server take them
        over = connect()
        assert over.recv(100) == b""  # closed at once: three are open
        for s in idle:
            assert s.recv(100) == b""  # closed by the server once idle past its timeout
        fresh = connect()
        fresh.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert fresh.recv(1000).startswith(b"HTTP/1.1 200")
    finally:
        box["loop"].add_callback(box["loop"].stop)


def test_the_revocation_bound_is_at_most_30_seconds(monkeypatch, capsys):
    from companion.cli import main
    from companion.hub.service import AUTH_CACHE

    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "x")
    assert AUTH_CACHE <= 30
    assert main(["hub-service", "--catalog", str(CATALOG), "--auth-cache", "300"]) == 2
    assert "must be 1 to 30 seconds" in capsys.readouterr().err
