"""Pure parts of the Elasticsearch sink: classification, backoff, batching, offsets."""

from __future__ import annotations

import json

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as TConnectionError
from elastic_transport import ConnectionTimeout as TConnectionTimeout
from elasticsearch import ApiError
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.index import documents
from streams.index.sink import (
    NoWriteIndexError,
    OffsetTracker,
    Outcome,
    action_line,
    as_upsert,
    backoff_delay,
    classify_item,
    exists_already,
    is_retryable_exception,
    items_to_resend,
    pending_doc,
    refresh_option,
    rejection_reason,
    split_batches,
)


def _api_error(status: int, etype: str = "x") -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "localhost", 9200),
    )
    return ApiError(
        f"{status}", meta=meta, body={"error": {"type": etype, "reason": "r"}, "status": status}
    )


# --- classification ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201])
def test_success_is_ok(status: int) -> None:
    assert classify_item(status) is Outcome.OK


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_cluster_states_are_retried(status: int) -> None:
    assert classify_item(status, {"type": "whatever"}) is Outcome.RETRY


@pytest.mark.parametrize(
    "etype",
    [
        "mapper_parsing_exception",
        "document_parsing_exception",
        "strict_dynamic_mapping_exception",
        "illegal_argument_exception",
    ],
)
def test_document_errors_are_rejected(etype: str) -> None:
    assert (
        classify_item(400, {"type": etype, "reason": "failed to parse field [published_at]"})
        is Outcome.REJECT
    )


def test_setup_errors_with_4xx_are_retried_not_rejected() -> None:
    # A missing index or an alias without write index is the cluster's state: dead-lettering
    # good documents because of it would lose them.
    assert classify_item(404, {"type": "index_not_found_exception"}) is Outcome.RETRY
    assert classify_item(403, {"type": "cluster_block_exception"}) is Outcome.RETRY
    no_write = {
        "type": "illegal_argument_exception",
        "reason": "no write index is defined for alias [articles].",
    }
    assert classify_item(400, no_write) is Outcome.RETRY


def test_request_level_retryability() -> None:
    assert is_retryable_exception(TConnectionError("refused"))
    assert is_retryable_exception(TConnectionTimeout("slow"))
    assert is_retryable_exception(TimeoutError())
    assert is_retryable_exception(NoWriteIndexError("no alias"))
    for status in (429, 500, 503):
        assert is_retryable_exception(_api_error(status))
    assert not is_retryable_exception(_api_error(401, "security_exception"))
    assert not is_retryable_exception(_api_error(400, "parse_exception"))
    assert is_retryable_exception(_api_error(403, "cluster_block_exception"))
    assert not is_retryable_exception(ValueError("bug"))


# --- backoff ---------------------------------------------------------------------------------


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    top = [backoff_delay(a, 0.2, 30.0, rand=lambda: 0.999999) for a in range(1, 12)]
    assert top[0] == pytest.approx(0.2, rel=1e-3)
    assert top[1] == pytest.approx(0.4, rel=1e-3)
    assert top[4] == pytest.approx(3.2, rel=1e-3)
    assert max(top) <= 30.0
    assert top[-1] == pytest.approx(30.0, rel=1e-3)
    assert backoff_delay(10_000, 0.2, 30.0, rand=lambda: 1.0) == 30.0  # no overflow


def test_backoff_is_full_jitter() -> None:
    assert backoff_delay(5, 0.2, 30.0, rand=lambda: 0.0) == 0.0
    assert backoff_delay(5, 0.2, 30.0, rand=lambda: 0.5) == pytest.approx(1.6)
    assert backoff_delay(0, 0.2, 30.0) == 0.0


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=1))
def test_backoff_always_within_bounds(attempt: int, r: float) -> None:
    d = backoff_delay(attempt, 0.1, 5.0, rand=lambda: r)
    assert 0.0 <= d <= 5.0


# --- batching --------------------------------------------------------------------------------


def test_only_a_small_bulk_asks_for_an_immediate_refresh() -> None:
    assert refresh_option(3, refresh_below=50) == {"refresh": "true"}  # no backlog
    assert refresh_option(50, refresh_below=50) == {}  # a backlog: the interval paces refreshes
    assert refresh_option(0, refresh_below=50) == {}
    assert refresh_option(3, refresh_below=0) == {}  # disabled
    # a small bulk cut from a backlog the stage before is still working off: no refresh
    assert refresh_option(3, refresh_below=50, upstream_behind=True) == {}


