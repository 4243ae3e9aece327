"""The Faust codec of the topics between stages: :func:`streams.model.encode_internal` JSON.

Registered on import; ``streams.runtime.app`` names it for the internal topics.
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs

from streams.model import decode_internal, encode_internal

INTERNAL_CODEC = "newsstream-json"


class InternalCodec(codecs.Codec):
    """UTF-8 JSON out; in, anything undecodable becomes a stand-in value instead of raising."""

    def _dumps(self, obj: Any) -> bytes:
        return encode_internal(obj)

    def _loads(self, s: bytes) -> Any:
        return decode_internal(s)


codecs.register(INTERNAL_CODEC, InternalCodec())
