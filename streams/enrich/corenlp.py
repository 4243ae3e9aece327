"""The CoreNLP NER backend: an HTTP client of the local ``StanfordCoreNLPServer``.

Why HTTP and not a library: CoreNLP is GPL-3.0; newsstream (Apache-2.0) only sends it text and reads
its JSON answer, so it stays a separate program (``newsstream services``, ``streams.devservices.
corenlp``). Why these properties: ``tokenize,ssplit,ner`` with one CRF, no SUTime, no numeric
and no fine-grained classifiers is as accurate on news as the full default ``ner`` annotator and
~7x faster (BENCHMARKS.md, "NER backends").

Mentions are built from the tokens' NER tags (consecutive tokens of one tag in one sentence),
so a mention whose tokens are all ``O`` (CoreNLP's pronoun mentions: "he", "his") never appears.
Offsets from the server are Java UTF-16 code units and are mapped to Python code points.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

#: (label, start, end, normalized), as ``streams.enrich.entities.RawEntity``.
Mention = tuple[str, int, int, str]


class NerUnavailable(RuntimeError):
    """The NER server did not answer (down, restarting, overloaded): retry the articles later.

    Not a property of the article: it must never be dead-lettered for this.
    """


@dataclass(frozen=True)
class LanguageSpec:
    """What CoreNLP needs for one language: the model jar (Maven classifier) and the CRF."""

    jar: str
    classifier: str
    tokenize_language: str


#: The CRFs per language. English: the CoNLL 4-class model (PER, ORG, LOC, MISC); it measured
#: as well as ``english.all.3class`` on PER/ORG/LOC and MISC is a useful facet (BENCHMARKS.md).
LANGUAGES: dict[str, LanguageSpec] = {
    "en": LanguageSpec("models", "edu/stanford/nlp/models/ner/english.conll.4class.distsim.crf.ser.gz", "en"),
    "de": LanguageSpec("models-german", "edu/stanford/nlp/models/ner/german.distsim.crf.ser.gz", "de"),
    "fr": LanguageSpec("models-french", "edu/stanford/nlp/models/ner/french-wikiner-4class.crf.ser.gz", "fr"),
    "es": LanguageSpec(
        "models-spanish", "edu/stanford/nlp/models/ner/spanish.ancora.distsim.s512.crf.ser.gz", "es"
    ),
}

#: CoreNLP CRF tags -> the unified labels of ``streams.enrich.entities``.
TAGS: dict[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "I-PER": "PERSON",
    "ORGANIZATION": "ORG",
    "ORG": "ORG",
    "I-ORG": "ORG",
    "LOCATION": "LOCATION",
    "LOC": "LOCATION",
    "I-LOC": "LOCATION",
    "MISC": "MISC",
    "I-MISC": "MISC",
}


def served_languages(settings: Any) -> list[str]:
    """The languages CoreNLP serves (``NEWSSTREAM_CORENLP_LANGS`` that it has a model for)."""
    langs = [x.strip().lower() for x in str(settings.corenlp_langs).split(",") if x.strip()]
    unknown = [x for x in langs if x not in LANGUAGES]
    if unknown:
        raise ValueError(
            f"NEWSSTREAM_CORENLP_LANGS: no CoreNLP NER model for {unknown}; known: {', '.join(LANGUAGES)}"
        )
    return langs or ["en"]


def request_properties(lang: str) -> dict[str, str]:
    """The pipeline properties for ``lang`` (sent with every request, and the server's own)."""
    spec = LANGUAGES[lang]
    return {
        "annotators": "tokenize,ssplit,ner",
        "enforceRequirements": "false",  # else POS and lemmas are added: 3x slower, same NER
        "tokenize.language": spec.tokenize_language,
        "ssplit.newlineIsSentenceBreak": "two",  # a paragraph break ends a sentence (and a name)
        "ner.model": spec.classifier,
        "ner.applyFineGrained": "false",
        "ner.useSUTime": "false",
        "ner.applyNumericClassifiers": "false",
        "ner.buildEntityMentions": "false",
        "ner.combinationMode": "NORMAL",
        "outputFormat": "json",
    }


def utf16_to_codepoints(text: str) -> list[int] | None:
    """Index ``i`` (a UTF-16 code unit offset) -> code point offset; None when they are equal.

    Only characters outside the BMP (emoji, some CJK) take two code units; most texts have none.
    """
    if all(ord(c) < 0x10000 for c in text):
        return None
    table: list[int] = []
    for i, ch in enumerate(text):
        table.append(i)
        if ord(ch) >= 0x10000:
            table.append(i)
    table.append(len(text))
    return table


def mentions(answer: dict[str, Any], text: str) -> list[tuple[str, int, int]]:
    """(label, start, end) in code points of ``text`` from a CoreNLP JSON answer.

    A mention is a run of consecutive tokens with one tag inside one sentence; ``O`` tokens
    (and tags outside :data:`TAGS`) are never part of one.
    """
    table = utf16_to_codepoints(text)

    def cp(offset: int) -> int:
        if table is None:
            return offset
        return table[min(max(offset, 0), len(table) - 1)]

    out: list[tuple[str, int, int]] = []
    for sentence in answer.get("sentences", []):
        current: list[Any] | None = None  # [label, start, end]
        for token in sentence.get("tokens", []):
            label = TAGS.get(str(token.get("ner", "O")))
            start, end = cp(int(token["characterOffsetBegin"])), cp(int(token["characterOffsetEnd"]))
            if label is not None and current is not None and current[0] == label:
                current[2] = end
                continue
            if current is not None:
                out.append((current[0], current[1], current[2]))
                current = None
            if label is not None:
                current = [label, start, end]
        if current is not None:
            out.append((current[0], current[1], current[2]))
    return out


class CoreNlpClient:
    """Annotates texts on the server, ``threads`` requests in flight (the server is threaded).

    One client per process; ``httpx.Client`` keeps the connections alive between batches.
    """

    def __init__(self, url: str, timeout: float = 60.0, threads: int = 2) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.timeout = timeout
        self.threads = max(1, threads)
        self._http = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=self.threads))
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="corenlp")

    def annotate(self, text: str, lang: str) -> dict[str, Any]:
        """The JSON answer for one text; :class:`NerUnavailable` if the server does not answer."""
        import httpx

        params = {"properties": json.dumps(request_properties(lang))}
        try:
            resp = self._http.post(self.url, params=params, content=text.encode("utf-8"))
        except httpx.HTTPError as exc:
            raise NerUnavailable(f"CoreNLP server at {self.url}: {exc!r}") from exc
        if resp.status_code in (408, 429, 503):
            raise NerUnavailable(f"CoreNLP server at {self.url}: HTTP {resp.status_code}")
        if resp.status_code >= 500 and not ping(self.url):
            raise NerUnavailable(f"CoreNLP server at {self.url}: HTTP {resp.status_code}, not ready")
        if resp.status_code != 200:
            # The server is up and fails on this text: the article's problem, not the server's
            # (the enrich stage retries it alone and dead-letters it if it fails again).
            raise RuntimeError(f"CoreNLP server at {self.url}: HTTP {resp.status_code}: {resp.text[:200]}")
        answer: dict[str, Any] = json.loads(resp.content.decode("utf-8"))
        return answer

    def annotate_many(self, texts: Sequence[str], lang: str) -> list[dict[str, Any]]:
        """Answers in the order of ``texts`` (concurrent requests)."""
        return list(self._pool.map(lambda t: self.annotate(t, lang), texts))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


class CoreNlpBackend:
    """``streams.enrich.entities.Backend`` for one language, served by the CoreNLP server."""

    def __init__(self, url: str, lang: str, timeout: float = 60.0, threads: int = 2) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"no CoreNLP NER model for {lang!r}")
        self.lang = lang
        self.name = f"corenlp:{lang}"
        self.max_length = 100_000
        self.client = CoreNlpClient(url, timeout, threads)

    def pipe(self, texts: Sequence[str]) -> list[list[Mention]]:
        from streams.enrich.entities import normalize_surface

        out: list[list[Mention]] = []
        for text, answer in zip(texts, self.client.annotate_many(texts, self.lang), strict=True):
            out.append([
                (label, s, e, normalize_surface(text[s:e], self.lang))
                for label, s, e in mentions(answer, text)
            ])  # fmt: skip
        return out


def ping(url: str, timeout: float = 5.0) -> bool:
    """True when the server at ``url`` answers ``/ready``."""
    import httpx

    try:
        return httpx.get(url.rstrip("/") + "/ready", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
