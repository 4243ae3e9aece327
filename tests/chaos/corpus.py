"""Messages for the fault matrix: short synthetic articles and hostile input, each traceable.

Every message carries a marker (``chaosmk-<run>-<n>``) as its first JSON field and in its URL,
so the runner can find it again, whatever happens to it, in Elasticsearch (``extra.chaos_marker``
of the document) or in a dead-letter envelope (the original bytes of any stage contain it).
Messages that cannot carry a marker (an empty message, the fixed poison files) are found by
their input position instead: a validate-stage envelope names the topic, partition and offset.

Good articles are short (NER is the pipeline's cost) and come from ``bench.corpus``'s
generator, filtered with the pipeline's own deduplicator so that no article is dropped as a
copy of another: a dropped copy would be counted as lost.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.dedup.deduplicator import Deduplicator

POISON = Path(__file__).resolve().parents[1] / "data" / "poison"
MARKER_RE = rb"chaosmk-[a-z0-9]+-\d+"


@dataclass
class Message:
    """One message to send: its bytes, key, class (``good`` or a hostile kind) and marker."""

    kind: str
    value: bytes
    key: bytes
    marker: str | None
    copy_of: str | None = None  # the marker of the message this one is an exact copy of

    @property
    def good(self) -> bool:
        return self.kind == "good"


def marker(run: str, n: int) -> str:
    return f"chaosmk-{run}-{n}"


def good_articles(run: str, n: int, start: int = 0, words: int = 40) -> list[Message]:
    """``n`` short English articles, none a duplicate of another (checked, not assumed)."""
    from bench.corpus import Generator, parse
    from streams.ingest import contract

    gen = Generator(seed=zlib.crc32(run.encode()) % 100_000, words=words)
    d = Deduplicator()
    now = time.time()
    out: list[Message] = []
    i = start
    while len(out) < n:
        rec = gen.record(i)
        m = marker(run, i)
        rec = {"chaos_marker": m, **rec, "url": f"https://chaos.example/{m}/{i}"}
        i += 1
        article = parse(rec)
        decision = d.decide(article, now)
        if not decision.emit or decision.info.kind != "new":
            continue  # would be dropped or flagged by the pipeline's dedup: not this test's subject
        out.append(Message("good", json.dumps(rec, ensure_ascii=False).encode(),
                           contract.message_key(article), m))
    return out


def _obj(m: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"chaos_marker": m, "url": f"https://hostile.example/{m}",
                            "title": f"Hostile {m}", "body": f"Body of hostile message {m}."}
    base.update(fields)
    return base


def _js(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _surrogate(m: str, field: str) -> bytes:
    # json.dumps would escape a lone surrogate as \ud800 only with ensure_ascii: write it by hand
    text = _js(_obj(m, **{field: f"SURROGATE {m}"}))
    return text.replace(b"SURROGATE", b"\\ud800 x", 1)


def _nested(m: str, depth: int) -> bytes:
    return _js(_obj(m))[:-1] + b', "nested": ' + b"[" * depth + b"1" + b"]" * depth + b"}"


HOSTILE: dict[str, Callable[[str], bytes]] = {
    "bad_json_truncated": lambda m: _js(_obj(m))[:-12],
    "bad_json_trailing": lambda m: _js(_obj(m)) + b" garbage",
    "schema_title_int": lambda m: _js(_obj(m, title=12345)),
    "schema_no_url": lambda m: _js({"chaos_marker": m, "title": "no url no id"}),
    "schema_bad_date": lambda m: _js(_obj(m, published_at="yesterday-ish")),
    "not_object": lambda m: _js([m, "an array"]),
    "nan_field": lambda m: _js(_obj(m))[:-1] + b', "score": NaN}',
    "infinite_number": lambda m: _js(_obj(m))[:-1] + b', "score": 1e999}',
    "invalid_utf8": lambda m: _js(_obj(m)).replace(b"Body of", b"Caf\xe9 of", 1),
    "nul_escaped_title": lambda m: _js(_obj(m, title=f"nul \u0000 {m}")),
    "control_chars": lambda m: _js(_obj(m, title=f"bell \u0007\u001b {m}")),
    "surrogate_id": lambda m: _surrogate(m, "id"),
    "surrogate_title": lambda m: _surrogate(m, "title"),
    "surrogate_language": lambda m: _surrogate(m, "language"),
    "surrogate_body": lambda m: _surrogate(m, "body"),
    "deep_nesting_65": lambda m: _nested(m, 65),
    "deep_nesting_300": lambda m: _nested(m, 300),
    "deep_nesting_5000": lambda m: _nested(m, 5000),
    "huge_string_id": lambda m: _js(_obj(m, id=f"{m}-" + "i" * 700)),
    "huge_int_id": lambda m: _js(_obj(m))[:-1] + b', "id": ' + b"9" * 700 + b"}",
    "int_id": lambda m: _js(_obj(m))[:-1] + b', "id": ' + str(zlib.crc32(m.encode())).encode()
    + b"}",
    "many_tags": lambda m: _js(_obj(m, tags=[f"t{i}" for i in range(20_000)])),
    "many_authors": lambda m: _js(_obj(m, authors=[f"Author {i}" for i in range(20_000)])),
    "many_translations": lambda m: _js(_obj(m, title_translations={
        f"x{i}": f"title {i}" for i in range(5_000)})),
    "oversize_3mb": lambda m: _js(_obj(m, body="x " * 1_500_000)),
}
# A valid article whose enriched record grows past the producer limit when escaped to ASCII
# (Cyrillic, 1.4 MB): heavy for NER, so the flood holds few of them.
RARE: dict[str, Callable[[str], bytes]] = {
    "cyrillic_1_4mb": lambda m: _js(_obj(m, title="Большая статья",
                                        body=("Москва и Пекин подписали соглашение. " * 21_000))),
}


def poison_files() -> list[tuple[str, bytes]]:
    """The fixed poison set of ``tests/data/poison`` (they carry no marker)."""
    expected = json.loads((POISON / "expected.json").read_text())
    return [(f"poison:{name}", (POISON / name).read_bytes())
            for name in expected if not name.startswith("_")]


def hostile_messages(run: str, n: int, start: int = 1_000_000, rare_every: int = 500) -> list[Message]:
    """``n`` hostile messages cycling through every kind above and the poison files."""
    kinds: list[tuple[str, Callable[[str], bytes] | bytes]] = list(HOSTILE.items())
    kinds += poison_files()
    out: list[Message] = []
    rare_first: str | None = None
    for j in range(n):
        m = marker(run, start + j)
        if rare_every and j % rare_every == rare_every - 1:
            # the same text under another URL: an exact copy of the first, counted on it
            name, make = next(iter(RARE.items()))
            out.append(Message(name, make(m), m.encode(), m, copy_of=rare_first))
            rare_first = rare_first or m
            continue
        else:
            name, make = kinds[j % len(kinds)]
        if isinstance(make, bytes):
            out.append(Message(name, make, f"poison-{m}".encode(), None))
        else:
            out.append(Message(name, make(m), m.encode(), m))
    return out


def interleave(a: list[Message], b: list[Message]) -> list[Message]:
    out: list[Message] = []
    for i in range(max(len(a), len(b))):
        out += a[i : i + 1] + b[i : i + 1]
    return out
