"""``newsstream demo``: the whole job on the bundled sample articles, visible to a person.

``demo run`` starts a background worker (unless one answers already), publishes
``examples/articles.jsonl`` through ``newsstream produce`` and the raw bad records straight to the
input topic, waits with a progress bar until the pipeline has no lag left, then reports what
Elasticsearch and the dead-letter topic hold, and runs three example searches.
Every figure it prints is read back from Kafka or Elasticsearch, never from the sample file.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from streams import kafka_io, resources
from streams.index import es_client
from streams.ops import status
from streams.procs import pid_is_ours, read_pid, spawn, stop_pid, write_pid
from streams.settings import Settings, private_dir

# examples/ (top level) ships in the package as streams.examples: the demo runs from a wheel too.
EXAMPLES = resources.directory(resources.EXAMPLES)


# In the command line of the background worker and of nothing else we would ever signal.
WORKER_MARKER = "-m streams.cli worker"
WEB_MARKER = "-m streams.cli web"


def _worker_dir(s: Settings) -> Path:
    private_dir(s.services_dir)
    return private_dir(Path(s.services_dir) / "worker")


def worker_healthy(s: Settings) -> bool:
    """True when a worker answers on this configuration's web port."""
    try:
        with urllib.request.urlopen(f"http://{s.web_host}:{s.web_port}/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _start_background(
    s: Settings, name: str, marker: str, healthy: Any, what: str, timeout: float
) -> str:
    """Start ``python -m streams.cli <cmd>`` in the background (pid file + log) unless it answers."""
    if healthy(s):
        return "already running"
    wdir = _worker_dir(s)
    log = wdir / f"{name}.log"
    proc = spawn([sys.executable, *marker.split()], log)
    write_pid(wdir / f"{name}.pid", proc.pid)
    deadline = time.monotonic() + timeout
    while not healthy(s):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(f"error: {what} did not come up (log {log}):\n{tail}")
        time.sleep(0.5)
    return f"started (pid {proc.pid}, log {log})"


def _stop_background(s: Settings, name: str, marker: str) -> str:
    """Stop the background process of our pid file (SIGTERM, then SIGKILL).

    Only a pid above 1 that is alive and runs our command line is signalled: an empty or stale
    pid file (the pid reused by another program) is removed, nothing is killed.
    """
    pid_file = _worker_dir(s) / f"{name}.pid"
    if not pid_file.exists():
        return "not running"
    pid = read_pid(pid_file)
    pid_file.unlink()
    if pid is None or not pid_is_ours(pid, marker):
        return "not running (stale pid file removed)"
    return f"stopped (pid {pid})" if stop_pid(pid, timeout=30) else f"still running (pid {pid})"


def start_worker(s: Settings, timeout: float = 180.0) -> str:
    """Start ``newsstream worker`` in the background; no-op if one answers."""
    return _start_background(s, "worker", WORKER_MARKER, worker_healthy, "the worker", timeout)


def stop_worker(s: Settings) -> str:
    """Stop the background worker of our pid file, after checking the pid is it."""
    return _stop_background(s, "worker", WORKER_MARKER)


def web_url(s: Settings) -> str:
    return f"http://{s.ui_host}:{s.ui_port}/"


