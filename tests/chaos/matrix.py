"""The fault matrix: ``make chaos`` / ``python -m tests.chaos.matrix [--short] [--rows a,b]``.

Each row sends its messages to a fresh namespace (topics, alias, consumer group) on the run's
own Kafka and Elasticsearch, injects one fault while the pipeline is busy, lets the pipeline
recover (a dead worker is restarted at once, as a supervisor would), and then measures, from
Elasticsearch and the dead-letter topic, what became of every message:

* sent: messages produced (a replayed message counts twice), unique: distinct messages;
* indexed: messages with a document in Elasticsearch; dead-lettered: with an envelope on the
  DLQ (and no document); lost = unique - indexed - dead-lettered (must be 0);
* doubled: messages with more than one document (by id across every index behind the alias,
  and by the per-message marker field; must be 0);
* recover s: from the fault to the first moment the pipeline is drained (every message
  accounted for and the consumer group committed to the end of every pipeline topic).

The table is printed and written into ``docs/reliability.md`` between the chaos markers.
Exit status 1 when a row lost or doubled anything, did not drain, or failed to run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from streams import procs
from tests.chaos import corpus
from tests.chaos.harness import (
    ROOT,
    Drain,
    Ledger,
    Namespace,
    Services,
    Worker,
    Workers,
    log,
    progress,
    send,
    wait_drained,
    wait_metric,
)

DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- chaos:begin -->", "<!-- chaos:end -->"

STAGE_METRIC = {
    "validate": "newsstream_articles_received",
    "dedup": "newsstream_dedup_decisions",
    "enrich": "newsstream_articles_enriched",
    "index": "newsstream_documents_indexed",
}


@dataclass
class Size:
    """Message counts and waits of one run (full matrix or the CI short form)."""

    good: int = 1000
    replay: int = 10_000
    hostile: int = 1000
    es_outage: float = 60.0
    timeout: float = 900.0
    stall: float = 240.0  # nothing moved for this long: a stall, stop waiting
    # the workers' NEWSSTREAM_SESSION_TIMEOUT (None: the default): a worker restarted after a
    # kill -9 gets its partitions back once the dead member's session expired
    session: float | None = None


FULL = Size()
SHORT = Size(good=200, replay=500, hostile=100, es_outage=20.0, timeout=300.0, stall=150.0,
             session=20.0)


@dataclass
class Context:
    services: Services
    base: Path
    size: Size


@dataclass
class Result:
    row: str
    sent: int = 0
    unique: int = 0
    indexed: int = 0
    dead: int = 0
    lost: int = 0
    doubled: int = 0
    recover: float | None = None
    drained: bool = False
    notes: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.drained and self.lost == 0 and self.doubled == 0


@dataclass
class Fault:
    """What a row's fault function did: when it started and what the notes should say."""

    at: float
    note: str


FaultFn = Callable[[Context, Workers, Worker, int], Fault]


def _wait_busy(w: Worker, stage: str, n: int, frac: float, ctx: Context) -> str:
    m = wait_metric(w, STAGE_METRIC[stage], max(1.0, frac * n), ctx.size.timeout)
    return progress(m)


def kill_worker(stage: str, frac: float) -> FaultFn:
    def fault(ctx: Context, workers: Workers, w: Worker, n: int) -> Fault:
        where = _wait_busy(w, stage, n, frac, ctx)
        w.kill(signal.SIGKILL)
        t = time.monotonic()
        w.stopped = True  # type: ignore[attr-defined]  # restarted here, not by supervise()
        log(f"  kill -9 worker at {where}")
        workers.start(w.name)
        return Fault(t, f"kill -9 at {where}; restarted")
    return fault


def kill_ner(ctx: Context, workers: Workers, w: Worker, n: int) -> Fault:
    where = _wait_busy(w, "enrich", n, 0.2, ctx)
    pids = w.ner_pids()
    if not pids:
        raise RuntimeError("no NER process found among the worker's children")
    procs.stop_pid(pids[0], timeout=10, sig=signal.SIGKILL)
    log(f"  kill -9 NER pid {pids[0]} at {where}")
    return Fault(time.monotonic(), f"kill -9 NER process at {where}")


