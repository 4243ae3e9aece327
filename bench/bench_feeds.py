"""Benchmark of ``newsstream feeds``: a local feed farm, two passes, the old sequential loop.

The farm is a separate process serving N RSS feeds from H loopback hosts (127.0.x.y, one port):
10 items each, ETag and Last-Modified on every feed, and a share of trouble: feeds that trickle
their body over a few seconds, feeds answering 500, HTML pages instead of a feed, and feeds
that redirect once. Only loopback addresses are ever contacted.

1. First pass: ``newsstream feeds --once -f LIST`` (the real command, its own process) on a
   fresh store and private topics; wall time, feeds/s, peak RSS (poller + parse processes).
2. Conditional pass: the same command again (ETags: 304 everywhere except broken feeds).
3. Exactly-once check: the articles topic read back; every good item once, no other.
4. Baseline: the previous design measured in the same run, on the first ``--baseline`` feeds:
   one feed after another (sync httpx, feedparser, a Kafka flush per feed, the whole state
   file rewritten after each poll).

    .venv/bin/python bench/bench_feeds.py [--feeds 10000] [--hosts 1000] [--baseline 300]

Prints the figures of this one run (no timings are asserted anywhere).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ITEMS = 10
WORDS = [
    "harbour", "council", "ferry", "timetable", "bridge", "school", "market", "storm", "festival",
    "library", "mayor", "budget", "railway", "station", "hospital", "river", "museum", "election",
    "weather", "fishing", "fleet",
]


def host_address(i: int) -> str:
    """The i-th loopback host: 127.0.1.1, 127.0.1.2, ... (never 127.0.0.1)."""
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def kind_of(i: int, slow: float, broken: float, redirect: float) -> str:
    """Deterministic trouble mix: a hash of the feed number picks its kind."""
    r = int(hashlib.sha256(str(i).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if r < slow:
        return "slow"
    if r < slow + broken / 2:
        return "error500"
    if r < slow + broken:
        return "html"
    if r < slow + broken + redirect:
        return "redirect"
    return "good"


def feed_body(i: int) -> bytes:
    items = []
    for j in range(ITEMS):
        w = [WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(8)]
        items.append(
            f"<item><title>{w[0].title()} {w[1]} {w[2]}: story {j} of feed {i}</title>"
            f"<link>https://news{i}.example/{2026}/12/{w[3]}-{j}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">feed{i}-item{j}</guid>"
            f"<pubDate>Tue, 01 Dec 2026 {j:02d}:15:00 GMT</pubDate>"
            f"<dc:creator>Reporter {j}</dc:creator><category>{w[4]}</category>"
            f"<description>&lt;p&gt;The {w[5]} and the {w[6]} met on Tuesday; the {w[7]} "
            f"{' '.join(w)} was discussed at length.&lt;/p&gt;</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Local News {i}</title>'
            f"<link>https://news{i}.example/</link><language>en</language>"
            f"<description>News of town {i}</description>{''.join(items)}</channel></rss>"
            ).encode()


HTML = b"<!doctype html><html><head><title>Moved</title></head><body><p>Hello</p></body></html>"


async def serve(hosts: int, port_q: Any, args: dict[str, float]) -> None:
    """The farm: one asyncio server per loopback host, all on one port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                name = path.split("/")[-1].split("?")[0]
                i = int(name.split(".")[0]) if name.split(".")[0].isdigit() else -1
                kind = kind_of(i, args["slow"], args["broken"], args["redirect"])
                etag = f'"e{i}"'
                extra = b""
                if i < 0:
                    status, body, ctype = "404 Not Found", b"", "text/plain"
                elif kind == "error500":
                    status, body, ctype = "500 Internal Server Error", b"oops", "text/plain"
                elif kind == "html":
                    status, body, ctype = "200 OK", HTML, "text/html"
                elif kind == "redirect" and "moved" not in path:
                    status, body, ctype = "301 Moved Permanently", b"", "text/plain"
                    extra = f"Location: /f/{i}.xml?moved=1\r\n".encode()
                elif headers.get("if-none-match") == etag:
                    status, body, ctype = "304 Not Modified", b"", "application/rss+xml"
                    extra = f"ETag: {etag}\r\n".encode()
                else:
                    status, body, ctype = "200 OK", feed_body(i), "application/rss+xml"
                    extra = (f"ETag: {etag}\r\nLast-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
                             ).encode()
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                             f"Content-Length: {len(body)}\r\n".encode() + extra + b"\r\n")
                if kind == "slow" and body and status.startswith("200"):
                    steps = 30
                    for k in range(steps):
                        writer.write(body[k * len(body) // steps:(k + 1) * len(body) // steps])
                        await writer.drain()
                        await asyncio.sleep(args["trickle"] / steps)
                else:
                    writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            writer.close()

    first = await asyncio.start_server(handle, host_address(0), 0, backlog=1024)
    port = first.sockets[0].getsockname()[1]
    servers = [first] + [await asyncio.start_server(handle, host_address(h), port, backlog=256)
                         for h in range(1, hosts)]
    port_q.put(port)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def farm_main(hosts: int, port_q: Any, args: dict[str, float]) -> None:
    asyncio.run(serve(hosts, port_q, args))


def peak_rss(pid: int) -> tuple[float, float]:
    """(VmHWM of pid, sum of VmHWM of its children) in MiB, read from /proc."""
    def hwm(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(x) for x in (task / "children").read_text().split()]
    except OSError:
        pass
    return hwm(pid), sum(hwm(k) for k in kids)


def _children_cpu() -> float:
    """CPU seconds of every finished descendant (the poller and its parse processes)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_pass(listing: Path, env: dict[str, str]) -> dict[str, Any]:
    cpu0 = _children_cpu()
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "feeds", "--once",
                             "--no-progress", "-f", str(listing)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    main_peak, kids_peak = 0.0, 0.0
    while proc.poll() is None:
        a, b = peak_rss(proc.pid)
        main_peak, kids_peak = max(main_peak, a), max(kids_peak, b)
        time.sleep(0.2)
    took = time.monotonic() - started
    cpu = _children_cpu() - cpu0
    err = proc.stderr.read().decode() if proc.stderr else ""
    import sqlite3

    with sqlite3.connect(env["NEWSSTREAM_FEEDS_STATE"]) as db:
        errors = Counter(re.sub(r"[0-9]+", "N", e or "")[:60] for (e,) in db.execute(
            "SELECT last_error FROM feeds WHERE last_error IS NOT NULL"))
    summary = [line for line in err.splitlines() if "feeds polled" in line]
    return {"seconds": took, "cpu": cpu, "main_mib": main_peak, "parse_mib": kids_peak,
            "summary": summary[-1] if summary else err[-500:], "rc": proc.returncode,
            "errors": dict(errors)}


def baseline(urls: list[str], topic: str, state: Path) -> tuple[float, float]:
    """The previous design, as it was: one feed after another; (first, conditional) feeds/s."""
    import io

    import feedparser
    import httpx

    from streams import kafka_io, settings
    from streams.ingest.feeds.parse import entry_record, make_item

    s = settings.load()
    prod = kafka_io.producer(s)
    memory: dict[str, Any] = {"feeds": {}, "seen": {}}
    rates = []
    with httpx.Client(timeout=httpx.Timeout(20.0), follow_redirects=True) as client:
        for _ in range(2):
            started = time.monotonic()
            for url in urls:
                st = memory["feeds"].setdefault(url, {})
                headers = {"If-None-Match": st["etag"]} if st.get("etag") else {}
                try:
                    resp = client.get(url, headers=headers)
                except httpx.HTTPError:
                    continue
                if resp.status_code == 200:
                    parsed = feedparser.parse(io.BytesIO(resp.content))
                    title = parsed.feed.get("title", "")
                    futs = []
                    for e in parsed.entries:
                        item = make_item(entry_record(e, title, url, "en"), s.max_message_bytes)
                        if item.key in memory["seen"] or item.reason:
                            continue
                        futs.append((item.key, prod.send(topic, key=item.message_key,
                                                         value=item.raw)))
                    kafka_io.flush(prod)
                    for key, fut in futs:
                        fut.get(timeout=60)
                        memory["seen"][key] = time.time()
                    st["etag"] = resp.headers.get("etag")
                state.write_text(json.dumps(memory))  # rewritten per poll, as before
            rates.append(len(urls) / (time.monotonic() - started))
    prod.close()
    return rates[0], rates[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=10000)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--slow", type=float, default=0.02, help="share of trickling feeds")
    ap.add_argument("--broken", type=float, default=0.02, help="share of 500s and HTML pages")
    ap.add_argument("--redirect", type=float, default=0.02, help="share redirecting once")
    ap.add_argument("--trickle", type=float, default=3.0, help="seconds a slow body takes")
    ap.add_argument("--baseline", type=int, default=300, help="feeds for the sequential loop")
    ap.add_argument("--output", type=Path, help="write the section into this BENCHMARKS.md")
    args = ap.parse_args()

    from streams import kafka_io, settings

    load0 = os.getloadavg()
    mix = {"slow": args.slow, "broken": args.broken, "redirect": args.redirect,
           "trickle": args.trickle}
    ctx = multiprocessing.get_context("spawn")
    port_q = ctx.Queue()
    farm = ctx.Process(target=farm_main, args=(args.hosts, port_q, mix), daemon=True)
    farm.start()
    port = port_q.get(timeout=120)
    tag = "bench" + uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    urls = [f"http://{host_address(i % args.hosts)}:{port}/f/{i}.xml" for i in range(args.feeds)]
    kinds = Counter(kind_of(i, args.slow, args.broken, args.redirect) for i in range(args.feeds))
    listing = tmp / "feeds.txt"
    listing.write_text("\n".join(urls) + "\n")
    env = dict(os.environ, NEWSSTREAM_TOPIC_ARTICLES=f"{tag}.articles",
               NEWSSTREAM_TOPIC_DLQ=f"{tag}.dlq", NEWSSTREAM_FEEDS_STATE=str(tmp / "feeds.sqlite"),
               NEWSSTREAM_FEEDS_ALLOW_NETWORKS="127.0.0.0/8", NEWSSTREAM_LOG_LEVEL="ERROR",
               NEWSSTREAM_LOG_FORMAT="text")
    os.environ.update({k: env[k] for k in ("NEWSSTREAM_TOPIC_ARTICLES", "NEWSSTREAM_TOPIC_DLQ")})
    s = settings.load()
    print(f"farm: {args.feeds} feeds on {args.hosts} hosts (port {port}); kinds {dict(kinds)}",
          file=sys.stderr)
    try:
        first = run_pass(listing, env)
        print("first pass:", first, file=sys.stderr)
        second = run_pass(listing, env)
        print("conditional pass:", second, file=sys.stderr)
        consumer = kafka_io.consumer(s)
        from kafka import TopicPartition

        parts = consumer.partitions_for_topic(s.topic_articles) or set()
        tps = [TopicPartition(s.topic_articles, p) for p in parts]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        keys: Counter[bytes] = Counter()
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for recs in consumer.poll(timeout_ms=1000).values():
                keys.update(r.key for r in recs)
        consumer.close()
        good = sum(n for k, n in kinds.items() if k in ("good", "slow", "redirect"))
        expected = good * ITEMS
        dupes = sum(c - 1 for c in keys.values() if c > 1)
        n_base = min(args.baseline, args.feeds)
        cpu0 = time.process_time()
        base1, base2 = baseline(urls[:n_base], f"{tag}.baseline", tmp / "state.json")
        base_cpu = (time.process_time() - cpu0) / (2 * n_base) * 1000
    finally:
        farm.terminate()
        farm.join(10)
    s1 = args.feeds / first["seconds"]
    s2 = args.feeds / second["seconds"]
    load = os.getloadavg()
    rows = [
        ("feeds (hosts); mix", f"{args.feeds} ({args.hosts}); "
         + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
         + f"; slow bodies take {args.trickle:g} s"),
        ("first pass, whole command", f"{first['seconds']:.1f} s = {s1:.0f} feeds/s "
         f"(poller: {first['summary']})"),
        ("conditional pass, whole command", f"{second['seconds']:.1f} s = {s2:.0f} feeds/s "
         f"(poller: {second['summary']})"),
        ("CPU (poller + parse processes), first / conditional pass",
         f"{first['cpu']:.0f} s = {1000 * first['cpu'] / args.feeds:.1f} ms per feed / "
         f"{second['cpu']:.0f} s = {1000 * second['cpu'] / args.feeds:.1f} ms per feed; "
         f"at full use of {os.cpu_count()} cores that is "
         f"{os.cpu_count() * args.feeds / max(first['cpu'], 1e-9):.0f} / "
         f"{os.cpu_count() * args.feeds / max(second['cpu'], 1e-9):.0f} feeds/s"),
        ("peak RSS, first / conditional pass", f"poller {first['main_mib']:.0f} / "
         f"{second['main_mib']:.0f} MiB; parse processes {first['parse_mib']:.0f} / "
         f"{second['parse_mib']:.0f} MiB in all"),
        ("items in Kafka after both passes", f"{len(keys)} distinct of {expected} expected, "
         f"{dupes} duplicates"),
        (f"sequential baseline, first {n_base} feeds", f"{base1:.1f} feeds/s first pass, "
         f"{base2:.1f} feeds/s conditional ({base_cpu:.1f} ms CPU per feed and pass); "
         f"new poller {s1 / base1:.1f}x / {s2 / base2:.1f}x"),
    ]
    head = (f"- **Command**: `.venv/bin/python bench/bench_feeds.py --feeds {args.feeds} --hosts "
            f"{args.hosts} --baseline {args.baseline}`\n"
            f"- **Date**: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"{os.cpu_count()} cores, python {platform.python_version()}; load average "
            f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} at the start, "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end\n"
            "- **Settings**: defaults (concurrency 200, 2 connections and 1 s between requests "
            "per host, 2 parse processes, 30 s deadline); Kafka and Elasticsearch running\n")
    table = "| what | result |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    print("\n" + head + "\n" + table)
    if args.output:
        write_section(args.output, head + "\n" + table)
    return 0


SECTION_START = "<!-- bench-feeds:start -->"
SECTION_END = "<!-- bench-feeds:end -->"


def write_section(path: Path, body: str) -> None:
    """Replace this benchmark's section of BENCHMARKS.md (or append it); the rest stays."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = (f"{SECTION_START}\n## Feed poller (`bench/bench_feeds.py`)\n\n{body}\n"
             f"{HOW}\n{SECTION_END}")
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


HOW = """How it is measured: the farm (a separate process) serves every feed from 127.0.x.y hosts on
one port; each pass is the real `newsstream feeds --once` command in its own process, timed from
start to exit (imports, Kafka connection and process-pool start included; the poller's own
rate, from its first poll, is in brackets). CPU is utime+stime of the command and its parse
processes; "at full use of N cores" divides the cores by CPU per feed, the rate this poller
would reach on an otherwise idle machine if it were CPU-bound. Peak RSS is VmHWM from /proc.
Exactly-once is read back from the articles topic after both passes (every item of a feed that
is not broken, keyed by canonical URL). The baseline re-implements the previous poller's loop
(one feed after another with sync httpx, feedparser, a Kafka flush per feed and the whole JSON
state rewritten per poll) on the first feeds of the same farm, in the same run.
"""


if __name__ == "__main__":
    sys.exit(main())
