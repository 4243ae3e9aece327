"""The rewinding consumer's bookkeeping, and that the worker's app uses it.

The behaviour against a real Kafka (records arriving while a restarted worker recovers its
table) is tested in tests/integration/devservices/test_kafka_clients.py.
"""

from __future__ import annotations

from faust.types import TP

from streams.runtime.consumer import RewindingConsumer, Transport, Undelivered, rewinds

A0, A1 = TP("a", 0), TP("a", 1)


def test_the_first_held_record_of_a_partition_is_where_it_rewinds() -> None:
    held = Undelivered()
    assert not held and not held.holds(A0)
    held.note(A0, 7)
    held.note(A0, 8)  # a later record of a held partition keeps the first offset
    held.note(A1, 3)
    assert held and held.holds(A0) and held.holds(A1)
    assert held.offsets == {A0: 7, A1: 3}


def test_rewind_only_moves_a_position_backwards() -> None:
    assert rewinds(10, 7)  # the client is past the held record: seek back to it
    assert not rewinds(7, 7)  # already there (a seek moved it back meanwhile)
    assert not rewinds(3, 7)  # a seek to the committed offset went further back: keep it
    assert not rewinds(None, 7)


def test_the_worker_app_consumes_through_the_rewinding_consumer() -> None:
    from streams.runtime.app import app

    assert isinstance(app.transport, Transport)
    assert app.transport.Consumer is RewindingConsumer
