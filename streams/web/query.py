"""Request parameters -> search bodies -> the JSON the web API returns (pure, no I/O).

The relevance query and the filters come from ``streams.index.search.build_body``, the builder the
CLI uses; this module only adds what a page needs on top of it: results collapsed by
``story_id`` (one card per story, its near duplicates as inner hits), facet and per-day
aggregations, and the limits that keep a public page cheap (page size, result window, query
length, number of entity filters, highlight fragments).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape

from streams.index.search import (
    HL_POST,
    HL_PRE,
    RFC3339,
    SORTS,
    BadDate,
    SearchRequest,
    build_body,
    parse_date,
)

PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
MAX_RESULT_WINDOW = 10_000  # Elasticsearch's index.max_result_window default
MAX_QUERY_CHARS = 500
MAX_FILTER_CHARS = 200
MAX_ENTITIES = 5
FACET_SIZE = 10
STORY_SIZE = 20  # articles of one story shown when it is expanded
LATEST_SIZE = 10
MAX_DAY_BARS = 92  # a longer span is drawn per month
ENTITY_FACETS: tuple[str, ...] = ("persons", "organizations", "locations")
# facet name in the API -> indexed field (entity facets may move to a key field, see below)
FACETS: dict[str, str] = {
    "persons": "persons", "organizations": "organizations", "locations": "locations",
    "sources": "source", "languages": "language",
}
CARD_SOURCE = ["title", "url", "source", "published_at", "language", "summary", "story_id",
               "duplicate_of", "duplicate_count", "duplicate_sources", *ENTITY_FACETS]
RFC3339_OR_DATE = RFC3339  # the live count's "after" (an as_of the search returned)
MARK = re.compile(re.escape(HL_PRE) + "(.*?)" + re.escape(HL_POST), re.S)


class BadParams(ValueError):
    """A request parameter the page refuses (the message is shown to the user)."""


@dataclass(frozen=True)
class FacetFields:
    """Which indexed field each facet aggregates, and the entity-key fields to filter on.

    Where the index has canonical entity keys (one key for "Russia" and "Россия"), the entity
    facets count keys; otherwise the folded names. :func:`facet_fields` reads that from the
    live mapping, so the page follows the index it is pointed at.
    """

    fields: Mapping[str, str]
    key_fields: tuple[str, ...] = ()


DEFAULT_FIELDS = FacetFields(dict(FACETS))


def facet_fields(mapped: Iterable[str]) -> FacetFields:
    """The facet fields for an index whose mapping has the dotted field names ``mapped``.

    An entity facet uses ``<facet>.key`` (a key subfield) or ``<facet>_keys`` when the index
    has one of them, else the facet field itself.
    """
    names = set(mapped)
    fields = dict(FACETS)
    keys: list[str] = []
    for facet in ENTITY_FACETS:
        for candidate in (f"{facet}.key", f"{facet}_keys"):
            if candidate in names:
                fields[facet] = candidate
                keys.append(candidate)
                break
    return FacetFields(fields, tuple(keys))


def mapped_fields(properties: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of every field (and multi-field) of a mapping's ``properties``."""
    out: list[str] = []
    for name, spec in properties.items():
        full = prefix + name
        out.append(full)
        out.extend(f"{full}.{sub}" for sub in spec.get("fields", {}))
        if "properties" in spec:
            out.extend(mapped_fields(spec["properties"], full + "."))
    return out


def fold(value: str) -> str:
    """The index's ``folded`` normalizer in Python (ё->е, lowercase, accents dropped)."""
    low = value.replace("ё", "е").replace("Ё", "Е").lower()
    return "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))


