"""Language identification: undecidable input, samples in five languages, the multilingual set."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.enrich import language

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "langid" / "samples.tsv"


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    language.configure("high")
    language.warmup()


@pytest.mark.parametrize(
    "text", ["", "   \n\t", "12345", "2026-11-26 10:00", "!!! ???", "42 %", "ab", "https://x.org/a"]
)
def test_undecidable_is_und(text: str) -> None:
    assert language.detect(text) == language.UNDETERMINED
    assert language.detect(text).code == "und"


def test_none_is_und() -> None:
    assert language.detect(None).code == "und"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The harbour authority said the ferry service will resume on Friday morning.", "en"),
        ("Rail strike hits commuters", "en"),
        ("Жители посёлка остались без электричества после урагана, ремонт займёт неделю.", "ru"),
        ("Школы закрыли на карантин", "ru"),
        ("Der Stadtrat hat gestern beschlossen, die alte Brücke am Fluss abzureißen.", "de"),
        ("Neue Schule öffnet im Herbst", "de"),
        ("Les pompiers ont passé la nuit à lutter contre les flammes près du village.", "fr"),
        ("Le musée rouvre ses portes", "fr"),
        ("当地政府表示，新的公园将在明年春天正式对市民开放。", "zh"),
        ("新公园明年开放", "zh"),
    ],
)
def test_detects_sentences_and_headlines(text: str, code: str) -> None:
    got = language.detect(text)
    assert got.code == code
    assert 0.0 < got.confidence <= 1.0


def test_all_caps_headline() -> None:
    assert language.detect("GOVERNMENT ANNOUNCES NEW BUDGET FOR SCHOOLS").code == "en"


def test_urls_and_digits_do_not_decide() -> None:
    text = "Der Preis stieg auf 1.234 Euro https://example.com/en/news"
    assert language.detect(text).code == "de"


def test_fasttext_norwegian_maps_to_iso_639_1() -> None:
    got = language.detect("Regjeringen vil senke skatten for familier med barn neste år.")
    assert got.code == "nb"


def test_covers_at_least_seventy_languages() -> None:
    codes = language.supported_languages()
    assert len(codes) >= 70
    assert all(len(c) == 2 and c.isalpha() and c.islower() for c in codes)
    # lingua-only languages come through the combination
    assert {"zu", "yo", "st"} <= codes


def test_sample_set_is_multilingual() -> None:
    samples = language.load_samples(SAMPLES)
    langs = {lang for lang, _, _ in samples}
    kinds = {kind for _, kind, _ in samples}
    assert len(langs) >= 20
    assert kinds == {"sentence", "headline"}
    for lang in langs:
        assert {k for la, k, _ in samples if la == lang} == kinds, lang


def test_accuracy_on_sample_set() -> None:
    samples = language.load_samples(SAMPLES)
    combined = language.accuracy(samples, language.detect)
    fast = language.accuracy(samples, language.detect_fasttext)
    for kind, floor in (("sentence", 0.97), ("headline", 0.95)):
        ok, n = combined[kind]
        assert ok / n >= floor, (kind, ok, n)
    # the combination is why two detectors are used: it must beat fastText on headlines
    assert combined["headline"][0] > fast["headline"][0]


def test_low_accuracy_mode_on_sample_set() -> None:
    """The default mode (trigram models only): sentences as good, headlines a little weaker."""
    samples = language.load_samples(SAMPLES)
    try:
        language.configure("low")
        combined = language.accuracy(samples, language.detect)
    finally:
        language.configure("high")
    for kind, floor in (("sentence", 0.97), ("headline", 0.92)):
        ok, n = combined[kind]
        assert ok / n >= floor, (kind, ok, n)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Pemerintah akan menaikkan harga bahan bakar minyak mulai bulan depan.", "id"),
        ("Kerajaan akan menaikkan harga minyak mulai bulan hadapan, kata menteri kewangan.", "ms"),
        ("Regjeringa vil setje ned skatten for familiar med born neste år.", "nn"),
        ("Влада је у уторак усвојила предлог закона о порезу на добит.", "sr"),
    ],
)
def test_close_languages_are_told_apart(text: str, code: str) -> None:
    # fastText alone is sure of the wrong one of such pairs now and then; lingua decides
    assert language.detect(text).code == code


def test_script_detectors_answer_as_all_languages() -> None:
    """lingua restricted to a script's languages (faster) gives what all languages give."""
    texts = [t for _, _, t in language.load_samples(SAMPLES)]
    scripts = {language.LATIN: 0, language.CYRILLIC: 0}
    for text in texts:
        text = language.clean(text)[: language.MAX_CHARS_LINGUA_ALL]
        codes = language._script_codes(text)
        if codes is None:
            continue
        scripts[codes] += 1
        every = language._lingua(False).compute_language_confidence_values(text)
        every_probs = {language._lingua_iso()[v.language]: v.value for v in every if v.value > 0}
        assert set(every_probs) <= codes, text
        assert language._lingua_probs(text, False) == pytest.approx(every_probs, abs=1e-9), text
    assert all(n >= 5 for n in scripts.values()), scripts


