"""The dedup decision: new, replay, revision, exact or near duplicate, over the dedup state.

Why before NLP: about a third of news is reprints, and NER is the slowest step of the pipeline;
a duplicate caught here costs a few table lookups instead of a NER pass.

What counts as what (``DedupInfo.kind``)
----------------------------------------
* ``new``: first sighting of an id whose content matches nothing.
* ``replay``: the same id, the same content and the same copy identity (source + raw URL) again:
  a redelivery after a crash or a re-poll of the same feed item. Passed on again with the
  decision stored the first time (downstream writes are idempotent by ``_id``); never counted.
  This is what keeps an article from becoming "a duplicate of itself" after a crash.
* ``revision``: the same id with changed content. Passed on; same id, ``first_seen`` and story kept.
* ``exact``: the same normalized content (title + body) as a live article, under another id, or
  under the same id from another copy identity (tracking-parameter variants, another source).
  Not passed on. The original's copy set (a SET of identities, so replays never count twice)
  grows, and the stage emits the original's absolute ``duplicate_count``/``duplicate_sources``.
* ``near``: a different id whose normalized body (title for items without a body) has an
  estimated Jaccard similarity >= ``threshold`` with a live article. Passed on with
  ``duplicate_of`` = the earliest-seen matching article and that article's ``story_id``, so a
  whole cluster shares one story id (the id of its first article).

The parts, each in its own module: :mod:`streams.dedup.normalize` (what reprints change but
readers do not), :mod:`streams.dedup.fingerprint` (content hash, b-bit MinHash, LSH bands),
:mod:`streams.dedup.store` (the typed :class:`DocRecord` and the mappings holding it), and this
module (identities, the decision, expiry). ``from streams import dedup`` gives all of them.

Bounded: an entry expires when its ``last_seen`` is older than ``horizon`` (default 30 days).
Expired entries are ignored and removed lazily when met, and :meth:`Deduplicator.sweep` walks
the docs in bounded slices to remove the rest, with their hash and bucket entries.

How this is used
----------------
Offline (``newsstream enrich``) and in unit tests::

    dd = Deduplicator(InMemoryState(), threshold=0.7, horizon_days=30)
    d = dd.decide(article, now=time.time())
    if d.emit:       # new / revision / replay / near: enrich and index with d.info
        ...
    if d.counts:     # exact duplicate: update the ORIGINAL's counts (absolute values)
        documents.counts_message(d.counts.id, d.counts.duplicate_count, d.counts.duplicate_sources)

The Faust stage splits the same call in two (see ``streams.runtime.agents.dedup``):
:func:`prepare` (normalization + hashing + MinHash, stateless, on every partition) and
:meth:`Deduplicator.decide` with the prepared fingerprint (the state lookups).
"""

from __future__ import annotations

import base64
import dataclasses
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import xxhash

from streams.clock import rfc3339
from streams.dedup.fingerprint import Prepared, band_keys, lsh_params, prepare, similarity
from streams.dedup.store import DedupState, DocRecord, InMemoryState
from streams.model import Article, DedupInfo

#: Decoded records kept in memory (about 0.5 KB each; the store holds them all).
RECORD_CACHE_SIZE = 20_000
BUCKET_CAP = 32
BUCKET_KEEP_FIRST = 8

# --- identities ----------------------------------------------------------------------------------

def handle(article_id: str) -> str:
    """A short state key for an id: 96 bits of xxh3-128, base64url (16 chars)."""
    digest = xxhash.xxh3_128_digest(article_id.encode("utf-8", "surrogatepass"))[:12]
    return base64.urlsafe_b64encode(digest).decode()


def source_name(article: Article) -> str:
    """The source to report in ``duplicate_sources``: the article's, else its URL's host."""
    if article.source and article.source.strip():
        return article.source.strip()
    for u in (article.url, article.canonical_url):
        if u:
            host = urlsplit(u).hostname
            if host:
                return host
    return "unknown"


def copy_identity(article: Article) -> str:
    """Who published this copy: hash of source + raw URL (the id when there is no URL).

    Copies are counted as a SET of these, so a redelivered message never counts twice, while a
    tracking-parameter variant or another source re-publishing the same URL counts once each.
    """
    raw = article.url or article.canonical_url or article.id
    key = f"{source_name(article)}\x1f{raw}"
    return xxhash.xxh3_64_hexdigest(key.encode("utf-8", "surrogatepass"))


# --- the decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Absolute copy count and sources of an original (for a ``kind: counts`` message)."""

    id: str
    duplicate_count: int
    duplicate_sources: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """What to do with one article: pass it on (``emit``) and/or update an original's counts."""

    info: DedupInfo
    emit: bool
    counts: Counts | None = None


def _drop(m: MutableMapping[str, Any], key: str) -> None:
    if key in m:
        del m[key]


