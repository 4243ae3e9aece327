"""``newsstream enrich``: the pipeline offline, file to file (:mod:`streams.enrich.enricher`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

from streams.clock import rfc3339
from streams.enrich.enricher import EnrichPool
from streams.model import Article


def _command(args: argparse.Namespace) -> int:
    from streams import settings as settings_mod

    s = settings_mod.load()
    src = open(args.input, "rb") if args.input != "-" else sys.stdin.buffer  # noqa: SIM115
    dst = open(args.output, "w", encoding="utf-8") if args.output != "-" else sys.stdout  # noqa: SIM115
    try:
        stats = asyncio.run(
            enrich_file(
                src, dst, sys.stderr, s, args.processes or s.nlp_processes,
                progress=not args.quiet,
            )
        )
    finally:
        if src is not sys.stdin.buffer:
            src.close()
        if dst is not sys.stdout:
            dst.close()
    print(
        "enrich: {read} read, {invalid} invalid, {exact_duplicates} exact duplicates, "
        "{enriched} enriched, {written} documents written".format(**stats),
        file=sys.stderr,
    )
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "enrich",
        help="offline: validate, dedup and enrich article JSON Lines into index documents",
        description="Reads article JSON Lines (the input contract), writes one enriched document "
        "per line as it would be indexed. Invalid records are reported on stderr with their line "
        "number and skipped. No Kafka or Elasticsearch needed.",
    )
    p.add_argument("-i", "--input", default="-", help="input JSON Lines (default stdin)")
    p.add_argument("-o", "--output", default="-", help="output JSON Lines (default stdout)")
    p.add_argument(
        "-p", "--processes", type=int, default=0,
        help="NER worker processes (default NEWSSTREAM_NLP_PROCESSES)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_command)


def _read_lines(fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for lineno, raw in enumerate(fh, 1):
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield lineno, raw


async def enrich_file(
    src: IO[bytes], dst: IO[str], err: IO[str], settings: Any, processes: int, progress: bool
) -> dict[str, int]:
    """Validate, dedup (in file order) and enrich a JSON Lines file; write the final documents.

    The output is what the index would hold after the pipeline's messages were applied as
    partial upserts in order: one document per id (a revision replaces it), with the
    ``duplicate_count``/``duplicate_sources`` of exact copies merged into their original.
    """
    # Imported here: these modules belong to other stages and are only needed by the command.
    from streams.dedup.deduplicator import Deduplicator
    from streams.index import documents
    from streams.ingest import contract

    dedup = Deduplicator(
        threshold=settings.dedup_threshold, horizon_days=settings.dedup_horizon_days
    )
    final: dict[str, dict[str, Any]] = {}
    stats = {"read": 0, "invalid": 0, "exact_duplicates": 0, "enriched": 0}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(file=err, unit="art", desc="enrich")

    def apply(message: dict[str, Any]) -> None:
        final.setdefault(message["id"], {}).update(message["doc"])

    async with EnrichPool(settings, processes) as pool:
        batch: list[tuple[Article, Any]] = []

        async def flush() -> None:
            if not batch:
                return
            results = await pool.enrich([a for a, _ in batch])
            ingested_at = rfc3339()
            for (article, info), result in zip(batch, results, strict=True):
                doc = documents.build_document(article, info, result, ingested_at)
                apply(documents.document_message(doc))
            stats["enriched"] += len(batch)
            if bar is not None:
                bar.update(len(batch))
            batch.clear()

        for lineno, raw in _read_lines(src):
            stats["read"] += 1
            try:
                article = contract.parse_article(raw, settings.max_message_bytes)
            except contract.InvalidArticle as exc:
                stats["invalid"] += 1
                print(f"line {lineno}: invalid article: {exc}", file=err)
                if bar is not None:
                    bar.update(1)
                continue
            decision = dedup.decide(article, time.time())
            if decision.counts is not None:
                c = decision.counts
                # partial upserts commute: a count may land before its original's document
                apply(documents.counts_message(c.id, c.duplicate_count, c.duplicate_sources))
            if decision.emit:
                final.setdefault(article.id, {})  # output keeps the input's order
                batch.append((article, decision.info))
            else:
                stats["exact_duplicates"] += 1
                if bar is not None:
                    bar.update(1)
            if len(batch) >= settings.nlp_batch_size:
                await flush()
        await flush()
    if bar is not None:
        bar.close()
    for doc in final.values():
        dst.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
    stats["written"] = len(final)
    return stats
