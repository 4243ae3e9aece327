"""``newsstream kibana import``: load the data view, saved search and dashboard into Kibana.

The saved objects live in ``schemas/kibana/*.ndjson`` (Kibana's 8.x export format: a data
view, two saved searches, Lens panels and a dashboard that make the search page's views).
The import overwrites objects with the same ids, so running it again updates rather than
duplicates. When the alias is not the default ``articles`` (NEWSSTREAM_ES_ALIAS), the data
view's pattern follows it.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from streams import resources
from streams.settings import Settings, redact_url, reveal

DEFAULT_PATTERN = "articles*"


def packaged_files() -> list[Traversable]:
    """The ndjson files of schemas/kibana/, shipped in the package streams.schemas."""
    folder = resources.resource(resources.SCHEMAS, "kibana")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".ndjson")), key=lambda f: f.name)


def load_objects(paths: Sequence[Path | Traversable] | None = None) -> list[dict[str, Any]]:
    """Every saved object of the ndjson files, in file order."""
    objects: list[dict[str, Any]] = []
    for path in paths or packaged_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                objects.append(json.loads(line))
    return objects


def for_alias(objects: list[dict[str, Any]], alias: str) -> list[dict[str, Any]]:
    """The objects with the data view pointed at ``<alias>*`` (a copy; input untouched)."""
    out = json.loads(json.dumps(objects))
    for obj in out:
        if obj["type"] == "index-pattern" and obj["attributes"]["title"] == DEFAULT_PATTERN:
            obj["attributes"]["title"] = f"{alias}*"
    return out


def _multipart(filename: str, payload: bytes) -> tuple[bytes, str]:
    boundary = f"----newsstream{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), boundary


def _auth_header(s: Settings) -> str | None:
    """Kibana accepts the same credentials as Elasticsearch (API key or basic auth)."""
    if s.es_api_key:
        return f"ApiKey {s.es_api_key.get_secret_value()}"
    if s.es_username:
        password = reveal(s.es_password) or ""
        token = base64.b64encode(f"{s.es_username}:{password}".encode()).decode()
        return f"Basic {token}"
    return None


class CredentialsRefused(ValueError):
    """The credentials would travel unencrypted: the user must opt in or use https."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib would repeat the Authorization header to any host."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirected to {redact_url(newurl)}: not followed (set KIBANA_URL "
            "to the final address)", headers, fp,
        )


def import_objects(s: Settings, objects: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """POST the objects to Kibana's saved-objects import API; returns Kibana's answer.

    The Elasticsearch credentials go only to an https:// Kibana, or to http:// when
    NEWSSTREAM_KIBANA_ALLOW_HTTP_CREDENTIALS says so; redirects are never followed.
    """
    auth = _auth_header(s)
    if auth and not url.lower().startswith("https://") and not s.kibana_allow_http_credentials:
        raise CredentialsRefused(
            f"not sending the Elasticsearch credentials to {redact_url(url)} over plain http: "
            "use an https:// KIBANA_URL or set NEWSSTREAM_KIBANA_ALLOW_HTTP_CREDENTIALS=true"
        )
    payload = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode()
    body, boundary = _multipart("newsstream.ndjson", payload)
    req = urllib.request.Request(
        url.rstrip("/") + "/api/saved_objects/_import?overwrite=true",
        data=body,
        method="POST",
        headers={"kbn-xsrf": "true", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    if auth:
        req.add_header("Authorization", auth)
    ctx = None
    if url.startswith("https"):
        import ssl

        ctx = ssl.create_default_context(cafile=s.es_ca_certs)
        if not s.es_verify_certs:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=ctx))
    with opener.open(req, timeout=60) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
        return answer
