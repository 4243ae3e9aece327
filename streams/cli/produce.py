"""``newsstream produce``: publish article files to Kafka (:mod:`streams.ingest.produce`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from streams import settings
from streams.ingest.produce import CHUNK, FORMATS, Options, Publisher, Summary, parse_mapping, run_files

log = logging.getLogger(__name__)


def _spool_stdin() -> str:
    tmp = tempfile.NamedTemporaryFile(prefix="newsstream-stdin-", delete=False)  # noqa: SIM115
    with tmp:
        shutil.copyfileobj(sys.stdin.buffer, tmp, CHUNK)
    return tmp.name


def cmd_produce(args: argparse.Namespace) -> int:
    s = settings.load()
    max_bytes = args.max_bytes or s.max_message_bytes
    try:
        opts = Options(fmt=args.format, mapping=parse_mapping(args.map),
                       delimiter="\t" if args.delimiter == "tab" else args.delimiter,
                       encoding=args.encoding, list_sep=args.list_sep,
                       max_errors=args.max_errors)
    except ValueError as e:
        print(f"produce: {e}", file=sys.stderr)
        return 2
    inputs: list[tuple[str, str]] = []
    spooled: list[str] = []
    for p in args.files:
        if p == "-":
            if args.skip_invalid or args.check:  # one pass only: stdin is read directly
                inputs.append(("<stdin>", "-"))
            else:  # validated first, then read again to publish
                spooled.append(_spool_stdin())
                inputs.append(("<stdin>", spooled[-1]))
        elif not Path(p).is_file():
            print(f"produce: {p}: no such file", file=sys.stderr)
            return 2
        else:
            inputs.append((p, p))
    started = time.monotonic()
    summary = Summary()
    topic = args.topic or s.topic_articles
    try:
        if args.check or not args.skip_invalid:
            run_files(inputs, opts, max_bytes, None, summary, args.progress, "checking")
            if args.check or summary.invalid:
                print(summary.line(time.monotonic() - started), file=sys.stderr)
                if summary.invalid and not args.check:
                    print("nothing published: fix the records above, or publish the valid "
                          "ones with --skip-invalid", file=sys.stderr)
                return 1 if summary.invalid else 0
            summary = Summary()
        from streams import kafka_io

        try:
            kafka_io.ensure_topics(s, [topic, s.topic_dlq])
        except Exception as exc:  # no admin rights is fine when the topics exist
            log.warning("could not check or create topics: %s", exc)
        producer = kafka_io.producer(s)
        publisher = Publisher(producer, topic, summary)
        try:
            run_files(inputs, opts, max_bytes, publisher, summary, args.progress, "publishing")
            publisher.flush()
        finally:
            producer.close(timeout=30)
        print(summary.line(time.monotonic() - started) + f" -> {topic}", file=sys.stderr)
        if publisher.first_error:
            print(f"publish errors, first: {publisher.first_error}", file=sys.stderr)
        return 1 if summary.failed else 0
    finally:
        for p in spooled:
            with contextlib.suppress(OSError):
                Path(p).unlink()


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "produce",
        help="publish articles from JSON Lines, a JSON array or CSV files to the input topic",
        description="Validates every record against the contract first; invalid ones are "
        "reported as FILE:LINE: reason: detail. Without --skip-invalid nothing is published "
        "if any record is invalid.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="input files; - reads stdin")
    p.add_argument("--format", choices=FORMATS, default="auto",
                   help="input format (auto: by extension, else by the first character)")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN,...",
                   help="CSV column mapping, e.g. title=headline,body=text,url=link")
    p.add_argument("--delimiter", default=",", help="CSV delimiter (or 'tab')")
    p.add_argument("--encoding", default="utf-8-sig", help="CSV text encoding")
    p.add_argument("--list-sep", default=";", help="separator of authors/tags in a CSV cell")
    p.add_argument("--skip-invalid", action="store_true",
                   help="publish the valid records and report the invalid ones (exit 0)")
    p.add_argument("--check", action="store_true", help="only validate; publish nothing")
    p.add_argument("--topic", help="target topic (default: the input topic)")
    p.add_argument("--max-bytes", type=int, help="record size limit (default: the settings')")
    p.add_argument("--max-errors", type=int, default=200, help="invalid records to print")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=cmd_produce)
