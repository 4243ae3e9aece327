"""``newsstream dlq list|replay``: show dead letters, send them back to the stage that refused them.

The envelope and its reader are :mod:`streams.dlq`; replay sends each letter to the input topic of
the stage named in it, keyed as the producer would have keyed it.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections import Counter
from typing import Any

from streams import settings, terminal
from streams.dlq import REPLAY_HEADER, DeadLetter, original_bytes, read_dead_letters
from streams.ingest import contract


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


def parse_ids(values: list[str]) -> list[tuple[int | None, int]]:
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
    ids = parse_ids(args.offset or [])
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
