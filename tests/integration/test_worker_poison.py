"""The poison set through a real worker: every bad message ends in the DLQ with its reason,
the worker keeps going, and the good articles around them are indexed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from kafka import KafkaProducer

from streams import dlq, kafka_io
from tests.integration.conftest import Namespace, run_cli, wait_for

POISON = Path(__file__).resolve().parents[1] / "data" / "poison"


def _poison_set() -> list[tuple[str, bytes, str]]:
    expected = json.loads((POISON / "expected.json").read_text())
    cases = [
        (name, (POISON / name).read_bytes(), reason)
        for name, reason in expected.items()
        if not name.startswith("_")
    ]
    body = "x" * (10 * 1024 * 1024)
    cases.append(("oversize_10mb_body",
                  json.dumps({"url": "https://big.example/1", "body": body}).encode(), "oversize"))
    cases.append(("deep_nesting", b'{"url": "https://d.example/1", "x": ' + b"[" * 100_000
                  + b"]" * 100_000 + b"}", "invalid_json"))
    return cases


def _good(i: int) -> bytes:
    return json.dumps({
        "url": f"https://good.example/world/{i}",
        "title": f"Harbour authority in Gdansk approves expansion plan number {i}",
        "body": f"The harbour authority of Gdansk approved plan {i} on Monday, "
                "officials of the Baltic Port Council said.",
    }).encode()


def test_every_poison_message_is_dead_lettered_and_the_worker_keeps_going(
    namespace: Namespace, start_worker
) -> None:
    assert run_cli(namespace, "setup").returncode == 0
    worker = start_worker()
    s = namespace.settings()
    cases = _poison_set()

    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, max_request_size=16 * 1024 * 1024)
    for i, (_, raw, _) in enumerate(cases):
        producer.send(s.topic_articles, key=f"good-{i}".encode(), value=_good(i))
        producer.send(s.topic_articles, key=f"poison-{i}".encode(), value=raw)
    producer.flush()
    producer.close()

    from tests.integration.test_pipeline import _es

    es = _es(namespace)

    def indexed() -> int:
        es.indices.refresh(index=s.es_alias)
        return int(es.count(index=s.es_alias)["count"])

    wait_for(lambda: indexed() == len(cases), 300, f"{len(cases)} good articles indexed")

    consumer = kafka_io.consumer(s, s.topic_dlq, auto_offset_reset="earliest",
                                 consumer_timeout_ms=5000)
    envelopes = []
    for _ in range(12):
        envelopes += [dlq.decode_envelope(m.value) for m in consumer]
        if len(envelopes) >= len(cases):
            break
    consumer.close()
    assert len(envelopes) == len(cases), [e.get("reason") for e in envelopes]
    got = Counter(e["reason"] for e in envelopes)
    assert got == Counter(reason for _, _, reason in cases)
    for env in envelopes:
        assert env["stage"] == "validate"
        assert env["error"]
        assert env["topic"] == s.topic_articles
    assert worker.proc.poll() is None, worker.log_tail()
