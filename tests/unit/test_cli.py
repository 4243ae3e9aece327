"""The command dispatcher imports only the module of the command it runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("faust", "spacy", "elasticsearch", "kafka", "aiokafka", "aiohttp", "jsonschema")


def _heavy_after(argv: list[str]) -> list[str]:
    code = ("import sys; from streams.cli.main import build_parser; "
            f"build_parser({argv!r}); "
            f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.split()


def test_feed_commands_do_not_import_the_pipeline() -> None:
    assert _heavy_after(["feeds", "list"]) == []
    # the poller needs aiohttp and aiokafka, not the other Kafka client nor the contract
    code = ("import sys, streams.cli.feeds, streams.ingest.feeds.poller, "
            "streams.ingest.feeds.kafka; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'kafka', 'jsonschema'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"
    assert _heavy_after(["feeds", "--help"]) == []
    # the control: the parser of every command (no command named) does import them
    assert "elasticsearch" in _heavy_after([])


def test_every_command_is_still_there() -> None:
    from streams.cli.main import COMMAND_MODULES, build_parser

    for argv in ([], ["--help"], ["nonsense"]):
        parser = build_parser(argv)
        choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
        assert {m.rsplit(".", 1)[1] for m in COMMAND_MODULES} | {"config"} <= set(choices)
    assert set(build_parser(["feeds", "list"])._subparsers._group_actions[0].choices) == {
        "feeds", "config"}  # type: ignore[union-attr]
