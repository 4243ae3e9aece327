#!/usr/bin/env python3
"""Write the sample articles that ``make demo`` publishes and the benchmarks read.

Why generated: the demo needs hundreds of news-like articles in many languages with *known*
duplicates, reprints, revisions and bad records, so that the result can be checked against
numbers (``expected.json``) instead of eyeballed. Every text comes from the hand-written sentence
pools in ``examples/sampletext/``; a seeded RNG combines them, so the output is byte-identical
on every run (``python examples/make_samples.py --check`` verifies the committed files).

Outputs (all in ``examples/``): ``articles.jsonl`` (valid input records), ``bad_records.jsonl``
(raw lines that must end in the dead-letter topic), ``expected.json`` + ``EXPECTED.md`` (the
deliberate cases and the counts the demo checks), ``feeds/`` (two small RSS/Atom feeds).
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import re
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

SEED = 20250303
BASE_TIME = datetime(2025, 3, 3, 5, 40, tzinfo=UTC)

# (language, number of ordinary articles). The specials below come on top.
PLAN: list[tuple[str, int]] = [
    ("en", 140), ("ru", 44), ("de", 30), ("fr", 30), ("zh", 20), ("es", 8), ("it", 6),
    ("pt", 6), ("uk", 6), ("ja", 5), ("ar", 5),
]
# Body sentences drawn from the pool (min, max) per language; English makes the long pieces.
BODY_RANGE: dict[str, tuple[int, int]] = {
    "en": (6, 20), "ru": (5, 12), "de": (5, 10), "fr": (5, 10), "zh": (4, 8),
}
DEFAULT_BODY_RANGE = (4, 6)
# Unrelated articles must stay far below any sensible near-duplicate threshold.
MAX_UNRELATED_JACCARD = 0.30
# Reprints must stay far above it (the pipeline's default threshold is 0.7).
MIN_REPRINT_JACCARD = 0.85

TZ = {
    "en": ["+00:00", "Z", "-05:00", "+01:00"], "ru": ["+03:00"], "de": ["+01:00"],
    "fr": ["+01:00"], "zh": ["+08:00"], "es": ["+01:00"], "it": ["+01:00"],
    "pt": ["+00:00", "-03:00"], "uk": ["+02:00"], "ja": ["+09:00"], "ar": ["+02:00", "+04:00"],
}
CJK = {"zh", "ja"}

WIRE = {"name": "Meridian Wire", "domain": "meridianwire.example"}
WIRE_DATELINE = {
    "en": "{CITY}, March {d} (Meridian) - ",
    "ru": "{CITY}, {d} марта (Меридиан) — ",
    "de": "{CITY}, {d}. März (Meridian) - ",
}
WIRE_TITLES = {
    "en": ["UPDATE 1-{t}", "RPT-{t}", "{t} - Meridian"],
    "ru": ["ОБНОВЛЕНИЕ 1-{t}", "{t} — Меридиан"],
    "de": ["UPDATE 1-{t}", "WDH-{t}"],
}
PARTNER = {"name": "Syndicate Wire Partners", "domain": "syndicate-partners.example"}

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]|[^\W\u3040-\u30ff\u3400-\u9fff]+")


# --------------------------------------------------------------------------------- similarity
def shingles(text: str, k: int = 5) -> set[tuple[str, ...]]:
    """Word k-shingles; CJK characters count as words (no spaces to split on)."""
    toks = _TOKEN.findall(text.lower())
    if len(toks) < k:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i : i + k]) for i in range(len(toks) - k + 1)}


def jaccard(a: set[Any], b: set[Any]) -> float:
    """Exact Jaccard similarity (what MinHash estimates)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


# ------------------------------------------------------------------------------ text building
def load_lang(code: str) -> ModuleType:
    return importlib.import_module(f"sampletext.{code}")


def fmt_int(n: int, lang: str) -> str:
    if lang == "en":
        return f"{n:,}"
    if lang in {"de", "es", "it", "pt"}:
        return f"{n:,}".replace(",", ".")
    if lang in {"fr", "ru", "uk"}:
        return f"{n:,}".replace(",", " ")
    return str(n)


def fmt_pct(x: float, lang: str) -> str:
    s = f"{x:.1f}"
    return s.replace(".", ",") if lang in {"de", "fr", "ru", "uk", "es", "it", "pt"} else s


def fmt_money(rng: random.Random, lang: str) -> str:
    big = rng.random() < 0.4
    amount = rng.randint(12, 95) / 10 if big else rng.randrange(20, 900, 10)
    num = fmt_pct(amount, lang) if big else str(amount)
    return {
        "en": f"{rng.choice(['$', '£', '€'])}{num} {'billion' if big else 'million'}",
        "de": f"{num} {'Milliarden' if big else 'Millionen'} Euro",
        "fr": f"{num} {'milliards' if big else 'millions'} d'euros",
        "ru": f"{num} {'млрд' if big else 'млн'} рублей",
        "uk": f"{num} {'млрд' if big else 'млн'} гривень",
        "es": f"{num} {'mil millones' if big else 'millones'} de euros",
        "it": f"{num} {'miliardi' if big else 'milioni'} di euro",
        "pt": f"{num} {'mil milhões' if big else 'milhões'} de euros",
        "zh": f"{amount:g}亿元" if big else f"{amount}万元",
        "ja": f"{amount:g}兆円" if big else f"{amount}億円",
        "ar": f"{num} {'مليار' if big else 'مليون'} دولار",
    }[lang]


