"""A long article costs NER time in proportion to its size, and at most a bounded amount.

The work is counted (comparisons, characters copied or scanned, calls), never timed: each test
doubles the text and checks that the work at most about doubles, where the quadratic code this
replaced quadrupled it.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from streams.enrich import enricher, linking
from streams.enrich.enricher import STATUS_PARTIAL, _jobs, assemble, ner_fields, summarize_status
from streams.enrich.entities import prefix_end, sentences_with_spans
from streams.enrich.nlp import BLAS_THREAD_VARS, one_blas_thread
from streams.model import Article

# --- natasha: which sentences need morphology ---------------------------------------------------


class Counted:
    """A sentence (or span) whose offset reads are counted: the unit of work of the merge."""

    reads = 0

    def __init__(self, start: int, stop: int) -> None:
        self._start, self._stop = start, stop

    @property
    def start(self) -> int:
        Counted.reads += 1
        return self._start

    @property
    def stop(self) -> int:
        Counted.reads += 1
        return self._stop


def _sentences(n: int) -> tuple[list[Counted], list[int]]:
    """``n`` sentences of 40 chars, two entities in each of every other one."""
    sents = [Counted(40 * i, 40 * i + 39) for i in range(n)]
    starts = [s._start + off for s in sents[::2] for off in (0, 10)]
    return sents, starts


def test_sentences_with_spans_finds_exactly_those_holding_a_span() -> None:
    sents, starts = _sentences(50)
    assert sentences_with_spans(sents, reversed(starts)) == sents[::2]
    assert sentences_with_spans(sents, []) == []
    assert sentences_with_spans([], starts) == []
    # a span starting in the gap between two sentences selects neither
    assert sentences_with_spans([Counted(0, 5), Counted(10, 15)], [7]) == []


def _merge_work(n: int) -> int:
    sents, starts = _sentences(n)
    Counted.reads = 0
    sentences_with_spans(sents, starts)
    return Counted.reads


def test_sentences_with_spans_is_linear() -> None:
    small, big = _merge_work(2_000), _merge_work(4_000)
    assert big <= 2.1 * small
    assert big <= 3 * (4_000 + 4_000)  # a few reads per sentence and span, not one per pair


# --- quality rules: per-entity work independent of the text's length ----------------------------


class CountingStr(str):
    """A text that counts the characters every slice of it copies."""

    copied = 0

    def __getitem__(self, key: Any) -> str:
        out = str.__getitem__(self, key)
        CountingStr.copied += len(out)
        return out


class CountingRe:
    """``re`` as :mod:`streams.enrich.linking` sees it, counting the characters each call scans."""

    scanned = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    def search(self, pattern: str, text: str, *a: Any) -> Any:
        CountingRe.scanned += len(text)
        return re.search(pattern, text, *a)

    def finditer(self, pattern: str, text: str, *a: Any) -> Any:
        CountingRe.scanned += len(text)
        return re.finditer(pattern, text, *a)


def _rules_work(n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Characters copied or scanned to judge every sentence-initial one-word name of a text of
    ``n`` sentences (the case that scanned the whole text per entity)."""
    sentence = "Gritters worked while Ivanov waited. "
    text = CountingStr(sentence * n)
    monkeypatch.setattr(linking, "re", CountingRe())
    CountingStr.copied = CountingRe.scanned = 0
    kept = [
        linking.plausible(label, text, i * len(sentence), i * len(sentence) + 8, "en")
        for i in range(n)
        for label in ("PERSON", "ORG")
    ]
    assert len(kept) == 2 * n
    return CountingStr.copied + CountingRe.scanned


def test_plausible_costs_the_same_per_entity_however_long_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = _rules_work(1_000, monkeypatch)
    big = _rules_work(2_000, monkeypatch)
    assert big <= 2.2 * small
    assert big <= 100 * 2 * 2_000  # tens of characters per entity, not the text each time


def test_word_occurrences_match_the_regex_they_replace() -> None:
    """The first words are found by a scan, later ones through the index of letter runs: both
    answer what the boundary regex answers (no letter right before or after the word)."""
    text = ("Putin, putin; Putinism. (Putin) Jean-Pierre Jean Jean-Pierres 3M 3Ms x3M Ёж ёж "
            "Müller-Acme 3Acme Acme3 Acme_x O'Neil O'Neilson xa-a-a")
    words = ("Putin", "putin", "Jean-Pierre", "Jean", "3M", "Ёж", "ёж", "Smith", "Jean-", "Acme",
             "O'Neil", "'Neil", "a-a")  # "a-a": the rejected "xa-a" overlaps the valid "a-a"
    scanned = linking._TextWords(text)
    indexed = linking._TextWords(text)
    indexed.SCANS_BEFORE_INDEX = 0  # every word through the index
    for word in words:
        pattern = rf"(?<![^\W\d_]){re.escape(word)}(?![^\W\d_])"
        want = [m.start() for m in re.finditer(pattern, text)]
        assert scanned.occurrences(word) == want, word
        assert indexed.occurrences(word) == want, word
    assert indexed._runs is not None and scanned._runs is None
    # digits and "_" are not letters: "3Acme", "Acme3" and "Acme_x" hold the word
    assert len(scanned.occurrences("Acme")) == 4


