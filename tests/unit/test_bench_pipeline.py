"""The pipeline benchmark's own parts: its articles, percentiles, namespaces, process sampling.

The benchmark's figures are only meaningful if every generated article really reaches NER (no
exact or near duplicate among them), the ceiling sees exactly the pipeline's texts, and two runs
cannot touch each other's topics or indices; these tests check those properties without services.
"""

from __future__ import annotations

import fnmatch
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import bench_pipeline as bp  # noqa: E402
import corpus  # noqa: E402

from streams import procs  # noqa: E402
from streams.enrich.enricher import article_fields  # noqa: E402


@pytest.fixture(scope="module")
def gen() -> corpus.Generator:
    return corpus.Generator(seed=3, words=450)


def test_generated_articles_are_valid_distinct_and_deterministic(gen: corpus.Generator) -> None:
    recs = gen.records(0, 200)
    articles = [corpus.parse(r) for r in recs]
    assert len({a.id for a in articles}) == 200
    assert corpus.Generator(seed=3, words=450).record(17) == recs[17]
    assert corpus.Generator(seed=4, words=450).record(17) != recs[17]
    words = [len(str(r["body"]).split()) for r in recs]
    assert min(words) >= 300 and sum(words) / len(words) >= 450


def test_no_generated_article_is_a_duplicate_and_the_check_can_fail(gen: corpus.Generator) -> None:
    recs = gen.records(0, 400)
    assert corpus.dedup_check(recs) == {"new": 400}
    copy = {**recs[5], "url": "https://elsewhere.example/copy"}
    near = {**recs[6], "url": "https://elsewhere.example/near", "title": "Another headline"}
    kinds = corpus.dedup_check([*recs[:10], copy, near])
    assert kinds["exact"] == 1 and kinds["near"] == 1


def test_ceiling_texts_are_the_enrich_stage_fields(gen: corpus.Generator) -> None:
    recs = gen.records(0, 20)
    expected = [t for r in recs for _, t, _ in article_fields(corpus.parse(r))]
    assert corpus.ner_texts(recs) == expected
    with_summary = sum(1 for r in recs if r.get("summary"))
    assert len(expected) == 2 * len(recs) + with_summary


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bp.percentile(values, 50) == 50
    assert bp.percentile(values, 99) == 99
    assert bp.percentile(values, 100) == 100
    assert bp.percentile([2.0], 99) == 2.0
    assert math.isnan(bp.percentile([], 50))


def test_namespaces_are_private(tmp_path: Path) -> None:
    tag = "bench-0101000000-42"
    before = os.environ.get("NEWSSTREAM_ES_ALIAS")
    a = bp.Namespace.create(f"{tag}-pipeline", tmp_path)
    b = bp.Namespace.create(f"{tag}-naive", tmp_path)
    for ns in (a, b):
        s = ns.settings()
        names = [*s.pipeline_topics(), s.es_alias, s.app_id]
        assert all(n.startswith(f"{tag}-") for n in names)
        assert s.es_alias == s.es_alias.lower()
    # each template pattern (<alias>-*) must not match the other namespace's first index
    assert not fnmatch.fnmatch(f"{b.env['NEWSSTREAM_ES_ALIAS']}-000001", f"{a.env['NEWSSTREAM_ES_ALIAS']}-*")
    assert not fnmatch.fnmatch(f"{a.env['NEWSSTREAM_ES_ALIAS']}-000001", f"{b.env['NEWSSTREAM_ES_ALIAS']}-*")
    assert os.environ.get("NEWSSTREAM_ES_ALIAS") == before  # settings() leaves the env as it was


def test_the_cpu_meter_matches_the_interpreters_own_count() -> None:
    meter = bp.CpuMeter({"me": lambda: procs.cpu_seconds(os.getpid())})
    # spin until this process used 0.5 s of CPU (however busy the machine is), then the
    # meter's share must match the share measured independently by the interpreter
    wall0, cpu0 = time.monotonic(), time.process_time()
    while time.process_time() - cpu0 < 0.5:
        sum(i * i for i in range(1000))
    share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    cores = meter.cores()
    assert cores["me"] == pytest.approx(share, rel=0.25, abs=0.05)
    assert cores["everything else"] >= 0.0


def test_the_rss_sampler_sees_a_child_and_names_it() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)",
         "baseline_naive"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        # sample a started interpreter, not one still being loaded by exec (a few hundred KiB)
        assert child.stdout is not None and child.stdout.readline().strip() == "up"
        sampler = bp.RssSampler(os.getpid(), interval=0.05).start()
        deadline = time.monotonic() + 20
        while child.pid not in sampler.names and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.stop()
        assert sampler.names[child.pid] == "naive loop"
        assert sampler.peak_by_pid[child.pid] > 2**20
        assert sampler.peak_total > sampler.peak_by_pid[child.pid]
    finally:
        child.kill()
        child.wait()


