"""``newsstream search``: the search query of :mod:`streams.index.search` from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from streams import terminal
from streams.index import es_client
from streams.index.search import MAX_LIMIT, SORTS, BadDate, SearchRequest, format_hits, parse_date, search
from streams.settings import load


def run(args: argparse.Namespace) -> int:
    s = load()
    es_client.quiet_client_logs()
    try:
        since = parse_date(args.since) if args.since else None
        until = parse_date(args.until, end=True) if args.until else None
    except BadDate as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if since and until and since >= until:
        print("error: --since must be before --until", file=sys.stderr)
        return 2
    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"error: --limit must be between 1 and {MAX_LIMIT}", file=sys.stderr)
        return 2
    req = SearchRequest(
        query=args.query, lang=args.lang, entities=args.entity or [], source=args.source,
        since=since, until=until, limit=args.limit, include_duplicates=args.all, sort=args.sort,
    )
    from elasticsearch import NotFoundError

    es = es_client.make_client(s)
    try:
        resp = search(req, es, s.es_alias)
    except NotFoundError:
        print(f"error: no index {s.es_alias!r} yet: run `newsstream setup` first", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: {es_client.describe_error(exc, s)}", file=sys.stderr)
        return 1
    if args.json:
        hits = resp["hits"]
        print(terminal.json_safe(json.dumps({"total": hits["total"]["value"], "hits": hits["hits"]},
                                            ensure_ascii=False, indent=2)))
        return 0
    print(format_hits(resp, req, color=sys.stdout.isatty()))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "search",
        help="search the indexed articles (language-aware, highlighted)",
        description=(
            "Full-text search over title, summary and body with stemming in the article's "
            "language. Shows unique stories; --all includes near duplicates."
        ),
    )
    p.add_argument("query", metavar="QUERY", help="words to look for ('' lists the newest)")
    p.add_argument("--lang", metavar="xx", help="only articles in this language (ISO 639-1)")
    p.add_argument(
        "--entity", metavar="NAME", action="append",
        help="only articles mentioning this person/organization/location (repeatable: all)",
    )
    p.add_argument("--source", metavar="S", help="only articles from this source")
    p.add_argument("--since", metavar="DATE", help="published at or after (YYYY-MM-DD or RFC 3339)")
    p.add_argument(
        "--until", metavar="DATE", help="published before (a bare date includes that day)"
    )
    p.add_argument("--limit", metavar="N", type=int, default=10, help="results to show (10)")
    p.add_argument("--all", action="store_true", help="include near duplicates")
    p.add_argument("--sort", choices=SORTS, default="relevance",
                   help="relevance (default) or date (newest first)")
    p.add_argument("--json", action="store_true", help="print the raw hits as JSON")
    p.set_defaults(func=run)
