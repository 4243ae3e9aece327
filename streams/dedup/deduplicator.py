"""Deduplication: normalization, fingerprints, MinHash/LSH and the decision, as pure functions.

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

Normalization strips what reprints change but readers do not: wire prefixes ("UPDATE 1-",
"RPT-", "EXCLUSIVE-"), wire/syndicator suffixes ("- Reuters", "| AP News", the article's own
source), bracketed markers ("(UPDATED)"), the wire dateline ("LONDON, Nov 26 (Reuters) - "),
trailing reporting credits and a few agency boilerplate lines; then NFKC, casefold and words.

Similarity: rensa's MinHash (128 permutations) over word 5-shingles of the body, or character
4-grams of the title for items with (almost) no body. The signature is stored as b-bit minhash
(the low 16 bits of each value: 256 bytes; the estimate is bias-corrected for the 2^-16 chance
of an accidental match). LSH: ``bands`` x ``rows`` chosen from the threshold so that a pair AT
the threshold becomes a candidate with probability >= 0.99 using the fewest bands (each band is
one state write per article); every candidate is verified by the estimated Jaccard.

State (the :class:`DedupState` interface: three mutable mappings, plain dicts or Faust tables)
-------------------------------------------------------------------------------------------
* ``docs``    handle -> doc record (id, content hash, first/last seen, story, duplicate_of,
  signature, own identity, copy identities and copy sources). ``handle`` = 96-bit hash of the
  id (16 chars), so bucket lists stay short. The ONLY durable state: in the Faust stage it is
  the changelogged table, one write per article.
* ``hashes``  content hash -> handle of the live article that first had that content.
* ``buckets`` LSH band key -> handles (capped at ``BUCKET_CAP``: the first ``BUCKET_KEEP_FIRST``
  entries, the story roots, are kept, the oldest of the rest dropped).

``hashes`` and ``buckets`` are derived from ``docs`` (:meth:`Deduplicator.reindex`): the Faust
stage keeps them in a local, unreplicated RocksDB and rebuilds them after every recovery, so a
new article costs one changelog message, not one per band.

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
import functools
import json
import math
import re
import unicodedata
from array import array
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import xxhash
from rensa import RMinHash

from streams.model import Article, DedupInfo

NUM_PERM = 128
SEED = 20261126
SHINGLE_WORDS = 5  # fixed: shingles() zips five word lists
TITLE_CHAR_GRAM = 4
# A body shorter than this many words carries too little text to compare: use the title too.
MIN_BODY_WORDS = 2 * SHINGLE_WORDS
LSH_TARGET_RECALL = 0.99
BUCKET_CAP = 32
BUCKET_KEEP_FIRST = 8
_BBIT_MATCH = 1.0 / 65536  # chance that two different 32-bit minhashes share their low 16 bits

# --- normalization ------------------------------------------------------------------------------

_WIRES = (
    r"Reuters|Thomson Reuters|AP|AP News|The Associated Press|Associated Press|AFP|"
    r"Agence France[- ]Presse|Bloomberg|Bloomberg News|dpa|EFE|ANSA|Xinhua|TASS|Interfax|"
    r"RIA Novosti|PTI|IANS|UPI|Kyodo|Kyodo News|Yonhap|Anadolu|Anadolu Agency|"
    r"Yahoo News|Yahoo Finance|MSN"
)
_DASH = r"(?:-|–|—|:|\|)"
WIRE_PREFIX = re.compile(
    r"^\s*(?:(?:UPDATE|UPDATED|WRAPUP|REFILE|RPT|REPEAT|CORRECTED|CORRECTION|EXCLUSIVE|"
    r"ANALYSIS|FACTBOX|INSIGHT|EXPLAINER|PREVIEW|TIMELINE|BRIEF|BREAKING|BREAKINGVIEWS|URGENT|"
    r"FLASH|ALERT|FOCUS|COLUMN|DEVELOPING|LIVE|WATCH|VIDEO)(?:\s*\d{1,2})?\s*" + _DASH + r"\s*)+",
    re.IGNORECASE,
)
_MARKER = re.compile(
    r"[\[(]\s*(?:updated?|update \d{1,2}|corrected|refiled?|repeat|video|photos?|watch|live|"
    + _WIRES
    + r")\s*[\])]",
    re.IGNORECASE,
)
_WIRE_SUFFIX = re.compile(r"\s*" + _DASH + r"\s*(?:" + _WIRES + r")\s*$", re.IGNORECASE)
_DATELINE = re.compile(
    r"^\s*[^\n()]{0,80}?\(\s*(?:" + _WIRES + r")\s*\)\s*(?:-|–|—|:)*\s*", re.IGNORECASE
)
_CREDITS = re.compile(
    r"\(\s*(?:reporting|additional reporting|writing|editing|compiled|research)\b[^()]*\)\s*$",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"(?:our standards:\s*the thomson reuters trust principles\.?"
    r"|copyright \d{4} the associated press\.? all rights reserved\.?"
    r"|this story has (?:been published|not been edited)[^\n]*"
    r"|\(?this article (?:was|has been) (?:auto-generated|published)"
    r" from a (?:wire|syndicated)[^\n]*)"
    r"\s*$",
    re.IGNORECASE,
)
_TAIL = 1000  # credits and boilerplate sit at the end: only the tail is searched for them


@functools.cache
def _separators() -> dict[int, str]:
    """Every punctuation, symbol, separator and control character -> a space.

    ``str.translate`` + ``split`` is ~4x faster than ``re.findall(r"\\w+")`` and keeps
    combining marks inside words (Devanagari vowel signs), which ``\\w`` would split on.
    """
    return {
        i: " "
        for i in range(0x30000)
        if unicodedata.category(chr(i))[0] in "PSZC"
    }


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFKC", text).casefold().translate(_separators()).split()


def normalize_title(title: str | None, source: str | None = None) -> list[str]:
    """Title words without wire prefixes/suffixes and markers ("UPDATE 1-", "- Reuters")."""
    if not title:
        return []
    t = unicodedata.normalize("NFKC", title)
    t = _MARKER.sub(" ", t)
    t = WIRE_PREFIX.sub("", t)
    own = source.strip().casefold() if source else ""
    for _ in range(3):  # "... - Reuters | Yahoo Finance"
        before = t
        t = _WIRE_SUFFIX.sub("", t).rstrip()
        if own and t.casefold().endswith(own):  # "... - <the article's own source>"
            head = t[: len(t) - len(own)].rstrip()
            if head and head[-1] in "-–—:|":
                t = head[:-1].rstrip()
        if t == before:
            break
    return _words(t)


def normalize_body(body: str | None) -> list[str]:
    """Body words without the wire dateline, trailing credits and agency boilerplate."""
    if not body:
        return []
    b = unicodedata.normalize("NFKC", body).strip()
    b = _DATELINE.sub("", b, count=1)
    cut = max(0, len(b) - _TAIL)
    head, tail = b[:cut], b[cut:]
    for _ in range(4):
        before = tail
        tail = _BOILERPLATE.sub("", tail).rstrip()
        tail = _CREDITS.sub("", tail).rstrip()
        if tail == before:
            break
    return _words(head + tail)


# --- fingerprints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """The state-free part of the decision: content hash and MinHash signature.

    ``signature`` is None when there is no text to compare; ``mode`` says which text it is from.
    """

    content_hash: str
    signature: bytes | None
    mode: str  # "body" | "title" | "empty"

    def to_dict(self) -> dict[str, Any]:
        sig = base64.b64encode(self.signature).decode() if self.signature is not None else None
        return {"h": self.content_hash, "g": sig, "m": self.mode}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prepared:
        sig = base64.b64decode(d["g"]) if d.get("g") else None
        return cls(content_hash=str(d["h"]), signature=sig, mode=str(d.get("m") or "body"))


def content_hash(title_words: list[str], body_words: list[str]) -> str:
    """xxh3-128 of the normalized title and body (32 hex chars)."""
    text = " ".join(title_words) + "\n" + " ".join(body_words)
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def shingles(title_words: list[str], body_words: list[str]) -> tuple[list[str], str]:
    """Tokens for MinHash and the mode: word 5-shingles of the body, else title char 4-grams."""
    if len(body_words) >= MIN_BODY_WORDS:
        w = body_words
        return list(map(" ".join, zip(w, w[1:], w[2:], w[3:], w[4:], strict=False))), "body"
    words = title_words + body_words
    if not words:
        return [], "empty"
    text = " ".join(words)
    n = TITLE_CHAR_GRAM
    if len(text) <= n:
        return [text], "title"
    return [text[i : i + n] for i in range(len(text) - n + 1)], "title"


def signature(tokens: list[str]) -> bytes:
    """b-bit (16) MinHash signature of the tokens: NUM_PERM x uint16, 256 bytes."""
    mh = RMinHash(num_perm=NUM_PERM, seed=SEED)
    mh.update(tokens)
    return array("H", [v & 0xFFFF for v in mh.digest()]).tobytes()


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard of two b-bit signatures (bias-corrected, clamped to 0..1)."""
    sa, sb = array("H"), array("H")
    sa.frombytes(a)
    sb.frombytes(b)
    if len(sa) != len(sb) or not sa:
        return 0.0
    equal = sum(1 for x, y in zip(sa, sb, strict=True) if x == y) / len(sa)
    est = (equal - _BBIT_MATCH) / (1.0 - _BBIT_MATCH)
    return min(1.0, max(0.0, est))


