"""The request context AWS would build, and EC2's dependent actions during a dry run.

Expected values come from AWS's documentation and recorded answers, never from
the code under test:

* ARNs: the Service Authorization Reference's formats (Amazon EC2, "Resource
  types": ``arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}``,
  the image's ``arn:${Partition}:ec2:${Region}::image/${ImageId}`` with no
  account); ``instance/*`` for the instance RunInstances creates, as in AWS's own
  denial recorded in aws/karpenter-provider-aws#7370; ``key-pair/<name>`` as in
  CIROH-UA/ngen-datastream#336.
* Keys: IAM User Guide, "AWS global condition context keys" (REFERENCE §9);
  ``ec2:InstanceType`` only on the instance (REFERENCE §9, "EC2 during a dry run").
* Dependent actions: ``iam:PassRole`` with ``iam:PassedToService =
  ec2.amazonaws.com`` (AWS re:Post KC "iam-passrole-error"); ``ec2:CreateTags``
  with ``ec2:CreateAction`` (EC2 User Guide, "Grant permission to tag resources
  during creation").
* Texts: the denial as in aws/karpenter-provider-aws#7370 and AWS re:Post KC
  "ec2-not-auth-launch"; the missing instance profile as in
  tungbq/aws-lab-with-terraform#102.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from awsprobe import Sandbox
from awsprobe.guard import guarded_client
from awsprobe.sandbox.context import (
    NOTHING,
    Call,
    InstanceProfile,
    Invalid,
    Subnet,
    global_keys,
    request_contexts,
    wire_params,
)
from awsprobe.sandbox.evaluation import RequestContext
from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.request import _incoming

ACCOUNT = "111122223333"
REGION = "us-east-1"
USER = _Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/ana",
    principal_arn=f"arn:aws:iam::{ACCOUNT}:user/ana",
    id="AIDAEXAMPLEEXAMPLE01",
    name="ana",
    kind="User",
    account=ACCOUNT,
    secret="secret",
    session_token=None,
    documents=(),
)
ROLE_SESSION = _Principal(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/ana",
    principal_arn=f"arn:aws:iam::{ACCOUNT}:role/Developer",
    id="AROAEXAMPLEEXAMPLE01:ana",
    name="ana",
    kind="AssumedRole",
    account=ACCOUNT,
    secret="secret",
    session_token="token",
    documents=(),
)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/web"
PROFILE_ARN = f"arn:aws:iam::{ACCOUNT}:instance-profile/web-profile"


class _Account:
    """An inventory with one instance profile, one default subnet and its default group."""

    SUBNET = Subnet("subnet-0a1b2c3d4e5f60718", "vpc-0a1b2c3d4e5f60718", "us-east-1a")

    def instance_profile(self, name: str | None, arn: str | None) -> InstanceProfile | None:
        if name == "web-profile" or arn == PROFILE_ARN:
            return InstanceProfile(PROFILE_ARN, (ROLE_ARN,))
        return None

    def subnet(self, region: str, subnet_id: str) -> Subnet | None:
        return self.SUBNET if subnet_id == self.SUBNET.id else None

    def default_subnet(self, region: str, zone: str | None) -> Subnet | None:
        return self.SUBNET if zone in (None, self.SUBNET.zone) else None

    def security_group(self, region: str, name: str, vpc_id: str | None) -> str | None:
        return "sg-0000000000000000d" if name == "default" else None

    def default_security_group(self, region: str, vpc_id: str | None) -> str | None:
        return "sg-0000000000000000d"

    def tags(self, region: str, resource_id: str) -> Mapping[str, str]:
        return {"team": "blue"} if resource_id == "ami-0abcdef1234567890" else {}


def _run(params: Mapping[str, str], principal: _Principal = USER, inventory: Any = None) -> Any:
    call = Call(
        "ec2",
        "RunInstances",
        ("ec2:RunInstances",),
        {key: (value,) for key, value in params.items()},
        REGION,
        "203.0.113.7",
    )
    return request_contexts(call, principal, inventory or _Account(), now=1_700_000_000)


def _contexts(steps: Any, action: str = "ec2:RunInstances") -> dict[str, RequestContext]:
    return {s.resource: s for s in steps if isinstance(s, RequestContext) and s.action == action}


def _lower(keys: Mapping[str, Any]) -> dict[str, Any]:
    return {key.lower(): tuple(values) for key, values in keys.items()}


IMAGE = "ami-0abcdef1234567890"

# -- RunInstances: the resources it touches ------------------------------------------------


def test_run_instances_is_authorized_on_every_resource_it_touches() -> None:
    """RunInstances: instance/*, the image (no account), the new interface, the default VPC's
    default subnet and security group, the new volume; the key pair only when named."""
    steps = _run({"ImageId": IMAGE, "InstanceType": "t3.micro"})
    assert set(_contexts(steps)) == {
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*",
        f"arn:aws:ec2:us-east-1::image/{IMAGE}",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60718",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0000000000000000d",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/*",
    }


def test_named_resources_are_authorized_too() -> None:
    """A key pair, placement group, launch template and subnet the request names are each
    authorized, by the ARN the request's values make."""
    steps = _run(
        {
            "ImageId": IMAGE,
            "KeyName": "deploy",
            "Placement.GroupName": "cluster-a",
            "LaunchTemplate.LaunchTemplateId": "lt-0abcdef1234567890",
            "SubnetId": "subnet-0fedcba9876543210",
            "SecurityGroupId.1": "sg-0123456789abcdef0",
        }
    )
    resources = set(_contexts(steps))
    prefix = f"arn:aws:ec2:us-east-1:{ACCOUNT}"
    assert {
        f"{prefix}:key-pair/deploy",
        f"{prefix}:placement-group/cluster-a",
        f"{prefix}:launch-template/lt-0abcdef1234567890",
        f"{prefix}:subnet/subnet-0fedcba9876543210",
        f"{prefix}:security-group/sg-0123456789abcdef0",
    } <= resources
    assert f"{prefix}:security-group/sg-0000000000000000d" not in resources  # named: no default


def test_unknown_defaults_are_written_with_a_wildcard() -> None:
    """Where nothing is known (no default VPC), the subnet and group are ``…/*``, never invented."""
    resources = set(_contexts(_run({"ImageId": IMAGE}, inventory=NOTHING)))
    assert f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/*" in resources
    assert f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/*" in resources


# -- keys on the right resource types ------------------------------------------------------


def test_instance_type_is_a_key_of_the_instance_only() -> None:
    """ec2:InstanceType is on the instance's context, on no other resource's."""
    contexts = _contexts(_run({"ImageId": IMAGE, "InstanceType": "t3.micro"}))
    instance = contexts[f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"]
    assert _lower(instance.keys)["ec2:instancetype"] == ("t3.micro",)
    others = [c for arn, c in contexts.items() if ":instance/" not in arn]
    assert others
    assert all("ec2:instancetype" not in _lower(c.keys) for c in others)


def test_a_key_is_kept_only_where_the_reference_lists_it() -> None:
    """ec2:Vpc is listed for RunInstances' subnet, network interface and security group, not its
    instance, image or volume (Service Authorization Reference, Amazon EC2, RunInstances)."""
    contexts = _contexts(_run({"ImageId": IMAGE}))
    vpc = f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0a1b2c3d4e5f60718"
    with_vpc = {arn for arn, c in contexts.items() if _lower(c.keys).get("ec2:vpc") == (vpc,)}
    prefix = f"arn:aws:ec2:us-east-1:{ACCOUNT}"
    assert with_vpc == {
        f"{prefix}:subnet/subnet-0a1b2c3d4e5f60718",
        f"{prefix}:network-interface/*",
        f"{prefix}:security-group/sg-0000000000000000d",
    }
    subnet = _lower(contexts[f"{prefix}:subnet/subnet-0a1b2c3d4e5f60718"].keys)
    assert subnet["ec2:subnetid"] == ("subnet-0a1b2c3d4e5f60718",)
    assert subnet["ec2:availabilityzone"] == ("us-east-1a",)


def test_image_keys_and_existing_resource_tags() -> None:
    """The image's context has ec2:ImageID and the image's own tags as ec2:ResourceTag/…
    and aws:ResourceTag/…; the instance being created has no resource tag."""
    contexts = _contexts(_run({"ImageId": IMAGE}))
    image = _lower(contexts[f"arn:aws:ec2:us-east-1::image/{IMAGE}"].keys)
    assert image["ec2:imageid"] == (IMAGE,)
    assert image["ec2:resourcetag/team"] == ("blue",)
    assert image["aws:resourcetag/team"] == ("blue",)
    instance = _lower(contexts[f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"].keys)
    assert not any(key.startswith(("ec2:resourcetag/", "aws:resourcetag/")) for key in instance)


def test_request_tags_are_keys_of_the_tagged_resource() -> None:
    """aws:RequestTag/k and aws:TagKeys are on the resource the tags are for, not the image."""
    contexts = _contexts(
        _run(
            {
                "ImageId": IMAGE,
                "TagSpecification.1.ResourceType": "instance",
                "TagSpecification.1.Tag.1.Key": "env",
                "TagSpecification.1.Tag.1.Value": "dev",
            }
        )
    )
    instance = _lower(contexts[f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"].keys)
    assert instance["aws:requesttag/env"] == ("dev",)
    assert instance["aws:tagkeys"] == ("env",)
    image = _lower(contexts[f"arn:aws:ec2:us-east-1::image/{IMAGE}"].keys)
    assert "aws:requesttag/env" not in image
    assert "aws:tagkeys" not in image


def test_ec2_region_is_on_every_ec2_context() -> None:
    """ec2:Region, an action-level key of RunInstances, is on each resource's context."""
    for context in _contexts(_run({"ImageId": IMAGE})).values():
        assert _lower(context.keys)["ec2:region"] == ("us-east-1",)


# -- global keys ---------------------------------------------------------------------------


def test_global_keys_of_a_direct_https_caller() -> None:
    """SecureTransport true, SourceIp the caller's address, the principal's keys, and the two
    service keys false; no invented aws:Region."""
    keys = _lower(global_keys(USER, "eu-west-1", "203.0.113.7", now=1_700_000_000))
    assert keys["aws:securetransport"] == ("true",)
    assert keys["aws:sourceip"] == ("203.0.113.7",)
    assert keys["aws:requestedregion"] == ("eu-west-1",)
    assert keys["aws:principalarn"] == (USER.arn,)
    assert keys["aws:principalaccount"] == (ACCOUNT,)
    assert keys["aws:principaltype"] == ("User",)
    assert keys["aws:userid"] == ("AIDAEXAMPLEEXAMPLE01",)
    assert keys["aws:username"] == ("ana",)
    assert keys["aws:principalisawsservice"] == ("false",)
    assert keys["aws:viaawsservice"] == ("false",)
    assert keys["aws:epochtime"] == ("1700000000",)
    assert keys["aws:currenttime"] == ("2023-11-14T22:13:20Z",)
    assert "aws:region" not in keys


def test_a_role_session_has_no_username() -> None:
    """aws:username is set for IAM users only; a role session's PrincipalArn is the role's."""
    keys = _lower(global_keys(ROLE_SESSION, REGION, None, now=0))
    assert "aws:username" not in keys
    assert keys["aws:principalarn"] == (f"arn:aws:iam::{ACCOUNT}:role/Developer",)
    assert keys["aws:principaltype"] == ("AssumedRole",)
    assert "aws:sourceip" not in keys  # unknown address: absent, never made up


def test_long_term_keys_carry_no_mfa_keys() -> None:
    """aws:MultiFactorAuthPresent/Age and aws:TokenIssueTime are absent for long-term keys."""
    keys = _lower(global_keys(USER, REGION, None, now=0))
    for key in ("aws:multifactorauthpresent", "aws:multifactorauthage", "aws:tokenissuetime"):
        assert key not in keys


def test_a_session_carries_its_own_keys_and_tags() -> None:
    """A session's MFA keys and the principal's tags (aws:PrincipalTag/k) are in the context."""
    session = _Principal(
        **{
            **ROLE_SESSION.__dict__,
            "session_keys": {
                "aws:MultiFactorAuthPresent": ("true",),
                "aws:TokenIssueTime": ("2023-11-14T22:00:00Z",),
            },
            "tags": {"team": "blue"},
        }
    )
    keys = _lower(global_keys(session, REGION, None, now=0))
    assert keys["aws:multifactorauthpresent"] == ("true",)
    assert keys["aws:tokenissuetime"] == ("2023-11-14T22:00:00Z",)
    assert keys["aws:principaltag/team"] == ("blue",)


# -- other actions -------------------------------------------------------------------------


def test_an_action_without_resource_types_is_authorized_on_star() -> None:
    """DescribeInstances has no resource type: one context, on ``*``."""
    call = Call("ec2", "DescribeInstances", ("ec2:DescribeInstances",), {}, REGION)
    (context,) = request_contexts(call, USER)
    assert isinstance(context, RequestContext)
    assert (context.action, context.resource) == ("ec2:DescribeInstances", "*")


def test_each_named_instance_is_authorized() -> None:
    """TerminateInstances of two instances: one context per instance ARN, with ec2:InstanceID."""
    params = {"InstanceId.1": ("i-0123456789abcdef0",), "InstanceId.2": ("i-0fedcba9876543210",)}
    call = Call("ec2", "TerminateInstances", ("ec2:TerminateInstances",), params, REGION)
    contexts = _contexts(request_contexts(call, USER), "ec2:TerminateInstances")
    arn = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0"
    assert set(contexts) == {arn, f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0fedcba9876543210"}
    assert _lower(contexts[arn].keys)["ec2:instanceid"] == ("i-0123456789abcdef0",)


def test_a_kms_key_is_named_by_its_arn() -> None:
    """kms:Decrypt with a key id: the key's ARN (KMS Developer Guide, "Key ARN")."""
    body = b'{"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "CiphertextBlob": "AA=="}'
    request = _incoming("POST", "/", {"Content-Type": "application/x-amz-json-1.1"}, body, "h")
    call = Call("kms", "Decrypt", ("kms:Decrypt",), wire_params("json", request), REGION)
    (context,) = request_contexts(call, USER)
    assert isinstance(context, RequestContext)
    assert context.resource == (
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )


# -- dependent actions ---------------------------------------------------------------------


def test_an_instance_profile_needs_pass_role_on_its_role() -> None:
    """IamInstanceProfile ⇒ iam:PassRole on the role's ARN, iam:PassedToService ec2.amazonaws.com,
    after every RunInstances context; the instance's ec2:InstanceProfile is the profile's ARN."""
    steps = _run({"ImageId": IMAGE, "IamInstanceProfile.Name": "web-profile"})
    (pass_role,) = _contexts(steps, "iam:PassRole").values()
    assert pass_role.resource == ROLE_ARN
    assert _lower(pass_role.keys)["iam:passedtoservice"] == ("ec2.amazonaws.com",)
    assert steps[-1] == pass_role
    instance = _contexts(steps)[f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"]
    assert _lower(instance.keys)["ec2:instanceprofile"] == (PROFILE_ARN,)


def test_a_missing_instance_profile_is_invalid_parameter_value() -> None:
    """A profile that does not exist: InvalidParameterValue, 400, in AWS's words."""
    steps = _run({"ImageId": IMAGE, "IamInstanceProfile.Name": "nope"})
    (invalid,) = [s for s in steps if isinstance(s, Invalid)]
    assert (invalid.code, invalid.status) == ("InvalidParameterValue", 400)
    assert invalid.message == (
        "Value (nope) for parameter iamInstanceProfile.name is invalid. "
        "Invalid IAM Instance Profile name"
    )
    assert not _contexts(steps, "iam:PassRole")


def test_tag_specifications_need_create_tags_with_the_creating_action() -> None:
    """TagSpecifications ⇒ ec2:CreateTags on the tagged resource, ec2:CreateAction = RunInstances,
    the request's tags as aws:RequestTag/k and aws:TagKeys."""
    steps = _run(
        {
            "ImageId": IMAGE,
            "TagSpecification.1.ResourceType": "volume",
            "TagSpecification.1.Tag.1.Key": "env",
            "TagSpecification.1.Tag.1.Value": "dev",
            "TagSpecification.1.Tag.2.Key": "team",
            "TagSpecification.1.Tag.2.Value": "blue",
        }
    )
    (create_tags,) = _contexts(steps, "ec2:CreateTags").values()
    assert create_tags.resource == f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/*"
    keys = _lower(create_tags.keys)
    assert keys["ec2:createaction"] == ("RunInstances",)
    assert keys["aws:requesttag/env"] == ("dev",)
    assert keys["aws:requesttag/team"] == ("blue",)
    assert sorted(keys["aws:tagkeys"]) == ["env", "team"]


def test_no_tags_no_create_tags() -> None:
    """Without TagSpecifications, ec2:CreateTags is not evaluated."""
    assert not _contexts(_run({"ImageId": IMAGE}), "ec2:CreateTags")


def test_wire_params_flatten_json_like_the_query_protocol() -> None:
    """A JSON body's members are named as the query protocols name them."""
    body = json.dumps({"KeyId": "k", "Tags": [{"TagKey": "a"}], "DryRun": True}).encode()
    request = _incoming("POST", "/", {}, body, "h")
    assert wire_params("json", request) == {
        "KeyId": ("k",),
        "Tags.1.TagKey": ("a",),
        "DryRun": ("true",),
    }


# -- moto, as the sandbox's inventory -------------------------------------------------------


def test_moto_inventory_reads_profiles_subnets_groups_and_tags() -> None:
    """The sandbox's inventory finds what moto holds (fails when moto's shapes change)."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from awsprobe.sandbox.inventory import MotoInventory
    from awsprobe.sandbox.moto_adapter import SANDBOX_ACCOUNT

    with moto.mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="web", AssumeRolePolicyDocument="{}")["Role"]
        profile = iam.create_instance_profile(InstanceProfileName="web-profile")
        iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web")
        ec2 = boto3.client("ec2", region_name=REGION)
        subnets = ec2.describe_subnets(
            Filters=[
                {"Name": "default-for-az", "Values": ["true"]},
                {"Name": "availability-zone", "Values": ["us-east-1a"]},
            ]
        )["Subnets"]
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["default"]}]
        )
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
        group = next(g for g in groups["SecurityGroups"] if g["VpcId"] == vpc["VpcId"])
        ec2.create_tags(Resources=[group["GroupId"]], Tags=[{"Key": "team", "Value": "blue"}])

        inventory = MotoInventory(SANDBOX_ACCOUNT)
        found = inventory.instance_profile("web-profile", None)
        assert found == InstanceProfile(profile["InstanceProfile"]["Arn"], (role["Arn"],))
        assert inventory.instance_profile(None, profile["InstanceProfile"]["Arn"]) == found
        assert inventory.instance_profile("nope", None) is None
        subnet = inventory.default_subnet(REGION, "us-east-1a")
        assert subnet == Subnet(subnets[0]["SubnetId"], vpc["VpcId"], "us-east-1a")
        assert inventory.subnet(REGION, subnets[0]["SubnetId"]) == subnet
        assert inventory.default_security_group(REGION, None) == group["GroupId"]
        assert inventory.security_group(REGION, "default", vpc["VpcId"]) == group["GroupId"]
        assert inventory.tags(REGION, group["GroupId"]) == {"team": "blue"}


# -- end to end, through a real sandbox ----------------------------------------------------

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
ASSUME_BY_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _policy(*statements: Mapping[str, Any]) -> dict[str, Any]:
    decode = {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": [decode, *statements]}


ALLOW_RUN = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(_policy(ALLOW_RUN)) as running:
        iam = running.admin_session().client("iam", endpoint_url=running.endpoint_url)
        iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(ASSUME_BY_EC2))
        iam.create_instance_profile(InstanceProfileName="web-profile")
        iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web")
        yield running


def _client(sandbox: Sandbox, service: str) -> BaseClient:
    return guarded_client(
        sandbox.session(),
        service,
        region=sandbox.region,
        endpoint_url=sandbox.endpoint_url,
        config=NO_RETRIES,
    )


def _run_instances(sandbox: Sandbox, policy: Mapping[str, Any], **params: Any) -> tuple[str, str]:
    """Set the policy, send RunInstances as a dry run, return (code, message)."""
    sandbox.set_policy(policy)
    request = {"ImageId": IMAGE, "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro"}
    with pytest.raises(ClientError) as caught:
        _client(sandbox, "ec2").run_instances(DryRun=True, **{**request, **params})
    error = caught.value.response["Error"]
    return error["Code"], error.get("Message", "")


def _decode(sandbox: Sandbox, message: str) -> dict[str, Any]:
    marker = "Encoded authorization failure message: "
    assert marker in message
    decoded = _client(sandbox, "sts").decode_authorization_message(
        EncodedMessage=message.split(marker, 1)[1]
    )
    document: dict[str, Any] = json.loads(decoded["DecodedMessage"])
    return document


def _conditions(decoded: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        item["key"]: [value["value"] for value in item["values"]["items"]]
        for item in decoded["context"]["conditions"]["items"]
    }


PROFILE = {"IamInstanceProfile": {"Name": "web-profile"}}
TAGS = {
    "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": "dev"}]}]
}


class TestEndToEnd:
    def test_pass_role_not_allowed_is_denied_naming_pass_role(self, sandbox: Sandbox) -> None:
        """RunInstances allowed, iam:PassRole not: UnauthorizedOperation naming iam:PassRole on the
        role's ARN, in AWS's words; the message decodes to that action and resource."""
        code, message = _run_instances(sandbox, _policy(ALLOW_RUN), **PROFILE)
        assert code == "UnauthorizedOperation"
        role = f"arn:aws:iam::{sandbox.account}:role/web"
        assert message.startswith(
            f"You are not authorized to perform this operation. User: {sandbox.user_arn} is not "
            f"authorized to perform: iam:PassRole on resource: {role} because no identity-based "
            "policy allows the iam:PassRole action. Encoded authorization failure message: "
        )
        decoded = _decode(sandbox, message)
        assert (decoded["allowed"], decoded["explicitDeny"]) == (False, False)
        assert decoded["matchedStatements"] == {"items": []}
        assert decoded["context"]["action"] == "iam:PassRole"
        assert decoded["context"]["resource"] == role
        conditions = _conditions(decoded)
        assert conditions["iam:PassedToService"] == ["ec2.amazonaws.com"]
        assert conditions["aws:SecureTransport"] == ["true"]
        assert conditions["aws:Region"] == ["us-east-1"]  # shown, as AWS's decoded messages do

    def test_pass_role_allowed_for_ec2_is_allowed(self, sandbox: Sandbox) -> None:
        """PassRole on that role under iam:PassedToService ec2.amazonaws.com: DryRunOperation."""
        pass_role = {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{sandbox.account}:role/web",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        }
        assert _run_instances(sandbox, _policy(ALLOW_RUN, pass_role), **PROFILE)[0] == (
            "DryRunOperation"
        )

    def test_pass_role_for_another_service_is_denied(self, sandbox: Sandbox) -> None:
        """PassRole allowed only for Lambda does not let EC2 be passed the role."""
        pass_role = {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        }
        code, message = _run_instances(sandbox, _policy(ALLOW_RUN, pass_role), **PROFILE)
        assert code == "UnauthorizedOperation"
        assert "perform: iam:PassRole on resource:" in message

    def test_a_missing_profile_is_invalid_parameter_value(self, sandbox: Sandbox) -> None:
        """A profile that does not exist: InvalidParameterValue, as EC2 answers."""
        code, message = _run_instances(
            sandbox, _policy(ALLOW_RUN), IamInstanceProfile={"Name": "nope"}
        )
        assert code == "InvalidParameterValue"
        assert message == (
            "Value (nope) for parameter iamInstanceProfile.name is invalid. "
            "Invalid IAM Instance Profile name"
        )

    def test_tags_without_create_tags_are_denied_naming_create_tags(self, sandbox: Sandbox) -> None:
        """TagSpecifications without ec2:CreateTags: denied, naming ec2:CreateTags on instance/*."""
        code, message = _run_instances(sandbox, _policy(ALLOW_RUN), **TAGS)
        assert code == "UnauthorizedOperation"
        instance = f"arn:aws:ec2:us-east-1:{sandbox.account}:instance/*"
        assert f"perform: ec2:CreateTags on resource: {instance} because no " in message
        decoded = _decode(sandbox, message)
        assert decoded["context"]["action"] == "CreateTags"  # EC2's own: unprefixed
        assert decoded["context"]["resource"] == instance
        assert _conditions(decoded)["ec2:CreateAction"] == ["RunInstances"]
        assert _conditions(decoded)["aws:RequestTag/env"] == ["dev"]

    def test_create_tags_on_creation_is_allowed(self, sandbox: Sandbox) -> None:
        """ec2:CreateTags with ec2:CreateAction = RunInstances: the tagged launch is allowed."""
        create_tags = {
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": "*",
            "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
        }
        policy = _policy(ALLOW_RUN, create_tags)
        assert _run_instances(sandbox, policy, **TAGS)[0] == "DryRunOperation"

    @pytest.mark.parametrize(
        ("instance_type", "expected"),
        [("t3.micro", "DryRunOperation"), ("m5.large", "UnauthorizedOperation")],
    )
    def test_instance_type_condition(
        self, sandbox: Sandbox, instance_type: str, expected: str
    ) -> None:
        """Allow RunInstances on instances of type t3.micro (and on every other resource type):
        t3.micro launches, m5.large is denied on the instance."""
        instances = {
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro"}},
        }
        others = {
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "NotResource": "arn:aws:ec2:*:*:instance/*",
        }
        code, message = _run_instances(
            sandbox, _policy(instances, others), InstanceType=instance_type
        )
        assert code == expected
        if expected == "UnauthorizedOperation":
            instance = f"arn:aws:ec2:us-east-1:{sandbox.account}:instance/*"
            assert f"perform: ec2:RunInstances on resource: {instance} because no " in message

    def test_the_default_subnet_is_the_one_moto_launches_into(self, sandbox: Sandbox) -> None:
        """No SubnetId: the subnet authorized is the default VPC's default subnet (moto's)."""
        ec2 = sandbox.admin_session().client("ec2", endpoint_url=sandbox.endpoint_url)
        subnets = ec2.describe_subnets(
            Filters=[
                {"Name": "default-for-az", "Values": ["true"]},
                {"Name": "availability-zone", "Values": ["us-east-1a"]},
            ]
        )["Subnets"]
        deny_subnets = {
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:subnet/*",
        }
        code, message = _run_instances(
            sandbox,
            _policy(ALLOW_RUN, deny_subnets),
            Placement={"AvailabilityZone": "us-east-1a"},
        )
        assert code == "UnauthorizedOperation"
        subnet = f"arn:aws:ec2:us-east-1:{sandbox.account}:subnet/{subnets[0]['SubnetId']}"
        assert f"on resource: {subnet} with an explicit deny in an identity-based policy" in message

    def test_a_deny_without_tls_denies_nothing_and_decode_works(self, sandbox: Sandbox) -> None:
        """Deny when aws:SecureTransport is false: the sandbox is AWS's HTTPS endpoint, so the
        launch is allowed, and a denial's message still decodes."""
        no_tls = {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        assert _run_instances(sandbox, _policy(ALLOW_RUN, no_tls))[0] == "DryRunOperation"
        code, message = _run_instances(sandbox, _policy(ALLOW_RUN, no_tls), **PROFILE)
        assert code == "UnauthorizedOperation"
        assert _decode(sandbox, message)["context"]["action"] == "iam:PassRole"


# -- remembered verdicts -------------------------------------------------------------------


def _caller(*statements: Mapping[str, Any]) -> Any:
    from awsprobe.sandbox.callers import _Caller

    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return _Caller(_Principal(**{**USER.__dict__, "documents": (document,)}))


def _terminate(instance: str) -> RequestContext:
    params = {"InstanceId.1": (instance,)}
    call = Call("ec2", "TerminateInstances", ("ec2:TerminateInstances",), params, REGION)
    (context,) = request_contexts(call, USER)
    assert isinstance(context, RequestContext)
    return context


def test_a_remembered_verdict_is_one_resource_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verdicts are remembered per request context: allowed on one instance is not allowed on
    another, and the same question twice is evaluated once."""
    from awsprobe.sandbox import callers

    caller = _caller(
        {
            "Effect": "Allow",
            "Action": "ec2:TerminateInstances",
            "Resource": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0",
        }
    )
    calls: list[str] = []
    decide = callers._decide
    monkeypatch.setattr(callers, "_decide", lambda *a: calls.append("decide") or decide(*a))
    assert callers._decide_for(caller, _terminate("i-0123456789abcdef0")).allowed
    assert not callers._decide_for(caller, _terminate("i-0fedcba9876543210")).allowed
    assert callers._decide_for(caller, _terminate("i-0123456789abcdef0")).allowed
    assert calls == ["decide", "decide"]


def test_a_policy_on_the_clock_is_never_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy that reads aws:CurrentTime is evaluated on every request."""
    from awsprobe.sandbox import callers

    caller = _caller(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}},
        }
    )
    calls: list[str] = []
    decide = callers._decide
    monkeypatch.setattr(callers, "_decide", lambda *a: calls.append("decide") or decide(*a))
    for _ in range(2):
        assert callers._decide_for(caller, _terminate("i-0123456789abcdef0")).allowed
    assert calls == ["decide", "decide"]
