"""Articles in, against the REAL Kafka: `produce` and the dead-letter topic (`dlq list|replay`),
each test on its own topics (`feeds` is tested in test_feeds.py).

The worker's validate agent (tested with the worker) sends dead letters with
``dlq.make_envelope``; here the poison set travels through the real broker byte for byte, and
is dead-lettered the same way, so list and replay are exercised on real envelopes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams import dlq, kafka_io, settings
from streams.ingest import contract
from tests.integration.conftest import read_topic
from tests.unit.ingest.test_contract import poison_set

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> settings.Settings:
    """Kafka of this test run (Elasticsearch is not needed), with topics private to the test."""
    s = settings.load()
    host, _, port = s.kafka_bootstrap.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host or "localhost", int(port)), timeout=5).close()
    except OSError as exc:
        pytest.fail(f"Kafka is not reachable at {s.kafka_bootstrap} ({exc}): run `make up`")
    tag = "t" + uuid.uuid4().hex[:10]
    monkeypatch.setenv("NEWSSTREAM_TOPIC_ARTICLES", f"{tag}.articles")
    monkeypatch.setenv("NEWSSTREAM_TOPIC_DLQ", f"{tag}.articles.dlq")
    monkeypatch.setenv("NEWSSTREAM_PARTITIONS", "2")
    return settings.load()


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line, as a user would (environment inherited)."""
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], input=stdin, capture_output=True,
        cwd=ROOT, timeout=300, env=dict(os.environ, NEWSSTREAM_LOG_FORMAT="text"),
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


def good_record(i: int) -> dict[str, Any]:
    return {"url": f"https://www.example-news.test/story/{i}?utm_source=test&ref={i}",
            "title": f"Story number {i}", "body": f"Body of story {i}. " * 20,
            "published_at": "2026-11-20T10:00:00+01:00", "extra_field": i}


# --- produce ---------------------------------------------------------------------------------


def test_produce_publishes_valid_records_and_reports_invalid_ones(
        kafka: settings.Settings, tmp_path: Path) -> None:
    good = [json.dumps(good_record(i)).encode() for i in range(40)]
    poison = [raw for name, raw, _ in poison_set() if b"\n" not in raw and raw.strip()
              and name != "oversize_10mb_body"]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"\n".join(good[:20] + poison + good[20:]) + b"\n")

    refused = cli("produce", str(mixed))
    assert refused.returncode == 1, refused.stderr
    assert "nothing published" in refused.stderr
    assert read_topic(kafka, kafka.topic_articles) == []

    done = cli("produce", "--skip-invalid", str(mixed))
    assert done.returncode == 0, done.stderr
    assert f"read {40 + len(poison)}, published 40, invalid {len(poison)}" in done.stderr
    assert f"{mixed}:21: invalid_json:" in done.stderr  # line numbers of the bad records
    records = read_topic(kafka, kafka.topic_articles)
    assert len(records) == 40
    by_key = {r.key: r.value for r in records}
    for i, raw in enumerate(good):
        key = f"https://example-news.test/story/{i}?ref={i}".encode()
        assert by_key[key] == raw  # the original bytes, keyed by canonical URL


def test_produce_json_array_csv_and_stdin(kafka: settings.Settings, tmp_path: Path) -> None:
    array = tmp_path / "batch.json"
    array.write_text(json.dumps([good_record(i) for i in range(5)], indent=2))
    table = tmp_path / "sheet.csv"
    table.write_text("headline,link,text,authors\n"
                     "CSV one,https://csv.test/1,First body,Ann;Bob\n"
                     "CSV two,https://csv.test/2,Second body,\n")
    res = cli("produce", "--map", "title=headline,url=link,body=text", str(array), str(table))
    assert res.returncode == 0, res.stderr
    assert "read 7, published 7, invalid 0" in res.stderr
    jsonl = b'{"id": "stdin-1", "title": "From a pipe"}\n{"id": "stdin-2", "body": "Also"}\n'
    res = cli("produce", "-", stdin=jsonl)
    assert res.returncode == 0 and "published 2" in res.stderr, res.stderr
    records = read_topic(kafka, kafka.topic_articles)
    assert len(records) == 9
    keys = {r.key for r in records}
    assert {b"https://csv.test/1", b"https://csv.test/2", b"stdin-1", b"stdin-2"} <= keys
    csv_one = next(json.loads(r.value) for r in records if r.key == b"https://csv.test/1")
    assert csv_one == {"title": "CSV one", "url": "https://csv.test/1", "body": "First body",
                       "authors": ["Ann", "Bob"]}
    for r in records:  # everything published passes the worker's contract
        contract.parse_article(r.value, kafka.max_message_bytes)


