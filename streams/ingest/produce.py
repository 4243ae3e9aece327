"""``newsstream produce FILE...``: publish JSON Lines, a JSON array or CSV to ``articles``.

Why it validates with the worker's own contract first: a bad record found here is reported
with its file and line, where it can still be fixed, instead of becoming a dead letter later.
Without ``--skip-invalid`` nothing is published when any record is invalid (the input is
checked whole first); with it the valid records go and the invalid ones are reported.
Every reader streams, so a file of any size runs in constant memory.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import logging
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from streams.ingest import contract
from streams.ingest.contract import InvalidArticle
from streams.settings import key_value_pairs

log = logging.getLogger(__name__)

CHUNK = 1 << 20
_JSON_WS = re.compile(r"[ \t\n\r]*")
FORMATS = ("auto", "jsonl", "json", "csv")
LIST_FIELDS = ("authors", "tags")


@dataclass
class Item:
    """One input record: its raw JSON bytes, or why it could not even be read."""

    line: int
    raw: bytes | None
    error: InvalidArticle | None = None


class _Counting(io.RawIOBase):
    """Wrap a binary stream and report bytes read (drives the progress bar)."""

    def __init__(self, inner: IO[bytes], on_read: Callable[[int], Any]) -> None:
        self.inner = inner
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.inner.read(len(b))
        n = len(data)
        b[:n] = data
        if n:
            self.on_read(n)
        return n


# --- readers --------------------------------------------------------------------------------


def iter_jsonl(f: IO[bytes], max_bytes: int) -> Iterator[Item]:
    """One record per line; an over-long line is skipped in chunks, never held whole."""
    lineno = 0
    limit = max_bytes + 2
    while True:
        line = f.readline(limit)
        if not line:
            return
        lineno += 1
        if len(line) == limit and not line.endswith(b"\n"):
            size = len(line)
            while True:
                chunk = f.readline(CHUNK)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield Item(lineno, None, InvalidArticle(
                "oversize", f"{size} bytes, more than the limit of {max_bytes} bytes"))
            continue
        record = line.strip()
        if record:
            yield Item(lineno, record)


def iter_json_array(f: IO[bytes], max_bytes: int) -> Iterator[Item]:
    """Elements of a top-level JSON array, decoded incrementally (constant memory)."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    buf = ""
    pos = 0
    eof = False
    line = 1  # line number at ``pos``
    read_bytes = 0

    def more() -> bool:
        nonlocal buf, pos, eof, read_bytes
        if eof:
            return False
        chunk = f.read(CHUNK)
        eof = not chunk
        try:
            text = utf8.decode(chunk, final=eof)
        except UnicodeDecodeError as e:
            raise InvalidArticle(
                "invalid_utf8", f"the file is not UTF-8 near byte {read_bytes + e.start}"
            ) from None
        read_bytes += len(chunk)
        buf = buf[pos:] + text
        pos = 0
        return True

    def advance(to: int) -> None:
        nonlocal pos, line
        line += buf.count("\n", pos, to)
        pos = to

    def skip_ws() -> bool:
        """Move to the next non-space character; False at end of input."""
        while True:
            advance(_JSON_WS.match(buf, pos).end())  # type: ignore[union-attr]
            if pos < len(buf):
                return True
            if not more():
                return False

    try:
        if not skip_ws() or buf[pos] != "[":
            yield Item(line, None, InvalidArticle("not_object", "the file is not a JSON array"))
            return
        advance(pos + 1)
        first = True
        while True:
            if not skip_ws():
                yield Item(line, None, InvalidArticle("invalid_json", "the array is not closed"))
                return
            if buf[pos] == "]":
                advance(pos + 1)
                if skip_ws():
                    yield Item(line, None, InvalidArticle(
                        "invalid_json", "text after the end of the array"))
                return
            if not first:
                if buf[pos] != ",":
                    yield Item(line, None, InvalidArticle(
                        "invalid_json", f"expected ',' or ']' but found {buf[pos]!r}; "
                        "the rest of the file is not read"))
                    return
                advance(pos + 1)
                if not skip_ws():
                    yield Item(line, None, InvalidArticle("invalid_json", "array not closed"))
                    return
            first = False
            start_line = line
            while True:
                try:
                    _, end = decoder.raw_decode(buf, pos)
                    if end < len(buf) or eof:
                        break
                    raise json.JSONDecodeError("element may continue", buf, end)
                except json.JSONDecodeError as e:
                    if len(buf) - pos > 4 * max_bytes + CHUNK:
                        yield Item(start_line, None, InvalidArticle(
                            "oversize", f"an element larger than {4 * max_bytes} characters "
                            "(or broken JSON); the rest of the file is not read"))
                        return
                    if not more():
                        yield Item(start_line, None, InvalidArticle(
                            "invalid_json",
                            f"{e.msg} at line {line + buf.count(chr(10), pos, e.pos)}"
                            "; the rest of the file is not read"))
                        return
            raw = buf[pos:end].encode("utf-8", "surrogatepass")
            advance(end)
            yield Item(start_line, raw)
    except InvalidArticle as e:
        yield Item(line, None, e)


