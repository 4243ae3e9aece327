"""The ``newsstream`` command: a thin dispatcher.

Each subcommand has its own module in this package, over the library modules, and exposes
``add_parser(subparsers)``, which registers the command and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from streams import logs, settings

COMMAND_MODULES: list[str] = [
    "streams.cli.services",
    "streams.cli.worker",
    "streams.cli.setup",
    "streams.cli.search",
    "streams.cli.web",
    "streams.cli.kibana",
    "streams.cli.produce",
    "streams.cli.feeds",
    "streams.cli.dlq",
    "streams.cli.enrich",
    "streams.cli.status",
    "streams.cli.demo",
]


def _chosen(argv: list[str] | None) -> str | None:
    """The module of the command named in ``argv`` (the first word that is not an option)."""
    words = sys.argv[1:] if argv is None else argv
    first = next((w for w in words if not w.startswith("-")), None)
    return f"streams.cli.{first}" if first and f"streams.cli.{first}" in COMMAND_MODULES else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the one ``argv`` names.

    Why only that one: each command module imports what its command runs (Faust, spaCy,
    Elasticsearch, Kafka clients); importing all of them made every command, even
    ``feeds --help``, wait seconds for libraries it never uses.
    """
    parser = argparse.ArgumentParser(
        prog="newsstream",
        description="News ingestion: Kafka -> Faust (dedup, language, NER) -> Elasticsearch",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = _chosen(argv)
    for name in [chosen] if chosen else COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    cfg = sub.add_parser("config", help="print the configuration variables and their values")
    cfg.set_defaults(func=_config)
    return parser


def _config(args: argparse.Namespace) -> int:
    """Every setting with its current value (secrets as ``***``), from the one declaration."""
    current = settings.load()
    for name, env, default, meaning in settings.describe_fields():
        print(f"{env}={current.display(name)}    # {meaning} (default {default})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        s = settings.load()
    except settings.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs.setup(s.log_level, s.log_format if args.command == "worker" else "text", redact=s.redact)
    for warning in s.warnings():
        logging.getLogger("streams.settings").warning(warning)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `newsstream enrich | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
