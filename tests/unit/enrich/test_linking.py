"""Canonical entity names across languages and scripts, and the quality rules."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from streams.enrich import linking
from streams.enrich.entities import facets, finish_entity
from streams.enrich.linking import Place, canonical_key, has_upper, link, merge_persons, plausible
from streams.enrich.textclean import clean_for_ner
from streams.model import Entity


def test_one_country_in_every_language_and_script() -> None:
    keys = {canonical_key("LOCATION", n) for n in ("Россия", "Russia", "Russland", "Russie", "Rusia")}
    assert keys == {"loc:RU"}
    assert {link("LOCATION", n).name for n in ("Китай", "China", "Chine", "中国")} == {"China"}
    assert link("LOCATION", "США").name == link("LOCATION", "United States").name


def test_big_cities_by_their_alternate_names() -> None:
    assert link("LOCATION", "Москва").name == "Moscow"
    assert link("LOCATION", "Pékin").key == link("LOCATION", "Beijing").key


def test_one_person_in_every_script_and_romanization() -> None:
    spellings = ("Николай Патрушев", "Nikolay Patrushev", "Nikolai Patrushev")
    assert len({canonical_key("PERSON", n) for n in spellings}) == 1
    assert len({link("PERSON", n).name for n in spellings}) == 1
    assert len({link("PERSON", n).name for n in ("Дмитрий Песков", "Dmitry Peskov", "Dmitriy Peskov")}) == 1


def test_other_names_keep_their_spelling() -> None:
    for name in ("Rishi Sunak", "Stanley Kubrick", "Ali Khamenei", "Bailey McDonald", "Hua Chunying"):
        assert link("PERSON", name).name == name


def test_organizations_across_languages() -> None:
    assert link("ORG", "Совет безопасности России").key == link("ORG", "Russian Security Council").key
    assert link("ORG", "НАТО").name == "NATO"
    assert link("ORG", "Acme Widgets").name == "Acme Widgets"  # unknown: unchanged


def test_a_known_city_mislabelled_by_the_model_is_a_place() -> None:
    assert link("PERSON", "Rotterdam").label == "LOCATION"
    assert link("ORG", "Bristol").label == "ORG"  # a club named after its city
    assert link("PERSON", "Hua").label == "PERSON"


def test_lowercase_spans_are_not_names() -> None:
    assert not has_upper("turnout")
    assert has_upper("Turnout")
    assert has_upper("中国")  # no case in the script: no verdict
    text = "the ferry left at noon."
    assert not plausible("PERSON", text, 4, 9)


def test_sentence_initial_common_noun_is_dropped_only_with_evidence() -> None:
    text = "Turnout was low in Leeds. Officials blamed the rain for the turnout."
    assert not plausible("PERSON", text, 0, len("Turnout"))
    title = "Merkel visits Paris"
    assert plausible("PERSON", title, 0, len("Merkel"))


def test_sentence_initial_word_unknown_as_a_name_needs_evidence() -> None:
    text = (
        "Snow fell overnight.\n\nGritters worked through the night. Adeyemi said roads were open. "
        "Hale said so too.\n\nThe driver, Elliot Adeyemi, has worked for the council for years."
    )
    at = text.index
    # unknown capitalised and only ever at a sentence start: nothing says it is a name
    assert not plausible("PERSON", text, at("Gritters"), at("Gritters") + 8, "en")
    assert plausible("LOCATION", text, at("Gritters"), at("Gritters") + 8, "en")  # only persons
    assert plausible("PERSON", text, at("Gritters"), at("Gritters") + 8, "ru")  # no word table
    # written capitalised mid-sentence elsewhere in the text: a name
    assert plausible("PERSON", text, at("Adeyemi said"), at("Adeyemi said") + 7, "en")
    # a word the language knows capitalised (a surname) keeps its benefit of the doubt
    assert plausible("PERSON", text, at("Hale"), at("Hale") + 4, "en")


def test_merge_persons_within_a_document() -> None:
    names = ["Hua Chunying", "Hua", "Li Wen", "Li", "Wen Li", "Patrushev", "Nikolay Patrushev"]
    merged = merge_persons(names)
    assert merged["Hua"] == "Hua Chunying"
    assert merged["Patrushev"] == "Nikolay Patrushev"
    assert "Li" not in merged  # two longer names hold "Li": ambiguous, left alone


def _entity(label: str, normalized: str) -> SimpleNamespace:
    return SimpleNamespace(label=label, normalized=normalized, text=normalized)


def test_facets_use_canonical_names_and_merge_short_persons() -> None:
    ents = [
        _entity("PERSON", "Hua Chunying"),
        _entity("PERSON", "Hua"),
        _entity("LOCATION", link("LOCATION", "Россия").name),
        _entity("LOCATION", link("LOCATION", "Russia").name),
    ]
    f = facets(ents)
    assert f["persons"] == ["Hua Chunying"]
    assert f["locations"] == ["Russia"]


def test_finish_entity_maps_back_and_drops_glued_captions() -> None:
    raw = "Archival photoRussia and China held talks.\nShare Button"
    cleaned = clean_for_ner(raw)
    start = cleaned.text.index("Russia")
    ent = finish_entity(raw, cleaned, "LOCATION", start, start + len("Russia"), "Russia", "en")
    assert ent is not None
    label, s, e, name = ent
    assert (label, raw[s:e], name) == ("LOCATION", "Russia", "Russia")
    # a span a model might still make over the inserted break is two things, not one name
    assert finish_entity(raw, cleaned, "PERSON", 0, start + len("Russia"), "x", "en") is None
    # the blanked "Share Button" line cannot be an entity either
    share = cleaned.text.index("\n") + 1
    assert finish_entity(raw, cleaned, "PERSON", share, share + 5, "Share", "en") is None


def test_an_organization_that_swallowed_a_person_is_split() -> None:
    from streams.enrich.entities import split_org_tails

    text = (
        "Talks were led by the secretary of the Security Council of Russia Nikolay Patrushev. "
        "Patrushev arrived on Monday. The Federation of Small Employers said nothing."
    )
    org = text.index("Security")
    later = text.rindex("Patrushev")
    fed = text.index("Federation")
    ents = [
        ("ORG", org, text.index(". Patrushev"), "Security Council of Russia Nikolay Patrushev"),
        ("PERSON", later, later + len("Patrushev"), "Patrushev"),
        ("ORG", fed, text.index(" said"), "Federation of Small Employers"),
    ]
    got = [(lab, text[s:e], name) for lab, s, e, name in split_org_tails(text, ents, "en")]
    assert got == [
        ("ORG", "Security Council of Russia", "Security Council of Russia"),
        ("PERSON", "Nikolay Patrushev", "Nikolay Patrushev"),
        ("PERSON", "Patrushev", "Patrushev"),
        ("ORG", "Federation of Small Employers", "Federation of Small Employers"),
    ]


def _ent(label: str, name: str, key: str, field: str = "body") -> Entity:
    return Entity(name, label, 0, len(name), field, name, "en", key)


def test_document_rules_merge_short_persons_and_give_a_place_one_sense() -> None:
    from streams.enrich.enricher import merge_person_mentions, one_sense_per_document

    ents = [
        _ent("PERSON", "Hua Chunying", "person:hua chunying"),
        _ent("PERSON", "Hua", "person:hua", "title"),
        _ent("ORG", "Cardiff", "org:cardiff", "title"),
        _ent("LOCATION", "Cardiff", "loc:geonames:2653822"),
        _ent("ORG", "Bristol", "org:bristol"),
    ]
    got = one_sense_per_document(merge_person_mentions(ents))
    assert [(e.label, e.normalized, e.key) for e in got] == [
        ("PERSON", "Hua Chunying", "person:hua chunying"),
        ("PERSON", "Hua Chunying", "person:hua chunying"),  # the title's "Hua" too
        ("LOCATION", "Cardiff", "loc:geonames:2653822"),
        ("LOCATION", "Cardiff", "loc:geonames:2653822"),
        ("ORG", "Bristol", "org:bristol"),  # no place mention: a club, stays an organization
    ]
    assert [e.text for e in got] == [e.text for e in ents]  # offsets and text untouched


def test_a_person_in_cyrillic_is_the_latin_person_it_transliterates() -> None:
    from streams.enrich.linking import merge_across_scripts, sound_key

    assert sound_key("Хуа") == sound_key("Hua") == "hua"
    names = ["Yang Jiechi", "Hua Chunying", "Nikolay Patrushev", "Wang Yi",
             "Ян Цзечи", "Хуа Чуньин", "Патрушев", "Ван И", "Сергей Лавров", "Ян Цзюнь"]  # fmt: skip
    assert merge_across_scripts(names) == {
        "Ян Цзечи": "Yang Jiechi",
        "Хуа Чуньин": "Hua Chunying",
        "Патрушев": "Nikolay Patrushev",
        "Ван И": "Wang Yi",
    }  # Lavrov has no Latin mention; "Ян Цзюнь" is another Yang
    assert merge_across_scripts(["Ян Цзечи"]) == {}
    # two Latin names as close as each other: ambiguous, left alone
    assert merge_across_scripts(["Yang Jie", "Yang Jia", "Ян Цзе"]) == {"Ян Цзе": "Yang Jie"}
    assert merge_across_scripts(["Li Wei", "Li Wen", "Ли Ве"]) == {}


def test_bilingual_item_gives_one_key_per_person_across_scripts() -> None:
    """An English headline over a Russian body: the body's persons (found by the real Russian
    model) take the headline's names and keys, so each person is one facet value."""
    from streams.enrich.enricher import assemble
    from streams.enrich.entities import NATASHA, Extractor, NerConfig

    title = "Yang Jiechi, Hua Chunying and Nikolay Patrushev at security talks in Beijing"
    body = (
        "В Пекине прошли консультации по вопросам безопасности. Делегацию Китая возглавил член "
        "Политбюро ЦК КПК Ян Цзечи, российскую делегацию — секретарь Совета безопасности "
        "Николай Патрушев.\n\nОфициальный представитель МИД КНР Хуа Чуньин сообщила, что "
        "стороны обсудили региональную стабильность. Патрушев прибыл в Пекин в понедельник."
    )
    title_persons = [
        ("PERSON", s, s + len(n), n, canonical_key("PERSON", n))
        for n in ("Yang Jiechi", "Hua Chunying", "Nikolay Patrushev")
        for s in [title.index(n)]
    ]
    (ru,) = Extractor(NerConfig(models={"ru": NATASHA})).extract("ru", [body])
    found = {body[s:e] for lab, s, e, _, _ in ru if lab == "PERSON"}
    assert {"Ян Цзечи", "Хуа Чуньин", "Патрушев"} <= found, found
    result = assemble(
        [("title", title, None, len(title)), ("body", body, None, len(body))],
        [("en", 1.0, "ok", title_persons), ("ru", 1.0, "ok", ru)],
    )
    assert result.persons == ["Hua Chunying", "Nikolay Patrushev", "Yang Jiechi"]
    keys = {e.text: e.key for e in result.entities if e.label == "PERSON" and e.field == "body"}
    assert keys["Ян Цзечи"] == "person:yang jiechi"
    assert keys["Хуа Чуньин"] == "person:hua chunying"
    assert keys["Патрушев"] == keys["Николай Патрушев"] == "person:nikolay patrushev"


