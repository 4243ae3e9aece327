"""Pipeline benchmark: real Kafka -> worker -> Elasticsearch against the raw NER ceiling.

    make bench            # services up, setup, then this script with its defaults
    .venv/bin/python bench/bench_pipeline.py [--n 2000] [--file F.jsonl] [--latency-seconds 60]
                                             [--naive-n 300] [--timeout 1800] [--output BENCHMARKS.md]

Measured in one run, on the same texts, with Kafka and Elasticsearch running beside it:

1. **ceiling**: raw NER-only ``nlp.pipe(texts, n_process=P)`` (``bench_enrich.raw_pipe``: the
   same NER-only reduction of the same English model, the same kept labels) over every text the
   enrich stage runs NER on (title, summary, body) of the N measured articles; P =
   ``NEWSSTREAM_NLP_PROCESSES``. Measured before the worker starts and again at the end
   (``--ceiling-rounds``), with no worker running; the mean is the ceiling.
2. **pipeline throughput**: N articles published at once to a private input topic; articles/s
   from the first publish until Elasticsearch's count (a plain count, no forced refresh: what a
   search sees) reaches them all. A warm-up batch goes through first, so model loading and the
   consumer group's join are not counted; then copies of its documents go through a scratch
   index and a scratch topic, so a freshly started Elasticsearch or Kafka has compiled its hot
   paths (the NER server is warmed the same way before the ceiling).
3. **latency** at about half the maximum rate: fresh articles published at a steady
   0.5 x (measured pipeline throughput) for ``--latency-seconds``; each article's time from its
   publish to the first ``ids`` search that finds it (polled every 0.1 s; searches, unlike
   ``mget``, see only refreshed segments, so the 1 s refresh interval is included).
4. **peak RSS** of the worker and every process below it (the NER pool), and of the local
   CoreNLP server when that backend is in use, sampled from /proc.
5. **naive baseline**: ``bench/baseline_naive.py``, one kafka-python consumer loop doing the same
   work serially with one ``es.index()`` per article, on the first ``--naive-n`` of the same
   articles, timed like the pipeline.
6. **pipeline throughput again** (``--pipeline-rounds``): the same articles through a fresh
   namespace and worker; the pipeline's figure is the mean of the two rounds, and rounds more
   than 10 % apart mark the run UNRELIABLE, like the ceiling's.

Every run uses a private namespace (topics, alias, consumer group, Faust data dir, web port),
removed at the end. Bounded in time: ``--timeout`` for the whole run, ``--stall`` without
progress, each failing with a message and the tail of the worker's log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import corpus
import psutil
from bench_enrich import raw_pipe

from streams import kafka_io, procs
from streams.devservices.base import free_port
from streams.enrich.entities import CORENLP, NerConfig
from streams.index import es_client
from streams.ingest import contract
from streams.ops import status
from streams.settings import REPO_ROOT, Settings, load

HERE = Path(__file__).resolve().parent
P99_TARGET_S = 2.0
RATIO_TARGET = 0.90
NAIVE_TARGET = 3.0  # the pipeline against the naive loop
QUIET_CORES = 0.2  # more CPU than this used by other processes during a phase: say so
CEILING_DRIFT = 0.10  # ceiling rounds further apart than this: the machine changed under us
PIPELINE_DRIFT = 0.10  # the same for the pipeline's throughput rounds
SCALE_TARGET = 0.90  # N workers with P processes in all against one worker with P processes


class BenchError(Exception):
    """A phase failed or ran out of time; the message says which and why."""


# --- time bounds ----------------------------------------------------------------------------------


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise BenchError(f"--timeout {self.seconds:.0f}s reached during {what}")


def exit_code(exc: BaseException) -> int:
    """The exit code of a run that ended with ``exc``, after saying why: 130 for Ctrl-C, else 1."""
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, BenchError):
        print(f"error: {exc}", file=sys.stderr)
    else:
        traceback.print_exc()
    return 1


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# --- a private namespace --------------------------------------------------------------------------


@dataclass
class Namespace:
    """Topics, alias, consumer group, Faust data dir and web port that belong to one run only."""

    name: str
    data_dir: Path
    web_port: int
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, tmp: Path) -> Namespace:
        ns = cls(name, tmp / name, free_port())
        ns.env = {
            "NEWSSTREAM_TOPIC_ARTICLES": f"{name}.articles",
            "NEWSSTREAM_TOPIC_PREFIX": name,
            "NEWSSTREAM_TOPIC_DLQ": f"{name}.dlq",
            "NEWSSTREAM_ES_ALIAS": name,
            "NEWSSTREAM_APP_ID": name,
            "NEWSSTREAM_DATA_DIR": str(ns.data_dir),
            "NEWSSTREAM_WEB_PORT": str(ns.web_port),
        }
        return ns

    def settings(self) -> Settings:
        with procs.environ(self.env):
            return load()

    def full_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def setup(self) -> None:
        """``newsstream setup`` in this namespace (template, alias, topics)."""
        proc = subprocess.run(
            [sys.executable, "-m", "streams.cli", "setup"], cwd=REPO_ROOT, env=self.full_env(),
            capture_output=True, text=True, timeout=180, check=False,
        )
        if proc.returncode != 0:
            raise BenchError(f"newsstream setup failed:\n{proc.stdout}{proc.stderr}")


def cleanup(prefix: str, base: Settings) -> list[str]:
    """Delete every topic, index and template whose name starts with this run's prefix."""
    notes: list[str] = []
    try:
        admin = kafka_io.admin(base)
        try:
            mine = [t for t in admin.list_topics() if t.startswith((f"{prefix}.", f"{prefix}-"))]
            if mine:
                admin.delete_topics(mine)
            notes.append(f"{len(mine)} topics deleted")
        finally:
            admin.close()
    except Exception as exc:
        notes.append(f"topics not deleted: {exc!r}")
    try:
        es = es_client.make_client(base)
        # names, not a wildcard: Elasticsearch refuses wildcard deletes by default
        indices = sorted(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
        for index in indices:
            es.options(ignore_status=404).indices.delete(index=index)
        found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
        templates = [t["name"] for t in found.get("index_templates", [])]
        for name in templates:
            es.options(ignore_status=404).indices.delete_index_template(name=name)
        notes.append(f"{len(indices)} indices and {len(templates)} templates deleted")
    except Exception as exc:
        notes.append(f"indices not deleted: {exc!r}")
    return notes


# --- processes and memory -------------------------------------------------------------------------


def describe_pid(pid: int) -> str:
    """What ``pid`` runs, for the memory and CPU rows."""
    return "naive loop" if "baseline_naive" in procs.pid_cmdline(pid) else procs.role(pid)


def not_yet_exec(pid: int, young: float = 2.0) -> bool:
    """True for a child caught between fork and exec: a few seconds old, with its parent's
    command line. Its RSS then is the parent's pages (shared copy-on-write) and its name the
    parent's, so a sample of it would be wrong twice over."""
    try:
        p = psutil.Process(pid)
        if time.time() - p.create_time() > young:
            return False
        return p.cmdline() == psutil.Process(p.ppid()).cmdline()
    except (psutil.Error, OSError):
        return False


class RssSampler:
    """Samples the RSS of a process tree every ``interval`` s; keeps the peaks (bytes).

    ``also``: other processes (pid -> name) counted in the total, e.g. the NER server.
    """

    def __init__(self, pid: int, interval: float = 0.25, also: dict[int, str] | None = None
                 ) -> None:
        self.pid = pid
        self.interval = interval
        self.also = dict(also or {})
        self.peak_total = 0
        self.peak_by_pid: dict[int, int] = {}
        self.names: dict[int, str] = dict(self.also)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in [*procs.tree_pids(self.pid), *self.also]:
                if p not in self.also and p != self.pid and not_yet_exec(p):
                    continue
                rss = procs.rss(p) or 0
                total += rss
                if rss > self.peak_by_pid.get(p, 0):
                    self.peak_by_pid[p] = rss
                    if p not in self.names:
                        self.names[p] = describe_pid(p)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self) -> str:
        parts = [
            f"{self.names.get(p, '?')} {rss / 2**20:.0f}"
            for p, rss in sorted(self.peak_by_pid.items(), key=lambda kv: -kv[1])
            if rss > 0
        ]
        return f"{self.peak_total / 2**30:.2f} GiB total (per process, MiB: {', '.join(parts)})"


def service_pid(s: Settings, name: str, pid_file: str) -> int | None:
    """The pid of a local service of ``newsstream services`` (None when it runs elsewhere)."""
    return procs.read_pid(Path(s.services_dir).expanduser() / name / pid_file)


