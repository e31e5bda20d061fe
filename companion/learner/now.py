"""The one clock review scheduling reads, so tests can move time forward across processes
(`COMPANION_CLOCK`, see `companion.settings`)."""

from __future__ import annotations

from datetime import UTC, datetime

from companion import settings


def now() -> datetime:
    """The current moment, timezone-aware (UTC): `COMPANION_CLOCK` when set, else the machine's clock."""
    return settings.clock() or datetime.now(UTC)
