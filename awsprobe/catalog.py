"""The catalog: every operation botocore models with a dry-run flag.

Generated from botocore's own service models, never hand-written. Finding
which services have dry-run operations means reading every model's bytes and
parsing the few (~1 in 13) whose bytes name a dry-run member (half a second for
~450 models), so that answer -- the *index* -- is cached on disk per botocore
version; naming services reads only their models. Building one service's
entries means parsing its model (once: a first run that names a service indexes
and builds from the same parse) and synthesizing parameters for each operation
(a tenth of a second for EC2), so the built entries are cached on disk too, per
service, keyed by the botocore version, the awsprobe version and a fingerprint
of the source that shapes an entry (this module, :mod:`awsprobe.params`,
:mod:`awsprobe.tables`). A warm start reads one JSON file per service and loads
no botocore model at all.

Each operation becomes a frozen :class:`CatalogEntry` with its IAM action, the
parameters a probe sends, the service's dry-run success and denial signals,
whether awsprobe probes it at all, and the Service Authorization Reference's
facts for its action (:mod:`awsprobe.reference`: access level, resource types,
condition keys, dependent actions) -- or ``verified=False`` when the installed
reference does not list the action yet, and the access level by the verb rule.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import difflib
import fnmatch
import gzip
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore

from awsprobe._version import __version__
from awsprobe.errors import NoMatchError, UnknownServiceError, UsageError
from awsprobe.files import cache_dir, write_cache
from awsprobe.reference import ResourceType, action_facts, reference_version
from awsprobe.tables import (
    ACCESS_LEVEL_OVERRIDES,
    ACCESS_LEVEL_VERBS,
    DEPENDENT_ACTION_ADDITIONS,
    IAM_ACTION_EXCEPTIONS,
    IAM_PREFIX_OVERRIDES,
    OPERATION_BEHAVIOUR,
    SERVICE_BEHAVIOUR,
    TAGGING_OPERATIONS,
    UNKNOWN_SERVICE_BEHAVIOUR,
    AccessLevel,
    DryRunBehaviour,
    operation_verb,
)

if TYPE_CHECKING:  # botocore's model and loader modules cost ~0.1 s to import: only to build
    import botocore.loaders
    from botocore.model import OperationModel, ServiceModel

__all__ = [
    "Catalog",
    "CatalogEntry",
    "ServiceIndex",
    "access_level_for",
    "dry_run_index",
    "dry_run_member",
    "load_catalog",
    "parse_access_levels",
    "parse_services",
    "scan_models",
]

logger = logging.getLogger(__name__)

_INDEX_FORMAT = 2
_ENTRIES_FORMAT = 2
#: The modules whose source decides what an entry holds: editing one invalidates cached entries.
_SHAPING_MODULES = ("catalog.py", "params.py", "tables.py", "reference.py")


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
    #: The Service Authorization Reference's facts (empty when it does not list the action).
    resource_types: tuple[ResourceType, ...] = ()
    condition_keys: tuple[str, ...] = ()
    dependent_actions: tuple[str, ...] = ()
    #: Whether the reference lists this action: when not, the action name is awsprobe's
    #: ``prefix:Operation`` guess and the access level comes from the verb rule.
    verified: bool = False

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
            "verified": self.verified,
            "resource_types": [r.to_json() for r in self.resource_types],
            "condition_keys": list(self.condition_keys),
            "dependent_actions": list(self.dependent_actions),
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
    import botocore.utils

    priority = getattr(botocore.utils, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", _PROTOCOL_PRIORITY)
    for protocol in priority:
        if protocol in meta.get("protocols", ()):
            return str(protocol)
    return str(meta.get("protocol", ""))


#: A JSON string that :func:`_raw_dry_run_member` could take for a dry-run member name
#: ("DryRun", "dryRun", "Dry_Run"...): a model whose bytes hold none has no such member.
_DRY_RUN_NAME = re.compile(rb'"_*d_*r_*y_*r_*u_*n_*"', re.IGNORECASE)


def _model_bytes(loader: botocore.loaders.Loader, service: str) -> bytes | None:
    """The newest ``service-2`` model's bytes, found where botocore's loader finds it.

    ``None`` when the model is not laid out as botocore's own data (or has extras merged
    into it): the caller then lets the loader parse it.
    """
    version = str(loader.determine_latest_version(service, "service-2"))
    for base in loader.search_paths:
        folder = Path(str(base)) / service / version
        plain, packed = folder / "service-2.json", folder / "service-2.json.gz"
        if not plain.is_file() and not packed.is_file():
            continue
        if any(folder.glob("service-2.*-extras.json*")):
            return None
        if plain.is_file():  # botocore's JSONFileLoader tries .json before .json.gz
            return plain.read_bytes()
        return bytes(gzip.decompress(packed.read_bytes()))
    return None


def _read_model(
    loader: botocore.loaders.Loader, service: str, *, only_dry_run: bool = False
) -> Mapping[str, Any] | None:
    """``service``'s ``service-2`` model as parsed JSON, the one parse a cold build needs.

    With ``only_dry_run``, ``None`` when its bytes name no dry-run member (most models:
    they are never parsed). A model not laid out as botocore's own data goes through the
    loader, as botocore would read it.
    """
    raw = _model_bytes(loader, service)
    if raw is None:
        loaded: Mapping[str, Any] = loader.load_service_model(service, "service-2")
        return loaded
    if only_dry_run and _DRY_RUN_NAME.search(raw) is None:
        return None
    parsed: Mapping[str, Any] = json.loads(raw)
    return parsed


def _index_model(service: str, model: Mapping[str, Any]) -> ServiceIndex | None:
    """``service``'s dry-run operations, read from its parsed model (``None``: it has none)."""
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
    if not ops:
        return None
    meta = model.get("metadata", {})
    prefix = IAM_PREFIX_OVERRIDES.get(
        service, meta.get("signingName") or meta.get("endpointPrefix") or service
    )
    return ServiceIndex(service, prefix, _resolved_protocol(meta), ops)


