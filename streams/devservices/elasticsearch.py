"""A real single-node Elasticsearch 8.x, built from Maven Central jars, without Docker.

Why this shape: Elastic publishes the server (``org.elasticsearch:elasticsearch``) and its HTTP
transport (``transport-netty4``) on Maven Central but not the distribution nor the
``analysis-common``/``rest-root`` modules. ``services/elasticsearch`` (a small Maven project in
this repo) adds a launcher that builds a Node with classpath plugins, a plugin that registers
Lucene's language analyzers under Elasticsearch's names (``english``, ``russian``, ``stemmer``,
``asciifolding``, ...), and ``GET /``. So the index template, the queries and the Python client
behave here as on a full Elasticsearch. Not available: painless scripts, ingest processors,
``_reindex``/``_update_by_query``, ILM and the other X-Pack features.

The Maven build runs once per (Elasticsearch version, hash of ``services/``) into
``settings.cache_dir``; data, the console log and the pid file live in
``settings.services_dir/elasticsearch/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

from streams.devservices.base import (
    JvmService,
    ServiceError,
    _mvn_reason,
    java_home,
    port_open,
)
from streams.resources import JVM_SOURCES, directory
from streams.settings import Settings

# The Maven project of services/ (top level), shipped in the package as streams.devservices.jvm.
SOURCES = directory(JVM_SOURCES)
LAUNCHER = "io.newsstream.es.Launcher"
# Checked: the server and transport-netty4 both on Central, the launcher builds and runs (Java 17).
KNOWN_GOOD_VERSION = "8.19.21"
_COMPLETE = ".complete"
_PRODUCT_HEADER = "X-Elastic-Product"


def sources_digest(root: Path = SOURCES) -> str:
    """A short hash of the launcher's sources: an edited plugin means a new build dir.

    Only pom.xml files and ``src/`` count, so a stray ``target/`` does not force a rebuild.
    """
    h = hashlib.sha256()
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and (p.name == "pom.xml" or "src" in p.relative_to(root).parts)
    )  # fmt: skip
    if not files:
        raise ServiceError(
            f"elasticsearch: launcher sources not found under {root}: "
            "reinstall newsstream (the wheel ships them as streams/devservices/jvm)"
        )
    for p in files:
        h.update(str(p.relative_to(root)).encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:12]


def _heap_bytes(heap: str) -> int:
    """``768m`` -> bytes (the -Xmx syntax); ServiceError on anything else."""
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = heap.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "")
    if not number.isdigit():
        raise ServiceError(f"bad NEWSSTREAM_ES_HEAP {heap!r}: use a JVM size such as 768m or 1g")
    return int(number) * units[unit]


def jvm_options(heap: str, tmp_dir: Path) -> list[str]:
    """The JVM flags of Elasticsearch's own jvm.options that matter for a small local node."""
    initial = "128m" if _heap_bytes(heap) >= 128 << 20 else heap
    return [
        f"-Xmx{heap}",
        f"-Xms{initial}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        "-Xss1m",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        f"-Djava.io.tmpdir={tmp_dir}",
        "-Djna.nosys=true",
        "-Dlog4j2.formatMsgNoLookups=true",
        "-Dlog4j.shutdownHookEnabled=false",
        "-Dlog4j2.disable.jmx=true",
        "-Dio.netty.noUnsafe=true",
        "-Dio.netty.noKeySetOptimization=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0",
        "-Des.networkaddress.cache.ttl=60",
        "-Des.networkaddress.cache.negative.ttl=10",
    ]


