"""A real single-node Apache Kafka broker (KRaft, broker+controller), run from Maven jars.

Why: integration tests and ``make demo`` need the real broker (compaction, consumer groups,
transactions, KIP-896 protocol removals) and Docker is not available everywhere. Maven Central
carries ``org.apache.kafka:kafka_2.13`` with all its dependencies, so one ``mvn`` call plus
``java -cp ... kafka.Kafka`` gives the genuine server. Everything lives under
``settings.services_dir/kafka/`` (config, data, log, pid) and ``settings.cache_dir`` (jars).
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import uuid
from pathlib import Path

from streams.devservices.base import (
    JvmService,
    ServiceError,
    fetched_jars,
    maven_fetch,
    port_open,
)
from streams.settings import Settings, write_private

# The slf4j binding Kafka's own distribution ships but its Maven POM leaves to the user;
# without it the broker logs nothing at all, not even why it failed to start.
_LOG_BINDING_4X = "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3"
_LOG_BINDING_3X = "org.slf4j:slf4j-reload4j:1.7.36"

MESSAGE_MAX_BYTES = 16 * 1024 * 1024  # a 10 MB poison message must reach the input contract

_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = INFO
"""

_LOG4J1 = """\
log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=INFO
"""


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        raise ServiceError(
            f"bad Kafka version {version!r}: set NEWSSTREAM_KAFKA_VERSION to e.g. 4.1.1"
        ) from None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-")[0].split(".") if p.isdigit())


