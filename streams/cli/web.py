"""``newsstream web``: serve the search page of :mod:`streams.web.server`."""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from streams.index import es_client
from streams.settings import load
from streams.web.server import make_app


def run(args: argparse.Namespace) -> int:
    s = load()
    es_client.quiet_client_logs()
    host = args.host or s.ui_host
    port = args.port or s.ui_port
    print(f"newsstream web: http://{host}:{port}/ (Elasticsearch alias {s.es_alias})", flush=True)
    web.run_app(make_app(s), host=host, port=port, print=None, access_log=None)
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "web", help="the search page and its JSON API (read-only; 127.0.0.1 by default)",
        description="Serve the search page, entity pages and /api/* over the indexed articles.",
    )
    p.add_argument("--host", help="bind address (default NEWSSTREAM_UI_HOST)")
    p.add_argument("--port", type=int, help="port (default NEWSSTREAM_UI_PORT)")
    p.set_defaults(func=run)