def test_split_by_count() -> None:
    assert split_batches([10] * 7, max_docs=3, max_bytes=10**6) == [
        range(0, 3),
        range(3, 6),
        range(6, 7),
    ]


def test_split_by_bytes() -> None:
    assert split_batches([40, 40, 40, 10], max_docs=100, max_bytes=100) == [
        range(0, 2),
        range(2, 4),
    ]


def test_oversized_item_travels_alone() -> None:
    assert split_batches([10, 500, 10], max_docs=100, max_bytes=100) == [
        range(0, 1),
        range(1, 2),
        range(2, 3),
    ]
    assert split_batches([], 10, 10) == []


@given(
    st.lists(st.integers(min_value=1, max_value=300), max_size=60),
    st.integers(min_value=1, max_value=10),
    st.integers(min_value=1, max_value=600),
)
def test_split_covers_everything_in_order_within_limits(
    sizes: list[int], max_docs: int, max_bytes: int
) -> None:
    parts = split_batches(sizes, max_docs, max_bytes)
    flat = [i for r in parts for i in r]
    assert flat == list(range(len(sizes)))
    for r in parts:
        assert 1 <= len(r) <= max_docs
        if len(r) > 1:
            assert sum(sizes[i] for i in r) <= max_bytes


# --- offsets ---------------------------------------------------------------------------------


def test_release_only_the_contiguous_acked_prefix() -> None:
    t = OffsetTracker()
    for off in (10, 11, 12, 13):
        t.track("p0", off)
    t.ack("p0", 11)
    t.ack("p0", 13)
    assert t.release() == []  # 10 is not acknowledged: nothing may be committed
    assert t.committable("p0") is None
    t.ack("p0", 10)
    assert t.release() == [("p0", 10), ("p0", 11)]
    assert t.committable("p0") == 12
    t.ack("p0", 12)
    assert t.release() == [("p0", 12), ("p0", 13)]
    assert t.committable("p0") == 14
    assert t.pending() == 0


def test_holes_in_offsets_are_not_waited_for() -> None:
    # compacted topics / transaction markers: offsets 3 and 4 will never be delivered
    t = OffsetTracker()
    for off in (1, 2, 5):
        t.track("p", off)
    for off in (5, 2, 1):
        t.ack("p", off)
    assert [o for _, o in t.release()] == [1, 2, 5]
    assert t.committable("p") == 6


def test_partitions_are_independent() -> None:
    t = OffsetTracker()
    t.track("a", 0)
    t.track("b", 0)
    t.track("a", 1)
    t.ack("a", 1)
    t.ack("b", 0)
    assert t.release() == [("b", 0)]
    assert t.committable("a") is None
    assert t.committable("b") == 1
    assert t.pending() == 2


def test_tracker_rejects_misuse() -> None:
    t = OffsetTracker()
    t.track("p", 5)
    with pytest.raises(ValueError):
        t.track("p", 5)
    with pytest.raises(KeyError):
        t.ack("p", 4)
    with pytest.raises(KeyError):
        t.ack("q", 5)
    t.ack("p", 5)
    t.release()
    with pytest.raises(ValueError):
        t.track("p", 3)  # behind what was already released
    t.forget(["p"])
    t.track("p", 3)  # a reassigned partition starts over from its committed offset


@settings(max_examples=200)
@given(st.data())
def test_committable_never_passes_an_unacked_offset(data: st.DataObject) -> None:
    offsets = sorted(
        data.draw(st.sets(st.integers(min_value=0, max_value=500), min_size=1, max_size=40))
    )
    order = data.draw(st.permutations(offsets))
    t = OffsetTracker()
    for off in offsets:
        t.track("p", off)
    acked: set[int] = set()
    released: list[int] = []
    for off in order:
        t.ack("p", off)
        acked.add(off)
        released += [o for _, o in t.release()]
        assert released == offsets[: len(released)]  # in order, a prefix
        committed = t.committable("p")
        if committed is not None:
            assert all(o in acked for o in offsets if o < committed)
    assert released == offsets
    assert t.committable("p") == offsets[-1] + 1


# --- items -----------------------------------------------------------------------------------


