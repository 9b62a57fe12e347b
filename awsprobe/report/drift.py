"""Drift between two matrices (``awsprobe diff``, ``matrix --baseline``): one row per change.

:func:`drift_rows` turns a :class:`~awsprobe.compare.Drift` into
:class:`DriftRow` values, section by section in :data:`DRIFT_SECTIONS` order;
:func:`drift_lines` and :func:`render_drift` write them as titled text
sections or as JSON. A change whose verdict, either side, came from the policy
simulator (``--simulate``) ends in `` [simulated]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from awsprobe.model import Outcome, Source
from awsprobe.report.render import json_text

if TYPE_CHECKING:
    from awsprobe.compare import Change, Drift

__all__ = ["DRIFT_SECTIONS", "DriftRow", "drift_lines", "drift_rows", "render_drift"]

#: The kinds of change in display order: (JSON key, title).
DRIFT_SECTIONS: Final = (
    ("became_allowed", "became allowed"),
    ("became_denied", "became denied"),
    ("changed", "changed otherwise"),
    ("added", "only in the new matrix"),
    ("removed", "only in the old matrix"),
)


@dataclass(frozen=True)
class DriftRow:
    """One (action, region[, identity]) whose outcome differs, under its section."""

    section: str  # a JSON key of :data:`DRIFT_SECTIONS`
    action: str
    region: str
    identity: str  # "" when neither matrix holds several identities
    old: Outcome | None  # None: absent from the old matrix
    new: Outcome | None  # None: absent from the new matrix
    old_code: str | None
    new_code: str | None
    #: ``ec2:RunInstances in us-east-1: allowed (DryRunOperation) -> denied (…)``, and
    #: `` [simulated]`` when a side's verdict came from the simulator.
    line: str

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "region": self.region,
            "identity": self.identity or None,
            "old": self.old.value if self.old else None,
            "new": self.new.value if self.new else None,
            "old_code": self.old_code,
            "new_code": self.new_code,
        }


def _changes(drift: Drift) -> tuple[tuple[Change, ...], ...]:
    """Drift's groups, in :data:`DRIFT_SECTIONS` order."""
    return (drift.became_allowed, drift.became_denied, drift.changed, drift.added, drift.removed)


def _simulated(change: Change) -> bool:
    return any(r is not None and r.source is Source.SIMULATED for r in (change.old, change.new))


def drift_rows(drift: Drift) -> Iterator[DriftRow]:
    """Every change, section by section."""
    for (section, _), changes in zip(DRIFT_SECTIONS, _changes(drift), strict=True):
        for change in changes:
            mark = " [simulated]" if _simulated(change) else ""
            yield DriftRow(
                section=section,
                action=change.action,
                region=change.region,
                identity=change.identity,
                old=change.old.outcome if change.old else None,
                new=change.new.outcome if change.new else None,
                old_code=change.old.code if change.old else None,
                new_code=change.new.code if change.new else None,
                line=change.line + mark,
            )


def drift_lines(drift: Drift) -> list[str]:
    """``no differences``, or each non-empty section: ``title (count):`` and its changes."""
    listed = list(drift_rows(drift))
    if not listed:
        return ["no differences"]
    lines: list[str] = []
    for section, title in DRIFT_SECTIONS:
        items = [row.line for row in listed if row.section == section]
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items]
    return lines


def render_drift(drift: Drift, output: str = "table") -> str:
    """The drift as text sections, or as JSON with ``differs`` and one list per section."""
    if output != "json":
        return "\n".join(drift_lines(drift)) + "\n"
    listed = list(drift_rows(drift))
    data: dict[str, object] = {"differs": bool(listed)}
    for section, _ in DRIFT_SECTIONS:
        data[section] = [row.to_json() for row in listed if row.section == section]
    return json_text(data)
