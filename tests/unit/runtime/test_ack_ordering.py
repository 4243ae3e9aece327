"""Acks wait for delivery: no event is acked before every record it produced is in Kafka.

A fake stream and fake topics stand in for Faust at the unit level (the real-Kafka check is
the worker tests); the futures are resolved by hand, so the order is deterministic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from streams import dlq
from streams.model import encode_internal
from streams.runtime.agents import common
from streams.runtime.agents import enrich as enrich_agent


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes = b"k"
    value: bytes = b"{}"


@dataclass
class Ev:
    message: Msg
    value: Any = None


class FakeStream:
    """``noack().events()`` yields the given events, then waits until released."""

    def __init__(self, events: list[Ev]) -> None:
        self.events_ = events
        self.acked: list[int] = []
        self.done = asyncio.Event()

    def noack(self) -> FakeStream:
        return self

    async def events(self) -> AsyncIterator[Ev]:
        for e in self.events_:
            yield e
        await self.done.wait()

    async def ack(self, event: Ev) -> None:
        self.acked.append(event.message.offset)


class FakeTopic:
    """Records sends; each returns a delivery future the test resolves."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.sent.append((key, value))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _events(n: int) -> list[Ev]:
    return [Ev(Msg("in", 0, i), {"n": i}) for i in range(n)]


def test_no_ack_before_its_delivery_and_acks_stay_in_order() -> None:
    async def go() -> None:
        out = FakeTopic()
        stream = FakeStream(_events(4))

        async def handle(event: Ev) -> list[Any]:
            return [await out.send(b"k", b"v")]

        task = asyncio.ensure_future(common.handle_then_ack(stream, "test", handle, window=8))
        await _settle()
        assert len(out.futures) == 4  # sends are pipelined: no waiting per event
        assert stream.acked == []
        out.futures[1].set_result("meta")  # a later one first: still nothing may be acked
        await _settle()
        assert stream.acked == []
        out.futures[0].set_result("meta")
        await _settle()
        assert stream.acked == [0, 1]
        out.futures[3].set_result("meta")
        out.futures[2].set_result("meta")
        await _settle()
        assert stream.acked == [0, 1, 2, 3]
        stream.done.set()
        await task

    asyncio.run(go())


def test_a_failed_delivery_is_dead_lettered_and_acked_only_after_the_dlq_has_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def go() -> None:
        out, dead = FakeTopic(), FakeTopic()
        monkeypatch.setattr(common, "dlq_topic", dead)
        stream = FakeStream(_events(2))

        async def handle(event: Ev) -> list[Any]:
            return [await out.send(b"k", b"v")]

        task = asyncio.ensure_future(common.handle_then_ack(stream, "test", handle, window=8))
        await _settle()
        out.futures[0].set_exception(RuntimeError("broker said no"))
        out.futures[1].set_result("meta")
        await _settle()
        assert len(dead.sent) == 1 and stream.acked == []  # the envelope is not delivered yet
        env = dlq.decode_envelope(dead.sent[0][1])
        assert (env["stage"], env["reason"], env["offset"]) == ("test", "send_error", 0)
        assert env["input_topic"] == "in"
        dead.futures[0].set_result("meta")
        await _settle()
        assert stream.acked == [0, 1]
        stream.done.set()
        await task

    asyncio.run(go())


def test_a_handler_bug_dead_letters_the_event_and_the_stream_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def go() -> None:
        dead = FakeTopic()
        monkeypatch.setattr(common, "dlq_topic", dead)
        stream = FakeStream(_events(2))

        async def handle(event: Ev) -> list[Any]:
            if event.message.offset == 0:
                raise KeyError("bug")
            return []

        task = asyncio.ensure_future(common.handle_then_ack(stream, "test", handle))
        await _settle()
        assert stream.acked == []
        dead.futures[0].set_result("meta")
        await _settle()
        assert stream.acked == [0, 1]
        assert dlq.decode_envelope(dead.sent[0][1])["reason"] == "internal_error"
        stream.done.set()
        await task

    asyncio.run(go())


def test_a_failing_dead_letter_send_stops_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refusing(FakeTopic):
        async def send(self, key: bytes, value: bytes) -> asyncio.Future[Any]:
            raise ConnectionError("no broker")

    crashed: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashed.append(exc)

    async def go() -> None:
        monkeypatch.setattr(common, "dlq_topic", Refusing())
        monkeypatch.setattr(common.app, "crash", crash)
        monkeypatch.setattr(common, "FATAL_GRACE_SECONDS", 3600.0)
        stream = FakeStream(_events(2))

        async def handle(event: Ev) -> list[Any]:
            raise ValueError("cannot handle")

        with pytest.raises(ConnectionError):
            await common.handle_then_ack(stream, "test", handle)
        await _settle()
        assert stream.acked == []
        assert len(crashed) == 1

    asyncio.run(go())


