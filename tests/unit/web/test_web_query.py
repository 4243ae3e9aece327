"""The web app's pure parts: parameters, the shared query body, shaping, escaping, the chart."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from streams.index import search
from streams.index.schema import language_subfields
from streams.web import query
from streams.web.query import BadParams, WebQuery, parse_params
from streams.web.svg import histogram_svg

SUBFIELDS = language_subfields()


def test_parameters_are_validated_with_limits() -> None:
    wq = parse_params({"q": [" ferry "], "lang": ["EN"], "entity": ["Lena Ostrova", "Oslo"],
                       "since": ["2025-03-01"], "sort": ["date"], "page": ["2"]})
    assert wq == WebQuery(q="ferry", lang="en", entities=("Lena Ostrova", "Oslo"),
                          since="2025-03-01", sort="date", page=2)
    for bad, words in [
        ({"q": ["x" * 501]}, "longer than 500"),
        ({"sort": ["random"]}, "sort must be"),
        ({"size": ["51"]}, "between 1 and 50"),
        ({"page": ["abc"]}, "whole number"),
        ({"page": ["400"], "size": ["50"]}, "first 10000"),
        ({"entity": [str(i) for i in range(6)]}, "at most 5"),
        ({"since": ["yesterday"]}, "is not a date"),
        ({"since": ["2025-03-05"], "until": ["2025-03-01"]}, "before until"),
        ({"lang": ["<script>"]}, "language code"),
    ]:
        with pytest.raises(BadParams, match=words):
            parse_params(bad)


def test_the_page_uses_the_cli_query_builder() -> None:
    """Same words and filters -> the same query clause as `newsstream search --all`."""
    wq = parse_params({"q": ["running"], "lang": ["en"], "source": ["S"], "entity": ["oslo"],
                       "until": ["2025-03-02"]})
    body = query.search_body(wq, SUBFIELDS, query.DEFAULT_FIELDS)
    cli = search.build_body(search.SearchRequest(
        "running", lang="en", source="S", entities=["oslo"],
        until=search.parse_date("2025-03-02", end=True), include_duplicates=True), SUBFIELDS)
    assert body["query"] == cli["query"]
    assert body["collapse"]["field"] == "story_id"
    assert body["collapse"]["inner_hits"]["size"] == query.STORY_SIZE
    assert {"persons", "organizations", "locations", "sources", "languages", "per_day",
            "stories", "as_of"} <= set(body["aggs"])
    assert body["aggs"]["sources"]["terms"]["field"] == "source"
    assert body["size"] == 10 and body["from"] == 0
    assert "body" not in body["_source"]
    json.dumps(body)


def test_pages_and_sort() -> None:
    body = query.search_body(WebQuery(q="ferry", page=3, size=20, sort="date"), SUBFIELDS,
                             query.DEFAULT_FIELDS)
    assert body["from"] == 40 and body["size"] == 20
    assert body["sort"][0] == {"published_at": {"order": "desc", "missing": "_last"}}
    body = query.search_body(WebQuery(q="ferry"), SUBFIELDS, query.DEFAULT_FIELDS)
    assert body["sort"][0] == "_score"


def test_entity_keys_are_used_when_the_index_has_them() -> None:
    plain = query.facet_fields(["persons", "organizations", "locations", "source"])
    assert plain == query.DEFAULT_FIELDS
    keyed = query.facet_fields(["persons", "persons.key", "locations_keys", "organizations"])
    assert keyed.fields["persons"] == "persons.key"
    assert keyed.fields["locations"] == "locations_keys"
    assert keyed.fields["organizations"] == "organizations"
    filt = search.entity_filter("q7159", keyed.key_fields)
    assert {"term": {"persons.key": "q7159"}} in filt["bool"]["should"]
    mapping = {"persons": {"type": "keyword", "fields": {"key": {"type": "keyword"}}},
               "entities": {"type": "nested", "properties": {"key": {"type": "keyword"}}}}
    assert query.mapped_fields(mapping) == ["persons", "persons.key", "entities", "entities.key"]


def test_a_facet_value_filters_its_own_field() -> None:
    """A facet's count counts one field; clicking it must filter that field, not any entity."""
    wq = parse_params({"organizations": ["aldermoor bank"], "entity": ["Oslo"]})
    assert wq.organizations == ("aldermoor bank",)
    f = query.search_body(wq, SUBFIELDS, query.DEFAULT_FIELDS)["query"]["bool"]["filter"]
    assert {"term": {"organizations": "aldermoor bank"}} in f
    keyed = query.facet_fields(["organizations.key"])
    f = query.search_body(wq, SUBFIELDS, keyed)["query"]["bool"]["filter"]
    assert {"term": {"organizations.key": "aldermoor bank"}} in f
    assert wq.with_facet("organizations", "Aldermoor Bank") is wq
    assert wq.without_facet("organizations", "Aldermoor Bank").href() == "/?entity=Oslo"
    assert wq.with_facet("persons", "Hana Zellner").href() == (
        "/?entity=Oslo&persons=Hana+Zellner&organizations=aldermoor+bank")
    with pytest.raises(BadParams, match="at most 5"):
        parse_params({"persons": ["a", "b", "c"], "locations": ["d", "e"], "entity": ["f"]})


def test_count_query_adds_only_the_ingest_time() -> None:
    wq = WebQuery(q="ferry")
    q = query.count_query(wq, SUBFIELDS, query.DEFAULT_FIELDS, "2025-03-03T10:00:00.000Z")
    assert q["bool"]["filter"][-1] == {"range": {"ingested_at": {"gt": "2025-03-03T10:00:00.000Z"}}}
    assert q["bool"]["must"] == query.search_body(wq, SUBFIELDS, query.DEFAULT_FIELDS)[
        "query"]["bool"]["must"]


