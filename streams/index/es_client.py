"""The one place that turns settings into an Elasticsearch client.

Why one factory: every command (setup, search, the index sink) must honour the same URL,
credentials, TLS and retry policy; a second hand-built client would silently ignore an API key
or a CA bundle that the user configured once in the environment.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from streams.settings import Settings, reveal

DEFAULT_TIMEOUT = 30.0


def client_options(s: Settings, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments shared by the sync and async clients (credentials never logged)."""
    opts: dict[str, Any] = {
        "hosts": [u.strip() for u in s.es_url.split(",") if u.strip()],
        "retry_on_timeout": True,
        "max_retries": 3,
        "request_timeout": DEFAULT_TIMEOUT,
    }
    if s.es_api_key:
        opts["api_key"] = s.es_api_key.get_secret_value()
    elif s.es_username:
        opts["basic_auth"] = (s.es_username, reveal(s.es_password) or "")
    if any(h.startswith("https") for h in opts["hosts"]):
        opts["verify_certs"] = s.es_verify_certs
        if s.es_ca_certs:
            opts["ca_certs"] = s.es_ca_certs
        if not s.es_verify_certs:
            opts["ssl_show_warn"] = False
    opts.update(overrides)
    return opts


def make_client(s: Settings, **overrides: Any) -> Elasticsearch:
    """A synchronous client (CLI commands, tests)."""
    return Elasticsearch(**client_options(s, **overrides))


def make_async_client(s: Settings, **overrides: Any) -> AsyncElasticsearch:
    """An asyncio client (the Faust index agent); needs aiohttp, which Faust already brings."""
    return AsyncElasticsearch(**client_options(s, **overrides))


def quiet_client_logs(*names: str) -> None:
    """Silence the clients' own retry warnings (with stack traces) in interactive commands.

    The command reports the final failure in one line itself; at DEBUG everything stays.
    """
    if logging.getLogger().level <= logging.DEBUG:
        return
    prefixes = ("elastic_transport", *names)
    known = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in prefixes]
    for name in {*prefixes, "elastic_transport.transport", "elastic_transport.node_pool", *known}:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def describe_error(exc: BaseException, s: Settings) -> str:
    """One actionable line for a failed Elasticsearch call (no stack trace for users)."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elasticsearch import ApiError, AuthenticationException

    if isinstance(exc, TransportConnectionError):
        return (
            f"cannot reach Elasticsearch at {s.display('es_url')}: start it "
            "(`newsstream services up`) "
            "or set NEWSSTREAM_ES_URL"
        )
    if isinstance(exc, AuthenticationException):
        return (
            "Elasticsearch refused the credentials: "
            "check NEWSSTREAM_ES_USERNAME/PASSWORD or NEWSSTREAM_ES_API_KEY"
        )
    if isinstance(exc, ApiError):
        reason = exc.body.get("error", exc.body) if isinstance(exc.body, dict) else exc.body
        if isinstance(reason, dict):
            reason = reason.get("reason") or reason.get("type") or reason
        return s.redact(f"Elasticsearch error {exc.meta.status}: {' '.join(str(reason).split())}")
    return s.redact(f"Elasticsearch call failed: {exc}")
