"""Feed bytes -> contract records, run in a worker pool (feedparser and HTML cleaning are CPU).

Why here and pure: the event loop must never parse (one 5 MB feed would stall every fetch), so
:func:`parse_and_validate` takes bytes and plain values and returns plain values that pickle
cheaply across a process pool. The contract (JSON Schema) and the XML parsers are imported
where they are used: the poller process never runs them, only its parse processes do.
``feedparser`` always gets an ``io.BytesIO``: given ``bytes`` it
first tries them as a local path or URL, so a body reading ``/dev/zero`` would be opened.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from streams.ingest import urls

_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|&(#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0,
            "monthly": 30 * 86400.0, "yearly": 365 * 86400.0}


class _TextExtractor(HTMLParser):
    BLOCK = frozenset({
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
        "blockquote", "section", "article", "pre", "hr", "figcaption", "header", "footer", "dd",
        "dt",
    })
    SKIP = frozenset({"script", "style", "noscript", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _strip_markup(text: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # HTMLParser is lenient; be safe anyway
        return html.unescape(re.sub(r"<[^>]*>", " ", text))
    return "".join(parser.parts)


def clean_text(value: str | None, single_line: bool = False) -> str:
    """Feed HTML -> plain text: tags dropped, entities decoded (twice-escaped ones too)."""
    if not value:
        return ""
    text = _strip_markup(value) if ("<" in value or "&" in value) else value
    if _MARKUP.search(text):  # double-escaped markup (&amp;lt;b&amp;gt;) shows up only now
        text = _strip_markup(text)
    text = text.replace("\xa0", " ").replace("\r", "\n")
    if single_line:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _struct_to_rfc3339(st: Any) -> str | None:
    if not st:
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", st)
    except (TypeError, ValueError):
        return None


def http_url(value: Any) -> str | None:
    """``value`` stripped if it is an http(s) URL, else None."""
    if isinstance(value, str) and re.match(r"^\s*https?://", value, re.I):
        return value.strip()
    return None


def valid_language(code: str | None) -> str | None:
    """A BCP-47-looking code, or None (feeds carry junk such as ``English``)."""
    return code if code and _LANG.match(code) else None


def entry_record(entry: Any, feed_title: str, feed_url: str, language: str | None,
                 source_name: str | None = None, language_hint: str | None = None
                 ) -> dict[str, Any]:
    """One feedparser entry -> a record in the input contract's shape.

    Language: an item's own ``xml:lang`` wins; then the operator's hint for the source (a
    channel-level ``<language>`` is often a CMS default); then the channel's.
    """
    guid = entry.get("id") or entry.get("guid")
    link = http_url(entry.get("link"))
    if link is None:
        for alt in entry.get("links") or []:
            if alt.get("rel", "alternate") == "alternate" and http_url(alt.get("href")):
                link = alt["href"].strip()
                break
    if link is None and entry.get("guidislink", True):
        link = http_url(guid)
    contents = [c.get("value", "") for c in entry.get("content") or [] if c.get("value")]
    body_html = max(contents, key=len) if contents else ""
    summary_html = entry.get("summary") or ""
    body = clean_text(body_html) if body_html else clean_text(summary_html)
    summary = clean_text(summary_html) if body_html and summary_html else ""
    record: dict[str, Any] = {
        "title": clean_text(entry.get("title"), single_line=True) or None,
        "body": body or None,
        "source": source_name or feed_title or urls.host_of(feed_url) or None,
        "published_at": _struct_to_rfc3339(entry.get("published_parsed")
                                           or entry.get("updated_parsed")),
    }
    if link:
        record["url"] = link
    else:  # no link: an id stable per feed and guid (or content, as a last resort)
        basis = guid or f"{record['title']}\n{record['body']}"
        record["id"] = "feed-" + hashlib.sha256(f"{feed_url}\n{basis}".encode()).hexdigest()
    if summary and summary != body:
        record["summary"] = summary
    own = (entry.get("title_detail") or {}).get("language")  # inherits the channel's
    entry_lang = own if own and own != language else None
    lang = valid_language(entry_lang) or valid_language(language_hint) or valid_language(language)
    if lang:
        record["language"] = lang
    authors = [clean_text(a.get("name"), True) for a in entry.get("authors") or []]
    if not any(authors) and entry.get("author"):
        authors = [clean_text(entry.get("author"), True)]
    if any(authors):
        record["authors"] = [a for a in authors if a]
    tags = [clean_text(t.get("term"), True) for t in entry.get("tags") or []]
    if any(tags):
        record["tags"] = [t for t in tags if t]
    if guid:
        record["guid"] = guid
    record["feed_url"] = feed_url
    return {k: v for k, v in record.items() if v is not None}


@dataclass
class Item:
    """One feed item ready to publish: its seen-key, raw message and contract verdict."""

    key: str
    raw: bytes
    message_key: bytes | None  # Kafka key when valid
    reason: str | None = None  # contract reason when invalid
    message: str | None = None
    url: str | None = None
    language: str | None = None
    body_len: int = 0
    checked: bool = True  # False until validated (only new items are: see validate_items)


@dataclass
class ParsedFeed:
    title: str
    language: str | None
    items: list[Item]
    bozo: str | None  # why the parser had to tolerate the document, if it did
    version: str
    hint_seconds: float | None = None  # ttl / sy:updatePeriod: how often the publisher updates
    not_a_feed: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


def seen_key(record: dict[str, Any], raw: bytes) -> str:
    """The identity of an item across polls: its article id (as the pipeline computes it)."""
    if record.get("id"):
        return str(record["id"])
    if record.get("url"):
        return urls.article_id(urls.canonicalize(record["url"]))
    return hashlib.sha256(raw).hexdigest()


def make_item(record: dict[str, Any], max_bytes: int, key: str | None = None,
              validate: bool = True) -> Item:
    """Serialize and validate one record (the same contract the worker applies)."""
    from streams.ingest import contract
    from streams.ingest.contract import InvalidArticle

    raw = json.dumps(record, ensure_ascii=False).encode("utf-8")
    if not validate:
        return Item(key or seen_key(record, raw), raw, None, url=record.get("url"),
                    language=record.get("language"), checked=False)
    try:
        article = contract.parse_article(raw, max_bytes)
    except InvalidArticle as exc:
        return Item(key or seen_key(record, raw), raw, None, exc.reason, exc.message,
                    record.get("url"), record.get("language"))
    if key is None:
        # the contract computed the article id already: the same as seen_key's (the id given,
        # else the SHA-256 of the canonical URL), without canonicalizing the URL twice
        key = (article.id if record.get("id") is None and article.url == record.get("url")
               else seen_key(record, raw))
    return Item(key, raw, contract.message_key(article), url=article.url,
                language=record.get("language"), body_len=len(article.body or ""))


def validate_items(items: list[Item], max_bytes: int) -> list[Item]:
    """Validate items parsed with ``validate=False`` (the contract check is the costly part of
    parsing, so the poller runs it on the new items only)."""
    from streams.ingest import contract
    from streams.ingest.contract import InvalidArticle

    out = []
    for it in items:
        if it.checked:
            out.append(it)
            continue
        try:
            article = contract.parse_article(it.raw, max_bytes)
        except InvalidArticle as exc:
            out.append(Item(it.key, it.raw, None, exc.reason, exc.message, it.url, it.language))
            continue
        out.append(Item(it.key, it.raw, contract.message_key(article), url=article.url,
                        language=it.language, body_len=len(article.body or "")))
    return out


def update_hint(feed: Any) -> float | None:
    """Seconds the publisher says its feed changes at most: RSS ``ttl``, ``sy:updatePeriod``."""
    hints = []
    ttl = feed.get("ttl")
    if ttl and str(ttl).strip().isdigit():
        hints.append(float(str(ttl).strip()) * 60)
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _PERIODS:
        freq = str(feed.get("sy_updatefrequency") or "1").strip()
        n = int(freq) if freq.isdigit() and int(freq) > 0 else 1
        hints.append(_PERIODS[period] / n)
    return max(hints) if hints else None


def parse_feed(content: bytes, content_type: str | None, feed_url: str, max_bytes: int,
               source_name: str | None = None, language_hint: str | None = None,
               fast: bool = True, validate: bool = True) -> ParsedFeed:
    """Bytes as served (any charset the headers or the XML prolog declare) -> items."""
    from streams.ingest.feeds.fastparse import fast_parse

    parsed: Any = fast_parse(content, content_type) if fast else None
    if parsed is None:  # not plain well-formed RSS/Atom: feedparser's tolerance
        import feedparser

        headers = {"content-type": content_type} if content_type else {}
        parsed = feedparser.parse(io.BytesIO(content), response_headers=headers)
    feed = parsed.get("feed", {})
    title = clean_text(feed.get("title"), single_line=True)
    language = feed.get("language")
    bozo = repr(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    records = [entry_record(e, title, feed_url, language, source_name, language_hint)
               for e in parsed.get("entries", [])]
    version = parsed.get("version") or ""
    out = ParsedFeed(title, language, [], bozo, version, update_hint(feed))
    if not records and not version:
        out.not_a_feed = f"not a feed ({(bozo or content_type or 'no entries')[:200]})"
        return out
    seen: set[str] = set()
    for record in records:
        item = make_item(record, max_bytes, validate=validate)
        if item.key not in seen:
            seen.add(item.key)
            out.items.append(item)
    out.records = records
    return out


def parse_in_pool(content: bytes, content_type: str | None, feed_url: str, max_bytes: int,
                  source_name: str | None, language_hint: str | None,
                  validate: bool = False) -> ParsedFeed:
    """Pool entry point: never raises (a parser bug in one feed must not kill the pool)."""
    try:
        out = parse_feed(content, content_type, feed_url, max_bytes, source_name, language_hint,
                         validate=validate)
        out.records = []  # not needed across the pool boundary
        return out
    except Exception as exc:  # feedparser or a cleaner bug
        return ParsedFeed("", None, [], repr(exc), "", not_a_feed=f"parse error: {exc!r}"[:300])


def full_text_item(item: Item, page: bytes, page_url: str, max_bytes: int) -> Item:
    """The item with its body replaced by the article page's main text, when longer.

    Returns ``item`` unchanged when extraction fails or yields less than the feed had.
    """
    import trafilatura

    try:
        text = trafilatura.extract(page, url=page_url, include_comments=False,
                                   include_tables=False)
    except Exception:  # an extractor bug must not stop the poller
        return item
    if not text or len(text.strip()) <= item.body_len:
        return item
    record = json.loads(item.raw)
    record["body"] = text.strip()
    record["full_text"] = True
    new = make_item(record, max_bytes, key=item.key)
    return new if new.reason is None else item
