"""What every agent shares: the dead-letter send."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from streams import dlq, metrics
from streams.app import dlq_topic

log = logging.getLogger("streams.dlq")


async def dead_letter(
    raw: bytes | None, stage: str, reason: str, error: str, message: Any = None,
    source: dict[str, Any] | None = None,
) -> None:
    """Send one envelope to the DLQ and count it.

    ``message`` is the Faust message being processed (for topic/partition/offset); ``source``
    overrides it when the original position was carried along (later stages).
    """
    if source is None and message is not None:
        source = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
    source = source or {}
    envelope = dlq.make_envelope(
        raw,
        stage=stage,
        reason=reason,
        error=error,
        topic=source.get("topic"),
        partition=source.get("partition"),
        offset=source.get("offset"),
    )
    await dlq_topic.send(key=dlq.envelope_key(envelope), value=dlq.encode_envelope(envelope))
    metrics.DEAD_LETTERS.labels(stage, reason).inc()
    log.warning(
        "dead-lettered",
        extra={"stage": stage, "reason": reason, "error": error[:300], **source},
    )


async def handle_then_ack(stream: Any, handle: Callable[[Any], Awaitable[None]]) -> None:
    """Handle events one by one; ack each only after its sends were handed to the producer.

    Faust's automatic ack sits in a ``finally`` and would also fire for an event whose handler
    was cancelled by a shutdown halfway through its sends; Faust flushes the producer before it
    commits, so an acked event's output is durable before its offset is.
    """
    manual = stream.noack()
    async for event in manual.events():
        await handle(event)
        await manual.ack(event)
