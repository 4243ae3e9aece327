"""The dedup decision, normalization and MinHash/LSH, without Kafka (streams.dedup)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from streams import dedup
from streams.ingest import contract
from streams.model import Article

DATA = Path(__file__).resolve().parents[2] / "data" / "dedup_labelled.jsonl"
T0 = 1_800_000_000.0
DAY = 86400.0

_rng = random.Random(7)
_VOCAB = [
    "".join(_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_rng.randint(2, 9)))
    for _ in range(4000)
]


def text(n: int, seed: int) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(_VOCAB) for _ in range(n))


def art(url: str, body: str | None, title: str = "A headline", source: str = "Src") -> Article:
    return contract.validate_record({"url": url, "title": title, "body": body, "source": source})


class JsonMapping(MutableMapping[str, Any]):
    """A dict that stores JSON text, like a Faust table: reads return fresh copies."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def __getitem__(self, k: str) -> Any:
        return json.loads(self.data[k])

    def __setitem__(self, k: str, v: Any) -> None:
        self.data[k] = json.dumps(v)

    def __delitem__(self, k: str) -> None:
        del self.data[k]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)


def json_state() -> dedup.MappingState:
    return dedup.MappingState(JsonMapping(), JsonMapping(), JsonMapping())


# --- normalization --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "UPDATE 1-Fed holds rates steady",
        "RPT-UPDATE 2-Fed holds rates steady - Reuters",
        "EXCLUSIVE: Fed holds rates steady | AP News",
        "Fed holds rates steady (UPDATED)",
        "Fed holds rates steady - Example Daily",
        "Fed holds rates steady - Reuters | Yahoo Finance",
    ],
)
def test_wire_prefixes_and_suffixes_are_normalized_away(title: str) -> None:
    assert dedup.normalize_title(title, "Example Daily") == ["fed", "holds", "rates", "steady"]


def test_a_dash_inside_a_title_is_kept() -> None:
    assert dedup.normalize_title("Prices rise - again") == ["prices", "rise", "again"]


def test_dateline_credits_and_boilerplate_are_stripped() -> None:
    body = (
        "LONDON, Nov 26 (Reuters) - The bank kept rates on hold.\n"
        "(Reporting by A. Writer; Editing by B. Editor)\n"
        "Our Standards: The Thomson Reuters Trust Principles."
    )
    assert dedup.normalize_body(body) == ["the", "bank", "kept", "rates", "on", "hold"]
    assert dedup.normalize_body("WASHINGTON (AP) — Congress met.") == ["congress", "met"]


def test_words_keep_non_latin_scripts_and_combining_marks() -> None:
    assert dedup.normalize_body("Привет, МИР! नमस्ते") == ["привет", "мир", "नमस्ते"]


# --- MinHash / LSH --------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_lsh_params_make_a_pair_at_the_threshold_a_candidate(threshold: float) -> None:
    bands, rows = dedup.lsh_params(threshold)
    assert bands * rows <= dedup.NUM_PERM
    assert rows >= 2
    assert 1 - (1 - threshold**rows) ** bands >= dedup.LSH_TARGET_RECALL


def test_similarity_estimates_jaccard() -> None:
    base = [f"t{i}" for i in range(1000)]
    for overlap in (1000, 800, 500, 100, 0):
        other = base[:overlap] + [f"u{i}" for i in range(1000 - overlap)]
        true = overlap / (2000 - overlap)
        est = dedup.similarity(dedup.signature(base), dedup.signature(other))
        assert abs(est - true) < 0.15, (overlap, est, true)
    assert dedup.similarity(dedup.signature(base), dedup.signature(base)) == 1.0


def test_prepared_survives_the_wire_and_gives_the_same_decision() -> None:
    a = art("https://x.example/a", text(200, 1))
    p = dedup.prepare(a)
    assert dedup.Prepared.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    d1 = dedup.Deduplicator().decide(a, T0, prepared=p)
    d2 = dedup.Deduplicator().decide(a, T0)
    assert d1 == d2


# --- the decision ---------------------------------------------------------------------------


@pytest.fixture(params=["dict", "json"])
def dd(request: pytest.FixtureRequest) -> dedup.Deduplicator:
    state = dedup.InMemoryState() if request.param == "dict" else json_state()
    return dedup.Deduplicator(state, threshold=0.7, horizon_days=30)


def test_new_then_replay_is_passed_on_and_never_counted(dd: dedup.Deduplicator) -> None:
    a = art("https://x.example/a", text(200, 1))
    first = dd.decide(a, T0)
    assert first.info.kind == "new" and first.emit and first.counts is None
    assert first.info.story_id == a.id
    again = dd.decide(a, T0 + 5)
    assert again.info.kind == "replay" and again.emit and again.counts is None
    assert again.info.first_seen == first.info.first_seen
    assert again.info.duplicate_count == 0


