"""Enrichment stage vs raw spaCy NER-only ``nlp.pipe`` on the same texts, same process count.

Why: NER is the ceiling of the pipeline; the enrich stage (language detection per field, the
process pool, batching, offset mapping, normalization) must not waste it. Target: the stage
reaches >= 90% of raw ``nlp.pipe(texts, n_process=P)`` throughput. Rounds alternate raw and
stage so that a noisy, shared machine hurts both alike; the ratio printed is of the totals.

    .venv/bin/python bench/bench_enrich.py [--docs 300] [--processes 2] [--rounds 2]

The texts are generated from sentences written for this benchmark (English, news-like,
~450 words per article, paragraphs). Also printed: the event loop's longest stall while the
stage runs, and resident memory per worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time

from streams import procs
from streams import settings as settings_mod
from streams.enrich.corenlp import CoreNlpBackend
from streams.enrich.enricher import EnrichPool
from streams.enrich.entities import CORENLP, NerConfig, SpacyBackend, map_label
from streams.model import Article

SENTENCES = [
    "The city council of Springfield voted on Tuesday to expand the tram network to the "
    "northern suburbs, a plan first proposed by Mayor Helen Carter three years ago.",
    "Officials at the Department of Transportation said construction would begin in March and "
    "cost about $450 million.",
    "Critics, including the Springfield Taxpayers Association, argued that the money would be "
    "better spent on repairing existing roads and bridges.",
    "In Washington, Senator Mark Ellison introduced a bill that would give states more control "
    "over federal infrastructure grants.",
    "The European Commission in Brussels announced new rules for electric vehicle batteries on "
    "Wednesday, requiring manufacturers to report the origin of their raw materials.",
    "Volkswagen and Renault said they welcomed the rules but asked for a longer transition "
    "period.",
    "Shares of Toyota rose 3 percent in Tokyo after the company reported stronger than expected "
    "sales in North America.",
    "Heavy rain caused the River Thames to burst its banks near Oxford, and the Environment "
    "Agency issued flood warnings for twelve towns.",
    "Residents of Abingdon were evacuated overnight, while volunteers from the Red Cross set up "
    "shelters in local schools.",
    "Prime Minister Sarah Whitfield visited the area on Thursday and promised emergency funding.",
    "At the United Nations in New York, Secretary-General Amina Okafor urged member states to "
    "increase aid to the Horn of Africa.",
    "Drought has left millions of people in Somalia, Ethiopia and Kenya without reliable access "
    "to water, according to the World Food Programme.",
    "The International Monetary Fund cut its global growth forecast, citing weaker trade and "
    "high interest rates in Europe and Asia.",
    "Economists at Goldman Sachs said the Federal Reserve was likely to pause its rate increases "
    "at the next meeting.",
    "In football, Manchester United beat Arsenal two goals to one at Old Trafford, with a late "
    "winner from the young striker Daniel Osei.",
    "The coach, Luis Moreno, praised his players for their patience and said the team was "
    "finally playing with confidence.",
    "Apple unveiled a new generation of its iPhone at an event in Cupertino, California, "
    "focusing on battery life and camera improvements.",
    "Analysts at Morgan Stanley expect the device to sell strongly in China and India despite "
    "rising competition from Samsung and Xiaomi.",
    "Scientists at the University of Cambridge published a study in the journal Nature showing "
    "that Arctic sea ice is thinning faster than models predicted.",
    "The research team, led by Professor Ingrid Halvorsen, used data from satellites operated by "
    "the European Space Agency.",
    "Firefighters in Greece battled wildfires on the island of Rhodes for a fourth day as strong "
    "winds spread the flames toward the coast.",
    "Thousands of tourists were moved from hotels near Lindos by boat and bus, the Greek "
    "coastguard said.",
    "In Canada, the government of Prime Minister Daniel Tremblay announced a housing plan for "
    "Toronto and Vancouver, where rents have doubled in a decade.",
    "The Bank of Canada said it would keep interest rates unchanged for now.",
    "Police in Melbourne arrested two men after a robbery at a jewellery store on Collins Street, "
    "Victoria Police said in a statement.",
    "The Australian Open will add night sessions next year, organisers at Tennis Australia "
    "confirmed.",
    "Microsoft and OpenAI agreed to extend their partnership, the companies said in a joint "
    "statement released in Redmond, Washington.",
    "Regulators at the Federal Trade Commission said they would review the agreement.",
    "Brazil's President Lucia Andrade met Argentine leaders in Buenos Aires to discuss a trade "
    "agreement between Mercosur and the European Union.",
    "Farmers in France protested outside the National Assembly in Paris against cheaper imports "
    "of beef from South America.",
    "The festival in Edinburgh drew record crowds this summer, with more than three thousand "
    "shows across the Scottish capital.",
    "Tickets for the final concert at the Royal Albert Hall in London sold out within minutes.",
    "NASA said its Artemis mission would launch from the Kennedy Space Center in Florida no "
    "earlier than next spring.",
    "Engineers at Boeing and Lockheed Martin are still testing the heat shield of the capsule.",
    "Japan's central bank surprised markets by ending its negative interest rate policy, the "
    "first rise in seventeen years.",
    "Governor Kenji Sato told reporters in Tokyo that wages were finally rising steadily.",
]
TITLES = [
    "Council backs tram expansion",
    "Floods force evacuations near Oxford",
    "EU sets new battery rules",
    "United snatch late win over Arsenal",
    "Wildfires spread on Rhodes",
    "IMF cuts global growth forecast",
    "Apple unveils new iPhone in Cupertino",
    "Housing plan for Toronto and Vancouver",
]


def make_articles(n: int, seed: int = 7) -> list[Article]:
    """``n`` news-like articles: 4-6 paragraphs of 3-5 sentences (~450 words)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        paragraphs = [
            " ".join(rng.sample(SENTENCES, rng.randint(3, 5))) for _ in range(rng.randint(4, 6))
        ]
        out.append(
            Article(
                id=f"bench-{i}",
                url=None,
                canonical_url=None,
                title=rng.choice(TITLES),
                body="\n\n".join(paragraphs),
            )
        )
    return out


