"""The feed poller against fixtures served from a local HTTP server on 127.0.0.1.

Publishing to Kafka is covered in tests/integration/test_produce_dlq.py; here everything up to
the send: fetching (conditional GET, timeouts, errors), charsets, mapping, seen-memory.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from streams import feeds, settings
from streams.contract import InvalidArticle
from streams.model import Article

FEEDS_DIR = Path(__file__).resolve().parents[1] / "data" / "feeds"

CONTENT_TYPES = {
    "rss2_utf8.xml": "application/rss+xml",
    "rss1_koi8r.rdf": "application/rdf+xml; charset=koi8-r",  # charset only in the header
    "atom_cp1251.xml": "application/atom+xml",  # charset only in the XML prolog
    "rss2_latin1.xml": "text/xml",
    "rss2_utf8_bom.xml": "application/rss+xml; charset=utf-8",
    "broken.xml": "application/rss+xml",
    "invalid_items.xml": "application/rss+xml",
    "not_a_feed.html": "text/html; charset=utf-8",
    "rss2_fulltext.xml": "application/rss+xml",
    "article_ferry.html": "text/html; charset=utf-8",
}


@dataclass
class Route:
    body: bytes
    content_type: str = "application/xml"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """Serves the fixtures; honours If-None-Match/If-Modified-Since; records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                if route.delay:
                    time.sleep(route.delay)
                fresh = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified)
                self.send_response(304 if fresh and route.status == 200 else route.status)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if fresh and route.status == 200:
                    self.end_headers()
                    return
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def serve_fixture(self, name: str, **kw: object) -> str:
        body = (FEEDS_DIR / name).read_bytes().replace(b"{BASE}", self.base.encode())
        self.routes["/" + name] = Route(body, CONTENT_TYPES.get(name, "application/xml"),
                                        **kw)  # type: ignore[arg-type]
        return self.url("/" + name)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    c = httpx.Client(headers={"User-Agent": settings.load().user_agent, "Accept": feeds.ACCEPT},
                     timeout=httpx.Timeout(2.0), follow_redirects=True)
    yield c
    c.close()


def _poller(tmp_path: Path, client: httpx.Client, **opts: object) -> feeds.Poller:
    store = feeds.StateStore(tmp_path / "state.json").load()
    return feeds.Poller(store, feeds.PollerOptions(**opts), client,  # type: ignore[arg-type]
                        feeds.HostLimiter(0.0), feeds.HostLimiter(0.0))


def _articles(cands: list[feeds.Candidate]) -> list[Article]:
    return [c.result for c in cands if isinstance(c.result, Article)]


# --- parsing as served ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "source", "title", "body_words"), [
    ("rss2_utf8.xml", "Harbor Town Gazette", "Council approves the new ferry timetable & fares",
     "Fares rise by €0.20 from April 1."),
    ("rss1_koi8r.rdf", "Вестник Северной пристани", "Мост через залив откроют в апреле",
     "последнего пролёта"),
    ("atom_cp1251.xml", "Новости Заречья", "Школа получила новые компьютеры",
     "сорок новых компьютеров"),
    ("rss2_latin1.xml", "Le Petit Quotidien du Port", "La fête du café réunit élèves et aînés",
     "Crêpes, théâtre"),
    ("rss2_utf8_bom.xml", "BOM Weekly", "Zoë’s bakery wins the “best rye” prize", "— and"),
    ("broken.xml", "Broken Bugle", "Storm & flood warning for the coast", "secure boats"),
])
def test_charsets_and_markup_as_served(server: FeedServer, client: httpx.Client, tmp_path: Path,
                                       name: str, source: str, title: str,
                                       body_words: str) -> None:
    url = server.serve_fixture(name)
    result, _, cands = _poller(tmp_path, client).collect(feeds.FeedSpec(url, 600))
    assert result.error is None and result.status == 200
    arts = _articles(cands)
    assert arts, cands
    first = arts[0]
    assert first.title == title
    assert first.source == source
    assert body_words in (first.body or "")
    for a in arts:
        for text in (a.title or "", a.body or "", a.summary or ""):
            assert "<" not in text and "&amp;" not in text and "&lt;" not in text
    if name == "broken.xml":
        assert result.bozo and len(arts) == 2  # tolerated, both items recovered