def test_enrich_batch_is_acked_only_after_its_documents_are_delivered() -> None:
    async def go() -> None:
        out = FakeTopic()
        stream = FakeStream([])
        events = _events(3)
        batch = enrich_agent.Batch(pool=None, events=events, parsed=[], started=0.0,  # type: ignore[arg-type]
                                   deliveries={id(e): [await out.send(b"k", b"v")]
                                               for e in events})
        task = asyncio.ensure_future(enrich_agent.ack_batch(batch, stream))
        await _settle()
        assert stream.acked == []
        for fut in out.futures:
            fut.set_result("meta")
        await task
        assert stream.acked == [0, 1, 2]

    asyncio.run(go())


def test_fit_message_caps_entities_to_the_record_limit() -> None:
    ents = [{"text": f"Entity {i}", "label": "ORG"} for i in range(1000)]
    msg = {"kind": "document", "id": "a", "doc": {"body": "б" * 1000, "entities": ents}}
    capped, dropped = enrich_agent.fit_message(msg, 10_000)
    assert len(encode_internal(capped)) <= 10_000 and 0 < dropped < 1000
    assert len(capped["doc"]["entities"]) == 1000 - dropped
    full, none = enrich_agent.fit_message(msg, 10**7)
    assert none == 0 and full == msg
    cyrillic = {"kind": "document", "id": "b", "doc": {"body": "б" * 3000, "entities": []}}
    assert enrich_agent.fit_message(cyrillic, 8_000)[0] == cyrillic  # UTF-8, not \\u escapes
    with pytest.raises(common.SendRefused):
        enrich_agent.fit_message(msg, 500)


def test_fit_message_keeps_at_most_the_nested_document_limit_of_entities() -> None:
    entities = [{"text": "Москва", "label": "LOCATION", "start": i, "end": i + 6}
                for i in range(enrich_agent.MAX_ENTITIES + 7)]
    msg = {"doc": {"id": "a", "entities": entities, "locations": ["Moscow"]}}
    capped, dropped = enrich_agent.fit_message(msg, 10**9)
    assert dropped == 7
    doc = capped["doc"]
    assert len(doc["entities"]) == enrich_agent.MAX_ENTITIES
    assert doc["locations"] == ["Moscow"]


def test_refresh_pacer_spaces_forced_refreshes() -> None:
    pacer = enrich_agent.RefreshPacer(0.25)
    assert pacer.wait_for(True, 10.0) == 0.0  # nothing refreshed yet
    pacer.note(True, 10.0)
    assert pacer.wait_for(True, 10.1) == pytest.approx(0.15)
    assert pacer.wait_for(False, 10.1) == 0.0  # a bulk that does not refresh never waits
    assert pacer.wait_for(True, 10.3) == 0.0
    pacer.note(False, 10.3)  # a bulk that did not refresh does not move the floor
    assert pacer.wait_for(True, 10.2) == pytest.approx(0.05)


class BlockingSink:
    """A bulk sink whose writes return only when the test releases them, one by one."""

    refresh_below = 0  # never forces a refresh: no pacing

    def __init__(self) -> None:
        self.writes: list[list[Any]] = []
        self.release = asyncio.Semaphore(0)
        self.refreshed = False

    def upstream_behind(self) -> bool:
        return False

    async def write(self, items: list[Any]) -> None:
        self.writes.append(list(items))
        await self.release.acquire()


def test_enrich_acks_a_batch_only_after_elasticsearch_has_its_documents() -> None:
    async def go() -> None:
        stream = FakeStream([])
        sink = BlockingSink()
        written: asyncio.Queue[enrich_agent.Batch] = asyncio.Queue(maxsize=4)
        events = _events(5)

        def batch(evs: list[Ev]) -> enrich_agent.Batch:
            return enrich_agent.Batch(pool=None, events=evs, parsed=[], started=0.0,  # type: ignore[arg-type]
                                      deliveries={}, items=[e.message.offset for e in evs])

        writer = asyncio.ensure_future(
            enrich_agent._write_in_order(written, stream, sink))  # type: ignore[arg-type]
        written.put_nowait(batch(events[:2]))
        await _settle()
        assert sink.writes == [[0, 1]] and stream.acked == []  # in Elasticsearch's hands
        # batches finished while a bulk is in flight leave together in the next one
        written.put_nowait(batch(events[2:3]))
        written.put_nowait(batch(events[3:]))
        await _settle()
        assert stream.acked == []
        sink.release.release()
        await _settle()
        assert stream.acked == [0, 1] and sink.writes[1:] == [[2, 3, 4]]
        sink.release.release()
        await _settle()
        assert stream.acked == [0, 1, 2, 3, 4]
        writer.cancel()

    asyncio.run(go())
