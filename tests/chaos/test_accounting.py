"""The matrix's bookkeeping, without services: a loss or a double copy can never go unseen."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.chaos import corpus, matrix
from tests.chaos.harness import Sent, account

TOPIC = "t.articles"


def _env(raw: bytes, stage: str = "validate", reason: str = "schema", topic: str = TOPIC,
         partition: int = 0, offset: int = 0) -> dict[str, object]:
    return {"stage": stage, "reason": reason, "topic": topic, "partition": partition,
            "offset": offset, "original_b64": base64.b64encode(raw).decode()}


def _sent() -> list[Sent]:
    return [Sent("good", "chaosmk-r-1", 0, 0), Sent("good", "chaosmk-r-2", 0, 1),
            Sent("schema", "chaosmk-r-3", 1, 0), Sent("poison:empty.json", None, 1, 1)]


def test_every_message_indexed_or_dead_lettered_is_accounted_for() -> None:
    docs = {"chaosmk-r-1": {("a-000001", "id1")}, "chaosmk-r-2": {("a-000001", "id2")}}
    envs = [_env(b'{"chaos_marker": "chaosmk-r-3", "title": 1}', partition=1, offset=0),
            _env(b"", partition=1, offset=1, reason="empty")]
    t = account(_sent(), envs, docs, TOPIC)
    assert (t.sent, t.unique, t.indexed, t.dead, t.lost, t.doubled) == (4, 4, 2, 2, 0, 0)
    assert t.accounted


def test_a_missing_message_is_lost() -> None:
    docs = {"chaosmk-r-1": {("a-000001", "id1")}}
    envs = [_env(b"", partition=1, offset=1, reason="empty")]
    t = account(_sent(), envs, docs, TOPIC)
    assert t.lost == 2 and not t.accounted
    assert t.lost_kinds == {"good": 1, "schema": 1}


def test_an_envelope_of_another_topic_position_does_not_count() -> None:
    envs = [_env(b"", topic="t.articles.valid", partition=1, offset=1)]
    t = account(_sent(), envs, {}, TOPIC)
    assert t.dead == 0 and t.lost == 4


def test_two_documents_of_one_message_are_doubled() -> None:
    docs = {"chaosmk-r-1": {("a-000001", "id1"), ("a-000002", "id1")},
            "chaosmk-r-2": {("a-000001", "id2"), ("a-000001", "other")}}
    t = account(_sent()[:2], [], docs, TOPIC)
    assert t.doubled == 2 and t.lost == 0


def test_a_replayed_message_is_one_message() -> None:
    sent = [Sent("good", "chaosmk-r-1", 0, 0), Sent("good", "chaosmk-r-1", 0, 5)]
    t = account(sent, [], {"chaosmk-r-1": {("a-000001", "id1")}}, TOPIC)
    assert (t.sent, t.unique, t.indexed, t.doubled) == (2, 1, 1, 0)


def test_a_good_article_dead_lettered_later_is_reported() -> None:
    raw = json.dumps({"article": {"extra": {"chaos_marker": "chaosmk-r-2"}}}).encode()
    envs = [_env(raw, stage="enrich", reason="nlp_error", topic="t.articles.unique")]
    t = account(_sent()[:2], envs, {"chaosmk-r-1": {("a-000001", "id1")}}, TOPIC)
    assert t.lost == 0 and t.good_dead == {"enrich/nlp_error": 1}


def test_an_exact_copy_is_accounted_for_only_by_its_originals_count() -> None:
    sent = [Sent("rare", "chaosmk-r-1", 0, 0), Sent("rare", "chaosmk-r-2", 0, 1, "chaosmk-r-1")]
    docs = {"chaosmk-r-1": {("a-000001", "id1")}}
    counted = account(sent, [], docs, TOPIC, counted={"chaosmk-r-1": 1})
    assert (counted.indexed, counted.lost) == (2, 0)
    uncounted = account(sent, [], docs, TOPIC, counted={"chaosmk-r-1": 0})
    assert uncounted.lost_ids == ["chaosmk-r-2"]
    # the original dead-lettered: its copy is accounted for only by its own dead letter
    envs = [_env(b'{"chaos_marker": "chaosmk-r-1"}', stage="index", reason="es_rejected"),
            _env(b'{"copy": {"url": "https://x/chaosmk-r-2"}}', stage="index",
                 reason="original_not_indexed")]
    t = account(sent, envs, {}, TOPIC)
    assert (t.dead, t.lost) == (2, 0)
    assert account(sent, envs[:1], {}, TOPIC).lost_ids == ["chaosmk-r-2"]


def test_the_rare_articles_after_the_first_are_its_exact_copies() -> None:
    rare = [m for m in corpus.hostile_messages("r", 30, rare_every=10) if m.kind in corpus.RARE]
    assert len(rare) == 3 and rare[0].copy_of is None
    assert [m.copy_of for m in rare[1:]] == [rare[0].marker] * 2


def test_every_hostile_message_carries_a_marker_or_is_a_poison_file() -> None:
    for m in corpus.hostile_messages("r", 200, rare_every=0):
        assert m.marker is not None or m.kind.startswith("poison:")
        if m.marker:
            assert m.marker.encode() in m.value


def test_the_table_goes_between_the_markers_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = tmp_path / "reliability.md"
    matrix.write_doc("first", doc)
    doc.write_text("# Intro\n\n" + doc.read_text() + "\n## After\n\ntext\n")
    matrix.write_doc("| table |", doc)
    text = doc.read_text()
    assert text.startswith("# Intro") and text.endswith("## After\n\ntext\n")
    assert f"{matrix.BEGIN}\n| table |\n{matrix.END}" in text and "first" not in text
