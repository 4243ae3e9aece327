"""The wheel's package list and data mapping cover everything the code imports and reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streams import resources, settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_python_package_is_listed() -> None:
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "streams").rglob("__init__.py")
    }
    assert found <= set(CONFIG["packages"]), found - set(CONFIG["packages"])


def test_data_packages_map_to_the_top_level_sources() -> None:
    assert CONFIG["package-dir"] == {
        resources.SCHEMAS: "schemas", resources.EXAMPLES: "examples", resources.JVM_SOURCES: "services",
    }


def test_every_schema_file_is_package_data() -> None:
    patterns = CONFIG["package-data"][resources.SCHEMAS]
    on_disk = {p.relative_to(ROOT / "schemas") for p in (ROOT / "schemas").rglob("*") if p.is_file()}
    shipped = {p for p in on_disk if any(p.match(pat) for pat in patterns)}
    assert on_disk - shipped == {Path("__init__.py")}


def test_resources_resolve_to_the_top_level_files() -> None:
    text = resources.read_text(resources.SCHEMAS, "elasticsearch", "articles-template.json")
    assert text == (ROOT / "schemas" / "elasticsearch" / "articles-template.json").read_text()
    assert (resources.directory(resources.EXAMPLES) / "articles.jsonl").is_file()


def test_state_leaves_the_code_directory_when_not_a_checkout(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(settings, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert settings.default_home() == tmp_path / "xdg" / "newsstream"
    monkeypatch.setattr(settings, "REPO_ROOT", ROOT)
    assert settings.default_home() == ROOT / ".services"
