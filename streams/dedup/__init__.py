"""Stage 2, dedup: exact and near-duplicate detection over the validated articles.

``from streams import dedup`` gives the stage's public names from its modules:
:mod:`.normalize` -> :mod:`.fingerprint` -> :mod:`.store` -> :mod:`.deduplicator`.
"""

from streams.dedup.deduplicator import (
    BUCKET_CAP,
    BUCKET_KEEP_FIRST,
    Counts,
    Decision,
    Deduplicator,
    copy_identity,
    handle,
    source_name,
)
from streams.dedup.fingerprint import (
    LSH_TARGET_RECALL,
    NUM_PERM,
    Prepared,
    band_keys,
    content_hash,
    lsh_params,
    prepare,
    shingles,
    signature,
    similarity,
)
from streams.dedup.normalize import normalize_body, normalize_title
from streams.dedup.store import (
    DedupState,
    DocRecord,
    InMemoryState,
    JsonRocksMapping,
    MappingState,
    state_bytes,
)

__all__ = [
    "BUCKET_CAP",
    "BUCKET_KEEP_FIRST",
    "LSH_TARGET_RECALL",
    "NUM_PERM",
    "Counts",
    "Decision",
    "DedupState",
    "Deduplicator",
    "DocRecord",
    "InMemoryState",
    "JsonRocksMapping",
    "MappingState",
    "Prepared",
    "band_keys",
    "content_hash",
    "copy_identity",
    "handle",
    "lsh_params",
    "normalize_body",
    "normalize_title",
    "prepare",
    "shingles",
    "signature",
    "similarity",
    "source_name",
    "state_bytes",
]
