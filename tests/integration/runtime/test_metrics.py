"""The worker's /metrics on real Kafka: our counters and Faust's own, from one registry."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from prometheus_client.samples import Sample

from streams.ops.status import metric_samples
from tests.integration.conftest import Namespace, run_cli, wait_for

ARTICLES = [
    {
        "url": f"https://metrics.example.com/2026/12/story-{i}",
        "title": f"Harbour council story number {i}",
        "body": f"The harbour council of Lisbon met on Tuesday for the {i}th time this year.",
        "published_at": "2026-12-01T09:30:00Z",
        "source": "Example News",
    }
    for i in range(3)
]


def _page(web_port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def _by_partition(samples: list[Sample], name: str, topic: str) -> dict[str, float]:
    return {x.labels["partition"]: x.value for x in samples
            if x.name == name and x.labels.get("topic") == topic}


def test_faust_consumer_and_commit_metrics_beside_ours(
    namespace: Namespace, start_worker: Any, tmp_path: Path
) -> None:
    assert run_cli(namespace, "setup").returncode == 0
    worker = start_worker()
    s = namespace.settings()
    listing = tmp_path / "articles.jsonl"
    listing.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    produced = run_cli(namespace, "produce", str(listing))
    assert produced.returncode == 0, produced.stderr

    def committed_all() -> list[Sample] | None:
        samples = metric_samples(_page(worker.web_port))
        committed = _by_partition(samples, "faust_topic_partition_offset_commited", s.topic_articles)
        return samples if sum(committed.values()) == len(ARTICLES) else None

    samples = wait_for(committed_all, 240, "Faust's committed offsets of the input topic")
    assert isinstance(samples, list)
    committed = _by_partition(samples, "faust_topic_partition_offset_commited", s.topic_articles)
    ends = _by_partition(samples, "faust_topic_partition_end_offset", s.topic_articles)
    # consumer lag per partition: end offset - committed offset, nothing left to read
    assert {p: ends.get(p, 0.0) - c for p, c in committed.items()} == dict.fromkeys(committed, 0.0)

    values = {(x.name, tuple(sorted(x.labels.items()))): x.value for x in samples}
    assert values[("faust_messages_received_per_topic_total", (("topic", s.topic_articles),))] == 3
    assert values[("faust_consumer_commit_latency_count", ())] > 0
    assert values[("newsstream_articles_received_total", ())] == 3  # ours, same page

    # one registry: every metric family is described once
    text = _page(worker.web_port)
    families = Counter(line.split()[2] for line in text.splitlines() if line.startswith("# TYPE "))
    assert families and max(families.values()) == 1, families.most_common(3)
