"""Scheduling and failure classification of the feed poller (pure functions)."""

from __future__ import annotations

import pytest

from streams.ingest.feeds import schedule as S

P = S.Policy(default_interval=900, min_interval=300, max_interval=86400, max_backoff=21600,
             target_items=1, jitter=0, disable_score=10, permanent_weight=2.5,
             quiet_factor=8, quiet_min=86400)
MID = lambda: 0.5  # noqa: E731  (no jitter)


@pytest.mark.parametrize(("status", "kind", "not_a_feed", "expected"), [
    (200, None, False, None), (304, None, False, None),
    (200, None, True, S.PERMANENT), (404, "http", False, S.PERMANENT),
    (410, "http", False, S.PERMANENT), (403, "http", False, S.PERMANENT),
    (0, "blocked", False, S.PERMANENT), (0, "too_large", False, S.PERMANENT),
    (0, "redirects", False, S.PERMANENT),
    (500, "http", False, S.TEMPORARY), (503, "http", False, S.TEMPORARY),
    (429, "http", False, S.TEMPORARY), (408, "http", False, S.TEMPORARY),
    (0, "timeout", False, S.TEMPORARY), (0, "network", False, S.TEMPORARY),
])
def test_classify(status: int, kind: str | None, not_a_feed: bool, expected: str | None) -> None:
    assert S.classify(status, kind, not_a_feed) == expected


def test_score_disables_after_the_configured_streak() -> None:
    score = 0.0
    for _ in range(9):
        score = S.next_score(score, S.TEMPORARY, P)
    assert score == 9 and not S.should_disable(score, P)
    assert S.should_disable(S.next_score(score, S.TEMPORARY, P), P)
    score = 0.0
    for _ in range(4):
        score = S.next_score(score, S.PERMANENT, P)
    assert score == 10 and S.should_disable(score, P)  # permanent failures weigh more
    assert S.next_score(9.0, None, P) == 0  # one success resets
    assert not S.should_disable(1e9, S.Policy(disable_score=0))  # 0 = never


def test_adaptive_interval_follows_the_rate_within_bounds() -> None:
    assert S.adaptive_interval(None, P) == 900  # unknown: default
    assert S.adaptive_interval(4.0, P) == 900  # 4 items/h -> one expected every 15 min
    assert S.adaptive_interval(60.0, P) == 300  # busy feed: clamped at the minimum
    assert S.adaptive_interval(0.01, P) == 86400  # nearly silent: clamped at the maximum
    assert S.adaptive_interval(0.0, P) == 86400


def test_rate_is_smoothed() -> None:
    rate = S.observe_rate(None, 4, 3600, 0.3)
    assert rate == 4
    rate = S.observe_rate(rate, 0, 3600, 0.3)
    assert rate == pytest.approx(2.8)
    assert S.observe_rate(rate, 5, 0, 0.3) == rate  # no time elapsed: no sample


def test_next_delay_hints_and_retry_after_only_lengthen() -> None:
    assert S.next_delay(P, rate=4.0, rand=MID) == 900
    assert S.next_delay(P, rate=4.0, cache_seconds=3600, rand=MID) == 3600
    assert S.next_delay(P, rate=4.0, cache_seconds=60, rand=MID) == 900  # never shorter
    assert S.next_delay(P, rate=4.0, hint_seconds=10 * 86400, rand=MID) == 86400  # capped
    assert S.next_delay(P, rate=4.0, retry_after=7200, rand=MID) == 7200
    assert S.next_delay(P, rate=4.0, fixed_interval=120, rand=MID) == 120  # from the list


def test_backoff_doubles_and_caps() -> None:
    delays = [S.next_delay(P, rate=None, failure=S.TEMPORARY, streak=n, rand=MID)
              for n in (1, 2, 3, 10)]
    assert delays == [900, 1800, 3600, 21600]
    assert S.next_delay(P, rate=None, failure=S.TEMPORARY, streak=1, retry_after=5000,
                        rand=MID) == 5000
    low = S.next_delay(S.Policy(jitter=0.1), rate=None, rand=lambda: 0.0)
    high = S.next_delay(S.Policy(jitter=0.1), rate=None, rand=lambda: 1.0)
    assert low == pytest.approx(810) and high == pytest.approx(990)


def test_quiet_is_measured_against_the_usual_gap() -> None:
    day = 86400.0
    now = 100 * day
    # a feed with ~1 item/hour: quiet after max(8 h, 1 day) without items
    assert S.quiet_for(now, now - 0.5 * day, 1.0, P) is None
    assert S.quiet_for(now, now - 2 * day, 1.0, P) == pytest.approx(day)
    # a weekly feed is not quiet after 3 days
    assert S.quiet_for(now, now - 3 * day, 1 / 168, P) is None
    assert S.quiet_for(now, None, 1.0, P) is None and S.quiet_for(now, now - day * 9, None, P) is None
    # the baseline is learnt only from arrivals: a silence does not erode it
    assert S.observe_baseline(1.0, 0, 3600, 0.3) == 1.0
    assert S.observe_baseline(None, 2, 3600, 0.3) == 2.0


def test_volume_drop() -> None:
    assert S.volume_drop(10, 100, 0.3)
    assert not S.volume_drop(40, 100, 0.3)
    assert not S.volume_drop(0, 3, 0.3)  # too few to judge


def test_publisher_waits_through_retriable_errors_and_reports_fatal_ones() -> None:
    """Back-pressure: a broker away is waited for; a message too large fails alone."""
    import asyncio

    from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

    from streams import settings
    from streams.ingest.feeds.kafka import KafkaPublisher
    from streams.ingest.feeds.poller import Message

    class Producer:
        def __init__(self) -> None:
            self.calls = 0
            self.delivered: list[bytes] = []

        async def send(self, topic: str, value: bytes, key: bytes | None = None) -> object:
            self.calls += 1
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if value == b"big":
                raise MessageSizeTooLargeError()
            if self.calls <= 2:  # the broker is away for the first two sends
                fut.set_exception(KafkaConnectionError())
            else:
                self.delivered.append(value)
                fut.set_result(None)
            return fut

    pub = KafkaPublisher(settings.load(), max_wait=0.01)
    pub.producer = Producer()  # type: ignore[assignment]
    msgs = [Message("t", None, b"a"), Message("t", None, b"big"), Message("t", None, b"b")]
    results = asyncio.run(pub.send_batch(msgs))
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], MessageSizeTooLargeError)
    assert sorted(pub.producer.delivered) == [b"a", b"b"]  # type: ignore[union-attr]
