"""Processes, files and terminals: pid files checked before any signal, private state, no escapes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from streams import dlq, procs, terminal
from streams.cli import dlq as dlq_cli
from streams.devservices import base
from streams.index import search

ROOT = Path(__file__).resolve().parents[2]


def _stop_worker(services_dir: Path) -> subprocess.CompletedProcess[str]:
    """`newsstream demo stop-worker` in its own session: a stray killpg(0) hits only itself."""
    env = {**os.environ, "NEWSSTREAM_SERVICES_DIR": str(services_dir)}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "demo", "stop-worker"], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120, start_new_session=True,
    )  # fmt: skip


def test_stop_worker_with_an_empty_pid_file_signals_nothing(tmp_path: Path) -> None:
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "worker.pid").write_text("")
    done = _stop_worker(tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "stale pid file removed" in done.stdout
    assert not (tmp_path / "worker" / "worker.pid").exists()


@pytest.mark.parametrize("content", ["0", "1", "garbage"])
def test_stop_worker_refuses_pid_0_1_and_garbage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    from streams import settings
    from streams.ops import demo

    monkeypatch.setenv("NEWSSTREAM_SERVICES_DIR", str(tmp_path))
    signalled: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: signalled.append((pid, sig)))
    monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.append((pid, sig)))
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "worker.pid").write_text(content)
    assert demo.stop_worker(settings.load()) == "not running (stale pid file removed)"
    assert signalled == []


def test_stop_worker_leaves_a_process_that_is_not_our_worker(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (tmp_path / "worker").mkdir()
        (tmp_path / "worker" / "worker.pid").write_text(str(other.pid))
        from streams import settings
        from streams.ops import demo

        os.environ["NEWSSTREAM_SERVICES_DIR"] = str(tmp_path)
        try:
            assert demo.stop_worker(settings.load()) == "not running (stale pid file removed)"
        finally:
            del os.environ["NEWSSTREAM_SERVICES_DIR"]
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_stop_worker_stops_our_worker(tmp_path: Path) -> None:
    # the demo's marker in the command line, as `newsstream demo start-worker` writes it
    ours = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-m", "streams.cli", "worker"],
        start_new_session=True,
    )
    try:
        (tmp_path / "worker").mkdir()
        (tmp_path / "worker" / "worker.pid").write_text(str(ours.pid))
        done = _stop_worker(tmp_path)
        assert f"stopped (pid {ours.pid})" in done.stdout, done.stdout + done.stderr
        ours.wait(timeout=30)
    finally:
        if ours.poll() is None:
            ours.kill()
            ours.wait()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_service_dirs_are_private_and_pid_files_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = tmp_path / "services"
        root.mkdir(mode=0o755)  # an old, world-readable dir is tightened
        d = base.service_dir(root, "kafka")
        procs.write_pid(d / "kafka.pid", 4242)
    finally:
        os.umask(old)
    assert _mode(root) == 0o700 and _mode(d) == 0o700
    assert _mode(d / "kafka.pid") == 0o600


def test_faust_tables_and_router_pages_are_off() -> None:
    from streams.runtime.app import app

    assert app.conf.web_tables_enabled is False
    assert app.conf.web_router_enabled is False
    assert app.conf.web_enabled is True  # /health and /metrics stay


EVIL = "Title\x1b]0;owned\x07 \x1b[2J\x1b[31mred\x1b[0m \x9b31m c1 \x07bell\x00nul\rcr"


def test_terminal_safe_strips_escapes_and_controls() -> None:
    out = terminal.safe(EVIL)
    assert not any(ord(c) < 0x20 and c not in "\n\t" for c in out)
    assert not any(0x7F <= ord(c) <= 0x9F for c in out)
    assert "owned" not in out and out.startswith("Title")
    assert "red" in out and "bell" in out
    assert terminal.safe("Пекин 北京 café\tx\ny") == "Пекин 北京 café\tx\ny"
    assert terminal.json_safe('{"t": "a\x9bb"}') == '{"t": "a\\u009bb"}'


def _controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def test_search_output_prints_no_escape_from_an_article() -> None:
    resp = {"hits": {"total": {"value": 1}, "hits": [{
        "_source": {"title": EVIL, "source": "evil\x1b[2J", "url": "https://x/\x1b[1m",
                    "summary": EVIL, "language": "en"},
        "highlight": {"body": [f"<em>hit</em> {EVIL}"]},
    }]}}
    for color in (False, True):
        out = search.format_hits(resp, search.SearchRequest(query="q"), color=color)
        assert "owned" not in out
        if not color:
            assert _controls(out) == []


def test_dlq_list_prints_no_escape_from_a_dead_letter() -> None:
    letter = dlq.DeadLetter(0, 7, 0, {
        "reason": "schema\x1b[2J", "stage": "validate", "error": EVIL, "preview": EVIL,
        "topic": "t\x1b[1m", "partition": 0, "offset": 1, "timestamp": "2026-01-01T00:00:00Z",
    })
    line = dlq_cli.format_row(letter, width=1000)
    assert _controls(line) == [] and "owned" not in line