def es_stop(ctx: Context, workers: Workers, w: Worker, n: int) -> Fault:
    where = _wait_busy(w, "index", n, 0.1, ctx)
    t = time.monotonic()
    ctx.services.down("elasticsearch")
    time.sleep(max(0.0, ctx.size.es_outage - (time.monotonic() - t)))
    down_for = time.monotonic() - t
    ctx.services.up("elasticsearch")
    return Fault(t, f"ES stopped at {where}, down {down_for:.0f}s "
                    f"(+{time.monotonic() - t - down_for:.0f}s to start)")


def service_kill(service: str, label: str, stage: str, share: float) -> FaultFn:
    """kill -9 of an own service once ``stage`` has done ``share`` of the work, then restart it."""

    def fault(ctx: Context, workers: Workers, w: Worker, n: int) -> Fault:
        where = _wait_busy(w, stage, n, share, ctx)
        t = time.monotonic()
        ctx.services.kill9(service)
        ctx.services.up(service)
        return Fault(t, f"{label} kill -9 at {where}, back after {time.monotonic() - t:.0f}s")

    return fault


def rebalance(ctx: Context, workers: Workers, w: Worker, n: int) -> Fault:
    where = _wait_busy(w, "enrich", n, 0.15, ctx)
    t = time.monotonic()
    b = workers.start("b")
    deadline = time.monotonic() + 240
    got: list[str] = []
    while time.monotonic() < deadline:
        h = b.health()
        got = list(h.get("assigned") or []) if not h.get("rebalancing") else []
        if got:
            break
        time.sleep(1)
    took = time.monotonic() - t
    time.sleep(20)
    mid = progress(w.metrics())
    workers.stop(b)
    return Fault(t, f"worker b joined at {where} (assigned {len(got)} partitions after "
                    f"{took:.0f}s), stopped at {mid}")


def _session_env(ctx: Context) -> dict[str, str]:
    if ctx.size.session is None:
        return {}
    return {"NEWSSTREAM_SESSION_TIMEOUT": f"{ctx.size.session:g}"}


def _row(ctx: Context, name: str, messages: list[corpus.Message], fault: FaultFn | None,
         res: Result) -> None:
    ns = Namespace.new(name, ctx.base, ctx.services.env, **_session_env(ctx))
    ns.setup()
    workers = Workers(ns)
    ledger = Ledger(ns)
    try:
        w = workers.start("a")
        n = len(messages)
        t0 = time.monotonic()
        ledger.add(send(ns, messages))
        log(f"  sent {n} messages in {time.monotonic() - t0:.1f}s")
        if fault is not None:
            f = fault(ctx, workers, w, n)
            res.notes.append(f.note)
            t0 = f.at
        drain = wait_drained(ledger, workers, t0, ctx.size.timeout, stall_after=ctx.size.stall)
        _finish(res, ledger, workers, drain)
    finally:
        workers.stop_all()
        ledger.close()