def test_item_mapping(server: FeedServer, client: httpx.Client, tmp_path: Path) -> None:
    url = server.serve_fixture("rss2_utf8.xml")
    _, _, cands = _poller(tmp_path, client).collect(feeds.FeedSpec(url, 600))
    ferry, lighthouse, fish = _articles(cands)
    assert ferry.canonical_url == "https://harbor-gazette.test/news/ferry-timetable?id=17"
    assert ferry.published_at == "2024-03-05T08:15:00Z"
    assert ferry.authors == ("Mara Ellison",) and ferry.tags == ("Transport", "Council")
    assert ferry.summary == "The council voted 7–2 for the new timetable."
    assert "track()" not in (ferry.body or "")
    assert ferry.language_hint == "en-us"
    assert ferry.extra["guid"] == "gazette-0017" and ferry.extra["feed_url"] == url
    assert lighthouse.url == "https://harbor-gazette.test/news/lighthouse-reopens"  # from guid
    assert fish.published_at is None
    # the raw message carries the contract's fields, as `produce` would publish them
    raw = json.loads(cands[0].raw)
    assert raw["url"].startswith("https://www.harbor-gazette.test/") and "body" in raw


def test_item_breaking_the_contract_is_kept_for_the_dlq(server: FeedServer,
                                                        client: httpx.Client,
                                                        tmp_path: Path) -> None:
    url = server.serve_fixture("invalid_items.xml")
    _, _, cands = _poller(tmp_path, client).collect(feeds.FeedSpec(url, 600))
    bad = [c for c in cands if isinstance(c.result, InvalidArticle)]
    assert len(cands) == 2 and len(bad) == 1
    assert bad[0].result.reason == "schema"  # type: ignore[union-attr]
    assert "no-title-no-text" in bad[0].raw.decode()


def test_html_page_is_an_error_not_items(server: FeedServer, client: httpx.Client,
                                         tmp_path: Path) -> None:
    url = server.serve_fixture("not_a_feed.html")
    result, _, cands = _poller(tmp_path, client).collect(feeds.FeedSpec(url, 600))
    assert cands == [] and result.error and "not a feed" in result.error


# --- HTTP behaviour ---------------------------------------------------------------------------


def test_conditional_get_and_user_agent(server: FeedServer, client: httpx.Client) -> None:
    url = server.serve_fixture("rss2_utf8.xml", etag='"v1"',
                               last_modified="Tue, 05 Mar 2024 10:00:00 GMT")
    first = feeds.fetch(client, url, None, None, 1 << 20)
    assert first.status == 200 and first.etag == '"v1"' and first.content
    second = feeds.fetch(client, url, first.etag, first.last_modified, 1 << 20)
    assert second.status == 304 and second.content is None and second.error is None
    hits = server.hits("/rss2_utf8.xml")
    assert "If-None-Match" not in hits[0] and hits[1]["If-None-Match"] == '"v1"'
    assert hits[1]["If-Modified-Since"] == "Tue, 05 Mar 2024 10:00:00 GMT"
    assert hits[0]["User-Agent"] == settings.load().user_agent


def test_errors_timeouts_and_size_limit(server: FeedServer) -> None:
    server.routes["/down"] = Route(b"oops", status=503, headers={"Retry-After": "120"})
    server.routes["/slow"] = Route(b"<rss/>", delay=1.5)
    server.routes["/big"] = Route(b"x" * 5000)
    with httpx.Client(timeout=httpx.Timeout(0.3)) as c:
        down = feeds.fetch(c, server.url("/down"), None, None, 1 << 20)
        slow = feeds.fetch(c, server.url("/slow"), None, None, 1 << 20)
        big = feeds.fetch(c, server.url("/big"), None, None, 1000)
        refused = feeds.fetch(c, "http://127.0.0.1:1/feed", None, None, 1000)
    assert down.status == 503 and down.error == "HTTP 503 Service Unavailable"
    assert down.retry_after == 120
    assert slow.status == 0 and "Timeout" in (slow.error or "")
    assert big.status == 0 and "larger than 1000" in (big.error or "")
    assert refused.status == 0 and refused.error


