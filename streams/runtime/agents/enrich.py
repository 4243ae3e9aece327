"""Enrich stage: ``articles.unique`` -> language + entities -> ``articles.enriched``.

The dedup stage's ``counts`` messages (copies counted on an original) arrive here too, keyed
like their original, and are passed on unchanged in input order, behind the original's document.

Batches come from :class:`streams.runtime.batching.Batches` and go to the NER process pool, so
the event loop only awaits (heartbeats keep flowing). A batch leaves at once when the pool has a
free slot, and fills up (to ``NEWSSTREAM_NLP_BATCH``, for at most ``NEWSSTREAM_NLP_BATCH_SECONDS``)
only while both slots are taken: no article waits for company when the pipeline is idle.
Two batches are in flight: while one is being finished (documents built and sent, events acked),
the next is already in the pool, so the NER processes do not sit idle waiting for the slowest
chunk of the previous batch. Batches are finished strictly in the order they were taken, and a
batch's events are acked only after every document (or dead letter) of the batch has its
delivery result from Kafka. A batch that fails is retried article
by article, so one poison article is dead-lettered alone; a killed NER process fails its batch,
the pool restarts once (see :class:`streams.enrich.nlp.NlpPool`) and the retries run on the new one.

Every article is accounted for: a message that is not an article, an NER error, a document
that cannot be built, one whose entities push it over the record limit (the entity list is
cut until it fits; the facets stay whole), or a failed send each end as a dead letter.

Rebalance: a batch taken before a partition was revoked is still finished and acked; its acks
are truthful (the documents are in Kafka), and the new owner's copies are idempotent upserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from streams import metrics
from streams.clock import rfc3339
from streams.enrich.corenlp import NerUnavailable
from streams.enrich.enricher import EnrichPool
from streams.index import documents
from streams.model import Article, DedupInfo, encode_internal
from streams.runtime.agents.common import (
    ENRICH_BACKLOG,
    Delivery,
    SendRefused,
    confirm,
    dead_letter_event,
    failure_reason,
    record_limit,
    send,
)
from streams.runtime.app import app, enriched_topic, settings, unique_topic
from streams.runtime.batching import Batches, Gate, put_watching

log = logging.getLogger(__name__)

IN_FLIGHT = 2  # batches in the pool at once: one being finished, one being computed
STAGE = "enrich"
# An index made by an older template holds each mention as a nested document, 10,000 at most
# per indexed document by default: a longer list would get the whole article rejected there.
MAX_ENTITIES = 5_000


def fit_message(message: dict[str, Any], limit: int) -> tuple[bytes, int]:
    """Serialize a document message within ``limit`` bytes (pure).

    Returns the bytes and how many entities were dropped: the entity list is cut to
    ``MAX_ENTITIES`` and then halved until the record fits (the persons/organizations/locations
    facets are kept whole). Raises
    :class:`~streams.runtime.agents.common.SendRefused` if even no entities do not fit.
    """
    doc = message.get("doc") or {}
    entities = list(doc.get("entities") or [])
    keep = min(len(entities), MAX_ENTITIES)
    if keep < len(entities):
        message = {**message, "doc": {**doc, "entities": entities[:keep]}}
    data = encode_internal(message)
    while len(data) > limit and keep > 0:
        keep //= 2
        data = encode_internal({**message, "doc": {**doc, "entities": entities[:keep]}})
    if len(data) > limit:
        raise SendRefused(f"document is {len(data)} bytes without entities, over {limit}")
    return data, len(entities) - keep


@dataclass
class Batch:
    """One taken batch: its events (to ack), the parsed articles, and the pool's future."""

    pool: EnrichPool
    events: list[Any]
    parsed: list[tuple[Any, Article, DedupInfo]]
    started: float
    results: asyncio.Future[list[Any]] | None = None
    deliveries: dict[int, list[Delivery]] | None = None  # id(event) -> its sends
    counts: dict[int, dict[str, Any]] | None = None  # id(event) -> a counts message to pass on


@app.agent(unique_topic, concurrency=1)
async def enrich(stream: Any) -> None:
    # noack + manual acks: Faust's automatic ack would fire for events whose documents were
    # never sent (an agent stopped mid-batch).
    manual = stream.noack()
    # wait=False: consume while the models load; the first batch waits for them
    async with EnrichPool(settings, wait=False) as pool:
        loading = asyncio.ensure_future(_log_ready(pool))
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=IN_FLIGHT - 1)
        finisher = asyncio.ensure_future(_finish_in_order(queue, manual))
        gate = Gate(IN_FLIGHT)
        first = True

        async def start(events: list[Any]) -> None:
            nonlocal first
            if first:
                first = False
                log.info("enrich: first batch taken", extra={"size": len(events)})
            ENRICH_BACKLOG.note(len(events), settings.nlp_batch_size)
            await put_watching(queue, await _start(pool, events, gate), finisher)

        batches = Batches(settings.nlp_batch_size, settings.nlp_batch_seconds, gate, start)
        try:
            await batches.run(manual.events())
        finally:
            loading.cancel()
            finisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await finisher


