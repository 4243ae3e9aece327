"""``newsstream setup``: the index template, the write alias and the Kafka topics, idempotently.

Why idempotent by checksum: Elasticsearch answers a template GET in a normalized form (numbers
as strings, flattened settings), so comparing it with our file would always see a difference.
The template we send carries ``_meta.checksum`` (SHA-256 of its own canonical JSON); a second
run compares checksums and changes nothing ("unchanged").

The template and the first index come from ``schemas/elasticsearch/`` with the alias name from
settings (``NEWSSTREAM_ES_ALIAS``) substituted, so tests and deployments can keep several
independent indices on one cluster.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from streams import resources
from streams.index import es_client
from streams.settings import Settings

log = logging.getLogger(__name__)

# Files under schemas/elasticsearch/, shipped as the package streams.schemas (streams.resources).
TEMPLATE_FILE = "articles-template.json"
BOOTSTRAP_FILE = "articles-bootstrap.json"
ILM_FILE = "articles-ilm-policy.json"
TEMPLATE_ALIAS = "articles"  # the alias name written in the files above


@dataclass(frozen=True)
class Change:
    """One line of setup's report: what, and created / updated / unchanged (or a note)."""

    what: str
    status: str
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.status in {"created", "updated", "rolled over"}

    def line(self) -> str:
        return f"{self.what}: {self.status}" + (f" ({self.note})" if self.note else "")


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = resources.schema_json("elasticsearch", name)
    return loaded


def checksum(body: dict[str, Any]) -> str:
    """SHA-256 of canonical JSON (sorted keys), ignoring any checksum already inside."""
    clean = copy.deepcopy(body)
    clean.get("_meta", {}).pop("checksum", None)
    clean.get("template", {}).get("mappings", {}).get("_meta", {}).pop("template_checksum", None)
    raw = json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def template_body(
    alias: str, ilm_policy: str | None = None, s: Settings | None = None
) -> dict[str, Any]:
    """The index template for ``alias`` (pattern ``<alias>-*``), with its checksum in _meta.

    ``s`` sets the shards, replicas and refresh interval of new backing indices (the file's
    values, for one node, otherwise).
    """
    body = _load(TEMPLATE_FILE)
    body["index_patterns"] = [f"{alias}-*"]
    if s is not None:
        index_settings = body["template"]["settings"]["index"]
        index_settings["number_of_shards"] = s.es_shards
        index_settings["refresh_interval"] = s.es_refresh_interval
        index_settings.pop("auto_expand_replicas", None)
        index_settings.pop("number_of_replicas", None)
        if "-" in s.es_replicas:
            index_settings["auto_expand_replicas"] = s.es_replicas
        else:
            index_settings["number_of_replicas"] = int(s.es_replicas)
    if ilm_policy:
        index = body["template"]["settings"].setdefault("index", {})
        index["lifecycle"] = {"name": ilm_policy, "rollover_alias": alias}
    body["_meta"]["checksum"] = checksum(body)
    # the indices created from this template remember which version they were built from
    body["template"]["mappings"].setdefault("_meta", {})["template_checksum"] = (
        body["_meta"]["checksum"]
    )
    return body


def language_fields() -> dict[str, str]:
    """Detected language code -> suffix of the fields analyzed in that language (zh -> cjk).

    ``title_<suffix>``, ``summary_<suffix>`` and ``body_<suffix>`` exist for each suffix; the
    document builder fills only those of the language detected for each text.
    """
    from streams.index.documents import language_fields as fields

    return dict(fields())


def first_index(alias: str) -> str:
    """The first backing index of ``alias`` (``articles`` -> ``articles-000001``)."""
    name: str = _load(BOOTSTRAP_FILE)["index"]
    return alias + name[len(TEMPLATE_ALIAS):]


def bootstrap_body(alias: str) -> dict[str, Any]:
    body: dict[str, Any] = _load(BOOTSTRAP_FILE)["body"]
    return {"aliases": {alias: body["aliases"][TEMPLATE_ALIAS]}}


