"""Article + dedup decision + enrichment -> the document indexed in Elasticsearch.

Why a separate pure module: the Faust enrich agent, ``newsstream enrich`` (offline) and the
tests must produce byte-for-byte the same document, and the index template
(``schemas/elasticsearch/articles-template.json``) and ``schemas/document.schema.json`` must
describe exactly what is built here. Two message shapes travel on ``articles.enriched``
(see the README, "message contracts"):

* ``{"kind": "document", "id", "doc"}``: the full document, every field explicit (null where
  absent) so that a revision overwrites stale values, and NEVER ``duplicate_count`` /
  ``duplicate_sources`` so that it cannot clobber a count written earlier or later;
* ``{"kind": "counts", "id", "doc": {"duplicate_count", "duplicate_sources"}, "copy"}``:
  absolute values for an original, from the dedup state (resending writes the same values);
  ``copy`` names the exact copy whose arrival produced them (its ``id`` and ``url``).

A document message becomes a partial-update upsert (``doc_as_upsert``), no scripts. A counts
message becomes a partial update that never creates a document: a document holding only counts
would be a hit without an article. It travels behind its original on the same partition
(through the enrich stage), so when it is applied the original is either indexed or was
dead-lettered; in the second case Elasticsearch answers ``document_missing_exception`` and the
bulk writer dead-letters the copy (``original_not_indexed``).
Known edge of partial updates: object fields (``title_translations``, ``extra``) are merged key
by key, so a key that a revision drops stays until the document is reindexed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

from streams.enrich.entities import facets
from streams.model import Article, DedupInfo, Entity, Language
from streams.resources import schema_json

SCHEMA_FILE = "document.schema.json"  # in the package streams.schemas (top-level schemas/)

# The two fields only a "counts" message may carry (see module docstring).
COUNT_FIELDS: tuple[str, ...] = ("duplicate_count", "duplicate_sources")
# The article's free-text fields: each is indexed language-neutrally, and once more in the
# per-language field of its own language (see :func:`language_texts`).
TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "body")
TEMPLATE_FILE = ("elasticsearch", "articles-template.json")


@lru_cache(maxsize=1)
def _language_fields() -> tuple[tuple[str, str], ...]:
    return tuple(schema_json(*TEMPLATE_FILE)["_meta"]["language_fields"].items())


def language_fields() -> dict[str, str]:
    """Detected language code -> suffix of its per-language fields (``en`` -> ``title_en``)."""
    return dict(_language_fields())


def language_field_names() -> list[str]:
    """Every per-language text field of the template (``title_en`` ... ``body_cjk``)."""
    suffixes = sorted(set(language_fields().values()))
    return [f"{name}_{suffix}" for name in TEXT_FIELDS for suffix in suffixes]


class EnrichLike(Protocol):
    """What the document needs from the enrichment stage (streams.enrich.enricher.EnrichResult).

    ``languages`` maps an article field ("title", "body", "summary", "title_translations.xx")
    to its detected language. Only these three are read, so any record carrying them will do.
    """

    @property
    def languages(self) -> Mapping[str, Language]: ...

    @property
    def entities(self) -> Sequence[Entity]: ...

    @property
    def ner_status(self) -> str: ...


def primary_subtag(code: str) -> str:
    """``pt-BR`` -> ``pt``: the part that selects an analyzer."""
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


def _lang_code(lang: Language | None) -> str | None:
    if lang is None or not lang.code or lang.code == "und":
        return None
    return primary_subtag(lang.code)


def _document_language(article: Article, languages: Mapping[str, Language]) -> Language:
    """The document's language: the body's, else the summary's, else the title's (``und``)."""
    for name in ("body", "summary", "title"):
        text = getattr(article, name)
        lang = languages.get(name)
        if text and text.strip() and _lang_code(lang) is not None:
            assert lang is not None
            return lang
    return Language("und", 0.0)


def language_texts(
    article: Article, languages: Mapping[str, Language], document_language: str | None
) -> dict[str, str | None]:
    """The per-language copies of title, summary and body (pure).

    Why: Elasticsearch then runs one language analyzer per text (its own language's) instead
    of every supported language's on every text. Each text goes to the field of its own
    detected language, else of the document's (a short title often has no confident language
    of its own); a language without an analyzer gets only the neutral field. Every other
    per-language field is an explicit null, so that a revision whose detected language changed
    removes the old copy through the partial-update upsert.
    """
    out: dict[str, str | None] = dict.fromkeys(language_field_names())
    suffix_of = language_fields()
    for name in TEXT_FIELDS:
        text = getattr(article, name)
        if not text or not text.strip():
            continue
        code = _lang_code(languages.get(name)) or document_language
        suffix = suffix_of.get(code) if code else None
        if suffix is not None:
            out[f"{name}_{suffix}"] = text
    return out


def build_document(
    article: Article, dedup: DedupInfo, enrich: EnrichLike, ingested_at: str
) -> dict[str, Any]:
    """The full document for ``article`` (every field present; see the module docstring)."""
    languages = dict(enrich.languages)
    body_lang = _document_language(article, languages)
    title_lang = _lang_code(languages.get("title")) if article.title else None
    detected = sorted(
        {c for c in (_lang_code(lang) for lang in languages.values()) if c is not None}
        | {primary_subtag(c) for c in article.title_translations if c.strip()}
    )
    entities = [e.to_dict() for e in enrich.entities]
    doc_lang = _lang_code(body_lang)
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "body": article.body,
        "summary": article.summary,
        **language_texts(article, languages, doc_lang),
        "source": article.source,
        "authors": list(article.authors),
        "tags": list(article.tags),
        "published_at": article.published_at,
        "ingested_at": ingested_at,
        "first_seen": dedup.first_seen,
        "language": doc_lang or "und",
        "language_confidence": round(float(body_lang.confidence), 4),
        "title_language": title_lang,
        "languages": detected,
        "title_translations": dict(article.title_translations),
        "entities": entities,
        "entity_names": entity_names(enrich.entities),
        **facets(enrich.entities),
        "entity_keys": sorted({e.key for e in enrich.entities if e.key}),
        "ner_status": enrich.ner_status,
        "duplicate_of": dedup.duplicate_of,
        "story_id": dedup.story_id,
        "similarity": dedup.similarity,
        "content_hash": dedup.content_hash,
        "extra": dict(article.extra),
    }


def entity_names(entities: Sequence[Entity]) -> list[str]:
    """Every distinct surface and normalized name of the mentions: what an entity filter matches.

    One keyword field instead of the mentions as nested documents: sixteen mentions would be
    sixteen more Lucene documents to index and merge for each article.
    """
    return sorted({n for e in entities for n in (e.text, e.normalized) if n})


def document_message(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The ``kind: document`` message for a full document from :func:`build_document`."""
    leaked = [f for f in COUNT_FIELDS if f in doc]
    if leaked:
        raise ValueError(f"a full document must not carry {leaked} (counts travel alone)")
    return {"kind": "document", "id": doc["id"], "doc": dict(doc)}


