"""``newsstream enrich``: the pipeline offline, file to file (:mod:`streams.enrich.enricher`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from streams.enrich.enricher import enrich_file


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
