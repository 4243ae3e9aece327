"""Counters exported for Prometheus (``/metrics`` on the worker's web port).

One registry for the whole process so the worker's endpoint shows every stage. The README's
metrics table lists these names; keep them in step.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

#: The prefix of the metrics of Faust's own Prometheus monitor, registered in ``REGISTRY`` by
#: the worker (``streams.runtime.worker.install_faust_sensors``): fixed, so that dashboards do
#: not depend on the app id of a deployment.
FAUST_PREFIX = "faust"

ARTICLES_IN = Counter(
    "newsstream_articles_received_total", "Messages read from the input topic", registry=REGISTRY
)
ARTICLES_VALID = Counter(
    "newsstream_articles_valid_total", "Messages that passed the contract", registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "newsstream_dead_letters_total",
    "Messages sent to the dead-letter topic",
    ["stage", "reason"],
    registry=REGISTRY,
)
DEDUP_DECISIONS = Counter(
    "newsstream_dedup_decisions_total",
    "Dedup decisions by kind (new, revision, replay, exact, near)",
    ["kind"],
    registry=REGISTRY,
)
ENRICHED = Counter(
    "newsstream_articles_enriched_total", "Articles through language+NER", registry=REGISTRY
)
ENTITIES = Counter(
    "newsstream_entities_total", "Entities extracted", ["label"], registry=REGISTRY
)
INDEXED = Counter(
    "newsstream_documents_indexed_total",
    "Documents acknowledged by Elasticsearch",
    registry=REGISTRY,
)
ES_RETRIES = Counter(
    "newsstream_es_retries_total", "Bulk requests retried (429, 5xx, connection)", registry=REGISTRY
)
BULK_SECONDS = Histogram(
    "newsstream_bulk_seconds", "Elasticsearch bulk request duration", registry=REGISTRY
)
NLP_BATCH_SECONDS = Histogram(
    "newsstream_nlp_batch_seconds", "Duration of one NER batch in the process pool", registry=REGISTRY
)
PENDING_ACKS = Gauge(
    "newsstream_index_pending", "Documents sent to Elasticsearch and not yet acknowledged",
    registry=REGISTRY,
)
PARTITION_LAG = Gauge(
    "newsstream_partition_lag",
    "Messages between the group's committed offset and the end of each assigned partition",
    ["topic", "partition"],
    registry=REGISTRY,
)
PARTITION_STALLED = Gauge(
    "newsstream_partition_stalled",
    "1 when an assigned partition has lag and its committed offset has not moved for"
    " NEWSSTREAM_STALL_SECONDS (the worker's /health then answers 503)",
    ["topic", "partition"],
    registry=REGISTRY,
)