def _feminine(last: str, lang: str) -> str:
    if lang not in {"ru", "uk"}:
        return last
    for m, f in (("ский", "ская"), ("ський", "ська"), ("ов", "ова"), ("ев", "ева"), ("ин", "ина")):
        if last.endswith(m):
            return last[: -len(m)] + f
    return last


def person(rng: random.Random, mod: ModuleType) -> tuple[str, str]:
    """(full name, the name used on second reference)."""
    lang = mod.LANG
    if hasattr(mod, "SURNAMES"):  # zh, ja: family name first, no space
        full = rng.choice(mod.SURNAMES) + rng.choice(mod.GIVEN)
        return full, full
    if hasattr(mod, "FIRST_M"):
        if rng.random() < 0.5:
            first, last = rng.choice(mod.FIRST_M), rng.choice(mod.LAST)
        else:
            first, last = rng.choice(mod.FIRST_F), _feminine(rng.choice(mod.LAST), lang)
        return f"{first} {last}", last
    first, last = rng.choice(mod.FIRST), rng.choice(mod.LAST)
    return f"{first} {last}", last


def _city(entry: tuple[str, ...]) -> tuple[str, str, str]:
    return entry[0], entry[1], entry[2] if len(entry) > 2 else entry[0]


def slot_values(
    rng: random.Random, mod: ModuleType, topic: str, city: tuple[str, ...] | None = None
) -> dict[str, str]:
    """Fresh names, places and numbers for one article (the slots of the sentence pools)."""
    lang = mod.LANG
    t = mod.TOPICS[topic]
    people: list[tuple[str, str]] = []
    while len(people) < 3:
        p = person(rng, mod)
        if all(p[1] != q[1] for q in people):
            people.append(p)
    c1 = _city(city) if city else _city(rng.choice(mod.CITIES))
    c2 = _city(rng.choice([c for c in mod.CITIES if c[0] != c1[0]]))
    country = rng.choice(mod.COUNTRIES)
    country_nom, country_gen = (country, country) if isinstance(country, str) else country
    lo, hi = getattr(mod, "NS_RANGE", (2, 9))
    teams = rng.sample(mod.TEAMS, 2)
    s2 = rng.randint(0, 2)
    v: dict[str, str] = {
        "city": c1[0], "in_city": c1[1], "city_gen": c1[2],
        "city2": c2[0], "in_city2": c2[1], "city2_gen": c2[2],
        "country": country_nom, "country_gen": country_gen,
        "ns": str(rng.randint(lo, hi)), "nm": str(rng.randrange(20, 490, 10)),
        "nb": fmt_int(rng.randrange(1200, 96000, 100), lang),
        "pct": fmt_pct(rng.uniform(1.2, 38.0), lang), "pct2": fmt_pct(rng.uniform(0.5, 12.0), lang),
        "money": fmt_money(rng, lang), "year": str(rng.randint(2008, 2023)),
        "fyear": str(rng.randint(2026, 2030)),
        "month": rng.choice(mod.MONTHS), "day": rng.choice(mod.WEEKDAYS),
        "team1": teams[0], "team2": teams[1], "s1": str(s2 + rng.randint(1, 3)), "s2": str(s2),
        "min": str(rng.randint(4, 88)), "temp": str(rng.randint(33, 41)), "cold": str(rng.randint(-27, -11)),
        "wind": str(rng.randrange(70, 150, 5)), "rain": str(rng.randrange(30, 160, 5)),
    }
    for i, (full, last) in enumerate(people, 1):
        v[f"p{i}"], v[f"p{i}l"] = full, last
    orgs = rng.sample(t["orgs"], 2)
    v["org1"], v["org2"] = (o.format_map(v) for o in orgs)
    roles = rng.sample(t["roles"], 3)
    for i, r in enumerate(roles, 1):
        v[f"r{i}"] = r.format_map(v)
    return v


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s[:1].islower() else s


def fill(template: str, v: dict[str, str]) -> str:
    return _cap(template.format_map(v))


def join_sentences(sents: list[str], lang: str, rng: random.Random) -> str:
    """Sentences -> paragraphs of 1-4 sentences separated by blank lines."""
    sep = "" if lang in CJK else " "
    paras: list[str] = []
    i = 0
    while i < len(sents):
        n = rng.randint(1, 4)
        paras.append(sep.join(sents[i : i + n]))
        i += n
    return "\n\n".join(paras)


def compose(
    rng: random.Random, mod: ModuleType, topic: str, v: dict[str, str], n_body: int
) -> tuple[str, list[str]]:
    """(title, body sentences) for one article from the topic's pools."""
    t = mod.TOPICS[topic]
    title = fill(rng.choice(t["titles"]), v)
    body = [fill(s, v) for s in rng.sample(t["body"], min(n_body, len(t["body"])))]
    quotes = [fill(q, v) for q in rng.sample(t["quotes"], rng.randint(1, min(2, len(t["quotes"]))))]
    for q in quotes:
        body.insert(rng.randint(1, len(body)), q)
    sents = [fill(rng.choice(t["leads"]), v), *body]
    if rng.random() < 0.8:
        sents.append(fill(rng.choice(t["closings"]), v))
    return title, sents


