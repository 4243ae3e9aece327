"""Cold start and memory of one worker at default settings, through real Kafka and Elasticsearch.

Why: a worker that waits for its models before it consumes delays every first article, and
memory decides how many workers fit on a machine. Measured from the worker's spawn: the first
batch the enrich stage takes (every stage before it has consumed by then), the log line that
says every NLP model is loaded, and the first document searchable. Then a mixed load (the
multilingual sample articles plus generated English ones) runs through, and the worker's
process tree is sampled: peak RSS per process, and at the end RSS, PSS (shared pages divided
among the processes that map them) and USS (pages of that process alone), through
:mod:`streams.procs`. With the CoreNLP backend the local NER server is counted too (it is
shared with whatever else uses it: its figure is the server's, not this worker's alone).
The models must already be cached (installed packages).

    .venv/bin/python bench/bench_coldstart.py [--n 300] [--cwd DIR]

``--cwd`` runs the worker of another checkout (e.g. an older commit) with this interpreter, to
compare. Figures go to BENCHMARKS.md by hand; this script only prints.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_pipeline as bp
import corpus

from streams import procs
from streams.index import es_client
from streams.settings import REPO_ROOT, load


def loaded_line(log_path: Path) -> str | None:
    for line in log_path.read_text(errors="replace").splitlines():
        if "NLP models loaded" in line:
            return line.strip()[-160:]
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100, help="generated English articles after the start")
    p.add_argument("--cwd", type=Path, default=REPO_ROOT, help="checkout whose worker runs")
    p.add_argument("--timeout", type=float, default=1500.0)
    args = p.parse_args()
    base = load()
    name = f"bcs{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    ns = bp.Namespace.create(name, tmp)
    deadline = bp.Deadline(args.timeout)
    es = es_client.make_client(base)
    gen = corpus.Generator(seed=11)
    first = bp.prepare([gen.record(0)])
    samples = [json.loads(x) for x in corpus.SAMPLES.read_text(encoding="utf-8").splitlines() if x]
    mixed = bp.prepare(samples) + bp.prepare([gen.record(i) for i in range(1, args.n + 1)])
    worker = bp.Worker(ns, tmp / "worker.log",
                       [sys.executable, "-m", "streams.cli", "worker"])
    try:
        ns.setup()
        s = ns.settings()
        bp.publish_all(s, first)
        log_path = tmp / "worker.log"
        t0 = time.monotonic()
        worker.proc = procs.spawn(worker.command, log_path, cwd=args.cwd, env=ns.full_env())
        server = bp.ner_server(s)
        sampler = bp.RssSampler(worker.proc.pid, also=server).start()
        t_batch = t_loaded = t_doc = None
        while t_doc is None or t_batch is None or t_loaded is None:
            worker.check_alive()
            now = time.monotonic()
            text = log_path.read_text(errors="replace")
            if t_batch is None and "enrich: first batch taken" in text:
                t_batch = now - t0
            if t_loaded is None and "NLP models loaded" in text:
                t_loaded = now - t0
            if t_doc is None and es.options(ignore_status=404).count(index=ns.env[
                    "NEWSSTREAM_ES_ALIAS"]).get("count", 0) >= 1:
                t_doc = now - t0
            if deadline.left() <= 0:
                raise bp.BenchError(f"timeout during the cold start\n{worker.tail()}")
            if t_doc is not None and now - t0 > t_doc + 30:
                break  # an older worker logs neither line
            time.sleep(0.1)
        print(f"first enrich batch taken (stages consuming): "
              f"{t_batch if t_batch is None else round(t_batch, 1)} s after spawn")
        print(f"every NLP model loaded: {t_loaded if t_loaded is None else round(t_loaded, 1)} s"
              f" ({loaded_line(log_path)})")
        print(f"first document searchable: {t_doc:.1f} s after spawn")
        t1 = time.monotonic()
        bp.publish_all(s, mixed)
        try:
            bp.wait_count(es, ns.env["NEWSSTREAM_ES_ALIAS"], 1 + len(mixed), deadline, 120.0,
                          "mixed load", worker.check_alive, tail=lambda: worker.tail(3))
            print(f"mixed load: {len(mixed)} articles ({len(samples)} multilingual samples) in "
                  f"{time.monotonic() - t1:.1f} s")
        except bp.BenchError as exc:  # duplicates among the samples are not indexed
            print(f"mixed load settled below {1 + len(mixed)} documents (exact duplicates are "
                  f"not indexed): {str(exc).splitlines()[0]}")
        sampler.stop()
        found = re.search(r"language pid (\d+)", log_path.read_text(errors="replace"))
        if found:
            sampler.names[int(found.group(1))] = "language process"
        print(f"peak RSS: {sampler.summary()}")
        rows = []
        total = {"rss": 0, "pss": 0, "uss": 0}
        for pid in [*procs.tree_pids(worker.proc.pid), *server]:
            m = procs.memory(pid)
            if m is None:
                continue
            for k in total:
                total[k] += getattr(m, k)
            rows.append(f"  {pid} {sampler.names.get(pid) or bp.describe_pid(pid):22s} "
                        f"RSS {m.rss / 2**20:6.0f}  PSS {m.pss / 2**20:6.0f}  "
                        f"USS {m.uss / 2**20:6.0f} MiB")
        print("at the end (MiB):")
        print("\n".join(rows))
        print(f"  total RSS {total['rss'] / 2**20:.0f}, PSS {total['pss'] / 2**20:.0f}, "
              f"USS {total['uss'] / 2**20:.0f} MiB")
    finally:
        worker.stop()
        print("cleanup:", "; ".join(bp.cleanup(name, base)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
