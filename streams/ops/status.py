"""``newsstream status``: where the pipeline stands, in one screen (or ``--json`` for scripts).

Why a command of its own: "is it keeping up?" needs three systems at once: Kafka (end offsets,
each consumer group's committed offsets and the lag between them), Elasticsearch (documents,
duplicates) and the worker (its ``/health`` page). Every probe has a bounded timeout and runs
in parallel with the others, so a dead broker costs a few seconds and a clear line, never a
hang; the exit code is 1 when Kafka or Elasticsearch cannot be read, 0 otherwise (a stopped
worker is a state to report, not an error of this command).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from streams.settings import Settings

DEFAULT_TIMEOUT = 5.0
# Counters of the worker's /metrics page worth a line in the status (name -> label).
WORKER_COUNTERS = {
    "newsstream_articles_received_total": "received",
    "newsstream_articles_valid_total": "valid",
    "newsstream_articles_enriched_total": "enriched",
    "newsstream_documents_indexed_total": "indexed",
    "newsstream_dead_letters_total": "dead-lettered",
}


# --------------------------------------------------------------------------------- pure parts
def is_pipeline_topic(name: str, s: Settings) -> bool:
    """Input, dead-letter and internal stage topics, plus Faust's own (changelogs, repartitions)."""
    return (
        name in (s.topic_articles, s.topic_dlq)
        or name.startswith(s.topic_prefix + ".")
        or name.startswith(s.app_id + "-")
    )


def lag(end: int, committed: int | None, begin: int = 0) -> int:
    """Messages a group still has to read: from its commit (or the log start) to the end."""
    start = begin if committed is None else max(committed, begin)
    return max(end - start, 0)


def summarize_kafka(
    partitions: dict[tuple[str, int], tuple[int, int]],
    commits: dict[str, dict[tuple[str, int], int]],
) -> dict[str, Any]:
    """Per-partition rows and per-topic/per-group totals from raw offsets.

    ``partitions``: (topic, partition) -> (beginning offset, end offset).
    ``commits``: group -> (topic, partition) -> committed offset (only partitions it committed).
    A group is listed under every partition of a topic it has committed on; on a partition it
    never committed its lag counts from the log start (it would read all of it).
    """
    rows: list[dict[str, Any]] = []
    topics: dict[str, dict[str, Any]] = {}
    group_lag: dict[str, int] = {g: 0 for g in commits}
    for (topic, part), (begin, end) in sorted(partitions.items()):
        t = topics.setdefault(topic, {"partitions": 0, "end": 0, "messages": 0, "groups": {}})
        t["partitions"] += 1
        t["end"] += end
        t["messages"] += max(end - begin, 0)
        groups: dict[str, dict[str, int | None]] = {}
        for g, offs in sorted(commits.items()):
            if not any(tp[0] == topic for tp in offs):
                continue
            c = offs.get((topic, part))
            n = lag(end, c, begin)
            groups[g] = {"committed": c, "lag": n}
            group_lag[g] += n
            t["groups"][g] = t["groups"].get(g, 0) + n
        rows.append({"topic": topic, "partition": part, "begin": begin, "end": end,
                     "groups": groups})
    return {"partitions": rows, "topics": topics, "group_lag": group_lag}


def metric_samples(text: str) -> list[Sample]:
    """Every sample of a Prometheus text page, parsed by ``prometheus_client``.

    A page with a line the parser refuses is read again line by line, so one bad line costs
    that line alone, not the whole page.
    """
    try:
        return [x for family in text_string_to_metric_families(text) for x in family.samples]
    except ValueError:
        pass
    out: list[Sample] = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            with contextlib.suppress(ValueError):
                out += [x for f in text_string_to_metric_families(line + "\n") for x in f.samples]
    return out


def metric_sums(text: str) -> dict[str, float]:
    """Sample name (``..._total``, ``..._sum``, ...) -> the sum of its samples over all labels."""
    out: dict[str, float] = {}
    for x in metric_samples(text):
        out[x.name] = out.get(x.name, 0.0) + x.value
    return out


def parse_metrics(text: str) -> dict[str, float]:
    """Sum the samples of the interesting counters in a Prometheus text page, in page order."""
    return {WORKER_COUNTERS[name]: v for name, v in metric_sums(text).items() if name in WORKER_COUNTERS}


# ------------------------------------------------------------------------------------ probes
def _kafka_error(exc: BaseException, s: Settings) -> str:
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError

    if isinstance(exc, KafkaTimeoutError | KafkaConnectionError):
        return (
            f"cannot reach Kafka at {s.kafka_bootstrap}: start it (`newsstream services up`) "
            "or set NEWSSTREAM_KAFKA_BOOTSTRAP"
        )
    return f"Kafka call failed: {type(exc).__name__}: {exc}"


