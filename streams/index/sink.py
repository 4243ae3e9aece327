"""The Elasticsearch bulk writer (enrich and index agents): batching, retries, offsets, letters.

Why it is shaped this way (the indexing guarantees):

* Every document message becomes a partial-update upsert keyed by the article id
  (:func:`streams.index.documents.bulk_lines`), so a replay rewrites the same document and a revision
  overwrites it; no scripts (the embedded node has no painless). It is first sent as a
  ``create`` of the whole document, which Elasticsearch indexes from the bytes as they are;
  only an id that exists already (a replay, a revision) answers 409 and is sent again at once
  as the upsert. An upsert costs a read of the stored document, a parse and a re-serialization
  of both, which a new article does not need. A counts message is a partial
  update that never creates a document: when its original is missing (it was dead-lettered)
  Elasticsearch answers ``document_missing_exception`` and the copy is dead-lettered as
  ``original_not_indexed``, so no document ever holds counts without an article.
* Retryable failures (connection errors, timeouts, 429, 5xx, version conflicts, a missing write
  index) are retried forever with capped exponential backoff and full jitter, one log line per
  attempt. The caller reads nothing new meanwhile, so an outage turns into backpressure on Kafka,
  never into an unbounded buffer.
* Rejected documents (400 mapping/parse errors) go to the dead-letter callback with the
  Elasticsearch error, and only count as done once the DLQ send returned.
* A message's offset is released to the caller (who then acks it to Kafka) only when it and every
  earlier message of its partition are done: :class:`OffsetTracker`, the highest contiguous
  acknowledged offset per partition, as Confluent's Elasticsearch sink does.
* Rollover safety: before each attempt the batch's ids are looked up in every backing index
  (:class:`TargetResolver`); an id that already lives in an older index is updated there, new
  ids go to the current write index by its concrete name. So an id never exists in two backing
  indices, even if a rollover happens between the lookup and the bulk request.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams import metrics
from streams.index import documents
from streams.model import encode_internal

log = logging.getLogger(__name__)

#: ``retry_on_conflict`` of each update: ES re-reads and re-applies the partial doc itself.
RETRY_ON_CONFLICT = 3
#: Elasticsearch's limit on ``_id``; a longer one fails the whole bulk request with a 400.
MAX_ID_BYTES = 512


# --------------------------------------------------------------------------------------------
# Pure policy: classification and backoff
# --------------------------------------------------------------------------------------------


class Outcome(enum.Enum):
    """What to do with one bulk item after Elasticsearch answered."""

    OK = "ok"
    RETRY = "retry"
    REJECT = "reject"


#: Error types that say "the cluster cannot take this now", whatever the status code: retrying
#: later succeeds, dead-lettering would lose a good document.
RETRYABLE_ERROR_TYPES = frozenset(
    {
        "es_rejected_execution_exception",
        "circuit_breaking_exception",
        "cluster_block_exception",  # e.g. flood-stage disk watermark: read-only until freed
        "unavailable_shards_exception",
        "no_shard_available_action_exception",
        "node_closed_exception",
        "node_not_connected_exception",
        "process_cluster_event_timeout_exception",
        "version_conflict_engine_exception",  # a concurrent write raced ours; re-apply
        "index_not_found_exception",  # a targeted index vanished: re-resolve and retry
        "index_closed_exception",
        "primary_missing_action_exception",
        "shard_not_found_exception",
    }
)


def classify_item(status: int, error: Mapping[str, Any] | None = None) -> Outcome:
    """Classify one bulk item response (pure).

    2xx is done. 408, 409, 429 and 5xx are the cluster's state, not the document's: retry
    (409 = version conflict of an update without ``if_seq_no``: another write landed between
    ES's internal read and write; re-applying our absolute values is correct). Anything else
    is the document's fault (400 mapper/document parsing errors, strict mapping, bad values):
    reject it to the DLQ, unless its error type is one of :data:`RETRYABLE_ERROR_TYPES` or it
    says the alias has no write index (a setup problem, not a bad document).
    """
    if 200 <= status < 300:
        return Outcome.OK
    if status in (408, 409, 429) or status >= 500:
        return Outcome.RETRY
    etype = str((error or {}).get("type", ""))
    reason = str((error or {}).get("reason", ""))
    if etype in RETRYABLE_ERROR_TYPES or "no write index is defined" in reason:
        return Outcome.RETRY
    return Outcome.REJECT


def rejection_reason(error: Mapping[str, Any] | None) -> str:
    """The dead-letter reason of a rejected bulk item (pure).

    ``document_missing_exception`` answers only a counts update (the one write that does not
    upsert): the original of that exact copy is not in the index, because it was dead-lettered
    itself. The copy is dead-lettered with its own reason; a replay of it after its original's
    applies the counts.
    """
    if str((error or {}).get("type", "")) == "document_missing_exception":
        return "original_not_indexed"
    return "es_rejected"


def is_retryable_exception(exc: BaseException) -> bool:
    """Whether a failed *request* (not item) should be retried (pure).

    Connection refused/reset, timeouts and 408/429/5xx answers are outages; other API errors
    (401/403 credentials, 400 malformed request) are bugs or configuration errors that no
    amount of retrying fixes, so they propagate and stop the worker without acking anything.
    """
    from elastic_transport import ConnectionError as TConnectionError
    from elastic_transport import ConnectionTimeout as TConnectionTimeout
    from elasticsearch import ApiError

    if isinstance(exc, TConnectionError | TConnectionTimeout | asyncio.TimeoutError | OSError):
        return True
    if isinstance(exc, NoWriteIndexError):
        return True
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status in (408, 429) or status >= 500:
            return True
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error") if isinstance(body.get("error"), dict) else {}
        return str(err.get("type", "")) in RETRYABLE_ERROR_TYPES
    return False


def is_request_rejection(exc: BaseException) -> bool:
    """Whether Elasticsearch refused a whole bulk request for its content (400 or 413) (pure).

    Not an outage and not credentials: some item in it is malformed (or the request is too
    large), so the batch is split to find it rather than retried or raised.
    """
    from elasticsearch import ApiError

    return isinstance(exc, ApiError) and exc.meta.status in (400, 413) and not (
        is_retryable_exception(exc)
    )


def backoff_delay(
    attempt: int, initial: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): full jitter (pure given rand).

    ``uniform(0, min(cap, initial * 2**(attempt-1)))``: exponential so a struggling cluster gets
    room, capped so a recovered one is noticed within ``cap`` seconds, jittered so many workers
    do not retry in lockstep (AWS "Exponential Backoff And Jitter"; Confluent's connector does
    the same).
    """
    if attempt < 1:
        return 0.0
    ceiling = min(cap, initial * (2.0 ** min(attempt - 1, 62)))
    return max(0.0, rand() * ceiling)


def refresh_option(n_docs: int, refresh_below: int, upstream_behind: bool = False
                   ) -> dict[str, Any]:
    """Whether a bulk of ``n_docs`` asks Elasticsearch to refresh at once (pure).

    A small bulk while the stage before is not behind means the pipeline has no backlog:
    refreshing right away makes its documents searchable without waiting for the index's
    ``refresh_interval``. A large bulk, or a small one cut from a backlog the stage before is
    still working off (``upstream_behind``), does not refresh: segments are then paced by the
    interval, not by how many workers each send their own small bulks. Refreshing is not
    acknowledgement: offsets still advance only from the bulk's item results.
    """
    small = 0 < n_docs < refresh_below
    return {"refresh": "true"} if small and not upstream_behind else {}


def split_batches(sizes: Sequence[int], max_docs: int, max_bytes: int) -> list[range]:
    """Split items of the given byte sizes into consecutive bulk requests (pure).

    Each request has at most ``max_docs`` items and ``max_bytes`` bytes, except that an item
    larger than ``max_bytes`` travels alone (it must be tried: ES, not us, decides it is too big).
    """
    out: list[range] = []
    start, nbytes = 0, 0
    for i, size in enumerate(sizes):
        count = i - start
        if count and (count >= max_docs or nbytes + size > max_bytes):
            out.append(range(start, i))
            start, nbytes = i, 0
        nbytes += size
    if start < len(sizes):
        out.append(range(start, len(sizes)))
    return out


# --------------------------------------------------------------------------------------------
# Offsets: highest contiguous acknowledged offset per partition
# --------------------------------------------------------------------------------------------


class OffsetTracker:
    """Per partition: offsets handed to the sink, in order, and which are acknowledged.

    :meth:`release` returns the acknowledged prefix of each partition (in offset order) and
    forgets it; the caller acks exactly those to Kafka. "Contiguous" means contiguous in the
    sequence of *tracked* offsets, not in integers: compacted topics and transaction markers
    leave holes in offsets that no message will ever fill.

    Why not rely on Faust alone: Faust commits the highest contiguous acked offset too, but its
    ``Consumer._new_offset`` lets one missing offset right after the committed one slip through
    (it only checks ``min(acked) - committed > 1``), so out-of-order acks could commit past an
    unacknowledged message. Releasing acks strictly in order makes that impossible.
    """

    def __init__(self) -> None:
        self._sent: dict[Hashable, deque[int]] = {}
        self._acked: dict[Hashable, set[int]] = {}
        self._committable: dict[Hashable, int] = {}

    def track(self, tp: Hashable, offset: int) -> None:
        """Record that ``offset`` of ``tp`` was handed over (offsets must increase per tp)."""
        q = self._sent.setdefault(tp, deque())
        if q and offset <= q[-1]:
            raise ValueError(f"offset {offset} of {tp!r} not after {q[-1]}")
        done = self._committable.get(tp)
        if done is not None and offset < done:
            raise ValueError(f"offset {offset} of {tp!r} already released (next is {done})")
        q.append(offset)

    def is_redelivery(self, tp: Hashable, offset: int) -> bool:
        """Whether ``offset`` is at or below one already tracked or released for ``tp``.

        After a rebalance Faust seeks the partition back to its committed offset, so offsets
        this tracker already released (acked but not yet committed) come back.
        """
        q = self._sent.get(tp)
        if q and offset <= q[-1]:
            return True
        done = self._committable.get(tp)
        return done is not None and offset < done

    def ack(self, tp: Hashable, offset: int) -> None:
        """Mark a tracked offset as acknowledged by Elasticsearch (or dead-lettered)."""
        q = self._sent.get(tp)
        if not q or offset < q[0] or offset > q[-1]:
            raise KeyError(f"offset {offset} of {tp!r} is not pending")
        self._acked.setdefault(tp, set()).add(offset)

    def release(self) -> list[tuple[Hashable, int]]:
        """Pop and return every (tp, offset) whose whole partition prefix is acknowledged."""
        out: list[tuple[Hashable, int]] = []
        for tp, q in self._sent.items():
            acked = self._acked.get(tp)
            if not acked:
                continue
            while q and q[0] in acked:
                off = q.popleft()
                acked.discard(off)
                out.append((tp, off))
                self._committable[tp] = off + 1
        return out

    def committable(self, tp: Hashable) -> int | None:
        """Kafka offset safe to commit for ``tp`` (next to read), or None if nothing released."""
        return self._committable.get(tp)

    def pending(self) -> int:
        """Offsets tracked and not yet released (acknowledged or not)."""
        return sum(len(q) for q in self._sent.values())

    def forget(self, tps: Iterable[Hashable]) -> None:
        """Drop revoked partitions (their messages will be redelivered to the new owner)."""
        for tp in tps:
            self._sent.pop(tp, None)
            self._acked.pop(tp, None)
            self._committable.pop(tp, None)


def redelivery_segments(docs: Sequence[PendingDoc]) -> list[list[PendingDoc]]:
    """Cut a batch where some partition's offsets stop increasing (pure).

    Within each segment every partition's offsets strictly increase, so the tracker accepts
    it; a cut marks a partition delivered again from an earlier offset.
    """
    out: list[list[PendingDoc]] = []
    current: list[PendingDoc] = []
    last: dict[Hashable, int] = {}
    for d in docs:
        prev = last.get(d.tp)
        if prev is not None and d.offset <= prev:
            out.append(current)
            current, last = [], {}
        current.append(d)
        last[d.tp] = d.offset
    if current:
        out.append(current)
    return out


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


@dataclass
class PendingDoc:
    """One ``articles.enriched`` message on its way to Elasticsearch.

    ``token`` is whatever the caller needs to acknowledge the message (the Faust event);
    ``invalid`` holds the reason when the message cannot become a bulk action at all.
    """

    tp: Hashable
    offset: int
    raw: bytes
    token: Any = None
    message: Mapping[str, Any] | None = None
    doc_id: str = ""
    body: bytes = b""
    invalid: str | None = None
    #: A document not yet known to exist: sent as a ``create`` of ``body`` (the document).
    create: bool = False
    attempts: int = field(default=0, compare=False)

    @property
    def size(self) -> int:
        """Approximate bytes of this item in a bulk request (body plus action line)."""
        return len(self.body) + len(self.doc_id) + 80


def pending_doc(tp: Hashable, offset: int, value: Any, raw: bytes, token: Any = None) -> PendingDoc:
    """Parse and check one message value (pure); an unusable one is marked ``invalid``."""
    item = PendingDoc(tp=tp, offset=offset, raw=raw, token=token)
    try:
        if not isinstance(value, Mapping):
            raise ValueError(f"message is {type(value).__name__}, not an object")
        _, body = documents.bulk_lines(value, "-")
        if body.get("doc_as_upsert"):  # a document: created whole unless its id exists
            item.create = True
            body = body["doc"]
        doc_id = str(value["id"])
        if not doc_id:
            raise ValueError("empty id")
        if len(doc_id.encode("utf-8")) > MAX_ID_BYTES:
            raise ValueError(f"id over Elasticsearch's {MAX_ID_BYTES}-byte _id limit")
        item.message = value
        item.doc_id = doc_id
        item.body = encode_internal(body)
    except Exception as exc:
        item.invalid = f"{type(exc).__name__}: {exc}"
    return item


def action_line(doc_id: str, index: str, create: bool = False) -> bytes:
    """The bulk action line: a create, or a partial update, of ``doc_id`` in ``index``."""
    spec: dict[str, Any] = {"_id": doc_id, "_index": index}
    if not create:
        spec["retry_on_conflict"] = RETRY_ON_CONFLICT
    action = {"create" if create else "update": spec}
    return json.dumps(action, ensure_ascii=False, separators=(",", ":")).encode()


def exists_already(doc: PendingDoc, status: int, error: Mapping[str, Any] | None) -> bool:
    """Whether a ``create`` failed only because the id is taken (pure): send the upsert."""
    return (doc.create and status == 409
            and str((error or {}).get("type", "")) == "version_conflict_engine_exception")


def as_upsert(doc: PendingDoc) -> None:
    """Turn a document's ``create`` into the partial-update upsert of the same document."""
    if doc.create:
        doc.body = b'{"doc":' + doc.body + b',"doc_as_upsert":true}'
        doc.create = False


def items_to_resend(docs: Sequence[PendingDoc], outcomes: Sequence[Outcome]) -> list[int]:
    """Indices of the items to send again, in order (pure).

    Every RETRY item, plus every later item of the same id whatever its outcome: a later
    revision that succeeded must be re-applied after the earlier one is, or the retry would
    overwrite the newer values with older ones.
    """
    out: list[int] = []
    failed_ids: set[str] = set()
    for i, (doc, outcome) in enumerate(zip(docs, outcomes, strict=True)):
        if outcome is Outcome.RETRY or doc.doc_id in failed_ids:
            failed_ids.add(doc.doc_id)
            out.append(i)
    return out


# --------------------------------------------------------------------------------------------
# Rollover-safe targets
# --------------------------------------------------------------------------------------------


class NoWriteIndexError(RuntimeError):
    """The write alias does not exist or has no write index (setup missing): retry, don't guess.

    Writing to the alias name anyway would let Elasticsearch auto-create a concrete index
    called like the alias, and break every later rollover.
    """


@dataclass(frozen=True)
class Layout:
    """The backing indices of the alias at one moment."""

    write_index: str
    others: tuple[str, ...]  # other backing indices, newest first


class TargetResolver:
    """Which concrete index each id must be written to."""

    def __init__(self, client: Any, alias: str, pattern: str | None = None) -> None:
        self.client = client
        self.alias = alias
        self.pattern = pattern or f"{alias}-*"
        #: index name -> creation date: immutable, so read again only when the alias's indices
        #: change or a request failed (an index may have been deleted), not once per bulk
        self._created: dict[str, int] = {}
        self._holders: frozenset[str] = frozenset()

    def forget(self) -> None:
        """Read the creation dates again before the next bulk (after any failed request)."""
        self._created.clear()

    async def layout(self) -> Layout:
        """The write index and the other backing indices (one or two cluster-state reads).

        The alias is read for every bulk (a rollover may have moved it); the creation dates
        that order the older indices only when the alias's indices changed since the last read.
        """
        from elasticsearch import NotFoundError

        try:
            aliases = (await self.client.indices.get_alias(name=self.alias)).body
        except NotFoundError as exc:
            raise NoWriteIndexError(
                f"alias {self.alias!r} does not exist (run `newsstream setup`)"
            ) from exc
        holders = list(aliases)
        writers = [
            i
            for i, v in aliases.items()
            if v.get("aliases", {}).get(self.alias, {}).get("is_write_index")
        ]
        if len(writers) == 1:
            write = writers[0]
        elif len(holders) == 1 and not any(
            v.get("aliases", {}).get(self.alias, {}).get("is_write_index") is False
            for v in aliases.values()
        ):
            write = holders[0]
        else:
            raise NoWriteIndexError(
                f"alias {self.alias!r} has no single write index: {sorted(holders)}"
            )
        if frozenset(holders) != self._holders or not self._created:
            settings = (
                await self.client.indices.get_settings(
                    index=f"{self.pattern},{','.join(holders)}",
                    name="index.creation_date",
                    flat_settings=True,
                    expand_wildcards="open",
                    allow_no_indices=True,
                    ignore_unavailable=True,
                )
            ).body
            self._created = {
                name: int(v.get("settings", {}).get("index.creation_date", 0))
                for name, v in settings.items()
            }
            self._holders = frozenset(holders)
        created = self._created
        others = sorted(
            (n for n in created if n != write), key=lambda n: (created[n], n), reverse=True
        )
        return Layout(write, tuple(others))

    async def resolve(self, ids: Sequence[str]) -> tuple[str, dict[str, str]]:
        """(write index, {id: older index holding it}) for the given ids.

        One ``ids`` search over the older indices finds every refreshed copy; the ids it does
        not find are then looked up with a realtime ``mget`` in the newest older index, the
        only one that can hold a document created just before the last rollover and not yet
        refreshed. Ids in none of them are new (or already in the write index): they go to the
        write index, named concretely so a rollover after this lookup cannot split them.
        """
        lay = await self.layout()
        if not lay.others or not ids:
            return lay.write_index, {}
        unique = list(dict.fromkeys(ids))
        found: dict[str, str] = {}
        rank = {name: i for i, name in enumerate(lay.others)}  # 0 = newest
        resp = await self.client.search(
            index=",".join(lay.others),
            query={"ids": {"values": unique}},
            size=min(10_000, 2 * len(unique)),
            source=False,
            track_total_hits=False,
            ignore_unavailable=True,
            allow_no_indices=True,
            filter_path="hits.hits._id,hits.hits._index",
        )
        for hit in resp.body.get("hits", {}).get("hits", []):
            doc_id, index = hit["_id"], hit["_index"]
            prev = found.get(doc_id)
            if prev is not None and prev != index:
                log.warning(
                    "id present in two backing indices; writing to the newest",
                    extra={"id": doc_id, "indices": [prev, index]},
                )
            if prev is None or rank.get(index, 1 << 30) < rank.get(prev, 1 << 30):
                found[doc_id] = index
        missing = [i for i in unique if i not in found]
        if missing:
            newest = lay.others[0]
            got = await self.client.mget(
                index=newest,
                ids=missing,
                source=False,
                realtime=True,
                filter_path="docs._id,docs.found",
            )
            for d in got.body.get("docs", []):
                if d.get("found"):
                    found[d["_id"]] = newest
        return lay.write_index, found


# --------------------------------------------------------------------------------------------
# The writer
# --------------------------------------------------------------------------------------------

DeadLetter = Callable[[PendingDoc, str, str], Awaitable[None]]
Release = Callable[[list[PendingDoc]], Any]


class BulkSink:
    """Writes batches of :class:`PendingDoc` until every one is acknowledged or dead-lettered.

    ``write`` returns only when the whole batch is done, so a caller that awaits it before
    reading more messages gets backpressure for free; ``on_release`` is called as soon as a
    prefix of a partition is done, so offsets advance even during a long partial outage.
    Requests are sequential (one in flight): per-partition order is preserved across retries.
    """

    def __init__(
        self,
        client: Any,
        alias: str,
        dead_letter: DeadLetter,
        *,
        max_docs: int = 500,
        max_bytes: int = 5 * 1024 * 1024,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        request_timeout: float = 30.0,
        refresh_below: int = 0,
        upstream_behind: Callable[[], bool] = lambda: False,
        pattern: str | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.dead_letter = dead_letter
        # Our retry policy, not the transport's: one attempt per call, our timeout.
        self._client = client.options(request_timeout=request_timeout, max_retries=0)
        self.resolver = TargetResolver(self._client, alias, pattern)
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self.refresh_below = refresh_below
        self.upstream_behind = upstream_behind
        #: Whether a bulk since the last :meth:`write` began asked for a refresh (the caller
        #: paces the next small bulk by it).
        self.refreshed = False
        self.sleep = sleep
        self.rand = rand
        self.tracker = OffsetTracker()
        self._revoked: set[Hashable] = set()

    @classmethod
    def from_settings(cls, client: Any, s: Any, dead_letter: DeadLetter, **kw: Any) -> BulkSink:
        """A sink configured by :mod:`streams.settings` (``bulk_*`` knobs); ``kw`` overrides."""
        opts: dict[str, Any] = {
            "max_docs": s.bulk_max_docs,
            "max_bytes": s.bulk_max_bytes,
            "backoff_initial": s.bulk_backoff_initial,
            "backoff_max": s.bulk_backoff_max,
            "request_timeout": s.bulk_timeout,
            "refresh_below": s.bulk_refresh_below,
        }
        opts.update(kw)
        return cls(client, s.es_alias, dead_letter, **opts)

    async def write(self, docs: Sequence[PendingDoc], on_release: Release | None = None) -> None:
        """Write ``docs`` (in offset order per partition); returns when all are done.

        A partition delivered again from an earlier offset (a rebalance moved it away and
        back, or Faust re-read from its last commit) is not an error: the batch is cut there,
        the part before it finishes first, and that partition's bookkeeping restarts at the
        redelivered offset. Every redelivered document is written again: upserts of the same
        values, so the index does not change, and its offset is acked again (harmless).
        """
        self.refreshed = False
        if self._revoked:
            self.tracker.forget(self._revoked)
            self._revoked.clear()
        for segment in redelivery_segments(docs):
            for d in segment:
                if self.tracker.is_redelivery(d.tp, d.offset):
                    log.info("partition redelivered from an earlier offset; restarting its "
                             "bookkeeping", extra={"partition": str(d.tp), "offset": d.offset})
                    self.tracker.forget([d.tp])
            await self._write_segment(segment, on_release)

    def forget(self, tps: Iterable[Hashable]) -> None:
        """Drop the bookkeeping of revoked partitions before the next write.

        Safe to call at any time (a rebalance signal arrives while a write may be running):
        the write in progress finishes with its own bookkeeping, the next one starts clean.
        """
        self._revoked.update(tps)

    async def _write_segment(
        self, docs: Sequence[PendingDoc], on_release: Release | None = None
    ) -> None:
        for d in docs:
            self.tracker.track(d.tp, d.offset)
        metrics.PENDING_ACKS.set(self.tracker.pending())
        by_key = {(d.tp, d.offset): d for d in docs}

        async def release() -> None:
            done = [by_key[k] for k in self.tracker.release()]
            metrics.PENDING_ACKS.set(self.tracker.pending())
            if done and on_release is not None:
                result = on_release(done)
                if inspect.isawaitable(result):
                    await result

        valid: list[PendingDoc] = []
        for d in docs:
            if d.invalid is not None:
                await self._dead_letter_forever(d, "bad_internal_message", d.invalid)
                self.tracker.ack(d.tp, d.offset)
            else:
                valid.append(d)
        await release()
        for rng in split_batches([d.size for d in valid], self.max_docs, self.max_bytes):
            await self._write_chunk([valid[i] for i in rng], release)

    async def _write_chunk(
        self, chunk: list[PendingDoc], release: Callable[[], Awaitable[None]]
    ) -> None:
        pending = chunk
        attempt = 0
        while pending:
            in_bulk = False
            try:
                write_index, found = await self.resolver.resolve([d.doc_id for d in pending])
                lines: list[bytes] = []
                for d in pending:
                    lines.append(action_line(d.doc_id, found.get(d.doc_id, write_index),
                                             d.create))
                    lines.append(d.body)
                started = time.perf_counter()
                in_bulk = True
                refresh = refresh_option(len(pending), self.refresh_below, self.upstream_behind())
                self.refreshed = self.refreshed or bool(refresh)
                resp = await self._client.bulk(
                    operations=lines,
                    filter_path="errors,items.*.status,items.*.error",
                    **refresh,
                )
                metrics.BULK_SECONDS.observe(time.perf_counter() - started)
            except Exception as exc:
                self.resolver.forget()
                if in_bulk and is_request_rejection(exc):
                    await self._split_rejected(pending, release, exc)
                    return
                if not is_retryable_exception(exc):
                    raise
                attempt += 1
                await self._backoff(attempt, pending, _short_error(exc))
                continue
            body = resp.body
            items = body.get("items", [])
            if len(items) != len(pending):
                raise RuntimeError(f"bulk answered {len(items)} items for {len(pending)} sent")
            results = [next(iter(it.values())) for it in items]
            outcomes = [classify_item(int(r.get("status", 0)), r.get("error")) for r in results]
            taken = {i for i, (d, r) in enumerate(zip(pending, results, strict=True))
                     if exists_already(d, int(r.get("status", 0)), r.get("error"))}
            resend = set(items_to_resend(pending, outcomes))
            ok = 0
            for i, (d, outcome, r) in enumerate(zip(pending, outcomes, results, strict=True)):
                if i in resend:
                    continue
                if outcome is Outcome.REJECT:
                    error = json.dumps(
                        {"status": r.get("status"), "error": r.get("error")}, ensure_ascii=False
                    )
                    await self._dead_letter_forever(d, rejection_reason(r.get("error")), error)
                else:
                    ok += 1
                self.tracker.ack(d.tp, d.offset)
            metrics.INDEXED.inc(ok)
            await release()
            retry_errors = [
                results[i].get("error") or {"status": results[i].get("status")}
                for i in sorted(resend)
                if outcomes[i] is Outcome.RETRY and i not in taken
            ]
            for i in taken:
                as_upsert(pending[i])
            pending = [pending[i] for i in sorted(resend)]
            if retry_errors:  # ids that only exist already are sent again without a pause
                attempt += 1
                await self._backoff(attempt, pending, _short_error(retry_errors[0]))

    async def _split_rejected(
        self, pending: list[PendingDoc], release: Callable[[], Awaitable[None]], exc: Exception
    ) -> None:
        """A whole bulk request refused (400/413): halve it until the offending item is alone.

        One bad item (a malformed id, say) makes Elasticsearch reject the request, not the
        item; bisecting costs ``log2(n)`` extra requests and dead-letters only that item.
        """
        if len(pending) > 1:
            mid = len(pending) // 2
            log.warning("bulk request rejected (%s); splitting %d docs to find the offender",
                        _short_error(exc), len(pending))
            await self._write_chunk(pending[:mid], release)
            await self._write_chunk(pending[mid:], release)
            return
        d = pending[0]
        error = json.dumps({"status": getattr(getattr(exc, "meta", None), "status", None),
                            "error": _short_error(exc)}, ensure_ascii=False)
        await self._dead_letter_forever(d, "es_request_rejected", error)
        self.tracker.ack(d.tp, d.offset)
        await release()

    async def _backoff(self, attempt: int, pending: list[PendingDoc], error: str) -> None:
        delay = backoff_delay(attempt, self.backoff_initial, self.backoff_max, self.rand)
        metrics.ES_RETRIES.inc()
        first = pending[0]
        # The facts are in the message itself too: Faust's worker may replace our formatter.
        log.warning(
            "elasticsearch bulk failed (attempt %d: %s); retrying %d docs in %.1fs from %s@%d, "
            "not reading more messages meanwhile",
            attempt,
            error,
            len(pending),
            delay,
            first.tp,
            first.offset,
            extra={
                "attempt": attempt,
                "retry_in_s": round(delay, 3),
                "docs": len(pending),
                "error": error,
                "first_partition": str(first.tp),
                "first_offset": first.offset,
            },
        )
        await self.sleep(delay)

    async def _dead_letter_forever(self, d: PendingDoc, reason: str, error: str) -> None:
        """Send to the DLQ, retrying while Kafka is unavailable: a rejected doc is never lost."""
        attempt = 0
        while True:
            try:
                await self.dead_letter(d, reason, error)
                return
            except Exception as exc:
                attempt += 1
                delay = backoff_delay(attempt, self.backoff_initial, self.backoff_max, self.rand)
                log.warning(
                    "dead-letter send failed (attempt %d: %s); retrying in %.1fs",
                    attempt,
                    _short_error(exc),
                    delay,
                    extra={
                        "attempt": attempt,
                        "retry_in_s": round(delay, 3),
                        "error": _short_error(exc),
                        "partition": str(d.tp),
                        "offset": d.offset,
                    },
                )
                await self.sleep(delay)


def _short_error(err: Any) -> str:
    if isinstance(err, BaseException):
        text = f"{type(err).__name__}: {err}"
    elif isinstance(err, Mapping):
        text = f"{err.get('type', '')}: {err.get('reason', err)}"
    else:
        text = str(err)
    return text[:300]
