"""Feed lists people have: OPML (what every feed reader exports) and ``URL [interval]`` files.

Both give :class:`Source` rows: a URL, an optional fixed interval, a name and a language hint.
OPML is read with the standard parser (expat refuses entity-expansion bombs) and written with
``language`` as an extra outline attribute, which readers ignore and we read back.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from streams.ingest.feeds.parse import http_url, valid_language


@dataclass(frozen=True)
class Source:
    url: str
    interval: float | None = None  # None: adaptive
    name: str | None = None
    language: str | None = None


def parse_duration(text: str) -> float:
    """``600``, ``90s``, ``15m``, ``2h``, ``1d`` -> seconds."""
    text = text.strip().lower()
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:])
    value = float(text[:-1]) * mult if mult else float(text)
    if value <= 0:
        raise ValueError(f"interval must be positive: {text!r}")
    return value


_QUOTING = re.compile(r"[\"'\\]")


def read_feed_list(lines: Iterable[str], default_interval: float | None = None) -> list[Source]:
    """``URL [interval] [lang=xx] [name="Some name"]`` per line; ``#`` starts a comment."""
    out = []
    for n, line in enumerate(lines, 1):
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if not line:
            continue
        try:  # shlex only when quoting is used: it costs more than the rest of the line
            parts = shlex.split(line) if _QUOTING.search(line) else line.split()
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        if not http_url(parts[0]):
            raise ValueError(f"line {n}: {parts[0]!r} is not an http(s) URL")
        interval, name, lang = default_interval, None, None
        for part in parts[1:]:
            key, eq, value = part.partition("=")
            if not eq:
                try:
                    interval = parse_duration(part)
                except ValueError:
                    raise ValueError(f"line {n}: {part!r} is not an interval") from None
            elif key in ("lang", "language"):
                lang = valid_language(value)
                if lang is None:
                    raise ValueError(f"line {n}: {value!r} is not a language code")
            elif key == "name":
                name = value or None
            else:
                raise ValueError(f"line {n}: unknown field {key!r}")
        out.append(Source(parts[0], interval, name, lang))
    return out


def write_feed_list(sources: Iterable[Source]) -> str:
    lines = []
    for s in sources:
        parts = [s.url]
        if s.interval:
            parts.append(f"{s.interval:g}")
        if s.language:
            parts.append(f"lang={s.language}")
        if s.name:
            parts.append(shlex.quote(f"name={s.name}"))
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def read_opml(data: bytes | str) -> list[Source]:
    """Every ``<outline xmlUrl=...>`` at any depth (folders are flattened)."""
    root = ET.fromstring(data)
    if root.tag.lower() != "opml":
        raise ValueError(f"not OPML: root element <{root.tag}>")
    out = []
    seen: set[str] = set()
    for node in root.iter("outline"):
        url = http_url(node.get("xmlUrl") or node.get("xmlurl"))
        if not url or url in seen:
            continue
        seen.add(url)
        name = node.get("title") or node.get("text") or None
        lang = valid_language(node.get("language"))
        interval = None
        if node.get("interval"):
            try:
                interval = parse_duration(node.get("interval") or "")
            except ValueError:
                interval = None
        out.append(Source(url, interval, name, lang))
    return out


def write_opml(sources: Iterable[Source], title: str = "newsstream feeds") -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for s in sources:
        attrs = {"type": "rss", "text": s.name or s.url, "xmlUrl": s.url}
        if s.name:
            attrs["title"] = s.name
        if s.language:
            attrs["language"] = s.language
        if s.interval:
            attrs["interval"] = f"{s.interval:g}"
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def read_any(path: str, default_interval: float | None = None) -> list[Source]:
    """A file that is OPML (by content) or a ``URL [interval]`` list."""
    with open(path, "rb") as f:
        data = f.read()
    head = data.lstrip()[:300].lower()
    if head.startswith(b"<?xml") or head.startswith(b"<opml"):
        return read_opml(data)
    return read_feed_list(data.decode("utf-8").splitlines(), default_interval)
