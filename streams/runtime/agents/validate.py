"""Validate stage: raw bytes from ``articles`` -> fingerprinted articles on the decide topic.

One agent validates an article and fingerprints it for the dedup decision (the stateless half
of the dedup stage, :func:`streams.dedup.prepare`), so a message crosses Kafka once between the
input topic and the single decide partition: every hop costs the worker, the broker and the
latency more than the fingerprint does. Anything that fails the contract goes to the
dead-letter topic with its reason; so does an article that cannot be fingerprinted or whose
output cannot be sent (too large, a producer error). Each letter keeps the raw bytes, so a
replay sends it back to ``articles``. The agent never crashes on input, and acks a message
only once its output or dead letter has a delivery result.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from streams import dedup, metrics
from streams.ingest import contract
from streams.runtime.agents import dedup as dedup_agent
from streams.runtime.agents.common import (
    Delivery,
    dead_letter,
    failure_reason,
    handle_then_ack,
    send,
    source_of,
)
from streams.runtime.app import app, articles_topic, settings

log = logging.getLogger(__name__)

STAGE = "validate"


@app.agent(articles_topic, concurrency=1)
async def validate(stream: Any) -> None:
    await handle_then_ack(stream, STAGE, handle)


async def handle(event: Any) -> list[Delivery]:
    """Validate and fingerprint one raw message: on to the decide topic, or to the DLQ."""
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
        prepared = dedup.prepare(article)
    except Exception as exc:
        log.exception("fingerprint failed", extra={"offset": msg.offset})
        return [await dead_letter(raw, dedup_agent.STAGE, "dedup_error",
                                  f"{type(exc).__name__}: {exc}", msg)]
    try:
        # the time the article entered the pipeline; carried in the value, so a redelivered
        # decide message (or a replayed dedup letter) keeps it
        value = dedup_agent.decide_value(article.to_dict(), source_of(msg), prepared, time.time())
        return [await send(dedup_agent.decide_topic, article.id.encode("utf-8"), value)]
    except Exception as exc:
        return [await dead_letter(raw, STAGE, failure_reason(exc), f"{type(exc).__name__}: {exc}",
                                  msg)]
