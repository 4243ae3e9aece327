"""The poller's memory in SQLite (WAL): feeds, their schedule and health, and the items seen.

Why SQLite: one file, in the standard library, transactions, and lookups by key that cost the
same at 10 feeds or 100,000 (the old JSON file was rewritten whole after every poll). Why the
order of writes: an item becomes *seen*, and a feed's ETag/Last-Modified advance, in one
transaction committed only after Kafka acknowledged the feed's items. A kill -9 before that
commit leaves the feed as it was, so at most that feed's unacknowledged items are sent again; an
item acknowledged and committed is never offered again (WAL survives a process crash).

One poller per store: an exclusive ``flock`` on ``<store>.lock`` (released by the kernel when
the process dies, so a crash never leaves a stale lock).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    name TEXT,
    language TEXT,
    interval REAL,
    added REAL NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    next_poll REAL NOT NULL DEFAULT 0,
    last_poll REAL,
    last_success REAL,
    last_new REAL,
    last_status INTEGER,
    last_error TEXT,
    last_failure TEXT,
    streak INTEGER NOT NULL DEFAULT 0,
    score REAL NOT NULL DEFAULT 0,
    rate REAL,
    baseline REAL,
    items_total INTEGER NOT NULL DEFAULT 0,
    quiet_since REAL
);
CREATE INDEX IF NOT EXISTS feeds_due ON feeds (enabled, next_poll);
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    feed TEXT NOT NULL,
    last_seen REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_age ON seen (last_seen);
CREATE TABLE IF NOT EXISTS daily (
    feed TEXT NOT NULL,
    day TEXT NOT NULL,
    language TEXT NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (feed, day, language)
) WITHOUT ROWID;
"""


@dataclass
class Feed:
    """One row of ``feeds``."""

    url: str
    name: str | None = None
    language: str | None = None
    interval: float | None = None  # fixed interval from the feed list; None = adaptive
    added: float = 0.0
    enabled: int = 1
    disabled_reason: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    next_poll: float = 0.0
    last_poll: float | None = None
    last_success: float | None = None
    last_new: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_failure: str | None = None
    streak: int = 0
    score: float = 0.0
    rate: float | None = None
    baseline: float | None = None
    items_total: int = 0
    quiet_since: float | None = None


_COLUMNS = [f.name for f in fields(Feed)]
# what a poll changes (the rest comes from the feed list)
_STATE_COLUMNS = [c for c in _COLUMNS if c not in ("url", "name", "language", "interval", "added")]
_UPDATE_STATE = f"UPDATE feeds SET {','.join(c + '=?' for c in _STATE_COLUMNS)} WHERE url=?"


class StoreLocked(RuntimeError):
    pass


