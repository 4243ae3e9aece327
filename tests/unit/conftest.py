"""Unit tests run without any service, so their NER is the server-less path.

CoreNLP is the default English, German and Spanish backend, but it is a server
(``newsstream services``); unit tests (``make unit``) must pass on a machine where none runs.
They use ``NEWSSTREAM_CORENLP=false`` (spaCy and natasha, the MIT path), set here for the test
process and the subprocesses it starts. The CoreNLP path, the default, is tested against a
real server in ``tests/integration/enrich/test_corenlp.py``; tests of the defaults themselves read
``streams.settings.default_text``.
"""

from __future__ import annotations

import os

os.environ["NEWSSTREAM_CORENLP"] = "false"
