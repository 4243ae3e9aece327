"""The enrich stage: language per field + named entities for a batch of articles.

One composition for every transport: the Faust enrich agent awaits :class:`EnrichPool`, and
``newsstream enrich`` (offline, no Kafka or Elasticsearch) runs the same pool over a JSON Lines
file, after the same validation and dedup code, and writes the documents as they would end up
in the index. :func:`enrich_sync` is the in-process form of the same thing for tests and tools.

Fields analysed, each in its own language: ``title``, ``summary``, ``body`` and every
``title_translations.<lang>`` (whose key chooses the NER model). Entity offsets are into the
field named by ``Entity.field``, so ``article.<field>[start:end] == entity.text`` always.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from streams.entities import NerConfig, facets
from streams.model import Article, Entity, Language
from streams.nlp import (
    STATUS_EMPTY,
    STATUS_OK,
    Analyzer,
    Job,
    NlpPool,
    Outcome,
    declared_code,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrichResult:
    """What enrichment adds to one article.

    ``ner_status`` is one keyword for the document (``ok``, or the first problem: the body's
    before the other fields', e.g. ``no_model:de``); ``field_status`` has it per field.
    """

    languages: dict[str, Language]
    entities: list[Entity]
    ner_status: str
    field_status: dict[str, str] = field(default_factory=dict)
    persons: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "languages": {k: v.to_dict() for k, v in self.languages.items()},
            "entities": [e.to_dict() for e in self.entities],
            "ner_status": self.ner_status,
            "field_status": dict(self.field_status),
            "persons": list(self.persons),
            "organizations": list(self.organizations),
            "locations": list(self.locations),
        }


def article_fields(article: Article) -> list[tuple[str, str, str | None]]:
    """(field name, text, declared language) of every field that is analysed."""
    out: list[tuple[str, str, str | None]] = []
    for name in ("title", "summary", "body"):
        text = getattr(article, name)
        if text:
            out.append((name, text, None))
    for lang, text in sorted(article.title_translations.items()):
        if text:
            out.append((f"title_translations.{lang}", text, lang))
    return out


def summarize_status(status: dict[str, str]) -> str:
    """One keyword for the document: ``ok`` unless a field with text could not be analysed."""
    order = ["body", "title", "summary", *sorted(k for k in status if k.startswith("title_"))]
    problems = [status[k] for k in order if k in status and status[k] not in (STATUS_OK,)]
    problems = [p for p in problems if p != STATUS_EMPTY]
    if problems:
        return problems[0]
    if any(v == STATUS_OK for v in status.values()):
        return STATUS_OK
    return STATUS_EMPTY


def assemble(
    fields: Sequence[tuple[str, str, str | None]], outcomes: Sequence[Outcome]
) -> EnrichResult:
    """Turn worker outcomes (plain tuples) into an :class:`EnrichResult`."""
    languages: dict[str, Language] = {}
    status: dict[str, str] = {}
    entities: list[Entity] = []
    for (name, text, declared), (code, conf, st, raw) in zip(fields, outcomes, strict=True):
        languages[name] = Language(code, conf)
        status[name] = st
        lang = declared_code(declared) or code
        for label, start, end, normalized in raw:
            entities.append(
                Entity(
                    text=text[start:end],
                    label=label,
                    start=start,
                    end=end,
                    field=name,
                    normalized=normalized,
                    language=lang,
                )
            )

    return EnrichResult(
        languages=languages,
        entities=entities,
        ner_status=summarize_status(status),
        field_status=status,
        **facets(entities),
    )


def _jobs(articles: Sequence[Article]) -> tuple[list[list[tuple[str, str, str | None]]], list[Job]]:
    per_article = [article_fields(a) for a in articles]
    jobs: list[Job] = [(text, declared) for fs in per_article for _, text, declared in fs]
    return per_article, jobs


def _split(
    per_article: list[list[tuple[str, str, str | None]]], outcomes: list[Outcome]
) -> list[EnrichResult]:
    results: list[EnrichResult] = []
    pos = 0
    for fs in per_article:
        results.append(assemble(fs, outcomes[pos : pos + len(fs)]))
        pos += len(fs)
    return results


_ANALYZERS: dict[str, Analyzer] = {}


def analyzer_for(config: NerConfig) -> Analyzer:
    """An in-process :class:`Analyzer`, loaded once per configuration."""
    key = repr(config)
    if key not in _ANALYZERS:
        config.check()
        _ANALYZERS[key] = Analyzer(config)
    return _ANALYZERS[key]


def enrich_sync(articles: list[Article], settings: Any) -> list[EnrichResult]:
    """Enrich in this process (blocking; loads the models on first use)."""
    per_article, jobs = _jobs(articles)
    return _split(per_article, analyzer_for(NerConfig.from_settings(settings)).analyze(jobs))


class EnrichPool:
    """``async with EnrichPool(settings) as pool: results = await pool.enrich(articles)``.

    NER runs in ``settings.nlp_processes`` spawned worker processes, language identification in
    one more; the event loop only awaits. With ``wait=False`` entering returns before the models
    are loaded (the first :meth:`enrich` waits for them), so a worker starts consuming at once.
    """

    def __init__(self, settings: Any, processes: int | None = None, wait: bool = True) -> None:
        self.config = NerConfig.from_settings(settings)
        self.pool = NlpPool(self.config, processes or settings.nlp_processes)
        self.wait = wait

    @property
    def pids(self) -> list[int]:
        """The NER processes' pids (known once their models are loaded)."""
        return list(self.pool.pids)

    @property
    def langid_pid(self) -> int | None:
        """The language process's pid (known once its models are loaded)."""
        return self.pool.langid_pid

    async def enrich(self, articles: Sequence[Article]) -> list[EnrichResult]:
        per_article, jobs = _jobs(articles)
        return _split(per_article, await self.pool.analyze(jobs))

    async def __aenter__(self) -> EnrichPool:
        await self.pool.start(wait=self.wait)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.pool.close()


# --- `newsstream enrich` --------------------------------------------------------------------------


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    from streams import contract, documents
    from streams.dedup import Deduplicator

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
            ingested_at = _now_rfc3339()
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
