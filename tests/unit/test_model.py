"""The records of ``streams.model``: what their dictionaries carry."""

from __future__ import annotations

import dataclasses

import pytest

from streams.model import Entity, Language


def test_entity_and_language_dicts_hold_every_field() -> None:
    """The hand-written ``to_dict`` of these records must follow their fields."""
    ent = Entity("Ann Lee", "PERSON", 0, 7, "body", "Ann Lee", "en", "person:ann lee")
    assert ent.to_dict() == dataclasses.asdict(ent)
    assert Entity(**ent.to_dict()) == ent
    lang = Language("en", 0.9)
    assert lang.to_dict() == dataclasses.asdict(lang)


def test_internal_codec_round_trips_what_the_stages_send() -> None:
    import json

    from streams.model import UNDECODABLE, decode_internal, encode_internal

    value = {"article": {"title": "Россия и «Ёлка»", "n": [1, 2.5, None, True]}, "k": {"1": 2}}
    data = encode_internal(value)
    assert data == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    assert decode_internal(data) == value
    # beyond 64 bits: exact on the way back, not a float
    big = {"extra": {"id": 2**70 + 1}}
    assert decode_internal(encode_internal(big)) == big
    assert json.loads(encode_internal(big)) == big  # still plain JSON for any other reader
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate fails in the sender
        encode_internal({"t": "\ud800"})
    assert decode_internal(b'{"a":NaN}')["a"] != 0  # what the standard library accepts
    assert UNDECODABLE in decode_internal(b"\xff{")
    assert UNDECODABLE in decode_internal(None)
