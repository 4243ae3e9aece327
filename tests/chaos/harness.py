"""The parts of the fault matrix that are not rows: services, workers, sending, accounting.

Nothing here assumes an outcome: a message counts as indexed only when Elasticsearch returns a
document carrying its marker, as dead-lettered only when an envelope on the dead-letter topic
carries its marker (or, for a message without one, names its input position), and as lost
otherwise. "Drained" means both: every message accounted for AND the worker's consumer group
has committed every pipeline topic to its end.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from streams import procs
from streams import settings as settings_mod
from streams.devservices.base import free_port
from streams.ops import status
from tests.chaos.corpus import MARKER_RE, Message

ROOT = Path(__file__).resolve().parents[2]
_MARKER = re.compile(MARKER_RE)


def log(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def settings_for(env: dict[str, str]) -> settings_mod.Settings:
    with procs.environ(env):
        return settings_mod.load()


# --- services ---------------------------------------------------------------------------------


class Services:
    """Kafka and Elasticsearch for the rows; the ``own`` ones are private and may be killed.

    Own services are started through ``newsstream services`` on their own ports and services
    dir (``port_base`` is the broker, +1 its controller, +8 Elasticsearch's HTTP, +9 its
    transport), so a row that kills one never touches anybody else's. A service not in ``own``
    is the one the environment points at (e.g. the shared test services): rows that kill it
    are refused.
    """

    PID_FILES: ClassVar[dict[str, str]] = {"kafka": "kafka.pid", "elasticsearch": "es.pid"}

    def __init__(self, port_base: int, services_dir: Path,
                 own: frozenset[str] = frozenset({"kafka", "elasticsearch"})) -> None:
        self.dir = services_dir
        self.own = own
        self.env: dict[str, str] = {
            "NEWSSTREAM_SERVICES_DIR": str(services_dir),
            # a restart under load (the rows restart killed nodes) may take minutes: wait
            "NEWSSTREAM_SERVICE_TIMEOUT": os.environ.get("NEWSSTREAM_SERVICE_TIMEOUT", "600"),
            # The rows kill Kafka and Elasticsearch, not the NER server: the workers use the
            # server-less NER backends, so a run neither needs nor starts a CoreNLP server.
            "NEWSSTREAM_CORENLP": "false",
        }
        if "kafka" in own:
            self.env |= {
                "NEWSSTREAM_KAFKA_PORT": str(port_base),
                "NEWSSTREAM_KAFKA_CONTROLLER_PORT": str(port_base + 1),
                "NEWSSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{port_base}",
            }
        if "elasticsearch" in own:
            self.env |= {
                "NEWSSTREAM_ES_PORT": str(port_base + 8),
                "NEWSSTREAM_ES_TRANSPORT_PORT": str(port_base + 9),
                "NEWSSTREAM_ES_URL": f"http://127.0.0.1:{port_base + 8}",
            }
        self._pending: subprocess.Popen[str] | None = None

    def _argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "streams.cli", "services", *args]

    def cli(self, *args: str, timeout: float = 900) -> None:
        env = {**os.environ, **self.env}
        t0 = time.monotonic()
        out = subprocess.run(self._argv(*args), cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=timeout)
        text = (out.stdout + out.stderr).strip().replace("\n", " | ")
        log(f"services {' '.join(args)} ({time.monotonic() - t0:.0f}s): {text[:300]}")
        if out.returncode != 0:
            raise RuntimeError(f"newsstream services {' '.join(args)} failed: {text}")

    def up(self, only: str | None = None) -> None:
        for name in [only] if only else sorted(self.own, reverse=True):  # kafka first
            self.cli("up", "--only", name)

    def up_in_background(self) -> None:
        """Start the own services without waiting (the CI test runs other rows meanwhile)."""
        names = sorted(self.own, reverse=True)
        cmd = " && ".join(" ".join(self._argv("up", "--only", n)) for n in names)
        self._pending = subprocess.Popen(["bash", "-c", cmd], cwd=ROOT, env={**os.environ, **self.env},
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_up(self, timeout: float = 900) -> None:
        if self._pending is not None:
            out, _ = self._pending.communicate(timeout=timeout)
            log(f"services up: {out.strip()[:300]}")
            if self._pending.returncode != 0:
                raise RuntimeError(f"newsstream services up failed: {out}")
            self._pending = None

    def down(self, only: str | None = None) -> None:
        for name in [only] if only else sorted(self.own):
            self.cli("down", "--only", name)

    def pid(self, name: str) -> int | None:
        """The pid of an own service, trusted only when its command line names our services dir."""
        pid = procs.read_pid(self.dir / name / self.PID_FILES[name])
        return pid if procs.pid_is_ours(pid, str(self.dir)) else None

    def kill9(self, name: str) -> None:
        if name not in self.own:
            raise RuntimeError(f"refusing to kill {name}: it is not one of this run's own services")
        pid = self.pid(name)
        if pid is None:
            raise RuntimeError(f"{name}: no running process of ours under {self.dir}")
        procs.stop_pid(pid, timeout=10, sig=signal.SIGKILL)
        log(f"{name}: kill -9 pid {pid}")


# --- namespace and worker ---------------------------------------------------------------------


@dataclass
class Namespace:
    """Topics, alias, group and data dirs of one row, on the given services."""

    tag: str
    dir: Path
    env: dict[str, str]

    @classmethod
    def new(cls, row: str, base: Path, services_env: dict[str, str], **extra: str) -> Namespace:
        tag = "cx" + uuid.uuid4().hex[:8]
        d = base / row
        d.mkdir(parents=True, exist_ok=True)
        env = {
            **services_env,
            "NEWSSTREAM_TOPIC_ARTICLES": f"{tag}.articles",
            "NEWSSTREAM_TOPIC_PREFIX": f"{tag}.articles",
            "NEWSSTREAM_TOPIC_DLQ": f"{tag}.articles.dlq",
            "NEWSSTREAM_ES_ALIAS": f"{tag}-articles",
            "NEWSSTREAM_APP_ID": f"newsstream-{tag}",
            "NEWSSTREAM_PARTITIONS": "2",
            "NEWSSTREAM_LOG_FORMAT": "text",
            "NEWSSTREAM_NLP_PROCESSES": "1",
            "NEWSSTREAM_LANGID_ACCURACY": "low",
            **extra,
        }
        return cls(tag, d, env)

    def settings(self) -> settings_mod.Settings:
        return settings_for(self.env)

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=ROOT,
                              env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=timeout)

    def setup(self) -> None:
        out = self.cli("setup")
        if out.returncode != 0:
            raise RuntimeError(f"newsstream setup failed: {out.stdout}{out.stderr}")


@dataclass
class Worker:
    """A ``newsstream worker`` process (its own session, so kill -9 takes its NER pool too)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    web_port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def answers(self) -> bool:
        """The web server answers (any status: a liveness check may answer 503 on purpose)."""
        try:
            urllib.request.urlopen(self.url("/health"), timeout=2).read()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(self.url("/health"), timeout=3) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(Exception):
                return dict(json.loads(exc.read()))
            return {}
        except (OSError, ValueError):
            return {}

    def metrics(self) -> dict[str, float]:
        """Counter sums by metric name (labels summed), {} when the worker does not answer."""
        try:
            with urllib.request.urlopen(self.url("/metrics"), timeout=3) as r:
                text = r.read().decode()
        except OSError:
            return {}
        return {name.removesuffix("_total"): v for name, v in status.metric_sums(text).items()
                if name.startswith("newsstream_")}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time used so far by the worker and its NER processes (0 when gone)."""
        return procs.tree_cpu_seconds(self.proc.pid)

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 60) -> None:
        # the NER processes are in the worker's session: none outlives it
        procs.stop_process(self.proc, timeout=timeout, sig=sig)

    def ner_pids(self) -> list[int]:
        """The worker's NER pool processes (spawned children that are not the resource tracker)."""
        return procs.pool_workers(self.proc.pid)

    def log_evidence(self, n: int = 10) -> list[str]:
        """Distinct ERROR/CRITICAL records of the worker log, each with its count and first time."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        seen: dict[str, list[Any]] = {}
        for ln in lines:
            m = re.match(r"^\[([^\]]+)\] \[\d+\] \[(ERROR|CRITICAL)\] (.*)$", ln)
            if m:
                text = re.sub(r"chaosmk-[a-z0-9]+-\d+|\b[0-9a-f]{16,}\b|\d+", "#", m.group(3))[:160]
                seen.setdefault(text, [m.group(1), 0])[1] += 1
        return [f"{count}x from {first}: {text}" for text, (first, count) in list(seen.items())[:n]]

    def crashes(self) -> Counter[str]:
        """Agent crashes in the log: ``agent: ExceptionType`` -> count."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return Counter()
        return Counter(f"{a.rsplit('.', 1)[-1]}: {e}" for a, e in re.findall(
            r"Agent\*: ([\w.]+)\]: Crashed reason=(\w+)", text))


