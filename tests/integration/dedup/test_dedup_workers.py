"""The dedup stage on the real Kafka: restarts, two workers, kill -9 mid-stream.

The first three need only Kafka: the workers run ``tests.integration.dedup.dedup_harness`` (validate
+ dedup agents) and the tests read ``articles.unique``: the articles passed on and the
``counts`` messages of exact copies. The last runs the whole pipeline (``newsstream worker``) into
Elasticsearch and checks what got indexed after two kill -9s.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.partitioner.default import murmur2

from streams import kafka_io
from streams import settings as settings_mod
from streams.ingest import contract
from streams.ops.status import metric_samples
from tests.integration.conftest import (
    Namespace,
    Worker,
    launched_workers,
    new_namespace,
    require_kafka,
    wait_for,
)

pytestmark = pytest.mark.integration

_rng = random.Random(11)
_VOCAB = [
    "".join(_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_rng.randint(3, 9)))
    for _ in range(3000)
]


def body(seed: int, n: int = 160) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(_VOCAB) for _ in range(n))


def edited(text: str, seed: int) -> str:
    """A reprint with a few words changed (Jaccard ~0.85 on 5-shingles)."""
    r = random.Random(seed)
    w = text.split()
    for _ in range(2):
        w[r.randrange(len(w))] = r.choice(_VOCAB)
    return " ".join(w)


def record(url: str, text: str, title: str = "A headline", source: str = "Src") -> dict[str, Any]:
    return {"url": url, "title": title, "body": text, "source": source}


Records = list[dict[str, Any]]


def mix(path: str, n: int, bodies: list[str], wire_prefix: str) -> tuple[Records, ...]:
    """``n`` originals and their duplicates of every kind, under ``/path/`` URLs.

    Wire copies (same body, the wire's title prefix) of i%3==0, tracking-parameter copies of
    i%6==1, near copies (a few words edited) of i%3==2, revisions (text added, same URL) of
    i%6==4: never the same original twice, so no copy races a revision of its original through
    two partitions. Returns (originals, copies, tracking, nears, revisions).
    """
    originals = [record(f"https://x.example/{path}/{i}", bodies[i], f"Story {i}", "X")
                 for i in range(n)]
    copies = [record(f"https://wire.example/{path}/{i}", bodies[i], f"{wire_prefix}Story {i}", "W")
              for i in range(0, n, 3)]
    tracking = [record(f"https://x.example/{path}/{i}?utm_source=feed", bodies[i], f"Story {i}",
                       "X feed") for i in range(1, n, 6)]
    nears = [record(f"https://y.example/{path}/{i}", edited(bodies[i], i), f"S {i}", "Y")
             for i in range(2, n, 3)]
    revisions = [record(f"https://x.example/{path}/{i}", bodies[i] + " late update added",
                        f"Story {i}", "X") for i in range(4, n, 6)]
    return originals, copies, tracking, nears, revisions


def aid(rec: dict[str, Any]) -> str:
    return contract.validate_record(rec).id


@pytest.fixture()
def ns(tmp_path: Path) -> Iterator[Namespace]:
    """Private topics and group; Kafka only (these tests need no Elasticsearch)."""
    require_kafka(settings_mod.load())
    ns = new_namespace("d", tmp_path, NEWSSTREAM_STORE="rocksdb://")
    kafka_io.ensure_topics(ns.settings(), ns.settings().pipeline_topics())
    yield ns


@pytest.fixture()
def start(ns: Namespace) -> Iterator[Callable[..., Worker]]:
    with launched_workers(ns, "tests.integration.dedup.dedup_harness") as run:
        yield run


def assigned(w: Worker) -> set[str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/health", timeout=3) as r:
            data = json.loads(r.read())
    except OSError:
        return set()
    return set() if data.get("rebalancing") else set(data.get("assigned") or ())


class Outputs:
    """Everything that arrived on ``articles.unique`` so far."""

    def __init__(self, ns: Namespace) -> None:
        s = ns.settings()
        self.unique_topic = s.topic("unique")
        self.consumer = kafka_io.consumer(s, self.unique_topic)
        self.unique: list[dict[str, Any]] = []
        self.counts: list[dict[str, Any]] = []

    def poll(self) -> Outputs:
        for records in self.consumer.poll(timeout_ms=500, max_records=5000).values():
            for rec in records:
                value = json.loads(rec.value)
                if value.get("kind") == "counts":
                    self.counts.append(value)
                else:
                    self.unique.append(value)
        return self

    def decisions(self, article_id: str) -> list[dict[str, Any]]:
        return [m["dedup"] for m in self.unique if m["article"]["id"] == article_id]

    def last_counts(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c["doc"] for c in self.counts}

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture()
def outputs(ns: Namespace) -> Iterator[Outputs]:
    o = Outputs(ns)
    yield o
    o.close()


def publish(ns: Namespace, records: list[dict[str, Any]]) -> None:
    s = ns.settings()
    producer = kafka_io.producer(s)
    for rec in records:
        article = contract.validate_record(rec)
        producer.send(
            s.topic_articles, key=contract.message_key(article),
            value=json.dumps(rec).encode(),
        )
    producer.flush()
    producer.close()


#: Workers that get killed: the group hands their partitions to the restarted worker once the
#: dead member's session expires (60 s by default), so a shorter session makes each kill cheap.
KILLED = {"NEWSSTREAM_SESSION_TIMEOUT": "20"}


def decide_partition(ns: Namespace) -> str:
    return f"{ns.settings().topic('dedup')}:0"


def test_restart_recovers_tables_and_still_catches_duplicates(
    ns: Namespace, start: Callable[..., Worker], outputs: Outputs
) -> None:
    w = start("a")
    wait_for(lambda: decide_partition(ns) in assigned(w), 120, "the decide partition assigned")
    text = body(1)
    orig = record("https://x.example/story-1", text, "Port strike", "X")
    publish(ns, [orig])
    wait_for(lambda: outputs.poll().decisions(aid(orig)), 120, "the original on articles.unique")
    assert outputs.decisions(aid(orig))[0]["kind"] == "new"

    w.kill(signal.SIGTERM)
    # a NEW data dir: the tables can only come back from their changelog topics
    w2 = start("b")
    wait_for(lambda: decide_partition(ns) in assigned(w2), 180, "the decide partition again")
    copy = record("https://wire.example/w/1", "PARIS (AFP) - " + text, "UPDATE 1-Port strike",
                  "AFP")
    near = record("https://y.example/n/1", edited(text, 2), "Strike at the port", "Y")
    publish(ns, [copy, near, orig])  # orig again = a replay, not a duplicate of itself

    wait_for(lambda: len(outputs.poll().decisions(aid(near))) >= 1
             and len(outputs.decisions(aid(orig))) >= 2
             and outputs.last_counts().get(aid(orig)), 120, "copy, near and replay handled")
    assert outputs.last_counts()[aid(orig)] == {"duplicate_count": 1, "duplicate_sources": ["AFP"]}
    assert outputs.decisions(aid(copy)) == []
    d = outputs.decisions(aid(near))[0]
    assert d["kind"] == "near" and d["duplicate_of"] == aid(orig) and d["story_id"] == aid(orig)
    replay = outputs.decisions(aid(orig))[1]
    assert replay["kind"] == "replay" and replay["duplicate_of"] is None
    assert replay["first_seen"] == outputs.decisions(aid(orig))[0]["first_seen"]


def test_two_workers_catch_a_near_duplicate_from_the_other_workers_partition(
    ns: Namespace, start: Callable[..., Worker], outputs: Outputs
) -> None:
    source = ns.settings().topic_articles
    a, b = start("a"), start("b")

    def split() -> bool:
        sa, sb = assigned(a), assigned(b)
        va = {p for p in sa if p.startswith(source + ":")}
        vb = {p for p in sb if p.startswith(source + ":")}
        return len(va) == 1 and len(vb) == 1 and va != vb and decide_partition(ns) in sa | sb

    wait_for(split, 180, "the two workers splitting articles")
    text = body(3)
    orig = record("https://x.example/story-3", text, "Bridge closed", "X")

    def part(rec: dict[str, Any]) -> int:
        key = contract.message_key(contract.validate_record(rec))
        return (murmur2(key) & 0x7FFFFFFF) % 2

    near = next(
        r for i in range(100)
        if part(r := record(f"https://y.example/n/{i}", edited(text, 4), "Bridge shut", "Y"))
        != part(orig)
    )
    owner = {p: w for w in (a, b) for p in assigned(w)}
    assert owner[f"{source}:{part(orig)}"] is not owner[f"{source}:{part(near)}"]

    publish(ns, [orig])
    wait_for(lambda: outputs.poll().decisions(aid(orig)), 120, "the original on articles.unique")
    publish(ns, [near])
    wait_for(lambda: outputs.poll().decisions(aid(near)), 120, "the near copy on articles.unique")
    d = outputs.decisions(aid(near))[0]
    assert d["kind"] == "near" and d["duplicate_of"] == aid(orig) and d["story_id"] == aid(orig)
    assert d["similarity"] >= 0.7


def test_kill_9_mid_stream_loses_nothing_and_never_self_duplicates(
    ns: Namespace, start: Callable[..., Worker], outputs: Outputs
) -> None:
    n = 60
    originals, copies, tracking, nears, revisions = mix("k", n, [body(100 + i) for i in range(n)],
                                                        "RPT-")

    def kill_midway(w: Worker, want: int) -> None:
        wait_for(lambda: len(outputs.poll().unique) >= want, 180, f"{want} messages out")
        w.kill(signal.SIGKILL)

    w = start("a", KILLED)
    wait_for(lambda: decide_partition(ns) in assigned(w), 120, "the decide partition assigned")
    publish(ns, originals)
    kill_midway(w, 1)  # at the first output: most decisions are still uncommitted
    w = start("a", KILLED)  # same data dir, as after a crash
    wait_for(lambda: all(outputs.poll().decisions(aid(o)) for o in originals), 240,
             "every original on articles.unique")

    before = len(outputs.unique)
    publish(ns, copies + tracking + nears + revisions)
    kill_midway(w, before + 1)
    start("a", KILLED)
    expected_counts = {
        aid(originals[i]): sum(1 for r in copies + tracking if r["body"] == originals[i]["body"])
        for i in range(n)
    }
    expected_counts = {k: v for k, v in expected_counts.items() if v}

    def done() -> bool:
        outputs.poll()
        return (
            all(outputs.decisions(aid(r)) for r in nears)
            and all(
                any(d["kind"] in ("revision", "replay") and d["content_hash"] != first
                    for d in outputs.decisions(aid(r)))
                for r in revisions
                for first in [outputs.decisions(aid(r))[0]["content_hash"]]
            )
            and {k: v["duplicate_count"] for k, v in outputs.last_counts().items()}
            == expected_counts
        )

    wait_for(done, 240, "every copy, near duplicate and revision handled")
    time.sleep(3)
    outputs.poll()

    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in outputs.unique:
        by_id[m["article"]["id"]].append(m["dedup"])
    # exactly the unique articles were passed on: originals (and their revisions) and nears
    assert set(by_id) == {aid(r) for r in originals + nears}
    for article_id, decisions in by_id.items():
        assert all(d["duplicate_of"] != article_id for d in decisions), decisions
        assert len({d["story_id"] for d in decisions}) == 1, decisions
        assert len({d["first_seen"] for d in decisions}) == 1, decisions
    for r, i in zip(nears, range(2, n, 3), strict=True):
        assert {d["duplicate_of"] for d in by_id[aid(r)]} == {aid(originals[i])}
    lost_first = 0
    for o in originals:
        kinds = [d["kind"] for d in by_id[aid(o)]]
        # "replay" first = the decision was stored but its output died with the worker: the
        # redelivery passes the article on, as itself, instead of losing or self-matching it
        assert kinds[0] in ("new", "replay") and set(kinds) <= {"new", "replay", "revision"}
        assert all(d["duplicate_of"] is None for d in by_id[aid(o)])
        lost_first += kinds[0] == "replay"
    replays = sum(d["kind"] == "replay" for ds in by_id.values() for d in ds)
    print(f"\nkill -9 test: {len(outputs.unique)} unique messages for {len(by_id)} ids "
          f"({replays} replays after the crashes, {lost_first} of them for an article whose "
          f"first output died with the worker), {len(outputs.counts)} counts messages")


def test_end_to_end_kill_9_every_unique_article_indexed_once_duplicates_marked(
    namespace: Namespace, start_worker: Callable[..., Worker]
) -> None:
    """The whole pipeline (validate, dedup, NER, index) on real Kafka and Elasticsearch."""
    from elasticsearch import Elasticsearch

    from streams.index.es_client import make_client
    from tests.integration.conftest import run_cli

    setup = run_cli(namespace, "setup")
    assert setup.returncode == 0, setup.stderr + setup.stdout
    s = namespace.settings()
    es: Elasticsearch = make_client(s)

    def docs() -> dict[str, dict[str, Any]]:
        if not es.indices.exists_alias(name=s.es_alias):
            return {}
        es.indices.refresh(index=s.es_alias)
        hits = es.search(index=s.es_alias, query={"match_all": {}}, size=1000)["hits"]["hits"]
        return {h["_id"]: h["_source"] for h in hits}

    n = 24
    originals, copies, tracking, nears, revisions = mix("e", n, [body(500 + i, 120) for i in range(n)],
                                                        "UPDATE 1-")

    w = start_worker("e", KILLED)
    publish(namespace, originals)
    wait_for(lambda: len(docs()) >= 1, 240, "the first document indexed")
    w.kill(signal.SIGKILL)
    w = start_worker("e", KILLED)
    wait_for(lambda: len(docs()) == n, 300, "every original indexed")
    publish(namespace, copies + tracking + nears + revisions)
    wait_for(lambda: len(docs()) > n, 240, "the first near duplicate indexed")
    w.kill(signal.SIGKILL)
    start_worker("e", KILLED)

    want_counts = {aid(originals[i]): sum(r["body"] == originals[i]["body"] for r in copies + tracking)
                   for i in range(n)}

    def settled() -> bool:
        d = docs()
        return (
            set(d) == {aid(r) for r in originals + nears}
            and all(d[aid(r)]["body"] == r["body"] for r in revisions)
            and all((d[k].get("duplicate_count") or 0) == v for k, v in want_counts.items())
        )

    wait_for(settled, 300, "copies counted, near duplicates and revisions indexed")
    d = docs()
    assert len(d) == len(originals) + len(nears)  # exact copies were never indexed
    for r, i in zip(nears, range(2, n, 3), strict=True):
        doc = d[aid(r)]
        assert doc["duplicate_of"] == aid(originals[i]) and doc["story_id"] == aid(originals[i])
    for o in originals:
        assert d[aid(o)]["duplicate_of"] is None and d[aid(o)]["story_id"] == aid(o)
    wire_copied = d[aid(originals[0])]
    assert wire_copied["duplicate_sources"] == ["W"]


def health(w: Worker) -> tuple[int, dict[str, Any]]:
    """``/health`` as (HTTP status, body); a 503 carries its reasons in the body."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def metric(w: Worker, name: str, **labels: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return next((x.value for x in metric_samples(text)
                 if x.name == name and labels.items() <= x.labels.items()), None)


