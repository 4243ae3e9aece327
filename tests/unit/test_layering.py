"""The package layering: each layer imports only the layers below it.

From the bottom: the shared modules (settings, model, dead-letter envelope, clients, metrics),
the stages in data-flow order (ingest -> dedup -> enrich -> index), the control of the local
services (``devservices``), the Faust worker (``runtime``) and the operations around the
pipeline (``ops``, ``web``), and on top the command line (``cli``). A stage never sees Faust,
argparse, the agents or the commands, so it stays a plain function that tests, benchmarks and
``newsstream enrich`` call directly. Imports inside functions count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "streams"

SHARED = {"streams", "streams.clock", "streams.procs", "streams.settings", "streams.model",
          "streams.dlq", "streams.kafka_io", "streams.metrics", "streams.logs", "streams.resources",
          "streams.terminal", "streams.schemas", "streams.examples"}
STAGES = ["streams.ingest", "streams.dedup", "streams.enrich", "streams.index"]
DEVSERVICES = "streams.devservices"
SERVICES = ["streams.runtime", "streams.ops", "streams.web"]
CLI = "streams.cli"
# Known upward imports, each with the reason it is still here. Keep this list short.
ALLOWED = {
    # the NER pool restarts the local CoreNLP server it was configured to use after a crash
    ("streams.enrich.nlp", "streams.devservices.base"),
    ("streams.enrich.nlp", "streams.devservices.corenlp"),
}
# third-party modules that belong to the worker or the command line, never to a stage
TRANSPORT_ONLY = {"faust", "mode", "argparse"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from streams import dlq` imports the module streams.dlq
            found.update(f"{node.module}.{a.name}" for a in node.names if node.module == "streams")
    return found


def layer(module: str) -> tuple[int, str]:
    """(rank, name): a module may import modules of a lower rank or of its own package."""
    if module in SHARED or module.split(".")[:2] == ["streams", "schemas"]:
        return 0, "shared"
    for i, stage in enumerate(STAGES):
        if module == stage or module.startswith(stage + "."):
            return 1 + i, stage
    if module == DEVSERVICES or module.startswith(DEVSERVICES + "."):
        return 1 + len(STAGES), DEVSERVICES
    for service in SERVICES:
        if module == service or module.startswith(service + "."):
            return 2 + len(STAGES), service
    if module == CLI or module.startswith(CLI + "."):
        return 3 + len(STAGES), CLI
    raise AssertionError(f"{module} belongs to no layer: add it to tests/unit/test_layering.py")


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_nothing_imports_upward(path: Path) -> None:
    me = module_name(path)
    rank, own = layer(me)
    upward = []
    for target in sorted(imports(path)):
        if target != "streams" and not target.startswith("streams."):
            continue
        their_rank, theirs = layer(target)
        if theirs != own and their_rank >= rank and (me, target) not in ALLOWED:
            upward.append(target)
    assert not upward, f"{me} ({own}) imports {upward}, which are not below it"


@pytest.mark.parametrize("path", [p for p in MODULES if layer(module_name(p))[1] in ("shared", *STAGES)],
                         ids=lambda p: module_name(p))
def test_stages_and_shared_modules_never_import_faust_or_argparse(path: Path) -> None:
    used = {name.split(".")[0] for name in imports(path)} & TRANSPORT_ONLY
    assert not used, f"{module_name(path)} imports {sorted(used)}: that belongs to runtime/ or cli/"


def test_the_layers_are_seen() -> None:
    """A rename that empties a layer would make the checks above vacuous."""
    seen = {layer(module_name(p))[1] for p in MODULES}
    assert seen == {"shared", *STAGES, DEVSERVICES, *SERVICES, CLI}


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from streams.runtime import app\n    import argparse\n")
    assert {"streams.runtime", "argparse"} <= imports(bad)
    assert layer("streams.runtime.app")[0] > layer("streams.enrich.nlp")[0]