def _finish(res: Result, ledger: Ledger, workers: Workers, drain: Drain) -> None:
    time.sleep(5)  # a late second copy would show now
    t = ledger.tally()
    res.sent, res.unique, res.indexed, res.dead = t.sent, t.unique, t.indexed, t.dead
    res.lost, res.doubled = t.lost, t.doubled
    res.drained = drain.drained and t.lost == 0
    res.recover = drain.seconds if drain.drained else None
    if not drain.drained:
        lag = {k.rsplit(".", 1)[-1]: v for k, v in (drain.lag or {}).items() if v}
        why = (f"stalled (nothing moved for {drain.stalled_for:.0f}s)"
               if drain.stalled_for >= 60 else "timed out")
        res.notes.append(f"NOT DRAINED: {why} {drain.seconds:.0f}s after the fault, lag {lag}")
    if t.lost_kinds:
        res.notes.append("lost: " + ", ".join(f"{k}={v}" for k, v in t.lost_kinds.most_common(6)))
        trace = ledger.trace(t.lost_ids[:3])
        res.notes.append("lost e.g. " + "; ".join(
            f"{m} seen at {' '.join(where) or 'no topic'}" for m, where in trace.items()))
    if t.good_dead:
        res.notes.append("good articles dead-lettered: "
                         + ", ".join(f"{k}={v}" for k, v in t.good_dead.most_common(4)))
    if t.both:
        res.notes.append(f"{t.both} both indexed and dead-lettered")
    if t.dlq_copies:
        res.notes.append(f"{t.dlq_copies} with more than one envelope")
    if t.doubled_examples:
        res.notes.append("doubled e.g. " + "; ".join(t.doubled_examples))
    if t.es_error:
        res.notes.append(f"ES unreadable: {t.es_error}")
    res.notes += workers.restarts
    crashes = workers.crashes()
    if crashes:
        res.notes.append("agent crashes in worker logs: "
                         + ", ".join(f"{k} x{v}" for k, v in crashes.most_common(5)))
    if not res.ok:
        res.evidence = workers.evidence()


_ARTICLES: dict[tuple[str, int], list[corpus.Message]] = {}


def run_tag(ctx: Context) -> str:
    """The run's marker tag (letters and digits only: the markers are matched by a pattern)."""
    return re.sub(r"[^a-z0-9]", "", ctx.base.name.lower()) or "run"


def articles(ctx: Context, n: int) -> list[corpus.Message]:
    """The run's first ``n`` good articles (generated once per run; each row has its own topics)."""
    key = (run_tag(ctx), n)
    if key not in _ARTICLES:
        _ARTICLES[key] = corpus.good_articles(key[0], n)
    return _ARTICLES[key]


def row_kill(stage: str) -> Callable[[Context, Result], None]:
    frac = {"validate": 0.1, "dedup": 0.15, "enrich": 0.25, "index": 0.25}[stage]

    def run(ctx: Context, res: Result) -> None:
        _row(ctx, res.row, articles(ctx, ctx.size.good),
             kill_worker(stage, frac), res)
    return run


def row_fault(fault: FaultFn) -> Callable[[Context, Result], None]:
    def run(ctx: Context, res: Result) -> None:
        _row(ctx, res.row, articles(ctx, ctx.size.good), fault, res)
    return run


def row_hostile(ctx: Context, res: Result) -> None:
    hostile = corpus.hostile_messages(run_tag(ctx), ctx.size.hostile)
    good = articles(ctx, ctx.size.hostile)
    res.notes.append(f"{len({m.kind for m in hostile})} hostile kinds")
    _row(ctx, res.row, corpus.interleave(hostile, good), None, res)


def row_replay(ctx: Context, res: Result) -> None:
    """Index ``replay`` articles, then send the very same messages again."""
    messages = articles(ctx, ctx.size.replay)
    ns = Namespace.new(res.row, ctx.base, ctx.services.env, **_session_env(ctx))
    ns.setup()
    workers = Workers(ns)
    ledger = Ledger(ns)
    try:
        w = workers.start("a")
        t0 = time.monotonic()
        ledger.add(send(ns, messages))
        first = wait_drained(ledger, workers, t0, ctx.size.timeout * 3,
                             stall_after=ctx.size.stall)
        res.notes.append(f"first pass drained in {first.seconds:.0f}s" if first.drained
                         else f"first pass NOT drained after {first.seconds:.0f}s")
        before = w.metrics()
        t1 = time.monotonic()
        ledger.add(send(ns, messages))
        drain = wait_drained(ledger, workers, t1, ctx.size.timeout * 3,
                             stall_after=ctx.size.stall)
        after = workers.all[-1].metrics() if workers.all[-1] is not w else w.metrics()
        replays = after.get("newsstream_dedup_decisions", 0) - before.get(
            "newsstream_dedup_decisions", 0)
        res.notes.append(f"{int(replays)} dedup decisions for the replay")
        _finish(res, ledger, workers, drain)
    finally:
        workers.stop_all()
        ledger.close()


