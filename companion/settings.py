"""Every environment variable the companion reads, named once: its meaning and its default.

Ours:
- `COMPANION_CATALOG`: the catalog kernels and commands use. Default: the one the build recorded in
  the notebooks, else the nearest `catalog.json` in the folder or above.
- `COMPANION_PROGRESS`: the learner's progress store. Default: `companion/progress.sqlite` in
  Jupyter's data folder.
- `COMPANION_CLOCK`: a test hook, not a learner's setting: an ISO date-time (UTC when it names no
  zone) every kernel and command started with it reads as "now", so tests move review schedules
  forward across processes. Default: this computer's clock.
- `COMPANION_LOCK_WAIT`: seconds a build or import waits for another in the same folder. Default 30.
- `COMPANION_HUB_DB`: the hub service's database, a SQLAlchemy URL (`--db` wins). Default
  `sqlite:///companion-hub.sqlite`.
- `COMPANION_HUB_BIND`: the address the hub service listens on (0.0.0.0 on Kubernetes). Default:
  the host of `JUPYTERHUB_SERVICE_URL`.
- `COMPANION_HUB_URL`: where a learner's kernel sends ticks (the hub config sets it). Default: beside
  `JUPYTERHUB_PUBLIC_HUB_URL`.
- `COMPANION_HUB_RETRY_MAX`: the longest wait, in seconds, between a kernel's tries to reach the
  service. Default 60.
- `COMPANION_PROGRESS_WHOLE_FILE`: `1` where the store's folder can't hold a live SQLite file (the
  JupyterLite site's /drive, whose kernel config sets it): the store works on a copy and writes the
  whole file after each change. Default: SQLite works on the file.
- `COMPANION_SITE`: set by the JupyterLite site's kernel config: a lesson that runs brings a copy the
  browser saved up to the deployed build. Default: unset.
- `COMPANION_CACHE`: where `companion site` keeps Pyodide and the kernel's wheels between builds.
  Default `course-companion/` in the user's cache folder.

Set by JupyterHub:
- `JUPYTERHUB_API_TOKEN`: the service's token, or a learner server's (its ticks then go to the hub).
  Unset off a hub.
- `JUPYTERHUB_SERVICE_URL`: where the service listens. Default `http://127.0.0.1:10101`.
- `JUPYTERHUB_SERVICE_PREFIX`: the service's path. Default `/services/companion/`.
- `JUPYTERHUB_PUBLIC_HUB_URL`: the hub's public address, in learners' servers.

Others':
- `XDG_CACHE_HOME`: where builds keep the lesson extras they parsed. Default `~/.cache`.
- `JUPYTER_PATHS` (below): read by jupyter_core (where the trust database is); a build records them
  in its stamp, so a change means a full build.

Each is read when asked, never at import: tests and servers set them per process. A value that
can't be used is a `UsageError` naming the variable. Standard library only: a learner's kernel
imports this.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from companion.errors import UsageError

Env = Mapping[str, str]

# What decides where nbformat's trust database is and which one a notary uses (jupyter_core.paths).
JUPYTER_PATHS = ("HOME", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "JUPYTER_PATH",
                 "JUPYTER_PREFER_ENV_PATH", "JUPYTER_PLATFORM_DIRS", "XDG_DATA_HOME", "XDG_CONFIG_HOME")


def catalog(env: Env = os.environ) -> Path | None:
    """$COMPANION_CATALOG, or None: then the catalog is looked for (`companion.course.catalog.find`)."""
    return _path(env, "COMPANION_CATALOG")


def progress_store(env: Env = os.environ) -> Path | None:
    """$COMPANION_PROGRESS, or None: then the store is in Jupyter's data folder."""
    return _path(env, "COMPANION_PROGRESS")


