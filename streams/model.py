"""The shared vocabulary of the pipeline: plain, typed, JSON-friendly records.

Every stage is a pure function between these records; Kafka carries them as JSON
(``to_dict``/``from_dict``), so the Faust agents and ``newsstream enrich`` see the same values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson


def _plain(record: Any) -> dict[str, Any]:
    """``asdict`` with the tuple fields as lists: what JSON carries."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(record).items()}


def _with_tuples(d: dict[str, Any], *names: str) -> dict[str, Any]:
    """A copy of ``d`` with the fields ``names`` as tuples (missing or null: empty)."""
    return {**d, **{n: tuple(d.get(n) or ()) for n in names}}


@dataclass(frozen=True)
class Article:
    """A validated input article (the contract in ``schemas/article.schema.json``)."""

    id: str  # the input's id, or a hash of the canonical URL
    url: str | None
    canonical_url: str | None
    title: str | None = None
    body: str | None = None
    published_at: str | None = None  # RFC 3339, normalized to UTC
    source: str | None = None
    language_hint: str | None = None  # the contract's `language`: a hint only
    authors: tuple[str, ...] = ()
    summary: str | None = None
    tags: tuple[str, ...] = ()
    title_translations: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown fields, carried along

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Article:
        d = _with_tuples(d, "authors", "tags")
        d["title_translations"] = dict(d.get("title_translations") or {})
        d["extra"] = dict(d.get("extra") or {})
        return cls(**d)


@dataclass(frozen=True)
class DedupInfo:
    """What the dedup stage decided about one article.

    kind: ``new`` (first sighting), ``revision`` (same id, changed content), ``replay`` (same id,
    same content: a redelivery, not a duplicate), ``exact`` (same content under another id: not
    indexed again, only counted on the original), ``near`` (similar content: indexed, marked).
    """

    kind: str
    content_hash: str
    story_id: str
    duplicate_of: str | None = None
    similarity: float | None = None
    first_seen: str | None = None  # RFC 3339; kept across revisions
    duplicate_count: int = 0  # copies seen of this original (absolute, replay-safe)
    duplicate_sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DedupInfo:
        return cls(**_with_tuples(d, "duplicate_sources"))


@dataclass(frozen=True)
class Language:
    """A detected language: ISO 639-1 code (``und`` when undecidable) and a confidence 0..1."""

    code: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "confidence": self.confidence}


UNDETERMINED = Language("und", 0.0)


@dataclass(frozen=True)
class Entity:
    """A named entity with character offsets into ``field`` of the article."""

    text: str
    label: str  # PERSON | ORG | LOCATION | MISC
    start: int
    end: int
    field: str  # "title", "body", "summary" or "title_translations.<lang>"
    normalized: str
    language: str
    #: Stable canonical key, the same in every language and script ("loc:RU" for "Россия"
    #: and "Russia"); see ``streams.enrich.linking.link``. Empty when unknown (hand-made entities).
    key: str = ""

    def to_dict(self) -> dict[str, Any]:
        # spelled out: ``asdict`` deep-copies every field, and an article has dozens of entities
        return {
            "text": self.text, "label": self.label, "start": self.start, "end": self.end,
            "field": self.field, "normalized": self.normalized, "language": self.language,
            "key": self.key,
        }  # fmt: skip


# --- The wire format of the internal topics ---------------------------------------------------

#: Key of the stand-in value a message that cannot be decoded becomes.
UNDECODABLE = "__undecodable__"


def encode_internal(value: Any) -> bytes:
    """JSON as UTF-8 text, not ``\\uXXXX`` escapes: Cyrillic text would triple in size.

    Strict UTF-8: a lone surrogate raises here, in the sending stage, where the message can
    still be dead-lettered, instead of reaching a consumer that cannot decode it.
    orjson writes the same compact JSON several times faster than the standard library (every
    message between stages passes here). What it refuses (an integer beyond 64 bits, which it
    would read back as a float; a surrogate) takes the standard library's path, which raises
    for a surrogate as before; its output starts with a space (still JSON), which tells
    :func:`decode_internal` to read it with the standard library too, so big integers survive.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return b" " + text.encode("utf-8")


def parse_internal(raw: bytes) -> Any:
    """:func:`encode_internal`'s bytes back to the value (raises ``ValueError`` if not JSON)."""
    if raw[:1] != b" ":
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN, an escaped lone surrogate: the standard library decides
    return json.loads(raw.decode("utf-8"))


def decode_internal(raw: bytes | str | None) -> Any:
    """Never raises: a message that is not UTF-8 JSON becomes ``{UNDECODABLE: why}``.

    Faust's own codecs raise, and a decode error thrown into an agent's stream crashes the
    agent; this stand-in instead fails the agent's field access and goes to the DLQ with the
    message's bytes like any other bad internal message.
    """
    try:
        if isinstance(raw, bytes | bytearray):
            return parse_internal(bytes(raw))
        return json.loads(str(raw))
    except Exception as exc:
        return {UNDECODABLE: f"{type(exc).__name__}: {exc}"[:500]}

