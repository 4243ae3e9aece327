"""The typed dedup record: compact on the wire, and every record ever written still reads."""

from __future__ import annotations

import json

from streams import dedup
from streams.dedup.store import DocRecord
from streams.model import Article

# a docs-table value as the decision wrote it before the typed record (every key spelled out)
OLD = {
    "id": "a1", "h": "0" * 32, "m": "body", "g": "AAEC", "fs": 100.0, "ls": 200.0, "st": "a1",
    "of": None, "sim": None, "me": "ident", "c": [], "cs": [],
}


def test_an_old_record_reads_with_readable_names() -> None:
    rec = DocRecord.from_dict(OLD)
    assert rec.id == "a1" and rec.content_hash == "0" * 32 and rec.mode == "body"
    assert rec.signature == b"\x00\x01\x02"
    assert (rec.first_seen, rec.last_seen, rec.story_id, rec.identity) == (100.0, 200.0, "a1", "ident")
    assert rec.duplicate_of is None and rec.similarity is None
    assert rec.copies == () and rec.copy_sources == ()


def test_the_written_form_omits_empty_fields_and_round_trips() -> None:
    rec = DocRecord.from_dict(OLD)
    d = rec.to_dict()
    assert set(d) == {"id", "h", "m", "g", "fs", "ls", "st", "me"}
    assert len(json.dumps(d)) < len(json.dumps(OLD))
    assert DocRecord.from_dict(d) == rec
    near = DocRecord.from_dict({**OLD, "of": "a0", "sim": 0.81, "c": ["x", "y"], "cs": ["AP", "BBC"]})
    assert DocRecord.from_dict(json.loads(json.dumps(near.to_dict()))) == near
    assert near.to_dict()["c"] == ["x", "y"] and near.to_dict()["of"] == "a0"


def test_the_decision_continues_from_old_records() -> None:
    """A state written by the old code (full dicts) keeps deciding: replay and exact copy."""
    article = Article(id="a1", title="Floods close the river port", body=" ".join(["word"] * 40),
                      source="AP", url="https://example.org/a1", canonical_url=None)
    dd = dedup.Deduplicator()
    first = dd.decide(article, now=1000.0)
    h = dedup.handle("a1")
    spelled_out = {**dd.state.docs[h], "of": None, "sim": None, "c": [], "cs": []}
    dd.state.docs[h] = spelled_out
    assert dd.decide(article, now=1001.0).info.kind == "replay"
    copy = Article(id="a2", title=article.title, body=article.body, source="BBC",
                   url="https://example.org/a2", canonical_url=None)
    d = dd.decide(copy, now=1002.0)
    assert d.info.kind == "exact" and d.counts is not None
    assert d.counts.duplicate_count == 1 and d.counts.duplicate_sources == ("BBC",)
    assert first.info.first_seen == d.info.first_seen == "1970-01-01T00:16:40.000Z"
