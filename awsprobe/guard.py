"""The wire guard: no request leaves awsprobe without its dry-run flag.

:func:`install_guard` registers a ``before-send`` handler on a botocore
client. ``before-send`` is the last event before bytes reach a socket: the
request is already serialized and signed. The handler reads the operation
from the event name, finds the operation's dry-run member in the client's
own service model, and looks for it where the protocol puts it:

* ``ec2`` / ``query``: the form-encoded body (``DryRun=true``);
* ``json`` / ``rest-json``: a top-level JSON member of the body, or the
  querystring/header when the model binds the member there;
* ``rest-xml``: a direct child element of the XML body's root;
* ``smithy-rpc-v2-cbor``: a top-level member of the CBOR body.

Anything else -- the flag missing or false, an operation with no dry-run
member, a body it cannot read -- raises :class:`UnsafeRequestError` and
nothing is sent. The only exemptions are the identity and decode calls
awsprobe itself makes, listed once in :data:`EXEMPT_OPERATIONS`, each with the
parameters it may carry (:data:`EXEMPT_PARAMETERS`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import botocore.hooks
import botocore.session
from botocore.awsrequest import AWSPreparedRequest, HTTPHeaders
from botocore.client import BaseClient
from botocore.config import Config
from botocore.model import ServiceModel

from awsprobe import strictjson
from awsprobe.adapters import (
    alias_cache,
    botocore_session_of,
    close_pools,
    set_alias_cache,
    set_service_model,
)
from awsprobe.catalog import dry_run_member
from awsprobe.errors import UnsafeRequestError, UsageError
from awsprobe.tables import is_read_only

__all__ = [
    "EXEMPT_OPERATIONS",
    "EXEMPT_PARAMETERS",
    "GUARD_MARKER",
    "ModelShare",
    "check_request",
    "close_client",
    "core_session",
    "guarded_client",
    "install_guard",
    "share_alias_cache",
    "share_service_model",
]

logger = logging.getLogger(__name__)

#: The only calls awsprobe sends without a dry-run flag: (botocore service, operation).
#: Each changes nothing in the account: it learns who the caller is, explains a denial,
#: asks IAM's policy simulator, or (the two credential calls) mints temporary credentials
#: for the caller's own use.
EXEMPT_OPERATIONS: Final = frozenset(
    {
        ("sts", "GetCallerIdentity"),  # who am I; needs no permission, cannot be denied
        ("sts", "DecodeAuthorizationMessage"),  # explain a denial; read-only
        ("ec2", "DescribeRegions"),  # list the account's enabled regions; read-only
        # Credential calls (awsprobe.identity): they mint temporary credentials for the
        # user's own identity and change nothing in the account. Made only when the user
        # explicitly asks, with --mfa-serial/--mfa-code or --assume-role; never by a probe.
        ("sts", "GetSessionToken"),  # MFA session for the caller (identity.mfa_session)
        ("sts", "AssumeRole"),  # probe as a role (identity.assume_role_session)
        # The IAM policy simulator (--simulate): evaluates the caller's own policies for
        # actions that have no dry run and performs nothing.
        ("iam", "SimulatePrincipalPolicy"),
        ("iam", "GetContextKeysForPrincipalPolicy"),
    }
)

#: The parameters (botocore member names) each exempt call may carry. Every one of them
#: only shapes the answer or the minted session; none changes the account. A request
#: carrying any other parameter (a member a newer botocore adds) is refused until it is
#: reviewed and listed here.
EXEMPT_PARAMETERS: Final[Mapping[tuple[str, str], frozenset[str]]] = MappingProxyType(
    {
        ("sts", "GetCallerIdentity"): frozenset(),
        ("sts", "DecodeAuthorizationMessage"): frozenset({"EncodedMessage"}),
        ("ec2", "DescribeRegions"): frozenset({"Filters", "RegionNames", "AllRegions", "DryRun"}),
        ("sts", "GetSessionToken"): frozenset(
            {"DurationSeconds", "SerialNumber", "TokenCode", "MinimumSessionTokenSize"}
        ),
        ("sts", "AssumeRole"): frozenset(
            {
                "RoleArn",
                "RoleSessionName",
                "PolicyArns",
                "Policy",
                "DurationSeconds",
                "Tags",
                "TransitiveTagKeys",
                "ExternalId",
                "SerialNumber",
                "TokenCode",
                "SourceIdentity",
                "ProvidedContexts",
                "MinimumSessionTokenSize",
            }
        ),
        ("iam", "SimulatePrincipalPolicy"): frozenset(
            {
                "PolicySourceArn",
                "PolicyInputList",
                "PermissionsBoundaryPolicyInputList",
                "PolicyExclusionList",
                "ActionNames",
                "ResourceArns",
                "ResourcePolicy",
                "ResourceOwner",
                "CallerArn",
                "ContextEntries",
                "ResourceHandlingOption",
                "MaxItems",
                "Marker",
            }
        ),
        ("iam", "GetContextKeysForPrincipalPolicy"): frozenset(
            {"PolicySourceArn", "PolicyInputList"}
        ),
    }
)

#: Attribute set on a client once its guard is installed (so it is installed once).
GUARD_MARKER: Final = "_awsprobe_guarded"
#: The guard's botocore handler id: registering it again on the same events is a no-op.
_GUARD_ID: Final = "awsprobe-dry-run-guard"

_QUERY_PROTOCOLS = frozenset({"ec2", "query"})
_TRUE = "true"


def install_guard(
    client: BaseClient, *, allow: frozenset[tuple[str, str]] = frozenset()
) -> BaseClient:
    """Register the guard on ``client`` (idempotent) and return the client.

    ``allow`` lets this one client also send the listed read-only operations
    without a flag (resource discovery's Describe/List allow-list, nothing else).
    """
    if hasattr(client, GUARD_MARKER):  # set below, only ever to True
        return client
    model: ServiceModel = client.meta.service_model
    service = model.service_name
    for allowed_service, operation in allow:
        if not is_read_only(operation):
            raise UnsafeRequestError(
                allowed_service,
                operation,
                "only read-only calls (Describe/List/Get/Search) may skip the flag",
            )

    def _guard(request: AWSPreparedRequest, event_name: str, **_: Any) -> None:
        operation = event_name.rpartition(".")[2]  # botocore always passes event_name
        if (service, operation) in allow:
            return
        check_request(model, service, operation, request)

    client.meta.events.register_first("before-send", _guard, unique_id=_GUARD_ID)
    setattr(client, GUARD_MARKER, True)
    return client


#: Event-name alias caches shared by every client awsprobe creates, one per alias table.
_ALIAS_CACHES: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}


def share_alias_cache(client: BaseClient) -> bool:
    """Let ``client`` share the process-wide event-name alias cache; True when it does.

    Every botocore client starts with an empty ``EventAliaser`` cache, so a
    client's first call of each operation re-derives about fifteen event names
    -- a large part of botocore's CPU per call in a sweep, where each operation is
    sent once per region (benchmarks, figure 3). The mapping depends only on the
    event name and the client's alias table (a copy of botocore's), so clients
    with equal tables can share one cache. It is a private botocore attribute:
    when it moves, the client keeps its own cache and nothing else changes.
    """
    events = getattr(client.meta, "events", None)
    found = alias_cache(events)
    if found is None:
        return False
    own, table = found
    key = tuple(sorted(table.items()))
    shared = _ALIAS_CACHES.setdefault(key, own)
    if shared is not own:
        shared.update(own)
        set_alias_cache(events, shared)
    return True


#: Parsed service models shared by the clients of one run, keyed by service name, API
#: version and the loaded description they were built from (see share_service_model).
ModelShare = dict[tuple[str, str | None, int], ServiceModel]


def share_service_model(client: BaseClient, models: ModelShare) -> bool:
    """Let ``client`` use the run's parsed model of its service; True when it does.

    botocore builds a new :class:`~botocore.model.ServiceModel` for every client, and
    resolves each operation's shapes again on a client's first call of it: in a sweep
    of many regions, ~0.1 ms of a probe's ~0.7 ms (benchmarks, figure 4). A model holds
    no region, so the clients of one service share one when they were built from the
    same loaded description (the loader's cached JSON, compared by identity: a model
    from another data path is never shared).
    ``models`` is the run's own, dropped with the run, so a long-lived process keeps no
    model it no longer uses.
    """
    model = client.meta.service_model
    key = (model.service_name, model.api_version, id(model.metadata))
    shared = models.setdefault(key, model)
    return shared is model or set_service_model(client, shared)


def core_session(session: Any = None) -> botocore.session.Session:
    """The botocore session behind ``session`` (a boto3 Session, a botocore Session, or
    ``None`` for the default credential chain)."""
    core = botocore_session_of(session)
    if core is None:
        core = botocore.session.get_session()
    if not isinstance(core, botocore.session.Session):
        raise UsageError(
            f"session must be a boto3.Session or botocore Session, not {type(session).__name__}"
        )
    return core


def close_client(client: BaseClient) -> None:
    """Close a client's connections now, not at garbage collection.

    ``client.close()`` clears urllib3's pool manager, which (urllib3 2.x) no
    longer closes the pools it drops; close each pool explicitly first.
    """
    close_pools(client)
    client.close()


def guarded_client(
    session: Any,
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    config: Config | None = None,
    verify: bool | str | None = None,
    allow: frozenset[tuple[str, str]] = frozenset(),
    models: ModelShare | None = None,
) -> BaseClient:
    """Create a botocore client the normal way, with the guard installed.

    ``session`` is a :class:`boto3.Session`, a :class:`botocore.session.Session`
    or ``None`` (the default credential chain). Clients are built through
    botocore, so ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``,
    profiles and every other botocore setting apply as usual. This is the only
    way awsprobe creates clients. ``models``: share parsed service models with the other
    clients given the same mapping (:func:`share_service_model`).
    """
    core = core_session(session)
    client = core.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=config,
        verify=verify,
    )
    share_alias_cache(client)
    if models is not None:
        share_service_model(client, models)  # before the guard, which reads the model
    return install_guard(client, allow=allow)


def check_request(
    model: ServiceModel,
    service: str,
    operation: str,
    request: AWSPreparedRequest,
    *,
    exempt: Collection[tuple[str, str]] = EXEMPT_OPERATIONS,
) -> None:
    """Raise :class:`UnsafeRequestError` unless ``request`` carries its dry-run flag.

    ``exempt`` names the (service, operation) pairs let through without a flag; the
    sandbox passes none, to tell a dry run of ``DescribeRegions`` from a real call.
    """
    if (service, operation) in exempt:
        _check_exempt_parameters(model, service, operation, request)
        return
    if operation not in model.operation_names:
        raise UnsafeRequestError(service, operation, "unknown operation")
    op_model = model.operation_model(operation)
    member = dry_run_member(op_model)
    if member is None:
        raise UnsafeRequestError(service, operation, "the operation has no dry-run member")
    shape = op_model.input_shape.members[member]
    location = shape.serialization.get("location")
    # the protocol botocore actually serialized with (newer botocore picks one of several)
    protocol = getattr(model, "resolved_protocol", None) or model.protocol
    if location == "querystring":
        wire = shape.serialization.get("name", member)
        found = _query_value(request.url, wire)
    elif location == "header":
        wire = shape.serialization.get("name", member)
        found = _header_value(request.headers, wire)
    elif protocol in _QUERY_PROTOCOLS:
        wire = _query_wire_name(protocol, member, shape.serialization)
        found = _form_value(request.body, wire)
        if found is None and request.method == "GET":
            found = _query_value(request.url, wire)
    elif protocol in ("json", "rest-json"):
        wire = shape.serialization.get("name", member)
        found = _json_value(request.body, wire)
    elif protocol == "rest-xml":
        wire = shape.serialization.get("name", member)
        found = _xml_value(request.body, wire)
    elif protocol == "smithy-rpc-v2-cbor":
        wire = member
        found = _cbor_value(request.body, wire)
    else:
        raise UnsafeRequestError(
            service, operation, f"protocol {protocol!r} is not understood by the guard"
        )
    if found != _TRUE:
        state = "missing" if found is None else f"set to {found!r}"
        raise UnsafeRequestError(service, operation, f"dry-run flag {wire!r} is {state}")
    logger.debug("guard: %s:%s carries %s=true", service, operation, wire)


def _check_exempt_parameters(
    model: ServiceModel, service: str, operation: str, request: AWSPreparedRequest
) -> None:
    """Refuse an exempt call that carries a parameter not in :data:`EXEMPT_PARAMETERS`.

    Every exempt call is a query-protocol call: its parameters are the form body's keys
    (``ActionNames.member.1``: the part before the first dot). ``Action`` and
    ``Version`` name the call itself.
    """
    allowed = EXEMPT_PARAMETERS.get((service, operation))
    if allowed is None:  # a caller's own exemption (the sandbox passes its own set)
        return
    protocol = getattr(model, "resolved_protocol", None) or model.protocol
    if protocol not in _QUERY_PROTOCOLS:
        raise UnsafeRequestError(
            service, operation, f"an exempt call must use a query protocol, not {protocol!r}"
        )
    members = model.operation_model(operation).input_shape
    wires = {
        _query_wire_name(protocol, name, shape.serialization)
        for name, shape in (members.members.items() if members is not None else ())
        if name in allowed
    }
    text = _body_text(request.body)
    keys = parse_qs(text or "", keep_blank_values=True).keys() if text else ()
    query = parse_qs(urlsplit(request.url).query, keep_blank_values=True).keys()
    for key in (*keys, *query):
        name = key.split(".", 1)[0]
        if name not in ("Action", "Version") and name not in wires:
            raise UnsafeRequestError(
                service, operation, f"parameter {name!r} is not one an exempt call may carry"
            )
    if text is None and request.body:
        raise UnsafeRequestError(service, operation, "the exempt call's body cannot be read")


def _query_wire_name(protocol: str, member: str, serialization: Mapping[str, Any]) -> str:
    if protocol == "ec2":
        if "queryName" in serialization:
            return str(serialization["queryName"])
        if "name" in serialization:
            name = str(serialization["name"])
            return name[0].upper() + name[1:]
        return member
    return str(serialization.get("name", member))


def _body_text(body: Any) -> str | None:
    """The body as text; None when there is none or it cannot be read as UTF-8."""
    if isinstance(body, bytes | bytearray):
        try:
            return bytes(body).decode()
        except UnicodeDecodeError:
            return None
    if isinstance(body, str):
        return body
    return None  # no body, or a stream: cannot be inspected without consuming it


def _single(values: list[str]) -> str:
    # a repeated flag counts only when every copy says true; else name the first that does not
    return next((v for v in values if v.lower() != _TRUE), _TRUE)


def _form_value(body: Any, wire: str) -> str | None:
    text = _body_text(body)
    if text is None:
        return None
    values = parse_qs(text, keep_blank_values=True).get(wire)
    return _single(values) if values else None


def _query_value(url: str, wire: str) -> str | None:
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get(wire)
    return _single(values) if values else None


def _header_value(headers: Mapping[str, str], wire: str) -> str | None:
    # botocore's HTTPHeaders (an http.client.HTTPMessage) finds a name in any case and
    # keeps repeated ones in order: the first is read, whatever mapping the request has
    for value in HTTPHeaders.from_dict(headers).get_all(wire) or ():
        return str(value).strip().lower()
    return None


def _xml_value(body: Any, wire: str) -> str | None:
    text = _body_text(body)
    if not text or "<!DOCTYPE" in text or "<!ENTITY" in text:
        return None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    values = [(child.text or "").strip() for child in root if child.tag.rpartition("}")[2] == wire]
    return _single(values) if values else None


class _RepeatedKey(ValueError):
    """A body repeats a key: which copy a server reads cannot be known, so it proves nothing."""


try:  # smithy-rpc-v2-cbor: botocore 1.37.2 and later
    from botocore.parsers import RpcV2CBORParser as _CBORParser
except ImportError:  # no CBOR reader: _CBOR_STRICT is false, so every CBOR body is refused
    _CBORParser = object


class _StrictCBORParser(_CBORParser):  # type: ignore[misc]
    """botocore's CBOR reader, refusing a map with a repeated key (ambiguous, so unsafe).

    The one adapter over a private botocore method (``_parse_key_value_pair``, which
    reads one map entry). Where a botocore lacks it, :data:`_CBOR_STRICT` is false and
    every CBOR body is refused: a guard that cannot see repeated keys fails closed.
    tests/test_guard_wire.py fails loudly when botocore changes the method.
    """

    def _parse_key_value_pair(self, stream: Any, items: dict[Any, Any]) -> None:
        key = self.parse_data_item(stream)
        value = self.parse_data_item(stream)
        if key in items:
            raise _RepeatedKey
        items[key] = value  # a null copy is kept, so it counts as a copy


#: Whether this botocore lets the guard see repeated CBOR map keys (see _StrictCBORParser).
_CBOR_STRICT: Final = callable(getattr(_CBORParser, "_parse_key_value_pair", None))


def _cbor_value(body: Any, wire: str) -> str | None:
    if not _CBOR_STRICT or not isinstance(body, bytes | bytearray):
        return None
    parser = _StrictCBORParser()
    try:
        stream = parser.get_peekable_stream_from_bytes(bytes(body))
        document = parser.parse_data_item(stream)
        if stream.read():  # trailing bytes: not one well-formed item
            return None
    except Exception:  # any decoding failure (an empty body too) cannot prove the flag
        return None
    if not isinstance(document, dict) or wire not in document:
        return None
    value = document[wire]
    return _TRUE if value is True else repr(value)


def _json_value(body: Any, wire: str) -> str | None:
    text = _body_text(body)
    if not text:
        return None
    try:
        document = strictjson.loads(text)
    except ValueError:  # includes duplicate keys: ambiguous, so unsafe
        return None
    if not isinstance(document, dict) or wire not in document:
        return None
    return json.dumps(document[wire])  # "true" only for the JSON boolean true
