"""``newsstream search``: language-aware full-text search over the indexed articles.

How the query is language-aware (docs/search.md has the long form): every text field is
indexed with a language-neutral analyzer, and once more in the per-language field of its own
detected language (``title_en``, ``body_ru``, ...: only that language's analyzer runs on it).
The query ORs

* the neutral fields (exact words, any language),
* for each supported language L: the fields ``title_L``, ``summary_L``, ``body_L``, which only
  texts detected as L fill (so "running" meets "runs" through the english stemmer, and a
  Russian query meets inflected forms through the russian one, without a German stemmer ever
  conflating English words),
* the title translations (each key analyzed in its own language).

Each clause is ``cross_fields`` with ``operator: and``: every query word must appear somewhere
in title, summary or body. Unique stories by default: near duplicates (``duplicate_of`` set)
are filtered out unless ``--all``.

:func:`build_body` is the one query builder: the CLI sends it as is, and the web app
(``streams.web``) adds its aggregations and story grouping to the same body, so a search gives
the same matches in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from streams import terminal
from streams.index.documents import language_field_names, language_fields

HL_PRE, HL_POST = "[[", "]]"
TEXT_FIELDS: dict[str, int] = {"title": 3, "summary": 2, "body": 1}  # field -> boost
MAX_LIMIT = 10_000
SORTS = ("relevance", "date")
BOLD, RESET = "\x1b[1m", "\x1b[0m"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})")


class BadDate(ValueError):
    """A --since/--until value that is neither YYYY-MM-DD nor RFC 3339."""


def parse_date(value: str, *, end: bool = False) -> str:
    """``--since``/``--until`` -> an RFC 3339 UTC instant.

    A bare date means the whole day: ``--since 2024-05-01`` starts at its midnight and
    ``--until 2024-05-01`` ends at the next midnight (the range is exclusive there).
    """
    raw = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise BadDate(f"{value!r} is not a valid date ({exc})") from None
        if end:
            day += timedelta(days=1)
        return f"{day.isoformat()}T00:00:00Z"
    if not RFC3339.fullmatch(raw):
        raise BadDate(
            f"{value!r} is not a date: use YYYY-MM-DD or RFC 3339 (2024-05-01T12:00:00Z)"
        )
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError as exc:
        raise BadDate(f"{value!r} is not a valid date-time ({exc})") from None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class SearchRequest:
    """What the user asked for, already validated (dates are RFC 3339 UTC)."""

    query: str
    lang: str | None = None
    entities: list[str] = field(default_factory=list)
    source: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 10
    include_duplicates: bool = False
    offset: int = 0
    sort: str = "relevance"  # or "date" (newest first)
    entity_key_fields: tuple[str, ...] = ()  # canonical entity-key fields of the index, if any
    field_terms: tuple[tuple[str, str], ...] = ()  # (keyword field, value): a facet's own filter


def _clause(query: str, fields: list[str]) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": query,
            "fields": fields,
            "type": "cross_fields",
            "operator": "and",
        }
    }


def text_query(query: str, lang_fields: dict[str, str]) -> dict[str, Any]:
    """The relevance part (see the module docstring).

    ``lang_fields``: language -> suffix of its per-language fields (``documents.language_fields``).
    """
    neutral = [f"{f}^{b}" for f, b in TEXT_FIELDS.items()]
    should: list[dict[str, Any]] = [_clause(query, neutral)]
    for suffix in sorted(set(lang_fields.values())):
        should.append(_clause(query, [f"{f}_{suffix}^{b}" for f, b in TEXT_FIELDS.items()]))
    should.append(
        {"multi_match": {"query": query, "fields": ["title_translations.*^2"], "operator": "and"}}
    )
    return {"bool": {"should": should, "minimum_should_match": 1}}


def entity_filter(name: str, key_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A document mentioning ``name`` as a person, organization, location or other entity.

    The facets use a lowercase+asciifolding normalizer, so ``merkel`` finds ``Merkel``. The
    facets hold canonical names (``streams.enrich.linking``), so ``Russia`` finds an article that only
    says "Россия"; ``entity_keys`` takes the stable key itself (``loc:RU``).
    ``key_fields``: the index's canonical entity-key fields, where it has them, so a facet
    value that is a key (one entity across names and scripts) filters too.
    """
    should: list[dict[str, Any]] = [
        {"term": {"persons": name}},
        {"term": {"organizations": name}},
        {"term": {"locations": name}},
        {"term": {"entity_names": name}},  # any mention's text or normalized name, folded
        # an index made by an older template holds the mentions as nested documents instead;
        # ignore_unmapped: the same query runs on indices without them
        {"nested": {"path": "entities", "ignore_unmapped": True, "query": {"bool": {"should": [
            {"term": {"entities.normalized": name}},
            {"term": {"entities.text": {"value": name, "case_insensitive": True}}},
        ]}}}},
        {"term": {"entity_keys": name}},  # a canonical key: "loc:RU" is Russia in any script
    ]
    should.extend({"term": {f: name}} for f in key_fields)
    return {"bool": {"should": should, "minimum_should_match": 1}}


