"""The wire guard: nothing without its dry-run flag ever reaches the network.

Every test here uses a ``before-send`` stub registered after the guard: if the
guard lets a request through, the stub sees it; if the guard refuses, the stub
must never be reached.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.errors import UnsafeRequestError
from awsprobe.guard import EXEMPT_OPERATIONS, EXEMPT_PARAMETERS, check_request, guarded_client
from tests.conftest import fake_response
from tests.fakes import one_flag_model

ALL_ENTRIES = list(load_catalog(include_unprobed=True))
PROBED = [e for e in ALL_ENTRIES if e.probe]
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


class Wire:
    """Records what reached the (fake) socket and answers with a canned response."""

    def __init__(self) -> None:
        self.sent: list[AWSPreparedRequest] = []

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.sent.append(request)
        return fake_response(request)


_CLIENTS: dict[str, tuple[BaseClient, Wire]] = {}


def _client(service: str) -> tuple[BaseClient, Wire]:
    """One guarded client per service, talking to a stub instead of a socket."""
    if service not in _CLIENTS:
        session = botocore.session.get_session()
        client = guarded_client(
            session,
            service,
            region="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            config=NO_RETRIES,
        )
        wire = Wire()
        client.meta.events.register("before-send", wire)
        _CLIENTS[service] = (client, wire)
    return _CLIENTS[service]


def _send(entry: CatalogEntry, params: dict[str, Any]) -> Wire:
    client, wire = _client(entry.service)
    wire.sent.clear()
    # The stub answers 412 DryRunOperation: botocore raises it as a ClientError in every
    # protocol; anything else (UnsafeRequestError included) propagates to the test.
    with pytest.raises(ClientError):
        getattr(client, entry.method)(**params)
    return wire


def test_every_probed_entry_serialized_by_botocore_passes_the_guard() -> None:
    """The whole catalog, every protocol: each probe as built carries its flag on the wire."""
    for entry in ALL_ENTRIES:
        wire = _send(entry, entry.probe_params())
        assert len(wire.sent) == 1, entry.action


def _flag_variants(entry: CatalogEntry) -> list[tuple[str, dict[str, Any]]]:
    stripped = entry.probe_params()
    del stripped[entry.dry_run_member]
    false = entry.probe_params()
    false[entry.dry_run_member] = False
    return [("stripped", stripped), ("false", false)]


@pytest.mark.parametrize("protocol", sorted({e.protocol for e in ALL_ENTRIES}))
def test_stripped_or_false_flag_is_refused_for_every_protocol(protocol: str) -> None:
    """For each protocol, every entry without the flag (or with it false) is refused unsent."""
    exempt = lambda e: (e.service, e.operation) in EXEMPT_OPERATIONS  # noqa: E731
    for entry in (e for e in ALL_ENTRIES if e.protocol == protocol and not exempt(e)):
        for label, params in _flag_variants(entry):
            with pytest.raises(UnsafeRequestError):
                _send(entry, params)
            assert _client(entry.service)[1].sent == [], (entry.action, label)


_EXTRA_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entry=st.sampled_from(ALL_ENTRIES),
    extra=st.dictionaries(st.sampled_from(["DryRun", "dryRun", "dry_run", "Extra"]), _EXTRA_VALUES),
    keep_flag=st.booleans(),
)
def test_random_entries_with_random_extras_never_send_without_the_flag(
    entry: CatalogEntry, extra: dict[str, Any], keep_flag: bool
) -> None:
    """Whatever extra parameters are mixed in, a request reaches the wire only with flag=true
    (ec2:DescribeRegions, exempt by design to list the enabled regions, may go without)."""
    params = entry.probe_params()
    params.update(copy.deepcopy(extra))
    if not keep_flag:
        params.pop(entry.dry_run_member, None)
    client, wire = _client(entry.service)
    wire.sent.clear()
    try:
        getattr(client, entry.method)(**params)
    except (UnsafeRequestError, ParamValidationError):
        assert wire.sent == []  # refused by the guard, or by botocore's check of the extras
    except ClientError:
        assert len(wire.sent) == 1  # sent once; the stub answered 412
    for request in wire.sent:
        # the recorded request must itself satisfy the guard's reading of the wire
        check_request(client.meta.service_model, entry.service, entry.operation, request)
    if params.get(entry.dry_run_member) is not True:
        if (entry.service, entry.operation) in EXEMPT_OPERATIONS:
            return
        assert wire.sent == []


def _wired(service: str) -> tuple[BaseClient, Wire]:
    """A guarded client of ``service`` whose requests end on a recording stub, unsent."""
    client = guarded_client(
        botocore.session.get_session(),
        service,
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=NO_RETRIES,
    )
    wire = Wire()
    client.meta.events.register("before-send", wire)
    return client, wire


def test_an_operation_without_a_dry_run_member_is_refused() -> None:
    """ModifyVpcAttribute has no DryRun: even a hand-built request is refused."""
    client, wire = _wired("ec2")
    with pytest.raises(UnsafeRequestError, match="no dry-run member"):
        client.modify_vpc_attribute(VpcId="vpc-00000000000000000", EnableDnsSupport={"Value": True})
    assert wire.sent == []


def test_only_the_listed_identity_calls_are_exempt() -> None:
    """sts:GetCallerIdentity passes the guard without a flag; the exemption list is tiny."""
    assert EXEMPT_OPERATIONS == {
        ("sts", "GetCallerIdentity"),
        ("sts", "DecodeAuthorizationMessage"),
        ("ec2", "DescribeRegions"),
        ("sts", "GetSessionToken"),  # only on --mfa-serial (awsprobe.identity)
        ("sts", "AssumeRole"),  # only on --assume-role (awsprobe.identity)
        ("iam", "SimulatePrincipalPolicy"),  # only on --simulate (issue 18)
        ("iam", "GetContextKeysForPrincipalPolicy"),
    }
    client, wire = _wired("sts")
    # sent: the stub's canned 412 DryRunOperation comes back as a ClientError
    with pytest.raises(ClientError, match="DryRunOperation"):
        client.get_caller_identity()
    assert len(wire.sent) == 1
    with pytest.raises(UnsafeRequestError):
        client.get_federation_token(Name="probe")  # mints credentials, not exempt: never sent
    assert len(wire.sent) == 1


# Members of the exempt calls that could change something, were a model to grow them
# (written from the calls' documentation: the simulator's and STS's inputs only shape the
# answer or the minted session).
_MUTATING_WORDS = ("Create", "Delete", "Put", "Attach", "Detach", "Update", "Set", "Modify")


def test_every_exempt_call_lists_its_parameters_and_none_mutates() -> None:
    """Each exempt call names the parameters it may carry: every member the installed
    botocore's model has is listed (a member a newer botocore adds fails here until it is
    reviewed; an older botocore may lack some listed ones), and none of the simulator's
    is a mutating one."""
    assert set(EXEMPT_PARAMETERS) == set(EXEMPT_OPERATIONS)
    session = botocore.session.get_session()
    for (service, operation), allowed in EXEMPT_PARAMETERS.items():
        shape = session.get_service_model(service).operation_model(operation).input_shape
        members = set(shape.members) if shape is not None else set()
        assert members <= allowed, (service, operation, members - allowed)
        if service == "iam":
            assert not [m for m in allowed if m.startswith(_MUTATING_WORDS)]


def test_the_simulator_is_sent_without_a_flag_with_its_documented_parameters() -> None:
    """iam:SimulatePrincipalPolicy (every parameter awsprobe uses) passes the guard unflagged."""
    client, wire = _wired("iam")
    with pytest.raises(ClientError):
        client.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:user/ci",
            ActionNames=["s3:GetObject", "s3:PutObject"],
            ResourceArns=["*"],
            ContextEntries=[
                {
                    "ContextKeyName": "aws:RequestedRegion",
                    "ContextKeyType": "string",
                    "ContextKeyValues": ["us-east-1"],
                }
            ],
            MaxItems=1000,
            Marker="abc",
        )
    with pytest.raises(ClientError):
        client.get_context_keys_for_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:user/ci"
        )
    assert len(wire.sent) == 2


@pytest.mark.parametrize(
    "extra",
    [{"PolicyName": "p"}, {"UserName": "ci"}, {"Path.member.1": "x"}, {"PolicyDocument": "{}"}],
)
def test_an_exempt_call_carrying_another_parameter_is_refused(extra: dict[str, str]) -> None:
    """A simulator request tampered with to carry a parameter it does not have is not sent."""
    client, wire = _wired("iam")
    _tamper(client, lambda request: request.data.update(extra))
    with pytest.raises(UnsafeRequestError, match="exempt call may carry"):
        client.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:user/ci", ActionNames=["s3:GetObject"]
        )
    assert wire.sent == []


def test_an_exempt_sts_call_carrying_a_foreign_parameter_is_refused() -> None:
    """The same rule holds for the identity calls: GetCallerIdentity carries nothing."""
    client, wire = _wired("sts")

    _tamper(client, lambda request: request.data.update({"RoleArn": "x"}))
    with pytest.raises(UnsafeRequestError, match="'RoleArn'"):
        client.get_caller_identity()
    assert wire.sent == []


def _tamper(client: BaseClient, mutate: Callable[[AWSPreparedRequest], None]) -> None:
    """Change the serialized request after botocore built it, before the guard sees it."""

    def handler(request: Any, **_: Any) -> None:
        mutate(request)

    client.meta.events.register("before-sign", handler)


@pytest.mark.parametrize(
    ("service", "method", "params", "mutate"),
    [
        (
            "ec2",
            "describe_instances",
            {"DryRun": True},
            lambda r: setattr(r, "data", {k: v for k, v in r.data.items() if k != "DryRun"}),
        ),
        (
            "ec2",
            "describe_instances",
            {"DryRun": True},
            lambda r: r.data.update({"DryRun": "false"}),
        ),
        (
            "kms",
            "encrypt",
            {"KeyId": "k", "Plaintext": b"x", "DryRun": True},
            lambda r: setattr(r, "data", r.data.replace(b'"DryRun": true', b'"DryRun": false')),
        ),
        (
            "kms",
            "encrypt",
            {"KeyId": "k", "Plaintext": b"x", "DryRun": True},
            lambda r: setattr(r, "data", r.data.rstrip(b"}") + b', "DryRun": false}'),
        ),
    ],
)
def test_guard_reads_the_serialized_request_not_the_parameters(
    service: str, method: str, params: dict[str, Any], mutate: Callable[[Any], None]
) -> None:
    """A flag removed, falsified or duplicated after serialization is still caught."""
    client, wire = _wired(service)
    _tamper(client, mutate)
    with pytest.raises(UnsafeRequestError):
        getattr(client, method)(**params)
    assert wire.sent == []


def _prepared(method: str, url: str, body: Any) -> AWSPreparedRequest:
    return AWSPreparedRequest(method, url, {}, body, stream_output=False)


@pytest.mark.parametrize(
    ("service", "operation", "request_", "safe"),
    [
        (
            "ec2",
            "DescribeInstances",
            _prepared("POST", "https://x/", b"Action=D&DryRun=true"),
            True,
        ),
        (
            "ec2",
            "DescribeInstances",
            _prepared("POST", "https://x/", b"Action=D&DryRun=TRUE"),
            True,
        ),
        ("ec2", "DescribeInstances", _prepared("POST", "https://x/", b"Action=D&DryRun=1"), False),
        (
            "ec2",
            "DescribeInstances",
            _prepared("POST", "https://x/", b"Action=D&dryRun=true"),
            False,
        ),
        (
            "ec2",
            "DescribeInstances",
            _prepared("POST", "https://x/", b"DryRun=true&DryRun=false"),
            False,
        ),
        ("ec2", "DescribeInstances", _prepared("GET", "https://x/?DryRun=true", b""), True),
        ("ec2", "DescribeInstances", _prepared("POST", "https://x/", b"\xff\xfe"), False),
        ("kms", "Encrypt", _prepared("POST", "https://x/", json.dumps({"DryRun": True})), True),
        ("kms", "Encrypt", _prepared("POST", "https://x/", json.dumps({"DryRun": "true"})), False),
        (
            "kms",
            "Encrypt",
            _prepared("POST", "https://x/", b'{"DryRun":true,"DryRun":true}'),
            False,
        ),
        ("kms", "Encrypt", _prepared("POST", "https://x/", b"[true]"), False),
        ("kms", "Encrypt", _prepared("POST", "https://x/", b""), False),
    ],
)
def test_guard_reading_of_raw_wire_forms(
    service: str, operation: str, request_: AWSPreparedRequest, safe: bool
) -> None:
    """Table of raw request bodies: only an unambiguous true flag is accepted."""
    model = botocore.session.get_session().get_service_model(service)
    if safe:
        check_request(model, service, operation, request_)
    else:
        with pytest.raises(UnsafeRequestError):
            check_request(model, service, operation, request_)


def test_streaming_body_is_refused() -> None:
    """A body the guard cannot read without consuming it is never sent."""
    import io

    model = botocore.session.get_session().get_service_model("kms")
    stream = _prepared("POST", "https://x/", io.BytesIO(b'{"DryRun": true}'))
    with pytest.raises(UnsafeRequestError):
        check_request(model, "kms", "Encrypt", stream)


def test_querystring_flag_for_rest_json_services() -> None:
    """A flag bound to the querystring (tnb's dry_run) is read there, not from the body."""
    model = one_flag_model(
        "rest-json", "dryRun", {"location": "querystring", "locationName": "dry_run"}
    )
    check_request(model, "x", "Go", _prepared("POST", "https://x/go?dry_run=true", b"{}"))
    for url, body in [
        ("https://x/go?dry_run=false", b"{}"),
        ("https://x/go", b'{"dry_run": true}'),
        ("https://x/go?dry_run=true&dry_run=false", b"{}"),
    ]:
        with pytest.raises(UnsafeRequestError):
            check_request(model, "x", "Go", _prepared("POST", url, body))


def test_header_flag_is_read_from_the_headers() -> None:
    """A flag bound to a header is read from the headers."""
    model = one_flag_model(
        "rest-json", "dryRun", {"location": "header", "locationName": "X-Dry-Run"}
    )
    ok = AWSPreparedRequest("POST", "https://x/go", {"X-Dry-Run": "true"}, b"{}", False)
    check_request(model, "x", "Go", ok)
    bad = AWSPreparedRequest("POST", "https://x/go", {"X-Dry-Run": "false"}, b"{}", False)
    with pytest.raises(UnsafeRequestError):
        check_request(model, "x", "Go", bad)


def test_guard_is_installed_once_and_first() -> None:
    """Installing twice does not double-register; the guard runs before any user handler."""
    session = botocore.session.get_session()
    client = guarded_client(session, "ec2", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    from awsprobe.guard import install_guard

    assert install_guard(client) is client
    order: list[str] = []
    client.meta.events.register("before-send", lambda **_: order.append("user"))
    with pytest.raises(UnsafeRequestError):
        client.describe_instances()
    assert order == []


def test_refusal_message_says_nothing_was_sent() -> None:
    """The error names the operation and that nothing reached the network."""
    err = UnsafeRequestError("ec2", "RunInstances", "dry-run flag 'DryRun' is missing")
    assert "ec2:RunInstances" in str(err)
    assert "nothing was sent" in str(err)


def test_guarded_clients_share_one_event_alias_cache() -> None:
    """Clients of every region share botocore's event-name alias cache (a sweep's first
    call of each operation per client is otherwise re-derived, benchmarks figure 3); a
    client with another alias table keeps its own, and a botocore without the private
    attribute is left alone."""
    import botocore.session

    from awsprobe.guard import guarded_client, share_alias_cache

    session = botocore.session.get_session()
    session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
    east = guarded_client(session, "ec2", region="us-east-1")
    west = guarded_client(session, "kms", region="us-west-2")
    assert east.meta.events._alias_name_cache is west.meta.events._alias_name_cache
    other = session.create_client("ec2", region_name="eu-west-1")
    other.meta.events._event_aliases = {"custom": "renamed"}
    assert share_alias_cache(other) is True
    assert other.meta.events._alias_name_cache is not east.meta.events._alias_name_cache
    del other.meta.events._alias_name_cache  # a botocore that moved it
    assert share_alias_cache(other) is False
    west.meta.events.emit("awsprobe-test.kms.ListKeys")
    assert "awsprobe-test.kms.ListKeys" in east.meta.events._alias_name_cache


def test_clients_of_one_run_share_the_parsed_service_model_per_service() -> None:
    """Clients given the same ``models`` mapping share one ServiceModel per service (one
    parse of each operation for every region), never across services or across loaded
    descriptions (another session's loader: another data path could hold another model),
    and a sharing client still refuses a request without its flag."""
    import botocore.session

    from awsprobe.guard import ModelShare, guarded_client

    session = botocore.session.get_session()
    session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
    models: ModelShare = {}
    east = guarded_client(session, "ec2", region="us-east-1", models=models)
    west = guarded_client(session, "ec2", region="us-west-2", models=models)
    kms = guarded_client(session, "kms", region="us-west-2", models=models)
    alone = guarded_client(session, "ec2", region="eu-west-1")
    other = botocore.session.get_session()
    other.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
    elsewhere = guarded_client(other, "ec2", region="eu-west-1", models=models)
    assert west.meta.service_model is east.meta.service_model
    assert west.meta.region_name == "us-west-2"
    assert kms.meta.service_model is not east.meta.service_model
    assert alone.meta.service_model is not east.meta.service_model
    assert elsewhere.meta.service_model is not east.meta.service_model
    assert len(models) == 3
    with pytest.raises(UnsafeRequestError):
        west.describe_vpcs()
