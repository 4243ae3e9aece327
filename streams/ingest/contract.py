"""The input contract: raw Kafka bytes -> a validated, normalized :class:`~streams.model.Article`.

Why one module: the worker, ``newsstream produce`` and ``newsstream feeds`` must accept and
refuse exactly the same messages, with the same reasons, so all three call
:func:`parse_article` / :func:`validate_record`. The JSON Schema file
(``schemas/article.schema.json``) is the single source of truth; the validator is compiled
once per process because the worker calls this thousands of times a second.

Two validators, one verdict: a compiled one (fastjsonschema, generated Python code, about 20x
faster) answers the common case, "valid"; whenever it objects, or when the schema uses keywords
it does not know, jsonschema's full validator decides and describes the errors. The compiled
validator is never looser than jsonschema on this schema (it anchors ``$`` as ``\\Z``, the rest is
the same keyword semantics; a unit test compares both on the contract's tricky cases), so
whatever it accepts jsonschema accepts too.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from streams.ingest import urls
from streams.model import Article
from streams.resources import schema_json

SCHEMA_FILE = "article.schema.json"  # in the package streams.schemas (top-level schemas/)

KNOWN_FIELDS = frozenset(
    {
        "id", "url", "title", "body", "summary", "published_at", "source", "language",
        "authors", "tags", "title_translations",
    }
)

NUL = b"\x00"

# Stable reason slugs: they label metrics and select dead letters, so never rename them.
REASONS = (
    "empty", "oversize", "invalid_utf8", "nul_bytes", "invalid_json", "not_object", "schema",
    "surrogates", "control_chars", "too_deep", "non_finite", "id_too_long", "too_many",
)

#: Deepest nesting of arrays/objects accepted (the article itself is depth 1). Deeper input
#: passes ``json.loads`` but breaks later steps (``dataclasses.asdict``, serializers).
MAX_DEPTH = 64
#: Elasticsearch refuses an ``_id`` longer than 512 bytes, and fails the whole bulk request.
MAX_ID_BYTES = 512
#: Fields whose value must be one line: no control characters at all (free text may hold
#: tab, newline and CR).
ONE_LINE_FIELDS = frozenset({"id", "url", "language", "published_at"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ONE_LINE = re.compile("[\x01-\x1f\x7f]")
# Any character one of the three checks of _check_text would refuse (one search instead of three).
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SUSPECT_ONE_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class InvalidArticle(ValueError):
    """A message that breaks the contract: ``reason`` is a stable slug, ``message`` the detail."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@functools.cache
def schema() -> dict[str, Any]:
    """The article JSON Schema, read once."""
    loaded: dict[str, Any] = schema_json(SCHEMA_FILE)
    return loaded


@functools.cache
def validator() -> Draft202012Validator:
    """The compiled article schema (built once: compiling is the slow part)."""
    s = schema()
    Draft202012Validator.check_schema(s)
    return Draft202012Validator(s)


#: Keywords whose meaning changed after draft 7 (the compiled validator speaks draft 7).
_POST_DRAFT7 = frozenset({
    "$defs", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
    "prefixItems", "dependentRequired", "dependentSchemas", "unevaluatedItems",
    "unevaluatedProperties", "minContains", "maxContains", "$vocabulary",
})


def _draft7_compatible(node: Any) -> bool:
    if isinstance(node, list):
        return all(_draft7_compatible(v) for v in node)
    if not isinstance(node, dict):
        return True
    if _POST_DRAFT7 & node.keys() or isinstance(node.get("items"), list):
        return False
    return all(_draft7_compatible(v) for k, v in node.items()
               if k not in ("enum", "const", "examples", "default"))


