"""Log records made by our redacting factory format cleanly through Faust's console formatter."""

from __future__ import annotations

import io
import logging

from mode.utils.logging import ExtensionFormatter

from streams import logs


def test_a_message_without_arguments_survives_faust_s_formatter() -> None:
    factory = logs.redacting_record_factory(lambda text: text.replace("s3cret", "***"))
    record = factory("x", logging.WARNING, __file__, 1, "pool broken, key s3cret", (), None)
    formatter = ExtensionFormatter(stream=io.StringIO(), fmt="%(message)s")
    assert formatter.format(record) == "pool broken, key ***"
    again = factory("x", logging.INFO, __file__, 1, "no arguments here", (), None)
    assert formatter.format(again) == "no arguments here"
