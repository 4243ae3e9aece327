"""The Elasticsearch node the tests run against: a real one, with the analysis the template needs.

Runs against whatever ``settings.es_url`` points at (the local node of ``newsstream services``
or a full Elasticsearch): the same assertions must hold on both, which is the point of the local
node's analysis plugin. The last test starts and stops a private second node of our own.
"""

from __future__ import annotations

import json
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from streams import procs, settings
from streams.devservices import base
from streams.devservices.elasticsearch import ElasticsearchService
from streams.index.es_client import make_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def es() -> Iterator[Elasticsearch]:
    client = make_client(settings.load())
    yield client
    client.close()


@pytest.fixture()
def index(es: Elasticsearch) -> Iterator[str]:
    name = f"test-es-node-{uuid.uuid4().hex[:10]}"
    yield name
    es.options(ignore_status=404).indices.delete(index=name)


def tokens(es: Elasticsearch, **body: Any) -> list[str]:
    return [t["token"] for t in es.indices.analyze(**body)["tokens"]]


def test_node_answers_as_elasticsearch_8(es: Elasticsearch) -> None:
    s = settings.load()
    # The official client raises UnsupportedProductError unless the product header is there.
    info = es.info()
    assert info["version"]["number"].startswith("8."), info
    assert info["tagline"] == "You Know, for Search"
    assert es.ping()
    with urllib.request.urlopen(s.es_url.split(",")[0].rstrip("/") + "/", timeout=10) as resp:
        assert resp.headers.get("X-Elastic-Product") == "Elasticsearch"
        assert json.loads(resp.read())["cluster_uuid"] == info["cluster_uuid"]


def test_cluster_health_is_usable(es: Elasticsearch) -> None:
    health = es.cluster.health(wait_for_status="yellow", timeout="30s")
    assert health["status"] in ("yellow", "green"), health
    assert health["number_of_nodes"] >= 1
    assert not health["timed_out"]


def test_analyze_api_stems_with_the_language_analyzers(es: Elasticsearch) -> None:
    assert tokens(es, analyzer="english", text="The runners were running quickly") == [
        "runner", "were", "run", "quickli"
    ]  # fmt: skip
    assert tokens(es, analyzer="russian", text="Переговоры в Пекине завершились") == [
        "переговор", "пекин", "заверш"
    ]  # fmt: skip
    assert tokens(es, analyzer="russian", text="Пекин") == tokens(
        es, analyzer="russian", text="Пекине"
    )
    assert "haus" in tokens(es, analyzer="german", text="Die Häuser")
    assert "president" in tokens(es, analyzer="french", text="L'avion des présidents")
    assert "eleccion" in tokens(es, analyzer="spanish", text="Las elecciones")
    # stemmer filter with a language parameter, stop with a named list, asciifolding
    assert tokens(
        es,
        tokenizer="standard",
        filter=["lowercase", {"type": "stop", "stopwords": "_english_"}, "asciifolding",
                {"type": "stemmer", "language": "english"}],
        text="The Cafés are opening",
    ) == ["cafe", "open"]  # fmt: skip
    assert tokens(
        es, tokenizer="standard", filter=["lowercase", {"type": "stemmer", "language": "russian"}],
        text="Москвы",
    ) == ["москв"]  # fmt: skip


def test_index_with_language_analyzers_and_a_folding_normalizer(
    es: Elasticsearch, index: str
) -> None:
    es.indices.create(
        index=index,
        settings={
            "number_of_shards": 1,
            "number_of_replicas": 0,
            "analysis": {
                "normalizer": {
                    "folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]}
                }
            },
        },
        mappings={
            "properties": {
                "title": {
                    "type": "text",
                    "fields": {
                        "en": {"type": "text", "analyzer": "english"},
                        "ru": {"type": "text", "analyzer": "russian"},
                    },
                },
                "source": {"type": "keyword", "normalizer": "folded"},
            }
        },
    )
    docs = [
        {"title": "Runners keep running in the city marathon", "source": "Le Mónde"},
        {"title": "Переговоры прошли в Пекине", "source": "ТАСС"},
        {"title": "Weather report", "source": "LE MONDE"},
    ]
    for i, doc in enumerate(docs):
        es.index(index=index, id=str(i), document=doc)
    es.indices.refresh(index=index)

    def hits(query: dict[str, Any]) -> set[str]:
        res = es.search(index=index, query=query)
        return {h["_id"] for h in res["hits"]["hits"]}

    # Stemming is the analyzer's doing: the standard-analyzed parent field does not match.
    assert hits({"match": {"title.en": "runs"}}) == {"0"}
    assert hits({"match": {"title": "runs"}}) == set()
    assert hits({"match": {"title.ru": "Пекин"}}) == {"1"}
    assert hits({"match": {"title": "Пекин"}}) == set()
    # The normalizer folds case and accents on both the indexed value and the query term.
    assert hits({"term": {"source": "le monde"}}) == {"0", "2"}
    aggs = es.search(index=index, size=0, aggs={"s": {"terms": {"field": "source"}}})
    buckets = {b["key"]: b["doc_count"] for b in aggs["aggregations"]["s"]["buckets"]}
    assert buckets == {"le monde": 2, "тасс": 1}
    assert tokens(es, index=index, normalizer="folded", text="Café MÜNCHEN") == ["cafe munchen"]


def test_node_rejects_what_elasticsearch_rejects(es: Elasticsearch, index: str) -> None:
    with pytest.raises(BadRequestError):
        es.indices.create(
            index=index, mappings={"properties": {"t": {"type": "text", "analyzer": "klingon"}}}
        )
    # A normalizer may only use per-term filters; a stemmer is not one.
    with pytest.raises(BadRequestError, match="normalizer"):
        es.indices.create(
            index=index,
            settings={"analysis": {
                "filter": {"st": {"type": "stemmer", "language": "english"}},
                "normalizer": {"bad": {"type": "custom", "filter": ["lowercase", "st"]}},
            }},
        )  # fmt: skip


def _free_port_pair() -> tuple[int, int]:
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 100 < 65536 and not base.port_in_use(port + 100):
            return port, port + 100
    raise RuntimeError("no free port pair")


def test_a_private_node_starts_stops_and_refuses_busy_ports(tmp_path: Any) -> None:
    """Start/stop of ElasticsearchService itself, on its own ports, dir and a small heap."""
    http, transport = _free_port_pair()
    s = settings.load().replace(
        services_dir=str(tmp_path / "services"),
        es_port=http,
        es_transport_port=transport,
        es_heap="256m",
    )
    svc = ElasticsearchService(s)
    assert not svc.status().running
    assert svc.stop() is False
    with socket.socket() as blocker:  # a busy port fails fast with the variable to change
        blocker.bind(("127.0.0.1", transport))
        blocker.listen()
        with pytest.raises(base.ServiceError, match="NEWSSTREAM_ES_TRANSPORT_PORT"):
            svc.start()
    try:
        assert svc.start() is True
        st = svc.status()
        assert st.running and st.port == http and procs.pid_alive(st.pid)
        assert svc.start() is False  # already up: no second JVM
        client = Elasticsearch(f"http://127.0.0.1:{http}")
        assert client.cluster.health()["status"] in ("yellow", "green")
        client.close()
    finally:
        pid = svc.status().pid
        assert svc.stop() is True
    assert not procs.pid_alive(pid)
    assert not base.port_open(http)
    assert not svc.status().running
