"""Liveness: is every partition this worker owns and has work on still moving?

Why: a worker can be alive (web server answering, heartbeats flowing, no error logged) and yet
consume nothing, for instance after a table recovery that leaves a partition paused. Only the
offsets tell: a partition has *lag* when its log end offset is past the group's committed
offset, and it *moves* when that committed offset changes. A partition with lag that has not
moved for ``NEWSSTREAM_STALL_SECONDS`` is stalled; the worker's ``/health`` then answers 503 with
the reason, so a supervisor restarts it (a restart resumes from the committed offsets, so
at-least-once delivery is kept).

:func:`assess` is the whole rule, pure and unit-tested; :class:`LivenessMonitor` is the thin
wrapper that samples offsets from the running Faust app on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams import metrics

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class Offsets:
    """What Kafka says about one partition: its log start and end, and the group's commit."""

    begin: int
    end: int
    committed: int | None

    @property
    def lag(self) -> int:
        """Messages not yet processed: from the commit (or the log start) to the end."""
        start = self.begin if self.committed is None else max(self.committed, self.begin)
        return max(self.end - start, 0)


@dataclass(frozen=True)
class Progress:
    """The last committed offset seen for a partition and since when it has not changed."""

    committed: int | None
    since: float


@dataclass(frozen=True)
class PartitionLiveness:
    """The verdict for one partition."""

    topic: str
    partition: int
    lag: int
    committed: int | None
    end: int
    idle_seconds: float
    stalled: bool

    def reason(self) -> str:
        return (f"{self.topic}:{self.partition} has {self.lag} messages of lag and its committed"
                f" offset ({self.committed}) has not moved for {self.idle_seconds:.0f}s")

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "lag": self.lag,
                "committed": self.committed, "end": self.end,
                "idle_seconds": round(self.idle_seconds, 1), "stalled": self.stalled}


def assess(
    previous: Mapping[TopicPartition, Progress],
    observed: Mapping[TopicPartition, Offsets],
    now: float,
    stall_seconds: float,
    settling: bool = False,
) -> tuple[dict[TopicPartition, Progress], list[PartitionLiveness]]:
    """One liveness step: the new progress records and a verdict per observed partition.

    A partition moves when its committed offset differs from the previous sample; one that has
    no lag is never stalled (an idle topic is healthy). A partition seen for the first time
    starts its clock now. While ``settling`` (a rebalance or table recovery is under way, when
    no partition is expected to move) every clock restarts, so a slow recovery is not taken
    for a stall; the clocks run again once the worker is ready. Partitions no longer observed
    (revoked) are forgotten.
    """
    progress: dict[TopicPartition, Progress] = {}
    verdicts: list[PartitionLiveness] = []
    for tp, off in sorted(observed.items()):
        prev = previous.get(tp)
        if settling or prev is None or prev.committed != off.committed or off.lag == 0:
            progress[tp] = Progress(off.committed, now)
        else:
            progress[tp] = prev
        idle = max(now - progress[tp].since, 0.0)
        verdicts.append(PartitionLiveness(
            topic=tp[0], partition=tp[1], lag=off.lag, committed=off.committed, end=off.end,
            idle_seconds=idle, stalled=off.lag > 0 and idle >= stall_seconds,
        ))
    return progress, verdicts


def health(verdicts: Iterable[PartitionLiveness], settling: bool,
           offsets_error: str | None = None) -> tuple[int, dict[str, Any]]:
    """The ``/health`` status code and body: 503 with the reasons when any partition stalled."""
    rows = list(verdicts)
    stalled = [v for v in rows if v.stalled]
    body: dict[str, Any] = {
        "status": "stalled" if stalled else ("starting" if settling else "ok"),
        "partitions": [v.to_dict() for v in rows],
    }
    if offsets_error:
        body["offsets_error"] = offsets_error
    if stalled:
        body["reason"] = "; ".join(v.reason() for v in stalled)
        return 503, body
    return 200, body


class LivenessMonitor:
    """Samples the offsets of the app's assigned partitions; keeps the last verdicts.

    The committed offsets are the consumer's own record of what it committed (Faust seeds it
    from the group's commits at every assignment); end and start offsets come from the
    broker. A sample that fails (broker away) keeps the previous verdicts and says why.
    """

    def __init__(self, app: Any, stall_seconds: float, interval: float | None = None) -> None:
        self.app = app
        self.stall_seconds = stall_seconds
        self.interval = interval if interval is not None else max(min(stall_seconds / 4, 5.0), 0.5)
        self.progress: dict[TopicPartition, Progress] = {}
        self.verdicts: list[PartitionLiveness] = []
        self.settling = True
        self.error: str | None = None
        self._gauged: set[TopicPartition] = set()

    def _stream_partitions(self) -> list[Any]:
        changelogs = set(self.app.tables.changelog_topics)
        return sorted(
            (tp for tp in self.app.assignor.assigned_actives() if tp.topic not in changelogs),
            key=lambda tp: (tp.topic, tp.partition),
        )

    def _is_settling(self) -> bool:
        recovery = self.app.tables.recovery
        return bool(self.app.rebalancing or self.app.in_recovery
                    or not recovery.completed.is_set())

    async def sample(self) -> None:
        """Read offsets once and update the verdicts and the gauges."""
        settling = self._is_settling()
        tps = self._stream_partitions()
        observed: dict[TopicPartition, Offsets] = {}
        if tps:
            consumer = self.app.consumer
            timeout = max(self.interval, 2.0)
            try:
                ends = await asyncio.wait_for(consumer.highwaters(*tps), timeout)
                begins = await asyncio.wait_for(consumer.earliest_offsets(*tps), timeout)
            except Exception as exc:  # the broker or the consumer thread is away
                self.error = f"cannot read offsets: {type(exc).__name__}: {exc}"
                return
            committed = getattr(consumer, "_committed_offset", {})
            for tp in tps:
                end, begin = ends.get(tp), begins.get(tp)
                if end is None or begin is None:
                    continue
                observed[(tp.topic, tp.partition)] = Offsets(int(begin), int(end),
                                                             committed.get(tp))
        self.error = None
        self.settling = settling
        self.progress, self.verdicts = assess(
            self.progress, observed, time.monotonic(), self.stall_seconds, settling)
        self._export()
        for v in self.verdicts:
            if v.stalled:
                log.warning("partition stalled", extra={"reason": v.reason()})

    def _export(self) -> None:
        seen: set[TopicPartition] = set()
        for v in self.verdicts:
            labels = (v.topic, str(v.partition))
            metrics.PARTITION_LAG.labels(*labels).set(v.lag)
            metrics.PARTITION_STALLED.labels(*labels).set(1 if v.stalled else 0)
            seen.add((v.topic, v.partition))
        for topic, part in self._gauged - seen:
            for gauge in (metrics.PARTITION_LAG, metrics.PARTITION_STALLED):
                with contextlib.suppress(KeyError):
                    gauge.remove(topic, str(part))
        self._gauged = seen

    def health(self) -> tuple[int, dict[str, Any]]:
        return health(self.verdicts, self.settling, self.error)

    async def run(self) -> None:
        """Sample forever (a Faust app task); one failed sample never ends the loop."""
        while True:
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("liveness sample failed")
            await asyncio.sleep(self.interval)


def install(app: Any, stall_seconds: float) -> LivenessMonitor:
    """Attach a monitor to ``app`` (sampling from a Faust task) and return it."""
    monitor = LivenessMonitor(app, stall_seconds)

    @app.task
    async def liveness_sampler() -> None:
        await monitor.run()

    return monitor
