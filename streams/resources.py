"""Data files shipped inside the package, read through ``importlib.resources``.

Why: the repository keeps ``schemas/``, ``examples/`` and the local Elasticsearch launcher's
Maven project (``devservices/``) at the top level, and the build maps them into the wheel as
``streams.schemas``, ``streams.examples`` and ``streams.devservices.jvm`` (``package-dir`` in
pyproject.toml). Reading them by package name, never by a path relative to the source tree,
makes an installed wheel (a venv, the Docker image) behave like a checkout.
"""

from __future__ import annotations

import json
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

SCHEMAS = "streams.schemas"
EXAMPLES = "streams.examples"
JVM_SOURCES = "streams.devservices.jvm"


def resource(package: str, *parts: str) -> Traversable:
    """A file or directory inside ``package`` (not necessarily on a file system)."""
    node = files(package)
    for part in parts:
        node = node.joinpath(part)
    return node


def read_text(package: str, *parts: str) -> str:
    """The UTF-8 text of a packaged file."""
    return resource(package, *parts).read_text(encoding="utf-8")


def schema_json(*parts: str) -> Any:
    """A JSON file under ``schemas/``, e.g. ``schema_json("elasticsearch", "articles-template.json")``."""
    return json.loads(read_text(SCHEMAS, *parts))


def directory(package: str, *parts: str) -> Path:
    """A packaged directory as a real path, for tools that need one (Maven, ``--file`` defaults).

    Wheels are installed unpacked, so this is the installed directory itself; a zip import
    cannot serve these tools and is refused with a clear message.
    """
    node = resource(package, *parts)
    if not isinstance(node, Path):
        raise RuntimeError(f"{package} is not installed on a file system ({node}): reinstall the wheel")
    return node
