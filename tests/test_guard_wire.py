"""The guard reads the request botocore serialized, in every protocol botocore has.

Each protocol is exercised with a real botocore service model that has a dry-run member
there, found in awsprobe's catalog (``_CASES``). smithy-rpc-v2-cbor is supported by
botocore but chosen for no service with a dry-run member today (AppStream lists it first
in ``protocols``, and botocore prefers ``json``), so its case is AppStream's own model with
the json alternative taken out. A ``before-sign`` handler changes the serialized request
after botocore built it; a ``before-send`` stub registered after the guard stands for the
socket: if the guard refuses, the stub never sees the request.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import botocore.session
import pytest
from botocore.awsrequest import (
    AWSPreparedRequest,
    AWSRequest,
    create_request_object,
    prepare_request_dict,
)
from botocore.client import BaseClient
from botocore.config import Config
from botocore.model import ServiceModel
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import create_serializer

import awsprobe.guard
from awsprobe.catalog import load_catalog
from awsprobe.errors import UnsafeRequestError
from awsprobe.guard import GUARD_MARKER, check_request, guarded_client, install_guard
from tests.fakes import one_flag_model

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
CATALOG = load_catalog(include_unprobed=True)
CBOR = "smithy-rpc-v2-cbor"


class Sent(Exception):
    """Raised by the stub socket: the request got past the guard."""


class Socket:
    """``before-send`` stub after the guard: records the request and stops the call."""

    def __init__(self) -> None:
        self.sent: list[AWSPreparedRequest] = []

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> None:
        self.sent.append(request)
        raise Sent


# --------------------------------------------------------------------------------------
# Real clients, one per protocol, with a tamper slot between serializing and sending.
# --------------------------------------------------------------------------------------

#: (protocol botocore serializes with, catalog action, where the flag travels,
#:  its name on the wire as botocore's model spells it)
_CASES = [
    ("ec2", "ec2:DescribeInstances", "form", "DryRun"),
    ("ec2", "ec2:AllocateAddress", "form", "DryRun"),  # locationName dryRun, capitalised
    ("query", "redshift:CreateSnapshotSchedule", "form", "DryRun"),
    ("json", "kinesis:GetRecords", "json", "DryRun"),
    ("json", "appstream:CreateUpdatedImage", "json", "dryRun"),
    ("rest-json", "imagebuilder:CreateComponent", "json", "dryRun"),
    ("rest-json", "medialive:CreateChannel", "json", "dryRun"),  # member DryRun
    ("rest-json", "wickr:RegisterOpentdfConfig", "querystring", "dryRun"),
    ("rest-xml", "route53:UpdateHostedZoneFeatures", "xml", "DryRun"),
    (CBOR, "appstream:CreateImportedImage", "cbor", "DryRun"),
]


def _cbor_only(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["metadata"]["protocol"] = CBOR
    spec["metadata"]["protocols"] = [CBOR]
    return spec


@pytest.fixture(scope="module")
def cbor_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A botocore data folder holding AppStream's model with smithy-rpc-v2-cbor only."""
    loader = botocore.session.get_session().get_component("data_loader")
    spec = _cbor_only(loader.load_service_model("appstream", "service-2"))
    root = tmp_path_factory.mktemp("botocore-data")
    folder = root / "appstream" / spec["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(spec), encoding="utf-8")
    return root


class Rig:
    """A guarded client of one service and protocol, a tamper slot, and the stub socket."""

    def __init__(self, protocol: str, service: str, data: Path | None) -> None:
        session = botocore.session.get_session()
        if data is not None:
            session.get_component("data_loader").search_paths.insert(0, str(data))
        self.client: BaseClient = guarded_client(
            session, service, region="us-east-1", endpoint_url="http://127.0.0.1:9",
            config=NO_RETRIES,
        )  # fmt: skip
        self.tamper: Callable[[AWSRequest], None] | None = None
        self.socket = Socket()
        self.client.meta.events.register("before-sign", self._before_sign)
        self.client.meta.events.register("before-send", self.socket)

    def _before_sign(self, request: AWSRequest, **_: Any) -> None:
        if self.tamper is not None:
            self.tamper(request)


_RIGS: dict[tuple[str, str], Rig] = {}


@pytest.fixture
def rig_for(cbor_data: Path) -> Iterator[Callable[[str, str], Rig]]:
    def make(protocol: str, service: str) -> Rig:
        if (protocol, service) not in _RIGS:
            data = cbor_data if protocol == CBOR else None
            _RIGS[protocol, service] = Rig(protocol, service, data)
        rig = _RIGS[protocol, service]
        rig.socket.sent.clear()
        return rig

    yield make
    for rig in _RIGS.values():
        rig.tamper = None


def _call(rig: Rig, action: str) -> None:
    entry = CATALOG.find(action)
    getattr(rig.client, entry.method)(**entry.probe_params())


@pytest.mark.parametrize(("protocol", "action", "carrier", "wire"), _CASES)
def test_untampered_request_of_every_protocol_is_sent(
    rig_for: Callable[[str, str], Rig], protocol: str, action: str, carrier: str, wire: str
) -> None:
    """Each case's client serializes with the protocol named, and its probe is sent."""
    rig = rig_for(protocol, action.split(":")[0])
    assert rig.client.meta.service_model.resolved_protocol == protocol
    with pytest.raises(Sent):
        _call(rig, action)
    assert len(rig.socket.sent) == 1


# --------------------------------------------------------------------------------------
# Tampering after serialization, per carrier.
# --------------------------------------------------------------------------------------


def _form(kind: str, request: AWSRequest, wire: str) -> None:
    data: dict[str, str] = request.data  # botocore's query serializers leave a dict here
    assert data[wire] == "true"
    if kind == "removed":
        del data[wire]
    elif kind == "false":
        data[wire] = "false"
    elif kind == "false copy first":
        request.data = f"{wire}=false&{urlencode(data)}"
    elif kind == "false copy last":
        request.data = f"{urlencode(data)}&{wire}=false"
    elif kind == "blank copy":
        request.data = f"{urlencode(data)}&{wire}="
    elif kind == "hidden":
        data[f"Hidden.1.{wire}"] = data.pop(wire)


def _json(kind: str, request: AWSRequest, wire: str) -> None:
    document = json.loads(request.data)
    assert document[wire] is True
    if kind == "removed":
        del document[wire]
    elif kind == "false":
        document[wire] = False
    elif kind == "as text":
        document[wire] = "true"
    elif kind == "hidden":
        document["Hidden"] = {wire: document.pop(wire)}
    if kind == "false copy first":  # then botocore's own body
        request.data = f'{{"{wire}": false, '.encode() + request.data[1:]
    elif kind == "false copy last":
        request.data = request.data[:-1] + f', "{wire}": false}}'.encode()
    else:
        request.data = json.dumps(document).encode()


def _xml(kind: str, request: AWSRequest, wire: str) -> None:
    flag = f"<{wire}>true</{wire}>".encode()
    assert request.data.count(flag) == 1
    replacement = {
        "removed": b"",
        "false": f"<{wire}>false</{wire}>".encode(),
        "false copy first": f"<{wire}>false</{wire}>".encode() + flag,
        "false copy last": flag + f"<{wire}>false</{wire}>".encode(),
        "blank copy": flag + f"<{wire}/>".encode(),
        "hidden": b"<Hidden>" + flag + b"</Hidden>",
    }[kind]
    request.data = request.data.replace(flag, replacement)


def _cbor_head(major: int, length: int) -> bytes:
    assert length < 256
    return bytes([major << 5 | length]) if length < 24 else bytes([major << 5 | 24, length])


def _cbor(value: Any) -> bytes:
    """RFC 8949 encoding of the few values these tests need."""
    if value is True or value is False:
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, str):
        raw = value.encode()
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, dict):
        return _cbor_map(list(value.items()))
    raise TypeError(value)