def ner_server(s: Settings) -> dict[int, str]:
    """The local NER server (pid -> name) when the CoreNLP backend is in use, else nothing:
    its memory is the NER's as much as the NER processes' is. Found by the service's pid file,
    else as the CoreNLP server listening on the configured port (started by another checkout)."""
    if not s.corenlp:
        return {}
    pid = service_pid(s, "corenlp", "corenlp.pid") or listener(s.corenlp_port, CORENLP_CLASS)
    return {pid: "CoreNLP server"} if pid is not None and procs.rss(pid) else {}


CORENLP_CLASS = "StanfordCoreNLPServer"


def listener(port: int, marker: str) -> int | None:
    """The pid listening on ``port`` whose command line holds ``marker`` (None if none)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    for c in conns:
        if (c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
                and marker in procs.pid_cmdline(c.pid, settle=0)):
            return int(c.pid)
    return None


def pin_cores(s: Settings, spec: str) -> tuple[str, Callable[[], None]]:
    """Give the local NER server the CPUs in ``spec`` and everything else the other CPUs.

    Models a deployment where the NER server has cores of its own (a machine of its own, or
    cores reserved for it): Kafka, Elasticsearch, this process and all it starts (worker, NER
    processes, the ceiling's client processes, the naive loop) share the rest, so the ratio
    shows whether the pipeline keeps the server busy rather than how much CPU it takes from it.
    Every thread of each process is pinned (a process's own affinity covers one thread only).
    Returns a description and a function that gives every process all CPUs back.
    """
    allowed = os.sched_getaffinity(0)
    server_cpus = {int(c) for c in spec.split(",") if c.strip()}
    rest = allowed - server_cpus
    if not server_cpus <= allowed or not rest:
        raise BenchError(f"--ner-server-cpus {spec}: need CPUs among {sorted(allowed)}, "
                         "leaving at least one for everything else")
    server = list(ner_server(s))
    others = [service_pid(s, "kafka", "kafka.pid"), service_pid(s, "elasticsearch", "es.pid")]
    if not server or None in others:
        raise BenchError("--ner-server-cpus needs the local services of `newsstream services up` "
                         "(Kafka, Elasticsearch and the CoreNLP server)")
    # the server last: it wins should it run below one of the others
    layout = [(pid, rest) for pid in [*others, os.getpid()] if pid is not None]
    layout += [(pid, server_cpus) for pid in server]

    def apply(pins: list[tuple[int, set[int]]]) -> None:
        for root, cpus in pins:
            for proc in procs.tree(root):
                with contextlib.suppress(psutil.Error, OSError):
                    for thread in proc.threads():
                        with contextlib.suppress(OSError):
                            os.sched_setaffinity(thread.id, cpus)

    apply(layout)
    desc = (f"the CoreNLP server on CPU {','.join(map(str, sorted(server_cpus)))}, everything "
            f"else (Kafka, Elasticsearch, the benchmark, the worker and its processes) on CPU "
            f"{','.join(map(str, sorted(rest)))} (`--ner-server-cpus {spec}`)")
    return desc, lambda: apply([(root, allowed) for root, _ in layout])


class CpuMeter:
    """Where the CPU went between two snapshots, in cores: per component and everything else.

    Why: the ratio to the ceiling only means something if the reader sees what competed for the
    two cores (Kafka, Elasticsearch, the event loop, other users of the machine).
    """

    def __init__(self, groups: dict[str, Callable[[], float]]) -> None:
        self.groups = groups
        self.t0 = time.monotonic()
        self.start = {k: f() for k, f in groups.items()}
        self.busy0, self.steal0 = procs.machine_cpu()

    def cores(self) -> dict[str, float]:
        secs = max(1e-9, time.monotonic() - self.t0)
        out = {k: (f() - self.start[k]) / secs for k, f in self.groups.items()}
        busy, steal = procs.machine_cpu()
        out["everything else"] = max(0.0, (busy - self.busy0) / secs - sum(out.values()))
        out["steal"] = (steal - self.steal0) / secs
        return out

    @staticmethod
    def describe(cores: dict[str, float]) -> str:
        total = sum(v for k, v in cores.items() if k != "steal")
        parts = ", ".join(f"{k} {v:.2f}" for k, v in cores.items() if k != "steal")
        return f"{total:.2f} cores busy: {parts} (hypervisor steal {cores.get('steal', 0.0):.2f})"


#: The NER server's CPU is NER work (ceiling and pipeline alike), not another user's noise.
CORENLP_GROUP = "CoreNLP server"


def service_groups(s: Settings) -> dict[str, Callable[[], float]]:
    groups: dict[str, Callable[[], float]] = {}
    for label, name, pid_file in (("Kafka", "kafka", "kafka.pid"),
                                  ("Elasticsearch", "elasticsearch", "es.pid"),
                                  (CORENLP_GROUP, "corenlp", "corenlp.pid")):
        pid = service_pid(s, name, pid_file)
        if pid is not None and procs.cpu_seconds(pid) > 0:
            groups[label] = lambda pid=pid: procs.tree_cpu_seconds(pid)
    return groups


class Worker:
    """``newsstream worker`` in its own session, with a namespace's environment and a log file."""

    def __init__(self, ns: Namespace, log_path: Path, command: Sequence[str] = ()) -> None:
        self.ns = ns
        self.log_path = log_path
        self.command = list(command) or [sys.executable, "-m", "streams.cli", "worker"]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, deadline: Deadline, timeout: float = 240.0) -> None:
        self.proc = procs.spawn(self.command, self.log_path, cwd=REPO_ROOT, env=self.ns.full_env())
        end = time.monotonic() + min(timeout, deadline.left())
        while not self.healthy():
            if self.proc.poll() is not None:
                raise BenchError(f"the worker exited with {self.proc.returncode}:\n{self.tail()}")
            if time.monotonic() > end:
                raise BenchError(f"the worker did not answer /health in {timeout:.0f}s:\n{self.tail()}")
            time.sleep(0.5)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ns.web_port}/health", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def metrics(self) -> dict[str, float]:
        """The worker's Prometheus samples (name -> sum over labels); empty if it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ns.web_port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        return status.metric_sums(text)

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(f"the worker died (exit {self.proc.returncode}):\n{self.tail()}")

    def tail(self, n: int = 25) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:]) + f"\n(log: {self.log_path})"

    def stop(self) -> None:
        """SIGTERM to the worker's process group (ours alone), SIGKILL after 30 s."""
        if self.proc is not None:
            procs.stop_process(self.proc, timeout=30)


# --- publishing and "searchable" ------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What to send for one record, computed before any clock runs."""

    id: str
    key: bytes
    value: bytes


def prepare(records: Sequence[dict[str, Any]]) -> list[Prepared]:
    out = []
    for rec in records:
        article = corpus.parse(rec)
        out.append(Prepared(article.id, contract.message_key(article), corpus.encode(rec)))
    return out


def count(es: Any, alias: str) -> int:
    """Documents a search sees now (no forced refresh)."""
    return int(es.count(index=alias)["count"])


def wait_count(
    es: Any, alias: str, target: int, deadline: Deadline, stall: float, what: str,
    alive: Callable[[], None] = lambda: None, interval: float = 0.2,
    tail: Callable[[], str] = lambda: "",
) -> float:
    """Poll the count until it reaches ``target``; returns the monotonic time it did."""
    last, last_change = -1, time.monotonic()
    while True:
        now = time.monotonic()
        n = count(es, alias)
        if n >= target:
            return now
        if n != last:
            last, last_change = n, now
        if now - last_change > stall:
            raise BenchError(
                f"{what}: no progress for {stall:.0f}s ({n} of {target} searchable)\n{tail()}")
        if deadline.left() <= 0:
            raise BenchError(f"--timeout {deadline.seconds:.0f}s reached during {what} "
                             f"({n} of {target} searchable)\n{tail()}")
        alive()
        time.sleep(interval)


def publish_all(s: Settings, items: Sequence[Prepared]) -> tuple[float, float]:
    """Send everything as fast as the producer goes; (monotonic first send, flushed)."""
    producer = kafka_io.producer(s)
    try:
        t0 = time.monotonic()
        for it in items:
            producer.send(s.topic_articles, key=it.key, value=it.value)
        kafka_io.flush(producer)
        return t0, time.monotonic()
    finally:
        producer.close()


