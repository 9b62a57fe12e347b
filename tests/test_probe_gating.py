"""Probe gating: an entry that is not probed is never sent, on any path, before any byte.

A service whose dry run answers like a real call (HTTP 200 with the call's own
result) cannot tell "would have succeeded" from "did it": such operations are
listed in the catalog and never sent. The expected set below is AWS's own
documentation of those dry runs, written out here, never read from
:mod:`awsprobe.tables`. Every request leaving the runner is watched by a
``before-send`` stub (:class:`tests.fakes.FakeAWS`): "refused" means zero requests.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from awsprobe import catalog as catalog_mod
from awsprobe import cli
from awsprobe.catalog import Catalog, CatalogEntry, dry_run_index, load_catalog
from awsprobe.errors import NoMatchError, UnsafeRequestError, UsageError
from awsprobe.model import Identity, Outcome
from awsprobe.probing import retry
from awsprobe.probing.options import RunOptions
from awsprobe.probing.orchestrate import can, probe
from awsprobe.probing.pacing import Pacer
from awsprobe.probing.runner import Runner, _Skipped
from awsprobe.probing.tasks import Task, expand
from tests.fakes import FakeAWS, ec2_error

SESSION = botocore.session.get_session()
IDENTITY = Identity("arn:aws:iam::111122223333:user/ci", "111122223333", "AIDAEXAMPLE")

# -- the expected set: AWS's documentation of dry runs that answer like the real call --------
#
# (service, operation, where AWS says so). The quoted words are the DryRun member's
# documentation in the API Reference page named (the same text is in botocore's model,
# data/<service>/<version>/service-2.json, which is generated from it).

_NFW = (
    "AWS Network Firewall API Reference, CreateRuleGroup / CreateFirewallPolicy / "
    "UpdateRuleGroup / UpdateFirewallPolicy, DryRun: 'The call returns the value that the "
    "request would return if you ran it with dry run set to FALSE' "
    "(https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_CreateRuleGroup.html)"
)
_OPENSEARCH_UPDATE = (
    "Amazon OpenSearch Service API Reference, UpdateDomainConfig: DryRun 'should return the "
    "results of a dry run analysis without actually applying the change'; the response "
    "carries DryRunResults "
    "(https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_UpdateDomainConfig.html)"
)
_OPENSEARCH_CANCEL = (
    "Amazon OpenSearch Service API Reference, CancelDomainConfigChange: DryRun 'returns the "
    "list of change IDs and properties that will be cancelled without actually cancelling "
    "the change' (https://docs.aws.amazon.com/opensearch-service/latest/APIReference/"
    "API_CancelDomainConfigChange.html)"
)
_ES_UPDATE = (
    "Amazon OpenSearch Service configuration API (Elasticsearch 2015-01-01), "
    "UpdateElasticsearchDomainConfig: DryRun 'should return the results of validation checks "
    "without actually applying the change'; the response carries DryRunResults "
    "(https://docs.aws.amazon.com/opensearch-service/latest/developerguide/configuration-api.html)"
)
_LAMBDA = (
    "AWS Lambda API Reference, UpdateFunctionCode, DryRun: 'validate the request parameters "
    "and access permissions without modifying the function code'; the earlier text of the same "
    "member: 'the CodeSha256 hash value of the provided code will also be computed and returned "
    "in the response' (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html)"
)
_OUTPOSTS = (
    "AWS Outposts API Reference, StartCapacityTask: 'Requesting a dry run does not make any "
    "changes to your plan'; the response reports DryRun "
    "(https://docs.aws.amazon.com/outposts/latest/APIReference/API_StartCapacityTask.html)"
)
_SSM = (
    "AWS Systems Manager API Reference, DeleteInventory, DryRun: 'view a summary of the "
    "deletion request without deleting any data'; the response is DeletionSummary "
    "(https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteInventory.html)"
)
_CLOUDDIRECTORY = (
    "Amazon Cloud Directory API Reference, UpgradeAppliedSchema / UpgradePublishedSchema, "
    "DryRun: 'If schema compatibility fails, an exception would be thrown else the call would "
    "succeed but no changes will be saved' "
    "(https://docs.aws.amazon.com/clouddirectory/latest/APIReference/API_UpgradeAppliedSchema.html)"
)
_LOGS = (
    "Amazon CloudWatch Logs API Reference, PutAccountPolicy / DeleteAccountPolicy, dryRun: "
    "'does not save the policy, and returns the estimated impact in dryRunResult' "
    "(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutAccountPolicy.html)"
)
_ROUTE53 = (
    "Amazon Route 53 API Reference, UpdateHostedZoneFeatures / UpdateHostedZoneTier, DryRun: "
    "'Route 53 returns the same errors as for a real request, but doesn't change the hosted "
    "zone' (https://docs.aws.amazon.com/Route53/latest/APIReference/"
    "API_UpdateHostedZoneFeatures.html)"
)
_BILLING = (
    "AWS Billing API Reference, SplitCredit / TransferCredit, dryRun: 'validate the request "
    "and return the result without changing any credit' "
    "(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/"
    "API_billing_SplitCredit.html)"
)
_APPSTREAM = (
    "Amazon AppStream 2.0 API Reference, CreateUpdatedImage, dryRun: 'displays whether image "
    "updates are available'; the response carries canUpdateImage "
    "(https://docs.aws.amazon.com/appstream2/latest/APIReference/API_CreateUpdatedImage.html)"
)

NORMAL_RESPONSE_DRY_RUNS: tuple[tuple[str, str, str], ...] = (
    ("network-firewall", "CreateFirewallPolicy", _NFW),
    ("network-firewall", "CreateRuleGroup", _NFW),
    ("network-firewall", "UpdateFirewallPolicy", _NFW),
    ("network-firewall", "UpdateRuleGroup", _NFW),
    ("opensearch", "UpdateDomainConfig", _OPENSEARCH_UPDATE),
    ("opensearch", "CancelDomainConfigChange", _OPENSEARCH_CANCEL),
    ("es", "UpdateElasticsearchDomainConfig", _ES_UPDATE),
    ("es", "CancelDomainConfigChange", _OPENSEARCH_CANCEL),
    ("lambda", "UpdateFunctionCode", _LAMBDA),
    ("outposts", "StartCapacityTask", _OUTPOSTS),
    ("ssm", "DeleteInventory", _SSM),
    ("clouddirectory", "UpgradeAppliedSchema", _CLOUDDIRECTORY),
    ("clouddirectory", "UpgradePublishedSchema", _CLOUDDIRECTORY),
    ("logs", "PutAccountPolicy", _LOGS),
    ("logs", "DeleteAccountPolicy", _LOGS),
    ("route53", "UpdateHostedZoneFeatures", _ROUTE53),
    ("route53", "UpdateHostedZoneTier", _ROUTE53),
    ("billing", "SplitCredit", _BILLING),
    ("billing", "TransferCredit", _BILLING),
    ("appstream", "CreateUpdatedImage", _APPSTREAM),
)

EVERYTHING = load_catalog(include_unprobed=True)
UNPROBED = [e for e in EVERYTHING if not e.probe]
PROBED_EC2 = load_catalog(services="ec2")
DESCRIBE_VPCS = PROBED_EC2.find("ec2:DescribeVpcs")


def _listed(service: str, operation: str) -> CatalogEntry:
    index = dry_run_index()
    if service not in index or operation not in index[service].operations:
        pytest.fail(f"{service}:{operation} no longer has a dry-run member; update this table")
    return next(e for e in EVERYTHING if (e.service, e.operation) == (service, operation))


def _documented() -> list[CatalogEntry]:
    return [_listed(service, operation) for service, operation, _ in NORMAL_RESPONSE_DRY_RUNS]


@pytest.fixture
def fake() -> FakeAWS:
    """A before-send stub that records every request (and answers DryRunOperation)."""
    return FakeAWS()


@pytest.fixture
def runner(fake: FakeAWS) -> Iterator[Runner]:
    """A runner whose identity is known, so that it sends nothing but probes."""
    with Runner(fake.session, RunOptions(workers=2), identity=IDENTITY) as made:
        yield made


# -- the catalog: documented normal-response dry runs are listed, not probed ----------------


@pytest.mark.parametrize(
    ("service", "operation", "source"),
    NORMAL_RESPONSE_DRY_RUNS,
    ids=[f"{s}:{o}" for s, o, _ in NORMAL_RESPONSE_DRY_RUNS],
)
def test_a_documented_normal_response_dry_run_is_listed_but_not_probed(
    service: str, operation: str, source: str
) -> None:
    """AWS documents this dry run as answering like the real call: listed with a reason,
    never in the default (probed) selection."""
    entry = _listed(service, operation)
    assert entry.probe is False, source
    assert entry.reason, "a listed, unprobed entry says why"
    assert "not probed" in entry.reason
    built = {e.operation: e for e in catalog_mod._build_entries(dry_run_index()[service])}
    assert built[operation] == entry, "built now (not read from the cache): the same"
    assert built[operation].probe is False
    assert entry not in load_catalog(services=service)
    assert entry not in Catalog(EVERYTHING).probed


def test_a_fresh_build_names_reencrypt_by_both_of_its_actions() -> None:
    """KMS API Reference, ReEncrypt, Required permissions: kms:ReEncryptFrom on the source key
    and kms:ReEncryptTo on the destination
    (https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html); every other
    operation is prefix:Operation. Built now, not read from the cache."""
    built = {e.operation: e for e in catalog_mod._build_entries(dry_run_index()["kms"])}
    assert built["ReEncrypt"].action == "kms:ReEncryptFrom"
    assert built["ReEncrypt"].also_requires == ("kms:ReEncryptTo",)
    assert built["Decrypt"].action == "kms:Decrypt"
    assert built["Decrypt"].also_requires == ()
    assert built["Decrypt"].probe is True
    assert built["Decrypt"].reason is None


def test_operations_whose_output_reports_the_dry_run_are_not_probed() -> None:
    """botocore's models: an operation whose *output* carries a dry-run member (DryRunResults,
    dryRunResult...) answers a dry run with a normal response, so it is never probed."""
    reporting = []
    for service, svc in dry_run_index().items():
        model = SESSION.get_service_model(service)
        for operation in svc.operations:
            output = model.operation_model(operation).output_shape
            if output is not None and any(
                "dryrun" in name.replace("_", "").lower() for name in output.members
            ):
                reporting.append(_listed(service, operation))
    assert len(reporting) >= 5  # sanity: opensearch, es, logs, outposts, billing
    assert [e.action for e in reporting if e.probe] == []


def test_every_entry_has_a_dry_run_member_the_model_declares_boolean() -> None:
    """The member a probe sets is the operation's own boolean dry-run member (ServiceModel)."""
    for entry in EVERYTHING:
        member = SESSION.get_service_model(entry.service).operation_model(entry.operation)
        shape = member.input_shape.members[entry.dry_run_member]
        assert shape.type_name == "boolean", entry.action
        assert catalog_mod.dry_run_member(member) == entry.dry_run_member


