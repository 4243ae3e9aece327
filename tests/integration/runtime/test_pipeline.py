"""The whole pipeline, end to end, on real Kafka and Elasticsearch."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from elasticsearch import Elasticsearch

from tests.integration.conftest import Namespace, run_cli, wait_for

EN = {
    "url": "https://news.example.com/world/2026/11/harbour-bridge?utm_source=feed",
    "title": "Lisbon council approves harbour bridge plan",
    "body": (
        "The city council of Lisbon approved on Tuesday a plan for a new bridge across the Tagus. "
        "Mayor Helena Marques said the European Investment Bank would finance half of the cost.\n\n"
        "Engineers from Siemens and the University of Porto will study the river bed next spring."
    ),
    "published_at": "2026-11-20T09:30:00Z",
    "source": "Example News",
}
RU = {
    "url": "https://novosti.example.ru/2026/11/20/most",
    "title": "Премьер-министр прибыл в Пекин",
    "body": (
        "Во вторник премьер-министр Андрей Соколов прибыл в Пекин с официальным визитом. "
        "В Пекине он встретится с руководством компании Газпром и представителями министерства "
        "иностранных дел Китая. Переговоры продлятся два дня. Россия и Китай готовят новое "
        "соглашение о торговле."
    ),
    "published_at": "2026-11-20T10:00:00+03:00",
    "source": "Пример Новости",
}


def _es(ns: Namespace) -> Elasticsearch:
    from streams.index.es_client import make_client

    return make_client(ns.settings())


def test_articles_flow_to_elasticsearch_and_bad_ones_to_the_dlq(
    namespace: Namespace, start_worker, tmp_path: Path
) -> None:
    setup = run_cli(namespace, "setup")
    assert setup.returncode == 0, setup.stderr + setup.stdout
    worker = start_worker()

    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in (EN, RU)) + "\n")
    produced = run_cli(namespace, "produce", str(good))
    assert produced.returncode == 0, produced.stderr

    s = namespace.settings()
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    producer.send(s.topic_articles, key=b"bad", value=b'{"url": "https://x.example/1", "title": ')
    producer.flush()
    producer.close()

    es = _es(namespace)

    def indexed() -> int:
        if not es.indices.exists_alias(name=s.es_alias):
            return 0
        es.indices.refresh(index=s.es_alias)
        return int(es.count(index=s.es_alias)["count"])

    wait_for(lambda: indexed() == 2, 240, "two documents in Elasticsearch")

    hits = es.search(index=s.es_alias, query={"match_all": {}}, size=10)["hits"]["hits"]
    docs = {h["_source"]["language"]: h["_source"] for h in hits}
    assert set(docs) == {"en", "ru"}
    en, ru = docs["en"], docs["ru"]
    assert en["canonical_url"] == "https://news.example.com/world/2026/11/harbour-bridge"
    assert "Lisbon" in en["locations"]
    # the Russian location is found in its inflected form and faceted under the one canonical
    # name every language shares
    assert "Beijing" in ru["locations"]
    assert any(e["label"] == "LOCATION" and e["text"].startswith("Пекин") and e["normalized"] == "Beijing"
               for e in ru["entities"]), ru["entities"]
    # one key per entity whatever the script: the Russian-only article is found as "Russia"
    assert "Russia" in ru["locations"] and "loc:RU" in ru["entity_keys"]
    assert any(e["text"] == "Россия" and e["key"] == "loc:RU" for e in ru["entities"])
    for query in ("Russia", "loc:RU"):
        found = run_cli(namespace, "search", "", "--entity", query, "--json")
        assert found.returncode == 0, found.stderr
        ids = {h["_source"]["language"] for h in json.loads(found.stdout)["hits"]}
        assert ids == {"ru"}, (query, found.stdout[:500])
    for doc in (en, ru):
        for ent in doc["entities"]:
            text = doc[ent["field"]] if "." not in ent["field"] else None
            if text is not None:
                assert text[ent["start"] : ent["end"]] == ent["text"]

    listed = wait_for(
        lambda: (r := run_cli(namespace, "dlq", "list", "--json")).returncode == 0
        and r.stdout.strip() and r, 60, "the bad record in the DLQ",
    )
    assert "invalid_json" in listed.stdout

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=10)
    text = metrics.read().decode()
    assert 'newsstream_dead_letters_total{reason="invalid_json",stage="validate"} 1.0' in text
    assert "newsstream_documents_indexed_total 2.0" in text
    assert 'newsstream_dedup_decisions_total{kind="new"} 2.0' in text
