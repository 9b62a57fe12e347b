"""A decoded authorization failure (``awsprobe decode``): one labelled row per fact.

:func:`decode_rows` turns an :class:`~awsprobe.decode.Explanation` into
:class:`DecodeRow` values -- the verdict, the action actually denied, the
resource, the principal, then each matched statement and condition key;
:func:`render_decode` writes them as aligned ``label: value`` lines, or prints
the decoded JSON that STS returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from awsprobe.model import Explanation
from awsprobe.report.render import json_text

__all__ = ["DecodeRow", "decode_rows", "render_decode"]

_NOT_STATED = "(not stated)"


@dataclass(frozen=True)
class DecodeRow:
    """One fact of a decoded message: ``verdict``, ``action``, ``statement``, …"""

    label: str
    value: str


def decode_rows(explanation: Explanation) -> Iterator[DecodeRow]:
    """The facts in reading order; a statement or condition key per row."""
    verdict = (
        "explicit deny" if explanation.explicit_deny else "implicit deny (no policy allows it)"
    )
    yield DecodeRow("verdict", verdict)
    yield DecodeRow("action", explanation.denied_action or _NOT_STATED)
    yield DecodeRow("resource", explanation.resource or _NOT_STATED)
    yield DecodeRow("principal", explanation.principal or _NOT_STATED)
    for sid, effect in explanation.matched_statements:
        yield DecodeRow("statement", f"{sid or '(no Sid)'} ({(effect or '?').lower()})")
    for key, values in explanation.conditions:
        yield DecodeRow("condition", f"{key} = {', '.join(values)}")


def render_decode(explanation: Explanation, raw: str, output: str = "table") -> str:
    """``label:`` and value per line, or (``output="json"``) the raw JSON, indented."""
    if output == "json":
        try:
            return json_text(json.loads(raw))
        except ValueError:
            return raw + "\n"
    return "".join(f"{row.label + ':':<12}{row.value}\n" for row in decode_rows(explanation))
