"""Common parts of the local services (`newsstream services up|down|status`).

Why this exists: the project runs a REAL Kafka broker and a REAL Elasticsearch node without
Docker, fetched from Maven Central and started as plain background JVMs. Each service module
(kafka.py, elasticsearch.py) only knows its own command line and health check; everything
about Java discovery, pid files, ports, waiting and stopping lives here, so both behave the
same and every failure reaches the user as ONE actionable line (:class:`ServiceError`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

from streams.procs import pid_alive, pid_is_ours, read_pid, spawn, stop_pid, write_pid
from streams.settings import private_dir

MIN_JAVA = 17
DEPENDENCY_PLUGIN = "3.8.1"  # pinned: the super-POM's default is ancient and slow to resolve


class ServiceError(Exception):
    """A failure the user can act on; ``str(err)`` is one line that says what to do."""


@dataclass
class ServiceStatus:
    """What ``newsstream services status`` prints for one service."""

    name: str
    running: bool
    pid: int | None
    port: int
    version: str

    def line(self) -> str:
        # A pid without health: our process exists but does not answer (yet).
        state = "running" if self.running else "unhealthy" if self.pid else "stopped"
        pid = self.pid if self.pid is not None else "-"
        return f"{self.name:14s} {state:8s} version={self.version} port={self.port} pid={pid}"


class Service(Protocol):
    """One local service; implementations are built from a ``streams.settings.Settings``."""

    name: str

    def ensure_artifacts(self) -> None:
        """Fetch/build once into settings.cache_dir (outside git); reuse afterwards."""
        ...

    def start(self) -> bool:
        """Start in the background and wait healthy; False (no-op) if already up."""
        ...

    def stop(self) -> bool:
        """Stop exactly the process of our pid file (and its group); False if none."""
        ...

    def healthy(self) -> bool: ...

    def status(self) -> ServiceStatus: ...


# --- Java -------------------------------------------------------------------------------------

_JAVA_MISSING = "Java 17+ not found: install OpenJDK 17 or set JAVA_HOME"


def java_version(java: Path) -> int | None:
    """Major version of a ``java`` executable (8 for 1.8), or None if it does not run."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):  # "1.8.0_392" style
        major = int(m.group(2))
    return major


def java_home(env: Mapping[str, str] | None = None) -> Path:
    """The Java 17+ home: JAVA_HOME first, then ``java`` on PATH; else ServiceError."""
    env = os.environ if env is None else env
    candidates: list[tuple[str, Path]] = []
    if env.get("JAVA_HOME"):
        home = Path(env["JAVA_HOME"])
        candidates.append(("JAVA_HOME", home))
    on_path = shutil.which("java", path=env.get("PATH", ""))
    if on_path:
        candidates.append(("PATH", Path(on_path).resolve().parent.parent))
    too_old: list[str] = []
    for origin, home in candidates:
        exe = home / "bin" / "java"
        if not exe.is_file():
            continue
        major = java_version(exe)
        if major is None:
            continue
        if major >= MIN_JAVA:
            return home
        too_old.append(f"{exe} is Java {major} (from {origin})")
    if too_old:
        raise ServiceError(f"{_JAVA_MISSING} ({'; '.join(too_old)})")
    raise ServiceError(_JAVA_MISSING)


def java_executable(env: Mapping[str, str] | None = None) -> Path:
    """``<java_home>/bin/java``."""
    return java_home(env) / "bin" / "java"


# --- Ports ------------------------------------------------------------------------------------


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something listens on (or otherwise holds) ``host:port``.

    Binding (with SO_REUSEADDR, as the JVM does) catches listeners on 0.0.0.0 too, while a
    socket left in TIME_WAIT by a service we just stopped does not count as busy.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """True when a TCP connection to ``host:port`` is accepted (someone is listening)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def busy_port_message(service: str, port: int, env_var: str) -> str:
    """The one-line error for a port that another process holds."""
    return (
        f"{service}: port {port} is already in use by another process: "
        f"stop that process or set {env_var} to a free port"
    )


def check_ports_free(service: str, ports: Mapping[int, str]) -> None:
    """Raise ServiceError naming the first busy port and the env var that moves it."""
    for port, env_var in ports.items():
        if port_in_use(port):
            raise ServiceError(busy_port_message(service, port, env_var))


def free_port() -> int:
    """An ephemeral port that is free right now (for tests of a second instance)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Pid files and processes ------------------------------------------------------------------


