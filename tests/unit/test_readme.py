"""The README's generated tables match the code (run `python -m streams.ops.docs_tables`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from streams.ops import docs_tables


def test_readme_tables_are_current() -> None:
    text = docs_tables.README.read_text()
    assert docs_tables.render(text) == text, "README tables are stale: python -m streams.ops.docs_tables"


def test_readme_shows_the_two_commands() -> None:
    text = docs_tables.README.read_text()
    assert "make demo" in text and "make test" in text


def test_every_dependency_has_its_licence_in_the_readme() -> None:
    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[=<>\[ ]", d, maxsplit=1)[0] for d in project["dependencies"]]
    names += [re.split(r"[=<>\[ ]", d, maxsplit=1)[0] for d in project["optional-dependencies"]["dev"]]
    readme = (root / "README.md").read_text()
    table = readme.split("## Third-party licences", 1)[1].split("\n## ", 1)[0].lower()
    aliases = {"elasticsearch": "elasticsearch-py"}
    missing = [n for n in names if aliases.get(n.lower(), n.lower()).replace("_", "-") not in
               table.replace("_", "-")]
    assert not missing, f"no licence row in README for: {missing}"
