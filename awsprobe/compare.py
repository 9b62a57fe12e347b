"""Compare two matrices: what became allowed, what became denied, what else changed.

Results are matched on (action, region) -- and on the identity too when either
matrix holds several identities, so a baseline taken with another session name
of the same role still compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from awsprobe.matrix import Matrix
from awsprobe.model import Outcome, ProbeResult

__all__ = ["Change", "Drift", "diff"]

_Key = tuple[str, str, str]


@dataclass(frozen=True)
class Change:
    """One (action, region) whose outcome differs between two matrices."""

    action: str
    region: str
    identity: str
    old: ProbeResult | None
    new: ProbeResult | None

    @property
    def line(self) -> str:
        def show(result: ProbeResult | None) -> str:
            if result is None:
                return "absent"
            code = f" ({result.code})" if result.code else ""
            return f"{result.outcome.value}{code}"

        who = f" as {self.identity}" if self.identity else ""
        return f"{self.action} in {self.region}{who}: {show(self.old)} -> {show(self.new)}"


@dataclass(frozen=True)
class Drift:
    """The differences between an old and a new matrix, by kind."""

    became_allowed: tuple[Change, ...]
    became_denied: tuple[Change, ...]
    changed: tuple[Change, ...]
    added: tuple[Change, ...]
    removed: tuple[Change, ...]

    @property
    def differs(self) -> bool:
        return any(
            (self.became_allowed, self.became_denied, self.changed, self.added, self.removed)
        )

    def sections(self) -> list[tuple[str, tuple[Change, ...]]]:
        """Titled groups of changes, empty groups left out."""
        groups = [
            ("became allowed", self.became_allowed),
            ("became denied", self.became_denied),
            ("changed otherwise", self.changed),
            ("only in the new matrix", self.added),
            ("only in the old matrix", self.removed),
        ]
        return [(title, items) for title, items in groups if items]

    def lines(self, reasons: Mapping[ProbeResult, str] | None = None) -> list[str]:
        """The report, a section per kind; ``reasons`` adds a ``why:`` under a new result."""
        if not self.differs:
            return ["no differences"]
        out: list[str] = []
        for title, items in self.sections():
            out.append(f"{title} ({len(items)}):")
            for change in items:
                out.append(f"  {change.line}")
                if reasons and change.new is not None and change.new in reasons:
                    out.append(f"      why: {reasons[change.new]}")
        return out

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        def one(change: Change) -> dict[str, object]:
            return {
                "action": change.action,
                "region": change.region,
                "identity": change.identity or None,
                "old": change.old.outcome.value if change.old else None,
                "new": change.new.outcome.value if change.new else None,
                "old_code": change.old.code if change.old else None,
                "new_code": change.new.code if change.new else None,
            }

        return {
            "became_allowed": [one(c) for c in self.became_allowed],
            "became_denied": [one(c) for c in self.became_denied],
            "changed": [one(c) for c in self.changed],
            "added": [one(c) for c in self.added],
            "removed": [one(c) for c in self.removed],
        }


def _index(matrix: Matrix, by_identity: bool) -> dict[_Key, ProbeResult]:
    return {(r.action, r.region, r.identity if by_identity else ""): r for r in matrix.results}


def _identities(matrix: Matrix) -> set[str]:
    return {r.identity for r in matrix.results}


def diff(old: Matrix, new: Matrix) -> Drift:
    """What changed from ``old`` to ``new``."""
    by_identity = len(_identities(old)) > 1 or len(_identities(new)) > 1
    before = _index(old, by_identity)
    after = _index(new, by_identity)
    allowed: list[Change] = []
    denied: list[Change] = []
    changed: list[Change] = []
    added: list[Change] = []
    removed: list[Change] = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        change = Change(key[0], key[1], key[2], was, now)
        if was is None:
            added.append(change)
        elif now is None:
            removed.append(change)
        elif was.outcome is now.outcome:
            continue
        elif now.outcome is Outcome.ALLOWED:
            allowed.append(change)
        elif now.outcome is Outcome.DENIED:
            denied.append(change)
        else:
            changed.append(change)
    return Drift(tuple(allowed), tuple(denied), tuple(changed), tuple(added), tuple(removed))
