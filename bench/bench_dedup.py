"""Benchmark of the dedup stage alone: articles/s per partition and state bytes per article.

One partition = one thread running :func:`streams.dedup.prepare` + ``Deduplicator.decide``
over a store like a worker's: rocksdict (RocksDB) with JSON-encoded values, as a Faust table
with ``rocksdb://`` keeps them. ``--kafka`` also drains a backlog through the real decide
agent and through a bare Faust agent on the same machine, to show what the transport costs.
The corpus is synthetic news-length text (485 words average) with a realistic mix: ~1/3
reprints (exact copies, tracking-parameter variants, edited near duplicates), some revisions, the rest unique.

    .venv/bin/python bench/bench_dedup.py [--articles 20000] [--store rocksdb|memory] [--kafka]
    .venv/bin/python bench/bench_dedup.py --stages [--baseline DIR] [--rounds 3] [--articles 3000]

``--stages`` publishes raw articles (the pipeline benchmark's generated news) and lets a worker
with the validate and dedup agents only carry them onto ``articles.unique``: the worker's and
the Kafka broker's CPU per article, what those stages cost before NER. With ``--baseline DIR``
(a checkout of other code, e.g. ``git worktree add /tmp/before <commit>``) the rounds alternate
between DIR and this tree on the same articles and print their ratios.

Prints ratios measured in this one run (no timings are asserted anywhere).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from streams import dedup
from streams.devservices.base import free_port
from streams.ingest.urls import article_id, canonicalize
from streams.model import Article


def corpus(n: int, seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
        for _ in range(20000)
    ]
    originals: list[Article] = []
    out: list[Article] = []

    def make(url: str, words: list[str], title: str, source: str) -> Article:
        c = canonicalize(url)
        return Article(
            id=article_id(c), url=url, canonical_url=c, title=title,
            body=" ".join(words), source=source,
        )

    for i in range(n):
        r = rng.random()
        if originals and r < 0.12:  # exact copy elsewhere (wire/syndication)
            o = rng.choice(originals)
            out.append(make(f"https://synd{i % 50}.example/{i}", o.body.split(),  # type: ignore[union-attr]
                            "UPDATE 1-" + (o.title or ""), f"synd{i % 50}"))
        elif originals and r < 0.18:  # tracking-parameter variant
            o = rng.choice(originals)
            out.append(make(f"{o.url}?utm_source=s{i}", o.body.split(), o.title or "", "social"))  # type: ignore[union-attr]
        elif originals and r < 0.33:  # edited reprint
            o = rng.choice(originals)
            w = o.body.split()  # type: ignore[union-attr]
            for _ in range(3):
                w[rng.randrange(len(w))] = rng.choice(vocab)
            out.append(make(f"https://reprint{i % 30}.example/{i}", w, o.title or "", "reprint"))
        elif originals and r < 0.36:  # revision
            o = rng.choice(originals)
            w = o.body.split() + [rng.choice(vocab) for _ in range(20)]  # type: ignore[union-attr]
            out.append(make(o.url or "", w, o.title or "", o.source or ""))
        else:
            words = [rng.choice(vocab) for _ in range(max(50, int(rng.gauss(485, 150))))]
            url = f"https://news{i % 200}.example/story/{i}"
            a = make(url, words, f"Title {i}", f"news{i % 200}")
            originals.append(a)
            out.append(a)
    return out


def private_env(partitions: str | None = None, **extra: str) -> dict[str, str]:
    """A private namespace (topics, app id, web port) in os.environ and the returned env."""
    import uuid

    tag = "bench" + uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "NEWSSTREAM_TOPIC_ARTICLES": f"{tag}.articles",
        "NEWSSTREAM_TOPIC_PREFIX": f"{tag}.articles",
        "NEWSSTREAM_TOPIC_DLQ": f"{tag}.articles.dlq",
        "NEWSSTREAM_APP_ID": f"newsstream-{tag}",
        "NEWSSTREAM_LOG_FORMAT": "text",
        "NEWSSTREAM_WEB_PORT": str(free_port()),
        **({"NEWSSTREAM_PARTITIONS": partitions} if partitions else {}),
        **extra,
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("NEWSSTREAM_")})
    return env


def drain(code: Path, env: dict[str, str], args: list[str], topics: list[str], n: int,
          counters: Callable[[int], tuple[float, ...]]) -> tuple[float, tuple[float, ...]]:
    """Run the dedup harness of ``code`` until ``n`` records reached ``topics``: (records/s,
    the growth of ``counters(worker pid)`` per record), both from the first output to the last."""
    import sys

    from streams import kafka_io, procs, settings

    consumer = kafka_io.consumer(settings.load(), *topics)
    tmp = tempfile.mkdtemp(prefix="bench-dedup-kafka-")
    env = {**env, "NEWSSTREAM_DATA_DIR": tmp}
    proc = procs.spawn([sys.executable, "-m", "tests.integration.dedup.dedup_harness", *args,
                        "worker"], Path(tmp) / "worker.log", cwd=code, env=env)
    seen = 0
    first = last = 0.0
    c0: tuple[float, ...] = ()
    c1: tuple[float, ...] = ()
    deadline = time.monotonic() + 600
    try:
        while seen < n and time.monotonic() < deadline and proc.poll() is None:
            for records in consumer.poll(timeout_ms=500, max_records=10000).values():
                if records and not first:
                    first, c0 = time.monotonic(), counters(proc.pid)
                seen += len(records)
                last, c1 = time.monotonic(), counters(proc.pid)
    finally:
        procs.stop_process(proc, timeout=60)
        consumer.close()
        if seen < n:
            print(Path(f"{tmp}/worker.log").read_text(errors="replace")[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if seen < n:
        raise SystemExit(f"{code} {' '.join(args)}: only {seen}/{n} outputs")
    m = max(1, seen - 1)
    rate = m / (last - first) if last > first else 0.0
    return rate, tuple((b - a) / m for a, b in zip(c0, c1, strict=True))


def kafka_run(n: int, mode: str) -> float:
    """Articles/s of one worker draining a backlog of ``n`` prepared articles on the decide
    topic (first output to last), in a private namespace on the Kafka from the settings.
    ``mode`` = "dedup" (the real decide agent, RocksDB tables) or "passthrough" (a bare agent).
    """
    from streams import kafka_io, procs, settings

    env = private_env("1")
    s = settings.load()
    kafka_io.ensure_topics(s, [*s.pipeline_topics(), s.topic("dedup")])
    producer = kafka_io.producer(s)
    for i, a in enumerate(corpus(n, seed=3)):
        value = {"article": a.to_dict(), "source_offset": {"topic": "bench", "partition": 0,
                 "offset": i}, "prep": dedup.prepare(a).to_dict(), "seen_at": 1.8e9 + i}
        producer.send(s.topic("dedup"), key=a.id.encode(), value=json.dumps(value).encode())
    producer.flush()
    producer.close()
    rate, (cpu,) = drain(Path(__file__).resolve().parents[1], env,
                         ["passthrough"] if mode == "passthrough" else [],
                         [s.topic("unique"), s.topic("enriched")], n,
                         lambda pid: (procs.cpu_seconds(pid),))
    CPU_PER_ARTICLE[mode] = cpu
    return rate


CPU_PER_ARTICLE: dict[str, float] = {}  # mode -> worker CPU seconds per article


def kafka_bench(n: int) -> None:

    bare = kafka_run(n, "passthrough")
    real = kafka_run(n, "dedup")
    print(f"through Kafka + Faust, one worker draining {n} articles from the one decide "
          f"partition (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    print(f"  bare Faust pass-through agent (no table, no logic): {bare:,.0f} articles/s")
    print(f"  dedup decide agent (RocksDB docs table + changelog): {real:,.0f} articles/s "
          f"= {real / bare:.2f}x the bare agent, "
          f"{real / 2000:.2f}x 2,000/s")
    for mode, label in (("passthrough", "bare agent"), ("dedup", "decide agent")):
        cpu = CPU_PER_ARTICLE.get(mode, 0.0)
        if cpu > 0:
            print(f"  {label}: {1000 * cpu:.2f} ms of worker CPU per article = at most "
                  f"{1 / cpu:,.0f} articles/s on one core (CPU time: little affected by other load) "
                  f"({86400 / cpu / 1e6:.1f}M articles/day)")


def stages_run(code: Path, n: int) -> tuple[float, float, float]:
    """(articles/s, worker CPU ms per article, broker CPU ms per article) of a worker running
    ``code``'s validate and dedup agents over ``n`` raw articles, first output to last."""
    import corpus as news
    import psutil

    from streams import kafka_io, procs, settings

    env = private_env(PYTHONPATH=str(code))
    s = settings.load()
    broker = procs.read_pid(Path(s.services_dir).expanduser() / "kafka" / "kafka.pid")
    if broker is None:
        raise SystemExit("--stages measures the local Kafka of `newsstream services up`")
    kafka_io.ensure_topics(s, s.pipeline_topics())
    producer = kafka_io.producer(s)
    for rec in news.Generator(seed=11).records(0, n):
        a = news.parse(rec)
        producer.send(s.topic_articles, key=(a.canonical_url or a.id).encode(),
                      value=news.encode(rec))
    producer.flush()
    producer.close()

    def counters(pid: int) -> tuple[float, float]:
        t = psutil.Process(broker).cpu_times()
        return procs.cpu_seconds(pid), t.user + t.system

    rate, (worker, kafka) = drain(code, env, [], [s.topic("unique")], n, counters)
    return rate, 1000 * worker, 1000 * kafka