def test_the_rss_sampler_counts_a_process_outside_the_tree() -> None:
    # the NER server: not a child of the worker, but its memory is the NER's
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    tree = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = bp.RssSampler(tree.pid, interval=0.05, also={server.pid: "CoreNLP server"})
        sampler.start()
        deadline = time.monotonic() + 20
        while len(sampler.peak_by_pid) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.stop()
        assert sampler.names[server.pid] == "CoreNLP server"
        assert sampler.peak_total >= sampler.peak_by_pid[server.pid] + sampler.peak_by_pid[tree.pid]
        assert "CoreNLP server" in sampler.summary()
    finally:
        for proc in (server, tree):
            proc.kill()
            proc.wait()


def test_the_ner_server_is_counted_only_with_the_corenlp_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        monkeypatch.setattr(bp, "service_pid", lambda s, name, pid_file: server.pid)
        assert bp.ner_server(SimpleNamespace(corenlp=True)) == {server.pid: "CoreNLP server"}
        assert bp.ner_server(SimpleNamespace(corenlp=False)) == {}
    finally:
        server.kill()
        server.wait()
    monkeypatch.setattr(bp, "service_pid", lambda s, name, pid_file: None)
    assert bp.ner_server(SimpleNamespace(corenlp=True, corenlp_port=bp.free_port())) == {}


