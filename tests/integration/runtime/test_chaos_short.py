"""The fault matrix's short form (``make chaos`` runs the full one): three cheap rows in CI.

A worker kill -9 while enrich is busy and a hostile flood run on the test services (they kill
only workers); the Elasticsearch outage needs a node of its own, started here on free ports
while the first two rows run, and stopped at the end. Every row must account for every
message (nothing lost, nothing doubled) and drain; the table is printed either way.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from streams import settings as settings_mod
from streams.devservices.base import port_in_use
from tests.chaos import matrix
from tests.chaos.harness import Services

pytestmark = pytest.mark.integration


def _free_base() -> int:
    """A port base whose Elasticsearch ports (base+8, base+9) are both free."""
    for base in range(29492, 30492, 10):
        if not port_in_use(base + 8) and not port_in_use(base + 9):
            return base
    raise RuntimeError("no free port pair for a private Elasticsearch")


# Passing rows take a few minutes; a row that does not drain waits out its own timeout first.
@pytest.mark.timeout(1800)
def test_short_fault_matrix_loses_and_doubles_nothing(
    services: settings_mod.Settings, tmp_path: Path
) -> None:
    own_es = Services(_free_base(), tmp_path / "services", own=frozenset({"elasticsearch"}))
    own_es.up_in_background()
    results: list[matrix.Result] = []
    try:
        shared = Services(0, tmp_path / "shared-services", own=frozenset())
        results += matrix.run_rows(
            matrix.Context(shared, tmp_path / "shared", matrix.SHORT), ["kill-enrich", "hostile"]
        )
        try:
            own_es.wait_up()
        except Exception as exc:  # reported as the row's failure, with the others' table
            results.append(matrix.Result("es-stop", error=f"own Elasticsearch: {exc}"[:300]))
        else:
            results += matrix.run_rows(matrix.Context(own_es, tmp_path / "own", matrix.SHORT),
                                       ["es-stop"])
    finally:
        with contextlib.suppress(Exception):
            own_es.wait_up(timeout=300)
        own_es.down()
    text = matrix.table(results)
    print("\n" + text)
    failed = [r for r in results if not r.ok]
    assert not failed, text + "\n" + "\n".join(e for r in failed for e in r.evidence)
