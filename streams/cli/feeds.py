"""``newsstream feeds``: run the poller, and manage the feed store (add/remove/list/health...)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from streams import settings
from streams.ingest.feeds.lists import (
    Source,
    parse_duration,
    read_any,
    read_feed_list,
    write_feed_list,
    write_opml,
)
from streams.ingest.feeds.parse import valid_language
from streams.ingest.feeds.schedule import Policy, volume_drop
from streams.ingest.feeds.state import Feed, Store, StoreLocked

ACTIONS = ("add", "remove", "list", "health", "import", "export", "enable", "disable")


def store_path(s: settings.Settings, override: str | None = None) -> Path:
    if override:
        return Path(override)
    return Path(s.feeds_state) if s.feeds_state else Path(s.services_dir) / "feeds.sqlite"


def policy_from(s: settings.Settings) -> Policy:
    return Policy(
        default_interval=s.feeds_default_interval, min_interval=s.feeds_min_interval,
        max_interval=s.feeds_max_interval, max_backoff=s.feeds_max_backoff,
        target_items=s.feeds_target_items, disable_score=s.feeds_disable_score,
        permanent_weight=s.feeds_permanent_weight, quiet_factor=s.feeds_quiet_factor)


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "-"
    d = now - ts
    sign = "" if d >= 0 else "in "
    d = abs(d)
    text = (f"{d:.0f}s" if d < 120 else f"{d / 60:.0f}m" if d < 7200
            else f"{d / 3600:.0f}h" if d < 172800 else f"{d / 86400:.0f}d")
    return f"{sign}{text}" + (" ago" if not sign else "")


def _status(f: Feed) -> str:
    if not f.enabled:
        return "DISABLED"
    if f.quiet_since:
        return "QUIET"
    if f.streak:
        return f"FAILING({f.last_failure})"
    return "ok" if f.last_poll else "new"


def _sources(args: argparse.Namespace, default_interval: float | None) -> list[Source]:
    out = read_feed_list(args.urls, default_interval) if args.urls else []
    for path in args.file or []:
        out += read_any(path, default_interval)
    if args.language and not valid_language(args.language):
        raise ValueError(f"--language {args.language!r} is not a language code (en, ru, pt-BR)")
    if args.name or args.language:
        out = [Source(x.url, x.interval, args.name or x.name, args.language or x.language)
               for x in out]
    return out


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def cmd_list(store: Store, as_json: bool) -> int:
    now = time.time()
    feeds = store.all()
    if as_json:
        for f in feeds:
            print(json.dumps(vars(f), ensure_ascii=False))
        return 0
    rows = [["STATUS", "URL", "NAME", "LANG", "LAST POLL", "LAST NEW", "STREAK", "NEXT POLL",
             "INTERVAL", "REASON / LAST ERROR"]]
    for f in feeds:
        interval = (f"{f.interval:g}s fixed" if f.interval else
                    f"{f.rate:.2f}/h" if f.rate is not None else "adaptive")
        rows.append([_status(f), f.url, f.name or f.title or "-", f.language or "-",
                     _ago(f.last_poll, now), _ago(f.last_new, now), str(f.streak),
                     _ago(f.next_poll, now) if f.enabled else "-", interval,
                     (f.disabled_reason or f.last_error or "")[:100]])
    print(_table(rows))
    disabled = sum(1 for f in feeds if not f.enabled)
    print(f"{len(feeds)} feeds, {disabled} disabled, "
          f"{sum(1 for f in feeds if f.quiet_since)} quiet, {store.seen_count()} items remembered",
          file=sys.stderr)
    return 0


def cmd_health(store: Store, fraction: float) -> int:
    from streams.ingest.feeds.poller import source_health

    now = time.time()
    sources = source_health(store.all(), store.volumes(now))
    sources.sort(key=lambda x: (-x.trouble(fraction), x.name))
    rows = [["SOURCE", "FEEDS", "LAST SUCCESS", "ITEMS/DAY 7D", "PREV 7D", "CHANGE", "LANGUAGES",
             "TROUBLE"]]
    for src in sources:
        problems = []
        if src.disabled:
            problems.append(f"{src.disabled} disabled")
        if src.quiet:
            problems.append(f"{src.quiet} quiet")
        if src.failing:
            problems.append(f"{src.failing} failing")
        if volume_drop(src.last_week, src.previous_week, fraction):
            problems.append("volume dropped")
        change = (f"{100 * (src.last_week - src.previous_week) / src.previous_week:+.0f}%"
                  if src.previous_week else "-")
        total = sum(src.languages.values()) or 1
        langs = " ".join(f"{k}:{100 * v / total:.0f}%" for k, v in
                         sorted(src.languages.items(), key=lambda kv: -kv[1])[:3]) or "-"
        rows.append([src.name[:40], str(src.feeds), _ago(src.last_success, now),
                     f"{src.last_week / 7:.1f}", f"{src.previous_week / 7:.1f}", change, langs,
                     ", ".join(problems) or "ok"])
    print(_table(rows))
    return 0


def cmd_export(store: Store, opml: bool, out: str) -> int:
    sources = [Source(f.url, f.interval, f.name, f.language) for f in store.all()]
    text = write_opml(sources) if opml else write_feed_list(sources)
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
        print(f"{len(sources)} feeds written to {out}", file=sys.stderr)
    return 0


def cmd_manage(args: argparse.Namespace, s: settings.Settings) -> int:
    action, args.urls = args.urls[0], args.urls[1:]
    store = Store(store_path(s, args.store))
    try:
        default_interval = parse_duration(args.interval) if args.interval else None
        if action == "list":
            return cmd_list(store, args.json)
        if action == "health":
            return cmd_health(store, s.feeds_volume_alert)
        if action == "export":
            out = args.output or (args.urls[0] if args.urls else "-")
            return cmd_export(store, args.opml or out.endswith(".opml"), out)
        if action in ("remove", "enable", "disable"):
            missing = 0
            for url in args.urls:
                ok = (store.remove(url) if action == "remove" else
                      store.set_enabled(url, action == "enable",
                                        None if action == "enable" else "disabled by hand"))
                print(f"{action}: {url}" if ok else f"{action}: {url}: not in the store",
                      file=sys.stderr)
                missing += not ok
            return 1 if missing else 0
        if action == "import":
            args.file, args.urls = (args.file or []) + args.urls, []
        sources = _sources(args, default_interval)
        if not sources:
            print(f"feeds {action}: no feeds given", file=sys.stderr)
            return 2
        with store.tx():
            new = sum(store.upsert(x.url, x.name, x.language, x.interval) for x in sources)
        print(f"{new} feeds added, {len(sources) - new} updated; {store.count()} in "
              f"{store.path}", file=sys.stderr)
        return 0
    except (OSError, ValueError) as e:
        print(f"feeds {action}: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()


async def _run(args: argparse.Namespace, s: settings.Settings, store: Store,
               urls: list[str] | None) -> int:
    from streams.ingest.feeds.fetch import HostGate, parse_networks
    from streams.ingest.feeds.kafka import KafkaPublisher
    from streams.ingest.feeds.poller import PollConfig, Poller, make_client, make_pool

    topic = args.topic or s.topic_articles
    cfg = PollConfig(
        topic=topic, dlq_topic=s.topic_dlq,
        concurrency=args.concurrency or s.feeds_concurrency,
        deadline=args.deadline or s.feeds_deadline, feed_max_bytes=s.feeds_max_bytes,
        article_max_bytes=s.max_message_bytes, full_text=args.full_text,
        allow=parse_networks(s.feeds_allow_networks), policy=policy_from(s),
        seen_horizon=s.feeds_seen_days * 86400, volume_alert=s.feeds_volume_alert)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    publisher = KafkaPublisher(s)
    await publisher.start()
    with contextlib.suppress(Exception):  # a broker refusing admin requests may still accept
        await publisher.ensure_topics(s, [topic, s.topic_dlq])
    procs = s.feeds_parse_processes
    pool = make_pool(procs)
    client = make_client(s.user_agent, s.feeds_host_connections, cfg.allow)
    host_interval = args.host_interval if args.host_interval is not None else \
        s.feeds_host_interval
    poller = Poller(store, cfg, client, publisher, pool,
                    HostGate(s.feeds_host_connections, host_interval),
                    HostGate(1, s.feeds_page_interval), pool_factory=lambda: make_pool(procs))
    try:
        if args.once:
            total = len(urls) if urls is not None else store.count(True)
            summary = await poller.run_once(urls, stop, total, progress=not args.no_progress)
            if not args.no_progress and sys.stderr.isatty():
                print(file=sys.stderr)
            print(summary.line(total), file=sys.stderr)
            return 1 if summary.failed_feeds else 0
        if s.feeds_metrics_port:
            from prometheus_client import start_http_server

            from streams.ingest.feeds.metrics import REGISTRY

            start_http_server(s.feeds_metrics_port, addr=s.web_host, registry=REGISTRY)
        await poller.run_forever(stop)
        return 0
    finally:
        await client.aclose()
        await publisher.stop()
        pool.shutdown(wait=False, cancel_futures=True)


def cmd_feeds(args: argparse.Namespace) -> int:
    s = settings.load()
    if args.urls and args.urls[0] in ACTIONS:
        return cmd_manage(args, s)
    try:
        default_interval = parse_duration(args.interval) if args.interval else None
        sources = _sources(args, default_interval)
    except (OSError, ValueError) as e:
        print(f"feeds: {e}", file=sys.stderr)
        return 2
    store = Store(store_path(s, args.store))
    try:
        store.lock()
    except StoreLocked as e:
        print(f"feeds: {e}", file=sys.stderr)
        store.close()
        return 2
    try:
        with store.tx():  # one transaction: a commit per listed feed costs more than a poll
            for x in sources:
                store.upsert(x.url, x.name, x.language, x.interval)
        if not store.count(True):
            print("feeds: no feeds to poll (give URLs, --file, or `newsstream feeds add`)",
                  file=sys.stderr)
            return 2
        urls = list(dict.fromkeys(x.url for x in sources)) if sources else None
        return asyncio.run(_run(args, s, store, urls))
    finally:
        store.close()


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "feeds", help="poll RSS/Atom feeds into the input topic; manage the feed store",
        description="Poll feeds: `newsstream feeds [URL...] [-f LIST|OPML] [--once]`. Manage the "
        "store: `newsstream feeds add URL... [--name N] [--language L] [--interval I]`, "
        "`remove URL...`, `enable|disable URL...`, `list [--json]`, `health`, "
        "`import FILE` (OPML or URL list), `export [--opml] [-o FILE]`.")
    p.add_argument("urls", nargs="*", metavar="URL",
                   help="feed URLs, or an action (add, remove, list, health, import, export, "
                        "enable, disable) followed by its arguments")
    p.add_argument("-f", "--file", action="append",
                   help="feed list: OPML, or 'URL [interval] [lang=xx] [name=...]' per line")
    p.add_argument("--once", action="store_true", help="poll each feed once and exit")
    p.add_argument("--interval", help="fixed interval for the listed feeds (600, 10m, 1h); "
                                      "default: adaptive")
    p.add_argument("--name", help="source name for the listed feeds")
    p.add_argument("--language", help="language hint for the listed feeds (en, ru, pt-BR)")
    p.add_argument("--store", "--state", dest="store", help="feed store (SQLite file); "
                   "default from NEWSSTREAM_FEEDS_STATE")
    p.add_argument("--full-text", action="store_true",
                   help="fetch each new article's page and publish its text (trafilatura)")
    p.add_argument("--concurrency", type=int, help="feeds fetched at once")
    p.add_argument("--host-interval", type=float,
                   help="minimum seconds between feed requests to one host")
    p.add_argument("--deadline", "--timeout", dest="deadline", type=float,
                   help="total seconds one fetch may take")
    p.add_argument("--topic", help="target topic (default: the input topic)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines with --once")
    p.add_argument("--json", action="store_true", help="`list`: one JSON object per feed")
    p.add_argument("-o", "--output", help="`export`: file to write (default: stdout)")
    p.add_argument("--opml", action="store_true",
                   help="`export`: write OPML (default for a .opml file name)")
    p.set_defaults(func=cmd_feeds)
