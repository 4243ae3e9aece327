"""NER backends, labels, normalization and paragraph splitting (real models, no services)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.enrich import entities, linking
from streams.enrich.entities import (
    Extractor,
    ModelNotInstalled,
    NerConfig,
    map_label,
    normalize_surface,
    split_text,
)

EN = (
    "Foreign ministers of the European Union met in Brussels on Monday to discuss energy "
    "prices.\n\n"
    "Angela Merkel told reporters in Berlin that Siemens would invest 2 billion euros in Texas "
    "over the next five years, according to the company's statement on Tuesday."
)
RU = (
    "Президент России Владимир Путин встретился в Пекине с председателем КНР Си Цзиньпином.\n\n"
    "Представители Министерства иностранных дел Германии обсудили поставки газа "
    "с компанией «Газпром»."
)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    ex = Extractor(NerConfig(models={"en": entities.DEFAULT_EN_MODEL, "ru": entities.NATASHA}))
    ex.load_all()
    return ex


def test_labels_are_unified_and_numbers_dropped() -> None:
    assert map_label("PERSON") == map_label("PER") == "PERSON"
    assert map_label("GPE") == map_label("LOC") == "LOCATION"
    assert map_label("ORG") == "ORG"
    assert map_label("EVENT") == map_label("MISC") == map_label("NORP") == "MISC"
    for numeric in ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL"):
        assert map_label(numeric) is None


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("the European Union's", "en", "European Union"),
        ("The  New\nYork   Times", "en", "New York Times"),
        ("Reuters'", "en", "Reuters"),
        ("“Gazprom”,", "en", "Gazprom"),
        ("(Reuters", "en", "Reuters"),
        ("Apple Inc.", "en", "Apple Inc."),
        ("U.S.", "en", "U.S."),
        ("Washington.", "en", "Washington"),
        ("Democratic Republic of the Congo", "en", "Democratic Republic of the Congo"),
        ("la Commission européenne", "fr", "Commission européenne"),
        ("l'Élysée", "fr", "Élysée"),
        ("Le Monde", "fr", "Le Monde"),
        ("Los Ángeles", "es", "Los Ángeles"),
        ("die Bundesregierung", "de", "Bundesregierung"),
        ("«Газпром»", "ru", "Газпром"),
        ("AT&T", "en", "AT&T"),
    ],
)
def test_normalize_surface(text: str, lang: str, expected: str) -> None:
    assert normalize_surface(text, lang) == expected


def test_split_text_prefers_paragraphs() -> None:
    text = "First paragraph here.\n\nSecond one is here.\n\nThird and last paragraph."
    spans = split_text(text, 30)
    assert [text[s:e] for s, e in spans] == [
        "First paragraph here.\n\n",
        "Second one is here.\n\n",
        "Third and last paragraph.",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab \n.\t"), max_size=400),
    st.integers(min_value=1, max_value=60),
)
def test_split_text_covers_text_within_limit(text: str, limit: int) -> None:
    spans = split_text(text, limit)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(0 < e - s <= limit for s, e in spans) or text == ""
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


@pytest.mark.models
def test_ner_only_components_for_small_english_pipeline(extractor: Extractor) -> None:
    backend = extractor.backend("en")
    assert isinstance(backend, entities.SpacyBackend)
    assert backend.nlp.pipe_names == ["ner"]


def _check_offsets(text: str, found: list[entities.Found]) -> None:
    for label, start, end, normalized, key in found:
        piece = text[start:end]
        assert piece and piece == piece.strip()
        assert label in {"PERSON", "ORG", "LOCATION", "MISC"}
        assert normalized
        assert key == linking.canonical_key(label, normalized)


@pytest.mark.models
def test_english_entities(extractor: Extractor) -> None:
    [found] = extractor.extract("en", [EN])
    _check_offsets(EN, found)
    by_label = {(lab, EN[s:e]) for lab, s, e, *_ in found}
    assert ("LOCATION", "Brussels") in by_label
    assert ("LOCATION", "Berlin") in by_label
    assert ("PERSON", "Angela Merkel") in by_label
    assert ("ORG", "Siemens") in by_label
    norms = {n for _, _, _, n, _ in found}
    assert "European Union" in norms
    assert not any(EN[s:e] in {"Monday", "Tuesday", "2 billion euros"} for _, s, e, *_ in found)


@pytest.mark.models
def test_russian_entities_are_lemmatized(extractor: Extractor) -> None:
    [found] = extractor.extract("ru", [RU])
    _check_offsets(RU, found)
    got = {(lab, RU[s:e], n) for lab, s, e, n, _ in found}
    keys = {RU[s:e]: k for _, s, e, _, k in found}
    assert keys["России"] == "loc:RU" and keys["Владимир Путин"] == "person:vladimir putin"
    # lemmatized, then canonical: places by their English name, Russian names in Latin letters
    assert ("LOCATION", "Пекине", "Beijing") in got
    assert ("LOCATION", "России", "Russia") in got
    assert ("PERSON", "Си Цзиньпином", "Си Цзиньпин") in got
    assert ("PERSON", "Владимир Путин", "Vladimir Putin") in got
    assert ("ORG", "Министерства иностранных дел", "Министерство иностранных дел") in got


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.models
def test_long_text_is_split_with_offsets_kept(extractor: Extractor, lang: str) -> None:
    base = EN if lang == "en" else RU
    text = "\n\n".join([base] * 6)
    [whole] = extractor.extract(lang, [text])
    small = Extractor(NerConfig(models=extractor.config.models, max_chars=len(base) + 10))
    small._backends = extractor._backends  # same loaded models, smaller pieces
    [pieces] = small.extract(lang, [text])
    _check_offsets(text, pieces)
    assert len(split_text(text, len(base) + 10)) >= 6
    assert pieces == whole
    assert len(pieces) == 6 * len(extractor.extract(lang, [base])[0])


@pytest.mark.models
def test_empty_and_whitespace_texts(extractor: Extractor) -> None:
    assert extractor.extract("en", ["", "   \n\n  "]) == [[], []]
    assert extractor.extract("ru", [""]) == [[]]


def test_config_from_settings_and_model_map() -> None:
    from streams import settings as settings_mod

    # The default: CoreNLP for the languages where it measured best (docs/entities.md).
    assert settings_mod.default_text("corenlp") == "true"
    assert settings_mod.default_text("corenlp_langs") == "en,de,es"
    s = settings_mod.load().replace(corenlp=True, corenlp_langs="en,de,es")
    cfg = NerConfig.from_settings(s)
    assert {lang: cfg.model_for(lang) for lang in ("en", "de", "es", "fr", "ru", "it")} == {
        "en": "corenlp", "de": "corenlp", "es": "corenlp", "fr": "fr_core_news_sm",
        "ru": "natasha", "it": None,
    }  # fmt: skip
    assert cfg.corenlp_url
    # One setting away: the server-less (MIT) path.
    mit = NerConfig.from_settings(s.replace(corenlp=False))
    assert mit.model_for("en") in (entities.DEFAULT_EN_MODEL, entities.OFFICIAL_EN_MODEL)
    assert mit.model_for("ru") is not None
    assert mit.model_for("de") is None  # no German spaCy pipeline installed: no entities
    assert not mit.corenlp_url
    assert entities.parse_model_map(" de=de_core_news_sm , fr=fr_core_news_sm") == {
        "de": "de_core_news_sm",
        "fr": "fr_core_news_sm",
    }
    with pytest.raises(ValueError):
        entities.parse_model_map("de")


def test_missing_pipeline_is_a_configuration_error() -> None:
    cfg = NerConfig(models={"en": entities.DEFAULT_EN_MODEL, "xx": "xx_no_such_pipeline_sm"})
    with pytest.raises(ModelNotInstalled, match="xx_no_such_pipeline_sm"):
        cfg.check()
    with pytest.raises(ModelNotInstalled):
        Extractor(cfg).backend("xx")


def test_distinct_sorted() -> None:
    assert entities.distinct_sorted(["Berlin", "berlin", "Athens", "", "Berlin"]) == [
        "Athens",
        "Berlin",
    ]


def test_an_ner_process_loads_a_model_on_the_first_text_of_its_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streams.enrich import nlp

    config = NerConfig(models={"en": entities.DEFAULT_EN_MODEL, "ru": entities.NATASHA})
    monkeypatch.setattr(nlp, "_WORKER", None)
    nlp._init_worker(config)  # what the pool runs in each NER process
    worker = nlp._WORKER
    assert worker is not None and worker.extractor._backends == {}
    [(code, _, status, found)] = nlp._run([(RU, None, "ru", 1.0)])
    assert (code, status) == ("ru", "ok") and found
    assert list(worker.extractor._backends) == ["ru:natasha"]
