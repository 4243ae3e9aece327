"""The wheel's package list and data mapping cover everything the code imports and reads."""

from __future__ import annotations

import re
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
        resources.SCHEMAS: "schemas", resources.EXAMPLES: "examples", resources.JVM_SOURCES: "devservices",
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


def test_runtime_imports_of_trafilatura_are_declared() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split("==")[0].split(">")[0].split("<")[0].strip().lower().replace("_", "-") for d in deps}
    assert "lxml-html-clean" in names
    import lxml_html_clean  # noqa: F401 (what lxml.html.clean needs since lxml 5.2)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(name: str) -> dict[str, str]:
    """package -> version of a uv/pip-compile lock file; every entry must carry hashes."""
    text = (ROOT / "requirements" / name).read_text()
    out: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", block)
        if m:
            assert "--hash=sha256:" in block, f"{name}: {m.group(1)} has no hash"
            out.setdefault(_norm(m.group(1)), m.group(2))
    return out


def test_locks_pin_every_declared_dependency_at_its_declared_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _locked("lock.txt"), _locked("dev-lock.txt")
    for lock, specs in ((runtime, project["dependencies"]),
                        (dev, project["dependencies"] + project["optional-dependencies"]["dev"])):
        for spec in specs:
            name, _, version = spec.split(";")[0].partition("==")
            name = re.split(r"[<>=!~\[ ]", name)[0]
            assert _norm(name) in lock, f"{name} is not in the lock: run `make lock`"
            if version:
                assert lock[_norm(name)] == version.strip(), f"{name}: lock differs, run `make lock`"
    shared = set(runtime) & set(dev)
    assert set(runtime) <= set(dev)
    assert {n: runtime[n] for n in shared} == {n: dev[n] for n in shared}
