"""``newsstream status``: Kafka, Elasticsearch and worker health (:mod:`streams.ops.status`)."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from streams.ops.status import DEFAULT_TIMEOUT, collect, render
from streams.settings import load


def run(args: argparse.Namespace) -> int:
    # The clients log every failed connection attempt; the status says it once, readably.
    for name in ("kafka", "elastic_transport", "elasticsearch"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    s = load()
    st = collect(s, timeout=args.timeout, groups=args.group)
    # every line passes the redactor: an error text may quote a URL with its password
    if args.json:
        print(s.redact(json.dumps(st, indent=2, default=str)))
    else:
        print(s.redact(render(st)))
    return 0 if st["kafka"].get("ok") and st["elasticsearch"].get("ok") else 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="offsets and lag per topic/partition/group, documents, duplicates, DLQ, worker",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds allowed per service (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--group", action="append", default=[], metavar="GROUP",
                   help="also show this consumer group even without commits (repeatable)")
    p.set_defaults(func=run)