def slugify(title: str, n: int) -> str:
    ascii_words = re.findall(r"[a-z0-9]+", title.lower())
    if len(ascii_words) >= 3 and title.isascii():
        return "-".join(ascii_words)[:70].rstrip("-")
    return f"a{n:05d}"


def rfc3339(dt: datetime, offset: str) -> str:
    if offset == "Z":
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    hh, mm = int(offset[1:3]), int(offset[4:6])
    tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    return dt.astimezone(tz).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------ builder
class Builder:
    """Accumulates records and the bookkeeping that ends up in expected.json."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.mods = {code: load_lang(code) for code, _ in PLAN}
        self.serial = 0
        self.clock = BASE_TIME
        self.base: list[dict[str, Any]] = []  # ordinary + special originals, in time order
        self.shingle_cache: dict[int, set[tuple[str, ...]]] = {}
        self.by_group: dict[tuple[str, str], list[int]] = {}
        self.rejections = 0

    # -- ordinary articles
    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=self.rng.randint(8, 70), seconds=self.rng.randint(0, 59))
        return self.clock

    def article(
        self, lang: str, topic: str, *, city: tuple[str, ...] | None = None,
        n_body: int | None = None, source: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """One fresh article, re-drawn until it is far from every earlier one of its kind."""
        mod = self.mods[lang]
        lo, hi = BODY_RANGE.get(lang, DEFAULT_BODY_RANGE)
        group = self.by_group.setdefault((lang, topic), [])
        for _attempt in range(60):
            v = slot_values(self.rng, mod, topic, city)
            k = n_body if n_body is not None else self.rng.randint(lo, hi)
            title, sents = compose(self.rng, mod, topic, v, k)
            body = join_sentences(sents, lang, self.rng)
            sh = shingles(title + "\n" + body)
            worst = max((jaccard(sh, self.shingle_cache[j]) for j in group), default=0.0)
            if worst <= MAX_UNRELATED_JACCARD:
                break
            self.rejections += 1
        else:  # pragma: no cover - the pools are large enough; fail loudly if they are not
            raise RuntimeError(f"cannot draw a distinct {lang}/{topic} article")
        self.serial += 1
        src_name, domain = source or self.rng.choice(mod.SOURCES)
        when = self._tick()
        path = f"/{topic}/{when:%Y/%m/%d}/{slugify(title, self.serial)}"
        if domain.startswith("delkurier"):  # a site whose URLs select content by query string
            url = f"https://{domain}/article.php?id={10000 + self.serial}&lang={lang}"
        else:
            url = f"https://www.{domain}{path}"
        n_auth = self.rng.choice([0, 1, 1, 1, 2])
        authors = [person(self.rng, mod)[0] for _ in range(n_auth)]
        rec: dict[str, Any] = {
            "url": url,
            "title": title,
            "body": body,
            "published_at": rfc3339(when, self.rng.choice(TZ[lang])),
            "source": src_name,
            "language": lang,
            "authors": authors,
            "summary": sents[0] if self.rng.random() < 0.6 else None,
            "tags": [topic, v["city"]],
        }
        if rec["summary"] is None:
            del rec["summary"]
        self.shingle_cache[self.serial] = sh
        group.append(self.serial)
        rec["_n"], rec["_lang"], rec["_topic"], rec["_v"], rec["_sents"] = (
            self.serial, lang, topic, v, sents,
        )
        return rec


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def _edit_number(sentence: str, rng: random.Random) -> str:
    """Change the first number of a sentence (a correction or a wire update)."""
    m = re.search(r"\d+", sentence)
    if not m:
        return sentence
    n = int(m.group(0))
    new = str(n + rng.randint(1, 9) * (10 if n >= 100 else 1))
    return sentence[: m.start()] + new + sentence[m.end() :]


def build(seed: int = SEED) -> dict[str, Any]:  # one linear recipe, kept together
    """Build every output in memory: {"articles": [...], "bad": [...], "expected": {...}}."""
    b = Builder(seed)
    rng = b.rng
    jobs: list[tuple[str, str]] = []
    for lang, count in PLAN:
        topics = list(b.mods[lang].TOPICS)
        jobs += [(lang, topics[i % len(topics)]) for i in range(count)]
    rng.shuffle(jobs)  # languages and topics interleave, times increase through the file
    ordinary = [b.article(lang, topic) for lang, topic in jobs]

    expected: dict[str, Any] = {"seed": seed}

    # ---- bilingual headlines (English articles with a Russian title and vice versa)
    en, ru = b.mods["en"], b.mods["ru"]
    bilingual: list[dict[str, Any]] = []
    for topic, city_en, title_en, title_ru in en.BILINGUAL:
        rec = b.article("en", topic, city=(city_en, f"in {city_en}"))
        rec["title"] = title_en
        rec["title_translations"] = {"en": title_en, "ru": title_ru}
        rec["tags"] = [topic, city_en, "bilingual"]
        bilingual.append(rec)
    for topic, city, title_ru, title_en in ru.BILINGUAL:
        rec = b.article("ru", topic, city=city)
        rec["title"] = title_ru
        rec["title_translations"] = {"ru": title_ru, "en": title_en}
        rec["tags"] = [topic, city[0], "bilingual"]
        bilingual.append(rec)

    # ---- wire originals and their near-duplicate reprints
    wire_cities = {"en": "London", "ru": "Москва", "de": "Hamburg"}
    wire_plan = [("en", "business", 3), ("en", "politics", 2), ("en", "science", 2),
                 ("ru", "business", 2), ("de", "business", 2)]
    wire_groups: list[dict[str, Any]] = []
    reprints: list[dict[str, Any]] = []
    for gi, (lang, topic, n_rep) in enumerate(wire_plan):
        mod = b.mods[lang]
        city = next(c for c in mod.CITIES if c[0] == wire_cities[lang])
        hi = len(mod.TOPICS[topic]["body"]) - 1
        orig = b.article(lang, topic, city=city, n_body=hi, source=(WIRE["name"], WIRE["domain"]))
        orig["id"] = f"MW-{orig['published_at'][:10].replace('-', '')}-{100 + gi:04d}"
        orig["url"] = f"https://{WIRE['domain']}/{lang}/{topic}/{orig['id'].lower()}"
        orig["authors"] = [person(rng, mod)[0]]
        group = {"original": {"id": orig["id"], "url": orig["url"]}, "language": lang,
                 "reprints": []}
        orig_sh = shingles(orig["body"])
        outlets = [s for s in mod.SOURCES]
        rng.shuffle(outlets)
        made: list[set[tuple[str, ...]]] = [orig_sh]
        for r in range(n_rep):
            for _attempt in range(40):  # redraw the edits until the reprint stays close
                sents = list(orig["_sents"])
                d = int(orig["published_at"][8:10])
                sents[0] = WIRE_DATELINE[lang].format(CITY=wire_cities[lang].upper(), d=d) + sents[0]
                j = rng.randrange(1, len(sents))
                sents[j] = _edit_number(sents[j], rng)
                if r == 0:  # the update adds a quote
                    quote = rng.choice(mod.TOPICS[topic]["quotes"])
                    sents.insert(len(sents) - 1, fill(quote, orig["_v"]))
                if r == 1:
                    sents = sents[:-1]  # the repeat was trimmed by the outlet's editor
                sents.append(fill(mod.WIRE_CREDIT, orig["_v"]))
                sh = shingles(" ".join(sents))
                sims = [jaccard(sh, m) for m in made]
                if min(sims) >= MIN_REPRINT_JACCARD:
                    break
            else:
                raise RuntimeError(f"reprint too far from its group: {sims}")
            name, domain = outlets[r % len(outlets)]
            body = "\n\n".join(" ".join(sents[i : i + 3]) for i in range(0, len(sents), 3))
            title = WIRE_TITLES[lang][r % len(WIRE_TITLES[lang])].format(t=orig["title"])
            when = datetime.fromisoformat(orig["published_at"]) + timedelta(minutes=25 + 35 * r)
            rep = {
                "url": f"https://www.{domain}/wire/{when:%Y/%m/%d}/{slugify(title, 900 + r)}-{gi}{r}",
                "title": title,
                "body": body,
                "published_at": rfc3339(when, TZ[lang][0]),
                "source": name,
                "language": lang,
                "authors": list(orig["authors"]),
                "tags": [topic, "wire"],
            }
            made.append(sh)
            group["reprints"].append({"url": rep["url"], "title": title,
                                      "jaccard_body_vs_original": round(sims[0], 3)})
            rep["_after"] = orig["_n"]
            reprints.append(rep)
        wire_groups.append(group)
        b.base.append(orig)

    # ---- put specials into the stream
    stream: list[dict[str, Any]] = list(ordinary)
    for rec in bilingual + [g for g in b.base]:
        stream.insert(rng.randrange(len(stream) // 4, len(stream) // 2), rec)

    def pos_of(n: int) -> int:
        return next(i for i, r in enumerate(stream) if r.get("_n") == n)

    for rep in reprints:
        p = pos_of(rep["_after"])
        stream.insert(rng.randrange(p + 1, min(p + 12, len(stream))), rep)

    # ---- deliberate language-hint trouble and unknown fields (on ordinary articles)
    candidates = [r for r in ordinary if "id" not in r]
    wrong_hint_plan = {"de": "en", "uk": "ru", "pt": "es", "zh": "ja", "fr": "en", "it": "es"}
    wrong_hints: list[dict[str, str]] = []
    for lang, hint in wrong_hint_plan.items():
        rec = next(r for r in candidates if r["_lang"] == lang and r["language"] == lang)
        rec["language"] = hint
        wrong_hints.append({"url": rec["url"], "hint": hint, "actual": lang})
    missing_hint: list[dict[str, str]] = []
    for lang in ["en", "en", "ru", "de", "es", "ar"]:
        rec = next(r for r in candidates if r["_lang"] == lang and r.get("language") == lang)
        rec.pop("language")
        missing_hint.append({"url": rec["url"], "actual": lang})
    regional: list[dict[str, str]] = []
    for lang, tag in [("en", "en-GB"), ("pt", "pt-BR"), ("fr", "fr-CH")]:
        rec = next(r for r in candidates if r["_lang"] == lang and r.get("language") == lang)
        rec["language"] = tag
        regional.append({"url": rec["url"], "hint": tag})
    extras: list[dict[str, Any]] = []
    extra_fields = [{"x_section": "Metro"}, {"paywall": True}, {"word_count": None},
                    {"x_priority": 2, "x_desk": "night"}, {"image": {"url": "https://img.example/1.jpg",
                                                                      "caption": None}}]
    pick = rng.sample([r for r in candidates if r["_lang"] in {"en", "de", "ru"}], len(extra_fields))
    for rec, extra in zip(pick, extra_fields, strict=True):
        extra = dict(extra)
        if "word_count" in extra:
            extra["word_count"] = len(rec["body"].split())
        rec.update(extra)
        extras.append({"url": rec["url"], "fields": sorted(extra)})
    # A few records carry an explicit id (a CMS key) instead of relying on the URL.
    with_id = rng.sample([r for r in candidates if not r.get("x_section")], 12)
    for rec in with_id:
        rec["id"] = f"{rec['source'].split()[0].lower()}-{rec['_n']:05d}"

    # ---- exact duplicates: the same title and body under another URL
    plain = [r for r in ordinary if "id" not in r and r["_lang"] in {"en", "ru", "fr"}
             and "x_section" not in r and r not in pick]
    dup_origs = [next(r for r in plain if r["_lang"] == "ru"), next(r for r in plain if r["_lang"] == "fr")]
    dup_origs += [r for r in plain if r["_lang"] == "en"][:4]
    copies_per = [1, 1, 1, 1, 1, 3]
    exact_groups: list[dict[str, Any]] = []
    copies_total = 0
    for gi, (orig, n_copies) in enumerate(zip(dup_origs, copies_per, strict=True)):
        grp = {"original": orig["url"], "copies": []}
        for c in range(n_copies):
            dom = PARTNER["domain"] if c == 0 else f"partner{c}.{PARTNER['domain']}"
            copy = {k: v for k, v in orig.items() if not k.startswith("_")}
            copy["url"] = f"https://{dom}/syndicated/{gi:02d}{c}/{slugify(orig['title'], orig['_n'])}"
            copy["source"] = PARTNER["name"]
            when = datetime.fromisoformat(orig["published_at"]) + timedelta(hours=1 + c)
            copy["published_at"] = rfc3339(when, "Z")
            copy.pop("id", None)
            p = pos_of(orig["_n"])
            stream.insert(rng.randrange(p + 1, min(p + 40, len(stream))), copy)
            grp["copies"].append(copy["url"])
            copies_total += 1
        exact_groups.append(grp)

    # ---- tracking-parameter variants of the same URL (same record otherwise)
    variants_q = ["?utm_source=newsletter&utm_medium=email&utm_campaign=morning_briefing",
                  "?fbclid=IwAR2k7Q9vXb3LmT0pWnZy8RcDfGhJ1sA4eU6oIq5",
                  "?utm_source=twitter&utm_medium=social",
                  "?utm_campaign=spring&fbclid=IwAR0aBcDeFgHiJkLmNoPq",
                  "?utm_source=rss&utm_medium=feed#comments",
                  "&utm_source=partner&utm_medium=referral"]
    var_pool = [r for r in ordinary if "id" not in r and r not in dup_origs and r not in pick]
    tracking: list[dict[str, str]] = []
    qs_ok = [r for r in var_pool if "?" in r["url"]]
    no_qs = [r for r in var_pool if "?" not in r["url"]]
    chosen = rng.sample(no_qs, len(variants_q) - 1) + qs_ok[:1]
    for rec, q in zip(chosen, variants_q, strict=True):
        if q.startswith("&") != ("?" in rec["url"]):
            q = ("&" if "?" in rec["url"] else "?") + q[1:]
        var = {k: v for k, v in rec.items() if not k.startswith("_")}
        var["url"] = rec["url"] + q
        p = pos_of(rec["_n"])
        stream.insert(rng.randrange(p + 1, len(stream)), var)
        tracking.append({"url": rec["url"], "variant": var["url"]})

    # ---- revisions: the same URL later with a corrected figure and an added paragraph
    rev_pool = [r for r in ordinary if "id" not in r and r not in dup_origs and r not in chosen
                and r not in pick and r["_lang"] in {"en", "ru"}]
    revisions: list[dict[str, Any]] = []
    notes = {
        "en": "Correction: an earlier version of this article gave a wrong figure; "
              "the story has been updated with comments from {p3}.",
        "ru": "Исправление: в первоначальной версии материала была допущена ошибка в цифрах; "
              "текст дополнен комментарием, который дает {p3}.",
    }
    for lang in ["en", "ru"]:
        orig = next(r for r in rev_pool if r["_lang"] == lang)
        mod = b.mods[lang]
        sents = list(orig["_sents"])
        sents[1] = _edit_number(sents[1], rng)
        unused = [s for s in mod.TOPICS[orig["_topic"]]["body"]
                  if fill(s, orig["_v"]) not in sents]
        sents.insert(2, fill(rng.choice(unused), orig["_v"]))
        sents.append(notes[lang].format_map(orig["_v"]))
        rev = {k: v for k, v in orig.items() if not k.startswith("_")}
        rev["body"] = "\n\n".join(" ".join(sents[i : i + 3]) for i in range(0, len(sents), 3))
        rev["title"] = orig["title"] + (" (updated)" if lang == "en" else " (обновлено)")
        when = datetime.fromisoformat(orig["published_at"]) + timedelta(hours=3)
        rev["published_at"] = rfc3339(when, TZ[lang][0])
        rev["updated_at"] = rev["published_at"]  # an unknown field, carried along
        stream.append(rev)
        revisions.append({"url": orig["url"], "original_title": orig["title"],
                          "revised_title": rev["title"]})

    articles = [_public(r) for r in stream]

    # ---- bookkeeping
    langs: dict[str, int] = {}
    for r in stream:
        if r.get("_lang"):
            langs[r["_lang"]] = langs.get(r["_lang"], 0) + 1
    near_total = sum(len(g["reprints"]) for g in wire_groups)
    distinct_docs = len(articles) - copies_total - len(tracking) - len(revisions)
    expected.update({
        "records": len(articles),
        "articles_by_language": dict(sorted(langs.items())),
        "distinct_documents": distinct_docs,
        "exact_duplicates": {"copies": copies_total, "groups": exact_groups},
        "tracking_variants": {"count": len(tracking), "pairs": tracking},
        "near_duplicates": {"reprints": near_total, "groups": wire_groups},
        "revisions": {"count": len(revisions), "items": revisions},
        "bilingual_titles": {"count": len(bilingual), "urls": [r["url"] for r in bilingual]},
        "wrong_language_hint": wrong_hints,
        "missing_language_hint": missing_hint,
        "regional_language_hint": regional,
        "unknown_fields": extras,
        "explicit_ids": len([r for r in articles if "id" in r]),
        "max_unrelated_jaccard": MAX_UNRELATED_JACCARD,
        "generator_rejections": b.rejections,
    })
    bad = bad_records()
    expected["bad_records"] = {"count": len(bad), "reasons": [reason for reason, _ in bad]}
    expected["after_demo"] = {
        "indexed_documents": distinct_docs,
        "documents_with_duplicate_of": near_total,
        "sum_duplicate_count": copies_total + len(tracking),
        "documents_with_copies": len(exact_groups) + len(tracking),
        "dead_lettered": len(bad),
    }
    return {"articles": articles, "bad": [line for _, line in bad], "expected": expected}


def bad_records() -> list[tuple[str, str]]:
    """(reason, raw line): each must be refused by the contract and land in articles.dlq."""
    return [
        ("not JSON", "this is not JSON at all: Harbour City FC 2-1 Northbridge Rovers"),
        ("truncated JSON", '{"url": "https://www.dailylantern.example/news/cut-off", "title": "Ferry serv'),
        ("missing url and id", json.dumps({"title": "Council approves new cycle lanes",
                                           "body": "The council voted 31 to 12 in favour.",
                                           "language": "en"})),
        ("wrong types", json.dumps({"url": "https://www.metroledger.example/tech/x", "title": 42,
                                    "body": ["not", "a", "string"], "authors": "Nora Hale"})),
        ("empty title and body", json.dumps({"url": "https://www.harbourpost.example/blank",
                                             "title": "   ", "body": ""})),
        ("JSON array, not an object", json.dumps([{"url": "https://www.harbourpost.example/a",
                                                   "title": "Two articles in one array"},
                                                  {"url": "https://www.harbourpost.example/b",
                                                   "title": "The second one"}])),
        ("relative url and no id", json.dumps({"url": "/politics/2025/03/05/budget-vote",
                                               "title": "Budget vote delayed again"})),
        ("ftp url and no id", json.dumps({"url": "ftp://files.northbridge-herald.example/a.txt",
                                          "title": "Archive upload"})),
        ("published_at not a date", json.dumps({"url": "https://www.dailylantern.example/odd-date",
                                                "title": "Storm warning lifted",
                                                "published_at": "last Tuesday"})),
    ]


# ------------------------------------------------------------------------------------ feeds
RSS_RU = """<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0">
<channel>
<title>Вечерний Меридиан — новости</title>
<link>https://vmeridian.example/</link>
<description>Пример ленты в кодировке windows-1251 для newsstream</description>
<language>ru</language>
<item>
<title>В Ярославле открыли новый пешеходный мост через Которосль</title>
<link>https://vmeridian.example/city/2025/03/04/most-kotorosl</link>
<guid>https://vmeridian.example/city/2025/03/04/most-kotorosl</guid>
<pubDate>Tue, 04 Mar 2025 09:15:00 +0300</pubDate>
<description>Мост длиной около двухсот метров соединил набережную с парком «Даманский». Строители из компании «Северный порт» закончили работу на месяц раньше срока.</description>
</item>
<item>
<title>Синоптики обещают Мурманску метель до выходных</title>
<link>https://vmeridian.example/weather/2025/03/04/murmansk-metel?utm_source=rss</link>
<pubDate>Tue, 04 Mar 2025 11:40:00 +0300</pubDate>
<description>Порывы ветра достигнут 25 метров в секунду, предупреждает Гидрометцентр. Паромы на Кольском заливе могут задержаться.</description>
</item>
<item>
<title>Компания «Ладожский фарфор» выпустила сервиз к юбилею Вологды</title>
<link>https://vmeridian.example/business/2025/03/05/ladoga-farfor</link>
<pubDate>Wed, 05 Mar 2025 08:05:00 +0300</pubDate>
<description>Тираж сервиза — две тысячи комплектов, рисунок создала художница Вера Тихонова.</description>
</item>
</channel>
</rss>
"""

ATOM_EN = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Meridian Wire - Top stories</title>
  <link href="https://meridianwire.example/"/>
  <id>urn:example:meridianwire:top</id>
  <updated>2025-03-05T10:00:00Z</updated>
  <entry>
    <title>Harlow Dynamics to cut 240 jobs in Leeds as orders slow</title>
    <link href="https://meridianwire.example/en/business/harlow-leeds"/>
    <id>urn:example:meridianwire:2025-0305-0001</id>
    <updated>2025-03-05T07:30:00Z</updated>
    <author><name>Amelia Whitcombe</name></author>
    <summary>Harlow Dynamics said on Wednesday it would cut about 240 jobs at its Leeds site, blaming weaker demand from carmakers.</summary>
  </entry>
  <entry>
    <title>Rotterdam port trials hydrogen-powered tugboats</title>
    <link href="https://meridianwire.example/en/tech/rotterdam-tugs?utm_source=atom"/>
    <id>urn:example:meridianwire:2025-0305-0002</id>
    <updated>2025-03-05T08:45:00Z</updated>
    <summary>Two tugboats built by Sableline Shipping will operate in the Port of Rotterdam for six months.</summary>
    <content type="html">&lt;p&gt;Two tugboats built by &lt;b&gt;Sableline Shipping&lt;/b&gt; will operate in the Port of Rotterdam for six months, the port authority said.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Astronomers at Halden Observatory spot a ribbon of cold gas</title>
    <link href="https://meridianwire.example/en/science/halden-ribbon"/>
    <id>urn:example:meridianwire:2025-0305-0003</id>
    <updated>2025-03-05T09:50:00Z</updated>
    <summary>A team led by Priya Lindqvist measured faint radio signals over forty nights.</summary>
  </entry>
</feed>
"""


