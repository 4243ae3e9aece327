"""A Faust worker running only the validate and dedup agents (the dedup integration tests).

Why not ``newsstream worker``: the dedup tests need neither the NER process pool nor
Elasticsearch. Run as ``python -m tests.integration.dedup.dedup_harness worker`` with the namespace's
environment; ``/health`` answers with the partitions this worker owns.

``python -m tests.integration.dedup.dedup_harness passthrough worker`` runs instead a bare agent that
copies the decide topic to ``articles.unique`` with no table and no logic: the benchmark's
yardstick for what Faust itself costs per message.

Test-only switches in its environment (never read by the product):

- ``DEDUP_HARNESS_BLOCK_ON=<text>``: the validate agent stops for good at the first raw message
  containing that text: a real stalled partition, for the liveness test.
- ``DEDUP_HARNESS_SLOW_SEEK=<seconds>``: the post-recovery seek of the stream partitions takes
  that much longer, as it does on a busy machine (the window of the post-recovery stall).
- ``DEDUP_HARNESS_UPSTREAM_RECOVERY=1``: Faust's own post-recovery order instead of
  ``streams.runtime.recovery``: the regression test then fails, which shows it tests the fix.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any


def _block_validate_on(marker: bytes) -> None:
    """Make the validate agent hang, unacked, on the first message that contains ``marker``."""
    import streams.runtime.agents.validate as validate

    original = validate.handle

    async def handle(event: Any) -> None:
        if marker in (event.value or b""):
            await asyncio.Event().wait()  # never set: the partition stops here
        await original(event)

    validate.handle = handle  # the agent looks ``handle`` up when its stream starts


def _passthrough(app: Any) -> None:
    from streams.runtime.app import settings, unique_topic

    topic = app.topic(settings.topic("dedup"), key_type=bytes, key_serializer="raw",
                      value_serializer="json", partitions=1, internal=True)

    @app.agent(topic, concurrency=1)
    async def passthrough(stream: Any) -> None:
        async for event in stream.events():
            await unique_topic.send(key=event.key, value={"article": event.value["article"]})


def _slow_seek(seconds: float) -> None:
    """Widen the window between Faust resuming the stream partitions and seeking them."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = AIOKafkaConsumerThread.seek_to_committed

    async def seek_to_committed(self: Any) -> Any:
        await asyncio.sleep(seconds)
        return await original(self)

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]


def _upstream_recovery() -> None:
    """Put Faust's own post-recovery order back (to show the regression test fails without it)."""
    from faust.tables.recovery import Recovery

    from streams.runtime.recovery import SeekFirstRecovery

    SeekFirstRecovery.on_recovery_completed = Recovery.on_recovery_completed  # type: ignore[method-assign]
    SeekFirstRecovery._resume_streams = Recovery._resume_streams  # type: ignore[method-assign]


def main() -> None:
    import faust

    from streams.runtime.app import app

    if len(sys.argv) > 1 and sys.argv[1] == "passthrough":
        del sys.argv[1]
        _passthrough(app)
    else:
        import streams.runtime.agents.dedup  # importing registers the agents and tables
        import streams.runtime.agents.validate

        assert streams.runtime.agents.dedup.dedup_decide and streams.runtime.agents.validate.validate
        if os.environ.get("DEDUP_HARNESS_BLOCK_ON"):
            _block_validate_on(os.environ["DEDUP_HARNESS_BLOCK_ON"].encode())

    if os.environ.get("DEDUP_HARNESS_UPSTREAM_RECOVERY"):
        _upstream_recovery()
    if os.environ.get("DEDUP_HARNESS_SLOW_SEEK"):
        _slow_seek(float(os.environ["DEDUP_HARNESS_SLOW_SEEK"]))

    from streams.runtime import liveness
    from streams.runtime.app import settings
    from streams.runtime.worker import add_web_pages

    add_web_pages(app, liveness.install(app, settings.stall_seconds))

    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
