"""Where the memory of the NLP processes goes: resident memory after each loading step.

Why: the worker's processes hold models, and knowing which model costs what decides what to
share, load lazily or drop. Each role runs in a fresh process (as the pool spawns them) and
reports RSS and USS (pages of that process alone, read through :mod:`streams.procs`) after
each step; the table prints the step's increment.

    .venv/bin/python bench/bench_memory.py [--no-server]

Roles: an NER process (interpreter and imports; what the pool's initializer loads, the
gazetteers of ``streams.enrich.linking``; then the first batch of each language, which loads
that language's model: the CoreNLP client, spaCy, natasha) and the language process (fastText
lite, lingua's trigram models as the default ``low`` mode preloads them, then lingua's
high-accuracy models per script as short texts need them in ``high`` mode). With the CoreNLP
backend (the default) the NER server is part of the footprint: a private CoreNLP server is
started on a free port for the run, at the configured heap, and its RSS is read after every
step of the NER process (the German and Spanish CRFs load on their first text);
``--no-server`` uses the configured server instead and does not count it. The last lines add
the processes up as a worker at these settings holds them. The worker's event loop is measured
by ``bench/bench_coldstart.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from streams import procs
from streams import settings as settings_mod
from streams.devservices.base import free_port
from streams.devservices.corenlp import CoreNlpService

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r'''
import json, os, sys
from streams import procs

SERVER = int(os.environ.get("BENCH_SERVER_PID") or 0)

def step(name):
    m = procs.memory(os.getpid())
    server = (procs.rss(SERVER) or 0) // 1024 if SERVER else 0
    print(json.dumps({"step": name, "rss": m.rss // 1024, "uss": m.uss // 1024,
                      "server": server}), flush=True)

step("interpreter and streams.procs (psutil)")
role = sys.argv[1]
if role == "ner":
    from streams import settings
    from streams.enrich import nlp
    from streams.enrich.entities import NerConfig
    step("imports (streams.enrich)")
    config = NerConfig.from_settings(settings.load())
    nlp._init_worker(config)
    step("start: gazetteers and word lists of streams.enrich.linking")
    texts = {
        "en": "Prime Minister Keir Starmer visited Leeds and met officials of the Environment "
              "Agency. ",
        "de": "Bundeskanzler Olaf Scholz traf in Berlin den französischen Präsidenten Emmanuel "
              "Macron und Vertreter der Europäischen Kommission. ",
        "es": "El presidente Pedro Sánchez viajó a Bruselas para reunirse con la Comisión "
              "Europea y el Gobierno de Francia. ",
        "fr": "Le président Emmanuel Macron a reçu à Paris le chancelier allemand Olaf Scholz "
              "et la présidente de la Commission européenne. ",
        "ru": "Мэр Казани Ильсур Метшин открыл новый мост через Волгу. ",
    }
    for lang, text in texts.items():
        model = config.model_for(lang)
        if model is None:
            continue
        nlp._run([(text * 40, None, lang, 1.0)] * 32)
        step(f"first batch of 32 texts in {lang} ({model})")
else:
    from streams.enrich import language
    step("imports")
    language._fasttext()
    step("fastText lite")
    language.configure("low")
    language.warmup()
    step("lingua trigram models, all languages (low)")
    for script, text in [
        ("Latin", "Rail strike hits commuters"),
        ("Cyrillic", "Школы закрыли на карантин"),
        ("Arabic", "الحكومة تعلن ميزانية جديدة"),
        ("Devanagari", "सरकार ने नया बजट पेश किया"),
        ("other scripts", "当地政府表示 新公园 ελληνικά 한국어 ქართული հայերեն "
                          "ગુજરાતી ਪੰਜਾਬੀ தமிழ் తెలుగు ภาษาไทย বাংলা עברית"),
    ]:
        for word in text.split():
            language._lingua(True).compute_language_confidence_values(word)
        language._lingua(True).compute_language_confidence_values(text)
        step(f"high mode only: lingua high-accuracy models: {script}")
'''

Row = tuple[str, int, int, int]  # step, RSS, USS, the NER server's RSS (KiB)


def run(role: str, env: dict[str, str]) -> list[Row]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, role], cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=1800, env=env,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return [(r["step"], r["rss"], r["uss"], r["server"]) for r in rows]


def table(title: str, rows: list[Row], server: bool) -> None:
    extra = " | NER server RSS (MiB)" if server else ""
    print(f"\n{title}: step | RSS after (MiB) | + RSS | USS after (MiB){extra}")
    prev = 0
    for name, rss, uss, srv in rows:
        tail = f" {srv / 1024:7.0f}" if server else ""
        print(f"  {name:60s} {rss / 1024:7.0f} {(rss - prev) / 1024:+7.0f} {uss / 1024:7.0f}{tail}")
        prev = rss


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-server", action="store_true",
                   help="use the configured CoreNLP server and leave it out of the total")
    args = p.parse_args()
    s = settings_mod.load()
    env = dict(os.environ)
    service: CoreNlpService | None = None
    if s.corenlp and not args.no_server:
        home = tempfile.mkdtemp(prefix="bench-memory-")
        env.update(NEWSSTREAM_SERVICES_DIR=home, NEWSSTREAM_CORENLP_PORT=str(free_port()))
        env.pop("NEWSSTREAM_CORENLP_URL", None)
        with procs.environ({k: env[k] for k in ("NEWSSTREAM_SERVICES_DIR",
                                                 "NEWSSTREAM_CORENLP_PORT")}):
            service = CoreNlpService(settings_mod.load())
        service.start()
        env["BENCH_SERVER_PID"] = str(service.status().pid or 0)
    try:
        ner = run("ner", env)
        if service is not None:
            server_end = procs.rss(int(env["BENCH_SERVER_PID"])) or 0
    finally:
        if service is not None:
            service.stop()
    table("NER process", ner, service is not None)
    langid = run("langid", env)
    table("language process", langid, False)
    n = s.nlp_processes
    # the rows after the default mode's models are what ``high`` mode adds for short texts
    held = [r for r in langid
            if s.langid_accuracy == "high" or not r[0].startswith("high mode only")]
    parts = [(f"language process ({s.langid_accuracy} mode)", held[-1][1]),
             (f"{n} x NER process (every language)", n * ner[-1][1])]
    if service is not None:
        parts.append(("CoreNLP server (every CRF)", ner[-1][3]))
    total = sum(v for _, v in parts)
    print(f"\nat these settings, every model loaded: {' + '.join(f'{k} {v / 1024:.0f}' for k, v in parts)}"
          f" = {total / 1024:.0f} MiB RSS, plus the worker's event loop")
    if service is not None:
        first = next(r for r in ner if r[0].startswith("first batch"))
        print(f"CoreNLP server: {server_end / 2**20:.0f} MiB after the run; "
              f"{first[3] / 1024:.0f} MiB after English only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