def parse_mapping(spec: list[str] | None) -> dict[str, str]:
    """``["title=headline,body=text"]`` -> {contract field: CSV column}."""
    return {k: v for chunk in spec or [] for k, v in key_value_pairs(chunk, "write FIELD=COLUMN")}


def csv_record(
    row: dict[str, str | None], mapping: dict[str, str], list_sep: str
) -> dict[str, Any]:
    """A CSV row -> a contract record: mapped columns, same-named columns, the rest kept."""
    used = set(mapping.values())
    record: dict[str, Any] = {}

    def put(name: str, value: str | None) -> None:
        if value is None or not value.strip():
            return
        if name.startswith("title_translations."):
            record.setdefault("title_translations", {})[name.split(".", 1)[1]] = value
        elif name in LIST_FIELDS:
            record[name] = [v.strip() for v in value.split(list_sep) if v.strip()]
        else:
            record[name] = value

    for column, value in row.items():
        if column is None or column in used or column in mapping:
            continue
        put(column.strip(), value)
    for target, column in mapping.items():
        put(target, row.get(column))
    return record


def iter_csv(
    f: IO[bytes], max_bytes: int, mapping: dict[str, str], delimiter: str, encoding: str,
    list_sep: str,
) -> Iterator[Item]:
    text = io.TextIOWrapper(f, encoding=encoding, newline="")  # type: ignore[arg-type]
    csv.field_size_limit(max(4 * max_bytes, 1 << 20))
    reader = csv.DictReader(text, delimiter=delimiter)
    prev = 1
    try:
        header = reader.fieldnames or []
        missing = [c for c in mapping.values() if c not in header]
        if missing:
            yield Item(1, None, InvalidArticle(
                "schema", f"--map names columns not in the header: {', '.join(missing)}"))
            return
        prev = reader.line_num
        for row in reader:
            start = prev + 1
            prev = reader.line_num
            if None in row:
                yield Item(start, None, InvalidArticle(
                    "schema", f"{len(row[None])} more fields than the header has"))  # type: ignore[index]
                continue
            record = csv_record(row, mapping, list_sep)
            yield Item(start, json.dumps(record, ensure_ascii=False).encode("utf-8"))
    except UnicodeDecodeError as e:
        yield Item(prev + 1, None, InvalidArticle(
            "invalid_utf8", f"not {encoding} ({e.reason}); try --encoding; rest not read"))
    except csv.Error as e:
        yield Item(prev + 1, None, InvalidArticle("invalid_csv", f"{e}; rest not read"))


def detect_format(path: str, head: bytes) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        return "jsonl"
    return "csv" if suffix not in (".json",) else "json"


# --- checking and publishing -----------------------------------------------------------------


@dataclass
class Summary:
    read: int = 0
    published: int = 0
    invalid: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors_shown: int = 0

    def line(self, seconds: float) -> str:
        rate = self.read / seconds if seconds > 0 else 0.0
        why = ", ".join(f"{r} {n}" for r, n in self.reasons.most_common())
        return (f"read {self.read}, published {self.published}, invalid {self.invalid}"
                + (f" ({why})" if why else "") + f", failed {self.failed}"
                + f" in {seconds:.1f}s ({rate:.0f} records/s)")


