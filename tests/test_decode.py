"""Explaining denials: parsing decoded messages, plain-text reasons, and --decode end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from awsprobe.classify import Outcome
from awsprobe.cli import main
from awsprobe.decode import (
    decode_authorization_message,
    encoded_message,
    parse_decoded,
    plain_reason,
)
from awsprobe.errors import CredentialsError, EndpointUnreachable, UsageError
from awsprobe.probing.orchestrate import probe
from awsprobe.sandbox import DEMO_POLICY, Sandbox

FIXTURES = Path(__file__).parent / "fixtures" / "decoded"


def test_explicit_deny_recorded_in_the_aws_cli_docs_parses() -> None:
    """The AWS CLI's documented explicit deny (aws/aws-cli
    ``awscli/examples/sts/decode-authorization-message.rst``): statement, action normalised
    to ec2:, conditions."""
    explanation = parse_decoded((FIXTURES / "explicit-deny.json").read_text(), "ec2")
    assert explanation.explicit_deny is True
    assert explanation.denied_action == "ec2:RunInstances"
    assert explanation.resource == "arn:aws:ec2:us-east-1:111122223333:instance/*"
    assert explanation.matched_statements == (("VisualEditor0", "DENY"),)
    assert dict(explanation.conditions)["ec2:MetadataHttpTokens"] == ("required",)
    assert explanation.line.startswith("explicit deny: ec2:RunInstances on arn:aws:ec2:")


def test_implicit_deny_of_a_dependent_action_parses() -> None:
    """An implicit deny whose denied action is iam:PassRole, not the probed action."""
    explanation = parse_decoded((FIXTURES / "implicit-deny-passrole.json").read_text(), "ec2")
    assert explanation.explicit_deny is False
    assert explanation.denied_action == "iam:PassRole"
    assert explanation.matched_statements == ()
    assert explanation.line.startswith("no policy allows: iam:PassRole")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "You are not authorized to perform this operation. User: arn:aws:iam::1:user/x is "
            "not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:1:"
            "instance/* because no identity-based policy allows the ec2:RunInstances action. "
            "Encoded authorization failure message: abc",
            "because no identity-based policy allows the ec2:RunInstances action",
        ),
        (
            "User: arn:aws:iam::1:user/x is not authorized to perform: kms:Decrypt with an "
            "explicit deny in a service control policy",
            "with an explicit deny in a service control policy",
        ),
        ("You are not authorized to perform this operation.", None),
        (None, None),
    ],
)
def test_plain_text_reasons_are_parsed_for_display(message: str | None, reason: str | None) -> None:
    """The reason newer AWS messages carry is extracted (never used to classify)."""
    assert plain_reason(message) == reason


def test_encoded_message_is_found_in_the_error_text() -> None:
    """The blob after 'Encoded authorization failure message:' is extracted."""
    assert encoded_message("x. Encoded authorization failure message: AbC-123_x") == "AbC-123_x"
    assert encoded_message("You are not authorized to perform this operation.") is None


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def test_decode_explains_explicit_and_implicit_denials(sandbox: Sandbox) -> None:
    """--decode: TerminateInstances is an explicit deny (NeverDestroy); CreateVpc implicit."""
    matrix = probe(
        actions=["ec2:TerminateInstances", "ec2:CreateVpc", "ec2:DescribeVpcs"],
        session=sandbox.session(),
        endpoint_url=sandbox.endpoint_url,
        decode=True,
    )
    terminate = matrix.get("ec2:TerminateInstances")
    assert terminate.decoded is not None
    assert terminate.decoded.explicit_deny is True
    assert ("NeverDestroy", "DENY") in {
        (sid, (effect or "").upper()) for sid, effect in terminate.decoded.matched_statements
    }
    assert terminate.decoded.denied_action == "ec2:TerminateInstances"
    vpc = matrix.get("ec2:CreateVpc")
    assert vpc.decoded is not None
    assert vpc.decoded.explicit_deny is False
    assert matrix.get("ec2:DescribeVpcs").decoded is None  # allowed: nothing to explain
    data = matrix.to_json()
    row = next(r for r in data["results"] if r["action"] == "ec2:TerminateInstances")
    assert set(row["decoded"]) >= {
        "explicit_deny",
        "denied_action",
        "resource",
        "matched_statements",
        "conditions",
    }


def test_a_dependent_action_is_named_as_the_one_denied(sandbox: Sandbox) -> None:
    """kms:ReEncrypt needs ReEncryptFrom and ReEncryptTo: the reason names the missing one.

    (KMS, like real AWS, sends no encoded blob: the plain-text reason carries it.)
    """
    sandbox.set_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": "*"},
                {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"},
            ],
        }
    )
    try:
        matrix = probe(
            actions=["kms:ReEncrypt*"],
            session=sandbox.session(),
            endpoint_url=sandbox.endpoint_url,
            decode=True,
        )
    finally:
        sandbox.set_policy(DEMO_POLICY)
    result = matrix.results[0]
    assert result.outcome is Outcome.DENIED
    assert result.reason is not None
    assert "kms:ReEncryptTo" in result.reason
    assert result.decoded is None


def test_decode_denied_is_said_once_and_results_stay_denied(sandbox: Sandbox) -> None:
    """Without sts:DecodeAuthorizationMessage: denials stay denied, one warning for all."""
    sandbox.set_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
        }
    )
    try:
        matrix = probe(
            actions=["ec2:Create*"],
            session=sandbox.session(),
            endpoint_url=sandbox.endpoint_url,
            decode=True,
        )
    finally:
        sandbox.set_policy(DEMO_POLICY)
    assert {r.outcome for r in matrix} == {Outcome.DENIED}
    assert all(r.decoded is None for r in matrix)
    explain = [w for w in matrix.warnings if "could not explain" in w]
    assert len(explain) == 1
    assert "sts:DecodeAuthorizationMessage" in explain[0]


def test_malformed_and_foreign_messages(sandbox: Sandbox) -> None:
    """Garbage is rejected before sending; a message STS cannot decode says so in one line."""
    with pytest.raises(UsageError, match="not an encoded authorization message"):
        decode_authorization_message(
            "two words", sandbox.session(), endpoint_url=sandbox.endpoint_url
        )
    with pytest.raises(UsageError, match="malformed or has expired"):
        decode_authorization_message(
            "AAAAbm90LWEtcmVhbC1tZXNzYWdl", sandbox.session(), endpoint_url=sandbox.endpoint_url
        )


def test_matrix_decode_flag_marks_explicit_denies_in_the_table(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """matrix --decode: explicit denies get their own symbol; JSON carries 'decoded'."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sandbox.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sandbox.secret_access_key)
    base = ["matrix", "--endpoint-url", sandbox.endpoint_url, "--actions", "ec2:*Instances"]
    assert main([*base, "--decode"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "ec2:TerminateInstances" in x)
    assert "⊘" in line
    assert "⊘ explicit deny" in out
    assert main([*base, "--decode", "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert next(r for r in rows if r["action"] == "ec2:TerminateInstances")["decoded"][
        "explicit_deny"
    ]


def test_decode_of_an_unreachable_sts_is_an_error() -> None:
    """No STS to talk to: EndpointUnreachable (an AwsprobeError), botocore's error its cause."""
    import boto3
    from botocore.exceptions import EndpointConnectionError

    session = boto3.Session("AKIAFAKEFAKEFAKEFAKE", "x", region_name="us-east-1")
    with pytest.raises(EndpointUnreachable) as info:
        decode_authorization_message("abc", session, endpoint_url="http://127.0.0.1:9")
    assert isinstance(info.value.__cause__, EndpointConnectionError)


def test_decode_without_credentials_is_a_credentials_error_not_an_outage() -> None:
    """No credentials at all: CredentialsError (exit 3 on the CLI), botocore's
    NoCredentialsError its cause -- never EndpointUnreachable ("check the network")."""
    import botocore.session
    from botocore.credentials import CredentialResolver
    from botocore.exceptions import NoCredentialsError

    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([]))
    with pytest.raises(CredentialsError) as info:
        decode_authorization_message("abc", core, endpoint_url="http://127.0.0.1:9")
    assert not isinstance(info.value, EndpointUnreachable)
    assert isinstance(info.value.__cause__, NoCredentialsError)
