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

``--writes`` compares instead how a document is written, on documents carrying entity
mentions (16 per article, what the pipeline benchmark's English articles get from NER; made
here from the body's capitalized words), in bulks of ``--bulk`` documents (about one NER batch)
with a 1 s refresh interval:

* ``before``: the mentions as nested documents (one Lucene document per mention) and each
  document written as a partial-update upsert;
* ``after`` (the current template and sink): the mentions stored unindexed with their names in
  one keyword field, and each document written by the index sink's ``create``.

    NEWSSTREAM_ES_PORT=... .venv/bin/python bench/bench_index.py [--docs 2000] [--rounds 3]
    NEWSSTREAM_ES_PORT=... .venv/bin/python bench/bench_index.py --writes [--bulk 28]

``--paced RATE`` instead measures the index's ``refresh_interval`` at a worker's pace: the
current template's documents (with mentions, as ``--writes``) created in bulks of ``--bulk``
(28) at RATE documents/s, one fresh index per ``--intervals`` value in turn each round; ES CPU
per document over the paced indexing plus one final refresh (no force-merge: segments are left
as a running index has them), with the refreshes and segments counted.

    NEWSSTREAM_ES_PORT=... .venv/bin/python bench/bench_index.py --paced 30 --docs 900 \
        --intervals 1s,2s,5s [--rounds 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams import procs
from streams.index import documents, es_client
from streams.index import schema as setup
from streams.index.sink import action_line, pending_doc
from streams.model import Article, DedupInfo, Entity, Language, encode_internal
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


MENTIONS = 16  # per article: the pipeline benchmark's English articles (32252 for 2000)
LABELS = ("PERSON", "ORG", "LOCATION", "MISC")


def with_mentions(docs: list[dict[str, Any]], seed: int = 5) -> list[dict[str, Any]]:
    """The documents with ``MENTIONS`` entity mentions each, taken from their capitalized words."""
    rnd = random.Random(seed)
    out = []
    for d in docs:
        body = d.get("body") or ""
        words = [w.strip(".,;:\"'()") for w in body.split()]
        caps = [w for w in words if w[:1].isupper() and len(w) > 3] or ["Harbour"]
        ents = []
        for _ in range(MENTIONS):
            w = rnd.choice(caps)
            start = max(0, body.find(w))
            ents.append(Entity(w, rnd.choice(LABELS), start, start + len(w), "body", w.lower(),
                               "en"))
        out.append({**d, "entities": [e.to_dict() for e in ents],
                    "entity_names": documents.entity_names(ents)})
    return out


def nested_template(body: dict[str, Any]) -> dict[str, Any]:
    """The former mapping: each mention a nested document, no entity_names field."""
    legacy = copy.deepcopy(body)
    props = legacy["template"]["mappings"]["properties"]
    props.pop("entity_names")
    keyword = {"type": "keyword", "ignore_above": 512}
    props["entities"] = {"type": "nested", "properties": {
        "text": keyword, "label": {"type": "keyword"}, "start": {"type": "integer"},
        "end": {"type": "integer"}, "field": {"type": "keyword"},
        "normalized": {**keyword, "normalizer": "folded"}, "language": {"type": "keyword"},
        "key": keyword}}
    return legacy


def without_entity_names(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "entity_names"}


def strip_language_fields(doc: dict[str, Any]) -> dict[str, Any]:
    names = set(documents.language_field_names())
    return {k: v for k, v in doc.items() if k not in names}


def es_cpu_seconds(s: Settings) -> float:
    pid = service_pid(s, "elasticsearch", "es.pid")
    if pid is None:
        raise SystemExit("needs a local Elasticsearch of `newsstream services` (its pid file)")
    return procs.tree_cpu_seconds(pid)


def upsert_lines(doc: dict[str, Any], index: str) -> list[bytes]:
    """A document as a partial-update upsert (:func:`streams.index.documents.bulk_lines`)."""
    action, source = documents.bulk_lines(documents.document_message(doc), index)
    return [json.dumps(action).encode(), encode_internal(source)]


def create_lines(doc: dict[str, Any], index: str) -> list[bytes]:
    """A document as the index sink writes a new one: ``create`` of the whole document."""
    item = pending_doc("p", 0, documents.document_message(doc), b"")
    return [action_line(item.doc_id, index, item.create), item.body]


def fresh_index(es: Any, body: dict[str, Any], name: str, refresh_interval: str) -> None:
    """Create ``name`` from a template body (no lifecycle policy: nothing rolls it over)."""
    settings = copy.deepcopy(body["template"]["settings"])
    settings["index"].pop("lifecycle", None)
    settings["index"]["refresh_interval"] = refresh_interval
    es.indices.create(index=name, settings=settings, mappings=body["template"]["mappings"])


def bulk_write(es: Any, name: str, docs: list[dict[str, Any]], bulk: int,
               lines: Callable[[dict[str, Any], str], list[bytes]],
               rate: float | None = None) -> None:
    """``docs`` in bulks of ``bulk`` (at ``rate`` documents/s when given); any failed item raises."""
    t0 = time.monotonic()
    for start in range(0, len(docs), bulk):
        ops: list[bytes] = []
        for doc in docs[start:start + bulk]:
            ops += lines(doc, name)
        resp = es.bulk(operations=ops)
        if resp["errors"]:
            bad = next(i for i in resp["items"] if "error" in next(iter(i.values())))
            raise RuntimeError(f"bulk item failed: {bad}")
        if rate:
            time.sleep(max(0.0, t0 + (start + bulk) / rate - time.monotonic()))


def index_round(es: Any, s: Settings, name: str, body: dict[str, Any],
                docs: list[dict[str, Any]], bulk: int = BULK_DOCS,
                lines: Callable[[dict[str, Any], str], list[bytes]] = upsert_lines,
                ) -> dict[str, float]:
    """Index ``docs`` into a fresh index ``name`` built from ``body``; CPU and size."""
    fresh_index(es, body, name, "1s")
    es0, (busy0, steal0) = es_cpu_seconds(s), procs.machine_cpu()
    t0 = time.monotonic()
    bulk_write(es, name, docs, bulk, lines)
    es.indices.refresh(index=name)
    es.indices.flush(index=name)
    es.indices.forcemerge(index=name, max_num_segments=1)
    wall = time.monotonic() - t0
    es1, (busy1, steal1) = es_cpu_seconds(s), procs.machine_cpu()
    stats = es.indices.stats(index=name, metric="store,docs")["indices"][name]["primaries"]
    es.indices.delete(index=name)
    n = len(docs)
    es_cpu = es1 - es0
    others = max(0.0, busy1 - busy0 + steal1 - steal0 - es_cpu)
    return {
        "docs": n, "wall": wall, "es_cpu_ms": 1000 * es_cpu / n,
        "bytes": stats["store"]["size_in_bytes"] / n, "others_cores": others / wall,
    }


Variant = tuple[dict[str, Any], list[dict[str, Any]], Callable[[dict[str, Any], str], list[bytes]]]


def run_rounds(es: Any, s: Settings, variants: dict[str, Variant], rounds: int,
               bulk: int) -> dict[str, list[dict[str, float]]]:
    """Alternate the variants round by round (drift hits all); a warm-up round first."""
    for body, docs, lines in variants.values():  # warm-up (JIT, caches), not counted
        index_round(es, s, f"bench-index-{uuid.uuid4().hex[:8]}", body, docs[:BULK_DOCS],
                    bulk, lines)
    results: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    for r in range(rounds):
        for label, (body, docs, lines) in variants.items():
            res = index_round(es, s, f"bench-index-{uuid.uuid4().hex[:8]}", body, docs, bulk,
                              lines)
            results[label].append(res)
            print(f"round {r + 1} {label:15s} ES CPU {res['es_cpu_ms']:.2f} ms/doc, "
                  f"{res['bytes'] / 1024:.2f} KiB/doc, {res['wall']:.1f} s, "
                  f"others {res['others_cores']:.2f} cores", flush=True)
    return results


def result_rows(results: dict[str, list[dict[str, float]]], ratio_label: str) -> tuple[list[str], bool]:
    """The table rows (one per variant, then last / first) and whether a spread was noisy."""
    lines, rows, noisy = [], [], False
    for label, rs in results.items():
        cpu = [x["es_cpu_ms"] for x in rs]
        spread = (max(cpu) - min(cpu)) / min(cpu) if min(cpu) > 0 else 0.0
        noisy = noisy or spread > 0.15
        size = statistics.median(x["bytes"] for x in rs)
        rows.append((statistics.median(cpu), size))
        lines.append(
            f"| {label} | {rows[-1][0]:.2f} ms ({', '.join(f'{c:.2f}' for c in cpu)}; spread "
            f"{spread:.0%}{', NOISY' if spread > 0.15 else ''}) | {size / 1024:.2f} KiB | "
            f"{statistics.mean(x['others_cores'] for x in rs):.2f} cores |"
        )
    first, last = rows[0], rows[-1]
    runs = list(results.values())
    # each round's ratio: the two variants ran back to back, so drift cancels better than in
    # the ratio of medians
    paired = [b["es_cpu_ms"] / a["es_cpu_ms"] for a, b in zip(runs[0], runs[-1], strict=True)]
    lines.append(f"| {ratio_label} | {last[0] / first[0]:.2f} (per round: "
                 f"{', '.join(f'{r:.2f}' for r in paired)}) | {last[1] / first[1]:.2f} | |")
    return lines, noisy


HEADER = ("| {what} | ES CPU per document (median; rounds) | index size per document | "
          "other processes during the rounds |")
FOOTER = ("ES CPU is utime+stime of the Elasticsearch process over indexing, refresh, flush and "
          "merge, divided by the documents; 'other processes' is the rest of the machine's busy "
          "time meanwhile (a quiet machine shows about 0). A spread above 15 % between rounds of "
          "the same variant is marked NOISY: the ratio is then uncertain by about as much.")


def paced_round(es: Any, s: Settings, body: dict[str, Any], docs: list[dict[str, Any]],
                interval: str, rate: float, bulk: int) -> dict[str, float]:
    """Create ``docs`` at ``rate`` per second into a fresh index refreshed every ``interval``."""
    name = f"bench-index-{uuid.uuid4().hex[:8]}"
    fresh_index(es, body, name, interval)
    es0, (busy0, steal0) = es_cpu_seconds(s), procs.machine_cpu()
    t0 = time.monotonic()
    bulk_write(es, name, docs, bulk, create_lines, rate)
    es.indices.refresh(index=name)
    wall = time.monotonic() - t0
    es1, (busy1, steal1) = es_cpu_seconds(s), procs.machine_cpu()
    stats = es.indices.stats(index=name, metric="segments,refresh")["indices"][name]["primaries"]
    es.indices.delete(index=name)
    es_cpu = es1 - es0
    return {"es_cpu_ms": 1000 * es_cpu / len(docs), "wall": wall,
            "refreshes": stats["refresh"]["total"], "segments": stats["segments"]["count"],
            "others_cores": max(0.0, busy1 - busy0 + steal1 - steal0 - es_cpu) / wall}


def paced(es: Any, s: Settings, docs: list[dict[str, Any]], rate: float, intervals: list[str],
          rounds: int, bulk: int) -> int:
    """Alternate the intervals round by round; print ES CPU per document and the ratios."""
    body = setup.template_body("bench-index")
    mentioned = with_mentions(docs)
    paced_round(es, s, body, mentioned[: 2 * bulk], intervals[0], rate, bulk)  # warm-up
    per: dict[str, list[float]] = {iv: [] for iv in intervals}
    for r in range(1, rounds + 1):
        for iv in intervals:
            res = paced_round(es, s, body, mentioned, iv, rate, bulk)
            per[iv].append(res["es_cpu_ms"])
            print(f"round {r} refresh_interval {iv}: ES CPU {res['es_cpu_ms']:.2f} ms/doc "
                  f"({len(mentioned)} docs in {res['wall']:.0f} s), {res['refreshes']:.0f} "
                  f"refreshes, {res['segments']:.0f} segments, others "
                  f"{res['others_cores']:.2f} cores; / {intervals[0]}: "
                  f"{res['es_cpu_ms'] / per[intervals[0]][-1]:.2f}", flush=True)
    for iv in intervals[1:]:
        ratios = [b / a for a, b in zip(per[intervals[0]], per[iv], strict=True)]
        print(f"{iv} / {intervals[0]}: ES CPU per document {statistics.median(ratios):.2f} "
              f"(median of rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", choices=("samples", "generated"), default="samples",
                    help="the multilingual samples, or generated English news-length articles")
    ap.add_argument("--writes", action="store_true",
                    help="compare how documents with entity mentions are written instead")
    ap.add_argument("--bulk", type=int, default=None,
                    help=f"documents per bulk request (default {BULK_DOCS}, with --writes 28)")
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    ap.add_argument("--paced", type=float, default=None, metavar="RATE",
                    help="documents/s: compare refresh intervals at this pace (see above)")
    ap.add_argument("--intervals", default="1s,2s,5s",
                    help="with --paced: the refresh_interval values to compare, first = base")
    args = ap.parse_args()
    s = load()
    es = es_client.make_client(s)
    es_client.quiet_client_logs()
    if args.paced:
        return paced(es, s, sample_documents(args.docs, "generated"), args.paced,
                     args.intervals.split(","), args.rounds, args.bulk or 28)
    current = setup.template_body("bench-index")
    docs = sample_documents(args.docs, "generated" if args.writes else args.corpus)
    corpus_name = "generated" if args.writes else args.corpus
    bulk = args.bulk or (28 if args.writes else BULK_DOCS)
    if args.writes:
        section, title, what, ratio = (
            "bench-writes", "Index writes: mentions stored, documents created "
            "(`bench/bench_index.py --writes`)", "writing", "after / before")
        mentioned = with_mentions(docs)
        variants: dict[str, Variant] = {
            "before: nested mentions, upsert": (
                nested_template(current), [without_entity_names(d) for d in mentioned],
                upsert_lines),
            "after: stored mentions, create": (current, mentioned, create_lines),
        }
    else:
        section, title, what, ratio = (
            SECTION, "Index layout: each text analyzed in its own language "
            "(`bench/bench_index.py`)", "layout", "own / every language")
        variants = {
            "every language": (every_language_template(current),
                               [strip_language_fields(d) for d in docs], upsert_lines),
            "own language": (current, docs, upsert_lines),
        }
    langs = sorted({d["language"] for d in docs})
    words = statistics.mean(len((d["body"] or "").split()) for d in docs)
    load_start = loadavg()
    results = run_rounds(es, s, variants, args.rounds, bulk)
    load_end = loadavg()
    rows, noisy = result_rows(results, ratio)
    flags = (" --writes" if args.writes else f" --corpus {args.corpus}") + (
        f" --bulk {bulk}" if args.bulk else "")
    mentions = (f"; {MENTIONS} entity mentions each" if args.writes else "")
    lines = [
        f"<!-- {section}:start -->",
        f"## {title}",
        "",
        f"- **Command**: `.venv/bin/python bench/bench_index.py --docs {args.docs} "
        f"--rounds {args.rounds}{flags} --write`",
        f"- **Date**: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        f"{load_start} at the start, {load_end} at the end",
        f"- **Documents**: {len(docs)} built by the document builder from "
        f"{len(set(d['title'] for d in docs))} distinct {corpus_name} articles (languages: "
        f"{', '.join(langs)}; {words:.0f} words of body on average{mentions}), bulk requests "
        f"of {bulk}, then refresh, flush and force-merge to one segment",
        "",
        HEADER.format(what=what),
        "|---|---|---|---|",
        *rows,
        "",
        FOOTER,
        f"<!-- {section}:end -->",
    ]
    text = "\n".join(lines)
    print(text)
    if noisy:
        print("warning: the machine was noisy (see spread): treat the ratio as approximate",
              file=sys.stderr)
    if args.write:
        write_section(text, section)
    return 0


def write_section(text: str, section: str = SECTION) -> None:
    """Replace (or append) this benchmark's section of BENCHMARKS.md."""
    old = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    if start in old and end in old:
        new = old[:old.index(start)] + text + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    BENCHMARKS.write_text(new)


if __name__ == "__main__":
    raise SystemExit(main())
