"""The CoreNLP NER server as a real local service: entities through it, down, and recovery.

A private server (own port and services dir) is started from the Maven artifacts, so the
shared services of the test run are never touched. The article is written for this test: a
machine-translated item with an English and a Russian headline over an English body, a
caption glued to the first sentence and share-button boilerplate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams import procs
from streams import settings as settings_mod
from streams.devservices import base
from streams.devservices.corenlp import CoreNlpService
from streams.enrich.corenlp import NerUnavailable
from streams.enrich.enricher import enrich_sync
from streams.enrich.entities import NerConfig
from streams.enrich.nlp import Analyzer, NlpPool
from streams.model import Article

pytestmark = pytest.mark.integration

BODY = (
    "File photoRussia and China held a new round of security consultations in Beijing on "
    "Tuesday, the Chinese foreign ministry spokeswoman Hua Chunying told reporters.She said "
    "the talks were led by the secretary of the Security Council of Russia Nikolay Patrushev "
    "and Yang Jiechi, a member of the Political Bureau of the Central Committee of the "
    "Communist Party of China.\n"
    "Share Button\n\n"
    "Hua said both sides discussed regional stability. Patrushev arrived in Beijing on Monday."
)
ARTICLE = Article(
    id="corenlp-bilingual-1",
    url=None,
    canonical_url=None,
    title="Russia and China hold security talks in Beijing",
    body=BODY,
    title_translations={"ru": "Россия и Китай провели консультации по безопасности в Пекине"},
)


@pytest.fixture(scope="module")
def corenlp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[settings_mod.Settings]:
    port = base.free_port()
    s = settings_mod.load().replace(
        services_dir=str(tmp_path_factory.mktemp("services")),
        corenlp=True,
        corenlp_port=port,
        corenlp_url=f"http://127.0.0.1:{port}",
        langid_accuracy="low",
        nlp_processes=1,
    )
    svc = CoreNlpService(s)
    svc.start()
    try:
        yield s
    finally:
        svc.stop()


def test_bilingual_item_gets_real_persons_and_one_key_per_country(corenlp: settings_mod.Settings) -> None:
    (result,) = enrich_sync([ARTICLE], corenlp)
    assert result.ner_status == "ok", result.field_status
    assert {"Hua Chunying", "Nikolay Patrushev", "Yang Jiechi"} <= set(result.persons)
    assert "Hua" not in result.persons and "Patrushev" not in result.persons
    assert "Russia" in result.locations and "China" in result.locations
    assert "Россия" not in result.locations and "Китай" not in result.locations
    ru = [e for e in result.entities if e.field == "title_translations.ru"]
    assert {e.normalized for e in ru if e.label == "LOCATION"} >= {"Russia", "China"}
    for e in result.entities:
        text = ARTICLE.body if e.field == "body" else ARTICLE.title
        if e.field == "title_translations.ru":
            text = ARTICLE.title_translations["ru"]
        assert text is not None and text[e.start : e.end] == e.text
        assert "photo" not in e.text and "Share" not in e.text and "\n" not in e.text
    by_text = {e.text: e.label for e in result.entities if e.field == "body"}
    assert by_text.get("Nikolay Patrushev") == "PERSON"
    assert not any(t.lower() in ("he", "she", "his") for t in by_text)
    # one key for Russia in both scripts, and for each person in all of its mentions
    keys = {(e.field, e.text): e.key for e in result.entities}
    assert keys[("title_translations.ru", "Россия")] == keys[("body", "Russia")] == "loc:RU"
    assert keys[("title_translations.ru", "Китай")] == keys[("body", "China")] == "loc:CN"
    persons = {e.key for e in result.entities if e.label == "PERSON"}
    assert persons == {"person:hua chunying", "person:nikolay patrushev", "person:yang jiechi"}, persons
    hua = [e for e in result.entities if e.text == "Hua"]
    assert hua and all(e.normalized == "Hua Chunying" for e in hua)


def test_english_headline_over_russian_body_gives_one_key_per_person(
    corenlp: settings_mod.Settings,
) -> None:
    """CoreNLP on the English headline, natasha on the Russian body: one person each."""
    article = Article(
        id="corenlp-bilingual-2",
        url=None,
        canonical_url=None,
        title="Yang Jiechi and Nikolay Patrushev meet as Hua Chunying briefs reporters in Beijing",
        body=(
            "В Пекине прошли консультации по вопросам безопасности. Делегацию Китая возглавил "
            "член Политбюро ЦК КПК Ян Цзечи, российскую делегацию — секретарь Совета "
            "безопасности Николай Патрушев.\n\nОфициальный представитель МИД КНР Хуа Чуньин "
            "сообщила, что стороны обсудили региональную стабильность. Патрушев прибыл в Пекин "
            "в понедельник."
        ),
    )
    (result,) = enrich_sync([article], corenlp)
    assert result.ner_status == "ok", result.field_status
    assert result.languages["body"].code == "ru"
    persons = {e.key for e in result.entities if e.label == "PERSON"}
    assert persons == {"person:hua chunying", "person:nikolay patrushev", "person:yang jiechi"}, [
        (e.field, e.text, e.key) for e in result.entities if e.label == "PERSON"
    ]
    assert sorted(result.persons) == ["Hua Chunying", "Nikolay Patrushev", "Yang Jiechi"]


def test_demo_facets_are_names_of_the_samples_with_the_default_backend(
    corenlp: settings_mod.Settings,
) -> None:
    """What `make demo` shows (CoreNLP is the default): every top value is a sample's name of
    the right kind (a club is not a person, a city not an organization)."""
    from tests.demo_facets import known, top_facets

    assert NerConfig.from_settings(corenlp).model_for("en") == "corenlp"
    top, k = top_facets(corenlp), known()
    checks = {"persons": k.is_person, "organizations": k.is_org, "locations": k.is_place}
    for facet, ok in checks.items():
        assert top[facet], f"no {facet} at all"
        bad = [v for v in top[facet] if not ok(v)]
        assert not bad, f"top {facet} that are not names of that kind in the samples: {bad} ({top[facet]})"


def test_server_down_is_unavailable_not_an_article_error(corenlp: settings_mod.Settings) -> None:
    dead = corenlp.replace(corenlp_url=f"http://127.0.0.1:{base.free_port()}")
    analyzer = Analyzer(NerConfig.from_settings(dead))
    with pytest.raises(NerUnavailable):
        analyzer.analyze([(BODY, "en")])


def test_pool_restarts_a_crashed_local_server_and_retries(
    corenlp: settings_mod.Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The pool's restart reads the settings from the environment, like the worker does.
    for env, value in {
        "NEWSSTREAM_SERVICES_DIR": corenlp.services_dir,
        "NEWSSTREAM_CORENLP": "true",
        "NEWSSTREAM_CORENLP_PORT": str(corenlp.corenlp_port),
        "NEWSSTREAM_LANGID_ACCURACY": "low",
    }.items():
        monkeypatch.setenv(env, value)
    s = settings_mod.load()
    config = NerConfig.from_settings(s)
    assert config.corenlp_local
    svc = CoreNlpService(s)
    pid = svc.status().pid
    assert pid is not None
    procs.stop_pid(pid, timeout=10, sig=signal.SIGKILL)  # a crash, not a clean stop

    async def run() -> list[tuple[str, float, str, list[tuple[str, int, int, str]]]]:
        async with NlpPool(dataclasses.replace(config, unavailable_wait=120), 1) as pool:
            return await pool.analyze([(BODY, "en")])

    ((code, _, status, ents),) = asyncio.run(run())
    assert (code, status) == ("en", "ok")
    assert ("PERSON", "Hua Chunying") in {(lab, name) for lab, _, _, name, _ in ents}
    new = svc.status()
    assert new.running and new.pid not in (None, pid)


def test_status_down_and_up_through_the_cli(corenlp: settings_mod.Settings) -> None:
    import subprocess
    import sys

    env = {
        **os.environ,
        "NEWSSTREAM_SERVICES_DIR": corenlp.services_dir,
        "NEWSSTREAM_CORENLP_PORT": str(corenlp.corenlp_port),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streams.cli", "services", *args, "--only", "corenlp"],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    pid = CoreNlpService(corenlp).status().pid
    status = cli("status")
    assert status.returncode == 0 and "corenlp" in status.stdout and "running" in status.stdout
    down = cli("down")
    assert down.returncode == 0 and f"corenlp: stopped (pid {pid})" in down.stdout
    assert not procs.pid_alive(pid) and not base.port_in_use(corenlp.corenlp_port)
    assert cli("status").returncode == 3
    up = cli("up")
    assert up.returncode == 0 and "corenlp: started" in up.stdout, up.stderr
    assert CoreNlpService(corenlp).status().running
