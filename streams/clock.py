"""Timestamps as the pipeline writes them: RFC 3339, UTC, milliseconds, ``Z``.

One helper so every record (dedup ``first_seen``, ``enriched_at``, ``ingested_at``, dead-letter
``timestamp``) sorts and parses the same way.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def rfc3339(ts: float | None = None) -> str:
    """``ts`` (epoch seconds; now when None) as ``2026-01-02T03:04:05.678Z``."""
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