def test_a_listener_is_found_by_its_port_and_command_line() -> None:
    port = bp.free_port()
    code = (f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen();"
            " print('up', flush=True); time.sleep(30)")
    server = subprocess.Popen([sys.executable, "-c", code, "FakeNerServer"], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"up"
        assert bp.listener(port, "FakeNerServer") == server.pid
        assert bp.listener(port, bp.CORENLP_CLASS) is None  # another program on that port
    finally:
        server.kill()
        server.wait()


def test_the_pipeline_report_keeps_the_other_benchmarks_sections() -> None:
    old = "# Benchmarks\nold pipeline table\n\n<!-- bench-feeds:start -->\nfeeds\n<!-- bench-feeds:end -->\n"
    kept = bp.other_sections(old)
    assert kept == "\n<!-- bench-feeds:start -->\nfeeds\n<!-- bench-feeds:end -->\n"
    assert "old pipeline table" not in kept
    assert bp.other_sections("# Benchmarks\nno sections\n") == ""


def test_noise_marks_a_run_unreliable_and_a_quiet_run_not() -> None:
    quiet = bp.Results(ceiling_rounds=[30.0, 31.0], cpu_others=[0.05, 0.1])
    assert bp.noise_reasons(quiet) == []
    drift = bp.Results(ceiling_rounds=[30.0, 25.0], cpu_others=[0.05])
    assert "ceiling moved by 20%" in bp.noise_reasons(drift)[0]
    busy = bp.Results(ceiling_rounds=[30.0], cpu_others=[0.05, 0.9], pipeline_rate=29.0)
    assert "0.90 cores" in bp.noise_reasons(busy)[0]
    settings = bp.load()
    rows = dict(bp.table(busy, settings, _Args(), 10))
    assert rows["pipeline / ceiling (target >= 0.90)"] == "0.97 UNRELIABLE (noisy machine)"
    calm = bp.Results(ceiling_rounds=[30.0], cpu_others=[0.05], pipeline_rate=29.0)
    assert dict(bp.table(calm, settings, _Args(), 10))[
        "pipeline / ceiling (target >= 0.90)"] == "0.97 PASS"


def test_pipeline_rounds_apart_mark_a_run_unreliable() -> None:
    steady = bp.Results(ceiling_rounds=[30.0, 31.0], cpu_others=[0.05],
                        pipeline_rounds=[27.0, 28.0], pipeline_rate=27.5)
    assert bp.noise_reasons(steady) == []
    rows = dict(bp.table(steady, bp.load(), _Args(), 10))
    assert "rounds: 27.0, 28.0" in rows["pipeline throughput, 10 articles, first publish -> last searchable"]
    slowed = bp.Results(ceiling_rounds=[30.0, 31.0], cpu_others=[0.05],
                        pipeline_rounds=[28.0, 23.0], pipeline_rate=25.5)
    assert "pipeline's throughput moved by 22%" in bp.noise_reasons(slowed)[0]
    assert dict(bp.table(slowed, bp.load(), _Args(), 10))[
        "pipeline / ceiling (target >= 0.90)"].endswith("UNRELIABLE (noisy machine)")


class _Args:
    ceiling_batch = 64


def test_partition_share_counts_only_the_topic_asked() -> None:
    health = {"assigned": ["ns.articles:0", "ns.articles:3", "ns.articles.dlq:0",
                           "ns.valid:0", "ns-dedup-docs-changelog:0"]}
    assert bp.assigned_partitions(health, "ns.articles") == 2
    assert bp.assigned_partitions({}, "ns.articles") == 0


def test_cpu_budget_bounds_the_ratio_by_the_rest_of_the_pipelines_cpu() -> None:
    ceiling_cores = {"nlp.pipe (this process and its pool)": 0.06, "Kafka": 0.02,
                     "Elasticsearch": 0.0, bp.CORENLP_GROUP: 1.74, "everything else": 0.3,
                     "steal": 0.1}
    busy = {"NER processes": 0.11, "worker event loop": 0.21, "Kafka": 0.10,
            "Elasticsearch": 0.15, bp.CORENLP_GROUP: 1.26, "benchmark": 0.02}
    # another user's CPU is not the pipeline's: it changes neither figure
    for noise in (0.0, 0.5):
        rows = bp.cpu_budget(110.5, ceiling_cores, 79.1,
                             {**busy, "everything else": noise, "steal": 0.0}, 2, 0.90)
        assert len(rows) == 2
        per_article = 1000 * sum(busy.values()) / 79.1
        assert f"; {per_article:.1f} (CoreNLP server 15.9, " in rows[0][1]
        assert rows[0][1].startswith(f"{1000 * 1.82 / 110.5:.1f} (CoreNLP server 15.7")
        allowed = 2000 / per_article
        # the bound is above the measured ratio by the idle share of the cores
        assert allowed / 110.5 > 79.1 / 110.5
        assert rows[1][1].startswith(f"79.1 / 110.5 = {79.1 / 110.5:.2f}; {allowed:.1f} "
                                     f"articles/s = {allowed / 110.5:.2f} x")
        rest = per_article - 1000 * 1.26 / 79.1
        budget = 2000 / (0.9 * 110.5) - 1000 * 1.26 / 79.1
        assert rows[1][1].endswith(f"at most {budget:.1f} ms (measured {rest:.1f})")
    # a pipeline whose rest costs exactly the budget is allowed exactly the target
    server = 1000 * 1.26 / 79.1
    budget = 2000 / (0.9 * 110.5) - server
    rate = 50.0
    cores = {bp.CORENLP_GROUP: server * rate / 1000, "worker event loop": budget * rate / 1000}
    row = bp.cpu_budget(110.5, ceiling_cores, rate, cores, 2, 0.90)[1][1]
    assert "= 0.90 x ceiling" in row


def test_cpu_budget_without_a_server_counts_the_ner_processes_as_ner() -> None:
    rows = bp.cpu_budget(40.0, {"nlp.pipe (this process and its pool)": 1.9}, 30.0,
                         {"NER processes": 1.5, "worker event loop": 0.2, "Elasticsearch": 0.1},
                         2, 0.90)
    assert "everything but the NER processes" in rows[1][0]
    assert rows[1][1].endswith(f"(measured {1000 * 0.3 / 30.0:.1f})")


def test_corenlp_flag_variants_differ_from_the_service_command_only_in_their_flags(
        tmp_path: Path) -> None:
    import bench_corenlp_gc as gc_bench

    from streams import settings
    from streams.devservices.corenlp import GC_FLAGS, HTTP_FLAGS, CoreNlpService

    cmd = CoreNlpService(settings.load().replace(services_dir=str(tmp_path))).command(
        Path("/usr/bin/java"))
    for compare, variants in gc_bench.COMPARISONS.items():
        assert gc_bench.variant_command(cmd, *variants["project"]) == cmd, compare
    nagle = gc_bench.variant_command(cmd, *gc_bench.COMPARISONS["http"]["nagle-on"])
    assert not set(HTTP_FLAGS) & set(nagle) and set(GC_FLAGS) <= set(nagle)
    assert [p for p in cmd if p not in HTTP_FLAGS] == nagle
    g1 = gc_bench.variant_command(cmd, *gc_bench.COMPARISONS["gc"]["g1-defaults"])
    assert g1[:2] == [cmd[0], "-XX:+UseG1GC"] and "-XX:-G1UseAdaptiveIHOP" not in g1
    assert set(HTTP_FLAGS) <= set(g1)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to split")
def test_pin_cores_splits_the_cpus_and_gives_them_back(monkeypatch: pytest.MonkeyPatch) -> None:
    allowed = os.sched_getaffinity(0)
    server_cpu = max(allowed)
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                for _ in range(3)]
    server, kafka, es = (p.pid for p in sleepers)
    monkeypatch.setattr(bp, "ner_server", lambda _s: {server: "CoreNLP server"})
    monkeypatch.setattr(bp, "service_pid",
                        lambda _s, name, _f: {"kafka": kafka, "elasticsearch": es}[name])
    try:
        with pytest.raises(bp.BenchError, match="at least one"):
            bp.pin_cores(SimpleNamespace(), ",".join(map(str, allowed)))
        desc, unpin = bp.pin_cores(SimpleNamespace(), str(server_cpu))
        try:
            assert f"CoreNLP server on CPU {server_cpu}" in desc
            assert os.sched_getaffinity(server) == {server_cpu}
            for pid in (kafka, es, os.getpid()):
                assert os.sched_getaffinity(pid) == allowed - {server_cpu}
        finally:
            unpin()
        for pid in (server, kafka, es, os.getpid()):
            assert os.sched_getaffinity(pid) == allowed
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
