"""CPU per article of CoreNLP NER: the server's (its process's CPU time) and the client's.

Why CPU time and not wall time: the server and the NER processes share the machine's cores
with the rest of the pipeline, so the CPU each article costs is what bounds the pipeline's
NER throughput; it is also far less sensitive to other load than wall time.

    .venv/bin/python bench/bench_corenlp.py [--docs 100] [--rounds 3] [--batch 32] [--threads 2]

Talks to the local CoreNLP service (``newsstream services up --only corenlp``; its pid comes
from the service's pid file). The articles are those of ``bench/bench_enrich.py`` (title and
body each); ``--batch`` texts go to one ``pipe`` call, as one NER process's share of a batch.
"""

from __future__ import annotations

import argparse
import os
import time

from bench_enrich import make_articles

from streams import settings as settings_mod
from streams.devservices.corenlp import CoreNlpService
from streams.enrich.corenlp import CoreNlpBackend


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=32, help="texts per pipe() call")
    p.add_argument("--threads", type=int, default=None, help="requests in flight (default: settings)")
    args = p.parse_args()
    s = settings_mod.load()
    pid = CoreNlpService(s).status().pid
    if pid is None:
        raise SystemExit("no local CoreNLP server: newsstream services up --only corenlp")
    backend = CoreNlpBackend(
        s.corenlp_url, "en", s.corenlp_timeout, args.threads or s.corenlp_threads, s.nlp_max_chars
    )
    texts = [t for a in make_articles(args.docs) for t in (a.title or "", a.body or "")]

    def one_round() -> tuple[float, float, float, int]:
        server0, client0, wall0 = process_cpu(pid), time.process_time(), time.perf_counter()
        n = 0
        for i in range(0, len(texts), args.batch):
            n += sum(map(len, backend.pipe(texts[i : i + args.batch])))
        return process_cpu(pid) - server0, time.process_time() - client0, time.perf_counter() - wall0, n

    one_round()  # the server's JIT warms up on the first few hundred texts
    server = client = wall = 0.0
    for r in range(1, args.rounds + 1):
        sv, cl, wa, n = one_round()
        server, client, wall = server + sv, client + cl, wall + wa
        per = 1000 / args.docs
        print(f"round {r}: server {sv * per:.1f} ms/article, client {cl * per:.1f} ms/article, "
              f"{args.docs / wa:.1f} articles/s, {n} entities")  # fmt: skip
    n = args.docs * args.rounds
    print(f"CoreNLP server CPU {server / n * 1000:.1f} ms/article, client CPU "
          f"{client / n * 1000:.1f} ms/article, wall {n / wall:.1f} articles/s "
          f"(batch {args.batch}, threads {backend.client.threads})")  # fmt: skip
    backend.client.close()


if __name__ == "__main__":
    main()
