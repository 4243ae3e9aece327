"""The enrich stage: language per field + named entities for a batch of articles.

One composition for every transport: the Faust enrich agent awaits :class:`EnrichPool`, and
``newsstream enrich`` (offline, no Kafka or Elasticsearch: :mod:`streams.cli.enrich`) runs the
same pool over a JSON Lines file, after the same validation and dedup code, and writes the
documents as they would end up in the index. :func:`enrich_sync` is the in-process form of the
same thing for tests and tools.

Fields analysed, each in its own language: ``title``, ``summary``, ``body`` and every
``title_translations.<lang>`` (whose key chooses the NER model). The article's longest field
is detected first and its language is the prior of the short ones (:func:`contexts_of`).
Entity offsets are into the field named by ``Entity.field``, so
``article.<field>[start:end] == entity.text`` always.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.enrich.entities import NerConfig, facets, prefix_end
from streams.enrich.linking import merge_across_scripts, merge_persons
from streams.enrich.nlp import (
    STATUS_EMPTY,
    STATUS_OK,
    Analyzer,
    Context,
    Job,
    NlpPool,
    Outcome,
    declared_code,
)
from streams.model import Article, Entity, Language

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrichResult:
    """What enrichment adds to one article.

    ``ner_status`` is one keyword for the document (``ok``, or the first problem: the body's
    before the other fields', e.g. ``no_model:de``); ``field_status`` has it per field.
    """

    languages: dict[str, Language]
    entities: list[Entity]
    ner_status: str
    field_status: dict[str, str] = field(default_factory=dict)
    persons: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "languages": {k: v.to_dict() for k, v in self.languages.items()},
            "entities": [e.to_dict() for e in self.entities],
            "ner_status": self.ner_status,
            "field_status": dict(self.field_status),
            "persons": list(self.persons),
            "organizations": list(self.organizations),
            "locations": list(self.locations),
        }


def article_fields(article: Article) -> list[tuple[str, str, str | None]]:
    """(field name, text, declared language) of every field that is analysed."""
    out: list[tuple[str, str, str | None]] = []
    for name in ("title", "summary", "body"):
        text = getattr(article, name)
        if text:
            out.append((name, text, None))
    for lang, text in sorted(article.title_translations.items()):
        if text:
            out.append((f"title_translations.{lang}", text, lang))
    return out


#: Field status of a field NER read only in part: ``partial:<characters read>``.
STATUS_PARTIAL = "partial"

#: (field name, text, declared language, characters NER reads: None for all of it).
NerField = tuple[str, str, str | None, int | None]


def ner_fields(
    fields: Sequence[tuple[str, str, str | None]], limit: int
) -> list[NerField]:
    """The fields with how much of each NER reads: at most ``limit`` characters per article.

    Why: NER time grows with the text, and one article of megabytes would hold up every
    article behind it for minutes. The budget goes to the fields in their order (title,
    summary, body, translations), so the short fields are always read whole and a long body
    is read from its start. A cut falls on a paragraph, line, sentence or word boundary
    (:func:`streams.enrich.entities.prefix_end`), so no name is cut in two. ``limit`` 0: no cap.
    """
    out: list[NerField] = []
    left = limit
    for name, text, declared in fields:
        if limit <= 0 or len(text) <= left:
            out.append((name, text, declared, None))
            left -= len(text)
            continue
        read = prefix_end(text, max(0, left))
        out.append((name, text, declared, read))
        left = 0
    return out


def partial_status(status: str, read: int | None) -> str:
    """A field's status once its cut is known: ``partial:<read>`` when NER read only a prefix
    and found nothing else wrong (a problem such as ``no_model:de`` stays what it is)."""
    if read is None or status not in (STATUS_OK, STATUS_EMPTY):
        return status
    return f"{STATUS_PARTIAL}:{read}"


def summarize_status(status: dict[str, str]) -> str:
    """One keyword for the document: ``ok`` unless a field with text could not be analysed."""
    order = ["body", "title", "summary", *sorted(k for k in status if k.startswith("title_"))]
    problems = [status[k] for k in order if k in status and status[k] not in (STATUS_OK,)]
    problems = [p for p in problems if p != STATUS_EMPTY]
    if problems:
        return problems[0]
    if any(v == STATUS_OK for v in status.values()):
        return STATUS_OK
    return STATUS_EMPTY


def assemble(fields: Sequence[NerField], outcomes: Sequence[Outcome]) -> EnrichResult:
    """Turn worker outcomes (plain tuples) into an :class:`EnrichResult`.

    ``fields`` as :func:`ner_fields` gives them: with how much of each NER read, for the
    ``partial:<n>`` status.
    """
    languages: dict[str, Language] = {}
    status: dict[str, str] = {}
    entities: list[Entity] = []
    for (name, text, declared, read), (code, conf, st, raw) in zip(fields, outcomes, strict=True):
        languages[name] = Language(code, conf)
        status[name] = partial_status(st, read)
        lang = declared_code(declared) or code
        for label, start, end, normalized, key in raw:
            entities.append(
                Entity(
                    text=text[start:end],
                    label=label,
                    start=start,
                    end=end,
                    field=name,
                    normalized=normalized,
                    language=lang,
                    key=key,
                )
            )

    entities = one_sense_per_document(merge_person_mentions(entities))
    return EnrichResult(
        languages=languages,
        entities=entities,
        ner_status=summarize_status(status),
        field_status=status,
        **facets(entities),
    )


def merge_person_mentions(entities: list[Entity]) -> list[Entity]:
    """A short mention of a person named in full elsewhere in the document is that person.

    "Hua" after "Hua Chunying" gets the full name and key, in every field, so the entity, its
    key and the facets agree (``streams.enrich.linking.merge_persons`` decides; two Smiths stay apart).
    """
    entities = merge_script_variants(entities)
    persons = [e for e in entities if e.label == "PERSON"]
    merged = merge_persons([e.normalized for e in persons])
    if not merged:
        return entities
    full = {e.normalized: e.key for e in persons if len(e.normalized.split()) > 1}
    return [
        dataclasses.replace(e, normalized=merged[e.normalized], key=full[merged[e.normalized]])
        if e.label == "PERSON" and e.normalized in merged
        else e
        for e in entities
    ]


def merge_script_variants(entities: list[Entity]) -> list[Entity]:
    """A person written in another script is the Latin-script person of the same document whose
    name it transliterates: "Ян Цзечи" in a Russian body is "Yang Jiechi" of the English title
    (``streams.enrich.linking.merge_across_scripts`` decides), with that entity's name and key."""
    persons = [e for e in entities if e.label == "PERSON"]
    across = merge_across_scripts([e.normalized for e in persons])
    if not across:
        return entities
    target: dict[str, Entity] = {}
    for e in persons:
        target.setdefault(e.normalized, e)
    return [
        dataclasses.replace(e, normalized=t.normalized, key=t.key)
        if e.label == "PERSON" and e.normalized in across and (t := target[across[e.normalized]])
        else e
        for e in entities
    ]


def one_sense_per_document(entities: list[Entity]) -> list[Entity]:
    """A one-word organization that the same document also names as a place is that place.

    "households in Cardiff" (LOCATION) and "Cardiff school building programme" (ORG, a common
    tagger error on a place used as a modifier) in one article are one place. A club named by
    its city in a sports report ("Bristol beat Leeds") has no place mention and stays an ORG.
    """
    places = {e.normalized.casefold(): e for e in entities if e.label == "LOCATION"}
    return [
        dataclasses.replace(e, label="LOCATION", normalized=p.normalized, key=p.key)
        if e.label == "ORG" and len(e.normalized.split()) == 1
        and (p := places.get(e.normalized.casefold())) is not None
        else e
        for e in entities
    ]


def _jobs(articles: Sequence[Article], limit: int = 0) -> tuple[list[list[NerField]], list[Job]]:
    """Each article's fields (with their NER cut) and the jobs: the text NER reads of each."""
    per_article = [ner_fields(article_fields(a), limit) for a in articles]
    jobs: list[Job] = [
        (text if read is None else text[:read], declared)
        for fs in per_article for _, text, declared, read in fs
    ]
    return per_article, jobs


def contexts_of(per_article: Sequence[Sequence[NerField]]) -> list[Context]:
    """Per job of :func:`_jobs`, the job whose language is its prior: each article's longest
    field (by the text detection reads) for the article's other fields, none for that field.

    Why: a two-word title cannot tell Croatian from Bosnian, its body can; detection keeps a
    title it is sure of in its own language (``streams.enrich.language.detect``).
    """
    out: list[Context] = []
    for fs in per_article:
        base = len(out)
        sizes = [len(text) if read is None else read for _, text, _, read in fs]
        longest = max(range(len(fs)), key=sizes.__getitem__, default=0)
        out.extend(None if i == longest else base + longest for i in range(len(fs)))
    return out


def _split(per_article: list[list[NerField]], outcomes: list[Outcome]) -> list[EnrichResult]:
    results: list[EnrichResult] = []
    pos = 0
    for fs in per_article:
        results.append(assemble(fs, outcomes[pos : pos + len(fs)]))
        pos += len(fs)
    return results


_ANALYZERS: dict[str, Analyzer] = {}


def analyzer_for(config: NerConfig) -> Analyzer:
    """An in-process :class:`Analyzer`, loaded once per configuration."""
    key = repr(config)
    if key not in _ANALYZERS:
        config.check()
        _ANALYZERS[key] = Analyzer(config)
    return _ANALYZERS[key]


def enrich_sync(articles: list[Article], settings: Any) -> list[EnrichResult]:
    """Enrich in this process (blocking; loads the models on first use)."""
    config = NerConfig.from_settings(settings)
    per_article, jobs = _jobs(articles, config.article_chars)
    return _split(per_article, analyzer_for(config).analyze(jobs, contexts_of(per_article)))


class EnrichPool:
    """``async with EnrichPool(settings) as pool: results = await pool.enrich(articles)``.

    NER runs in ``settings.nlp_processes`` spawned worker processes, language identification in
    one more; the event loop only awaits. With ``wait=False`` entering returns before the models
    are loaded (the first :meth:`enrich` waits for them), so a worker starts consuming at once.
    """

    def __init__(self, settings: Any, processes: int | None = None, wait: bool = True) -> None:
        self.config = NerConfig.from_settings(settings)
        self.pool = NlpPool(self.config, processes or settings.nlp_processes)
        self.wait = wait

    @property
    def pids(self) -> list[int]:
        """The NER processes' pids (known once their models are loaded)."""
        return list(self.pool.pids)

    @property
    def langid_pid(self) -> int | None:
        """The language process's pid (known once its models are loaded)."""
        return self.pool.langid_pid

    async def enrich(self, articles: Sequence[Article]) -> list[EnrichResult]:
        per_article, jobs = _jobs(articles, self.config.article_chars)
        outcomes = await self.pool.analyze(jobs, contexts_of(per_article))
        return _split(per_article, outcomes)

    async def __aenter__(self) -> EnrichPool:
        await self.pool.start(wait=self.wait)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.pool.close()


# --- `newsstream enrich` --------------------------------------------------------------------------
