"""``newsstream kibana import`` against a local HTTP server that checks the request the way
Kibana's saved-objects import API does: POST to /api/saved_objects/_import, a ``kbn-xsrf``
header, ``overwrite=true``, a multipart/form-data body with one ``file`` part holding ndjson.
(No Kibana can run here; this server answers like one for a valid request.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from streams import settings
from streams.cli import main as cli
from streams.ops import kibana


class KibanaLike(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/api/saved_objects/_import":
            return self._answer(404, {"statusCode": 404, "error": "Not Found"})
        if "kbn-xsrf" not in {k.lower() for k in self.headers}:
            return self._answer(400, {"statusCode": 400, "error": "Bad Request",
                                      "message": "Request must contain a kbn-xsrf header."})
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        ctype = self.headers["Content-Type"]
        if not ctype.startswith("multipart/form-data; boundary="):
            return self._answer(415, {"statusCode": 415, "error": "Unsupported Media Type"})
        msg = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
        parts = list(msg.iter_parts())
        files = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1 or not str(files[0].get_filename()).endswith(".ndjson"):
            return self._answer(400, {"statusCode": 400, "error": "Bad Request",
                                      "message": "[request body.file]: expected an ndjson file"})
        lines = [json.loads(line) for line in files[0].get_payload(decode=True).splitlines()
                 if line.strip()]
        overwrite = parse_qs(url.query).get("overwrite") == ["true"]
        KibanaLike.received.append({"objects": lines, "overwrite": overwrite})
        errors = [] if overwrite or len(KibanaLike.received) == 1 else [
            {"id": o["id"], "type": o["type"], "error": {"type": "conflict"}} for o in lines]
        self._answer(200, {"success": not errors, "successCount": len(lines) - len(errors),
                           "errors": errors})


@pytest.fixture()
def kibana_url() -> Iterator[str]:
    KibanaLike.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), KibanaLike)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_sends_what_kibana_accepts(kibana_url: str) -> None:
    objects = kibana.load_objects()
    answer = kibana.import_objects(settings.load(), objects, kibana_url)
    assert answer == {"success": True, "successCount": len(objects), "errors": []}
    got = KibanaLike.received[0]
    assert got["overwrite"] is True
    assert [(o["type"], o["id"]) for o in got["objects"]] == [
        (o["type"], o["id"]) for o in objects]


def test_the_command_imports_twice_without_conflicts(
    kibana_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSSTREAM_ES_ALIAS", "t9-articles")
    for _ in range(2):
        assert cli.main(["kibana", "import", "--url", kibana_url]) == 0
    out = capsys.readouterr().out
    n = len(kibana.load_objects())
    assert out.count(f"imported {n} of {n} saved objects into {kibana_url}") == 2
    view = next(o for o in KibanaLike.received[1]["objects"] if o["type"] == "index-pattern")
    assert view["attributes"]["title"] == "t9-articles*"


def test_a_refused_request_is_reported(kibana_url: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["kibana", "import", "--url", kibana_url + "/wrong"]) == 1
    assert "answered 404" in capsys.readouterr().err