def test_exact_copies_are_counted_once_each_and_replays_do_not_count(
    dd: dedup.Deduplicator,
) -> None:
    body = text(200, 2)
    orig = art("https://x.example/a", body, "Big news", "X")
    wire = art("https://wire.example/b", "PARIS (AFP) - " + body, "UPDATE 1-Big news - AFP", "AFP")
    tracked = art("https://www.x.example/a?utm_source=tw", body, "Big news", "X Social")
    dd.decide(orig, T0)
    d = dd.decide(wire, T0 + 1)
    assert d.info.kind == "exact" and not d.emit
    assert d.counts == dedup.Counts(orig.id, 1, ("AFP",))
    assert dd.decide(wire, T0 + 2).counts == dedup.Counts(orig.id, 1, ("AFP",))  # replay
    assert tracked.id == orig.id
    d = dd.decide(tracked, T0 + 3)
    assert d.info.kind == "exact" and not d.emit
    assert d.counts == dedup.Counts(orig.id, 2, ("AFP", "X Social"))
    assert dd.decide(tracked, T0 + 4).counts == dedup.Counts(orig.id, 2, ("AFP", "X Social"))
    replay = dd.decide(orig, T0 + 5)
    assert replay.info.kind == "replay" and replay.info.duplicate_count == 2


def test_revision_keeps_id_first_seen_and_story(dd: dedup.Deduplicator) -> None:
    body = text(200, 3)
    a = art("https://x.example/a", body)
    first = dd.decide(a, T0)
    b = art("https://x.example/a?utm_source=x", body + " and one more sentence here")
    rev = dd.decide(b, T0 + 3600)
    assert rev.info.kind == "revision" and rev.emit
    assert rev.info.first_seen == first.info.first_seen
    assert rev.info.story_id == a.id and rev.info.content_hash != first.info.content_hash
    # the old content no longer matches exactly; the new one replays
    assert dd.decide(b, T0 + 3601).info.kind == "replay"


def test_near_duplicates_share_the_story_of_the_first_article(dd: dedup.Deduplicator) -> None:
    words = text(300, 4).split()
    a = art("https://x.example/a", " ".join(words))
    words[100] = "different"
    b = art("https://y.example/b", " ".join(words))
    words[200] = "changed"
    c = art("https://z.example/c", " ".join(words))
    unrelated = art("https://w.example/d", text(300, 5))
    assert dd.decide(a, T0).info.kind == "new"
    db = dd.decide(b, T0 + 1)
    assert db.info.kind == "near" and db.emit
    assert db.info.duplicate_of == a.id and db.info.story_id == a.id
    assert db.info.similarity is not None and db.info.similarity >= 0.7
    dc = dd.decide(c, T0 + 2)
    assert dc.info.kind == "near" and dc.info.story_id == a.id and dc.info.duplicate_of == a.id
    du = dd.decide(unrelated, T0 + 3)
    assert du.info.kind == "new" and du.info.story_id == unrelated.id


def test_entries_expire_after_the_horizon_and_sweep_empties_the_state(
    dd: dedup.Deduplicator,
) -> None:
    for i in range(50):
        dd.decide(art(f"https://x.example/{i}", text(120, 100 + i)), T0 + i)
    assert dedup.state_bytes(dd.state)["total"] > 0  # type: ignore[arg-type]
    late = T0 + 31 * DAY
    copy = art("https://copy.example/0", text(120, 100))
    assert dd.decide(copy, late).info.kind == "new"  # the original has expired
    removed = 0
    for _ in range(10):
        removed += dd.sweep(late, budget=7)
    assert removed == 49  # the copy's lookup already removed its expired original
    sizes = dedup.state_bytes(dd.state)  # type: ignore[arg-type]
    assert len(dd.state.docs) == 1 and len(dd.state.hashes) == 1
    assert len(dd.state.buckets) == dd.bands
    assert dd.sweep(late + 31 * DAY) == 1
    assert dedup.state_bytes(dd.state)["total"] == 0 < sizes["total"]  # type: ignore[arg-type]


def test_replay_repairs_index_entries_lost_in_a_crash(dd: dedup.Deduplicator) -> None:
    a = art("https://x.example/a", text(200, 6))
    dd.decide(a, T0)
    for k in list(dd.state.buckets):  # as if the worker died after writing only the doc
        del dd.state.buckets[k]
    for k in list(dd.state.hashes):
        del dd.state.hashes[k]
    assert dd.decide(a, T0 + 1).info.kind == "replay"
    copy = art("https://y.example/b", text(200, 6))
    assert dd.decide(copy, T0 + 2).info.kind == "exact"


def test_articles_without_text_are_never_duplicates_of_each_other(dd: dedup.Deduplicator) -> None:
    a = art("https://x.example/a", None, title="!!!")
    b = art("https://x.example/b", None, title="???")
    assert dd.decide(a, T0).info.kind == "new"
    assert dd.decide(b, T0).info.kind == "new"