def raw_pipe(model: str, texts: list[str], processes: int, batch_size: int) -> tuple[float, int]:
    """Seconds and entity count of the backend alone: plain ``nlp.pipe(n_process=P)`` with NER
    only for a spaCy model; for CoreNLP, the server called directly with as many requests in
    flight as the pipeline's P processes keep (``NEWSSTREAM_CORENLP_THREADS`` each)."""
    if model == CORENLP:
        return raw_corenlp(texts, processes, batch_size)
    nlp = SpacyBackend(model, "en").nlp  # the same NER-only reduction (exclude everything else)
    t0 = time.perf_counter()
    n = 0
    for doc in nlp.pipe(texts, n_process=processes, batch_size=batch_size):
        n += sum(1 for e in doc.ents if map_label(e.label_) is not None)  # the same kept labels
    return time.perf_counter() - t0, n


def raw_corenlp(texts: list[str], processes: int, batch_size: int) -> tuple[float, int]:
    """The English CoreNLP server's own rate, with no pool, language ID or post-processing."""
    s = settings_mod.load()
    config = NerConfig.from_settings(s)
    backend = CoreNlpBackend(config.corenlp_url, "en", config.corenlp_timeout,
                             threads=max(1, processes) * max(1, config.corenlp_threads))
    try:
        backend.pipe(texts[:2])  # the server loads its English model on the first request
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(texts), batch_size):
            for found in backend.pipe(texts[i : i + batch_size]):
                n += sum(1 for m in found if map_label(m[0]) is not None)
        return time.perf_counter() - t0, n
    finally:
        backend.client.close()