class Workers:
    """Starts workers of one namespace; the runner restarts a dead one, as a supervisor would."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns
        self.all: list[Worker] = []
        self.restarts: list[str] = []

    def start(self, name: str = "a", timeout: float = 300) -> Worker:
        port = free_port()
        log_path = self.ns.dir / f"worker-{name}-{len(self.all)}.log"
        env = {**os.environ, **self.ns.env, "NEWSSTREAM_WEB_PORT": str(port),
               "NEWSSTREAM_DATA_DIR": str(self.ns.dir / f"faust-{name}")}
        proc = procs.spawn(
            [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "info"], log_path,
            cwd=ROOT, env=env,
        )
        w = Worker(name, proc, log_path, port)
        self.all.append(w)
        deadline = time.monotonic() + timeout
        while not w.answers():
            if proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {proc.returncode} at start: {log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} not answering after {timeout}s: {log_path}")
            time.sleep(0.5)
        return w

    def supervise(self) -> None:
        """Restart (same name, same data dir) the last worker of each name if it died."""
        latest: dict[str, Worker] = {}
        for w in self.all:
            latest[w.name] = w
        for name, w in latest.items():
            if not w.alive() and not getattr(w, "stopped", False):
                self.restarts.append(f"worker {name} exited rc={w.proc.returncode} ({w.log.name})")
                log(f"worker {name} died (rc={w.proc.returncode}); restarting it")
                self.start(name)

    def stop(self, w: Worker) -> None:
        w.stopped = True  # type: ignore[attr-defined]
        w.kill(signal.SIGTERM)

    def stop_all(self) -> None:
        for w in self.all:
            w.stopped = True  # type: ignore[attr-defined]
            if w.alive():
                w.kill(signal.SIGTERM, timeout=60)

    def cpu_seconds(self) -> float:
        """CPU time of the live workers and their NER processes."""
        return sum(w.cpu_seconds() for w in self.all if w.alive())

    def evidence(self) -> list[str]:
        out = []
        for w in self.all:
            out += [f"{w.log.name}: {line}" for line in w.log_evidence()]
        return out

    def crashes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for w in self.all:
            total += w.crashes()
        return total


# --- sending ----------------------------------------------------------------------------------


@dataclass
class Sent:
    """One produced message and where Kafka put it."""

    kind: str
    marker: str | None
    partition: int
    offset: int
    copy_of: str | None = None  # an exact copy: accounted for as a count on this message's doc

    @property
    def identity(self) -> str:
        return self.marker or f"pos:{self.partition}:{self.offset}"


def send(ns: Namespace, messages: list[Message]) -> list[Sent]:
    """Produce ``messages`` in order to the input topic; return where each one landed."""
    from streams import kafka_io

    s = ns.settings()
    producer = kafka_io.producer(s, max_request_size=16 * 1024 * 1024, linger_ms=50)
    futures = [producer.send(s.topic_articles, key=m.key, value=m.value) for m in messages]
    kafka_io.flush(producer, timeout=600)
    out = []
    for m, f in zip(messages, futures, strict=True):
        md = f.get(timeout=600)
        out.append(Sent(m.kind, m.marker, md.partition, md.offset, m.copy_of))
    producer.close()
    return out


# --- accounting -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What became of every sent message, measured in Elasticsearch and on the DLQ."""

    sent: int
    unique: int
    indexed: int
    dead: int
    lost: int
    doubled: int
    both: int
    dlq_copies: int
    good_dead: Counter[str] = field(default_factory=Counter)
    dead_reasons: Counter[str] = field(default_factory=Counter)
    lost_kinds: Counter[str] = field(default_factory=Counter)
    doubled_examples: list[str] = field(default_factory=list)
    es_error: str | None = None
    lost_ids: list[str] = field(default_factory=list)

    @property
    def accounted(self) -> bool:
        return self.es_error is None and self.lost == 0