def test_low_accuracy_mode_reads_short_words() -> None:
    """Words of one or two letters have no trigram: the bigram models decide, not nothing."""
    try:
        language.configure("low")
        assert language._lingua_probs("de la", False)
        assert language._lingua_probs("и на", False)
    finally:
        language.configure("high")


def test_low_accuracy_mode_still_detects() -> None:
    try:
        language.configure("low")
        assert language.detect("Ceny energií opět rostou").code in {"cs", "sk"}
        text = "Die Regierung plant neue Steuern für große Unternehmen."
        assert language.detect(text).code == "de"
    finally:
        language.configure("high")
    with pytest.raises(ValueError):
        language.configure("medium")


def _fail(*_: object, **__: object) -> dict[str, float]:
    raise AssertionError("this detector must not be asked")


@pytest.mark.parametrize(
    "text",
    [
        "Der Stadtrat hat gestern beschlossen, die alte Brücke am Fluss abzureißen.",
        "Der Stadtrat hat gestern beschlossen, die alte Brücke am Fluss abzureißen und bis zum "
        "nächsten Sommer durch einen Neubau zu ersetzen.",
    ],
)
def test_cld2_decides_a_sure_sentence_alone(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sentence CLD2 is sure of, in a language without close rivals, costs neither fastText
    nor lingua."""
    monkeypatch.setattr(language, "_fasttext_probs", _fail)
    monkeypatch.setattr(language, "_lingua_probs", _fail)
    got = language.detect(text)
    assert got.code == "de"
    assert language.CLD2_TRUST / 100 <= got.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        # a close group: lingua decides among its languages, with fastText's vote
        "Vlada je u utorak usvojila prijedlog zakona o porezu na dobit.",
        # too few words for CLD2's answer to count alone
        "Neue Schule öffnet",
        # a headline CLD2 reads as English, and calls that reliable: fastText decides
        "Transports Loire supprime 150 postes à Tours",
        # a short English text: likewise
        "Rail strike hits commuters across the north",
        # two languages: CLD2 gives neither the whole text
        "Rail strike hits commuters across the country / Забастовка железнодорожников парализовала",
    ],
)
def test_cld2_leaves_the_rest_to_fasttext(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    probs = language._fasttext_probs

    def counted(t: str) -> dict[str, float]:
        asked.append(t)
        return probs(t)

    monkeypatch.setattr(language, "_fasttext_probs", counted)
    assert language.detect(text).code != "und"
    assert asked


def test_a_headline_cld2_misreads_keeps_its_language() -> None:
    assert language._cld2("Transports Loire supprime 150 postes à Tours")[0] == "en"  # the premise
    assert language.detect("Transports Loire supprime 150 postes à Tours").code == "fr"


def test_cld2_agreeing_with_unsure_fasttext_spares_lingua(monkeypatch: pytest.MonkeyPatch) -> None:
    """fastText unsure, CLD2 (reliable, below its own bar) naming the same language: that answer
    stands; naming another, lingua is asked."""
    monkeypatch.setattr(language, "_fasttext_probs", lambda _: {"pt": 0.55, "es": 0.4})
    monkeypatch.setattr(language, "_cld2", lambda _: ("pt", 60))
    monkeypatch.setattr(language, "_lingua_probs", _fail)
    text = "O governo anunciou hoje um novo plano para as escolas do interior do país."
    assert language.detect(text).code == "pt"
    monkeypatch.setattr(language, "_cld2", lambda _: ("es", 60))
    with pytest.raises(AssertionError, match="must not be asked"):
        language.detect(text)


def test_cld2_unreadable_text_is_no_answer() -> None:
    assert language._cld2("Der Stadtrat hat gestern \ud800 beschlossen, die Brücke") is None
