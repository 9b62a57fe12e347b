"""Policy layers and sessions in the sandbox: SCPs, permissions boundaries, session policies, MFA.

Every expected verdict comes from the documented rule it names, never from the
sandbox's own evaluator:

* IAM User Guide, "Policy evaluation logic": an explicit Deny in any policy
  wins; otherwise every guardrail that applies (SCPs, the permissions
  boundary, session policies) must allow, *and* an identity-based policy must.
* AWS Organizations User Guide, "SCP evaluation": an explicit Allow at every
  level; a Deny anywhere denies; SCPs grant nothing.
* IAM User Guide, "Permissions boundaries for IAM entities": the effective
  permissions are the intersection of the identity policies and the boundary.
* IAM User Guide, "Session policies": the session's permissions are the
  intersection of the role's identity policies and the session policies.
* IAM User Guide, "AWS global condition context keys": ``aws:MultiFactorAuthPresent``
  is in the context only for temporary credentials (``true`` with MFA);
  ``aws:MultiFactorAuthAge`` only when MFA was used; long-term keys carry neither.
* IAM User Guide, "Permissions for GetSessionToken": no permission is needed.

Sandboxes with SCPs start their own (SCPs are fixed at construction); the
rest share one class-scoped sandbox and swap the user's policy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from awsprobe.cli import main
from awsprobe.errors import SandboxError
from awsprobe.guard import guarded_client
from awsprobe.sandbox import (
    FULL_AWS_ACCESS,
    SANDBOX_ACCOUNT,
    PolicySet,
    Sandbox,
    load_scp,
    moto_adapter,
    policy_set,
    validate_scp,
)
from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.layers import scp_levels
from awsprobe.sandbox.sessions import _SessionKeys
from tests.fakes import client_error

pytest_plugins = ["pytester"]

V = "2012-10-17"
NO_RETRIES = Config(retries={"total_max_attempts": 1})
INSTANCE = "i-0123456789abcdef0"
MFA_DEVICE = f"arn:aws:iam::{SANDBOX_ACCOUNT}:mfa/probe"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": list(statements)}


def _allow(action: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def _deny(action: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **extra}


ALLOW_ALL = _policy(_allow("*"))
EC2_ALL = _policy(_allow("ec2:*"))
EMPTY: dict[str, Any] = {"Version": V, "Statement": []}


def _ec2(sandbox: Sandbox, session: Any = None) -> BaseClient:
    return guarded_client(
        session or sandbox.session(),
        "ec2",
        region=sandbox.region,
        endpoint_url=sandbox.endpoint_url,
        config=NO_RETRIES,
    )


def _client(sandbox: Sandbox, service: str, session: Any = None) -> BaseClient:
    """A plain client (IAM and STS calls carry no dry-run flag)."""
    session = session or sandbox.admin_session()
    return session.client(service, endpoint_url=sandbox.endpoint_url, config=NO_RETRIES)


def _verdict(call: Callable[..., Any], **params: Any) -> tuple[str, str]:
    """(code, message) of a dry run: DryRunOperation when allowed."""
    with pytest.raises(ClientError) as caught:
        call(DryRun=True, **params)
    error = caught.value.response["Error"]
    return error["Code"], error.get("Message", "")


def _describe(sandbox: Sandbox, session: Any = None) -> tuple[str, str]:
    return _verdict(_ec2(sandbox, session).describe_instances)


def _terminate(sandbox: Sandbox, session: Any = None) -> tuple[str, str]:
    return _verdict(_ec2(sandbox, session).terminate_instances, InstanceIds=[INSTANCE])


_failure = client_error  # (code, HTTP status, message) of the ClientError it must raise


def _session(credentials: dict[str, Any]) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def _managed(sandbox: Sandbox, name: str, document: dict[str, Any]) -> str:
    iam = _client(sandbox, "iam")
    return str(
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    )


TRUST_ANYONE = _policy(
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
)


def _role(sandbox: Sandbox, name: str, policy: dict[str, Any], **extra: Any) -> str:
    iam = _client(sandbox, "iam")
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE), **extra
    )["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    return str(role["Arn"])


def _assume(sandbox: Sandbox, role_arn: str, name: str, **extra: Any) -> boto3.Session:
    sts = _client(sandbox, "sts")
    return _session(sts.assume_role(RoleArn=role_arn, RoleSessionName=name, **extra)["Credentials"])


# -- the layers, as data ---------------------------------------------------------------


def _principal(**changes: Any) -> _Principal:
    fields: dict[str, Any] = {
        "arn": f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/u",
        "principal_arn": f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/u",
        "id": "AIDAEXAMPLE",
        "name": "u",
        "kind": "User",
        "account": SANDBOX_ACCOUNT,
        "secret": "secret",
        "session_token": None,
        "documents": (EC2_ALL,),
    }
    return _Principal(**{**fields, **changes})


def test_policy_set_puts_each_policy_in_its_layer() -> None:
    """Identity policies, the boundary, session policies and SCP levels each land in their
    own layer; "no session policy" (None) is not "an empty one" (IAM User Guide, "Session
    policies": a session policy that allows nothing leaves the session nothing)."""
    boundary = _policy(_allow("ec2:Describe*"))
    session = _policy(_allow("ec2:DescribeVpcs"))
    scp = _policy(_allow("*"))
    assert policy_set(_principal(), scp_levels([scp])) == PolicySet(
        identity=(EC2_ALL,), boundary=None, session=None, scps=((scp,),)
    )
    found = policy_set(_principal(boundary=boundary, session_documents=(session, EMPTY)))
    assert (found.boundary, found.session, found.scps) == (boundary, (session, EMPTY), ())


def test_no_scp_is_no_level_and_service_linked_roles_are_exempt() -> None:
    """No SCP given is no organization (not a level that allows nothing); SCPs do not apply
    to service-linked roles (AWS Organizations User Guide, "Service control policies")."""
    assert scp_levels([]) == ()
    linked = _principal(
        kind="AssumedRole",
        principal_arn=f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/aws-service-role/x.amazonaws.com/R",
    )
    assert policy_set(linked, scp_levels([EMPTY])).scps == ()
    assert policy_set(_principal(), scp_levels([EMPTY])).scps == ((EMPTY,),)


def test_session_keys_count_mfa_age_when_read() -> None:
    """aws:MultiFactorAuthAge is the seconds since MFA at the moment the key is read; without
    MFA it is absent and aws:MultiFactorAuthPresent is "false" (IAM User Guide, global keys)."""
    now = [1_700_000_000.0]
    keys = _SessionKeys(now[0], now[0], clock=lambda: now[0])
    assert keys["aws:MultiFactorAuthPresent"] == ("true",)
    assert keys["aws:TokenIssueTime"] == ("2023-11-14T22:13:20Z",)
    assert keys["aws:MultiFactorAuthAge"] == ("0",)
    now[0] += 90
    assert dict(keys)["aws:MultiFactorAuthAge"] == ("90",)
    plain = _SessionKeys(now[0], None)
    assert dict(plain) == {
        "aws:TokenIssueTime": ("2023-11-14T22:14:50Z",),
        "aws:MultiFactorAuthPresent": ("false",),
    }


def test_the_moto_surfaces_behind_the_layers() -> None:
    """Each moto read of moto_adapter works with the installed moto (a moto that changes
    one fails here): users and keys, policies of users, groups and roles, managed policies,
    tags, a role's boundary, and STS's AssumeRole sessions. In this process, under
    mock_aws (the sandbox's server reads the same backends in its own)."""
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        iam, sts = session.client("iam"), session.client("sts")
        document = _policy(_allow("ec2:DescribeVpcs"))
        arn = iam.create_policy(PolicyName="adapter-check", PolicyDocument=json.dumps(document))[
            "Policy"
        ]["Arn"]
        iam.create_group(GroupName="adapter-group")
        iam.create_user(UserName="adapter-user", Tags=[{"Key": "team", "Value": "blue"}])
        iam.add_user_to_group(GroupName="adapter-group", UserName="adapter-user")
        iam.attach_group_policy(GroupName="adapter-group", PolicyArn=arn)
        key = iam.create_access_key(UserName="adapter-user")["AccessKey"]
        found = moto_adapter.user_with_key(SANDBOX_ACCOUNT, key["AccessKeyId"])
        assert found is not None
        user, secret = found
        assert (user.name, secret) == ("adapter-user", key["SecretAccessKey"])
        assert moto_adapter.user_named(SANDBOX_ACCOUNT, "adapter-user") == user
        assert moto_adapter.user_named(SANDBOX_ACCOUNT, "nobody") is None
        texts = moto_adapter.user_policies(SANDBOX_ACCOUNT, "adapter-user")
        assert [json.loads(t) for t in texts] == [document]
        assert dict(moto_adapter.user_tags(SANDBOX_ACCOUNT, "adapter-user")) == {"team": "blue"}
        assert moto_adapter.managed_policy(SANDBOX_ACCOUNT, arn) == texts[0]
        assert moto_adapter.managed_policy(SANDBOX_ACCOUNT, arn + "-gone") is None
        moto_adapter.put_user_policy(SANDBOX_ACCOUNT, "adapter-user", "inline", json.dumps(EC2_ALL))
        assert len(moto_adapter.user_policies(SANDBOX_ACCOUNT, "adapter-user")) == 2
        moto_adapter.delete_user_policy(SANDBOX_ACCOUNT, "adapter-user", "inline")
        moto_adapter.delete_user_policy(SANDBOX_ACCOUNT, "adapter-user", "inline")  # no-op
        role_arn = iam.create_role(
            RoleName="AdapterRole",
            AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE),
            PermissionsBoundary=arn,
            Tags=[{"Key": "team", "Value": "red"}],
        )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName="AdapterRole", PolicyName="inline", PolicyDocument=json.dumps(EC2_ALL)
        )
        role = moto_adapter.role_named(SANDBOX_ACCOUNT, "AdapterRole")
        assert role is not None
        assert (role.arn, role.boundary_arn, dict(role.tags)) == (role_arn, arn, {"team": "red"})
        assert moto_adapter.role_named(SANDBOX_ACCOUNT, "NoRole") is None
        texts = moto_adapter.role_policies(SANDBOX_ACCOUNT, "AdapterRole")
        assert [json.loads(t) for t in texts] == [EC2_ALL]
        credentials = sts.assume_role(
            RoleArn=role_arn, RoleSessionName="adapter", Policy=json.dumps(EC2_ALL)
        )["Credentials"]
        found_session = moto_adapter.role_session(SANDBOX_ACCOUNT, credentials["AccessKeyId"])
        assert found_session is not None
        assert (found_session.role_arn, found_session.session_name, found_session.secret) == (
            role_arn,
            "adapter",
            credentials["SecretAccessKey"],
        )
        assert found_session.session_token == credentials["SessionToken"]
        assert 0 < found_session.expires - time.time() <= 3600  # AssumeRole's default hour
        assert found_session.policy is not None
        assert json.loads(found_session.policy) == EC2_ALL


