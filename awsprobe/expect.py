"""Expectations as data: what an identity must and must not be allowed to do.

An expectations file is TOML, read with the standard library::

    # ci-role.toml
    allow = ["ec2:Describe*", "ec2:RunInstances"]
    deny = ["ec2:TerminateInstances", "ec2:Delete*"]
    regions = ["us-east-1"]           # optional: where the top-level lists apply

    [region.eu-west-1]                # optional: per-region expectations
    deny = ["ec2:RunInstances"]

Globs expand through the catalog; an ``allow`` glob means *every* matching
action is allowed. ``inconclusive`` and ``error`` never satisfy an
expectation unless ``strict = false`` (then they are reported as skipped, not
failed). The same :class:`Expectations` drive ``awsprobe check`` and the
pytest plugin.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.errors import NoMatchError, SchemaError, UsageError
from awsprobe.matrix import Matrix
from awsprobe.model import Outcome, ProbeResult

__all__ = [
    "CheckReport",
    "Expectation",
    "Expectations",
    "Expected",
    "Unmet",
    "check_matrix",
    "read_toml",
]

_KNOWN_KEYS = frozenset({"allow", "deny", "regions", "region", "strict"})
_MAX_BYTES = 1_000_000


class Expected(StrEnum):
    """What an expectation asks for."""

    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Expectation:
    """One glob expected to be allowed or denied, in one region (``None``: the run's regions)."""

    pattern: str
    expected: Expected
    region: str | None = None


@dataclass(frozen=True)
class Unmet:
    """An expectation a probe result did not meet."""

    expectation: Expectation
    result: ProbeResult

    @property
    def line(self) -> str:
        """One line: ``ec2:RunInstances in us-east-1: expected allowed, got denied (…)``."""
        want = "allowed" if self.expectation.expected is Expected.ALLOW else "denied"
        code = f" ({self.result.code})" if self.result.code else ""
        on = f" on {self.result.resource}" if self.result.resource else ""
        return (
            f"{self.result.action}{on} in {self.result.region}: expected {want}, "
            f"got {self.result.outcome.value}{code}"
        )


@dataclass(frozen=True)
class Expectations:
    """A set of expectations, ready to expand through the catalog."""

    items: tuple[Expectation, ...]
    regions: tuple[str, ...] = ()
    strict: bool = True
    source: str = "<expectations>"

    @classmethod
    def from_lists(
        cls,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        *,
        region: str | None = None,
        strict: bool = True,
    ) -> Expectations:
        items = [Expectation(p, Expected.ALLOW, region) for p in allow]
        items += [Expectation(p, Expected.DENY, region) for p in deny]
        return cls(tuple(items), strict=strict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Expectations:
        """Read a TOML expectations file; :class:`SchemaError` names the problem."""
        raw = read_toml(path)
        try:
            return cls.from_mapping(raw, source=str(path))
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc}") from None

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, Any], *, source: str = "<expectations>"
    ) -> Expectations:
        unknown = sorted(set(raw) - _KNOWN_KEYS)
        if unknown:
            raise SchemaError(
                f"unknown key {unknown[0]!r}; "
                "expected allow, deny, regions, strict or [region.NAME]"
            )
        items = _lists(raw, None)
        regions = raw.get("regions", [])
        if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
            raise SchemaError("'regions' must be a list of region names")
        per_region = raw.get("region", {})
        if not isinstance(per_region, dict):
            raise SchemaError("'region' must be tables such as [region.eu-west-1]")
        for name, table in per_region.items():
            if not isinstance(table, dict):
                raise SchemaError(f"[region.{name}] must be a table with allow/deny lists")
            extra = sorted(set(table) - {"allow", "deny"})
            if extra:
                raise SchemaError(f"[region.{name}] has unknown key {extra[0]!r}")
            items += _lists(table, name)
        strict = raw.get("strict", True)
        if not isinstance(strict, bool):
            raise SchemaError("'strict' must be true or false")
        if not items:
            raise SchemaError("no expectations: add allow = [...] or deny = [...]")
        return cls(tuple(items), tuple(regions), strict, source)

    # -- expansion ---------------------------------------------------------------

    def expand(
        self, default_regions: Sequence[str] = ()
    ) -> list[tuple[Expectation, CatalogEntry, str]]:
        """Every (expectation, catalog entry, region) to assert, globs expanded.

        Raises :class:`NoMatchError` for a pattern that matches no probed action.
        """
        regions = tuple(self.regions) or tuple(default_regions)
        out: list[tuple[Expectation, CatalogEntry, str]] = []
        for item in self.items:
            try:
                entries = list(load_catalog(actions=[item.pattern]))
            except NoMatchError as exc:
                raise NoMatchError(f"{self.source}: {exc}") from None
            where = (item.region,) if item.region else regions
            if not where:
                raise UsageError("no region to check: give regions or a default region")
            out += [(item, entry, region) for entry in entries for region in where]
        return out

    def regions_needed(self, default_regions: Sequence[str] = ()) -> tuple[str, ...]:
        """Every region an expectation applies to."""
        base = tuple(self.regions) or tuple(default_regions)
        extra = tuple(i.region for i in self.items if i.region)
        return tuple(dict.fromkeys(base + extra))


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a small TOML file (expectations, resources); :class:`SchemaError` says what is wrong."""
    target = Path(path)
    try:
        if target.stat().st_size > _MAX_BYTES:
            raise SchemaError(f"{path}: larger than {_MAX_BYTES} bytes; is it the right file?")
        return tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SchemaError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise SchemaError(f"{path}: nested too deeply; is it the right file?") from None
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read it ({exc.strerror})") from None


def _lists(table: Mapping[str, Any], region: str | None) -> list[Expectation]:
    items: list[Expectation] = []
    for key, kind in (("allow", Expected.ALLOW), ("deny", Expected.DENY)):
        values = table.get(key, [])
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            where = f"[region.{region}] " if region else ""
            raise SchemaError(
                f"{where}'{key}' must be a list of action globs such as 'ec2:Describe*'"
            )
        items += [Expectation(v, kind, region) for v in values]
    return items


@dataclass(frozen=True)
class CheckReport:
    """The result of asserting expectations against a matrix."""

    unmet: tuple[Unmet, ...]
    skipped: tuple[Unmet, ...] = ()  # inconclusive/error with strict=False
    checked: int = 0
    matrix: Matrix | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return not self.unmet


def check_matrix(
    expectations: Expectations,
    matrix: Matrix,
    pairs: Sequence[tuple[Expectation, CatalogEntry, str]],
) -> CheckReport:
    """Assert expanded expectations against a matrix holding their results."""
    unmet: list[Unmet] = []
    skipped: list[Unmet] = []
    by_key: dict[tuple[str, str], list[ProbeResult]] = {}
    for result in matrix.results:
        by_key.setdefault((result.action, result.region), []).append(result)
    for expectation, entry, region in pairs:
        # every result counts: one per real resource when --resources/--discover was used
        found = by_key.get((entry.action, region)) or [matrix.get(entry.action, region)]
        want = Outcome.ALLOWED if expectation.expected is Expected.ALLOW else Outcome.DENIED
        for result in found:
            if result.outcome is want:
                continue
            undecided = result.outcome in (Outcome.INCONCLUSIVE, Outcome.ERROR)
            if undecided and not expectations.strict:
                skipped.append(Unmet(expectation, result))
            else:
                unmet.append(Unmet(expectation, result))
    return CheckReport(tuple(unmet), tuple(skipped), len(pairs), matrix)
