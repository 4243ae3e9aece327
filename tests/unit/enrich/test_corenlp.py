"""The CoreNLP client's pure parts: mentions from tokens, UTF-16 offsets, properties, service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streams import settings
from streams.cli.services import OPTIONAL, SERVICES, selected
from streams.enrich.corenlp import (
    LANGUAGES,
    SEPARATOR,
    TAGS,
    Run,
    conll_runs,
    mentions,
    pack,
    request_properties,
    served_languages,
    split_runs,
    utf16_len,
    utf16_to_codepoints,
)

#: One token of an answer: (NER tag, begin, end), UTF-16 offsets.
Token = tuple[str, int, int]


def json_sentences(answer: dict[str, Any]) -> list[list[Token]]:
    """The tokens of a JSON answer (``outputFormat=json``), grouped in sentences."""
    return [
        [(str(t.get("ner", "O")), int(t["characterOffsetBegin"]), int(t["characterOffsetEnd"]))
         for t in sentence.get("tokens", [])]
        for sentence in answer.get("sentences", [])
    ]  # fmt: skip


def token_runs(sentences: list[list[Token]]) -> list[Run]:
    """The mention rule token by token (the reference the CoNLL reader must match): runs of
    one label inside one sentence."""
    out: list[Run] = []
    for sentence in sentences:
        current: list[Any] | None = None  # [label, begin, end]
        for tag, begin, end in sentence:
            label = TAGS.get(tag)
            if label is not None and current is not None and current[0] == label:
                current[2] = end
                continue
            if current is not None:
                out.append((current[0], current[1], current[2]))
                current = None
            if label is not None:
                current = [label, begin, end]
        if current is not None:
            out.append((current[0], current[1], current[2]))
    return out

def _utf16(text: str, start: int) -> int:
    return len(text[:start].encode("utf-16-le")) // 2


def _answer(text: str, sentences: list[list[tuple[str, str]]]) -> dict[str, Any]:
    """A server answer as CoreNLP writes it: tokens with UTF-16 offsets and NER tags."""
    out: list[dict[str, Any]] = []
    pos = 0
    for sent in sentences:
        tokens = []
        for word, tag in sent:
            start = text.index(word, pos)
            pos = start + len(word)
            tokens.append({
                "word": word, "ner": tag,
                "characterOffsetBegin": _utf16(text, start), "characterOffsetEnd": _utf16(text, pos),
            })  # fmt: skip
        out.append({"tokens": tokens})
    return {"sentences": out}


def test_mentions_from_tokens_pronouns_never_included() -> None:
    text = "Li Wen met Ann Lee in Geneva. He said his team at Acme Corp agreed."
    answer = _answer(text, [
        [("Li", "PERSON"), ("Wen", "PERSON"), ("met", "O"), ("Ann", "PERSON"), ("Lee", "PERSON"),
         ("in", "O"), ("Geneva", "LOCATION"), (".", "O")],
        [("He", "O"), ("said", "O"), ("his", "O"), ("team", "O"), ("at", "O"),
         ("Acme", "ORGANIZATION"), ("Corp", "ORGANIZATION"), ("agreed", "O"), (".", "O")],
    ])  # fmt: skip
    got = [(lab, text[s:e]) for lab, s, e in mentions(token_runs(json_sentences(answer)), text)]
    assert got == [
        ("PERSON", "Li Wen"),
        ("PERSON", "Ann Lee"),
        ("LOCATION", "Geneva"),
        ("ORG", "Acme Corp"),
    ]


def test_mentions_do_not_cross_sentences() -> None:
    text = "They met in Paris. Berlin was next."
    answer = _answer(text, [
        [("They", "O"), ("met", "O"), ("in", "O"), ("Paris", "LOCATION"), (".", "O")],
        [("Berlin", "LOCATION"), ("was", "O"), ("next", "O"), (".", "O")],
    ])  # fmt: skip
    runs = token_runs(json_sentences(answer))
    assert [text[s:e] for _, s, e in mentions(runs, text)] == ["Paris", "Berlin"]


def test_utf16_offsets_become_code_points() -> None:
    text = "\U0001f600\U0001f600 Li Wen spoke in \U0001d4d0 Geneva."
    answer = _answer(text, [[("Li", "PERSON"), ("Wen", "PERSON"), ("spoke", "O"), ("Geneva", "LOCATION")]])
    assert answer["sentences"][0]["tokens"][0]["characterOffsetBegin"] == 5  # two surrogate pairs + space
    got = [(lab, text[s:e]) for lab, s, e in mentions(token_runs(json_sentences(answer)), text)]
    assert got == [("PERSON", "Li Wen"), ("LOCATION", "Geneva")]


def test_utf16_table_only_when_needed() -> None:
    assert utf16_to_codepoints("plain BMP text: Россия, 中国") is None
    table = utf16_to_codepoints("a\U0001f600b")
    assert table == [0, 1, 1, 2, 3]


def _conll(text: str, sentences: list[list[tuple[str, str]]]) -> str:
    """A server answer as CoreNLP writes ``outputFormat=conll`` with our three columns."""
    lines: list[str] = []
    for sent in _answer(text, sentences)["sentences"]:
        for t in sent["tokens"]:
            lines.append(f"{t['ner']}\t{t['characterOffsetBegin']}\t{t['characterOffsetEnd']}")
        lines.append("")
    return "\n".join(lines) + "\n"


def test_batched_request_maps_every_text_back() -> None:
    """Three texts in one request: each gets its own mentions, in its own code points."""
    texts = ["Li Wen met Ann Lee.", "\U0001f600 Geneva is calm.", "Acme Corp grew."]
    joined = SEPARATOR.join(texts)
    body = _conll(joined, [
        [("Li", "PERSON"), ("Wen", "PERSON"), ("met", "O"), ("Ann", "PERSON"), ("Lee", "PERSON"), (".", "O")],
        [("\U0001f600", "O"), ("Geneva", "LOCATION"), ("is", "O"), ("calm", "O"), (".", "O")],
        [("Acme", "ORGANIZATION"), ("Corp", "ORGANIZATION"), ("grew", "O"), (".", "O")],
    ])  # fmt: skip
    starts = [0, utf16_len(texts[0]) + len(SEPARATOR)]
    starts.append(starts[1] + utf16_len(texts[1]) + len(SEPARATOR))
    per_text = split_runs(conll_runs(body), starts)
    got = [
        [(lab, t[s:e]) for lab, s, e in mentions(runs, t)] for t, runs in zip(texts, per_text, strict=True)
    ]
    assert got == [
        [("PERSON", "Li Wen"), ("PERSON", "Ann Lee")],
        [("LOCATION", "Geneva")],
        [("ORG", "Acme Corp")],
    ]


def test_conll_runs_match_the_token_rule() -> None:
    """The CoNLL reader (tagged lines only) finds what the token-by-token rule finds: runs of
    one label, broken by an ``O`` token, another label, an unknown tag or a sentence end."""
    text = "Ann Lee Acme Corp Paris Rome . Bob Ray today Oslo Oslo Kim"
    sentences = [
        [("Ann", "PERSON"), ("Lee", "PERSON"), ("Acme", "ORGANIZATION"), ("Corp", "ORGANIZATION"),
         ("Paris", "LOCATION"), ("Rome", "LOCATION"), (".", "O")],
        [("Bob", "PERSON"), ("Ray", "PERSON"), ("today", "DATE"), ("Oslo", "LOCATION")],
        [("Oslo", "LOCATION"), ("Kim", "PERSON")],
    ]  # fmt: skip
    body = _conll(text, sentences)
    expected = token_runs(json_sentences(_answer(text, sentences)))
    assert conll_runs(body) == expected
    assert [(lab, text[s:e]) for lab, s, e in expected] == [
        ("PERSON", "Ann Lee"), ("ORG", "Acme Corp"), ("LOCATION", "Paris Rome"),
        ("PERSON", "Bob Ray"), ("LOCATION", "Oslo"), ("LOCATION", "Oslo"), ("PERSON", "Kim"),
    ]  # fmt: skip
    # an O token between two tokens of one label splits them
    o_between = _conll("Ann x Lee", [[("Ann", "PERSON"), ("x", "O"), ("Lee", "PERSON")]])
    assert [(lab, s, e) for lab, s, e in conll_runs(o_between)] == [("PERSON", 0, 3), ("PERSON", 6, 9)]


def test_pack_keeps_requests_in_flight_and_under_the_limit() -> None:
    assert pack([], 1000, 2) == []
    assert pack([10] * 8, 1000, 2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    groups = pack([400, 400, 400, 100], 1000, 1)
    assert [i for g in groups for i in g] == [0, 1, 2, 3]
    assert all(sum(400 if i < 3 else 100 for i in g) + len(SEPARATOR) * (len(g) - 1) <= 1000 for g in groups)
    assert pack([5000, 10], 1000, 2) == [[0], [1]]  # an oversized text goes alone


def test_properties_load_only_the_ner_crf() -> None:
    props = request_properties("en")
    assert props["annotators"] == "tokenize,ssplit,ner"
    assert props["ner.model"] == LANGUAGES["en"].classifier
    for off in ("ner.applyFineGrained", "ner.useSUTime", "ner.applyNumericClassifiers"):
        assert props[off] == "false"
    assert props["outputFormat"] == "conll" and props["output.columns"] == "ner,BEGIN_POS,END_POS"
    json.dumps(props)


def test_served_languages() -> None:
    s = settings.load().replace(corenlp_langs="en, de")
    assert served_languages(s) == ["en", "de"]
    with pytest.raises(ValueError, match="no CoreNLP NER model"):
        served_languages(s.replace(corenlp_langs="en,ru"))


def test_service_command_is_local_and_small(tmp_path: Path) -> None:
    from streams.devservices.corenlp import GC_FLAGS, HTTP_FLAGS, CoreNlpService, model_classifiers

    s = settings.load().replace(
        services_dir=str(tmp_path), cache_dir=str(tmp_path / "c"), corenlp_langs="en,de,es"
    )
    svc = CoreNlpService(s)
    assert svc.coordinates() == [
        f"edu.stanford.nlp:stanford-corenlp:{s.corenlp_version}",
        f"edu.stanford.nlp:stanford-corenlp:{s.corenlp_version}:models",
        f"edu.stanford.nlp:stanford-corenlp:{s.corenlp_version}:models-german",
        f"edu.stanford.nlp:stanford-corenlp:{s.corenlp_version}:models-spanish",
    ]
    assert model_classifiers(["en", "de", "en"]) == ["models", "models-german"]
    cmd = svc.command(Path("/usr/bin/java"))
    assert f"-Xmx{s.corenlp_heap}" in cmd
    assert all(flag in cmd for flag in GC_FLAGS) and "-XX:-G1UseAdaptiveIHOP" in GC_FLAGS
    assert "-Dsun.net.httpserver.nodelay=true" in HTTP_FLAGS
    assert all(flag in cmd for flag in HTTP_FLAGS)
    assert cmd.index(HTTP_FLAGS[0]) < cmd.index("-cp")  # a JVM option, not a server argument
    assert cmd[cmd.index("-preload") + 1] == "tokenize,ssplit,ner"
    assert cmd[cmd.index("-port") + 1] == str(s.corenlp_port)
    assert "-blockList" in cmd and "-Djava.net.preferIPv4Stack=true" in cmd
    assert svc.marker() in " ".join(cmd)


def test_corenlp_is_registered_and_optional() -> None:
    import argparse

    assert "corenlp" in SERVICES and "corenlp" in OPTIONAL
    off = settings.load().replace(corenlp=False)
    on = off.replace(corenlp=True)
    args = argparse.Namespace(only=None)
    assert "corenlp" not in selected(args, off)
    assert selected(args, on)[-1] == "corenlp"
    assert selected(argparse.Namespace(only="corenlp"), off) == ["corenlp"]