def _cbor_map(pairs: list[tuple[str, Any]]) -> bytes:
    return _cbor_head(5, len(pairs)) + b"".join(_cbor(k) + _cbor(v) for k, v in pairs)


def _cbor_tamper(kind: str, request: AWSRequest, wire: str) -> None:
    pairs = list(CATALOG.find("appstream:CreateImportedImage").probe_params().items())
    assert request.data == _cbor_map(pairs)  # botocore's bytes, as RFC 8949 encodes them
    others = [(k, v) for k, v in pairs if k != wire]
    request.data = _cbor_map(
        {
            "removed": others,
            "false": [*others, (wire, False)],
            "as text": [*others, (wire, "true")],
            "false copy first": [(wire, False), *pairs],
            "false copy last": [*pairs, (wire, False)],
            "hidden": [*others, ("Hidden", {wire: True})],
        }[kind]
    )


def _querystring(kind: str, request: AWSRequest, wire: str) -> None:
    url = urlsplit(request.url)
    query = parse_qsl(url.query, keep_blank_values=True)
    assert (wire, "true") in query
    others = [(k, v) for k, v in query if k != wire]
    new = {
        "removed": others,
        "false": [*others, (wire, "false")],
        "false copy first": [(wire, "false"), *query],
        "false copy last": [*query, (wire, "false")],
        "blank copy": [*query, (wire, "")],
        "hidden": others,
    }[kind]
    request.url = urlunsplit(url._replace(query=urlencode(new)))
    if kind == "hidden":  # moved from the querystring into the JSON body
        document = json.loads(request.data or b"{}")
        document[wire] = True
        request.data = json.dumps(document).encode()


