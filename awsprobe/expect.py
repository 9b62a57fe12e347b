"""Expectations as data: what an identity must and must not be allowed to do.

An expectations file is TOML, read with the standard library::

    # ci-role.toml
    allow = ["ec2:Describe*", "ec2:RunInstances"]
    deny = ["ec2:TerminateInstances", "ec2:Delete*"]
    regions = ["us-east-1"]           # optional: where the top-level lists apply

    [region.eu-west-1]                # optional: per-region expectations
    deny = ["ec2:RunInstances"]

    [[request]]                       # optional: one exact request, as a dry run
    action = "ec2:RunInstances"
    expect = "denied"                 # or "allowed"
    region = "us-east-1"              # optional: default, where the lists apply
    [request.params]                  # the API's parameters, as botocore names them
    ImageId = "ami-0abcdef1234567890"
    MinCount = 1
    MaxCount = 1
    IamInstanceProfile = { Name = "admin" }

Globs expand through the catalog; an ``allow`` glob means *every* matching
action is allowed. With ``--simulate`` they also expand through the Service
Authorization Reference (:meth:`Expectations.expand_simulated`), and the policy
simulator's verdicts count like dry runs'. A ``[[request]]`` is sent with exactly its parameters
(:func:`awsprobe.probing.request.probe_request`); they are checked against
botocore's model when the file is read, so a bad one fails before anything is
sent. ``inconclusive`` and ``error`` never satisfy an expectation unless
``strict = false`` (then they are reported as skipped, not failed). The same
:class:`Expectations` drive ``awsprobe check`` and the pytest plugin.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.errors import NoMatchError, SchemaError, UsageError
from awsprobe.matrix import Matrix
from awsprobe.model import Outcome, ProbeResult, Source

if TYPE_CHECKING:
    from awsprobe.probing.selection import ReferenceAction

__all__ = [
    "CheckReport",
    "Expectation",
    "Expectations",
    "Expected",
    "RequestExpectation",
    "Unmet",
    "check_matrix",
    "marker_expectations",
    "probe_requests",
    "read_toml",
]

_KNOWN_KEYS = frozenset({"allow", "deny", "regions", "region", "strict", "request"})
#: The keyword arguments of the pytest plugin's ``aws_permissions`` marker.
_MARKER_KEYS = frozenset({"allow", "deny", "region", "regions", "strict"})
_REQUEST_KEYS = frozenset({"action", "params", "region", "expect"})
#: ``expect =`` of a ``[[request]]`` table.
_EXPECT_WORDS = {"allowed": "allow", "denied": "deny"}
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
class RequestExpectation:
    """One exact request expected to be allowed or denied (a ``[[request]]`` table).

    ``region`` ``None``: the regions the expectations' lists apply to.
    """

    action: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    expected: Expected = Expected.ALLOW
    region: str | None = None

    @property
    def pattern(self) -> str:
        """The action (what a glob expectation calls its pattern)."""
        return self.action


@dataclass(frozen=True)
class Unmet:
    """An expectation a probe result did not meet."""

    expectation: Expectation | RequestExpectation
    result: ProbeResult

    @property
    def line(self) -> str:
        """One line: ``ec2:RunInstances in us-east-1: expected allowed, got denied (…)``
        (``request ec2:RunInstances …`` for a request)."""
        want = "allowed" if self.expectation.expected is Expected.ALLOW else "denied"
        code = f" ({self.result.code})" if self.result.code else ""
        on = f" on {self.result.resource}" if self.result.resource else ""
        what = "request " if isinstance(self.expectation, RequestExpectation) else ""
        return (
            f"{what}{self.result.action}{on} in {self.result.region}: expected {want}, "
            f"got {self.result.outcome.value}{code}"
        )


@dataclass(frozen=True)
class Expectations:
    """A set of expectations, ready to expand through the catalog."""

    items: tuple[Expectation, ...]
    regions: tuple[str, ...] = ()
    strict: bool = True
    source: str = "<expectations>"
    requests: tuple[RequestExpectation, ...] = ()

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
    def asserting(
        cls,
        expected: Expected | str,
        actions: Sequence[str],
        params: Mapping[str, Any] | None = None,
        strict: bool = True,
        session: Any = None,
    ) -> Expectations:
        """What ``aws_permissions.assert_allowed``/``assert_denied`` assert: every action
        (glob) ``expected`` (``"allowed"``/``"allow"``, ``"denied"``/``"deny"``), or with
        ``params`` that one request (:meth:`from_request`)."""
        want = Expected(_EXPECT_WORDS.get(str(expected), str(expected)))
        if params is not None:
            return cls.from_request(actions, params, want, strict=strict, session=session)
        allow, deny = (actions, ()) if want is Expected.ALLOW else ((), actions)
        return cls.from_lists(allow, deny, strict=strict)

    @classmethod
    def from_request(
        cls,
        actions: Sequence[str] | str,
        params: Mapping[str, Any],
        expected: Expected,
        *,
        strict: bool = True,
        session: Any = None,
    ) -> Expectations:
        """One exact request of one action expected to be allowed or denied, in the
        default regions. The parameters are checked now (:class:`UsageError` naming the
        bad one, or saying that a request has one action)."""
        names = [actions] if isinstance(actions, str) else list(actions)
        if len(names) != 1:
            raise UsageError(f"params= is one request: give one action with it, not {len(names)}")
        check_request(names[0], params, session)
        return cls((), strict=strict, requests=(RequestExpectation(names[0], params, expected),))

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
                "expected allow, deny, regions, strict, [region.NAME] or [[request]]"
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
        requests = _requests(raw.get("request", []))
        if not items and not requests:
            raise SchemaError("no expectations: add allow = [...], deny = [...] or [[request]]")
        return cls(tuple(items), tuple(regions), strict, source, requests)

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
                from awsprobe.probing.selection import simulation_would_answer

                if simulation_would_answer(actions=[item.pattern]):
                    raise NoMatchError(
                        f"{self.source}: {exc}; {item.pattern} has no dry run awsprobe sends: "
                        "add --simulate to answer it with IAM's policy simulator (pytest: "
                        "--awsprobe-simulate; Python: simulate=True)"
                    ) from None
                raise NoMatchError(f"{self.source}: {exc}") from None
            out += [(item, entry, region) for entry in entries for region in _where(item, regions)]
        return out

    def expand_simulated(
        self, default_regions: Sequence[str] = ()
    ) -> list[tuple[Expectation, CatalogEntry | ReferenceAction, str]]:
        """:meth:`expand` for ``--simulate``: globs also match the reference's actions
        that have no dry run (:func:`awsprobe.probing.selection.select`), which the policy
        simulator answers."""
        from awsprobe.probing.selection import select

        regions = tuple(self.regions) or tuple(default_regions)
        out: list[tuple[Expectation, CatalogEntry | ReferenceAction, str]] = []
        for item in self.items:
            try:
                chosen = select(actions=[item.pattern])
            except NoMatchError as exc:
                raise NoMatchError(f"{self.source}: {exc}") from None
            where = _where(item, regions)
            out += [(item, entry, region) for entry in chosen.catalog for region in where]
            out += [(item, action, region) for action in chosen.simulated for region in where]
        return out

    def regions_needed(self, default_regions: Sequence[str] = ()) -> tuple[str, ...]:
        """Every region an expectation applies to."""
        base = tuple(self.regions) or tuple(default_regions)
        extra = tuple(i.region for i in self.items if i.region)
        return tuple(dict.fromkeys(base + extra))


def _where(item: Expectation, regions: tuple[str, ...]) -> tuple[str, ...]:
    where = (item.region,) if item.region else regions
    if not where:
        raise UsageError("no region to check: give regions or a default region")
    return where


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


def marker_expectations(kwargs: Mapping[str, Any], *, strict: bool = True) -> Expectations:
    """The pytest marker's keyword arguments (``allow=``, ``deny=``, ``region=`` or
    ``regions=``, ``strict=``; ``strict`` when it is not given) as expectations.

    :class:`UsageError` names an argument it does not take or a value it cannot use.
    """
    unknown = sorted(set(kwargs) - _MARKER_KEYS)
    if unknown:
        raise UsageError(
            f"unknown argument {unknown[0]}=; it takes allow=, deny=, "
            "region= or regions=, and strict="
        )
    allow = _as_list(kwargs.get("allow"), "allow")
    deny = _as_list(kwargs.get("deny"), "deny")
    regions = _as_list(kwargs.get("regions"), "regions")
    region = kwargs.get("region")
    if region is not None and not isinstance(region, str):
        raise UsageError("region= takes one region name; use regions= for a list")
    if region and regions:
        raise UsageError("give region= or regions=, not both")
    if not allow and not deny:
        raise UsageError("nothing to check: give allow=[...] and/or deny=[...]")
    given = kwargs.get("strict")
    if given is not None and not isinstance(given, bool):
        raise UsageError(f"strict= takes True or False, not {given!r}")
    expectations = Expectations.from_lists(allow, deny, strict=strict if given is None else given)
    return replace(expectations, regions=(region,) if region else tuple(regions))


def _as_list(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise UsageError(f"{name}= takes an action glob or a list of them, not {value!r}")


def _requests(tables: Any) -> tuple[RequestExpectation, ...]:
    """The ``[[request]]`` tables, each checked against botocore's model."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SchemaError("'request' must be [[request]] tables with action, params and expect")
    found: list[RequestExpectation] = []
    for number, table in enumerate(tables, 1):
        where = f"[[request]] {number}"
        extra = sorted(set(table) - _REQUEST_KEYS)
        if extra:
            raise SchemaError(
                f"{where} has unknown key {extra[0]!r}; expected action, params, region, expect"
            )
        action, params, region = table.get("action"), table.get("params", {}), table.get("region")
        if not isinstance(action, str) or not action:
            raise SchemaError(f"{where}: 'action' must be one action such as 'ec2:RunInstances'")
        expect = table.get("expect")
        if expect not in _EXPECT_WORDS:
            raise SchemaError(f'{where}: \'expect\' must be "allowed" or "denied"')
        if not isinstance(params, dict):
            raise SchemaError(f"{where}: 'params' must be a table of the request's parameters")
        if region is not None and (not isinstance(region, str) or not region):
            raise SchemaError(f"{where}: 'region' must be one region name")
        try:
            check_request(action, params)
        except UsageError as exc:
            raise SchemaError(f"{where}: {exc}") from None
        found.append(RequestExpectation(action, params, Expected(_EXPECT_WORDS[expect]), region))
    return tuple(found)


