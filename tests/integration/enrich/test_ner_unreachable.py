"""A real worker whose CoreNLP server is not running: the article is never indexed without
entities; it waits, is dead-lettered as ``ner_unavailable`` once the configured wait is over,
and is indexed with its entities when it is replayed after the server is up.

The server is a private one (own port and services dir), not the local service of the worker's
settings, so the worker cannot restart it itself and the shared server is never touched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kafka import KafkaProducer

from streams import dlq
from streams import settings as settings_mod
from streams.devservices import base
from streams.devservices.corenlp import CoreNlpService
from tests.integration.conftest import Namespace, run_cli, wait_for

pytestmark = pytest.mark.integration

ARTICLE = {
    "id": "ner-unreachable-1",
    "title": "Ferry operator Baltic Lines opens a route from Gdansk to Helsinki",
    "body": (
        "The ferry operator Baltic Lines said on Monday that it would open a route from Gdansk "
        "to Helsinki in May. Chief executive Marta Kowalczyk told reporters in Warsaw that two "
        "ships would sail the route every week."
    ),
}


def test_unreachable_server_dead_letters_as_ner_unavailable_then_replay_indexes_entities(
    namespace: Namespace, start_worker, tmp_path: Path
) -> None:
    port = base.free_port()
    own = settings_mod.load().replace(
        services_dir=str(tmp_path / "services"),
        corenlp=True,
        corenlp_port=port,
        corenlp_url=f"http://127.0.0.1:{port}",
    )
    server = CoreNlpService(own)
    assert not server.healthy() and server.status().pid is None  # nothing answers there
    assert run_cli(namespace, "setup").returncode == 0
    worker = start_worker(extra_env={
        "NEWSSTREAM_LANGID_ACCURACY": "low",
        "NEWSSTREAM_CORENLP": "true",
        "NEWSSTREAM_CORENLP_URL": own.corenlp_url,  # not the worker's local service: no restart
        "NEWSSTREAM_NER_UNAVAILABLE_WAIT": "3",
    })  # fmt: skip
    s = namespace.settings()
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    producer.send(s.topic_articles, key=ARTICLE["id"].encode(), value=json.dumps(ARTICLE).encode())
    producer.flush()
    producer.close()

    def letters() -> list[dlq.DeadLetter]:
        return dlq.read_dead_letters(s)[0]

    (letter,) = wait_for(letters, 300, "the article in the dead-letter topic")  # type: ignore[misc]
    assert letter.reason == "ner_unavailable", letter.envelope
    assert letter.stage == "enrich"
    assert str(port) in str(letter.envelope.get("error")), letter.envelope

    from tests.integration.runtime.test_pipeline import _es

    es = _es(namespace)
    es.indices.refresh(index=s.es_alias)
    assert not es.exists(index=s.es_alias, id=ARTICLE["id"])  # never indexed without entities

    server.start()
    try:
        replay = run_cli(namespace, "dlq", "replay", "--reason", "ner_unavailable")
        assert replay.returncode == 0, replay.stderr + replay.stdout

        def indexed() -> bool:
            es.indices.refresh(index=s.es_alias)
            return bool(es.exists(index=s.es_alias, id=ARTICLE["id"]))

        wait_for(indexed, 300, "the replayed article indexed")
        doc = es.get(index=s.es_alias, id=ARTICLE["id"])["_source"]
        assert doc["ner_status"] == "ok", doc.get("field_status")
        assert "Marta Kowalczyk" in doc["persons"], doc["persons"]
        assert {"Gdańsk", "Helsinki", "Warsaw"} <= set(doc["locations"]), doc["locations"]
        assert worker.proc.poll() is None, worker.log_tail()
    finally:
        server.stop()
