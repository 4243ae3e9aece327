"""The search page in a real browser, over the sample corpus indexed by a real worker.

Debian's Chromium, driven by Playwright (system browser, never a downloaded one), against
``newsstream web`` and the real Kafka and Elasticsearch: examples/articles.jsonl goes through
``newsstream produce`` and a worker in a private namespace, exactly as in ``make demo``.
Every figure a page shows is checked against Elasticsearch asked directly. Screenshots of
each page land in ``test-artifacts/web/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from streams import procs
from streams.index import es_client, search
from streams.index.documents import language_fields
from streams.settings import Settings
from streams.web.query import fold
from tests.integration.conftest import (
    ROOT,
    Namespace,
    free_port,
    launched_workers,
    new_namespace,
    run_cli,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("NEWSSTREAM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EXPECTED = json.loads((ROOT / "examples" / "expected.json").read_text("utf-8"))["after_demo"]
QUERY = "chief executive"
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    """The corpus namespace, its settings and the running ``newsstream web``."""

    ns: Namespace
    s: Settings
    url: str
    es: Any
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class Browser:
    page: Any
    errors: list[str] = field(default_factory=list)

    def visit(self, url: str) -> Any:
        resp = self.page.goto(url)
        self.page.wait_for_load_state("load")
        return resp

    def follow(self, act: Callable[[], None]) -> str:
        """Run ``act`` and wait for the page it navigates to to load; returns its URL.

        The wait is armed before the action: waiting after it for "load" returns at once on
        the page being left, and the next step then races the navigation still under way.
        """
        with self.page.expect_navigation(wait_until="load"):
            act()
        return str(self.page.url)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _es_counts(es: Any, alias: str) -> tuple[int, int, int]:
    es.indices.refresh(index=alias)
    docs = es.count(index=alias)["count"]
    near = es.count(index=alias, query={"exists": {"field": "duplicate_of"}})["count"]
    agg = es.search(index=alias, size=0, aggs={"c": {"sum": {"field": "duplicate_count"}}})
    return docs, near, int(agg["aggregations"]["c"]["value"])


def start_web(ns: Namespace, extra: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes],
                                                                           str, Path]:
    """``newsstream web`` in ``ns`` on a free port; returns the process, its URL and log."""
    port = free_port()
    log = ns.tmp / f"web-{port}.log"
    env = {**os.environ, **ns.env, "NEWSSTREAM_UI_PORT": str(port),
           "NEWSSTREAM_UI_POLL_SECONDS": "1", **(extra or {})}
    proc = procs.spawn([sys.executable, "-m", "streams.cli", "web"], log, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"newsstream web exited:\n{log.read_text(errors='replace')}")
        try:
            urllib.request.urlopen(url + "/health", timeout=2).read()
            return True
        except OSError:
            return False

    wait_for(up, 60, "newsstream web to answer")
    return proc, url, log


def stop(proc: subprocess.Popen[bytes]) -> None:
    procs.stop_process(proc, timeout=20)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample corpus through a real worker, then ``newsstream web`` over it."""
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium "
                    "(`apt-get install -y chromium`; `make test` does it as root)")
    tmp = tmp_path_factory.mktemp("web")
    ns = new_namespace("w", tmp, NEWSSTREAM_NLP_PROCESSES="1")
    s = ns.settings()
    es = es_client.make_client(s)
    proc = None
    try:
        with launched_workers(ns) as start:
            done = run_cli(ns, "setup")
            assert done.returncode == 0, done.stderr + done.stdout
            start("web")
            done = run_cli(ns, "produce", str(ROOT / "examples" / "articles.jsonl"))
            assert done.returncode == 0, done.stderr
            want = (EXPECTED["indexed_documents"], EXPECTED["documents_with_duplicate_of"],
                    EXPECTED["sum_duplicate_count"])
            wait_for(lambda: _es_counts(es, s.es_alias) == want, 900,
                     f"the sample corpus indexed as {want} (documents, near dups, copies)",
                     interval=3)
            proc, url, log = start_web(ns)
            yield Site(ns, s, url, es, proc, log)
    finally:
        if proc is not None:
            stop(proc)
        names = list(es.options(ignore_status=404).indices.get(index=f"{s.es_alias}-*",
                                                                 expand_wildcards="all"))
        if names:
            es.indices.delete(index=",".join(names))
        es.options(ignore_status=404).indices.delete_index_template(name=s.es_alias)
        es.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def browser(chromium: Any) -> Iterator[Browser]:
    """A fresh page at desktop width; any console error or page error fails the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    b = Browser(page)
    page.on("console", lambda m: b.errors.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: b.errors.append(f"page error: {e}"))
    # a poll cut short by leaving the page is aborted by the browser, not failed
    page.on("requestfailed", lambda r: b.errors.append(f"request failed: {r.url} {r.failure}")
            if r.failure != "net::ERR_ABORTED" else None)
    yield b
    context.close()
    assert b.errors == [], b.errors


def _matching(site: Site, **kw: Any) -> list[dict[str, Any]]:
    """Every article matching like the page (near duplicates included), asked of ES directly."""
    req = search.SearchRequest(include_duplicates=True, limit=1000, **kw)
    body = search.build_body(req, language_fields())
    body["_source"] = ["story_id", "source", "persons"]
    return list(site.es.search(index=site.s.es_alias, body=body)["hits"]["hits"])


def test_search_finds_groups_and_counts_like_elasticsearch(site: Site, browser: Browser) -> None:
    browser.visit(f"{site.url}/?q={QUERY.replace(' ', '+')}")
    hits = _matching(site, query=QUERY)
    stories = {h["_source"]["story_id"] for h in hits}
    assert len(hits) > len(stories) > 3  # the query meets a story with near duplicates
    summary = browser.page.locator("h1.summary").inner_text()
    assert summary.startswith(f"{len(hits)} articles in {len(stories)} stories"), summary
    cards = browser.page.locator("article.story")
    assert cards.count() == min(10, len(stories))
    assert browser.page.locator("article.story mark").count() >= cards.count()
    assert browser.page.locator("svg.histogram rect.bar").count() >= 1
    bars = browser.page.locator("svg.histogram rect.bar title").all_text_contents()
    assert sum(int(t.rsplit(": ", 1)[1]) for t in bars) == len(hits)
    browser.shot("search")

    # the story with most near duplicates: expand it, its sources are those of its articles
    by_story: dict[str, set[str]] = {}
    for h in hits:
        by_story.setdefault(h["_source"]["story_id"], set()).add(h["_id"])
    more = browser.page.locator("details.more").first
    story_id = more.locator("xpath=ancestor::article").get_attribute("data-story")
    n_more = len(by_story[story_id]) - 1
    assert more.locator("summary").inner_text() == f"{n_more} more from this story"
    assert not more.locator("ul").is_visible()
    more.locator("summary").click()
    assert more.locator("ul > li").count() == n_more
    carried = more.locator(".carried").inner_text()
    for h in hits:
        if h["_source"]["story_id"] == story_id:
            assert h["_source"]["source"] in carried
    browser.shot("story-expanded")

    # sort by date: the first card is the newest story
    browser.page.select_option("select[name=sort]", "date")
    browser.page.click("form.search button[type=submit]")
    browser.page.wait_for_url("**sort=date**")
    times = browser.page.locator("article.story > p > .meta > time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))")
    assert times == sorted(times, reverse=True) and len(times) > 3


def test_a_facet_click_filters(site: Site, browser: Browser) -> None:
    browser.visit(f"{site.url}/?q={QUERY.replace(' ', '+')}")
    link = browser.page.locator("a.facet-value[data-facet=organizations]").first
    value = link.get_attribute("data-value")
    shown = int(link.locator("xpath=following-sibling::span[@class='count']").inner_text())
    link.click()
    browser.page.wait_for_url("**organizations=**")
    hits = _matching(site, query=QUERY, field_terms=(("organizations", value),))
    assert shown == len(hits)  # the facet count is what the filter then finds
    summary = browser.page.locator("h1.summary").inner_text()
    stories = {h["_source"]["story_id"] for h in hits}
    assert summary.startswith(f"{len(hits)} article"), summary
    assert f" in {len(stories)} stor" in summary
    assert browser.page.locator("nav.chips a.chip").inner_text().startswith("organization: ")
    assert browser.page.locator(
        f"a.facet-value[data-facet=organizations][data-value='{value}']"
    ).get_attribute("aria-pressed") == "true"
    browser.shot("facet-filtered")
    # the language facet narrows further, and its chip removes it again
    browser.page.locator("a.facet-value[data-facet=languages]").first.click()
    browser.page.wait_for_url("**lang=**")
    params = _params(browser.follow(
        browser.page.locator("nav.chips a.chip", has_text="language:").click))
    assert "lang" not in params and params.get("organizations") == [value]


def test_entity_page(site: Site, browser: Browser) -> None:
    browser.visit(f"{site.url}/")
    person = browser.page.locator("a.facet-value[data-facet=persons]").first
    key = person.get_attribute("data-value")
    person.locator("xpath=following-sibling::a[contains(@class,'entity-link')]").click()
    browser.page.wait_for_url("**/entity/**")
    hits = _matching(site, query="", entities=[key])
    assert hits
    heading = browser.page.locator("main h1").inner_text()
    assert fold(heading) == fold(key or "")
    bars = browser.page.locator("svg.histogram rect.bar title").all_text_contents()
    assert sum(int(t.rsplit(": ", 1)[1]) for t in bars) == len(hits)
    assert browser.page.locator("#latest ~ ol article.story").count() == min(10, len(hits))
    co = browser.page.locator("aside.facets a.facet-value").all_inner_texts()
    people_with = {p for h in hits for p in h["_source"].get("persons") or []}
    assert co and any(p in people_with for p in co)
    browser.shot("entity")
    status, data = _get_json(f"{site.url}/api/entity/{urllib.request.quote(key)}")
    assert status == 200 and data["articles"] == len(hits) and data["key"] == key


def test_live_count_and_a_script_title_stays_text(site: Site, browser: Browser) -> None:
    word = f"zebracrossing{int(time.time())}"
    browser.visit(f"{site.url}/?q={word}")
    assert browser.page.locator("h1.summary").inner_text().startswith("0 articles")
    assert browser.page.locator("#live").is_hidden()
    title = '<script>document.title="pwned"</script><img src=x onerror=alert(1)> Ferry'
    article = {"url": f"https://xss.example/{word}", "title": title, "source": "XSS Test",
               "body": f"The ferry {word} crossing reopened this morning after repairs.",
               "published_at": "2025-03-12T09:00:00Z", "language": "en"}
    path = site.ns.tmp / "xss.jsonl"
    path.write_text(json.dumps(article) + "\n", encoding="utf-8")
    done = run_cli(site.ns, "produce", str(path))
    assert done.returncode == 0, done.stderr
    live = browser.page.locator("#live")
    live.wait_for(state="visible", timeout=300_000)
    assert live.inner_text().startswith("1 new article matches since you searched")
    browser.shot("live-count")
    browser.follow(live.locator("a").click)
    card = browser.page.locator("article.story", has_text="onerror").first
    assert card.locator("h2.title").inner_text() == title
    assert browser.page.title() != "pwned"
    assert browser.page.locator("script").count() == 1  # only /static/live.js
    assert browser.page.locator("article.story img").count() == 0
    browser.shot("script-title")
    status, data = _get_json(f"{site.url}/api/search?q={word}")
    assert status == 200 and data["stories"][0]["article"]["title"] == title
    assert "<script>" not in data["stories"][0]["article"]["title_html"]


def _params(url: str) -> dict[str, list[str]]:
    """The query parameters of ``url`` that carry a value (a form's blank fields drop out)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def _focus_until(browser: Browser, js_pred: str, limit: int = 80) -> None:
    for _ in range(limit):
        browser.page.keyboard.press("Tab")
        if browser.page.evaluate(f"(() => {{ const el = document.activeElement; return {js_pred}; }})()"):
            return
    pytest.fail(f"keyboard focus never reached an element where {js_pred}")


def test_keyboard_only(site: Site, browser: Browser) -> None:
    browser.visit(f"{site.url}/")
    assert browser.page.evaluate("document.activeElement.name") == "q"  # autofocus
    browser.page.keyboard.type(QUERY)
    browser.page.keyboard.press("Enter")
    browser.page.wait_for_url("**q=chief**")
    _focus_until(browser, "el.tagName === 'SUMMARY' && el.parentElement.classList.contains('more')")
    browser.page.keyboard.press("Enter")
    assert browser.page.locator("details.more[open]").count() == 1
    _focus_until(browser, "el.classList.contains('facet-value')")
    href = browser.page.evaluate("document.activeElement.href")
    assert browser.follow(lambda: browser.page.keyboard.press("Enter")) == href
    params = _params(href)
    assert any(params.get(p) for p in (
        "persons", "organizations", "locations", "source", "lang")), href
    # on a results page the skip link is the first stop and jumps to the results
    browser.visit(f"{site.url}/?q=ferry")
    browser.page.keyboard.press("Tab")
    assert browser.page.evaluate("document.activeElement.className") == "skip"
    browser.shot("keyboard-skip-link")
    browser.page.keyboard.press("Enter")
    assert browser.page.evaluate("document.activeElement.id") == "main"
    browser.page.keyboard.press("Tab")
    assert browser.page.evaluate("document.activeElement.closest('article.story') !== null")


def test_phone_width(site: Site, chromium: Any) -> None:
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        for name, path in (("phone-search", f"/?q={QUERY.replace(' ', '+')}"),
                           ("phone-entity", None)):
            if path is None:
                key = page.locator("a.facet-value[data-facet=persons]").first.get_attribute(
                    "data-value")
                path = f"/entity/{urllib.request.quote(key or '')}"
            page.goto(site.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: {width}px wide"
            box = page.locator("svg.histogram").bounding_box()
            assert box and box["width"] <= PHONE["width"]
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


def test_api_and_safety(site: Site) -> None:
    status, data = _get_json(f"{site.url}/api/search?q=ferry&size=5&page=2")
    assert status == 200 and data["page"] == 2 and len(data["stories"]) <= 5
    assert set(data["facets"]) == {"persons", "organizations", "locations", "sources",
                                   "languages"}
    status, data = _get_json(f"{site.url}/api/search?size=500")
    assert status == 400 and "between 1 and 50" in data["error"]
    status, data = _get_json(f"{site.url}/api/openapi.json")
    assert status == 200 and "/api/search" in data["paths"]
    req = urllib.request.Request(f"{site.url}/api/search", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 405
    with urllib.request.urlopen(f"{site.url}/?q=ferry", timeout=30) as r:
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_elasticsearch_errors_are_not_shown(site: Site) -> None:
    """Elasticsearch down or the index missing: our message, never Elasticsearch's text."""
    dead = f"http://127.0.0.1:{free_port()}"
    for extra, status_want, words in (
        ({"NEWSSTREAM_ES_URL": dead}, 502, "Search is unavailable"),
        ({"NEWSSTREAM_ES_ALIAS": f"{site.s.es_alias}-missing"}, 503, "No articles are indexed"),
    ):
        proc, url, _log = start_web(site.ns, extra)
        try:
            status, data = _get_json(f"{url}/api/search?q=ferry")
            assert status == status_want and words in data["error"], data
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"{url}/?q=ferry", timeout=60)
            page = err.value.read().decode()
            assert err.value.code == status_want and words in page
            for leak in ("Traceback", "ConnectionError", "index_not_found", dead, "missing"):
                assert leak not in page and leak not in json.dumps(data)
        finally:
            stop(proc)
