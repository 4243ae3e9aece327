"""The CoreNLP NER backend: an HTTP client of the local ``StanfordCoreNLPServer``.

Why HTTP and not a library: CoreNLP is GPL-3.0; newsstream (Apache-2.0) only sends it text and reads
its answer, so it stays a separate program (``newsstream services``, ``streams.devservices.
corenlp``). Why these properties: ``tokenize,ssplit,ner`` with one CRF, no SUTime, no numeric
and no fine-grained classifiers is as accurate on news as the full default ``ner`` annotator and
~7x faster (BENCHMARKS.md, "NER backends").

The server answers in CoNLL with three columns (tag, begin, end offsets), and several texts go
in one request, joined by a paragraph break (a sentence break, so no entity crosses it): the
per-request cost (HTTP, the server's request setup) is paid once per batch, not once per title.

Mentions are built from the tokens' NER tags (consecutive tokens of one tag in one sentence),
so a mention whose tokens are all ``O`` (CoreNLP's pronoun mentions: "he", "his") never appears.
Offsets from the server are Java UTF-16 code units and are mapped to Python code points.
"""

from __future__ import annotations

import bisect
import json
import re
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
        # Three CoNLL columns instead of JSON with every token's ten fields: the server's CPU
        # per article x0.82 and the client's parse x0.5 (BENCHMARKS.md, "NER backends").
        "outputFormat": "conll",
        "output.columns": "ner,BEGIN_POS,END_POS",
        "output.prettyPrint": "true",
    }


#: A character outside the BMP: two UTF-16 code units (a regex scans text at C speed).
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def utf16_to_codepoints(text: str) -> list[int] | None:
    """Index ``i`` (a UTF-16 code unit offset) -> code point offset; None when they are equal.

    Only characters outside the BMP (emoji, some CJK) take two code units; most texts have none.
    """
    if _ASTRAL.search(text) is None:
        return None
    table: list[int] = []
    for i, ch in enumerate(text):
        table.append(i)
        if ord(ch) >= 0x10000:
            table.append(i)
    table.append(len(text))
    return table


#: Between the texts of one request: a paragraph break ends a sentence (``ssplit``).
SEPARATOR = "\n\n\n\n"


#: A mention in request offsets: (unified label, begin, end), UTF-16 code units.
Run = tuple[str, int, int]

# A token line of a CoNLL answer whose tag is not ``O`` (a sentence break is an empty line).
_TAGGED_LINE = re.compile(r"^(?!O\t)([^\t\n]+)\t(\d+)\t(\d+)[ \t\r]*$", re.MULTILINE)


def conll_runs(body: str) -> list[Run]:
    """The mentions of a CoNLL answer with the columns ``ner,BEGIN_POS,END_POS``.

    Only the tagged lines are read (a regex skips the ``O`` tokens, most of an answer, at C
    speed); two tagged tokens are one mention when their lines are consecutive (no ``O`` token
    and no sentence break between them) and their labels are equal.
    """
    out: list[Run] = []
    label: str | None = None
    begin = end = line_end = -2
    for m in _TAGGED_LINE.finditer(body):
        tag = TAGS.get(m.group(1))
        adjacent = m.start() == line_end + 1
        if tag is not None and tag == label and adjacent:
            end = int(m.group(3))
        else:
            if label is not None:
                out.append((label, begin, end))
            label, begin, end = tag, int(m.group(2)), int(m.group(3))
        line_end = m.end()
    if label is not None:
        out.append((label, begin, end))
    return out


def utf16_len(text: str) -> int:
    """Length in Java ``char`` units (what the server's offsets and ``-maxCharLength`` count)."""
    return len(text) + len(_ASTRAL.findall(text))


def mentions(runs: Sequence[Run], text: str) -> list[Run]:
    """``runs`` of one text (offsets relative to it, UTF-16 units) in code points of ``text``."""
    table = utf16_to_codepoints(text)
    if table is None:
        return list(runs)
    last = len(table) - 1
    return [
        (label, table[min(max(b, 0), last)], table[min(max(e, 0), last)]) for label, b, e in runs
    ]


def split_runs(runs: Sequence[Run], starts: Sequence[int]) -> list[list[Run]]:
    """The mentions of a batched request per text, offsets relative to each text.

    ``starts`` are where the texts begin in the request (UTF-16 units, ascending); the
    separator is a sentence break, so no mention crosses from one text into the next.
    """
    out: list[list[Run]] = [[] for _ in starts]
    for label, begin, end in runs:
        k = max(0, bisect.bisect_right(starts, begin) - 1)
        base = starts[k]
        out[k].append((label, begin - base, end - base))
    return out


def pack(sizes: Sequence[int], limit: int, parts: int) -> list[list[int]]:
    """Consecutive indices grouped into requests of at most ``limit`` units (with separators),
    at least ``parts`` requests when there are that many texts, so ``parts`` stay in flight."""
    if not sizes:
        return []
    total = sum(sizes) + len(SEPARATOR) * (len(sizes) - 1)
    target = min(limit, max(1, -(-total // max(1, parts))))
    groups: list[list[int]] = [[]]
    load = 0
    for i, size in enumerate(sizes):
        extra = size + (len(SEPARATOR) if groups[-1] else 0)
        if groups[-1] and load + extra > target:
            groups.append([])
            load, extra = 0, size
        groups[-1].append(i)
        load += extra
    return groups


class CoreNlpClient:
    """Annotates texts on the server, ``threads`` requests in flight (the server is threaded).

    One client per process; ``httpx.Client`` keeps the connections alive between batches.
    Texts are joined into at most ``max_chars`` per request (the server's ``-maxCharLength``).
    """

    def __init__(self, url: str, timeout: float = 60.0, threads: int = 2, max_chars: int = 100_000) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.timeout = timeout
        self.threads = max(1, threads)
        self.max_chars = max(1000, max_chars)
        self._http = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=self.threads))
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="corenlp")

    def annotate(self, text: str, lang: str) -> list[Run]:
        """The mentions of one request; :class:`NerUnavailable` if the server does not answer."""
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
        return conll_runs(resp.content.decode("utf-8"))

    def _annotate_joined(self, texts: Sequence[str], lang: str) -> list[list[Run]]:
        starts: list[int] = []
        pos = 0
        for t in texts:
            starts.append(pos)
            pos += utf16_len(t) + len(SEPARATOR)
        return split_runs(self.annotate(SEPARATOR.join(texts), lang), starts)

    def annotate_many(self, texts: Sequence[str], lang: str) -> list[list[Run]]:
        """The mentions of each text (UTF-16 offsets), in the order of ``texts``: few joined
        requests, up to ``threads`` of them in flight."""
        groups = pack([utf16_len(t) for t in texts], self.max_chars, self.threads)
        answers = self._pool.map(lambda g: self._annotate_joined([texts[i] for i in g], lang), groups)
        out: list[list[Run]] = [[] for _ in texts]
        for g, per_text in zip(groups, answers, strict=True):
            for i, runs in zip(g, per_text, strict=True):
                out[i] = runs
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


class CoreNlpBackend:
    """``streams.enrich.entities.Backend`` for one language, served by the CoreNLP server."""

    def __init__(
        self, url: str, lang: str, timeout: float = 60.0, threads: int = 2, max_chars: int = 100_000
    ) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"no CoreNLP NER model for {lang!r}")
        self.lang = lang
        self.name = f"corenlp:{lang}"
        self.max_length = 100_000
        self.client = CoreNlpClient(url, timeout, threads, max_chars)

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