def day_of(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


class Store:
    """SQLite-backed feed store (see the module doc for the crash-safety argument)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a process crash (kill -9) loses nothing committed; only a power
        # loss can roll back the last commits, which re-sends items (never loses one).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        os.chmod(self.path, 0o600)
        self._lock_fd: int | None = None

    # --- the lock ----------------------------------------------------------------------------

    def lock(self) -> None:
        """One poller per store: a second would publish what the first is publishing."""
        fd = os.open(str(self.path) + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreLocked(f"another `newsstream feeds` poller uses {self.path}") from None
        self._lock_fd = fd

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- feeds -------------------------------------------------------------------------------

    def upsert(self, url: str, name: str | None = None, language: str | None = None,
               interval: float | None = None, now: float | None = None) -> bool:
        """Add a feed or update its name/language/interval (state kept); True if new."""
        now = time.time() if now is None else now
        cur = self.db.execute(
            "INSERT INTO feeds (url, name, language, interval, added) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET name=coalesce(excluded.name, name), "
            "language=coalesce(excluded.language, language), interval=excluded.interval "
            "RETURNING added", (url, name, language, interval, now))
        row = cur.fetchone()
        return bool(row and row[0] == now)

    def remove(self, url: str) -> bool:
        with self.tx():
            n = self.db.execute("DELETE FROM feeds WHERE url=?", (url,)).rowcount
            self.db.execute("DELETE FROM daily WHERE feed=?", (url,))
        return n > 0

    def set_enabled(self, url: str, enabled: bool, reason: str | None = None) -> bool:
        sql = ("UPDATE feeds SET enabled=?, disabled_reason=?, score=0, streak=0, next_poll=0 "
               "WHERE url=?") if enabled else (
            "UPDATE feeds SET enabled=?, disabled_reason=? WHERE url=?")
        return self.db.execute(sql, (1 if enabled else 0, reason, url)).rowcount > 0

    def get(self, url: str) -> Feed | None:
        row = self.db.execute(f"SELECT {','.join(_COLUMNS)} FROM feeds WHERE url=?",
                              (url,)).fetchone()
        return Feed(*row) if row else None

    def all(self) -> list[Feed]:
        return [Feed(*r) for r in self.db.execute(
            f"SELECT {','.join(_COLUMNS)} FROM feeds ORDER BY url")]

    def iter_urls(self, enabled_only: bool = True, page: int = 1000) -> Iterator[str]:
        """Every feed URL, a page at a time (memory stays flat at any feed count)."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT url FROM feeds WHERE url > ?" + (" AND enabled=1" if enabled_only else "")
                + " ORDER BY url LIMIT ?", (last, page)).fetchall()
            if not rows:
                return
            for (url,) in rows:
                yield url
            last = rows[-1][0]

    def due(self, now: float, limit: int, exclude: Iterable[str] = ()) -> list[Feed]:
        """Enabled feeds whose next poll is due, most overdue first."""
        skip = set(exclude)
        rows = self.db.execute(
            f"SELECT {','.join(_COLUMNS)} FROM feeds WHERE enabled=1 AND next_poll<=? "
            "ORDER BY next_poll LIMIT ?", (now, limit + len(skip))).fetchall()
        return [f for f in (Feed(*r) for r in rows) if f.url not in skip][:limit]

    def next_due(self) -> float | None:
        row = self.db.execute("SELECT min(next_poll) FROM feeds WHERE enabled=1").fetchone()
        return row[0] if row else None

    def count(self, enabled: bool | None = None) -> int:
        if enabled is None:
            return int(self.db.execute("SELECT count(*) FROM feeds").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM feeds WHERE enabled=?",
                                   (1 if enabled else 0,)).fetchone()[0])

    # --- items -------------------------------------------------------------------------------

    def seen_keys(self, keys: list[str], now: float | None = None,
                  refresh_after: float = 86400.0) -> set[str]:
        """Which of ``keys`` were published already; refreshes their age (still in a feed)."""
        if not keys:
            return set()
        now = time.time() if now is None else now
        found: dict[str, float] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(
                f"SELECT key, last_seen FROM seen WHERE key IN ({marks})", chunk).fetchall())
        stale = [k for k, t in found.items() if now - t > refresh_after]
        if stale:  # rewritten at most daily: a 304-free feed must not cost a write per item
            with self.tx():
                self.db.executemany("UPDATE seen SET last_seen=? WHERE key=?",
                                    [(now, k) for k in stale])
        return set(found)

    def commit_poll(self, feed: Feed, acked: list[tuple[str, str | None]],
                    now: float | None = None) -> None:
        """One transaction: acknowledged items become seen, and the feed's row is replaced.

        ``acked`` lists (key, language) of the items Kafka acknowledged in this poll.
        """
        self.commit_polls([(feed, acked, time.time() if now is None else now)])

    def commit_polls(self, polls: list[tuple[Feed, list[tuple[str, str | None]], float]]
                     ) -> None:
        """:meth:`commit_poll` for several feeds in one transaction (a commit costs more than
        the rows it writes; the poller gathers the feeds that finish together)."""
        seen_rows: list[tuple[str, str, float]] = []
        daily_rows: dict[tuple[str, str, str], int] = {}
        feed_rows = []
        for feed, acked, now in polls:
            day = day_of(now)
            for k, lang in acked:
                seen_rows.append((k, feed.url, now))
                code = (lang or "").split("-")[0].split("_")[0].lower() or "und"
                daily_rows[feed.url, day, code] = daily_rows.get((feed.url, day, code), 0) + 1
            feed_rows.append([getattr(feed, c) for c in _STATE_COLUMNS] + [feed.url])
        with self.tx():
            if seen_rows:
                self.db.executemany(
                    "INSERT INTO seen (key, feed, last_seen) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET last_seen=excluded.last_seen", seen_rows)
            if daily_rows:
                self.db.executemany(
                    "INSERT INTO daily (feed, day, language, items) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(feed, day, language) DO UPDATE SET items=items+excluded.items",
                    [(*k, n) for k, n in daily_rows.items()])
            self.db.executemany(_UPDATE_STATE, feed_rows)

    def prune_seen(self, horizon_seconds: float, now: float | None = None) -> int:
        """Forget items absent from every feed for longer than the horizon."""
        now = time.time() if now is None else now
        with self.tx():
            n = self.db.execute("DELETE FROM seen WHERE last_seen < ?",
                                (now - horizon_seconds,)).rowcount
            self.db.execute("DELETE FROM daily WHERE day < ?",
                            (day_of(now - 60 * 86400),))
        return n

    def seen_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM seen").fetchone()[0])

    def volumes(self, now: float | None = None) -> dict[str, tuple[int, int, dict[str, int]]]:
        """feed -> (items in the last 7 days, in the 7 before, language mix of the last 7)."""
        now = time.time() if now is None else now
        week = day_of(now - 7 * 86400)
        fortnight = day_of(now - 14 * 86400)
        out: dict[str, tuple[int, int, dict[str, int]]] = {}
        for url, day, lang, n in self.db.execute(
                "SELECT feed, day, language, items FROM daily WHERE day > ?", (fortnight,)):
            last, prev, mix = out.get(url, (0, 0, {}))
            if day > week:
                last += n
                mix[lang] = mix.get(lang, 0) + n
            else:
                prev += n
            out[url] = (last, prev, mix)
        return out

    def add_daily(self, url: str, day: str, language: str, items: int) -> None:
        """Record a past day's volume (imports of history, and tests of the health report)."""
        self.db.execute(
            "INSERT INTO daily (feed, day, language, items) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(feed, day, language) DO UPDATE SET items=excluded.items",
            (url, day, language, items))

    # --- transactions ------------------------------------------------------------------------

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type: Any, *rest: Any) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def tx(self) -> Store._Tx:
        return Store._Tx(self.db)
