"""Process supervision: pid files, liveness, ownership by command line, detached start, stop.

Shared by the local services (:mod:`streams.devservices`) and the demo's background worker and
search page (:mod:`streams.ops.demo`). A pid is trusted only with its command line (pids are
recycled) and never 0, 1 or our own process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from streams.settings import private_dir, write_private


def write_pid(path: Path, pid: int) -> None:
    """Write ``pid`` atomically (a half-written pid file must never be read), mode 0600."""
    private_dir(path.parent)
    write_private(path, f"{pid}\n")


def read_pid(path: Path) -> int | None:
    """The pid in ``path``, or None when the file is missing, garbage, 0 or 1.

    0 and 1 are refused: ``kill(0)``/``killpg(0)`` would signal our own process group, and 1
    is init; neither can be a service we started.
    """
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 1 else None


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our own child that exited (else it lingers as a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` runs (a zombie counts as dead)."""
    if not pid or pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def pid_cmdline(pid: int) -> str:
    """The command line of ``pid`` (NUL separators as spaces), '' if unknown."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pid_is_ours(pid: int | None, marker: str) -> bool:
    """Alive AND its command line contains ``marker`` (guards against a recycled pid)."""
    return pid_alive(pid) and marker in pid_cmdline(pid or 0)


def spawn(
    cmd: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``cmd`` detached in its own process group, output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(cwd) if cwd else None,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            close_fds=True,
        )
    return proc.pid


def stop_pid(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM the process (its whole group when it leads one), SIGKILL after ``timeout``.

    Returns True when the process is gone at the end. Never signals pid 0/1 or our own group.
    """
    if pid <= 1 or pid in (os.getpid(), os.getpgrp()):
        raise ValueError(f"refusing to signal pid {pid}")
    if not pid_alive(pid):
        return True
    try:
        group = os.getpgid(pid) == pid
    except ProcessLookupError:
        return True

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.2)
    else:
        send(signal.SIGKILL)
        end = time.monotonic() + 10
        while time.monotonic() < end and pid_alive(pid):
            time.sleep(0.1)
    if group:  # leftovers of the group (children that outlived the leader)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return not pid_alive(pid)
