"""docker-compose.yml cannot run here (no Docker engine): check it parses and pins ES 8.x."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_services() -> None:
    services = _compose()["services"]
    assert {"kafka", "elasticsearch", "kibana", "worker", "feeds"} <= set(services)
    assert services["worker"]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()


def test_elasticsearch_and_kibana_are_8x_like_the_client_pin() -> None:
    services = _compose()["services"]
    es_tag = services["elasticsearch"]["image"].rsplit(":", 1)[1]
    kibana_tag = services["kibana"]["image"].rsplit(":", 1)[1]
    assert es_tag.startswith("8."), es_tag
    assert kibana_tag == es_tag
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("elasticsearch"))
    assert re.search(r"<\s*9", pin), pin
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "false"


def test_compose_config_with_docker_cli_when_it_can() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI: the YAML structure tests above stand in")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("docker CLI without the compose plugin")
    proc = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_service_has_a_healthcheck_and_the_worker_uses_its_health_page() -> None:
    services = _compose()["services"]
    missing = [name for name, svc in services.items() if "healthcheck" not in svc]
    assert not missing, missing
    assert "/health" in " ".join(services["worker"]["healthcheck"]["test"])


def test_dockerfile_pins_the_base_by_digest_and_installs_the_tested_wheel() -> None:
    text = (ROOT / "Dockerfile").read_text()
    images = re.findall(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M)
    assert images and re.fullmatch(r"python:3\.11[\w.-]*@sha256:[0-9a-f]{64}", images[0]), images
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms), froms
    assert "pip wheel" in text and "--no-build-isolation" in text and "newsstream-*.whl" in text
    assert "--require-hashes -r /tmp/build-lock.txt" in text  # the build backend is locked too
    assert "--require-hashes -r /tmp/requirements/lock.txt" in text
    assert "HEALTHCHECK" in text and "/health" in text


def test_the_feeds_healthcheck_reads_the_store_the_poller_writes(tmp_path: Path) -> None:
    """Run the compose healthcheck against a real store: healthy once a feed was polled."""
    import sys
    import time

    from streams.ingest.feeds.state import Store

    feeds = _compose()["services"]["feeds"]
    path = feeds["environment"]["NEWSSTREAM_FEEDS_STATE"]
    cmd = feeds["healthcheck"]["test"]
    assert cmd[:3] == ["CMD", "python", "-c"] and path in cmd[3]
    store_path = tmp_path / "feeds.sqlite"
    store = Store(store_path)
    store.upsert("https://feeds.example/rss")

    def healthy() -> bool:
        code = cmd[3].replace(path, str(store_path))
        return subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0

    assert not healthy()  # never polled yet
    store.db.execute("UPDATE feeds SET last_poll=?", (time.time() - 60,))
    store.db.commit()
    assert healthy()
    store.db.execute("UPDATE feeds SET last_poll=?", (time.time() - 7200,))
    store.db.commit()
    assert not healthy()  # polled long ago: stuck
    store.close()


def test_the_worker_uses_the_corenlp_service_built_like_the_local_one() -> None:
    """The compose CoreNLP server: wired to the worker, healthy before it, and fetching the same
    artifacts and preloading the same properties as ``newsstream services up`` would."""
    from streams import settings
    from streams.devservices.base import _pom
    from streams.devservices.corenlp import GC_FLAGS, HTTP_FLAGS, CoreNlpService
    from streams.enrich.corenlp import request_properties, served_languages

    compose = _compose()
    services, env = compose["services"], compose["x-newsstream-env"]
    corenlp = services["corenlp"]
    context = ROOT / corenlp["build"]
    dockerfile = (context / "Dockerfile").read_text()
    port = re.search(r"StanfordCoreNLPServer -port (\d+)", dockerfile)
    assert port, dockerfile
    assert env["NEWSSTREAM_CORENLP"] == "true"
    assert env["NEWSSTREAM_CORENLP_URL"] == f"http://corenlp:{port.group(1)}"
    for name in ("worker", "feeds"):
        assert services[name]["environment"]["NEWSSTREAM_CORENLP_URL"] == env["NEWSSTREAM_CORENLP_URL"]
    assert services["worker"]["depends_on"]["corenlp"] == {"condition": "service_healthy"}
    check = " ".join(corenlp["healthcheck"]["test"])
    assert f"/dev/tcp/127.0.0.1/{port.group(1)}" in check and "GET /ready" in check
    assert "ports" not in corenlp  # only the compose network reaches it

    s = settings.load()
    assert (context / "pom.xml").read_text() == _pom(CoreNlpService(s).coordinates(), ())
    props = dict(
        line.split("=", 1)
        for line in (context / "server.properties").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert props == request_properties(served_languages(s)[0])
    assert "-serverProperties /corenlp/server.properties" in dockerfile
    assert "-preload tokenize,ssplit,ner" in dockerfile
    assert " ".join(GC_FLAGS) in dockerfile  # the same collector as the local service
    assert all(flag in dockerfile for flag in HTTP_FLAGS)  # and the same socket option
    assert f"CORENLP_HEAP={s.corenlp_heap}" in dockerfile.replace("ENV ", "")
    assert corenlp["environment"]["CORENLP_HEAP"] == s.corenlp_heap
