"""The index stage against the real Elasticsearch (and Kafka for the agent tests).

Sink tests drive :class:`streams.index.sink.BulkSink` directly; agent tests run a Faust worker
subprocess with only the index agent, feed ``articles.enriched`` with a real producer and read
the consumer group's committed offsets from the real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from streams import procs
from streams.index import documents, es_client
from streams.index import schema as setup
from streams.index.sink import BulkSink, PendingDoc, pending_doc
from streams.model import Article, DedupInfo, Entity, Language
from streams.settings import Settings
from tests.integration.conftest import ROOT, Namespace, free_port, wait_for

pytestmark = pytest.mark.integration

EN = Language("en", 0.99)


@dataclass(frozen=True)
class _Enrichment:
    languages: Mapping[str, Language] = field(default_factory=lambda: {"title": EN, "body": EN})
    entities: Sequence[Entity] = ()
    ner_status: str = "ok"
    persons: Sequence[str] = ()
    organizations: Sequence[str] = ()
    locations: Sequence[str] = ()


def doc_message(i: int, title: str | None = None) -> dict[str, Any]:
    """A full-document message as the enrich stage builds it (our own invented text)."""
    art = Article(
        id=f"art-{i:05d}",
        url=f"https://harbour-news.example/{i}",
        canonical_url=f"https://harbour-news.example/{i}",
        title=title or f"Harbour council votes on ferry timetable number {i}",
        body=f"The council met on Tuesday and agreed timetable {i} for the winter ferries.",
        published_at="2026-11-20T10:00:00Z",
        source="harbour-news.example",
    )
    dedup = DedupInfo(
        kind="new", content_hash=f"h{i}", story_id=f"s{i}", first_seen="2026-11-20T10:00:01Z"
    )
    doc = documents.build_document(art, dedup, _Enrichment(), "2026-11-20T10:00:02Z")
    return documents.document_message(doc)


def bad_message(i: int) -> dict[str, Any]:
    """A document Elasticsearch's mapping rejects (a date field that is not a date)."""
    msg = doc_message(i)
    msg["doc"]["published_at"] = "sometime last week"
    return msg


@pytest.fixture()
def es_ns(namespace: Namespace) -> Iterator[Settings]:
    """This test's alias with the real template and first backing index; removed afterwards."""
    s = namespace.settings()
    setup.setup_elasticsearch(s)
    yield s
    drop_alias(s)


