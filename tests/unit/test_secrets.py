"""Secrets never print, credentials never cross plain http or a redirect, Kafka security checked."""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from streams import logs, settings
from streams.cli import main as cli
from streams.index import es_client
from streams.ops import kibana

SECRETS = {
    "NEWSSTREAM_ES_URL": "https://elastic:Url-Pa55word@es.example:9200",
    "NEWSSTREAM_ES_PASSWORD": "Basic-Pa55word",
    "NEWSSTREAM_ES_API_KEY": "QXBpS2V5LXNlY3JldA==",
    "NEWSSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "NEWSSTREAM_KAFKA_SASL_USERNAME": "svc",
    "NEWSSTREAM_KAFKA_SASL_PASSWORD": "Sasl-Pa55word",
    "KIBANA_URL": "https://kib:Kibana-Pa55word@kibana.example",
}
SECRET_VALUES = ["Url-Pa55word", "Basic-Pa55word", "QXBpS2V5LXNlY3JldA==", "Sasl-Pa55word",
                 "Kibana-Pa55word"]


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> settings.Settings:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    return settings.load()


def _no_secret(text: str) -> None:
    leaked = [v for v in SECRET_VALUES if v in text]
    assert not leaked, (leaked, text)


def test_repr_of_settings_holds_no_secret(secret_env: settings.Settings) -> None:
    text = repr(secret_env)
    _no_secret(text)
    assert "https://elastic:***@es.example:9200" in text
    assert "es_password" not in text and "kafka_sasl_password" not in text


