"""``newsstream produce`` without Kafka: readers, line numbers, validation-first, memory."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

from streams.cli import main as cli
from streams.ingest import produce
from streams.ingest.contract import InvalidArticle
from tests.unit.ingest.test_contract import poison_set


def _items(reader: str, data: bytes, max_bytes: int = 10_000, **kw: object) -> list[produce.Item]:
    f = io.BufferedReader(io.BytesIO(data), 8)  # tiny buffer: exercise chunk boundaries
    if reader == "jsonl":
        return list(produce.iter_jsonl(f, max_bytes))
    if reader == "json":
        return list(produce.iter_json_array(f, max_bytes))
    return list(produce.iter_csv(f, max_bytes, kw.get("mapping", {}), ",", "utf-8-sig", ";"))  # type: ignore[arg-type]


def test_jsonl_lines_and_blank_lines() -> None:
    data = b'{"id": "1", "title": "a"}\n\n  \r\n{"id": "2", "title": "b"}\r\n{"id": "3"'
    items = _items("jsonl", data)
    assert [i.line for i in items] == [1, 4, 5]
    assert items[1].raw == b'{"id": "2", "title": "b"}'
    assert items[2].raw == b'{"id": "3"'


def test_jsonl_overlong_line_is_skipped_without_holding_it() -> None:
    data = b'{"id": "1", "title": "a"}\n' + b"x" * 5000 + b'\n{"id": "2", "title": "b"}\n'
    items = _items("jsonl", data, max_bytes=100)
    assert [(i.line, i.error.reason if i.error else None) for i in items] == [
        (1, None), (2, "oversize"), (3, None)]


def test_json_array_elements_keep_their_bytes_and_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(produce, "CHUNK", 5)
    records = [{"url": f"https://example.com/{i}", "title": "ü\n" * i} for i in range(30)]
    data = b"\xef\xbb\xbf" + json.dumps(records, indent=1, ensure_ascii=False).encode()
    items = _items("json", data)
    assert [json.loads(i.raw) for i in items] == records  # type: ignore[arg-type]
    lines = data.decode("utf-8-sig").split("\n")
    for i in items:
        assert lines[i.line - 1].strip() == "{"


@pytest.mark.parametrize(("data", "reason", "words"), [
    (b'{"id": 1}', "not_object", "not a JSON array"),
    (b'[{"id": "1", "title": "a"}', "invalid_json", "not closed"),
    (b'[{"id": "1", "title": "a"} {"id": 2}]', "invalid_json", "expected ','"),
    (b'[{"id": "1", "title": "a"}, {"id": 2', "invalid_json", "rest of the file"),
    (b'[{"id": "1"}] junk', "invalid_json", "after the end"),
    (b'[{"id": "1", "title": "caf\xe9"}]', "invalid_utf8", "not UTF-8"),
])
def test_broken_arrays_are_reported(data: bytes, reason: str, words: str) -> None:
    items = _items("json", data)
    err = items[-1].error
    assert err is not None and err.reason == reason and words in err.message


def test_csv_mapping_lists_translations_and_unknown_columns() -> None:
    data = ("headline,link,authors,title_translations.ru,desk,empty\n"
            '"Hello, world",https://example.com/x,"Ann; Bob",Привет,World,\n'
            '"two\nlines",https://example.com/y,,,,\n').encode()
    mapping = produce.parse_mapping(["title=headline,url=link"])
    items = _items("csv", data, mapping=mapping)
    assert [i.line for i in items] == [2, 3]
    first = json.loads(items[0].raw)  # type: ignore[arg-type]
    assert first == {"title": "Hello, world", "url": "https://example.com/x",
                     "authors": ["Ann", "Bob"], "title_translations": {"ru": "Привет"},
                     "desk": "World"}
    assert json.loads(items[1].raw)["title"] == "two\nlines"  # type: ignore[arg-type]


def test_csv_mapping_to_a_missing_column_is_an_error() -> None:
    items = _items("csv", b"a,b\n1,2\n", mapping={"title": "headline"})
    assert items[0].error and "headline" in items[0].error.message


def test_bad_map_spec() -> None:
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        produce.parse_mapping(["title"])


@pytest.mark.parametrize(("name", "head", "fmt"), [
    ("a.jsonl", b"", "jsonl"), ("a.ndjson", b"[", "jsonl"), ("a.csv", b"{", "csv"),
    ("a.json", b"  [", "json"), ("a.json", b"{", "jsonl"), ("-", b"\xef\xbb\xbf[", "json"),
    ("-", b"title,url", "csv"),
])
def test_detect_format(name: str, head: bytes, fmt: str) -> None:
    assert produce.detect_format(name, head) == fmt


def _write_mixed(tmp_path: Path) -> tuple[Path, int]:
    lines = [json.dumps({"url": f"https://example.com/{i}", "title": f"t{i}"}).encode()
             for i in range(5)]
    poison = [raw for name, raw, _ in poison_set()
              if b"\n" not in raw and raw.strip() and name != "oversize_10mb_body"]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines[:2] + poison + lines[2:]) + b"\n")
    return path, len(poison)


def test_check_reports_every_invalid_line_and_fails(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path, n_bad = _write_mixed(tmp_path)
    assert n_bad >= 10
    assert cli.main(["produce", "--check", "--no-progress", str(path)]) == 1
    err = capsys.readouterr().err
    bad = [ln for ln in err.splitlines() if ln.startswith(str(path) + ":")]
    assert [int(ln.split(":")[1]) for ln in bad] == list(range(3, 3 + n_bad))
    assert f"{path}:3: invalid_json:" in err
    assert f"read {5 + n_bad}, published 0, invalid {n_bad}" in err


def test_without_skip_invalid_nothing_is_published(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # An unreachable broker proves no publish is attempted: the check fails first.
    monkeypatch.setenv("NEWSSTREAM_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert cli.main(["produce", "--no-progress", str(_write_mixed(tmp_path)[0])]) == 1
    assert "nothing published" in capsys.readouterr().err


def test_check_accepts_a_clean_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "news.csv"
    path.write_text("headline,link\nA,https://example.com/a\nB,https://example.com/b\n")
    assert cli.main(["produce", "--check", "--no-progress", "--map", "title=headline",
                     "--map", "url=link", str(path)]) == 0
    assert "read 2, published 0, invalid 0" in capsys.readouterr().err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["produce", "/nonexistent/file.jsonl"]) == 2


class _Endless(io.RawIOBase):
    """A big input made on the fly, so the test itself needs no memory for it."""

    def __init__(self, head: bytes, unit: bytes, sep: bytes, count: int, tail: bytes) -> None:
        self.parts = iter([head] + [unit + (sep if i < count - 1 else b"") for i in range(count)]
                          + [tail])
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        while len(self.pending) < len(b):
            nxt = next(self.parts, None)
            if nxt is None:
                break
            self.pending += nxt
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_large_inputs_stream_in_constant_memory(fmt: str) -> None:
    unit = json.dumps({"url": "https://example.com/x", "title": "t", "body": "b" * 4000}).encode()
    count = 3000  # about 12 MB of input, more than the memory bound below
    head, sep, tail = (b"[", b",\n", b"]") if fmt == "json" else (b"", b"\n", b"\n")
    stream = io.BufferedReader(_Endless(head, unit, sep, count, tail), 1 << 16)
    tracemalloc.start()
    try:
        reader = produce.iter_json_array if fmt == "json" else produce.iter_jsonl
        n = 0
        for _item, result in produce.check_items(reader(stream, 1 << 20), 1 << 20):
            assert not isinstance(result, InvalidArticle), result
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == count
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for {count * len(unit)} bytes of input"
