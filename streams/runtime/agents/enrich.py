"""Enrich stage: ``articles.unique`` -> language + entities -> Elasticsearch.

The stage writes its documents to Elasticsearch itself (:class:`streams.index.sink.BulkSink`:
a finished batch is one bulk, together with the batches finished while the bulk before it was
in flight) and acks its input only once Elasticsearch acknowledged them: a
document never crosses Kafka a second time (it is the largest message of the pipeline), and
the offsets of ``articles.unique`` commit only after Elasticsearch has the documents.
``articles.enriched`` is only read now, by the index agent (what earlier versions left there).

The dedup stage's ``counts`` messages (copies counted on an original) arrive here too, keyed
like their original, and go into the same bulk in input order, behind the original's document.

Batches come from :class:`streams.runtime.batching.Batches` and go to the NER process pool, so
the event loop only awaits (heartbeats keep flowing). A batch leaves at once when the pool has a
free slot, and fills up (to ``NEWSSTREAM_NLP_BATCH``, for at most ``NEWSSTREAM_NLP_BATCH_SECONDS``)
only while both slots are taken: no article waits for company when the pipeline is idle.
Two batches are in flight: while one is being finished (documents built and written), the next
is already in the pool, so the NER processes do not sit idle while Elasticsearch answers.
Batches are finished strictly in the order they were taken, and a batch's events are acked only
after every document of the batch is acknowledged by Elasticsearch and every dead letter has its
delivery result from Kafka. While Elasticsearch is down the sink retries and nothing more is
finished: the queue of finished batches stays full, reading stops, and Faust pauses the fetcher.
A batch that fails in the pool is retried article by article, so one poison article is
dead-lettered alone; a killed NER process fails its batch, the pool restarts once (see
:class:`streams.enrich.nlp.NlpPool`) and the retries run on the new one.

Every article is accounted for: a message that is not an article, an NER error, a document
that cannot be built, one whose entities push it over the record limit (the entity list is
cut until it fits; the facets stay whole), or one Elasticsearch rejects each end as a dead
letter.

Forced refreshes: a small bulk while the stage is not behind asks Elasticsearch to refresh
(:func:`streams.index.sink.refresh_option`), so an idle pipeline's document is searchable when
its bulk returns; the next such bulk waits until ``NEWSSTREAM_BULK_MAX_SECONDS`` after it, so
refreshes (each a new segment to merge) stay few per second at any input rate.

Rebalance: a batch taken before a partition was revoked is still finished and acked; its
documents are in Elasticsearch, and the new owner's copies are idempotent writes.
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
from streams.index.sink import BulkSink, PendingDoc, refresh_option
from streams.model import Article, DedupInfo, encode_internal
from streams.runtime.agents.common import (
    ENRICH_BACKLOG,
    Delivery,
    SendRefused,
    confirm,
    dead_letter_event,
    es_sink,
    record_limit,
    sink_item,
)
from streams.runtime.app import app, settings, unique_topic
from streams.runtime.batching import Batches, Gate, put_watching

log = logging.getLogger(__name__)

IN_FLIGHT = 2  # batches in the pool at once: one being finished, one being computed
WRITE_QUEUE = 4  # finished batches waiting for Elasticsearch; then finishing (and reading) waits
STAGE = "enrich"
# An index made by an older template holds each mention as a nested document, 10,000 at most
# per indexed document by default: a longer list would get the whole article rejected there.
MAX_ENTITIES = 5_000


def fit_message(message: dict[str, Any], limit: int) -> tuple[dict[str, Any], int]:
    """Cap a document message's entities so it serializes within ``limit`` bytes (pure).

    Returns the message and how many entities were dropped: the entity list is cut to
    ``MAX_ENTITIES`` and then halved until the document fits (the persons/organizations/locations
    facets are kept whole). Raises
    :class:`~streams.runtime.agents.common.SendRefused` if even no entities do not fit.
    """
    doc = message.get("doc") or {}
    entities = list(doc.get("entities") or [])
    keep = min(len(entities), MAX_ENTITIES)
    if keep < len(entities):
        message = {**message, "doc": {**doc, "entities": entities[:keep]}}
    size = len(encode_internal(message))
    while size > limit and keep > 0:
        keep //= 2
        message = {**message, "doc": {**doc, "entities": entities[:keep]}}
        size = len(encode_internal(message))
    if size > limit:
        raise SendRefused(f"document is {size} bytes without entities, over {limit}")
    return message, len(entities) - keep


class RefreshPacer:
    """Spaces the bulks that force a refresh at least ``spacing`` seconds apart.

    Each forced refresh writes a new segment; without a floor, an idle pipeline fed one article
    at a time would refresh once per article.
    """

    def __init__(self, spacing: float) -> None:
        self.spacing = spacing
        self.last = float("-inf")

    def wait_for(self, would_refresh: bool, now: float) -> float:
        """Seconds a bulk must wait before it is sent (0 unless it refreshes too soon)."""
        return max(0.0, self.last + self.spacing - now) if would_refresh else 0.0

    def note(self, refreshed: bool, now: float) -> None:
        if refreshed:
            self.last = now


@dataclass
class Batch:
    """One taken batch: its events (to ack), the parsed articles, and the pool's future."""

    pool: EnrichPool
    events: list[Any]
    parsed: list[tuple[Any, Article, DedupInfo]]
    started: float
    results: asyncio.Future[list[Any]] | None = None
    deliveries: dict[int, list[Delivery]] | None = None  # id(event) -> its dead letter
    counts: dict[int, dict[str, Any]] | None = None  # id(event) -> a counts message to pass on
    items: list[PendingDoc] | None = None  # what goes to Elasticsearch, in input order