# --- Waiting and logs -------------------------------------------------------------------------


def log_tail(path: Path, n: int = 40) -> str:
    """The last ``n`` lines of ``path`` ('' when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-n:])


def wait_until(
    pred: Callable[[], bool],
    timeout: float,
    what: str,
    log_path: Path | None = None,
    *,
    pid: int | None = None,
    interval: float = 0.5,
) -> None:
    """Poll ``pred`` until true; ServiceError (with the log's last 40 lines) on timeout.

    When ``pid`` is given and that process dies first, fail at once instead of waiting out
    the timeout: a JVM that exits on a bad config should be reported in seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return
        except Exception:  # a health probe that throws just means "not yet"
            pass
        if pid is not None and not pid_alive(pid):
            reason = f"{what}: the process exited during startup"
            break
        if time.monotonic() >= deadline:
            reason = f"{what}: not ready after {timeout:.0f}s"
            break
        time.sleep(interval)
    tail = log_tail(log_path, 40) if log_path else ""
    where = f" (log: {log_path})" if log_path else ""
    if tail:
        # The message's first line is the actionable one; the tail follows for diagnosis.
        raise ServiceError(f"{reason}{where}\n--- last lines of the log ---\n{tail}")
    raise ServiceError(f"{reason}{where}")


# --- Maven ------------------------------------------------------------------------------------

_COMPLETE = ".complete"


def _pom(coordinates: Sequence[str], exclusions: Sequence[str]) -> str:
    excl = "".join(
        "<exclusion><groupId>{}</groupId><artifactId>{}</artifactId></exclusion>".format(
            *(escape(p) for p in e.split(":")[:2])
        )
        for e in exclusions
    )
    deps = []
    for coord in coordinates:
        parts = coord.split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"expected group:artifact:version[:classifier], got {coord!r}")
        g, a, v = (escape(p) for p in parts[:3])
        classifier = f"<classifier>{escape(parts[3])}</classifier>" if len(parts) == 4 else ""
        deps.append(
            f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
            f"<version>{v}</version>{classifier}<exclusions>{excl}</exclusions></dependency>"
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>newsstream.local</groupId>
  <artifactId>fetch</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>{"".join(deps)}</dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId>
    <artifactId>maven-dependency-plugin</artifactId>
    <version>{DEPENDENCY_PLUGIN}</version>
  </plugin></plugins></build>
</project>
"""


def fetched_jars(dest: Path) -> list[Path] | None:
    """The jars of a completed :func:`maven_fetch` into ``dest``, or None if not done."""
    if not (dest / _COMPLETE).is_file():
        return None
    return sorted((dest / "lib").glob("*.jar"))


def maven_fetch(
    coordinates: Sequence[str],
    dest: Path,
    *,
    what: str,
    exclusions: Sequence[str] = (),
    timeout: float = 1800.0,
) -> list[Path]:
    """Copy ``coordinates`` and their runtime dependencies into ``dest/lib``, once.

    Why Maven: Central is the one reachable source of Kafka and Elasticsearch jars here, and
    Maven resolves the transitive closure (and caches it in ~/.m2) better than we could.
    A ``.complete`` marker makes later calls free; a half-finished fetch is redone.
    """
    done = fetched_jars(dest)
    if done:
        return done
    dest.mkdir(parents=True, exist_ok=True)
    # Two `up`s at once (a user and a test run) must not fetch into the same dir together.
    with open(dest / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = fetched_jars(dest)
        if done:
            return done
        return _maven_fetch_locked(coordinates, dest, what, exclusions, timeout)


def _maven_fetch_locked(
    coordinates: Sequence[str],
    dest: Path,
    what: str,
    exclusions: Sequence[str],
    timeout: float,
) -> list[Path]:
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServiceError(f"could not download {what} from Maven Central: Maven (mvn) is not installed")
    lib = dest / "lib"
    if lib.exists():
        shutil.rmtree(lib)
    (dest / "pom.xml").write_text(_pom(coordinates, exclusions))
    env = dict(os.environ)
    with contextlib.suppress(ServiceError):
        env["JAVA_HOME"] = str(java_home())
    cmd = [
        mvn, "-q", "-B", "-f", str(dest / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib}", "-DincludeScope=runtime", "-Dstyle.color=never",
    ]  # fmt: skip
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise ServiceError(
            f"could not download {what} from Maven Central: mvn timed out after {timeout:.0f}s"
        ) from None
    (dest / "mvn.log").write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        raise ServiceError(
            f"could not download {what} from Maven Central: {_mvn_reason(out.stdout + out.stderr)}"
        )
    jars = sorted(lib.glob("*.jar"))
    if not jars:
        raise ServiceError(f"could not download {what} from Maven Central: no jars were copied")
    (dest / _COMPLETE).write_text("\n".join(coordinates) + "\n")
    return jars


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _mvn_reason(output: str) -> str:
    """The informative part of Maven's first [ERROR] line (the innermost "Could not ...")."""
    lines = [_ANSI.sub("", ln).strip() for ln in output.splitlines()]
    errors = [ln.removeprefix("[ERROR]").strip() for ln in lines if ln.startswith("[ERROR]")]
    errors = [ln for ln in errors if ln]
    reason = errors[0] if errors else next((ln for ln in reversed(lines) if ln), "mvn failed")
    reason = reason.removesuffix("-> [Help 1]").strip()
    cut = reason.rfind(": Could not ")
    if cut >= 0:
        reason = reason[cut + 2 :]
    return reason[:300]


def service_dir(services_dir: str | Path, name: str) -> Path:
    """``<services_dir>/<name>``, created 0700 (its parent too); data, logs and the pid file."""
    root = private_dir(Path(services_dir).expanduser().resolve())
    return private_dir(root / name)


class JvmService:
    """What both local JVM services share: pid file, start/wait/stop, status.

    A subclass names its ports (:meth:`ports`), prepares its files (:meth:`prepare`), builds
    its command line (:meth:`command`), says how to recognise its own process
    (:meth:`marker`) and when it is healthy (:meth:`healthy`).
    """

    name: str
    pid_name: str
    log_name: str

    def __init__(self, settings: Any, version: str, port: int) -> None:
        self.s = settings
        self.version = version
        self.port = port
        self.dir = service_dir(settings.services_dir, self.name)
        self.log_path = self.dir / self.log_name
        self.pid_file = self.dir / self.pid_name
        self.version_file = self.dir / "version"

    # --- what a subclass provides -------------------------------------------------------------

    def ports(self) -> dict[int, str]:
        """Port -> the environment variable that changes it."""
        raise NotImplementedError

    def prepare(self, java: Path) -> None:
        """Fetch/build artifacts and write config files before the JVM starts."""
        raise NotImplementedError

    def command(self, java: Path) -> list[str]:
        raise NotImplementedError

    def marker(self) -> str:
        """A string in our process's command line and nobody else's."""
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------

    def _our_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid_is_ours(pid, self.marker()) else None

    def _wait_healthy(self, pid: int) -> None:
        wait_until(self.healthy, self.s.service_start_timeout, self.name, self.log_path, pid=pid)

    def start(self) -> bool:
        pid = self._our_pid()
        if pid is not None:
            # Ours is running (maybe still starting from a concurrent `up`): wait, no-op.
            self._wait_healthy(pid)
            return False
        self.pid_file.unlink(missing_ok=True)  # stale
        java = java_executable()
        # Ports before any download: a busy port should fail in a second, not after a fetch.
        check_ports_free(self.name, self.ports())
        self.prepare(java)
        env = dict(os.environ)
        env["JAVA_HOME"] = str(java.parent.parent)
        env.pop("JAVA_TOOL_OPTIONS", None)
        pid = spawn(self.command(java), self.log_path, cwd=self.dir, env=env).pid
        write_pid(self.pid_file, pid)
        self.version_file.write_text(self.version + "\n")
        try:
            self._wait_healthy(pid)
        except ServiceError:
            stop_pid(pid, timeout=10)
            self.pid_file.unlink(missing_ok=True)
            raise
        return True

    def stop(self) -> bool:
        pid = self._our_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        # Both shut down cleanly on SIGTERM (flushed logs/shards: the next start recovers fast).
        gone = stop_pid(pid, timeout=60)
        self.pid_file.unlink(missing_ok=True)
        if not gone:
            raise ServiceError(f"{self.name}: pid {pid} did not exit after SIGTERM and SIGKILL")
        return True

    def running_version(self) -> str:
        """The version our running process was started with (env may have changed since)."""
        try:
            return self.version_file.read_text().strip() or self.version
        except OSError:
            return self.version

    def status(self) -> ServiceStatus:
        pid = self._our_pid()
        if pid is None:
            return ServiceStatus(self.name, False, None, self.port, self.version)
        return ServiceStatus(self.name, self.healthy(), pid, self.port, self.running_version())
