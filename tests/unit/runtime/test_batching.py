"""Batches leave at once when the stage is idle and fill up only while it is busy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from streams.runtime.batching import Backlog, Batches, Gate


async def feed(items: list[int], gaps: float = 0.0, then_wait: bool = True) -> AsyncIterator[int]:
    for item in items:
        if gaps:
            await asyncio.sleep(gaps)
        yield item
    if then_wait:
        await asyncio.Event().wait()  # a stream never ends; the test cancels it


async def collect(batcher: Batches[int], source: AsyncIterator[int], until: int,
                  seconds: float = 5.0) -> None:
    """Run the batcher until ``until`` items were processed (or fail after ``seconds``)."""
    runner = asyncio.ensure_future(batcher.run(source))
    try:
        async with asyncio.timeout(seconds):
            while sum(len(b) for b in batches_of(batcher)) < until:
                await asyncio.sleep(0.005)
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner


def batches_of(batcher: Batches[int]) -> list[list[int]]:
    return batcher.process.seen  # type: ignore[attr-defined, no-any-return]


class Recorder:
    """A stage that records its batches and holds each for ``hold`` seconds (in the gate)."""

    def __init__(self, gate: Gate, hold: float = 0.0) -> None:
        self.gate, self.hold = gate, hold
        self.seen: list[list[int]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, batch: list[int]) -> None:
        self.seen.append(batch)
        self.gate.enter()
        task = asyncio.ensure_future(self._release())
        self.tasks.add(task)

    async def _release(self) -> None:
        await asyncio.sleep(self.hold)
        self.gate.leave()


def test_an_idle_stage_gets_each_event_at_once() -> None:
    asyncio.run(_an_idle_stage_gets_each_event_at_once())


async def _an_idle_stage_gets_each_event_at_once() -> None:
    gate = Gate(1)
    rec = Recorder(gate, hold=0.0)
    batcher = Batches(32, within=10.0, gate=gate, process=rec)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await collect(batcher, feed([1, 2, 3], gaps=0.05), until=3)
    # nothing waited for company: within=10 s would otherwise have held the first event
    assert loop.time() - started < 2.0
    assert [len(b) for b in rec.seen] == [1, 1, 1]


def test_a_busy_stage_gets_full_batches() -> None:
    asyncio.run(_a_busy_stage_gets_full_batches())


async def _a_busy_stage_gets_full_batches() -> None:
    gate = Gate(1)
    rec = Recorder(gate, hold=10.0)  # the first batch occupies the stage for the whole test
    batcher = Batches(4, within=10.0, gate=gate, process=rec)
    await collect(batcher, feed(list(range(9)), gaps=0.01), until=9)
    assert rec.seen[0] == [0]  # idle: the first event leaves alone
    assert rec.seen[1:] == [[1, 2, 3, 4], [5, 6, 7, 8]]  # busy: full batches, in order


def test_a_busy_stage_gets_what_waited_once_a_slot_frees() -> None:
    asyncio.run(_a_busy_stage_gets_what_waited_once_a_slot_frees())


async def _a_busy_stage_gets_what_waited_once_a_slot_frees() -> None:
    gate = Gate(1)
    rec = Recorder(gate, hold=0.3)
    batcher = Batches(100, within=10.0, gate=gate, process=rec)
    await collect(batcher, feed([1, 2, 3, 4], gaps=0.01), until=4)
    assert rec.seen == [[1], [2, 3, 4]]  # the rest left when the first batch was done


def test_within_bounds_the_wait_of_a_partial_batch() -> None:
    asyncio.run(_within_bounds_the_wait_of_a_partial_batch())


async def _within_bounds_the_wait_of_a_partial_batch() -> None:
    gate = Gate(1)
    gate.enter()  # a stage that never frees a slot
    rec = Recorder(gate)
    batcher = Batches(100, within=0.1, gate=gate, process=rec)
    await collect(batcher, feed([1, 2]), until=2, seconds=2.0)
    assert rec.seen == [[1, 2]]


def test_a_failing_stage_ends_the_run_with_its_error() -> None:
    asyncio.run(_a_failing_stage_ends_the_run_with_its_error())


async def _a_failing_stage_ends_the_run_with_its_error() -> None:
    async def boom(batch: list[int]) -> None:
        raise RuntimeError("stage failed")

    batcher = Batches(2, within=0.01, gate=Gate(1), process=boom)
    with pytest.raises(RuntimeError, match="stage failed"):
        async with asyncio.timeout(5.0):
            await batcher.run(feed(list(range(10))))


def test_reading_stops_while_the_stage_does_not_take_batches() -> None:
    asyncio.run(_reading_stops_while_the_stage_does_not_take_batches())


async def _reading_stops_while_the_stage_does_not_take_batches() -> None:
    """Backpressure: the queue holds one batch; the reader waits instead of buffering more."""
    hold = asyncio.Event()
    read: list[int] = []

    async def stuck(batch: list[int]) -> None:
        await hold.wait()

    async def counted() -> AsyncIterator[int]:
        for i in range(100):
            read.append(i)
            yield i

    batcher = Batches(4, within=0.01, gate=Gate(1), process=stuck)
    runner = asyncio.ensure_future(batcher.run(counted()))
    await asyncio.sleep(0.2)
    # one batch in the stage, one batch's worth queued, one event waiting to be put
    assert len(read) <= 1 + 4 + 4 + 1
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


def test_backlog_is_a_full_batch() -> None:
    backlog = Backlog()
    backlog.note(32, 32)
    assert backlog.behind
    backlog.note(5, 32)
    assert not backlog.behind