class Deduplicator:
    """The dedup decision over a :class:`DedupState`; see the module docstring."""

    def __init__(
        self,
        state: DedupState | None = None,
        threshold: float = 0.7,
        horizon_days: float = 30.0,
    ) -> None:
        self.state: DedupState = state if state is not None else InMemoryState()
        self.threshold = float(threshold)
        self.horizon = float(horizon_days) * 86400.0
        self.bands, self.rows = lsh_params(self.threshold)
        self._sweep_iter: Iterator[str] | None = None
        # Decoded records by handle, most recently used last: a new article reads every
        # candidate its LSH bands name, and a store read (a Faust table: key encoding, RocksDB,
        # JSON, sensors) costs more than the rest of the decision. Every write of ``docs``
        # goes through this class, so the cache is never stale; :meth:`reindex` (after a
        # recovery rewrote the store) starts it afresh.
        self._records: OrderedDict[str, DocRecord] = OrderedDict()

    # -- helpers --

    def _live(self, last_seen: float, now: float) -> bool:
        return last_seen >= now - self.horizon

    def _doc(self, h: str, now: float) -> DocRecord | None:
        """The live record under handle ``h``; an expired one is removed on the way."""
        rec = self._records.get(h)
        if rec is None:
            raw = self.state.docs.get(h)
            if raw is None:
                return None
            rec = DocRecord.from_dict(raw)
        if not self._live(rec.last_seen, now):
            self._remove(h, rec)
            return None
        self._remember(h, rec)
        return rec

    def _remember(self, h: str, rec: DocRecord) -> None:
        self._records[h] = rec
        self._records.move_to_end(h)
        if len(self._records) > RECORD_CACHE_SIZE:
            self._records.popitem(last=False)

    def _put(self, h: str, rec: DocRecord) -> None:
        self.state.docs[h] = rec.to_dict()
        self._remember(h, rec)

    def _index(self, h: str, rec: DocRecord, known: dict[str, Any] | None = None) -> None:
        """Register a doc's content hash and LSH buckets (idempotent: also repairs).

        ``known``: buckets the caller has just read (saves a second store read per band).
        """
        st = self.state
        if rec.mode != "empty" and st.hashes.get(rec.content_hash) is None:
            st.hashes[rec.content_hash] = h
        if rec.signature is None:
            return
        for key in band_keys(rec.signature, self.bands, self.rows):
            members = list((known[key] if known and key in known else st.buckets.get(key)) or ())
            if h in members:
                continue
            members.append(h)
            if len(members) > BUCKET_CAP:
                del members[BUCKET_KEEP_FIRST]
            st.buckets[key] = members

    def _unindex(self, h: str, rec: DocRecord) -> None:
        st = self.state
        if st.hashes.get(rec.content_hash) == h:
            del st.hashes[rec.content_hash]
        if rec.signature is None:
            return
        for key in band_keys(rec.signature, self.bands, self.rows):
            members = st.buckets.get(key)
            if not members or h not in members:
                continue
            rest = [m for m in members if m != h]
            if rest:
                st.buckets[key] = rest
            else:
                del st.buckets[key]

    def _remove(self, h: str, rec: DocRecord) -> None:
        self._unindex(h, rec)
        _drop(self.state.docs, h)
        self._records.pop(h, None)

    def _info(self, kind: str, rec: DocRecord, prepared: Prepared) -> DedupInfo:
        return DedupInfo(
            kind=kind,
            content_hash=prepared.content_hash,
            story_id=rec.story_id,
            duplicate_of=rec.duplicate_of,
            similarity=rec.similarity,
            first_seen=rfc3339(rec.first_seen),
            duplicate_count=len(rec.copies),
            duplicate_sources=tuple(sorted(set(rec.copy_sources))),
        )

    def _counts(self, rec: DocRecord) -> Counts:
        return Counts(
            id=rec.id,
            duplicate_count=len(rec.copies),
            duplicate_sources=tuple(sorted(set(rec.copy_sources))),
        )

    def _copy(
        self, oh: str, orec: DocRecord, article: Article, prepared: Prepared, now: float
    ) -> Decision:
        """An exact copy of ``orec``: add its identity to the set (once) and report counts."""
        ident = copy_identity(article)
        if ident != orec.identity and ident not in orec.copies:
            orec = dataclasses.replace(
                orec,
                copies=(*orec.copies, ident),
                copy_sources=tuple(sorted({*orec.copy_sources, source_name(article)})),
                last_seen=max(orec.last_seen, now),
            )
            self._put(oh, orec)
        counts = self._counts(orec)
        info = DedupInfo(
            kind="exact",
            content_hash=prepared.content_hash,
            story_id=orec.story_id,
            duplicate_of=orec.id,
            similarity=1.0,
            first_seen=rfc3339(orec.first_seen),
            duplicate_count=counts.duplicate_count,
            duplicate_sources=counts.duplicate_sources,
        )
        return Decision(info, emit=False, counts=counts)

    # -- the decision --

    def decide(
        self, article: Article, now: float, prepared: Prepared | None = None
    ) -> Decision:
        """Classify ``article`` seen at ``now`` (epoch seconds) and update the state.

        ``prepared`` is :func:`prepare`'s result when it was computed elsewhere (the Faust
        prepare stage); it is computed here otherwise.
        """
        p = prepared if prepared is not None else prepare(article)
        st = self.state
        h = handle(article.id)
        rec = self._doc(h, now)
        if rec is not None and rec.id != article.id:
            rec = None  # a 96-bit handle collision: treat as unseen (and overwrite)

        if rec is not None:
            if rec.content_hash == p.content_hash:
                ident = copy_identity(article)
                if ident == rec.identity:
                    self._index(h, rec)  # a crash may have cut the first writes
                    return Decision(self._info("replay", rec, p), emit=True)
                return self._copy(h, rec, article, p, now)
            # revision: same id, new content; keep first_seen and the story
            self._unindex(h, rec)
            new = dataclasses.replace(
                rec,
                content_hash=p.content_hash,
                signature=p.signature,
                mode=p.mode,
                last_seen=max(rec.last_seen, now),
                identity=copy_identity(article),
            )
            self._put(h, new)
            self._index(h, new)
            return Decision(self._info("revision", new, p), emit=True)

        if p.mode != "empty":
            oh = st.hashes.get(p.content_hash)
            if oh is not None:
                orec = self._doc(oh, now)
                if orec is not None and orec.content_hash == p.content_hash:
                    return self._copy(oh, orec, article, p, now)
                _drop(st.hashes, p.content_hash)  # stale: expired or revised away

        match: tuple[float, float, str, DocRecord] | None = None
        known: dict[str, Any] = {}
        if p.signature is not None:
            seen: set[str] = {h}
            for key in band_keys(p.signature, self.bands, self.rows):
                members = known[key] = st.buckets.get(key)
                if not members:
                    continue
                for ch in list(members):
                    if ch in seen:
                        continue
                    seen.add(ch)
                    crec = self._doc(ch, now)
                    if crec is None or crec.signature is None or crec.mode != p.mode:
                        continue
                    sim = similarity(p.signature, crec.signature)
                    if sim < self.threshold:
                        continue
                    cand = (crec.first_seen, -sim, crec.id, crec)
                    if match is None or cand[:3] < match[:3]:
                        match = cand

        rec = DocRecord(
            id=article.id,
            content_hash=p.content_hash,
            mode=p.mode,
            signature=p.signature,
            first_seen=now,
            last_seen=now,
            story_id=article.id,
            identity=copy_identity(article),
        )
        kind = "new"
        if match is not None:
            _, neg_sim, _, crec = match
            rec = dataclasses.replace(
                rec, story_id=crec.story_id, duplicate_of=crec.id, similarity=round(-neg_sim, 4)
            )
            kind = "near"
        self._put(h, rec)
        self._index(h, rec, known)
        return Decision(self._info(kind, rec, p), emit=True)

    # -- the derived index --

    def reindex(self, now: float, step: int = 2000) -> Iterator[int]:
        """Rebuild ``hashes`` and ``buckets`` from ``docs`` (the caller emptied them first).

        Yields the running count every ``step`` docs so an async caller can yield to the event
        loop. Expired docs are skipped (the sweep deletes them; only a stream may write a
        Faust table). Bucket order after a rebuild is key order, not arrival order.
        """
        self._records.clear()
        n = 0
        for h in self.state.scan_docs():
            raw = self.state.docs.get(h)
            if raw is None or not self._live(float(raw["ls"]), now):
                continue
            self._index(h, DocRecord.from_dict(raw))
            n += 1
            if n % step == 0:
                yield n
        yield n

    # -- expiry --

    def restart_sweep(self) -> None:
        """Start the next sweep from the first doc (after the store was rebuilt or closed)."""
        self._sweep_iter = None

    def sweep(self, now: float, budget: int = 10_000) -> int:
        """Look at up to ``budget`` docs and remove the expired ones; returns how many.

        Keeps its place between calls (a full pass takes docs/budget calls), so the caller can
        run it on a timer without ever blocking long.
        """
        removed = 0
        looked = 0
        while looked < budget:
            if self._sweep_iter is None:
                self._sweep_iter = self.state.scan_docs()
            try:
                h = next(self._sweep_iter)
            except StopIteration:
                self._sweep_iter = None
                break
            looked += 1
            raw = self.state.docs.get(h)
            if raw is not None and not self._live(float(raw["ls"]), now):
                self._remove(h, DocRecord.from_dict(raw))
                removed += 1
        return removed