def test_dry_run_member_is_none_without_one() -> None:
    """An operation with no input, or no boolean dry-run member, has no dry-run member."""
    sts = SESSION.get_service_model("sts")
    assert catalog_mod.dry_run_member(sts.operation_model("GetCallerIdentity")) is None
    s3 = SESSION.get_service_model("s3")
    assert catalog_mod.dry_run_member(s3.operation_model("ListBuckets")) is None
    ec2 = SESSION.get_service_model("ec2")
    assert catalog_mod.dry_run_member(ec2.operation_model("DescribeVpcs")) == "DryRun"


@pytest.mark.parametrize(
    ("members", "shapes", "expected"),
    [
        ({"DryRun": {"shape": "Boolean"}}, {"Boolean": {"type": "boolean"}}, "DryRun"),
        ({"dryRun": {"shape": "B"}}, {"B": {"type": "boolean"}}, "dryRun"),
        ({"Dry_Run": {"shape": "B"}}, {"B": {"type": "boolean"}}, "Dry_Run"),
        ({"DryRun": {"shape": "S"}}, {"S": {"type": "string"}}, None),
        ({"DryRun": {"shape": "Missing"}}, {}, None),
        ({"DryRun": {}}, {"": {"type": "boolean"}}, "DryRun"),
        ({"DryRunMode": {"shape": "B"}}, {"B": {"type": "boolean"}}, None),
        ({"Other": {"shape": "B"}}, {"B": {"type": "boolean"}}, None),
        (
            {"Other": {"shape": "B"}, "DryRun": {"shape": "B"}},
            {"B": {"type": "boolean"}},
            "DryRun",
        ),
        (
            {"DryRun": {"shape": "S"}, "dryRun": {"shape": "B"}},
            {"S": {"type": "string"}, "B": {"type": "boolean"}},
            "dryRun",
        ),
    ],
    ids=[
        "DryRun",
        "dryRun",
        "underscored",
        "a string is not a flag",
        "unknown shape",
        "no shape name",
        "longer name",
        "no member",
        "after another member",
        "the boolean one of two",
    ],
)
def test_raw_dry_run_member_is_the_boolean_member_named_dry_run(
    members: dict[str, Any], shapes: dict[str, Any], expected: str | None
) -> None:
    """The raw-model scan finds a member named dry-run (any case, underscores ignored) only
    when its shape is a boolean."""
    assert catalog_mod._raw_dry_run_member(members, shapes) == expected


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"DryRun": "boolean"}, "DryRun"),
        ({"dryRun": "boolean"}, "dryRun"),
        ({"Dry_Run": "boolean"}, "Dry_Run"),
        ({"DRY_RUN": "boolean"}, "DRY_RUN"),
        ({"DryRun": "string"}, None),
        ({"DryRunMode": "boolean"}, None),
        ({"Other": "boolean", "DryRun": "boolean"}, "DryRun"),
        ({"DryRun": "string", "dryRun": "boolean"}, "dryRun"),
        ({}, None),
    ],
    ids=repr,
)
def test_dry_run_member_of_a_model_is_its_boolean_member_named_dry_run(
    members: dict[str, str], expected: str | None
) -> None:
    """On a ServiceModel the same rule holds: any case, underscores ignored, boolean only;
    the raw-model scan agrees."""
    from botocore.model import ServiceModel

    shapes: dict[str, Any] = {t: {"type": t} for t in set(members.values())}
    refs = {name: {"shape": kind} for name, kind in members.items()}
    shapes["In"] = {"type": "structure", "members": refs}
    model = ServiceModel(
        {
            "metadata": {"protocol": "json", "serviceId": "Test", "apiVersion": "2020-01-01"},
            "operations": {"Op": {"name": "Op", "input": {"shape": "In"}}},
            "shapes": shapes,
        },
        "test",
    )
    assert catalog_mod.dry_run_member(model.operation_model("Op")) == expected
    assert catalog_mod._raw_dry_run_member(refs, shapes) == expected