class ElasticsearchService(JvmService):
    """The local node behind ``newsstream services up|down|status --only elasticsearch``."""

    name = "elasticsearch"
    pid_name = "es.pid"
    log_name = "es.log"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.es_version, settings.es_port)
        self.transport_port = settings.es_transport_port
        self.home = self.dir / "home"
        self._artifacts: Path | None = None

    def ports(self) -> dict[int, str]:
        return {
            self.port: "NEWSSTREAM_ES_PORT",
            self.transport_port: "NEWSSTREAM_ES_TRANSPORT_PORT",
        }

    def prepare(self, java: Path) -> None:
        self.ensure_artifacts()

    # --- artifacts ----------------------------------------------------------------------------

    @property
    def artifacts(self) -> Path:
        """``<cache_dir>/elasticsearch-<version>-<sources hash>``."""
        if self._artifacts is None:
            cache = Path(self.s.cache_dir).expanduser()
            self._artifacts = cache / f"elasticsearch-{self.version}-{sources_digest()}"
        return self._artifacts

    @property
    def lib(self) -> Path:
        return self.artifacts / "build" / "lib"

    def built(self) -> bool:
        return (self.artifacts / _COMPLETE).is_file() and any(self.lib.glob("*.jar"))

    def ensure_artifacts(self) -> None:
        """Build the launcher + plugin and copy the server's runtime jars, once per version/hash."""
        if self.built():
            return
        self.artifacts.mkdir(parents=True, exist_ok=True)
        with open(self.artifacts / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a user's `up` and a test run may race here
            if not self.built():
                self._build_locked()

    def _build_locked(self) -> None:
        what = f"Elasticsearch {self.version} (org.elasticsearch:elasticsearch, transport-netty4)"
        mvn = shutil.which("mvn")
        if not mvn:
            raise ServiceError(
                f"could not download {what} from Maven Central: Maven (mvn) is not installed"
            )
        build = self.artifacts / "build"
        if build.exists():
            shutil.rmtree(build)
        env = dict(os.environ)
        with contextlib.suppress(ServiceError):
            env["JAVA_HOME"] = str(java_home())
        cmd = [
            mvn, "-q", "-B", "-f", str(SOURCES / "pom.xml"), "package",
            f"-Des.version={self.version}", f"-Dnewsstream.build.dir={build}",
            "-Dstyle.color=never",
        ]  # fmt: skip
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, timeout=1800, check=False, env=env
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"could not download {what} from Maven Central: mvn timed out after 1800s"
            ) from None
        (self.artifacts / "mvn.log").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            reason = _mvn_reason(out.stdout + out.stderr)
            log = self.artifacts / "mvn.log"
            if reason.startswith("Could not") or "resolve" in reason:
                raise ServiceError(
                    f"could not download {what} from Maven Central: {reason} (log: {log}); "
                    f"transport-netty4 is published for some 8.x releases only: set "
                    f"NEWSSTREAM_ES_VERSION to one that has both, e.g. {KNOWN_GOOD_VERSION}"
                )
            raise ServiceError(
                f"could not build the local Elasticsearch {self.version} node from {SOURCES}: "
                f"{reason} (log: {log})"
            )
        if not any(self.lib.glob("elasticsearch-*.jar")):
            raise ServiceError(f"could not download {what} from Maven Central: no jars were copied")
        (self.artifacts / _COMPLETE).write_text(self.version + "\n")

    # --- process ------------------------------------------------------------------------------

    def marker(self) -> str:
        """A string in our node's command line and nobody else's: its home directory."""
        return f"--home {self.home}"

    def command(self, java: Path) -> list[str]:
        tmp = self.dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return [
            str(java), *jvm_options(self.s.es_heap, tmp),
            "-cp", str(self.lib / "*"), LAUNCHER,
            "--home", str(self.home),
            "--http-port", str(self.port),
            "--transport-port", str(self.transport_port),
        ]  # fmt: skip

    # --- health -------------------------------------------------------------------------------

    def cluster_health(self, timeout: float = 5.0) -> dict[str, object] | None:
        """``GET /_cluster/health`` of our node, or None when it does not answer as Elasticsearch.

        The product header is checked because the official Python client refuses servers
        without it; a node that does not send it is not one the pipeline can use.
        """
        url = f"http://127.0.0.1:{self.port}/_cluster/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                if resp.headers.get(_PRODUCT_HEADER) != "Elasticsearch":
                    return None
                body: dict[str, object] = json.loads(resp.read())
                return body
        except (OSError, ValueError):
            return None

    def healthy(self) -> bool:
        """The node answers as Elasticsearch and the cluster is yellow or green."""
        if not port_open(self.port):
            return False
        health = self.cluster_health()
        return health is not None and health.get("status") in ("yellow", "green")


__all__ = ["ElasticsearchService", "jvm_options", "sources_digest"]
