"""The feed poller's fetching and parsing against a local HTTP server on 127.0.0.1.

Publishing to Kafka is covered in tests/integration/ingest/test_feeds.py; here everything up to the
send: fetching (conditional GET, deadline, redirects, address checks, size caps), charsets,
mapping, and the poller's bookkeeping with an in-memory publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streams import settings
from streams.ingest.feeds import fetch as F
from streams.ingest.feeds import parse as P
from streams.ingest.feeds.poller import Message, PollConfig, Poller, make_client, make_pool
from streams.ingest.feeds.schedule import Policy
from streams.ingest.feeds.state import Store

FEEDS_DIR = Path(__file__).resolve().parents[2] / "data" / "feeds"
LOCAL = F.parse_networks("127.0.0.0/8")

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
    trickle: float = 0.0  # seconds between single body bytes


class FeedServer:
    """Serves the fixtures; honours If-None-Match/If-Modified-Since; records every request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
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
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if route.trickle:
                        for i in range(len(route.body)):
                            if server.stop.wait(route.trickle):
                                return
                            self.wfile.write(route.body[i:i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(route.body)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def serve_fixture(self, name: str, **kw: Any) -> str:
        body = (FEEDS_DIR / name).read_bytes().replace(b"{BASE}", self.base.encode())
        self.routes["/" + name] = Route(body, CONTENT_TYPES.get(name, "application/xml"), **kw)
        return self.url("/" + name)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _fetch(url: str, **kw: Any) -> F.FetchResult:
    async with make_client(settings.load().user_agent, 4, LOCAL) as client:
        kw.setdefault("max_bytes", 1 << 20)
        kw.setdefault("deadline", 5.0)
        kw.setdefault("allow", LOCAL)
        return await F.fetch(client, url, **kw)


def _parse(server: FeedServer, name: str, **kw: Any) -> P.ParsedFeed:
    url = server.serve_fixture(name)
    res = run(_fetch(url))
    assert res.status == 200 and res.content, res
    return P.parse_feed(res.content, res.content_type, url, 2 << 20, **kw)


def _records(parsed: P.ParsedFeed) -> list[dict[str, Any]]:
    return [json.loads(i.raw) for i in parsed.items if i.reason is None]


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
def test_charsets_and_markup_as_served(server: FeedServer, name: str, source: str, title: str,
                                       body_words: str) -> None:
    parsed = _parse(server, name)
    assert parsed.not_a_feed is None
    recs = _records(parsed)
    assert recs
    assert recs[0]["title"] == title and recs[0]["source"] == source
    assert body_words in recs[0].get("body", "")
    for r in recs:
        for text in (r.get("title", ""), r.get("body", ""), r.get("summary", "")):
            assert "<" not in text and "&amp;" not in text and "&lt;" not in text
    if name == "broken.xml":
        assert parsed.bozo and len(recs) == 2  # tolerated, both items recovered


def test_item_mapping_and_language_hint(server: FeedServer) -> None:
    parsed = _parse(server, "rss2_utf8.xml")
    ferry, lighthouse, fish = _records(parsed)
    assert ferry["url"] == ("https://www.harbor-gazette.test/news/ferry-timetable"
                            "?utm_source=rss&utm_medium=feed&id=17")  # as served; keyed canonical
    assert ferry["published_at"] == "2024-03-05T08:15:00Z"
    assert ferry["authors"] == ["Mara Ellison"] and ferry["tags"] == ["Transport", "Council"]
    assert ferry["summary"] == "The council voted 7–2 for the new timetable."
    assert "track()" not in ferry["body"]
    assert ferry["language"] == "en-us"  # the channel's, no hint given
    assert ferry["guid"] == "gazette-0017"
    assert lighthouse["url"] == "https://harbor-gazette.test/news/lighthouse-reopens"  # from guid
    assert "published_at" not in fish
    assert parsed.items[0].message_key == b"https://harbor-gazette.test/news/ferry-timetable?id=17"
    # the operator's hint and name win over the channel's (often a CMS default)
    hinted = _records(_parse(server, "rss2_utf8.xml", source_name="Gazette", language_hint="en-GB"))
    assert hinted[0]["language"] == "en-GB" and hinted[0]["source"] == "Gazette"


def test_item_breaking_the_contract_is_kept_for_the_dlq(server: FeedServer) -> None:
    parsed = _parse(server, "invalid_items.xml")
    bad = [i for i in parsed.items if i.reason is not None]
    assert len(parsed.items) == 2 and len(bad) == 1
    assert bad[0].reason == "schema" and "no-title-no-text" in bad[0].raw.decode()


def test_html_page_is_not_a_feed(server: FeedServer) -> None:
    parsed = _parse(server, "not_a_feed.html")
    assert parsed.items == [] and parsed.not_a_feed and "not a feed" in parsed.not_a_feed


def test_body_naming_a_local_path_is_not_opened(tmp_path: Path) -> None:
    """feedparser given bytes tries them as a path: a body '/dev/zero' would read forever."""
    local = tmp_path / "local.xml"
    local.write_bytes((FEEDS_DIR / "rss2_utf8.xml").read_bytes())
    for body in (b"/dev/zero", str(local).encode()):
        parsed = P.parse_in_pool(body, "application/rss+xml", "http://127.0.0.1/x",
                                 1 << 20, None, None)
        assert parsed.items == [] and parsed.not_a_feed


def test_update_hints_ttl_and_syndication() -> None:
    rss = (b'<?xml version="1.0"?><rss version="2.0" '
           b'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>'
           b'<ttl>90</ttl><sy:updatePeriod>daily</sy:updatePeriod>'
           b'<sy:updateFrequency>2</sy:updateFrequency>'
           b'<item><title>a</title><link>https://a.test/1</link></item></channel></rss>')
    parsed = P.parse_feed(rss, "application/rss+xml", "https://a.test/f", 1 << 20)
    assert parsed.hint_seconds == 43200  # max(ttl 90 min, daily/2)
    assert P.update_hint({"ttl": "15"}) == 900 and P.update_hint({}) is None


# --- HTTP behaviour ---------------------------------------------------------------------------


def test_conditional_get_and_user_agent(server: FeedServer) -> None:
    url = server.serve_fixture("rss2_utf8.xml", etag='"v1"',
                               last_modified="Tue, 05 Mar 2024 10:00:00 GMT")
    first = run(_fetch(url))
    assert first.status == 200 and first.etag == '"v1"' and first.content
    second = run(_fetch(url, etag=first.etag, last_modified=first.last_modified))
    assert second.status == 304 and second.content is None and second.error is None
    hits = server.hits("/rss2_utf8.xml")
    assert "If-None-Match" not in hits[0] and hits[1]["If-None-Match"] == '"v1"'
    assert hits[1]["If-Modified-Since"] == "Tue, 05 Mar 2024 10:00:00 GMT"
    assert hits[0]["User-Agent"] == settings.load().user_agent


def test_errors_size_limit_and_cache_headers(server: FeedServer) -> None:
    server.routes["/down"] = Route(b"oops", status=503, headers={"Retry-After": "120"})
    server.routes["/big"] = Route(b"x" * 5000)
    server.routes["/cached"] = Route(b"<rss/>", headers={"Cache-Control": "public, max-age=1800"})
    down = run(_fetch(server.url("/down")))
    big = run(_fetch(server.url("/big"), max_bytes=1000))
    cached = run(_fetch(server.url("/cached")))
    refused = run(_fetch("http://127.0.0.1:1/feed"))
    assert down.status == 503 and down.error == "HTTP 503 Service Unavailable"
    assert down.retry_after == 120
    assert big.status == 0 and big.error_kind == "too_large" and "1000" in (big.error or "")
    assert cached.cache_seconds == 1800
    assert refused.status == 0 and refused.error_kind == "network"


def test_deadline_is_total_not_per_read(server: FeedServer) -> None:
    """A server trickling one byte every 1.5 s: each read is within any read timeout, the
    whole body would take 5 minutes; a 2 s deadline ends the fetch."""
    server.routes["/trickle"] = Route(b"<rss>" + b" " * 200 + b"</rss>", trickle=1.5)
    res = run(_fetch(server.url("/trickle"), deadline=2.0))
    assert res.status == 0 and res.error_kind == "timeout", res
    assert "deadline of 2 s" in (res.error or "")
    assert res.elapsed < 60  # nowhere near the 5 minutes a per-read timeout would allow


def test_redirects_are_followed_and_each_hop_checked(server: FeedServer) -> None:
    url = server.serve_fixture("rss2_utf8.xml")
    server.routes["/moved"] = Route(b"", status=301, headers={"Location": url})
    server.routes["/to-meta"] = Route(b"", status=302,
                                      headers={"Location": "http://169.254.169.254/latest/"})
    server.routes["/loop"] = Route(b"", status=302, headers={"Location": "/loop"})
    moved = run(_fetch(server.url("/moved")))
    assert moved.status == 200 and moved.final_url == url and moved.content
    meta = run(_fetch(server.url("/to-meta")))
    assert meta.status == 0 and meta.error_kind == "blocked" and "169.254.169.254" in meta.error
    loop = run(_fetch(server.url("/loop")))
    assert loop.error_kind == "redirects"
    # without the allow-list even the first hop to loopback is refused, before connecting
    before = len(server.requests)
    local = run(_fetch(url, allow=[]))
    assert local.error_kind == "blocked" and len(server.requests) == before


@pytest.mark.parametrize(("addr", "ok"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("127.5.6.7", False), ("::1", False), ("10.1.2.3", False),
    ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
    ("100.100.100.200", False), ("fd00:ec2::254", False), ("fe80::1", False),
    ("0.0.0.0", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("224.0.0.1", False), ("2002:7f00:1::1", False), ("255.255.255.255", False),
])
def test_address_checks(addr: str, ok: bool) -> None:
    assert F.address_allowed(addr) is ok
    assert F.address_allowed("127.0.0.1", LOCAL) and F.address_allowed("::ffff:127.0.0.1", LOCAL)


def test_names_are_resolved_and_checked() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"public.test": ["93.184.216.34"], "sneaky.test": ["93.184.216.34", "10.0.0.5"]
                }[host]

    run(F.check_url("https://public.test/feed", [], resolver))
    with pytest.raises(F.Blocked, match=r"10\.0\.0\.5"):
        run(F.check_url("https://sneaky.test/feed", [], resolver))
    with pytest.raises(F.Blocked, match="not an http"):
        run(F.check_url("file:///etc/passwd", [], resolver))
    allow = [ipaddress.ip_network("10.0.0.0/8")]
    run(F.check_url("https://sneaky.test/feed", allow, resolver))


def test_a_name_resolving_differently_at_connect_time_is_refused(server: FeedServer) -> None:
    """DNS rebinding: the hop check sees a public address, the connection would go to
    loopback. The HTTP client's own resolver refuses it; with loopback allowed to the client
    (the control) the same fetch reaches the feed, so the refusal is the resolver's doing."""
    url = server.serve_fixture("rss2_utf8.xml").replace("127.0.0.1", "localhost")

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    local = F.parse_networks("127.0.0.0/8, ::1")

    async def go(client_allow: list[F.IPNetwork]) -> F.FetchResult:
        async with make_client("newsstream-test", 2, client_allow) as client:
            return await F.fetch(client, url, max_bytes=1 << 20, deadline=5.0, allow=local,
                                 resolver=public)

    before = len(server.requests)
    refused = run(go([]))
    assert refused.error_kind == "blocked" and "localhost" in (refused.error or ""), refused
    assert len(server.requests) == before  # refused before connecting
    allowed = run(go(local))
    assert allowed.status == 200 and allowed.content, allowed


@pytest.mark.parametrize(("cc", "expires", "date", "expected"), [
    ("max-age=600", None, None, 600), ("s-maxage=60, max-age=600", None, None, 60),
    ("no-cache", None, None, 0), (None, "Tue, 05 Mar 2024 11:00:00 GMT",
                                  "Tue, 05 Mar 2024 10:00:00 GMT", 3600),
    (None, "0", None, 0), (None, None, None, None),
])
def test_cache_lifetime(cc: str | None, expires: str | None, date: str | None,
                        expected: float | None) -> None:
    assert F.cache_lifetime(cc, expires, date) == expected


def test_retry_after_forms() -> None:
    assert F.retry_after("120") == 120
    assert F.retry_after("Tue, 05 Mar 2024 10:02:00 GMT", now=1709632800.0) == 120
    assert F.retry_after("soon") is None and F.retry_after(None) is None


def test_host_gate_spaces_requests_per_host() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    gate = F.HostGate(1, 2.0, clock=lambda: now[0], sleep=sleep)

    async def go() -> list[float]:
        waits = []
        for host, gap in (("a.test", 0), ("b.test", 0), ("a.test", 0.5), ("a.test", 5)):
            now[0] += gap
            async with gate.slot(host) as waited:
                waits.append(waited)
        return waits

    assert run(go()) == [0, 0, pytest.approx(1.5), 0]
    assert slept == [pytest.approx(1.5)]


def test_host_gate_limits_connections_per_host() -> None:
    gate = F.HostGate(2, 0.0)
    active = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}

    async def one(host: str) -> None:
        async with gate.slot(host):
            active[host] += 1
            peak[host] = max(peak[host], active[host])
            await asyncio.sleep(0.01)
            active[host] -= 1

    async def go() -> None:
        await asyncio.gather(*(one(h) for h in "aaaaaabbb"))

    run(go())
    assert peak == {"a": 2, "b": 2} and gate.hosts == {}


# --- the poller's bookkeeping, with a publisher that records ------------------------------------


class ListPublisher:
    """Records messages; refuses those whose value contains ``refuse`` (like a too-small topic)."""

    def __init__(self, refuse: bytes | None = None) -> None:
        self.sent: list[Message] = []
        self.refuse = refuse

    async def send_batch(self, messages: list[Message]) -> list[BaseException | None]:
        out: list[BaseException | None] = []
        for msg in messages:
            if self.refuse and self.refuse in msg.value:
                out.append(ValueError("MessageSizeTooLarge"))
            else:
                self.sent.append(msg)
                out.append(None)
        return out


def _store(tmp_path: Path, *urls: str) -> Store:
    """A feed store of the test's own with ``urls`` added."""
    store = Store(tmp_path / "feeds.sqlite")
    for url in urls:
        store.upsert(url)
    return store


def _poller(store: Store, publisher: ListPublisher, **cfg: Any) -> Poller:
    policy = cfg.pop("policy", Policy(jitter=0))
    conf = PollConfig(topic="t.articles", dlq_topic="t.dlq", concurrency=4, deadline=5.0,
                      allow=LOCAL, policy=policy, **cfg)
    client = make_client("newsstream-test", 4, LOCAL)
    return Poller(store, conf, client, publisher, make_pool(0), F.HostGate(2, 0.0),
                  F.HostGate(1, 0.0))


async def _once(poller: Poller, urls: list[str] | None = None) -> Any:
    try:
        return await poller.run_once(urls, asyncio.Event())
    finally:
        await poller.client.aclose()
        poller.pool.shutdown()


def test_poller_publishes_new_items_once_and_remembers(server: FeedServer, tmp_path: Path) -> None:
    gazette = server.serve_fixture("rss2_utf8.xml", etag='"g1"')
    sparse = server.serve_fixture("invalid_items.xml")
    store = _store(tmp_path, gazette, sparse, server.url("/gone.xml"))
    pub = ListPublisher()
    summary = run(_once(_poller(store, pub)))
    assert (summary.polled, summary.published, summary.invalid, summary.failed_feeds) == (3, 4, 1, 1)
    assert sorted(m.topic for m in pub.sent) == ["t.articles"] * 4 + ["t.dlq"]
    g = store.get(gazette)
    assert g and g.etag == '"g1"' and g.last_new and g.streak == 0 and g.next_poll > time.time()
    gone = store.get(server.url("/gone.xml"))
    assert gone and gone.streak == 1 and gone.last_failure == "permanent" and gone.enabled
    # a second pass: 304 for the gazette, nothing new anywhere
    pub2 = ListPublisher()
    run(_once(_poller(store, pub2)))
    assert pub2.sent == []
    assert server.hits("/rss2_utf8.xml")[-1]["If-None-Match"] == '"g1"'
    store.close()


def test_refused_item_stays_unseen_and_etag_does_not_advance(server: FeedServer,
                                                             tmp_path: Path) -> None:
    url = server.serve_fixture("rss2_utf8.xml", etag='"g1"')
    store = _store(tmp_path, url)
    run(_once(_poller(store, ListPublisher(refuse=b"lighthouse"))))
    f = store.get(url)
    assert f and f.etag is None and f.streak == 1  # or the 304 would hide the refused item
    pub = ListPublisher()
    run(_once(_poller(store, pub)))
    assert [json.loads(m.value)["url"] for m in pub.sent] == [
        "https://harbor-gazette.test/news/lighthouse-reopens"]
    f = store.get(url)
    assert f and f.etag == '"g1"' and f.streak == 0
    store.close()


def test_failures_disable_a_feed_and_say_why(server: FeedServer, tmp_path: Path) -> None:
    server.serve_fixture("not_a_feed.html")
    url = server.url("/not_a_feed.html")
    store = _store(tmp_path, url)
    policy = Policy(jitter=0, disable_score=5, permanent_weight=2.5)
    for _ in range(2):
        feed = store.get(url)
        assert feed and feed.enabled
        store.db.execute("UPDATE feeds SET next_poll=0 WHERE url=?", (url,))
        run(_once(_poller(store, ListPublisher(), policy=policy)))
    feed = store.get(url)
    assert feed and not feed.enabled and feed.streak == 2
    assert feed.disabled_reason and "not a feed" in feed.disabled_reason
    store.close()


def test_full_text_is_what_gets_published(server: FeedServer, tmp_path: Path) -> None:
    server.serve_fixture("article_ferry.html")
    url = server.serve_fixture("rss2_fulltext.xml")
    store = _store(tmp_path, url)
    pub = ListPublisher()
    run(_once(_poller(store, pub, full_text=True)))
    body = json.loads(pub.sent[0].value)
    assert "four hundred residents" in body["body"] and "Copyright" not in body["body"]
    assert body["full_text"] is True
    assert server.hits("/article_ferry.html")
    store.close()


def test_article_pages_are_capped_at_the_article_limit(server: FeedServer,
                                                       tmp_path: Path) -> None:
    page = (FEEDS_DIR / "article_ferry.html").read_bytes()
    server.routes["/article_ferry.html"] = Route(page + b"<!--" + b"x" * 5000 + b"-->",
                                                 "text/html")
    url = server.serve_fixture("rss2_fulltext.xml")

    def published_body(article_max_bytes: int, name: str) -> str:
        store = Store(tmp_path / name)
        store.upsert(url)
        pub = ListPublisher()
        run(_once(_poller(store, pub, full_text=True, article_max_bytes=article_max_bytes,
                          feed_max_bytes=1 << 24)))
        store.close()
        return str(json.loads(pub.sent[0].value)["body"])

    # control: with an article cap above the page, its text is what gets published
    assert "four hundred residents" in published_body(len(page) + 10_000, "above.sqlite")
    # the feed cap is large; the article cap (the message limit) is smaller than the page
    hits = len(server.hits("/article_ferry.html"))
    assert published_body(len(page) + 100, "below.sqlite") == "Short teaser."
    assert len(server.hits("/article_ferry.html")) == hits + 1  # fetched, then refused


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
    assert P.clean_text(html) == expected


@pytest.mark.parametrize("name", sorted(CONTENT_TYPES))
def test_fast_path_maps_like_feedparser(name: str) -> None:
    """lxml's fast path and feedparser give the same records (or the fast path steps aside)."""
    body = (FEEDS_DIR / name).read_bytes()
    ctype = CONTENT_TYPES[name]
    fast = P.parse_feed(body, ctype, "http://127.0.0.1/f", 1 << 21, "Src", "de", fast=True)
    slow = P.parse_feed(body, ctype, "http://127.0.0.1/f", 1 << 21, "Src", "de", fast=False)
    assert [i.raw for i in fast.items] == [i.raw for i in slow.items]
    assert (fast.title, fast.language, fast.not_a_feed is None) == (
        slow.title, slow.language, slow.not_a_feed is None)
    if name in ("broken.xml", "not_a_feed.html"):
        from streams.ingest.feeds.fastparse import fast_parse

        assert fast_parse(body, ctype) is None  # feedparser's tolerance takes over


def test_fast_path_dates_and_entities() -> None:
    from streams.ingest.feeds.fastparse import fast_parse, parse_date

    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", parse_date("Tue, 05 Mar 2024 10:15:00 +0200")
                         ) == "2024-03-05T08:15:00Z"
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", parse_date("2024-03-05T10:15:00+02:00")
                         ) == "2024-03-05T08:15:00Z"
    assert parse_date("not a date") is None
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<rss version="2.0"><channel><title>&b;</title></channel></rss>')
    parsed = fast_parse(bomb, "application/rss+xml")
    assert parsed is None or "aaaaaaaaaa" not in parsed["feed"].get("title", "")