def ilm_available(es: Elasticsearch) -> bool:
    """True on a full Elasticsearch (ILM present); the embedded local node has none."""
    try:
        es.ilm.get_status()
        return True
    except (ApiError, NotFoundError):
        return False


def ensure_ilm_policy(es: Elasticsearch, name: str) -> Change:
    policy = _load(ILM_FILE)["policy"]
    policy["_meta"]["checksum"] = checksum(policy)
    try:
        current = es.ilm.get_lifecycle(name=name)[name]["policy"]
        if current.get("_meta", {}).get("checksum") == policy["_meta"]["checksum"]:
            return Change(f"ILM policy {name}", "unchanged")
        status = "updated"
    except NotFoundError:
        status = "created"
    es.ilm.put_lifecycle(name=name, policy=policy)
    return Change(f"ILM policy {name}", status)


def ensure_template(es: Elasticsearch, alias: str, body: dict[str, Any]) -> Change:
    what = f"index template {alias}"
    try:
        found = es.indices.get_index_template(name=alias)["index_templates"]
        current = found[0]["index_template"] if found else {}
        if current.get("_meta", {}).get("checksum") == body["_meta"]["checksum"]:
            return Change(what, "unchanged")
        status = "updated"
    except NotFoundError:
        status = "created"
    es.indices.put_index_template(name=alias, body=body)
    return Change(what, status)


def ensure_alias(es: Elasticsearch, alias: str) -> Change:
    """Create ``<alias>-000001`` as the write index of ``alias`` unless the alias exists."""
    index = first_index(alias)
    what = f"alias {alias} -> {index}"
    if es.indices.exists_alias(name=alias):
        targets = sorted(es.indices.get_alias(name=alias))
        return Change(f"alias {alias} -> {', '.join(targets)}", "unchanged")
    if es.indices.exists(index=alias):
        raise SetupError(
            f"a concrete index named {alias!r} exists (written before setup ran?): "
            f"reindex it into {index} or delete it, then run `newsstream setup` again"
        )
    if es.indices.exists(index=index):
        es.indices.put_alias(index=index, name=alias, is_write_index=True)
        return Change(what, "updated", "alias added to the existing index")
    es.indices.create(index=index, body=bootstrap_body(alias))
    return Change(what, "created")


def write_index_mapping(es: Elasticsearch, alias: str) -> dict[str, Any] | None:
    """The mappings of the alias's write index (None if it has none)."""
    for name, spec in es.indices.get_alias(name=alias).items():
        if spec["aliases"][alias].get("is_write_index", True):
            mapping: dict[str, Any] = es.indices.get_mapping(index=name)[name]["mappings"]
            return mapping
    return None


def write_index_checksum(es: Elasticsearch, alias: str) -> str | None:
    """The template checksum the alias's write index was built (or last updated) from."""
    found: str | None = (write_index_mapping(es, alias) or {}).get("_meta", {}).get(
        "template_checksum")
    return found


def refresh_mappings(
    es: Elasticsearch, s: Settings, alias: str, body: dict[str, Any]
) -> Change:
    """After a template change, push the new mappings to the existing write index.

    Additive changes (a new field) apply in place and record the new checksum in the index's
    mapping ``_meta``; a changed analyzer cannot, and the user is told (on every run, until
    done) to roll over so that the next index gets the new template.
    """
    mappings = body["template"]["mappings"]
    try:
        es.indices.put_mapping(index=alias, write_index_only=True, body=mappings)
        return Change(f"mappings of {alias}", "updated")
    except ApiError as exc:
        why = es_client.describe_error(exc, s)
    # A changed field stays as it is, but new fields must still be added: the mapping is
    # strict, so a document carrying a field its index lacks would be rejected.
    added = new_fields(es, alias, mappings)
    if added:
        es.indices.put_mapping(index=alias, write_index_only=True,
                               properties={k: mappings["properties"][k] for k in added})
    return Change(
        f"mappings of {alias}",
        "kept",
        (f"new fields added ({', '.join(added)}); " if added else "")
        + f"{why}; run `newsstream setup --rollover` to start a new index with the new template",
    )