ROWS: dict[str, tuple[str, Callable[[Context, Result], None], frozenset[str]]] = {
    "kill-validate": ("worker kill -9 while validate is busy", row_kill("validate"), frozenset()),
    "kill-dedup": ("worker kill -9 while dedup is busy", row_kill("dedup"), frozenset()),
    "kill-enrich": ("worker kill -9 while enrich is busy", row_kill("enrich"), frozenset()),
    "kill-index": ("worker kill -9 while index is busy", row_kill("index"), frozenset()),
    "kill-ner": ("NER process kill -9", row_fault(kill_ner), frozenset()),
    "es-stop": ("Elasticsearch stopped", row_fault(es_stop), frozenset({"elasticsearch"})),
    "es-kill": ("Elasticsearch kill -9 + restart",
                row_fault(service_kill("elasticsearch", "ES", "index", 0.1)),
                frozenset({"elasticsearch"})),
    "kafka-kill": ("Kafka broker kill -9 + restart",
                   row_fault(service_kill("kafka", "Kafka", "enrich", 0.2)),
                   frozenset({"kafka"})),
    "rebalance": ("rebalance to a second worker and back", row_fault(rebalance), frozenset()),
    "replay": ("replay of already-indexed messages", row_replay, frozenset()),
    "hostile": ("hostile flood interleaved with good articles", row_hostile, frozenset()),
}


def run_rows(ctx: Context, names: list[str],
             after_row: Callable[[list[Result]], None] | None = None) -> list[Result]:
    results: list[Result] = []
    for name in names:
        title, fn, kills = ROWS[name]
        res = Result(name)
        log(f"row {name}: {title}")
        t = time.monotonic()
        try:
            missing = kills - ctx.services.own
            if missing:
                raise RuntimeError(f"needs its own {', '.join(sorted(missing))} (it kills it)")
            fn(ctx, res)
        except Exception as exc:
            res.error = f"{type(exc).__name__}: {exc}"[:300]
            traceback.print_exc()
        log(f"row {name}: {'ok' if res.ok else 'FAIL'} in {time.monotonic() - t:.0f}s: "
            f"{table([res]).splitlines()[-1]}")
        for line in res.evidence:
            log(f"  evidence {line}")
        results.append(res)
        if after_row is not None:
            after_row(results)
    return results


