"""Pick the bulk defaults by measurement: docs/s of BulkSink for several batch sizes.

Runs against the real Elasticsearch of the current settings (``newsstream services up``), with
the real index template, through the same code path as the index agent (rollover-safe target
lookup included). Each size writes the same set of news-sized documents (about 3 KB of body
text plus entities, like the field notes' 485-word average) into a fresh alias, so every run
creates documents rather than updating them. Prints docs/s, MB/s and the ratio to the best.

    .venv/bin/python bench/bench_bulk.py [--docs 6000] [--sizes 50,100,250,500,1000,2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.index import documents, es_client
from streams.index import schema as setup
from streams.index.sink import BulkSink, PendingDoc, pending_doc
from streams.model import Article, DedupInfo, Entity, Language
from streams.settings import Settings, load

WORDS = [
    "harbour",
    "council",
    "ferry",
    "timetable",
    "winter",
    "vote",
    "budget",
    "mayor",
    "station",
    "railway",
    "bridge",
    "river",
    "storm",
    "weather",
    "school",
    "teachers",
    "hospital",
    "nurses",
    "market",
    "prices",
    "farmers",
    "harvest",
    "festival",
    "museum",
    "library",
    "airport",
    "runway",
    "police",
    "court",
    "judge",
    "minister",
    "parliament",
    "election",
    "poll",
    "company",
    "shares",
    "profit",
    "workers",
    "strike",
    "union",
    "energy",
    "wind",
    "solar",
    "grid",
    "water",
    "drought",
    "coast",
]


@dataclass(frozen=True)
class _Enrichment:
    languages: dict[str, Language] = field(
        default_factory=lambda: {"title": Language("en", 0.98), "body": Language("en", 0.97)}
    )
    entities: tuple[Entity, ...] = ()
    ner_status: str = "ok"
    persons: Sequence[str] = ()
    organizations: Sequence[str] = ()
    locations: Sequence[str] = ()


def make_messages(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        body = " ".join(rng.choice(WORDS) for _ in range(480)).capitalize() + "."
        ents = tuple(
            Entity(
                w.title(),
                rng.choice(["PERSON", "ORG", "LOCATION"]),
                0,
                len(w),
                "body",
                w.title(),
                "en",
            )
            for w in rng.sample(WORDS, 8)
        )
        art = Article(
            id=f"bench-{i:07d}",
            url=f"https://bench.example/{i}",
            canonical_url=f"https://bench.example/{i}",
            title=" ".join(rng.choice(WORDS) for _ in range(9)).capitalize(),
            body=body,
            published_at="2026-11-20T10:00:00Z",
            source=f"source{i % 40}.example",
            authors=("A. Writer",),
        )
        dedup = DedupInfo(kind="new", content_hash=f"h{i}", story_id=f"s{i}")
        doc = documents.build_document(art, dedup, _Enrichment(entities=ents), "2026-11-20T10:00:02Z")
        out.append(documents.document_message(doc))
    return out


async def run_size(s: Settings, msgs: list[dict[str, Any]], size: int, rollover: bool) -> tuple[float, float]:
    """(seconds to write ``msgs`` in batches of ``size`` into a fresh alias, seconds of lookup)."""
    alias = f"bench-{uuid.uuid4().hex[:8]}"
    s2 = s.replace(es_alias=alias)
    setup.setup_elasticsearch(s2)
    es = es_client.make_client(s2)
    if rollover:  # two backing indices: every batch pays the rollover-safe lookup
        es.indices.rollover(alias=alias)
    client = es_client.make_async_client(s2)

    async def no_dlq(d: PendingDoc, reason: str, error: str) -> None:
        raise AssertionError(f"unexpected rejection: {error}")

    sink = BulkSink.from_settings(client, s2, no_dlq, max_docs=size, max_bytes=100 * 1024 * 1024)
    lookup = 0.0
    resolve = sink.resolver.resolve

    async def timed_resolve(ids: Any) -> Any:
        nonlocal lookup
        t0 = time.perf_counter()
        try:
            return await resolve(ids)
        finally:
            lookup += time.perf_counter() - t0

    sink.resolver.resolve = timed_resolve  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        offset = 0
        for i in range(0, len(msgs), size):
            batch = []
            for m in msgs[i : i + size]:
                batch.append(pending_doc(("bench", 0), offset, m, b""))
                offset += 1
            await sink.write(batch)
        es.indices.refresh(index=f"{alias}-*")
        elapsed = time.perf_counter() - started
        count = es.count(index=f"{alias}-*")["count"]
        assert count == len(msgs), count
        return elapsed, lookup
    finally:
        await client.close()
        es.indices.delete(index=",".join(es.indices.get(index=f"{alias}-*")))
        es.indices.delete_index_template(name=alias)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1500, help="documents per trial")
    ap.add_argument("--sizes", default="50,100,250,500,1000")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median is shown)")
    ap.add_argument("--rollover-size", type=int, default=500, help="batch size of the lookup rows")
    args = ap.parse_args()
    s = load()
    msgs = make_messages(args.docs)
    nbytes = sum(len(json.dumps(m["doc"])) for m in msgs)
    print(
        f"{args.docs} documents/trial, {nbytes / args.docs / 1024:.1f} KB average, "
        f"{args.rounds} interleaved rounds, ES {s.es_url}"
    )
    asyncio.run(run_size(s, msgs[:300], 100, False))  # warm-up (JIT, analyzers, caches)
    trials: list[tuple[str, int, bool]] = [
        (f"{n}", n, False) for n in (int(x) for x in args.sizes.split(","))
    ]
    trials.append((f"{args.rollover_size}, 2 indices", args.rollover_size, True))
    results: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in trials}
    for r in range(args.rounds):
        order = trials if r % 2 == 0 else list(reversed(trials))  # spread drift over sizes
        for label, size, roll in order:
            results[label].append(asyncio.run(run_size(s, msgs, size, roll)))
    rates = {label: statistics.median(args.docs / t for t, _ in res) for label, res in results.items()}
    best = max(rates.values())
    print(f"{'batch':>16s} {'docs/s':>8s} {'MB/s':>6s} {'vs best':>8s} {'lookup share':>13s}")
    for label, _, _ in trials:
        res = results[label]
        share = statistics.median(lk / t for t, lk in res)
        mbs = rates[label] * nbytes / args.docs / 1e6
        print(f"{label:>16s} {rates[label]:8.0f} {mbs:6.2f} {rates[label] / best:8.2f} {share:13.1%}")


if __name__ == "__main__":
    main()
