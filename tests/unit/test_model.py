"""The records of ``streams.model``: what their dictionaries carry."""

from __future__ import annotations

import dataclasses

from streams.model import Entity, Language


def test_entity_and_language_dicts_hold_every_field() -> None:
    """The hand-written ``to_dict`` of these records must follow their fields."""
    ent = Entity("Ann Lee", "PERSON", 0, 7, "body", "Ann Lee", "en", "person:ann lee")
    assert ent.to_dict() == dataclasses.asdict(ent)
    assert Entity(**ent.to_dict()) == ent
    lang = Language("en", 0.9)
    assert lang.to_dict() == dataclasses.asdict(lang)