def test_backoff_grows_caps_and_honours_retry_after() -> None:
    mid = lambda: 0.5  # noqa: E731  (no jitter)
    assert feeds.backoff_delay(600, 0, rand=mid) == 600
    assert feeds.backoff_delay(600, 1, rand=mid) == 600
    assert feeds.backoff_delay(600, 3, rand=mid) == 2400
    assert feeds.backoff_delay(30, 1, rand=mid) == 60
    assert feeds.backoff_delay(600, 30, rand=mid) == feeds.MAX_BACKOFF
    assert feeds.backoff_delay(60, 1, retry_after=900, rand=mid) == 900
    low, high = feeds.backoff_delay(100, 0, rand=lambda: 0.0), feeds.backoff_delay(
        100, 0, rand=lambda: 1.0)
    assert low == pytest.approx(90) and high == pytest.approx(110)


def test_host_limiter_spaces_requests_per_host() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = feeds.HostLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    assert lim.wait("a.test") == 0
    assert lim.wait("b.test") == 0  # another host is not held back
    now[0] += 0.5
    assert lim.wait("a.test") == pytest.approx(1.5)
    now[0] += 5
    assert lim.wait("a.test") == 0
    assert slept == [pytest.approx(1.5)]


# --- memory of what was published ------------------------------------------------------------


def test_seen_items_are_not_offered_again_after_a_restart(server: FeedServer,
                                                          client: httpx.Client,
                                                          tmp_path: Path) -> None:
    url = server.serve_fixture("rss2_utf8.xml")
    poller = _poller(tmp_path, client)
    _, _, cands = poller.collect(feeds.FeedSpec(url, 600))
    assert len(cands) == 3
    # only what Kafka acknowledged is remembered: pretend two were acknowledged
    for c in cands[:2]:
        poller.store.seen[c.key] = time.time()
    poller.store.save()
    restarted = _poller(tmp_path, client)
    _, _, again = restarted.collect(feeds.FeedSpec(url, 600))
    assert [c.key for c in again] == [cands[2].key]


def test_state_file_roundtrip_prune_and_lock(tmp_path: Path) -> None:
    path = tmp_path / "s" / "state.json"
    store = feeds.StateStore(path)
    store.lock()
    store.feed("https://a.test/feed").etag = '"e"'
    now = time.time()
    store.seen = {"fresh": now, "old": now - (feeds.SEEN_DAYS + 1) * 86400}
    store.save(now)
    other = feeds.StateStore(path)
    with pytest.raises(RuntimeError, match="another"):
        other.lock()
    store.unlock()
    other.lock()
    other.load()
    assert other.feeds["https://a.test/feed"].etag == '"e"'
    assert set(other.seen) == {"fresh"}
    assert not path.with_name("state.json.tmp").exists()
    other.unlock()


def test_full_text_replaces_a_teaser(server: FeedServer, client: httpx.Client,
                                     tmp_path: Path) -> None:
    server.serve_fixture("article_ferry.html")
    url = server.serve_fixture("rss2_fulltext.xml")
    _, _, plain = _poller(tmp_path, client).collect(feeds.FeedSpec(url, 600))
    assert _articles(plain)[0].body == "Short teaser."
    _, _, full = _poller(tmp_path / "b", client, full_text=True).collect(
        feeds.FeedSpec(url, 600))
    body = _articles(full)[0].body or ""
    assert "four hundred residents" in body and "Copyright" not in body
    assert _articles(full)[0].extra.get("full_text") is True
    assert server.hits("/article_ferry.html")


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("html", "expected"), [
    ("<p>One</p><p>Two &amp; three</p>", "One\n\nTwo & three"),
    ("AT&amp;amp;T &lt;b&gt;bold&lt;/b&gt;", "AT&T bold"),
    ("a<br/>b<script>x()</script><style>p{}</style>", "a\nb"),
    ("  spaced\u00a0 out\t\ttext ", "spaced out text"),
    ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
    ("", ""),
])
def test_clean_text(html: str, expected: str) -> None:
    assert feeds.clean_text(html) == expected


def test_feed_list_file_format() -> None:
    specs = feeds.read_feed_list([
        "# my feeds", "", "https://a.test/rss  15m  # fast", "http://b.test/atom",
        " https://c.test/x 3600",
    ], 600)
    assert specs == [feeds.FeedSpec("https://a.test/rss", 900),
                     feeds.FeedSpec("http://b.test/atom", 600),
                     feeds.FeedSpec("https://c.test/x", 3600)]
    with pytest.raises(ValueError, match="line 1"):
        feeds.read_feed_list(["ftp://x"], 60)
    assert feeds.parse_duration("2h") == 7200 and feeds.parse_duration("90") == 90