def stages_bench(n: int, rounds: int, baseline: Path | None) -> None:
    here = Path(__file__).resolve().parents[1]
    print(f"validate + dedup through Kafka: {n} raw generated articles per run, one worker, "
          f"{os.environ.get('NEWSSTREAM_PARTITIONS', 'default')} partitions of articles")
    ratios: list[tuple[float, float, float]] = []
    for r in range(1, rounds + 1):
        new = stages_run(here, n)
        line = (f"  round {r}: this tree {new[0]:,.0f} articles/s, worker {new[1]:.2f} ms, "
                f"broker {new[2]:.2f} ms of CPU per article")
        if baseline is not None:
            old = stages_run(baseline, n)
            ratios.append((new[0] / old[0], new[1] / old[1], new[2] / old[2]))
            line += (f"; baseline {old[0]:,.0f} articles/s, worker {old[1]:.2f} ms, broker "
                     f"{old[2]:.2f} ms; ratios (this / baseline) rate {ratios[-1][0]:.2f}, "
                     f"worker CPU {ratios[-1][1]:.2f}, broker CPU {ratios[-1][2]:.2f}")
        print(line, flush=True)
    if ratios:
        med = [sorted(x)[len(x) // 2] for x in zip(*ratios, strict=True)]
        print(f"  median over {len(ratios)} rounds (this / baseline): rate {med[0]:.2f}, "
              f"worker CPU per article {med[1]:.2f}, broker CPU per article {med[2]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=None,
                    help="articles per run (20000; 3000 with --stages)")
    ap.add_argument("--store", choices=["rocksdb", "memory"], default="rocksdb")
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--kafka", action="store_true",
                    help="also time the decide partition through the real Kafka and Faust")
    ap.add_argument("--stages", action="store_true",
                    help="worker and broker CPU per article of the validate and dedup agents "
                         "through the real Kafka, from raw articles")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="with --stages: a checkout of other code, measured in alternate rounds")
    ap.add_argument("--rounds", type=int, default=3, help="with --stages: rounds per tree")
    args = ap.parse_args()
    if args.stages:
        stages_bench(min(args.articles or 3000, 20000), args.rounds, args.baseline)
        return
    args.articles = args.articles or 20000
    if args.kafka:
        kafka_bench(min(args.articles, 20000))
        return

    arts = corpus(args.articles)
    tmp = tempfile.mkdtemp(prefix="bench-dedup-")
    try:
        if args.store == "rocksdb":
            maps = [dedup.JsonRocksMapping(f"{tmp}/{n}") for n in ("docs", "hashes", "buckets")]
            state = dedup.MappingState(*maps)
        else:
            state = dedup.InMemoryState()
        dd = dedup.Deduplicator(state, threshold=args.threshold)
        kinds: Counter[str] = Counter()

        t0 = time.perf_counter()
        prepared = [dedup.prepare(a) for a in arts]
        t_prep = time.perf_counter() - t0

        now = 1_800_000_000.0
        t0 = time.perf_counter()
        for i, (a, p) in enumerate(zip(arts, prepared, strict=True)):
            kinds[dd.decide(a, now + i * 0.01, prepared=p).info.kind] += 1
        t_decide = time.perf_counter() - t0

        sizes = dedup.state_bytes(state)
        live = len(state.docs)
        n = len(arts)
        per_s = n / (t_prep + t_decide)
        print(f"dedup bench: {n} articles, store={args.store}, threshold={args.threshold}, "
              f"LSH bands x rows = {dd.bands} x {dd.rows}")
        print(f"  decisions: {dict(kinds)}")
        print(f"  prepare (normalize + xxhash + MinHash): {n / t_prep:,.0f} articles/s")
        print(f"  decide (state lookups + writes):        {n / t_decide:,.0f} articles/s")
        print(f"  whole stage, one partition:             {per_s:,.0f} articles/s "
              f"= {per_s / 2000:.1f}x the 2,000/s target")
        print(f"  state: {sizes['total']:,} bytes for {live} stored documents "
              f"= {sizes['total'] / live:,.0f} bytes per stored article: "
              f"{sizes['docs'] / live:.0f} in the changelogged docs table + "
              f"{(sizes['hashes'] + sizes['buckets']) / live:.0f} in the derived local index "
              f"(hashes + LSH buckets); {sizes['total'] / n:,.0f} bytes per input article")
        if args.store == "rocksdb":
            for m in maps:
                m.db.flush()
            disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
            print(f"  RocksDB on disk (uncompacted): {disk / live:,.0f} bytes per article")
        t0 = time.perf_counter()
        removed = 0
        while True:
            r = dd.sweep(now + 31 * 86400, budget=5000)
            removed += r
            if r == 0 and dd._sweep_iter is None:
                break
        print(f"  expiry sweep after the horizon: removed {removed} docs at "
              f"{removed / (time.perf_counter() - t0):,.0f} docs/s; "
              f"state left: {dedup.state_bytes(state)['total']} bytes")
    finally:
        if args.store == "rocksdb":
            for m in maps:
                m.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
