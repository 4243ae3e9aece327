"""Text cleaning before NER: glued text split, boilerplate blanked, offsets kept."""

from __future__ import annotations

import re

from streams.enrich.textclean import clean_for_ner, crosses_paragraph, first_line_span, is_boilerplate

# Written for this test: a scraped item with a caption glued to the first sentence, a sentence
# glued to the next, a shouting byline, share buttons and a photo credit.
RAW = (
    "Archive photoMoscow and Beijing agreed on new talks, said Li Wen.She added that the\u00a0talks "
    "would resume in May.\n"
    "Share Button\n"
    "\u00a9 2026 Example Wire, photo by Ann Lee\n"
    "By TOM BAKER.The meeting was the third this year. Apple unveiled the iPhone at McDonald's "
    "on YouTube and eBay.\n\n"
    "\u201cWe agree,\u201d he said."
)


def test_glued_caption_becomes_its_own_paragraph_and_is_blanked() -> None:
    c = clean_for_ner(RAW)
    first = c.text.split("\n\n")[0]
    assert first.strip() == ""  # "Archive photo" alone on its line: boilerplate
    assert "\n\nMoscow and Beijing" in c.text


def test_glued_sentences_get_a_space() -> None:
    c = clean_for_ner(RAW)
    assert "Li Wen. She added" in c.text
    assert "TOM BAKER. The meeting" in c.text


def test_camel_case_names_are_left_alone() -> None:
    c = clean_for_ner(RAW)
    for name in ("iPhone", "McDonald's", "YouTube", "eBay"):
        assert name in c.text


def test_boilerplate_lines_are_blanked_and_lengths_kept() -> None:
    c = clean_for_ner(RAW)
    assert "Share Button" not in c.text
    assert "photo by" not in c.text
    assert "Example Wire" not in c.text
    assert len(c.text) == len(RAW) + len("\n\n") + 2 * len(" ")  # one break, two spaces inserted


def test_quotes_and_spaces_one_for_one() -> None:
    c = clean_for_ner(RAW)
    assert '"We agree," he said.' in c.text
    assert "the talks" in c.text


def test_every_span_maps_back_to_the_same_text() -> None:
    c = clean_for_ner(RAW)
    for word in ("Moscow", "Beijing", "Li Wen", "She", "TOM BAKER", "The meeting", "McDonald's"):
        m = re.search(re.escape(word), c.text)
        assert m is not None, word
        s, e = c.to_original(m.start(), m.end())
        assert RAW[s:e] == word


def test_span_over_an_insertion_maps_to_the_original_glued_span() -> None:
    c = clean_for_ner("the photoMoscow talks")
    s, e = c.to_original(c.text.index("photo"), c.text.index("Moscow") + len("Moscow"))
    assert "the photoMoscow talks"[s:e] == "photoMoscow"
    assert crosses_paragraph(c.text[c.text.index("photo") : c.text.index("Moscow") + 6])


def test_is_boilerplate_is_conservative() -> None:
    assert is_boilerplate("Share Button")
    assert is_boilerplate("Archival photo")
    assert is_boilerplate("Photo: Reuters / Jane Roe")
    assert not is_boilerplate("Photos of the summit show Li Wen and Ann Lee.")
    assert not is_boilerplate("Share prices fell in Tokyo on Monday after the report.")


def test_first_line_span() -> None:
    text = "Hua Chunying\nBeijing"
    assert first_line_span(text, 0, len(text)) == (0, len("Hua Chunying"))
    assert first_line_span(text, 0, 3) == (0, 3)


def test_clean_text_is_unchanged() -> None:
    text = "Li Wen met Ann Lee in Geneva on Monday.\n\nThey spoke for an hour."
    c = clean_for_ner(text)
    assert c.text == text
    assert c.to_original(0, 6) == (0, 6)


def test_offset_map_matches_a_character_by_character_map() -> None:
    """Every offset of the cleaned text maps where a map built one character at a time says:
    an original character to itself, an inserted one to the original character after it."""
    from streams.enrich.textclean import _insertions

    text = RAW + " photoRome,then Paris.Berlin" + RAW
    reference: list[int] = []
    pos = 0
    for at, what in _insertions(text):
        reference.extend(range(pos, at))
        reference.extend([at] * len(what))
        pos = at
    reference.extend(range(pos, len(text)))
    c = clean_for_ner(text)
    assert len(reference) == len(c.text)
    assert len(c.starts) >= 6  # glued words and sentences in both copies and the middle
    assert [c.origin(i) for i in range(len(c.text))] == reference
