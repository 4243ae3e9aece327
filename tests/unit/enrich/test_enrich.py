"""The enrich stage: languages and entities per field, the process pool, `newsstream enrich`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from streams import settings as settings_mod
from streams.enrich.enricher import EnrichPool, EnrichResult, enrich_sync, summarize_status
from streams.enrich.entities import NerConfig
from streams.enrich.nlp import Analyzer, NlpPool, assign_processes
from streams.model import Article

REPO = Path(__file__).resolve().parents[3]


def art(id: str, title: str | None = None, body: str | None = None, **kw: object) -> Article:
    return Article(id=id, url=None, canonical_url=None, title=title, body=body, **kw)  # type: ignore[arg-type]


ARTICLES = [
    art(
        "en",
        "Floods hit northern England",
        "Heavy rain flooded homes in York and Leeds on Sunday. Prime Minister Keir Starmer said "
        "the Environment Agency would send more pumps, and the BBC reported that the River Ouse "
        "had reached a record level.",
    ),
    art(
        "ru",
        "Новый мост открыли в Казани",
        "В Казани открыли новый мост через Волгу. Мэр города Ильсур Метшин сообщил, что "
        "строительство вела компания «Мостострой». Министр транспорта России приехал из Москвы.",
    ),
    art(
        "de",
        "Neue Brücke in Hamburg eröffnet",
        "In Hamburg wurde am Sonntag eine neue Brücke über die Elbe eröffnet. Der Bürgermeister "
        "sprach von einem großen Tag für die ganze Stadt.",
    ),
    art(
        "fr",
        "Un nouveau pont ouvert à Lyon",
        "Un nouveau pont a été inauguré dimanche à Lyon. Le maire Grégoire Dumont a parlé d'une "
        "grande journée pour toute la ville. La société Vinci a construit l'ouvrage sur le Rhône.",
    ),
    art(
        "zh",
        "上海新大桥正式通车",
        "上海市一座新的跨江大桥周日正式通车。市长表示，这对全市居民来说是重要的一天。",
    ),
    art(
        "mixed",
        "Russia and China sign gas deal in Beijing",
        "Президент России Владимир Путин встретился в Пекине с председателем КНР Си Цзиньпином. "
        "Стороны подписали соглашение о поставках газа.",
        title_translations={"de": "Russland und China unterzeichnen Gasabkommen in Peking"},
    ),
    art("digits", "2026", None),
]


@pytest.fixture(scope="module")
def results() -> dict[str, EnrichResult]:
    out = enrich_sync(ARTICLES, settings_mod.load())
    return {a.id: r for a, r in zip(ARTICLES, out, strict=True)}


def _field(article: Article, name: str) -> str:
    if name.startswith("title_translations."):
        return article.title_translations[name.split(".", 1)[1]]
    value = getattr(article, name)
    assert isinstance(value, str)
    return value


@pytest.mark.models
def test_entity_offsets_slice_to_entity_text(results: dict[str, EnrichResult]) -> None:
    total = 0
    for a in ARTICLES:
        for e in results[a.id].entities:
            assert _field(a, e.field)[e.start : e.end] == e.text
            assert e.label in {"PERSON", "ORG", "LOCATION", "MISC"}
            total += 1
    assert total > 10


@pytest.mark.parametrize(
    ("aid", "lang", "status"),
    [
        ("en", "en", "ok"),
        ("ru", "ru", "ok"),
        ("de", "de", "no_model:de"),
        ("fr", "fr", "ok"),
        ("zh", "zh", "no_model:zh"),
    ],
)
@pytest.mark.models
def test_languages_and_status(
    results: dict[str, EnrichResult], aid: str, lang: str, status: str
) -> None:
    r = results[aid]
    assert r.languages["title"].code == lang
    assert r.languages["body"].code == lang
    assert r.ner_status == status
    assert r.field_status == {"title": status, "body": status}
    if status != "ok":
        # no model for the language: no entities at all, never another language's NER
        assert r.entities == []
        assert r.persons == r.organizations == r.locations == []


@pytest.mark.models
def test_english_entities_and_facets(results: dict[str, EnrichResult]) -> None:
    r = results["en"]
    assert {"York", "Leeds", "England"} <= set(r.locations)
    assert "Keir Starmer" in r.persons
    assert "Environment Agency" in r.organizations or "BBC" in r.organizations
    assert r.locations == sorted(r.locations, key=lambda n: (n.casefold(), n))
    assert all(e.language == "en" for e in r.entities)


@pytest.mark.models
def test_french_entities_with_the_mapped_spacy_pipeline(results: dict[str, EnrichResult]) -> None:
    r = results["fr"]
    assert "Lyon" in r.locations
    assert "Grégoire Dumont" in r.persons
    assert all(e.language == "fr" for e in r.entities)


@pytest.mark.models
def test_russian_names_are_lemmatized(results: dict[str, EnrichResult]) -> None:
    r = results["ru"]
    body = [e for e in r.entities if e.field == "body"]
    # the lemma's canonical name: one facet value with the English "Kazan"
    assert ("Казани", "Kazan") in {(e.text, e.normalized) for e in body}
    assert "Kazan" in r.locations
    assert "Moscow" in r.locations and "Russia" in r.locations
    assert "Ilsur Metshin" in r.persons  # a Russian name, in Latin letters
    assert all(e.language == "ru" for e in r.entities)


@pytest.mark.models
def test_english_title_over_russian_body(results: dict[str, EnrichResult]) -> None:
    r = results["mixed"]
    assert r.languages["title"].code == "en"
    assert r.languages["body"].code == "ru"
    assert r.languages["title_translations.de"].code == "de"
    title = {(e.text, e.language) for e in r.entities if e.field == "title"}
    assert ("Beijing", "en") in title
    body = {e.normalized: e.language for e in r.entities if e.field == "body"}
    assert body.get("Beijing") == "ru" and body.get("Си Цзиньпин") == "ru"
    # the German translation is analysed in German: no German model, recorded as such
    assert r.field_status["title_translations.de"] == "no_model:de"
    assert not [e for e in r.entities if e.field.startswith("title_translations")]
    assert r.ner_status == "no_model:de"


@pytest.mark.models
def test_undecidable_title(results: dict[str, EnrichResult]) -> None:
    r = results["digits"]
    assert r.languages == {"title": r.languages["title"]}
    assert r.languages["title"].code == "und"
    assert r.ner_status == "no_language"
    assert r.entities == []


def test_summarize_status() -> None:
    assert summarize_status({"title": "ok", "body": "ok"}) == "ok"
    assert summarize_status({"title": "no_model:de", "body": "ok"}) == "no_model:de"
    assert summarize_status({"title": "no_model:de", "body": "no_model:fr"}) == "no_model:fr"
    assert summarize_status({"title": "empty"}) == "empty"
    assert summarize_status({}) == "empty"


def test_assign_processes_spreads_one_batch() -> None:
    sizes = [5000, 40, 4800, 60, 300, 200]
    groups = assign_processes(sizes, [None] * len(sizes), 2)
    assert len(groups) == 2
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    loads = [sum(sizes[i] for i in g) for g in groups]
    assert max(loads) - min(loads) <= max(sizes)
    assert assign_processes([10], [None], 2) == [[0], []]
    assert assign_processes([], [], 2) == [[], []]


def test_assign_processes_keeps_a_homed_language_in_its_process() -> None:
    # jobs 0 and 2 have home 1 (their model lives there); the rest fill the other process first
    sizes = [100, 100, 100, 50, 50]
    groups = assign_processes(sizes, [1, None, 1, None, None], 2)
    assert 0 in groups[1] and 2 in groups[1]
    assert groups[0] == [1, 3, 4]
    assert assign_processes([5, 5], [3, None], 2) == [[1], [0]]  # homes wrap around


def test_a_language_that_fills_the_batch_spills_over_for_parallelism() -> None:
    groups = assign_processes([100] * 4, [0] * 4, 2)
    assert [len(g) for g in groups] == [2, 2]


def test_home_only_for_in_process_models() -> None:
    config = NerConfig(models={"en": "corenlp", "fr": "fr_core_news_sm", "ru": "natasha"})
    assert config.home("en", 2) is None  # a server's language goes anywhere
    assert {config.home("fr", 2), config.home("ru", 2)} == {0, 1}
    assert config.home("xx", 2) is None
    assert config.home("fr", 1) is None
    off = NerConfig(models=config.models, model_affinity=False)
    assert off.home("fr", 2) is None


@pytest.mark.models
def test_pool_matches_in_process(results: dict[str, EnrichResult]) -> None:
    async def run() -> list[EnrichResult]:
        # wait=False: entering returns before the models are loaded; the first batch waits
        async with EnrichPool(settings_mod.load(), processes=2, wait=False) as pool:
            out = await pool.enrich(ARTICLES)
            assert len(pool.pids) == 2
            # language identification runs in one process of its own, not in the NER ones
            assert pool.langid_pid is not None and pool.langid_pid not in pool.pids
            return out

    pooled = asyncio.run(run())
    assert [r.to_dict() for r in pooled] == [results[a.id].to_dict() for a in ARTICLES]


@pytest.mark.models
def test_a_minority_language_model_is_loaded_by_one_ner_process() -> None:
    german = ("Die Stadt Hamburg hat am Sonntag eine neue Brücke über die Elbe eröffnet, und der "
              "Bürgermeister sprach von einem großen Tag für alle Menschen der Stadt. ") * 4
    jobs = [(german, None)] * 6 + [
        ("Le maire de Lyon a inauguré un nouveau pont sur le Rhône dimanche.", None),
        ("La société Vinci a construit le pont de Lyon pour la ville.", None),
        ("В Казани открыли новый мост через Волгу.", None),
        ("Мэр Казани Ильсур Метшин открыл мост.", None),
    ]

    async def run() -> list[list[str]]:
        config = NerConfig.from_settings(settings_mod.load())
        if config.model_for("de") not in (None, "corenlp"):
            pytest.skip("German has an in-process model here")
        async with NlpPool(config, processes=2) as pool:
            await pool.analyze(jobs)
            return await pool.loaded_models()

    loaded = asyncio.run(run())
    keys = [k for per in loaded for k in per if k.startswith(("fr:", "ru:"))]
    assert sorted(k.split(":")[0] for k in keys) == ["fr", "ru"], loaded


def test_ner_processes_take_the_detected_language_as_given() -> None:
    # no model for "xx": nothing loads, and the answer shows detection did not run again
    analyzer = Analyzer(NerConfig(models={}))
    out = analyzer.analyze_detected([("The mayor of Leeds spoke.", None, "xx", 0.5),
                                     ("   ", None, "und", 0.0)])
    assert out == [("xx", 0.5, "no_model:xx", []), ("und", 0.0, "empty", [])]


def test_pool_refuses_batches_before_start() -> None:
    pool = NlpPool(NerConfig(models={}), 1)
    with pytest.raises(RuntimeError):
        asyncio.run(pool.analyze([("text", None)]))


@pytest.mark.models
def test_enrich_command(tmp_path: Path) -> None:
    body = (
        "Heavy rain flooded homes in York and Leeds on Sunday. Prime Minister Keir Starmer "
        "visited the town and promised help from the Environment Agency."
    )
    lines = [
        json.dumps({"url": "https://news.example.com/a?utm_source=x", "title": "Floods in York",
                    "body": body, "source": "Example"}),
        "{not json",
        json.dumps({"id": "ru-1", "title": "Мост открыли в Казани",
                    "body": "В Казани открыли новый мост. Мэр Казани выступил на открытии."}),
        "",
        json.dumps({"title": "no url and no id"}),
        # the same content again under another URL: an exact duplicate of the first
        json.dumps({"url": "https://mirror.example.org/a", "title": "Floods in York",
                    "body": body, "source": "Mirror"}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", "enrich", "-i", str(src), "-o", str(dst),
         "-p", "1", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "line 2: invalid article" in proc.stderr
    assert "line 5: invalid article" in proc.stderr
    docs = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == 2
    en, ru = docs
    assert en["canonical_url"] == "https://news.example.com/a"
    assert en["language"] == "en"
    assert "York" in en["locations"] and "Keir Starmer" in en["persons"]
    for e in en["entities"]:
        assert en[e["field"]][e["start"] : e["end"]] == e["text"]
    assert en["duplicate_count"] == 1
    assert en["content_hash"] and en["story_id"]
    assert ru["id"] == "ru-1" and ru["language"] == "ru"
    assert "Kazan" in ru["locations"]
    assert ru["ner_status"] == "ok"
