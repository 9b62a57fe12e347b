"""The catalog: generated from botocore's models, complete, valid and filterable."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore
import botocore.session
import pytest
from botocore.validate import ParamValidator

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


@pytest.mark.parametrize(
    ("action", "level"),
    [
        ("ec2:DescribeInstances", AccessLevel.LIST),
        ("ec2:ListImagesInRecycleBin", AccessLevel.LIST),
        ("ec2:GetConsoleOutput", AccessLevel.READ),
        ("ec2:GetEbsEncryptionByDefault", AccessLevel.READ),
        ("ec2:SearchTransitGatewayRoutes", AccessLevel.READ),
        ("ec2:DescribeInstanceAttribute", AccessLevel.READ),
        ("ec2:RunInstances", AccessLevel.WRITE),
        ("ec2:TerminateInstances", AccessLevel.WRITE),
        ("ec2:DescribeInstancesX", AccessLevel.LIST),
        ("ec2:CreateTags", AccessLevel.TAGGING),
        ("ec2:DeleteTags", AccessLevel.TAGGING),
        ("imagebuilder:TagResource", AccessLevel.TAGGING),
        ("ec2:ModifySnapshotAttribute", AccessLevel.PERMISSIONS_MANAGEMENT),
        ("ec2:CreateNetworkInterfacePermission", AccessLevel.PERMISSIONS_MANAGEMENT),
        ("kms:CreateGrant", AccessLevel.PERMISSIONS_MANAGEMENT),
        ("kms:Decrypt", AccessLevel.WRITE),
        ("kms:Sign", AccessLevel.WRITE),
    ],
)
def test_access_level_rule_and_overrides(action: str, level: AccessLevel) -> None:
    """Verb rule (Describe/List -> list, Get/Search -> read, else write) plus the override table."""
    assert access_level_for(action) is level


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
