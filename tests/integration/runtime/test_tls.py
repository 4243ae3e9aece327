"""The pipeline end to end over TLS: a second local broker with an SSL listener and a test CA.

Why a broker of its own: the shared one (started by the test command) speaks PLAINTEXT and must
not be restarted. This one gets free ports and a services dir under the test's tmp dir; a CA
and a broker certificate for 127.0.0.1/localhost are made here with ``openssl``. Every client
connects through the TLS port only: ``newsstream setup`` (topics), ``newsstream produce`` and
the worker (aiokafka through Faust), with ``NEWSSTREAM_KAFKA_SECURITY_PROTOCOL=ssl`` written in
lower case on purpose (it is normalized at startup). The articles must end up in
Elasticsearch. The worker's web server must not serve Faust's /table page.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import (
    ROOT,
    Namespace,
    free_port,
    launched_workers,
    new_namespace,
    run_cli,
    wait_for,
)


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def make_ca_and_broker_cert(d: Path) -> tuple[Path, Path]:
    """(CA certificate, broker PEM with key + chain), valid for 127.0.0.1 and localhost."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=newsstream test CA",
        "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "broker.key", "-out", "broker.csr", cwd=d,
    )  # fmt: skip
    (d / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )
    _openssl(
        "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "broker.crt", cwd=d,
    )  # fmt: skip
    pem = d / "broker.pem"
    pem.write_text((d / "broker.key").read_text() + (d / "broker.crt").read_text())
    pem.chmod(0o600)
    return d / "ca.pem", pem


def _services(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "services", *args, "--only", "kafka"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture()
def tls_namespace(services: object, tmp_path: Path) -> Iterator[Namespace]:
    """A private broker with a TLS listener, and a namespace whose clients use only that."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test CA (apt-get install openssl)")
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, keystore = make_ca_and_broker_cert(certs)
    ssl_port = free_port()
    broker = {
        "NEWSSTREAM_KAFKA_PORT": str(free_port()),
        "NEWSSTREAM_KAFKA_CONTROLLER_PORT": str(free_port()),
        "NEWSSTREAM_KAFKA_SSL_PORT": str(ssl_port),
        "NEWSSTREAM_KAFKA_SSL_KEYSTORE": str(keystore),
        "NEWSSTREAM_SERVICES_DIR": str(tmp_path / "services"),
    }
    up = _services(broker, "up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield new_namespace(
            "tls", tmp_path,
            NEWSSTREAM_KAFKA_BOOTSTRAP=f"127.0.0.1:{ssl_port}",
            NEWSSTREAM_KAFKA_SECURITY_PROTOCOL="ssl",
            NEWSSTREAM_KAFKA_SSL_CAFILE=str(ca),
            NEWSSTREAM_NLP_PROCESSES="1",
            NEWSSTREAM_LANGID_ACCURACY="low",
        )  # fmt: skip
    finally:
        down = _services(broker, "down")
        assert down.returncode == 0, down.stdout + down.stderr


def _articles(n: int) -> list[dict[str, object]]:
    """``n`` English sample articles with distinct urls and bodies (each becomes a document)."""
    seen: set[str] = set()
    out = []
    for line in (ROOT / "examples" / "articles.jsonl").read_text().splitlines():
        art = json.loads(line)
        key = art["body"][:200]
        if art.get("language") == "en" and key not in seen and art["url"] not in seen:
            seen |= {key, art["url"]}
            out.append(art)
        if len(out) == n:
            break
    return out


def test_pipeline_end_to_end_over_tls(tls_namespace: Namespace) -> None:
    ns = tls_namespace
    s = ns.settings()
    assert s.kafka_security_protocol == "SSL"
    host, port = s.kafka_bootstrap.split(":")
    # the port speaks TLS with the test CA's certificate for 127.0.0.1
    ctx = ssl.create_default_context(cafile=s.kafka_ssl_cafile)
    with socket.create_connection((host, int(port)), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() in ("TLSv1.3", "TLSv1.2")
        assert dict(x[0] for x in tls.getpeercert()["subject"])["commonName"] == "localhost"
    # ... and refuses a client that does not trust that CA
    with socket.create_connection((host, int(port)), timeout=10) as raw, pytest.raises(ssl.SSLError):
        ssl.create_default_context().wrap_socket(raw, server_hostname=host)

    setup = run_cli(ns, "setup")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    arts = _articles(3)
    src = ns.tmp / "articles.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in arts))
    produced = run_cli(ns, "produce", str(src))
    assert produced.returncode == 0, produced.stdout + produced.stderr

    with launched_workers(ns) as start:
        worker = start("tls")
        from streams.index.es_client import make_client

        es = make_client(s)

        def indexed() -> int:
            es.indices.refresh(index=s.es_alias)
            return int(es.count(index=s.es_alias)["count"]) == len(arts)

        wait_for(indexed, 120, f"{len(arts)} documents indexed through the TLS broker")
        urls = {h["_source"]["url"] for h in es.search(index=s.es_alias, size=10)["hits"]["hits"]}
        assert len(urls) == len(arts)
        base = f"http://127.0.0.1:{worker.web_port}"
        assert urllib.request.urlopen(f"{base}/health", timeout=5).status == 200
        for page in ("/table/", "/router/"):
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(base + page, timeout=5)
            assert info.value.code == 404, page
