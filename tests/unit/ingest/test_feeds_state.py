"""The feed store (SQLite) and the feed lists (OPML, URL files)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.ingest.feeds import lists as L
from streams.ingest.feeds.state import Store, StoreLocked, day_of


def test_store_roundtrip_seen_and_commit(tmp_path: Path) -> None:
    store = Store(tmp_path / "s" / "feeds.sqlite")
    assert store.upsert("https://a.test/rss", "A", "en", None)
    assert not store.upsert("https://a.test/rss", None, None, 600)  # update keeps the name
    feed = store.get("https://a.test/rss")
    assert feed and (feed.name, feed.language, feed.interval) == ("A", "en", 600)
    feed.etag, feed.next_poll = '"e"', 123.0
    store.commit_poll(feed, [("k1", "en"), ("k2", "ru-RU"), ("k3", None)])
    assert store.seen_keys(["k1", "k9", "k3"]) == {"k1", "k3"}
    again = Store(tmp_path / "s" / "feeds.sqlite")  # a restart sees the commit
    got = again.get("https://a.test/rss")
    assert got and got.etag == '"e"' and got.next_poll == 123.0
    last, prev, mix = again.volumes()["https://a.test/rss"]
    assert (last, prev, mix) == (3, 0, {"en": 1, "ru": 1, "und": 1})
    assert [f.url for f in again.due(200.0, 10)] == ["https://a.test/rss"]
    assert again.due(100.0, 10) == []
    assert (tmp_path / "s" / "feeds.sqlite").stat().st_mode & 0o077 == 0
    store.close()
    again.close()


def test_seen_horizon_prunes(tmp_path: Path) -> None:
    store = Store(tmp_path / "feeds.sqlite")
    store.upsert("https://a.test/rss")
    feed = store.get("https://a.test/rss")
    assert feed
    now = time.time()
    store.commit_poll(feed, [("old", None)], now=now - 200 * 86400)
    store.commit_poll(feed, [("fresh", None)], now=now)
    assert store.prune_seen(180 * 86400, now) == 1
    assert store.seen_keys(["old", "fresh"]) == {"fresh"}
    store.close()


def test_one_poller_per_store(tmp_path: Path) -> None:
    path = tmp_path / "feeds.sqlite"
    first = Store(path)
    first.lock()
    code = ("import sys; from streams.ingest.feeds.state import Store, StoreLocked\n"
            f"s = Store({str(path)!r})\n"
            "try:\n    s.lock()\nexcept StoreLocked:\n    sys.exit(3)\n")
    other = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[3])
    assert other.returncode == 3
    second = Store(path)
    with pytest.raises(StoreLocked):
        second.lock()
    first.close()
    second.lock()  # released with the first
    second.close()


def test_iter_urls_pages(tmp_path: Path) -> None:
    store = Store(tmp_path / "feeds.sqlite")
    for i in range(25):
        store.upsert(f"https://a.test/{i:02d}")
    store.set_enabled("https://a.test/03", False, "by hand")
    urls = list(store.iter_urls(page=7))
    assert len(urls) == 24 and urls == sorted(urls) and "https://a.test/03" not in urls
    store.close()


def test_feed_list_file_format() -> None:
    specs = L.read_feed_list([
        "# my feeds", "", "https://a.test/rss  15m  # fast", "http://b.test/atom",
        ' https://c.test/x 3600 lang=ru name="Вестник Севера"',
    ], None)
    assert specs == [L.Source("https://a.test/rss", 900),
                     L.Source("http://b.test/atom", None),
                     L.Source("https://c.test/x", 3600, "Вестник Севера", "ru")]
    with pytest.raises(ValueError, match="line 1"):
        L.read_feed_list(["ftp://x"])
    with pytest.raises(ValueError, match="language"):
        L.read_feed_list(["https://a.test lang=English"])
    assert L.parse_duration("2h") == 7200 and L.parse_duration("90") == 90
    assert L.read_feed_list(L.write_feed_list(specs).splitlines()) == specs


def test_opml_import_export_roundtrip(tmp_path: Path) -> None:
    opml = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>My subscriptions</title></head><body>
  <outline text="News" title="News">
    <outline type="rss" text="Harbor Gazette" title="Harbor Gazette"
             xmlUrl="https://harbor-gazette.test/rss" htmlUrl="https://harbor-gazette.test/"/>
    <outline type="rss" text="Vestnik" xmlUrl="https://vestnik.test/rss" language="ru"/>
  </outline>
  <outline type="rss" text="dup" xmlUrl="https://vestnik.test/rss"/>
  <outline type="link" text="not a feed" url="https://x.test/"/>
  <outline type="rss" text="bad" xmlUrl="javascript:alert(1)"/>
</body></opml>"""
    sources = L.read_opml(opml)
    assert sources == [L.Source("https://harbor-gazette.test/rss", None, "Harbor Gazette"),
                       L.Source("https://vestnik.test/rss", None, "Vestnik", "ru")]
    path = tmp_path / "out.opml"
    path.write_text(L.write_opml(sources))
    assert L.read_any(str(path)) == sources
    txt = tmp_path / "list.txt"
    txt.write_text("https://a.test/rss 5m\n")
    assert L.read_any(str(txt)) == [L.Source("https://a.test/rss", 300)]
    with pytest.raises(ValueError, match="not OPML"):
        L.read_opml(b"<rss/>")