@dataclass(frozen=True)
class WebQuery:
    """A validated search from the page's or the API's parameters."""

    q: str = ""
    lang: str | None = None
    source: str | None = None
    entities: tuple[str, ...] = ()  # any kind of entity (a name or key)
    persons: tuple[str, ...] = ()  # a facet's own value: exactly what its count counted
    organizations: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    since: str | None = None  # as typed (YYYY-MM-DD or RFC 3339), shown back in the form
    until: str | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = PAGE_SIZE

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query-string pairs of this search with ``changes`` applied (for links)."""
        wq = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        if wq.q:
            pairs.append(("q", wq.q))
        for name in ("lang", "source", "since", "until"):
            value = getattr(wq, name)
            if value:
                pairs.append((name, value))
        pairs.extend(("entity", e) for e in wq.entities)
        for facet in ENTITY_FACETS:
            pairs.extend((facet, v) for v in getattr(wq, facet))
        if wq.sort != "relevance":
            pairs.append(("sort", wq.sort))
        if wq.page != 1:
            pairs.append(("page", str(wq.page)))
        if wq.size != PAGE_SIZE:
            pairs.append(("size", str(wq.size)))
        return pairs

    def href(self, path: str = "/", **changes: Any) -> str:
        """A link to ``path`` with this search's parameters (changes reset the page)."""
        changes.setdefault("page", 1)
        qs = urlencode(self.params(**changes))
        return f"{path}?{qs}" if qs else path

    def with_facet(self, facet: str, value: str) -> WebQuery:
        """This search also filtered by an entity facet's value (no-op when it already is)."""
        values: tuple[str, ...] = getattr(self, facet)
        if any(fold(v) == fold(value) for v in values):
            return self
        return replace(self, page=1, **{facet: (*values, value)})

    def without_facet(self, facet: str, value: str) -> WebQuery:
        values: tuple[str, ...] = getattr(self, facet)
        return replace(self, page=1, **{facet: tuple(v for v in values if fold(v) != fold(value))})

    def with_entity(self, value: str) -> WebQuery:
        if any(fold(e) == fold(value) for e in self.entities):
            return self
        return replace(self, entities=(*self.entities, value), page=1)

    def without_entity(self, value: str) -> WebQuery:
        return replace(self, entities=tuple(e for e in self.entities if e != value), page=1)

    def request(self, fields: FacetFields, *, limit: int, offset: int) -> SearchRequest:
        """The shared SearchRequest (near duplicates included: the page groups them)."""
        return SearchRequest(
            query=self.q, lang=self.lang, entities=list(self.entities), source=self.source,
            since=parse_date(self.since) if self.since else None,
            until=parse_date(self.until, end=True) if self.until else None,
            limit=limit, include_duplicates=True, offset=offset, sort=self.sort,
            entity_key_fields=fields.key_fields,
            field_terms=tuple((fields.fields[f], v) for f in ENTITY_FACETS for v in getattr(self, f)),
        )


def _one(params: Mapping[str, Sequence[str]], name: str, limit: int = MAX_FILTER_CHARS) -> str:
    values = params.get(name) or []
    value = values[-1].strip() if values else ""
    if len(value) > limit:
        raise BadParams(f"{name} is longer than {limit} characters")
    return value


