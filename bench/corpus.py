"""Benchmark articles generated from the bundled English samples, none a duplicate of another.

Why generated: the pipeline drops exact duplicates before NER and the samples hold only 161
English articles, so copies with new URLs would never reach the NER pool. Each generated article
draws its paragraphs from several different sample articles (in random order), shuffles the
sentences inside each paragraph, and re-draws every number, under a new URL. Two generated
articles then share almost no word 5-shingles, which :func:`dedup_check` verifies with the
pipeline's own deduplicator before anything is published.

Article ``i`` depends only on ``(seed, i)``, so every phase of a run can ask for fresh ones.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from streams.dedup.deduplicator import Deduplicator
from streams.enrich.enricher import article_fields
from streams.ingest import contract
from streams.model import Article
from streams.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "examples" / "articles.jsonl"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"(?<=[.!?\"”])\s+(?=[A-Z\"“])")

DESCRIPTION = (
    "generated from the English articles of examples/articles.jsonl: each one takes its "
    "paragraphs from several different sample articles in random order, shuffles the sentences "
    "inside each paragraph, re-draws every number and gets a new URL, so no two are exact or near "
    "duplicates (checked with the pipeline's own Deduplicator before publishing)"
)


def _renumber(text: str, rng: random.Random) -> str:
    def one(m: re.Match[str]) -> str:
        digits = sum(c.isdigit() for c in m.group())
        return str(rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1))

    return _NUMBER.sub(one, text)


class Generator:
    """``gen.record(i)``: the i-th benchmark article as an input-contract record (a dict)."""

    def __init__(self, seed: int = 7, words: int = 450, samples: Path = SAMPLES) -> None:
        rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines() if line]
        self.sources = [
            r for r in rows
            if (r.get("language") or "").lower().startswith("en") and r.get("title") and r.get("body")
        ]
        if len(self.sources) < 10:
            raise SystemExit(f"error: too few English articles in {samples}")
        self.paragraphs = [
            [p.strip() for p in r["body"].split("\n\n") if p.strip()] for r in self.sources
        ]
        self.seed = seed
        self.words = words

    def record(self, i: int) -> dict[str, Any]:
        rng = random.Random(self.seed * 1_000_003 + i)
        head = rng.randrange(len(self.sources))
        src = self.sources[head]
        order = [head, *rng.sample(range(len(self.sources)), min(12, len(self.sources)))]
        paragraphs: list[str] = []
        count = 0
        for k in order:
            picks = self.paragraphs[k]
            for para in rng.sample(picks, min(len(picks), rng.randint(1, 3))):
                sentences = _SENTENCE.split(para)
                rng.shuffle(sentences)
                text = _renumber(" ".join(sentences), rng)
                paragraphs.append(text)
                count += len(text.split())
            if count >= self.words:
                break
        body = "\n\n".join(paragraphs)
        rec: dict[str, Any] = {
            "url": f"https://bench.example/{self.seed}/{i}/{rng.getrandbits(32):08x}",
            "title": _renumber(src["title"], rng),
            "body": body,
            "published_at": src.get("published_at") or "2025-03-03T12:00:00Z",
            "source": src.get("source") or "Bench Wire",
            "language": "en",
            "authors": list(src.get("authors") or []),
            "tags": list(src.get("tags") or []),
        }
        if src.get("summary"):
            rec["summary"] = _SENTENCE.split(paragraphs[0])[0]
        return rec

    def records(self, start: int, n: int) -> list[dict[str, Any]]:
        return [self.record(i) for i in range(start, start + n)]


def read_file(path: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` records of a JSON Lines file of input-contract records (used as they are)."""
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


def encode(rec: dict[str, Any]) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode()


def parse(rec: dict[str, Any]) -> Article:
    """The Article the worker's validate stage makes of this record (same code)."""
    return contract.parse_article(encode(rec), 1 << 30)


def ner_texts(records: Iterable[dict[str, Any]]) -> list[str]:
    """Every text the enrich stage runs NER on (title, summary, body, title translations)."""
    return [text for rec in records for _, text, _ in article_fields(parse(rec))]


def dedup_check(records: Sequence[dict[str, Any]], threshold: float = 0.7) -> Counter[str]:
    """Decision kinds of the pipeline's deduplicator over ``records`` in order (want all 'new')."""
    d = Deduplicator(threshold=threshold)
    now = time.time()
    kinds: Counter[str] = Counter()
    for rec in records:
        decision = d.decide(parse(rec), now)
        kinds[decision.info.kind if decision.emit else "exact"] += 1
    return kinds