def test_highlights_are_escaped_and_marked() -> None:
    html = query.mark_html('<script>alert("x")</script> the [[ferry]] & [[<b>]]')
    assert html == ('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; the <mark>ferry</mark> '
                    "&amp; <mark>&lt;b&gt;</mark>")


def test_links_keep_the_search_and_reset_the_page() -> None:
    wq = WebQuery(q="a&b", entities=("Zürich",), page=4, sort="date")
    assert wq.href(lang="de") == "/?q=a%26b&lang=de&entity=Z%C3%BCrich&sort=date"
    assert wq.with_entity("zurich") is wq  # folded: already filtered
    assert wq.with_entity("Oslo").entities == ("Zürich", "Oslo")
    assert wq.without_entity("Zürich").href() == "/?q=a%26b&sort=date"


RESPONSE = {
    "hits": {"total": {"value": 3}, "hits": [{
        "_id": "a1",
        "_source": {"title": "<script>alert(1)</script> Ferry", "url": "https://a.example/1",
                    "source": "A", "published_at": "2025-03-03T08:00:00Z", "language": "en",
                    "story_id": "a1", "duplicate_count": 1, "duplicate_sources": ["C"]},
        "highlight": {"title.en": ["<script>alert(1)</script> [[Ferry]]"]},
        "inner_hits": {"story": {"hits": {"total": {"value": 2}, "hits": [
            {"_id": "a1", "_source": {"source": "A", "title": "x"}},
            {"_id": "b1", "_source": {"source": "B", "title": "Ferry again",
                                      "url": "https://b.example/1"}},
        ]}}},
    }]},
    "aggregations": {
        "stories": {"value": 2}, "as_of": {"newest": {"value_as_string": "2025-03-04T00:00:00.000Z"}},
        "per_day": {"buckets": [{"key_as_string": "2025-03-01", "doc_count": 2},
                                {"key_as_string": "2025-03-03", "doc_count": 1}]},
        "persons": {"buckets": [{"key": "lena ostrova", "doc_count": 2, "name": {"hits": {
            "hits": [{"_source": {"persons": ["Anna", "Lena Ostrova"]}}]}}}]},
        "organizations": {"buckets": []}, "locations": {"buckets": []},
        "sources": {"buckets": [{"key": "A", "doc_count": 2}]},
        "languages": {"buckets": [{"key": "en", "doc_count": 3}]},
    },
}


def test_search_answer_groups_by_story() -> None:
    wq = WebQuery(q="ferry", lang="en", persons=("Lena Ostrova",))
    data = query.shape_search(RESPONSE, wq, query.DEFAULT_FIELDS)
    assert data["total_articles"] == 3 and data["total_stories"] == 2 and data["pages"] == 1
    story = data["stories"][0]
    assert story["more"] == 1 and [a["id"] for a in story["articles"]] == ["b1"]
    assert story["sources"] == ["A", "B", "C"]
    art = story["article"]
    assert art["title"].startswith("<script>")  # plain text in the JSON ...
    assert art["title_html"] == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Ferry</mark>"
    assert data["facets"]["persons"] == [
        {"value": "lena ostrova", "label": "Lena Ostrova", "count": 2, "selected": True}]
    assert data["facets"]["languages"][0]["selected"] is True
    assert data["facets"]["sources"][0]["selected"] is False
    assert data["histogram"] == [{"date": "2025-03-01", "count": 2},
                                 {"date": "2025-03-02", "count": 0},
                                 {"date": "2025-03-03", "count": 1}]
    assert data["as_of"] == "2025-03-04T00:00:00.000Z"
    json.dumps(data)


def test_a_long_span_is_drawn_per_month() -> None:
    aggs = {"per_day": {"buckets": [{"key_as_string": "2025-01-01", "doc_count": 1},
                                    {"key_as_string": "2025-06-30", "doc_count": 2}]}}
    rows = query.histogram(aggs)
    assert [r["date"] for r in rows] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05",
                                         "2025-06"]
    assert sum(r["count"] for r in rows) == 3


def test_histogram_svg_has_one_bar_per_row_and_no_style() -> None:
    rows = [{"date": "2025-03-01", "count": 2}, {"date": "2025-03-02", "count": 0}]
    svg = histogram_svg(rows, 'Mentions of <b>"x"</b>')
    assert svg.count('class="bar"') == 2
    assert "style=" not in svg and "<b>" not in svg
    assert histogram_svg([]) == ""


def test_folding_matches_the_index_normalizer() -> None:
    assert query.fold("Zürich") == "zurich"
    assert query.fold("Ирина Ковалёва") == "ирина ковалева"


def test_the_api_schema_ships_in_the_package() -> None:
    spec = json.loads(resources.files("streams.web").joinpath("openapi.json").read_text())
    assert set(spec["paths"]) == {"/api/search", "/api/count", "/api/entity/{key}"}
    story = spec["components"]["schemas"]["Story"]["properties"]
    data = query.shape_search(RESPONSE, WebQuery(), query.DEFAULT_FIELDS)
    assert set(data) == set(spec["components"]["schemas"]["SearchResult"]["properties"])
    assert set(data["stories"][0]) == set(story)
    assert set(data["stories"][0]["article"]) == set(
        spec["components"]["schemas"]["Article"]["properties"])
    for name in ("search.html", "entity.html", "base.html"):
        assert resources.files("streams.web").joinpath("templates", name).is_file()