_TAMPERS: dict[str, Callable[[str, AWSRequest, str], None]] = {
    "form": _form,
    "json": _json,
    "xml": _xml,
    "cbor": _cbor_tamper,
    "querystring": _querystring,
}
_COPIES = ("false copy first", "false copy last")
_KINDS = {
    "form": ("removed", "false", *_COPIES, "blank copy", "hidden"),
    "json": ("removed", "false", "as text", *_COPIES, "hidden"),
    "xml": ("removed", "false", *_COPIES, "blank copy", "hidden"),
    "cbor": ("removed", "false", "as text", *_COPIES, "hidden"),
    "querystring": ("removed", "false", *_COPIES, "blank copy", "hidden"),
}


def _tamper_cases() -> list[Any]:
    cases = []
    for protocol, action, carrier, wire in _CASES:
        for kind in _KINDS[carrier]:
            cases.append(pytest.param(protocol, action, carrier, wire, kind))
    return cases


@pytest.mark.parametrize(("protocol", "action", "carrier", "wire", "kind"), _tamper_cases())
def test_flag_tampered_after_serialization_is_refused_in_every_protocol(
    rig_for: Callable[[str, str], Rig],
    protocol: str,
    action: str,
    carrier: str,
    wire: str,
    kind: str,
) -> None:
    """Flag removed, false, a string, repeated with a false or blank copy, or moved where
    it does not count, after botocore serialized it: refused, nothing sent, and the error
    names the service, the operation and the flag as it travels."""
    service, operation = action.split(":")
    rig = rig_for(protocol, service)
    rig.tamper = lambda request: _TAMPERS[carrier](kind, request, wire)
    with pytest.raises(UnsafeRequestError) as refused:
        _call(rig, action)
    assert rig.socket.sent == []
    error = refused.value
    assert (error.service, error.operation) == (service, operation)
    assert f"refused to send {service}:{operation}: dry-run flag {wire!r} is " in str(error)
    if kind in ("removed", "hidden"):
        assert error.why == f"dry-run flag {wire!r} is missing"
    if kind == "false":
        assert error.why.lower() == f"dry-run flag {wire!r} is set to 'false'".lower()


def test_a_passing_request_is_logged_with_the_flag_it_carried(
    rig_for: Callable[[str, str], Rig], caplog: pytest.LogCaptureFixture
) -> None:
    """At debug level the guard says which flag it found on which call."""
    caplog.set_level(logging.DEBUG, logger="awsprobe.guard")
    rig = rig_for("rest-json", "medialive")
    with pytest.raises(Sent):
        _call(rig, "medialive:CreateChannel")
    guard_lines = [r.getMessage() for r in caplog.records if r.name == "awsprobe.guard"]
    assert guard_lines == ["guard: medialive:CreateChannel carries dryRun=true"]


# --------------------------------------------------------------------------------------
# Where botocore puts a flag the real models do not exercise: minimal models, botocore's
# own serializers.
# --------------------------------------------------------------------------------------


