"""The aiohttp app behind ``newsstream web``: pages and their JSON API, read-only.

Every page is the rendering of one API answer (``/`` of ``/api/search``, ``/entity/{key}`` of
``/api/entity/{key}``), so what a person sees and what a script reads cannot drift apart.
Safe by default: bound to 127.0.0.1, only GET routes, limits on every parameter
(``streams.web.query``), Jinja autoescaping plus a strict Content-Security-Policy, and
Elasticsearch's own error text is logged, never shown.
"""

from __future__ import annotations

import json
import logging
import time
from importlib import resources
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from streams.index import es_client
from streams.settings import Settings
from streams.web import query
from streams.web.svg import histogram_svg

log = logging.getLogger("newsstream.web")

SETTINGS = web.AppKey("settings", Settings)
ES = web.AppKey("es", Any)
JINJA = web.AppKey("jinja", Environment)
FIELDS_CACHE = web.AppKey("fields_cache", dict)
FIELDS_TTL = 60.0  # seconds between two reads of the index mapping
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
UNAVAILABLE = "Search is unavailable right now: Elasticsearch did not answer. Try again shortly."
NO_INDEX = "No articles are indexed yet: run `newsstream setup` and publish some articles."


class Unavailable(Exception):
    """Elasticsearch failed; ``status`` and a message that is safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def templates() -> Environment:
    """The page templates, loaded from this package (they ship inside the wheel)."""
    env = Environment(
        loader=PackageLoader("streams.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.globals["histogram_svg"] = histogram_svg
    env.globals["FACET_TITLES"] = {
        "persons": "People", "organizations": "Organizations", "locations": "Places",
        "sources": "Sources", "languages": "Languages",
    }
    return env


def _body(resp: Any) -> dict[str, Any]:
    return dict(resp.body if hasattr(resp, "body") else resp)


async def _call(coro: Any) -> dict[str, Any]:
    """Await an Elasticsearch call; failures become :class:`Unavailable` (details only logged)."""
    from elasticsearch import NotFoundError

    try:
        return _body(await coro)
    except NotFoundError as exc:
        log.warning("index not found: %s", exc)
        raise Unavailable(503, NO_INDEX) from None
    except Exception:
        log.exception("Elasticsearch call failed")
        raise Unavailable(502, UNAVAILABLE) from None


async def facet_fields(app: web.Application) -> query.FacetFields:
    """The facet fields of the live index (cached for FIELDS_TTL seconds)."""
    cache = app[FIELDS_CACHE]
    if cache and time.monotonic() - cache["at"] < FIELDS_TTL:
        return cache["fields"]  # type: ignore[no-any-return]
    s = app[SETTINGS]
    mapping = await _call(app[ES].indices.get_mapping(index=s.es_alias))
    names: set[str] = set()
    for index in mapping.values():
        names.update(query.mapped_fields(index.get("mappings", {}).get("properties", {})))
    fields = query.facet_fields(names)
    cache.update(at=time.monotonic(), fields=fields)
    return fields


def _params(request: web.Request) -> dict[str, list[str]]:
    return {k: request.query.getall(k) for k in set(request.query.keys())}


def _subfields() -> dict[str, str]:
    from streams.index.schema import language_subfields

    return language_subfields()


async def run_search(app: web.Application, wq: query.WebQuery) -> dict[str, Any]:
    fields = await facet_fields(app)
    body = query.search_body(wq, _subfields(), fields)
    resp = await _call(app[ES].search(index=app[SETTINGS].es_alias, body=body))
    return query.shape_search(resp, wq, fields)


async def run_entity(app: web.Application, key: str) -> dict[str, Any]:
    if not key.strip() or len(key) > query.MAX_FILTER_CHARS:
        raise query.BadParams("an entity key is 1 to 200 characters")
    fields = await facet_fields(app)
    resp = await _call(app[ES].search(index=app[SETTINGS].es_alias,
                                      body=query.entity_body(key, fields)))
    return query.shape_entity(resp, key, fields)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _page(request: web.Request, name: str, status: int = 200, **ctx: Any) -> web.Response:
    env = request.app[JINJA]
    html = env.get_template(name).render(poll_seconds=request.app[SETTINGS].ui_poll_seconds,
                                         **ctx)
    return web.Response(text=html, content_type="text/html", status=status)


async def search_page(request: web.Request) -> web.Response:
    try:
        wq = query.parse_params(_params(request))
    except query.BadParams as exc:
        return _page(request, "search.html", 400, wq=query.WebQuery(), error=str(exc), data=None)
    try:
        data = await run_search(request.app, wq)
    except Unavailable as exc:
        return _page(request, "search.html", exc.status, wq=wq, error=exc.message, data=None)
    return _page(request, "search.html", wq=wq, data=data, error=None)


async def search_api(request: web.Request) -> web.Response:
    try:
        wq = query.parse_params(_params(request))
        return _json(await run_search(request.app, wq))
    except query.BadParams as exc:
        return _json({"error": str(exc)}, 400)
    except Unavailable as exc:
        return _json({"error": exc.message}, exc.status)


async def count_api(request: web.Request) -> web.Response:
    """How many matching articles were indexed after ``after`` (the page's live count)."""
    try:
        wq = query.parse_params(_params(request))
        after = request.query.get("after", "")
        if not query.RFC3339_OR_DATE.fullmatch(after):
            raise query.BadParams("after must be an RFC 3339 time")
        fields = await facet_fields(request.app)
        q = query.count_query(wq, _subfields(), fields, after)
        resp = await _call(request.app[ES].count(index=request.app[SETTINGS].es_alias, query=q))
        return _json({"after": after, "new": int(resp["count"])})
    except query.BadParams as exc:
        return _json({"error": str(exc)}, 400)
    except Unavailable as exc:
        return _json({"error": exc.message}, exc.status)


async def entity_page(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    try:
        data = await run_entity(request.app, key)
    except query.BadParams as exc:
        return _page(request, "entity.html", 400, key=key, error=str(exc), data=None)
    except Unavailable as exc:
        return _page(request, "entity.html", exc.status, key=key, error=exc.message, data=None)
    status = 200 if data["articles"] else 404
    return _page(request, "entity.html", status, key=key, data=data, error=None,
                 wq=query.WebQuery())


async def entity_api(request: web.Request) -> web.Response:
    try:
        data = await run_entity(request.app, request.match_info["key"])
    except query.BadParams as exc:
        return _json({"error": str(exc)}, 400)
    except Unavailable as exc:
        return _json({"error": exc.message}, exc.status)
    return _json(data, 200 if data["articles"] else 404)


async def openapi(request: web.Request) -> web.Response:
    spec = resources.files("streams.web").joinpath("openapi.json").read_text(encoding="utf-8")
    return web.Response(text=spec, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def static(request: web.Request) -> web.Response:
    """Files of ``streams/web/static`` (read through importlib.resources, wheel-safe)."""
    name = request.match_info["name"]
    types = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
    ext = name[name.rfind("."):] if "." in name else ""
    if "/" in name or name.startswith(".") or ext not in types:
        raise web.HTTPNotFound()
    res = resources.files("streams.web").joinpath("static", name)
    if not res.is_file():
        raise web.HTTPNotFound()
    return web.Response(body=res.read_bytes(), content_type=types[ext],
                        headers={"Cache-Control": "max-age=300"})


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
    resp.headers.update(SECURITY_HEADERS)
    if isinstance(resp, web.HTTPException) and resp.status >= 400:
        raise resp
    return resp


def make_app(s: Settings, es: Any = None) -> web.Application:
    """The app; ``es`` an AsyncElasticsearch (default: one from the settings)."""
    app = web.Application(middlewares=[security_headers])
    app[SETTINGS] = s
    app[ES] = es if es is not None else es_client.make_async_client(s)
    app[JINJA] = templates()
    app[FIELDS_CACHE] = {}

    async def close_es(app: web.Application) -> None:
        await app[ES].close()

    app.on_cleanup.append(close_es)
    app.router.add_get("/", search_page)
    app.router.add_get("/entity/{key:.+}", entity_page)
    app.router.add_get("/api/search", search_api)
    app.router.add_get("/api/count", count_api)
    app.router.add_get("/api/entity/{key:.+}", entity_api)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/health", health)
    app.router.add_get("/static/{name}", static)
    return app
