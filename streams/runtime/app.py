"""The Faust app and its topics: wiring only, no logic.

Flow (each arrow is a Kafka topic, so each stage scales and restarts on its own)::

    articles (raw bytes, key = canonical URL)
        --validate + fingerprint--> <prefix>.dedup        (one partition, internal)
        --dedup decide (tables)--> articles.unique       (key = article id; exact dups stop here)
        --enrich (process pool, batches) + index (bulk, commit after ack)--> Elasticsearch
    any stage --> articles.dlq (the dead-letter envelope of streams.dlq)

``articles.valid`` and ``articles.enriched`` are only read: earlier versions validated into the
first (see ``streams.runtime.agents.dedup``) and enriched into the second (see
``streams.runtime.agents.index``).

Agents live in ``streams.runtime.agents.*``; ``streams.runtime.worker`` imports them all.
"""

from __future__ import annotations

from typing import Any

import faust

from streams.runtime import consumer
from streams.runtime.recovery import SeekFirstTableManager
from streams.runtime.wire import INTERNAL_CODEC
from streams.settings import Settings, load, private_dir, reveal

settings: Settings = load()


def broker_credentials(s: Settings) -> Any:
    """Faust credentials from the shared Kafka TLS/SASL settings (None for plaintext)."""
    ctx = s.kafka_ssl_context()
    if s.kafka_security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=s.kafka_sasl_username,
            password=reveal(s.kafka_sasl_password),
            ssl_context=ctx,
            mechanism=str(s.kafka_sasl_mechanism or "PLAIN"),
        )
    if ctx is not None:
        return faust.SSLCredentials(ctx)
    return None


def _broker_url(s: Settings) -> str:
    return ";".join(f"kafka://{h.strip()}" for h in s.kafka_bootstrap.split(",") if h.strip())


app = faust.App(
    settings.app_id,
    broker=_broker_url(settings),
    broker_credentials=broker_credentials(settings),
    store=str(settings.store),  # Faust parses it as a URL: a plain str
    datadir=str(private_dir(settings.data_dir)),
    web_enabled=True,
    web_tables_enabled=False,  # /table would serve the dedup tables' contents to anyone
    web_router_enabled=False,  # /router: key -> worker map, only useful with /table
    web_bind=settings.web_host,
    web_host=settings.web_host,
    web_port=settings.web_port,
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication_factor,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_linger=settings.kafka_linger,
    producer_max_batch_size=settings.kafka_batch_bytes,
    producer_max_request_size=max(settings.max_message_bytes * 2, 1_048_576),
    stream_wait_empty=False,
    broker_session_timeout=settings.session_timeout,
    broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
    broker_commit_every=100,
    broker_commit_interval=1.0,
    autodiscover=False,
    logging_config=None,
    # seek the stream partitions before resuming them after a table recovery: see
    # streams.runtime.recovery and docs/reliability.md ("Post-recovery stall")
    TableManager=SeekFirstTableManager,
)
# seek back over records the Kafka client handed over but Faust did not deliver: see
# streams.runtime.consumer and docs/reliability.md ("Records taken but not delivered")
consumer.install(app)


def _topic(name: str, value_serializer: str = INTERNAL_CODEC) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        key_serializer="raw",
        value_serializer=value_serializer,
        partitions=settings.partitions,
    )


articles_topic = _topic(settings.topic_articles, value_serializer="raw")
valid_topic = _topic(settings.topic("valid"))
unique_topic = _topic(settings.topic("unique"))
enriched_topic = _topic(settings.topic("enriched"))
dlq_topic = _topic(settings.topic_dlq, value_serializer="raw")
