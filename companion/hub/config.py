"""One call in `jupyterhub_config.py` sets up the companion service:

    from companion.hub.config import configure
    configure(c, db="postgresql+psycopg://companion@dbhost/companion", instructors=["teachers"])

It registers the managed service, lets every user reach it (the learner's page, the tick API),
adds that scope to the token each single-user server gets (so kernels can send ticks), and tells
kernels where the service is ($COMPANION_HUB_URL).
"""

from __future__ import annotations

import sys
from typing import Any

NAME = "companion"
SERVER_SCOPES = ["access:servers!server", "users:activity!user"]  # JupyterHub's own `server` role


def _get(section: Any, key: str, default: Any) -> Any:
    """A value set in the config, else `default` (an unset traitlets value is a lazy placeholder)."""
    return section[key] if key in section else default


def configure(c: Any, *, db: str = "sqlite:///companion-hub.sqlite", catalog: str = "catalog.json",
              instructors: list[str] | tuple[str, ...] = (), url: str = "http://127.0.0.1:10101",
              kernel_url: str | None = None, bind: str | None = None, name: str = NAME,
              python: str = sys.executable, auth_cache: int = 30) -> None:
    """Add the companion service to a JupyterHub config `c` (a hub admin always sees the class).

    `url` is the service's address for the proxy (it listens there); `kernel_url` is how
    single-user servers reach it, by default the same; `bind` an address to listen on instead of
    `url`'s host (on Kubernetes "0.0.0.0", with url="http://hub:10101"). `auth_cache` (1 to 30) is how long
    the service keeps the hub's answer about a token: a revoked token or a group change counts after at
    most this long. The service may read token models (`read:tokens`): it learns a token's expiry when
    it first sees it, and refuses it the moment it expires."""
    access = f"access:services!service={name}"
    command = [python, "-m", "companion", "hub-service", "--db", db, "--catalog", catalog,
               "--auth-cache", str(auth_cache)]
    for group in instructors:
        command += ["--instructors", group]
    c.JupyterHub.services = [*_get(c.JupyterHub, "services", []), {
        "name": name, "url": url, "command": command, "oauth_no_confirm": True,
        "environment": {"PYTHONUNBUFFERED": "1", **({"COMPANION_HUB_BIND": bind} if bind else {})},
    }]
    loaded = _get(c.JupyterHub, "load_roles", [])
    roles = [r for r in loaded if r.get("name") != "user"]
    user_role = next((r for r in loaded if r.get("name") == "user"), {"name": "user"})
    c.JupyterHub.load_roles = [*roles, {**user_role, "scopes": sorted({*user_role.get("scopes", ["self"]), access})},
                               {"name": f"{name}-service", "scopes": ["read:tokens"], "services": [name]}]
    c.Spawner.server_token_scopes = sorted({*_get(c.Spawner, "server_token_scopes", SERVER_SCOPES), access})
    c.Spawner.environment = {**_get(c.Spawner, "environment", {}),
                             "COMPANION_HUB_URL": f"{(kernel_url or url).rstrip('/')}/services/{name}/"}