def new_fields(es: Elasticsearch, alias: str, mappings: dict[str, Any]) -> list[str]:
    """Top-level fields of ``mappings`` that the alias's write index does not map yet."""
    current = write_index_mapping(es, alias)
    if current is None:
        return []
    return sorted(set(mappings.get("properties", {})) - set(current.get("properties", {})))


def rollover(es: Elasticsearch, alias: str) -> Change:
    resp = es.indices.rollover(alias=alias)
    return Change(f"alias {alias}", "rolled over", f"{resp['old_index']} -> {resp['new_index']}")


class SetupError(Exception):
    """A state setup will not repair on its own; the message says what to do."""


def setup_elasticsearch(s: Settings, do_rollover: bool = False) -> list[Change]:
    es = es_client.make_client(s)
    alias = s.es_alias
    changes: list[Change] = []
    policy = None
    if ilm_available(es):
        policy = f"{alias}-rollover"
        changes.append(ensure_ilm_policy(es, policy))
    body = template_body(alias, policy, s)
    tpl = ensure_template(es, alias, body)
    changes.append(tpl)
    alias_existed = bool(es.indices.exists_alias(name=alias))
    changes.append(ensure_alias(es, alias))
    if alias_existed and write_index_checksum(es, alias) != body["_meta"]["checksum"]:
        changes.append(refresh_mappings(es, s, alias, body))
    if do_rollover:
        changes.append(rollover(es, alias))
    return changes


def setup_kafka(s: Settings) -> list[Change]:
    from streams import kafka_io

    names = s.pipeline_topics()
    created = set(kafka_io.ensure_topics(s, names))
    counts = _partition_counts(s, [n for n in names if n not in created])
    changes = []
    for name in names:
        if name in created:
            changes.append(Change(f"topic {name}", "created", f"{s.partitions} partitions"))
            continue
        have = counts.get(name)
        note = ""
        if have is not None and have != s.partitions:
            # never repartition in place: keys would move and the dedup tables with them
            note = f"has {have} partitions, NEWSSTREAM_PARTITIONS={s.partitions}; left as is"
        changes.append(Change(f"topic {name}", "unchanged", note))
    return changes


def _partition_counts(s: Settings, names: list[str]) -> dict[str, int]:
    """Partitions of existing topics (empty if the broker cannot say)."""
    from streams import kafka_io

    if not names:
        return {}
    client = kafka_io.admin(s)
    try:
        return {
            t["name"]: len(t.get("partitions") or [])
            for t in client.describe_topics(names)
            if t.get("error_code") == 0 and t.get("name")
        }
    finally:
        client.close()


def dry_run(s: Settings, elasticsearch: bool = True, kafka: bool = True) -> list[str]:
    """What setup would send, built from the packaged files, without contacting anything.

    It reads and renders every file setup needs, so it also proves an installation complete.
    """
    lines: list[str] = []
    if elasticsearch:
        body = template_body(s.es_alias, f"{s.es_alias}-rollover", s)
        lines.append(
            f"index template {s.es_alias}: patterns {body['index_patterns']}, "
            f"{len(body['template']['mappings']['properties'])} fields, "
            f"checksum {body['_meta']['checksum'][:12]}"
        )
        lines.append(f"ilm policy {s.es_alias}-rollover (if the cluster has ILM): "
                     f"{', '.join(_load(ILM_FILE)['policy']['phases'])}")
        lines.append(f"write alias {s.es_alias} -> {first_index(s.es_alias)}")
        lines.append(f"language fields: {', '.join(sorted(language_fields()))}")
    if kafka:
        for name in s.pipeline_topics():
            lines.append(
                f"topic {name}: {s.partitions} partitions, replication {s.replication_factor}"
            )
    return lines
