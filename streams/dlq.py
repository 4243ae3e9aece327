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

import argparse
import base64
import hashlib
import json
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams import settings, terminal
from streams.ingest import contract

log = logging.getLogger(__name__)

ENVELOPE_VERSION = 1
PREVIEW_CHARS = 500
REPLAY_HEADER = "newsstream-replayed-from"


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        "timestamp": timestamp or _now_rfc3339(),
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


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def format_row(dl: DeadLetter, width: int = 160) -> str:
    e = dl.envelope
    source = f"{e.get('topic')}/{e.get('partition')}@{e.get('offset')}" if e.get("topic") else "-"
    preview = " ".join(str(e.get("preview") or "").split())[:60]
    error = " ".join(str(e.get("error") or "").split())
    line = (
        f"{dl.id:>8}  {e.get('timestamp') or '-'!s:24}  {e.get('stage')!s:9}  "
        f"{dl.reason:13}  {source:24}  {_size(e.get('original_size')):>7}  {error}"
    )
    if e.get("original_truncated"):
        line += "  [original truncated]"
    if preview:
        line += f"  | {preview}"
    line = terminal.safe(line).replace("\n", " ").replace("\t", " ")
    return line if len(line) <= width else line[: width - 3] + "..."


def cmd_list(args: argparse.Namespace) -> int:
    s = settings.load()
    letters, total = read_dead_letters(s, reason=args.reason, limit=args.limit)
    if args.json:
        for dl in letters:
            print(terminal.json_safe(json.dumps({"dlq_partition": dl.partition,
                                                 "dlq_offset": dl.offset, **dl.envelope},
                                                ensure_ascii=False)))
        return 0
    if letters:
        print(f"{'ID':>8}  {'TIME (UTC)':24}  {'STAGE':9}  {'REASON':13}  {'SOURCE':24}  "
              f"{'SIZE':>7}  ERROR | PREVIEW")
        for dl in letters:
            print(format_row(dl, width=args.width))
    by_reason = Counter(dl.reason for dl in letters)
    summary = ", ".join(f"{r} {n}" for r, n in by_reason.most_common())
    print(f"{len(letters)} shown of {total} in {s.topic_dlq}" + (f" ({summary})" if summary
                                                               else ""), file=sys.stderr)
    return 0


def _parse_ids(values: list[str]) -> list[tuple[int | None, int]]:
    out: list[tuple[int | None, int]] = []
    for v in values:
        for item in v.split(","):
            item = item.strip()
            if not item:
                continue
            part, sep, off = item.partition(":")
            out.append((int(part), int(off)) if sep else (None, int(part)))
    return out


def select_for_replay(
    letters: list[DeadLetter], ids: list[tuple[int | None, int]]
) -> tuple[list[DeadLetter], list[str]]:
    """The dead letters named by ``P:O`` / ``O`` ids (all when ids is empty), plus errors."""
    if not ids:
        return letters, []
    chosen: list[DeadLetter] = []
    errors: list[str] = []
    for part, off in ids:
        hits = [d for d in letters if d.offset == off and (part is None or d.partition == part)]
        label = f"{part}:{off}" if part is not None else str(off)
        if not hits:
            errors.append(f"{label}: no such dead letter (with the filters given)")
        elif len(hits) > 1:
            errors.append(f"{label}: ambiguous, in partitions "
                          f"{', '.join(str(h.partition) for h in hits)}: write P:O")
        else:
            chosen.append(hits[0])
    return chosen, errors


def replay_key(raw: bytes, envelope: dict[str, Any], max_bytes: int) -> bytes | None:
    """The key the original would have had: its own, else the canonical URL if it now parses."""
    if envelope.get("key_b64"):
        return base64.b64decode(envelope["key_b64"])
    try:
        return contract.message_key(contract.parse_article(raw, max_bytes))
    except contract.InvalidArticle:
        return None


def stage_inputs(s: settings.Settings) -> dict[str, str]:
    """The topic each stage reads: where a letter of that stage goes back to."""
    return {
        "validate": s.topic_articles,
        "dedup": s.topic("valid"),
        "enrich": s.topic("unique"),
        "index": s.topic("enriched"),
    }


