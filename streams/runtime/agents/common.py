"""What every agent shares: dead letters, delivery-confirmed sends, ordered acks, the ES sink.

The accounting rule: an input event is acked (its offset may be committed) only once every
record it produced (outputs or its dead letter) has a delivery result from Kafka. Faust's
``Topic.send`` returns a future for that result; a failed delivery is only logged by Faust's
callback, and ``producer.flush()`` before a commit does not raise, so without awaiting the
future an event could be committed although its output never reached Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, NoReturn

from streams import dlq, metrics
from streams.index import es_client
from streams.index.sink import BulkSink, PendingDoc, pending_doc
from streams.model import encode_internal
from streams.runtime.app import app, dlq_topic, settings
from streams.runtime.batching import Backlog, put_watching

log = logging.getLogger("streams.dlq")

#: Events handled but not yet acked (their sends still awaiting delivery) per agent. Sends
#: are pipelined up to this many events, so waiting for delivery costs no throughput.
ACK_WINDOW = 256
#: Set by the enrich stage, read by the Elasticsearch sinks of the same worker: while enrich
#: takes full batches a small bulk is a pause in a backlog, not a lull.
ENRICH_BACKLOG = Backlog()
#: Seconds the worker gets to stop cleanly after a fatal error before the process exits.
FATAL_GRACE_SECONDS = 30.0

#: An envelope keeps this much of the error text (the original is capped by the dlq module),
#: so an envelope always fits the producer's request limit.
MAX_ERROR_CHARS = 10_000

Delivery = Awaitable[Any]


class SendRefused(ValueError):
    """A record this worker must not send (too large): dead-letter the message instead."""


def record_limit() -> int:
    """Largest value one record may have: the producer's request limit minus key/header room."""
    return int(app.conf.producer_max_request_size) - 64 * 1024


def internal_value(value: Any) -> bytes:
    """Serialize an internal message, or :class:`SendRefused` when it would exceed the limit."""
    data = encode_internal(value)
    limit = record_limit()
    if len(data) > limit:
        raise SendRefused(f"serialized record is {len(data)} bytes, over the {limit}-byte limit")
    return data


async def send(topic: Any, key: bytes, value: Any) -> Delivery:
    """Send one record (a dict is serialized and size-checked here); returns its delivery future.

    Raises :class:`SendRefused` (too large) or the producer's error: the caller dead-letters.
    """
    data = value if isinstance(value, bytes) else internal_value(value)
    return await topic.send(key=key, value=data)


def failure_reason(exc: BaseException) -> str:
    """The DLQ reason of a message whose output could not be sent."""
    if isinstance(exc, SendRefused):
        return "too_large"
    if isinstance(exc, UnicodeError | TypeError | ValueError):
        return "serialize_error"
    return "send_error"


def fatal(what: str, exc: BaseException) -> NoReturn:
    """Stop the worker: an event that can neither go on nor be dead-lettered must not be acked.

    Skipping it would lose it; retrying forever would hide the outage. The worker crashes (its
    uncommitted events are redelivered to the next owner), and if it has not stopped within
    :data:`FATAL_GRACE_SECONDS` the process exits with status 70.
    """
    log.critical("%s: stopping the worker so the message is not lost (%s: %s)",
                 what, type(exc).__name__, exc)
    loop = asyncio.get_event_loop()
    loop.call_later(FATAL_GRACE_SECONDS, os._exit, 70)
    loop.create_task(app.crash(exc))  # noqa: RUF006 (the loop keeps it until the app stops)
    raise exc


def source_of(message: Any) -> dict[str, Any]:
    """Where a Faust message came from, for its DLQ envelope."""
    if message is None:
        return {}
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}


def raw_of(event: Any) -> bytes:
    """The message bytes as they were on the topic (what replay sends back)."""
    value = getattr(getattr(event, "message", None), "value", None)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return dlq.encode_envelope(event.value) if event is not None else b""


async def send_dead_letter(
    raw: bytes | None, stage: str, reason: str, error: str, message: Any = None,
    source: dict[str, Any] | None = None,
) -> Delivery:
    """Send one envelope to the DLQ and count it; returns its delivery future (may raise).

    ``message`` is the Faust message the stage read (its topic is where a replay goes back
    to); ``source`` is where the article entered the pipeline when a later stage carried it
    along, else the message's own position.
    """
    here = source_of(message)
    src = source if isinstance(source, dict) else here
    key = getattr(message, "key", None)
    envelope = dlq.make_envelope(
        raw,
        stage=stage,
        reason=reason,
        error=error[:MAX_ERROR_CHARS],
        topic=src.get("topic"),
        partition=src.get("partition"),
        offset=src.get("offset"),
        input_topic=here.get("topic"),
        key=bytes(key) if isinstance(key, bytes | bytearray) else None,
        max_original=settings.max_message_bytes,
    )
    fut = await dlq_topic.send(key=dlq.envelope_key(envelope), value=dlq.encode_envelope(envelope))
    metrics.DEAD_LETTERS.labels(stage, reason).inc()
    log.warning(
        "dead-lettered",
        extra={"stage": stage, "reason": reason, "error": error[:300], **src},
    )
    return fut


