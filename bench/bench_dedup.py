"""Benchmark of the dedup stage alone: articles/s per partition and state bytes per article.

One partition = one thread running :func:`streams.dedup.prepare` + ``Deduplicator.decide``
over a store like a worker's: rocksdict (RocksDB) with JSON-encoded values, as a Faust table
with ``rocksdb://`` keeps them. The corpus is synthetic news-length text (485 words average,
the size FIELD-NOTES measured NER on) with a realistic mix: ~1/3 reprints (exact copies,
tracking-parameter variants, edited near duplicates), some revisions, the rest unique.

    .venv/bin/python bench/bench_dedup.py [--articles 20000] [--store rocksdb|memory]

Prints ratios measured in this one run (no timings are asserted anywhere).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from streams import dedup
from streams.model import Article
from streams.urls import article_id, canonicalize

NER_DOCS_PER_S = 40.7  # FIELD-NOTES: spaCy NER, 2 processes, this machine


class JsonRdict(MutableMapping[str, Any]):
    """rocksdict with JSON values: the encode/decode and disk cost a Faust rocksdb table pays."""

    def __init__(self, path: str) -> None:
        from rocksdict import Rdict

        self.db = Rdict(path)

    def __getitem__(self, k: str) -> Any:
        raw = self.db.get(k.encode())
        if raw is None:
            raise KeyError(k)
        return json.loads(raw)

    def get(self, k: str, default: Any = None) -> Any:
        raw = self.db.get(k.encode())
        return default if raw is None else json.loads(raw)

    def __contains__(self, k: object) -> bool:
        return isinstance(k, str) and self.db.get(k.encode()) is not None

    def __setitem__(self, k: str, v: Any) -> None:
        self.db[k.encode()] = json.dumps(v, separators=(",", ":")).encode()

    def __delitem__(self, k: str) -> None:
        del self.db[k.encode()]

    def __iter__(self) -> Iterator[str]:
        for k in self.db.keys():  # noqa: SIM118 (rocksdict's key iterator)
            yield k.decode()

    def __len__(self) -> int:
        return sum(1 for _ in self.db.keys())  # noqa: SIM118

    def close(self) -> None:
        self.db.close()


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20000)
    ap.add_argument("--store", choices=["rocksdb", "memory"], default="rocksdb")
    ap.add_argument("--threshold", type=float, default=0.7)
    args = ap.parse_args()

    arts = corpus(args.articles)
    tmp = tempfile.mkdtemp(prefix="bench-dedup-")
    try:
        if args.store == "rocksdb":
            maps = [JsonRdict(f"{tmp}/{n}") for n in ("docs", "hashes", "buckets")]
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
              f"= {per_s / 2000:.1f}x the 2,000/s target, {per_s / NER_DOCS_PER_S:.0f}x NER")
        print(f"  state: {sizes['total']:,} bytes for {live} documents "
              f"= {sizes['total'] / live:,.0f} bytes per stored article "
              f"(docs {sizes['docs'] / live:.0f}, hashes {sizes['hashes'] / live:.0f}, "
              f"buckets {sizes['buckets'] / live:.0f}); "
              f"{sizes['total'] / n:,.0f} bytes per input article")
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