def prepare(article: Article) -> Prepared:
    """Normalize and fingerprint one article (stateless: runs on any partition)."""
    tw = normalize_title(article.title, article.source)
    bw = normalize_body(article.body)
    h = content_hash(tw, bw)
    tokens, mode = shingles(tw, bw)
    return Prepared(h, signature(tokens) if tokens else None, mode)


def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows): the fewest bands reaching LSH_TARGET_RECALL at ``threshold``.

    Rows start at 2: one 16-bit value alone would make buckets collide at random.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    best: tuple[int, int] | None = None
    for rows in range(2, num_perm // 2 + 1):
        p = threshold**rows
        if p >= 1.0:
            bands = 1
        elif p < 1e-9:
            break
        else:
            bands = math.ceil(math.log(1.0 - LSH_TARGET_RECALL) / math.log(1.0 - p))
        if bands * rows > num_perm:
            continue
        if best is None or bands < best[0] or (bands == best[0] and rows > best[1]):
            best = (bands, rows)
    if best is None:  # a very low threshold: use every permutation in 2-row bands
        best = (num_perm // 2, 2)
    return best


def band_keys(sig: bytes, bands: int, rows: int) -> list[str]:
    """One bucket key per band: band number + 64-bit hash of its rows (hex)."""
    width = rows * 2
    return [
        f"{b:02d}{xxhash.xxh3_64_hexdigest(sig[b * width : (b + 1) * width])}" for b in range(bands)
    ]


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


def rfc3339(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


# --- state ---------------------------------------------------------------------------------------


class DedupState(Protocol):
    """Three mutable mappings; values are JSON-friendly (dicts, lists, str).

    Plain dicts and Faust tables both satisfy it. Records read from it are never mutated in
    place: the decision always writes a new value, so a Faust changelog sees every change.
    """

    docs: MutableMapping[str, Any]
    hashes: MutableMapping[str, Any]
    buckets: MutableMapping[str, Any]

    def scan_docs(self) -> Iterator[str]:
        """Doc handles, safe to keep iterating while entries are deleted."""
        ...


class MappingState:
    """A :class:`DedupState` over any three mappings (dicts in memory, Faust tables, ...)."""

    def __init__(
        self,
        docs: MutableMapping[str, Any],
        hashes: MutableMapping[str, Any],
        buckets: MutableMapping[str, Any],
    ) -> None:
        self.docs = docs
        self.hashes = hashes
        self.buckets = buckets

    def scan_docs(self) -> Iterator[str]:
        if isinstance(self.docs, dict):
            yield from list(self.docs)  # a dict cannot be iterated while it changes
            return
        try:
            yield from self.docs.keys()
        except RuntimeError:  # an in-memory store changed under us: the next cycle resumes
            return


class InMemoryState(MappingState):
    """Plain dicts: for ``newsstream enrich`` offline and for tests."""

    def __init__(self) -> None:
        super().__init__({}, {}, {})


class JsonRocksMapping(MutableMapping[str, Any]):
    """A local RocksDB (rocksdict) mapping with JSON values: the derived LSH/hash index.

    Not replicated: it is rebuilt from the docs table (:meth:`Deduplicator.reindex`) whenever
    the worker (re)gains the decide partition, so it can never disagree with the changelog.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._open()

    def _open(self) -> None:
        from rocksdict import Rdict

        self.db = Rdict(self.path)

    def reset(self) -> None:
        """Drop every entry (faster than deleting keys one by one)."""
        from rocksdict import Rdict

        self.db.close()
        Rdict.destroy(self.path)
        self._open()

    def __getitem__(self, k: str) -> Any:
        raw = self.db.get(k.encode())
        if raw is None:
            raise KeyError(k)
        return json.loads(raw)

    def get(self, k: str, default: Any = None) -> Any:
        raw = self.db.get(k.encode())
        return default if raw is None else json.loads(raw)

    def __contains__(self, k: object) -> bool:
        return isinstance(k, str) and self.db.get(k.encode()) is not None

    def __setitem__(self, k: str, v: Any) -> None:
        self.db[k.encode()] = json.dumps(v, separators=(",", ":")).encode()

    def __delitem__(self, k: str) -> None:
        del self.db[k.encode()]

    def __iter__(self) -> Iterator[str]:
        for k in self.db.keys():  # noqa: SIM118 (rocksdict's key iterator)
            yield k.decode()

    def __len__(self) -> int:
        return sum(1 for _ in self.db.keys())  # noqa: SIM118

    def close(self) -> None:
        self.db.close()


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

    # -- helpers --

    def _live(self, rec: Any, now: float) -> bool:
        return rec is not None and float(rec["ls"]) >= now - self.horizon

    def _doc(self, h: str, now: float) -> dict[str, Any] | None:
        """The live record under handle ``h``; an expired one is removed on the way."""
        rec = self.state.docs.get(h)
        if rec is None:
            return None
        if not self._live(rec, now):
            self._remove(h, rec)
            return None
        return dict(rec)

    def _sig(self, rec: dict[str, Any]) -> bytes | None:
        g = rec.get("g")
        return base64.b64decode(g) if g else None

    def _index(
        self, h: str, rec: dict[str, Any], known: dict[str, Any] | None = None
    ) -> None:
        """Register a doc's content hash and LSH buckets (idempotent: also repairs).

        ``known``: buckets the caller has just read (saves a second store read per band).
        """
        st = self.state
        if rec.get("m") != "empty" and st.hashes.get(rec["h"]) is None:
            st.hashes[rec["h"]] = h
        sig = self._sig(rec)
        if sig is None:
            return
        for key in band_keys(sig, self.bands, self.rows):
            members = list((known[key] if known and key in known else st.buckets.get(key)) or ())
            if h in members:
                continue
            members.append(h)
            if len(members) > BUCKET_CAP:
                del members[BUCKET_KEEP_FIRST]
            st.buckets[key] = members

    def _unindex(self, h: str, rec: dict[str, Any]) -> None:
        st = self.state
        if st.hashes.get(rec["h"]) == h:
            del st.hashes[rec["h"]]
        sig = self._sig(rec)
        if sig is None:
            return
        for key in band_keys(sig, self.bands, self.rows):
            members = st.buckets.get(key)
            if not members or h not in members:
                continue
            rest = [m for m in members if m != h]
            if rest:
                st.buckets[key] = rest
            else:
                del st.buckets[key]

    def _remove(self, h: str, rec: dict[str, Any]) -> None:
        self._unindex(h, rec)
        _drop(self.state.docs, h)

    def _info(self, kind: str, rec: dict[str, Any], prepared: Prepared) -> DedupInfo:
        return DedupInfo(
            kind=kind,
            content_hash=prepared.content_hash,
            story_id=rec["st"],
            duplicate_of=rec.get("of"),
            similarity=rec.get("sim"),
            first_seen=rfc3339(float(rec["fs"])),
            duplicate_count=len(rec.get("c") or ()),
            duplicate_sources=tuple(sorted(set(rec.get("cs") or ()))),
        )

    def _counts(self, rec: dict[str, Any]) -> Counts:
        return Counts(
            id=rec["id"],
            duplicate_count=len(rec.get("c") or ()),
            duplicate_sources=tuple(sorted(set(rec.get("cs") or ()))),
        )

    def _copy(
        self, oh: str, orec: dict[str, Any], article: Article, prepared: Prepared, now: float
    ) -> Decision:
        """An exact copy of ``orec``: add its identity to the set (once) and report counts."""
        ident = copy_identity(article)
        if ident != orec.get("me") and ident not in (orec.get("c") or ()):
            orec = {
                **orec,
                "c": [*(orec.get("c") or ()), ident],
                "cs": sorted({*(orec.get("cs") or ()), source_name(article)}),
                "ls": max(float(orec["ls"]), now),
            }
            self.state.docs[oh] = orec
        counts = self._counts(orec)
        info = DedupInfo(
            kind="exact",
            content_hash=prepared.content_hash,
            story_id=orec["st"],
            duplicate_of=orec["id"],
            similarity=1.0,
            first_seen=rfc3339(float(orec["fs"])),
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
        if rec is not None and rec["id"] != article.id:
            rec = None  # a 96-bit handle collision: treat as unseen (and overwrite)

        if rec is not None:
            if rec["h"] == p.content_hash:
                ident = copy_identity(article)
                if ident == rec.get("me"):
                    self._index(h, rec)  # a crash may have cut the first writes
                    return Decision(self._info("replay", rec, p), emit=True)
                return self._copy(h, rec, article, p, now)
            # revision: same id, new content; keep first_seen and the story
            self._unindex(h, rec)
            new = {
                **rec,
                "h": p.content_hash,
                "g": base64.b64encode(p.signature).decode() if p.signature else None,
                "m": p.mode,
                "ls": max(float(rec["ls"]), now),
                "me": copy_identity(article),
            }
            st.docs[h] = new
            self._index(h, new)
            return Decision(self._info("revision", new, p), emit=True)

        if p.mode != "empty":
            oh = st.hashes.get(p.content_hash)
            if oh is not None:
                orec = self._doc(oh, now)
                if orec is not None and orec["h"] == p.content_hash:
                    return self._copy(oh, orec, article, p, now)
                if orec is None or orec["h"] != p.content_hash:
                    _drop(st.hashes, p.content_hash)  # stale: expired or revised away

        match: tuple[float, float, str, dict[str, Any]] | None = None
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
                    if crec is None:
                        continue
                    csig = self._sig(crec)
                    if csig is None or crec.get("m") != p.mode:
                        continue
                    sim = similarity(p.signature, csig)
                    if sim < self.threshold:
                        continue
                    cand = (float(crec["fs"]), -sim, crec["id"], crec)
                    if match is None or cand[:3] < match[:3]:
                        match = cand

        rec = {
            "id": article.id,
            "h": p.content_hash,
            "m": p.mode,
            "g": base64.b64encode(p.signature).decode() if p.signature else None,
            "fs": now,
            "ls": now,
            "st": article.id,
            "of": None,
            "sim": None,
            "me": copy_identity(article),
            "c": [],
            "cs": [],
        }
        kind = "new"
        if match is not None:
            _, neg_sim, _, crec = match
            rec.update(st=crec["st"], of=crec["id"], sim=round(-neg_sim, 4))
            kind = "near"
        st.docs[h] = rec
        self._index(h, rec, known)
        return Decision(self._info(kind, rec, p), emit=True)

    # -- the derived index --

    def reindex(self, now: float, step: int = 2000) -> Iterator[int]:
        """Rebuild ``hashes`` and ``buckets`` from ``docs`` (the caller emptied them first).

        Yields the running count every ``step`` docs so an async caller can yield to the event
        loop. Expired docs are skipped (the sweep deletes them; only a stream may write a
        Faust table). Bucket order after a rebuild is key order, not arrival order.
        """
        n = 0
        for h in self.state.scan_docs():
            rec = self.state.docs.get(h)
            if rec is None or not self._live(rec, now):
                continue
            self._index(h, dict(rec))
            n += 1
            if n % step == 0:
                yield n
        yield n

    # -- expiry --

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
            rec = self.state.docs.get(h)
            if rec is not None and not self._live(rec, now):
                self._remove(h, rec)
                removed += 1
        return removed


def state_bytes(state: MappingState) -> dict[str, int]:
    """Approximate serialized size (JSON key + value bytes) of each mapping and in total."""
    out: dict[str, int] = {}
    for name in ("docs", "hashes", "buckets"):
        m = getattr(state, name)
        out[name] = sum(
            len(json.dumps(k)) + len(json.dumps(v, separators=(",", ":"))) for k, v in m.items()
        )
    out["total"] = sum(out.values())
    return out