class Ledger:
    """Reads back the row's Elasticsearch alias and dead-letter topic and tallies the sends."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns
        self.s = ns.settings()
        self.sent: list[Sent] = []
        self.envelopes: list[dict[str, Any]] = []
        self._consumer: Any = None
        self._last_lost: list[str] = []

    def add(self, sent: list[Sent]) -> None:
        self.sent += sent

    def _read_dlq(self) -> None:
        from kafka import TopicPartition

        from streams import dlq, kafka_io

        try:
            if self._consumer is None:
                c = kafka_io.consumer(self.s)
                parts = c.partitions_for_topic(self.s.topic_dlq) or set()
                if not parts:
                    c.close()
                    return
                c.assign([TopicPartition(self.s.topic_dlq, p) for p in sorted(parts)])
                c.seek_to_beginning()
                self._consumer = c
            while True:
                batch = self._consumer.poll(timeout_ms=1000, max_records=5000)
                if not batch:
                    break
                for records in batch.values():
                    self.envelopes += [dlq.decode_envelope(r.value) for r in records]
        except Exception as exc:  # Kafka down during a fault: read the rest next time
            log(f"DLQ read failed ({exc!r}); retrying later")
            with contextlib.suppress(Exception):
                self._consumer.close()
            self._consumer = None
            self.envelopes = []

    def _es_docs(self) -> tuple[dict[str, set[tuple[str, str]]], dict[str, int]]:
        """marker -> {(index, _id)} over every index behind the alias (and the alias' pattern),
        and marker -> the ``duplicate_count`` of its document (exact copies counted on it)."""
        from elasticsearch import helpers

        from streams.index.es_client import make_client

        es = make_client(self.s, request_timeout=60)
        by_marker: dict[str, set[tuple[str, str]]] = defaultdict(set)
        counted: dict[str, int] = {}
        try:
            for pattern in (self.s.es_alias, f"{self.s.es_alias}-*"):
                for hit in helpers.scan(es, index=pattern, query={"query": {"match_all": {}}},
                                        _source=["extra.chaos_marker", "url", "id",
                                                 "duplicate_count"], size=2000,
                                        ignore_unavailable=True):
                    src = hit.get("_source") or {}
                    m = (src.get("extra") or {}).get("chaos_marker")
                    if not m:
                        found = _MARKER.search(json.dumps(src, ensure_ascii=False).encode(
                            "utf-8", "surrogatepass"))
                        m = found.group().decode() if found else f"?doc:{hit['_id']}"
                    by_marker[m].add((hit["_index"], hit["_id"]))
                    counted[m] = max(counted.get(m, 0), int(src.get("duplicate_count") or 0))
        finally:
            es.close()
        return by_marker, counted

    def tally(self) -> Tally:
        self._read_dlq()
        es_error = None
        counted: dict[str, int] = {}
        try:
            docs, counted = self._es_docs()
        except Exception as exc:
            docs, es_error = {}, repr(exc)[:200]
        tally = account(self.sent, self.envelopes, docs, self.s.topic_articles, es_error,
                        counted)
        self._last_lost = tally.lost_ids
        return tally

    def trace(self, markers: list[str]) -> dict[str, list[str]]:
        """Where each marker appears on the pipeline's topics (``stage:partition:offset``).

        For the notes of a row that lost messages: the last topic a lost message reached names
        the stage that dropped it.
        """
        from streams import kafka_io

        s = self.s
        topics = [s.topic_articles, s.topic("dedup"), s.topic("unique"),
                  s.topic("enriched"), s.topic_dlq]
        wanted = {m.encode(): m for m in markers}
        out: dict[str, list[str]] = {m: [] for m in markers}
        try:
            c = kafka_io.consumer(s, *topics, consumer_timeout_ms=8000)
            for r in c:
                for m in set(_MARKER.findall(r.value or b"")) & set(wanted):
                    out[wanted[m]].append(f"{r.topic[len(s.topic_prefix) + 1:] or 'articles'}"
                                          f":{r.partition}:{r.offset}")
            c.close()
        except Exception as exc:
            log(f"trace failed: {exc!r}")
        return out

    def lost_markers(self, n: int = 5) -> list[str]:
        """Up to ``n`` markers of messages neither indexed nor dead-lettered (last tally)."""
        return list(self._last_lost[:n])

    def lag(self) -> dict[str, int] | None:
        from streams.ops import demo

        try:
            return demo.pipeline_lag(self.s)
        except (Exception, SystemExit) as exc:
            log(f"lag unknown: {exc!r}")
            return None

    def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                self._consumer.close()


def account(sent: list[Sent], envelopes: list[dict[str, Any]],
            docs: dict[str, set[tuple[str, str]]], input_topic: str,
            es_error: str | None = None, counted: dict[str, int] | None = None) -> Tally:
    """Tally ``sent`` against dead-letter ``envelopes`` and ``docs`` (marker -> {(index, _id)}).

    An envelope belongs to the message whose marker its original bytes contain, or, without a
    marker, to the message at the input position it names. A message is doubled when it has
    more than one document, or its document's id is in more than one index. An exact copy
    (``copy_of``) is not indexed itself: it counts as indexed when the document of the message
    it copies has a ``duplicate_count`` (``counted``, marker -> count) covering every copy sent.
    """
    by_pos = {(s.partition, s.offset): s for s in sent}
    dead: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    for env in envelopes:
        raw = b""
        with contextlib.suppress(Exception):
            raw = base64.b64decode(env.get("original_b64") or "")
        raw += str(env.get("preview") or "").encode("utf-8", "surrogatepass")
        found = _MARKER.search(raw)
        ident = None
        if found:
            ident = found.group().decode()
        elif env.get("topic") == input_topic and (env.get("partition"), env.get("offset")) in by_pos:
            ident = by_pos[(env["partition"], env["offset"])].identity
        if ident:
            dead[ident] += 1
            reasons[ident] = f"{env.get('stage')}/{env.get('reason')}"
    kinds = {s.identity: s.kind for s in sent}
    idx = {i for i in kinds if docs.get(i)}
    copies: dict[str, set[str]] = defaultdict(set)
    for s in sent:
        if s.copy_of:
            copies[s.copy_of].add(s.identity)
    for orig, members in copies.items():
        if orig in idx and (counted or {}).get(orig, 0) >= len(members):
            idx |= {i for i in members if i not in dead}
    dl = {i for i in kinds if dead.get(i)}
    lost = set(kinds) - idx - dl
    by_id: dict[str, set[str]] = defaultdict(set)
    for pairs in docs.values():
        for index, _id in pairs:
            by_id[_id].add(index)
    doubled = {i for i in idx if len(docs.get(i, ())) > 1}
    doubled |= {m for m in idx if any(len(by_id[_id]) > 1 for _, _id in docs.get(m, ()))}
    return Tally(
        sent=len(sent), unique=len(kinds), indexed=len(idx), dead=len(dl - idx),
        lost=len(lost), doubled=len(doubled), both=len(idx & dl),
        dlq_copies=sum(1 for i in dl if dead[i] > 1),
        good_dead=Counter(reasons[i] for i in dl - idx if kinds[i] == "good"),
        dead_reasons=Counter(reasons[i] for i in dl - idx),
        lost_kinds=Counter(kinds[i] for i in lost),
        doubled_examples=[f"{m}: {sorted(docs.get(m, ()))}" for m in sorted(doubled)[:3]],
        es_error=es_error,
        lost_ids=sorted(lost),
    )


@dataclass
class Drain:
    """How a wait for the drained pipeline ended."""

    drained: bool
    seconds: float
    tally: Tally
    lag: dict[str, int] | None
    stalled_for: float = 0.0


def wait_drained(ledger: Ledger, workers: Workers, since: float, timeout: float,
                 need_lag_zero: bool = True, stall_after: float | None = None,
                 done: Callable[[Tally], bool] | None = None) -> Drain:
    """Poll until every message is accounted for and the group has no lag (or ``timeout``).

    ``since`` is the monotonic time of the fault; the recovery time is measured from it to the
    first poll that sees the pipeline drained. Dead workers are restarted meanwhile. With
    ``stall_after``, give up early when nothing moved (indexed, dead-lettered, lag) for that
    long while the workers used almost no CPU (a long NER pass on a loaded machine moves no
    offset for minutes, but it computes): the row then reports a stall instead of waiting out
    the whole timeout.
    """
    deadline = time.monotonic() + timeout
    last_log = 0.0
    first_zero: float | None = None
    state: tuple[Any, ...] = ()
    moved = time.monotonic()
    cpu, polled = workers.cpu_seconds(), time.monotonic()
    while True:
        workers.supervise()
        tally = ledger.tally()
        complete = tally.accounted if done is None else done(tally)
        lag = ledger.lag() if complete or need_lag_zero else None
        lag_zero = lag is not None and sum(lag.values()) == 0
        now = time.monotonic()
        # two polls in a row with no lag: one could fall between a commit and the next send
        if complete and (lag_zero or not need_lag_zero):
            if first_zero is not None or not need_lag_zero:
                return Drain(True, (first_zero or now) - since, tally, lag)
            first_zero = now
        else:
            first_zero = None
        lag = lag if lag is not None else ledger.lag()
        new_state = (tally.indexed, tally.dead, tuple(sorted((lag or {}).items())))
        # computing (a tenth of a core or more since the last poll) is not a stall
        new_cpu = workers.cpu_seconds()
        busy = new_cpu - cpu >= 0.1 * max(now - polled, 1.0)
        cpu, polled = new_cpu, now
        if new_state != state or busy:
            state, moved = new_state, now
        if now > deadline or (stall_after is not None and now - moved > stall_after):
            return Drain(False, now - since, tally, lag, stalled_for=now - moved)
        if now - last_log > 20:
            last_log = now
            log(f"  waiting: indexed={tally.indexed} dead={tally.dead} lost={tally.lost} "
                f"of {tally.unique}; lag={lag}{' es=' + tally.es_error if tally.es_error else ''}")
        time.sleep(3)


def wait_metric(worker: Worker, metric: str, at_least: float, timeout: float) -> dict[str, float]:
    """Wait until the worker's ``metric`` counter reaches ``at_least``; return the counters."""
    deadline = time.monotonic() + timeout
    m: dict[str, float] = {}
    while time.monotonic() < deadline:
        m = worker.metrics()
        if m.get(metric, 0.0) >= at_least:
            return m
        time.sleep(0.2)
    return m


def progress(m: dict[str, float]) -> str:
    """The stage counters at a moment, for the notes column."""
    names = [("received", "newsstream_articles_received"),
             ("deduped", "newsstream_dedup_decisions"),
             ("enriched", "newsstream_articles_enriched"),
             ("indexed", "newsstream_documents_indexed")]
    return " ".join(f"{k}={int(m.get(v, 0))}" for k, v in names)
