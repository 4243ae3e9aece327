"""A short text detected with its context: the article's body is the prior of its title."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from streams import settings as settings_mod
from streams.enrich import language
from streams.enrich.enricher import EnrichPool, contexts_of, enrich_sync, ner_fields
from streams.enrich.enricher import article_fields as fields_of
from streams.model import Article, Language

# Bodies written for these tests, each long enough to be detected on its own.
BODIES = {
    "ms": "Kerajaan Malaysia mengumumkan bahawa harga minyak akan dinaikkan mulai bulan hadapan. "
    "Menteri Kewangan berkata keputusan itu dibuat selepas perbincangan panjang dengan pihak "
    "industri, dan rakyat dinasihatkan supaya berjimat.",
    "id": "Pemerintah Indonesia mengumumkan bahwa harga minyak akan dinaikkan mulai bulan depan. "
    "Menteri Keuangan mengatakan keputusan itu diambil setelah pembicaraan panjang dengan pelaku "
    "industri, dan masyarakat diimbau untuk berhemat.",
    "nb": "Kommunen har bestemt at skolen i sentrum skal stenges fra neste høst. Rektor sier at "
    "elevene vil bli flyttet til en ny skole på andre siden av byen, og foreldrene er bekymret "
    "for den lange skoleveien.",
    "da": "Kommunen har besluttet, at skolen i centrum skal lukkes fra næste efterår. "
    "Skolelederen siger, at eleverne vil blive flyttet til en ny skole på den anden side af "
    "byen, og forældrene er bekymrede for den lange skolevej.",
    "hr": "Vlada je u četvrtak objavila da će cijene goriva pasti od idućeg tjedna. Ministar "
    "gospodarstva rekao je da je odluka donesena nakon dugih pregovora s trgovcima, a građani "
    "se nadaju nižim računima.",
    "de": "Die Bahngewerkschaft hat für Montag einen Streik angekündigt. Pendler in Berlin und "
    "Hamburg müssen mit Ausfällen rechnen, teilte das Unternehmen am Sonntag mit. Die Gespräche "
    "über höhere Löhne waren zuvor gescheitert.",
    "nl": "De spoorbond heeft voor maandag een staking aangekondigd. Forenzen in Amsterdam en "
    "Utrecht moeten rekening houden met uitval, meldde het bedrijf zondag. De gesprekken over "
    "hogere lonen waren eerder mislukt.",
    "ru": "Профсоюз железнодорожников объявил забастовку в понедельник. Пассажиры в Москве и "
    "Петербурге должны готовиться к отменам поездов, сообщила компания в воскресенье.",
    "vi": "Chính phủ thông báo rằng giá xăng dầu sẽ tăng từ tuần sau. Bộ trưởng Bộ Tài chính cho "
    "biết quyết định được đưa ra sau nhiều cuộc thảo luận với các doanh nghiệp, và người dân "
    "được khuyên nên tiết kiệm.",
    "so": "Dowladda ayaa ku dhawaaqday in qiimaha shidaalka la kordhin doono bisha soo socota. "
    "Wasiirka maaliyadda ayaa sheegay in go'aankan la gaaray kadib wadahadal dheer oo lala "
    "yeeshay ganacsatada.",
    "hi": "सरकार ने घोषणा की है कि अगले महीने से पेट्रोल की कीमतें बढ़ेंगी। वित्त मंत्री ने कहा कि यह "
    "फैसला व्यापारियों के साथ लंबी बातचीत के बाद लिया गया है, और लोगों को बचत करने की सलाह दी गई है।",
    "mr": "सरकारने जाहीर केले आहे की पुढील महिन्यापासून पेट्रोलचे दर वाढणार आहेत. अर्थमंत्र्यांनी "
    "सांगितले की हा निर्णय व्यापाऱ्यांशी दीर्घ चर्चेनंतर घेण्यात आला आणि नागरिकांना बचत करण्याचा "
    "सल्ला देण्यात आला आहे.",
}

#: Two-word titles each of two close languages could have written.
AMBIGUOUS = [("Harga minyak", ("id", "ms")), ("Skolen lukker", ("da", "nb"))]
#: Short English titles a German, Dutch or Russian body must not take over.
ENGLISH = ["Rail strike", "Strike ends", "Peace talks", "Rail strike hits commuters"]


@pytest.fixture(autouse=True)
def _restore_mode() -> Iterator[None]:
    """Leave lingua's mode as found (the enricher sets the configured one)."""
    before = language._accuracy
    yield
    language.configure(before)