def _group_offsets(admin: Any, groups: list[str]) -> dict[str, dict[Any, Any]]:
    """All committed offsets of ``groups``: one batched request, or one per group on old brokers."""
    if not groups:
        return {}
    from kafka.errors import UnsupportedVersionError

    try:
        return dict(admin.list_group_offsets({g: None for g in groups}))
    except UnsupportedVersionError:
        return {g: admin.list_group_offsets({g: None})[g] for g in groups}


def kafka_status(s: Settings, timeout: float, extra_groups: list[str] | None = None) -> dict[str, Any]:
    """End offsets of the pipeline topics and the commits/lag of every group reading them."""
    from kafka import TopicPartition

    from streams import kafka_io

    ms = int(timeout * 1000)
    limits = {"bootstrap_timeout_ms": ms, "request_timeout_ms": ms}
    out: dict[str, Any] = {"bootstrap": s.kafka_bootstrap, "ok": False}
    admin = consumer = None
    try:
        admin = kafka_io.admin(s, **limits)
        topics = sorted(t for t in admin.list_topics() if is_pipeline_topic(t, s))
        described = admin.describe_topics(topics) if topics else []
        tps = [
            TopicPartition(d["name"], p["partition_index"])
            for d in described
            for p in d["partitions"]
        ]
        groups = sorted({g["group_id"] for g in admin.list_groups()} | set(extra_groups or []))
        raw = _group_offsets(admin, groups)
        commits = {
            g: {(tp.topic, tp.partition): om.offset for tp, om in offs.items()
                if om.offset is not None and om.offset >= 0 and tp.topic in topics}
            for g, offs in raw.items()
        }
        commits = {g: c for g, c in commits.items() if c or g in (extra_groups or [])}
        consumer = kafka_io.consumer(s, **limits)
        ends = consumer.end_offsets(tps) if tps else {}
        begins = consumer.beginning_offsets(tps) if tps else {}
        partitions = {(tp.topic, tp.partition): (begins[tp], ends[tp]) for tp in tps}
        out.update(summarize_kafka(partitions, commits))
        out["ok"] = True
    except Exception as exc:  # every failure becomes one readable line
        out["error"] = _kafka_error(exc, s)
    finally:
        for client in (consumer, admin):
            if client is not None:
                with contextlib.suppress(Exception):  # closing a half-open client
                    client.close()
    return out


def es_status(s: Settings, timeout: float) -> dict[str, Any]:
    """Documents behind the alias, near duplicates (``duplicate_of``) and counted copies."""
    from elasticsearch import NotFoundError

    from streams.index import es_client

    out: dict[str, Any] = {"url": s.display("es_url"), "alias": s.es_alias, "ok": False}
    es = es_client.make_client(s, request_timeout=timeout, max_retries=0, retry_on_timeout=False)
    try:
        out["documents"] = int(es.count(index=s.es_alias)["count"])
        out["near_duplicates"] = int(
            es.count(index=s.es_alias, query={"exists": {"field": "duplicate_of"}})["count"]
        )
        res = es.search(
            index=s.es_alias, size=0, track_total_hits=False,
            aggs={
                "copies": {"sum": {"field": "duplicate_count"}},
                "originals": {"filter": {"range": {"duplicate_count": {"gt": 0}}}},
            },
        )
        out["duplicate_copies"] = int(res["aggregations"]["copies"]["value"] or 0)
        out["documents_with_copies"] = int(res["aggregations"]["originals"]["doc_count"])
        out["ok"] = True
    except NotFoundError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        if (body.get("error") or {}).get("type") == "index_not_found_exception":
            out["error"] = (
                f"no index or alias {s.es_alias!r} at {s.display('es_url')}: run `newsstream setup`"
            )
        else:
            out["error"] = (
                f"{s.display('es_url')} answered 404: is NEWSSTREAM_ES_URL an Elasticsearch node?"
            )
    except Exception as exc:
        out["error"] = es_client.describe_error(exc, s)
    finally:
        es.close()
    return out


