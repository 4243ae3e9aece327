"""A Faust worker running only the validate and dedup agents (the dedup integration tests).

Why not ``newsstream worker``: the dedup tests need neither the NER process pool nor
Elasticsearch. Run as ``python -m tests.integration.dedup_harness`` with the namespace's
environment; ``/health`` answers with the partitions this worker owns.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    import faust

    import streams.agents.dedup  # importing registers the agents and tables
    import streams.agents.validate
    from streams.app import app

    assert streams.agents.dedup.dedup_decide and streams.agents.validate.validate

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json(
            {
                "rebalancing": bool(app.rebalancing),
                "assigned": sorted(
                    f"{tp.topic}:{tp.partition}" for tp in app.assignor.assigned_actives()
                ),
            }
        )

    worker = faust.Worker(app, loglevel="info", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
