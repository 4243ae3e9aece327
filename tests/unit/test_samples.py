"""The bundled sample articles (examples/): valid, varied, and with exactly the deliberate cases
that examples/expected.json promises, recomputed here from the data itself (no services)."""

from __future__ import annotations

import importlib.util
import itertools
import json
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import feedparser
import pytest

from streams import dedup
from streams.enrich import language
from streams.ingest import contract, urls
from streams.model import Article
from streams.settings import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REQUIRED_LANGS = {"en", "ru", "de", "fr", "zh"}


def _generator() -> ModuleType:
    """examples/make_samples.py as a module (it puts examples/ on sys.path for its pools)."""
    spec = importlib.util.spec_from_file_location("make_samples", EXAMPLES / "make_samples.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _generator()


@pytest.fixture(scope="module")
def raw_lines() -> list[bytes]:
    return (EXAMPLES / "articles.jsonl").read_bytes().splitlines()


@pytest.fixture(scope="module")
def records(raw_lines: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw_lines]


@pytest.fixture(scope="module")
def articles(raw_lines: list[bytes]) -> list[Article]:
    limit = load().max_message_bytes
    return [contract.parse_article(line, limit) for line in raw_lines]


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((EXAMPLES / "expected.json").read_text("utf-8"))


def test_committed_files_are_what_the_seeded_generator_writes(gen: ModuleType) -> None:
    files = gen.render(gen.build())
    stale = [p for p, data in files.items() if (EXAMPLES / p).read_bytes() != data]
    assert not stale, f"regenerate with `python examples/make_samples.py`: {stale}"


def test_every_sample_is_a_valid_input_record(
    raw_lines: list[bytes], articles: list[Article], expected: dict[str, Any]
) -> None:
    assert len(raw_lines) == expected["records"] >= 300
    assert all(a.title and a.body and a.published_at and a.source for a in articles)
    assert all(a.url and a.url.startswith("https://") for a in articles)


def test_at_least_six_languages_by_hint(records: list[dict[str, Any]]) -> None:
    hints = Counter(r["language"].split("-")[0].lower() for r in records if r.get("language"))
    assert len(hints) >= 6
    assert set(hints) >= REQUIRED_LANGS


def test_at_least_six_languages_by_detection_and_hints_mostly_right(
    articles: list[Article], expected: dict[str, Any]
) -> None:
    detected = [language.detect(f"{a.title}\n{a.body}").code for a in articles]
    counts = Counter(detected)
    assert set(counts) >= REQUIRED_LANGS
    assert len([c for c, n in counts.items() if n >= 3]) >= 6
    # The deliberately wrong hints are wrong (copies of those articles carry the same wrong
    # hint), every other hint agrees with the detector.
    wrong_urls = {urls.canonicalize(w["url"]): w for w in expected["wrong_language_hint"]}
    wrong = {_content(a): wrong_urls[a.canonical_url] for a in articles
             if a.canonical_url in wrong_urls}
    assert len(wrong) == len(wrong_urls) >= 3
    for a, code in zip(articles, detected, strict=True):
        if _content(a) in wrong:
            assert a.language_hint == wrong[_content(a)]["hint"] != code
            assert code == wrong[_content(a)]["actual"]
        elif a.language_hint:
            assert a.language_hint.split("-")[0] == code, (a.url, a.language_hint, code)
    missing = {urls.canonicalize(m["url"]) for m in expected["missing_language_hint"]}
    assert missing and all(a.language_hint is None for a in articles if a.canonical_url in missing)


def test_news_length_bodies(articles: list[Article]) -> None:
    english = [len((a.body or "").split()) for a in articles if a.language_hint == "en"]
    assert sum(150 <= n <= 600 for n in english) >= 0.6 * len(english)


def _content(a: Article) -> tuple[str | None, str | None]:
    return a.title, a.body


def test_exact_duplicates_tracking_variants_and_revisions(
    records: list[dict[str, Any]], articles: list[Article], expected: dict[str, Any]
) -> None:
    by_content: dict[tuple[str | None, str | None], set[str]] = defaultdict(set)
    by_id: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(articles):
        by_content[_content(a)].add(a.id)
        by_id[a.id].append(i)
    # Same content under other ids = syndicated copies.
    groups = [ids for ids in by_content.values() if len(ids) > 1]
    assert len(groups) == len(expected["exact_duplicates"]["groups"])
    assert sum(len(g) - 1 for g in groups) == expected["exact_duplicates"]["copies"]
    # Same id again: identical content under another raw URL (tracking variant) or changed
    # content later in the file (revision).
    variants = revisions = 0
    for positions in by_id.values():
        first = articles[positions[0]]
        for p in positions[1:]:
            again = articles[p]
            if _content(again) == _content(first):
                assert again.url != first.url and again.canonical_url == first.canonical_url
                assert any(k in again.url for k in ("utm_", "fbclid"))
                variants += 1
            else:
                assert again.url == first.url and again.published_at > first.published_at
                revisions += 1
    assert variants == expected["tracking_variants"]["count"] >= 5
    assert revisions == expected["revisions"]["count"] >= 1
    bilingual = [r for r in records if {"en", "ru"} <= set(r.get("title_translations") or {})]
    assert len(bilingual) == expected["bilingual_titles"]["count"] >= 4
    # Unknown fields are carried along in Article.extra (the revisions have `updated_at`).
    assert sum(bool(a.extra.get("updated_at")) for a in articles) == revisions
    assert len([a for a in articles if a.extra]) >= len(expected["unknown_fields"])


def test_near_duplicates_are_reprints_and_unrelated_articles_stay_far(
    gen: ModuleType, articles: list[Article], expected: dict[str, Any]
) -> None:
    distinct: dict[tuple[str | None, str | None], Article] = {}
    for a in articles:
        distinct.setdefault(_content(a), a)
    docs = [a for a in distinct.values()]
    sh = [frozenset(map(hash, gen.shingles(a.body or ""))) for a in docs]  # ints: faster
    parent = list(range(len(docs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    threshold = load().dedup_threshold
    worst_unrelated = 0.0
    for i, j in itertools.combinations(range(len(docs)), 2):
        if docs[i].id == docs[j].id:
            continue  # a revision of the same article
        sim = gen.jaccard(sh[i], sh[j])
        if sim >= threshold:
            parent[root(i)] = root(j)
        else:
            worst_unrelated = max(worst_unrelated, sim)
    clusters = Counter(root(i) for i in range(len(docs)))
    near = [n for n in clusters.values() if n > 1]
    assert len(near) == len(expected["near_duplicates"]["groups"])
    assert sum(n - 1 for n in near) == expected["near_duplicates"]["reprints"] >= 5
    assert worst_unrelated < 0.5
    prefixed = [a for a in docs if a.title and a.title.startswith(("UPDATE 1-", "RPT-", "WDH-"))]
    assert prefixed


def test_the_dedup_stage_reaches_the_expected_counts(
    articles: list[Article], expected: dict[str, Any]
) -> None:
    """The real decision function over the file in order gives what EXPECTED.md promises."""
    s = load()
    dd = dedup.Deduplicator(
        dedup.InMemoryState(), threshold=s.dedup_threshold, horizon_days=s.dedup_horizon_days
    )
    kinds: Counter[str] = Counter()
    counts: dict[str, int] = {}
    for i, a in enumerate(articles):
        d = dd.decide(a, now=1_741_000_000.0 + i)
        kinds[d.info.kind] += 1
        if d.counts:
            counts[d.counts.id] = d.counts.duplicate_count
    after = expected["after_demo"]
    assert kinds["new"] + kinds["near"] == after["indexed_documents"]
    assert kinds["near"] == after["documents_with_duplicate_of"]
    assert sum(counts.values()) == after["sum_duplicate_count"]
    assert len(counts) == after["documents_with_copies"]
    assert kinds["revision"] == expected["revisions"]["count"]


def test_every_bad_record_is_refused(expected: dict[str, Any]) -> None:
    lines = (EXAMPLES / "bad_records.jsonl").read_bytes().splitlines()
    assert len(lines) == expected["bad_records"]["count"] == expected["after_demo"]["dead_lettered"]
    reasons = set()
    for line in lines:
        with pytest.raises(contract.InvalidArticle) as info:
            contract.parse_article(line, load().max_message_bytes)
        reasons.add(info.value.args[0] if info.value.args else str(info.value))
    assert len(reasons) >= 3  # not JSON, not an object, schema


def test_feeds_parse_and_one_is_windows_1251() -> None:
    rss = (EXAMPLES / "feeds" / "vmeridian-ru.rss").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        rss.decode("utf-8")
    for name, enc in [("vmeridian-ru.rss", "windows-1251"), ("meridian-wire.atom", "utf-8")]:
        parsed = feedparser.parse((EXAMPLES / "feeds" / name).read_bytes())
        assert not parsed.bozo and parsed.encoding == enc
        assert len(parsed.entries) == 3 and all(e.title and e.link for e in parsed.entries)
    assert "Ярославле" in feedparser.parse(rss).entries[0].title