def test_sentence_initial_looks_only_before_the_word() -> None:
    text = "  \n Putin said. Lavrov agreed: Peskov too, and Zakharova"
    for word, initial in (("Putin", True), ("Lavrov", True), ("Peskov", True), ("Zakharova", False)):
        assert linking._sentence_initial(text, text.index(word)) is initial, word


def test_merge_persons_folds_each_distinct_name_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    fold = linking.fold

    def counting(name: str) -> str:
        nonlocal calls
        calls += 1
        return fold(name)

    monkeypatch.setattr(linking, "fold", counting)
    names = ["Vladimir Putin", "Putin", "Smith", "John Smith", "Anna Smith"] * 2_000
    assert linking.merge_persons(names) == {"Putin": "Vladimir Putin"}
    assert calls <= 10  # once per distinct name, where it was once per pair of mentions


# --- a bounded amount of text per article -------------------------------------------------------


def test_prefix_end_cuts_at_a_boundary_within_the_limit() -> None:
    text = "Москва и Пекин подписали соглашение. " * 100
    cut = prefix_end(text, 1_000)
    assert cut <= 1_000 and text[:cut].endswith(". ")
    assert prefix_end("short", 1_000) == 5
    assert prefix_end("a" * 50, 10) == 10  # no boundary at all: a hard cut
    assert prefix_end(text, 0) == 0


def _article(body: str, title: str = "Большая статья") -> Article:
    return Article(id="a", url=None, canonical_url=None, title=title, body=body)  # type: ignore[arg-type]


def test_ner_reads_at_most_the_budget_of_one_article_and_says_so() -> None:
    body = "Москва и Пекин подписали соглашение. " * 21_000  # 777,000 characters
    per_article, jobs = _jobs([_article(body)], 100_000)
    assert sum(len(text) for text, _ in jobs) <= 100_000
    (title, _, _, title_read), (name, _, _, read) = per_article[0]
    assert (title, title_read) == ("title", None)  # the title is read whole
    assert name == "body" and read is not None and read <= 100_000 - len("Большая статья")
    assert jobs[1][0] == body[:read] and body[:read].endswith(". ")
    # doubling the body does not change what NER reads
    assert _jobs([_article(body * 2)], 100_000)[1] == jobs


def test_a_field_read_in_part_reports_how_much() -> None:
    fields = ner_fields([("title", "T" * 10, None), ("body", "word " * 100, None)], 110)
    assert fields[0][3] is None and fields[1][3] == 95  # "word " * 19: the last whole word
    outcomes = [("ru", 0.9, "ok", []), ("ru", 0.9, "ok", [("LOCATION", 0, 4, "Moscow", "loc:x")])]
    result = assemble(fields, outcomes)  # type: ignore[arg-type]
    assert result.field_status == {"title": "ok", "body": f"{STATUS_PARTIAL}:95"}
    assert result.ner_status == f"{STATUS_PARTIAL}:95"
    # another problem of the field is not hidden behind the cut
    assert enricher.partial_status("no_model:de", 100) == "no_model:de"
    assert summarize_status({"title": "no_model:de", "body": "partial:100"}) == "partial:100"


def test_no_budget_reads_everything() -> None:
    body = "word " * 1_000
    assert ner_fields([("body", body, None)], 0) == [("body", body, None, None)]


# --- the pool's processes compute with one BLAS thread each -------------------------------------


def test_one_blas_thread_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in BLAS_THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    one_blas_thread()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "1"
    assert os.environ["OMP_NUM_THREADS"] == "3"


def test_a_huge_russian_article_gets_entities_of_its_prefix_with_real_ner() -> None:
    """End to end through natasha: the cut, the status and the offsets into the whole body."""
    from streams import settings as settings_mod
    from streams.enrich.enricher import enrich_sync

    settings = settings_mod.load().replace(
        ner_article_chars=2_000, langid_accuracy="low", corenlp=False
    )
    body = "Москва и Пекин подписали соглашение. " * 3_000
    (result,) = enrich_sync([_article(body)], settings)
    status = result.field_status["body"]
    assert status.startswith(f"{STATUS_PARTIAL}:") and result.ner_status == status
    read = int(status.split(":")[1])
    assert 0 < read <= 2_000 - len("Большая статья")
    body_entities = [e for e in result.entities if e.field == "body"]
    assert body_entities and all(e.end <= read for e in body_entities)
    assert all(body[e.start : e.end] == e.text for e in body_entities)
    assert {"Moscow", "Beijing"} <= set(result.locations)