def test_an_operation_exception_overrides_its_services_behaviour() -> None:
    """AppStream is probed, but its CreateUpdatedImage answers normally: the operation's own
    row wins (documented: _APPSTREAM)."""
    assert catalog_mod._behaviour("appstream", "CreateImportedImage").probe is True
    updated = catalog_mod._behaviour("appstream", "CreateUpdatedImage")
    assert updated.probe is False
    assert updated.reason
    assert catalog_mod._behaviour("ec2", "DescribeVpcs").probe is True


def test_catalog_probed_keeps_exactly_the_probed_entries_in_order() -> None:
    """Catalog.probed drops every unprobed entry and keeps the others in their order."""
    mixed = Catalog([UNPROBED[0], DESCRIBE_VPCS, *UNPROBED[1:3], PROBED_EC2[0]])
    assert list(mixed.probed) == [DESCRIBE_VPCS, PROBED_EC2[0]]
    assert list(Catalog(UNPROBED).probed) == []


# -- the runner: probe_one refuses before any byte ------------------------------------------


@pytest.mark.parametrize("entry", UNPROBED, ids=[e.action for e in UNPROBED])
def test_probe_one_refuses_every_unprobed_entry_and_sends_nothing(
    entry: CatalogEntry, runner: Runner, fake: FakeAWS
) -> None:
    """Runner.probe_one raises UsageError naming the action and why; zero requests."""
    with pytest.raises(UsageError) as info:
        runner.probe_one(entry, "us-east-1")
    assert entry.action in str(info.value)
    assert entry.reason is not None
    assert entry.reason in str(info.value)
    assert "not probed" in str(info.value)
    assert fake.seen == []


def test_probe_one_refuses_an_entry_marked_unprobed_whatever_its_service(
    runner: Runner, fake: FakeAWS
) -> None:
    """The refusal reads the entry, not the service: a copy of a probed EC2 entry marked
    unprobed is refused, with overrides and a resource too."""
    marked = dataclasses.replace(DESCRIBE_VPCS, probe=False, reason="marked for the test")
    with pytest.raises(UsageError, match="marked for the test"):
        runner.probe_one(marked, "us-east-1", (("VpcIds", ["vpc-0123456789abcdef0"]),), "vpc")
    assert fake.seen == []
    result = runner.probe_one(DESCRIBE_VPCS, "us-east-1")
    assert result.outcome is Outcome.ALLOWED
    assert [s.operation for s in fake.sent()] == ["DescribeVpcs"]


class _RecordingPacer(Pacer):
    """A pacer that records what it is asked and says how long to wait."""

    def __init__(self, wait: float = 0.0) -> None:
        super().__init__(clock=lambda: 0.0)
        self.asked: list[tuple[str, str, str, str]] = []
        self.wait = wait

    def delay(self, account: str, region: str, service: str, operation: str) -> float:
        self.asked.append((account, region, service, operation))
        return self.wait


def test_probe_one_takes_a_token_for_its_account_region_and_action(fake: FakeAWS) -> None:
    """Before each send the pacer is asked for (account, region, service, operation)."""
    pacer = _RecordingPacer()
    with Runner(fake.session, identity=IDENTITY, pacer=pacer) as runner:
        runner.probe_one(DESCRIBE_VPCS, "eu-west-1")
    assert pacer.asked == [("111122223333", "eu-west-1", "ec2", "DescribeVpcs")]
    assert [(s.operation, s.region) for s in fake.sent()] == [("DescribeVpcs", "eu-west-1")]


