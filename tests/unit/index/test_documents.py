"""The indexed document: shape, schema, message contracts (no services needed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from streams.enrich.enricher import EnrichResult
from streams.enrich.entities import distinct_sorted
from streams.index import documents
from streams.model import Article, DedupInfo, Entity, Language

VALIDATOR = Draft202012Validator(documents.load_schema())
REQUIRED = set(documents.load_schema()["required"])


def enriched(
    languages: dict[str, Language], entities: list[Entity] | None = None, ner_status: str = "ok"
) -> EnrichResult:
    """An EnrichResult as the enrich stage assembles it (facets from the entities)."""
    ents = entities or []

    def names(label: str) -> list[str]:
        return distinct_sorted(e.normalized for e in ents if e.label == label)

    return EnrichResult(
        languages=languages, entities=ents, ner_status=ner_status,
        persons=names("PERSON"), organizations=names("ORG"), locations=names("LOCATION"),
    )


def article(**kw: object) -> Article:
    base: dict[str, object] = {
        "id": "a1",
        "url": "https://news.example.org/a/1?utm_source=x",
        "canonical_url": "https://news.example.org/a/1",
        "title": "Council votes on the new tram line",
        "body": "The city council voted on Tuesday. Mayor Anna Berg said the line opens in May.",
        "published_at": "2024-05-01T10:00:00Z",
        "source": "news.example.org",
        "authors": ("J. Doe",),
        "tags": ("transport",),
    }
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def dedup(**kw: object) -> DedupInfo:
    base: dict[str, object] = {
        "kind": "new", "content_hash": "h1", "story_id": "a1", "first_seen": "2024-05-01T10:00:05Z"
    }
    base.update(kw)
    return DedupInfo(**base)  # type: ignore[arg-type]


def ent(text: str, label: str, normalized: str | None = None, fld: str = "body") -> Entity:
    return Entity(text, label, 0, len(text), fld, normalized or text, "en")


EN = {"title": Language("en", 0.97), "body": Language("en", 0.99)}


def build(a: Article | None = None, d: DedupInfo | None = None, e: EnrichResult | None = None):
    return documents.build_document(
        a or article(), d or dedup(), e or enriched(EN), "2024-05-01T10:00:07.123Z"
    )


def test_document_is_valid_against_the_schema_and_has_every_field_explicitly() -> None:
    doc = build(e=enriched(EN, [ent("Anna Berg", "PERSON"), ent("city council", "ORG")]))
    VALIDATOR.validate(doc)
    assert set(doc) == REQUIRED
    assert doc["summary"] is None and doc["duplicate_of"] is None  # null, not missing
    assert doc["language"] == "en" and doc["title_language"] == "en"
    assert doc["language_confidence"] == 0.99
    assert doc["persons"] == ["Anna Berg"] and doc["organizations"] == ["city council"]
    assert doc["entities"][0] == ent("Anna Berg", "PERSON").to_dict()


def test_full_document_never_carries_the_counts() -> None:
    doc = build(d=dedup(duplicate_count=4, duplicate_sources=("x.example", "y.example")))
    assert "duplicate_count" not in doc and "duplicate_sources" not in doc


def test_near_duplicate_keeps_its_original_and_similarity() -> None:
    doc = build(d=dedup(kind="near", duplicate_of="a0", similarity=0.83, story_id="a0"))
    VALIDATOR.validate(doc)
    assert (doc["duplicate_of"], doc["similarity"], doc["story_id"]) == ("a0", 0.83, "a0")


def test_language_is_the_bodys_then_summarys_then_titles() -> None:
    mixed = {"title": Language("en", 0.9), "body": Language("ru", 0.98)}
    doc = build(a=article(body="Совет проголосовал во вторник."), e=enriched(mixed))
    assert (doc["language"], doc["title_language"], doc["languages"]) == ("ru", "en", ["en", "ru"])

    title_only = {"title": Language("de", 0.8), "body": Language("und", 0.0)}
    doc = build(a=article(body=None), e=enriched(title_only))
    assert (doc["language"], doc["language_confidence"]) == ("de", 0.8)

    doc = build(e=enriched({"title": Language("und", 0.0), "body": Language("und", 0.0)}))
    assert (doc["language"], doc["title_language"], doc["languages"]) == ("und", None, [])
    VALIDATOR.validate(doc)


def filled(doc: dict) -> dict:
    """The per-language fields of ``doc`` that hold a text."""
    return {k: v for k, v in doc.items() if k in documents.language_field_names() and v}


def test_each_text_is_copied_only_into_the_field_of_its_own_language() -> None:
    doc = build()
    assert filled(doc) == {"title_en": doc["title"], "body_en": doc["body"]}
    assert all(doc[name] is None for name in documents.language_field_names()
               if name not in ("title_en", "body_en"))  # explicit nulls clear a revision

    mixed = {"title": Language("en", 0.9), "body": Language("ru", 0.98),
             "summary": Language("de", 0.9)}
    a = article(body="Совет проголосовал во вторник.", summary="Der Rat stimmt ab.")
    doc = build(a=a, e=enriched(mixed))
    assert filled(doc) == {"title_en": a.title, "body_ru": a.body, "summary_de": a.summary}
    VALIDATOR.validate(doc)


def test_a_text_without_its_own_language_takes_the_documents_and_cjk_shares_one_field() -> None:
    langs = {"title": Language("und", 0.0), "body": Language("zh-Hant", 0.9)}
    doc = build(a=article(title="新线", body="市议会周二投票。"), e=enriched(langs))
    assert filled(doc) == {"title_cjk": "新线", "body_cjk": "市议会周二投票。"}

    no_analyzer = {"title": Language("sv", 0.9), "body": Language("sv", 0.9)}
    assert filled(build(e=enriched(no_analyzer))) == {}  # only the neutral fields
    assert filled(build(e=enriched({"title": Language("und", 0.0),
                                    "body": Language("und", 0.0)}))) == {}


def test_languages_include_translations_reduced_to_the_analyzer_subtag() -> None:
    a = article(title_translations={"pt-br": "Conselho vota", "ru": "Совет голосует"})
    doc = build(a=a)
    assert doc["languages"] == ["en", "pt", "ru"]
    assert doc["title_translations"] == {"pt-br": "Conselho vota", "ru": "Совет голосует"}
    VALIDATOR.validate(doc)


def test_facets_are_the_entities_distinct_names() -> None:
    ents = [
        ent("Berg", "PERSON", "Anna Berg"), ent("ANNA BERG", "PERSON", "ANNA BERG"),
        ent("Oslo", "LOCATION"), ent("Euro", "MISC"), ent("ACME", "ORG"),
    ]
    result = enriched(EN, ents)
    doc = build(e=result)
    assert (doc["persons"], doc["organizations"], doc["locations"]) == (
        ["Anna Berg"], ["ACME"], ["Oslo"]
    )
    # the same facets the enrich stage reports for the article
    assert (doc["persons"], doc["organizations"], doc["locations"]) == (
        result.persons, result.organizations, result.locations
    )
    assert [e["label"] for e in doc["entities"]] == ["PERSON", "PERSON", "LOCATION", "MISC", "ORG"]


def test_document_message_and_its_guard() -> None:
    doc = build()
    msg = documents.document_message(doc)
    assert msg == {"kind": "document", "id": "a1", "doc": doc}
    with pytest.raises(ValueError):
        documents.document_message({**doc, "duplicate_count": 2})


def test_counts_message_carries_absolute_values_only() -> None:
    msg = documents.counts_message("a1", 3, ["x.example", "y.example"])
    assert msg == {
        "kind": "counts", "id": "a1",
        "doc": {"duplicate_count": 3, "duplicate_sources": ["x.example", "y.example"]},
    }
    assert set(msg["doc"]) == set(documents.COUNT_FIELDS)
    with pytest.raises(ValueError):
        documents.counts_message("a1", -1, [])


def test_documents_are_upserts_counts_are_updates_that_never_create_a_document() -> None:
    doc = build()
    action, body = documents.bulk_lines(documents.document_message(doc), "articles-000001")
    assert action == {"update": {"_id": "a1", "_index": "articles-000001"}}
    assert body == {"doc": doc, "doc_as_upsert": True}
    action, body = documents.bulk_lines(documents.counts_message("a0", 1, ["s"]), "articles")
    assert action["update"]["_index"] == "articles" and body["doc"]["duplicate_count"] == 1
    assert "doc_as_upsert" not in body and "upsert" not in body


@pytest.mark.parametrize(
    "message",
    [
        {"kind": "delete", "id": "a1", "doc": {}},
        {"kind": "counts", "id": "a1", "doc": {"duplicate_count": 1, "title": "x"}},
        {"kind": "document", "id": "a1", "doc": {"title": "x", "duplicate_sources": []}},
    ],
)
def test_bulk_lines_refuse_messages_outside_the_contract(message: dict) -> None:
    with pytest.raises(ValueError):
        documents.bulk_lines(message, "articles")


text = st.one_of(st.none(), st.text(max_size=200))


@settings(max_examples=150, deadline=None)
@given(
    title=text, body=text, summary=text,
    translations=st.dictionaries(st.sampled_from(["en", "ru", "pt-br", "zh"]), st.text(min_size=1)),
    codes=st.lists(
        st.sampled_from(["en", "ru", "und", "pt-BR", "zh_Hant"]), min_size=3, max_size=3
    ),
    conf=st.floats(0, 1),
)
def test_any_article_yields_a_schema_valid_document(
    title: str | None, body: str | None, summary: str | None,
    translations: dict[str, str], codes: list[str], conf: float,
) -> None:
    langs = {f: Language(c, conf) for f, c in zip(("title", "body", "summary"), codes, strict=True)}
    a = article(title=title, body=body, summary=summary, title_translations=translations)
    doc = build(a=a, e=enriched(langs))
    VALIDATOR.validate(doc)
    assert set(doc) == REQUIRED
