"""NER accuracy (F1 per label, exact spans) and speed (docs/s) of every backend, in one run.

Why: the backend of each language is chosen by measurement, on the same documents, with the
same scorer. Each backend is measured twice: ``raw`` (the model's own spans) and ``pipeline``
(what the index gets: text cleaning, quality rules and canonical labels of ``streams.enrich.entities``).

    .venv/bin/python bench/bench_ner.py EVAL_DIR_OR_FILE [--langs en,de] [--docs 100]
        [--backends spacy,corenlp,natasha] [--corenlp-url http://127.0.0.1:9010]

The evaluation files are JSON Lines ``{"id", "body", "entities": [{"label", "start", "end"}]}``
named ``*_<lang>_*.jsonl`` (labels PER, ORG, LOC, MISC); they are read from the given path
only and are never part of the repository. CoreNLP is measured when its server answers at
``--corenlp-url`` (start it with ``NEWSSTREAM_CORENLP=true newsstream services up --only corenlp``).
Prints a Markdown table. ``--write-docs`` also chooses the backend of each language from the
measured F1 (see :func:`choose`) and writes the per-language table into ``docs/entities.md``
(between its ``entities-table`` markers), next to the F1 of the previous backend (the MIT
path, ``NEWSSTREAM_CORENLP=false``); it fails when the default configuration disagrees.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import corpus

from streams import settings as settings_mod
from streams.enrich.corenlp import LANGUAGES as CORENLP_LANGUAGES
from streams.enrich.corenlp import ping
from streams.enrich.entities import CORENLP, NATASHA, Extractor, NerConfig, load_backend

#: Unified labels -> the evaluation labels.
EVAL_LABEL = {"PERSON": "PER", "ORG": "ORG", "LOCATION": "LOC", "MISC": "MISC"}
LABELS = ("PER", "ORG", "LOC", "MISC")

Span = tuple[str, int, int]
THREADS = 1  # CoreNLP requests in flight: 1 compares one core with one spaCy process


def eval_files(root: Path) -> dict[str, Path]:
    """Language -> evaluation file; CoNLL-2003 (human gold) preferred for English."""
    files = [root] if root.is_file() else sorted(root.glob("*.jsonl"))
    out: dict[str, Path] = {}
    for f in sorted(files, key=lambda p: (not p.name.startswith("conll"), p.name)):
        m = re.search(r"_([a-z]{2})_", f.name)
        if m and m.group(1) not in out:
            out[m.group(1)] = f
    return out


def score(gold: Sequence[set[Span]], pred: Sequence[set[Span]]) -> dict[str, tuple[float, float, float]]:
    """(precision, recall, F1) per label and ``ALL`` (micro), exact span and label."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        for lab, *_ in p & g:
            tp[lab] += 1
        for lab, *_ in p - g:
            fp[lab] += 1
        for lab, *_ in g - p:
            fn[lab] += 1
    out: dict[str, tuple[float, float, float]] = {}
    for lab in (*LABELS, "ALL"):
        t = sum(tp.values()) if lab == "ALL" else tp[lab]
        f_p = sum(fp.values()) if lab == "ALL" else fp[lab]
        f_n = sum(fn.values()) if lab == "ALL" else fn[lab]
        prec = t / (t + f_p) if t + f_p else 0.0
        rec = t / (t + f_n) if t + f_n else 0.0
        out[lab] = (prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return out


def f1_core(
    s: dict[str, tuple[float, float, float]], gold: Sequence[set[Span]], pred: Sequence[set[Span]]
) -> float:
    """Micro F1 on PER/ORG/LOC only (MISC is defined differently by every dataset)."""
    keep = {"PER", "ORG", "LOC"}
    g = [{x for x in s_ if x[0] in keep} for s_ in gold]
    p = [{x for x in s_ if x[0] in keep} for s_ in pred]
    return score(g, p)["ALL"][2]


def backends_for(lang: str, wanted: list[str], corenlp_ok: bool) -> list[str]:
    s = settings_mod.load()
    base = NerConfig.from_settings(s.replace(corenlp=False))  # the spaCy map
    out: list[str] = []
    for b in wanted:
        if b == "spacy":
            model = base.model_for(lang)
            if model and model not in (NATASHA, CORENLP):
                out.append(model)
        elif b == "natasha" and lang == "ru":
            out.append(NATASHA)
        elif b == "corenlp" and corenlp_ok and lang in CORENLP_LANGUAGES:
            out.append(CORENLP)
    return out


def run(
    lang: str, model: str, docs: list[dict[str, Any]], url: str, mode: str
) -> tuple[list[set[Span]], float]:
    """Predicted spans per document and seconds taken (models loaded before the clock)."""
    config = NerConfig(models={lang: model}, corenlp_url=url, corenlp_threads=THREADS)
    texts = [d["body"] for d in docs]
    if mode == "raw":
        backend = load_backend(model, lang, 64, config)
        backend.pipe(texts[:2])  # warm
        t0 = time.perf_counter()
        found = backend.pipe(texts)
    else:
        extractor = Extractor(config)
        extractor.extract(lang, texts[:2])
        t0 = time.perf_counter()
        found = extractor.extract(lang, texts)
    took = time.perf_counter() - t0
    pred = [{(EVAL_LABEL[lab], s, e) for lab, s, e, *_ in ents if lab in EVAL_LABEL} for ents in found]
    return pred, took


#: CoreNLP must beat a server-less backend by more than this F1 to be chosen: a tie within the
#: noise of a few hundred documents is not worth a GPL-3.0 server and a model download.
TIE = 0.02
DOCS = Path(__file__).resolve().parents[1] / "docs" / "entities.md"
START, END = "<!-- entities-table:start -->", "<!-- entities-table:end -->"


def backend_name(model: str | None) -> str:
    """How a backend is called in the docs table."""
    if model is None:
        return "none"
    if model == CORENLP:
        return "CoreNLP"
    return model if model == NATASHA else f"spaCy `{model}`"


def choose(f1: dict[str, float], server_less: str | None) -> str | None:
    """The backend of one language: the best F1, but a server-less backend wins ties."""
    if not f1:
        return None
    best = max(f1, key=lambda m: f1[m])
    if server_less in f1 and best != server_less and f1[best] - f1[server_less] <= TIE:
        return server_less
    return best


def docs_table(rows: list[tuple[str, str, int, str | None, float | None, str | None, float | None]]) -> str:
    """The Markdown table of ``docs/entities.md``: language, data, chosen and previous backend."""
    def cell(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    out = [
        "| language | dev data (documents) | backend (default) | F1 PER/ORG/LOC | previous backend"
        " | its F1 |",
        "|---|---|---|---|---|---|",
    ]
    for lang, data, n, chosen, f1, prev, prev_f1 in rows:
        out.append(
            f"| {lang} | {data} ({n}) | {backend_name(chosen)} | {cell(f1)} | "
            f"{backend_name(prev)} | {cell(prev_f1) if prev else '- (no entities)'} |"
        )
    return "\n".join(out)


def write_docs(table: str, command: str) -> None:
    """Replace the rows of the measured languages in ``docs/entities.md``'s generated block.

    Rows of languages this run did not measure are kept (a run with ``--langs en`` refreshes
    English only); the block names every command whose rows it holds.
    """
    text = DOCS.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    old, _, tail = rest.partition(END)
    commands = re.findall(r"<!-- generated by `([^`]*)`", old)
    header, rows = table.split("\n")[:2], {r.split("|")[1].strip(): r for r in table.split("\n")[2:]}
    old_rows = [line for line in old.splitlines() if line.startswith("| ") and "---" not in line]
    kept = {lang: line for line in old_rows[1:] if (lang := line.split("|")[1].strip()) not in rows}
    if not kept:
        commands = []
    merged = [*header, *(r for _, r in sorted({**kept, **rows}.items()))]
    notes = "".join(
        f"<!-- generated by `{c}`; do not edit by hand -->\n" for c in dict.fromkeys([*commands, command])
    )
    block = f"{START}\n{notes}\n" + "\n".join(merged) + f"\n{END}"
    DOCS.write_text(head + block + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("eval", type=Path, help="evaluation directory or one .jsonl file")
    ap.add_argument("--langs", default="", help="comma separated; default: every file found")
    ap.add_argument("--docs", type=int, default=100, help="documents per language")
    ap.add_argument("--backends", default="spacy,corenlp,natasha")
    ap.add_argument("--modes", default="raw,pipeline")
    ap.add_argument("--corenlp-url", default="")
    ap.add_argument("--threads", type=int, default=1, help="CoreNLP requests in flight")
    ap.add_argument("--write-docs", action="store_true", help="write docs/entities.md's table")
    args = ap.parse_args(argv)
    global THREADS
    THREADS = max(1, args.threads)
    s = settings_mod.load()
    url = args.corenlp_url or s.corenlp_url
    corenlp_ok = ping(url)
    if not corenlp_ok:
        print(f"(CoreNLP server not answering at {url}: not measured)", file=sys.stderr)
    files = eval_files(args.eval)
    langs = [x for x in args.langs.split(",") if x] or sorted(files)
    print("| lang | data | backend | mode | docs | docs/s | F1 PER/ORG/LOC | PER | ORG | LOC | MISC |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    default = NerConfig.from_settings(s)
    mit = NerConfig.from_settings(s.replace(corenlp=False))
    rows = []
    disagree = []
    for lang in langs:
        if lang not in files:
            continue
        docs = corpus.read_file(files[lang], args.docs)
        gold = [{(e["label"], int(e["start"]), int(e["end"])) for e in d["entities"]} for d in docs]
        pipeline_f1: dict[str, float] = {}
        for model in backends_for(lang, args.backends.split(","), corenlp_ok):
            for mode in args.modes.split(","):
                pred, took = run(lang, model, docs, url, mode)
                sc = score(gold, pred)
                f1 = f1_core(sc, gold, pred)
                if mode == "pipeline":
                    pipeline_f1[model] = f1
                cells = " | ".join(f"{sc[lab][2]:.2f}" for lab in LABELS)
                print(
                    f"| {lang} | {files[lang].stem} | {model} | {mode} | {len(docs)} | "
                    f"{len(docs) / took:.1f} | **{f1:.2f}** | {cells} |",
                    flush=True,
                )
        prev = mit.model_for(lang)
        chosen = choose(pipeline_f1, prev)
        rows.append((lang, files[lang].stem, len(docs), chosen, pipeline_f1.get(chosen or ""),
                     prev, pipeline_f1.get(prev or "")))  # fmt: skip
        if default.model_for(lang) != chosen:
            disagree.append(lang)
            print(f"warning: {lang}: measured best is {chosen}, the default configuration uses "
                  f"{default.model_for(lang)}", file=sys.stderr)  # fmt: skip
    if args.write_docs:
        if "pipeline" not in args.modes.split(",") or not corenlp_ok:
            print("error: --write-docs needs the pipeline mode and a CoreNLP server", file=sys.stderr)
            return 2
        flags = (sys.argv[1:] if argv is None else argv)[1:]
        write_docs(docs_table(rows), "bench/bench_ner.py <dev data> " + " ".join(flags))
        print(f"wrote {DOCS}")
    return 1 if args.write_docs and disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
