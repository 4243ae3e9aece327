"""The pure parts of ``newsstream status``: lag arithmetic, topic selection, parsing, rendering."""

from __future__ import annotations

from streams.ops import status
from streams.settings import load


def test_lag_counts_from_the_commit_or_the_log_start() -> None:
    assert status.lag(end=10, committed=4) == 6
    assert status.lag(end=10, committed=None, begin=3) == 7  # never committed: all retained
    assert status.lag(end=10, committed=1, begin=5) == 5  # commit older than retention
    assert status.lag(end=10, committed=12) == 0


def test_pipeline_topics_only() -> None:
    s = load().replace(topic_articles="in", topic_dlq="in.dlq", topic_prefix="ns",
                            app_id="app")
    assert status.is_pipeline_topic("in", s) and status.is_pipeline_topic("in.dlq", s)
    assert status.is_pipeline_topic("ns.valid", s)
    assert status.is_pipeline_topic("app-dedup-docs-changelog", s)
    assert not status.is_pipeline_topic("__consumer_offsets", s)
    assert not status.is_pipeline_topic("nsx.valid", s)


def test_summary_per_partition_topic_and_group() -> None:
    parts = {("a", 0): (0, 10), ("a", 1): (2, 5), ("b", 0): (0, 7)}
    commits = {"g": {("a", 0): 10, ("b", 0): 3}, "h": {("a", 1): 4}}
    out = status.summarize_kafka(parts, commits)
    rows = {(r["topic"], r["partition"]): r for r in out["partitions"]}
    assert rows[("a", 0)]["groups"] == {"g": {"committed": 10, "lag": 0},
                                        "h": {"committed": None, "lag": 10}}
    assert rows[("a", 1)]["groups"]["g"] == {"committed": None, "lag": 3}
    assert rows[("b", 0)]["groups"] == {"g": {"committed": 3, "lag": 4}}  # h never read b
    assert out["topics"]["a"] == {"partitions": 2, "end": 15, "messages": 13,
                                  "groups": {"g": 3, "h": 11}}
    assert out["group_lag"] == {"g": 7, "h": 11}


def test_parse_metrics_sums_labelled_samples() -> None:
    text = "\n".join([
        "# HELP newsstream_dead_letters_total Messages sent to the dead-letter topic",
        'newsstream_dead_letters_total{reason="schema",stage="validate"} 3.0',
        'newsstream_dead_letters_total{reason="invalid_json",stage="validate"} 2.0',
        "newsstream_articles_received_total 41.0",
        "newsstream_articles_received_created 1.7e9",
        "garbage line",
    ])
    assert status.parse_metrics(text) == {"dead-lettered": 5.0, "received": 41.0}


def test_render_shows_errors_and_numbers() -> None:
    st = {
        "kafka": {"bootstrap": "k:9092", "ok": True,
                  **status.summarize_kafka({("articles", 0): (0, 4)}, {"app": {("articles", 0): 1}})},
        "elasticsearch": {"url": "http://e:9200", "alias": "articles", "ok": False,
                          "error": "cannot reach Elasticsearch"},
        "worker": {"url": "http://127.0.0.1:6066", "running": False, "state": "not running"},
        "dead_lettered": 2, "dlq_topic": "articles.dlq",
    }
    text = status.render(st)
    assert "articles" in text and "app" in text and "cannot reach Elasticsearch" in text
    assert "Dead-lettered (articles.dlq): 2" in text and "not running" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("articles ") and "app" in x)
    assert line.split()[-1] == "3"  # lag 4 - 1


def test_render_names_each_stalled_partition() -> None:
    st = {
        "kafka": {"bootstrap": "k:9092", "ok": False, "error": "x"},
        "elasticsearch": {"url": "http://e:9200", "alias": "articles", "ok": False, "error": "y"},
        "worker": {"url": "http://127.0.0.1:6066", "running": True, "state": "stalled",
                   "agents": ["a"], "assigned": ["articles:0", "articles:1"],
                   "stalled": [{"topic": "articles", "partition": 1, "lag": 7, "committed": 3,
                                "idle_seconds": 312.4, "stalled": True}]},
        "dead_lettered": None, "dlq_topic": "articles.dlq",
    }
    text = status.render(st)
    assert "Worker http://127.0.0.1:6066: stalled, 1 agents, 2 partitions assigned" in text
    assert "STALLED articles:1: lag 7, committed offset 3 unchanged for 312s" in text


def test_parse_metrics_reads_the_workers_own_page_in_its_order() -> None:
    """The real exposition of the worker's registry, as ``generate_latest`` writes it."""
    from prometheus_client import CollectorRegistry, Counter, generate_latest

    reg = CollectorRegistry()
    Counter("newsstream_articles_received_total", "in", registry=reg).inc(7)
    letters = Counter("newsstream_dead_letters_total", "dlq", ["stage", "reason"], registry=reg)
    letters.labels("validate", "schema").inc(2)
    letters.labels("index", "mapping").inc(1)
    Counter("newsstream_documents_indexed_total", "out", registry=reg).inc(4)
    got = status.parse_metrics(generate_latest(reg).decode())
    assert list(got.items()) == [("received", 7.0), ("dead-lettered", 3.0), ("indexed", 4.0)]


def test_metric_samples_keep_labels_and_skip_only_the_bad_line() -> None:
    text = 'a_total{x="1"} 2\nnot a sample\nb_total 3\n'
    got = [(x.name, x.labels, x.value) for x in status.metric_samples(text)]
    assert got == [("a_total", {"x": "1"}, 2.0), ("b_total", {}, 3.0)]
