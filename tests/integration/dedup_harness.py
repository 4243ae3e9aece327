"""A Faust worker running only the validate and dedup agents (the dedup integration tests).

Why not ``newsstream worker``: the dedup tests need neither the NER process pool nor
Elasticsearch. Run as ``python -m tests.integration.dedup_harness worker`` with the namespace's
environment; ``/health`` answers with the partitions this worker owns.

``python -m tests.integration.dedup_harness passthrough worker`` runs instead a bare agent that
copies the decide topic to ``articles.unique`` with no table and no logic: the benchmark's
yardstick for what Faust itself costs per message on this machine.
"""

from __future__ import annotations

import sys
from typing import Any


def _passthrough(app: Any) -> None:
    from streams.app import settings, unique_topic

    topic = app.topic(settings.topic("dedup"), key_type=bytes, key_serializer="raw",
                      value_serializer="json", partitions=1, internal=True)

    @app.agent(topic, concurrency=1)
    async def passthrough(stream: Any) -> None:
        async for event in stream.events():
            await unique_topic.send(key=event.key, value={"article": event.value["article"]})


def main() -> None:
    import faust

    from streams.app import app

    if len(sys.argv) > 1 and sys.argv[1] == "passthrough":
        del sys.argv[1]
        _passthrough(app)
    else:
        import streams.agents.dedup  # importing registers the agents and tables
        import streams.agents.validate

        assert streams.agents.dedup.dedup_decide and streams.agents.validate.validate

    from streams import liveness
    from streams.app import settings
    from streams.worker import add_health_page

    add_health_page(app, liveness.install(app, settings.stall_seconds))

    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
