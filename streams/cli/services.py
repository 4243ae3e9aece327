"""``newsstream services up|down|status [--only NAME]``: local Kafka, Elasticsearch, CoreNLP.

Why a command of our own: one line brings up the real broker and search node the pipeline,
the demo and the integration tests need, on any machine with Java 17+ and Maven, and one line
removes them again (exactly our processes, found through their pid files).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import subprocess
import sys
import time

from streams import settings
from streams.devservices.base import Service, ServiceError

# Start order; `down` goes in reverse. The ONE place a service is registered:
# name -> "module:Class", imported lazily so one broken service cannot block the others.
SERVICES: dict[str, str] = {
    "kafka": "streams.devservices.kafka:KafkaService",
    "elasticsearch": "streams.devservices.elasticsearch:ElasticsearchService",
    "corenlp": "streams.devservices.corenlp:CoreNlpService",
}
#: Started by `up`/`run` only when a setting turns them on (``--only NAME`` always acts).
OPTIONAL: dict[str, str] = {"corenlp": "corenlp"}


def build(name: str, s: settings.Settings | None = None) -> Service:
    """Instantiate the registered service ``name`` from the current settings."""
    module, _, cls = SERVICES[name].partition(":")
    service: Service = getattr(importlib.import_module(module), cls)(s or settings.load())
    return service


def selected(args: argparse.Namespace, s: settings.Settings | None = None) -> list[str]:
    """``--only NAME``, else every service whose setting (if it has one) turns it on."""
    if args.only:
        return [args.only]
    s = s or settings.load()
    return [n for n in SERVICES if n not in OPTIONAL or bool(getattr(s, OPTIONAL[n]))]


def _fail(name: str, err: ServiceError) -> int:
    print(f"{name}: error: {err}", file=sys.stderr)
    return 1


def cmd_up(args: argparse.Namespace) -> int:
    s = settings.load()
    for name in selected(args, s):
        t0 = time.monotonic()
        try:
            svc = build(name, s)
            started = svc.start()
            st = svc.status()
        except ServiceError as err:
            return _fail(name, err)
        where = f"127.0.0.1:{st.port}, version {st.version}, pid {st.pid}"
        if started:
            print(f"{name}: started ({where}) in {time.monotonic() - t0:.1f}s")
        else:
            print(f"{name}: already running ({where}); nothing to do")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    s = settings.load()
    for name in reversed([args.only] if args.only else list(SERVICES)):  # stop all of ours
        try:
            svc = build(name, s)
            pid = svc.status().pid
            stopped = svc.stop()
        except ServiceError as err:
            return _fail(name, err)
        print(f"{name}: stopped (pid {pid})" if stopped else f"{name}: not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when every selected service runs, 3 otherwise (LSB "not running")."""
    s = settings.load()
    all_up = True
    for name in selected(args, s):
        try:
            st = build(name, s).status()
        except ServiceError as err:
            return _fail(name, err)
        all_up = all_up and st.running
        print(st.line())
    return 0 if all_up else 3


def cmd_run(args: argparse.Namespace) -> int:
    """Start what is not running, run CMD, then stop only what this call started.

    Why: ``make test`` must leave a developer's already-running services alone, yet leave
    nothing behind on CI. Exit code: CMD's (or 1 when a service fails to start).
    """
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("services run: give a command after --, e.g. `services run -- pytest`", file=sys.stderr)
        return 2
    s = settings.load()
    started: list[Service] = []
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    try:
        for name in selected(args, s):
            try:
                svc = build(name, s)
                if svc.start():
                    started.append(svc)
                    print(f"{name}: started for this run", flush=True)
                else:
                    print(f"{name}: already running; left running afterwards", flush=True)
            except ServiceError as err:
                return _fail(name, err)
        try:
            return subprocess.call(cmd)
        except OSError as err:
            print(f"services run: cannot run {cmd[0]}: {err}", file=sys.stderr)
            return 127
    finally:
        for svc in reversed(started):
            try:
                svc.stop()
                print(f"{svc.name}: stopped", flush=True)
            except ServiceError as err:
                _fail(svc.name, err)
        signal.signal(signal.SIGTERM, previous)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "services", help="start/stop/inspect the local Kafka and Elasticsearch (real servers)"
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    for action, func, text in (
        ("up", cmd_up, "start (fetching jars from Maven Central once); no-op if already up"),
        ("down", cmd_down, "stop exactly the processes of our pid files"),
        ("status", cmd_status, "name, state, version, port, pid (exit 3 if one is down)"),
    ):
        sp = sub.add_parser(action, help=text)
        sp.add_argument("--only", choices=list(SERVICES), help="act on one service only")
        sp.set_defaults(func=func)
    sp = sub.add_parser(
        "run", help="start what is not running, run CMD, stop only what was started: run -- CMD"
    )
    sp.add_argument("--only", choices=list(SERVICES), help="act on one service only")
    sp.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    sp.set_defaults(func=cmd_run)