def _read_health(url: str, timeout: float) -> dict[str, Any]:
    """The JSON of ``/health``; a 503 carrying a JSON body is a stalled worker, not an error."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return dict(json.loads(r.read().decode("utf-8")))
    except urllib.error.HTTPError as exc:
        if exc.code != 503:
            raise
        try:
            return dict(json.loads(exc.read().decode("utf-8")))
        except ValueError:
            raise exc from None


def worker_status(s: Settings, timeout: float) -> dict[str, Any]:
    """The worker's /health page (and a few counters from /metrics); refused = not running."""
    host = "127.0.0.1" if s.web_host in ("0.0.0.0", "") else s.web_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    base = f"http://{host}:{s.web_port}"
    out: dict[str, Any] = {"url": base, "running": False}
    try:
        health = _read_health(f"{base}/health", timeout)
    except urllib.error.HTTPError as exc:
        out["state"] = f"answering with HTTP {exc.code} (an old worker without /health?)"
        out["running"] = True
        return out
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        refused = isinstance(reason, ConnectionRefusedError)
        out["state"] = "not running" if refused else f"not responding ({reason})"
        return out
    out["running"] = True
    out["state"] = "rebalancing" if health.get("rebalancing") else health.get("status", "ok")
    out["agents"] = health.get("agents", [])
    out["assigned"] = health.get("assigned", [])
    out["stalled"] = [p for p in health.get("partitions", []) if p.get("stalled")]
    if health.get("reason"):
        out["reason"] = health["reason"]
    try:
        with urllib.request.urlopen(f"{base}/metrics", timeout=timeout) as r:
            out["counters"] = parse_metrics(r.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        out["metrics_error"] = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        out["metrics_error"] = str(getattr(exc, "reason", exc))
    return out


def collect(s: Settings, timeout: float = DEFAULT_TIMEOUT,
            groups: list[str] | None = None) -> dict[str, Any]:
    """All three probes in parallel: the whole status takes about one timeout at worst."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        k = pool.submit(kafka_status, s, timeout, groups)
        e = pool.submit(es_status, s, timeout)
        w = pool.submit(worker_status, s, timeout)
        kafka, es, worker = k.result(), e.result(), w.result()
    dlq: int | None = None
    if kafka.get("ok"):
        dlq = kafka["topics"].get(s.topic_dlq, {}).get("messages", 0)
    return {"kafka": kafka, "elasticsearch": es, "worker": worker, "dead_lettered": dlq,
            "dlq_topic": s.topic_dlq}


# ----------------------------------------------------------------------------------- render
_TEXT_COLUMNS = {"TOPIC", "GROUP", "LAG BY GROUP"}


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if h in _TEXT_COLUMNS else f"{{:>{w}}}"
                    for h, w in zip(header, widths, strict=True))
    return [fmt.format(*header).rstrip(), *(fmt.format(*r).rstrip() for r in rows)]


def render(st: dict[str, Any]) -> str:
    """The human-readable screen."""
    k, es, w = st["kafka"], st["elasticsearch"], st["worker"]
    lines = [f"Kafka {k['bootstrap']}"]
    if not k.get("ok"):
        lines.append(f"  error: {k['error']}")
    elif not k["partitions"]:
        lines.append("  no pipeline topics yet (they appear with `newsstream setup` or the worker)")
    else:
        rows: list[list[str]] = []
        for r in k["partitions"]:
            if not r["groups"]:
                rows.append([r["topic"], str(r["partition"]), str(r["end"]), "-", "-", "-"])
            for g, v in r["groups"].items():
                c = "none" if v["committed"] is None else str(v["committed"])
                rows.append([r["topic"], str(r["partition"]), str(r["end"]), g, c, str(v["lag"])])
        lines += ["  " + x for x in _table(["TOPIC", "PART", "END", "GROUP", "COMMITTED", "LAG"],
                                           rows)]
        lines.append("")
        trows = [[t, str(v["partitions"]), str(v["messages"]),
                  ", ".join(f"{g} {n}" for g, n in v["groups"].items()) or "-"]
                 for t, v in k["topics"].items()]
        lines += ["  " + x for x in _table(["TOPIC", "PARTS", "MESSAGES", "LAG BY GROUP"], trows)]
    lines.append("")
    lines.append(f"Elasticsearch {es['url']} (alias {es['alias']})")
    if not es.get("ok"):
        lines.append(f"  error: {es['error']}")
    else:
        pairs = [
            ("documents", es["documents"]),
            ("near duplicates (with duplicate_of)", es["near_duplicates"]),
            ("copies counted (sum of duplicate_count)", es["duplicate_copies"]),
            ("originals with copies", es["documents_with_copies"]),
        ]
        width = max(len(label) for label, _ in pairs)
        lines += [f"  {label:<{width}}  {value}" for label, value in pairs]
    lines.append("")
    dlq = st["dead_lettered"]
    lines.append(f"Dead-lettered ({st['dlq_topic']}): {'unknown' if dlq is None else dlq}")
    lines.append("")
    if w["running"] and "agents" in w:
        lines.append(f"Worker {w['url']}: {w['state']}, {len(w['agents'])} agents, "
                     f"{len(w['assigned'])} partitions assigned")
        for p in w.get("stalled", []):
            lines.append(f"  STALLED {p['topic']}:{p['partition']}: lag {p['lag']}, committed offset"
                         f" {p['committed']} unchanged for {p['idle_seconds']:.0f}s")
        if w.get("counters"):
            lines.append("  " + ", ".join(f"{name} {int(v)}" for name, v in w["counters"].items()))
        elif w.get("metrics_error"):
            lines.append(f"  /metrics unavailable: {w['metrics_error']}")
    else:
        lines.append(f"Worker {w['url']}: {w['state']}")
    return "\n".join(lines)
