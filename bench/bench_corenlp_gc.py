"""CoreNLP server CPU per article and articles/s under the project's server flags and under a
variant without some of them: G1's defaults instead of the project's garbage-collector flags
(``--compare gc``, the default) or Nagle's algorithm left on (``--compare http``).

Why: a multilingual stream loads one CRF per language into the server (English, German and
Spanish fill most of the default 512 MB heap), and G1's adaptive marking threshold then starts
a concurrent marking cycle after almost every young collection. Both variants run the same
server command (the local service's, ``streams.devservices.corenlp``) on a spare port, one
after the other and then in reverse order, on the same articles:

    .venv/bin/python bench/bench_corenlp_gc.py [--articles 1000] [--age 3000] [--langs en,de,es]
    .venv/bin/python bench/bench_corenlp_gc.py --compare http --langs en

Why ``http``: the JDK's HTTP server leaves Nagle's algorithm on, so an answer's body waits for
the client's delayed ACK of its headers and the annotation threads idle between requests; the
server's CPU per article hardly moves, its articles/s do.

Each server loads the other languages' models with one short text each, serves ``--age``
articles untimed (its heap settles and its JIT warms up), then ``--rounds`` measured passes of
``--articles`` (the pipeline benchmark's generated articles: title, summary and body) with as
many requests in flight as the pipeline keeps. Printed per variant: the server's CPU per
article (process utime + stime), the share of it in GC threads (by JVM thread name) and the
longest GC pause (from ``-Xlog:gc``); then the ratio of the two variants' medians.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import corpus
from bench_corenlp import process_cpu
from bench_enrich import raw_corenlp

from streams import settings as settings_mod
from streams.devservices.base import free_port, java_executable
from streams.devservices.corenlp import GC_FLAGS, HTTP_FLAGS, CoreNlpService
from streams.enrich.corenlp import CoreNlpBackend

#: One short sentence per language, enough to load its CRF.
LOAD_TEXTS = {
    "de": "Angela Merkel traf gestern in Berlin den Bürgermeister von Hamburg.",
    "es": "Pedro Sánchez viajó a Madrid para reunirse con el alcalde de Sevilla.",
    "en": "Angela Merkel met the mayor of Hamburg in Berlin yesterday.",
}
#: JVM threads that do garbage collection (G1's and the parallel collector's names).
GC_THREADS = re.compile(r"^(G1 |GC Thread|VM Thread|ParGC)")
#: Per comparison: variant -> (the project's flags it leaves out, flags it adds).
COMPARISONS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "gc": {"project": ((), ()), "g1-defaults": (GC_FLAGS, ("-XX:+UseG1GC",))},
    "http": {"project": ((), ()), "nagle-on": (HTTP_FLAGS, ())},
}


def thread_cpu(pid: int) -> dict[int, int]:
    """CPU ticks per thread id of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = int(fields[11]) + int(fields[12])
    return out


def thread_names(java: Path, pid: int) -> dict[int, str]:
    """JVM thread names by native thread id (``jstack`` beside ``java``)."""
    jstack = java.parent / "jstack"
    text = subprocess.run([str(jstack), str(pid)], capture_output=True, text=True,
                          timeout=60, check=False).stdout
    return {int(m.group(2), 16): m.group(1)
            for m in re.finditer(r'^"([^"]+)".*?nid=0x([0-9a-f]+)', text, re.M)}


def max_pause_ms(log: Path) -> float:
    pauses = [float(m.group(1)) for m in re.finditer(r"Pause .* ([0-9.]+)ms$",
                                                      log.read_text(), re.M)]
    return max(pauses, default=0.0)


def variant_command(command: list[str], drop: tuple[str, ...], add: tuple[str, ...]) -> list[str]:
    """The service's command without ``drop`` and with ``add`` right after the executable."""
    cmd = [part for part in command if part not in drop]
    cmd[1:1] = list(add)
    return cmd


