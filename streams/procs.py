"""Process supervision on psutil: pid files, liveness, ownership, process trees, memory, CPU, stop.

The one place that inspects or signals processes: the local services (:mod:`streams.devservices`),
the demo's background worker and search page (:mod:`streams.ops.demo`), the NER pool's memory
report, and the tests and benchmarks that start workers and measure them. A pid read from a file
is trusted only with its command line (pids are recycled), and pid 0, pid 1 and our own process
group are never signalled: ``kill(0)``/``killpg(0)`` would hit ourselves, and 1 is init.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from streams.settings import private_dir, write_private

_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess)


# --- pid files ------------------------------------------------------------------------------------


def write_pid(path: Path, pid: int) -> None:
    """Write ``pid`` atomically (a half-written pid file must never be read), mode 0600."""
    private_dir(path.parent)
    write_private(path, f"{pid}\n")


def read_pid(path: Path) -> int | None:
    """The pid in ``path``, or None when the file is missing, garbage, 0 or 1."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 1 else None


# --- liveness and ownership -----------------------------------------------------------------------


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
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except _GONE:
        return False
    except psutil.AccessDenied:
        return True


def pid_cmdline(pid: int, settle: float = 0.2) -> str:
    """The command line of ``pid``, its arguments joined by spaces; '' if unknown.

    A process that has just been started reads as '' for a few milliseconds: the kernel lets
    ``Popen`` return once the new program's file descriptors are closed, before it sets up the
    argument area. An empty answer of a live process is asked again for up to ``settle`` s.
    """
    deadline = time.monotonic() + settle
    while True:
        try:
            cmd = " ".join(psutil.Process(pid).cmdline())
        except (psutil.Error, ValueError):
            return ""
        if cmd or time.monotonic() >= deadline:
            return cmd
        time.sleep(0.01)


def pid_is_ours(pid: int | None, marker: str) -> bool:
    """Alive AND its command line contains ``marker`` (guards against a recycled pid)."""
    return pid_alive(pid) and marker in pid_cmdline(pid or 0)


def _check_signallable(pid: int) -> None:
    if pid <= 1 or pid in (os.getpid(), os.getpgrp()):
        raise ValueError(f"refusing to signal pid {pid}")


# --- process trees --------------------------------------------------------------------------------


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and every process below it, parents first; empty when ``pid`` is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except _GONE:
        return []