def drop_alias(s: Settings) -> None:
    """Delete the test's backing indices by name (wildcard deletes are refused) and template."""
    es = es_client.make_client(s)
    names = list(es.indices.get(index=f"{s.es_alias}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=s.es_alias)


def copies(s: Settings, ids: Sequence[str]) -> dict[str, list[str]]:
    """id -> the backing indices holding a document with that id (after a refresh)."""
    es = es_client.make_client(s)
    es.indices.refresh(index=f"{s.es_alias}-*")
    resp = es.search(
        index=f"{s.es_alias}-*", query={"ids": {"values": list(ids)}}, size=10_000, source=False
    )
    out: dict[str, list[str]] = {}
    for hit in resp["hits"]["hits"]:
        out.setdefault(hit["_id"], []).append(hit["_index"])
    return out


def total(s: Settings) -> int:
    es = es_client.make_client(s)
    es.indices.refresh(index=f"{s.es_alias}-*")
    return int(es.count(index=f"{s.es_alias}-*")["count"])


def get_doc(s: Settings, doc_id: str) -> dict[str, Any]:
    es = es_client.make_client(s)
    es.indices.refresh(index=f"{s.es_alias}-*")
    hits = es.search(index=f"{s.es_alias}-*", query={"ids": {"values": [doc_id]}})["hits"]["hits"]
    assert len(hits) == 1, hits
    return dict(hits[0]["_source"])


class SinkRun:
    """Write messages through a real BulkSink; collect released offsets and dead letters."""

    def __init__(self, s: Settings, **kw: Any) -> None:
        self.s = s
        self.kw = kw
        self.released: list[PendingDoc] = []
        self.dead: list[tuple[PendingDoc, str, str]] = []
        self.next_offset = 0

    async def _dead_letter(self, d: PendingDoc, reason: str, error: str) -> None:
        self.dead.append((d, reason, error))

    @contextlib.asynccontextmanager
    async def sink(self) -> AsyncIterator[BulkSink]:
        """A real BulkSink on a client of its own, closed after the block."""
        client = es_client.make_async_client(self.s)
        try:
            yield BulkSink.from_settings(client, self.s, self._dead_letter, **self.kw)
        finally:
            await client.close()

    async def _write(self, messages: Sequence[Any]) -> None:
        async with self.sink() as sink:
            self.refreshed = False
            docs = []
            for m in messages:
                docs.append(
                    pending_doc(("enriched", 0), self.next_offset, m, json.dumps(m).encode())
                )
                self.next_offset += 1
            await sink.write(docs, on_release=self.released.extend)
            self.refreshed = sink.refreshed

    def write(self, messages: Sequence[Any]) -> None:
        asyncio.run(self._write(messages))


# --- the sink against the real Elasticsearch ---------------------------------------------------


def searchable(s: Settings, ids: Sequence[str]) -> int:
    """How many of ``ids`` a search finds now (only refreshed segments answer; no refresh here)."""
    es = es_client.make_client(s)
    resp = es.search(index=f"{s.es_alias}-*", query={"ids": {"values": list(ids)}}, size=0)
    return int(resp["hits"]["total"]["value"])


def test_a_small_bulk_refreshes_unless_the_stage_before_is_behind(es_ns: Settings) -> None:
    s = es_ns
    es = es_client.make_client(s)
    es.indices.put_settings(index=f"{s.es_alias}-*", settings={"refresh_interval": "-1"})
    lull = SinkRun(s, refresh_below=50)
    lull.write([doc_message(i) for i in range(3)])
    assert lull.refreshed
    assert searchable(s, [f"art-{i:05d}" for i in range(3)]) == 3  # at once, no interval

    behind = SinkRun(s, refresh_below=50, upstream_behind=lambda: True)
    behind.next_offset = 3
    behind.write([doc_message(i) for i in range(3, 6)])
    assert not behind.refreshed
    assert searchable(s, [f"art-{i:05d}" for i in range(3, 6)]) == 0  # waits for a refresh
    assert len(behind.released) == 3  # acknowledged all the same: refresh is not durability



def test_replay_rewrites_revision_updates_counts_are_absolute(es_ns: Settings) -> None:
    s = es_ns
    run = SinkRun(s)
    msgs = [doc_message(i) for i in range(40)]
    run.write(msgs)
    assert total(s) == 40
    first = get_doc(s, "art-00003")

    run.write(msgs)  # replay of the same messages
    assert total(s) == 40
    assert get_doc(s, "art-00003") == first

    run.write([documents.counts_message("art-00003", 2, ["a.example", "b.example"])])
    run.write([documents.counts_message("art-00003", 2, ["a.example", "b.example"])])  # replayed
    run.write([doc_message(3, title="Harbour council postpones the ferry vote")])  # revision
    doc = get_doc(s, "art-00003")
    assert doc["title"] == "Harbour council postpones the ferry vote"
    assert doc["duplicate_count"] == 2  # the revision did not clobber the count
    assert doc["duplicate_sources"] == ["a.example", "b.example"]
    assert doc["body"] == first["body"]
    assert total(s) == 40
    assert [d.offset for d in run.released] == list(range(run.next_offset))
    assert run.dead == []


def test_counts_of_an_original_not_indexed_create_no_document_and_dead_letter_the_copy(
    es_ns: Settings,
) -> None:
    """The original was dead-lettered, its exact copy counted: no counts-only document.

    A document holding only ``duplicate_count``/``duplicate_sources`` would be a search hit
    without an article, and the copy would be accounted for by nothing. The copy goes to the
    dead-letter callback with its own reason instead; counts of an indexed original (in the same
    request, behind its document) still apply.
    """
    s = es_ns
    run = SinkRun(s)
    copy = Article(id="copy-1", url="https://c.example/copy-1",
                   canonical_url="https://c.example/copy-1", title="A copy", body="text")
    run.write([bad_message(200), documents.counts_message("art-00200", 1, ["c.example"], copy),
               doc_message(201), documents.counts_message("art-00201", 1, ["d.example"])])
    assert copies(s, ["art-00200"]) == {}
    assert total(s) == 1
    assert get_doc(s, "art-00201")["duplicate_count"] == 1
    reasons = [(d.offset, reason) for d, reason, _ in run.dead]
    assert reasons == [(0, "es_rejected"), (1, "original_not_indexed")]
    counted = run.dead[1][0]
    assert json.loads(counted.raw)["copy"] == {"id": "copy-1", "url": "https://c.example/copy-1"}
    assert "document_missing" in run.dead[1][2]
    assert [d.offset for d in run.released] == list(range(4))


def test_mapping_rejection_goes_to_the_dlq_and_the_rest_is_indexed(es_ns: Settings) -> None:
    s = es_ns
    run = SinkRun(s)
    msgs = [doc_message(i) for i in range(10)]
    msgs[4] = bad_message(4)
    run.write([*msgs, "not an object"])
    assert total(s) == 9
    assert "art-00004" not in copies(s, ["art-00004"])
    reasons = sorted((d.offset, reason) for d, reason, _ in run.dead)
    assert reasons == [(4, "es_rejected"), (10, "bad_internal_message")]
    error = json.loads(next(e for d, r, e in run.dead if r == "es_rejected"))
    assert error["status"] == 400
    assert "parsing" in error["error"]["type"] or "mapper" in error["error"]["type"]
    assert "published_at" in json.dumps(error)
    # every offset, rejected ones included, is released exactly once and in order
    assert [d.offset for d in run.released] == list(range(11))


def test_a_whole_request_400_is_split_and_only_the_offender_dead_lettered(
    es_ns: Settings,
) -> None:
    """An id over 512 bytes makes Elasticsearch refuse the whole bulk request, not the item."""
    s = es_ns
    run = SinkRun(s)

    async def go() -> None:
        async with run.sink() as sink:
            docs = [pending_doc(("enriched", 0), i, doc_message(i), b"raw") for i in range(9)]
            docs[5].doc_id = "x" * 600  # past the sink's own check: what ES does with it
            await sink.write(docs, on_release=run.released.extend)

    asyncio.run(go())
    assert total(s) == 8
    assert [(d.offset, reason) for d, reason, _ in run.dead] == [(5, "es_request_rejected")]
    assert json.loads(run.dead[0][2])["status"] == 400
    assert [d.offset for d in run.released] == list(range(9))


def test_redelivered_offsets_are_written_again_not_refused(es_ns: Settings) -> None:
    """After a rebalance Faust re-reads from the last commit: offsets the sink already released."""
    s = es_ns
    run = SinkRun(s)

    async def go() -> None:
        async with run.sink() as sink:
            tp = ("enriched", 0)
            first = [pending_doc(tp, i, doc_message(i), b"raw") for i in range(10)]
            await sink.write(first, on_release=run.released.extend)
            # the partition comes back from offset 4, in one batch with a jump backwards too
            again = [pending_doc(tp, i, doc_message(i), b"raw") for i in (4, 5, 6, 2, 3, 10)]
            await sink.write(again, on_release=run.released.extend)
            assert sink.tracker.committable(tp) == 11

    asyncio.run(go())
    assert total(s) == 11
    assert run.dead == []
    assert [d.offset for d in run.released] == [*range(10), 4, 5, 6, 2, 3, 10]


def test_rollover_never_duplicates_an_id(es_ns: Settings) -> None:
    s = es_ns
    es = es_client.make_client(s)
    first_index = setup.first_index(s.es_alias)
    run = SinkRun(s)
    run.write([doc_message(i) for i in range(20)])
    es.indices.refresh(index=first_index)

    # X: created, then rolled over before any refresh made it visible to search
    es.indices.put_settings(index=first_index, settings={"index": {"refresh_interval": "-1"}})
    run.write([doc_message(500)])
    new_index = es.indices.rollover(alias=s.es_alias)["new_index"]
    assert new_index != first_index

    # replay everything, revise two, count one, add new ids
    run.write([doc_message(i) for i in range(20)])
    run.write([doc_message(500, title="Ferry timetable revised after rollover")])
    run.write([doc_message(7, title="Revised after rollover")])
    run.write([documents.counts_message("art-00011", 3, ["x.example"])])
    run.write([doc_message(i) for i in range(20, 25)])

    ids = [f"art-{i:05d}" for i in [*range(25), 500]]
    where = copies(s, ids)
    assert {k: len(v) for k, v in where.items()} == {i: 1 for i in ids}
    assert where["art-00500"] == [first_index]
    assert where["art-00007"] == [first_index]
    assert where["art-00020"] == [new_index]
    assert get_doc(s, "art-00500")["title"] == "Ferry timetable revised after rollover"
    assert get_doc(s, "art-00011")["duplicate_count"] == 3
    assert total(s) == 26


def test_missing_alias_is_retried_not_auto_created(namespace: Namespace) -> None:
    """No setup: the sink must wait (retry) rather than let ES auto-create an index `<alias>`."""
    s = namespace.settings()
    es = es_client.make_client(s)
    run = SinkRun(s, backoff_initial=0.05, backoff_max=0.2)

    async def attempt() -> None:
        await asyncio.wait_for(run._write([doc_message(1)]), timeout=3)

    with pytest.raises(TimeoutError):
        asyncio.run(attempt())
    assert not es.indices.exists(index=s.es_alias)
    assert run.released == []


# --- outages -----------------------------------------------------------------------------------


def es_service(s: Settings) -> Any:
    from streams.cli.services import build

    return build("elasticsearch", s)


def es_pid(s: Settings) -> int:
    st = es_service(s).status()
    assert st.pid, f"no pid for the local Elasticsearch: {st}"
    return int(st.pid)


def test_sink_survives_elasticsearch_paused_for_30s(es_ns: Settings) -> None:
    """SIGSTOP the node mid-stream for 30 s: requests time out, the sink retries, none lost."""
    s = es_ns
    pid = es_pid(s)
    run = SinkRun(s, request_timeout=3.0, backoff_initial=0.2, backoff_max=4.0)
    batches = [[doc_message(b * 10 + i) for i in range(10)] for b in range(60)]

    async def stream() -> None:  # messages arrive over time, ~12 s of stream without outage
        for batch in batches:
            await run._write(batch)
            await asyncio.sleep(0.2)

    async def scenario() -> int:
        writer = asyncio.create_task(stream())
        await asyncio.sleep(2)
        with procs.suspended(pid):
            await asyncio.sleep(3)  # let an in-flight request hit the stopped node
            during = len(run.released)
            await asyncio.sleep(27)
            assert not writer.done()
            assert len(run.released) == during  # nothing acknowledged while ES is down
        await asyncio.wait_for(writer, timeout=240)
        return during

    during = asyncio.run(scenario())
    assert 0 < during < 600  # the outage really was mid-stream
    ids = [f"art-{i:05d}" for i in range(600)]
    where = copies(s, ids)
    assert sorted(where) == ids
    assert all(len(v) == 1 for v in where.values())
    assert [d.offset for d in run.released] == list(range(600))


# --- the Faust agent: commit after acknowledgement ---------------------------------------------

HARNESS = """
import faust, streams.runtime.agents.index  # noqa: F401  (registers only the index agent)
from streams import logs
from streams.runtime.app import app, settings
logs.setup(settings.log_level, settings.log_format)
faust.Worker(app, loglevel="info", quiet=True, redirect_stdouts=False).execute_from_commandline()
"""


@dataclass
class IndexWorker:
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        procs.stop_process(self.proc, timeout=60, sig=sig)


@pytest.fixture()
def index_worker(namespace: Namespace) -> Iterator[Any]:
    started: list[IndexWorker] = []

    def start(extra: Mapping[str, str] | None = None) -> IndexWorker:
        log = namespace.tmp / f"index-worker-{len(started)}.log"
        env = {**os.environ, **namespace.env, "NEWSSTREAM_WEB_PORT": str(free_port())}
        env["NEWSSTREAM_DATA_DIR"] = str(namespace.tmp / f"faust-{len(started)}")
        env.update(extra or {})
        proc = procs.spawn([sys.executable, "-c", HARNESS], log, cwd=ROOT, env=env)
        w = IndexWorker(proc, log)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def produce(s: Settings, messages: Sequence[Mapping[str, Any]]) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", **s.kafka_client_options())
    for m in messages:
        p.send(s.topic("enriched"), key=str(m["id"]).encode(), value=json.dumps(m).encode())
    p.flush()
    p.close()


def ensure_topics(s: Settings) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, **s.kafka_client_options())
    for name in (s.topic("enriched"), s.topic_dlq):
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(name, s.partitions, s.replication_factor)])
    admin.close()


