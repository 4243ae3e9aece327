"""Where the memory of the NLP processes goes: resident memory after each loading step.

Why: the worker's processes hold models, and knowing which model costs what decides what to
share, load lazily or drop. Each role runs in a fresh process (as the pool spawns them) and
reports RSS and USS (pages of that process alone, read through :mod:`streams.procs`) after
each step; the table prints the step's increment.

    .venv/bin/python bench/bench_memory.py

Roles: an NER process (interpreter and imports, the English spaCy pipeline reduced to NER,
natasha for Russian, the gazetteers and word lists of ``streams.linking``, one batch) and the
language process (fastText lite, lingua's trigram models as the default ``low`` mode preloads
them, then lingua's high-accuracy models per script as short texts need them in ``high`` mode).
The worker's event loop is measured by ``bench/bench_coldstart.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r'''
import json, os, sys
from streams import procs

def step(name):
    m = procs.memory(os.getpid())
    print(json.dumps({"step": name, "rss": m.rss // 1024, "uss": m.uss // 1024}), flush=True)

step("interpreter and streams.procs (psutil)")
role = sys.argv[1]
if role == "ner":
    from streams import settings
    from streams.enrich.entities import Extractor, NerConfig
    from streams.enrich.linking import common_words, organizations, places, russian_first_names
    import streams.enrich.nlp  # noqa: F401
    step("imports (streams, spaCy, numpy)")
    config = NerConfig.from_settings(settings.load())
    ex = Extractor(config)
    ex.backend("en")
    step("spaCy English pipeline, NER only")
    ex.backend("ru")
    step("natasha (Russian NER, morphology)")
    for lang in config.models:
        common_words(lang)
    places(); organizations(); russian_first_names()
    step("linking gazetteers and word lists")
    text = "Prime Minister Keir Starmer visited Leeds and met officials of the Environment Agency. " * 40
    ex.extract("en", [text] * 32)
    ex.extract("ru", ["Мэр Казани Ильсур Метшин открыл новый мост через Волгу."] * 32)
    step("one batch of 32 texts per language")
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


def run(role: str) -> list[tuple[str, int, int]]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, role], cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=1800,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return [(r["step"], r["rss"], r["uss"]) for r in rows]


def main() -> int:
    for role, title in (("ner", "NER process"), ("langid", "language process")):
        rows = run(role)
        print(f"\n{title}: step | RSS after (MiB) | + RSS | USS after (MiB)")
        prev = 0
        for name, rss, uss in rows:
            print(f"  {name:45s} {rss / 1024:7.0f} {(rss - prev) / 1024:+7.0f} {uss / 1024:7.0f}")
            prev = rss
    return 0


if __name__ == "__main__":
    sys.exit(main())
