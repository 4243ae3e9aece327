"""Faust table recovery that seeks the stream partitions *before* it lets records reach agents.

The defect this fixes (faust-streaming 0.15.3, ``Recovery.on_recovery_completed``, and the same
order in ``_resume_streams``): when table recovery ends, Faust

1. resumes the stream partitions in the consumer (the fetcher may hand their records to the
   agents' queues from now on; the flow is already running since the changelog replay),
2. awaits ``perform_seek()`` (one committed-offset request per partition, in the consumer
   thread: long enough, on a busy machine, for the fetcher to deliver a batch), and then
3. calls ``app.flow_control.resume()``, which *clears every stream queue*.

Records delivered in step 2 are dropped from the queues in step 3 although the consumer's
position (and Faust's read offset) already moved past them. For a partition with a committed
offset the seek usually puts them back, unless the fetcher finished delivering its batch after
the seek (the read offset then lies ahead and the redelivered records are skipped as "already
read"). For a partition with *no* committed offset (the worker was killed before its first
commit on it) the seek does nothing at all, so the records are simply gone from this process:
no error, no commit past them, the agents wait for records that never come. That is the
"Worker ready, then nothing" stall after a kill -9; see docs/reliability.md.

The fix keeps Faust's sequence and moves step 1 after step 2: the stream partitions stay paused
while they are sought, so nothing can be delivered before the queues are cleared. Partitions
the group never committed are sought to their log start (``consumer_auto_offset_reset`` is
``earliest``), so a partition consumed in an earlier generation without a commit is read again
instead of resuming after records that were cleared.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from faust.tables import TableManager
from faust.tables.recovery import Recovery


class SeekFirstRecovery(Recovery):
    """:class:`faust.tables.recovery.Recovery` with the stream seek before the resume."""

    async def _seek_streams(self, stream_tps: set[Any]) -> None:
        consumer = self.app.consumer
        self.log.info("Seek stream partitions to committed offsets.")
        await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
        committed = cast(Any, consumer)._committed_offset
        never = [tp for tp in stream_tps if committed.get(tp) is None]
        if never:
            starts = await consumer.earliest_offsets(*never)
            # seek_wait runs in the consumer's thread (aiokafka is not thread-safe)
            await self._wait(consumer.seek_wait({tp: starts.get(tp) or 0 for tp in never}),
                             timeout=self.app.conf.broker_request_timeout)

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Upstream's method with the seek before ``resume_partitions`` (module docstring)."""
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(table.on_recovery_completed(
                self.actives_for_table[table], self.standbys_for_table[table]))
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            self.log.warning(f"Recovery rebalancing again app id "
                             f"{self.app.consumer_generation_id} param {generation_id}")
            return
        stream_tps = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        if assignment:
            await self._seek_streams(stream_tps)
        # no await between here and the queues' clear: nothing can be delivered in between
        consumer.resume_partitions(stream_tps)
        self.completed.set()
        self.app.flow_control.resume()
        consumer.resume_flow()
        await cast(Any, self.app)._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")

    async def _resume_streams(self, generation_id: int = 0) -> None:
        """Upstream's no-table path, with the same seek-first order."""
        app = self.app
        consumer = app.consumer
        await app.on_rebalance_complete.send()
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning("Recovery rebalancing again")
            return
        stream_tps = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        if assignment:
            await self._seek_streams(stream_tps)
        else:
            self.log.info("Resuming streams with empty assignment")
        consumer.resume_partitions(stream_tps)
        self.completed.set()
        self.log.info("Resuming flow...")
        app.flow_control.resume()
        consumer.resume_flow()
        await cast(Any, app)._fetcher.maybe_start()
        self.tables.on_actives_ready()
        self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")


class SeekFirstTableManager(TableManager):
    """The app's table manager (``faust.App(TableManager=...)``) using :class:`SeekFirstRecovery`."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
