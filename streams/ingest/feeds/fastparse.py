"""A fast path for well-formed RSS 2.0, RSS 1.0 and Atom: lxml instead of feedparser.

Why: feedparser's pure-Python SAX handlers cost tens of milliseconds for a ten-item feed,
which caps a poller at a few dozen feeds per second per core. lxml parses the same document in
well under a millisecond. This module builds the same entry shapes feedparser gives (the
fields :func:`streams.ingest.feeds.parse.entry_record` reads), so the mapping to the contract is one
code path. Anything unusual returns None and feedparser takes over: malformed XML (feedparser
recovers items from broken documents), unknown roots, undecodable bytes.

The parser resolves no entities and fetches nothing (no DTDs, no network).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_tz
from typing import Any

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
SY = "http://purl.org/rss/1.0/modules/syndication/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: Any) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _text(el: Any) -> str:
    return "".join(el.itertext()) if el is not None else ""


def _inner_xml(el: Any) -> str:
    """An element's content as markup (Atom ``type="xhtml"``)."""
    parts = [el.text or ""]
    for child in el:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


def parse_date(value: str | None) -> time.struct_time | None:
    """RFC 822 (RSS) or ISO 8601 (Atom, dc:date) -> a UTC struct_time, as feedparser gives."""
    if not value:
        return None
    value = value.strip()
    tup = parsedate_tz(value)
    if tup is not None:
        try:
            ts = time.mktime(tup[:9]) - time.timezone - (tup[9] or 0)
            return time.gmtime(ts)
        except (OverflowError, ValueError):
            return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return time.gmtime(dt.timestamp())
    except (OverflowError, ValueError, OSError):
        return None


def _decode_root(content: bytes, content_type: str | None) -> Any:
    """The parsed root, honouring a charset in the HTTP header over the XML prolog."""
    m = _CHARSET.search(content_type or "")
    if m:
        try:
            text = content.decode(m.group(1))
        except (LookupError, UnicodeDecodeError):
            return None
        body = _DECL.sub(b"", text.lstrip("\ufeff").encode("utf-8"), count=1)
        return etree.fromstring(b'<?xml version="1.0" encoding="utf-8"?>' + body, _PARSER)
    return etree.fromstring(content, _PARSER)


class _Entry(dict):  # type: ignore[type-arg]
    """A dict with the keys feedparser's entries have (``entry_record`` reads it)."""


def _finish(e: _Entry, node: Any, authors: list[dict[str, str]], cats: list[dict[str, str]]) -> _Entry:
    """What RSS items and Atom entries end alike: the xml:lang, authors and categories."""
    if node.get(XML_LANG) and "title_detail" not in e:
        e["title_detail"] = {"language": node.get(XML_LANG)}
    if authors:
        e["authors"] = authors
    if cats:
        e["tags"] = cats
    return e


def _rss_item(item: Any, ns: str) -> _Entry:
    e = _Entry()
    content_ns = ns  # RSS 2.0 elements have no namespace; RSS 1.0 ones have RSS1
    cats: list[dict[str, str]] = []
    authors: list[dict[str, str]] = []
    for child in item:
        tag, cns = _local(child.tag), _ns(child.tag)
        if cns == content_ns:
            if tag == "title":
                e["title"] = _text(child)
                if child.get(XML_LANG):
                    e["title_detail"] = {"language": child.get(XML_LANG)}
            elif tag == "link":
                e["link"] = _text(child).strip()
            elif tag == "guid":
                e["id"] = _text(child).strip()
                e["guidislink"] = (child.get("isPermaLink") or "true").lower() != "false"
            elif tag == "description":
                e["summary"] = _text(child)
            elif tag == "pubDate":
                e["published_parsed"] = parse_date(_text(child))
            elif tag == "author":
                authors.append({"name": _text(child)})
            elif tag == "category":
                cats.append({"term": _text(child)})
        elif cns == DC:
            if tag == "date" and "published_parsed" not in e:
                e["updated_parsed"] = parse_date(_text(child))
            elif tag == "creator":
                authors.append({"name": _text(child)})
            elif tag == "subject":
                cats.append({"term": _text(child)})
        elif cns == CONTENT and tag == "encoded":
            e["content"] = [{"value": _text(child)}]
    if ns == RSS1 and "id" not in e and item.get(f"{{{RDF}}}about"):
        e["id"] = item.get(f"{{{RDF}}}about")
        e["guidislink"] = False
    return _finish(e, item, authors, cats)


