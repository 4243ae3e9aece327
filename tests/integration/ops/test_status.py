"""``newsstream status`` against the real Kafka and Elasticsearch (and a real worker)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from streams import kafka_io
from streams.devservices.base import free_port
from streams.index import es_client
from tests.integration.conftest import Namespace, Worker, run_cli, wait_for

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _status(ns: Namespace, *args: str) -> tuple[int, dict]:
    done = run_cli(ns, "status", "--json", *args, timeout=120)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture()
def cleanup(namespace: Namespace) -> Iterator[None]:
    """Drop this test's topics and indices afterwards (the broker and node are shared)."""
    yield
    s = namespace.settings()
    admin = kafka_io.admin(s)
    try:
        mine = [t for t in admin.list_topics() if t.startswith(namespace.tag)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()
    es = es_client.make_client(s)
    try:
        names = list(es.indices.get(index=f"{s.es_alias}-*", allow_no_indices=True))
        if names:  # explicit names: wildcard deletes are refused by default
            es.indices.delete(index=",".join(names))
    finally:
        es.close()


def test_offsets_lag_counts_and_a_stopped_worker(namespace: Namespace, cleanup: None) -> None:
    ns = namespace
    ns.env["NEWSSTREAM_WEB_PORT"] = str(free_port())  # nothing listens there
    s = ns.settings()
    kafka_io.ensure_topics(s)
    producer = kafka_io.producer(s)
    sent: Counter[int] = Counter()
    assert s.partitions >= 2
    for i in range(23):
        md = producer.send(s.topic_articles, key=f"k{i}".encode(), value=b"{}").get(timeout=30)
        sent[md.partition] += 1
    for i in range(4):
        producer.send(s.topic_dlq, key=f"d{i}".encode(), value=b"x").get(timeout=30)
    producer.flush()
    producer.close()
    # A group that read 1 message of partition 0 and committed that, nothing elsewhere.
    group = f"{ns.tag}-readers"
    reader = kafka_io.consumer(s, group_id=group)
    reader.commit({TopicPartition(s.topic_articles, 0): OffsetAndMetadata(1, "", -1)})
    reader.close()
    # Five documents: two near duplicates, two originals that counted 3 + 1 copies.
    es = es_client.make_client(s)
    es.indices.create(index=f"{s.es_alias}-000001", aliases={s.es_alias: {}})
    docs = [
        {"title": "a", "duplicate_count": 3}, {"title": "b", "duplicate_count": 1},
        {"title": "c", "duplicate_of": "a"}, {"title": "d", "duplicate_of": "a"}, {"title": "e"},
    ]
    for i, d in enumerate(docs):
        es.index(index=s.es_alias, id=str(i), document=d)
    es.indices.refresh(index=s.es_alias)
    es.close()

    code, st = _status(ns, "--group", f"{ns.tag}-nobody")
    assert code == 0, st
    k = st["kafka"]
    assert k["ok"]
    rows = {(r["topic"], r["partition"]): r for r in k["partitions"]}
    for p in range(s.partitions):
        row = rows[(s.topic_articles, p)]
        assert row["end"] == sent[p]
        assert row["groups"][group]["lag"] == sent[p] - (1 if p == 0 else 0)
        assert row["groups"][group]["committed"] == (1 if p == 0 else None)
    assert k["group_lag"][group] == 22
    assert k["topics"][s.topic_articles]["messages"] == 23
    assert f"{ns.tag}-nobody" in k["group_lag"]  # asked for, shown with the whole log as lag
    assert k["group_lag"][f"{ns.tag}-nobody"] == 0  # ... but it has no commits on any topic
    assert st["dead_lettered"] == 4
    e = st["elasticsearch"]
    assert e["ok"] and e["documents"] == 5 and e["near_duplicates"] == 2
    assert e["duplicate_copies"] == 4 and e["documents_with_copies"] == 2
    assert st["worker"]["running"] is False and st["worker"]["state"] == "not running"

    text = run_cli(ns, "status", timeout=120)
    assert text.returncode == 0, text.stderr
    assert s.topic_articles in text.stdout and group in text.stdout
    assert "not running" in text.stdout and "Traceback" not in text.stderr


def test_services_down_fail_fast_with_a_clear_message(namespace: Namespace) -> None:
    ns = namespace
    ns.env.update({
        "NEWSSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "NEWSSTREAM_ES_URL": f"http://127.0.0.1:{free_port()}",
        "NEWSSTREAM_WEB_PORT": str(free_port()),
    })
    done = run_cli(ns, "status", "--timeout", "2", timeout=60)
    assert done.returncode == 1
    assert "cannot reach Kafka" in done.stdout and "cannot reach Elasticsearch" in done.stdout
    assert "not running" in done.stdout
    assert "Traceback" not in done.stderr
    code, st = _status(ns, "--timeout", "2")
    assert code == 1 and not st["kafka"]["ok"] and not st["elasticsearch"]["ok"]
    assert st["dead_lettered"] is None


def test_a_running_worker_catches_up(
    namespace: Namespace, start_worker: Callable[..., Worker], cleanup: None
) -> None:
    ns = namespace
    setup = run_cli(ns, "setup")
    assert setup.returncode == 0, setup.stderr
    worker = start_worker()
    ns.env["NEWSSTREAM_WEB_PORT"] = str(worker.web_port)
    lines = (EXAMPLES / "articles.jsonl").read_text("utf-8").splitlines()[:3]
    bad = (EXAMPLES / "bad_records.jsonl").read_text("utf-8").splitlines()[:1]
    sent = run_cli(ns, "produce", "-", input="\n".join(lines).encode() + b"\n")
    assert sent.returncode == 0, sent.stderr
    s = ns.settings()
    producer = kafka_io.producer(s)
    producer.send(s.topic_articles, value=bad[0].encode()).get(timeout=30)
    producer.close()

    def caught_up() -> dict | None:
        code, st = _status(ns)
        lag = st["kafka"].get("group_lag", {}).get(s.app_id)
        if code == 0 and st["elasticsearch"]["documents"] == 3 and lag == 0 and st["dead_lettered"]:
            return st
        return None

    st = wait_for(caught_up, timeout=240, what="status: 3 documents, 1 dead letter, no lag")
    assert isinstance(st, dict)
    assert st["worker"]["running"] and st["worker"]["agents"]
    assert st["dead_lettered"] == 1
    assert st["worker"]["counters"]["received"] >= 4
    rows = [r for r in st["kafka"]["partitions"] if r["topic"] == s.topic_articles]
    assert sum(r["end"] for r in rows) == 4
    assert all(r["groups"][s.app_id]["lag"] == 0 for r in rows)
