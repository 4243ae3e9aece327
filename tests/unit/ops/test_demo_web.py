"""``newsstream demo stop-web`` signals only a process that still runs ``newsstream web``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams import settings
from streams.ops import demo


def test_stop_web_leaves_a_recycled_pid_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_SERVICES_DIR", str(tmp_path))
    s = settings.load()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             start_new_session=True)
    try:
        (tmp_path / "worker").mkdir()
        (tmp_path / "worker" / "web.pid").write_text(str(other.pid))
        assert demo.stop_web(s) == "not running (stale pid file removed)"
        assert other.poll() is None  # not signalled
        assert not (tmp_path / "worker" / "web.pid").exists()
        assert demo.stop_web(s) == "not running"
    finally:
        other.kill()
        other.wait()


def test_a_web_process_is_recognised_by_its_command_line() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                             "-m", "streams.cli", "web"], start_new_session=True)
    try:
        assert demo.is_our_web(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert not demo.is_our_web(proc.pid)
