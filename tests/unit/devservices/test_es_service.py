"""Pure parts of the local Elasticsearch service: when to rebuild, what the JVM gets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streams.devservices.base import ServiceError
from streams.devservices.elasticsearch import SOURCES, jvm_options, sources_digest


def _copy_sources(tmp_path: Path) -> Path:
    root = tmp_path / "services"
    shutil.copytree(SOURCES, root, ignore=shutil.ignore_patterns("target"))
    return root


def test_digest_follows_the_java_sources_only(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    before = sources_digest(root)
    assert before == sources_digest(root) and len(before) == 12
    # Build output and editor litter next to the sources do not force a rebuild...
    (root / "elasticsearch" / "target" / "lib").mkdir(parents=True)
    (root / "elasticsearch" / "target" / "lib" / "x.jar").write_bytes(b"jar")
    assert sources_digest(root) == before
    # ...an edited plugin source or pom does.
    java = next(root.rglob("LanguageAnalyzers.java"))
    java.write_text(java.read_text() + "\n// changed\n")
    changed = sources_digest(root)
    assert changed != before
    pom = root / "elasticsearch" / "pom.xml"
    pom.write_text(
        pom.read_text().replace("<version>1.0.0</version>", "<version>1.0.1</version>", 1)
    )
    assert sources_digest(root) not in (before, changed)


def test_digest_without_sources_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="reinstall newsstream"):
        sources_digest(tmp_path)


def test_jvm_options_cap_the_heap_and_keep_tmp_private(tmp_path: Path) -> None:
    opts = jvm_options("512m", tmp_path)
    assert "-Xmx512m" in opts
    assert f"-Djava.io.tmpdir={tmp_path}" in opts
    assert "-XX:+ExitOnOutOfMemoryError" in opts
    assert "-Xms128m" in opts
    assert "-Xms64m" in jvm_options("64m", tmp_path)  # never an initial heap above the max
    with pytest.raises(ServiceError, match="NEWSSTREAM_ES_HEAP"):
        jvm_options("lots", tmp_path)