def _serialized(model: ServiceModel, params: dict[str, Any]) -> AWSPreparedRequest:
    """The request botocore's serializer for the model's protocol builds."""
    protocol = model.resolved_protocol
    built = create_serializer(protocol).serialize_to_request(params, model.operation_model("Go"))
    prepare_request_dict(built, endpoint_url="https://x.example")
    return create_request_object(built).prepare()


@pytest.mark.parametrize(
    ("protocol", "member", "ref", "wire"),
    [
        # EC2 protocol: queryName wins, else locationName with its first letter capitalised,
        # else the member name (botocore serialize.EC2Serializer._get_serialized_name).
        ("ec2", "DryRun", {"queryName": "Preview", "locationName": "dryRun"}, "Preview"),
        ("ec2", "dry_run", {"locationName": "dryRun"}, "DryRun"),
        ("ec2", "dry_run", {}, "dry_run"),
        # query protocol: locationName as written, else the member name.
        ("query", "DryRun", {"locationName": "dryRunFlag"}, "dryRunFlag"),
        ("query", "DryRun", {}, "DryRun"),
        # JSON and XML bodies: locationName, else the member name.
        ("json", "DryRun", {"locationName": "dryRun"}, "dryRun"),
        ("rest-xml", "DryRun", {"locationName": "dryRun"}, "dryRun"),
        # bound to the querystring or a header with no locationName: the member name.
        ("rest-json", "DryRun", {"location": "querystring"}, "DryRun"),
        ("rest-json", "DryRun", {"location": "header"}, "DryRun"),
        (CBOR, "DryRun", {}, "DryRun"),
    ],
)
def test_flag_is_read_under_the_name_botocore_serializes_it_with(
    protocol: str, member: str, ref: dict[str, str], wire: str
) -> None:
    """The guard finds the flag where botocore's serializer put it, under that name; the
    same request with the flag false is refused naming that wire name."""
    model = one_flag_model(protocol, member, ref)
    passing = _serialized(model, {member: True})
    assert wire in f"{passing.url} {dict(passing.headers)} {passing.body!r}"
    check_request(model, "x", "Go", passing)
    with pytest.raises(UnsafeRequestError) as refused:
        check_request(model, "x", "Go", _serialized(model, {member: False}))
    assert refused.value.why.lower() == f"dry-run flag {wire!r} is set to 'false'".lower()


def test_a_cbor_flag_written_under_another_name_is_refused() -> None:
    """Smithy's RPC v2 CBOR protocol keys a structure by its member names (its spec: the
    jsonName trait is ignored), while botocore's serializer writes a member's locationName.
    Where the two differ nobody can say which key the server reads, so the guard refuses:
    it looks for the member name only. (No real model has such a flag today.)"""
    model = one_flag_model(CBOR, "DryRun", {"locationName": "dryRun"})
    sent = _serialized(model, {"DryRun": True})
    assert b"dryRun" in sent.body
    with pytest.raises(UnsafeRequestError) as refused:
        check_request(model, "x", "Go", sent)
    assert refused.value.why == "dry-run flag 'DryRun' is missing"


# --------------------------------------------------------------------------------------
# Raw wire forms the serializers never produce.
# --------------------------------------------------------------------------------------


def _prepared(method: str, url: str, body: Any) -> AWSPreparedRequest:
    return AWSPreparedRequest(method, url, {}, body, stream_output=False)


_ROUTE53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
_EC2 = ("ec2", "DescribeInstances")
_R53 = ("route53", "UpdateHostedZoneFeatures")


