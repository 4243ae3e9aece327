"""`newsstream services`: the shared instance of this test run, and a private second one.

The shared broker is started by the test command before pytest and is never stopped here;
the down/up cycle runs on a separate instance with its own ports and services dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams import procs, settings
from streams.cli.services import SERVICES
from streams.devservices import base
from streams.devservices.kafka import KafkaService

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "services", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_status_of_the_running_broker() -> None:
    s = settings.load()
    st = KafkaService(s).status()
    assert st.running, f"kafka is not running on port {s.kafka_port}: run `make up`"
    assert st.port == s.kafka_port
    assert st.version == s.kafka_version
    assert procs.pid_alive(st.pid)
    assert base.port_open(s.kafka_port)

    out = _cli("status", "--only", "kafka")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "kafka", "running", f"version={s.kafka_version}", f"port={s.kafka_port}", f"pid={st.pid}"
    ]  # fmt: skip


def test_up_again_is_a_no_op() -> None:
    svc = KafkaService(settings.load())
    pid = svc.status().pid
    assert svc.start() is False
    assert svc.status().pid == pid

    out = _cli("up", "--only", "kafka")
    assert out.returncode == 0, out.stderr
    assert "already running" in out.stdout and "nothing to do" in out.stdout
    assert KafkaService(settings.load()).status().pid == pid


def test_kafka_is_registered_first() -> None:
    # `up` starts in registry order and the pipeline needs Kafka before anything else.
    assert next(iter(SERVICES)) == "kafka"


def test_separate_instance_down_and_up(tmp_path: Path) -> None:
    """Start, check, stop a private broker: afterwards no process of ours, both ports free."""
    port, controller = base.free_port(), base.free_port()
    env = {
        "NEWSSTREAM_SERVICES_DIR": str(tmp_path / "services"),
        "NEWSSTREAM_KAFKA_PORT": str(port),
        "NEWSSTREAM_KAFKA_CONTROLLER_PORT": str(controller),
    }
    svc = KafkaService(
        settings.load().replace(
            services_dir=env["NEWSSTREAM_SERVICES_DIR"],
            kafka_port=port,
            kafka_controller_port=controller,
        )
    )
    try:
        up = _cli("up", "--only", "kafka", env=env)
        assert up.returncode == 0, up.stderr
        assert "kafka: started" in up.stdout
        st = svc.status()
        assert st.running and st.port == port
        pid = st.pid
        assert base.port_open(port) and base.port_open(controller)
        assert procs.pid_is_ours(pid, str(tmp_path))

        again = _cli("up", "--only", "kafka", env=env)
        assert "already running" in again.stdout

        down = _cli("down", "--only", "kafka", env=env)
        assert down.returncode == 0, down.stderr
        assert f"kafka: stopped (pid {pid})" in down.stdout
        assert not procs.pid_alive(pid)
        assert not base.port_in_use(port)
        assert not base.port_in_use(controller)
        assert not (tmp_path / "services" / "kafka" / "kafka.pid").exists()
        status = _cli("status", "--only", "kafka", env=env)
        assert status.returncode == 3 and "stopped" in status.stdout

        second_down = _cli("down", "--only", "kafka", env=env)
        assert "kafka: not running" in second_down.stdout

        # A restart reuses the formatted data dir (no reformat, same cluster).
        meta = (tmp_path / "services" / "kafka" / "data" / "meta.properties").read_text()
        assert svc.start() is True
        assert svc.healthy()
        assert (tmp_path / "services" / "kafka" / "data" / "meta.properties").read_text() == meta
    finally:
        svc.stop()
    assert not base.port_in_use(port)

    # A downgrade is refused with one line, before any download or start.
    older = settings.load().replace(
        services_dir=env["NEWSSTREAM_SERVICES_DIR"],
        cache_dir=str(tmp_path / "no-cache"),
        kafka_port=port,
        kafka_controller_port=controller,
        kafka_version="3.0.0",
    )
    with pytest.raises(base.ServiceError, match="set NEWSSTREAM_KAFKA_VERSION=") as err:
        KafkaService(older).start()
    assert "\n" not in str(err.value)
    assert not (tmp_path / "no-cache").exists()


def test_busy_port_is_reported_by_the_cli(tmp_path: Path) -> None:
    s = settings.load()  # the shared broker holds s.kafka_port
    env = {
        "NEWSSTREAM_SERVICES_DIR": str(tmp_path / "services"),
        "NEWSSTREAM_KAFKA_PORT": str(s.kafka_port),
        "NEWSSTREAM_KAFKA_CONTROLLER_PORT": str(base.free_port()),
    }
    out = _cli("up", "--only", "kafka", env=env)
    assert out.returncode == 1
    assert out.stderr.strip() == "kafka: error: " + base.busy_port_message(
        "kafka", s.kafka_port, "NEWSSTREAM_KAFKA_PORT"
    )


def test_failed_download_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(base.ServiceError) as err:
        base.maven_fetch(["org.newsstream.invalid:no-such-artifact:0.0.1"], tmp_path / "x", what="nothing")
    msg = str(err.value)
    assert msg.startswith("could not download nothing from Maven Central: ")
    assert "no-such-artifact" in msg
    assert "\n" not in msg
    assert base.fetched_jars(tmp_path / "x") is None
