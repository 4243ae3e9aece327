"""The demo's top facets hold names, not capitalised common nouns ("Turnout", "Farmers").

With the default backend (the small spaCy model) every top value must be a name the sample
generator put in the articles; that the label is right too (a football club is not a person)
is asserted with CoreNLP in tests/integration/enrich/test_corenlp.py.
"""

from __future__ import annotations

import pytest

from streams.settings import load
from tests.demo_facets import known, top_facets


@pytest.fixture(scope="module")
def top() -> dict[str, list[str]]:
    return top_facets(load())


@pytest.mark.parametrize("facet", ["persons", "organizations", "locations"])
def test_top_values_are_names_of_the_samples(top: dict[str, list[str]], facet: str) -> None:
    k = known()
    assert top[facet], f"no {facet} found at all"
    bad = [v for v in top[facet] if not k.is_known(v)]
    assert not bad, f"top {facet} that are not names of the samples: {bad} (top: {top[facet]})"


def test_top_locations_are_places(top: dict[str, list[str]]) -> None:
    k = known()
    bad = [v for v in top["locations"] if not k.is_place(v)]
    assert not bad, f"top locations that are not places: {bad} (top: {top['locations']})"