def _int(params: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _one(params, name, 12)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParams(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise BadParams(f"{name} must be between {low} and {high}")
    return value


def parse_params(params: Mapping[str, Sequence[str]]) -> WebQuery:
    """Validate the query string of ``/`` and ``/api/search`` (raises BadParams)."""
    sort = _one(params, "sort") or "relevance"
    if sort not in SORTS:
        raise BadParams(f"sort must be one of {', '.join(SORTS)}")
    lang = _one(params, "lang").lower() or None
    if lang and not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", lang):
        raise BadParams("lang must be a language code such as en or pt-br")
    lists: dict[str, tuple[str, ...]] = {}
    for name in ("entity", *ENTITY_FACETS):
        values: list[str] = []
        for raw in params.get(name) or []:
            value = raw.strip()
            if len(value) > MAX_FILTER_CHARS:
                raise BadParams(f"{name} is longer than {MAX_FILTER_CHARS} characters")
            if value and value not in values:
                values.append(value)
        lists[name] = tuple(values)
    if sum(len(v) for v in lists.values()) > MAX_ENTITIES:
        raise BadParams(f"at most {MAX_ENTITIES} entity filters")
    size = _int(params, "size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int(params, "page", 1, 1, MAX_RESULT_WINDOW)
    if page * size > MAX_RESULT_WINDOW:
        raise BadParams(f"only the first {MAX_RESULT_WINDOW} results can be paged through")
    wq = WebQuery(
        q=_one(params, "q", MAX_QUERY_CHARS), lang=lang, source=_one(params, "source") or None,
        entities=lists["entity"], persons=lists["persons"],
        organizations=lists["organizations"], locations=lists["locations"],
        since=_one(params, "since") or None,
        until=_one(params, "until") or None, sort=sort, page=page, size=size,
    )
    try:
        since = parse_date(wq.since) if wq.since else None
        until = parse_date(wq.until, end=True) if wq.until else None
    except BadDate as exc:
        raise BadParams(str(exc)) from None
    if since and until and since >= until:
        raise BadParams("since must be before until")
    return wq


def _facet_aggs(fields: FacetFields, size: int, exclude: str | None = None) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for facet, field in fields.fields.items():
        terms: dict[str, Any] = {"field": field, "size": size}
        if exclude is not None and facet in ENTITY_FACETS:
            terms["exclude"] = [exclude]
        agg: dict[str, Any] = {"terms": terms}
        if facet in ENTITY_FACETS and facet == field:  # folded names: fetch one spelling
            agg["aggs"] = {"name": {"top_hits": {"size": 1, "_source": [facet]}}}
        aggs[facet] = agg
    return aggs


def per_day_agg() -> dict[str, Any]:
    return {"date_histogram": {"field": "published_at", "calendar_interval": "day",
                               "min_doc_count": 1, "format": "yyyy-MM-dd"}}


def search_body(wq: WebQuery, subfields: dict[str, str], fields: FacetFields) -> dict[str, Any]:
    """The shared search body, grouped by story, with facets, per-day counts and as-of time."""
    body = build_body(
        wq.request(fields, limit=wq.size, offset=(wq.page - 1) * wq.size), subfields
    )
    body["_source"] = CARD_SOURCE
    for spec in body["highlight"]["fields"].values():
        spec.setdefault("fragment_size", 160)
        spec["no_match_size"] = 0
    body["highlight"]["max_analyzed_offset"] = 200_000  # highlight limit per field
    body["collapse"] = {
        "field": "story_id",
        "inner_hits": {
            "name": "story", "size": STORY_SIZE,
            "sort": [{"published_at": {"order": "asc", "missing": "_last"}}],
            "_source": ["title", "url", "source", "published_at", "language", "duplicate_of",
                        "duplicate_sources"],
        },
    }
    body["aggs"] = {
        "stories": {"cardinality": {"field": "story_id", "precision_threshold": 3000}},
        # the newest article of the whole index when searched: the live count counts after it
        "as_of": {"global": {}, "aggs": {"newest": {"max": {"field": "ingested_at"}}}},
        "per_day": per_day_agg(),
        **_facet_aggs(fields, FACET_SIZE),
    }
    return body


def count_query(wq: WebQuery, subfields: dict[str, str], fields: FacetFields,
                after: str) -> dict[str, Any]:
    """The same matches, restricted to articles indexed after ``after`` (the live count)."""
    query = build_body(wq.request(fields, limit=0, offset=0), subfields)["query"]
    query["bool"]["filter"].append({"range": {"ingested_at": {"gt": after}}})
    return query


def entity_body(key: str, fields: FacetFields) -> dict[str, Any]:
    """Everything an entity page shows: mentions per day, co-occurring entities, latest."""
    req = SearchRequest(query="", entities=[key], limit=LATEST_SIZE, include_duplicates=True,
                        entity_key_fields=fields.key_fields)
    body = build_body(req, {})
    body.pop("highlight")
    body["_source"] = CARD_SOURCE
    own = {f: {"filter": {"term": {field: key}}} for f, field in fields.fields.items()
           if f in ENTITY_FACETS}
    body["aggs"] = {
        "per_day": per_day_agg(),
        "stories": {"cardinality": {"field": "story_id", "precision_threshold": 3000}},
        **_facet_aggs(fields, FACET_SIZE + 1, exclude=key),
        "as": {"filters": {"filters": {f: agg["filter"] for f, agg in own.items()}}},
    }
    return body


def mark_html(fragment: str) -> str:
    """A highlight fragment as safe HTML: everything escaped, matches in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for m in MARK.finditer(fragment):
        out.append(str(escape(fragment[pos:m.start()])))
        out.append(f"<mark>{escape(m.group(1))}</mark>")
        pos = m.end()
    out.append(str(escape(fragment[pos:])))
    return Markup("".join(out))


def _best(highlight: Mapping[str, list[str]], name: str) -> list[str]:
    """Fragments of ``name`` or of a language subfield (the stemmed match is the better)."""
    for key in [*(k for k in highlight if k.startswith(name + ".")), name]:
        if highlight.get(key):
            return highlight[key]
    return []


def _snippets(hit: Mapping[str, Any]) -> list[str]:
    hl = hit.get("highlight", {})
    frags = _best(hl, "body") or _best(hl, "summary")
    if frags:
        return [mark_html(" ".join(f.split())) for f in frags[:2]]
    summary = (hit.get("_source") or {}).get("summary") or ""
    return [str(escape(" ".join(summary.split())[:240]))] if summary else []


def article_json(hit: Mapping[str, Any]) -> dict[str, Any]:
    """One article of a result list: plain fields, plus escaped HTML with highlights."""
    src = hit.get("_source") or {}
    title = src.get("title") or "(untitled)"
    hl_title = _best(hit.get("highlight", {}), "title")
    return {
        "id": hit["_id"],
        "title": title,
        "title_html": mark_html(" ".join(hl_title[0].split())) if hl_title else str(escape(title)),
        "snippets_html": _snippets(hit),
        "url": src.get("url"),
        "source": src.get("source"),
        "language": src.get("language"),
        "published_at": src.get("published_at"),
        "duplicate_of": src.get("duplicate_of"),
        "exact_copies": int(src.get("duplicate_count") or 0),
    }


def _story(hit: Mapping[str, Any]) -> dict[str, Any]:
    art = article_json(hit)
    inner = ((hit.get("inner_hits") or {}).get("story") or {}).get("hits") or {}
    members = inner.get("hits") or []
    in_story = int((inner.get("total") or {}).get("value") or len(members) or 1)
    others = [
        {"id": m["_id"], "title": (m.get("_source") or {}).get("title") or "(untitled)",
         "url": (m.get("_source") or {}).get("url"),
         "source": (m.get("_source") or {}).get("source"),
         "published_at": (m.get("_source") or {}).get("published_at")}
        for m in members if m["_id"] != hit["_id"]
    ]
    sources: set[str] = set()
    for m in [hit, *members]:
        src = m.get("_source") or {}
        if src.get("source"):
            sources.add(src["source"])
        sources.update(s for s in src.get("duplicate_sources") or [] if s)
    return {
        "story_id": (hit.get("_source") or {}).get("story_id") or hit["_id"],
        "article": art,
        "more": max(in_story - 1, 0),
        "articles": others,
        "sources": sorted(sources, key=str.casefold),
    }


def _display(bucket: Mapping[str, Any], facet: str) -> str:
    """The spelling of a folded facet value as one matching document writes it."""
    key = str(bucket["key"])
    for hit in ((bucket.get("name") or {}).get("hits") or {}).get("hits") or []:
        for name in (hit.get("_source") or {}).get(facet) or []:
            if fold(name) == key:
                return str(name)
    return key


def facets_json(aggs: Mapping[str, Any], fields: FacetFields, wq: WebQuery | None = None,
                exclude: str | None = None, size: int = FACET_SIZE) -> dict[str, list[dict[str, Any]]]:
    """Facet buckets as ``{facet: [{value, label, count, selected}]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for facet in fields.fields:
        chosen = {fold(v) for v in getattr(wq, facet)} if wq and facet in ENTITY_FACETS else set()
        rows = []
        for b in (aggs.get(facet) or {}).get("buckets") or []:
            value = str(b["key"])
            if exclude is not None and facet in ENTITY_FACETS and fold(value) == fold(exclude):
                continue
            if facet == "languages":
                selected = bool(wq and wq.lang == value)
            elif facet == "sources":
                selected = bool(wq and wq.source and fold(wq.source) == fold(value))
            else:
                selected = fold(value) in chosen
            rows.append({"value": value, "label": _display(b, facet), "count": b["doc_count"],
                         "selected": selected})
        out[facet] = rows[:size]
    return out


def histogram(aggs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-day counts with the empty days filled in; per month when the span is long."""
    counts = {b["key_as_string"][:10]: b["doc_count"]
              for b in (aggs.get("per_day") or {}).get("buckets") or []}
    if not counts:
        return []
    first, last = date.fromisoformat(min(counts)), date.fromisoformat(max(counts))
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    if len(days) <= MAX_DAY_BARS:
        return [{"date": d, "count": counts.get(d, 0)} for d in days]
    months: dict[str, int] = {}
    for d in days:
        months[d[:7]] = months.get(d[:7], 0) + counts.get(d, 0)
    return [{"date": m, "count": n} for m, n in months.items()]


def shape_search(resp: Mapping[str, Any], wq: WebQuery, fields: FacetFields) -> dict[str, Any]:
    """Elasticsearch's answer -> the ``/api/search`` JSON (documented in docs/web.md)."""
    aggs = resp.get("aggregations") or {}
    stories_total = int((aggs.get("stories") or {}).get("value") or 0)
    articles_total = int(resp["hits"]["total"]["value"])
    reachable = min(stories_total, MAX_RESULT_WINDOW)
    as_of = ((aggs.get("as_of") or {}).get("newest") or {}).get("value_as_string")
    return {
        "query": {"q": wq.q, "lang": wq.lang, "source": wq.source, "entity": list(wq.entities),
                  "persons": list(wq.persons), "organizations": list(wq.organizations),
                  "locations": list(wq.locations), "since": wq.since, "until": wq.until,
                  "sort": wq.sort},
        "total_articles": articles_total,
        "total_stories": stories_total,
        "page": wq.page,
        "page_size": wq.size,
        "pages": max(1, math.ceil(reachable / wq.size)),
        "as_of": as_of,
        "stories": [_story(h) for h in resp["hits"]["hits"]],
        "facets": facets_json(aggs, fields, wq),
        "histogram": histogram(aggs),
    }


def shape_entity(resp: Mapping[str, Any], key: str, fields: FacetFields) -> dict[str, Any]:
    """Elasticsearch's answer -> the ``/api/entity/{key}`` JSON."""
    aggs = resp.get("aggregations") or {}
    hits = resp["hits"]["hits"]
    kinds = {f: int(b["doc_count"]) for f, b in
             ((aggs.get("as") or {}).get("buckets") or {}).items() if b["doc_count"]}
    name = key
    for hit in hits:
        for facet in ENTITY_FACETS:
            for value in (hit.get("_source") or {}).get(facet) or []:
                if fold(value) == fold(key):
                    name = value
                    break
    co = facets_json(aggs, fields, None, exclude=key)
    return {
        "key": key,
        "name": name,
        "kinds": kinds,
        "articles": int(resp["hits"]["total"]["value"]),
        "stories": int((aggs.get("stories") or {}).get("value") or 0),
        "histogram": histogram(aggs),
        "co_occurring": {f: co[f] for f in ENTITY_FACETS if f in co},
        "sources": co.get("sources", []),
        "languages": co.get("languages", []),
        "latest": [article_json(h) for h in hits],
    }