def committed(s: Settings) -> dict[int, int]:
    """Committed offsets of the index agent's group on articles.enriched, per partition."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, **s.kafka_client_options())
    try:
        offs = admin.list_group_offsets(s.app_id).get(s.app_id, {})
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in offs.items() if tp.topic == s.topic("enriched")}


def end_offsets(s: Settings) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, **s.kafka_client_options())
    try:
        tps = [TopicPartition(s.topic("enriched"), p) for p in range(s.partitions)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}
    finally:
        c.close()


def dead_letters(s: Settings, expect: int, timeout: float = 60) -> list[dict[str, Any]]:
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        s.topic_dlq,
        bootstrap_servers=s.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
        **s.kafka_client_options(),
    )
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expect and time.monotonic() < deadline:
            out += [json.loads(r.value) for r in c]
    finally:
        c.close()
    return out


def test_agent_indexes_dead_letters_and_commits_only_acknowledged(
    es_ns: Settings, index_worker: Any
) -> None:
    s = es_ns
    ensure_topics(s)
    msgs = [doc_message(i) for i in range(60)]
    msgs[17] = bad_message(17)
    produce(s, msgs)
    w = index_worker()
    wait_for(lambda: total(s) >= 59, 180, f"59 documents indexed\n{w.tail()}")
    dl = dead_letters(s, 1)
    assert [(d["stage"], d["reason"]) for d in dl] == [("index", "es_rejected")]
    assert "published_at" in dl[0]["error"] and dl[0]["topic"] == s.topic("enriched")
    ends = end_offsets(s)
    wait_for(lambda: committed(s) == ends, 60, f"commits reach the end offsets {ends}")

    produce(s, msgs[:30])  # a replay through Kafka: same ids, count unchanged
    ends = end_offsets(s)
    wait_for(lambda: committed(s) == ends, 120, "the replay committed")
    assert total(s) == 59


def test_agent_killed_between_send_and_ack_loses_nothing(
    es_ns: Settings, index_worker: Any
) -> None:
    """ES paused 30 s mid-stream; the worker is SIGKILLed while its bulk is unanswered."""
    s = es_ns
    ensure_topics(s)
    pid = es_pid(s)
    # the restarted worker takes the killed one's partitions once its session expires
    fast = {"NEWSSTREAM_BULK_TIMEOUT": "3", "NEWSSTREAM_BULK_BACKOFF_MAX": "4",
            "NEWSSTREAM_SESSION_TIMEOUT": "20"}
    w = index_worker(fast)
    produce(s, [doc_message(i) for i in range(50)])
    wait_for(lambda: total(s) == 50, 180, f"first 50 indexed\n{w.tail()}")
    ends_a = end_offsets(s)
    wait_for(lambda: committed(s) == ends_a, 60, "first batch committed")

    with procs.suspended(pid):
        produce(s, [doc_message(i) for i in range(50, 120)])
        wait_for(lambda: "retrying" in w.log.read_text(errors="replace"), 60, "a retry log line")
        time.sleep(5)  # several commit intervals while the bulk is unanswered
        assert committed(s) == ends_a, "an offset was committed before ES acknowledged it"
        w.stop(signal.SIGKILL)
        time.sleep(20)  # ES stays down 30 s in all
    assert committed(s) == ends_a

    w2 = index_worker(fast)
    ids = [f"art-{i:05d}" for i in range(120)]
    wait_for(lambda: len(copies(s, ids)) == 120, 240, f"all 120 indexed\n{w2.tail()}")
    where = copies(s, ids)
    assert all(len(v) == 1 for v in where.values())
    assert total(s) == 120
    ends = end_offsets(s)
    wait_for(lambda: committed(s) == ends, 60, "commits reach the end after recovery")