def test_a_stalled_partition_fails_health_with_its_reason_and_shows_in_metrics_and_status(
    ns: Namespace, start: Callable[..., Worker], outputs: Outputs
) -> None:
    """A real stall: the validate agent hangs on one message (a test hook of the harness)."""
    from tests.integration.conftest import run_cli

    w = start("a", extra_env={"NEWSSTREAM_STALL_SECONDS": "4",
                              "DEDUP_HARNESS_BLOCK_ON": "STALL-HERE"})
    wait_for(lambda: decide_partition(ns) in assigned(w), 120, "the decide partition assigned")
    fine = record("https://x.example/live-1", body(7), "Fine", "X")
    publish(ns, [fine])
    wait_for(lambda: outputs.poll().decisions(aid(fine)), 120, "the first article passed on")
    # healthy and caught up: every partition sampled with no lag
    wait_for(lambda: (h := health(w))[0] == 200 and h[1]["partitions"]
             and all(p["lag"] == 0 for p in h[1]["partitions"]), 60, "health 200, no lag")

    stuck = record("https://x.example/live-2", body(8), "STALL-HERE", "X")
    publish(ns, [stuck])
    topic = ns.settings().topic_articles
    part = (murmur2(contract.message_key(contract.validate_record(stuck))) & 0x7FFFFFFF) % 2
    _, h = wait_for(lambda: (r := health(w))[0] == 503 and r, 120, "health 503")  # type: ignore[misc]
    assert h["status"] == "stalled"
    assert f"{topic}:{part} has 1 messages of lag" in h["reason"]
    assert [(p["topic"], p["partition"]) for p in h["partitions"] if p["stalled"]] == [(topic, part)]
    assert metric(w, "newsstream_partition_stalled", topic=topic, partition=str(part)) == 1.0
    assert metric(w, "newsstream_partition_stalled", topic=topic, partition=str(1 - part)) == 0.0
    assert metric(w, "newsstream_partition_lag", topic=topic, partition=str(part)) == 1.0

    env = Namespace(ns.tag, ns.tmp, {**ns.env, "NEWSSTREAM_WEB_PORT": str(w.web_port)})
    done = run_cli(env, "status", "--json", timeout=120)
    worker = json.loads(done.stdout)["worker"]
    assert worker["running"] and worker["state"] == "stalled"
    assert [(p["topic"], p["partition"]) for p in worker["stalled"]] == [(topic, part)]
    text = run_cli(env, "status", timeout=120).stdout
    assert f"STALLED {topic}:{part}: lag 1" in text


