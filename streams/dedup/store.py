"""The dedup state: the typed record of one article and the mappings that hold the records.

Three mutable mappings (the :class:`DedupState` interface: plain dicts or Faust tables):

* ``docs``    handle -> :class:`DocRecord` (serialized by :meth:`DocRecord.to_dict`). ``handle``
  = 96-bit hash of the id (16 chars), so bucket lists stay short. The ONLY durable state: in the
  Faust stage it is the changelogged table, one write per article.
* ``hashes``  content hash -> handle of the live article that first had that content.
* ``buckets`` LSH band key -> handles (capped: the story roots are kept, the oldest of the rest
  dropped).

``hashes`` and ``buckets`` are derived from ``docs`` (``Deduplicator.reindex``): the Faust stage
keeps them in a local, unreplicated RocksDB (:class:`JsonRocksMapping`) and rebuilds them after
every recovery, so a new article costs one changelog message, not one per band.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.model import encode_internal, parse_internal


@dataclass(frozen=True, slots=True)
class DocRecord:
    """One live article in the ``docs`` mapping.

    Stored with one- or two-letter keys and without empty optional fields (one record per live
    article lives in a changelogged table); :meth:`from_dict` reads every record ever written,
    including those that spelled out ``of``/``sim``/``c``/``cs`` as null or empty.
    """

    id: str
    content_hash: str
    mode: str  # what the signature is built from: "body" | "title" | "empty"
    signature: bytes | None
    first_seen: float  # epoch seconds
    last_seen: float
    story_id: str  # the id of the story's first article
    identity: str  # copy identity (source + raw URL) of this article's own copy
    duplicate_of: str | None = None  # near duplicates: the earliest matching article
    similarity: float | None = None
    copies: tuple[str, ...] = ()  # copy identities of its exact duplicates (a set, in order seen)
    copy_sources: tuple[str, ...] = ()  # their sources, sorted

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "h": self.content_hash,
            "m": self.mode,
            "fs": self.first_seen,
            "ls": self.last_seen,
            "st": self.story_id,
            "me": self.identity,
        }
        if self.signature is not None:
            d["g"] = base64.b64encode(self.signature).decode()
        if self.duplicate_of is not None:
            d["of"] = self.duplicate_of
        if self.similarity is not None:
            d["sim"] = self.similarity
        if self.copies:
            d["c"] = list(self.copies)
        if self.copy_sources:
            d["cs"] = list(self.copy_sources)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DocRecord:
        g = d.get("g")
        return cls(
            id=str(d["id"]),
            content_hash=str(d["h"]),
            mode=str(d.get("m") or "body"),
            signature=base64.b64decode(g) if g else None,
            first_seen=float(d["fs"]),
            last_seen=float(d["ls"]),
            story_id=str(d.get("st") or d["id"]),
            identity=str(d.get("me") or ""),
            duplicate_of=d.get("of"),
            similarity=d.get("sim"),
            copies=tuple(d.get("c") or ()),
            copy_sources=tuple(d.get("cs") or ()),
        )

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
        return parse_internal(raw)

    def get(self, k: str, default: Any = None) -> Any:
        raw = self.db.get(k.encode())
        return default if raw is None else parse_internal(raw)

    def __contains__(self, k: object) -> bool:
        return isinstance(k, str) and self.db.get(k.encode()) is not None

    def __setitem__(self, k: str, v: Any) -> None:
        self.db[k.encode()] = encode_internal(v)

    def __delitem__(self, k: str) -> None:
        del self.db[k.encode()]

    def __iter__(self) -> Iterator[str]:
        for k in self.db.keys():  # noqa: SIM118 (rocksdict's key iterator)
            yield k.decode()

    def __len__(self) -> int:
        return sum(1 for _ in self.db.keys())  # noqa: SIM118

    def close(self) -> None:
        self.db.close()


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