def test_the_places_cache_holds_the_table_it_was_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSSTREAM_CACHE_DIR", str(tmp_path))
    linking.places.cache_clear()
    try:
        built = linking.places()  # no cache file yet: built, then written
        (path,) = tmp_path.glob("places-*.json")
        linking.places.cache_clear()
        read = linking.places()  # from the file
        assert read is not built
        assert list(read.items()) == list(built.items()) == list(linking.build_places().items())
        assert read["москва"] == Place(read["moscow"].key, "Moscow")
        path.write_text("{not json", encoding="utf-8")  # a damaged file is built again
        linking.places.cache_clear()
        assert linking.places() == built
        assert json.loads(path.read_text(encoding="utf-8"))["places"]
    finally:
        linking.places.cache_clear()


def test_the_places_cache_is_named_after_what_the_table_is_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSSTREAM_CACHE_DIR", str(tmp_path))
    path = linking._places_cache_path()
    assert path is not None and path.parent == tmp_path
    monkeypatch.setattr(linking, "CITY_MIN_POPULATION", linking.CITY_MIN_POPULATION + 1)
    assert linking._places_cache_path() != path


def test_russian_first_names_read_as_natasha_reads_them() -> None:
    from natasha.data import FIRST, load_dict

    assert linking.natasha_first_names() == list(load_dict(FIRST))
    assert "nikolay" in linking.russian_first_names()


