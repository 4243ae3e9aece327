"""The liveness rule: lag plus no movement for the stall time = stalled; nothing else is."""

from __future__ import annotations

from streams.runtime.liveness import Offsets, Progress, assess, health

TP = ("t.articles", 0)


def step(prev: dict, off: Offsets, now: float, settling: bool = False, limit: float = 60.0):
    return assess(prev, {TP: off}, now, limit, settling)


def test_lag_counts_from_the_commit_or_from_the_log_start() -> None:
    assert Offsets(begin=0, end=10, committed=4).lag == 6
    assert Offsets(begin=3, end=10, committed=None).lag == 7
    assert Offsets(begin=8, end=10, committed=4).lag == 2  # retention removed 4..7
    assert Offsets(begin=0, end=10, committed=10).lag == 0


def test_a_partition_with_lag_that_does_not_move_is_stalled_after_the_limit() -> None:
    prog, v = step({}, Offsets(0, 10, 4), now=100.0)
    assert not v[0].stalled and v[0].idle_seconds == 0
    prog, v = step(prog, Offsets(0, 12, 4), now=159.0)
    assert not v[0].stalled and v[0].lag == 8
    prog, v = step(prog, Offsets(0, 12, 4), now=160.0)
    assert v[0].stalled and v[0].idle_seconds == 60.0
    assert "t.articles:0 has 8 messages of lag" in v[0].reason()


def test_moving_resets_the_clock() -> None:
    prog, _ = step({}, Offsets(0, 100, 4), now=0.0)
    prog, v = step(prog, Offsets(0, 100, 5), now=59.0)
    assert prog[TP] == Progress(5, 59.0)
    prog, v = step(prog, Offsets(0, 100, 5), now=100.0)
    assert not v[0].stalled
    prog, v = step(prog, Offsets(0, 100, 5), now=119.0)
    assert v[0].stalled


def test_no_lag_is_never_stalled_however_long_it_idles() -> None:
    prog, _ = step({}, Offsets(0, 10, 10), now=0.0)
    prog, v = step(prog, Offsets(0, 10, 10), now=10_000.0)
    assert not v[0].stalled
    # new messages arrive: the clock starts then, not at the last commit
    prog, v = step(prog, Offsets(0, 11, 10), now=10_001.0)
    assert not v[0].stalled
    prog, v = step(prog, Offsets(0, 11, 10), now=10_061.0)
    assert v[0].stalled


def test_settling_keeps_every_clock_at_zero() -> None:
    prog, _ = step({}, Offsets(0, 10, 0), now=0.0)
    prog, v = step(prog, Offsets(0, 10, 0), now=500.0, settling=True)
    assert not v[0].stalled and v[0].idle_seconds == 0
    prog, v = step(prog, Offsets(0, 10, 0), now=559.0)
    assert not v[0].stalled
    prog, v = step(prog, Offsets(0, 10, 0), now=560.0)
    assert v[0].stalled


def test_revoked_partitions_are_forgotten() -> None:
    prog, _ = step({}, Offsets(0, 10, 0), now=0.0)
    prog, v = assess(prog, {}, 1000.0, 60.0)
    assert prog == {} and v == []


def test_health_is_503_with_every_reason_only_when_stalled() -> None:
    prog, v = step({}, Offsets(0, 10, 0), now=0.0)
    assert health(v, settling=False) == (200, {"status": "ok", "partitions": [v[0].to_dict()]})
    assert health(v, settling=True)[1]["status"] == "starting"
    prog, v = step(prog, Offsets(0, 10, 0), now=61.0)
    code, body = health(v, settling=False)
    assert code == 503 and body["status"] == "stalled"
    assert body["reason"] == v[0].reason()
    assert body["partitions"][0]["stalled"] is True
