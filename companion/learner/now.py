"""The one clock review scheduling reads, so tests can move time forward across processes.

`COMPANION_CLOCK` (a test hook, not a learner's setting): an ISO date-time such as
`2027-03-01T09:00:00+00:00` (UTC when it names no zone); when set, every kernel and CLI started
with it reads that moment instead of the machine's clock.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from companion.errors import UsageError

ENV = "COMPANION_CLOCK"


def now() -> datetime:
    """The current moment, timezone-aware (UTC): `COMPANION_CLOCK` when set, else the machine's clock."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{ENV}={value!r}: not a date-time like 2027-03-01T09:00:00+00:00; "
                         f"unset {ENV} to use this computer's clock") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
