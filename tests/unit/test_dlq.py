"""The dead-letter envelope and the replay selection (pure parts; Kafka in integration)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from streams import dlq
from streams.cli import dlq as dlq_cli
from streams.ingest import contract
from tests.unit.ingest.test_contract import LIMIT, poison_set


@pytest.mark.parametrize(("name", "raw", "reason"), poison_set(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_every_poison_message_makes_a_replayable_envelope(name: str, raw: bytes,
                                                          reason: str) -> None:
    with pytest.raises(contract.InvalidArticle) as info:
        contract.parse_article(raw, LIMIT)
    env = dlq.make_envelope(raw, "validate", info.value.reason, info.value.message,
                            "articles", 3, 1234, max_original=LIMIT)
    encoded = dlq.encode_envelope(env)
    back = dlq.decode_envelope(encoded)
    assert back == env
    assert back["reason"] == reason
    assert (back["topic"], back["partition"], back["offset"]) == ("articles", 3, 1234)
    assert back["timestamp"].endswith("Z")
    assert back["original_size"] == len(raw)
    assert back["original_sha256"] == hashlib.sha256(raw).hexdigest()
    assert dlq.envelope_key(back) == f"validate/{reason}".encode()
    if len(raw) <= LIMIT:
        assert dlq.original_bytes(back) == raw  # byte for byte, NULs and Latin-1 included
    else:
        assert back["original_truncated"] is True
        assert dlq.original_bytes(back) is None
        assert base64.b64decode(back["original_b64"]) == raw[:LIMIT]
        assert len(encoded) < 2 * LIMIT  # fits what the DLQ producer may send


def test_preview_is_readable_text() -> None:
    env = dlq.make_envelope("caf\u00e9 \x00".encode("latin-1"), "validate", "invalid_utf8",
                            "x", max_original=100)
    assert env["preview"] == "caf\ufffd \x00"
    json.dumps(env)  # JSON-safe


def test_none_raw_and_default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_MAX_MESSAGE_BYTES", "4")
    env = dlq.make_envelope(None, "index", "internal_error", "boom")
    assert env["original_b64"] is None and env["original_size"] == 0
    assert dlq.original_bytes(env) is None
    env = dlq.make_envelope(b"123456", "index", "x", "y")
    assert env["original_truncated"] and base64.b64decode(env["original_b64"]) == b"1234"


def test_something_else_on_the_topic_is_shown_not_crashed_on() -> None:
    env = dlq.decode_envelope(b"\xff\xfe garbage")
    assert env["reason"] == "unreadable"
    assert dlq.decode_envelope(None)["reason"] == "unreadable"


def _letters() -> list[dlq.DeadLetter]:
    out = []
    for p, o, r, ts in [(0, 5, "schema", "2026-01-01T00:00:01.000Z"),
                        (1, 5, "invalid_json", "2026-01-01T00:00:03.000Z"),
                        (1, 6, "schema", "2026-01-01T00:00:02.000Z")]:
        env = dlq.make_envelope(b"{}", "validate", r, "e", timestamp=ts, max_original=10)
        out.append(dlq.DeadLetter(p, o, 0, env))
    return out


def test_newest_first_and_selection_by_id() -> None:
    letters = sorted(_letters(), key=dlq.DeadLetter.sort_key, reverse=True)
    assert [d.id for d in letters] == ["1:5", "1:6", "0:5"]
    chosen, errors = dlq_cli.select_for_replay(letters, dlq_cli.parse_ids(["1:6", "0:5"]))
    assert [d.id for d in chosen] == ["1:6", "0:5"] and not errors
    chosen, errors = dlq_cli.select_for_replay(letters, dlq_cli.parse_ids(["5"]))
    assert not chosen and "ambiguous" in errors[0]
    chosen, errors = dlq_cli.select_for_replay(letters, dlq_cli.parse_ids(["6,9:9"]))
    assert [d.id for d in chosen] == ["1:6"] and "no such" in errors[0]
    chosen, errors = dlq_cli.select_for_replay(letters, [])
    assert len(chosen) == 3


def test_replay_key_prefers_the_original_key_then_the_canonical_url() -> None:
    raw = b'{"url": "https://www.example.com/a?utm_source=x", "title": "t"}'
    env = dlq.make_envelope(raw, "validate", "schema", "e", max_original=100)
    assert dlq_cli.replay_key(raw, env, LIMIT) == b"https://example.com/a"
    env = dlq.make_envelope(raw, "validate", "schema", "e", key=b"k", max_original=100)
    assert dlq_cli.replay_key(raw, env, LIMIT) == b"k"
    assert dlq_cli.replay_key(b"{", env | {"key_b64": None}, LIMIT) is None


def test_format_row_shows_id_reason_source_and_error() -> None:
    d = _letters()[1]
    d.envelope.update(topic="articles", partition=2, offset=77, error="Expecting value")
    row = dlq_cli.format_row(d)
    assert row.split()[0] == "1:5"
    for part in ("invalid_json", "articles/2@77", "Expecting value", "| {}"):
        assert part in row


def test_envelopes_encode_lone_surrogates_and_keep_the_original_bytes() -> None:
    raw = '{"id": "a\ud800"}'.encode("utf-8", "surrogatepass")  # not valid UTF-8 itself
    env = dlq.make_envelope(raw, "enrich", "nlp_error", "TypeError: bad \udc80 char",
                            topic="t", input_topic="t.unique", key="k\ud800".encode(
                                "utf-8", "surrogatepass"))
    env["extra"] = "lang \udcff"
    encoded = dlq.encode_envelope(env)
    encoded.decode("utf-8")  # strict UTF-8 on the wire
    back = dlq.decode_envelope(encoded)
    assert back["error"] == "TypeError: bad \udc80 char"
    assert back["extra"] == "lang \udcff"
    assert dlq.original_bytes(back) == raw
    assert back["input_topic"] == "t.unique"


def test_replay_goes_to_the_input_topic_of_the_letter(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams import settings as settings_mod

    monkeypatch.setenv("NEWSSTREAM_TOPIC_ARTICLES", "in")
    monkeypatch.setenv("NEWSSTREAM_TOPIC_PREFIX", "in")
    s = settings_mod.load()

    def env(stage: str, input_topic: str | None, topic: str = "in") -> dict:
        e = dlq.make_envelope(b"{}", stage, "r", "e", topic=topic, input_topic=input_topic)
        if input_topic is None:
            del e["input_topic"]  # as written before the field existed
        return e

    assert dlq_cli.replay_target(env("validate", "in"), s) == ("in", "")
    assert dlq_cli.replay_target(env("dedup", "in.valid"), s) == ("in.valid", "")
    assert dlq_cli.replay_target(env("dedup", "in.dedup"), s) == ("in.dedup", "")
    assert dlq_cli.replay_target(env("enrich", "in.unique"), s) == ("in.unique", "")
    assert dlq_cli.replay_target(env("index", "in.enriched"), s) == ("in.enriched", "")
    assert dlq_cli.replay_target(env("validate", None), s) == ("in", "")
    target, why = dlq_cli.replay_target(env("enrich", None), s)
    assert target is None and "--topic" in why
    target, why = dlq_cli.replay_target(env("index", "elsewhere"), s)
    assert target is None and "not one of this pipeline's topics" in why