def test_a_backlog_read_while_the_streams_are_sought_is_not_lost(
    ns: Namespace, start: Callable[..., Worker], outputs: Outputs
) -> None:
    """The post-recovery stall, made deterministic (docs/reliability.md).

    A worker that must replay its table's changelog (a new data dir) starts on a backlog of
    ``articles``, one of whose partitions was never committed, and its post-recovery seek
    is slowed as on a busy machine. With Faust's own order the fetcher (running since the
    replay) hands the backlog to the validate agent while the seek runs, the queue is cleared
    right after, and the records the agent had not reached are never read again (run with
    DEDUP_HARNESS_UPSTREAM_RECOVERY=1 to see this test time out). With ``streams.runtime.recovery``
    every article is passed on.
    """
    w = start("a")
    wait_for(lambda: decide_partition(ns) in assigned(w), 120, "the decide partition assigned")
    first = record("https://x.example/b/first", body(899), "First", "X")
    publish(ns, [first])
    wait_for(lambda: outputs.poll().decisions(aid(first)), 120, "the first article passed on")
    w.kill(signal.SIGTERM)  # its table now has a changelog a new data dir must replay

    n = 2000
    recs = [record(f"https://x.example/b/{i}", body(900 + i, 30), f"Backlog {i}", "X")
            for i in range(n)]
    publish(ns, recs)
    want = {aid(r) for r in recs}
    extra = {"DEDUP_HARNESS_SLOW_SEEK": "1"}
    if os.environ.get("DEDUP_HARNESS_UPSTREAM_RECOVERY"):
        extra["DEDUP_HARNESS_UPSTREAM_RECOVERY"] = "1"
    start("b", extra_env=extra)

    def passed_on() -> set[str]:
        outputs.poll()
        return {m["article"]["id"] for m in outputs.unique} & want

    wait_for(lambda: passed_on() == want, 180, f"all {n} backlog articles on articles.unique")
