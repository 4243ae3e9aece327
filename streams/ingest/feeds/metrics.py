"""Prometheus metrics of the poller, served by the long-running poller on its own port.

A registry of their own: the poller is its own process (the worker's ``/metrics`` does not
show them), and the README's metrics table, generated from the worker's registry, stays the
same whichever modules a process imported. docs/feeds.md lists these names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter("newsstream_feeds_polls_total",
                "Feed polls by outcome (new, unchanged, not_modified, failed)", ["outcome"],
                registry=REGISTRY)
ITEMS_POLLED = Counter("newsstream_feeds_items_polled_total",
                       "Items found in fetched feeds (new or not)", registry=REGISTRY)
ITEMS_PUBLISHED = Counter("newsstream_feeds_items_published_total",
                          "New items acknowledged by Kafka (articles and dead letters)",
                          ["topic_kind"], registry=REGISTRY)
# bound once: looking a label up per item costs more than counting it
POLL_OUTCOMES = {k: POLLS.labels(k) for k in ("new", "unchanged", "not_modified", "failed")}
PUBLISHED_ARTICLES = ITEMS_PUBLISHED.labels("articles")
PUBLISHED_DEAD_LETTERS = ITEMS_PUBLISHED.labels("dead_letters")
ERRORS = Counter("newsstream_feeds_errors_total", "Failed polls by class and kind",
                 ["failure", "kind"], registry=REGISTRY)
DISABLED = Gauge("newsstream_feeds_disabled", "Feeds disabled by their failure score",
                 registry=REGISTRY)
QUIET = Gauge("newsstream_feeds_quiet", "Feeds silent far beyond their usual gap",
              registry=REGISTRY)
FEEDS = Gauge("newsstream_feeds_enabled", "Feeds being polled", registry=REGISTRY)
IN_FLIGHT = Gauge("newsstream_feeds_in_flight", "Polls running now", registry=REGISTRY)
POLL_LAG = Histogram("newsstream_feeds_poll_lag_seconds",
                     "How late a poll started after its scheduled time",
                     buckets=(0.1, 1, 5, 15, 60, 300, 900, 3600), registry=REGISTRY)
FETCH_SECONDS = Histogram("newsstream_feeds_fetch_seconds", "Duration of one feed fetch",
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)
KAFKA_WAITS = Counter("newsstream_feeds_kafka_waits_total",
                      "Times publishing waited for Kafka to come back", registry=REGISTRY)