def test_config_command_redacts(secret_env: settings.Settings, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    _no_secret(out)
    assert "NEWSSTREAM_ES_URL=https://elastic:***@es.example:9200" in out
    assert "NEWSSTREAM_ES_API_KEY=***" in out


def test_redact_url_shapes() -> None:
    assert settings.redact_url("see http://u:p@h:1/x and kafka://t@h") == "see http://u:***@h:1/x and kafka://***@h"
    assert settings.redact_url("http://host:9200/path?q=a@b") == "http://host:9200/path?q=a@b"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_elasticsearch_errors_and_status_redact(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    port = _closed_port()
    monkeypatch.setenv("NEWSSTREAM_ES_URL", f"http://elastic:Url-Pa55word@127.0.0.1:{port}")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_BOOTSTRAP", f"127.0.0.1:{_closed_port()}")
    s = settings.load()
    client = es_client.make_client(s, max_retries=0, request_timeout=2)
    with pytest.raises(Exception) as info:
        client.info()
    message = es_client.describe_error(info.value, s)
    assert f"http://elastic:***@127.0.0.1:{port}" in message
    _no_secret(message)
    assert cli.main(["status", "--json", "--timeout", "1"]) == 1
    captured = capsys.readouterr()
    _no_secret(captured.out + captured.err)
    assert "elastic:***@" in captured.out


def test_log_lines_are_redacted(secret_env: settings.Settings, capsys: pytest.CaptureFixture) -> None:
    logs.setup("INFO", "json", redact=secret_env.redact)
    try:
        logging.getLogger("t").warning(
            "connecting to %s", secret_env.es_url, extra={"key": settings.reveal(secret_env.es_api_key)}
        )
        try:
            raise RuntimeError(f"failed with {settings.reveal(secret_env.kafka_sasl_password)}")
        except RuntimeError:
            logging.getLogger("t").exception("boom")
    finally:
        logs.setup("INFO", "text")
    err = capsys.readouterr().err
    _no_secret(err)
    assert "elastic:***@es.example" in err


def test_log_messages_stay_redacted_when_a_framework_replaces_the_handlers(
    secret_env: settings.Settings, capsys: pytest.CaptureFixture
) -> None:
    logs.setup("INFO", "text", redact=secret_env.redact)
    root = logging.getLogger()
    saved = root.handlers[:]
    plain = logging.StreamHandler()  # what Faust's worker (mode) installs instead of ours
    plain.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.handlers[:] = [plain]
    try:
        logging.getLogger("faust.x").warning("bootstrap %s with %s", secret_env.es_url,
                                             settings.reveal(secret_env.kafka_sasl_password))
    finally:
        root.handlers[:] = saved
    err = capsys.readouterr().err
    _no_secret(err)
    assert "elastic:***@es.example" in err


# --- Kafka security settings --------------------------------------------------------------


def test_lower_case_protocol_is_normalized_for_both_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SASL_PASSWORD", "pw")
    monkeypatch.delenv("NEWSSTREAM_KAFKA_SASL_MECHANISM", raising=False)
    s = settings.load()
    assert s.kafka_security_protocol == "SASL_SSL"
    assert s.kafka_sasl_mechanism == settings.DEFAULT_SASL_MECHANISM
    opts = s.kafka_client_options()
    assert opts["security_protocol"] == "SASL_SSL" and opts["sasl_mechanism"] == "PLAIN"
    assert s.kafka_ssl_context() is not None
    from streams.runtime.app import broker_credentials

    creds = broker_credentials(s)
    assert creds is not None and creds.mechanism.name == "PLAIN"
    assert creds.ssl_context is not None


def test_scram_mechanism_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SASL_MECHANISM", "scram_sha_512")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SASL_PASSWORD", "pw")
    assert settings.load().kafka_client_options()["sasl_mechanism"] == "SCRAM-SHA-512"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL": "TLS"}, "is not one of"),
        ({"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs NEWSSTREAM_KAFKA_SASL_USERNAME"),
        ({"NEWSSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "NEWSSTREAM_KAFKA_SASL_USERNAME": "u",
          "NEWSSTREAM_KAFKA_SASL_PASSWORD": "p", "NEWSSTREAM_KAFKA_SASL_MECHANISM": "GSSAPI"},
         "NEWSSTREAM_KAFKA_SASL_MECHANISM='GSSAPI' is not one of"),
        ({"NEWSSTREAM_KAFKA_SASL_MECHANISM": "PLAIN"}, "uses no SASL"),
    ],
)
def test_bad_kafka_security_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, env: dict[str, str], needle: str
) -> None:
    for key in ("NEWSSTREAM_KAFKA_SASL_USERNAME", "NEWSSTREAM_KAFKA_SASL_PASSWORD",
                "NEWSSTREAM_KAFKA_SASL_MECHANISM"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(settings.ConfigError, match=needle):
        settings.load()
    assert cli.main(["config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]


def test_api_key_over_http_warns(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("NEWSSTREAM_ES_URL", "http://es.example:9200")
    monkeypatch.setenv("NEWSSTREAM_ES_API_KEY", "QXBpS2V5LXNlY3JldA==")
    s = settings.load()
    assert any("plain http://" in w for w in s.warnings())
    assert cli.main(["config"]) == 0
    err = capsys.readouterr().err
    assert "plain http://" in err
    _no_secret(err)
    monkeypatch.setenv("NEWSSTREAM_ES_URL", "https://es.example:9200")
    assert settings.load().warnings() == []


# --- kibana import: a local HTTP server stands in for Kibana and records what it received ---


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]
    redirect_to: str | None = None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to + self.path)
            self.end_headers()
            return
        body = b'{"success": true, "successCount": 1, "errors": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _server(redirect_to: str | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("H", (_Recorder,), {"seen": seen, "redirect_to": redirect_to})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    finally:
        srv.shutdown()
        srv.server_close()


def _kibana_settings(monkeypatch: pytest.MonkeyPatch, allow: bool) -> settings.Settings:
    monkeypatch.setenv("NEWSSTREAM_ES_API_KEY", "QXBpS2V5LXNlY3JldA==")
    monkeypatch.setenv("NEWSSTREAM_KIBANA_ALLOW_HTTP_CREDENTIALS", "true" if allow else "false")
    return settings.load()


def test_kibana_credentials_never_go_over_plain_http_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _kibana_settings(monkeypatch, allow=False)
    with _server() as (url, seen):
        with pytest.raises(kibana.CredentialsRefused, match="over plain http"):
            kibana.import_objects(s, [{"id": "x"}], url)
        assert seen == []


def test_kibana_credentials_over_http_with_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _kibana_settings(monkeypatch, allow=True)
    with _server() as (url, seen):
        assert kibana.import_objects(s, [{"id": "x"}], url)["success"] is True
    assert seen and seen[0]["auth"] == "ApiKey QXBpS2V5LXNlY3JldA=="


def test_kibana_import_never_follows_a_redirect(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _kibana_settings(monkeypatch, allow=True)
    with _server() as (elsewhere, other_seen), _server(redirect_to=elsewhere) as (url, seen):
        monkeypatch.setenv("KIBANA_URL", url)
        assert cli.main(["kibana", "import"]) == 1
    assert len(seen) == 1 and other_seen == []
    err = capsys.readouterr().err
    assert "redirected to" in err and "not followed" in err
    _no_secret(err)