def test_long_running_poller_polls_when_due_and_stops(server: FeedServer, tmp_path: Path) -> None:
    url = server.serve_fixture("rss2_utf8.xml", etag='"g1"')
    store = _store(tmp_path, url)
    pub = ListPublisher()
    poller = _poller(store, pub)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run_forever(stop))
        for _ in range(600):  # until the first poll is committed (not a timing assertion)
            feed = store.get(url)
            if feed and feed.last_poll:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 30)
        await poller.client.aclose()
        poller.pool.shutdown()

    run(go())
    feed = store.get(url)
    assert feed and feed.last_poll and feed.next_poll > feed.last_poll  # rescheduled
    assert len(pub.sent) == 3 and len(server.hits("/rss2_utf8.xml")) == 1
    store.close()


def test_items_go_to_the_partition_kafkas_default_partitioner_picks() -> None:
    """The poller's faster murmur2 must send every key where aiokafka's (the Java client's)
    would: consumers rely on one key, one partition, whichever producer sent it."""
    import random

    from aiokafka.partitioner import DefaultPartitioner, murmur2

    from streams.ingest.feeds.kafka import murmur2 as fast
    from streams.ingest.feeds.kafka import partition_of

    rng = random.Random(7)
    keys = [rng.randbytes(n) for n in range(70) for _ in range(20)]
    keys += [b"https://news.example/2026/12/ferry-3", "https://пример.рф/новости".encode()]
    for key in keys:
        assert fast(key) == murmur2(key), key
        for parts in ([0], [0, 1, 2, 3], list(range(12))):
            assert partition_of(key, parts, parts) == DefaultPartitioner()(key, parts, parts)


@pytest.mark.parametrize("name", ["rss2_utf8.xml", "atom_cp1251.xml", "rss1_koi8r.rdf",
                                  "invalid_items.xml"])
def test_item_keys_are_the_same_validated_or_not(name: str) -> None:
    """A first poll validates while parsing, later polls parse first and validate the new
    items after the seen check: both must give every item the same key, or an item seen on
    the first poll would be published again on the next."""
    body = (FEEDS_DIR / name).read_bytes().replace(b"{BASE}", b"http://feeds.test")
    ctype = CONTENT_TYPES[name]
    checked = P.parse_feed(body, ctype, "http://feeds.test/f", 1 << 20, validate=True)
    unchecked = P.parse_feed(body, ctype, "http://feeds.test/f", 1 << 20, validate=False)
    assert checked.items and [i.key for i in checked.items] == [i.key for i in unchecked.items]
    assert [i.key for i in checked.items] == [P.seen_key(r, b"") for r in checked.records]
    validated = P.validate_items(unchecked.items, 1 << 20)
    assert [(i.key, i.message_key, i.reason) for i in validated] == [
        (i.key, i.message_key, i.reason) for i in checked.items]
