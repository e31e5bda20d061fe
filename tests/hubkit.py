"""A real JupyterHub (and PostgreSQL) on the loopback address, for the hub tests and bench/hub_load.py.

The hub runs DummyAuthenticator, SimpleLocalProcessSpawner and configurable-http-proxy from
npm (scripts/test installs it under .venv/node), with the companion service managed by the hub
through `companion.hub.config.configure`, exactly as docs/teaching.md shows. A "driver"
service with a known token stands in for the admin's scripts (creating users and their tokens).
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CATALOG_PATH = ROOT / "catalog.json"
CHP_BIN = ROOT / ".venv" / "node" / "node_modules" / ".bin"
SERVICE_PREFIX = "/services/companion/"
# What JupyterHub puts in a single-user server's $JUPYTERHUB_API_TOKEN once configure() ran.
SERVER_TOKEN_SCOPES = ["access:servers!server", "access:services!service=companion", "users:activity!user"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Poll `check` until it returns something true; fail naming `what` (with the log's tail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            result = check()
        except (requests.RequestException, OSError):
            result = None
        if result:
            return result
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"{what}: not within {timeout} s\n{tail}")


def _as_postgres() -> list[str]:
    """Run PostgreSQL's tools as a non-root user: they refuse to run as root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Postgres:
    """A throwaway PostgreSQL cluster in a new folder under /tmp (which the postgres user can
    reach, unlike pytest's private tmp folders), on a free loopback port."""

    def __init__(self, fsync: bool = False):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(re.findall(r"\d+", p)[0]))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql; scripts/test does it)")
        folder = Path(tempfile.mkdtemp(prefix="companion-pg-"))
        self.bin, self.folder, self.port = Path(bins[-1]), folder, free_port()
        self.data = folder / "data"
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        _run([*_as_postgres(), str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "companion",
              "-E", "UTF8", "--no-sync"])
        self.options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not fsync:
            self.options += " -c fsync=off -c synchronous_commit=off"
        self.start()
        self.url = f"postgresql+psycopg://companion@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _run([*_as_postgres(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", self.options, "-w",
              "-l", str(self.folder / "log"), "start"])

    def stop(self, keep: bool = False) -> None:
        """Stop the server; unless `keep`, delete the cluster too."""
        subprocess.run([*_as_postgres(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        if not keep:
            shutil.rmtree(self.folder, ignore_errors=True)


class Knocks:
    """Stands in, on its port, for a server that is down (the hub's service, PostgreSQL): takes each
    connection, keeps the bytes its client sent, and closes it unanswered, as a server dying mid-request
    would. A test waits on `seen` to know that a client really tried while the server was down."""

    def __init__(self, port: int):
        self.listener = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: the port was just closed
        self.listener.settimeout(0.1)
        self.seen: list[bytes] = []
        self.open = True
        self.thread = threading.Thread(target=self._take, daemon=True)
        self.thread.start()

    def _take(self) -> None:
        while self.open:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.5)  # a client waiting for an answer sends nothing more
                sent = b""
                try:
                    while chunk := conn.recv(65536):
                        sent += chunk
                except OSError:
                    pass
                self.seen.append(sent)

    def __enter__(self) -> Knocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.open = False
        self.thread.join(5)
        self.listener.close()


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


CONFIG = """\
import sys
from companion.hub.config import configure

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = "{work}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{work}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{work}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{work}/home/{{username}}"
c.Spawner.args = ["--ServerApp.allow_root=True"]
c.Spawner.environment = {{"COMPANION_CATALOG": "{catalog}", "COMPANION_HUB_RETRY_MAX": "1"}}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"teacher"}}
c.JupyterHub.services = [{{"name": "driver", "api_token": "{driver_token}"}}]
c.JupyterHub.load_roles = [{{"name": "driver", "scopes": ["admin:users", "admin:groups", "tokens", "admin:servers", "access:servers"], "services": ["driver"]}}]
configure(c, db="{db}", catalog="{catalog}", url="http://127.0.0.1:{service_port}", instructors=["teachers"],
          python=sys.executable, auth_cache={auth_cache})
"""


class Hub:
    """A JupyterHub with the companion service, in `work`; start() again after stop() is a hub restart."""

    def __init__(self, work: Path, db: str, catalog: Path, auth_cache: int = 30):
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.proxy_port, self.service_port = free_port(), free_port()
        self.driver_token = secrets.token_hex(16)
        self.config = work / "jupyterhub_config.py"
        self.config.write_text(CONFIG.format(proxy_port=self.proxy_port, hub_port=free_port(),
                                             proxy_api_port=free_port(), work=work, driver_token=self.driver_token,
                                             db=db, catalog=catalog, service_port=self.service_port,
                                             auth_cache=auth_cache))
        self.url = f"http://127.0.0.1:{self.proxy_port}"
        self.service_url = f"http://127.0.0.1:{self.service_port}{SERVICE_PREFIX}"
        self.log = work / "hub.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "PATH": f"{CHP_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(self.config)], cwd=self.work,
                                         env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: requests.get(self.url + "/hub/api/", timeout=2).ok, timeout, "JupyterHub up", self.proc, self.log)
        wait_for(lambda: requests.get(self.service_url + "api/health", timeout=2).ok, timeout,
                 "companion service up", self.proc, self.log)

    def stop(self) -> None:
        """Stop the hub, which stops the proxy and the managed service it started."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        wait_for(lambda: not _listening(self.service_port), 10, "companion service stopped")

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API as the driver service (an admin's script)."""
        r = requests.request(method, f"{self.url}/hub/api{path}", timeout=60,
                             headers={"Authorization": f"token {self.driver_token}"}, **kwargs)
        r.raise_for_status()
        return r

    def user_token(self, name: str, scopes: list[str] = SERVER_TOKEN_SCOPES, **more) -> str:
        """A token like the one a single-user server gets for `name` (the user is created if new); `more`
        goes in the request (`expires_in=3`)."""
        if requests.get(f"{self.url}/hub/api/users/{name}", timeout=10,
                        headers={"Authorization": f"token {self.driver_token}"}).status_code == 404:
            self.api("POST", f"/users/{name}")
        return self.api("POST", f"/users/{name}/tokens", json={"scopes": scopes, "note": "kernel", **more}).json()["token"]

    def spawn(self, name: str, timeout: float = 90) -> None:
        """Start `name`'s single-user server as the hub does (the driver may then use it)."""
        self.user_token(name)  # creates the user
        self.api("POST", f"/users/{name}/server")
        wait_for(lambda: self.api("GET", f"/users/{name}").json()["servers"].get("", {}).get("ready"), timeout,
                 f"{name}'s server", log=self.log)

    def login(self, name: str) -> requests.Session:
        """A browser's session: log in at the hub (any password) and land on the service through OAuth."""
        s = requests.Session()
        page = s.get(f"{self.url}/hub/login", timeout=10)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        r = s.post(f"{self.url}/hub/login?next={SERVICE_PREFIX}", timeout=20,
                   data={"username": name, "password": "any", **({"_xsrf": xsrf.group(1)} if xsrf else {})})
        assert r.ok and r.url.rstrip("/").endswith(SERVICE_PREFIX.rstrip("/")), (r.status_code, r.url, r.text[:500])
        return s


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
