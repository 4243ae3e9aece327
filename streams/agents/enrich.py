"""Enrich stage: ``articles.unique`` -> language + entities -> ``articles.enriched``.

Batches come from ``noack_take`` and go to the NER process pool, so the event loop only awaits
(heartbeats keep flowing). Two batches are in flight: while one is being finished (documents
built and sent, events acked), the next is already in the pool, so the NER processes do not
sit idle waiting for the slowest chunk of the previous batch. Batches are finished strictly in
the order they were taken, and a batch's events are acked only after its documents (or dead
letters) were handed to the producer, which Faust flushes before any commit. A batch that
fails is retried article by article, so one poison article is dead-lettered alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams import documents, metrics
from streams.agents.common import dead_letter
from streams.app import app, enriched_topic, settings, unique_topic
from streams.enrich import EnrichPool
from streams.model import Article, DedupInfo

log = logging.getLogger(__name__)

IN_FLIGHT = 2  # batches in the pool at once: one being finished, one being computed


@dataclass
class Batch:
    """One taken batch: its events (to ack), the parsed articles, and the pool's future."""

    pool: EnrichPool
    events: list[Any]
    parsed: list[tuple[Any, Article, DedupInfo]]
    started: float
    results: asyncio.Future[list[Any]] | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@app.agent(unique_topic, concurrency=1)
async def enrich(stream: Any) -> None:
    # noack + manual acks: ``take_events`` acks its buffer in a ``finally`` even when the worker
    # is stopped mid-batch, which would commit articles whose documents were never sent.
    manual = stream.noack()
    async with EnrichPool(settings) as pool:
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=IN_FLIGHT - 1)
        finisher = asyncio.ensure_future(_finish_in_order(queue, manual))
        try:
            async for events in manual.noack_take(
                settings.nlp_batch_size, within=settings.nlp_batch_seconds
            ):
                batch = await _start(pool, events)
                put = asyncio.ensure_future(queue.put(batch))
                await asyncio.wait({put, finisher}, return_when=asyncio.FIRST_COMPLETED)
                if finisher.done():  # it only ends by failing: surface that, do not hang
                    put.cancel()
                    finisher.result()
        finally:
            finisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await finisher


async def _start(pool: EnrichPool, events: list[Any]) -> Batch:
    """Parse a batch (bad internal messages to the DLQ) and hand its articles to the pool."""
    parsed: list[tuple[Any, Article, DedupInfo]] = []
    for event in events:
        try:
            value = event.value
            article = Article.from_dict(value["article"])
            parsed.append((event, article, DedupInfo.from_dict(value["dedup"])))
        except Exception as exc:
            await _dead(event, "bad_internal_message", exc)
    batch = Batch(pool, events, parsed, time.perf_counter())
    if parsed:
        # the batch keeps the reference until the finisher awaits it
        batch.results = asyncio.ensure_future(pool.enrich([a for _, a, _ in parsed]))  # noqa: RUF006
    return batch


async def _finish_in_order(queue: asyncio.Queue[Batch], manual: Any) -> None:
    while True:
        batch = await queue.get()
        await finish_batch(batch)
        for event in batch.events:
            await manual.ack(event)


async def finish_batch(batch: Batch) -> None:
    """Await a batch's NER results, then build and send its documents in order."""
    if batch.results is None:
        return
    results: list[Any]
    try:
        results = list(await batch.results)
    except Exception:
        log.exception("NER batch failed; retrying one by one", extra={"size": len(batch.parsed)})
        results = []
        for _, article, _ in batch.parsed:
            try:
                results.extend(await batch.pool.enrich([article]))
            except Exception as exc:
                results.append(exc)
    metrics.NLP_BATCH_SECONDS.observe(time.perf_counter() - batch.started)
    ingested_at = _now()
    for (event, article, dedup), result in zip(batch.parsed, results, strict=True):
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
        await enriched_topic.send(key=article.id.encode(), value=documents.document_message(doc))


async def _dead(event: Any, reason: str, exc: BaseException) -> None:
    await dead_letter(_raw(event), "enrich", reason, repr(exc), event.message)


def _raw(event: Any) -> bytes:
    """The message as it was on the internal topic, for the DLQ envelope."""
    return json.dumps(event.value, ensure_ascii=False, default=str).encode()
