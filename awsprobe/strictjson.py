"""JSON that refuses to guess: a document that repeats a key in one object is an error.

``json.loads`` keeps the last copy of a repeated key; AWS services and IAM may read
another, so a repeated key makes a document ambiguous. The guard (a request body whose
``DryRun`` appears twice proves nothing) and the sandbox's policy loader (IAM reads such a
policy ambiguously) both load JSON through :func:`loads`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads"]


class _DuplicateKeyError(ValueError):
    """A JSON object repeats ``key`` (internal: callers catch ``ValueError``)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


def loads(text: str | bytes) -> Any:
    """Parse ``text`` as JSON; a repeated key raises :class:`ValueError`.

    That error's ``key`` attribute names the repeated key (see :func:`repeated_key`).
    Other malformed input raises :class:`json.JSONDecodeError`, as ``json.loads`` does.
    """
    return json.loads(text, object_pairs_hook=_unique_keys)


def repeated_key(error: ValueError) -> str | None:
    """The key a :func:`loads` error says was repeated, or ``None`` for another error."""
    return error.key if isinstance(error, _DuplicateKeyError) else None
