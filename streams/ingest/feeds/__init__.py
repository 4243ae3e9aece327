"""``newsstream feeds``: a concurrent, adaptive RSS/Atom poller publishing to Kafka.

Modules by concern: :mod:`.fetch` (HTTP, address checks, politeness), :mod:`.parse` (feed ->
contract records, in a process pool), :mod:`.schedule` (adaptive intervals, failure classes),
:mod:`.state` (SQLite store), :mod:`.lists` (OPML and URL lists), :mod:`.poller` (the
scheduler and workers), :mod:`.kafka` (acknowledged publishing); the command is :mod:`streams.cli.feeds`.
See docs/feeds.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["clean_text", "entry_record", "parse_feed"]


def __getattr__(name: str) -> Any:
    """The parse functions, imported on first use: the feed commands that only manage the
    store must not pay for the parser's and the contract's imports."""
    if name in __all__:
        from streams.ingest.feeds import parse

        return getattr(parse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
