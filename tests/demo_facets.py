"""The demo's top facets, computed in-process on the bundled English sample articles.

Shared by the unit test (default backend) and the CoreNLP integration test. Top values are
counted the way the demo's terms aggregation counts them (documents per facet value), and the
names the sample generator put in the articles are the reference: people from its first/last
name pools, places from its cities and countries, organizations from its organization, team
and newspaper pools.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from streams.enrich.enricher import enrich_sync
from streams.ingest import contract

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOP = 10
ARTICLES = 60


def _pool() -> ModuleType:
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("sampletext_en", EXAMPLES / "sampletext" / "en.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(EXAMPLES))


def norm(name: str) -> str:
    """Compare as the facets' keyword normalizer does (lower case, no accents), minus "the"."""
    s = unicodedata.normalize("NFKD", name.strip().casefold())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"^the ", "", s)


@dataclass(frozen=True)
class Known:
    """The sample generator's names, by kind."""

    name_words: frozenset[str]
    places: frozenset[str]
    orgs: frozenset[str]

    def is_person(self, v: str) -> bool:
        return set(v.split()) <= self.name_words

    def is_place(self, v: str) -> bool:
        return v in self.places

    def is_org(self, v: str) -> bool:
        return v in self.orgs

    def is_known(self, v: str) -> bool:
        return self.is_person(v) or self.is_place(v) or self.is_org(v)


def known() -> Known:
    pool = _pool()
    places = {norm(c) for c, _ in pool.CITIES} | {norm(c) for c in pool.COUNTRIES}
    places |= {"netherlands", "united kingdom"}
    orgs = {norm(o) for t in pool.TOPICS.values() for o in t.get("orgs", [])}
    orgs |= {norm(t) for t in pool.TEAMS} | {norm(s[0]) for s in pool.SOURCES}
    return Known(
        frozenset(w.casefold() for w in (*pool.FIRST, *pool.LAST)),
        frozenset(places),
        frozenset(orgs),
    )


def top_facets(settings: Any) -> dict[str, list[str]]:
    """Top values per facet over the English sample articles (body detected as English)."""
    limit = settings.max_message_bytes
    lines = (EXAMPLES / "articles.jsonl").read_bytes().splitlines()
    articles = [contract.parse_article(line, limit) for line in lines]
    english = [a for a in articles if a.language_hint == "en"][:ARTICLES]
    results = [r for r in enrich_sync(english, settings) if r.languages["body"].code == "en"]
    out: dict[str, list[str]] = {}
    for facet in ("persons", "organizations", "locations"):
        counts = Counter(norm(v) for r in results for v in set(getattr(r, facet)))
        out[facet] = [v for v, _ in counts.most_common(TOP)]
    return out