def check_request(action: str, params: Mapping[str, Any], session: Any = None) -> None:
    """:class:`UsageError` unless ``action`` is probed and ``params`` fit its model
    (nothing is sent: :func:`awsprobe.probing.request.check_params`)."""
    from awsprobe.guard import core_session
    from awsprobe.probing.request import check_params, find_entry

    entry = find_entry(action)
    model = core_session(session).get_service_model(entry.service)
    check_params(entry, model.operation_model(entry.operation), params)


def probe_requests(
    expectations: Expectations,
    session: Any = None,
    *,
    endpoint_url: str | None = None,
    verify: bool | str | None = None,
    regions: Sequence[str] = (),
    decode: bool = True,
) -> list[tuple[RequestExpectation, ProbeResult]]:
    """Send each ``[[request]]`` as a dry run, in its region, else in each of the
    expectations' regions (else ``regions``, else the session's)."""
    from awsprobe.probing.request import probe_request

    default: tuple[str | None, ...] = tuple(expectations.regions) or tuple(regions) or (None,)
    found: list[tuple[RequestExpectation, ProbeResult]] = []
    for item in expectations.requests:
        for region in (item.region,) if item.region else default:
            result = probe_request(
                item.action,
                item.params,
                region=region,
                session=session,
                endpoint_url=endpoint_url,
                verify=verify,
                decode=decode,
            )
            found.append((item, result))
    return found


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