@pytest.mark.parametrize("wait", [0.0, 0.5, 5.0])
def test_a_probe_stopped_while_paced_is_skipped_unsent(wait: float, fake: FakeAWS) -> None:
    """A run that is stopping sends nothing more, whether or not the probe must wait for its
    token: no request, no result (the probe is skipped, not reported)."""
    with Runner(fake.session, identity=IDENTITY, pacer=_RecordingPacer(wait=wait)) as runner:
        runner._stop.set()  # the run is stopping: the wait returns at once
        with pytest.raises(_Skipped):
            runner.probe_one(DESCRIBE_VPCS, "us-east-1")
    assert fake.seen == []


def test_a_paced_probe_is_sent_after_its_wait(fake: FakeAWS) -> None:
    """A probe whose token needs a wait is sent once the wait is over (the run goes on)."""
    with Runner(fake.session, identity=IDENTITY, pacer=_RecordingPacer(wait=0.001)) as runner:
        result = runner.probe_one(DESCRIBE_VPCS, "us-east-1")
    assert result.outcome is Outcome.ALLOWED
    assert [s.operation for s in fake.sent()] == ["DescribeVpcs"]


def test_refreshed_credentials_never_take_a_probe_past_max_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Credentials that keep expiring are refreshed, but a probe sends at most max_attempts
    requests, then reports the expiry."""
    expired = (400, ec2_error("RequestExpired", "Request has expired."))
    fake = FakeAWS(default=expired)
    with Runner(fake.session, RunOptions(max_attempts=2), identity=IDENTITY) as runner:
        monkeypatch.setattr(runner, "_refresh", lambda: True)
        result = runner.probe_one(DESCRIBE_VPCS, "us-east-1")
    assert result.code == "RequestExpired"
    assert result.attempts == 2
    assert len(fake.sent()) == 2


#: The shape of an implicit-deny message (IAM User Guide, Troubleshoot access denied error
#: messages: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
_DENIAL = (
    "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: "
    "ec2:TerminateInstances on resource: arn:aws:ec2:eu-west-1:111122223333:instance/* "
    "because no identity-based policy allows the ec2:TerminateInstances action"
)


def test_a_denied_probe_reports_what_aws_answered(runner: Runner, fake: FakeAWS) -> None:
    """EC2's 403 UnauthorizedOperation (EC2 API Reference, Error codes): the result carries
    the entry, the region, the code, the status, the message and the placeholders sent."""
    fake.default = (403, ec2_error("UnauthorizedOperation", _DENIAL))
    entry = PROBED_EC2.find("ec2:TerminateInstances")
    result = runner.probe_one(entry, "eu-west-1")
    assert (result.action, result.service, result.operation, result.region) == (
        "ec2:TerminateInstances",
        "ec2",
        "TerminateInstances",
        "eu-west-1",
    )
    assert result.outcome is Outcome.DENIED
    assert (result.code, result.http_status) == ("UnauthorizedOperation", 403)
    assert result.message == _DENIAL
    assert result.reason == _DENIAL[_DENIAL.index("because") :]
    assert result.attempts == 1
    assert isinstance(result.elapsed_ms, float)
    assert result.elapsed_ms >= 0
    assert result.detail is not None
    assert result.detail.startswith("UnauthorizedOperation")
    assert "placeholder" not in result.detail, "a denial is a verdict: no hint to add"
    assert result.identity == IDENTITY.arn
    assert result.access_level == "write"  # SAR: ec2:TerminateInstances is Write
    assert result.resource is None
    assert result.placeholders == ("InstanceIds",)


def test_elapsed_time_is_the_probes_own_in_milliseconds(fake: FakeAWS) -> None:
    """elapsed_ms is the time from the start of the probe to its answer, in milliseconds
    (an injected clock: 10.0 s, then 10.25 s)."""
    ticks = iter([10.0, 10.25])
    with Runner(fake.session, identity=IDENTITY, clock=lambda: next(ticks)) as runner:
        result = runner.probe_one(DESCRIBE_VPCS, "us-east-1")
    assert result.elapsed_ms == 250.0


_NOT_FOUND = (400, ec2_error("InvalidDhcpOptionID.NotFound", _DENIAL))
_HINT = ": supply a real one (--resources FILE or --discover; resources= or discover= in Python)"


def test_an_inconclusive_probe_on_placeholders_says_which_to_replace(
    runner: Runner, fake: FakeAWS
) -> None:
    """A lookup failure on placeholder ids (EC2's *.NotFound) is inconclusive, and the detail
    names every placeholder sent and how to give real ids."""
    fake.default = _NOT_FOUND
    entry = PROBED_EC2.find("ec2:AssociateDhcpOptions")
    result = runner.probe_one(entry, "us-east-1")
    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.reason is None, "only a denial has a reason, whatever the message says"
    assert result.placeholders == ("DhcpOptionsId", "VpcId")
    assert result.detail is not None
    assert result.detail.startswith("InvalidDhcpOptionID.NotFound")
    assert result.detail.endswith("; it was sent with a placeholder DhcpOptionsId, VpcId" + _HINT)


def test_an_inconclusive_probe_on_real_ids_has_no_placeholder_hint(
    runner: Runner, fake: FakeAWS
) -> None:
    """With real ids for every placeholder, the result lists none and adds no hint."""
    fake.default = _NOT_FOUND
    entry = PROBED_EC2.find("ec2:AssociateDhcpOptions")
    real = (("DhcpOptionsId", "dopt-0123456789abcdef0"), ("VpcId", "vpc-0123456789abcdef0"))
    result = runner.probe_one(entry, "us-east-1", real, "dopt-0123456789abcdef0")
    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.placeholders == ()
    assert result.resource == "dopt-0123456789abcdef0"
    assert result.detail is not None
    assert "placeholder" not in result.detail
    partly = runner.probe_one(entry, "us-east-1", real[:1])
    assert partly.placeholders == ("VpcId",)


class _ThrottleRecordingPacer(_RecordingPacer):
    def __init__(self) -> None:
        super().__init__()
        self.slowed: list[tuple[str, str, str, str]] = []

    def throttled(self, account: str, region: str, service: str, operation: str) -> None:
        self.slowed.append((account, region, service, operation))


@pytest.mark.parametrize(
    ("first", "slowed"),
    [
        # EC2 API Reference, Error codes: RequestLimitExceeded (HTTP 503)
        ((503, ec2_error("RequestLimitExceeded", "Request limit exceeded.")), True),
        ((429, ec2_error("SomethingElse", "Too many.")), True),
        ((500, ec2_error("InternalError", "An internal error has occurred.")), False),
    ],
    ids=["throttling code", "HTTP 429", "server error"],
)
def test_a_throttled_answer_slows_its_action_down(
    first: tuple[int, bytes], slowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A throttling code or HTTP 429 halves the (account, region, action) bucket before the
    retry; a server error is retried without slowing the action."""
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.0)
    fake = FakeAWS(lambda seen, nth: first if nth == 1 else None)
    pacer = _ThrottleRecordingPacer()
    with Runner(fake.session, identity=IDENTITY, pacer=pacer) as runner:
        result = runner.probe_one(DESCRIBE_VPCS, "eu-west-1")
    assert result.outcome is Outcome.ALLOWED
    assert result.attempts == 2
    expected = [("111122223333", "eu-west-1", "ec2", "DescribeVpcs")] if slowed else []
    assert pacer.slowed == expected


