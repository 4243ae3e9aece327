"""``newsstream feeds``: poll RSS 2.0 / RSS 1.0 / Atom feeds into the ``articles`` topic.

Why it is built this way:

- Polite polling: conditional GET (ETag / Last-Modified), one interval per feed, exponential
  backoff on errors (``Retry-After`` honoured), a minimum gap between requests to one host, a
  real User-Agent and timeouts.
- At-least-once without repeats: an item is remembered as *seen* only after Kafka acknowledged
  it (Redpanda Connect's warning: marking first loses the item on a crash), and the feed's
  ETag is kept only when every new item of that response was acknowledged, so a 304 never
  hides an item that failed to publish. The memory is a small JSON state file, written
  atomically, so it survives restarts.
- Items that break the contract go to the dead-letter topic (stage ``feeds``), never nowhere.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import heapq
import html
import json
import logging
import os
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from streams import contract, dlq, metrics, settings, urls
from streams.contract import InvalidArticle
from streams.model import Article

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # we print one line per poll ourselves

ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
MAX_BACKOFF = 6 * 3600.0
SEEN_DAYS = 180.0
_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|&(#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


# --- text cleaning ----------------------------------------------------------------------------


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
    text = _strip_markup(value)
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


# --- mapping feed items to the contract ------------------------------------------------------


@dataclass
class ParsedFeed:
    title: str
    language: str | None
    records: list[dict[str, Any]]
    bozo: str | None  # why the parser had to tolerate the document, if it did
    version: str


def _struct_to_rfc3339(st: Any) -> str | None:
    if not st:
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", st)
    except (TypeError, ValueError):
        return None


def _http_url(value: Any) -> str | None:
    if isinstance(value, str) and re.match(r"^\s*https?://", value, re.I):
        return value.strip()
    return None


def entry_record(entry: Any, feed_title: str, feed_url: str, language: str | None
                 ) -> dict[str, Any]:
    """One feedparser entry -> a record in the input contract's shape."""
    guid = entry.get("id") or entry.get("guid")
    link = _http_url(entry.get("link"))
    if link is None:
        for alt in entry.get("links") or []:
            if alt.get("rel", "alternate") == "alternate" and _http_url(alt.get("href")):
                link = alt["href"].strip()
                break
    if link is None and entry.get("guidislink", True):
        link = _http_url(guid)
    contents = [c.get("value", "") for c in entry.get("content") or [] if c.get("value")]
    body_html = max(contents, key=len) if contents else ""
    summary_html = entry.get("summary") or ""
    body = clean_text(body_html) if body_html else clean_text(summary_html)
    summary = clean_text(summary_html) if body_html and summary_html else ""
    record: dict[str, Any] = {
        "title": clean_text(entry.get("title"), single_line=True) or None,
        "body": body or None,
        "source": feed_title or urls.host_of(feed_url) or None,
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
    entry_lang = (entry.get("title_detail") or {}).get("language") or language
    if entry_lang and _LANG.match(entry_lang):
        record["language"] = entry_lang
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


def parse_feed(content: bytes, content_type: str | None, feed_url: str) -> ParsedFeed:
    """Bytes as served (any charset the headers or the XML prolog declare) -> records."""
    import feedparser

    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(content, response_headers=headers)
    feed = parsed.get("feed", {})
    title = clean_text(feed.get("title"), single_line=True)
    language = feed.get("language")
    bozo = repr(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    records = [entry_record(e, title, feed_url, language) for e in parsed.get("entries", [])]
    return ParsedFeed(title, language, records, bozo, parsed.get("version") or "")


# --- state --------------------------------------------------------------------------------


@dataclass
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    errors: int = 0
    last_status: int | None = None
    last_error: str | None = None
    last_polled: float | None = None
    title: str | None = None


class StateStore:
    """The poller's memory: per-feed HTTP validators and the ids already published.

    ``seen`` maps article id -> last time it was in a feed; ids absent from every feed for
    ``SEEN_DAYS`` are forgotten, so the file stays small.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.feeds: dict[str, FeedState] = {}
        self.seen: dict[str, float] = {}
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """One poller per state file: a second would republish what the first is sending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(self.path) + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RuntimeError(f"another `newsstream feeds` uses {self.path}") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def load(self) -> StateStore:
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.feeds = {u: FeedState(**f) for u, f in data.get("feeds", {}).items()}
            self.seen = {k: float(v) for k, v in data.get("seen", {}).items()}
        return self

    def save(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        horizon = now - SEEN_DAYS * 86400
        self.seen = {k: t for k, t in self.seen.items() if t >= horizon}
        data = {"version": 1, "feeds": {u: vars(f) for u, f in self.feeds.items()},
                "seen": self.seen}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def feed(self, url: str) -> FeedState:
        return self.feeds.setdefault(url, FeedState())


# --- HTTP -----------------------------------------------------------------------------------


class HostLimiter:
    """At most one request per ``min_gap`` seconds to each host (clock injectable for tests)."""

    def __init__(self, min_gap: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        self.min_gap = min_gap
        self.clock = clock
        self.sleep = sleep
        self.last: dict[str, float] = {}

    def wait(self, host: str) -> float:
        """Block until ``host`` may be asked again; return the seconds waited."""
        now = self.clock()
        due = self.last.get(host, -1e18) + self.min_gap
        waited = 0.0
        if due > now:
            waited = due - now
            self.sleep(waited)
        self.last[host] = max(now, due)
        return waited


@dataclass
class FetchResult:
    status: int  # 0 when the request itself failed
    content: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    error: str | None = None
    final_url: str | None = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def fetch(client: Any, url: str, etag: str | None, last_modified: str | None,
          max_bytes: int) -> FetchResult:
    """One conditional GET; never raises (network errors come back as status 0)."""
    import httpx

    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with client.stream("GET", url, headers=headers) as resp:
            result = FetchResult(
                status=resp.status_code,
                content_type=resp.headers.get("content-type"),
                etag=resp.headers.get("etag"),
                last_modified=resp.headers.get("last-modified"),
                retry_after=_retry_after(resp.headers.get("retry-after")),
                final_url=str(resp.url),
            )
            if resp.status_code != 200:
                if resp.status_code != 304:
                    result.error = f"HTTP {resp.status_code} {resp.reason_phrase}"
                return result
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    result.status = 0
                    result.error = f"response larger than {max_bytes} bytes"
                    return result
                chunks.append(chunk)
            result.content = b"".join(chunks)
            return result
    except httpx.HTTPError as exc:
        return FetchResult(status=0, error=f"{type(exc).__name__}: {exc}")


def backoff_delay(interval: float, errors: int, retry_after: float | None = None,
                  jitter: float = 0.1, rand: Callable[[], float] = random.random) -> float:
    """Seconds until the next poll: the interval, doubled per consecutive error, capped."""
    if errors <= 0:
        delay = interval
    else:
        delay = min(max(interval, 60.0) * 2 ** (errors - 1), MAX_BACKOFF)
        delay = max(delay, interval)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF))
    return delay * (1 + jitter * (2 * rand() - 1))


# --- the poller -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedSpec:
    url: str
    interval: float


@dataclass
class Candidate:
    """A new item: its raw message, and the Article or the reason it is invalid."""

    key: str  # the seen-key (article id)
    raw: bytes
    result: Article | InvalidArticle


@dataclass
class PollResult:
    url: str
    status: int
    items: int = 0
    new: int = 0
    published: int = 0
    invalid: int = 0
    failed: int = 0
    error: str | None = None
    bozo: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0

    def line(self) -> str:
        if self.status == 304 and not self.error:
            return f"{self.url}: not modified"
        head = f"{self.url}: " + (f"HTTP {self.status}" if self.status else "no response")
        if self.error and not self.failed:
            return f"{head}, error: {self.error}"
        text = f"{head}, {self.items} items, {self.new} new, {self.published} published"
        if self.invalid:
            text += f", {self.invalid} invalid (dead-lettered)"
        if self.failed:
            text += f", {self.failed} FAILED to publish, retried next poll ({self.error})"
        if self.bozo:
            text += f", tolerated malformed feed: {self.bozo[:120]}"
        return text


def seen_key(record: dict[str, Any], raw: bytes) -> str:
    if record.get("id"):
        return str(record["id"])
    if record.get("url"):
        return urls.article_id(urls.canonicalize(record["url"]))
    return hashlib.sha256(raw).hexdigest()


def fetch_full_text(client: Any, url: str, max_bytes: int) -> str | None:
    """The article page's main text by trafilatura, or None."""
    import trafilatura

    res = fetch(client, url, None, None, max_bytes)
    if res.status != 200 or not res.content:
        log.info("full text: fetch failed", extra={"url": url, "error": res.error})
        return None
    try:
        return trafilatura.extract(res.content, url=url, include_comments=False,
                                   include_tables=False)
    except Exception as exc:  # an extractor bug must not stop the poller
        log.warning("full text: extraction failed", extra={"url": url, "error": repr(exc)})
        return None


@dataclass
class PollerOptions:
    max_bytes: int = 2 * 1024 * 1024
    feed_max_bytes: int = 20 * 1024 * 1024
    full_text: bool = False
    timeout: float = 20.0
    user_agent: str = "newsstream"


class Poller:
    """Polls feeds and hands new items to ``sink`` (anything with kafka-python's send/flush)."""

    def __init__(self, store: StateStore, opts: PollerOptions, client: Any,
                 limiter: HostLimiter, page_limiter: HostLimiter | None = None) -> None:
        self.store = store
        self.opts = opts
        self.client = client
        self.limiter = limiter
        self.page_limiter = page_limiter or HostLimiter(limiter.min_gap)

    def collect(self, spec: FeedSpec) -> tuple[PollResult, FetchResult, list[Candidate]]:
        """Fetch and parse one feed; return its not-yet-seen items (nothing is sent here)."""
        st = self.store.feed(spec.url)
        self.limiter.wait(urls.host_of(spec.url))
        res = fetch(self.client, spec.url, st.etag, st.last_modified, self.opts.feed_max_bytes)
        out = PollResult(spec.url, res.status, error=res.error)
        if res.status != 200 or res.content is None:
            return out, res, []
        parsed = parse_feed(res.content, res.content_type, spec.url)
        out.bozo = parsed.bozo
        if not parsed.records and parsed.bozo and not parsed.version:
            out.error = f"not a feed ({parsed.bozo[:200]})"
            return out, res, []
        st.title = parsed.title or st.title
        out.items = len(parsed.records)
        now = time.time()
        candidates: list[Candidate] = []
        keys: set[str] = set()
        for record in parsed.records:
            raw = json.dumps(record, ensure_ascii=False).encode("utf-8")
            key = seen_key(record, raw)
            if key in self.store.seen:
                self.store.seen[key] = now  # still in the feed: keep remembering it
                continue
            if key in keys:
                continue
            keys.add(key)
            candidates.append(Candidate(key, raw, self._validate(record, raw)))
        out.new = len(candidates)
        return out, res, candidates

    def _validate(self, record: dict[str, Any], raw: bytes) -> Article | InvalidArticle:
        try:
            article = contract.parse_article(raw, self.opts.max_bytes)
        except InvalidArticle as exc:
            return exc
        if self.opts.full_text and article.url:
            self.page_limiter.wait(urls.host_of(article.url))
            text = fetch_full_text(self.client, article.url, self.opts.feed_max_bytes)
            if text and len(text.strip()) > len(article.body or ""):
                record = dict(record, body=text.strip(), full_text=True)
                raw = json.dumps(record, ensure_ascii=False).encode("utf-8")
                try:
                    return contract.parse_article(raw, self.opts.max_bytes)
                except InvalidArticle:
                    return article
        return article

    def publish(self, spec: FeedSpec, out: PollResult, res: FetchResult,
                candidates: list[Candidate], sink: Any, topic: str, dlq_topic: str) -> None:
        """Send new items; remember those Kafka acknowledged; keep validators only if all were."""
        st = self.store.feed(spec.url)
        sent = []
        for cand in candidates:
            try:
                if isinstance(cand.result, InvalidArticle):
                    env = dlq.make_envelope(
                        cand.raw, "feeds", cand.result.reason, cand.result.message,
                        topic=spec.url, max_original=self.opts.max_bytes)
                    fut = sink.send(dlq_topic, key=dlq.envelope_key(env),
                                    value=dlq.encode_envelope(env))
                else:
                    fut = sink.send(topic, key=contract.message_key(cand.result), value=cand.raw)
                sent.append((cand, fut))
            except Exception as exc:
                out.failed += 1
                out.error = out.error or f"publish: {exc!r}"
        try:
            from streams import kafka_io

            kafka_io.flush(sink)
        except Exception as exc:  # the futures below say which sends failed
            log.warning("flush failed", extra={"feed": spec.url, "error": repr(exc)})
        now = time.time()
        for cand, fut in sent:
            try:
                fut.get(timeout=60)
            except Exception as exc:
                out.failed += 1
                out.error = out.error or f"publish: {exc!r}"
                continue
            self.store.seen[cand.key] = now
            if isinstance(cand.result, InvalidArticle):
                out.invalid += 1
                metrics.DEAD_LETTERS.labels("feeds", cand.result.reason).inc()
            else:
                out.published += 1
        if out.failed == 0:
            st.etag, st.last_modified = res.etag, res.last_modified

    def poll(self, spec: FeedSpec, sink: Any, topic: str, dlq_topic: str) -> PollResult:
        """One poll of one feed, with its state updated and saved."""
        st = self.store.feed(spec.url)
        try:
            out, res, candidates = self.collect(spec)
            if candidates:
                self.publish(spec, out, res, candidates, sink, topic, dlq_topic)
            elif res.status == 200 and out.error is None:
                st.etag, st.last_modified = res.etag, res.last_modified
        except Exception as exc:  # one broken feed must never stop the others
            log.exception("feed poll failed", extra={"feed": spec.url})
            out = PollResult(spec.url, 0, error=f"{type(exc).__name__}: {exc}")
            res = FetchResult(status=0)
        st.last_status = out.status
        st.last_polled = time.time()
        st.last_error = out.error
        st.errors = 0 if out.ok else st.errors + 1
        out.retry_after = res.retry_after
        self.store.save()
        return out


# --- feed lists and the command --------------------------------------------------------------


def parse_duration(text: str) -> float:
    """``600``, ``90s``, ``15m``, ``2h`` -> seconds."""
    text = text.strip().lower()
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:])
    return float(text[:-1]) * mult if mult else float(text)


