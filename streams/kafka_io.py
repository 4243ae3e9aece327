"""kafka-python clients built from the one settings object (TLS/SASL included).

Why a factory: the command-line tools (``produce``, ``feeds``, ``dlq``) and tests must talk to
the same broker with the same security options as the worker; building the clients in one
place keeps those options from drifting. The worker itself uses aiokafka through Faust.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.settings import Settings

log = logging.getLogger(__name__)
# kafka-python warns when its own I/O loop is slow (e.g. while we validate); not the user's
# business in a command-line tool.
logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)


def bootstrap_servers(s: Settings) -> list[str]:
    return [h.strip() for h in s.kafka_bootstrap.split(",") if h.strip()]


def client_options(s: Settings) -> dict[str, Any]:
    """Connection and security options shared by every kafka-python client."""
    opts: dict[str, Any] = {"bootstrap_servers": bootstrap_servers(s)}
    opts.update(s.kafka_client_options())
    ctx = s.kafka_ssl_context()
    if ctx is not None:
        opts["ssl_context"] = ctx
    return opts


def producer(s: Settings, **overrides: Any) -> KafkaProducer:
    """A durable producer: acks from all in-sync replicas, idempotent, small linger for batching.

    ``max_request_size`` leaves room above the article limit for envelopes and headers.
    """
    cfg: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 20,
        "batch_size": 256 * 1024,
        "max_request_size": max(2 * s.max_message_bytes, 1024 * 1024),
        "client_id": "newsstream-cli",
    }
    cfg.update(client_options(s))
    cfg.update(overrides)
    return KafkaProducer(**cfg)


def flush(prod: KafkaProducer, timeout: float = 120.0) -> None:
    """``producer.flush()`` that survives kafka-python's "Future not done" when it splits an
    oversized batch (the split batches are still in flight: wait for them too)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            prod.flush(timeout=max(1.0, deadline - time.monotonic()))
            return
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                raise
            log.debug("flush retried: %r", exc)
            time.sleep(0.05)


def consumer(s: Settings, *topics: str, **overrides: Any) -> KafkaConsumer:
    """A consumer without a group unless one is given (tools read, they do not commit)."""
    cfg: dict[str, Any] = {
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": f"newsstream-cli-{uuid.uuid4().hex[:6]}",
        "fetch_max_bytes": max(64 * 1024 * 1024, 2 * s.topic_max_bytes),
        "max_partition_fetch_bytes": max(1024 * 1024, s.topic_max_bytes * 2),
    }
    cfg.update(client_options(s))
    cfg.update(overrides)
    return KafkaConsumer(*topics, **cfg)


def admin(s: Settings, **overrides: Any) -> KafkaAdminClient:
    cfg: dict[str, Any] = {"client_id": "newsstream-admin"}
    cfg.update(client_options(s))
    cfg.update(overrides)
    return KafkaAdminClient(**cfg)


def ensure_topics(s: Settings, names: list[str] | None = None) -> list[str]:
    """Create the input and dead-letter topics if missing; return the names created.

    Why here and not via auto-creation: the topics need ``max.message.bytes`` above the broker
    default (1 MB) so that an oversize article is refused by the validator, with a reason in
    the DLQ, rather than by the broker where nobody sees it.
    """
    names = names or [s.topic_articles, s.topic_dlq]
    client = admin(s)
    created: list[str] = []
    try:
        existing = set(client.list_topics())
        for name in names:
            if name in existing:
                continue
            topic = NewTopic(
                name,
                num_partitions=s.partitions,
                replication_factor=s.replication_factor,
                topic_configs={"max.message.bytes": str(s.topic_max_bytes)},
            )
            try:
                client.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    finally:
        client.close()
    if created:
        log.info("created topics", extra={"topics": ",".join(created)})
    return created