class _Jitter(random.Random):
    """A random source that records its draws and answers 0 (no wait)."""

    def __init__(self, on_draw: Callable[[], None] = lambda: None) -> None:
        super().__init__(0)
        self.draws: list[tuple[float, float]] = []
        self.on_draw = on_draw

    def uniform(self, a: float, b: float) -> float:
        self.draws.append((a, b))
        self.on_draw()
        return 0.0


def test_backoff_jitter_is_drawn_from_the_runners_random_source() -> None:
    """Runner.rng draws every backoff (a seeded source makes a run's waits repeatable)."""
    fake = FakeAWS(lambda seen, nth: (503, ec2_error("RequestLimitExceeded")) if nth < 3 else None)
    with Runner(fake.session, identity=IDENTITY) as runner:
        runner.rng = _Jitter()
        result = runner.probe_one(DESCRIBE_VPCS, "us-east-1")
        draws = runner.rng.draws
    assert result.attempts == 3
    assert len(draws) == 2
    assert all(low == 0 for low, _ in draws)


def test_a_run_stopped_during_backoff_reports_the_last_answer() -> None:
    """Stopped while backing off: no retry is sent and the probe reports what it got."""
    fake = FakeAWS(default=(503, ec2_error("RequestLimitExceeded", "Request limit exceeded.")))
    with Runner(fake.session, identity=IDENTITY) as runner:
        runner.rng = _Jitter(on_draw=runner._stop.set)
        result = runner.probe_one(DESCRIBE_VPCS, "us-east-1")
    assert result.code == "RequestLimitExceeded"
    assert result.attempts == 1
    assert len(fake.sent()) == 1


def test_a_run_of_unprobed_entries_sends_nothing(runner: Runner, fake: FakeAWS) -> None:
    """Runner.run over every unprobed entry in two regions: no request, no result."""
    matrix = runner.run(UNPROBED, ["us-east-1", "eu-west-1"])
    assert matrix.results == ()
    assert fake.seen == []


def test_a_mixed_run_sends_only_the_probed_entries(runner: Runner, fake: FakeAWS) -> None:
    """Unprobed entries around a probed one: only the probed one is sent and reported."""
    matrix = runner.run([*_documented(), DESCRIBE_VPCS, *UNPROBED], ["us-east-1"])
    assert [r.action for r in matrix.results] == ["ec2:DescribeVpcs"]
    assert [(s.service, s.operation) for s in fake.seen] == [("ec2", "DescribeVpcs")]


# -- expand: no task for an unprobed entry, in any order ------------------------------------

_POOL = [*UNPROBED, *PROBED_EC2[:40]]
_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def _all_placeholder_ids(entries: list[CatalogEntry]) -> dict[str, list[str]]:
    """Real-looking ids for every placeholder any entry takes (two each)."""
    ids: dict[str, list[str]] = {}
    for entry in entries:
        for member in entry.placeholders:
            ids[member] = [f"{member.lower()}-1", f"{member.lower()}-2"]
    return ids


@settings(max_examples=60, deadline=None)  # no wall-time bound per example
@given(
    entries=st.lists(st.sampled_from(_POOL), max_size=12),
    regions=st.lists(st.sampled_from(_REGIONS), min_size=1, max_size=3, unique=True),
    with_ids=st.booleans(),
)
def test_expand_gives_tasks_for_the_probed_entries_only(
    entries: list[CatalogEntry], regions: list[str], with_ids: bool
) -> None:
    """Whatever the order and the resources, expand yields no task for an unprobed entry and
    every probed entry still gets its tasks in every region."""
    resources = _all_placeholder_ids(_POOL) if with_ids else None
    tasks = list(expand(entries, regions, resources))
    assert all(task.entry.probe for task in tasks)
    wanted = {(e, r) for e in entries if e.probe for r in regions}
    assert {(t.entry, t.region) for t in tasks} == wanted
    if not with_ids:
        assert len(tasks) == sum(1 for e in entries if e.probe) * len(regions)


def test_expand_skips_an_unprobed_entry_even_with_ids_for_its_parameters() -> None:
    """Ids given and discovered for an unprobed entry's parameters do not turn it into tasks."""
    documented = _documented()
    resources = _all_placeholder_ids(documented)
    discovered = {"us-east-1": resources}
    assert list(expand(documented, ["us-east-1"], resources, discovered)) == []
    marked = dataclasses.replace(DESCRIBE_VPCS, probe=False, reason="marked")
    tasks = list(expand([marked, DESCRIBE_VPCS, marked], ["us-east-1"]))
    assert tasks == [Task(DESCRIBE_VPCS, "us-east-1")]


