"""Kibana saved objects: they parse, hang together, and use only fields of the template."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from streams import kibana, setup
from tests.unit.test_template import FIELDS

OBJECTS = kibana.load_objects()
BY_ID = {(o["type"], o["id"]): o for o in OBJECTS}
AGGREGATABLE = {"keyword", "date", "integer", "long", "float", "double", "boolean"}
KQL_FIELD = re.compile(r"(?:^|\s|\()(?:not\s+)?([A-Za-z_][\w.]*)\s*:")


def _json_attr(obj: dict[str, Any], *path: str) -> Any:
    value: Any = obj["attributes"]
    for key in path:
        value = value[key]
    return json.loads(value)


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
        if obj["type"] == "visualization":
            for agg in _json_attr(obj, "visState")["aggs"]:
                params = agg.get("params", {})
                if "field" in params:
                    out.append((oid, params["field"], True))
                for f in params.get("filters", []):
                    out += [(oid, m, False) for m in KQL_FIELD.findall(f["input"]["query"])]
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
    assert {o["type"] for o in OBJECTS} == {"index-pattern", "search", "visualization", "dashboard"}


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


def test_dashboard_shows_what_the_issue_asks_for() -> None:
    vis_fields = {
        agg["params"]["field"]
        for o in OBJECTS if o["type"] == "visualization"
        for agg in _json_attr(o, "visState")["aggs"] if "field" in agg.get("params", {})
    }
    wanted = {"published_at", "language", "persons", "organizations", "locations", "source"}
    assert wanted <= vis_fields
    filters = [
        agg for o in OBJECTS if o["type"] == "visualization"
        for agg in _json_attr(o, "visState")["aggs"] if agg["type"] == "filters"
    ]
    queries = [f["input"]["query"] for a in filters for f in a["params"]["filters"]]
    assert any("duplicate_of" in q for q in queries)


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
    assert len(panels) >= 7
    assert {p["panelRefName"] for p in panels} == ref_names
    assert len({p["panelIndex"] for p in panels}) == len(panels)


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o["id"])
def test_embedded_json_strings_parse(obj: dict[str, Any]) -> None:
    for key in ("visState", "panelsJSON", "optionsJSON", "uiStateJSON", "fieldFormatMap"):
        if key in obj["attributes"]:
            json.loads(obj["attributes"][key])
    if obj["type"] == "visualization":
        assert _json_attr(obj, "visState")["title"] == obj["attributes"]["title"]


def test_data_view_follows_a_custom_alias_without_touching_the_file() -> None:
    moved = kibana.for_alias(OBJECTS, "t1-articles")
    view = next(o for o in moved if o["type"] == "index-pattern")
    assert view["attributes"]["title"] == "t1-articles*"
    assert next(o for o in OBJECTS if o["type"] == "index-pattern")["attributes"]["title"] == (
        "articles*"
    )


def test_data_view_pattern_matches_the_backing_indices() -> None:
    assert re.fullmatch("articles.*", setup.first_index("articles"))