WARM_ROUND = 2000  # documents (or messages) per warm-up round
WARM_MAX_ROUNDS = 12
WARM_SETTLED = 0.15  # a round within this share of the previous one's CPU per item: warm


def _warm_rounds(what: str, cpu: Callable[[], float] | None,
                 one_round: Callable[[int], None]) -> str:
    """Rounds of ``one_round(round)`` until the service's CPU per round settles (a fresh JVM
    compiles its hot paths over the first thousands of items); a summary of the CPU per item."""
    per_item: list[float] = []
    for r in range(WARM_MAX_ROUNDS):
        c0 = cpu() if cpu else 0.0
        one_round(r)
        if cpu is None:
            return f"{what}: 1 round (its CPU is not measurable here)"
        per_item.append(1000 * (cpu() - c0) / WARM_ROUND)
        if len(per_item) >= 2 and abs(per_item[-1] - per_item[-2]) <= WARM_SETTLED * per_item[-2]:
            break
    steps = " -> ".join(f"{v:.2f}" for v in per_item)
    return f"{what}: {len(per_item)} rounds of {WARM_ROUND}, ms of CPU per item {steps}"


def warm_services(s: Settings, es: Any) -> str:
    """Run Elasticsearch's and Kafka's hot paths before the clock starts; a one-line summary.

    A node started just before the benchmark spends several CPU-seconds compiling its indexing
    code (several times the CPU per document over the first thousands: BENCHMARKS.md), which a
    long-running pipeline never pays again. The warm-up
    documents, already indexed by the worker, are copied under new ids into a scratch index
    of the same template and into a scratch topic (produced and consumed back), round after
    round until the service's CPU per document settles; both are deleted at the end.
    """
    from elasticsearch import helpers
    from kafka import TopicPartition
    from kafka.admin import NewTopic

    docs = [h["_source"] for h in helpers.scan(es, index=s.es_alias, query={"query": {"match_all": {}}})]
    if not docs:
        return "nothing to warm with"
    groups = service_groups(s)
    scratch = f"{s.es_alias}-warmup"

    def es_round(r: int) -> None:
        for start in range(0, WARM_ROUND, 200):
            ops: list[Any] = []
            for i in range(start, start + 200):
                ops += [{"update": {"_id": f"w{r}-{i}", "_index": scratch}},
                        {"doc": docs[i % len(docs)], "doc_as_upsert": True}]
            es.bulk(operations=ops, refresh=(start // 200) % 3 == 0)

    es.options(ignore_status=404).indices.delete(index=scratch)
    try:
        es_note = _warm_rounds("Elasticsearch", groups.get("Elasticsearch"), es_round)
    finally:
        es.options(ignore_status=404).indices.delete(index=scratch)

    topic = f"{s.topic_prefix}.warmup"
    values = [json.dumps(d).encode() for d in docs]
    admin = kafka_io.admin(s)

    def kafka_round(r: int) -> None:
        producer = kafka_io.producer(s)
        try:
            for i in range(WARM_ROUND):
                producer.send(topic, key=str(i).encode(), value=values[i % len(values)])
            kafka_io.flush(producer)
        finally:
            producer.close()
        consumer = kafka_io.consumer(s)
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, r * WARM_ROUND)
            got, t0 = 0, time.monotonic()
            while got < WARM_ROUND and time.monotonic() - t0 < 60:
                got += sum(len(v) for v in consumer.poll(timeout_ms=1000).values())
        finally:
            consumer.close()

    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
        kafka_note = _warm_rounds("Kafka", groups.get("Kafka"), kafka_round)
    finally:
        with contextlib.suppress(Exception):
            admin.delete_topics([topic])
        admin.close()
    return f"{es_note}; {kafka_note}"


class SearchablePoller:
    """Finds when each published id first shows up in a search (``ids`` query, every 0.1 s)."""

    def __init__(self, s: Settings, interval: float = 0.1) -> None:
        self.es = es_client.make_client(s)
        self.alias = s.es_alias
        self.interval = interval
        self.published: dict[str, float] = {}
        self.found: dict[str, float] = {}
        self.lock = threading.Lock()
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, doc_id: str, t: float) -> None:
        with self.lock:
            self.published[doc_id] = t

    def outstanding(self) -> list[str]:
        with self.lock:
            return [i for i in self.published if i not in self.found]

    def _run(self) -> None:
        while not self._stop.is_set():
            pending = self.outstanding()
            for i in range(0, len(pending), 1000):
                chunk = pending[i : i + 1000]
                t = time.monotonic()  # the search sees the index as of (about) now
                try:
                    resp = self.es.search(
                        index=self.alias, query={"ids": {"values": chunk}}, size=len(chunk),
                        source=False, filter_path="hits.hits._id",
                    )
                except Exception:
                    self.errors += 1
                    continue
                hits = resp.get("hits", {}).get("hits", [])
                with self.lock:
                    for h in hits:
                        self.found.setdefault(h["_id"], t)
            self._stop.wait(self.interval)

    def start(self) -> SearchablePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def latencies(self) -> list[float]:
        with self.lock:
            return sorted(self.found[i] - t for i, t in self.published.items() if i in self.found)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


# --- phases ---------------------------------------------------------------------------------------


@dataclass
class Results:
    ceiling_rounds: list[float] = field(default_factory=list)  # articles/s
    ceiling_texts: int = 0
    ceiling_entities: int = 0
    pipeline_rate: float | None = None  # the mean of pipeline_rounds once they are all in
    pipeline_rounds: list[float] = field(default_factory=list)  # articles/s of each round
    pipeline_seconds: float | None = None
    publish_seconds: float | None = None
    ner_busy: float | None = None
    batch_articles: float | None = None
    latency_rate: float | None = None
    latency_achieved_rate: float | None = None
    latency_n: int = 0
    latency_found: int = 0
    latencies: list[float] = field(default_factory=list)
    rss: str | None = None
    rss_total_gib: float | None = None
    naive_n: int = 0
    naive_rate: float | None = None
    naive_rss: str | None = None
    cores_ceiling: list[dict[str, float]] = field(default_factory=list)  # per round, per component
    cores_pipeline: dict[str, float] | None = None  # the first throughput round, per component
    cpu_latency: str | None = None
    refreshes: dict[str, int] = field(default_factory=dict)  # phase -> index refreshes
    cpu_others: list[float] = field(default_factory=list)  # cores used outside the benchmark
    ceiling_per_core: list[float] = field(default_factory=list)  # articles per NER CPU-second
    pipeline_per_core: float | None = None
    dlq: int = 0
    cores: str | None = None  # the CPU layout of --ner-server-cpus, when given
    notes: list[str] = field(default_factory=list)

    @property
    def ceiling(self) -> float | None:
        return statistics.mean(self.ceiling_rounds) if self.ceiling_rounds else None


def measure_ceiling(model: str, texts: list[str], n_articles: int, processes: int, batch: int,
                    res: Results, label: str) -> None:
    log(f"ceiling ({label}): {model} alone, {len(texts)} texts of {n_articles} articles, "
        f"{processes} processes' worth, batch_size={batch} ...")
    meter = CpuMeter({"nlp.pipe (this process and its pool)":
                      lambda: procs.cpu_seconds(os.getpid(), with_children=True),
                      **service_groups(load())})
    seconds, ents = raw_pipe(model, texts, processes, batch)
    cores = meter.cores()
    res.cores_ceiling.append(cores)
    res.cpu_others.append(cores["everything else"] + cores["steal"])
    res.ceiling_rounds.append(n_articles / seconds)
    ner_cores = next(iter(cores.values())) + cores.get(CORENLP_GROUP, 0.0)
    if ner_cores > 0:
        res.ceiling_per_core.append(n_articles / seconds / ner_cores)
    res.ceiling_texts, res.ceiling_entities = len(texts), ents
    log(f"ceiling ({label}): {n_articles / seconds:.1f} articles/s ({seconds:.1f}s, {ents} entities); "
        f"CPU {CpuMeter.describe(cores)}")


def topic_messages(s: Settings, topic: str) -> int:
    """Messages in a topic (sum of its end offsets), -1 if Kafka cannot say."""
    from kafka import TopicPartition

    try:
        consumer = kafka_io.consumer(s)
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        finally:
            consumer.close()
        return int(sum(ends.values()))
    except Exception:
        return -1


