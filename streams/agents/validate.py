"""Validate stage: raw bytes from ``articles`` -> ``articles.valid`` keyed by article id.

Anything that fails the contract goes to the dead-letter topic with its reason; the agent never
crashes on input (at-least-once: the DLQ send is flushed before Faust commits the offset).
"""

from __future__ import annotations

import logging
from typing import Any

from streams import contract, metrics
from streams.agents.common import dead_letter, handle_then_ack
from streams.app import app, articles_topic, settings, valid_topic

log = logging.getLogger(__name__)


def valid_message(article: Any, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """The ``articles.valid`` value: the article plus where it came from (for DLQ envelopes)."""
    return {
        "article": article.to_dict(),
        "source_offset": {"topic": topic, "partition": partition, "offset": offset},
    }


@app.agent(articles_topic, concurrency=1)
async def validate(stream: Any) -> None:
    await handle_then_ack(stream, handle)


async def handle(event: Any) -> None:
    """Validate one raw message: on to ``articles.valid``, or to the DLQ with its reason."""
    msg = event.message
    metrics.ARTICLES_IN.inc()
    raw: bytes | None = event.value
    try:
        article = contract.parse_article(raw or b"", settings.max_message_bytes)
    except contract.InvalidArticle as exc:
        await dead_letter(raw, "validate", exc.reason, exc.message, msg)
        return
    except Exception as exc:  # a bug must not stop the stream: quarantine and go on
        log.exception("validate failed", extra={"offset": msg.offset})
        await dead_letter(raw, "validate", "internal_error", repr(exc), msg)
        return
    metrics.ARTICLES_VALID.inc()
    await valid_topic.send(
        key=article.id.encode(),
        value=valid_message(article, msg.topic, msg.partition, msg.offset),
    )
