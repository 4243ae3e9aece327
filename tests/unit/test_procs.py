"""Process supervision on real child processes: pid files, liveness, trees, memory, CPU, stop."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from streams import procs

PY = sys.executable


def until(pred: Callable[[], object], timeout: float = 20.0) -> object:
    """Poll ``pred`` until truthy; fail after ``timeout`` (a child that never gets there)."""
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
    return value


@pytest.fixture()
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Children of a test, killed with their groups at the end whatever the test did."""
    children: list[subprocess.Popen[bytes]] = []
    yield children
    for child in children:
        procs.stop_process(child, timeout=0, sig=signal.SIGKILL)


def spawn(started: list[subprocess.Popen[bytes]], cmd: list[str], tmp: Path) -> subprocess.Popen[bytes]:
    proc = procs.spawn(cmd, tmp / "log", cwd=tmp)
    started.append(proc)
    return proc


# --- pid files --------------------------------------------------------------------------------


def test_pid_file_round_trip_refuses_garbage_0_and_1_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "x" / "svc.pid"
    assert procs.read_pid(path) is None
    procs.write_pid(path, 4242)
    assert procs.read_pid(path) == 4242
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for text in ("0", "1", "", "-5", "garbage\n", "12 13"):
        path.write_text(text)
        assert procs.read_pid(path) is None, text


# --- liveness and ownership ---------------------------------------------------------------------


def test_alive_and_ours_only_with_the_command_line(tmp_path: Path, started: list) -> None:
    proc = spawn(started, ["sleep", "300"], tmp_path)
    assert procs.pid_alive(proc.pid)
    until(lambda: procs.pid_cmdline(proc.pid) == "sleep 300")  # once it has exec'd
    assert procs.pid_is_ours(proc.pid, "sleep 300")
    assert not procs.pid_is_ours(proc.pid, "something else")
    assert not procs.pid_is_ours(None, "sleep") and not procs.pid_alive(0)
    proc.kill()
    proc.wait()
    assert not procs.pid_alive(proc.pid) and procs.pid_cmdline(proc.pid) == ""


def test_a_child_is_ours_as_soon_as_popen_returns() -> None:
    # right after exec the kernel shows an empty command line for a moment: it must not read
    # as someone else's process
    for _ in range(20):
        proc = subprocess.Popen([PY, "-c", "import time; time.sleep(60)", "-m", "marker"])
        try:
            assert procs.pid_is_ours(proc.pid, "-m marker")
        finally:
            proc.kill()
            proc.wait()


def test_a_zombie_counts_as_dead(tmp_path: Path, started: list) -> None:
    # the exec'd sleep never waits for its exited child: that child stays a zombie
    proc = spawn(started, ["sh", "-c", "sleep 0 & echo $! > child; exec sleep 300"], tmp_path)
    zombie = int(until(lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text()))
    until(lambda: not procs.pid_alive(zombie))
    assert psutil.Process(zombie).status() == psutil.STATUS_ZOMBIE  # still in the table
    assert procs.pid_alive(proc.pid)


# --- trees -------------------------------------------------------------------------------------


def test_tree_and_children(tmp_path: Path, started: list) -> None:
    script = "sh -c 'sleep 301 & wait' & sleep 302 & wait"
    proc = spawn(started, ["sh", "-c", script], tmp_path)
    until(lambda: len(procs.tree_pids(proc.pid)) == 4)
    cmds = sorted(procs.pid_cmdline(p) for p in procs.tree_pids(proc.pid))
    assert cmds == sorted(["sh -c " + script, "sh -c sleep 301 & wait", "sleep 301", "sleep 302"])
    assert procs.tree_pids(proc.pid)[0] == proc.pid
    assert sorted(procs.pid_cmdline(p) for p in procs.children(proc.pid)) == [
        "sh -c sleep 301 & wait", "sleep 302"]
    proc.kill()
    proc.wait()
    assert procs.tree_pids(proc.pid) == [] and procs.children(proc.pid) == []


def test_pool_workers_are_the_spawned_processes_not_the_resource_tracker(
    tmp_path: Path, started: list
) -> None:
    code = ("import multiprocessing as mp, time\n"
            "if __name__ == '__main__':\n"
            "    pool = mp.get_context('spawn').Pool(2)\n"
            "    pool.map(abs, range(4))\n"
            "    open('ready', 'w').close()\n"
            "    time.sleep(300)\n")
    (tmp_path / "pool.py").write_text(code)
    proc = spawn(started, [PY, str(tmp_path / "pool.py")], tmp_path)
    until(lambda: (tmp_path / "ready").exists(), 60)
    workers = procs.pool_workers(proc.pid)
    assert len(workers) == 2
    assert {procs.role(p) for p in workers} == {"NER process"}
    others = set(procs.children(proc.pid)) - set(workers)
    assert {procs.role(p) for p in others} <= {"resource tracker"}


# --- memory and CPU -----------------------------------------------------------------------------


def test_memory_and_the_peak_that_sampling_would_miss(tmp_path: Path, started: list) -> None:
    code = ("import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); del b;"
            "open('freed', 'w').close(); time.sleep(300)")
    proc = spawn(started, [PY, "-c", code], tmp_path)
    until(lambda: (tmp_path / "freed").exists(), 30)
    m = procs.memory(proc.pid)
    assert m is not None and 0 < m.uss <= m.rss and 0 < m.pss <= m.rss
    assert procs.rss(proc.pid) == pytest.approx(m.rss, rel=0.2)
    assert m.rss < 150 * 2**20
    if sys.platform == "linux":
        assert (procs.peak_rss(proc.pid) or 0) > 200 * 2**20
    proc.kill()
    proc.wait()
    assert procs.memory(proc.pid) is None and procs.rss(proc.pid) is None


