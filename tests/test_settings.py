"""Configuration in one place (issue 20): every environment variable is read through `companion.settings`,
each has its default when unset, and a value that can't be used is refused naming the variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import ROOT, run_cli, small_catalog, write_catalog

from companion import settings
from companion.errors import UsageError

OURS = ("COMPANION_CATALOG", "COMPANION_PROGRESS", "COMPANION_CLOCK", "COMPANION_LOCK_WAIT", "COMPANION_HUB_DB",
        "COMPANION_HUB_BIND", "COMPANION_HUB_URL", "COMPANION_HUB_RETRY_MAX", "JUPYTERHUB_API_TOKEN",
        "JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_PUBLIC_HUB_URL", "XDG_CACHE_HOME")


def test_each_variable_has_its_default_when_unset():
    assert settings.catalog({}) is None
    assert settings.progress_store({}) is None
    assert settings.clock({}) is None
    assert settings.lock_wait({}) == 30
    assert settings.hub_db({}) == "sqlite:///companion-hub.sqlite"
    assert settings.hub_bind({}) is None
    assert settings.hub_retry_max({}) == 60
    assert settings.hub_token({}) is None
    assert settings.hub_service_url({}) == "http://127.0.0.1:10101"
    assert settings.hub_service_prefix({}) == "/services/companion/"
    assert settings.kernel_hub_url("companion", {}) is None
    assert settings.cache_home({}) == Path.home() / ".cache"
    assert settings.jupyter_paths({}) == dict.fromkeys(settings.JUPYTER_PATHS)


def test_an_empty_value_counts_as_unset():
    empty = dict.fromkeys(OURS, "")
    assert settings.catalog(empty) is None and settings.progress_store(empty) is None
    assert settings.clock(empty) is None and settings.lock_wait(empty) == 30 and settings.hub_retry_max(empty) == 60
    assert settings.hub_db(empty) == "sqlite:///companion-hub.sqlite" and settings.hub_token(empty) is None
    assert settings.cache_home(empty) == Path.home() / ".cache"


def test_each_variable_set_is_what_is_read():
    env = {"COMPANION_CATALOG": "/c/catalog.json", "COMPANION_PROGRESS": "/p/progress.sqlite",
           "COMPANION_CLOCK": "2027-03-01T09:00:00+02:00", "COMPANION_LOCK_WAIT": "0.5",
           "COMPANION_HUB_DB": "postgresql://hub/db", "COMPANION_HUB_BIND": "0.0.0.0", "COMPANION_HUB_RETRY_MAX": "1",
           "JUPYTERHUB_API_TOKEN": "t0k", "JUPYTERHUB_SERVICE_URL": "http://hub:10101",
           "JUPYTERHUB_SERVICE_PREFIX": "/services/x/", "XDG_CACHE_HOME": "/cache", "JUPYTER_DATA_DIR": "/jd"}
    assert settings.catalog(env) == Path("/c/catalog.json")
    assert settings.progress_store(env) == Path("/p/progress.sqlite")
    assert settings.clock(env) == datetime(2027, 3, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    assert settings.lock_wait(env) == 0.5
    assert settings.hub_db(env) == "postgresql://hub/db"
    assert settings.hub_bind(env) == "0.0.0.0"
    assert settings.hub_retry_max(env) == 1
    assert settings.hub_token(env) == "t0k"
    assert settings.hub_service_url(env) == "http://hub:10101"
    assert settings.hub_service_prefix(env) == "/services/x/"
    assert settings.cache_home(env) == Path("/cache")
    assert settings.jupyter_paths(env)["JUPYTER_DATA_DIR"] == "/jd"


def test_a_clock_without_a_zone_is_utc():
    assert settings.clock({"COMPANION_CLOCK": " 2027-03-01T09:00 "}) == datetime(2027, 3, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize("env, service, url", [
    ({"COMPANION_HUB_URL": "http://svc:10101/services/companion"}, "companion", "http://svc:10101/services/companion/"),
    ({"JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example/hub/"}, "companion", "https://hub.example/services/companion/"),
    ({"JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example/elsewhere/"}, "companion", None),
    ({"JUPYTERHUB_PUBLIC_HUB_URL": "ftp://hub.example/hub"}, "companion", None),
])
def test_a_kernel_finds_the_service_from_its_own_variable_or_beside_the_hub(env, service, url):
    assert settings.kernel_hub_url(service, env) == url


@pytest.mark.parametrize("name, read", [("COMPANION_LOCK_WAIT", settings.lock_wait),
                                        ("COMPANION_HUB_RETRY_MAX", settings.hub_retry_max)])
@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "30s"])
def test_seconds_that_are_not_a_number_of_seconds_are_refused_naming_the_variable(name, read, value):
    with pytest.raises(UsageError, match=f"^{name}={value!r}: not a number of seconds .*; unset {name} for "):
        read({name: value})


def test_a_clock_set_to_nonsense_is_refused_naming_the_variable():
    with pytest.raises(UsageError, match="^COMPANION_CLOCK='next tuesday': not a date-time like "):
        settings.clock({"COMPANION_CLOCK": "next tuesday"})


def test_a_build_with_an_unusable_lock_wait_says_so_and_writes_nothing(tmp_path, capsys, monkeypatch):
    catalog = write_catalog(tmp_path, small_catalog())
    monkeypatch.setenv("COMPANION_LOCK_WAIT", "abc")
    code, out, err = run_cli(capsys, "build", "--catalog", catalog, "--no-trust")
    assert code == 2 and out == ""
    assert err == "companion: COMPANION_LOCK_WAIT='abc': not a number of seconds to wait for another build or " \
                  "import (like 30); unset COMPANION_LOCK_WAIT for 30\n"
    assert not (tmp_path / "notebooks").exists()


def test_no_module_but_settings_reads_the_environment():
    readers = re.compile(r"os\.environ|getenv|environ\.get")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "companion").rglob("*.py"))
             if p.name != "settings.py" or p.parent.name != "companion"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if readers.search(line)]
    assert found == []


def test_the_docstring_names_every_variable_once():
    doc = settings.__doc__ or ""
    for name in OURS:
        assert doc.count(f"`{name}`:") == 1, name