async def dead_letter(
    raw: bytes | None, stage: str, reason: str, error: str, message: Any = None,
    source: dict[str, Any] | None = None,
) -> Delivery:
    """:func:`send_dead_letter`, stopping the worker if the DLQ refuses the envelope."""
    try:
        return await send_dead_letter(raw, stage, reason, error, message, source)
    except Exception as exc:
        fatal(f"dead-letter send failed ({stage}/{reason})", exc)


async def dead_letter_event(event: Any, stage: str, reason: str, exc: BaseException | str,
                            source: dict[str, Any] | None = None) -> Delivery:
    """Dead-letter one event with its original bytes."""
    error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    if source is None:
        value = getattr(event, "value", None)
        carried = value.get("source_offset") if isinstance(value, dict) else None
        source = carried if isinstance(carried, dict) else None
    return await dead_letter(raw_of(event), stage, reason, error, event.message, source)


async def confirm(event: Any, stage: str, deliveries: Sequence[Delivery]) -> None:
    """Wait for an event's deliveries; if one failed, dead-letter the event and wait for that.

    Returns only when the event is accounted for in Kafka; the DLQ's own failure stops the worker.
    """
    try:
        for fut in deliveries:
            await fut
        return
    except Exception as exc:
        log.warning("delivery failed, dead-lettering the message", exc_info=True)
        dead = await dead_letter_event(event, stage, "send_error", exc)
    try:
        await dead
    except Exception as exc:
        fatal(f"dead-letter delivery failed ({stage}/send_error)", exc)


Handler = Callable[[Any], Awaitable[Sequence[Delivery]]]


async def handle_then_ack(stream: Any, stage: str, handle: Handler,
                          window: int = ACK_WINDOW) -> None:
    """Handle events in order; ack each, in order, once its sends have a delivery result.

    ``handle`` returns the delivery futures of what it sent (outputs or a dead letter) and must
    account for the event itself; an exception escaping it is a bug, so the event is
    dead-lettered as ``internal_error``. Acks run in a second task fed by a bounded queue, so
    the handler keeps sending while earlier deliveries are in flight, and an idle stream still
    gets its last events acked. Faust's automatic ack is off (``noack``): it sits in a
    ``finally`` and would also fire for an event whose handler was cancelled halfway.
    """
    manual = stream.noack()
    queue: asyncio.Queue[tuple[Any, Sequence[Delivery]]] = asyncio.Queue(maxsize=window)

    async def acker() -> None:
        while True:
            event, deliveries = await queue.get()
            await confirm(event, stage, deliveries)
            await manual.ack(event)

    task = asyncio.ensure_future(acker())
    try:
        async for event in manual.events():
            try:
                deliveries = await handle(event)
            except Exception as exc:
                log.exception("%s: handler failed", stage)
                deliveries = [await dead_letter_event(event, stage, "internal_error", exc)]
            await put_watching(queue, (event, deliveries), task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sink_dead_letter(doc: PendingDoc, reason: str, error: str) -> None:
    """Dead-letter one sink item and wait until Kafka has the envelope (raises if it failed).

    The envelope carries the bytes the stage read, so a replay sends them back to that topic.
    """
    value = doc.token.value if doc.token is not None else None
    carried = value.get("source_offset") if isinstance(value, dict) else None
    fut = await send_dead_letter(doc.raw, "index", reason, error, doc.token.message,
                                 carried if isinstance(carried, dict) else None)
    await fut


def sink_item(event: Any, value: Any) -> PendingDoc:
    """One sink item for an event (a document or counts message), acked through the event."""
    msg = event.message
    return pending_doc(msg.tp, msg.offset, value, raw_of(event), token=event)


_sinks: list[BulkSink] = []


async def forget_revoked(sender: Any, revoked: Any = (), **kwargs: Any) -> None:
    """Faust seeks an assigned partition to its committed offset: drop the sinks' bookkeeping."""
    for sink in _sinks:
        sink.forget(revoked)


app.on_partitions_revoked.connect(forget_revoked)


@contextlib.asynccontextmanager
async def es_sink() -> AsyncIterator[BulkSink]:
    """A bulk sink on its own Elasticsearch client, told about revoked partitions while open."""
    client = es_client.make_async_client(settings)
    sink = BulkSink.from_settings(client, settings, sink_dead_letter,
                                  upstream_behind=lambda: ENRICH_BACKLOG.behind)
    _sinks.append(sink)
    try:
        yield sink
    finally:
        _sinks.remove(sink)
        await client.close()