def test_a_2008_policy_reaches_the_evaluator_as_written() -> None:
    """moto refuses a 2008-10-17 or versionless document, so the sandbox stores it as
    2012-10-17; the principal still carries the original, whose policy variables IAM leaves
    literal (IAM User Guide, "Policy variables": only Version 2012-10-17 substitutes)."""
    from moto import mock_aws

    from awsprobe.sandbox.identities import _find_principal, _put_inline_policy
    from awsprobe.sandbox.sessions import _Sessions

    old = {
        "Version": "2008-10-17",
        "Statement": [_allow("iam:GetUser", Resource="arn:aws:iam::*:user/${aws:username}")],
    }
    versionless = {"Statement": [_allow("ec2:DescribeInstances")]}
    with mock_aws():
        iam = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        ).client("iam")
        iam.create_user(UserName="old")
        key = iam.create_access_key(UserName="old")["AccessKey"]["AccessKeyId"]
        sessions = _Sessions()
        _put_inline_policy(SANDBOX_ACCOUNT, "old", "a", old, sessions)
        _put_inline_policy(SANDBOX_ACCOUNT, "old", "b", versionless, sessions)
        found = _find_principal(SANDBOX_ACCOUNT, key, sessions)
        assert found is not None
        assert sorted(found.documents, key=str) == sorted([old, versionless], key=str)
        stored = moto_adapter.user_policies(SANDBOX_ACCOUNT, "old")
        assert {json.loads(t)["Version"] for t in stored} == {"2012-10-17"}


