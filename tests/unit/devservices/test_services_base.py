"""The local-services helpers: their one-line errors, pid files, waiting and stopping.

No broker runs here; a few tests start a plain ``sleep`` to have a real process to stop.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams import settings
from streams.devservices import base
from streams.devservices.kafka import KafkaService, new_cluster_id, server_properties


@pytest.fixture
def listener() -> Iterator[int]:
    """A port held by a listening socket of this test (what "busy" means to a user)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_busy_port_error_names_port_and_env_var(listener: int) -> None:
    assert base.port_in_use(listener)
    with pytest.raises(base.ServiceError) as err:
        base.check_ports_free("kafka", {listener: "NEWSSTREAM_KAFKA_PORT"})
    msg = str(err.value)
    assert "\n" not in msg
    assert f"port {listener} is already in use" in msg
    assert "set NEWSSTREAM_KAFKA_PORT to a free port" in msg


def test_free_port_is_not_in_use() -> None:
    port = base.free_port()
    assert not base.port_in_use(port)
    base.check_ports_free("kafka", {port: "NEWSSTREAM_KAFKA_PORT"})


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a JDK on PATH")
def test_kafka_start_on_busy_controller_port_fails_before_downloading(listener: int, tmp_path: Path) -> None:
    s = settings.load().replace(
        services_dir=str(tmp_path / "services"),
        cache_dir=str(tmp_path / "cache"),
        kafka_port=base.free_port(),
        kafka_controller_port=listener,
    )
    with pytest.raises(base.ServiceError) as err:
        KafkaService(s).start()
    assert str(err.value) == base.busy_port_message("kafka", listener, "NEWSSTREAM_KAFKA_CONTROLLER_PORT")
    assert not (tmp_path / "cache").exists()  # no download was attempted
    assert not (tmp_path / "services" / "kafka" / "kafka.pid").exists()


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(base.ServiceError) as err:
        base.java_home({"PATH": str(tmp_path)})
    assert str(err.value) == "Java 17+ not found: install OpenJDK 17 or set JAVA_HOME"


def test_java_home_that_points_nowhere_is_missing_java(tmp_path: Path) -> None:
    with pytest.raises(base.ServiceError, match=r"^Java 17\+ not found"):
        base.java_home({"JAVA_HOME": str(tmp_path / "nojdk"), "PATH": str(tmp_path)})


def _fake_jdk(root: Path, version_line: str) -> Path:
    """A directory shaped like a JDK whose ``java -version`` prints ``version_line``."""
    java = root / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return root


def test_too_old_java_says_which_version(tmp_path: Path) -> None:
    jdk = _fake_jdk(tmp_path / "jdk11", 'openjdk version "11.0.22" 2024-01-16')
    with pytest.raises(base.ServiceError) as err:
        base.java_home({"JAVA_HOME": str(jdk), "PATH": str(tmp_path)})
    msg = str(err.value)
    assert msg.startswith("Java 17+ not found")
    assert "Java 11" in msg and "\n" not in msg


def test_java_version_parsing(tmp_path: Path) -> None:
    old = _fake_jdk(tmp_path / "a", 'java version "1.8.0_392"')
    new = _fake_jdk(tmp_path / "b", 'openjdk version "25" 2025-09-16')
    assert base.java_version(old / "bin" / "java") == 8
    assert base.java_version(new / "bin" / "java") == 25
    assert base.java_home({"JAVA_HOME": str(new), "PATH": ""}) == new


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a JDK on PATH")
def test_real_java_on_path_is_found() -> None:
    home = base.java_home({"PATH": os.environ["PATH"]})
    assert (base.java_version(home / "bin" / "java") or 0) >= 17


def test_wait_until_reports_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    with pytest.raises(base.ServiceError) as err:
        base.wait_until(lambda: False, 0.3, "svc", log, interval=0.1)
    first, *rest = str(err.value).splitlines()
    assert first.startswith("svc: not ready after")
    assert "line 99" in rest and "line 59" not in rest


def test_wait_until_fails_fast_when_the_process_dies(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "print('boom')"])
    proc.wait()
    t0 = time.monotonic()
    with pytest.raises(base.ServiceError, match="exited during startup"):
        base.wait_until(lambda: False, 60, "svc", tmp_path / "none.log", pid=proc.pid)
    assert time.monotonic() - t0 < 30  # not the full timeout (a bound, not a timing claim)


def test_server_properties_single_kraft_node(tmp_path: Path) -> None:
    s = settings.load().replace(kafka_port=19999, kafka_controller_port=19998)
    props = dict(
        line.split("=", 1)
        for line in server_properties(s, tmp_path / "data").splitlines()
        if line and not line.startswith("#")
    )
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19999,CONTROLLER://127.0.0.1:19998"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19999"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19998"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert int(props["message.max.bytes"]) > 10 * 1024 * 1024
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_cluster_id_format() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    for cid in ids:
        assert len(cid) == 22
        assert not cid.startswith("-"), cid  # the storage tool would take it for an option
        assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_status_line_shape() -> None:
    line = base.ServiceStatus("kafka", True, 123, 9092, "4.1.1").line()
    assert line.split() == ["kafka", "running", "version=4.1.1", "port=9092", "pid=123"]
    line = base.ServiceStatus("kafka", False, None, 9092, "4.1.1").line()
    assert "stopped" in line and "pid=-" in line
    line = base.ServiceStatus("kafka", False, 123, 9092, "4.1.1").line()
    assert "unhealthy" in line and "pid=123" in line
