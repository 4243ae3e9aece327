"""Structured logging: one JSON object per line (or plain text), on stderr.

Why: a pipeline's logs are read by machines first (grep, Loki, Elastic); key=value fields
such as ``topic``, ``partition``, ``offset`` and ``reason`` must survive as fields.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record and its ``extra=`` fields as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable ``level logger: msg key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_")
        )
        line = f"{record.levelname.lower():7s} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RedactingFormatter(logging.Formatter):
    """Pass every finished line (message, fields, traceback) through ``redact``.

    Why on the whole line: a secret can hide in a message argument, an ``extra=`` field or an
    exception text (a URL with ``user:password@``), and one place catches them all.
    """

    def __init__(self, inner: logging.Formatter, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.inner = inner
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


_BASE_RECORD_FACTORY = logging.getLogRecordFactory()


def redacting_record_factory(redact: Callable[[str], str]) -> Callable[..., logging.LogRecord]:
    """Records whose message is already redacted when created.

    Why besides the formatter: Faust's worker (mode) replaces the root handlers with its own,
    which would drop :class:`RedactingFormatter`; the record factory stays in force.
    """

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _BASE_RECORD_FACTORY(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        # an empty tuple, not None: Faust's console formatter (mode) turns None into (None,)
        # and then fails to format every message that had no arguments
        record.msg, record.args = redact(message), ()
        return record

    return factory


def setup(
    level: str = "INFO", fmt: str = "json", redact: Callable[[str], str] | None = None
) -> None:
    """Configure the root logger once (idempotent); ``redact`` hides secrets in every line."""
    from streams.settings import redact_url

    redact = redact or redact_url
    logging.setLogRecordFactory(redacting_record_factory(redact))
    handler = logging.StreamHandler(sys.stderr)
    inner: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler.setFormatter(RedactingFormatter(inner, redact))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("elastic_transport.transport", "kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