def run_pipeline(args: argparse.Namespace, ns: Namespace, warm: list[Prepared],
                 measured: list[Prepared], later: Callable[[int], list[Prepared]],
                 deadline: Deadline, tmp: Path, res: Results) -> None:
    s = ns.settings()
    es = es_client.make_client(s)
    worker = Worker(ns, tmp / f"{ns.name}.worker.log", shlex.split(args.worker_cmd or ""))
    log(f"worker: starting (namespace {ns.name}, log {worker.log_path})")
    worker.start(deadline)
    assert worker.proc is not None
    sampler = RssSampler(worker.proc.pid, also=ner_server(s)).start()
    try:
        log(f"warm-up: {len(warm)} articles (models load, consumer group joins) ...")
        publish_all(s, warm)
        wait_count(es, s.es_alias, len(warm), deadline, max(args.stall, 240), "warm-up",
                   worker.check_alive, tail=worker.tail)
        log("warm-up: Elasticsearch and Kafka ...")
        log(f"warm-up: {warm_services(s, es)}")
        before = worker.metrics()

        log(f"throughput: publishing {len(measured)} articles at once ...")
        wpid = worker.proc.pid
        meter = pipeline_meter(s, wpid)
        refreshed = refresh_total(es, s.es_alias)
        t0, t_pub = publish_all(s, measured)
        t_end = wait_count(es, s.es_alias, len(warm) + len(measured), deadline, args.stall,
                           "throughput", worker.check_alive, tail=worker.tail)
        cores = meter.cores()
        res.cores_pipeline = cores
        res.cpu_others.append(cores["everything else"] + cores["steal"])
        res.refreshes["throughput"] = refresh_total(es, s.es_alias) - refreshed
        after = worker.metrics()
        res.pipeline_seconds = t_end - t0
        res.publish_seconds = t_pub - t0
        res.pipeline_rate = len(measured) / res.pipeline_seconds
        res.pipeline_rounds.append(res.pipeline_rate)
        ner_cores = cores["NER processes"] + cores.get(CORENLP_GROUP, 0.0)
        if ner_cores > 0:
            res.pipeline_per_core = res.pipeline_rate / ner_cores
        busy = after.get("newsstream_nlp_batch_seconds_sum", 0) - before.get(
            "newsstream_nlp_batch_seconds_sum", 0)
        batches = after.get("newsstream_nlp_batch_seconds_count", 0) - before.get(
            "newsstream_nlp_batch_seconds_count", 0)
        if batches > 0:
            res.ner_busy = busy / res.pipeline_seconds
            res.batch_articles = len(measured) / batches
        log(f"throughput: {res.pipeline_rate:.1f} articles/s ({res.pipeline_seconds:.1f}s; "
            f"published in {res.publish_seconds:.1f}s); CPU {CpuMeter.describe(cores)}")

        if args.latency_seconds > 0:
            # the throughput run leaves work behind (Elasticsearch merges and refreshes, commits):
            # the latency run measures the pipeline at half load, not that tail
            cores, waited = wait_quiet(min(SETTLE_WAIT, deadline.left() / 4))
            log(f"latency: the machine settled to {cores:.2f} cores busy in {waited:.0f} s")
            meter = pipeline_meter(s, wpid)
            refreshed = refresh_total(es, s.es_alias)
            run_latency(args, s, res, later, deadline, worker.check_alive)
            cores = meter.cores()
            res.cpu_latency = CpuMeter.describe(cores)
            res.cpu_others.append(cores["everything else"] + cores["steal"])
            res.refreshes["latency"] = refresh_total(es, s.es_alias) - refreshed
        res.dlq = topic_messages(s, s.topic_dlq)
    finally:
        sampler.stop()
        worker.stop()
    res.rss = sampler.summary()
    res.rss_total_gib = sampler.peak_total / 2**30
    log(f"peak RSS: {res.rss}")


def repeat_pipeline(args: argparse.Namespace, ns: Namespace, warm: list[Prepared],
                    measured: list[Prepared], deadline: Deadline, tmp: Path,
                    res: Results) -> None:
    """The throughput run again, in a namespace of its own (topics, index, consumer group,
    worker) with the same articles: the machine can slow down for one run (other guests of the
    host take cache and memory bandwidth without showing as steal), and two rounds further
    apart than :data:`PIPELINE_DRIFT` say so, as the ceiling's rounds do. The pipeline's
    figure is the mean of its rounds."""
    again = Results()
    ns.setup()
    run_pipeline(argparse.Namespace(**{**vars(args), "latency_seconds": 0}), ns, warm,
                 measured, lambda _: [], deadline, tmp, again)
    if again.pipeline_rate is None:
        raise BenchError("the second pipeline round measured nothing")
    res.pipeline_rounds.append(again.pipeline_rate)
    res.cpu_others.extend(again.cpu_others)
    res.pipeline_rate = statistics.mean(res.pipeline_rounds)
    if res.pipeline_per_core and again.pipeline_per_core:
        res.pipeline_per_core = (res.pipeline_per_core + again.pipeline_per_core) / 2


def pipeline_meter(s: Settings, wpid: int) -> CpuMeter:
    """CPU of the worker (event loop and NER processes apart), the services and this process."""
    return CpuMeter({
        "NER processes": lambda: procs.tree_cpu_seconds(wpid) - procs.cpu_seconds(wpid),
        "worker event loop": lambda: procs.cpu_seconds(wpid),
        **service_groups(s),
        "benchmark": lambda: procs.cpu_seconds(os.getpid()),
    })


def refresh_total(es: Any, alias: str) -> int:
    """Refreshes of the alias's indices so far (scheduled, forced by a bulk, and internal)."""
    stats = es.indices.stats(index=alias, metric="refresh")
    return int(stats["_all"]["primaries"]["refresh"]["total"])


def run_latency(args: argparse.Namespace, s: Settings, res: Results,
                later: Callable[[int], list[Prepared]], deadline: Deadline,
                alive: Callable[[], None]) -> None:
    assert res.pipeline_rate is not None
    rate = args.latency_rate or 0.5 * res.pipeline_rate
    items = later(max(10, int(rate * args.latency_seconds)))
    if len(items) < 10:
        res.notes.append("latency not measured: the input file has too few articles left")
        return
    res.latency_rate, res.latency_n = rate, len(items)
    log(f"latency: {len(items)} articles at {rate:.1f}/s for ~{len(items) / rate:.0f}s ...")
    poller = SearchablePoller(s).start()
    producer = kafka_io.producer(s, linger_ms=0)
    try:
        t0 = time.monotonic()
        for i, it in enumerate(items):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            poller.add(it.id, time.monotonic())
            producer.send(s.topic_articles, key=it.key, value=it.value)
            if i % 50 == 0:
                deadline.check("latency (publishing)")
                alive()
        kafka_io.flush(producer)
        res.latency_achieved_rate = len(items) / max(1e-9, time.monotonic() - t0)
        end = time.monotonic() + min(50.0, deadline.left())
        while poller.outstanding() and time.monotonic() < end:
            alive()
            time.sleep(0.2)
    finally:
        producer.close()
        poller.stop()
    res.latencies = poller.latencies()
    res.latency_found = len(res.latencies)
    if res.latency_found < len(items):
        res.notes.append(f"latency: {len(items) - res.latency_found} of {len(items)} articles were "
                         "not searchable within 50 s after the last publish (left out of the "
                         "percentiles, which are therefore too low)")
    log(f"latency: p50 {percentile(res.latencies, 50):.2f}s p95 {percentile(res.latencies, 95):.2f}s "
        f"p99 {percentile(res.latencies, 99):.2f}s ({res.latency_found}/{len(items)} found)")


def run_naive(args: argparse.Namespace, ns: Namespace, items: list[Prepared], deadline: Deadline,
              res: Results) -> None:
    s = ns.settings()
    es = es_client.make_client(s)
    log(f"naive baseline: {len(items)} articles, one consumer loop, es.index() per article ...")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "baseline_naive.py"), "--expect", str(len(items)),
         "--timeout", str(max(60, int(deadline.left())))],
        cwd=REPO_ROOT, env=ns.full_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    sampler = RssSampler(proc.pid).start()
    try:
        assert proc.stdout is not None
        ready_by = time.monotonic() + min(240, deadline.left())
        line = b""
        while b"ready" not in line:
            if proc.poll() is not None or time.monotonic() > ready_by:
                err = proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
                raise BenchError(f"the naive baseline did not start:\n{err}")
            if select.select([proc.stdout], [], [], 0.5)[0]:
                line = proc.stdout.readline()

        def alive() -> None:
            if proc.poll() not in (None, 0):
                err = proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
                raise BenchError(f"the naive baseline failed:\n{err}")

        t0, _ = publish_all(s, items)
        t_end = wait_count(es, s.es_alias, len(items), deadline, args.stall, "naive baseline", alive)
        res.naive_n = len(items)
        res.naive_rate = len(items) / (t_end - t0)
        proc.wait(timeout=60)
    finally:
        sampler.stop()
        procs.stop_process(proc, timeout=0, sig=signal.SIGKILL)
    res.naive_rss = sampler.summary()
    log(f"naive baseline: {res.naive_rate:.1f} articles/s; peak RSS {res.naive_rss}")


