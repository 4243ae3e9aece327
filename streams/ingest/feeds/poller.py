"""The concurrent poller: a scheduler feeding a fixed set of asyncio workers.

Why it is built this way:

- Bounded everything: ``concurrency`` workers pull from a queue of at most twice that many
  feeds; due feeds are read from the store a page at a time. Memory does not grow with the
  number of feeds, and one slow feed holds one worker, never the others.
- Per host, :class:`~streams.ingest.feeds.fetch.HostGate` keeps the politeness limits; feedparser and
  HTML cleaning run in a process pool (CPU-bound), never on the event loop.
- At-least-once without repeats: a feed's new items are sent as one batch and awaited; only
  then, in one SQLite transaction, do they become *seen* and the feed's ETag, schedule and
  health advance (see :mod:`streams.ingest.feeds.state`). When Kafka is unreachable the poller waits
  and retries (back-pressure), it never drops an item; an item Kafka refuses for good (say, too
  large) stays unseen and the feed's ETag is not advanced, so it is retried at the next poll.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams import dlq
from streams.ingest.feeds import metrics as m
from streams.ingest.feeds.fetch import (
    ACCEPT,
    ClientPool,
    FetchResult,
    HostGate,
    IPNetwork,
    fetch,
    host_of,
)
from streams.ingest.feeds.parse import Item, ParsedFeed, full_text_item, parse_in_pool, validate_items
from streams.ingest.feeds.schedule import (
    Policy,
    classify,
    next_delay,
    next_score,
    observe_baseline,
    observe_rate,
    quiet_for,
    should_disable,
    volume_drop,
)
from streams.ingest.feeds.state import Feed, Store

log = logging.getLogger("streams.ingest.feeds")


@dataclass
class PollConfig:
    topic: str
    dlq_topic: str
    concurrency: int = 200
    deadline: float = 30.0
    feed_max_bytes: int = 20 * 1024 * 1024
    article_max_bytes: int = 2 * 1024 * 1024
    full_text: bool = False
    allow: list[IPNetwork] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    seen_horizon: float = 180 * 86400.0
    volume_alert: float = 0.3


@dataclass
class Message:
    topic: str
    key: bytes | None
    value: bytes


class Publisher(Protocol):
    async def send_batch(self, messages: list[Message]) -> list[BaseException | None]: ...


@dataclass
class PollOutcome:
    url: str
    status: int
    items: int = 0
    new: int = 0
    published: int = 0
    invalid: int = 0
    failed: int = 0
    error: str | None = None
    failure: str | None = None
    disabled: bool = False

    def line(self) -> str:
        if self.status == 304 and not self.error:
            return f"{self.url}: not modified"
        head = f"{self.url}: " + (f"HTTP {self.status}" if self.status else "no response")
        if self.error and not self.failed:
            text = f"{head}, {self.failure} error: {self.error}"
        else:
            text = f"{head}, {self.items} items, {self.new} new, {self.published} published"
            if self.invalid:
                text += f", {self.invalid} invalid (dead-lettered)"
            if self.failed:
                text += f", {self.failed} FAILED to publish, retried next poll ({self.error})"
        if self.disabled:
            text += ", feed DISABLED"
        return text


@dataclass
class Summary:
    polled: int = 0
    published: int = 0
    invalid: int = 0
    failed_feeds: int = 0
    not_modified: int = 0
    new_items: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, o: PollOutcome) -> None:
        self.polled += 1
        self.published += o.published
        self.invalid += o.invalid
        self.new_items += o.new
        self.not_modified += o.status == 304 and not o.error
        self.failed_feeds += bool(o.error)

    def line(self, total: int | None = None) -> str:
        secs = max(1e-9, time.monotonic() - self.started)
        of = f"/{total}" if total else ""
        return (f"{self.polled}{of} feeds polled ({self.polled / secs:.1f}/s), "
                f"{self.not_modified} not modified, {self.published} articles published, "
                f"{self.invalid} dead-lettered, {self.failed_feeds} failed")


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: a worker leaves when the poller is gone (even after a kill -9, which
    gives the pool no chance to stop its workers)."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def make_pool(processes: int) -> concurrent.futures.Executor:
    """Processes for feedparser (CPU-bound; the GIL would serialize threads); 0 = one thread."""
    import os

    if processes <= 0:
        return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="feeds-parse")
    return concurrent.futures.ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent, initargs=(os.getpid(),))


def make_client(user_agent: str, host_connections: int,
                allow: list[IPNetwork] | None = None) -> ClientPool:
    """The HTTP client of every feed: keep-alive per host, at most ``host_connections`` each.

    Redirects are followed by :func:`~streams.ingest.feeds.fetch.fetch` (each hop is checked);
    the client's resolver refuses addresses outside ``allow`` (global unicast only by default).
    Timeouts here only bound a single connect/read, the fetch deadline bounds the whole.
    """
    return ClientPool({"User-Agent": user_agent, "Accept": ACCEPT}, host_connections,
                      allow=allow or [])


class Commits:
    """The end-of-poll writes of the feeds that finish in one turn of the event loop, in one
    SQLite transaction.

    Why: a commit costs more than the rows it writes, and feeds finish together (one Kafka
    produce response acknowledges the items of many feeds at once). Nothing waits longer than
    before: the transaction runs at the next turn of the loop, and each feed's poll returns
    only once its own rows are committed, so the crash-safety argument of
    :mod:`streams.ingest.feeds.state` is unchanged.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[tuple[Feed, list[tuple[str, str | None]], float,
                                 asyncio.Future[None]]] = []

    def commit(self, feed: Feed, acked: list[tuple[str, str | None]], now: float
               ) -> asyncio.Future[None]:
        """Queue one feed's writes; the future is done once they are committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if not self.pending:
            loop.call_soon(self.flush)
        self.pending.append((feed, acked, now, fut))
        return fut

    def flush(self) -> None:
        """Commit what is queued now (also run by the loop at its next turn)."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            self.store.commit_polls([(f, a, t) for f, a, t, _ in batch])
        except Exception as exc:  # every feed of the batch reports it (nothing was written)
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for *_, fut in batch:
            if not fut.done():
                fut.set_result(None)


