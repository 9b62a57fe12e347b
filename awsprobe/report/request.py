"""A request probe's verdict (``awsprobe request``): one labelled row per fact.

:func:`request_rows` turns the :class:`~awsprobe.model.ProbeResult` of
:func:`awsprobe.probing.request.probe_request` into :class:`RequestRow` values -- the
verdict, the request, the identity, then for a decoded denial the action actually
denied (it can be a dependent one such as ``iam:PassRole``), the resource, each
matched statement and the request's own condition keys (``ec2:InstanceType``; the
global ``aws:`` keys only in JSON), then why when it is not plain (and AWS's message
when there is no verdict), and the parameters as sent;
:func:`render_request` writes them as aligned ``label: value`` lines, or the result's
JSON object (the matrix result fields plus ``params`` and ``decoded``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from awsprobe.model import Outcome, ProbeResult
from awsprobe.report.render import json_text

__all__ = ["RequestRow", "render_request", "request_rows"]

#: Global condition keys (``aws:username``, ``aws:CurrentTime``, …) describe the caller and
#: the moment; the table shows the request's own (``ec2:InstanceType``), JSON all of them.
_GLOBAL = "aws:"


@dataclass(frozen=True)
class RequestRow:
    """One fact of a request probe: ``verdict``, ``denied``, ``statement``, …"""

    label: str
    value: str


def request_rows(result: ProbeResult) -> Iterator[RequestRow]:
    """The facts in reading order; a statement or condition key per row."""
    code = f" ({result.code})" if result.code else ""
    yield RequestRow("verdict", f"{result.outcome.value}{code}")
    yield RequestRow("request", f"{result.action} in {result.region}")
    if result.identity:
        yield RequestRow("identity", result.identity)
    decoded = result.decoded
    if decoded is not None:
        kind = "explicit deny" if decoded.explicit_deny else "implicit deny: no policy allows it"
        yield RequestRow("denied", f"{decoded.denied_action or result.action} ({kind})")
        if decoded.resource:
            yield RequestRow("resource", decoded.resource)
        for sid, effect in decoded.matched_statements:
            yield RequestRow("statement", f"{sid or '(no Sid)'} ({(effect or '?').lower()})")
        for key, values in decoded.conditions:
            if not key.lower().startswith(_GLOBAL):  # the request's own keys, not the caller's
                yield RequestRow("condition", f"{key} = {', '.join(values)}")
    elif result.outcome is Outcome.DENIED and result.reason:
        yield RequestRow("reason", result.reason)
    if result.detail and (result.outcome is not Outcome.ALLOWED and decoded is None):
        yield RequestRow("why", result.detail)  # what was not decided, or not decoded, and why
    if result.message and result.outcome not in (Outcome.ALLOWED, Outcome.DENIED):
        yield RequestRow("message", " ".join(result.message.split()))  # AWS's own words
    if result.params is not None:
        shown = json.dumps(dict(result.params), ensure_ascii=False, separators=(", ", ": "))
        yield RequestRow("params", shown)


def render_request(result: ProbeResult, output: str = "table") -> str:
    """``label:`` and value per line, or (``output="json"``) the result's JSON object."""
    if output == "json":
        return json_text(result.to_json())
    return "".join(f"{row.label + ':':<11}{row.value}\n" for row in request_rows(result))
