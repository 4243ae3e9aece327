"""``newsstream demo``: the pipeline on the bundled sample articles (:mod:`streams.ops.demo`)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from streams.ops.demo import (
    EXAMPLES,
    example_searches,
    publish_bad_records,
    report,
    start_web,
    start_worker,
    stop_web,
    stop_worker,
    wait_until_drained,
    web_url,
)
from streams.settings import load


def run(args: argparse.Namespace) -> int:
    s = load()
    print(f"worker: {start_worker(s)}")
    articles = Path(args.file)
    before = sum(1 for _ in articles.open("rb"))
    proc = subprocess.run([sys.executable, "-m", "streams.cli", "produce", str(articles)],
                          check=False)
    if proc.returncode != 0:
        return proc.returncode
    bad = publish_bad_records(s, EXAMPLES / "bad_records.jsonl") if not args.no_bad else 0
    print(f"published {before} sample articles and {bad} raw bad records")
    wait_until_drained(s, before + bad, args.timeout)
    report(s, before + bad)
    example_searches(s)
    web = start_web(s)
    print(
        "\nThe services, the worker and the search page keep running. Next:\n"
        "  .venv/bin/newsstream search 'your words' [--lang xx] [--entity NAME]\n"
        "  .venv/bin/newsstream status          pipeline lag, counts, worker health\n"
        "  .venv/bin/newsstream dlq list        the dead-lettered records and why\n"
        "  make down                            stop the page, the worker, Kafka and Elasticsearch\n"
        "  Kibana: `docker compose up -d kibana` (Docker), then `newsstream kibana import`\n"
        f"\nsearch page: {web}; open it:\n  {web_url(s)}"
    )
    return 0


def _start(args: argparse.Namespace) -> int:
    print(f"worker: {start_worker(load())}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    print(f"worker: {stop_worker(load())}")
    return 0


def _start_web(args: argparse.Namespace) -> int:
    s = load()
    print(f"search page: {start_web(s)} at {web_url(s)}")
    return 0


def _stop_web(args: argparse.Namespace) -> int:
    print(f"search page: {stop_web(load())}")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the pipeline on the bundled sample articles")
    dsub = p.add_subparsers(dest="demo_action", metavar="ACTION")
    dsub.required = True
    r = dsub.add_parser("run", help="worker + publish samples + wait + report + example searches")
    r.add_argument("--file", default=str(EXAMPLES / "articles.jsonl"))
    r.add_argument("--no-bad", action="store_true", help="do not publish the bad records")
    r.add_argument("--timeout", type=float, default=900.0, help="max seconds to wait")
    r.set_defaults(func=run)
    dsub.add_parser("start-worker", help="start a background worker").set_defaults(func=_start)
    dsub.add_parser("stop-worker", help="stop the background worker").set_defaults(func=_stop)
    dsub.add_parser("start-web", help="start the search page in the background").set_defaults(
        func=_start_web)
    dsub.add_parser("stop-web", help="stop the background search page").set_defaults(
        func=_stop_web)