async def stage(
    pool: EnrichPool, articles: list[Article], batch: int
) -> tuple[float, int, float]:
    """Seconds, entity count and the longest event-loop stall of the enrich stage."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.05)
            now = time.perf_counter()
            gaps.append(now - last - 0.05)
            last = now

    tick = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    n = 0
    for i in range(0, len(articles), batch):
        for r in await pool.enrich(articles[i : i + batch]):
            n += len(r.entities)
    elapsed = time.perf_counter() - t0
    done.set()
    await tick
    return elapsed, n, max(gaps, default=0.0)


async def main_async(args: argparse.Namespace) -> None:
    s = settings_mod.load()
    if args.langid_accuracy:
        os.environ["NEWSSTREAM_LANGID_ACCURACY"] = args.langid_accuracy
        s = settings_mod.load()
    config = NerConfig.from_settings(s)
    # raw is always spaCy's English pipeline (the server-less path): with CoreNLP as the
    # configured backend the same run compares the stage against that baseline.
    model = NerConfig.from_settings(s.replace(corenlp=False)).model_for("en")
    assert model is not None
    articles = make_articles(args.docs)
    texts = [t for a in articles for t in (a.title or "", a.body or "")]
    words = statistics.mean(len((a.body or "").split()) for a in articles)
    print(
        f"{len(articles)} articles ({words:.0f} words avg), stage backend "
        f"{config.model_for('en')}, raw {model}, "
        f"processes {args.processes}, stage batch {args.batch}, langid {s.langid_accuracy}"
    )
    t0 = time.perf_counter()
    async with EnrichPool(s, args.processes) as pool:
        print(f"pool start (models loaded in {args.processes} workers): "
              f"{time.perf_counter() - t0:.1f}s")
        raw_total = stage_total = 0.0
        stalls = []
        for rnd in range(1, args.rounds + 1):
            raw_s, raw_n = raw_pipe(model, texts, args.processes, args.raw_batch)
            st_s, st_n, stall = await stage(pool, articles, args.batch)
            raw_total += raw_s
            stage_total += st_s
            stalls.append(stall)
            print(
                f"round {rnd}: raw nlp.pipe {len(articles) / raw_s:6.1f} docs/s ({raw_n} ents)"
                f" | enrich stage {len(articles) / st_s:6.1f} docs/s ({st_n} ents)"
                f" | ratio {raw_s / st_s:.3f}"
            )
        rss = {pid: procs.rss(pid) for pid in pool.pids}
    n = len(articles) * args.rounds
    print(f"raw nlp.pipe (NER only, n_process={args.processes}): {n / raw_total:.1f} docs/s")
    print(f"enrich stage (EnrichPool, {args.processes} processes): {n / stage_total:.1f} docs/s")
    print(f"RATIO enrich/raw = {raw_total / stage_total:.3f} (target >= 0.90)")
    print(f"longest event-loop stall during the stage: {max(stalls) * 1000:.0f} ms")
    for pid, b in rss.items():
        print(f"worker {pid}: RSS {b / 2**20:.0f} MiB" if b else f"worker {pid}: RSS unknown")
    if config.corenlp_local:
        from streams.devservices.corenlp import CoreNlpService

        pid = CoreNlpService(s).status().pid
        b = procs.rss(pid) if pid else None
        print(f"CoreNLP server {pid}: RSS {b / 2**20:.0f} MiB" if b else "CoreNLP server: RSS unknown")
    own = procs.rss(os.getpid())
    if own:
        print(f"parent (event loop) RSS {own / 2**20:.0f} MiB")


def main() -> None:
    s = settings_mod.load()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=300)
    p.add_argument("--processes", type=int, default=s.nlp_processes)
    p.add_argument("--batch", type=int, default=s.nlp_batch_size, help="articles per stage call")
    p.add_argument("--raw-batch", type=int, default=64, help="nlp.pipe batch_size for raw")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--langid-accuracy", choices=("high", "low"), default=None)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