def _atom_text(el: Any) -> str:
    kind = (el.get("type") or "text").lower()
    return _inner_xml(el) if kind == "xhtml" else _text(el)


def _atom_entry(entry: Any) -> _Entry:
    e = _Entry()
    links: list[dict[str, str]] = []
    cats: list[dict[str, str]] = []
    authors: list[dict[str, str]] = []
    for child in entry:
        if _ns(child.tag) != ATOM:
            if _ns(child.tag) == DC and _local(child.tag) == "creator":
                authors.append({"name": _text(child)})
            continue
        tag = _local(child.tag)
        if tag == "title":
            e["title"] = _atom_text(child)
            lang = child.get(XML_LANG) or entry.get(XML_LANG)
            if lang:
                e["title_detail"] = {"language": lang}
        elif tag == "id":
            e["id"] = _text(child).strip()
            e["guidislink"] = False
        elif tag == "link":
            links.append({"rel": child.get("rel") or "alternate", "href": child.get("href") or ""})
        elif tag == "summary":
            e["summary"] = _atom_text(child)
        elif tag == "content":
            e["content"] = [{"value": _atom_text(child)}]
        elif tag == "published":
            e["published_parsed"] = parse_date(_text(child))
        elif tag == "updated":
            e["updated_parsed"] = parse_date(_text(child))
        elif tag == "author":
            name = next((_text(n) for n in child if _local(n.tag) == "name"), "")
            if name:
                authors.append({"name": name})
        elif tag == "category" and child.get("term"):
            cats.append({"term": child.get("term") or ""})
    if links:
        e["links"] = links
        alt = next((lk["href"] for lk in links if lk["rel"] == "alternate"), None)
        if alt:
            e["link"] = alt
    return _finish(e, entry, authors, cats)


def fast_parse(content: bytes, content_type: str | None) -> dict[str, Any] | None:
    """``{"feed": {...}, "entries": [...], "version": ...}`` like feedparser, or None."""
    try:
        root = _decode_root(content, content_type)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    tag, ns = _local(root.tag), _ns(root.tag)
    feed: dict[str, Any] = {}
    entries: list[_Entry] = []
    if tag == "rss" and ns == "":
        channel = root.find("channel")
        if channel is None:
            return None
        for child in channel:
            ctag, cns = _local(child.tag), _ns(child.tag)
            if cns == "":
                if ctag == "item":
                    entries.append(_rss_item(child, ""))
                elif ctag in ("title", "language", "ttl"):
                    feed[ctag] = _text(child).strip()
            elif cns == SY and ctag in ("updatePeriod", "updateFrequency"):
                feed["sy_" + ctag.lower()] = _text(child).strip()
        version = "rss20"
    elif tag == "RDF" and ns == RDF:
        for child in root:
            ctag, cns = _local(child.tag), _ns(child.tag)
            if cns == RSS1 and ctag == "item":
                entries.append(_rss_item(child, RSS1))
            elif cns == RSS1 and ctag == "channel":
                for c in child:
                    if _ns(c.tag) == RSS1 and _local(c.tag) == "title":
                        feed["title"] = _text(c).strip()
                    elif _ns(c.tag) == DC and _local(c.tag) == "language":
                        feed["language"] = _text(c).strip()
                    elif _ns(c.tag) == SY:
                        feed["sy_" + _local(c.tag).lower()] = _text(c).strip()
        version = "rss10"
    elif tag == "feed" and ns == ATOM:
        for child in root:
            ctag = _local(child.tag)
            if _ns(child.tag) != ATOM:
                continue
            if ctag == "entry":
                entries.append(_atom_entry(child))
            elif ctag == "title":
                feed["title"] = _atom_text(child).strip()
        version = "atom10"
    else:
        return None
    lang = feed.get("language") or root.get(XML_LANG)
    if lang:
        feed["language"] = lang
    for e in entries:  # feedparser gives the channel's language to every title
        e.setdefault("title_detail", {"language": lang} if lang else {})
    return {"feed": feed, "entries": entries, "version": version, "bozo": 0}