def replay_target(envelope: dict[str, Any], s: settings.Settings) -> tuple[str | None, str]:
    """(topic to send the original to, or None with why it cannot be replayed) (pure).

    The envelope's ``input_topic`` when it is one of this pipeline's topics; else, for
    envelopes written before that field existed, the stage's input topic, except for a later
    stage whose ``topic`` is the input topic (old envelopes said where the article entered):
    those bytes are internal JSON that belong to a topic the envelope does not name.
    """
    stage = str(envelope.get("stage"))
    inputs = stage_inputs(s)
    known = {*inputs.values(), s.topic("dedup")}
    given = envelope.get("input_topic")
    if given:
        if given in known:
            return str(given), ""
        return None, f"input topic {given!r} is not one of this pipeline's topics"
    if stage not in inputs:
        return None, f"unknown stage {stage!r}: no topic to replay it to"
    if stage != "validate":
        return None, (f"a {stage} letter without input_topic (an older envelope): "
                      f"send it with --topic (the {stage} stage reads {inputs[stage]})")
    return inputs[stage], ""


def cmd_replay(args: argparse.Namespace) -> int:
    s = settings.load()
    if not (args.all or args.reason or args.offset):
        print("dlq replay: say what to replay: --reason R, --offset P:O ... or --all",
              file=sys.stderr)
        return 2
    ids = _parse_ids(args.offset or [])
    letters, _ = read_dead_letters(s, reason=args.reason)
    chosen, errors = select_for_replay(letters, ids)
    for err in errors:
        print(f"dlq replay: {err}", file=sys.stderr)
    chosen.sort(key=lambda d: (d.partition, d.offset))  # oldest first, as they arrived
    replayable = [(d, original_bytes(d.envelope)) for d in chosen]
    skipped = [d for d, raw in replayable if raw is None]
    for d in skipped:
        print(f"dlq replay: {d.id} skipped: original "
              f"{'truncated' if d.envelope.get('original_truncated') else 'missing'}",
              file=sys.stderr)
    todo: list[tuple[DeadLetter, bytes, str]] = []
    for d, raw in replayable:
        if raw is None:
            continue
        target, why = (args.topic, "") if args.topic else replay_target(d.envelope, s)
        if target is None:
            skipped.append(d)
            print(f"dlq replay: {d.id} refused: {why}", file=sys.stderr)
            continue
        todo.append((d, raw, target))
    targets = ", ".join(sorted({t for _, _, t in todo})) or "-"
    if args.dry_run:
        for d, raw, target in todo:
            print(f"would replay {d.id} ({d.stage}/{d.reason}, {len(raw)} bytes) -> {target}")
        print(f"dry run: {len(todo)} would be replayed to {targets}, {len(skipped)} skipped",
              file=sys.stderr)
        return 1 if errors else 0
    failed = 0
    if todo:
        from streams import kafka_io

        producer = kafka_io.producer(s, max_request_size=max(2 * s.topic_max_bytes, 1 << 20))
        try:
            futures = []
            for d, raw, target in todo:
                headers = [(REPLAY_HEADER, f"{s.topic_dlq}/{d.id}".encode())]
                key = replay_key(raw, d.envelope, s.max_message_bytes)
                futures.append((d, producer.send(target, value=raw, key=key, headers=headers)))
            kafka_io.flush(producer)
            for d, fut in futures:
                try:
                    fut.get(timeout=60)
                except Exception as exc:
                    failed += 1
                    print(f"dlq replay: {d.id} failed: {exc}", file=sys.stderr)
        finally:
            producer.close()
    print(f"replayed {len(todo) - failed} to {targets}; {len(skipped)} skipped, {failed} failed",
          file=sys.stderr)
    return 1 if (errors or failed) else 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("dlq", help="list or replay dead letters (messages a stage refused)")
    dsub = p.add_subparsers(dest="dlq_command", metavar="ACTION")
    dsub.required = True
    lp = dsub.add_parser("list", help="show dead letters, newest first")
    lp.add_argument("--reason", help="only this reason (e.g. invalid_json, schema, oversize)")
    lp.add_argument("--limit", type=int, default=50, help="show at most N (default 50)")
    lp.add_argument("--json", action="store_true", help="one JSON envelope per line")
    lp.add_argument("--width", type=int, default=200, help="cut table lines at this width")
    lp.set_defaults(func=cmd_list)
    rp = dsub.add_parser("replay", help="re-inject the original bytes into the topic of the "
                         "stage that refused them")
    rp.add_argument("--reason", help="replay the dead letters of this reason")
    rp.add_argument("--offset", action="append", metavar="P:O",
                    help="replay this one (ID from `dlq list`: partition:offset); repeatable")
    rp.add_argument("--all", action="store_true", help="replay every dead letter")
    rp.add_argument("--topic", help="target topic (default: the input topic of the letter's "
                    "stage: articles, articles.valid, articles.unique or articles.enriched)")
    rp.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    rp.set_defaults(func=cmd_replay)
