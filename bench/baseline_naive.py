"""The naive baseline of the pipeline benchmark: one kafka-python consumer loop, all serial.

Per message: parse and validate (the contract), dedup (the same Deduplicator, in memory),
language + NER in this process (the same Analyzer as the pool's workers, no pool), build the
same document, and write it with one single-document ``es.index()`` call. That is the program
one writes first; ``bench/bench_pipeline.py`` starts it as a subprocess with a private
topic/alias in the environment and measures it exactly like the pipeline.

Prints ``ready`` once the models are loaded and the partitions assigned, a JSON line of counts
at the end, and exits after ``--expect`` messages (or fails after ``--timeout`` seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from streams import kafka_io
from streams.clock import rfc3339
from streams.dedup.deduplicator import Deduplicator
from streams.enrich.enricher import analyzer_for, enrich_sync
from streams.enrich.entities import NerConfig
from streams.index import documents, es_client
from streams.ingest import contract
from streams.settings import load


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--expect", type=int, required=True, help="messages to process, then exit")
    p.add_argument("--timeout", type=float, default=900.0)
    args = p.parse_args()
    s = load()
    es_client.quiet_client_logs("kafka")
    deadline = time.monotonic() + args.timeout
    analyzer_for(NerConfig.from_settings(s)).warmup()  # models loaded before the clock starts
    es = es_client.make_client(s)
    dedup = Deduplicator(threshold=s.dedup_threshold, horizon_days=s.dedup_horizon_days)
    consumer = kafka_io.consumer(
        s, s.topic_articles, group_id=f"{s.app_id}-naive", enable_auto_commit=True,
        max_poll_records=1,
    )
    while not consumer.assignment():
        consumer.poll(timeout_ms=200, max_records=1, update_offsets=False)
        if time.monotonic() > deadline:
            print("error: no partitions assigned", file=sys.stderr)
            return 2
    consumer.seek_to_beginning()
    print("ready", flush=True)
    stats = {"processed": 0, "indexed": 0, "invalid": 0, "exact_duplicates": 0}
    while stats["processed"] < args.expect:
        if time.monotonic() > deadline:
            print(f"error: timeout after {stats['processed']} of {args.expect}", file=sys.stderr)
            return 2
        for records in consumer.poll(timeout_ms=500).values():
            for msg in records:
                stats["processed"] += 1
                try:
                    article = contract.parse_article(msg.value, s.max_message_bytes)
                except contract.InvalidArticle:
                    stats["invalid"] += 1
                    continue
                decision = dedup.decide(article, time.time())
                if decision.counts is not None:
                    c = decision.counts
                    es.update(index=s.es_alias, id=c.id, doc_as_upsert=True,
                              doc={"duplicate_count": c.duplicate_count,
                                   "duplicate_sources": list(c.duplicate_sources)})
                if not decision.emit:
                    stats["exact_duplicates"] += 1
                    continue
                result = enrich_sync([article], s)[0]
                now = rfc3339()
                doc = documents.build_document(article, decision.info, result, now)
                es.index(index=s.es_alias, id=article.id, document=doc)
                stats["indexed"] += 1
    consumer.close()
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
