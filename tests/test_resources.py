"""Resource-level probing: real ids from a file or from discovery, against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awsprobe.catalog import Catalog, load_catalog
from awsprobe.discover import DISCOVERY_OPERATIONS, load_resources
from awsprobe.errors import SchemaError, UnsafeRequestError
from awsprobe.guard import EXEMPT_OPERATIONS, guarded_client
from awsprobe.probing.orchestrate import probe
from awsprobe.probing.tasks import expand
from awsprobe.sandbox import Sandbox


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """A sandbox with a real instance, volume and KMS key created in moto by the admin."""
    with Sandbox() as sandbox:
        admin = sandbox.admin_session()
        ec2 = admin.client("ec2", endpoint_url=sandbox.endpoint_url)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
        volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        key = admin.client("kms", endpoint_url=sandbox.endpoint_url).create_key()["KeyMetadata"]
        yield sandbox, {"instance": instance["InstanceId"], "volume": volume, "key": key["Arn"]}


def test_resources_file_accepts_parameters_and_types(tmp_path: Path) -> None:
    """Parameter names and resource types both load; types map to their parameter."""
    path = tmp_path / "r.toml"
    path.write_text('InstanceId = ["i-0abc"]\nvolume = ["vol-1", "vol-2"]\nkey = "k"\n')
    assert load_resources(path) == {
        "InstanceId": ["i-0abc"],
        "VolumeId": ["vol-1", "vol-2"],
        "KeyId": ["k"],
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("InstanceId = [", "not valid TOML"),
        ("instanse = ['i-1']", "neither a parameter name"),
        ("InstanceId = [1]", "must be a list of ids"),
        ("", "no resources"),
    ],
)
def test_bad_resources_files_are_one_line_errors(tmp_path: Path, text: str, words: str) -> None:
    """Each malformed resources file names the file and the problem."""
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(SchemaError, match=words):
        load_resources(path)


def test_expand_gives_one_probe_per_real_id_and_keeps_placeholders_elsewhere() -> None:
    """InstanceIds entries get one task per id; others keep one placeholder task."""
    catalog = Catalog(
        load_catalog(actions=["ec2:TerminateInstances", "ec2:DescribeVpcs", "kms:Decrypt"])
    )
    arn = "arn:aws:kms:eu-west-1:111122223333:key/abc"
    tasks = list(expand(catalog, ["us-east-1"], {"InstanceId": ["i-1", "i-2"], "KeyId": [arn]}))
    terminate = [t for t in tasks if t.entry.operation == "TerminateInstances"]
    assert [t.resource for t in terminate] == ["i-1", "i-2"]
    assert dict(terminate[0].overrides) == {"InstanceIds": ["i-1"]}
    assert [t.resource for t in tasks if t.entry.operation == "DescribeVpcs"] == [None]
    # an ARN from another region is not used in this one
    assert [t.resource for t in tasks if t.entry.operation == "Decrypt"] == [None]


def test_resources_file_probes_real_ids(
    world: tuple[Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    """--resources: TerminateInstances is decided on the real instance, marked as such."""
    sandbox, ids = world
    matrix = probe(
        actions=["ec2:TerminateInstances", "ec2:StopInstances"],
        session=sandbox.session(),
        endpoint_url=sandbox.endpoint_url,
        resources={"InstanceId": [ids["instance"]]},
    )
    for result in matrix:
        assert result.resource == ids["instance"]
        assert "InstanceIds" not in result.placeholders
    data = matrix.to_json()["results"][0]
    assert data["resource"] == ids["instance"]


def test_placeholder_results_say_which_parameter_to_supply() -> None:
    """An inconclusive answer on a placeholder names the parameter and the options."""
    from tests.fakes import FakeAWS, ec2_error

    fake = FakeAWS(default=(400, ec2_error("InvalidInstanceID.NotFound")))
    matrix = probe(actions=["ec2:TerminateInstances"], session=fake.session)
    result = matrix.results[0]
    assert result.placeholders == ("InstanceIds",)
    assert "placeholder InstanceIds" in result.detail
    assert "--resources" in result.detail


def test_discovery_finds_real_ids_with_allow_listed_reads_only(
    world: tuple[Sandbox, dict[str, str]],
) -> None:
    """--discover: real ids found by Describe calls; every non-dry-run request is allow-listed."""
    sandbox, ids = world
    before = len(sandbox.requests)
    matrix = probe(
        actions=["ec2:TerminateInstances", "ec2:DeleteVolume", "ec2:DescribeVpcs"],
        session=sandbox.session(),
        endpoint_url=sandbox.endpoint_url,
        discover=3,
    )
    resources = {r.action: r.resource for r in matrix}
    assert resources["ec2:TerminateInstances"] == ids["instance"]
    assert resources["ec2:DeleteVolume"] == ids["volume"]
    sent = sandbox.requests[before:]
    allowed = DISCOVERY_OPERATIONS | EXEMPT_OPERATIONS
    for request in sent:
        assert request.dry_run or (request.service, request.operation) in allowed, request
    assert any(not r.dry_run and r.operation == "DescribeInstances" for r in sent)


def test_discovery_makes_kms_conclusive_on_a_real_key(
    world: tuple[Sandbox, dict[str, str]],
) -> None:
    """KMS ListKeys (when allowed) supplies a real key: Decrypt is decided on it."""
    sandbox, ids = world
    sandbox.set_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["kms:ListKeys", "kms:Decrypt"], "Resource": "*"}
            ],
        }
    )
    try:
        matrix = probe(
            actions=["kms:Decrypt"],
            session=sandbox.session(),
            endpoint_url=sandbox.endpoint_url,
            discover=1,
        )
    finally:
        from awsprobe.sandbox import DEMO_POLICY

        sandbox.set_policy(DEMO_POLICY)
    result = matrix.results[0]
    assert result.resource == ids["key"]
    assert result.outcome.value == "allowed"


def test_the_guard_allow_list_takes_only_read_operations() -> None:
    """A discovery client may skip the flag only for Describe/List/Get calls."""
    import botocore.session

    with pytest.raises(UnsafeRequestError, match=r"only read-only calls \(Describe"):
        guarded_client(
            botocore.session.get_session(),
            "ec2",
            region="us-east-1",
            allow=frozenset({("ec2", "TerminateInstances")}),
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["InstanceId", "VolumeId", "KeyId", "GroupId", "SnapshotId"]),
        st.lists(st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12), max_size=3),
        max_size=4,
    )
)
def test_resource_overrides_never_remove_the_dry_run_flag(resources: dict[str, list[str]]) -> None:
    """Whatever real ids are given, every probe built still carries DryRun=true on the wire."""
    from tests.fakes import FakeAWS

    fake = FakeAWS()
    catalog = Catalog(load_catalog(actions=["ec2:*Instances", "ec2:*Volume*"]))
    probe(catalog=catalog, session=fake.session, resources=resources)
    assert fake.sent()
    for seen in fake.sent():
        assert b"DryRun=true" in seen.body, seen.operation