async def _log_ready(pool: EnrichPool) -> None:
    """Log when every NLP model is loaded (the cold-start benchmark reads the line)."""
    started = time.perf_counter()
    try:
        await pool.pool.ready()
    except Exception as exc:  # the first batch restarts the pool; say why here
        log.warning("NLP models failed to load: %r", exc)
        return
    seconds = time.perf_counter() - started
    # the figures in the text too: the worker's text log format drops extra fields
    log.info("NLP models loaded in %.1f s (NER pids %s, language pid %s)", seconds, pool.pids,
             pool.langid_pid, extra={"seconds": round(seconds, 2), "ner_pids": pool.pids,
                                     "langid_pid": pool.langid_pid})


async def _start(pool: EnrichPool, events: list[Any], gate: Gate | None = None) -> Batch:
    """Parse a batch (bad internal messages to the DLQ) and hand its articles to the pool.

    ``gate`` counts the batch as in flight until its NER results are in.
    """
    parsed: list[tuple[Any, Article, DedupInfo]] = []
    deliveries: dict[int, list[Delivery]] = {}
    counts: dict[int, dict[str, Any]] = {}
    for event in events:
        try:
            value = event.value
            if documents.is_counts(value):
                counts[id(event)] = value
                continue
            article = Article.from_dict(value["article"])
            parsed.append((event, article, DedupInfo.from_dict(value["dedup"])))
        except Exception as exc:
            deliveries[id(event)] = [await _dead(event, "bad_internal_message", exc)]
    batch = Batch(pool, events, parsed, time.perf_counter(), deliveries=deliveries,
                  counts=counts)
    if parsed:
        # the batch keeps the reference until the finisher awaits it
        batch.results = asyncio.ensure_future(pool.enrich([a for _, a, _ in parsed]))  # noqa: RUF006
        if gate is not None:
            gate.enter()
            batch.results.add_done_callback(lambda _: gate.leave())
    return batch


async def _finish_in_order(queue: asyncio.Queue[Batch], manual: Any) -> None:
    while True:
        batch = await queue.get()
        await finish_batch(batch)
        await ack_batch(batch, manual)


async def ack_batch(batch: Batch, manual: Any) -> None:
    """Ack a batch's events in order, each once its documents or dead letter are delivered.

    The sends of the whole batch are already in flight, so awaiting them one event after the
    other costs about one round trip per batch, not one per event.
    """
    deliveries = batch.deliveries or {}
    for event in batch.events:
        await confirm(event, STAGE, deliveries.get(id(event), []))
        await manual.ack(event)


async def finish_batch(batch: Batch) -> None:
    """Await a batch's NER results, then send its documents and counts in input order.

    A counts message is passed on unchanged, after every document taken before it: it follows
    its original onto ``articles.enriched`` (same key, same partition), so the index stage never
    sees the counts of an original it has not handled yet.
    """
    if batch.deliveries is None:
        batch.deliveries = {}
    results: list[Any] = []
    if batch.results is not None:
        try:
            results = list(await batch.results)
        except Exception:
            log.exception("NER batch failed; retrying one by one",
                          extra={"size": len(batch.parsed)})
            results = []
            for _, article, _ in batch.parsed:
                try:
                    results.extend(await batch.pool.enrich([article]))
                except Exception as exc:
                    results.append(exc)
        metrics.NLP_BATCH_SECONDS.observe(time.perf_counter() - batch.started)
    ingested_at = rfc3339()
    limit = record_limit()
    done = {id(event): (event, article, dedup, result) for (event, article, dedup), result
            in zip(batch.parsed, results, strict=True)}
    counts = batch.counts or {}
    for event in batch.events:
        key = id(event)
        if key in counts:
            batch.deliveries[key] = [await _pass_counts(event, counts[key])]
        elif key in done:
            batch.deliveries[key] = [await _finish_one(*done[key], ingested_at, limit)]


async def _pass_counts(event: Any, message: dict[str, Any]) -> Delivery:
    """Forward a counts message to the index stage (keyed by its original's id)."""
    try:
        return await send(enriched_topic, str(message["id"]).encode("utf-8"), message)
    except Exception as exc:
        return await _dead(event, failure_reason(exc), exc)


async def _finish_one(event: Any, article: Article, dedup: DedupInfo, result: Any,
                      ingested_at: str, limit: int) -> Delivery:
    """Build, fit and send one document; any failure dead-letters the message instead."""
    if isinstance(result, NerUnavailable):
        # Only after NEWSSTREAM_NER_UNAVAILABLE_WAIT (0: never): the server, not the article,
        # failed, so the reason says so and `newsstream dlq replay` sends it through again.
        return await _dead(event, "ner_unavailable", result)
    if isinstance(result, BaseException):
        return await _dead(event, "nlp_error", result)
    try:
        doc = documents.build_document(article, dedup, result, ingested_at)
        data, dropped = fit_message(documents.document_message(doc), limit)
    except SendRefused as exc:
        return await _dead(event, "too_large", exc)
    except Exception as exc:
        return await _dead(event, "document_error", exc)
    if dropped:
        log.warning("entities capped to fit the record limit",
                    extra={"id": article.id, "dropped": dropped, "bytes": len(data)})
    metrics.ENRICHED.inc()
    for label, n in Counter(ent.label for ent in result.entities).items():
        metrics.ENTITIES.labels(label).inc(n)  # one labelled look-up per label, not per entity
    try:
        return await send(enriched_topic, article.id.encode("utf-8"), data)
    except Exception as exc:
        return await _dead(event, failure_reason(exc), exc)


async def _dead(event: Any, reason: str, exc: BaseException) -> Delivery:
    return await dead_letter_event(event, STAGE, reason, exc)
