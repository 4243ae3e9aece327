"""Message accounting through real workers: replay to the right stage, rebalances, NER kills.

Every test ends with an exact count: each article sent is one Elasticsearch document or one
dead letter, nothing else.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from kafka import KafkaProducer

from streams import dlq, kafka_io, procs
from streams.settings import Settings
from tests.integration.conftest import Namespace, Worker, run_cli, wait_for


def _article(i: int, tag: str = "a") -> bytes:
    return json.dumps({
        "url": f"https://accounting.example/{tag}/{i}",
        "title": f"Port authority {tag} reports cargo volume number {i} for the quarter",
        "body": f"The port authority said volume {i} rose in the quarter, officials in "
                f"Rotterdam reported on {tag} day {i}.",
    }).encode()


#: Faster worker start (the low-accuracy language model loads in seconds, not a minute);
#: language accuracy is not what these tests measure.
FAST = {"NEWSSTREAM_LANGID_ACCURACY": "low"}


def _producer(s: Settings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=s.kafka_bootstrap, max_request_size=16 * 1024 * 1024)


def _send(s: Settings, topic: str, values: list[bytes], key: bytes | None = None) -> None:
    producer = _producer(s)
    for v in values:
        producer.send(topic, key=key, value=v)
    producer.flush()
    producer.close()


def _es_count(s: Settings) -> int:
    from streams.index.es_client import make_client

    es = make_client(s)
    if not es.indices.exists_alias(name=s.es_alias):
        return 0
    es.indices.refresh(index=s.es_alias)
    return int(es.count(index=s.es_alias)["count"])


def _letters(s: Settings) -> list[dict[str, Any]]:
    consumer = kafka_io.consumer(s, s.topic_dlq, consumer_timeout_ms=3000)
    try:
        return [dlq.decode_envelope(m.value) for m in consumer]
    finally:
        consumer.close()


def _assigned(w: Worker) -> list[str]:
    """``topic:partition`` the worker's health page says it holds (empty if it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{w.web_port}/health", timeout=5) as r:
            body = r.read()
    except urllib.error.HTTPError as exc:  # an unhealthy worker still says what it holds
        body = exc.read()
    except OSError:
        return []
    try:
        return list(json.loads(body).get("assigned", []))
    except (ValueError, AttributeError):
        return []


def _worker_log(w: Worker) -> str:
    return w.log.read_text(errors="replace")


# --- replay to the right stage ----------------------------------------------------------------


