"""Dedup stage: fingerprinted articles -> ``articles.unique`` (articles and ``counts`` messages).

Design: how candidates meet
---------------------------
``articles`` is keyed by canonical URL, so revisions and replays of one URL meet on one
partition, but a copy under another URL, or a near duplicate, can be on any partition. The
stage therefore has two halves:

1. The stateless half runs on every partition of ``articles``, inside the validate agent
   (``streams.runtime.agents.validate``): the CPU work (normalization, xxhash content hash,
   MinHash signature) scales with workers, and the article crosses Kafka once on its way to
   the decision, with its 256-byte signature (:func:`decide_value`). ``dedup_prepare`` does
   the same for ``articles.valid``, the topic earlier versions validated into: an upgrade
   finishes what they left there, and their dedup letters replay to it.
2. ``dedup_decide`` on ``<prefix>.dedup`` (ONE partition): every article meets every other
   here, in one total order, so "first seen" is well defined and the decision is deterministic
   under replay. Durable state is ONE Faust table, ``dedup-docs`` (changelog topic, RocksDB by
   default): one changelog message per article. The content-hash and LSH-bucket maps are
   derived from it into a local RocksDB under the data dir and rebuilt (``rebuild_index``)
   after every table recovery, before Faust resumes the stream.

Why not fan out by LSH band key (``b`` repartition messages per article plus a gather step to
merge the ``b`` answers): with 7 bands that is ~15 Kafka messages per article instead of 3, and
Faust's cost is per message (below), so fan-out would cost more than the single partition it
replaces; and two near duplicates racing through two band partitions could both claim to be
first. ``bench/bench_dedup.py`` measures the dedup logic alone (prepare + decide over
RocksDB/JSON) and, with ``--kafka``, the decide agent against a bare Faust agent with no table
and no logic: the two drain at the same rate, so the transport, not dedup, is the
per-partition ceiling (docs/dedup.md).

Capacity limit (stated): the decide partition is one Faust consumer, so the whole dedup stage
is bounded by one consumer's message rate, several times what NER does (see docs/dedup.md).
Beyond that, shard the decide topic by a key near duplicates share (language,
region) or move to band fan-out. The fingerprinting and every other stage scale with
partitions. A second worker holds a standby replica of the docs table (Faust
``table_standby_replicas``), so a failover resumes without replaying the whole changelog.

Crash safety (at-least-once): the decision is recorded in the tables before the article is
passed on; if the worker dies in between, the redelivered message has the same id, content and
copy identity, so it is a ``replay`` and passed on again with the stored decision (never "a
duplicate of itself"). Counts are absolute values from the tables, so resending them is safe.

Expiry: a leader timer sends a ``sweep`` tick into the decide topic every
``SWEEP_INTERVAL`` seconds; the decide agent (which owns the tables, and Faust only lets a
stream write them) removes up to ``SWEEP_BUDGET`` expired documents per tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import faust

from streams import dedup, metrics
from streams.index import documents
from streams.model import Article
from streams.runtime.agents.common import (
    Delivery,
    dead_letter_event,
    failure_reason,
    handle_then_ack,
    send,
)
from streams.runtime.app import app, settings, unique_topic, valid_topic
from streams.runtime.wire import INTERNAL_CODEC

log = logging.getLogger(__name__)

DECIDE_PARTITIONS = 1  # the design above: every article must meet every other
SWEEP_INTERVAL = 60.0
SWEEP_BUDGET = 20_000
SWEEP_KEY = b"__sweep__"
STAGE = "dedup"

decide_topic = app.topic(
    settings.topic("dedup"),
    key_type=bytes,
    key_serializer="raw",
    value_serializer=INTERNAL_CODEC,
    partitions=DECIDE_PARTITIONS,
    internal=True,
    config={"max.message.bytes": str(settings.topic_max_bytes)},
)


docs_table = app.Table(
    "dedup-docs",
    default=None,
    partitions=DECIDE_PARTITIONS,
    schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    help="dedup: handle -> document record (hash, times, story, signature, copies)",
)


def _index_maps() -> tuple[Any, Any]:
    """The derived content-hash and LSH maps: local RocksDB, or dicts with memory://."""
    if settings.store.startswith("memory"):
        return {}, {}
    base = Path(settings.data_dir) / f"{settings.app_id}-dedup-index"
    base.mkdir(parents=True, exist_ok=True)
    return (dedup.JsonRocksMapping(str(base / "hashes")),
            dedup.JsonRocksMapping(str(base / "buckets")))