def _index_service(loader: botocore.loaders.Loader, service: str) -> ServiceIndex | None:
    """``service``'s dry-run operations, parsing its model only when its bytes name one."""
    model = _read_model(loader, service, only_dry_run=True)
    return None if model is None else _index_model(service, model)


@cache
def _loader() -> botocore.loaders.Loader:
    """The data loader a default botocore session uses (``AWS_DATA_PATH`` included).

    One per process: every fresh session registers ~120 handlers and its loader lists
    the ~450 model folders again. Models read here are parsed by :func:`_read_model`,
    not kept in the loader's cache.
    """
    import botocore.session

    loader: botocore.loaders.Loader = botocore.session.get_session().get_component("data_loader")
    return loader


def scan_models(
    loader: botocore.loaders.Loader | None = None, services: Iterable[str] | None = None
) -> dict[str, ServiceIndex]:
    """Index the operations with a dry-run member, in every botocore model (or ``services``).

    Reads the raw JSON (not :class:`ServiceModel`) and only of the models whose bytes
    name a dry-run member at all (a tenth of them), to stay fast and small; a test checks
    the answer against ``ServiceModel`` for every service.
    """
    loader = loader or _loader()
    available = loader.list_available_services("service-2")
    wanted = available if services is None else [s for s in services if s in available]
    index: dict[str, ServiceIndex] = {}
    for service in wanted:
        found = _index_service(loader, service)
        if found is not None:
            index[service] = found
    return index


def _cache_dir() -> Path:
    return cache_dir()


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
    failed = write_cache(path, json.dumps(payload, sort_keys=True).encode("utf-8"))
    if failed is not None:  # a read-only home is fine: the index is rebuilt next time
        logger.debug("could not cache the dry-run index at %s: %s", path, failed)


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


def _service_index(service: str) -> tuple[ServiceIndex, Mapping[str, Any] | None]:
    """One service's index row, without indexing (or loading) any other service's model.

    From the whole index when it is in memory or on disk; else from this service's model
    alone, returned beside the row so that building its entries does not parse it again.
    Raises ``KeyError`` for a service without dry-run operations.
    """
    if dry_run_index.cache_info().currsize:
        return dry_run_index()[service], None
    whole = _read_index(_cache_path())
    if whole is not None:
        return whole[service], None
    loader = _loader()
    if service not in loader.list_available_services("service-2"):
        raise KeyError(service)
    model = _read_model(loader, service, only_dry_run=True)
    found = None if model is None else _index_model(service, model)
    if found is None:
        raise KeyError(service)
    return found, model


