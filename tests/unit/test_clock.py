"""The one timestamp format of the pipeline's records."""

from __future__ import annotations

import re
import time
from datetime import datetime

from streams.clock import rfc3339


def test_epoch_seconds_to_utc_milliseconds() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1_767_225_600.1234) == "2026-01-01T00:00:00.123Z"


def test_now_parses_back_to_the_current_time() -> None:
    before = time.time()
    text = rfc3339()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    assert abs(datetime.fromisoformat(text).timestamp() - before) < 60
