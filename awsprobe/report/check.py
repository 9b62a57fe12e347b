"""The ``awsprobe check`` verdict: one row per unmet or skipped expectation.

:func:`check_rows` turns a :class:`~awsprobe.expect.CheckReport` into
:class:`CheckRow` values (the unmet ones first, then those skipped under
``strict = false``); :func:`render_check` writes them as text lines ending in
a one-line verdict, or as JSON. A row's ``why`` is the decoded denial for a dry
run, the simulator's answer for a simulated verdict (``--simulate``), else the
plain-text reason AWS gave (:func:`~awsprobe.report.sources.why_line`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from awsprobe.model import Identity, Outcome, Source
from awsprobe.report.render import json_text
from awsprobe.report.sources import why_line

if TYPE_CHECKING:
    from awsprobe.expect import CheckReport, Expected, Unmet

__all__ = ["CheckRow", "CheckStatus", "check_rows", "render_check"]


class CheckStatus(StrEnum):
    """Why an expectation shows in the report."""

    UNMET = "unmet"  # the probe answered otherwise: the check fails
    SKIPPED = "skipped"  # inconclusive or error, let pass by ``strict = false``


@dataclass(frozen=True)
class CheckRow:
    """One expectation a probe result did not meet, with what was seen and why."""

    status: CheckStatus
    action: str
    region: str
    expected: Expected
    pattern: str
    outcome: Outcome
    code: str | None
    line: str  # ``ec2:RunInstances in us-east-1: expected allowed, got denied (…)``
    why: str | None  # the decoded denial or the simulator's answer, else the plain reason
    #: A ``[[request]]``'s parameters as sent (secrets redacted); ``None`` for a glob.
    params: Mapping[str, Any] | None = None
    #: Where the verdict came from: a dry run, or the policy simulator (``--simulate``).
    source: Source = Source.DRY_RUN

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "region": self.region,
            "expected": self.expected.value,
            "pattern": self.pattern,
            "outcome": self.outcome.value,
            "code": self.code,
            "source": self.source.value,
        }
        if self.params is not None:
            data["params"] = dict(self.params)
        return data


def _row(status: CheckStatus, unmet: Unmet) -> CheckRow:
    result = unmet.result
    return CheckRow(
        status=status,
        action=result.action,
        region=result.region,
        expected=unmet.expectation.expected,
        pattern=unmet.expectation.pattern,
        outcome=result.outcome,
        code=result.code,
        line=unmet.line,
        why=why_line(result),
        params=result.params,
        source=result.source,
    )


def check_rows(report: CheckReport) -> Iterator[CheckRow]:
    """The unmet expectations, then the skipped ones, each in the report's order."""
    for unmet in report.unmet:
        yield _row(CheckStatus.UNMET, unmet)
    for skipped in report.skipped:
        yield _row(CheckStatus.SKIPPED, skipped)


def render_check(report: CheckReport, identity: Identity, output: str = "table") -> str:
    """The verdict for ``identity``: text (``output="table"``) or JSON."""
    listed = list(check_rows(report))
    if output == "json":
        return json_text(
            {
                "ok": report.ok,
                "checked": report.checked,
                "identity": identity.to_json(),
                "unmet": [r.to_json() for r in listed if r.status is CheckStatus.UNMET],
                "skipped": [r.to_json() for r in listed if r.status is CheckStatus.SKIPPED],
            }
        )
    lines: list[str] = []
    for row in listed:
        if row.status is CheckStatus.SKIPPED:
            lines.append(f"SKIP   {row.line} (strict = false)")
            continue
        lines.append(f"UNMET  {row.line}")
        if row.why:
            lines.append(f"       why: {row.why}")
    verdict = "all met" if report.ok else f"{len(report.unmet)} unmet"
    lines.append(f"{report.checked} expectations checked for {identity.arn}: {verdict}")
    return "\n".join(lines) + "\n"
