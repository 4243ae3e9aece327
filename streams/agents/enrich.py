"""Enrich stage: ``articles.unique`` -> language + entities -> ``articles.enriched``.

Batches come from ``noack_take`` and go to the NER process pool in one call, so the event loop
only awaits (heartbeats keep flowing). A batch's events are acked only after its documents (or
dead letters) were handed to the producer, which Faust flushes before any commit.
A batch that fails is retried article by article, so one poison article is dead-lettered alone.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from streams import documents, metrics
from streams.agents.common import dead_letter
from streams.app import app, enriched_topic, settings, unique_topic
from streams.enrich import EnrichPool
from streams.model import Article, DedupInfo

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@app.agent(unique_topic, concurrency=1)
async def enrich(stream: Any) -> None:
    # noack + manual acks: ``take_events`` acks its buffer in a ``finally`` even when the worker
    # is stopped mid-batch, which would commit articles whose documents were never sent.
    manual = stream.noack()
    async with EnrichPool(settings) as pool:
        async for events in manual.noack_take(
            settings.nlp_batch_size, within=settings.nlp_batch_seconds
        ):
            await process_batch(pool, events)
            for event in events:
                await manual.ack(event)


async def process_batch(pool: EnrichPool, events: list[Any]) -> None:
    """Enrich one batch and send its documents; failures are dead-lettered one by one."""
    parsed: list[tuple[Any, Article, DedupInfo]] = []
    for event in events:
        try:
            value = event.value
            article = Article.from_dict(value["article"])
            parsed.append((event, article, DedupInfo.from_dict(value["dedup"])))
        except Exception as exc:
            await _dead(event, "bad_internal_message", exc)
    if not parsed:
        return
    started = time.perf_counter()
    results: list[Any]
    try:
        results = list(await pool.enrich([a for _, a, _ in parsed]))
    except Exception:
        log.exception("NER batch failed; retrying one by one", extra={"size": len(parsed)})
        results = []
        for _, article, _ in parsed:
            try:
                results.extend(await pool.enrich([article]))
            except Exception as exc:
                results.append(exc)
    metrics.NLP_BATCH_SECONDS.observe(time.perf_counter() - started)
    ingested_at = _now()
    for (event, article, dedup), result in zip(parsed, results, strict=True):
        if isinstance(result, BaseException):
            await _dead(event, "nlp_error", result)
            continue
        try:
            doc = documents.build_document(article, dedup, result, ingested_at)
        except Exception as exc:
            await _dead(event, "document_error", exc)
            continue
        metrics.ENRICHED.inc()
        for ent in result.entities:
            metrics.ENTITIES.labels(ent.label).inc()
        await enriched_topic.send(
            key=article.id.encode(), value=documents.document_message(doc)
        )


async def _dead(event: Any, reason: str, exc: BaseException) -> None:
    await dead_letter(_raw(event), "enrich", reason, repr(exc), event.message)


def _raw(event: Any) -> bytes:
    """The message as it was on the internal topic, for the DLQ envelope."""
    import json

    return json.dumps(event.value, ensure_ascii=False, default=str).encode()
