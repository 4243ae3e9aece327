"""``newsstream feeds``: a concurrent, adaptive RSS/Atom poller publishing to Kafka.

Modules by concern: :mod:`.fetch` (HTTP, address checks, politeness), :mod:`.parse` (feed ->
contract records, in a process pool), :mod:`.schedule` (adaptive intervals, failure classes),
:mod:`.state` (SQLite store), :mod:`.lists` (OPML and URL lists), :mod:`.poller` (the
scheduler and workers), :mod:`.kafka` (acknowledged publishing), :mod:`.cli`. See docs/feeds.md.
"""

from __future__ import annotations

from streams.feeds.cli import add_parser, cmd_feeds
from streams.feeds.parse import clean_text, entry_record, parse_feed

__all__ = ["add_parser", "clean_text", "cmd_feeds", "entry_record", "parse_feed"]
