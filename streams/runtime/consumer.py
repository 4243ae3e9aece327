"""A Faust consumer that never takes a record from the Kafka client without delivering it.

The defect this fixes (faust-streaming 0.15.3 with aiokafka 0.14): Faust asks aiokafka for the
records of its *active* partitions (assigned, not paused), passing its own live set of them,
and then drops, in ``Consumer.getmany``, every returned record whose partition is not active
when the record's turn comes (or every record left once the flow stops). aiokafka has already
moved its fetch position past those records, so unless something seeks the partition back
they are never read again by this process, and nothing is committed past them either: the
partition keeps its lag while the worker sits idle.

One way it happens on every restart with a table: the fetch that reads the table's changelog
waits (up to a second) for more records; recovery ends, pauses the changelog partitions, and
the live set of active partitions is now *empty*; aiokafka's ``fetched_records`` treats an
empty set as "every partition" and hands over the stream partitions' records, which Faust
drops because those partitions are still paused. When this happens after the recovery's seek
to the committed offsets, the records are gone (the "Worker ready, then nothing" stall seen
after a kill -9 while a backlog waits; see docs/reliability.md).

:class:`RewindingConsumer` keeps upstream's ``getmany`` but remembers, per partition, the first
record it did not deliver (and delivers nothing after it on that partition), then seeks each
such partition back to that record. The seek runs in the consumer's thread and only moves a
position *backwards* (a seek made meanwhile, for example recovery's seek to the committed
offset, is kept), so the records are fetched again once their partition is active; redelivery
is safe because every stage is at-least-once with idempotent outputs. While the flow is
stopped (a rebalance) upstream's behaviour is kept: the rebalance's recovery seeks every
stream partition when it ends (``streams.runtime.recovery``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message


class Undelivered:
    """Per partition, the offset of the first record of a batch that was not delivered.

    Once a partition has a record held back, every later record of it in the batch is held
    too: delivering those would skip the held one.
    """

    def __init__(self) -> None:
        self.offsets: dict[TP, int] = {}

    def holds(self, tp: TP) -> bool:
        return tp in self.offsets

    def note(self, tp: TP, offset: int) -> None:
        self.offsets.setdefault(tp, offset)

    def __bool__(self) -> bool:
        return bool(self.offsets)


def rewinds(position: int | None, first_undelivered: int) -> bool:
    """Seek back only when the client's position is past the record held back.

    A position at or before it means a seek already moved the partition back (recovery's seek
    to the committed offset): seeking to the held record would then skip what lies between.
    """
    return position is not None and position > first_undelivered


class RewindingConsumer(aiokafka_driver.Consumer):
    """Faust's aiokafka consumer whose ``getmany`` seeks back over the records it held back."""

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        records, active = await self._wait_next_records(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return
        if not self.flow_active:
            # upstream's answer: a rebalance is under way, seek to the committed offsets
            try:
                await self.perform_seek()
            except Exception as exc:
                self.log.warning("seek after a fetch while the flow is stopped failed: %r", exc)
            return
        held = Undelivered()
        buffered = self._buffered_partitions
        for tp, record in self.scheduler.iterate(records):
            if (held.holds(tp) or not self.flow_active
                    or self.app.consumer_generation_id != generation_id
                    or not (active is None or tp in active or tp in buffered)):
                held.note(tp, record.offset)
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            yield tp, self._to_message(tp, record)
        if held and self.flow_active and self.app.consumer_generation_id == generation_id:
            await self.rewind(held.offsets)

    async def rewind(self, first_undelivered: Mapping[TP, int]) -> None:
        """Seek each partition back to its first record that was not delivered."""
        await self._thread.call_thread(self._rewind_in_thread, dict(first_undelivered))

    async def _rewind_in_thread(self, first_undelivered: dict[TP, int]) -> None:
        # runs in the consumer's thread: aiokafka is not thread-safe
        client = self._thread._ensure_consumer()
        assigned = client.assignment()
        timeout = self.app.conf.broker_request_timeout
        for tp, offset in first_undelivered.items():
            if tp not in assigned:
                continue
            try:
                position = await asyncio.wait_for(client.position(tp), timeout=timeout)
            except Exception as exc:  # no position yet: the client's reset re-reads from there
                self.log.warning("no position for %s:%s to seek back to %s: %r",
                                 tp.topic, tp.partition, offset, exc)
                continue
            if rewinds(position, offset):
                client.seek(tp, offset)
                # Faust skips records below its read offset as already read
                self._read_offset[tp] = offset if offset else None
                self.log.info("sought %s:%s back to %s over records not delivered (was at %s)",
                              tp.topic, tp.partition, offset, position)


class Transport(aiokafka_driver.Transport):
    """The ``kafka://`` transport with :class:`RewindingConsumer` (``app.transport = ...``)."""

    Consumer = RewindingConsumer


def install(app: Any) -> None:
    """Give a Faust app (before its consumer exists) the rewinding consumer."""
    app.transport = Transport(app.conf.broker_consumer, app)
