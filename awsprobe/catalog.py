"""The catalog: every operation botocore models with a dry-run flag.

Generated from botocore's own service models, never hand-written. Finding
which services have dry-run operations means reading every model once (about
four seconds for ~420 models), so that answer -- the *index* -- is cached on
disk per botocore version; after that only the models of the services asked
for are loaded.

Each operation becomes a frozen :class:`CatalogEntry` with its IAM action,
access level, the parameters a probe sends, the service's dry-run success and
denial signals, and whether awsprobe probes it at all.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import difflib
import fnmatch
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import botocore.session
import botocore.utils
from botocore.model import OperationModel, ServiceModel

from awsprobe.errors import NoMatchError, UnknownServiceError, UsageError
from awsprobe.params import placeholder_members, synthesize_params
from awsprobe.tables import (
    ACCESS_LEVEL_OVERRIDES,
    ACCESS_LEVEL_VERBS,
    IAM_ACTION_EXCEPTIONS,
    IAM_PREFIX_OVERRIDES,
    OPERATION_BEHAVIOUR,
    SERVICE_BEHAVIOUR,
    TAGGING_OPERATIONS,
    UNKNOWN_SERVICE_BEHAVIOUR,
    AccessLevel,
    DryRunBehaviour,
)

__all__ = [
    "Catalog",
    "CatalogEntry",
    "ServiceIndex",
    "access_level_for",
    "dry_run_index",
    "dry_run_member",
    "load_catalog",
    "scan_models",
]

logger = logging.getLogger(__name__)

_INDEX_FORMAT = 2
_VERB = re.compile(r"[A-Z][a-z0-9]*")


@dataclass(frozen=True)
class CatalogEntry:
    """One operation that can be sent as a dry run.

    ``params`` is what a probe sends, dry-run flag included; treat it as
    read-only and use :meth:`probe_params` for a copy to send.
    """

    service: str
    operation: str
    action: str
    access_level: AccessLevel
    protocol: str
    dry_run_member: str
    success_codes: frozenset[str]
    denial_codes: frozenset[str]
    probe: bool
    reason: str | None
    also_requires: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    #: Top-level parameters that hold a placeholder id (``i-000…``): a real id decides more.
    placeholders: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """The boto3 client method name (``describe_instances``)."""
        return str(botocore.xform_name(self.operation))

    def probe_params(self) -> dict[str, Any]:
        """A fresh copy of the parameters to send."""
        return copy.deepcopy(dict(self.params))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (bytes as base64, timestamps as ISO 8601)."""
        return {
            "action": self.action,
            "service": self.service,
            "operation": self.operation,
            "access_level": self.access_level.value,
            "probe": self.probe,
            "reason": self.reason,
            "also_requires": list(self.also_requires),
            "protocol": self.protocol,
            "dry_run_member": self.dry_run_member,
            "success_codes": sorted(self.success_codes),
            "denial_codes": sorted(self.denial_codes),
            "params": _jsonable(self.params),
            "placeholders": list(self.placeholders),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ServiceIndex:
    """What the index records about one service: enough to filter without its model."""

    service: str
    iam_prefix: str
    protocol: str
    operations: Mapping[str, str]  # operation name -> dry-run member name


def dry_run_member(operation_model: OperationModel) -> str | None:
    """The name of the operation's dry-run input member (``DryRun``, ``dryRun``...), if any."""
    shape = operation_model.input_shape
    if shape is None:
        return None
    for name, member in shape.members.items():
        if name.replace("_", "").lower() == "dryrun" and member.type_name == "boolean":
            return str(name)
    return None


def _raw_dry_run_member(members: Mapping[str, Any], shapes: Mapping[str, Any]) -> str | None:
    for name, ref in members.items():
        if name.replace("_", "").lower() != "dryrun":
            continue
        if shapes.get(ref.get("shape", ""), {}).get("type") == "boolean":
            return name
    return None


_PROTOCOL_PRIORITY = ("json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2")


def _resolved_protocol(meta: Mapping[str, Any]) -> str:
    """The protocol botocore's clients use: the first supported of ``protocols``."""
    priority = getattr(botocore.utils, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", _PROTOCOL_PRIORITY)
    for protocol in priority:
        if protocol in meta.get("protocols", ()):
            return str(protocol)
    return str(meta.get("protocol", ""))


def scan_models(loader: botocore.loaders.Loader | None = None) -> dict[str, ServiceIndex]:
    """Read every botocore model and index the operations with a dry-run member.

    Reads the raw JSON (not :class:`ServiceModel`) to stay fast; a test checks
    the answer against ``ServiceModel`` for every service.
    """
    loader = loader or botocore.loaders.create_loader()
    index: dict[str, ServiceIndex] = {}
    for service in loader.list_available_services("service-2"):
        model = loader.load_service_model(service, "service-2")
        shapes = model.get("shapes", {})
        ops: dict[str, str] = {}
        for op_name, op in model.get("operations", {}).items():
            input_ref = op.get("input")
            if not input_ref:
                continue
            members = shapes.get(input_ref["shape"], {}).get("members", {})
            member = _raw_dry_run_member(members, shapes)
            if member is not None:
                ops[op_name] = member
        if ops:
            meta = model.get("metadata", {})
            prefix = IAM_PREFIX_OVERRIDES.get(
                service, meta.get("signingName") or meta.get("endpointPrefix") or service
            )
            index[service] = ServiceIndex(service, prefix, _resolved_protocol(meta), ops)
    return index


def _cache_dir() -> Path:
    explicit = os.environ.get("AWSPROBE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "awsprobe"


def _cache_path() -> Path:
    return _cache_dir() / f"dryrun-index-{_INDEX_FORMAT}-botocore-{botocore.__version__}.json"


def _read_index(path: Path) -> dict[str, ServiceIndex] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: ServiceIndex(name, row["iam_prefix"], row["protocol"], dict(row["operations"]))
            for name, row in raw["services"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_index(path: Path, index: Mapping[str, ServiceIndex]) -> None:
    payload = {
        "format": _INDEX_FORMAT,
        "botocore": botocore.__version__,
        "services": {
            s.service: {
                "iam_prefix": s.iam_prefix,
                "protocol": s.protocol,
                "operations": dict(s.operations),
            }
            for s in index.values()
        },
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home is fine: the index is rebuilt next time
        logger.debug("could not cache the dry-run index at %s: %s", path, exc)


@cache
def dry_run_index() -> Mapping[str, ServiceIndex]:
    """Service name -> :class:`ServiceIndex`, for the installed botocore (cached on disk)."""
    path = _cache_path()
    index = _read_index(path)
    if index is None:
        logger.debug("building the dry-run index for botocore %s", botocore.__version__)
        index = scan_models()
        _write_index(path, index)
    return index


def access_level_for(action: str) -> AccessLevel:
    """The access level of an IAM action: the override table, else the verb rule."""
    level = ACCESS_LEVEL_OVERRIDES.get(action)
    if level is not None:
        return level
    operation = action.split(":", 1)[-1]
    if operation in TAGGING_OPERATIONS:
        return AccessLevel.TAGGING
    verb = _VERB.match(operation)
    if verb is not None and verb.group(0) in ACCESS_LEVEL_VERBS:
        return ACCESS_LEVEL_VERBS[verb.group(0)]
    return AccessLevel.WRITE


def _behaviour(service: str, operation: str) -> DryRunBehaviour:
    return OPERATION_BEHAVIOUR.get(
        (service, operation), SERVICE_BEHAVIOUR.get(service, UNKNOWN_SERVICE_BEHAVIOUR)
    )


def _entry(svc: ServiceIndex, model: ServiceModel, operation: str, member: str) -> CatalogEntry:
    exception = IAM_ACTION_EXCEPTIONS.get((svc.service, operation))
    action = exception.action if exception else f"{svc.iam_prefix}:{operation}"
    behaviour = _behaviour(svc.service, operation)
    params = synthesize_params(svc.service, model.operation_model(operation), member)
    return CatalogEntry(
        service=svc.service,
        operation=operation,
        action=action,
        access_level=access_level_for(action),
        protocol=svc.protocol,
        dry_run_member=member,
        success_codes=behaviour.success_codes,
        denial_codes=behaviour.denial_codes,
        probe=behaviour.probe,
        reason=behaviour.reason,
        also_requires=exception.also_requires if exception else (),
        params=params,
        placeholders=placeholder_members(params),
    )


@cache
def _service_entries(service: str) -> tuple[CatalogEntry, ...]:
    svc = dry_run_index()[service]
    model = botocore.session.get_session().get_service_model(service)
    return tuple(_entry(svc, model, op, member) for op, member in sorted(svc.operations.items()))


class Catalog(Sequence[CatalogEntry]):
    """An ordered, immutable selection of catalog entries."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> CatalogEntry:  # type: ignore[override]
        return self._entries[index]

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return f"<Catalog {len(self)} entries>"

    @property
    def probed(self) -> Catalog:
        """Only the entries awsprobe sends."""
        return Catalog(e for e in self._entries if e.probe)

    def find(self, action: str) -> CatalogEntry:
        """The entry for one IAM action or ``service:Operation`` (case-insensitive)."""
        wanted = action.lower()
        for entry in self._entries:
            if entry.action.lower() == wanted or (
                f"{entry.service}:{entry.operation}".lower() == wanted
            ):
                return entry
        raise NoMatchError(_no_match_message([action], self._entries))


def _parse_services(services: Iterable[str] | str | None) -> list[str] | None:
    if services is None:
        return None
    if isinstance(services, str):
        services = services.split(",")
    names = [s.strip().lower() for s in services if s.strip()]
    return names or None


def _check_services(names: list[str], index: Mapping[str, ServiceIndex]) -> None:
    for name in names:
        if name in index:
            continue
        close = difflib.get_close_matches(name, list(index), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        if name in botocore.session.get_session().get_available_services():
            raise UnknownServiceError(
                f"service {name!r} has no dry-run operations in botocore "
                f"{botocore.__version__}; services with dry runs: {', '.join(sorted(index))}"
            )
        raise UnknownServiceError(
            f"unknown service {name!r}{hint} (use a botocore service name such as ec2 or kms)"
        )


def _glob_matches(glob: str, entry: CatalogEntry) -> bool:
    pattern = glob.strip().lower()
    if ":" in pattern:
        targets = [entry.action.lower(), f"{entry.service}:{entry.operation}".lower()]
        targets += [a.lower() for a in entry.also_requires]
    else:
        targets = [entry.operation.lower()]
    return any(fnmatch.fnmatchcase(t, pattern) for t in targets)


def _no_match_message(globs: Sequence[str], entries: Sequence[CatalogEntry]) -> str:
    names = [e.action for e in entries]
    close: list[str] = []
    for glob in globs:
        close += difflib.get_close_matches(glob, names, n=3, cutoff=0.6)
    hint = f"; close matches: {', '.join(dict.fromkeys(close))}" if close else ""
    return (
        f"no catalog action matches {' '.join(globs)}{hint} "
        "(globs look like ec2:Describe*; run 'awsprobe catalog --all' to list actions)"
    )


def _parse_levels(levels: Iterable[str] | str | None) -> set[AccessLevel] | None:
    if levels is None:
        return None
    if isinstance(levels, str):
        levels = levels.split(",")
    chosen: set[AccessLevel] = set()
    for raw in levels:
        value = raw.strip().lower().replace("_", "-").replace(" ", "-")
        if not value:
            continue
        try:
            chosen.add(AccessLevel(value))
        except ValueError:
            valid = ", ".join(level.value for level in AccessLevel)
            raise UsageError(f"unknown access level {raw!r}; choose from {valid}") from None
    return chosen or None


def load_catalog(
    services: Iterable[str] | str | None = None,
    actions: Iterable[str] | str | None = None,
    access_levels: Iterable[str] | str | None = None,
    *,
    include_unprobed: bool = False,
) -> Catalog:
    """Select catalog entries.

    ``services`` (names or a comma-separated string) limits which models are
    loaded at all; ``actions`` are case-insensitive globs on the IAM action
    (``ec2:Describe*``) or, without a colon, on the operation name;
    ``access_levels`` are :class:`AccessLevel` values. Only probed entries are
    returned unless ``include_unprobed`` is true. Raises
    :class:`~awsprobe.errors.UsageError` subclasses for names that select
    nothing.
    """
    index = dry_run_index()
    names = _parse_services(services)
    globs = [actions] if isinstance(actions, str) else list(actions or [])
    globs = [g for g in globs if g.strip()]
    if names is None:
        names = sorted(index)
        if globs:  # only load the models a prefix can match
            prefixes = {g.split(":", 1)[0].lower() for g in globs if ":" in g}
            if prefixes and all("*" not in p and "?" not in p for p in prefixes):
                names = [
                    n for n in names if index[n].iam_prefix.lower() in prefixes or n in prefixes
                ]
    else:
        _check_services(names, index)
    levels = _parse_levels(access_levels)
    selected: list[CatalogEntry] = []
    pool: list[CatalogEntry] = []
    for name in names:
        for entry in _service_entries(name):
            if not include_unprobed and not entry.probe:
                continue
            pool.append(entry)
            if levels is not None and entry.access_level not in levels:
                continue
            if globs and not any(_glob_matches(g, entry) for g in globs):
                continue
            selected.append(entry)
    if globs and not selected:
        raise NoMatchError(_no_match_message(globs, pool or list(_all_probed())))
    return Catalog(selected)


def _all_probed() -> Iterator[CatalogEntry]:
    for name in ("ec2", "kms"):
        if name in dry_run_index():
            yield from _service_entries(name)
