"""What every agent shares: the dead-letter send."""

from __future__ import annotations

import logging
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
