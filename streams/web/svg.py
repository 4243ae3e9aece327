"""A bar chart of articles per day, drawn on the server as inline SVG.

Why on the server: no chart library, nothing fetched from a CDN, the page reads without
JavaScript, and the chart scales with the page (``viewBox``). Only presentation attributes
are used (no ``style``), so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 140
TOP, BOTTOM, LEFT, RIGHT = 14, 22, 34, 6


def histogram_svg(rows: Sequence[dict[str, Any]], label: str = "Matching articles per day") -> str:
    """``rows`` of ``{date, count}`` -> an accessible SVG element (empty string for no rows)."""
    if not rows:
        return ""
    peak = max(int(r["count"]) for r in rows) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(rows)
    bar_w = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="histogram" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#9aa3ad" stroke-width="1"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" font-size="10" '
        f'fill="#56606b">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="10" '
        'fill="#56606b">0</text>',
    ]
    label_every = max(1, len(rows) // 8)
    for i, row in enumerate(rows):
        count = int(row["count"])
        h = plot_h * count / peak
        x = LEFT + i * step + (step - bar_w) / 2
        y = TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="#2f6db5"><title>{escape(row["date"])}: {count}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                f'font-size="10" fill="#56606b">{escape(str(row["date"])[5:])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