def web_healthy(s: Settings) -> bool:
    """True when a search page answers on this configuration's UI port."""
    try:
        with urllib.request.urlopen(web_url(s) + "health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def is_our_web(pid: int) -> bool:
    """The pid still runs ``newsstream web`` (a recycled pid is never signalled)."""
    return pid_is_ours(pid, WEB_MARKER)


def start_web(s: Settings, timeout: float = 60.0) -> str:
    """Start ``newsstream web`` in the background; no-op if one answers."""
    return _start_background(s, "web", WEB_MARKER, web_healthy, "the search page", timeout)


def stop_web(s: Settings) -> str:
    """Stop the background search page of our pid file, after checking the pid is it."""
    return _stop_background(s, "web", WEB_MARKER)


class LagUnknown(Exception):
    """Kafka could not say what the worker's group has committed (yet)."""


#: How long the lag may stay unknown before the demo gives up: a broker started seconds ago
#: answers "coordinator not available" until its offsets topic exists.
LAG_UNKNOWN_LIMIT = 60.0


def pipeline_lag(s: Settings) -> dict[str, int]:
    """Messages the worker's consumer group has not yet committed, per pipeline topic.

    A partition the group never committed counts whole: a worker still loading its models has
    processed nothing, which is not "no lag". Raises :class:`LagUnknown` when Kafka cannot say.
    """
    kafka = status.kafka_status(s, timeout=10.0, extra_groups=[s.app_id])
    if not kafka["ok"]:
        raise LagUnknown(kafka["error"])
    lag: dict[str, int] = {}
    for row in kafka["partitions"]:
        topic = row["topic"]
        if topic == s.topic_dlq or topic.startswith(s.app_id + "-"):
            continue
        group = row["groups"].get(s.app_id)
        behind = group["lag"] if group else max(row["end"] - row["begin"], 0)
        lag[topic] = lag.get(topic, 0) + int(behind)
    return lag


def wait_until_drained(s: Settings, published: int, timeout: float) -> dict[str, int]:
    """Progress bar over the pipeline's lag until it is zero three polls in a row."""
    from tqdm import tqdm

    quiet_polls = 0
    deadline = time.monotonic() + timeout
    unknown_since: float | None = None
    with tqdm(total=published, desc="pipeline", unit="msg", file=sys.stderr) as bar:
        while True:
            try:
                lag = pipeline_lag(s)
                unknown_since = None
            except LagUnknown as exc:  # a transient broker state: ask again, within limits
                now = time.monotonic()
                unknown_since = unknown_since or now
                if now - unknown_since > LAG_UNKNOWN_LIMIT or now > deadline:
                    raise SystemExit(f"error: {exc}") from exc
                bar.set_postfix_str("waiting for Kafka's group coordinator", refresh=True)
                time.sleep(1.0)
                continue
            outstanding = sum(lag.values())
            bar.n = max(0, published - min(published, outstanding))
            bar.set_postfix({t.rsplit(".", 1)[-1]: n for t, n in lag.items()}, refresh=True)
            quiet_polls = quiet_polls + 1 if outstanding == 0 else 0
            if quiet_polls >= 3:
                return lag
            if time.monotonic() > deadline:
                print(f"warning: still {outstanding} messages in flight after {timeout:.0f}s "
                      "(see `newsstream status`)", file=sys.stderr)
                return lag
            time.sleep(1.0)


def _terms(es: Any, index: str, field: str, size: int = 8) -> list[tuple[str, int]]:
    resp = es.search(index=index, size=0, aggs={"t": {"terms": {"field": field, "size": size}}})
    return [(b["key"], b["doc_count"]) for b in resp["aggregations"]["t"]["buckets"]]


def report(s: Settings, read: int) -> None:
    """Print counts, languages, top entities: all read back from ES and Kafka."""
    es = es_client.make_client(s)
    es.indices.refresh(index=s.es_alias)
    counts = status.es_status(s, timeout=30.0)
    kafka = status.kafka_status(s, timeout=10.0)
    if not counts["ok"] or not kafka["ok"]:
        raise SystemExit(f"error: {counts.get('error') or kafka.get('error')}")
    dead = kafka["topics"].get(s.topic_dlq, {}).get("messages", 0)
    print()
    print("== newsstream demo: results ==")
    print(f"read {read} | exact duplicates {counts['duplicate_copies']} | "
          f"near duplicates {counts['near_duplicates']} | dead-lettered {dead} | "
          f"indexed {counts['documents']}")
    langs = ", ".join(f"{k} {n}" for k, n in _terms(es, s.es_alias, "language", 20))
    print(f"languages: {langs}")
    for field, title in (("persons", "top persons"), ("organizations", "top organizations"),
                         ("locations", "top locations")):
        print(f"{title}: " + ", ".join(f"{k} ({n})" for k, n in _terms(es, s.es_alias, field)))


def example_searches(s: Settings) -> None:
    """Run three searches through the real CLI, as a user would type them.

    The English query is stemmed ("research" finds "researchers"), the Russian one inflected
    ("компания" finds "компании"), the third filters by the most frequent organization.
    """
    top_org = _terms(es_client.make_client(s), s.es_alias, "organizations", 1)
    searches = [
        ["search", "research funding", "--limit", "3"],
        ["search", "компания заказы", "--lang", "ru", "--limit", "3"],
    ]
    if top_org:
        searches.append(["search", top_org[0][0], "--entity", top_org[0][0], "--limit", "3"])
    for argv in searches:
        shown = " ".join(a if a.isascii() and " " not in a else repr(a) for a in argv)
        print(f"\n$ newsstream {shown}")
        sys.stdout.flush()
        subprocess.run([sys.executable, "-m", "streams.cli", *argv], check=False)


def publish_bad_records(s: Settings, path: Path) -> int:
    """Send the raw bad lines as they are: produce would refuse them, the worker must not."""
    producer = kafka_io.producer(s)
    n = 0
    try:
        for line in path.read_bytes().splitlines():
            producer.send(s.topic_articles, key=f"bad-{n}".encode(), value=line)
            n += 1
        producer.flush()
    finally:
        producer.close()
    return n
