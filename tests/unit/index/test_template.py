"""The index template: consistent with the document schema, the analyzers that exist, setup."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streams.index import documents
from streams.index import schema as setup

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = json.loads((ROOT / "schemas" / "elasticsearch" / setup.TEMPLATE_FILE).read_text())
MAPPINGS = TEMPLATE["template"]["mappings"]
PROPS = MAPPINGS["properties"]
SCHEMA = documents.load_schema()
PLUGIN_SRC = ROOT / "services" / "elasticsearch" / "src" / "main" / "java"
BUILTIN_ANALYZERS = {"standard", "simple", "whitespace", "keyword", "stop"}


def flatten(props: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every field path of a mapping, subfields (title.en) and nested fields included."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in props.items():
        path = prefix + name
        out[path] = spec
        for sub, subspec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = subspec
        if "properties" in spec:
            out.update(flatten(spec["properties"], path + "."))
    return out


FIELDS = flatten(PROPS)


def test_every_template_field_is_in_the_schema_and_vice_versa() -> None:
    assert set(PROPS) == set(SCHEMA["properties"])
    item = SCHEMA["properties"]["entities"]["items"]
    assert set(PROPS["entities"]["properties"]) == set(item["properties"])


def test_mapping_is_controlled() -> None:
    assert MAPPINGS["dynamic"] == "strict"
    assert PROPS["extra"] == {"type": "object", "enabled": False}
    assert PROPS["title_translations"]["dynamic"] is False
    assert PROPS["entities"]["type"] == "nested"


@pytest.mark.parametrize("name", ["persons", "organizations", "locations"])
def test_entity_facets_are_normalized_keywords(name: str) -> None:
    assert PROPS[name] == {**PROPS[name], "type": "keyword", "normalizer": "folded"}
    normalizer = TEMPLATE["template"]["settings"]["analysis"]["normalizer"]["folded"]
    assert normalizer["filter"] == ["lowercase", "asciifolding"]
    assert normalizer["char_filter"] == ["cyrillic_yo"]


def test_field_types_the_issue_asks_for() -> None:
    for name in ("published_at", "ingested_at", "first_seen"):
        assert PROPS[name]["type"] == "date"
    for name in ("language", "url", "canonical_url", "source", "duplicate_of", "story_id"):
        assert PROPS[name]["type"] == "keyword"
    assert PROPS["duplicate_count"]["type"] == "integer"


def test_each_detected_language_has_a_stemmed_subfield_everywhere() -> None:
    subfields = setup.language_subfields()
    assert {"en", "ru", "de", "fr", "es"} <= set(subfields)
    for text_field in ("title", "body", "summary"):
        assert PROPS[text_field]["analyzer"] == "folded_text"  # the language-neutral fallback
        assert set(subfields.values()) == set(PROPS[text_field]["fields"])
    assert set(PROPS["title_translations"]["properties"]) == set(subfields)
    assert FIELDS["title.en"]["analyzer"] == "english"
    assert FIELDS["body.ru"]["analyzer"] == "russian"


def _plugin_names(kind: str) -> set[str]:
    names: set[str] = set()
    for path in PLUGIN_SRC.rglob("*.java"):
        text = path.read_text(errors="replace")
        if kind == "analyzer" and "LanguageAnalyzers" not in path.name:
            continue
        if kind == "filter" and path.name != "Filters.java":
            continue
        if kind == "char_filter" and path.name != "CharFilters.java":
            continue
        names |= set(re.findall(r'm\.put\("([a-z_]+)"', text))
    return names


@pytest.mark.skipif(not PLUGIN_SRC.exists(), reason="local Elasticsearch plugin sources absent")
def test_template_uses_only_analyzers_and_filters_the_local_node_provides() -> None:
    analysis = TEMPLATE["template"]["settings"]["analysis"]
    custom = set(analysis["analyzer"])
    used_analyzers = {
        spec["analyzer"] for spec in FIELDS.values() if "analyzer" in spec
    } - custom - BUILTIN_ANALYZERS
    assert used_analyzers <= _plugin_names("analyzer"), used_analyzers - _plugin_names("analyzer")
    used_filters = {
        f for group in ("analyzer", "normalizer") for spec in analysis[group].values()
        for f in spec.get("filter", [])
    }
    assert used_filters <= _plugin_names("filter")
    used_char_filters = {
        analysis["char_filter"][name]["type"]
        for group in ("analyzer", "normalizer") for spec in analysis[group].values()
        for name in spec.get("char_filter", [])
    }
    assert used_char_filters == {"mapping"} <= _plugin_names("char_filter")


def test_template_body_follows_the_alias_and_is_stable() -> None:
    a = setup.template_body("t1-articles")
    b = setup.template_body("t1-articles")
    assert a["index_patterns"] == ["t1-articles-*"]
    assert a == b and a["_meta"]["checksum"] == setup.checksum(a)
    assert setup.template_body("articles")["_meta"]["checksum"] != a["_meta"]["checksum"]
    with_ilm = setup.template_body("t1-articles", "t1-articles-rollover")
    assert with_ilm["template"]["settings"]["index"]["lifecycle"] == {
        "name": "t1-articles-rollover", "rollover_alias": "t1-articles"
    }
    assert with_ilm["_meta"]["checksum"] != a["_meta"]["checksum"]


def test_bootstrap_creates_the_first_index_as_write_index() -> None:
    assert setup.first_index("articles") == "articles-000001"
    assert setup.first_index("t1-articles") == "t1-articles-000001"
    assert setup.bootstrap_body("t1-articles") == {
        "aliases": {"t1-articles": {"is_write_index": True}}
    }