@pytest.mark.parametrize(
    ("call", "method", "url", "body", "safe"),
    [
        # EC2: a blank copy is not a true copy; a GET reads the URL only when the body has
        # no flag at all, a POST never.
        (_EC2, "POST", "https://x/", "DryRun=true&DryRun=", False),
        (_EC2, "GET", "https://x/?DryRun=true&DryRun=", None, False),
        (_EC2, "GET", "https://x/?DryRun=true", "DryRun=false", False),
        (_EC2, "GET", "https://x/?DryRun=true", None, True),
        (_EC2, "POST", "https://x/?DryRun=true", None, False),
        (_EC2, "POST", "https://x/", bytearray(b"DryRun=true"), True),
        # rest-xml: a direct child of the root, by local name, whatever the namespace;
        # no DTD, not even in a comment; a body that is not one UTF-8 XML document is out.
        (_R53, "POST", "https://x/", f'<R xmlns="{_ROUTE53_NS}"><DryRun>true</DryRun></R>', True),
        (_R53, "POST", "https://x/", b"<R><DryRun> true </DryRun></R>", True),
        (_R53, "POST", "https://x/", b"<!DOCTYPE R><R><DryRun>true</DryRun></R>", False),
        (
            _R53,
            "POST",
            "https://x/",
            b'<R><!-- <!ENTITY e "x"> --><DryRun>true</DryRun></R>',
            False,
        ),
        (_R53, "POST", "https://x/", b"<R><DryRun>true</DryRun>", False),
        (_R53, "POST", "https://x/", b"<R><DryRun>true</DryRun></R>\xff", False),
        (_R53, "POST", "https://x/", None, False),
    ],
)
def test_guard_reading_of_raw_wire_forms_beyond_the_serializers(
    call: tuple[str, str], method: str, url: str, body: Any, safe: bool
) -> None:
    """Only an unambiguous true flag, where the protocol puts it, is accepted."""
    service, operation = call
    model = botocore.session.get_session().get_service_model(service)
    request = _prepared(method, url, body)
    if safe:
        check_request(model, service, operation, request)
    else:
        with pytest.raises(UnsafeRequestError):
            check_request(model, service, operation, request)


def test_an_empty_xml_flag_is_reported_as_empty() -> None:
    """``<DryRun/>`` is refused as a flag set to the empty string, not as a missing one."""
    model = botocore.session.get_session().get_service_model("route53")
    request = _prepared("POST", "https://x/", b"<R><DryRun/></R>")
    with pytest.raises(UnsafeRequestError) as refused:
        check_request(model, "route53", "UpdateHostedZoneFeatures", request)
    assert refused.value.why == "dry-run flag 'DryRun' is set to ''"


@pytest.fixture(scope="module")
def cbor_model() -> ServiceModel:
    loader = botocore.session.get_session().get_component("data_loader")
    return ServiceModel(_cbor_only(loader.load_service_model("appstream", "service-2")))


_FLAG_TRUE = _cbor_map([("Name", "n"), ("DryRun", True)])


@pytest.mark.parametrize(
    ("body", "safe"),
    [
        (_FLAG_TRUE, True),
        (bytearray(_FLAG_TRUE), True),
        (b"\xbf" + _cbor("DryRun") + b"\xf5\xff", True),  # indefinite-length map
        (_FLAG_TRUE.decode("latin-1"), False),  # text, not bytes
        (memoryview(_FLAG_TRUE), False),  # a buffer the guard does not read
        (b"", False),
        (None, False),
        (_FLAG_TRUE + b"\xf5", False),  # trailing bytes after the map
        (_FLAG_TRUE[:-1], False),  # truncated
        (b"\x81\xf5", False),  # an array, not a map
        (_cbor_map([("Name", "n")]), False),
        (_cbor_map([("DryRun", "true")]), False),
        (b"\xa1" + _cbor("DryRun") + b"\x01", False),  # the integer 1
        (b"\xa1" + _cbor("dryRun") + b"\xf5", False),  # another member name
    ],
)
def test_cbor_body_forms(cbor_model: ServiceModel, body: Any, safe: bool) -> None:
    """A CBOR body passes only as one well-formed map whose DryRun is the boolean true."""
    request = _prepared("POST", "https://x/", body)
    if safe:
        check_request(cbor_model, "appstream", "CreateImportedImage", request)
    else:
        with pytest.raises(UnsafeRequestError):
            check_request(cbor_model, "appstream", "CreateImportedImage", request)


def test_cbor_refusal_says_what_the_flag_was() -> None:
    """A CBOR flag present but not true is reported with its value."""
    model = one_flag_model(CBOR, "DryRun", {})
    with pytest.raises(UnsafeRequestError) as refused:
        check_request(
            model, "x", "Go", _prepared("POST", "https://x/", _cbor_map([("DryRun", "yes")]))
        )
    assert refused.value.why == "dry-run flag 'DryRun' is set to \"'yes'\""


# --------------------------------------------------------------------------------------
# Refusals that are not about a flag's value.
# --------------------------------------------------------------------------------------

