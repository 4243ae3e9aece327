"""The README's generated tables match the code (run `python -m streams.docs_tables`)."""

from __future__ import annotations

from streams import docs_tables


def test_readme_tables_are_current() -> None:
    text = docs_tables.README.read_text()
    assert docs_tables.render(text) == text, "README tables are stale: python -m streams.docs_tables"


def test_readme_shows_the_two_commands() -> None:
    text = docs_tables.README.read_text()
    assert "make demo" in text and "make test" in text
