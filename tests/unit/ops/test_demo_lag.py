"""`make demo` waits out a broker that cannot yet say what the worker's group committed."""

from __future__ import annotations

from typing import Any

import pytest

from streams import settings as settings_mod
from streams.ops import demo


def _answers(monkeypatch: pytest.MonkeyPatch, answers: list[Any]) -> list[int]:
    calls = [0]

    def lag(_s: Any) -> dict[str, int]:
        calls[0] += 1
        a = answers.pop(0) if answers else {}
        if isinstance(a, Exception):
            raise a
        return a

    monkeypatch.setattr(demo, "pipeline_lag", lag)
    monkeypatch.setattr(demo.time, "sleep", lambda _s: None)
    return calls


def test_a_coordinator_not_yet_available_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    unknown = demo.LagUnknown("Kafka call failed: CoordinatorNotAvailableError")
    calls = _answers(monkeypatch, [unknown, unknown, {"articles": 3}, {}, {}, {}])
    assert demo.wait_until_drained(settings_mod.load(), 3, timeout=600) == {}
    assert calls[0] == 6


def test_a_lag_that_stays_unknown_ends_the_demo_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "LAG_UNKNOWN_LIMIT", -1.0)
    _answers(monkeypatch, [demo.LagUnknown("cannot reach Kafka")] * 5)
    with pytest.raises(SystemExit, match="cannot reach Kafka"):
        demo.wait_until_drained(settings_mod.load(), 3, timeout=600)
