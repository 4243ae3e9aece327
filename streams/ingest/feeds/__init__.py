"""``newsstream feeds``: a concurrent, adaptive RSS/Atom poller publishing to Kafka.

Modules by concern: :mod:`.fetch` (HTTP, address checks, politeness), :mod:`.parse` (feed ->
contract records, in a process pool), :mod:`.schedule` (adaptive intervals, failure classes),
:mod:`.state` (SQLite store), :mod:`.lists` (OPML and URL lists), :mod:`.poller` (the
scheduler and workers), :mod:`.kafka` (acknowledged publishing); the command is :mod:`streams.cli.feeds`.
See docs/feeds.md.
"""

from __future__ import annotations

from streams.ingest.feeds.parse import clean_text, entry_record, parse_feed

__all__ = ["clean_text", "entry_record", "parse_feed"]
