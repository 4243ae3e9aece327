"""Index stage: ``articles.enriched`` -> Elasticsearch, offsets committed after acknowledgement.

The enrich agent writes its documents to Elasticsearch itself with the same sink and the same
rules (:mod:`streams.runtime.agents.enrich`); this agent finishes what earlier versions sent to
``articles.enriched`` (and anything a user publishes there), so an upgrade loses nothing.

How "commit after acknowledgement" holds in Faust 0.15.3 (read in faust/streams.py and
faust/transport/consumer.py):

* ``stream.noack()`` disables Faust's automatic ack; :class:`streams.runtime.batching.Batches`
  groups the events into bulks without acking any of them, so a worker stopped during an
  Elasticsearch outage commits nothing ES has not seen.
* An offset becomes committable only through ``Consumer.ack``, which we reach via
  ``stream.ack(event)`` once :class:`streams.index.sink.BulkSink` releases it: ES acknowledged that
  document (or it went to the DLQ) *and* every earlier message of its partition. Faust then
  commits the highest contiguous acked offset per partition (``Consumer._new_offset``), after
  flushing the producer, so DLQ envelopes are durable before the offsets behind them.
* The sink releases strictly in order per partition because Faust's own gap check lets one
  missing offset right after the committed one through.
* ``write`` returns only when the whole batch is done, and the batcher's queue holds at most
  one bulk's worth of events, so while ES is down nothing more is read: Faust's stream buffer
  (``stream_buffer_maxsize``) fills and the fetcher pauses. Memory stays bounded.
* Latency: with no bulk in flight a document leaves at once; the documents that come in while
  a bulk is in flight leave together when it returns (at most ``NEWSSTREAM_BULK_MAX_DOCS``). A
  small bulk while the enrich stage is not behind (a lull, not a pause inside a backlog) asks
  Elasticsearch to refresh with it, so a document is searchable when its bulk returns instead
  of after the next ``refresh_interval``; after such a bulk the next one waits up to
  ``NEWSSTREAM_BULK_MAX_SECONDS`` to fill, so forced refreshes (each a new segment to merge)
  stay few per second at any input rate. Under a backlog the interval paces segments
  (:func:`streams.index.sink.refresh_option`).
* concurrency=1: with more, Faust can commit past a message another actor still holds
  (faust-streaming#606).

* A dead letter counts as done only once Kafka confirmed its delivery (the sink awaits
  :func:`_dead_letter`, which awaits the delivery future), so its offset is never committed
  ahead of the envelope. If the DLQ cannot be written, the sink retries with backoff and
  reads nothing more: the same backpressure as an Elasticsearch outage.
* Rebalance: Faust seeks a partition back to its committed offset when it is assigned again,
  so offsets the sink already released can come back. :class:`streams.index.sink.BulkSink` treats
  an offset at or below one it has seen as the start of a new delivery of that partition and
  writes it again (idempotent upserts) instead of failing; revoked partitions are also
  dropped from its bookkeeping before its next write (``on_partitions_revoked``).

Known edge: an outage longer than the consumer's ``broker_max_poll_interval`` makes the
consumer leave its group; the batch in hand is still written (idempotently) when ES returns,
and the partition's new owner re-reads from the last commit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streams.index.sink import BulkSink, PendingDoc
from streams.runtime.agents.common import es_sink, sink_item
from streams.runtime.app import app, enriched_topic, settings
from streams.runtime.batching import Batches, Gate

log = logging.getLogger(__name__)


@app.agent(enriched_topic, concurrency=1)
async def index(stream: Any) -> None:
    async with es_sink() as sink:
        await _run(sink, stream.noack())


async def _run(sink: BulkSink, manual: Any) -> None:
    """Bulk what arrives, acking each message once the sink released it (in partition order)."""

    async def ack(done: list[PendingDoc]) -> None:
        for doc in done:
            await manual.ack(doc.token)

    loop = asyncio.get_running_loop()
    # With no bulk in flight a document leaves at once; documents that come in while one is
    # in flight, or within NEWSSTREAM_BULK_MAX_SECONDS of a bulk that refreshed the index,
    # leave together.
    gate = Gate(1)

    async def write(events: list[Any]) -> None:
        gate.enter()
        refreshed = False
        try:
            await sink.write([sink_item(e, e.value) for e in events], on_release=ack)
            refreshed = sink.refreshed
        finally:
            if refreshed:  # the next small bulk waits a little: refreshes stay few per second
                loop.call_later(settings.bulk_max_seconds, gate.leave)
            else:
                gate.leave()

    await Batches(settings.bulk_max_docs, settings.bulk_max_seconds, gate, write).run(
        manual.events())