def access_level_for(action: str) -> AccessLevel:
    """The access level of an IAM action: the override table, the Service Authorization
    Reference, and the verb rule only for actions the reference does not list yet."""
    level = ACCESS_LEVEL_OVERRIDES.get(action)
    if level is not None:
        return level
    facts = action_facts(action)
    if facts is not None:
        return facts.access_level
    operation = action.split(":", 1)[-1]
    if operation in TAGGING_OPERATIONS:
        return AccessLevel.TAGGING
    return ACCESS_LEVEL_VERBS.get(operation_verb(operation), AccessLevel.WRITE)


def _behaviour(service: str, operation: str) -> DryRunBehaviour:
    return OPERATION_BEHAVIOUR.get(
        (service, operation), SERVICE_BEHAVIOUR.get(service, UNKNOWN_SERVICE_BEHAVIOUR)
    )


def _entry(svc: ServiceIndex, model: ServiceModel, operation: str, member: str) -> CatalogEntry:
    from awsprobe.params import placeholder_members, synthesize_params

    exception = IAM_ACTION_EXCEPTIONS.get((svc.service, operation))
    action = exception.action if exception else f"{svc.iam_prefix}:{operation}"
    behaviour = _behaviour(svc.service, operation)
    params = synthesize_params(svc.service, model.operation_model(operation), member)
    facts = action_facts(action)
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
        resource_types=facts.resource_types if facts else (),
        condition_keys=facts.condition_keys if facts else (),
        dependent_actions=tuple(
            sorted(
                {
                    *(facts.dependent_actions if facts else ()),
                    *DEPENDENT_ACTION_ADDITIONS.get(action, ()),
                }
            )
        ),
        verified=facts is not None,
    )


def _build_entries(
    svc: ServiceIndex, raw: Mapping[str, Any] | None = None
) -> tuple[CatalogEntry, ...]:
    """Build ``svc``'s entries from its model (``raw``: already parsed; else read here).

    :class:`~botocore.model.ServiceModel` over the same JSON that
    ``Session.get_service_model`` would give it (no handler of a fresh session changes a
    model as it loads), so entries match botocore's clients.
    """
    from botocore.model import ServiceModel

    if raw is None:
        raw = _read_model(_loader(), svc.service)
    assert raw is not None  # only_dry_run=False always reads
    model = ServiceModel(raw, service_name=svc.service)
    return tuple(_entry(svc, model, op, member) for op, member in sorted(svc.operations.items()))


@cache
def _service_entries(service: str) -> tuple[CatalogEntry, ...]:
    """One service's entries: from the on-disk cache when it is current, else built (and cached)."""
    key = _entries_key(service)
    path = _entries_path(service)
    if key is not None:
        cached = _read_entries(path, key)
        if cached is not None:
            return cached
    logger.debug("building the %s catalog for botocore %s", service, botocore.__version__)
    entries = _build_entries(*_service_index(service))
    if key is not None:
        _write_entries(path, key, entries)
    return entries


# -- the entry cache ---------------------------------------------------------------------------
#
# One JSON file per service: {"key": {...}, "entries": [row, ...]}. A row is
# CatalogEntry.to_json() with "params" encoded losslessly: JSON has no bytes,
# timestamps or tuples, so those become one-key objects whose key starts with
# NUL ({"\u0000bytes": base64}), a key no model member or placeholder uses.
# Anything else that JSON would not give back as the same type makes the
# service uncacheable (built every time), never cached wrongly.

_TAG = "\x00"
_BYTES = _TAG + "bytes"
_DATETIME = _TAG + "datetime"
_TUPLE = _TAG + "tuple"
_SCALARS = (str, int, float, bool, type(None))


class _Uncacheable(ValueError):
    """A parameter value JSON cannot give back unchanged."""


