"""The dead-letter topic: one envelope shape for every stage, ``newsstream dlq list|replay``.

Why one envelope: a message can fail in any stage (contract, dedup, NER, indexing); keeping
the original bytes, the stage, the reason, the topic the stage read it from and the source
position in the same JSON shape lets one ``replay`` put each of them back where it failed once
the cause is fixed: a validate letter onto ``articles``, a dedup letter onto the topic the dedup
agent read (``articles.valid`` or the internal decide topic), an enrich letter onto
``articles.unique``, an index letter onto ``articles.enriched``. Replaying a later stage's
internal JSON onto ``articles`` would only fail the contract and be dead-lettered again.

Envelope (JSON, UTF-8), keyed ``<stage>/<reason>``::

    {"v": 1, "stage": "validate", "reason": "invalid_json", "error": "...",
     "topic": "articles", "partition": 0, "offset": 42, "timestamp": "2026-...Z",
     "input_topic": "articles",
     "original_b64": "...", "original_size": 123, "original_sha256": "...",
     "original_truncated": false, "preview": "first characters, for people"}

``topic/partition/offset`` is where the article entered the pipeline (later stages carry it
along); ``input_topic`` is the topic the failing stage consumed, the one replay sends to.
Envelopes encode anything: the original is base64 of its exact bytes, and any text field
holding a lone surrogate (an exception message, say) is written as a JSON ``\\udXXX`` escape.

Originals larger than the article limit keep only their head (plus size and SHA-256): such a
message can never pass the contract as it is, and a whole 10 MB original (13 MB in base64)
would exceed what the DLQ producer may send. Replay refuses truncated originals.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from streams import settings
from streams.clock import rfc3339

log = logging.getLogger(__name__)

ENVELOPE_VERSION = 1
PREVIEW_CHARS = 500
REPLAY_HEADER = "newsstream-replayed-from"


def make_envelope(
    raw: bytes | None,
    stage: str,
    reason: str,
    error: str,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    *,
    key: bytes | None = None,
    max_original: int | None = None,
    timestamp: str | None = None,
    input_topic: str | None = None,
) -> dict[str, Any]:
    """The dead-letter envelope of one message (pure; ``max_original`` defaults to the limit)."""
    if max_original is None:
        max_original = settings.load().max_message_bytes
    data = raw if raw is not None else b""
    if isinstance(data, str):  # a stage may hold decoded text; keep what we were given
        data = data.encode("utf-8", "surrogatepass")
    kept = data[:max_original]
    env: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "stage": stage,
        "reason": reason,
        "error": error,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": timestamp or rfc3339(),
        "input_topic": input_topic if input_topic is not None else topic,
        "original_b64": base64.b64encode(kept).decode("ascii") if raw is not None else None,
        "original_size": len(data),
        "original_sha256": hashlib.sha256(data).hexdigest(),
        "original_truncated": len(kept) < len(data),
        "preview": kept[: PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS],
    }
    if key is not None:
        env["key_b64"] = base64.b64encode(key).decode("ascii")
    return env


def envelope_key(envelope: dict[str, Any]) -> bytes:
    """``<stage>/<reason>``: lets tools and compaction-free consumers select by reason."""
    return f"{envelope.get('stage')}/{envelope.get('reason')}".encode()


def encode_envelope(envelope: dict[str, Any]) -> bytes:
    """UTF-8 JSON that never fails to encode.

    Every string in JSON text sits inside quotes, so ``backslashreplace`` turns a lone surrogate
    into the escape ``\\ud800``: valid JSON that decodes back to the same string.
    """
    text = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), default=repr)
    return text.encode("utf-8", "backslashreplace")


envelope_bytes = encode_envelope


def decode_envelope(value: bytes | None) -> dict[str, Any]:
    """Parse an envelope; something else on the topic becomes an ``unreadable`` pseudo-envelope."""
    try:
        env = json.loads(value or b"")
        if isinstance(env, dict) and "reason" in env:
            return env
    except (ValueError, UnicodeDecodeError):
        pass
    return {"stage": "?", "reason": "unreadable", "error": "not a dead-letter envelope",
            "preview": (value or b"")[:200].decode("utf-8", "replace")}


def original_bytes(envelope: dict[str, Any]) -> bytes | None:
    """The original message bytes, or None when absent or truncated (cannot be replayed)."""
    b64 = envelope.get("original_b64")
    if b64 is None or envelope.get("original_truncated"):
        return None
    return base64.b64decode(b64)


@dataclass(frozen=True)
class DeadLetter:
    """One envelope with its position in the DLQ topic (``id`` = ``partition:offset``)."""

    partition: int
    offset: int
    kafka_ts: int
    envelope: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        return str(self.envelope.get("reason"))

    @property
    def stage(self) -> str:
        return str(self.envelope.get("stage"))

    def sort_key(self) -> tuple[str, int, int, int]:
        return (str(self.envelope.get("timestamp") or ""), self.kafka_ts, self.partition,
                self.offset)


def read_dead_letters(
    s: settings.Settings,
    reason: str | None = None,
    limit: int | None = None,
    timeout: float = 60.0,
) -> tuple[list[DeadLetter], int]:
    """Everything selected in the DLQ topic, newest first; also the topic's message count."""
    from kafka import TopicPartition

    from streams import kafka_io

    consumer = kafka_io.consumer(s)
    try:
        parts = consumer.partitions_for_topic(s.topic_dlq) or set()
        tps = [TopicPartition(s.topic_dlq, p) for p in sorted(parts)]
        if not tps:
            return [], 0
        consumer.assign(tps)
        begin = consumer.beginning_offsets(tps)
        end = consumer.end_offsets(tps)
        total = sum(end[tp] - begin[tp] for tp in tps)
        for tp in tps:
            start = begin[tp]
            if reason is None and limit is not None:  # newest N per partition is enough
                start = max(begin[tp], end[tp] - limit)
            consumer.seek(tp, start)
        pending = {tp for tp in tps if consumer.position(tp) < end[tp]}
        found: list[DeadLetter] = []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500, max_records=1000)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= end[tp]:
                        continue
                    env = decode_envelope(rec.value)
                    if reason is None or env.get("reason") == reason:
                        found.append(DeadLetter(tp.partition, rec.offset, rec.timestamp, env))
            pending = {tp for tp in pending if consumer.position(tp) < end[tp]}
        if pending:
            log.warning("timed out reading the dead-letter topic", extra={"topic": s.topic_dlq})
    finally:
        consumer.close()
    found.sort(key=DeadLetter.sort_key, reverse=True)
    return (found[:limit] if limit is not None else found), total
