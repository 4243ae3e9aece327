"""``newsstream worker``: run every stage's agent in one Faust worker.

Also serves ``/metrics`` (Prometheus) and ``/health`` on the worker's web port (127.0.0.1 by
default: set NEWSSTREAM_WEB_HOST to expose it). ``/health`` answers 503 with the reason when an
assigned partition has lag and has not moved for NEWSSTREAM_STALL_SECONDS (``streams.runtime.liveness``),
so a supervisor can restart a worker that is up but silently consumes nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

AGENT_MODULES = [
    "streams.runtime.agents.validate",
    "streams.runtime.agents.dedup",
    "streams.runtime.agents.enrich",
    "streams.runtime.agents.index",
]


_pages_added = False
_faust_metrics: Any = None


def install_faust_sensors(app: Any) -> None:
    """Make Faust's own Prometheus monitor the app's monitor, its metrics in our one registry.

    Faust then counts what only it sees (messages in and out per topic, end and committed
    offset per partition, commit latency, rebalances, table operations) under the names of
    ``streams.metrics.FAUST_PREFIX``. Its metrics are created once per process: a second
    registration of the same names in the registry would raise.
    """
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    from streams.metrics import FAUST_PREFIX, REGISTRY

    global _faust_metrics
    if _faust_metrics is None:
        _faust_metrics = FaustMetrics.create(REGISTRY, FAUST_PREFIX)
    app.monitor = PrometheusMonitor(metrics=_faust_metrics)


def add_web_pages(app: Any, monitor: Any, **extra: Any) -> None:
    """``/metrics`` (Prometheus) and ``/health`` (assignment, rebalancing, liveness).

    ``/metrics`` shows our counters and Faust's own (:func:`install_faust_sensors`) from one
    registry. ``/health`` answers HTTP 503 with the reason when the monitor finds a stalled
    partition.
    """
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from streams.metrics import REGISTRY

    install_faust_sensors(app)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp wants the charset apart from the media type
        media_type = CONTENT_TYPE_LATEST.split("; charset=")[0]
        return web.bytes(generate_latest(REGISTRY), content_type=media_type)

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        status, body = monitor.health()
        body.update(
            rebalancing=bool(app.rebalancing),
            assigned=sorted(f"{tp.topic}:{tp.partition}" for tp in app.assignor.assigned_actives()),
            stall_seconds=monitor.stall_seconds,
            **extra,
        )
        return web.json(body, status=status)


def load_agents() -> Any:
    """Import the app and register every agent and web page; returns the app."""
    from streams.runtime import liveness
    from streams.runtime.app import app, settings

    for name in AGENT_MODULES:
        importlib.import_module(name)

    global _pages_added
    if not _pages_added:
        _pages_added = True
        monitor = liveness.install(app, settings.stall_seconds)
        add_web_pages(app, monitor, agents=sorted(a.name for a in app.agents.values()))

    return app