def run_variant(name: str, args: argparse.Namespace, texts: list[str], age_texts: list[str],
                tmp: Path) -> list[tuple[float, float, float]]:
    """(CPU ms per article, GC share, articles/s) per measured round; one line per round."""
    port = free_port()
    # the client settings (raw_corenlp's too) derive the server's URL from this variable
    os.environ["NEWSSTREAM_CORENLP_PORT"] = str(port)
    s = settings_mod.load().replace(services_dir=str(tmp / name))
    svc = CoreNlpService(s)
    java = java_executable()
    svc.prepare(java)
    gc_log = tmp / f"{name}-gc.log"
    drop, add = COMPARISONS[args.compare][name]
    cmd = variant_command(svc.command(java), drop, (*add, f"-Xlog:gc:file={gc_log}"))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not svc.healthy():  # the service's own readiness check, on this port
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name}: the server did not start")
            time.sleep(0.5)
        for lang in args.langs.split(","):
            backend = CoreNlpBackend(s.corenlp_url, lang, 300, threads=1)
            backend.pipe([LOAD_TEXTS.get(lang, LOAD_TEXTS["en"])])
            backend.client.close()
        raw_corenlp(age_texts, s.nlp_processes, args.batch)
        rounds = []
        for r in range(1, args.rounds + 1):
            cpu0, threads0 = process_cpu(proc.pid), thread_cpu(proc.pid)
            seconds, _ = raw_corenlp(texts, s.nlp_processes, args.batch)
            cpu1, threads1 = process_cpu(proc.pid), thread_cpu(proc.pid)
            names = thread_names(java, proc.pid)
            by_kind: collections.Counter[str] = collections.Counter()
            for tid, ticks in threads1.items():
                kind = "gc" if GC_THREADS.match(names.get(tid, "")) else "other"
                by_kind[kind] += ticks - threads0.get(tid, 0)
            share = by_kind["gc"] / max(1, sum(by_kind.values()))
            ms = (cpu1 - cpu0) / args.articles * 1000
            rounds.append((ms, share, args.articles / seconds))
            print(f"{name:12} round {r}: {ms:5.1f} ms CPU per article, {share:4.0%} in GC threads, "
                  f"{args.articles / seconds:5.1f} articles/s", flush=True)
        print(f"{name:12} longest GC pause {max_pause_ms(gc_log):.0f} ms", flush=True)
        return rounds
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=1000)
    p.add_argument("--age", type=int, default=3000, help="articles served untimed first")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="texts per request")
    p.add_argument("--langs", default="en,de,es", help="whose models the server loads first")
    p.add_argument("--compare", default="gc", choices=sorted(COMPARISONS),
                   help="gc: G1's defaults; http: Nagle's algorithm on")
    args = p.parse_args()
    variants = COMPARISONS[args.compare]
    gen = corpus.Generator(seed=11, words=500)
    age_texts = corpus.ner_texts(gen.records(0, args.age))
    texts = corpus.ner_texts(gen.records(args.age, args.articles))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="bench-corenlp-gc-") as tmp:
        order = [*variants, *reversed(variants)]
        for name in order:
            results[name] += run_variant(name, args, texts, age_texts, Path(tmp))
    med = {name: statistics.median(r[0] for r in rs) for name, rs in results.items()}
    gc = {name: statistics.median(r[1] for r in rs) for name, rs in results.items()}
    rate = {name: statistics.median(r[2] for r in rs) for name, rs in results.items()}
    for name in variants:
        print(f"{name:12} median {med[name]:.1f} ms CPU per article, {gc[name]:.0%} in GC threads, "
              f"{rate[name]:.1f} articles/s")
    other = next(name for name in variants if name != "project")
    print(f"project / {other}: CPU per article {med['project'] / med[other]:.2f}, articles/s "
          f"{rate['project'] / rate[other]:.2f} (langs {args.langs}, {args.age} articles "
          f"untimed, {args.rounds} x {args.articles} measured per server start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