def clock(env: Env = os.environ) -> datetime | None:
    """$COMPANION_CLOCK as a timezone-aware moment (UTC when it names no zone), or None: the real clock."""
    name = "COMPANION_CLOCK"
    value = env.get(name, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name}={value!r}: not a date-time like 2027-03-01T09:00:00+00:00; "
                         f"unset {name} to use this computer's clock") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def lock_wait(env: Env = os.environ) -> float:
    """$COMPANION_LOCK_WAIT: seconds to wait for another build or import, 30 when unset."""
    return _seconds(env, "COMPANION_LOCK_WAIT", 30.0, "to wait for another build or import")


def hub_db(env: Env = os.environ) -> str:
    """$COMPANION_HUB_DB: the hub service's database URL, a SQLite file in the working folder when unset."""
    return env.get("COMPANION_HUB_DB") or "sqlite:///companion-hub.sqlite"


def hub_bind(env: Env = os.environ) -> str | None:
    """$COMPANION_HUB_BIND: the address the service listens on, or None: the host of its URL."""
    return env.get("COMPANION_HUB_BIND") or None


def hub_retry_max(env: Env = os.environ) -> float:
    """$COMPANION_HUB_RETRY_MAX: the longest wait between a kernel's tries to reach the service, 60 s when unset."""
    return _seconds(env, "COMPANION_HUB_RETRY_MAX", 60.0, "between tries to reach the hub service")


def hub_token(env: Env = os.environ) -> str | None:
    """$JUPYTERHUB_API_TOKEN, or None: not on a hub (or not started by it)."""
    return env.get("JUPYTERHUB_API_TOKEN") or None


def hub_service_url(env: Env = os.environ) -> str:
    """$JUPYTERHUB_SERVICE_URL: where the hub expects the service to listen."""
    return env.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101"


def hub_service_prefix(env: Env = os.environ) -> str:
    """$JUPYTERHUB_SERVICE_PREFIX: the path the hub's proxy sends to the service."""
    return env.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/companion/"


def kernel_hub_url(service: str, env: Env = os.environ) -> str | None:
    """Where a learner's kernel reaches the service named `service`: $COMPANION_HUB_URL, else beside
    the hub's public URL ($JUPYTERHUB_PUBLIC_HUB_URL), else None (off a hub)."""
    if env.get("COMPANION_HUB_URL"):
        return env["COMPANION_HUB_URL"].rstrip("/") + "/"
    hub = env.get("JUPYTERHUB_PUBLIC_HUB_URL", "")
    if hub.startswith(("http://", "https://")) and hub.rstrip("/").endswith("/hub"):
        return hub.rstrip("/")[: -len("hub")] + f"services/{service}/"
    return None


def progress_whole_file(env: Env = os.environ) -> bool:
    """$COMPANION_PROGRESS_WHOLE_FILE is `1`: the store is read and written whole, never in place."""
    return env.get("COMPANION_PROGRESS_WHOLE_FILE") == "1"


def in_site(env: Env = os.environ) -> bool:
    """$COMPANION_SITE is set: this kernel runs in the JupyterLite site."""
    return bool(env.get("COMPANION_SITE"))


def site_cache(env: Env = os.environ) -> Path:
    """$COMPANION_CACHE, else `course-companion/` in the user's cache folder."""
    return _path(env, "COMPANION_CACHE") or cache_home(env) / "course-companion"


def cache_home(env: Env = os.environ) -> Path:
    """$XDG_CACHE_HOME, else `~/.cache`: the user's cache folder."""
    return _path(env, "XDG_CACHE_HOME") or Path.home() / ".cache"


def jupyter_paths(env: Env = os.environ) -> dict[str, str | None]:
    """The `JUPYTER_PATHS` variables as set (None: unset), for a build's stamp."""
    return {name: env.get(name) for name in JUPYTER_PATHS}


def _path(env: Env, name: str) -> Path | None:
    value = env.get(name)
    return Path(value) if value else None


def _seconds(env: Env, name: str, default: float, what: str) -> float:
    """A number of seconds, 0 or more, from `name`; `default` when unset or empty."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{name}={value!r}: not a number of seconds {what} (like {default:g}); "
                         f"unset {name} for {default:g}")
    return seconds