TERMINATE = PROBED_EC2.find("ec2:TerminateInstances")  # InstanceIds: a list placeholder
ASSOCIATE_DHCP = PROBED_EC2.find("ec2:AssociateDhcpOptions")  # DhcpOptionsId, VpcId: strings
_ARN_EU = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0eu"


def _ids(tasks: list[Task]) -> list[tuple[str, tuple[tuple[str, Any], ...], str | None]]:
    return [(t.region, t.overrides, t.resource) for t in tasks]


def test_expand_probes_each_real_id_in_place_of_a_list_placeholder() -> None:
    """InstanceId ids fill TerminateInstances' InstanceIds, one probe (one-item list) per id."""
    tasks = list(expand([TERMINATE], ["us-east-1"], {"InstanceId": ["i-1", "i-2"]}))
    assert _ids(tasks) == [
        ("us-east-1", (("InstanceIds", ["i-1"]),), "i-1"),
        ("us-east-1", (("InstanceIds", ["i-2"]),), "i-2"),
    ]
    assert all(t.entry == TERMINATE for t in tasks)


def test_expand_probes_each_real_id_in_place_of_a_string_placeholder() -> None:
    """A VpcId id replaces AssociateDhcpOptions' VpcId as the string itself."""
    tasks = list(expand([ASSOCIATE_DHCP], ["us-east-1"], {"VpcId": ["vpc-1"]}))
    assert _ids(tasks) == [("us-east-1", (("VpcId", "vpc-1"),), "vpc-1")]


def test_expand_uses_an_arn_only_in_its_own_region() -> None:
    """An ARN id is probed in its region only; a region left with no id gets the placeholder."""
    resources = {"InstanceId": [_ARN_EU, "i-plain"]}
    tasks = list(expand([TERMINATE], ["us-east-1", "eu-west-1"], resources))
    assert _ids(tasks) == [
        ("us-east-1", (("InstanceIds", ["i-plain"]),), "i-plain"),
        ("eu-west-1", (("InstanceIds", [_ARN_EU]),), _ARN_EU),
        ("eu-west-1", (("InstanceIds", ["i-plain"]),), "i-plain"),
    ]
    only_eu = list(expand([TERMINATE], ["us-east-1"], {"InstanceId": [_ARN_EU]}))
    assert _ids(only_eu) == [("us-east-1", (), None)]


def test_expand_adds_discovered_ids_per_region_without_duplicates() -> None:
    """Ids discovered in a region join the given ones there (each once), and only there."""
    given = {"InstanceId": ["i-1"]}
    discovered = {"us-east-1": {"InstanceId": ["i-3", "i-1"], "VpcId": ["vpc-9", "vpc-9"]}}
    tasks = list(expand([TERMINATE, ASSOCIATE_DHCP], ["us-east-1", "eu-west-1"], given, discovered))
    assert _ids(tasks) == [
        ("us-east-1", (("InstanceIds", ["i-1"]),), "i-1"),
        ("us-east-1", (("InstanceIds", ["i-3"]),), "i-3"),
        ("us-east-1", (("VpcId", "vpc-9"),), "vpc-9"),
        ("eu-west-1", (("InstanceIds", ["i-1"]),), "i-1"),
        ("eu-west-1", (), None),
    ]


# -- the library's front doors: probe(), can(), the CLI ---------------------------------------


def test_probe_with_a_catalog_of_unprobed_entries_sends_no_probe(fake: FakeAWS) -> None:
    """probe(catalog=...) of unprobed entries: only the identity call, no probe, no result."""
    matrix = probe(catalog=Catalog(UNPROBED), session=fake.session, regions=["us-east-1"])
    assert matrix.results == ()
    assert fake.sent() == []


def test_probe_of_a_mixed_catalog_sends_only_the_probed_entries(fake: FakeAWS) -> None:
    """probe(catalog=...) with unprobed entries around a probed one sends the probed one."""
    mixed = Catalog([*_documented(), DESCRIBE_VPCS])
    matrix = probe(catalog=mixed, session=fake.session, regions=["us-east-1"], processes=1)
    assert [r.action for r in matrix.results] == ["ec2:DescribeVpcs"]
    assert [s.operation for s in fake.sent()] == ["DescribeVpcs"]


@pytest.mark.parametrize(
    ("service", "operation"), [(s, o) for s, o, _ in NORMAL_RESPONSE_DRY_RUNS[::4]]
)
def test_can_refuses_a_documented_normal_response_action(
    service: str, operation: str, fake: FakeAWS
) -> None:
    """can("<action>") of an unprobed action is a NoMatchError: nothing is sent at all."""
    entry = _listed(service, operation)
    with pytest.raises(NoMatchError):
        can(entry.action, "us-east-1", session=fake.session)
    assert fake.seen == []


@pytest.fixture
def cli_fake(fake: FakeAWS, monkeypatch: pytest.MonkeyPatch) -> FakeAWS:
    """The CLI's sessions are the recording fake's."""
    monkeypatch.setattr(cli, "_session", lambda args, profile=None: fake.session)
    return fake