def test_day_of() -> None:
    assert day_of(0) == "1970-01-01"


def test_health_shows_a_source_whose_volume_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.cli import main as cli

    store_file = tmp_path / "feeds.sqlite"
    monkeypatch.setenv("NEWSSTREAM_FEEDS_STATE", str(store_file))
    assert cli.main(["feeds", "add", "https://steady.test/rss", "--name", "Steady",
                     "--language", "en"]) == 0
    assert cli.main(["feeds", "add", "https://fading.test/rss", "--name", "Fading"]) == 0
    store = Store(store_file)
    now = time.time()
    for d in range(1, 14):
        day = day_of(now - d * 86400)
        store.add_daily("https://steady.test/rss", day, "en", 20)
        store.add_daily("https://fading.test/rss", day, "ru", 30 if d > 7 else 2)
    store.set_enabled("https://steady.test/rss", True)
    store.close()
    capsys.readouterr()
    assert cli.main(["feeds", "health"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("SOURCE")
    assert lines[1].startswith("Fading") and "volume dropped" in lines[1] and "-93%" in lines[1]
    assert lines[2].startswith("Steady") and lines[2].rstrip().endswith("ok")
    assert "ru:100%" in lines[1] and "en:100%" in lines[2]
    assert cli.main(["feeds", "disable", "https://fading.test/rss"]) == 0
    assert cli.main(["feeds", "list"]) == 0
    out = capsys.readouterr().out
    assert "DISABLED" in out and "disabled by hand" in out
    assert cli.main(["feeds", "export", "--opml", "-o", str(tmp_path / "out.opml")]) == 0
    assert [s.url for s in L.read_any(str(tmp_path / "out.opml"))] == [
        "https://fading.test/rss", "https://steady.test/rss"]
    assert cli.main(["feeds", "remove", "https://fading.test/rss"]) == 0
    assert cli.main(["feeds", "remove", "https://fading.test/rss"]) == 1


def test_feeds_finishing_together_share_one_transaction(tmp_path: Path) -> None:
    """The poller's commits: queued in one loop turn, written in one transaction, and a poll
    learns its rows are committed only once they are (a restart sees them all)."""
    import asyncio

    from streams.ingest.feeds.poller import Commits

    store = Store(tmp_path / "feeds.sqlite")
    urls = [f"https://{c}.test/rss" for c in "abc"]
    for url in urls:
        store.upsert(url)
    transactions: list[int] = []
    write = store.commit_polls
    store.commit_polls = lambda polls: (transactions.append(len(polls)), write(polls))[1]  # type: ignore[method-assign]

    async def finish_together() -> list[bool]:
        commits = Commits(store)
        futures = []
        for i, url in enumerate(urls):
            feed = store.get(url)
            assert feed is not None
            feed.next_poll, feed.etag = 1000.0 + i, f'"{i}"'
            futures.append(commits.commit(feed, [(f"item-{i}", "en")] if i else [], 50.0))
        before = [f.done() for f in futures]
        await asyncio.gather(*futures)
        return before

    assert asyncio.run(finish_together()) == [False, False, False]
    assert transactions == [3]
    again = Store(tmp_path / "feeds.sqlite")
    assert [(f.etag, f.next_poll) for f in again.all()] == [('"0"', 1000.0), ('"1"', 1001.0),
                                                            ('"2"', 1002.0)]
    assert again.seen_keys(["item-1", "item-2", "item-0"]) == {"item-1", "item-2"}
    store.close()
    again.close()
