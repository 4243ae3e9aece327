"""``newsstream setup``: index template, write alias and Kafka topics (:mod:`streams.index.schema`)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from elasticsearch import ApiError

from streams.index import es_client
from streams.index.schema import Change, SetupError, dry_run, setup_elasticsearch, setup_kafka
from streams.settings import Settings, load

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    s = load()
    if args.dry_run:
        for line in dry_run(s, elasticsearch=not args.skip_elasticsearch, kafka=not args.skip_kafka):
            print(f"would ensure {line}")
        print("setup: dry run, nothing contacted")
        return 0
    es_client.quiet_client_logs("kafka")
    changes: list[Change] = []
    try:
        if not args.skip_elasticsearch:
            changes += setup_elasticsearch(s, do_rollover=args.rollover)
        if not args.skip_kafka:
            changes += setup_kafka(s)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: {_describe(exc, s)}", file=sys.stderr)
        log.debug("setup failed", exc_info=True)
        return 1
    for change in changes:
        print(change.line())
    n = sum(c.changed for c in changes)
    print(f"setup: {n} change{'s' if n != 1 else ''}" if n else "setup: unchanged")
    return 0


def _describe(exc: BaseException, s: Settings) -> str:
    from elastic_transport import TransportError

    if isinstance(exc, ApiError | TransportError):
        return es_client.describe_error(exc, s)
    from kafka.errors import KafkaError

    if isinstance(exc, KafkaError):
        return f"Kafka at {s.kafka_bootstrap}: {exc} (start it with `newsstream services up`)"
    return f"{type(exc).__name__}: {exc}"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "setup",
        help="create or update the index template, the write alias and the Kafka topics",
        description="Idempotent: a second run prints 'unchanged' for everything.",
    )
    p.add_argument("--skip-kafka", action="store_true", help="only Elasticsearch")
    p.add_argument("--skip-elasticsearch", action="store_true", help="only the Kafka topics")
    p.add_argument(
        "--dry-run", action="store_true",
        help="print what would be created from the packaged schemas; contact nothing",
    )
    p.add_argument(
        "--rollover", action="store_true",
        help="start a new backing index (after a template change that cannot apply in place)",
    )
    p.set_defaults(func=run)
