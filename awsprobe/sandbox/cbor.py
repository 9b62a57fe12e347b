"""A CBOR encoder for the one shape the sandbox writes: a map of text to text.

smithy-rpc-v2-cbor errors are a CBOR map (RFC 8949, major type 5) of text
strings (major type 3): ``{"__type": code, "message": text}``.
"""

from __future__ import annotations

from collections.abc import Mapping


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 0x100:
        return bytes([major << 5 | 24, length])
    if length < 0x10000:
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")
    return bytes([major << 5 | 26]) + length.to_bytes(4, "big")


def _cbor_text_map(values: Mapping[str, str]) -> bytes:
    out = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            raw = text.encode("utf-8")
            out += _cbor_head(3, len(raw)) + raw
    return bytes(out)
