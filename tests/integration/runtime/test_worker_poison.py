"""The poison set through a real worker: every bad message ends in the DLQ with its reason,
the worker keeps going, and the good articles around and after them are indexed.

The poison set holds the hostile cases too (lone surrogates in id, language and title, deep
nesting, a 600-digit integer id, too many translations, ...); hostile but valid input (a
1.4 MB Cyrillic article, a long integer id) must be indexed, not dead-lettered."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from kafka import KafkaProducer

from streams import dlq, kafka_io
from tests.integration.conftest import Namespace, run_cli, wait_for

POISON = Path(__file__).resolve().parents[2] / "data" / "poison"


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
                  + b"]" * 100_000 + b"}", "too_deep"))
    return cases


def _valid_hostile() -> list[tuple[str, bytes]]:
    """(id, raw): input that looks hostile but keeps the contract, so it must be indexed."""
    # Ukrainian: Cyrillic (two bytes a letter in UTF-8, six as a \\uXXXX escape) in a language
    # without an NER model, so the test measures transport and not minutes of NER
    body = "\n\n".join(
        f"Абзац {i}: в Одесі міська рада затвердила план розширення порту, "
        "повідомили в адміністрації області." for i in range(7_500)
    )  # about 1.4 MB of UTF-8: over 4 MB if serialized with ASCII escapes
    big = json.dumps({"id": "cyrillic-1", "title": "Порт Одеси розширять",
                      "body": body, "language": "uk"}, ensure_ascii=False).encode()
    assert 1_300_000 < len(big) < 1_600_000
    long_int = 10**150 + 7
    return [
        ("cyrillic-1", big),
        (str(long_int), json.dumps({"id": long_int, "title": "An integer id of 151 digits",
                                    "body": "Valid, if unusual."}).encode()),
    ]


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
    worker = start_worker(extra_env={"NEWSSTREAM_LANGID_ACCURACY": "low"})  # faster start
    s = namespace.settings()
    cases = _poison_set()

    valid = _valid_hostile()
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, max_request_size=16 * 1024 * 1024)
    for i, (_, raw, _) in enumerate(cases):
        producer.send(s.topic_articles, key=f"good-{i}".encode(), value=_good(i))
        producer.send(s.topic_articles, key=f"poison-{i}".encode(), value=raw)
    for key, raw in valid:
        producer.send(s.topic_articles, key=key.encode(), value=raw)
    after = len(cases)
    for i in range(after, after + 5):  # good articles sent after all the hostile ones
        producer.send(s.topic_articles, key=f"good-{i}".encode(), value=_good(i))
    producer.flush()
    producer.close()

    from tests.integration.runtime.test_pipeline import _es

    es = _es(namespace)

    def indexed() -> int:
        es.indices.refresh(index=s.es_alias)
        return int(es.count(index=s.es_alias)["count"])

    expected = len(cases) + len(valid) + 5
    wait_for(lambda: indexed() >= expected, 600, f"{expected} articles indexed")
    for doc_id, _ in valid:
        assert es.exists(index=s.es_alias, id=doc_id), doc_id

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
    assert indexed() == expected

    # every input offset is committed: acks waited for delivery, and the last ones were acked
    # although nothing arrived after them
    def all_committed() -> bool:
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap, **s.kafka_client_options())
        try:
            offs = admin.list_group_offsets(s.app_id).get(s.app_id, {})
        finally:
            admin.close()
        done = {tp.partition: om.offset for tp, om in offs.items()
                if tp.topic == s.topic_articles}
        reader = kafka_io.consumer(s)
        try:
            from kafka import TopicPartition

            tps = [TopicPartition(s.topic_articles, p)
                   for p in sorted(reader.partitions_for_topic(s.topic_articles) or ())]
            ends = {tp.partition: off for tp, off in reader.end_offsets(tps).items()}
        finally:
            reader.close()
        return bool(ends) and done == ends

    wait_for(all_committed, 120, "every input offset committed")
    assert worker.proc.poll() is None, worker.log_tail()
    assert "Traceback" not in worker.log.read_text(errors="replace"), worker.log_tail(200)
