"""Clean text for NER, with every offset mapped back to the original text.

Why: feeds and scraped pages glue captions and sentences together ("Archival photoRussia and
China ...", "said Hua Chunying.She added", "SHAVER.The"), carry boilerplate ("Share Button",
"© 2026 ... photo by ...") and odd whitespace and quotes. NER models then see a person
"Archival photoRussia" or an organization running over a sentence end. :func:`clean_for_ner`
returns the text a model should see plus a map back to the original, so entity offsets still
index the article's field exactly (``field[start:end] == entity.text``).

What it does (each rule is conservative: a camel-cased name such as "iPhone", "McDonald",
"YouTube" or "eBay" is left alone):

- a lower-case word of 3+ letters glued to a capitalised word ("photoRussia") gets a paragraph
  break in between: no punctuation marks the boundary, so only a hard break keeps a name from
  running across it;
- a sentence end glued to the next sentence ("Chunying.She", "SHAVER.The") gets a space;
- lines (or glued fragments) that are boilerplate or photo credits are blanked out;
- typographic quotes become ASCII quotes and odd spaces plain spaces (one for one).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# "photoRussia": a lower-case run of 3+ letters that starts a word, then Upper + lower.
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff\u0430-\u044f\u0451"
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0410-\u042f\u0401"
_GLUED_WORDS = re.compile(rf"(?<![^\W\d_])([{_LOWER}]{{3,}})(?=[{_UPPER}][{_LOWER}])")
# "Chunying.She", "SHAVER.The", "said:It": sentence punctuation between two words, no space.
_GLUED_SENTENCE = re.compile(
    rf"(?<=[{_LOWER}]{{2}}[.!?])(?=[{_UPPER}][{_LOWER}])|(?<=[{_UPPER}]{{3}}[.!?])(?=[{_UPPER}][{_LOWER}])"
)

_QUOTES = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2039": "'", "\u203a": "'",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ",
    "\u2003": " ", "\u200b": " ", "\ufeff": " ", "\t": " ", "\u3000": " ",
})  # fmt: skip
# The characters _QUOTES replaces: found by one regex scan, so a text pays per replaced
# character instead of a dictionary look-up per character (``str.translate``).
_ODD_CHARACTERS = re.compile("[" + "".join(re.escape(chr(c)) for c in _QUOTES) + "]")


def _plain(m: re.Match[str]) -> str:
    return str(_QUOTES[ord(m.group())])


# A whole line (or glued fragment) that is not article text.
_BOILERPLATE = re.compile(
    r"""^\W*(?:
        share(?:\s+(?:button|this(?:\s+article)?|on\s+\w+))?
      | (?:archival|archive|file|stock|illustrative)\s+(?:photo|image|picture)s?
      | photo|image|video|audio|advertisement|advert|sponsored(?:\s+content)?
      | (?:read|see)\s+(?:more|also)\b.*
      | related(?:\s+(?:articles?|stories|news))?:?.*
      | (?:subscribe|sign\s+up)\b.*
      | click\s+here\b.*
      | (?:photo|image|picture|video)s?\s*(?:by|credit|:|/|\u00a9).*
      | \u00a9.*
      | (?:copyright|all\s+rights\s+reserved)\b.*
      | (?:getty\s+images|afp|reuters|ap\s+photo|epa|tass|ria\s+novosti)(?:\s*/.*)?
      | (?:tweet|email|print|facebook|twitter|whatsapp|telegram)(?:\s*[|/,]\s*\w+)*
      | \u0444\u043e\u0442\u043e(?:\s*[:/].*)?
      | \u0430\u0440\u0445\u0438\u0432\u043d\u043e\u0435\s+\u0444\u043e\u0442\u043e
      | \u043f\u043e\u0434\u0435\u043b\u0438\u0442\u044c\u0441\u044f
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_BOILERPLATE_CHARS = 160
_SEGMENT = re.compile(r"[^\n]+")
# What each glue rule needs at least (three characters, no look-behind): most texts have
# neither, and these scan several times faster than the rules themselves.
_MAYBE_GLUED_WORDS = re.compile(rf"[{_LOWER}][{_UPPER}][{_LOWER}]")
_MAYBE_GLUED_SENTENCE = re.compile(rf"[.!?][{_UPPER}][{_LOWER}]")


@dataclass(frozen=True)
class Cleaned:
    """The text NER sees and where its characters come from in the original text.

    Cleaning only inserts characters (and replaces others one for one), so the map back is
    the list of insertions: ``starts[k]`` is where the k-th inserted run begins in
    :attr:`text`, ``ends[k]`` where it ends, ``shifts[k]`` the characters inserted up to and
    including it. An inserted character belongs to the original character after it.
    """

    text: str
    original_length: int
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    shifts: tuple[int, ...] = ()

    def origin(self, offset: int) -> int:
        """The original offset of the character at ``offset`` of :attr:`text`."""
        k = bisect.bisect_right(self.starts, offset) - 1
        if k < 0:
            return offset
        if offset < self.ends[k]:  # an inserted character: the original one after it
            return self.starts[k] - (self.shifts[k - 1] if k else 0)
        return offset - self.shifts[k]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """A ``[start, end)`` span of :attr:`text` as a span of the original text."""
        if end <= start:
            pos = self.origin(start) if start < len(self.text) else self.original_length
            return pos, pos
        return self.origin(start), self.origin(end - 1) + 1


def _insertions(text: str) -> list[tuple[int, str]]:
    """(offset, what to insert before it), sorted."""
    ins: dict[int, str] = {}
    if _MAYBE_GLUED_WORDS.search(text):
        for m in _GLUED_WORDS.finditer(text):
            ins[m.end(1)] = "\n\n"
    if _MAYBE_GLUED_SENTENCE.search(text):
        for m in _GLUED_SENTENCE.finditer(text):
            ins.setdefault(m.start(), " ")
    return sorted(ins.items())


def is_boilerplate(segment: str) -> bool:
    """True for a short line that is a caption, credit, share button or similar."""
    s = segment.strip()
    return bool(s) and len(s) <= _MAX_BOILERPLATE_CHARS and _BOILERPLATE.match(s) is not None


def clean_for_ner(text: str) -> Cleaned:
    """The cleaned text and its offset map (pure; see the module docstring)."""
    base = _ODD_CHARACTERS.sub(_plain, text)
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    shifts: list[int] = []
    pos = shift = 0
    for at, what in _insertions(base):
        parts.append(base[pos:at])
        starts.append(at + shift)
        shift += len(what)
        ends.append(at + shift)
        shifts.append(shift)
        parts.append(what)
        pos = at
    parts.append(base[pos:])
    joined = "".join(parts)
    kept: list[str] = []
    pos = 0
    for m in _SEGMENT.finditer(joined):
        if is_boilerplate(m.group()):
            kept.append(joined[pos : m.start()])
            kept.append(" " * (m.end() - m.start()))
            pos = m.end()
    if kept:
        kept.append(joined[pos:])
        joined = "".join(kept)
    return Cleaned(joined, len(text), tuple(starts), tuple(ends), tuple(shifts))


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


def crosses_paragraph(text: str) -> bool:
    """True when an entity's text runs over a paragraph break (it is two things, not one)."""
    return _PARAGRAPH_BREAK.search(text) is not None


def first_line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` cut at its first line break (a name does not wrap lines in news)."""
    cut = text.find("\n", start, end)
    if cut < 0:
        return start, end
    stop = cut
    while stop > start and text[stop - 1].isspace():
        stop -= 1
    return start, stop


__all__ = ["Cleaned", "clean_for_ner", "crosses_paragraph", "first_line_span", "is_boilerplate"]