# -- SCP documents -----------------------------------------------------------------------


def test_scps_take_the_full_iam_language() -> None:
    """Since September 2025 an SCP may use Condition, NotAction and resource ARNs in Allow
    statements and NotResource anywhere (AWS Security Blog, "SCP now supports full IAM
    language"; AWS Organizations User Guide, "SCP syntax")."""
    scp = _policy(
        _allow("ec2:*", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:ec2:*:*:instance/*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::logs/*"},
    )
    assert validate_scp(scp) == scp


@pytest.mark.parametrize(
    ("scps", "problem"),
    [
        (
            [_policy({**_allow("*"), "Principal": "*"})],
            "Principal",  # SCP syntax: Principal and NotPrincipal are not supported
        ),
        (
            [_policy(*[_deny(f"ec2:Action{n:04d}") for n in range(120)])],
            "5120",  # Organizations quotas: an SCP is at most 5,120 characters
        ),
        ([FULL_AWS_ACCESS] * 6, "at most 5"),  # at most five SCPs attached to an account
        (FULL_AWS_ACCESS, "a list of SCP documents"),
    ],
)
def test_sandbox_refuses_what_organizations_refuses(scps: Any, problem: str) -> None:
    """An SCP AWS Organizations would refuse is refused when the sandbox is made."""
    with pytest.raises(SandboxError, match=problem):
        Sandbox(scps=scps)


def test_scp_file_is_read_and_checked(tmp_path: Path) -> None:
    """load_scp reads JSON and checks it as an SCP, naming the file in its error."""
    good = tmp_path / "scp.json"
    good.write_text(json.dumps(FULL_AWS_ACCESS))
    assert load_scp(good) == FULL_AWS_ACCESS
    big = tmp_path / "big.json"
    big.write_text(json.dumps(_policy(*[_deny(f"ec2:Action{n:04d}") for n in range(120)])))
    with pytest.raises(SandboxError, match=r"big\.json"):
        load_scp(big)


# -- SCPs, end to end ----------------------------------------------------------------------


def test_an_scp_without_an_allow_denies_what_the_identity_allows() -> None:
    """SCP evaluation: without an Allow at the account's level the action is denied though
    the identity policy allows it, and the denial names the SCP layer."""
    not_ec2 = _policy(_allow(["sts:*", "iam:*"]))
    with Sandbox(ALLOW_ALL, scps=[not_ec2]) as sandbox:
        code, message = _describe(sandbox)
        assert code == "UnauthorizedOperation"
        assert "because no service control policy allows the ec2:DescribeInstances" in message


def test_an_scp_deny_wins_and_an_scp_grants_nothing() -> None:
    """A Deny in any SCP denies although FullAWSAccess allows; an SCP's Allow grants nothing
    the identity does not (AWS Organizations User Guide, "SCP evaluation")."""
    deny_terminate = _policy(_deny("ec2:TerminateInstances"))
    with Sandbox(ALLOW_ALL, scps=[FULL_AWS_ACCESS, deny_terminate]) as sandbox:
        assert _describe(sandbox)[0] == "DryRunOperation"
        code, message = _terminate(sandbox)
        assert code == "UnauthorizedOperation"
        assert "with an explicit deny in a service control policy" in message
        sandbox.set_policy(EMPTY)
        code, message = _describe(sandbox)
        assert code == "UnauthorizedOperation"
        assert "because no identity-based policy allows" in message


def test_cli_scp_option_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """awsprobe matrix --sandbox --policy P --scp S --scp T: the SCPs apply (an SCP Deny on
    TerminateInstances beside FullAWSAccess) and --scp without --sandbox is a usage error."""
    policy, full, deny = tmp_path / "p.json", tmp_path / "full.json", tmp_path / "deny.json"
    policy.write_text(json.dumps(EC2_ALL))
    full.write_text(json.dumps(FULL_AWS_ACCESS))
    deny.write_text(json.dumps(_policy(_deny("ec2:TerminateInstances"))))
    argv = ["matrix", "--sandbox", "--policy", str(policy), "--scp", str(full), "--scp", str(deny)]
    assert main([*argv, "--actions", "ec2:*Instances", "--output", "json"]) == 0
    outcomes = {r["action"]: r["outcome"] for r in json.loads(capsys.readouterr().out)["results"]}
    assert outcomes["ec2:DescribeInstances"] == "allowed"
    assert outcomes["ec2:TerminateInstances"] == "denied"
    assert main(["matrix", "--scp", str(full)]) == 2
    assert "--scp only applies to the sandbox" in capsys.readouterr().err


# -- the shared sandbox ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(EC2_ALL) as running:
        yield running


@pytest.fixture
def ec2_all(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox whose user may do ec2:*, restored after the test."""
    sandbox.set_policy(EC2_ALL)
    yield sandbox
    sandbox.set_policy(EC2_ALL)
    iam = _client(sandbox, "iam")
    iam.delete_user_permissions_boundary(UserName=sandbox.user_name)


# -- permissions boundaries ------------------------------------------------------------------


def test_a_boundary_that_does_not_allow_an_action_denies_it(ec2_all: Sandbox) -> None:
    """Permissions boundaries: the identity allows ec2:*, the boundary only Describe and
    RunInstances, so TerminateInstances is denied, naming the boundary; deleting the
    boundary gives it back. Both calls go through the sandbox with the admin's iam client,
    and GetUser shows the boundary while it is set (IAM API Reference, User)."""
    boundary = _managed(
        ec2_all, "describe-and-run", _policy(_allow(["ec2:Describe*", "ec2:RunInstances"]))
    )
    iam = _client(ec2_all, "iam")
    put = iam.put_user_permissions_boundary(
        UserName=ec2_all.user_name, PermissionsBoundary=boundary
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    user = iam.get_user(UserName=ec2_all.user_name)["User"]
    assert user["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }
    assert _describe(ec2_all)[0] == "DryRunOperation"
    code, message = _terminate(ec2_all)
    assert code == "UnauthorizedOperation"
    assert "because no permissions boundary allows the ec2:TerminateInstances action" in message
    deleted = iam.delete_user_permissions_boundary(UserName=ec2_all.user_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _terminate(ec2_all)[0] == "DryRunOperation"
    assert "PermissionsBoundary" not in iam.get_user(UserName=ec2_all.user_name)["User"]
    answered = {r.operation: r.answered_by for r in ec2_all.requests if r.service == "iam"}
    assert answered["PutUserPermissionsBoundary"] == "sandbox"
    assert answered["DeleteUserPermissionsBoundary"] == "sandbox"


def test_a_boundary_grants_nothing_and_its_deny_wins(ec2_all: Sandbox) -> None:
    """Permissions boundaries: a boundary allowing ec2:* does not add to an identity that
    allows only Describe*; an explicit Deny in the boundary denies what both allow."""
    ec2_all.set_policy(_policy(_allow("ec2:Describe*")))
    boundary = _managed(
        ec2_all, "wide-boundary", _policy(_allow("ec2:*"), _deny("ec2:DescribeVpcs"))
    )
    iam = _client(ec2_all, "iam")
    iam.put_user_permissions_boundary(UserName=ec2_all.user_name, PermissionsBoundary=boundary)
    code, message = _terminate(ec2_all)
    assert code == "UnauthorizedOperation"
    assert "because no identity-based policy allows" in message
    code, message = _verdict(_ec2(ec2_all).describe_vpcs)
    assert code == "UnauthorizedOperation"
    assert "with an explicit deny in a permissions boundary" in message


def test_boundary_calls_are_authorized_and_checked(ec2_all: Sandbox) -> None:
    """PutUserPermissionsBoundary needs iam:PutUserPermissionsBoundary (AccessDenied 403
    otherwise); the user must exist and the policy too (NoSuchEntity 404), as in IAM."""
    boundary = _managed(ec2_all, "checked-boundary", EC2_ALL)
    own = _client(ec2_all, "iam", ec2_all.session())
    code, status, message = _failure(
        own.put_user_permissions_boundary, UserName=ec2_all.user_name, PermissionsBoundary=boundary
    )
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:PutUserPermissionsBoundary" in message
    admin = _client(ec2_all, "iam")
    assert _failure(
        admin.put_user_permissions_boundary, UserName="nobody", PermissionsBoundary=boundary
    )[:2] == ("NoSuchEntity", 404)
    assert _failure(
        admin.put_user_permissions_boundary,
        UserName=ec2_all.user_name,
        PermissionsBoundary=f"arn:aws:iam::{SANDBOX_ACCOUNT}:policy/missing",
    )[:2] == ("NoSuchEntity", 404)


def test_a_user_created_with_a_boundary_is_bounded(ec2_all: Sandbox) -> None:
    """CreateUser's PermissionsBoundary (which moto ignores) is kept: the new user's keys
    are bounded by it, and a user made again under that name is not."""
    boundary = _managed(ec2_all, "created-boundary", _policy(_allow("ec2:Describe*")))
    iam = _client(ec2_all, "iam")
    created = iam.create_user(UserName="bounded", PermissionsBoundary=boundary)["User"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.put_user_policy(UserName="bounded", PolicyName="all", PolicyDocument=json.dumps(EC2_ALL))
    key = iam.create_access_key(UserName="bounded")["AccessKey"]
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1",
    )
    assert _describe(ec2_all, session)[0] == "DryRunOperation"
    assert _terminate(ec2_all, session)[0] == "UnauthorizedOperation"
    iam.delete_access_key(UserName="bounded", AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName="bounded", PolicyName="all")
    iam.delete_user(UserName="bounded")
    iam.create_user(UserName="bounded")
    iam.put_user_policy(UserName="bounded", PolicyName="all", PolicyDocument=json.dumps(EC2_ALL))
    key = iam.create_access_key(UserName="bounded")["AccessKey"]
    again = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1",
    )
    assert _terminate(ec2_all, again)[0] == "DryRunOperation"


def test_a_role_boundary_bounds_its_sessions(ec2_all: Sandbox) -> None:
    """Permissions boundaries apply to roles: a session of a role whose boundary allows only
    Describe* cannot terminate, though the role's policy allows ec2:*."""
    boundary = _managed(ec2_all, "role-boundary", _policy(_allow("ec2:Describe*")))
    role = _role(ec2_all, "BoundedRole", EC2_ALL, PermissionsBoundary=boundary)
    session = _assume(ec2_all, role, "bounded")
    assert _describe(ec2_all, session)[0] == "DryRunOperation"
    code, message = _terminate(ec2_all, session)
    assert code == "UnauthorizedOperation"
    assert "assumed-role/BoundedRole/bounded" in message
    assert "permissions boundary" in message


# -- session policies ------------------------------------------------------------------------


def test_a_session_policy_narrows_and_never_widens_the_role(ec2_all: Sandbox) -> None:
    """Session policies: a Policy passed to AssumeRole narrows the role (Describe* allowed by
    both; Terminate allowed by the role only is denied, naming the session policy); a
    session policy allowing more than the role adds nothing."""
    role = _role(
        ec2_all, "NarrowedRole", _policy(_allow(["ec2:Describe*", "ec2:TerminateInstances"]))
    )
    narrow = _assume(ec2_all, role, "narrow", Policy=json.dumps(_policy(_allow("ec2:Describe*"))))
    assert _describe(ec2_all, narrow)[0] == "DryRunOperation"
    code, message = _terminate(ec2_all, narrow)
    assert code == "UnauthorizedOperation"
    assert "because no session policy allows the ec2:TerminateInstances action" in message
    wide = _assume(ec2_all, role, "wide", Policy=json.dumps(_policy(_allow("*"))))
    code, message = _verdict(
        _ec2(ec2_all, wide).run_instances, ImageId="ami-12345678", MinCount=1, MaxCount=1
    )
    assert code == "UnauthorizedOperation"
    assert "because no identity-based policy allows" in message


def test_policy_arns_narrow_the_session_as_a_policy_does(ec2_all: Sandbox) -> None:
    """Session policies: managed policies passed as PolicyArns narrow the role the same way;
    several session policies together allow what any of them allows."""
    role = _role(ec2_all, "ArnsRole", EC2_ALL)
    vpcs = _managed(ec2_all, "session-vpcs", _policy(_allow("ec2:DescribeVpcs")))
    instances = _managed(ec2_all, "session-instances", _policy(_allow("ec2:DescribeInstances")))
    session = _assume(ec2_all, role, "arns", PolicyArns=[{"arn": vpcs}, {"arn": instances}])
    assert _verdict(_ec2(ec2_all, session).describe_vpcs)[0] == "DryRunOperation"
    assert _describe(ec2_all, session)[0] == "DryRunOperation"
    code, message = _terminate(ec2_all, session)
    assert code == "UnauthorizedOperation"
    assert "session policy" in message


def test_a_malformed_session_policy_is_refused(ec2_all: Sandbox) -> None:
    """STS refuses AssumeRole with a Policy that is not a valid policy: MalformedPolicyDocument
    400 (STS API Reference, AssumeRole errors); moto would take it."""
    role = _role(ec2_all, "MalformedRole", EC2_ALL)
    sts = _client(ec2_all, "sts")
    bad = json.dumps({"Version": V, "Statement": [{"Effect": "Allow", "Action": "ec2:*"}]})
    code, status, _ = _failure(sts.assume_role, RoleArn=role, RoleSessionName="bad", Policy=bad)
    assert (code, status) == ("MalformedPolicyDocument", 400)


def test_session_tags_override_role_tags_as_principal_tags(ec2_all: Sandbox) -> None:
    """IAM User Guide, "Passing session tags in AWS STS": a session tag overrides the role's
    tag of the same key in aws:PrincipalTag."""
    by_team = _policy(
        _allow("ec2:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})
    )
    role = _role(ec2_all, "TaggedRole", by_team, Tags=[{"Key": "team", "Value": "red"}])
    red = _assume(ec2_all, role, "red")
    assert _describe(ec2_all, red)[0] == "UnauthorizedOperation"
    blue = _assume(ec2_all, role, "blue", Tags=[{"Key": "team", "Value": "blue"}])
    assert _describe(ec2_all, blue)[0] == "DryRunOperation"


# -- GetSessionToken and MFA -----------------------------------------------------------------

MFA_REQUIRED = _policy(_allow("ec2:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))


def _token(sandbox: Sandbox, mfa: bool) -> boto3.Session:
    sts = _client(sandbox, "sts", sandbox.session())
    extra = {"SerialNumber": MFA_DEVICE, "TokenCode": "123456"} if mfa else {}
    return _session(sts.get_session_token(**extra)["Credentials"])


def test_an_mfa_session_meets_a_policy_that_requires_mfa(ec2_all: Sandbox) -> None:
    """Global keys: Bool aws:MultiFactorAuthPresent true holds for GetSessionToken credentials
    minted with SerialNumber/TokenCode, not for the long-term key (the key is absent) nor for
    a session minted without MFA ("false")."""
    ec2_all.set_policy(MFA_REQUIRED)
    mfa = _token(ec2_all, mfa=True)
    assert _describe(ec2_all, mfa)[0] == "DryRunOperation"
    assert _describe(ec2_all)[0] == "UnauthorizedOperation"
    assert _describe(ec2_all, _token(ec2_all, mfa=False))[0] == "UnauthorizedOperation"
    identity = _client(ec2_all, "sts", mfa).get_caller_identity()
    assert identity["Arn"] == ec2_all.user_arn  # GetSessionToken keeps the user's identity


@pytest.mark.parametrize(
    ("operator", "long_term", "without_mfa", "with_mfa"),
    [
        # Bool on an absent key is false: the long-term key is not denied (§9)
        ("Bool", "DryRunOperation", "UnauthorizedOperation", "DryRunOperation"),
        # ...IfExists on an absent key is true: the long-term key is denied too (IAM User
        # Guide, "Configure MFA-protected API access": BoolIfExists in the deny)
        ("BoolIfExists", "UnauthorizedOperation", "UnauthorizedOperation", "DryRunOperation"),
    ],
)
def test_a_deny_without_mfa(
    ec2_all: Sandbox, operator: str, long_term: str, without_mfa: str, with_mfa: str
) -> None:
    """A Deny on aws:MultiFactorAuthPresent "false": which credentials it catches."""
    ec2_all.set_policy(
        _policy(
            _allow("ec2:*"),
            _deny("ec2:*", Condition={operator: {"aws:MultiFactorAuthPresent": "false"}}),
        )
    )
    assert _describe(ec2_all)[0] == long_term
    assert _describe(ec2_all, _token(ec2_all, mfa=False))[0] == without_mfa
    assert _describe(ec2_all, _token(ec2_all, mfa=True))[0] == with_mfa


def test_mfa_age_and_token_issue_time(ec2_all: Sandbox) -> None:
    """aws:MultiFactorAuthAge exists only with MFA (NumericLessThan on it fails without);
    aws:TokenIssueTime exists for temporary credentials only (Null false)."""
    ec2_all.set_policy(
        _policy(_allow("ec2:*", Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}))
    )
    assert _describe(ec2_all, _token(ec2_all, mfa=True))[0] == "DryRunOperation"
    assert _describe(ec2_all, _token(ec2_all, mfa=False))[0] == "UnauthorizedOperation"
    ec2_all.set_policy(
        _policy(_allow("ec2:*", Condition={"Null": {"aws:TokenIssueTime": "false"}}))
    )
    assert _describe(ec2_all, _token(ec2_all, mfa=False))[0] == "DryRunOperation"
    assert _describe(ec2_all)[0] == "UnauthorizedOperation"


def test_get_session_token_needs_no_permission_and_long_term_keys(ec2_all: Sandbox) -> None:
    """Permissions for GetSessionToken: none needed (a user with no policy gets a token); it
    must be called with long-term credentials ("Cannot call GetSessionToken with session
    credentials"); a TokenCode that is not six digits and a serial without a code fail."""
    ec2_all.set_policy(EMPTY)
    sts = _client(ec2_all, "sts", ec2_all.session())
    credentials = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    left = credentials["Expiration"].timestamp() - time.time()
    assert 800 < left <= 900
    again = _client(ec2_all, "sts", _session(credentials))
    code, status, message = _failure(again.get_session_token)
    assert (code, status, message) == (
        "AccessDenied",
        403,
        "Cannot call GetSessionToken with session credentials",
    )
    assert _failure(sts.get_session_token, SerialNumber=MFA_DEVICE, TokenCode="12a456")[:2] == (
        "ValidationError",
        400,
    )
    assert _failure(sts.get_session_token, SerialNumber=MFA_DEVICE)[:2] == ("AccessDenied", 403)


def test_minted_credentials_authenticate_with_moto_too(ec2_all: Sandbox) -> None:
    """Calls moto answers (here iam:ListUsers, sts:AssumeRole) accept GetSessionToken
    credentials, judged as the user's; a wrong secret is refused as any bad key is."""
    ec2_all.set_policy(_policy(_allow(["ec2:*", "iam:ListUsers", "sts:AssumeRole"])))
    session = _token(ec2_all, mfa=True)
    users = _client(ec2_all, "iam", session).list_users()["Users"]
    assert ec2_all.user_name in [u["UserName"] for u in users]
    role = _role(ec2_all, "FromMfaRole", EC2_ALL)
    assumed = _client(ec2_all, "sts", session).assume_role(RoleArn=role, RoleSessionName="mfa")
    assert assumed["AssumedRoleUser"]["Arn"].endswith("assumed-role/FromMfaRole/mfa")
    credentials = session.get_credentials()
    forged = boto3.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key="x" * 40,
        aws_session_token=credentials.token,
        region_name="us-east-1",
    )
    assert _failure(_client(ec2_all, "iam", forged).list_users)[0] == "InvalidClientTokenId"


def test_an_assume_role_with_mfa_carries_it(ec2_all: Sandbox) -> None:
    """AssumeRole with SerialNumber/TokenCode gives a session with aws:MultiFactorAuthPresent
    true; without them "false" (IAM User Guide, "Configure MFA-protected API access")."""
    role = _role(ec2_all, "MfaRole", MFA_REQUIRED)
    with_mfa = _assume(ec2_all, role, "mfa", SerialNumber=MFA_DEVICE, TokenCode="654321")
    assert _describe(ec2_all, with_mfa)[0] == "DryRunOperation"
    assert _describe(ec2_all, _assume(ec2_all, role, "plain"))[0] == "UnauthorizedOperation"


def test_a_raw_get_session_token_out_of_range_is_a_validation_error(ec2_all: Sandbox) -> None:
    """STS API Reference, GetSessionToken: DurationSeconds 900 to 129600 (botocore checks
    the minimum itself, so the request is signed by hand)."""
    credentials = ec2_all.session().get_credentials()
    request = AWSRequest(
        method="POST",
        url=ec2_all.endpoint_url + "/",
        data="Action=GetSessionToken&Version=2011-06-15&DurationSeconds=200000",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    import urllib.request

    prepared = request.prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    sent = urllib.request.Request(
        prepared.url, data=body, headers=dict(prepared.headers), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(sent, timeout=30)
    answer = caught.value.read().decode()
    assert caught.value.code == 400
    assert "<Code>ValidationError</Code>" in answer
    assert "durationSeconds" in answer


# -- the CLI and the plugin --------------------------------------------------------------------


def test_plugin_scp_option_and_ini_end_to_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--awsprobe-sandbox-scp FILE (repeatable) and the ini key awsprobe_sandbox_scp (one file
    a line) attach SCPs to the plugin's sandbox; the header names them."""
    from awsprobe.catalog import _cache_dir

    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(_cache_dir()))
    pytester.makefile(".json", policy=json.dumps(EC2_ALL), full=json.dumps(FULL_AWS_ACCESS))
    pytester.makefile(".json", deny=json.dumps(_policy(_deny("ec2:TerminateInstances"))))
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aws_permissions(
            allow=["ec2:DescribeInstances"], deny=["ec2:TerminateInstances"]
        )
        def test_scp_denies_what_the_policy_allows():
            pass
        """
    )
    args = ["-p", "no:cacheprovider", "--awsprobe-sandbox-policy", "policy.json"]
    result = pytester.runpytest_subprocess(
        *args,
        "--awsprobe-sandbox-scp",
        "full.json",
        "--awsprobe-sandbox-scp",
        "deny.json",
        timeout=180,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["awsprobe: identity *(sandbox, policy *policy.json, SCP *full.json, SCP *deny.json)"]
    )
    pytester.makeini(
        "[pytest]\nawsprobe_sandbox_policy = policy.json\nawsprobe_sandbox_scp =\n    full.json\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)
    result.assert_outcomes(failed=1)  # without the Deny SCP, TerminateInstances is allowed
    result.stdout.fnmatch_lines(["*ec2:TerminateInstances*allowed*"])