# --- report ---------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    mem = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    cpu = "?"
    with contextlib.suppress(OSError):
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        if m:
            cpu = m.group(1).strip()
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cores": str(nproc), "memory": mem, "cpu": cpu, "os": platform.platform()}


def versions(s: Settings, model: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("faust-streaming", "kafka-python", "elasticsearch", "spacy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "?"
    if model == CORENLP:
        out["model"] = f"Stanford CoreNLP {s.corenlp_version} (local service setting)"
    else:
        try:
            import spacy.util

            out["model"] = f"{model} {spacy.util.get_package_version(model) or '?'}"
        except Exception:
            out["model"] = model
    try:
        out["elasticsearch server"] = str(es_client.make_client(s).info()["version"]["number"])
    except Exception:
        out["elasticsearch server"] = "?"
    out["kafka server"] = f"{s.kafka_version} (local service setting)"
    return out


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def fmt(v: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def ceiling_label(s: Settings) -> str:
    """What the ceiling ran: the English backend alone, as many in flight as the pipeline."""
    if NerConfig.from_settings(s).model_for("en") == CORENLP:
        return (f"CoreNLP server alone, {s.nlp_processes} x {s.corenlp_threads} requests "
                "in flight")
    return f"nlp.pipe NER-only, n_process={s.nlp_processes}"


def table(res: Results, s: Settings, args: argparse.Namespace, n: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if res.cores:
        rows.append(("cores (ceiling, pipeline and naive loop alike)", res.cores))
    c = res.ceiling
    rounds = ", ".join(f"{r:.1f}" for r in res.ceiling_rounds)
    rows.append((
        f"raw NER ceiling: {ceiling_label(s)}, batch_size={args.ceiling_batch}",
        f"{fmt(c)} articles/s (rounds: {rounds}; {res.ceiling_texts} texts, "
        f"{res.ceiling_entities} entities)",
    ))
    ratio = (res.pipeline_rate / c) if (res.pipeline_rate and c) else None
    noisy = bool(noise_reasons(res))

    def verdict_of(ok: bool) -> str:
        return " UNRELIABLE (noisy machine)" if noisy else (" PASS" if ok else " FAIL")

    verdict = "" if ratio is None else verdict_of(ratio >= RATIO_TARGET)
    took = f"in {fmt(res.pipeline_seconds)} s"
    if len(res.pipeline_rounds) > 1:
        took = (f"(rounds: {', '.join(f'{r:.1f}' for r in res.pipeline_rounds)}; the first "
                f"{took})")
    rows.append((
        f"pipeline throughput, {n} articles, first publish -> last searchable",
        f"{fmt(res.pipeline_rate)} articles/s {took}",
    ))
    rows.append((f"pipeline / ceiling (target >= {RATIO_TARGET:.2f})",
                 f"{fmt(ratio, '.2f')}{verdict}"))
    if res.ner_busy is not None:
        rows.append((
            "NER pool busy share during the (first) throughput run; articles per NER batch",
            f"{res.ner_busy:.2f}; {fmt(res.batch_articles)}",
        ))
    if res.latency_rate is not None:
        lat = res.latencies
        p99 = percentile(lat, 99)
        ok = verdict_of(bool(lat) and p99 < P99_TARGET_S and res.latency_found == res.latency_n)
        rows.append((
            f"latency publish -> searchable at {res.latency_rate:.1f} articles/s "
            f"(0.5 x pipeline; achieved {fmt(res.latency_achieved_rate)}), "
            f"{res.latency_n} articles",
            f"p50 {percentile(lat, 50):.2f} s, p95 {percentile(lat, 95):.2f} s, "
            f"p99 {p99:.2f} s, max {fmt(lat[-1] if lat else None, '.2f')} s "
            f"(target p99 < {P99_TARGET_S:.0f} s){ok}",
        ))
    if res.pipeline_per_core and res.ceiling_per_core:
        per_core = statistics.mean(res.ceiling_per_core)
        rows.append((
            "NER efficiency (articles per CPU-second of the NER processes): pipeline vs ceiling",
            f"{res.pipeline_per_core:.1f} vs {per_core:.1f} = {res.pipeline_per_core / per_core:.2f}",
        ))
    if (res.cores_ceiling and res.cores_pipeline and res.ceiling_rounds
            and res.pipeline_rounds):
        budget = cpu_budget(res.ceiling_rounds[0], res.cores_ceiling[0],
                            res.pipeline_rounds[0], res.cores_pipeline,
                            os.cpu_count() or 1, RATIO_TARGET)
        # the bound of shared cores means nothing when the NER server has cores of its own
        rows.extend(budget[:1] if res.cores else budget)
    for i, cores in enumerate(res.cores_ceiling):
        rows.append((f"CPU during ceiling round {i + 1} (in cores)", CpuMeter.describe(cores)))
    if res.cores_pipeline:
        rows.append(("CPU during the (first) pipeline throughput run (in cores)",
                     CpuMeter.describe(res.cores_pipeline)))
    if res.cpu_latency:
        rows.append(("CPU during the latency run (in cores)", res.cpu_latency))
    if res.refreshes:
        rows.append(("index refreshes during the throughput run; during the latency run",
                     f"{res.refreshes.get('throughput', '-')}; {res.refreshes.get('latency', '-')}"))
    rows.append(("peak RSS, worker + NER processes (+ CoreNLP server)", res.rss or "n/a"))
    if res.naive_rate is not None:
        speed = "n/a"
        if res.pipeline_rate:
            x = res.pipeline_rate / res.naive_rate
            speed = (f"{x:.1f}x faster (target >= {NAIVE_TARGET:.0f}x)"
                     f"{verdict_of(x >= NAIVE_TARGET)}")
        rows.append((
            f"naive baseline (one kafka-python loop, es.index() per article), "
            f"first {res.naive_n} of the same articles",
            f"{res.naive_rate:.1f} articles/s = {fmt(res.naive_rate / c if c else None, '.2f')} x "
            f"ceiling; pipeline is {speed}; peak RSS {res.naive_rss}",
        ))
    rows.append(("dead-lettered during the pipeline run", str(res.dlq)))
    return rows


#: CpuMeter groups that are not a part of the pipeline or of the ceiling: other users.
NOT_PIPELINE = ("everything else", "steal")


def cpu_budget(ceiling: float, cores_c: dict[str, float], rate: float, cores_p: dict[str, float],
               ncores: int, target: float) -> list[tuple[str, str]]:
    """Rows that say where the ratio to the ceiling goes: CPU milliseconds per article of each
    component in ceiling round 1 and the first pipeline round, and the rate the pipeline's own
    costs would allow with every core busy (pure).

    Why: on a machine the NER server shares with Kafka, Elasticsearch and the worker, the ratio
    is bounded by the share of CPU the rest of the pipeline needs per article, whatever the
    scheduling; the rows show that bound and what the rest would have to cost to meet the target.
    """
    def per_article(cores: dict[str, float], r: float) -> dict[str, float]:
        return {k: 1000 * v / r for k, v in cores.items() if k not in NOT_PIPELINE and v > 0}

    ms_c, ms_p = per_article(cores_c, ceiling), per_article(cores_p, rate)
    total_c, total_p = sum(ms_c.values()), sum(ms_p.values())
    idle_p = 1000 * max(0.0, ncores - sum(v for k, v in cores_p.items() if k != "steal")) / rate
    ner = CORENLP_GROUP if CORENLP_GROUP in ms_p else "NER processes"  # spaCy: no server
    ner_p = ms_p.get(ner, 0.0)
    rest_p = total_p - ner_p
    allowed = ncores * 1000 / total_p
    budget = ncores * 1000 / (target * ceiling) - ner_p

    def parts(ms: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in sorted(ms.items(), key=lambda kv: -kv[1]))

    return [
        ("CPU ms per article, ceiling round 1; first pipeline round",
         f"{total_c:.1f} ({parts(ms_c)}); {total_p:.1f} ({parts(ms_p)}; idle cores "
         f"{idle_p:.1f} more)"),
        (f"first pipeline round / ceiling round 1; what the round's CPU per article allows on "
         f"{ncores} cores with none idle; everything but the {ner} per article, for "
         f"{target:.2f} of the ceiling",
         f"{rate:.1f} / {ceiling:.1f} = {rate / ceiling:.2f}; {allowed:.1f} articles/s = "
         f"{allowed / ceiling:.2f} x ceiling; at most {max(0.0, budget):.1f} ms (measured "
         f"{rest_p:.1f})"),
    ]


OTHER_SECTION = "<!-- bench-"


def other_sections(old: str) -> str:
    """The sections other benchmarks keep in BENCHMARKS.md (between their own markers), as is."""
    at = old.find(OTHER_SECTION)
    return "" if at < 0 else "\n" + old[at:]


def render_markdown(rows: list[tuple[str, str]], meta: dict[str, Any]) -> str:
    m, v = meta["machine"], meta["versions"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/bench_pipeline.py` (`make bench`); every figure below comes from one run.",
        "",
        f"- **Command**: `{meta['command']}`",
        f"- **Date**: {meta['date']} (run took {meta['duration']:.0f} s)",
        f"- **Machine**: {m['cores']} cores ({m['cpu']}), {m['memory']} memory, {m['os']}; "
        f"load average {meta['load_start']} at the start, {meta['load_end']} at the end",
        "- **Versions**: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- **Worker**: `{meta['worker']}`; **settings**: {meta['settings']}",
        f"- **Input**: {meta['input']}",
        f"- **Ceiling compares**: {meta['compares']}",
        "",
        "| what | result |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in rows],
        "",
        *([f"**Note**: {note}" for note in meta["notes"]] + [""] if meta["notes"] else []),
        "## How it is measured",
        "",
        *[f"- {line}" for line in meta["how"]],
        "",
        "## Noise",
        "",
        *[f"- {line}" for line in meta["noise"]],
        "",
    ]
    return "\n".join(lines)


# --- noise ----------------------------------------------------------------------------------------


def others_cores(seconds: float = 5.0) -> float:
    """Cores used by every process of the machine over ``seconds`` (plus steal), now.

    Called while the benchmark is idle, so it is what others use: the quiet check.
    """
    busy0, steal0 = procs.machine_cpu()
    time.sleep(seconds)
    busy1, steal1 = procs.machine_cpu()
    return (busy1 - busy0 + steal1 - steal0) / seconds


#: Seconds the latency run waits at most for the machine to settle after the throughput run.
SETTLE_WAIT = 60.0


def wait_quiet(max_wait: float) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) until others use < QUIET_CORES; (cores seen, s waited)."""
    t0 = time.monotonic()
    while True:
        cores = others_cores()
        waited = time.monotonic() - t0
        if cores < QUIET_CORES or waited >= max_wait:
            return cores, waited
        log(f"quiet check: other processes use {cores:.2f} cores; waiting "
            f"(up to {max_wait - waited:.0f} s more) ...")


def template_refresh_interval() -> str:
    from streams.index import schema as setup

    return str(setup.template_body("x")["template"]["settings"]["index"]["refresh_interval"])


def noise_reasons(res: Results) -> list[str]:
    """Why the run's ratios cannot be trusted (empty when the machine was quiet) (pure)."""
    reasons = []
    rounds = res.ceiling_rounds
    if len(rounds) > 1 and min(rounds) > 0 and (max(rounds) - min(rounds)) / min(rounds) > (
            CEILING_DRIFT):
        reasons.append(f"the ceiling moved by {(max(rounds) - min(rounds)) / min(rounds):.0%} "
                       f"between its rounds ({', '.join(f'{r:.1f}' for r in rounds)})")
    runs = res.pipeline_rounds
    if len(runs) > 1 and min(runs) > 0 and (max(runs) - min(runs)) / min(runs) > PIPELINE_DRIFT:
        reasons.append(f"the pipeline's throughput moved by {(max(runs) - min(runs)) / min(runs):.0%} "
                       f"between its rounds ({', '.join(f'{r:.1f}' for r in runs)})")
    if res.cpu_others and max(res.cpu_others) > QUIET_CORES:
        reasons.append(f"other processes (and hypervisor steal) took up to "
                       f"{max(res.cpu_others):.2f} cores during a measured phase")
    return reasons


# --- scale-out ------------------------------------------------------------------------------------


@dataclass
class ScaleRun:
    workers: int
    processes: int  # NER processes per worker
    rate: float
    seconds: float
    searchable: int
    expected: int
    dlq: int
    others: float
    cpu: str
    shares: str = "?"  # input partitions held by each worker at the end, e.g. "3+3"


def assigned_partitions(health: dict[str, Any], topic: str) -> int:
    """How many partitions of ``topic`` a worker's /health says it holds (pure)."""
    return sum(1 for tp in health.get("assigned", []) if str(tp).rpartition(":")[0] == topic)


def partition_shares(workers: Sequence[Worker], topic: str) -> str:
    """Partitions of ``topic`` per worker, from each one's /health ("3+3"; "?" if silent)."""
    import json

    out = []
    for w in workers:
        try:
            url = f"http://127.0.0.1:{w.ns.web_port}/health"
            with urllib.request.urlopen(url, timeout=10) as r:
                out.append(str(assigned_partitions(json.loads(r.read()), topic)))
        except (OSError, ValueError):
            out.append("?")
    return "+".join(out)


def run_scale(args: argparse.Namespace, tag: str, tmp: Path, workers: int, processes: int,
              warm: list[Prepared], measured: list[Prepared], deadline: Deadline) -> ScaleRun:
    """``workers`` workers of one consumer group, ``processes`` NER processes each."""
    ns = Namespace.create(f"{tag}-w{workers}x{processes}", tmp)
    ns.env["NEWSSTREAM_PARTITIONS"] = str(args.scale_partitions)
    ns.setup()
    s = ns.settings()
    es = es_client.make_client(s)
    running: list[Worker] = []
    try:
        for i in range(workers):
            wns = Namespace(ns.name, tmp / f"{ns.name}-{i}", free_port(), dict(ns.env))
            wns.env.update({"NEWSSTREAM_DATA_DIR": str(wns.data_dir),
                            "NEWSSTREAM_WEB_PORT": str(wns.web_port),
                            "NEWSSTREAM_NLP_PROCESSES": str(processes)})
            w = Worker(wns, tmp / f"{ns.name}-{i}.log", shlex.split(args.worker_cmd or ""))
            log(f"scale-out: starting worker {i + 1}/{workers} ({processes} NER processes)")
            w.start(deadline)
            running.append(w)

        def alive() -> None:
            for w in running:
                w.check_alive()

        publish_all(s, warm)
        wait_count(es, s.es_alias, len(warm), deadline, max(args.stall, 240),
                   f"scale-out warm-up ({workers} workers)", alive, tail=running[0].tail)
        pids = [w.proc.pid for w in running if w.proc is not None]
        meter = CpuMeter({
            "workers and their NER processes":
                lambda: sum(procs.tree_cpu_seconds(w) for w in pids),
            **service_groups(s),
            "benchmark": lambda: procs.cpu_seconds(os.getpid()),
        })
        t0, _ = publish_all(s, measured)
        expected = len(warm) + len(measured)
        t_end = wait_count(es, s.es_alias, expected, deadline, args.stall,
                           f"scale-out throughput ({workers} workers)", alive,
                           tail=running[0].tail)
        cores = meter.cores()
        time.sleep(2.0)  # anything written twice or late would show in the final count
        es.indices.refresh(index=s.es_alias)
        final = count(es, s.es_alias)
        run = ScaleRun(workers, processes, len(measured) / (t_end - t0), t_end - t0, final,
                       expected, topic_messages(s, s.topic_dlq),
                       cores["everything else"] + cores["steal"], CpuMeter.describe(cores),
                       partition_shares(running, s.topic_articles))
        log(f"scale-out: {workers} x {processes}: {run.rate:.1f} articles/s, "
            f"{final}/{expected} documents, dlq {run.dlq}, input partitions per worker "
            f"{run.shares}; CPU {run.cpu}")
        return run
    finally:
        for w in running:
            w.stop()


def scale_out(args: argparse.Namespace, base: Settings, warm: list[Prepared],
              measured: list[Prepared], deadline: Deadline) -> int:
    """For each N: N workers with one NER process each against one worker with N processes."""
    counts = [int(x) for x in args.scale_out.split(",") if x.strip()]
    tag = f"bench-{datetime.now():%m%d%H%M%S}-{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    load_start = loadavg()
    rows: list[tuple[ScaleRun, ScaleRun]] = []
    code = 0
    try:
        for n in counts:
            if n < 2:
                continue
            one = run_scale(args, tag, tmp, 1, n, warm, measured, deadline)
            many = run_scale(args, tag, tmp, n, 1, warm, measured, deadline)
            rows.append((one, many))
    except (BenchError, KeyboardInterrupt) as exc:
        code = exit_code(exc)
    finally:
        log("cleanup: " + "; ".join(cleanup(tag, base)))
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = loadavg()
    lines = [
        f"<!-- {SCALE_SECTION}:start -->",
        "## Scale-out: several workers of one consumer group (`bench/bench_pipeline.py "
        "--scale-out`)",
        "",
        f"- **Command**: `.venv/bin/python bench/bench_pipeline.py --scale-out {args.scale_out} "
        f"--n {len(measured)}`",
        f"- **Date**: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; load average {load_start} at the "
        f"start, {load_end} at the end",
        f"- **Setup**: {len(measured)} generated English articles published at once after a "
        f"warm-up of {len(warm)}; topics of {args.scale_partitions} partitions; every worker its "
        "own process, Faust data dir and web port, all in one consumer group; counted when "
        "`count` on the alias reaches them all, then refreshed and counted again",
        "",
        "| NER processes in all | 1 worker: articles/s | N workers: articles/s | N / 1 "
        f"(target >= {SCALE_TARGET:.2f}) | final count (N workers) | input partitions per "
        "worker | other processes |",
        "|---|---|---|---|---|---|---|",
    ]
    if not rows:
        print("scale-out: nothing measured (give N >= 2, e.g. --scale-out 2,3)", file=sys.stderr)
        return code or 2
    for one, many in rows:
        ratio = many.rate / one.rate
        exact = many.searchable == many.expected and one.searchable == one.expected
        noisy = max(one.others, many.others) > QUIET_CORES
        verdict = "UNRELIABLE (noisy)" if noisy else ("PASS" if ratio >= SCALE_TARGET else "FAIL")
        lines.append(
            f"| {many.workers} ({many.workers} workers x 1 vs 1 worker x {one.processes}) | "
            f"{one.rate:.1f} | {many.rate:.1f} | {ratio:.2f} {verdict} | {many.searchable} of "
            f"{many.expected} {'exact' if exact else 'NOT EXACT'}, dlq {many.dlq} | "
            f"{many.shares} | {one.others:.2f} / {many.others:.2f} cores |"
        )
    lines += ["", f"<!-- {SCALE_SECTION}:end -->"]
    text = "\n".join(lines)
    print(text)
    if code == 0 and rows and str(args.output) != "-":
        write_section(args.output, SCALE_SECTION, text)
    return code


SCALE_SECTION = "bench-scaleout"


def write_section(path: Path, section: str, text: str) -> None:
    """Replace (or append) one benchmark's own section of a Markdown file."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    if start in old and end in old:
        new = old[:old.index(start)] + text + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    base = load()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="articles for the throughput run")
    p.add_argument("--file", type=Path, default=None,
                   help="JSON Lines of input records to use as they are (default: generated)")
    p.add_argument("--words", type=int, default=450, help="about this many words per generated body")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--warmup", type=int, default=1000,
                   help="articles sent through the pipeline before the clock starts (freshly "
                   "started Kafka and Elasticsearch JVMs spend more CPU per article for the "
                   "first thousands)")
    p.add_argument("--latency-seconds", type=float, default=60.0, help="0 skips the latency run")
    p.add_argument("--latency-rate", type=float, default=None,
                   help="articles/s for the latency run (default 0.5 x measured pipeline)")
    p.add_argument("--naive-n", type=int, default=300, help="articles for the naive baseline (0 skips)")
    p.add_argument("--ceiling-rounds", type=int, default=2, choices=(1, 2),
                   help="1: before the pipeline only; 2: also after it (the mean is the ceiling)")
    p.add_argument("--pipeline-rounds", type=int, default=2, choices=(1, 2),
                   help="2: the throughput run again after the naive baseline, in a fresh "
                   "namespace (the mean is the pipeline's figure)")
    p.add_argument("--ceiling-batch", type=int, default=64, help="nlp.pipe batch_size of the ceiling")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole run")
    p.add_argument("--stall", type=float, default=120.0, help="fail after this long without progress")
    p.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md",
                   help="Markdown report ('-' for none)")
    p.add_argument("--keep", action="store_true", help="keep the run's topics and indices")
    p.add_argument("--quiet-wait", type=float, default=120.0,
                   help="wait up to this many seconds for other processes to go quiet first")
    p.add_argument("--scale-out", default="",
                   help="e.g. 2,3: only the scale-out comparison (N workers x 1 NER process "
                   "against 1 worker x N), written to its own section")
    p.add_argument("--scale-partitions", type=int, default=6,
                   help="partitions of the scale-out topics (divisible by every N)")
    p.add_argument("--ner-server-cpus", default="",
                   help="e.g. 1: pin the local CoreNLP server to these CPUs and everything else "
                   "to the others for the whole run (the NER server on cores of its own)")
    p.add_argument("--worker-cmd", default=None,
                   help="measure another worker command (a variant under test) instead of "
                   "`python -m streams.cli worker`")
    args = p.parse_args()

    started, deadline = time.monotonic(), Deadline(args.timeout)
    load_start = loadavg()
    es_client.quiet_client_logs("kafka")
    try:
        es_client.make_client(base, request_timeout=5, max_retries=0).info()
        kafka_io.admin(base, request_timeout_ms=5000).close()
    except Exception as exc:
        print(f"error: Kafka at {base.kafka_bootstrap} or Elasticsearch at {base.es_url} is not "
              f"reachable ({type(exc).__name__}): start them with `newsstream services up`",
              file=sys.stderr)
        return 2
    model = NerConfig.from_settings(base).model_for("en")
    if model is None:
        print("error: no English NER pipeline configured", file=sys.stderr)
        return 2

    # -- the articles: warm-up, measured, then fresh ones for the latency run ---------------------
    if args.file:
        pool = corpus.read_file(args.file, 10**7)
        if len(pool) < args.warmup + 10:
            print(f"error: {args.file} has {len(pool)} records; need more than {args.warmup + 10}",
                  file=sys.stderr)
            return 2
        warm_recs = pool[: args.warmup]
        n = min(args.n, len(pool) - args.warmup)
        measured_recs = pool[args.warmup : args.warmup + n]
        rest = pool[args.warmup + n :]
        input_desc = f"{n} records of {args.file} as they are (warm-up: the {args.warmup} before them)"
        non_en = sum(1 for r in measured_recs
                     if not str(r.get("language") or "en").lower().startswith("en"))
        compares = ("every text the enrich stage runs NER on (title, summary, body, title "
                    "translations), all through the English pipeline")
        if non_en:
            compares += (f"; NOTE: {non_en} records declare another language: the pipeline routes "
                         "those to their own model (or none), so the ratio is not like-for-like")

        def later(k: int) -> list[dict[str, Any]]:
            taken, rest[:] = rest[:k], rest[k:]
            return taken
    else:
        gen = corpus.Generator(seed=args.seed, words=args.words)
        warm_recs = gen.records(0, args.warmup)
        n = args.n
        measured_recs = gen.records(args.warmup, n)
        words = statistics.mean(len(str(r["body"]).split()) for r in measured_recs)
        input_desc = f"{n} English articles ({words:.0f} words of body on average), {corpus.DESCRIPTION}"
        compares = ("the same texts: title, summary (when present) and body of each measured "
                    "article, i.e. every field the enrich stage runs NER on; the pipeline also "
                    "does validation, dedup, language identification per field, document building "
                    "and indexing, the ceiling does none of that")
        cursor = [args.warmup + n]

        def later(k: int) -> list[dict[str, Any]]:
            start, cursor[0] = cursor[0], cursor[0] + k
            return gen.records(start, k)

    log(f"articles: {len(measured_recs)} measured, {len(warm_recs)} warm-up; checking dedup ...")
    kinds = corpus.dedup_check(warm_recs + measured_recs, base.dedup_threshold)
    if set(kinds) != {"new"}:
        msg = f"dedup check: {dict(kinds)}: not every article is new to the deduplicator"
        if not args.file:
            print(f"error: {msg}", file=sys.stderr)
            return 2
        log(f"warning: {msg}")
    texts = corpus.ner_texts(measured_recs)
    warm, measured = prepare(warm_recs), prepare(measured_recs)

    def later_prepared(k: int) -> list[Prepared]:
        recs = later(k)
        if not args.file and recs:
            kinds_l = corpus.dedup_check(measured_recs[-200:] + recs, base.dedup_threshold)
            if set(kinds_l) != {"new"}:
                raise BenchError(f"latency articles not all new to the deduplicator: {dict(kinds_l)}")
        return prepare(recs)

    if args.scale_out:
        return scale_out(args, base, warm, measured, deadline)
    res = Results()
    quiet, waited = wait_quiet(args.quiet_wait)
    log(f"quiet check: other processes use {quiet:.2f} cores (waited {waited:.0f} s)")
    if quiet >= QUIET_CORES:
        res.notes.append(f"the machine did not go quiet: other processes used {quiet:.2f} cores "
                         f"after waiting {waited:.0f} s")
    tag = f"bench-{datetime.now():%m%d%H%M%S}-{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    # sibling names: neither template pattern (<alias>-*) may match the other's indices
    ns = Namespace.create(f"{tag}-pipeline", tmp)
    naive_ns = Namespace.create(f"{tag}-naive", tmp)
    s = ns.settings()
    code = 0
    unpin: Callable[[], None] = lambda: None  # noqa: E731
    try:
        if args.ner_server_cpus:
            res.cores, unpin = pin_cores(base, args.ner_server_cpus)
            log(f"cores: {res.cores}")
        # the NER server's JIT, like Elasticsearch's, is warmed before anything is timed
        log(f"warm-up: {model} on the warm-up articles' texts, untimed ...")
        raw_pipe(model, corpus.ner_texts(warm_recs), s.nlp_processes, args.ceiling_batch)
        measure_ceiling(model, texts, n, s.nlp_processes, args.ceiling_batch, res, "before")
        deadline.check("the ceiling")
        log(f"setup: namespace {ns.name} ...")
        ns.setup()
        run_pipeline(args, ns, warm, measured, later_prepared, deadline, tmp, res)
        if args.naive_n > 0:
            naive_ns.setup()
            run_naive(args, naive_ns, measured[: args.naive_n], deadline, res)
        if args.pipeline_rounds > 1:
            deadline.check("the second pipeline round")
            log("pipeline, second round: the throughput run again in a fresh namespace ...")
            repeat_pipeline(args, Namespace.create(f"{tag}-again", tmp), warm, measured,
                            deadline, tmp, res)
        if args.ceiling_rounds > 1:
            deadline.check("the second ceiling round")
            measure_ceiling(model, texts, n, s.nlp_processes, args.ceiling_batch, res, "after")
    except (Exception, KeyboardInterrupt) as exc:
        code = exit_code(exc)
    finally:
        unpin()
        if not args.keep:
            log("cleanup: " + "; ".join(cleanup(tag, base)))
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept namespace {tag} (topics, indices) and {tmp}")

    reasons = noise_reasons(res)
    if reasons:
        res.notes.append(
            "UNRELIABLE: the machine was not quiet (" + "; ".join(reasons) + "). The ratios "
            "below are marked UNRELIABLE instead of PASS/FAIL: rerun on a quiet machine (the NER "
            "efficiency row, articles per CPU-second, is the least noise-sensitive figure)")
    rows = table(res, s, args, n)
    width = max(len(a) for a, _ in rows)
    print()
    print(f"== newsstream pipeline benchmark ({tag}) ==")
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    for note in res.notes:
        print(f"note: {note}")
    if code != 0:
        print("(incomplete run: BENCHMARKS.md not written)", file=sys.stderr)
        return code
    if str(args.output) != "-":
        meta = {
            "command": " ".join([".venv/bin/python", "bench/bench_pipeline.py", *sys.argv[1:]]),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "duration": time.monotonic() - started,
            "machine": machine(),
            "load_start": load_start,
            "load_end": loadavg(),
            "versions": versions(s, model),
            "worker": args.worker_cmd or "newsstream worker",
            "settings": (
                f"NEWSSTREAM_NLP_PROCESSES={s.nlp_processes}, NLP_BATCH={s.nlp_batch_size}, "
                f"NLP_BATCH_SECONDS={s.nlp_batch_seconds}, BULK_MAX_DOCS={s.bulk_max_docs}, "
                f"BULK_MAX_SECONDS={s.bulk_max_seconds}, PARTITIONS={s.partitions}, "
                f"BULK_REFRESH_BELOW={s.bulk_refresh_below}, "
                f"LANGID_ACCURACY={s.langid_accuracy}, index refresh_interval "
                f"{template_refresh_interval()} (template)"
            ),
            "input": input_desc,
            "notes": res.notes,
            "compares": compares,
            "how": [
                "Ceiling: `bench_enrich.raw_pipe`: the English backend alone (the CoreNLP "
                "server called directly with as many requests in flight as the pool keeps, or "
                "`nlp.pipe(texts, n_process=P, batch_size=B)` of the spaCy model reduced to NER), "
                "counting the entities the pipeline keeps, after an untimed pass over the warm-up "
                "articles' texts; articles/s = measured articles / seconds. Run with Kafka and "
                "Elasticsearch up but no worker, before the pipeline and again after its second "
                "round; the table gives the mean and both rounds.",
                "Pipeline: a private namespace (topics, alias, consumer group, Faust data dir, web "
                "port) set up with `newsstream setup`, `newsstream worker` as a subprocess; a "
                "warm-up batch first, then copies of its documents through a scratch index and a "
                "scratch topic (a freshly started Elasticsearch or Kafka compiles its hot paths "
                "over the first thousands of documents), then all measured articles published at "
                "once (kafka-python, "
                "acks=all); the clock stops when `count` on the alias (no forced refresh) reaches "
                "them all. After the naive baseline the same again in a fresh namespace (topics, "
                "index, consumer group, worker) with the same articles: the pipeline's figure is "
                "the mean of the two rounds; the CPU and NER pool rows are the first round's.",
                "Latency: after the throughput run's tail (merges, refreshes, commits) has "
                "settled (the machine below 0.2 cores busy, at most 60 s), fresh articles "
                "published one by one on a fixed schedule; a thread "
                "searches the outstanding ids every 0.1 s (`ids` query: only refreshed segments "
                "answer, unlike `mget`), so each latency includes Kafka, the four stages, the bulk "
                "flush and the index refresh; resolution 0.1 s.",
                "Peak RSS: VmRSS of the worker and all its descendants (NER processes, resource "
                "tracker) from /proc every 0.25 s over warm-up, throughput and latency runs; the "
                "total is a sum of RSS (shared pages counted per process).",
                "CPU rows: utime+stime from /proc of each component between the start and the "
                "end of a phase, in cores; 'everything else' is the rest of /proc/stat's busy "
                "time (other users of the machine). NER efficiency divides articles/s by the "
                "cores the NER processes (or nlp.pipe and its pool) used: it is less sensitive to "
                "noise than the ratio, and the gap between the two is CPU the NER processes did "
                "not get (event loop, Kafka, Elasticsearch, idle gaps between batches).",
                "CPU ms per article: each component's cores divided by the articles/s of the "
                "same phase (ceiling round 1, the first pipeline round); idle cores count as "
                "the milliseconds they would have given. The pipeline's own milliseconds per "
                "article (everything but other users) bound its rate at cores x 1000 / ms with "
                "no core idle; the budget is what everything but the NER server may cost per "
                "article for the target ratio against ceiling round 1.",
                "Naive baseline: `bench/baseline_naive.py` in its own namespace, models loaded and "
                "partitions assigned before the clock starts; same publish and count rule.",
            ],
            "noise": [
                "A single run on a shared machine: Kafka and Elasticsearch run beside the "
                "pipeline and compete for the same cores (that is part of the measurement); "
                "other processes do too, see the load averages above.",
                f"Before the first phase the benchmark waits (up to --quiet-wait s) until other "
                f"processes use less than {QUIET_CORES} cores. The ceiling and the pipeline are "
                f"each measured twice, in the order ceiling, pipeline, naive baseline, "
                f"pipeline, ceiling; rounds of either more than {CEILING_DRIFT:.0%} apart, or "
                f"other processes above {QUIET_CORES} cores in any measured phase, mark the run "
                "UNRELIABLE: the verdicts then say so instead of PASS/FAIL.",
                "Searchable time has a granularity of the index refresh (the interval, or a "
                "small bulk's own refresh) plus the 0.2 s count poll.",
            ],
        }
        old = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        args.output.write_text(render_markdown(rows, meta) + other_sections(old), encoding="utf-8")
        log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