@dataclass
class Options:
    fmt: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    list_sep: str = ";"
    max_errors: int = 200


def iter_items(path: str, f: IO[bytes], opts: Options, max_bytes: int) -> Iterator[Item]:
    buffered = io.BufferedReader(f, CHUNK) if not isinstance(f, io.BufferedReader) else f
    fmt = opts.fmt
    if fmt == "auto":
        fmt = detect_format(path, buffered.peek(4096)[:4096])
    if fmt == "jsonl":
        return iter_jsonl(buffered, max_bytes)
    if fmt == "json":
        return iter_json_array(buffered, max_bytes)
    return iter_csv(buffered, max_bytes, opts.mapping, opts.delimiter, opts.encoding,
                    opts.list_sep)


def check_items(items: Iterator[Item], max_bytes: int) -> Iterator[tuple[Item, Any]]:
    """(item, Article) for good records, (item, InvalidArticle) for bad ones."""
    for item in items:
        if item.error is not None:
            yield item, item.error
            continue
        try:
            yield item, contract.parse_article(item.raw or b"", max_bytes)
        except InvalidArticle as e:
            yield item, e


def _report(path: str, item: Item, err: InvalidArticle, summary: Summary, opts: Options) -> None:
    summary.invalid += 1
    summary.reasons[err.reason] += 1
    from tqdm import tqdm  # its write() keeps a running progress bar intact

    if summary.errors_shown < opts.max_errors:
        summary.errors_shown += 1
        tqdm.write(f"{path}:{item.line}: {err.reason}: {err.message}", file=sys.stderr)
    elif summary.errors_shown == opts.max_errors:
        summary.errors_shown += 1
        tqdm.write(f"(more invalid records; only the first {opts.max_errors} are shown)",
                   file=sys.stderr)


class Publisher:
    """Send records asynchronously and count acknowledgements (callbacks, no future list)."""

    def __init__(self, producer: Any, topic: str, summary: Summary) -> None:
        self.producer = producer
        self.topic = topic
        self.summary = summary
        self.lock = threading.Lock()
        self.first_error: str | None = None

    def _ok(self, _meta: Any) -> None:
        with self.lock:
            self.summary.published += 1

    def _fail(self, exc: BaseException) -> None:
        with self.lock:
            self.summary.failed += 1
            if self.first_error is None:
                self.first_error = repr(exc)

    def send(self, key: bytes, value: bytes) -> None:
        try:
            fut = self.producer.send(self.topic, key=key, value=value)
        except Exception as exc:
            self._fail(exc)
            return
        fut.add_callback(self._ok)
        fut.add_errback(self._fail)

    def flush(self) -> None:
        from streams import kafka_io

        kafka_io.flush(self.producer)


def run_files(
    inputs: list[tuple[str, str]], opts: Options, max_bytes: int, publisher: Publisher | None,
    summary: Summary, progress: bool | None, desc: str,
) -> None:
    """One pass over (shown name, path) inputs: check every record, publish the good ones."""
    from tqdm import tqdm

    for path, real in inputs:
        total = Path(real).stat().st_size if real != "-" else None
        opened = open(real, "rb") if real != "-" else contextlib.nullcontext(sys.stdin.buffer)  # noqa: SIM115
        with opened as raw_f, tqdm(
            total=total, unit="B", unit_scale=True, desc=f"{desc} {Path(path).name}",
            disable=not progress if progress is not None else None, file=sys.stderr,
            leave=False,
        ) as bar:
            counted = _Counting(raw_f, bar.update)
            items = iter_items(path, counted, opts, max_bytes)  # type: ignore[arg-type]
            for n, (item, result) in enumerate(check_items(items, max_bytes), 1):
                summary.read += 1
                if isinstance(result, InvalidArticle):
                    _report(path, item, result, summary, opts)
                elif publisher is not None:
                    publisher.send(contract.message_key(result), item.raw or b"")
                if n % 2000 == 0:
                    bar.set_postfix(read=summary.read, invalid=summary.invalid, refresh=False)