# --- the dead-letter topic -------------------------------------------------------------------


def _dead_letter_everything(s: settings.Settings) -> dict[tuple[int, int], str]:
    """Poison through the real input topic, dead-lettered as the validate agent does."""
    kafka_io.ensure_topics(s)
    producer = kafka_io.producer(s, max_request_size=s.topic_max_bytes)
    good = json.dumps(good_record(999)).encode()
    for _, raw, _ in poison_set():
        producer.send(s.topic_articles, value=raw).get(timeout=60)
    producer.send(s.topic_articles, value=good).get(timeout=60)
    expected: dict[tuple[int, int], str] = {}
    valid = 0
    for rec in sorted(read_topic(s, s.topic_articles), key=lambda r: r.timestamp):
        try:
            contract.parse_article(rec.value, s.max_message_bytes)
            valid += 1
            continue
        except contract.InvalidArticle as exc:
            env = dlq.make_envelope(rec.value, "validate", exc.reason, exc.message,
                                    rec.topic, rec.partition, rec.offset)
        meta = producer.send(s.topic_dlq, key=dlq.envelope_key(env),
                             value=dlq.encode_envelope(env)).get(timeout=60)
        expected[(meta.partition, meta.offset)] = env["reason"]
        time.sleep(0.002)  # distinct timestamps, so "newest first" is checkable
    producer.close()
    assert valid == 1
    return expected


def test_poison_ends_in_the_dlq_and_can_be_listed_and_replayed(
        kafka: settings.Settings) -> None:
    expected = _dead_letter_everything(kafka)
    poison = poison_set()
    assert sorted(expected.values()) == sorted(reason for _, _, reason in poison)

    listed = cli("dlq", "list", "--json", "--limit", "100")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {(r["dlq_partition"], r["dlq_offset"]): r["reason"] for r in rows} == expected
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    for r in rows:
        assert r["stage"] == "validate" and r["topic"] == kafka.topic_articles
        assert r["error"] and isinstance(r["offset"], int)

    schema_only = cli("dlq", "list", "--json", "--reason", "schema", "--limit", "2")
    schema_rows = [json.loads(line) for line in schema_only.stdout.splitlines()]
    assert len(schema_rows) == 2 and {r["reason"] for r in schema_rows} == {"schema"}
    assert [r["timestamp"] for r in schema_rows] == [
        r["timestamp"] for r in rows if r["reason"] == "schema"][:2]

    table = cli("dlq", "list")
    assert "REASON" in table.stdout and "invalid_utf8" in table.stdout
    assert f"{len(expected)} shown of {len(expected)}" in table.stderr

    assert cli("dlq", "replay").returncode == 2  # says what to replay, never "all" by default

    before = len(read_topic(kafka, kafka.topic_articles))
    dry = cli("dlq", "replay", "--reason", "invalid_utf8", "--dry-run")
    assert dry.returncode == 0 and "would replay" in dry.stdout, dry.stderr
    assert len(read_topic(kafka, kafka.topic_articles)) == before

    latin = next(r for r in rows if r["reason"] == "invalid_utf8")
    res = cli("dlq", "replay", "--offset", f"{latin['dlq_partition']}:{latin['dlq_offset']}")
    assert res.returncode == 0 and "replayed 1" in res.stderr, res.stderr
    after = read_topic(kafka, kafka.topic_articles)
    assert len(after) == before + 1
    newest = max(after, key=lambda r: (r.timestamp, r.offset))
    original = next(raw for name, raw, _ in poison if name == "latin1.json")
    assert newest.value == original  # the ORIGINAL bytes, Latin-1 and all
    assert dict(newest.headers)[dlq.REPLAY_HEADER] == (
        f"{kafka.topic_dlq}/{latin['dlq_partition']}:{latin['dlq_offset']}".encode())

    big = cli("dlq", "replay", "--reason", "oversize")
    assert "skipped: original truncated" in big.stderr
    assert len(read_topic(kafka, kafka.topic_articles)) == before + 1