@app.agent(unique_topic, concurrency=1)
async def enrich(stream: Any) -> None:
    # noack + manual acks: Faust's automatic ack would fire for events whose documents were
    # never sent (an agent stopped mid-batch).
    manual = stream.noack()
    # wait=False: consume while the models load; the first batch waits for them
    async with EnrichPool(settings, wait=False) as pool, es_sink() as sink:
        loading = asyncio.ensure_future(_log_ready(pool))
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=IN_FLIGHT - 1)
        written: asyncio.Queue[Batch] = asyncio.Queue(maxsize=WRITE_QUEUE)
        writer = asyncio.ensure_future(_write_in_order(written, manual, sink))
        finisher = asyncio.ensure_future(_finish_in_order(queue, written, writer))
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
            for task in (finisher, writer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


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


async def _finish_in_order(queue: asyncio.Queue[Batch], written: asyncio.Queue[Batch],
                           writer: asyncio.Future[None]) -> None:
    while True:
        batch = await queue.get()
        await finish_batch(batch)
        await put_watching(written, batch, writer)


def _take_ready(queue: asyncio.Queue[Batch], into: list[Batch]) -> None:
    while not queue.empty():
        into.append(queue.get_nowait())


async def _write_in_order(written: asyncio.Queue[Batch], manual: Any, sink: BulkSink) -> None:
    """Write finished batches to Elasticsearch in order, then ack their events.

    Batches finished while a bulk is in flight (or while a refreshing bulk waits out the
    pacer) go together in the next one, as the index agent's bulks do.
    """
    pacer = RefreshPacer(settings.bulk_max_seconds)
    loop = asyncio.get_running_loop()
    while True:
        batches = [await written.get()]
        _take_ready(written, batches)
        items = sum(len(b.items or ()) for b in batches)
        refresh = refresh_option(items, sink.refresh_below, sink.upstream_behind())
        delay = pacer.wait_for(bool(refresh), loop.time())
        if delay:
            await asyncio.sleep(delay)
            _take_ready(written, batches)
        await write_batches(batches, sink)
        pacer.note(sink.refreshed, loop.time())
        for batch in batches:
            await ack_batch(batch, manual)


async def write_batches(batches: list[Batch], sink: BulkSink) -> None:
    """Write finished batches' documents and counts; returns once Elasticsearch has them all.

    The sink retries an outage forever (backpressure) and dead-letters what Elasticsearch
    rejects, awaiting each letter's delivery.
    """
    items = [item for batch in batches for item in batch.items or ()]
    sink.refreshed = False  # no bulk, no refresh (``write`` resets it too)
    if items:
        await sink.write(items)


async def ack_batch(batch: Batch, manual: Any) -> None:
    """Ack a batch's events in order, each once its dead letter (if any) is delivered.

    Called after :func:`write_batches`: the documents are in Elasticsearch by then. The letters
    of the whole batch are already in flight, so awaiting them one event after the other costs
    about one round trip per batch, not one per event.
    """
    deliveries = batch.deliveries or {}
    for event in batch.events:
        await confirm(event, STAGE, deliveries.get(id(event), []))
        await manual.ack(event)


async def finish_batch(batch: Batch) -> None:
    """Await a batch's NER results, then build its documents and counts in input order.

    A counts message is written after every document taken before it (in the same bulk, or a
    later one), so it never updates an original that is still on its way.
    """
    if batch.deliveries is None:
        batch.deliveries = {}
    batch.items = []
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
            batch.items.append(sink_item(event, counts[key]))
        elif key in done:
            out = await _finish_one(*done[key], ingested_at, limit)
            if isinstance(out, PendingDoc):
                batch.items.append(out)
            else:
                batch.deliveries[key] = [out]


async def _finish_one(event: Any, article: Article, dedup: DedupInfo, result: Any,
                      ingested_at: str, limit: int) -> PendingDoc | Delivery:
    """Build and fit one document; any failure dead-letters the message instead."""
    if isinstance(result, NerUnavailable):
        # Only after NEWSSTREAM_NER_UNAVAILABLE_WAIT (0: never): the server, not the article,
        # failed, so the reason says so and `newsstream dlq replay` sends it through again.
        return await _dead(event, "ner_unavailable", result)
    if isinstance(result, BaseException):
        return await _dead(event, "nlp_error", result)
    try:
        doc = documents.build_document(article, dedup, result, ingested_at)
        message, dropped = fit_message(documents.document_message(doc), limit)
    except SendRefused as exc:
        return await _dead(event, "too_large", exc)
    except Exception as exc:
        return await _dead(event, "document_error", exc)
    if dropped:
        log.warning("entities capped to fit the record limit",
                    extra={"id": article.id, "dropped": dropped})
    metrics.ENRICHED.inc()
    for label, n in Counter(ent.label for ent in result.entities).items():
        metrics.ENTITIES.labels(label).inc(n)  # one labelled look-up per label, not per entity
    return sink_item(event, message)


async def _dead(event: Any, reason: str, exc: BaseException) -> Delivery:
    return await dead_letter_event(event, STAGE, reason, exc)