_EC2_OK = _prepared("POST", "https://x/", b"Action=X&DryRun=true")


@pytest.mark.parametrize(
    ("service", "operation", "why"),
    [
        ("ec2", "NoSuchOperation", "unknown operation"),
        ("ec2", "ModifyVpcAttribute", "the operation has no dry-run member"),
    ],
)
def test_refusal_names_service_operation_and_reason(service: str, operation: str, why: str) -> None:
    """An operation the model lacks, or one without a dry-run member, is refused by name."""
    model = botocore.session.get_session().get_service_model(service)
    with pytest.raises(UnsafeRequestError) as refused:
        check_request(model, service, operation, _EC2_OK)
    assert (refused.value.service, refused.value.operation) == (service, operation)
    assert f"refused to send {service}:{operation}: {why};" in str(refused.value)


class _OldBotocoreModel:
    """A ServiceModel as botocore before ``resolved_protocol`` (the floor is 1.34) shows it."""

    def __init__(self, model: ServiceModel) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        if name == "resolved_protocol":
            raise AttributeError(name)
        return getattr(self._model, name)


def test_botocore_without_resolved_protocol_falls_back_to_the_protocol() -> None:
    """On older botocore the model's single ``protocol`` is what the guard reads by:
    AppStream's is smithy-rpc-v2-cbor (newer botocore resolves it to json)."""
    model = _OldBotocoreModel(botocore.session.get_session().get_service_model("appstream"))
    cbor = _prepared("POST", "https://x/", _FLAG_TRUE)
    check_request(model, "appstream", "CreateImportedImage", cbor)  # type: ignore[arg-type]
    json_body = _prepared("POST", "https://x/", b'{"Name": "n", "DryRun": true}')
    with pytest.raises(UnsafeRequestError):
        check_request(model, "appstream", "CreateImportedImage", json_body)  # type: ignore[arg-type]


def test_a_protocol_the_guard_does_not_know_is_refused_by_name() -> None:
    """A model in a protocol the guard cannot read is refused, naming the protocol."""
    model = one_flag_model("future-protocol", "DryRun", {})
    with pytest.raises(UnsafeRequestError) as refused:
        check_request(model, "x", "Go", _prepared("POST", "https://x/go", b'{"DryRun": true}'))
    assert (refused.value.service, refused.value.operation) == ("x", "Go")
    assert "refused to send x:Go: protocol 'future-protocol' is not understood by the guard;" in (
        str(refused.value)
    )


# --------------------------------------------------------------------------------------
# Installing the guard.
# --------------------------------------------------------------------------------------


def _plain_ec2() -> tuple[BaseClient, Socket]:
    client = botocore.session.get_session().create_client(
        "ec2", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", config=NO_RETRIES
    )
    socket = Socket()
    client.meta.events.register("before-send", socket)
    return client, socket


def test_allow_list_lets_only_its_reads_through_without_a_flag() -> None:
    """guarded_client's allow-list: a listed Describe goes without DryRun, others do not."""
    session = botocore.session.get_session()
    client = guarded_client(
        session, "ec2", region="us-east-1", endpoint_url="http://127.0.0.1:9",
        config=NO_RETRIES, allow=frozenset({("ec2", "DescribeInstances")}),
    )  # fmt: skip
    socket = Socket()
    client.meta.events.register("before-send", socket)
    with pytest.raises(Sent):
        client.describe_instances()
    with pytest.raises(UnsafeRequestError):
        client.describe_vpcs()
    assert len(socket.sent) == 1


@pytest.mark.parametrize(
    "operation", ["DescribeVpcs", "ListImagesInRecycleBin", "GetConsoleOutput"]
)
def test_allow_list_accepts_describe_list_and_get(operation: str) -> None:
    """Describe, List and Get calls (IAM's read verbs) may be allow-listed."""
    client, _ = _plain_ec2()
    assert install_guard(client, allow=frozenset({("ec2", operation)})) is client


