"""Keep the README's configuration and metrics tables generated from the code.

``python -m streams.ops.docs_tables`` rewrites them in place; a unit test fails when they drift, so
the README stays true.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from streams import metrics, settings

README = settings.REPO_ROOT / "README.md"


def settings_table() -> str:
    """One row per field of :class:`streams.settings.Settings`, in declaration order."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for env, default, meaning in settings.describe():
        shown = default.replace(str(settings.REPO_ROOT), ".").replace(str(Path.home()), "~")
        rows.append(f"| `{env}` | `{shown}` | {meaning} |")
    return "\n".join(rows)


def metrics_table(registry: CollectorRegistry = metrics.REGISTRY) -> str:
    rows = ["| metric | type | meaning |", "|---|---|---|"]
    for metric in registry.collect():
        name = metric.name + ("_total" if metric.type == "counter" else "")
        rows.append(f"| `{name}` | {metric.type} | {metric.documentation} |")
    return "\n".join(rows)


def faust_metrics_table() -> str:
    """Faust's own metrics as the worker registers them (same class, same prefix)."""
    from faust.sensors.prometheus import FaustMetrics

    registry = CollectorRegistry(auto_describe=True)
    FaustMetrics.create(registry, metrics.FAUST_PREFIX)
    return metrics_table(registry)


def render(text: str) -> str:
    for name, table in (("settings-table", settings_table()), ("metrics-table", metrics_table()),
                        ("faust-metrics-table", faust_metrics_table())):
        text = re.sub(
            rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
            lambda m, t=table: m.group(1) + t + "\n" + m.group(2),
            text,
            flags=re.S,
        )
    return text


if __name__ == "__main__":
    current = README.read_text()
    README.write_text(render(current))
    sys.exit(0)