def counts_message(
    original_id: str, duplicate_count: int, duplicate_sources: Sequence[str],
    copy: Article | None = None,
) -> dict[str, Any]:
    """The ``kind: counts`` message: absolute copy count and sources of an original.

    ``copy`` is the exact copy that was counted: its id and URL travel along so that a dead
    letter of this message (the original is not indexed) says which message it stands for.
    """
    if duplicate_count < 0:
        raise ValueError("duplicate_count must be >= 0")
    message: dict[str, Any] = {
        "kind": "counts",
        "id": original_id,
        "doc": {
            "duplicate_count": int(duplicate_count),
            "duplicate_sources": list(duplicate_sources),
        },
    }
    if copy is not None:
        message["copy"] = {"id": copy.id, "url": copy.url}
    return message


def is_counts(message: Any) -> bool:
    """Whether an internal message is a ``kind: counts`` message (not an article to enrich)."""
    return isinstance(message, Mapping) and message.get("kind") == "counts"


def bulk_lines(message: Mapping[str, Any], index: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bulk action and body for one ``articles.enriched`` message.

    A document is a partial upsert; counts are a partial update that never creates a document
    (see the module docstring). ``index`` is the concrete index already holding the id, or the
    write index for a new id (so a document never exists twice after a rollover).
    """
    kind = message.get("kind")
    if kind not in ("document", "counts"):
        raise ValueError(f"unknown message kind {kind!r}")
    doc = message["doc"]
    if kind == "counts" and set(doc) - set(COUNT_FIELDS):
        raise ValueError("a counts message carries only duplicate_count/duplicate_sources")
    if kind == "document" and any(f in doc for f in COUNT_FIELDS):
        raise ValueError("a document message must not carry duplicate_count/duplicate_sources")
    action = {"update": {"_id": str(message["id"]), "_index": index}}
    if kind == "counts":
        return action, {"doc": doc}
    return action, {"doc": doc, "doc_as_upsert": True}


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The document JSON Schema (tests validate build_document's output against it)."""
    return schema_json(SCHEMA_FILE)