def test_replay_sends_each_letter_back_to_the_topic_its_stage_reads(
    namespace: Namespace, start_worker: Any
) -> None:
    """A broken message on each internal topic is dead-lettered by that topic's stage; replayed,
    it goes back to the same topic (and so to the same stage), never to ``articles``."""
    assert run_cli(namespace, "setup").returncode == 0
    s = namespace.settings()
    start_worker(extra_env=FAST)
    valid_article = {"id": "r-1", "url": None, "canonical_url": None, "title": "A title"}
    broken = {
        "dedup": (s.topic("valid"), json.dumps({"article": {"no such field": 1}}).encode()),
        "enrich": (s.topic("unique"), json.dumps({"article": valid_article}).encode()),
        "index": (s.topic("enriched"), json.dumps(["not", "a", "document"]).encode()),
    }
    for topic, raw in broken.values():
        _send(s, topic, [raw], key=b"r-1")
    _send(s, s.topic_articles, [b"{not json"])
    wait_for(lambda: len(_letters(s)) >= 4, 420, "one dead letter per stage")
    first = _letters(s)
    by_stage = {e["stage"]: e for e in first}
    assert set(by_stage) == {"validate", "dedup", "enrich", "index"}, first
    assert by_stage["validate"]["input_topic"] == s.topic_articles
    for stage, (topic, raw) in broken.items():
        env = by_stage[stage]
        assert env["input_topic"] == topic, env
        assert env["reason"] == "bad_internal_message", env
        assert dlq.original_bytes(env) == raw

    dry = run_cli(namespace, "dlq", "replay", "--all", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    for stage, (topic, _) in broken.items():
        assert any(f"{stage}/" in line and line.endswith(f"-> {topic}")
                   for line in dry.stdout.splitlines()), dry.stdout

    res = run_cli(namespace, "dlq", "replay", "--all")
    assert res.returncode == 0 and "replayed 4" in res.stderr, res.stderr
    wait_for(lambda: len(_letters(s)) >= 8, 300, "the replayed letters refused again")
    letters = _letters(s)
    assert len(letters) == 8
    per_stage: dict[str, list[dict[str, Any]]] = {}
    for env in letters:
        per_stage.setdefault(env["stage"], []).append(env)
    assert {k: len(v) for k, v in per_stage.items()} == {
        "validate": 2, "dedup": 2, "enrich": 2, "index": 2}
    for before, after in per_stage.values():  # each came back through its own stage
        assert after["input_topic"] == before["input_topic"]
        assert after["reason"] == before["reason"]
        assert dlq.original_bytes(after) == dlq.original_bytes(before)
    assert _es_count(s) == 0


# --- rebalance ----------------------------------------------------------------------------------


@pytest.mark.timeout(900)  # two workers start and stop: the slowest test here
def test_index_partitions_move_to_a_second_worker_and_back_count_is_exact(
    namespace: Namespace, start_worker: Any
) -> None:
    """Start a worker, feed it, start a second one mid-stream (partitions move to it), feed,
    stop it (they move back), feed again: every article indexed once, nothing dead-lettered."""
    assert run_cli(namespace, "setup").returncode == 0
    s = namespace.settings()
    first = start_worker("one", extra_env=FAST)
    _send(s, s.topic_articles, [_article(i, "x") for i in range(60)])
    wait_for(lambda: _es_count(s) >= 10, 300, "the first articles indexed")

    enriched = f"{s.topic('enriched')}:"
    second = start_worker("two", extra_env=FAST)
    wait_for(lambda: any(a.startswith(enriched) for a in _assigned(second)), 300,
             "an index partition moved to the second worker")
    _send(s, s.topic_articles, [_article(i, "y") for i in range(60)])
    wait_for(lambda: _es_count(s) >= 70, 420, "more articles indexed with two workers")
    second.kill(signal.SIGTERM)
    wait_for(lambda: len([a for a in _assigned(first) if a.startswith(enriched)]) == 2, 300,
             "both index partitions back on the first worker")
    _send(s, s.topic_articles, [_article(i, "z") for i in range(40)])
    wait_for(lambda: _es_count(s) >= 160, 420, "all 160 articles indexed")
    time.sleep(5)  # anything doubled or late would show now
    assert _es_count(s) == 160
    assert _letters(s) == []
    assert first.proc.poll() is None, first.log_tail()
    for w in (first, second):
        text = _worker_log(w)
        assert "already released" not in text and "not pending" not in text, w.log_tail(200)


# --- a killed NER process ---------------------------------------------------------------------


def test_a_killed_ner_process_loses_no_article(
    namespace: Namespace, start_worker: Any
) -> None:
    """SIGKILL one NER process while batches are in flight: the pool restarts once, the failed
    batches are retried on the new pool, and every article is indexed (none dead-lettered)."""
    assert run_cli(namespace, "setup").returncode == 0
    s = namespace.settings()
    worker = start_worker(extra_env={**FAST, "NEWSSTREAM_NLP_BATCH": "8"})
    wait_for(lambda: procs.pool_workers(worker.proc.pid), 120, "the NER pool processes")
    victims = procs.pool_workers(worker.proc.pid)
    _send(s, s.topic_articles, [_article(i, "k") for i in range(40)])
    wait_for(lambda: _es_count(s) >= 8, 300, "the first batch indexed")
    procs.stop_pid(victims[0], timeout=10, sig=signal.SIGKILL)
    # more articles after the kill: however fast the first 40 went, the broken pool is used
    _send(s, s.topic_articles, [_article(i, "k") for i in range(40, 80)])
    wait_for(lambda: _es_count(s) >= 80, 420, "all 80 articles indexed")
    assert _es_count(s) == 80
    assert _letters(s) == []
    log = _worker_log(worker)
    assert log.count("NER pool broken") == 1, worker.log_tail(200)
    assert worker.proc.poll() is None
    assert victims[0] not in procs.pool_workers(worker.proc.pid)