# --- precision and recall on the labelled sample -------------------------------------------


def evaluate(dd: dedup.Deduplicator) -> dict[str, Any]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    key_of: dict[str, str] = {}
    tp = fp = fn = 0
    kinds_ok = 0
    wrong: list[str] = []
    for i, row in enumerate(rows):
        a = contract.validate_record(row["article"])
        d = dd.decide(a, T0 + 60 * i)
        key_of.setdefault(a.id, row["key"])
        want = row["label"]
        got_of = key_of.get(d.info.duplicate_of) if d.info.duplicate_of else None
        want_dup = want["kind"] in ("exact", "near")
        got_dup = d.info.kind in ("exact", "near")
        if got_dup and want_dup and got_of == want["duplicate_of"]:
            tp += 1
        else:
            fp += got_dup
            fn += want_dup
        if d.info.kind == want["kind"]:
            kinds_ok += 1
        else:
            wrong.append(f"{row['key']}: want {want['kind']}, got {d.info.kind}")
    return {
        "n": len(rows),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "kind_accuracy": kinds_ok / len(rows),
        "wrong": wrong,
    }


def test_precision_and_recall_on_the_labelled_sample(capsys: pytest.CaptureFixture[str]) -> None:
    r = evaluate(dedup.Deduplicator(threshold=0.7))
    with capsys.disabled():
        print(
            f"\ndedup labelled sample: n={r['n']} precision={r['precision']:.3f} "
            f"recall={r['recall']:.3f} kind accuracy={r['kind_accuracy']:.3f}; "
            f"misses: {r['wrong']}"
        )
    assert r["n"] >= 40
    assert r["precision"] >= 0.95
    assert r["recall"] >= 0.85
    # only the two HARD cases (heavy rewrite, 40% truncation) fall below a 0.7 Jaccard
    assert len(r["wrong"]) <= 2


def test_the_labelled_sample_decides_the_same_on_table_like_state() -> None:
    assert evaluate(dedup.Deduplicator(json_state())) == evaluate(dedup.Deduplicator())


def test_reindex_rebuilds_the_derived_index_from_the_docs(dd: dedup.Deduplicator) -> None:
    words = text(300, 8).split()
    orig = art("https://x.example/a", " ".join(words))
    old = art("https://x.example/old", text(200, 9))
    dd.decide(old, T0 - 40 * DAY)
    dd.decide(orig, T0)
    before = (dict(dd.state.hashes), dict(dd.state.buckets))
    dd.state.hashes.clear()
    dd.state.buckets.clear()
    counts = list(dd.reindex(T0, step=1))
    assert counts[-1] == 1  # the expired doc is not indexed again
    assert dict(dd.state.hashes) == {
        k: v for k, v in before[0].items() if v == dedup.handle(orig.id)
    }
    copy = art("https://y.example/b", " ".join(words))
    assert dd.decide(copy, T0 + 1).info.kind == "exact"
    words[10] = "edited"
    near = dd.decide(art("https://z.example/c", " ".join(words)), T0 + 2)
    assert near.info.kind == "near" and near.info.duplicate_of == orig.id


class CountingMapping(JsonMapping):
    """A :class:`JsonMapping` that counts the reads that find a record."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def __getitem__(self, k: str) -> Any:
        self.reads += k in self.data
        return super().__getitem__(k)


def test_records_are_read_from_the_store_once_and_forgotten_on_reindex() -> None:
    docs = CountingMapping()
    dd = dedup.Deduplicator(dedup.MappingState(docs, JsonMapping(), JsonMapping()))
    words = text(300, 11).split()
    orig = art("https://x.example/a", " ".join(words))
    dd.decide(orig, T0)
    docs.reads = 0
    for i in range(5):  # five near duplicates: each reads the original as a candidate
        words[20 + i] = f"changed{i}"
        d = dd.decide(art(f"https://y.example/{i}", " ".join(words)), T0 + 1 + i)
        assert d.info.kind == "near" and d.info.duplicate_of == orig.id
    assert docs.reads == 0  # every candidate came from the records this instance wrote
    # a recovery rewrites the store behind the decision (another worker's changelog): the
    # original's record now says it was first seen later, and only reindex makes that visible
    h = dedup.handle(orig.id)
    raw = json.loads(docs.data[h])
    docs.data[h] = json.dumps({**raw, "fs": T0 + 100})
    stale = dd.decide(art("https://z.example/s", " ".join(words)), T0 + 10)
    assert stale.info.kind == "exact"  # the same text as the last near duplicate
    list(dd.reindex(T0 + 11, step=1))
    orig_after = dd._doc(h, T0 + 11)
    assert orig_after is not None and orig_after.first_seen == T0 + 100
    assert docs.reads >= 1