@functools.cache
def _fast_validator() -> Callable[[Any], Any] | None:
    """The schema compiled to Python code, or None when it uses keywords draft 7 lacks."""
    s = copy.deepcopy(schema())
    if not _draft7_compatible(s):
        return None
    s["$schema"] = "http://json-schema.org/draft-07/schema#"
    validate: Callable[[Any], Any] = fastjsonschema.compile(s, use_default=False)
    return validate


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def _preview(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(error: ValidationError) -> str:
    custom = error.schema.get("x-error") if isinstance(error.schema, dict) else None
    if custom is None and error.parent is not None and isinstance(error.parent.schema, dict):
        custom = error.parent.schema.get("x-error")
    where = _pointer(error.absolute_path)
    if custom:
        if error.absolute_path:
            return f"{where}: {custom} (got {_preview(error.instance)})"
        return f"{where}: {custom}"
    msg = error.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"{where}: {msg}"


def _schema_error(obj: dict[str, Any]) -> str | None:
    fast = _fast_validator()
    if fast is not None:
        try:
            fast(obj)
            return None
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema decides (the compiled validator may be stricter) and explains
    errors = list(validator().iter_errors(obj))
    if not errors:
        return None
    # Field-level problems first (they say what to fix); the cross-field rules last.
    errors.sort(key=lambda e: (len(e.absolute_path) == 0, _pointer(e.absolute_path)))
    described = [_describe(e) for e in errors[:3]]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(described) + more


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode(raw: bytes, max_bytes: int) -> dict[str, Any]:
    """Bytes -> JSON object, or :class:`InvalidArticle` naming the first thing wrong."""
    if raw is None or len(raw) == 0 or not raw.strip():
        raise InvalidArticle("empty", "the message is empty")
    if len(raw) > max_bytes:
        raise InvalidArticle(
            "oversize", f"{len(raw)} bytes, more than the limit of {max_bytes} bytes"
        )
    if b"\x00" in raw:
        raise InvalidArticle("nul_bytes", f"NUL byte at offset {raw.index(NUL)}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = raw[e.start : e.start + 1]
        raise InvalidArticle(
            "invalid_utf8",
            f"byte 0x{bad.hex()} at offset {e.start} is not UTF-8"
            " (Latin-1 or Windows-125x text? re-encode it as UTF-8)",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise InvalidArticle(
            "invalid_json", f"{e.msg} (line {e.lineno}, column {e.colno}, char {e.pos})"
        ) from None
    except RecursionError:
        raise InvalidArticle(
            "too_deep", f"arrays/objects nested deeper than Python's parser allows (limit {MAX_DEPTH})"
        ) from None
    except ValueError as e:
        raise InvalidArticle("invalid_json", str(e) or type(e).__name__) from None
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(obj), "a number"
        )
        raise InvalidArticle("not_object", f"the message is {kind}, the contract wants an object")
    return obj


def parse_article(raw: bytes, max_bytes: int) -> Article:
    """Validate and normalize one raw message (the worker's and every producer's entry point)."""
    return validate_record(decode(raw, max_bytes))


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalize_published(value: str) -> tuple[str, bool]:
    """RFC 3339 (or naive) text -> (UTC ``YYYY-MM-DDTHH:MM:SS[.fff]Z``, assumed_utc)."""
    text = value.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        dt = datetime(d.year, d.month, d.day)
    else:
        text = text[:10] + "T" + text[11:]
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    assumed = dt.tzinfo is None
    dt = dt.replace(tzinfo=UTC) if assumed else dt.astimezone(UTC)
    spec = "milliseconds" if dt.microsecond else "seconds"
    return dt.replace(tzinfo=None).isoformat(timespec=spec) + "Z", assumed


def _check_text(text: str, where: str, one_line: bool) -> None:
    m = _SURROGATE.search(text)
    if m:
        raise InvalidArticle(
            "surrogates",
            f"{where}: lone surrogate U+{ord(m.group()):04X} at character {m.start()}"
            " (not a Unicode character; it cannot be encoded as UTF-8)",
        )
    nul = text.find("\x00")
    if nul >= 0:
        raise InvalidArticle("nul_bytes", f"{where} contains U+0000 at character {nul}")
    m = (_CONTROL_ONE_LINE if one_line else _CONTROL).search(text)
    if m:
        raise InvalidArticle(
            "control_chars",
            f"{where}: control character U+{ord(m.group()):04X} at character {m.start()}",
        )


def check_structure(obj: Any) -> None:
    """Refuse what JSON Schema cannot express (pure; iterative, so any depth is safe).

    Lone surrogates (``"\\ud800"`` is valid JSON but no UTF-8 can carry it), NUL and control
    characters, nesting deeper than :data:`MAX_DEPTH`, non-finite numbers (``1e999`` parses as
    infinity). Each has its own reason. Paths are spelled out only for an error, and a string
    is looked at closely only when one search finds any suspect character in it: the worker
    runs this on every message.
    """
    stack: list[tuple[Any, tuple[str, ...], int, bool]] = [(obj, (), 1, False)]
    while stack:
        value, path, depth, one_line = stack.pop()
        if isinstance(value, str):
            if (_SUSPECT_ONE_LINE if one_line else _SUSPECT).search(value):
                _check_text(value, _where(path) or "/", one_line)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidArticle(
                    "non_finite", f"{_where(path) or '/'}: {value} is not a finite number")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidArticle(
                    "too_deep", f"{_where(path)}: arrays/objects nested deeper than {MAX_DEPTH}"
                )
            if isinstance(value, dict):
                for k, v in value.items():
                    key = str(k)
                    if _SUSPECT_ONE_LINE.search(key):
                        _check_text(key, f"{_where(path) or '/'} (a key)", True)
                    stack.append((v, (*path, key), depth + 1,
                                  depth == 1 and key in ONE_LINE_FIELDS))
            else:
                for i, v in enumerate(value):
                    stack.append((v, (*path, str(i)), depth + 1, one_line))


def _where(path: tuple[str, ...]) -> str:
    """``("a", "b/c", "0")`` -> ``/a/b~1c/0`` (a JSON pointer; the root is the empty string)."""
    return "".join("/" + _pointer([part])[1:] for part in path)


def _check_counts(obj: dict[str, Any]) -> None:
    props = schema()["properties"]
    for name in ("authors", "tags", "title_translations"):
        value = obj.get(name)
        spec = props[name]
        limit = spec.get("maxItems", spec.get("maxProperties"))
        if isinstance(value, list | dict) and limit is not None and len(value) > limit:
            raise InvalidArticle("too_many", f"/{name}: {len(value)} entries, at most {limit}")


def normalize_id(value: Any) -> str | None:
    """The article id as text: an integer id (or an integral float) is its decimal string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _clean(value)


def _check_id(obj: dict[str, Any]) -> None:
    given = obj.get("id")
    if isinstance(given, str | int) and not isinstance(given, bool):
        text = normalize_id(given) or ""
        size = len(text.encode("utf-8"))
        if size > MAX_ID_BYTES:
            raise InvalidArticle(
                "id_too_long",
                f"/id: {size} bytes in UTF-8, more than Elasticsearch's _id limit of"
                f" {MAX_ID_BYTES}",
            )


def validate_record(obj: dict[str, Any]) -> Article:
    """An already-parsed record -> Article, or :class:`InvalidArticle` with its reason."""
    if not isinstance(obj, dict):
        raise InvalidArticle("not_object", f"expected an object, got {type(obj).__name__}")
    check_structure(obj)
    _check_counts(obj)
    _check_id(obj)
    problem = _schema_error(obj)
    if problem:
        raise InvalidArticle("schema", problem)

    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    published = None
    if _clean(obj.get("published_at")):
        try:
            published, assumed = normalize_published(obj["published_at"])
        except (ValueError, OverflowError) as e:
            raise InvalidArticle(
                "schema", f"/published_at: {obj['published_at']!r} is not a valid date-time ({e})"
            ) from None
        if assumed:
            extra["published_at_assumed_utc"] = True

    url = _clean(obj.get("url"))
    canonical = urls.canonicalize(url) if url else None
    art_id = normalize_id(obj.get("id"))
    if art_id is None:
        if canonical is None:  # the schema's anyOf makes this unreachable; keep the guard
            raise InvalidArticle("schema", "/: needs a `url` (absolute http/https) or an `id`")
        art_id = urls.article_id(canonical)

    language = _clean(obj.get("language"))
    translations = {
        k.strip().lower().replace("_", "-"): v.strip()
        for k, v in (obj.get("title_translations") or {}).items()
        if v.strip()
    }
    return Article(
        id=art_id,
        url=url,
        canonical_url=canonical,
        title=_clean(obj.get("title")),
        body=_clean(obj.get("body")),
        published_at=published,
        source=_clean(obj.get("source")),
        language_hint=language.lower().replace("_", "-") if language else None,
        authors=tuple(a.strip() for a in obj.get("authors") or () if a.strip()),
        summary=_clean(obj.get("summary")),
        tags=tuple(t.strip() for t in obj.get("tags") or () if t.strip()),
        title_translations=translations,
        extra=extra,
    )


def message_key(article: Article) -> bytes:
    """Kafka key of an input message: the canonical URL, or the id when there is no URL."""
    return (article.canonical_url or article.id).encode("utf-8", "surrogatepass")
