"""Setup and search against the real Elasticsearch (and Kafka for the topics).

Documents are built by documents.build_document from articles written for this test and
written with documents.bulk_lines through the bulk API, exactly as the index stage writes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from streams.enrich.enricher import EnrichResult
from streams.enrich.entities import distinct_sorted
from streams.index import documents, es_client, search
from streams.model import Article, DedupInfo, Entity, Language
from streams.settings import Settings
from tests.integration.conftest import Namespace, run_cli

pytestmark = pytest.mark.integration


def enriched(languages: Mapping[str, Language], entities: Sequence[Entity]) -> EnrichResult:
    """The EnrichResult the enrich stage would assemble for these entities."""

    def names(label: str) -> list[str]:
        return distinct_sorted(e.normalized for e in entities if e.label == label)

    return EnrichResult(
        languages=dict(languages), entities=list(entities), ner_status="ok",
        persons=names("PERSON"), organizations=names("ORG"), locations=names("LOCATION"),
    )


def _lang(code: str) -> dict[str, Language]:
    return {"title": Language(code, 0.95), "body": Language(code, 0.99)}


def _ent(text: str, label: str, lang: str, normalized: str | None = None) -> Entity:
    return Entity(text, label, 0, len(text), "body", normalized or text, lang)


ARTICLES: list[tuple[Article, DedupInfo, EnrichResult]] = []


def _add(i: str, lang: str, title: str, body: str, *, day: int = 1, source: str = "a.example",
         ents: Sequence[Entity] = (), duplicate_of: str | None = None) -> None:
    art = Article(
        id=i, url=f"https://{source}/{i}", canonical_url=f"https://{source}/{i}", title=title,
        body=body, published_at=f"2026-05-{day:02d}T08:00:00Z", source=source,
    )
    dedup = DedupInfo(
        kind="near" if duplicate_of else "new", content_hash=f"h-{i}",
        story_id=duplicate_of or i, duplicate_of=duplicate_of,
        similarity=0.9 if duplicate_of else None, first_seen=f"2026-05-{day:02d}T08:00:01Z",
    )
    ARTICLES.append((art, dedup, enriched(_lang(lang), ents)))


_add("en-runs", "en", "Harbour ferry runs again after the storm",
     "The small ferry runs every hour from the north pier, the operator said on Monday.",
     ents=[_ent("Lena Ostrova", "PERSON", "en"), _ent("Zürich", "LOCATION", "en")])
_add("en-other", "en", "Library extends its opening hours",
     "Readers can borrow books until nine in the evening from next week.", day=2,
     source="b.example", ents=[_ent("City Library", "ORG", "en")])
_add("ru-vybory", "ru", "Итоги выборов в городской совет",
     "На прошедших выборах в городской совет победили независимые кандидаты.", day=3,
     source="c.example", ents=[_ent("Ирина Ковалёва", "PERSON", "ru")])
_add("de-faehre", "de", "Die Fähre fährt wieder nach dem Sturm",
     "Die kleine Fähre fährt stündlich vom Nordpier, sagte der Betreiber am Montag.", day=4,
     source="d.example", ents=[_ent("Lena Ostrova", "PERSON", "de")])
_add("en-runs-copy", "en", "Harbour ferry runs again after the storm, operator says",
     "The small ferry runs every hour from the north pier again, the operator said on Monday.",
     day=5, source="e.example", duplicate_of="en-runs")


@pytest.fixture()
def indexed(namespace: Namespace) -> Iterator[Settings]:
    """setup (real template, alias, topics), then the test articles indexed; cleaned up."""
    s = namespace.settings()
    done = run_cli(namespace, "setup")
    assert done.returncode == 0, done.stderr + done.stdout
    es = es_client.make_client(s)
    ops: list[dict[str, Any]] = []
    for art, dedup, enr in ARTICLES:
        doc = documents.build_document(art, dedup, enr, "2026-05-06T00:00:00Z")
        ops.extend(documents.bulk_lines(documents.document_message(doc), s.es_alias))
    ops.extend(documents.bulk_lines(documents.counts_message("en-runs", 2, ["x.example"]),
                                    s.es_alias))
    resp = es.bulk(operations=ops, refresh="wait_for")
    assert not resp["errors"], [i for i in resp["items"] if "error" in i["update"]]
    yield s
    _drop(es, s)
    es.close()


def _drop(es: Any, s: Settings) -> None:
    """Remove this test's indices and template (by name: wildcard deletes are refused)."""
    names = list(es.indices.get(index=f"{s.es_alias}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=s.es_alias)


def ids(s: Settings, query: str, **kw: Any) -> list[str]:
    req = search.SearchRequest(query, **kw)
    resp = search.search(req, es_client.make_client(s), s.es_alias)
    return [h["_id"] for h in resp["hits"]["hits"]]


def test_setup_twice_changes_nothing(namespace: Namespace) -> None:
    s = namespace.settings()
    es = es_client.make_client(s)
    try:
        first = run_cli(namespace, "setup")
        assert first.returncode == 0, first.stderr + first.stdout
        assert f"alias {s.es_alias} -> {s.es_alias}-000001: created" in first.stdout
        assert f"topic {s.topic('enriched')}: created" in first.stdout
        second = run_cli(namespace, "setup")
        assert second.returncode == 0, second.stderr + second.stdout
        lines = second.stdout.strip().splitlines()
        assert lines[-1] == "setup: unchanged"
        assert all(": unchanged" in line for line in lines[:-1]), second.stdout
        assert len(lines) == len(first.stdout.strip().splitlines())
        alias = es.indices.get_alias(name=s.es_alias)
        assert alias.body == {f"{s.es_alias}-000001": {"aliases": {s.es_alias: {
            "is_write_index": True}}}}
        mapping = es.indices.get_mapping(index=s.es_alias)[f"{s.es_alias}-000001"]["mappings"]
        assert mapping["properties"]["body_ru"]["analyzer"] == "russian"
        assert "fields" not in mapping["properties"]["body"]  # one analyzer per text, not ten
    finally:
        _drop(es, s)


def test_a_template_change_applies_in_place_or_after_rollover(namespace: Namespace) -> None:
    """An index built from an older template: additive changes apply, a changed analyzer
    waits (setup says so on every run) until ``--rollover`` starts an index from the new one."""
    from streams.index import schema as setup

    s = namespace.settings()
    es = es_client.make_client(s)
    old = setup.template_body(s.es_alias)
    old["_meta"]["checksum"] = old["template"]["mappings"]["_meta"]["template_checksum"] = "old"
    props = old["template"]["mappings"]["properties"]
    props["title_en"]["analyzer"] = "german"
    # the earlier shape of the mentions: nested documents, and no entity_names field
    del props["entity_names"]
    props["entities"] = {"type": "nested", "properties": {
        "text": {"type": "keyword"}, "normalized": {"type": "keyword"}}}
    es.indices.put_index_template(name=s.es_alias, body=old)
    es.indices.create(index=setup.first_index(s.es_alias), body=setup.bootstrap_body(s.es_alias))
    try:
        for _ in range(2):
            out = run_cli(namespace, "setup", "--skip-kafka")
            assert out.returncode == 0, out.stderr
            assert f"mappings of {s.es_alias}: kept" in out.stdout and "--rollover" in out.stdout
        # the new field was added in place all the same: documents carrying it are accepted
        first = setup.first_index(s.es_alias)
        assert "entity_names" in es.indices.get_mapping(index=first)[first]["mappings"]["properties"]
        es.index(index=s.es_alias, id="old-shape", refresh=True, document={
            "id": "old-shape", "title": "Old shape",
            "entities": [{"text": "Lena Ostrova", "normalized": "lena ostrova"}]})
        out = run_cli(namespace, "setup", "--skip-kafka", "--rollover")
        assert f"({s.es_alias}-000001 -> {s.es_alias}-000002)" in out.stdout
        out = run_cli(namespace, "setup", "--skip-kafka")
        assert out.stdout.strip().endswith("setup: unchanged"), out.stdout
        new = es.indices.get_mapping(index=f"{s.es_alias}-000002")[f"{s.es_alias}-000002"]
        assert new["mappings"]["properties"]["title_en"]["analyzer"] == "english"
        assert ids(s, "running") == []  # both indices still searched through the alias
        # an entity filter runs on both mention shapes (nested in the old index only)
        es.index(index=s.es_alias, id="new-shape", refresh=True, document={
            "id": "new-shape", "title": "New shape", "entity_names": ["Lena Ostrova"]})
        assert sorted(ids(s, "", entities=["LENA OSTROVA"])) == ["new-shape", "old-shape"]
    finally:
        _drop(es, s)


def test_english_stemming(indexed: Settings) -> None:
    assert ids(indexed, "running ferries") == ["en-runs"]
    assert ids(indexed, "borrowing book") == ["en-other"]


def test_russian_inflection(indexed: Settings) -> None:
    assert ids(indexed, "выборы") == ["ru-vybory"]  # text has выборов, выборах
    assert ids(indexed, "городского совета") == ["ru-vybory"]


def test_stemming_stays_in_the_documents_language(indexed: Settings) -> None:
    # "Fähren" meets "Fähre" only through the German analyzer of the German document
    assert ids(indexed, "Fähren") == ["de-faehre"]
    assert ids(indexed, "Fähren", lang="en") == []


def test_language_and_entity_filters(indexed: Settings) -> None:
    assert set(ids(indexed, "", entities=["lena ostrova"])) == {"en-runs", "de-faehre"}
    assert ids(indexed, "", entities=["LENA OSTROVA"], lang="de") == ["de-faehre"]
    assert ids(indexed, "", entities=["zurich"]) == ["en-runs"]  # accent-folded
    assert ids(indexed, "", entities=["ирина ковалева"]) == ["ru-vybory"]  # ё read as е
    assert ids(indexed, "", entities=["Ирина Ковалёва"]) == ["ru-vybory"]
    assert ids(indexed, "", entities=["city library"]) == ["en-other"]
    assert set(ids(indexed, "", lang="en")) == {"en-runs", "en-other"}
    assert ids(indexed, "", source="B.EXAMPLE") == ["en-other"]
    assert ids(indexed, "", since="2026-05-03T00:00:00Z", until="2026-05-04T00:00:00Z") == [
        "ru-vybory"
    ]


def test_unique_stories_unless_all(indexed: Settings) -> None:
    assert ids(indexed, "ferry storm") == ["en-runs"]
    assert set(ids(indexed, "ferry storm", include_duplicates=True)) == {"en-runs", "en-runs-copy"}


def test_cli_output(indexed: Settings, namespace: Namespace) -> None:
    out = run_cli(namespace, "search", "running")
    assert out.returncode == 0, out.stderr
    assert "[[runs]]" in out.stdout and "+2 copies" in out.stdout
    assert "1 article (unique stories)" in out.stdout

    out = run_cli(namespace, "search", "running", "--all", "--json")
    data = json.loads(out.stdout)
    assert data["total"] == 2 and {h["_id"] for h in data["hits"]} == {"en-runs", "en-runs-copy"}

    out = run_cli(namespace, "search", "выборах", "--lang", "ru", "--since", "2026-05-03",
                  "--until", "2026-05-03")
    assert out.returncode == 0 and "[[выборов]]" in out.stdout

    out = run_cli(namespace, "search", "zeppelin")
    assert out.returncode == 0 and out.stdout.startswith("No articles match 'zeppelin'")

    out = run_cli(namespace, "search", "ferry", "--since", "last tuesday")
    assert out.returncode == 2 and "is not a date" in out.stderr