hashes_map, buckets_map = _index_maps()
deduplicator = dedup.Deduplicator(
    dedup.MappingState(docs_table, hashes_map, buckets_map),
    threshold=settings.dedup_threshold,
    horizon_days=settings.dedup_horizon_days,
)


@docs_table.on_recover
async def rebuild_index() -> None:
    """After every recovery (start, rebalance, failover), derive the index from the docs.

    Faust awaits this before it resumes the streams, so no decision sees a partial index.
    """
    started = time.perf_counter()
    for m in (hashes_map, buckets_map):
        if isinstance(m, dedup.JsonRocksMapping):
            m.reset()
        else:
            m.clear()
    deduplicator.restart_sweep()
    done = 0
    for count in deduplicator.reindex(time.time()):
        done = count
        await asyncio.sleep(0)  # keep heartbeats and the web server answering
    log.info("dedup index rebuilt",
             extra={"documents": done, "seconds": round(time.perf_counter() - started, 2)})


def decide_value(article: dict[str, Any], source_offset: dict[str, Any] | None,
                 prepared: dedup.Prepared, seen_at: float) -> dict[str, Any]:
    """The decide topic's value: the article, where it entered, its fingerprint and the time
    it entered the pipeline (carried, so every redelivery decides with the same time)."""
    return {"article": article, "source_offset": source_offset, "prep": prepared.to_dict(),
            "seen_at": seen_at}


@app.agent(valid_topic, concurrency=1)
async def dedup_prepare(stream: Any) -> None:
    """Fingerprint what earlier versions left on ``articles.valid`` and route it to the decide
    partition (the validate agent does this itself for ``articles``)."""
    await handle_then_ack(stream, STAGE, _prepare_one)


async def _prepare_one(event: Any) -> list[Delivery]:
    value = event.value
    try:
        article = Article.from_dict(value["article"])
        prepared = dedup.prepare(article)
    except Exception as exc:
        return [await dead_letter_event(event, STAGE, "bad_internal_message", exc)]
    try:
        seen_at = float(event.message.timestamp or time.time())
        return [await send(decide_topic, article.id.encode("utf-8"),
                           decide_value(value["article"], value.get("source_offset"), prepared,
                                        seen_at))]
    except Exception as exc:
        return [await dead_letter_event(event, STAGE, failure_reason(exc), exc)]


@app.agent(decide_topic, concurrency=1)
async def dedup_decide(stream: Any) -> None:
    """The stateful decision; see the module docstring."""
    await handle_then_ack(stream, STAGE, _decide_one)


async def _decide_one(event: Any) -> list[Delivery]:
    value = event.value
    if event.key == SWEEP_KEY:
        _sweep()
        return []
    try:
        article = Article.from_dict(value["article"])
        prepared = dedup.Prepared.from_dict(value["prep"])
        decision = deduplicator.decide(article, float(value["seen_at"]), prepared)
    except Exception as exc:
        log.exception("dedup decision failed")
        return [await dead_letter_event(event, STAGE, "dedup_error", exc)]
    metrics.DEDUP_DECISIONS.labels(decision.info.kind).inc()
    deliveries: list[Delivery] = []
    try:
        if decision.emit:
            deliveries.append(await send(unique_topic, article.id.encode("utf-8"), {
                "article": value["article"],
                "dedup": decision.info.to_dict(),
                "source_offset": value.get("source_offset"),
            }))
        if decision.counts is not None:
            # keyed by the original's id onto articles.unique: behind the original on its
            # partition, so the enrich stage writes it after the original's document
            c = decision.counts
            deliveries.append(await send(
                unique_topic, c.id.encode("utf-8"),
                {**documents.counts_message(c.id, c.duplicate_count, c.duplicate_sources,
                                            article),
                 "source_offset": value.get("source_offset")},
            ))
    except Exception as exc:
        # the decision is stored: a replay of this letter is a ``replay`` and is emitted again
        deliveries.append(await dead_letter_event(event, STAGE, failure_reason(exc), exc))
    return deliveries


def _sweep() -> None:
    try:
        removed = deduplicator.sweep(time.time(), SWEEP_BUDGET)
    except Exception:  # a store closed by a rebalance: start the next pass afresh
        log.warning("dedup sweep interrupted", exc_info=True)
        deduplicator.restart_sweep()
        return
    if removed:
        log.info("dedup expired documents", extra={"removed": removed})


@app.timer(interval=SWEEP_INTERVAL, on_leader=True)
async def dedup_sweep_tick() -> None:
    """Ask the decide agent (the tables' only writer) to expire old entries."""
    await decide_topic.send(key=SWEEP_KEY, value={"sweep": time.time()})