def read_feed_list(lines: Iterable[str], default_interval: float) -> list[FeedSpec]:
    """``URL [interval]`` per line; ``#`` starts a comment."""
    specs = []
    for n, line in enumerate(lines, 1):
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if not _http_url(parts[0]):
            raise ValueError(f"line {n}: {parts[0]!r} is not an http(s) URL")
        interval = parse_duration(parts[1]) if len(parts) > 1 else default_interval
        specs.append(FeedSpec(parts[0], interval))
    return specs


def default_state_path(s: settings.Settings) -> Path:
    return Path(s.feeds_state) if s.feeds_state else Path(s.services_dir) / "feeds-state.json"


def run(specs: list[FeedSpec], poller: Poller, sink: Any, topic: str, dlq_topic: str,
        once: bool, stop: threading.Event) -> list[PollResult]:
    """Poll each feed once (``once``) or forever on its own schedule until ``stop`` is set."""
    results: list[PollResult] = []
    if once:
        for spec in specs:
            if stop.is_set():
                break
            results.append(poller.poll(spec, sink, topic, dlq_topic))
            print(results[-1].line(), file=sys.stderr)
        return results
    queue: list[tuple[float, int]] = [(time.monotonic(), i) for i in range(len(specs))]
    heapq.heapify(queue)
    while queue and not stop.is_set():
        due, i = heapq.heappop(queue)
        if stop.wait(max(0.0, due - time.monotonic())):
            break
        spec = specs[i]
        result = poller.poll(spec, sink, topic, dlq_topic)
        print(result.line(), file=sys.stderr)
        st = poller.store.feed(spec.url)
        delay = backoff_delay(spec.interval, st.errors, result.retry_after)
        heapq.heappush(queue, (time.monotonic() + delay, i))
    return results