def build_body(req: SearchRequest, lang_fields: dict[str, str]) -> dict[str, Any]:
    """The whole search request body (pure: unit-tested without Elasticsearch)."""
    filters: list[dict[str, Any]] = []
    if req.lang:
        filters.append({"term": {"language": req.lang.lower()}})
    filters.extend(entity_filter(name, req.entity_key_fields) for name in req.entities)
    filters.extend({"term": {f: value}} for f, value in req.field_terms)
    if req.source:
        filters.append({"term": {"source": {"value": req.source, "case_insensitive": True}}})
    if req.since or req.until:
        rng: dict[str, str] = {}
        if req.since:
            rng["gte"] = req.since
        if req.until:
            rng["lt"] = req.until
        filters.append({"range": {"published_at": rng}})
    must_not: list[dict[str, Any]] = []
    if not req.include_duplicates:
        must_not.append({"exists": {"field": "duplicate_of"}})
    newest: dict[str, Any] = {"published_at": {"order": "desc", "missing": "_last"}}
    if req.query.strip():
        must = [text_query(req.query, lang_fields)]
        sort: list[Any] = [newest, "_score"] if req.sort == "date" else ["_score", newest]
    else:  # no words: newest first
        must = [{"exists": {"field": "title"}}]
        sort = [newest]
    hl_fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        frag = {"number_of_fragments": 0} if name == "title" else {
            "fragment_size": 160, "number_of_fragments": 2
        }
        hl_fields[name] = frag
        for suffix in sorted(set(lang_fields.values())):
            hl_fields[f"{name}_{suffix}"] = frag
    return {
        "query": {"bool": {"must": must, "filter": filters, "must_not": must_not}},
        "sort": sort,
        "from": req.offset,
        "size": req.limit,
        "track_total_hits": True,
        "_source": {"excludes": ["body", "entities", "extra", *language_field_names()]},
        "highlight": {
            "pre_tags": [HL_PRE],
            "post_tags": [HL_POST],
            "encoder": "default",
            "max_analyzed_offset": 999_999,
            "fields": hl_fields,
        },
    }


def is_language_field(key: str, name: str) -> bool:
    """Whether ``key`` is one of the per-language copies of the text field ``name``."""
    return key.startswith(name + "_") and key in language_field_names()


def _best(highlight: dict[str, list[str]], name: str) -> list[str]:
    """Fragments of ``name`` or of its per-language field (the stemmed match is the better)."""
    subs = [k for k in highlight if is_language_field(k, name)]
    for key in [*subs, name]:
        if highlight.get(key):
            return highlight[key]
    return []


def _emphasize(text: str, color: bool) -> str:
    if color:
        return text.replace(HL_PRE, BOLD).replace(HL_POST, RESET)
    return text


def _oneline(text: str) -> str:
    return " ".join(terminal.safe(text).split())


def format_hits(resp: dict[str, Any], req: SearchRequest, color: bool = False) -> str:
    """Human-readable results: title, one line of facts, highlighted snippets."""
    hits = resp["hits"]["hits"]
    total = resp["hits"]["total"]["value"]
    if not hits:
        return no_results_message(req)
    out = [f"{total} article{'s' if total != 1 else ''}"
           f"{' (unique stories)' if not req.include_duplicates else ''}; showing {len(hits)}"]
    for n, hit in enumerate(hits, 1):
        src = hit.get("_source", {})
        hl = hit.get("highlight", {})
        title = (_best(hl, "title") or [src.get("title") or "(untitled)"])[0]
        out.append("")
        out.append(f"{n}. {_emphasize(_oneline(title), color)}")
        facts = [
            (src.get("published_at") or "")[:10] or "no date",
            src.get("source") or "unknown source",
            src.get("language") or "und",
        ]
        if src.get("url"):
            facts.append(src["url"])
        if src.get("duplicate_count"):
            facts.append(f"+{src['duplicate_count']} copies")
        if src.get("duplicate_of"):
            facts.append(f"near duplicate of {src['duplicate_of']}")
        out.append("   " + _oneline(" · ".join(str(f) for f in facts)))
        snippets = _best(hl, "body") or _best(hl, "summary")
        if not snippets and src.get("summary"):
            snippets = [src["summary"][:200]]
        for frag in snippets:
            out.append("   … " + _emphasize(_oneline(frag), color) + " …")
    return "\n".join(out)


def no_results_message(req: SearchRequest) -> str:
    parts = []
    if req.lang:
        parts.append(f"language {req.lang}")
    parts.extend(f"entity {e!r}" for e in req.entities)
    if req.source:
        parts.append(f"source {req.source!r}")
    if req.since:
        parts.append(f"since {req.since}")
    if req.until:
        parts.append(f"before {req.until}")
    where = f" with {', '.join(parts)}" if parts else ""
    hint = "" if req.include_duplicates else " (near duplicates hidden: try --all)"
    return f"No articles match {req.query!r}{where}.{hint}"


def search(req: SearchRequest, es: Any, index: str) -> dict[str, Any]:
    """Run the search; returns Elasticsearch's response body as a dict."""
    resp = es.search(index=index, body=build_body(req, language_fields()))
    return dict(resp.body if hasattr(resp, "body") else resp)