def test_items_to_resend_keeps_same_id_order() -> None:
    docs = [
        pending_doc("p", i, documents.counts_message(doc_id, i, []), b"")
        for i, doc_id in enumerate(["a", "b", "a", "c", "a"])
    ]
    outcomes = [Outcome.RETRY, Outcome.OK, Outcome.OK, Outcome.REJECT, Outcome.REJECT]
    # a@0 failed: a@2 succeeded but must be re-applied after it, a@4 too; b and c are final
    assert items_to_resend(docs, outcomes) == [0, 2, 4]
    assert items_to_resend(docs, [Outcome.OK] * 5) == []


def test_pending_doc_builds_a_partial_update_counts_never_upsert() -> None:
    msg = documents.counts_message("abc", 3, ["x.example", "y.example"])
    d = pending_doc("p", 7, msg, b"raw")
    assert d.invalid is None and d.doc_id == "abc"
    assert json.loads(d.body) == {"doc": msg["doc"]}
    action = json.loads(action_line("abc", "articles-000002"))
    assert action == {"update": {"_id": "abc", "_index": "articles-000002", "retry_on_conflict": 3}}
    assert d.size > len(d.body)


def test_a_document_is_created_whole_and_upserted_only_when_its_id_exists() -> None:
    msg = documents.document_message({"id": "abc", "title": "Ferry vote", "body": "Körper"})
    d = pending_doc("p", 8, msg, b"raw")
    assert d.create and json.loads(d.body) == msg["doc"]
    assert json.loads(action_line("abc", "articles-000001", d.create)) == {
        "create": {"_id": "abc", "_index": "articles-000001"}}
    conflict = {"type": "version_conflict_engine_exception", "reason": "document already exists"}
    assert exists_already(d, 409, conflict)
    assert not exists_already(d, 409, {"type": "other"})
    assert not exists_already(d, 429, conflict)
    as_upsert(d)
    # the upsert is exactly what documents.bulk_lines describes for this message
    assert json.loads(d.body) == documents.bulk_lines(msg, "-")[1]
    assert not d.create and not exists_already(d, 409, conflict)
    as_upsert(d)  # once only
    assert json.loads(d.body) == documents.bulk_lines(msg, "-")[1]
    counts = pending_doc("p", 9, documents.counts_message("abc", 1, ["x.example"]), b"raw")
    assert not counts.create


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text",
        {"kind": "nope", "id": "a", "doc": {}},
        {"kind": "counts", "doc": {}},
        {"kind": "counts", "id": "a", "doc": {"title": "x"}},
        {"kind": "document", "id": "", "doc": {}},
    ],
)
def test_pending_doc_marks_unusable_messages(value: object) -> None:
    d = pending_doc("p", 1, value, b"raw")
    assert d.invalid


def test_redelivery_segments_cut_where_a_partition_goes_back() -> None:
    from streams.index.sink import PendingDoc, redelivery_segments

    def d(tp: str, off: int) -> PendingDoc:
        return PendingDoc(tp=tp, offset=off, raw=b"")

    docs = [d("a", 5), d("b", 1), d("a", 6), d("a", 2), d("b", 2), d("b", 0)]
    segs = redelivery_segments(docs)
    assert [[(x.tp, x.offset) for x in s] for s in segs] == [
        [("a", 5), ("b", 1), ("a", 6)], [("a", 2), ("b", 2)], [("b", 0)]]
    assert redelivery_segments([]) == []


def test_sink_forgets_revoked_partitions_before_its_next_write() -> None:
    import asyncio

    from streams.index.sink import BulkSink

    class Client:
        def options(self, **kw: object) -> Client:
            return self

    async def dead(*a: object) -> None:
        return None

    async def go() -> None:
        sink = BulkSink(Client(), "alias", dead)
        sink.tracker.track("a", 5)
        sink.tracker.ack("a", 5)
        sink.tracker.release()
        sink.forget(["a"])  # while "a" may still be in a write: applied at the next one
        assert sink.tracker.committable("a") == 6
        await sink.write([])
        assert sink.tracker.committable("a") is None

    asyncio.run(go())


def test_a_counts_update_of_a_missing_original_has_its_own_reason() -> None:
    missing = {"type": "document_missing_exception", "reason": "[abc]: document missing"}
    assert classify_item(404, missing) is Outcome.REJECT
    assert rejection_reason(missing) == "original_not_indexed"
    assert rejection_reason({"type": "document_parsing_exception"}) == "es_rejected"
    assert rejection_reason(None) == "es_rejected"