def table(results: list[Result]) -> str:
    head = ["row", "sent", "unique", "indexed", "dead-lettered", "lost", "doubled",
            "recover s", "result", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        rec = f"{r.recover:.0f}" if r.recover is not None else "-"
        notes = "; ".join(([r.error] if r.error else []) + r.notes).replace("|", "/")
        lines.append("| " + " | ".join([
            f"{r.row}: {ROWS[r.row][0]}", str(r.sent), str(r.unique), str(r.indexed),
            str(r.dead), str(r.lost), str(r.doubled), rec, "ok" if r.ok else "FAIL", notes,
        ]) + " |")
    return "\n".join(lines)


def write_doc(text: str, path: Path = DOC) -> None:
    """Put ``text`` between the chaos markers of ``path`` (created with a heading if missing)."""
    if not path.exists():
        path.write_text(f"## Fault matrix\n\n{BEGIN}\n{END}\n")
    doc = path.read_text()
    if BEGIN not in doc or END not in doc:
        doc = doc.rstrip("\n") + f"\n\n## Fault matrix\n\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos.matrix", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true", help="small counts and waits (CI)")
    p.add_argument("--rows", help=f"comma-separated rows (default all): {', '.join(ROWS)}")
    p.add_argument("--port-base", type=int, default=19492,
                   help="own Kafka on PORT(+1), Elasticsearch on PORT+8(+9) (default 19492)")
    p.add_argument("--services-dir", type=Path,
                   help="own services' data and logs (default: a new temporary dir)")
    p.add_argument("--workdir", type=Path, help="worker logs and data (default: a new temporary dir)")
    p.add_argument("--keep-services", action="store_true",
                   help="leave the own services running at the end")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/reliability.md")
    p.add_argument("--save", type=Path, help="also write the results as JSON (after each row)")
    p.add_argument("--good", type=int, help="good articles per fault row (default 1000)")
    p.add_argument("--replay", type=int, help="articles of the replay row (default 10000)")
    p.add_argument("--hostile", type=int, help="hostile (and as many good) messages (default 1000)")
    p.add_argument("--render", type=Path, nargs="+", metavar="JSON",
                   help="run nothing: combine saved results (rows in matrix order) into the table")
    args = p.parse_args(argv)
    # a TERM (timeout, CI cancel) must still stop this run's workers and services
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.render:
        saved = [Result(**r) for f in args.render for r in json.loads(f.read_text())["results"]]
        order = list(ROWS)
        saved.sort(key=lambda r: order.index(r.row))
        files = [json.loads(f.read_text()) for f in args.render]
        sizes = [Size(**f["size"]) for f in files if f.get("size")]
        return _report(saved, any(f["short"] for f in files), args.no_doc, "saved results",
                       _sizes(sizes))

    names = [r.strip() for r in args.rows.split(",")] if args.rows else list(ROWS)
    unknown = [r for r in names if r not in ROWS]
    if unknown:
        p.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="newsstream-chaos-"))
    base = work / time.strftime("run%H%M%S")
    base.mkdir(parents=True, exist_ok=True)
    services = Services(args.port_base, args.services_dir or work / "services")
    log(f"work dir {base}; own services in {services.dir}")
    size = replace(SHORT if args.short else FULL, **{
        k: v for k, v in (("good", args.good), ("replay", args.replay), ("hostile", args.hostile))
        if v is not None})
    ctx = Context(services, base, size)

    def save(results: list[Result]) -> None:
        if args.save:
            args.save.write_text(json.dumps({"short": args.short, "size": asdict(size),
                                             "results": [asdict(r) for r in results]}, indent=1))

    try:
        services.up()
        results = run_rows(ctx, names, save)
    finally:
        if not args.keep_services:
            services.down()
            if args.services_dir is None:  # ours alone: the data of killed brokers is no evidence
                shutil.rmtree(services.dir, ignore_errors=True)
    return _report(results, args.short, args.no_doc, str(base), _sizes([size]))


def _sizes(sizes: list[Size]) -> str:
    """The counts a run used, as one sentence (several saved runs may differ)."""
    parts = list(dict.fromkeys(
        f"{s.good} articles per fault row, {s.hostile} hostile + {s.hostile} good messages, "
        f"a replay of {s.replay}, Elasticsearch down {s.es_outage:.0f} s" for s in sizes))
    if len(parts) == 1:
        return parts[0]
    return "rows combined from runs with different counts: the sent column gives each row's"


def _report(results: list[Result], short: bool, no_doc: bool, where: str, sizes: str) -> int:
    text = table(results)
    print(text)
    if not no_doc:
        mode = "short form (`--short`)" if short else "full matrix"
        write_doc(f"Last run: {mode} ({sizes}), {time.strftime('%Y-%m-%d', time.gmtime())}. "
                  "Generated by `make chaos` (`python -m tests.chaos.matrix`); do not edit by "
                  "hand. A row fails when it lost or doubled a message or did not drain.\n\n"
                  + text)
    failed = [r.row for r in results if not r.ok]
    if failed:
        print(f"chaos: FAILED rows: {', '.join(failed)} (worker logs under {where})",
              file=sys.stderr)
        return 1
    print("chaos: every row accounted for every message (0 lost, 0 doubled)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