# -------------------------------------------------------------------------------- rendering
def render(result: dict[str, Any]) -> dict[str, bytes]:
    """Every output file as bytes, keyed by path relative to examples/."""
    exp = result["expected"]
    files: dict[str, bytes] = {
        "articles.jsonl": "".join(json.dumps(a, ensure_ascii=False) + "\n"
                                  for a in result["articles"]).encode("utf-8"),
        "bad_records.jsonl": "".join(line + "\n" for line in result["bad"]).encode("utf-8"),
        "expected.json": (json.dumps(exp, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        "feeds/meridian-wire.atom": ATOM_EN.encode("utf-8"),
        "feeds/vmeridian-ru.rss": RSS_RU.encode("windows-1251"),
    }
    files["EXPECTED.md"] = expected_md(exp).encode("utf-8")
    return files


def expected_md(e: dict[str, Any]) -> str:
    ad = e["after_demo"]
    langs = ", ".join(f"{k} {v}" for k, v in e["articles_by_language"].items())
    lines = [
        "# The sample articles and what the pipeline must make of them",
        "",
        "Generated by `python examples/make_samples.py` (seed "
        f"{e['seed']}); do not edit by hand. Machine-readable copy: `expected.json`.",
        "Every text was written for this project from hand-made sentence pools; people and",
        "companies are fictional, places are real, domains end in `.example`.",
        "",
        f"`articles.jsonl`: **{e['records']} records** ({langs}), all valid input records.",
        f"`bad_records.jsonl`: **{e['bad_records']['count']} raw lines** that the contract refuses.",
        "",
        "## After `make demo` (all of articles.jsonl, then bad_records.jsonl as raw bytes)",
        "",
        "`newsstream status` prints all four numbers.",
        "",
        "| what | expected | why |",
        "|---|---|---|",
        f"| documents in the `articles` alias | {ad['indexed_documents']} | records minus "
        "syndicated copies, tracking-URL variants and revisions (none adds a document) |",
        f"| documents with `duplicate_of` | {ad['documents_with_duplicate_of']} | "
        "near-duplicate wire reprints, each pointing at its group's first-seen copy |",
        f"| sum of `duplicate_count` | {ad['sum_duplicate_count']} | every extra copy of the "
        f"same content: {e['exact_duplicates']['copies']} syndicated copies + "
        f"{e['tracking_variants']['count']} tracking-URL variants |",
        f"| documents with `duplicate_count` > 0 | {ad['documents_with_copies']} | the originals "
        "of those copies |",
        f"| messages in `articles.dlq` | {ad['dead_lettered']} | one per bad record |",
        "",
        "Which copy of a group is \"the original\" follows arrival order, which Kafka only",
        "guarantees per partition; the counts above do not depend on it. Near-duplicate",
        "detection is probabilistic (MinHash LSH); every reprint below has a body Jaccard",
        f"similarity >= {MIN_REPRINT_JACCARD} (word 5-shingles) with every member of its group, far",
        "above the default threshold of 0.7, while unrelated articles stay <= "
        f"{e['max_unrelated_jaccard']}.",
        "",
        "## The deliberate cases",
        "",
        f"### Exact duplicates: {e['exact_duplicates']['copies']} copies in "
        f"{len(e['exact_duplicates']['groups'])} groups",
        "",
        "Identical title and body republished by a syndication partner under another URL",
        "(another canonical URL, so another id); one story was republished three times.",
        "",
    ]
    for g in e["exact_duplicates"]["groups"]:
        lines.append(f"- {g['original']} -> {len(g['copies'])} cop{'y' if len(g['copies']) == 1 else 'ies'}")
    lines += [
        "",
        f"### Tracking-parameter URL variants: {e['tracking_variants']['count']}",
        "",
        "The same record again with `utm_*`/`fbclid` parameters (one also with a `#fragment`).",
        "Canonicalisation gives the same URL, hence the same id and the same content, but the",
        "copy was published under another raw URL: the dedup stage counts it once as a copy",
        "of the article (`duplicate_count` + 1, `duplicate_sources`) and indexes nothing new.",
        "A redelivery of the very same message (same raw URL) is a replay and never counts.",
        "",
    ]
    lines += [f"- {p['variant']}" for p in e["tracking_variants"]["pairs"]]
    lines += [
        "",
        f"### Near-duplicate reprints: {e['near_duplicates']['reprints']} in "
        f"{len(e['near_duplicates']['groups'])} groups",
        "",
        "A fictional news agency (Meridian Wire, explicit ids `MW-...`) and outlets reprinting",
        "its copy: `UPDATE 1-`, `RPT-`/`WDH-` prefixes or a ` - Meridian` suffix, a dateline",
        "added, one figure changed, a paragraph added or trimmed, a credit line appended.",
        "",
    ]
    for g in e["near_duplicates"]["groups"]:
        sims = ", ".join(str(r["jaccard_body_vs_original"]) for r in g["reprints"])
        lines.append(f"- `{g['original']['id']}` ({g['language']}): {len(g['reprints'])} "
                     f"reprints, body Jaccard vs original {sims}")
    lines += [
        "",
        f"### Revisions: {e['revisions']['count']}",
        "",
        "The same URL again near the end of the file with a corrected figure, an added",
        "sentence, a correction note, a changed title and a later `published_at`: the document",
        "is updated in place (kind `revision`), not duplicated.",
        "",
    ]
    lines += [f"- {r['url']}: \"{r['revised_title']}\"" for r in e["revisions"]["items"]]
    lines += [
        "",
        f"### Bilingual headlines: {e['bilingual_titles']['count']}",
        "",
        "`title_translations` with `en` and `ru` (four English articles, four Russian ones).",
        "",
        "### Language hints",
        "",
        "The `language` field is only a hint. Deliberately wrong:",
        "",
    ]
    lines += [f"- hint `{w['hint']}`, actually `{w['actual']}`: {w['url']}" for w in e["wrong_language_hint"]]
    lines += ["", "Absent:", ""]
    lines += [f"- actually `{w['actual']}`: {w['url']}" for w in e["missing_language_hint"]]
    lines += ["", "Regional BCP 47 tags:", ""]
    lines += [f"- `{w['hint']}`: {w['url']}" for w in e["regional_language_hint"]]
    lines += [
        "",
        "### Unknown fields (must be carried along, never rejected)",
        "",
    ]
    lines += [f"- {', '.join(x['fields'])}: {x['url']}" for x in e["unknown_fields"]]
    lines += ["- `updated_at` on both revisions", ""]
    lines += [
        f"### Bad records ({e['bad_records']['count']}, `bad_records.jsonl`)",
        "",
        "`newsstream produce` refuses these, so the demo publishes the raw lines with a raw",
        "producer; the validate stage dead-letters each one:",
        "",
    ]
    lines += [f"{i}. {r}" for i, r in enumerate(e["bad_records"]["reasons"], 1)]
    lines += [
        "",
        "## Feeds",
        "",
        "`feeds/meridian-wire.atom` (UTF-8 Atom, 3 entries) and `feeds/vmeridian-ru.rss`",
        "(RSS 2.0 encoded in windows-1251, 3 items; one link carries `utm_source`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and fail if a committed file differs")
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: examples/)")
    args = ap.parse_args(argv)
    files = render(build())
    if args.check:
        stale = [p for p, data in files.items() if (args.out / p).read_bytes() != data]
        for p in stale:
            print(f"stale: {p}", file=sys.stderr)
        return 1 if stale else 0
    for p, data in files.items():
        target = args.out / p
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    exp = json.loads(files["expected.json"])
    print(f"wrote {exp['records']} articles, {exp['bad_records']['count']} bad records "
          f"({exp['generator_rejections']} draws rejected as too similar)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