def test_known_capitalized_words_are_cached_as_numpy_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    from array import array

    import numpy as np

    for values in ([], [1, 2**64 - 1], list(range(0, 10**6, 7))):
        saved = io.BytesIO()
        np.save(saved, np.array(values, dtype=np.uint64))
        assert linking.npy_u64(array("Q", values)) == saved.getvalue()
        assert list(linking.read_npy_u64(saved.getvalue())) == values
    saved = io.BytesIO()
    np.save(saved, np.array([1, 2], dtype=np.int32))
    with pytest.raises(ValueError):
        linking.read_npy_u64(saved.getvalue())

    monkeypatch.setenv("NEWSSTREAM_CACHE_DIR", str(tmp_path))
    linking.known_capitalized.cache_clear()
    try:
        built = linking.known_capitalized("en")  # from the lexeme table, then written
        (path,) = tmp_path.glob("known-capitalized-en-*.npy")
        assert np.load(path).tolist() == list(built) == sorted(set(built))
        linking.known_capitalized.cache_clear()
        assert linking.known_capitalized("en") == built  # read back
        assert linking.is_known_capitalized("Grace", "en") is True
        assert linking.is_known_capitalized("Gritters", "en") is False
        assert linking.is_known_capitalized("Grace", "xx") is None
        path.write_bytes(path.read_bytes()[:-3])  # damaged: built again
        linking.known_capitalized.cache_clear()
        assert linking.known_capitalized("en") == built
    finally:
        linking.known_capitalized.cache_clear()