def new_cluster_id() -> str:
    """A KRaft cluster id in Kafka's own format (16 random bytes, URL-safe base64).

    Like Kafka's ``Uuid.randomUuid()`` it never starts with "-": the storage tool would read
    such an id as an option and refuse to format.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def ssl_listener(s: Settings) -> dict[str, str]:
    """Properties of the optional TLS listener (``NEWSSTREAM_KAFKA_SSL_PORT``); {} when off.

    Why a second listener rather than TLS everywhere: the PLAINTEXT one on 127.0.0.1 keeps the
    health probe and inter-broker traffic simple, while clients that bootstrap through the TLS
    port are only ever told the TLS address (Kafka answers metadata per listener). The key and
    chain come from a PEM file (unencrypted PKCS#8 key, or encrypted with the password) or a
    PKCS#12 keystore.
    """
    if not s.kafka_ssl_port:
        return {}
    if not s.kafka_ssl_keystore:
        raise ServiceError(
            "kafka: NEWSSTREAM_KAFKA_SSL_PORT is set but NEWSSTREAM_KAFKA_SSL_KEYSTORE is not: "
            "give the broker's key and certificate chain (PEM or .p12)"
        )
    keystore = Path(s.kafka_ssl_keystore).expanduser().resolve()
    if not keystore.is_file():
        raise ServiceError(f"kafka: NEWSSTREAM_KAFKA_SSL_KEYSTORE {keystore} does not exist")
    pkcs12 = keystore.suffix.lower() in (".p12", ".pfx")
    props = {
        "listeners": f"SSL://127.0.0.1:{s.kafka_ssl_port}",
        "advertised.listeners": f"SSL://127.0.0.1:{s.kafka_ssl_port}",
        "listener.security.protocol.map": "SSL:SSL",
        "ssl.keystore.type": "PKCS12" if pkcs12 else "PEM",
        "ssl.keystore.location": str(keystore),
        "ssl.client.auth": "none",
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
    }
    if s.kafka_ssl_keystore_password:
        props["ssl.keystore.password" if pkcs12 else "ssl.key.password"] = (
            s.kafka_ssl_keystore_password.get_secret_value()
        )
    return props


def server_properties(s: Settings, data_dir: Path) -> str:
    """The broker config: one combined KRaft node on 127.0.0.1, sized for a laptop.

    A static ``controller.quorum.voters`` (rather than a dynamic ``--standalone`` quorum)
    keeps the controller's address out of the metadata log, so changing the ports between
    runs needs no reformat.
    """
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "4",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "message.max.bytes": str(MESSAGE_MAX_BYTES),
        "replica.fetch.max.bytes": str(MESSAGE_MAX_BYTES),
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        # Faust changelogs are compacted; the default 128 MB dedupe buffer is a third of heap.
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        "log.cleaner.threads": "1",
    }
    for key, value in ssl_listener(s).items():
        joined = key in ("listeners", "advertised.listeners", "listener.security.protocol.map")
        props[key] = f"{props[key]},{value}" if joined else value
    if _major(s.kafka_version) >= 4:
        props["share.coordinator.state.topic.replication.factor"] = "1"
        props["share.coordinator.state.topic.min.isr"] = "1"
    header = "# Generated by `newsstream services up` on every start; edits are overwritten.\n"
    return header + "".join(f"{k}={v}\n" for k, v in props.items())


class KafkaService(JvmService):
    """The local broker behind ``newsstream services up|down|status --only kafka``."""

    name = "kafka"
    pid_name = "kafka.pid"
    log_name = "kafka.log"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.kafka_version, settings.kafka_port)
        self.data_dir = self.dir / "data"
        self.config = self.dir / "server.properties"
        self.artifacts = Path(settings.cache_dir).expanduser() / f"kafka-{self.version}"

    def ports(self) -> dict[int, str]:
        ports = {
            self.s.kafka_port: "NEWSSTREAM_KAFKA_PORT",
            self.s.kafka_controller_port: "NEWSSTREAM_KAFKA_CONTROLLER_PORT",
        }
        if self.s.kafka_ssl_port:
            ports[self.s.kafka_ssl_port] = "NEWSSTREAM_KAFKA_SSL_PORT"
        return ports

    # --- artifacts ----------------------------------------------------------------------------

    def coordinates(self) -> list[str]:
        binding = _LOG_BINDING_4X if _major(self.version) >= 4 else _LOG_BINDING_3X
        return [f"org.apache.kafka:kafka_2.13:{self.version}", binding]

    def ensure_artifacts(self) -> None:
        maven_fetch(self.coordinates(), self.artifacts, what=f"Apache Kafka {self.version} (kafka_2.13)")

    def classpath(self) -> str:
        if not fetched_jars(self.artifacts):
            self.ensure_artifacts()
        return str(self.artifacts / "lib" / "*")

    # --- process ------------------------------------------------------------------------------

    def marker(self) -> str:
        """A string in our broker's command line and nobody else's: its config path."""
        return str(self.config)

    def _jvm_args(self) -> list[str]:
        log_cfg = self.dir / ("log4j2.properties" if _major(self.version) >= 4 else "log4j.properties")
        return [
            f"-Xmx{self.s.kafka_heap}",
            "-Xms64m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.dir / 'logs'}",
            f"-Dlog4j2.configurationFile={log_cfg}",
            f"-Dlog4j.configuration=file:{log_cfg}",
        ]

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        # 0600: it may hold the keystore password
        write_private(self.config, server_properties(self.s, self.data_dir))
        (self.dir / "log4j2.properties").write_text(_LOG4J2)
        (self.dir / "log4j.properties").write_text(_LOG4J1)

    def _format_once(self, java: Path) -> None:
        """Format the KRaft log dir the first time (meta.properties marks it formatted)."""
        if (self.data_dir / "meta.properties").is_file():
            return
        cmd = [
            str(java), *self._jvm_args(), "-cp", self.classpath(),
            "kafka.tools.StorageTool", "format",
            "-t", new_cluster_id(), "-c", str(self.config),
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        with open(self.log_path, "a") as log:
            log.write(out.stdout + out.stderr)
        if out.returncode != 0:
            lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
            last = lines[-1] if lines else f"exit {out.returncode}"
            raise ServiceError(f"kafka: formatting {self.data_dir} failed: {last[:300]}")
        (self.dir / "formatted-by").write_text(self.version + "\n")

    def _check_data_version(self) -> None:
        """Kafka cannot read metadata written by a newer release: say so before starting it."""
        stamp = self.dir / "formatted-by"
        if not (self.data_dir / "meta.properties").is_file() or not stamp.is_file():
            return
        before = stamp.read_text().strip()
        if _version_tuple(before) > _version_tuple(self.version):
            raise ServiceError(
                f"kafka: {self.data_dir} holds data of Kafka {before}, which Kafka "
                f"{self.version} cannot read: set NEWSSTREAM_KAFKA_VERSION={before} or "
                f"delete {self.data_dir}"
            )

    def prepare(self, java: Path) -> None:
        self._check_data_version()
        self.ensure_artifacts()
        self._write_config()
        self._format_once(java)

    def command(self, java: Path) -> list[str]:
        return [
            str(java), *self._jvm_args(), "-cp", self.classpath(),
            "kafka.Kafka", str(self.config),
        ]  # fmt: skip

    # --- health -------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """A Metadata request answers and lists a registered broker (bounded: ~5 s)."""
        if not port_open(self.port):
            return False
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=f"127.0.0.1:{self.port}",
                client_id="newsstream-health",
                request_timeout_ms=5000,
                bootstrap_timeout_ms=5000,
            )
        except Exception:
            return False
        try:
            return bool(admin.describe_cluster().get("brokers"))
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                admin.close()


__all__ = ["KafkaService", "new_cluster_id", "server_properties"]
