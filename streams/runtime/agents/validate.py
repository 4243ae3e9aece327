"""Validate stage: raw bytes from ``articles`` -> ``articles.valid`` keyed by article id.

Anything that fails the contract goes to the dead-letter topic with its reason; so does a
message whose valid form cannot be sent (too large, a producer error). The agent never crashes
on input, and acks a message only once its output or dead letter has a delivery result.
"""

from __future__ import annotations

import logging
from typing import Any

from streams import metrics
from streams.ingest import contract
from streams.runtime.agents.common import Delivery, dead_letter, failure_reason, handle_then_ack, send
from streams.runtime.app import app, articles_topic, settings, valid_topic

log = logging.getLogger(__name__)

STAGE = "validate"


def valid_message(article: Any, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """The ``articles.valid`` value: the article plus where it came from (for DLQ envelopes)."""
    return {
        "article": article.to_dict(),
        "source_offset": {"topic": topic, "partition": partition, "offset": offset},
    }


@app.agent(articles_topic, concurrency=1)
async def validate(stream: Any) -> None:
    await handle_then_ack(stream, STAGE, handle)


async def handle(event: Any) -> list[Delivery]:
    """Validate one raw message: on to ``articles.valid``, or to the DLQ with its reason."""
    msg = event.message
    metrics.ARTICLES_IN.inc()
    raw = event.value if isinstance(event.value, bytes | bytearray) else None
    try:
        if raw is None:
            raise contract.InvalidArticle("empty", "the message has no value")
        article = contract.parse_article(bytes(raw), settings.max_message_bytes)
    except contract.InvalidArticle as exc:
        return [await dead_letter(raw, STAGE, exc.reason, exc.message, msg)]
    except Exception as exc:  # a bug must not stop the stream: quarantine and go on
        log.exception("validate failed", extra={"offset": msg.offset})
        return [await dead_letter(raw, STAGE, "internal_error", repr(exc), msg)]
    metrics.ARTICLES_VALID.inc()
    try:
        value = valid_message(article, msg.topic, msg.partition, msg.offset)
        return [await send(valid_topic, article.id.encode("utf-8"), value)]
    except Exception as exc:
        return [await dead_letter(raw, STAGE, failure_reason(exc), f"{type(exc).__name__}: {exc}",
                                  msg)]
