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
PLUGIN_SRC = ROOT / "devservices" / "elasticsearch" / "src" / "main" / "java"
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


def test_mapping_is_controlled() -> None:
    assert MAPPINGS["dynamic"] == "strict"
    assert PROPS["extra"] == {"type": "object", "enabled": False}
    assert PROPS["title_translations"]["dynamic"] is False
    # mentions are stored, not indexed: one Lucene document per article; their names are
    # searchable through one folded keyword field
    assert PROPS["entities"] == {"type": "object", "enabled": False}
    assert PROPS["entity_names"] == {**PROPS["entity_names"], "type": "keyword",
                                     "normalizer": "folded"}


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


def test_each_detected_language_has_its_own_fields_and_a_neutral_fallback() -> None:
    fields = setup.language_fields()
    assert {"en", "ru", "de", "fr", "es"} <= set(fields)
    for text_field in documents.TEXT_FIELDS:
        assert PROPS[text_field]["analyzer"] == "folded_text"  # the language-neutral fallback
        assert "fields" not in PROPS[text_field]  # no text is analyzed in every language
        for suffix in set(fields.values()):
            assert PROPS[f"{text_field}_{suffix}"]["type"] == "text"
    assert set(documents.language_field_names()) == {
        name for name in PROPS
        if "_" in name and name.rsplit("_", 1)[0] in documents.TEXT_FIELDS
        and name.rsplit("_", 1)[1] in set(fields.values())
    }
    assert set(PROPS["title_translations"]["properties"]) == set(fields)
    assert PROPS["title_en"]["analyzer"] == "english"
    assert PROPS["body_ru"]["analyzer"] == "russian"
    assert PROPS["summary_cjk"]["analyzer"] == "cjk"


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


def test_template_uses_only_analyzers_and_filters_the_local_node_provides() -> None:
    assert PLUGIN_SRC.is_dir(), f"the local node's analysis plugin sources moved: {PLUGIN_SRC}"
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


def test_shards_replicas_and_refresh_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.settings import load

    for name in ("NEWSSTREAM_ES_SHARDS", "NEWSSTREAM_ES_REPLICAS", "NEWSSTREAM_ES_REFRESH_INTERVAL"):
        monkeypatch.delenv(name, raising=False)
    default = setup.template_body("t1-articles", s=load())["template"]["settings"]["index"]
    assert (default["number_of_shards"], default["auto_expand_replicas"]) == (1, "0-1")
    assert "number_of_replicas" not in default
    monkeypatch.setenv("NEWSSTREAM_ES_SHARDS", "3")
    monkeypatch.setenv("NEWSSTREAM_ES_REPLICAS", "1")
    monkeypatch.setenv("NEWSSTREAM_ES_REFRESH_INTERVAL", "10s")
    cluster = load()
    index = setup.template_body("t1-articles", s=cluster)["template"]["settings"]["index"]
    assert (index["number_of_shards"], index["number_of_replicas"], index["refresh_interval"]) == (
        3, 1, "10s")
    assert "auto_expand_replicas" not in index


def test_bootstrap_creates_the_first_index_as_write_index() -> None:
    assert setup.first_index("articles") == "articles-000001"
    assert setup.first_index("t1-articles") == "t1-articles-000001"
    assert setup.bootstrap_body("t1-articles") == {
        "aliases": {"t1-articles": {"is_write_index": True}}
    }