def test_cpu_of_a_process_its_tree_and_the_machine(tmp_path: Path, started: list) -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass\n"
    busy0, _ = procs.machine_cpu()
    own0 = procs.cpu_seconds(os.getpid(), with_children=True)
    done = subprocess.run([PY, "-c", spin], check=True)
    assert done.returncode == 0
    assert procs.cpu_seconds(os.getpid(), with_children=True) - own0 >= 0.5  # reaped child
    assert procs.machine_cpu()[0] - busy0 >= 0.5
    # a live tree: the shell's spinning child counts for the shell's tree, not for the shell
    (tmp_path / "spin.py").write_text(spin + "open('spun', 'w').close()\ntime.sleep(300)\n")
    proc = spawn(started, ["sh", "-c", f"{PY} spin.py & wait"], tmp_path)
    until(lambda: (tmp_path / "spun").exists(), 60)
    assert procs.tree_cpu_seconds(proc.pid) >= 0.5 > procs.cpu_seconds(proc.pid)
    proc.kill()
    proc.wait()
    assert procs.cpu_seconds(proc.pid) == 0.0


# --- start and stop -----------------------------------------------------------------------------


def test_spawn_detaches_into_its_own_session_and_appends_to_the_log(
    tmp_path: Path, started: list
) -> None:
    (tmp_path / "log").write_text("before\n")
    proc = spawn(started, [PY, "-c", "import os, sys; print(os.getsid(0), sys.stdin.read() == '')"],
                 tmp_path)
    assert proc.wait(timeout=30) == 0
    assert (tmp_path / "log").read_text() == f"before\n{proc.pid} True\n"


def test_stop_pid_stops_the_whole_group(tmp_path: Path, started: list) -> None:
    proc = spawn(started, ["sh", "-c", "sleep 300 & echo $! > child; wait"], tmp_path)
    child = int(until(lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text()))
    assert procs.pid_alive(child)
    assert procs.stop_pid(proc.pid, timeout=5)
    assert not procs.pid_alive(proc.pid) and not procs.pid_alive(child)


def test_stop_pid_kills_what_ignores_sigterm(tmp_path: Path, started: list) -> None:
    # the child ignores SIGTERM; its parent shell records how it ended (128 + signal number)
    script = "(trap '' TERM; exec sleep 300) & echo $! > child; wait $!; echo $? > status; sleep 300"
    spawn(started, ["sh", "-c", script], tmp_path)
    child = int(until(lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text()))
    until(lambda: procs.pid_cmdline(child) == "sleep 300")
    assert procs.stop_pid(child, timeout=1)
    status = until(lambda: (tmp_path / "status").exists() and (tmp_path / "status").read_text())
    assert int(str(status)) == 128 + signal.SIGKILL


def test_never_signals_0_1_or_our_own_group() -> None:
    for pid in (0, 1, -1, os.getpid(), os.getpgrp()):
        with pytest.raises(ValueError):
            procs.stop_pid(pid)
        with pytest.raises(ValueError):
            procs.group_alive(pid)
        with pytest.raises(ValueError), procs.suspended(pid):
            pass


def test_stop_process_returns_the_exit_code_and_sweeps_the_group(
    tmp_path: Path, started: list
) -> None:
    # the leader exits on SIGTERM at once; its child ignores SIGTERM and stays in the group
    script = "(trap '' TERM; exec sleep 300) & echo $! > child; wait"
    proc = spawn(started, ["sh", "-c", script], tmp_path)
    child = int(until(lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text()))
    until(lambda: procs.pid_cmdline(child) == "sleep 300")
    assert procs.stop_process(proc, timeout=10, sweep=False) == -signal.SIGTERM
    assert procs.group_alive(proc.pid) and procs.pid_alive(child)  # a leftover, not swept
    # the leader is gone: stopping it again sweeps what it left in its group
    assert procs.stop_process(proc) == -signal.SIGTERM
    until(lambda: not procs.pid_alive(child))

    (tmp_path / "b").mkdir()
    again = spawn(started, ["sh", "-c", script], tmp_path / "b")
    other = int(until(lambda: (tmp_path / "b" / "child").exists()
                      and (tmp_path / "b" / "child").read_text()))
    until(lambda: procs.pid_cmdline(other) == "sleep 300")
    assert procs.stop_process(again, timeout=10) == -signal.SIGTERM
    until(lambda: not procs.pid_alive(other))
    assert procs.stop_process(again) == -signal.SIGTERM  # already stopped: just the code


def test_stop_process_refuses_a_child_outside_its_own_group() -> None:
    proc = subprocess.Popen(["sleep", "300"])
    try:
        with pytest.raises(ValueError, match="process group"):
            procs.stop_process(proc)
    finally:
        proc.kill()
        proc.wait()


def test_suspended_stops_the_process_for_the_block(tmp_path: Path, started: list) -> None:
    proc = spawn(started, ["sleep", "300"], tmp_path)
    until(lambda: procs.pid_cmdline(proc.pid) == "sleep 300")
    status = psutil.Process(proc.pid).status
    with procs.suspended(proc.pid):
        until(lambda: status() == psutil.STATUS_STOPPED)  # signals are delivered asynchronously
    until(lambda: status() in (psutil.STATUS_SLEEPING, psutil.STATUS_RUNNING))