@pytest.mark.parametrize(
    ("service", "operation"), [(s, o) for s, o, _ in NORMAL_RESPONSE_DRY_RUNS[1::4]]
)
def test_cli_matrix_refuses_a_documented_normal_response_action(
    service: str, operation: str, cli_fake: FakeAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    """`awsprobe matrix --actions <unprobed>` exits 2 with one line; nothing is sent."""
    entry = _listed(service, operation)
    code = cli.main(["matrix", "--actions", entry.action, "--regions", "us-east-1"])
    assert code == 2
    assert "no catalog action matches" in capsys.readouterr().err
    assert cli_fake.seen == []


def test_cli_check_refuses_an_expectation_on_an_unprobed_action(
    cli_fake: FakeAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`awsprobe check` with an expectation naming an unprobed action fails before sending."""
    action = _listed("network-firewall", "CreateRuleGroup").action
    expectations = tmp_path / "expect.toml"
    expectations.write_text(f'regions = ["us-east-1"]\nallow = ["{action}"]\n', encoding="utf-8")
    code = cli.main(["check", str(expectations), "--processes", "1"])
    assert code == 2
    assert "no catalog action matches" in capsys.readouterr().err
    assert cli_fake.sent() == []


# -- _send: the flag is set last, whatever the overrides say ----------------------------------


class _Recording:
    """A client method stand-in that records the keyword arguments it is called with."""

    def __init__(self, answer: Callable[[], Any] = dict) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answer = answer

    def __call__(self, **params: Any) -> Any:
        self.calls.append(params)
        return self.answer()


_FLAG_OVERRIDES = [False, None, 0, "false", "", [], True]
_MEMBERS = {
    "ec2 DryRun": "ec2:DescribeVpcs",
    "kms DryRun": "kms:Decrypt",
    "support dryRun": "support:DescribeCases",
}


@pytest.mark.parametrize("value", _FLAG_OVERRIDES, ids=repr)
@pytest.mark.parametrize("action", list(_MEMBERS.values()), ids=list(_MEMBERS))
def test_send_sets_the_flag_true_after_the_overrides(action: str, value: Any) -> None:
    """An override of the dry-run member itself never reaches the call: it is sent True;
    the other overrides are applied."""
    entry = load_catalog(actions=[action]).find(action)
    assert entry.dry_run_member.replace("_", "").lower() == "dryrun"
    call = _Recording()
    Runner._send(call, entry, {entry.dry_run_member: value, "Extra": "real-id"})
    (sent,) = call.calls
    assert sent[entry.dry_run_member] is True
    assert sent["Extra"] == "real-id"
    assert {k: v for k, v in sent.items() if k != "Extra"} == entry.probe_params()


def test_an_override_of_the_flag_is_sent_true_on_the_wire(runner: Runner, fake: FakeAWS) -> None:
    """probe_one with DryRun=False among the overrides: the request carries DryRun=true and
    the guard lets it through (no UnsafeRequestError)."""
    result = runner.probe_one(DESCRIBE_VPCS, "us-east-1", (("DryRun", False),))
    assert result.outcome is Outcome.ALLOWED
    (seen,) = fake.sent()
    assert b"DryRun=true" in seen.body


def test_send_keeps_the_entrys_own_parameters_untouched() -> None:
    """Overrides change the request, not the catalog entry it came from."""
    entry = PROBED_EC2.find("ec2:TerminateInstances")
    before = entry.probe_params()
    Runner._send(_Recording(), entry, {"InstanceIds": ["i-0123456789abcdef0"], "DryRun": False})
    assert entry.probe_params() == before


def test_send_lets_a_guard_refusal_escape() -> None:
    """UnsafeRequestError is a bug, never a probe outcome: _send re-raises it."""

    def refused() -> Any:
        raise UnsafeRequestError("ec2", "DescribeVpcs", "guard said no")

    with pytest.raises(UnsafeRequestError):
        Runner._send(_Recording(refused), DESCRIBE_VPCS, {})


def test_send_turns_a_client_error_into_an_answer_with_its_code() -> None:
    """A ClientError is the service's answer: its code and status are kept."""
    error = {"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}
    meta = {"ResponseMetadata": {"HTTPStatusCode": 403}}

    def denied() -> Any:
        raise ClientError({**error, **meta}, "DescribeVpcs")

    answer = Runner._send(_Recording(denied), DESCRIBE_VPCS, {})
    assert answer.code == "UnauthorizedOperation"
    assert answer.http_status == 403


def test_send_turns_any_other_failure_into_an_answer_without_a_code() -> None:
    """Anything else raised by the call is an answer holding the exception (an error)."""
    boom = RuntimeError("socket fell over")

    def fails() -> Any:
        raise boom

    answer = Runner._send(_Recording(fails), DESCRIBE_VPCS, {})
    assert answer.code is None
    assert answer.exception is boom


def test_send_reads_the_status_of_a_normal_response() -> None:
    """A call that returned (a 2xx) answers with the status botocore parsed."""
    parsed = {"ResponseMetadata": {"HTTPStatusCode": 202}}
    answer = Runner._send(_Recording(lambda: parsed), DESCRIBE_VPCS, {})
    assert answer.http_status == 202
    assert answer.code is None


@pytest.mark.parametrize("response", [None, "text", ["a"]], ids=repr)
def test_send_reads_a_response_that_is_not_a_dict_as_an_empty_one(response: Any) -> None:
    """A non-dict response (a stub, an event stream) is read as an empty one (HTTP 200)."""
    answer = Runner._send(_Recording(lambda: response), DESCRIBE_VPCS, {})
    assert answer == Runner._send(_Recording(dict), DESCRIBE_VPCS, {})


# -- the cache: a garbled `probe` never reads back as probed ----------------------------------


def _row(action: str) -> dict[str, Any]:
    return catalog_mod._entry_row(EVERYTHING_BY_ACTION[action])


EVERYTHING_BY_ACTION = {e.action: e for e in EVERYTHING}
_UNPROBED_ACTION = _listed("network-firewall", "CreateRuleGroup").action


@pytest.mark.parametrize(
    "garbled",
    [1, 0, "true", "True", "false", "yes", None, [], {}, [True], 1.0],
    ids=repr,
)
def test_a_cached_row_whose_probe_is_not_a_boolean_is_rejected(garbled: Any) -> None:
    """`probe` must be JSON true/false: 1, "true", null... are not read as probed."""
    row = _row(_UNPROBED_ACTION)
    row["probe"] = garbled
    with pytest.raises(TypeError, match="probe"):
        catalog_mod._entry_from_row(json.loads(json.dumps(row)))


def test_a_cached_row_without_probe_is_rejected() -> None:
    """A row that lost its `probe` field is not read at all."""
    row = _row(_UNPROBED_ACTION)
    del row["probe"]
    with pytest.raises(KeyError):
        catalog_mod._entry_from_row(row)


@pytest.mark.parametrize("action", [_UNPROBED_ACTION, "ec2:DescribeVpcs"])
def test_a_cached_row_reads_back_as_the_same_entry(action: str) -> None:
    """An intact row gives back the entry it was written from, probe and reason included."""
    entry = EVERYTHING_BY_ACTION[action]
    read = catalog_mod._entry_from_row(json.loads(json.dumps(_row(action))))
    assert read == entry
    assert read.probe is entry.probe
    assert read.reason == entry.reason


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", 7),
        ("reason", ["not probed"]),
        ("service", None),
        ("operation", 1),
        ("action", ["network-firewall:CreateRuleGroup"]),
        ("protocol", None),
        ("dry_run_member", True),
        ("access_level", 3),
        ("success_codes", "DryRunOperation"),
        ("denial_codes", [1]),
        ("also_requires", None),
        ("placeholders", "x"),
        ("params", []),
    ],
)
def test_a_cached_row_with_a_mistyped_field_is_rejected(field: str, value: Any) -> None:
    """Every field is read with its exact JSON type; anything else rejects the row, and the
    error names the field."""
    row = _row(_UNPROBED_ACTION)
    row[field] = value
    with pytest.raises(TypeError, match=rf"^{field}\b"):
        catalog_mod._entry_from_row(row)


def test_a_typed_field_needs_its_exact_type_not_a_subclass() -> None:
    """_typed compares exact types: a subclass (bool for int) is not enough."""
    assert catalog_mod._typed({"k": True}, "k", bool) is True
    with pytest.raises(TypeError, match="k: int, not bool"):
        catalog_mod._typed({"k": 1}, "k", bool)
    with pytest.raises(TypeError, match="k: bool, not int"):
        catalog_mod._typed({"k": True}, "k", int)


@pytest.mark.parametrize("garbled", ["true", 1, None])
def test_a_cache_file_with_a_garbled_probe_is_rebuilt_not_probed(
    garbled: Any, cache_dir: Path, fake: FakeAWS
) -> None:
    """A cache file whose unprobed rows say probe="true" is rebuilt: the entries stay
    unprobed, the default selection stays empty of them, and nothing is sent."""
    catalog_mod._service_entries("network-firewall")
    (path,) = cache_dir.glob("catalog-*-network-firewall-*.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    for row in raw["entries"]:
        row["probe"] = garbled
    path.write_text(json.dumps(raw), encoding="utf-8")
    catalog_mod._service_entries.cache_clear()
    entries = catalog_mod._service_entries("network-firewall")
    assert entries
    assert not any(e.probe for e in entries)
    assert list(load_catalog(services="network-firewall")) == []
    probe(catalog=Catalog(entries), session=fake.session, regions=["us-east-1"])
    assert fake.sent() == []


def test_a_cache_file_with_a_flipped_probe_is_rebuilt_not_probed(cache_dir: Path) -> None:
    """A cache file whose unprobed rows say probe=true (well-typed, wrong) is not trusted."""
    catalog_mod._service_entries("network-firewall")
    (path,) = cache_dir.glob("catalog-*-network-firewall-*.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    for row in raw["entries"]:
        row["probe"] = True
        row["reason"] = None
    path.write_text(json.dumps(raw), encoding="utf-8")
    catalog_mod._service_entries.cache_clear()
    entries = catalog_mod._service_entries("network-firewall")
    assert not any(e.probe for e in entries)


def test_a_flipped_operation_row_is_judged_by_that_operation(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """appstream's CreateUpdatedImage answers its dry run like a real call (it returns
    canUpdateImage: botocore data/appstream/2016-12-01/service-2.json) though appstream's
    CreateImportedImage is probed: a cache row flipping CreateUpdatedImage to probed is
    refused by that operation's own rule, the debug log says why, and the file is rebuilt."""
    catalog_mod._service_entries("appstream")
    (path,) = cache_dir.glob("catalog-*-appstream-*.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    (row,) = [r for r in raw["entries"] if r["operation"] == "CreateUpdatedImage"]
    assert row["probe"] is False
    row["probe"], row["reason"] = True, None
    path.write_text(json.dumps(raw), encoding="utf-8")
    catalog_mod._service_entries.cache_clear()
    with caplog.at_level(logging.DEBUG, logger="awsprobe.catalog"):
        entries = {e.operation: e for e in catalog_mod._service_entries("appstream")}
    assert entries["CreateImportedImage"].probe
    assert not entries["CreateUpdatedImage"].probe
    assert "ValueError('probe flag disagrees with the behaviour tables')" in caplog.text


def test_a_cache_row_cannot_add_a_success_code(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What counts as allowed is the behaviour tables' word, never the cache's: a row whose
    success codes gained one (here EC2's denial code, UnauthorizedOperation, per the EC2 API
    error codes page) is refused, the debug log says why, and the file is rebuilt."""
    catalog_mod._service_entries("ec2")
    (path,) = cache_dir.glob("catalog-*-ec2-*.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    (row,) = [r for r in raw["entries"] if r["operation"] == "TerminateInstances"]
    row["success_codes"] = [*row["success_codes"], "UnauthorizedOperation"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    catalog_mod._service_entries.cache_clear()
    with caplog.at_level(logging.DEBUG, logger="awsprobe.catalog"):
        entries = {e.operation: e for e in catalog_mod._service_entries("ec2")}
    assert entries["TerminateInstances"].success_codes == {"DryRunOperation"}
    assert "ValueError('success codes disagree with the behaviour tables')" in caplog.text


def test_an_entry_takes_the_references_dependent_actions_and_the_additions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A freshly built entry carries the reference's dependent actions joined with the
    table of those the installed reference lacks (RunInstances: the EC2 page's three)."""
    from awsprobe.reference import ActionFacts
    from awsprobe.tables import AccessLevel

    real = catalog_mod.action_facts

    def with_one(action: str) -> ActionFacts | None:
        facts = real(action)
        if facts is None or action != "ec2:RunInstances":
            return facts
        return dataclasses.replace(facts, dependent_actions=("kms:CreateGrant",))

    monkeypatch.setattr(catalog_mod, "action_facts", with_one)
    built = {e.action: e for e in catalog_mod._build_entries(dry_run_index()["ec2"])}
    assert built["ec2:RunInstances"].dependent_actions == (
        "ec2:CreateTags",
        "iam:PassRole",
        "kms:CreateGrant",
        "ssm:GetParameters",
    )
    assert built["ec2:DescribeInstances"].dependent_actions == ()
    assert built["ec2:DescribeInstances"].access_level is AccessLevel.LIST