def _never_asked(result: ProbeResult) -> bool:
    """A simulated action the simulator was never asked about (the identity may not
    simulate itself, or cannot be simulated: the matrix's warning says why). It is skipped
    even when strict: ``--simulate`` then leaves the check as it is without it."""
    return result.source is Source.SIMULATED and result.simulation is None and not result.attempts


def check_matrix(
    expectations: Expectations,
    matrix: Matrix,
    pairs: Sequence[tuple[Expectation, CatalogEntry | ReferenceAction, str]],
    requests: Sequence[tuple[RequestExpectation, ProbeResult]] = (),
) -> CheckReport:
    """Assert expanded expectations against a matrix holding their results, and the
    ``[[request]]`` expectations against their results (:func:`probe_requests`)."""
    unmet: list[Unmet] = []
    skipped: list[Unmet] = []
    checks: list[tuple[Expectation | RequestExpectation, ProbeResult]] = []
    by_key: dict[tuple[str, str], list[ProbeResult]] = {}
    for result in matrix.results:
        by_key.setdefault((result.action, result.region), []).append(result)
    for expectation, entry, region in pairs:
        # every result counts: one per real resource when --resources/--discover was used
        found = by_key.get((entry.action, region)) or [matrix.get(entry.action, region)]
        checks += [(expectation, result) for result in found]
    checks += requests
    for asked, result in checks:
        want = Outcome.ALLOWED if asked.expected is Expected.ALLOW else Outcome.DENIED
        if result.outcome is want:
            continue
        undecided = result.outcome in (Outcome.INCONCLUSIVE, Outcome.ERROR)
        if _never_asked(result) or (undecided and not expectations.strict):
            skipped.append(Unmet(asked, result))
        else:
            unmet.append(Unmet(asked, result))
    return CheckReport(tuple(unmet), tuple(skipped), len(pairs) + len(requests), matrix)
