"""What per-language analysis saves Elasticsearch: index size and ES CPU per document.

Compares two layouts of the same index template on the same documents:

* ``every language`` (the former layout): ``title``, ``summary`` and ``body`` each carry one
  subfield per supported language (``title.en``, ``title.ru``, ...), so every text is analyzed
  by the neutral analyzer plus every language's analyzer whatever its language;
* ``own language`` (the current template): the neutral field plus the one per-language field
  (``title_en``, ``body_ru``, ...) of the language detected for that text, filled by
  :func:`streams.index.documents.build_document`.

The documents are the bundled samples (examples/articles.jsonl, eleven languages), each built
by the real document builder with the publisher's declared language as the detected one,
repeated under new ids up to ``--docs``. Each round bulk-indexes them into a fresh index of
each layout (alternating, so drift hits both), refreshes, flushes and force-merges to one
segment; ES CPU is utime+stime of the Elasticsearch process (and its children) over that
whole phase, read from /proc, so it needs a local node of ``newsstream services`` (its pid
file). Index size is ``store.size_in_bytes`` of the merged index (primaries).

Noise: the machine's busy time not spent by Elasticsearch is printed per round ("others"),
with the load average; rounds whose ES CPU per document differs by more than 15 % between
repetitions of the same layout are flagged. Writes a ``bench-index`` section into
BENCHMARKS.md with ``--write``.

    NEWSSTREAM_ES_PORT=... .venv/bin/python bench/bench_index.py [--docs 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from streams import procs
from streams.index import documents, es_client
from streams.index import schema as setup
from streams.model import Article, DedupInfo, Language
from streams.settings import REPO_ROOT, Settings, load

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import loadavg, service_pid

SAMPLES = REPO_ROOT / "examples" / "articles.jsonl"
SECTION = "bench-index"
BENCHMARKS = REPO_ROOT / "BENCHMARKS.md"
BULK_DOCS = 500


class _Enrich:
    """The three things the document builder reads from the enrich stage."""

    def __init__(self, languages: dict[str, Language]) -> None:
        self.languages = languages
        self.entities: list[Any] = []
        self.ner_status = "ok"


def sample_rows(kind: str, n: int) -> list[dict[str, Any]]:
    """Input records: the bundled samples, or ``n`` generated English news-length articles."""
    if kind == "generated":
        import corpus

        return corpus.Generator(seed=11, words=450).records(0, n)
    return [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


def sample_documents(n: int, kind: str = "samples") -> list[dict[str, Any]]:
    """``n`` documents built by the real builder (samples repeated under new ids)."""
    rows = sample_rows(kind, n)
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < n:
        row = rows[i % len(rows)]
        i += 1
        code = row.get("language") or "und"
        art = Article(
            id=f"d{i:07d}", url=f"{row['url']}?copy={i}", canonical_url=f"{row['url']}?copy={i}",
            title=row.get("title"), body=row.get("body"), summary=row.get("summary"),
            source=row.get("source"), published_at=row.get("published_at"),
            authors=tuple(row.get("authors") or ()), tags=tuple(row.get("tags") or ()),
        )
        langs = {f: Language(code, 0.99) for f in documents.TEXT_FIELDS if getattr(art, f)}
        dedup = DedupInfo(kind="new", content_hash=f"h{i}", story_id=art.id,
                          first_seen="2025-03-03T10:00:00Z")
        out.append(documents.build_document(art, dedup, _Enrich(langs), "2025-03-03T10:00:01Z"))
    return out


def every_language_template(body: dict[str, Any]) -> dict[str, Any]:
    """The former layout: per-language fields turned back into subfields of each text field."""
    legacy = copy.deepcopy(body)
    props = legacy["template"]["mappings"]["properties"]
    for name in documents.language_field_names():
        base, suffix = name.rsplit("_", 1)
        props[base].setdefault("fields", {})[suffix] = props.pop(name)
    return legacy


def strip_language_fields(doc: dict[str, Any]) -> dict[str, Any]:
    names = set(documents.language_field_names())
    return {k: v for k, v in doc.items() if k not in names}


def es_cpu_seconds(s: Settings) -> float:
    pid = service_pid(s, "elasticsearch", "es.pid")
    if pid is None:
        raise SystemExit("needs a local Elasticsearch of `newsstream services` (its pid file)")
    return procs.tree_cpu_seconds(pid)


def index_round(es: Any, s: Settings, name: str, body: dict[str, Any],
                docs: list[dict[str, Any]]) -> dict[str, float]:
    """Index ``docs`` into a fresh index ``name`` built from ``body``; CPU and size."""
    tpl = body["template"]
    settings = copy.deepcopy(tpl["settings"])
    settings["index"].pop("lifecycle", None)
    settings["index"]["refresh_interval"] = "1s"
    es.indices.create(index=name, settings=settings, mappings=tpl["mappings"])
    es0, (busy0, steal0) = es_cpu_seconds(s), procs.machine_cpu()
    t0 = time.monotonic()
    for start in range(0, len(docs), BULK_DOCS):
        ops: list[dict[str, Any]] = []
        for doc in docs[start:start + BULK_DOCS]:
            action, source = documents.bulk_lines(documents.document_message(doc), name)
            ops += [action, source]
        resp = es.bulk(operations=ops)
        if resp["errors"]:
            bad = next(i for i in resp["items"] if "error" in next(iter(i.values())))
            raise RuntimeError(f"bulk item failed: {bad}")
    es.indices.refresh(index=name)
    es.indices.flush(index=name)
    es.indices.forcemerge(index=name, max_num_segments=1)
    wall = time.monotonic() - t0
    es1, (busy1, steal1) = es_cpu_seconds(s), procs.machine_cpu()
    stats = es.indices.stats(index=name, metric="store,docs")["indices"][name]["primaries"]
    es.indices.delete(index=name)
    n = stats["docs"]["count"]
    es_cpu = es1 - es0
    others = max(0.0, busy1 - busy0 + steal1 - steal0 - es_cpu)
    return {
        "docs": n, "wall": wall, "es_cpu_ms": 1000 * es_cpu / n,
        "bytes": stats["store"]["size_in_bytes"] / n, "others_cores": others / wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", choices=("samples", "generated"), default="samples",
                    help="the multilingual samples, or generated English news-length articles")
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    args = ap.parse_args()
    s = load()
    es = es_client.make_client(s)
    es_client.quiet_client_logs()
    current = setup.template_body("bench-index")
    layouts = {"every language": (every_language_template(current), strip_language_fields),
               "own language": (current, lambda d: d)}
    docs = sample_documents(args.docs, args.corpus)
    langs = sorted({d["language"] for d in docs})
    words = statistics.mean(len((d["body"] or "").split()) for d in docs)
    load_start = loadavg()
    results: dict[str, list[dict[str, float]]] = {k: [] for k in layouts}
    for body, shape in layouts.values():  # warm-up (JIT, caches), not counted
        index_round(es, s, f"bench-index-{uuid.uuid4().hex[:8]}", body,
                    [shape(d) for d in docs[:BULK_DOCS]])
    for r in range(args.rounds):
        for label, (body, shape) in layouts.items():
            name = f"bench-index-{uuid.uuid4().hex[:8]}"
            res = index_round(es, s, name, body, [shape(d) for d in docs])
            results[label].append(res)
            print(f"round {r + 1} {label:15s} ES CPU {res['es_cpu_ms']:.2f} ms/doc, "
                  f"{res['bytes'] / 1024:.2f} KiB/doc, {res['wall']:.1f} s, "
                  f"others {res['others_cores']:.2f} cores", flush=True)
    load_end = loadavg()
    rows = []
    verdicts = []
    for label, rs in results.items():
        cpu = [x["es_cpu_ms"] for x in rs]
        spread = (max(cpu) - min(cpu)) / min(cpu) if min(cpu) > 0 else 0.0
        noisy = spread > 0.15
        verdicts.append(noisy)
        rows.append((label, statistics.median(cpu), statistics.median(x["bytes"] for x in rs),
                     cpu, spread, statistics.mean(x["others_cores"] for x in rs)))
    before, after = rows[0], rows[1]
    lines = [
        f"<!-- {SECTION}:start -->",
        "## Index layout: each text analyzed in its own language (`bench/bench_index.py`)",
        "",
        f"- **Command**: `.venv/bin/python bench/bench_index.py --docs {args.docs} "
        f"--rounds {args.rounds} --corpus {args.corpus} --write`",
        f"- **Date**: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        f"{load_start} at the start, {load_end} at the end",
        f"- **Documents**: {len(docs)} built by the document builder from "
        f"{len(set(d['title'] for d in docs))} distinct {args.corpus} articles (languages: "
        f"{', '.join(langs)}; {words:.0f} words of body on average), bulk requests of 500, "
        "then refresh, flush and force-merge to one segment",
        "",
        "| layout | ES CPU per document (median; rounds) | index size per document | "
        "other processes during the rounds |",
        "|---|---|---|---|",
    ]
    for label, cpu, size, cpus, spread, others in rows:
        lines.append(
            f"| {label} | {cpu:.2f} ms ({', '.join(f'{c:.2f}' for c in cpus)}; spread "
            f"{spread:.0%}{', NOISY' if spread > 0.15 else ''}) | {size / 1024:.2f} KiB | "
            f"{others:.2f} cores |"
        )
    lines += [
        f"| own / every language | {after[1] / before[1]:.2f} | {after[2] / before[2]:.2f} | |",
        "",
        "ES CPU is utime+stime of the Elasticsearch process over indexing, refresh, flush and "
        "merge, divided by the documents; 'other processes' is the rest of the machine's busy "
        "time meanwhile (a quiet machine shows about 0). A spread above 15 % between rounds of "
        "the same layout is marked NOISY: the ratio is then uncertain by about as much.",
        f"<!-- {SECTION}:end -->",
    ]
    text = "\n".join(lines)
    print(text)
    if any(verdicts):
        print("warning: the machine was noisy (see spread): treat the ratio as approximate",
              file=sys.stderr)
    if args.write:
        write_section(text)
    return 0


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section of BENCHMARKS.md."""
    old = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    if start in old and end in old:
        new = old[:old.index(start)] + text + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    BENCHMARKS.write_text(new)


if __name__ == "__main__":
    raise SystemExit(main())
