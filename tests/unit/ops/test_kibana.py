"""Kibana saved objects (8.x format, Lens panels): they parse, hang together, and use only
fields of the index template. No Kibana runs here; these checks are what can be verified
without one."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from streams.index import schema as setup
from streams.ops import kibana
from tests.unit.index.test_template import FIELDS

OBJECTS = kibana.load_objects()
BY_ID = {(o["type"], o["id"]): o for o in OBJECTS}
AGGREGATABLE = {"keyword", "date", "integer", "long", "float", "double", "boolean"}
KQL_FIELD = re.compile(r"(?:^|\s|\()(?:not\s+)?([A-Za-z_][\w.]*)\s*:")


def _json_attr(obj: dict[str, Any], *path: str) -> Any:
    value: Any = obj["attributes"]
    for key in path:
        value = value[key]
    return json.loads(value)


def lens_columns(obj: dict[str, Any]) -> list[dict[str, Any]]:
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return [c for layer in layers.values() for c in layer["columns"].values()]


def referenced_fields() -> list[tuple[str, str, bool]]:
    """(object id, field, needs aggregation) for every field an object names."""
    out: list[tuple[str, str, bool]] = []
    for obj in OBJECTS:
        attrs = obj["attributes"]
        oid = obj["id"]
        if obj["type"] == "index-pattern":
            out.append((oid, attrs["timeFieldName"], True))
        if obj["type"] == "search":
            out += [(oid, c, False) for c in attrs["columns"]]
            out += [(oid, s[0], True) for s in attrs["sort"]]
        if obj["type"] == "lens":
            for col in lens_columns(obj):
                if col.get("sourceField", "___records___") != "___records___":
                    out.append((oid, col["sourceField"], True))
                for f in col.get("params", {}).get("filters", []):
                    out += [(oid, m, False) for m in KQL_FIELD.findall(f["input"]["query"])]
            query = attrs["state"]["query"]["query"]
            out += [(oid, m, False) for m in KQL_FIELD.findall(query)]
        meta = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta:
            query = json.loads(meta).get("query", {}).get("query", "")
            out += [(oid, m, False) for m in KQL_FIELD.findall(query)]
    return out


def test_every_line_is_a_saved_object() -> None:
    for path in kibana.packaged_files():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            obj = json.loads(line)
            assert {"id", "type", "attributes", "references"} <= set(obj), (path.name, n)
    assert {o["type"] for o in OBJECTS} == {"index-pattern", "search", "lens", "dashboard"}
    for obj in OBJECTS:  # the 8.x export format: migration versions per object
        assert obj["coreMigrationVersion"].startswith("8.") and "migrationVersion" not in obj
        assert re.fullmatch(r"\d+\.\d+\.\d+", obj["typeMigrationVersion"])


def test_data_view_is_on_articles_with_published_at_as_time() -> None:
    views = [o for o in OBJECTS if o["type"] == "index-pattern"]
    assert len(views) == 1
    assert views[0]["attributes"]["title"] == "articles*"
    assert views[0]["attributes"]["timeFieldName"] == "published_at"


def test_fields_referenced_exist_in_the_template_and_aggregate() -> None:
    refs = referenced_fields()
    assert len(refs) > 10  # the extraction itself must find the fields
    for oid, name, needs_agg in refs:
        assert name in FIELDS, f"{oid} references {name!r}, not in the index template"
        if needs_agg:
            assert FIELDS[name]["type"] in AGGREGATABLE, f"{oid}: {name} cannot aggregate"


def test_dashboard_shows_the_views_of_the_search_page() -> None:
    """Volume per day, the entity/source/language facets, stories, near duplicates."""
    lens = [o for o in OBJECTS if o["type"] == "lens"]
    by_field: dict[str, set[str]] = {}
    for o in lens:
        for col in lens_columns(o):
            by_field.setdefault(col["operationType"], set()).add(col.get("sourceField", ""))
    assert "published_at" in by_field["date_histogram"]
    assert {"language", "persons", "organizations", "locations", "source", "story_id"} <= (
        by_field["terms"])
    assert "source" in by_field["unique_count"]  # the sources that carried a story
    queries = [f["input"]["query"] for o in lens for c in lens_columns(o)
               for f in c.get("params", {}).get("filters", [])]
    assert any("duplicate_of" in q for q in queries)
    story = BY_ID[("search", "newsstream-story-view")]["attributes"]
    assert story["sort"][0] == ["story_id", "asc"] and "story_id" in story["columns"]
    for o in lens:  # every layer's data view is referenced by the name Lens looks for
        layers = o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
        names = {r["name"] for r in o["references"]}
        assert {f"indexpattern-datasource-layer-{k}" for k in layers} <= names
        for layer in layers.values():
            assert sorted(layer["columnOrder"]) == sorted(layer["columns"])


def test_references_resolve_within_the_file() -> None:
    for obj in OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in BY_ID, (obj["id"], ref)
        meta = obj["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta and "indexRefName" in json.loads(meta):
            names = {r["name"] for r in obj["references"]}
            assert json.loads(meta)["indexRefName"] in names
    dash = next(o for o in OBJECTS if o["type"] == "dashboard")
    panels = _json_attr(dash, "panelsJSON")
    ref_names = {r["name"] for r in dash["references"]}
    assert len(panels) >= 10
    assert {f'{p["panelIndex"]}:{p["panelRefName"]}' for p in panels} == ref_names
    assert len({p["panelIndex"] for p in panels}) == len(panels)


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o["id"])
def test_embedded_json_strings_parse(obj: dict[str, Any]) -> None:
    for key in ("panelsJSON", "optionsJSON", "fieldFormatMap", "sourceFilters", "runtimeFieldMap"):
        if key in obj["attributes"]:
            json.loads(obj["attributes"][key])
    if obj["type"] == "lens":
        assert obj["attributes"]["visualizationType"] in {
            "lnsXY", "lnsPie", "lnsDatatable", "lnsMetric"}


def test_data_view_follows_a_custom_alias_without_touching_the_file() -> None:
    moved = kibana.for_alias(OBJECTS, "t1-articles")
    view = next(o for o in moved if o["type"] == "index-pattern")
    assert view["attributes"]["title"] == "t1-articles*"
    assert next(o for o in OBJECTS if o["type"] == "index-pattern")["attributes"]["title"] == (
        "articles*"
    )


def test_data_view_pattern_matches_the_backing_indices() -> None:
    assert re.fullmatch("articles.*", setup.first_index("articles"))