def cmd_feeds(args: argparse.Namespace) -> int:
    import httpx

    from streams import kafka_io

    s = settings.load()
    try:
        interval = parse_duration(args.interval)
        specs = read_feed_list(args.urls, interval)
        if args.file:
            with open(args.file, encoding="utf-8") as f:
                specs += read_feed_list(f, interval)
    except (OSError, ValueError) as e:
        print(f"feeds: {e}", file=sys.stderr)
        return 2
    if not specs:
        print("feeds: no feeds given (URLs or --file)", file=sys.stderr)
        return 2
    store = StateStore(Path(args.state) if args.state else default_state_path(s))
    try:
        store.lock()
    except RuntimeError as e:
        print(f"feeds: {e}", file=sys.stderr)
        return 2
    store.load()
    opts = PollerOptions(max_bytes=s.max_message_bytes, full_text=args.full_text,
                         timeout=args.timeout, user_agent=s.user_agent)
    topic = args.topic or s.topic_articles
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with contextlib.suppress(Exception):
        kafka_io.ensure_topics(s, [topic, s.topic_dlq])
    producer = kafka_io.producer(s)
    client = httpx.Client(
        headers={"User-Agent": s.user_agent, "Accept": ACCEPT},
        timeout=httpx.Timeout(args.timeout), follow_redirects=True,
    )
    try:
        poller = Poller(store, opts, client, HostLimiter(args.host_interval),
                        HostLimiter(args.full_text_interval))
        results = run(specs, poller, producer, topic, s.topic_dlq, args.once, stop)
    finally:
        client.close()
        producer.close(timeout=30)
        store.unlock()
    if args.once:
        total = sum(r.published for r in results)
        bad = sum(r.invalid for r in results)
        failed = [r for r in results if not r.ok]
        print(f"{len(results)} feeds polled, {total} articles published to {topic}, {bad} "
              f"dead-lettered, {len(failed)} feeds failed", file=sys.stderr)
        return 1 if failed else 0
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("feeds", help="poll RSS/Atom feeds into the input topic")
    p.add_argument("urls", nargs="*", metavar="URL", help="feed URLs")
    p.add_argument("-f", "--file", help="file of feeds: 'URL [interval]' per line, # comments")
    p.add_argument("--once", action="store_true", help="poll each feed once and exit")
    p.add_argument("--interval", default="10m", help="default polling interval (600, 10m, 1h)")
    p.add_argument("--state", help="state file (seen items, ETags); default from settings")
    p.add_argument("--full-text", action="store_true",
                   help="fetch each new article's page and extract its text (trafilatura)")
    p.add_argument("--host-interval", type=float, default=1.0,
                   help="minimum seconds between feed requests to one host")
    p.add_argument("--full-text-interval", type=float, default=2.0,
                   help="minimum seconds between article-page requests to one host")
    p.add_argument("--timeout", type=float, default=20.0, help="HTTP timeout in seconds")
    p.add_argument("--topic", help="target topic (default: the input topic)")
    p.set_defaults(func=cmd_feeds)