@pytest.fixture(params=language.ACCURACY_MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each of lingua's modes: the prior's margins are the mode's."""
    language.configure(request.param)
    language.warmup()
    return str(request.param)


def _prior(lang: str) -> Language:
    found = language.detect(BODIES[lang])
    assert found.code == lang  # the body itself is detected right, without a prior
    return found


@pytest.mark.parametrize(("text", "langs"), AMBIGUOUS)
def test_the_prior_decides_an_ambiguous_two_word_text(text: str, langs: tuple[str, str], mode: str) -> None:
    # each language of the pair wins with its own body, so at least one answer differs from
    # the text's answer alone
    for lang in langs:
        assert language.detect(text, _prior(lang)).code == lang
    assert language.detect(text).code in langs


def test_the_prior_decides_within_a_close_group(mode: str) -> None:
    alone = language.detect("Pad cijena").code
    assert alone in {"bs", "hr", "sr"}
    assert language.detect("Pad cijena", _prior("hr")).code == "hr"


@pytest.mark.parametrize("text", ENGLISH)
@pytest.mark.parametrize("body", ["de", "nl", "ru", "nb"])
def test_a_short_english_title_keeps_its_language(text: str, body: str, mode: str) -> None:
    assert language.detect(text, _prior(body)).code == "en"


#: Two-word titles of a Latin-script language whose body's language fastText's guess on the
#: title alone (Italian, Indonesian) ranks far below its best: lingua finds the body's
#: language close, so the title takes it.
MISREAD = [("tham gia", "vi"), ("ka dib", "so")]


@pytest.mark.parametrize(("text", "lang"), MISREAD)
def test_fasttexts_guess_on_two_latin_words_does_not_veto_the_prior(text: str, lang: str) -> None:
    language.configure("low")
    language.warmup()
    assert language.detect(text, _prior(lang)).code == lang


#: Two-word Hindi and Marathi titles (one script, two close languages) whose language fastText
#: tells apart from the other's body: there its vote rules the prior out.
DEVANAGARI = [("पेट्रोल महंगा", "hi", "mr"), ("सरकार का फैसला", "hi", "mr"), ("निर्णय घेतला", "mr", "hi")]


@pytest.mark.parametrize(("text", "lang", "body"), DEVANAGARI)
def test_a_close_body_of_a_few_language_script_keeps_the_title(
    text: str, lang: str, body: str, mode: str
) -> None:
    assert language.detect(text).code == lang
    assert language.detect(text, _prior(body)).code == lang


def test_a_prior_of_another_script_is_ignored(mode: str) -> None:
    # a Cyrillic prior cannot name a Latin-script text
    for text, langs in AMBIGUOUS:
        assert language.detect(text, _prior("ru")).code == language.detect(text).code
        assert language.detect(text, _prior("ru")).code in langs


def test_a_long_text_ignores_the_prior(mode: str) -> None:
    # the Danish body with a Norwegian prior stays Danish: long texts decide by their words
    assert language.detect(BODIES["da"], Language("nb", 0.99)).code == "da"


def test_no_prior_is_the_text_alone(mode: str) -> None:
    texts = [text for text, _ in AMBIGUOUS] + ENGLISH + list(BODIES.values())
    alone = [language.detect(t) for t in texts]
    assert [language.detect(t, None) for t in texts] == alone
    assert [language.detect(t, language.UNDETERMINED) for t in texts] == alone
    assert language.detect_in_context(texts, [None] * len(texts)) == alone


def test_detect_in_context_reads_the_context_first(mode: str) -> None:
    texts = ["Harga minyak", BODIES["ms"], "Harga minyak", BODIES["id"], "Skolen lukker"]
    got = language.detect_in_context(texts, [1, None, 3, None, None])
    assert [g.code for g in got[:4]] == ["ms", "ms", "id", "id"]
    assert got[4] == language.detect("Skolen lukker")


def _article(id: str, title: str, body_lang: str) -> Article:
    return Article(id=id, url=None, canonical_url=None, title=title, body=BODIES[body_lang])


def _articles() -> list[Article]:
    return [
        _article("ms", "Harga minyak", "ms"),
        _article("id", "Harga minyak", "id"),
        _article("nb", "Skolen lukker", "nb"),
        _article("da", "Skolen lukker", "da"),
        _article("en-de", "Strike ends", "de"),
        _article("en-ru", "Strike ends", "ru"),
    ]


EXPECTED_TITLES = {"ms": "ms", "id": "id", "nb": "nb", "da": "da", "en-de": "en", "en-ru": "en"}


def test_contexts_of_points_every_field_at_the_longest() -> None:
    a = Article(id="x", url=None, canonical_url=None, title="Harga minyak",
                summary="Harga minyak naik bulan depan.", body=BODIES["id"],
                title_translations={"en": "Oil price"})
    b = Article(id="y", url=None, canonical_url=None, title="Only a title")
    per_article = [ner_fields(fields_of(a), 0), ner_fields(fields_of(b), 0)]
    # a: title, summary, body, title_translations.en; b: title (its own longest: no context)
    assert contexts_of(per_article) == [2, 2, None, 2, None]


def test_the_enricher_uses_the_body_as_the_titles_prior() -> None:
    articles = _articles()
    results = enrich_sync(articles, settings_mod.load())
    titles = {a.id: r.languages["title"].code for a, r in zip(articles, results, strict=True)}
    bodies = {a.id: r.languages["body"].code for a, r in zip(articles, results, strict=True)}
    assert titles == EXPECTED_TITLES
    assert bodies == {"ms": "ms", "id": "id", "nb": "nb", "da": "da", "en-de": "de", "en-ru": "ru"}


def test_the_pool_uses_the_body_as_the_titles_prior() -> None:
    """The same through the language process (the contexts cross the process boundary)."""
    articles = _articles()

    async def run() -> dict[str, str]:
        async with EnrichPool(settings_mod.load(), processes=1) as pool:
            results = await pool.enrich(articles)
        return {a.id: r.languages["title"].code for a, r in zip(articles, results, strict=True)}

    assert asyncio.run(run()) == EXPECTED_TITLES