@cache
def _shaping_fingerprint() -> str | None:
    """A digest of the source that shapes entries; ``None`` (no caching) if it cannot be read."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    try:
        for name in _SHAPING_MODULES:
            digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    except OSError as exc:
        logger.debug("not caching catalog entries: cannot read awsprobe's source: %s", exc)
        return None
    return digest.hexdigest()


def _entries_key(service: str) -> dict[str, Any] | None:
    fingerprint = _shaping_fingerprint()
    if fingerprint is None:
        return None
    return {
        "format": _ENTRIES_FORMAT,
        "service": service,
        "botocore": botocore.__version__,
        "awsprobe": __version__,
        "reference": reference_version(),
        "fingerprint": fingerprint,
    }


def _entries_path(service: str) -> Path:
    # Versions in the name, like the index, so installs side by side do not evict each
    # other; the fingerprint only in the file, so editing a table rewrites in place.
    return _cache_dir() / (
        f"catalog-{_ENTRIES_FORMAT}-{service}-botocore-{botocore.__version__}"
        f"-awsprobe-{__version__}.json"
    )


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        if any(type(k) is not str or k.startswith(_TAG) for k in value):
            raise _Uncacheable(f"mapping keys {list(value)!r}")
        return {k: _encode(v) for k, v in value.items()}
    if kind is list:
        return [_encode(v) for v in value]
    if kind is tuple:
        return {_TUPLE: [_encode(v) for v in value]}
    if kind is bytes:
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if kind is _dt.datetime and value.tzinfo in (None, _dt.UTC):
        return {_DATETIME: value.isoformat()}
    if kind in _SCALARS:
        return value
    raise _Uncacheable(f"{kind.__name__} value {value!r}")


def _decode(value: Any) -> Any:
    if type(value) is list:
        return [_decode(v) for v in value]
    if type(value) is not dict:
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == _BYTES:
            return base64.b64decode(inner.encode("ascii"), validate=True)
        if tag == _DATETIME:
            return _dt.datetime.fromisoformat(inner)
        if tag == _TUPLE:
            return tuple(_decode(v) for v in inner)
        if tag.startswith(_TAG):
            raise ValueError(f"unknown tag {tag!r}")
    return {k: _decode(v) for k, v in value.items()}


def _entry_row(entry: CatalogEntry) -> dict[str, Any]:
    row = entry.to_json()
    row["params"] = _encode(entry.params)
    return row


def _typed(row: Mapping[str, Any], key: str, kind: type) -> Any:
    value = row[key]
    if type(value) is not kind:
        raise TypeError(f"{key}: {type(value).__name__}, not {kind.__name__}")
    return value


def _strings(row: Mapping[str, Any], key: str) -> list[str]:
    values: list[str] = _typed(row, key, list)
    if any(type(v) is not str for v in values):
        raise TypeError(f"{key}: not all strings")
    return values


def _entry_from_row(row: Mapping[str, Any]) -> CatalogEntry:
    reason = row["reason"]
    if reason is not None and type(reason) is not str:
        raise TypeError("reason")
    service = _typed(row, "service", str)
    operation = _typed(row, "operation", str)
    probe = _typed(row, "probe", bool)
    behaviour = _behaviour(service, operation)
    if probe is not behaviour.probe:
        # a cache never decides what is sent: the behaviour tables do (a flipped row is
        # corrupt, and the whole file is rebuilt)
        raise ValueError("probe flag disagrees with the behaviour tables")
    success_codes = frozenset(_strings(row, "success_codes"))
    if success_codes != behaviour.success_codes:
        # nor what counts as allowed
        raise ValueError("success codes disagree with the behaviour tables")
    return CatalogEntry(
        service=service,
        operation=operation,
        action=_typed(row, "action", str),
        access_level=AccessLevel(_typed(row, "access_level", str)),
        protocol=_typed(row, "protocol", str),
        dry_run_member=_typed(row, "dry_run_member", str),
        success_codes=success_codes,
        denial_codes=frozenset(_strings(row, "denial_codes")),
        probe=probe,
        reason=reason,
        also_requires=tuple(_strings(row, "also_requires")),
        params=_decode(_typed(row, "params", dict)),
        placeholders=tuple(_strings(row, "placeholders")),
        resource_types=tuple(_resource_type(r) for r in _typed(row, "resource_types", list)),
        condition_keys=tuple(_strings(row, "condition_keys")),
        dependent_actions=tuple(_strings(row, "dependent_actions")),
        verified=_typed(row, "verified", bool),
    )


def _resource_type(row: Any) -> ResourceType:
    if type(row) is not dict:
        raise TypeError("resource_types: not an object")
    return ResourceType(
        name=_typed(row, "name", str),
        required=_typed(row, "required", bool),
        arn=_typed(row, "arn", str),
    )


def _read_entries(path: Path, key: Mapping[str, Any]) -> tuple[CatalogEntry, ...] | None:
    """The cached entries at ``path`` if they were written under ``key``; else ``None``."""
    try:
        raw = json.loads(path.read_bytes())
        if raw["key"] != key:
            logger.debug("stale catalog cache %s: %s", path, raw["key"])
            return None
        return tuple(_entry_from_row(row) for row in raw["entries"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.debug("ignoring an unreadable catalog cache %s: %r", path, exc)
        return None


def _write_entries(path: Path, key: Mapping[str, Any], entries: Sequence[CatalogEntry]) -> None:
    """Cache ``entries`` at ``path`` atomically; a failure only costs a rebuild next time."""
    try:
        payload = {"key": dict(key), "entries": [_entry_row(e) for e in entries]}
    except _Uncacheable as exc:
        logger.debug("not caching the %s catalog: %s", key["service"], exc)
        return
    failed = write_cache(path, json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    if failed is not None:  # a read-only cache dir is fine: the entries are rebuilt next time
        logger.debug("could not cache the %s catalog at %s: %s", key["service"], path, failed)


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


def _one_or_many(values: Iterable[str] | str, what: str) -> Iterable[str]:
    """A string is one name; a comma in it is a CLI habit the library does not guess at."""
    if not isinstance(values, str):
        return values
    if "," in values:
        listed = [v.strip() for v in values.split(",") if v.strip()]
        raise UsageError(f"{what}={values!r}: give a list of names, such as {what}={listed!r}")
    return [values]


def parse_services(services: Iterable[str] | str | None) -> list[str] | None:
    """Service names in lower case (``None``: all); a comma string is a
    :class:`~awsprobe.errors.UsageError` (the CLI splits its own)."""
    if services is None:
        return None
    names = [s.strip().lower() for s in _one_or_many(services, "services") if s.strip()]
    return names or None


def _check_services(names: list[str], index: Mapping[str, ServiceIndex]) -> None:
    for name in names:
        if name in index:
            continue
        close = difflib.get_close_matches(name, list(index), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        import botocore.session

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


def parse_access_levels(levels: Iterable[str] | str | None) -> set[AccessLevel] | None:
    """:class:`AccessLevel` values (``None``: all; spelled ``read``, ``Permissions
    management``...); an unknown one is a :class:`~awsprobe.errors.UsageError`."""
    if levels is None:
        return None
    levels = _one_or_many(levels, "access_levels")
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

    ``services`` (a name or a list of names) limits which models are loaded at
    all; ``actions`` are case-insensitive globs on the IAM action
    (``ec2:Describe*``) or, without a colon, on the operation name;
    ``access_levels`` are :class:`AccessLevel` values. Only probed entries are
    returned unless ``include_unprobed`` is true. Raises
    :class:`~awsprobe.errors.UsageError` subclasses for names that select
    nothing.
    """
    names = parse_services(services)
    globs = [actions] if isinstance(actions, str) else list(actions or [])
    globs = [g for g in globs if g.strip()]
    if names is None:
        index = dry_run_index()
        names = sorted(index)
        if globs:  # only load the models a prefix can match
            prefixes = {g.split(":", 1)[0].lower() for g in globs if ":" in g}
            if prefixes and all("*" not in p and "?" not in p for p in prefixes):
                names = [
                    n for n in names if index[n].iam_prefix.lower() in prefixes or n in prefixes
                ]
    levels = parse_access_levels(access_levels)
    selected: list[CatalogEntry] = []
    pool: list[CatalogEntry] = []
    for name in names:
        try:
            entries = _service_entries(name)
        except KeyError:  # named, with no dry-run operations: say why (this loads the index)
            _check_services([name], dry_run_index())
            raise
        for entry in entries:
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
