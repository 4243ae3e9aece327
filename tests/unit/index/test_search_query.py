"""`newsstream search`: dates, the query body and the output (pure parts)."""

from __future__ import annotations

import json

import pytest

from streams.index import search
from streams.index.schema import language_subfields
from streams.index.search import SearchRequest

SUBFIELDS = language_subfields()


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2024-05-01", False, "2024-05-01T00:00:00Z"),
        ("2024-05-01", True, "2024-05-02T00:00:00Z"),
        ("2024-12-31", True, "2025-01-01T00:00:00Z"),
        ("2024-05-01T12:30:00Z", False, "2024-05-01T12:30:00Z"),
        ("2024-05-01T12:30:00+02:00", True, "2024-05-01T10:30:00Z"),
        ("2024-05-01 12:30:00.5-01:00", False, "2024-05-01T13:30:00.500000Z"),
    ],
)
def test_dates(value: str, end: bool, expected: str) -> None:
    assert search.parse_date(value, end=end) == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01", "2024-02-30", "01/05/2024", "2024-05-01T12:00", ""]
)
def test_bad_dates_are_refused_with_a_hint(value: str) -> None:
    with pytest.raises(search.BadDate) as err:
        search.parse_date(value)
    assert repr(value) in str(err.value)


def _filters(body: dict) -> list[dict]:
    return body["query"]["bool"]["filter"]


def test_unique_stories_by_default_all_with_duplicates() -> None:
    body = search.build_body(SearchRequest("tram"), SUBFIELDS)
    assert body["query"]["bool"]["must_not"] == [{"exists": {"field": "duplicate_of"}}]
    body = search.build_body(SearchRequest("tram", include_duplicates=True), SUBFIELDS)
    assert body["query"]["bool"]["must_not"] == []


def test_each_language_subfield_only_for_documents_in_that_language() -> None:
    body = search.build_body(SearchRequest("running"), SUBFIELDS)
    should = body["query"]["bool"]["must"][0]["bool"]["should"]
    by_fields = {}
    for clause in should:
        if "bool" in clause:
            langs = clause["bool"]["filter"][0]["terms"]["languages"]
            fields = clause["bool"]["must"][0]["multi_match"]["fields"]
            by_fields[tuple(fields)] = langs
    assert by_fields[("title.en^3", "summary.en^2", "body.en^1")] == ["en"]
    assert by_fields[("title.ru^3", "summary.ru^2", "body.ru^1")] == ["ru"]
    assert by_fields[("title.cjk^3", "summary.cjk^2", "body.cjk^1")] == ["ja", "ko", "zh"]
    neutral = should[0]["multi_match"]
    assert neutral["fields"] == ["title^3", "summary^2", "body^1"]
    assert neutral["operator"] == "and" and neutral["type"] == "cross_fields"
    assert "title.en" in body["highlight"]["fields"] and "body.ru" in body["highlight"]["fields"]


def test_filters() -> None:
    req = SearchRequest(
        "vote", lang="RU", entities=["Anna Berg", "Oslo"], source="News.Example.org",
        since="2024-05-01T00:00:00Z", until="2024-05-02T00:00:00Z", limit=3,
    )
    body = search.build_body(req, SUBFIELDS)
    f = _filters(body)
    assert {"term": {"language": "ru"}} in f
    assert {"term": {"source": {"value": "News.Example.org", "case_insensitive": True}}} in f
    assert {"range": {"published_at": {"gte": "2024-05-01T00:00:00Z",
                                       "lt": "2024-05-02T00:00:00Z"}}} in f
    entity_clauses = [c for c in f if "bool" in c]
    assert len(entity_clauses) == 2  # both entities required
    assert {"term": {"persons": "Anna Berg"}} in entity_clauses[0]["bool"]["should"]
    assert body["size"] == 3
    json.dumps(body)  # serializable as is


def test_empty_query_lists_newest() -> None:
    body = search.build_body(SearchRequest("  "), SUBFIELDS)
    assert body["sort"][0] == {"published_at": {"order": "desc", "missing": "_last"}}


RESPONSE = {
    "hits": {
        "total": {"value": 2},
        "hits": [
            {
                "_id": "a1",
                "_source": {"title": "Runs on the new line", "source": "s.example",
                            "published_at": "2024-05-01T10:00:00Z", "language": "en",
                            "url": "https://s.example/a1", "duplicate_count": 2},
                "highlight": {"title.en": ["[[Runs]] on the new line"],
                              "body.en": ["the tram [[runs]]\nevery ten minutes"]},
            },
            {"_id": "a2", "_source": {"title": "Other", "duplicate_of": "a1",
                                      "summary": "short summary"}},
        ],
    }
}


def test_output_shows_highlights_facts_and_duplicates() -> None:
    text = search.format_hits(RESPONSE, SearchRequest("running", include_duplicates=True))
    assert "1. [[Runs]] on the new line" in text
    assert "2024-05-01 · s.example · en · https://s.example/a1 · +2 copies" in text
    assert "… the tram [[runs]] every ten minutes …" in text
    assert "near duplicate of a1" in text and "short summary" in text
    bold = search.format_hits(RESPONSE, SearchRequest("running"), color=True)
    assert "\x1b[1mRuns\x1b[0m" in bold and "[[" not in bold


def test_no_results_message_names_the_filters() -> None:
    empty = {"hits": {"total": {"value": 0}, "hits": []}}
    msg = search.format_hits(empty, SearchRequest("zzz", lang="de", entities=["X"]))
    assert msg.startswith("No articles match 'zzz' with language de, entity 'X'.")
    assert "--all" in msg
