"""Text from articles made safe to print on a terminal.

Why: article titles and bodies come from anyone who publishes a feed. Printed raw, an escape
sequence inside one can rewrite the screen, retitle the window, fake earlier output or, on some
terminals, write files or answer back on stdin. ``search`` and ``dlq list`` pass every piece of
article text through :func:`safe` (human output) or :func:`json_safe` (``--json``).
"""

from __future__ import annotations

import re

# ESC-introduced sequences first (CSI ... final byte, OSC/DCS/PM/APC ... ST or BEL, 2-byte ESC X),
# so their parameters go too, then any remaining C0 control except tab/newline, DEL and C1.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P^_X][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_C1_AND_DEL = re.compile(r"[\x7f-\x9f]")


def safe(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab/newline kept)."""
    return _ESCAPES.sub("", text)


def json_safe(text: str) -> str:
    """JSON text with DEL and C1 controls escaped (``json.dumps`` leaves them raw with
    ``ensure_ascii=False``; it already escapes C0). The data is unchanged when parsed."""
    return _C1_AND_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
