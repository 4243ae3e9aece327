"""``newsstream worker``: run every stage's agent in one Faust worker (:mod:`streams.runtime.worker`)."""

from __future__ import annotations

import argparse
from typing import Any

from streams.runtime.worker import load_agents


def run(args: argparse.Namespace) -> int:
    import faust

    app = load_agents()
    worker = faust.Worker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("worker", help="run the pipeline worker (all stages) in the foreground")
    p.add_argument("--loglevel", default="info", help="Faust log level (default info)")
    p.set_defaults(func=run)
