"""The input contract: every poison message gets its reason, good ones are normalized."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ingest import contract
from streams.ingest.contract import InvalidArticle, parse_article, validate_record
from streams.ingest.urls import article_id

POISON_DIR = Path(__file__).resolve().parents[2] / "data" / "poison"
LIMIT = 2 * 1024 * 1024


def poison_set() -> list[tuple[str, bytes, str]]:
    """(name, raw bytes, expected reason) for the files and the generated poison messages."""
    manifest = json.loads((POISON_DIR / "expected.json").read_text())
    out = [(name, (POISON_DIR / name).read_bytes(), reason)
           for name, reason in manifest.items() if not name.startswith("_")]
    big = json.dumps({"url": "https://example.com/huge", "title": "Huge",
                      "body": "x" * (10 * 1024 * 1024)}).encode()
    out.append(("oversize_10mb_body", big, "oversize"))
    out.append(("deep_nesting", b'{"id": "d", "title": "t", "x": ' + b"[" * 100_000 + b"]" *
                100_000 + b"}", "too_deep"))
    assert {n for n, _, _ in out} >= set(manifest["_generated"])
    return out


@pytest.mark.parametrize(("name", "raw", "reason"), poison_set(), ids=lambda v: v
                         if isinstance(v, str) and len(v) < 40 else "")
def test_poison_gets_its_reason(name: str, raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidArticle) as info:
        parse_article(raw, LIMIT)
    assert info.value.reason == reason, info.value.message
    assert info.value.reason in contract.REASONS
    assert info.value.message.strip()


def test_messages_say_what_exactly() -> None:
    def why(raw: bytes) -> str:
        with pytest.raises(InvalidArticle) as info:
            parse_article(raw, LIMIT)
        return info.value.message

    assert "(line 1, column" in why(b'{"id": "1", "title": ')
    assert "0xe9 at offset" in why('{"id": "1", "title": "é"}'.encode("latin-1"))
    assert why(b'{"url": 5, "title": "t"}').startswith("/url: must be an absolute http")
    assert "/title" in why(b'{"id": "x", "title": 7}')
    assert "needs a `url`" in why(b'{"title": "t"}')
    assert "non-empty `title` or `body`" in why(b'{"id": "x", "title": " "}')
    assert "an array" in why(b"[]")
    assert "/authors/1" in why(b'{"id": "x", "title": "t", "authors": ["a", 2]}')
    assert "/published_at" in why(b'{"id": "x", "title": "t", "published_at": "yesterday"}')


def test_size_limit_is_configurable() -> None:
    raw = b'{"id": "s", "title": "size"}'
    assert parse_article(raw, len(raw)).id == "s"
    with pytest.raises(InvalidArticle) as info:
        parse_article(raw, len(raw) - 1)
    assert info.value.reason == "oversize"


def test_good_article_is_normalized() -> None:
    raw = json.dumps({
        "url": "https://www.Example.com/world/story?utm_source=rss&b=2&a=1#top",
        "title": "  Hello world ",
        "body": "Body text.",
        "published_at": "2024-05-01T12:30:00+03:00",
        "language": "EN_us",
        "authors": ["Ann", "  "],
        "tags": ["politics"],
        "title_translations": {"RU": "Привет, мир", "de": "  "},
        "summary": "",
        "source": "Example News",
        "custom_field": {"nested": [1, 2]},
    }, ensure_ascii=False).encode()
    a = parse_article(raw, LIMIT)
    assert a.canonical_url == "https://example.com/world/story?a=1&b=2"
    assert a.id == article_id(a.canonical_url)
    assert a.url.startswith("https://www.Example.com/")
    assert a.title == "Hello world"
    assert a.published_at == "2024-05-01T09:30:00Z"
    assert a.language_hint == "en-us"
    assert a.authors == ("Ann",)
    assert a.title_translations == {"ru": "Привет, мир"}
    assert a.summary is None
    assert a.extra == {"custom_field": {"nested": [1, 2]}}
    assert contract.message_key(a) == a.canonical_url.encode()


@pytest.mark.parametrize(("given", "expected", "assumed"), [
    ("2024-05-01T12:30:00Z", "2024-05-01T12:30:00Z", False),
    ("2024-05-01t12:30:00z", "2024-05-01T12:30:00Z", False),
    ("2024-05-01 12:30:00-05:00", "2024-05-01T17:30:00Z", False),
    ("2024-05-01T12:30:00.123456+00:00", "2024-05-01T12:30:00.123Z", False),
    ("2024-05-01T12:30", "2024-05-01T12:30:00Z", True),
    ("2024-05-01", "2024-05-01T00:00:00Z", True),
])
def test_published_at(given: str, expected: str, assumed: bool) -> None:
    a = validate_record({"id": "p", "title": "t", "published_at": given})
    assert a.published_at == expected
    assert a.extra.get("published_at_assumed_utc", False) is assumed


def test_given_id_wins_and_nulls_mean_absent() -> None:
    a = validate_record({"id": 123, "url": None, "title": None, "body": "b", "tags": None,
                         "language": None, "published_at": None})
    assert a.id == "123"
    assert a.url is None and a.canonical_url is None
    assert contract.message_key(a) == b"123"
    b = validate_record({"id": "mine", "url": "https://example.com/x", "title": "t"})
    assert b.id == "mine"
    assert contract.message_key(b) == b"https://example.com/x"


def test_unknown_fields_are_kept_and_roundtrip() -> None:
    a = validate_record({"id": "u", "title": "t", "x-score": 0.5, "meta": {"k": [None]}})
    assert a.extra == {"x-score": 0.5, "meta": {"k": [None]}}
    assert type(a).from_dict(json.loads(json.dumps(a.to_dict()))) == a


def test_escaped_nul_in_text_is_refused() -> None:
    with pytest.raises(InvalidArticle) as info:
        parse_article(b'{"id": "z", "title": "a\\u0000b"}', LIMIT)
    assert info.value.reason == "nul_bytes"


def test_utf8_bom_is_tolerated() -> None:
    assert parse_article(b'\xef\xbb\xbf{"id": "bom", "title": "t"}', LIMIT).id == "bom"


def test_the_code_validates_with_the_schema_file() -> None:
    top_level = Path(__file__).resolve().parents[3] / "schemas" / contract.SCHEMA_FILE
    on_disk = json.loads(top_level.read_text())
    assert contract.schema() == on_disk
    assert on_disk["$schema"].endswith("/draft/2020-12/schema")
    assert contract.validator() is contract.validator()  # compiled once
    assert set(on_disk["properties"]) == contract.KNOWN_FIELDS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_invalid_article(raw: bytes) -> None:
    try:
        parse_article(raw, 1000)
    except InvalidArticle as e:
        assert e.reason in contract.REASONS


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10,
)
_fields = st.fixed_dictionaries({}, optional={
    k: _json | st.text(max_size=30) for k in sorted(contract.KNOWN_FIELDS)
})


@settings(max_examples=400, deadline=None)
@given(_fields)
def test_arbitrary_records_are_accepted_or_refused_with_a_reason(obj: dict) -> None:
    try:
        a = validate_record(obj)
    except InvalidArticle as e:
        assert e.reason in contract.REASONS
        return
    assert a.id
    assert (a.title or "").strip() or (a.body or "").strip()


def test_hostile_but_valid_input_passes_normalized() -> None:
    """Integer ids are their decimal string; free text keeps tab/newline/CR; Cyrillic is fine."""
    art = validate_record({"id": 12345678901234567890, "title": "Line one\nline\ttwo\r"})
    assert art.id == "12345678901234567890"
    assert validate_record({"id": 7.0, "title": "t"}).id == "7"
    body = "Москва " * 110_000  # 1.4 MB of UTF-8
    raw = json.dumps({"url": "https://ru.example/big", "title": "Большая статья", "body": body},
                     ensure_ascii=False).encode()
    assert parse_article(raw, LIMIT).body == body.strip()
    at_limit = "ж" * 256  # 512 bytes: exactly Elasticsearch's _id limit
    assert validate_record({"id": at_limit, "title": "t"}).id == at_limit


@pytest.mark.parametrize(("record", "reason"), [
    ({"id": "x", "title": "t", "extra": {"k\ud800": 1}}, "surrogates"),
    ({"id": "x", "title": "t", "tags": ["a\x1bb"]}, "control_chars"),
    ({"id": "x", "title": "t", "deep": [[[[1]]]]}, None),
    ({"id": "x", "title": "t", "v": float("nan")}, "non_finite"),
    ({"id": "x", "title": "t", "tags": ["t"] * 501}, "too_many"),
    ({"id": "x" * 513, "title": "t"}, "id_too_long"),
    ({"url": "https://e.example/\ttab", "title": "t"}, "control_chars"),
])
def test_structural_rules_each_have_their_reason(record: dict, reason: str | None) -> None:
    if reason is None:
        validate_record(record)
        return
    with pytest.raises(InvalidArticle) as info:
        validate_record(record)
    assert info.value.reason == reason, info.value.message


def test_nesting_limit_is_exact() -> None:
    def nested(depth: int) -> dict:
        value: object = 1
        for _ in range(depth - 1):  # the article object itself is depth 1
            value = [value]
        return {"id": "x", "title": "t", "x": value}
    validate_record(nested(contract.MAX_DEPTH))
    with pytest.raises(InvalidArticle) as info:
        validate_record(nested(contract.MAX_DEPTH + 1))
    assert info.value.reason == "too_deep"


# --- the compiled fast path never accepts what jsonschema refuses -------------------------------

_TRICKY: list[Any] = [
    {"url": "https://a.example/x", "title": "t"},
    {"url": " https://a.example/x", "title": "t"},
    {"url": "https://a.example/x\n", "title": "t"},
    {"url": "ftp://a.example/x", "title": "t"},
    {"url": "https://", "title": "t"},
    {"id": 1, "title": "t"}, {"id": 1.0, "title": "t"}, {"id": 1.5, "title": "t"},
    {"id": True, "title": "t"}, {"id": "", "title": "t"}, {"id": " ", "title": "t"},
    {"id": "x" * 513, "title": "t"}, {"id": None, "url": None, "title": "t"},
    {"id": "a", "title": " \n"}, {"id": "a", "body": "b"}, {"id": "a", "title": None},
    {"id": "a", "title": "t", "published_at": "2024-05-01T12:00:00Z"},
    {"id": "a", "title": "t", "published_at": "2024-05-01"},
    {"id": "a", "title": "t", "published_at": "2024-05-01\n"},
    {"id": "a", "title": "t", "published_at": "2024-05-01T12:00"},
    {"id": "a", "title": "t", "published_at": "1 May 2024"},
    {"id": "a", "title": "t", "language": "pt-BR"}, {"id": "a", "title": "t", "language": "en\n"},
    {"id": "a", "title": "t", "language": "English"},
    {"id": "a", "title": "t", "authors": ["x"] * 100}, {"id": "a", "title": "t", "authors": [1]},
    {"id": "a", "title": "t", "tags": "x"}, {"id": "a", "title": "t", "tags": None},
    {"id": "a", "title": "t", "title_translations": {"ru": "т"}},
    {"id": "a", "title": "t", "title_translations": {"Russian": "т"}},
    {"id": "a", "title": "t", "title_translations": {"ru": 1}},
    {"id": "a", "title": "x" * 10001}, {"id": "a", "title": "t", "source": "s" * 1001},
    {"id": "a", "title": "t", "extra": {"nested": [1, 2.5, None]}},
    {"title": "t"}, {}, [], "x", 1, None,
]

_values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["https://a.example/p", "en", "\n",
                                                           "2024-05-01T12:00:00Z", " "]),
                    st.lists(st.text(max_size=4), max_size=3),
                    st.dictionaries(st.sampled_from(["en", "ru", "xx-YY", "Latin"]),
                                    st.text(max_size=4), max_size=2))
_records = st.dictionaries(st.sampled_from([*sorted(contract.KNOWN_FIELDS), "other"]), _values,
                           max_size=6)


def _verdicts(obj: Any) -> tuple[bool, bool]:
    fast = contract._fast_validator()
    assert fast is not None, "the contract's schema should compile to the fast validator"
    try:
        fast(obj)
        fast_ok = True
    except fastjsonschema.JsonSchemaException:
        fast_ok = False
    return fast_ok, not list(contract.validator().iter_errors(obj))


@pytest.mark.parametrize("obj", _TRICKY)
def test_fast_validator_never_looser_than_jsonschema(obj: Any) -> None:
    fast_ok, full_ok = _verdicts(obj)
    assert fast_ok <= full_ok, f"compiled validator accepted what jsonschema refuses: {obj!r}"


@settings(max_examples=300, deadline=None)
@given(_records)
def test_fast_validator_never_looser_on_generated_records(obj: dict[str, Any]) -> None:
    fast_ok, full_ok = _verdicts(obj)
    assert fast_ok <= full_ok


def test_fast_validator_agrees_on_plain_records() -> None:
    """Stricter only where ``$`` meets a trailing newline: elsewhere the verdicts are equal."""
    for obj in _TRICKY:
        if "\\n" not in json.dumps(obj):
            assert _verdicts(obj)[0] == _verdicts(obj)[1], obj


def test_post_draft7_keywords_disable_the_fast_path() -> None:
    assert contract._draft7_compatible(contract.schema())
    assert not contract._draft7_compatible({"properties": {"a": {"prefixItems": []}}})
    assert not contract._draft7_compatible({"items": [{"type": "string"}]})
