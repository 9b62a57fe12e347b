"""Identity on the command line: whoami, MFA sessions, assumed roles side by side, redaction."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from awsprobe.cli import main
from awsprobe.sandbox import SANDBOX_ACCOUNT, Sandbox

USER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Roles",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:GetSessionToken"],
            "Resource": "*",
        },
        {"Sid": "Read", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    ],
}


def _trust(principal: str) -> dict[str, object]:
    """moto matches the trust policy's principal against the caller's own ARN."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
        ],
    }


ROLES = {
    "Reader": ["ec2:Describe*"],
    "Deployer": ["ec2:Describe*", "ec2:RunInstances"],
    "Admin": ["ec2:*"],
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(USER_POLICY) as running:
        iam = running.admin_session().client("iam", endpoint_url=running.endpoint_url)
        for name, actions in ROLES.items():
            iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(_trust(running.user_arn))
            )
            iam.put_role_policy(
                RoleName=name,
                PolicyName="p",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                    }
                ),
            )
        yield running


@pytest.fixture
def user(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sandbox user's keys in the environment; options pointing at the sandbox."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sandbox.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sandbox.secret_access_key)
    return ["--endpoint-url", sandbox.endpoint_url]


def test_whoami_json_has_the_documented_keys_and_no_secret(
    sandbox: Sandbox, user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """whoami --output json: the documented keys, the key id masked, the secret absent."""
    assert main(["whoami", *user, "--output", "json", "--no-imds"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    for key in (
        "arn",
        "account",
        "user_id",
        "principal_type",
        "credential_source",
        "temporary",
        "expires_at",
        "on_ec2",
        "instance_id",
        "instance_role",
        "imds_v1_enabled",
        "warnings",
    ):
        assert key in data
    assert data["arn"] == sandbox.user_arn
    assert data["credential_source"] == "env"
    assert sandbox.access_key_id not in out
    assert sandbox.access_key_id[-4:] in data["access_key_id_masked"]
    assert sandbox.secret_access_key not in out


def test_whoami_table_is_one_screen(user: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The readable form names the account, principal and credential source."""
    assert main(["whoami", *user, "--no-imds"]) == 0
    out = capsys.readouterr().out
    assert "account" in out
    assert "awsprobe-sandbox" in out
    assert len(out.splitlines()) < 25


def test_three_roles_side_by_side(user: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Repeated --assume-role: one column per identity, each with its own verdicts."""
    argv = ["matrix", *user, "--actions", "ec2:*Instances", "--output", "json"]
    for role in ROLES:
        argv += ["--assume-role", f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/{role}"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["arn"].split("/")[1] for i in data["identities"]] == list(ROLES)
    outcome = {(r["identity"].split("/")[1], r["action"]): r["outcome"] for r in data["results"]}
    assert outcome[("Reader", "ec2:DescribeInstances")] == "allowed"
    assert outcome[("Reader", "ec2:RunInstances")] == "denied"
    assert outcome[("Deployer", "ec2:RunInstances")] == "allowed"
    assert outcome[("Deployer", "ec2:TerminateInstances")] == "denied"
    assert outcome[("Admin", "ec2:TerminateInstances")] == "allowed"
    argv[argv.index("json")] = "table"
    assert main(argv) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "action" in line)
    for role in ROLES:
        assert role in header


def test_mfa_session_probes_and_exports(
    sandbox: Sandbox, user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """session --mfa-serial/--mfa-code prints exports (or credential_process JSON).

    (The sandbox's moto answers GetSessionToken with keys its IAM does not know, so
    probing *with* an MFA session is proven against plain moto in test_identity.py.)
    """
    mfa = ["--mfa-serial", f"arn:aws:iam::{SANDBOX_ACCOUNT}:mfa/me", "--mfa-code", "123456"]
    assert main(["session", *user, *mfa]) == 0
    out = capsys.readouterr().out
    assert "export AWS_ACCESS_KEY_ID=" in out
    assert "export AWS_SESSION_TOKEN=" in out
    assert main(["session", *user, *mfa, "--output", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["Version"] == 1
    assert document["SessionToken"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["whoami", "--mfa-code", "123456"], "--mfa-code needs --mfa-serial"),
        (["session"], "session needs --mfa-serial"),
        (["whoami", "--mfa-serial", "nope", "--mfa-code", "123456"], "serial"),
        (
            ["whoami", "--mfa-serial", "arn:aws:iam::123456789012:mfa/me", "--mfa-code", "12"],
            "code",
        ),
        (["matrix", "--role-session-name", "x"], "need --assume-role"),
        (["whoami", "--assume-role", "not-an-arn"], "role"),
    ],
)
def test_identity_option_errors_are_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad identity options: exit 2, one line naming the problem."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert len(err.splitlines()) == 1


def test_debug_logs_never_show_secrets(
    sandbox: Sandbox, user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--debug logs botocore's wire details with key ids, secrets and signatures redacted."""
    assert main(["matrix", *user, "--actions", "ec2:DescribeVpcs", "--debug"]) == 0
    captured = capsys.readouterr()
    everything = captured.out + captured.err
    assert "DEBUG" in captured.err
    assert sandbox.access_key_id not in everything
    assert sandbox.secret_access_key not in everything
