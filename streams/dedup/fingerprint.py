"""Fingerprints: the content hash, the b-bit MinHash signature and its LSH bands (stateless).

Similarity: rensa's MinHash (128 permutations) over word 5-shingles of the body, or character
4-grams of the title for items with (almost) no body. The signature is stored as b-bit minhash
(the low 16 bits of each value: 256 bytes; the estimate is bias-corrected for the 2^-16 chance
of an accidental match). LSH: ``bands`` x ``rows`` chosen from the threshold so that a pair AT
the threshold becomes a candidate with probability >= 0.99 using the fewest bands (each band is
one state write per article); every candidate is verified by the estimated Jaccard.
"""

from __future__ import annotations

import base64
import math
import operator
from array import array
from dataclasses import dataclass
from typing import Any

import xxhash
from rensa import RMinHash

from streams.dedup.normalize import normalize_body, normalize_title
from streams.model import Article

NUM_PERM = 128
SEED = 20261126
SHINGLE_WORDS = 5  # fixed: shingles() zips five word lists
TITLE_CHAR_GRAM = 4
# A body shorter than this many words carries too little text to compare: use the title too.
MIN_BODY_WORDS = 2 * SHINGLE_WORDS
LSH_TARGET_RECALL = 0.99
_BBIT_MATCH = 1.0 / 65536  # chance that two different 32-bit minhashes share their low 16 bits

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
    equal = sum(map(operator.eq, sa, sb)) / len(sa)  # the lanes that agree
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