def test_allow_list_with_a_call_that_is_not_a_read_is_refused_at_install() -> None:
    """A write in the allow-list is refused when the guard is installed, by name."""
    client, _ = _plain_ec2()
    with pytest.raises(UnsafeRequestError) as refused:
        install_guard(client, allow=frozenset({("ec2", "TerminateInstances")}))
    assert (refused.value.service, refused.value.operation) == ("ec2", "TerminateInstances")
    assert (
        "refused to send ec2:TerminateInstances: only read-only calls "
        "(Describe/List/Get/Search) may skip the flag;" in str(refused.value)
    )
    with pytest.raises(Sent):  # and the client stays unguarded: install_guard did nothing
        client.describe_instances()


def test_installing_again_changes_nothing() -> None:
    """A guarded client carries GUARD_MARKER; a second install_guard returns it as it is,
    without reading its arguments, so it can neither widen nor replace the first allow-list."""
    client, socket = _plain_ec2()
    install_guard(client, allow=frozenset({("ec2", "DescribeInstances")}))
    assert getattr(client, GUARD_MARKER) is True
    again = install_guard(client, allow=frozenset({("ec2", "TerminateInstances")}))
    assert again is client
    with pytest.raises(UnsafeRequestError):
        client.terminate_instances(InstanceIds=["i-00000000000000000"])
    with pytest.raises(Sent):
        client.describe_instances()
    assert len(socket.sent) == 1


def test_guard_runs_once_per_request_even_if_registered_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard's handler has a unique id: with the marker lost, installing again still
    leaves one guard, which checks each request once."""
    client, _ = _plain_ec2()
    install_guard(client)
    delattr(client, GUARD_MARKER)
    install_guard(client)
    checked: list[str] = []
    real = awsprobe.guard.check_request

    def counting(model: Any, service: str, operation: str, request: Any, **kw: Any) -> None:
        checked.append(operation)
        real(model, service, operation, request, **kw)

    monkeypatch.setattr(awsprobe.guard, "check_request", counting)
    with pytest.raises(Sent):
        client.describe_instances(DryRun=True)
    assert checked == ["DescribeInstances"]


def test_guarded_client_builds_the_client_it_was_asked_for() -> None:
    """Session, region, endpoint, config and TLS verification all reach the client."""
    session = botocore.session.get_session()
    socket = Socket()
    session.register("before-send", socket)  # the client inherits the session's handlers
    client = guarded_client(
        session, "kms", region="eu-west-3", endpoint_url="http://127.0.0.1:9",
        config=Config(user_agent_extra="awsprobe-test", retries={"total_max_attempts": 1}),
        verify=False,
    )  # fmt: skip
    assert client.meta.region_name == "eu-west-3"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.config.user_agent_extra == "awsprobe-test"
    assert client._endpoint.http_session._verify is False  # no public accessor in botocore
    with pytest.raises(Sent):
        client.encrypt(KeyId="k", Plaintext=b"x", DryRun=True)
    assert len(socket.sent) == 1


# -- the one adapter over a private botocore method ------------------------------------

_CBOR_DRY_RUN = b"\xa1\x66DryRun\xf5"  # RFC 8949: map(1) {text(6) "DryRun": true}
_CBOR_TWICE = b"\xa2\x66DryRun\xf4\x66DryRun\xf5"  # map(2) {"DryRun": false, "DryRun": true}


def test_this_botocore_lets_the_guard_see_repeated_cbor_keys() -> None:
    """The guard reads CBOR with botocore's parser, overriding its private
    ``RpcV2CBORParser._parse_key_value_pair(stream, items)`` to refuse repeated keys.
    This fails loudly when botocore renames or reshapes that method (the guard then
    refuses every CBOR body rather than miss a repeated key)."""
    method = getattr(RpcV2CBORParser, "_parse_key_value_pair", None)
    assert callable(method), "botocore dropped RpcV2CBORParser._parse_key_value_pair"
    assert list(inspect.signature(method).parameters) == ["self", "stream", "items"]
    assert awsprobe.guard._CBOR_STRICT
    assert awsprobe.guard._cbor_value(_CBOR_DRY_RUN, "DryRun") == "true"
    assert awsprobe.guard._cbor_value(_CBOR_TWICE, "DryRun") is None


def test_without_the_private_method_every_cbor_body_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The adapter's fallback fails closed: no CBOR flag is read, so the guard refuses."""
    monkeypatch.setattr(awsprobe.guard, "_CBOR_STRICT", False)
    assert awsprobe.guard._cbor_value(_CBOR_DRY_RUN, "DryRun") is None