class Poller:
    """Polls feeds from a :class:`Store` and publishes new items through a :class:`Publisher`."""

    def __init__(self, store: Store, cfg: PollConfig, client: ClientPool,
                 publisher: Publisher, pool: concurrent.futures.Executor, gate: HostGate,
                 page_gate: HostGate | None = None, pool_factory: Any = None) -> None:
        self.store = store
        self.cfg = cfg
        self.client = client
        self.publisher = publisher
        self.pool = pool
        self.pool_factory = pool_factory
        self.gate = gate
        self.page_gate = page_gate or HostGate(1, 2.0)
        self.summary = Summary()
        self.alerted: set[str] = set()
        self.commits = Commits(store)

    # --- one feed ----------------------------------------------------------------------------

    async def _in_pool(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, fn, *args)
        except concurrent.futures.BrokenExecutor:
            if self.pool_factory is None:
                raise
            log.error("parse pool broke (a worker died); starting a new one")
            self.pool = self.pool_factory()
            return await loop.run_in_executor(self.pool, fn, *args)

    async def poll_one(self, feed: Feed) -> PollOutcome:
        """Fetch, parse, publish and record one feed. Never raises for the feed's own faults."""
        now = time.time()
        if feed.next_poll:
            m.POLL_LAG.observe(max(0.0, now - feed.next_poll))
        m.IN_FLIGHT.inc()
        try:
            async with self.gate.slot(host_of(feed.url)):
                res = await fetch(self.client, feed.url, etag=feed.etag,
                                  last_modified=feed.last_modified,
                                  max_bytes=self.cfg.feed_max_bytes, deadline=self.cfg.deadline,
                                  allow=self.cfg.allow)
            m.FETCH_SECONDS.observe(res.elapsed)
            parsed: ParsedFeed | None = None
            if res.status == 200 and res.content is not None:
                content, res.content = res.content, None
                # A feed never read before has only new items: validate them in the same
                # pool call (one round trip instead of two). Later polls validate the new
                # items only, after the seen check (most items of a changed feed are old).
                parsed = await self._in_pool(
                    parse_in_pool, content, res.content_type, feed.url,
                    self.cfg.article_max_bytes, feed.name, feed.language,
                    feed.last_success is None)
            return await self._record(feed, res, parsed)
        finally:
            m.IN_FLIGHT.dec()

    async def _record(self, feed: Feed, res: FetchResult, parsed: ParsedFeed | None
                      ) -> PollOutcome:
        out = PollOutcome(feed.url, res.status, error=res.error)
        not_a_feed = parsed is not None and parsed.not_a_feed is not None
        if parsed is not None and parsed.not_a_feed:
            out.error = parsed.not_a_feed
        failure = classify(res.status, res.error_kind, not_a_feed)
        acked: list[tuple[str, str | None]] = []
        if parsed is not None and failure is None:
            out.items = len(parsed.items)
            m.ITEMS_POLLED.inc(out.items)
            seen = self.store.seen_keys([it.key for it in parsed.items])
            new = [it for it in parsed.items if it.key not in seen]
            out.new = len(new)
            if any(not it.checked for it in new):
                new = await self._in_pool(validate_items, new, self.cfg.article_max_bytes)
            if new and self.cfg.full_text:
                new = await self._full_text(new)
            acked = await self._publish(feed, new, out)
            if out.failed:
                failure = "temporary"
        now = time.time()
        out.failure = failure
        self._advance(feed, res, parsed, out, failure, len(acked), now)
        await self.commits.commit(feed, acked, now)
        self._observe(feed, out)
        return out

    async def _full_text(self, items: list[Item]) -> list[Item]:
        """Each new valid item's page, fetched under the article cap, replaces a teaser body."""
        out = []
        for it in items:
            if it.reason is not None or not it.url:
                out.append(it)
                continue
            async with self.page_gate.slot(host_of(it.url)):
                page = await fetch(self.client, it.url, max_bytes=self.cfg.article_max_bytes,
                                   deadline=self.cfg.deadline, allow=self.cfg.allow)
            if page.status != 200 or not page.content:
                log.info("full text: fetch failed", extra={"url": it.url, "error": page.error})
                out.append(it)
                continue
            out.append(await self._in_pool(full_text_item, it, page.content, it.url,
                                           self.cfg.article_max_bytes))
        return out

    async def _publish(self, feed: Feed, items: list[Item], out: PollOutcome
                       ) -> list[tuple[str, str | None]]:
        """Send the batch, wait for every ack; return (key, language) of acknowledged items."""
        if not items:
            return []
        msgs = []
        for it in items:
            if it.reason is None:
                msgs.append(Message(self.cfg.topic, it.message_key, it.raw))
            else:
                env = dlq.make_envelope(it.raw, "feeds", it.reason, it.message or "",
                                        topic=feed.url, max_original=self.cfg.article_max_bytes)
                msgs.append(Message(self.cfg.dlq_topic, dlq.envelope_key(env),
                                    dlq.encode_envelope(env)))
        results = await self.publisher.send_batch(msgs)
        acked = []
        for it, err in zip(items, results, strict=True):
            if err is not None:
                out.failed += 1
                out.error = out.error or f"publish: {err!r}"
                continue
            acked.append((it.key, it.language))
            if it.reason is None:
                out.published += 1
            else:
                out.invalid += 1
        if out.published:
            m.PUBLISHED_ARTICLES.inc(out.published)
        if out.invalid:
            m.PUBLISHED_DEAD_LETTERS.inc(out.invalid)
        return acked

    def _advance(self, feed: Feed, res: FetchResult, parsed: ParsedFeed | None,
                 out: PollOutcome, failure: str | None, n_new: int, now: float) -> None:
        """The feed's state after this poll (schedule, health, validators)."""
        policy = self.cfg.policy
        prev_success = feed.last_success or feed.last_poll
        feed.last_poll = now
        feed.last_status = res.status
        if failure is None:
            if res.status == 200:
                feed.etag, feed.last_modified = res.etag, res.last_modified
            if parsed is not None and parsed.title:
                feed.title = parsed.title
            if prev_success is not None:
                feed.rate = observe_rate(feed.rate, n_new, now - prev_success, policy.rate_alpha)
            elif n_new:
                feed.rate = None  # first poll: a backlog says nothing about the rate
            if n_new:
                since = now - feed.last_new if feed.last_new else None
                feed.baseline = observe_baseline(feed.baseline, n_new, since, policy.rate_alpha)
                feed.last_new = now
                feed.items_total += n_new
            feed.last_success = now
            feed.streak, feed.score = 0, 0.0
            feed.last_error = feed.last_failure = None
        else:
            if out.failed and res.status == 200 and parsed is not None:
                feed.last_success = now  # the feed is fine; Kafka refused some items
            feed.streak += 1
            feed.score = next_score(feed.score, failure, policy)
            feed.last_error = (out.error or "")[:500]
            feed.last_failure = failure
            m.ERRORS.labels(failure, res.error_kind or ("publish" if out.failed else "parse"
                                                         if out.status == 200 else "http")).inc()
            if should_disable(feed.score, policy) and not out.failed:
                feed.enabled = 0
                feed.disabled_reason = (f"{feed.streak} failures in a row (score "
                                        f"{feed.score:g}), last: {feed.last_error}")[:500]
                out.disabled = True
                log.warning("feed disabled", extra={"feed": feed.url,
                                                    "reason": feed.disabled_reason})
        quiet = quiet_for(now, feed.last_new, feed.baseline, policy)
        if quiet is not None and feed.quiet_since is None:
            feed.quiet_since = now
            log.warning("source went quiet", extra={
                "feed": feed.url, "source": feed.name or feed.title,
                "silent_hours": round((now - (feed.last_new or now)) / 3600, 1),
                "usual_gap_hours": round(1 / (feed.baseline or 1), 2)})
        elif quiet is None:
            feed.quiet_since = None
        feed.next_poll = now + next_delay(
            policy, rate=feed.rate, fixed_interval=feed.interval, failure=failure,
            streak=feed.streak, retry_after=res.retry_after, cache_seconds=res.cache_seconds,
            hint_seconds=parsed.hint_seconds if parsed else None)

    def _observe(self, feed: Feed, out: PollOutcome) -> None:
        self.summary.add(out)
        outcome = ("failed" if out.error else "not_modified" if out.status == 304
                   else "new" if out.new else "unchanged")
        m.POLL_OUTCOMES[outcome].inc()
        if out.disabled:
            m.DISABLED.inc()
        extra = {"feed": feed.url, "status": out.status, "items": out.items, "new": out.new,
                 "published": out.published, "next_poll_in": round(feed.next_poll - time.time())}
        if out.error:
            log.warning("poll failed: %s", out.line(), extra=dict(extra, failure=out.failure))
        elif out.new:
            log.info("poll: %s", out.line(), extra=extra)
        else:
            log.debug("poll: %s", out.line(), extra=extra)

    # --- many feeds --------------------------------------------------------------------------

    async def _worker(self, queue: asyncio.Queue[Feed | None], busy: set[str]) -> None:
        while True:
            feed = await queue.get()
            if feed is None:
                return
            try:
                await self.poll_one(feed)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug with one feed must never stop the others
                log.exception("poll crashed", extra={"feed": feed.url})
            finally:
                busy.discard(feed.url)

    async def run_once(self, urls: Iterable[str] | None, stop: asyncio.Event,
                       total: int | None = None, progress: bool = False) -> Summary:
        """Poll each listed (or every enabled) feed once, ``concurrency`` at a time."""
        queue: asyncio.Queue[Feed | None] = asyncio.Queue(maxsize=self.cfg.concurrency * 2)
        busy: set[str] = set()
        workers = [asyncio.create_task(self._worker(queue, busy))
                   for _ in range(self.cfg.concurrency)]
        reporter = asyncio.create_task(self._progress(total)) if progress else None
        try:
            for url in (urls if urls is not None else self.store.iter_urls()):
                if stop.is_set():
                    break
                feed = self.store.get(url)
                if feed is None or not feed.enabled:
                    continue
                busy.add(url)
                await queue.put(feed)
            for _ in workers:
                await queue.put(None)
            done = asyncio.gather(*workers)
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait([done, stopper], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
        finally:
            for w in workers:
                w.cancel()  # safe: an unfinished poll committed nothing
            await asyncio.gather(*workers, return_exceptions=True)
            self.commits.flush()  # polls cancelled while their commit was queued
            if reporter:
                reporter.cancel()
        self.health_check()
        return self.summary

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll every enabled feed when it is due, until ``stop`` is set."""
        queue: asyncio.Queue[Feed | None] = asyncio.Queue(maxsize=self.cfg.concurrency * 2)
        busy: set[str] = set()
        workers = [asyncio.create_task(self._worker(queue, busy))
                   for _ in range(self.cfg.concurrency)]
        last_maintenance = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() - last_maintenance > 3600:
                    last_maintenance = time.monotonic()
                    self.maintenance()
                free = self.cfg.concurrency * 3 - len(busy)
                if free > 0:
                    for feed in self.store.due(time.time(), free, exclude=busy):
                        busy.add(feed.url)
                        await queue.put(feed)
                nxt = self.store.next_due()
                wait = 1.0 if nxt is None else min(1.0, max(0.05, nxt - time.time()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.commits.flush()

    def maintenance(self) -> None:
        """Hourly: forget items past the horizon, refresh gauges, check source volumes."""
        pruned = self.store.prune_seen(self.cfg.seen_horizon)
        if pruned:
            log.info("forgot old items", extra={"items": pruned})
        self.health_check()

    def health_check(self) -> None:
        """Gauges and the volume-drop alert line (once per source until it recovers)."""
        m.FEEDS.set(self.store.count(True))
        m.DISABLED.set(self.store.count(False))
        feeds = self.store.all()
        m.QUIET.set(sum(1 for f in feeds if f.quiet_since))
        for src in source_health(feeds, self.store.volumes()):
            dropped = volume_drop(src.last_week, src.previous_week, self.cfg.volume_alert)
            if dropped and src.name not in self.alerted:
                self.alerted.add(src.name)
                log.warning("source volume dropped", extra={
                    "source": src.name, "last_7d": src.last_week,
                    "previous_7d": src.previous_week, "threshold": self.cfg.volume_alert})
            elif not dropped:
                self.alerted.discard(src.name)

    async def _progress(self, total: int | None) -> None:
        tty = sys.stderr.isatty()
        while True:
            await asyncio.sleep(0.5 if tty else 5.0)
            line = self.summary.line(total)
            print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr,
                  flush=True)


@dataclass
class SourceHealth:
    name: str
    feeds: int = 0
    disabled: int = 0
    quiet: int = 0
    failing: int = 0
    last_success: float | None = None
    last_week: int = 0
    previous_week: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def trouble(self, fraction: float) -> float:
        score = 3.0 * self.disabled + 2.0 * self.quiet + 1.0 * self.failing
        if volume_drop(self.last_week, self.previous_week, fraction):
            score += 2.0
        return score / max(1, self.feeds)


def source_health(feeds: list[Feed], volumes: dict[str, tuple[int, int, dict[str, int]]]
                  ) -> list[SourceHealth]:
    """Per source (the feed's name, else its title, else its host): the health figures."""
    out: dict[str, SourceHealth] = {}
    for f in feeds:
        name = f.name or f.title or host_of(f.url)
        s = out.setdefault(name, SourceHealth(name))
        s.feeds += 1
        s.disabled += not f.enabled
        s.quiet += bool(f.quiet_since)
        s.failing += f.streak > 0 and bool(f.enabled)
        if f.last_success and (s.last_success is None or f.last_success > s.last_success):
            s.last_success = f.last_success
        last, prev, mix = volumes.get(f.url, (0, 0, {}))
        s.last_week += last
        s.previous_week += prev
        for lang, n in mix.items():
            s.languages[lang] = s.languages.get(lang, 0) + n
    return list(out.values())