def tree_pids(pid: int) -> list[int]:
    """The pids of :func:`tree`."""
    return [p.pid for p in tree(pid)]


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (empty when it is gone)."""
    try:
        return [p.pid for p in psutil.Process(pid).children()]
    except _GONE:
        return []


def pool_workers(pid: int) -> list[int]:
    """The multiprocessing workers ``pid`` spawned (not multiprocessing's resource tracker)."""
    out = []
    for child in children(pid):
        cmd = pid_cmdline(child)
        if ("spawn_main" in cmd or "multiprocessing" in cmd) and "resource_tracker" not in cmd:
            out.append(child)
    return sorted(out)


def role(pid: int) -> str:
    """A short name of what ``pid`` runs, for memory and CPU reports."""
    cmd = pid_cmdline(pid)
    if not cmd:
        return "?"
    if "multiprocessing" in cmd and "resource_tracker" in cmd:
        return "resource tracker"
    if "multiprocessing" in cmd or "spawn_main" in cmd:
        return "NER process"
    if "streams.cli" in cmd:
        return "worker (event loop)"
    return cmd[:40]


# --- memory ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Bytes of one process: resident (RSS), its share of shared pages (PSS), its own (USS)."""

    rss: int
    pss: int
    uss: int


def rss(pid: int) -> int | None:
    """Resident memory of ``pid`` in bytes; None when it is gone or not ours to read."""
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return None


def memory(pid: int) -> Memory | None:
    """RSS, PSS and USS of ``pid`` (PSS is RSS where the platform has no PSS); None if gone."""
    try:
        full = psutil.Process(pid).memory_full_info()
    except psutil.Error:
        return None
    return Memory(rss=int(full.rss), pss=int(getattr(full, "pss", full.rss)), uss=int(full.uss))


def peak_rss(pid: int) -> int | None:
    """The highest RSS ``pid`` ever had, in bytes (its current RSS where the kernel keeps none).

    psutil has no peak figure on Linux, and a sampled maximum misses short spikes: the kernel's
    high-water mark (``VmHWM``) is read from the process status for this one number.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return rss(pid)


# --- CPU ------------------------------------------------------------------------------------------


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (plus its reaped children's when asked); 0 if gone."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    own = t.user + t.system
    return own + t.children_user + t.children_system if with_children else own


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and every live process below it (0 when it is gone)."""
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine (all CPUs) since boot.

    Steal is time the hypervisor gave this machine's CPUs to someone else: counted apart, it is
    the part of the noise no process here can show.
    """
    t = psutil.cpu_times()
    steal = getattr(t, "steal", 0.0)
    idle = t.idle + getattr(t, "iowait", 0.0)
    guest = getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)  # already in user/nice
    return sum(t) - idle - steal - guest, steal


# --- environment ----------------------------------------------------------------------------------


@contextlib.contextmanager
def environ(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` over this process's environment for the block, as it was after (settings of a
    private namespace read in-process, the way a child started with that environment reads them).
    """
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: The children :func:`spawn` started as leaders of their own process group.
_GROUP_LEADERS: weakref.WeakSet[subprocess.Popen[bytes]] = weakref.WeakSet()


# --- start and stop -------------------------------------------------------------------------------


def spawn(
    cmd: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` detached in its own session and process group, output appended to ``log_path``.

    Its own group lets :func:`stop_pid` and :func:`stop_process` reach the helpers it starts, and
    keeps a terminal's Ctrl-C away from it.
    """
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
    _GROUP_LEADERS.add(proc)
    return proc


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _signal(pid: int, sig: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
        if group:
            os.killpg(pid, sig)
        else:
            psutil.Process(pid).send_signal(sig)


def group_alive(pgid: int) -> bool:
    """True while any process of process group ``pgid`` runs (zombies included)."""
    _check_signallable(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, timeout: float = 30.0, *, sig: int = signal.SIGTERM) -> bool:
    """``sig`` to the process (its whole group when it leads one), SIGKILL after ``timeout``.

    Returns True when the process is gone at the end; the rest of its group is killed then too.
    Never signals pid 0/1 or our own group.
    """
    _check_signallable(pid)
    if not pid_alive(pid):
        return True
    group = _leads_group(pid)
    _signal(pid, sig, group)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    else:
        _signal(pid, signal.SIGKILL, group)
        end = time.monotonic() + 10
        while time.monotonic() < end and pid_alive(pid):
            time.sleep(0.1)
    if group:  # leftovers of the group (children that outlived the leader)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return not pid_alive(pid)


def stop_process(
    proc: subprocess.Popen[bytes], timeout: float = 30.0, *, sig: int = signal.SIGTERM,
    sweep: bool = True,
) -> int | None:
    """Stop a child started in its own session: ``sig`` to its group, SIGKILL after ``timeout``.

    Returns its exit code (negative: the signal that ended it). With ``sweep`` the group's
    leftovers (helpers that outlived the leader) are killed too; without it a caller can check
    that they left on their own (:func:`group_alive`).
    """
    if proc.poll() is not None:
        # A leader that already exited may have left helpers in its group. A group with members
        # keeps its id (the kernel reuses no pid that names a live group), so the sweep reaches
        # our leftovers only; an empty group answers ESRCH.
        if sweep and proc in _GROUP_LEADERS:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode
    _check_signallable(proc.pid)
    if not _leads_group(proc.pid):
        raise ValueError(f"pid {proc.pid} does not lead its process group (start_new_session)")
    _signal(proc.pid, sig, group=True)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal(proc.pid, signal.SIGKILL, group=True)
        proc.wait(timeout=30)
    if sweep:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode


@contextlib.contextmanager
def suspended(pid: int) -> Iterator[None]:
    """SIGSTOP ``pid`` for the block, SIGCONT after (an unresponsive process, for failure tests)."""
    _check_signallable(pid)
    p = psutil.Process(pid)
    p.suspend()
    try:
        yield
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.resume()
