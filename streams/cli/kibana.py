"""``newsstream kibana import``: load the saved objects of :mod:`streams.ops.kibana`."""

from __future__ import annotations

import argparse
import sys
import urllib.error
from pathlib import Path
from typing import Any

from streams.ops.kibana import CredentialsRefused, for_alias, import_objects, load_objects
from streams.settings import load, redact_url


def run_import(args: argparse.Namespace) -> int:
    s = load()
    url = args.url or s.kibana_url
    files = [Path(p) for p in args.file] if args.file else None
    objects = for_alias(load_objects(files), s.es_alias)
    shown = redact_url(url)
    try:
        answer = import_objects(s, objects, url)
    except CredentialsRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as exc:
        detail = (exc.read() if exc.fp else b"").decode(errors="replace")[:500] or exc.msg
        print(s.redact(f"error: Kibana at {shown} answered {exc.code}: {detail}"), file=sys.stderr)
        return 1
    except OSError as exc:
        print(s.redact(f"error: cannot reach Kibana at {shown} ({exc}): set KIBANA_URL"),
              file=sys.stderr)
        return 1
    errors = answer.get("errors") or []
    for err in errors:
        print(f"error: {err.get('type')} {err.get('id')}: {err.get('error')}", file=sys.stderr)
    print(f"imported {answer.get('successCount', 0)} of {len(objects)} saved objects into {shown}")
    return 0 if answer.get("success") and not errors else 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser("kibana", help="Kibana saved objects (data view, search, dashboard)")
    ksub = p.add_subparsers(dest="kibana_command", metavar="ACTION")
    ksub.required = True
    imp = ksub.add_parser(
        "import", help="import schemas/kibana/*.ndjson into KIBANA_URL (overwrites same ids)"
    )
    imp.add_argument("--url", help="Kibana URL (default: KIBANA_URL)")
    imp.add_argument("--file", action="append", help="ndjson file(s) instead of schemas/kibana/")
    imp.set_defaults(func=run_import)
