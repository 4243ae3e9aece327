"""Canonical URLs and stable article ids.

Why: the same story reaches us as ``https://www.example.com/a?utm_source=x``,
``http://m.example.com:80/a#top`` and ``https://example.com/a/amp``; they must share one
Kafka key and one Elasticsearch ``_id`` (the SHA-256 of the canonical URL, as Media Cloud's
story-indexer does). :func:`canonicalize` never raises and is idempotent
(``canonicalize(canonicalize(u)) == canonicalize(u)``), which the property tests check.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from urllib.parse import unquote_plus, urlsplit

# Query parameters that only track the reader, never select content.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid",
        "mc_cid", "mc_eid", "igshid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
        "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid", "twclid", "ttclid",
        "li_fat_id", "wt_mc", "wt.mc_id", "cmpid", "ncid", "sr_share", "spm", "amp",
        "_openstat", "from_yandex",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "hsa_", "at_")
# Host prefixes that are mirrors of the canonical site (mobile, AMP cache, "www").
MIRROR_HOST_PREFIXES: tuple[str, ...] = ("www.", "m.", "amp.", "mobile.")
DEFAULT_PORTS = {"http": 80, "https": 443}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters that may stay literal in a path / query component (RFC 3986 pchar + "/" "?").
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})|%|[^%]", re.DOTALL)
_HOST_OK = re.compile(r"^[a-z0-9_\-.]+$|^\[[0-9a-f:.]+\]$")


def _normalize_pct(text: str, safe: frozenset[str]) -> str:
    """Uppercase %-escapes, decode escaped unreserved chars, escape everything unsafe.

    A lone ``%`` becomes ``%25``, so the output only ever contains complete escapes: that is
    what makes the function a fixpoint after one application.
    """

    def one(m: re.Match[str]) -> str:
        hexpair = m.group(1)
        if hexpair is not None:
            ch = chr(int(hexpair, 16))
            return ch if ch in _UNRESERVED else "%" + hexpair.upper()
        tok = m.group(0)
        if tok == "%":
            return "%25"
        if tok in safe:
            return tok
        return "".join(f"%{b:02X}" for b in tok.encode("utf-8", "surrogatepass"))

    if "%" not in text and set(text) <= safe:  # the common case: nothing to change
        return text
    return _PCT.sub(one, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one URL."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def _strip_amp_path(path: str) -> str:
    """Drop AMP path markers: ``/story/amp``, ``/story/amp/`` and ``/amp/story``."""
    while True:
        before = path
        if path.endswith("/amp"):
            path = path[: -len("/amp")] or "/"
        elif path.endswith("/amp/"):
            path = path[: -len("amp/")]
        if path.startswith("/amp/"):
            path = path[len("/amp") :]
        if path == before:
            return path


@functools.lru_cache(maxsize=8192)
def _canonical_host(host: str) -> str | None:
    """Remembered: a feed's or a crawl's URLs share a few hosts, and IDNA encoding is the
    costliest step of canonicalizing one."""
    host = host.strip().lower().rstrip(".")
    if not host:
        return None
    if not host.startswith("["):
        with contextlib.suppress(UnicodeError, ValueError):
            host = host.encode("idna").decode("ascii").lower()
    if not _HOST_OK.match(host):
        return None
    changed = True
    while changed:
        changed = False
        for prefix in MIRROR_HOST_PREFIXES:
            rest = host[len(prefix) :]
            if host.startswith(prefix) and "." in rest and not rest.startswith("."):
                host = rest
                changed = True
    return host


def _is_tracking(key: str) -> bool:
    k = unquote_plus(key).strip().lower()
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES)


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key = part.split("=", 1)[0]
        if _is_tracking(key):
            continue
        pairs.append(_normalize_pct(part, _QUERY_SAFE))
    pairs.sort()
    return "&".join(pairs)


def _unescape_amp(url: str) -> str:
    """``&amp;`` left by HTML/XML escaping; only this entity (``&copy=1`` is a parameter)."""
    while "&amp;" in url:
        url = url.replace("&amp;", "&")
    return url


def canonicalize(url: str) -> str:
    """The canonical form of an http(s) URL; other strings come back stripped, unchanged."""
    try:
        return _canonicalize(url)
    except Exception:  # never raise: a bad URL is the contract's business, not ours
        return url.strip() if isinstance(url, str) else ""


def _canonicalize(url: str) -> str:
    raw = url.strip()
    text = _unescape_amp(raw)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return raw
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return raw
        host, portpart = hostport[: end + 1], hostport[end + 1 :]
        if portpart and not portpart.startswith(":"):
            return raw
        port_text = portpart[1:]
    else:
        host, _, port_text = hostport.partition(":")
    chost = _canonical_host(host)
    if chost is None:
        return raw
    port: int | None = None
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
            return raw
        port = int(port_text)
        if port == DEFAULT_PORTS[scheme]:
            port = None
    netloc = chost if port is None else f"{chost}:{port}"
    del userinfo  # credentials never identify an article (and must not leak into ids)
    path = _normalize_pct(parts.path, _PATH_SAFE) or "/"
    path = _strip_amp_path(_remove_dot_segments(path))
    query = _canonical_query(parts.query)
    out = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    # A literal "&amp;" rebuilt from escapes ("&%61mp;") would be unescaped by the next call.
    return out.replace("&amp;", "&%61mp;")


def article_id(canonical: str) -> str:
    """SHA-256 hex of the canonical URL: 64 characters, the Elasticsearch ``_id``.

    Not truncated: ids are compared across systems (Media Cloud uses the full digest) and
    64 bytes per document is nothing next to an article.
    """
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def host_of(url: str) -> str:
    """Lowercased host of a URL without mirror prefixes, or ``""``."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return _canonical_host(host) or host
