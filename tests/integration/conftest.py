"""Fixtures for tests against the real Kafka and Elasticsearch.

The services are started by the test command (``newsstream services run -- pytest``); these
fixtures only check they answer, and give each test its own topics, index alias, consumer
group and worker process, so tests never see each other's data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition

from streams import kafka_io, procs
from streams import settings as settings_mod
from streams.devservices.base import free_port

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def require_kafka(s: settings_mod.Settings) -> None:
    """Fail the test at once, with what to do, when Kafka does not answer."""
    host, _, port = s.kafka_bootstrap.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host or "localhost", int(port)), timeout=5).close()
    except OSError as exc:
        pytest.fail(f"Kafka is not reachable at {s.kafka_bootstrap} ({exc}): run `make up`")


@pytest.fixture(scope="session")
def services() -> settings_mod.Settings:
    """The running services (fail fast, with a clear message, if they are not up)."""
    s = settings_mod.load()
    require_kafka(s)
    try:
        urllib.request.urlopen(s.es_url, timeout=10).read()
    except OSError as exc:
        pytest.fail(f"Elasticsearch is not reachable at {s.es_url} ({exc}): run `make up`")
    return s


@dataclass
class Namespace:
    """Topic/alias/group names private to one test, as environment variables."""

    tag: str
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    def settings(self) -> settings_mod.Settings:
        with procs.environ(self.env):
            return settings_mod.load()


def new_namespace(prefix: str, tmp_path: Path, **extra: str) -> Namespace:
    """Topic, alias, group and data-dir names no other test uses, plus ``extra`` variables."""
    tag = prefix + uuid.uuid4().hex[:10]
    ns = Namespace(tag=tag, tmp=tmp_path)
    ns.env = {
        "NEWSSTREAM_TOPIC_ARTICLES": f"{tag}.articles",
        "NEWSSTREAM_TOPIC_PREFIX": f"{tag}.articles",
        "NEWSSTREAM_TOPIC_DLQ": f"{tag}.articles.dlq",
        "NEWSSTREAM_ES_ALIAS": f"{tag}-articles",
        "NEWSSTREAM_APP_ID": f"newsstream-{tag}",
        "NEWSSTREAM_DATA_DIR": str(tmp_path / "faust"),
        "NEWSSTREAM_PARTITIONS": os.environ.get("NEWSSTREAM_TEST_PARTITIONS", "2"),
        "NEWSSTREAM_LOG_FORMAT": "text",
        **extra,
    }
    return ns


@pytest.fixture()
def namespace(services: settings_mod.Settings, tmp_path: Path) -> Iterator[Namespace]:
    yield new_namespace(
        "t", tmp_path,
        NEWSSTREAM_NLP_PROCESSES=os.environ.get("NEWSSTREAM_TEST_NLP_PROCESSES", "1"),
    )


@dataclass
class Worker:
    """A ``newsstream worker`` subprocess with its own web port and log file."""

    proc: subprocess.Popen[bytes]
    log: Path
    web_port: int

    def health(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=2).read()
            return True
        except OSError:
            return False

    def log_tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        procs.stop_process(self.proc, timeout=30, sig=sig)


def worker_launcher(
    namespace: Namespace, module: str = "streams.cli"
) -> tuple[Callable[..., Worker], list[Worker]]:
    """A function starting ``python -m MODULE worker`` in ``namespace``, and the list it fills."""
    workers: list[Worker] = []

    def start(name: str = "w", extra_env: dict[str, str] | None = None, timeout: float = 180) -> Worker:
        port = free_port()
        log = namespace.tmp / f"worker-{name}-{len(workers)}.log"
        env = {**os.environ, **namespace.env, "NEWSSTREAM_WEB_PORT": str(port)}
        env["NEWSSTREAM_DATA_DIR"] = str(namespace.tmp / f"faust-{name}")
        env.update(extra_env or {})
        argv = [sys.executable, "-m", module, "worker"]
        if module == "streams.cli":
            argv += ["--loglevel", "info"]
        proc = procs.spawn(argv, log, cwd=ROOT, env=env)
        worker = Worker(proc, log, port)
        workers.append(worker)
        deadline = time.monotonic() + timeout
        while not worker.health():
            if proc.poll() is not None:
                pytest.fail(f"worker exited with {proc.returncode}:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker not healthy after {timeout}s:\n{worker.log_tail()}")
            time.sleep(0.5)
        return worker

    return start, workers


def stop_workers(workers: list[Worker]) -> None:
    """SIGTERM to each worker still running; what any of them left in its group is killed."""
    for w in workers:
        w.kill(signal.SIGTERM)


@contextlib.contextmanager
def launched_workers(namespace: Namespace, module: str = "streams.cli") -> Iterator[Callable[..., Worker]]:
    """:func:`worker_launcher` for a block: every worker it started is stopped after it."""
    start, workers = worker_launcher(namespace, module)
    try:
        yield start
    finally:
        stop_workers(workers)


@pytest.fixture()
def start_worker(namespace: Namespace) -> Iterator[Callable[..., Worker]]:
    """Start ``newsstream worker`` processes for this test's namespace; all stop at the end."""
    with launched_workers(namespace) as start:
        yield start


def wait_for(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    """Poll ``pred`` until truthy; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run_cli(
    namespace: Namespace, *args: str, input: bytes | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``newsstream ARGS`` in this test's namespace and return the finished process."""
    env = {**os.environ, **namespace.env}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        cwd=ROOT, env=env, input=input.decode() if input is not None else None,
        capture_output=True, text=True, timeout=timeout,
    )


def read_topic(s: settings_mod.Settings, topic: str, timeout: float = 60) -> list[Any]:
    """Every record now in ``topic`` (empty if it does not exist)."""
    consumer = kafka_io.consumer(s)
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, "timed out reading " + topic
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(records)
        return out
    finally:
        consumer.close()
