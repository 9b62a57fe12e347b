"""whoami, the instance metadata probe, redaction, and the MFA / assume-role sessions.

Three kinds of fake, as STYLE.md asks: a ``before-send`` stub answering STS
with the XML real STS sends (the real parser still runs), moto in-process for
end-to-end STS (GetCallerIdentity, GetSessionToken, AssumeRole), and the
loopback IMDS fake in ``tests/imds_fake.py``, reached only through
``AWS_EC2_METADATA_SERVICE_ENDPOINT`` as on a real instance.

The STS error bodies below are written from AWS's documented error envelope
and the messages STS is widely reported to send (aws-cli issues #6325 and
#2279); they were not recorded from a live account.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import logging
import shlex
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from awsprobe.catalog import Catalog, load_catalog
from awsprobe.errors import CredentialsError, UsageError
from awsprobe.identity import (
    ASSUME_ROLE_METHOD,
    IMDS_IPV6_ENDPOINT,
    JSON_KEYS,
    MFA_METHOD,
    WARNINGS,
    ImdsInfo,
    InstanceMetadata,
    PrincipalType,
    assume_role_session,
    identity_warnings,
    mfa_session,
    parse_principal,
    probe_imds,
    session_exports,
    session_json,
    whoami,
)
from awsprobe.model import Identity, Outcome
from awsprobe.probing.orchestrate import probe
from awsprobe.redact import RedactSecrets, mask_key, redact
from tests.conftest import FAKE_KEY, FAKE_SECRET, fake_response
from tests.imds_fake import ROLE_KEY, ROLE_SECRET, ROLE_TOKEN, TOKEN, FakeImds, closed_port_url

ACCOUNT = "123456789012"
MFA_ARN = f"arn:aws:iam::{ACCOUNT}:mfa/ci"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/probe"
#: What the issue requires of ``--output json`` (a subset of JSON_KEYS).
REQUIRED_JSON_KEYS = {
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
}

# --------------------------------------------------------------------------- STS stub


def _sts_identity(arn: str, user_id: str = "AIDAEXAMPLEUSERID0001") -> tuple[int, bytes]:
    return 200, (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>{arn}</Arn><UserId>{user_id}</UserId>"
        f"<Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()


def _sts_error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>1</RequestId></ErrorResponse>"
    ).encode()


def _sts_credentials(operation: str, expiration: _dt.datetime) -> tuple[int, bytes]:
    stamp = expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    return 200, (
        f'<{operation}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<{operation}Result><Credentials><AccessKeyId>ASIASTUBSTUBSTUBSTU1</AccessKeyId>"
        "<SecretAccessKey>stub/secret/never/valid/0000000000000000</SecretAccessKey>"
        f"<SessionToken>StubSessionToken</SessionToken><Expiration>{stamp}</Expiration>"
        f"</Credentials></{operation}Result>"
        f"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{operation}Response>"
    ).encode()


class StubSts:
    """A botocore session whose STS answers come from a table (operation -> reply)."""

    def __init__(self, replies: dict[str, tuple[int, bytes]]) -> None:
        self.replies = replies
        self.sent: list[str] = []
        self.session = botocore.session.get_session()
        self.session.register("before-send.sts", self._answer)

    def _answer(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        self.sent.append(operation)
        status, body = self.replies[operation]
        return fake_response(request, status, body)


@pytest.fixture
def moto_sts() -> Iterator[None]:
    """moto in-process: every botocore client in the test talks to it."""
    with mock_aws():
        yield


@pytest.fixture
def imds_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the metadata probe run (the suite disables it); each test points it at a fake."""
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.delenv("AWS_METADATA_SERVICE_TIMEOUT", raising=False)


def _point_at(monkeypatch: pytest.MonkeyPatch, fake_url: str) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url)


# --------------------------------------------------------------------------- IMDS


@pytest.mark.usefixtures("imds_on")
def test_imds_v2_with_v1_still_answering(monkeypatch: pytest.MonkeyPatch) -> None:
    """IMDSv2 first: a token PUT with a TTL, GETs with the token; a tokenless GET shows v1 is on."""
    with FakeImds(v1=True) as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
    assert info == ImdsInfo(
        on_ec2=True,
        instance_id="i-0123456789abcdef0",
        region="eu-west-1",
        instance_role="probe-instance-role",
        imds_v1_enabled=True,
        imds_v2=True,
        endpoint=fake.url,
        detail="IMDSv2; IMDSv1 still answers",
    )
    first = fake.requests[0]
    assert (first.method, first.path, first.ttl) == ("PUT", "/latest/api/token", "60")
    tokened = [seen for seen in fake.requests if seen.token == TOKEN]
    assert {seen.path for seen in tokened} == {
        "/latest/meta-data/instance-id",
        "/latest/meta-data/placement/region",
        "/latest/meta-data/iam/security-credentials/",
    }


@pytest.mark.usefixtures("imds_on")
def test_imds_v2_only_reports_v1_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HttpTokens=required the tokenless GET gets 401: imds_v1_enabled is False."""
    with FakeImds(v1=False) as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
    assert (info.on_ec2, info.imds_v2, info.imds_v1_enabled) == (True, True, False)
    assert info.instance_role == "probe-instance-role"


@pytest.mark.usefixtures("imds_on")
def test_imds_falls_back_to_v1_when_the_token_put_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 404 to the token PUT (no IMDSv2) falls back to tokenless GETs, as botocore does."""
    with FakeImds(v2=False) as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
    assert (info.on_ec2, info.imds_v2, info.imds_v1_enabled) == (True, False, True)
    assert (info.instance_id, info.region) == ("i-0123456789abcdef0", "eu-west-1")
    assert fake.requests
    assert all(seen.token is None for seen in fake.requests)
    assert "HTTP 404" in info.detail


@pytest.mark.usefixtures("imds_on")
def test_imds_without_a_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """No instance profile: the role listing is 404 and instance_role is None, still on EC2."""
    with FakeImds(role=None) as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
    assert info.on_ec2
    assert info.instance_role is None


@pytest.mark.usefixtures("imds_on")
@pytest.mark.parametrize(
    "modes",
    [{"v1": True}, {"v1": False}, {"v2": False}, {"role": None}],
    ids=["v1+v2", "v2-only", "v1-only", "no-role"],
)
def test_imds_never_reads_role_credentials(
    monkeypatch: pytest.MonkeyPatch, modes: dict[str, Any]
) -> None:
    """awsprobe lists the role name only; it never asks for security-credentials/<role>."""
    with FakeImds(**modes) as fake:
        _point_at(monkeypatch, fake.url)
        probe_imds()
    listing = "/latest/meta-data/iam/security-credentials/"
    assert not [p for p in fake.paths() if p.startswith(listing) and p != listing]


@pytest.mark.usefixtures("imds_on")
def test_missing_imds_is_not_on_ec2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listening (off EC2): not on EC2, and the refused connection is the reason
    (what a silent service costs in time is bounded by the next two tests)."""
    _point_at(monkeypatch, closed_port_url())
    info = probe_imds()
    assert not info.on_ec2
    assert "connection failed" in info.detail


@pytest.mark.usefixtures("imds_on")
def test_slow_imds_is_bounded_by_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service that accepts but never answers in time costs two short timeouts."""
    with FakeImds(delay=30.0) as fake:
        _point_at(monkeypatch, fake.url)
        started = time.monotonic()
        info = probe_imds()
        elapsed = time.monotonic() - started
    # time is the behaviour: two timeouts of the default 0.5 s (IMDS_DEFAULT_TIMEOUT)
    # = 1 s expected, bound 5x that; a timeout not honoured would wait out the fake's 30 s
    assert elapsed < 5 * 2 * 0.5
    assert not info.on_ec2
    assert "no answer" in info.detail


@pytest.mark.usefixtures("imds_on")
def test_metadata_timeout_setting_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_METADATA_SERVICE_TIMEOUT sets the per-request timeout."""
    monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.05")
    assert InstanceMetadata().timeout == 0.05
    with FakeImds(delay=30.0) as fake:
        _point_at(monkeypatch, fake.url)
        started = time.monotonic()
        probe_imds()
        elapsed = time.monotonic() - started
    # time is the behaviour: 2 x 0.05 s expected, bound 5x that (0.5 s); the default
    # timeout could not be that fast, as two of its timeouts take at least 2 x 0.5 s
    assert elapsed < 5 * 2 * 0.05


def test_disabled_imds_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_EC2_METADATA_DISABLED=true: not one request, even with an endpoint configured."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "True")
    with FakeImds() as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
        with mock_aws():
            assert not whoami().on_ec2
    assert fake.requests == []
    assert not info.on_ec2
    assert "AWS_EC2_METADATA_DISABLED" in info.detail


@pytest.mark.usefixtures("imds_on")
def test_imds_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint that redirects elsewhere is not followed: the other host sees nothing."""
    with FakeImds() as elsewhere, FakeImds(redirect=elsewhere.url) as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
    assert fake.requests
    assert elsewhere.requests == []
    assert not info.on_ec2


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.usefixtures("imds_on")
@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_imds_over_an_ipv6_literal_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """An IPv6 endpoint such as http://[fd00:ec2::254]/ works: here, a fake on [::1]."""
    with FakeImds(host="::1") as fake:
        _point_at(monkeypatch, fake.url)
        info = probe_imds()
    assert fake.url.startswith("http://[::1]:")
    assert (info.on_ec2, info.instance_id) == (True, "i-0123456789abcdef0")


@pytest.mark.usefixtures("imds_on")
def test_endpoint_mode_ipv6_selects_the_ipv6_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 (and no endpoint) means [fd00:ec2::254]."""
    monkeypatch.delenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")
    assert InstanceMetadata().endpoint == IMDS_IPV6_ENDPOINT == "http://[fd00:ec2::254]/"


@pytest.mark.usefixtures("imds_on")
def test_a_bad_metadata_endpoint_is_a_one_line_usage_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL."""
    _point_at(monkeypatch, "ftp://169.254.169.254/")
    with pytest.raises(UsageError, match="AWS_EC2_METADATA_SERVICE_ENDPOINT") as caught:
        probe_imds()
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- principal


@pytest.mark.parametrize(
    ("arn", "kind", "name", "role", "session"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/ci", PrincipalType.USER, "ci", None, None),
        (f"arn:aws:iam::{ACCOUNT}:user/team/a/ci", PrincipalType.USER, "ci", None, None),
        (f"arn:aws-cn:iam::{ACCOUNT}:user/ci", PrincipalType.USER, "ci", None, None),
        (f"arn:aws:iam::{ACCOUNT}:root", PrincipalType.ROOT, "root", None, None),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/bob",
            PrincipalType.ASSUMED_ROLE,
            "Admin",
            "Admin",
            "bob",
        ),
        (
            f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/Web/i-0123456789abcdef0",
            PrincipalType.ASSUMED_ROLE,
            "Web",
            "Web",
            "i-0123456789abcdef0",
        ),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ReadOnly_0123456789abcdef/a@b.c",
            PrincipalType.SSO_ROLE,
            "AWSReservedSSO_ReadOnly_0123456789abcdef",
            "AWSReservedSSO_ReadOnly_0123456789abcdef",
            "a@b.c",
        ),
        (
            f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
            PrincipalType.FEDERATED_USER,
            "carol",
            None,
            None,
        ),
        (f"arn:aws:iam::{ACCOUNT}:role/x", PrincipalType.UNKNOWN, None, None, None),
        ("not-an-arn", PrincipalType.UNKNOWN, None, None, None),
    ],
)
def test_caller_arns_parse_into_principal_types(
    arn: str, kind: PrincipalType, name: str | None, role: str | None, session: str | None
) -> None:
    """Each GetCallerIdentity ARN shape maps to its principal type, name, role and session."""
    principal = parse_principal(arn)
    assert (principal.type, principal.name, principal.role_name, principal.session_name) == (
        kind,
        name,
        role,
        session,
    )


def test_sso_role_names_its_permission_set() -> None:
    """An AWSReservedSSO_<set>_<hex> role is read as IAM Identity Center permission set <set>."""
    principal = parse_principal(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Power_User_0123456789abcdef/dave"
    )
    assert principal.permission_set == "Power_User"


# --------------------------------------------------------------------------- whoami


def test_whoami_off_ec2_with_env_keys() -> None:
    """Env keys off EC2: IAM user, source 'env', long-term, no expiry, no warnings."""
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci")})
    me = whoami(stub.session)
    assert stub.sent == ["GetCallerIdentity"]
    assert (me.account, me.principal_type, me.principal_name) == (
        ACCOUNT,
        PrincipalType.USER,
        "ci",
    )
    assert (me.credential_source, me.temporary, me.expires_at) == ("env", False, None)
    assert me.access_key_id_masked == "AKIA…KEY0"
    assert (me.region, me.profile, me.on_ec2) == ("us-east-1", None, False)
    assert me.warnings == ()
    assert me.identity() == Identity(
        arn=f"arn:aws:iam::{ACCOUNT}:user/ci",
        account=ACCOUNT,
        user_id="AIDAEXAMPLEUSERID0001",
        credential_source="env",
    )


def test_whoami_json_has_exactly_the_documented_keys() -> None:
    """to_json has exactly JSON_KEYS (a superset of the issue's list) and is JSON-serializable."""
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci")})
    document = whoami(stub.session).to_json()
    assert list(document) == list(JSON_KEYS)
    assert set(JSON_KEYS) >= REQUIRED_JSON_KEYS
    assert json.loads(json.dumps(document)) == document
    assert document["credential_source"] == "env"
    assert document["principal_type"] == "iam-user"
    assert document["warnings"] == []  # env keys of an IAM user: nothing to warn about


def test_root_credentials_warn_even_off_ec2() -> None:
    """A root ARN gives the 'root-credentials' warning, one line naming the fix."""
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)})
    me = whoami(stub.session)
    assert me.principal_type is PrincipalType.ROOT
    assert [w.id for w in me.warnings] == ["root-credentials"]
    assert "root user of account" in "\n".join(me.to_lines())
    assert f"warning: {WARNINGS['root-credentials']}" in me.to_lines()


@pytest.mark.usefixtures("imds_on")
def test_env_user_keys_on_an_instance_with_a_role_warn_three_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Long-term env keys on an instance whose role exists and whose IMDSv1 answers: 3 warnings."""
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci")})
    with FakeImds(v1=True) as fake:
        _point_at(monkeypatch, fake.url)
        me = whoami(stub.session)
    assert (me.on_ec2, me.instance_id, me.instance_role, me.imds_v1_enabled) == (
        True,
        "i-0123456789abcdef0",
        "probe-instance-role",
        True,
    )
    assert [w.id for w in me.warnings] == [
        "long-term-keys-on-ec2",
        "env-keys-shadow-instance-role",
        "imds-v1-enabled",
    ]
    messages = [w.message for w in me.warnings]
    assert "use the instance's IAM role instead" in messages[0]
    assert "AKIA…KEY0" in messages[0]
    assert "unset AWS_ACCESS_KEY_ID" in messages[1]
    assert "--http-tokens required" in messages[2]


@pytest.mark.usefixtures("imds_on")
def test_temporary_env_keys_on_an_instance_only_warn_about_shadowing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ASIA keys with a token in env on a v2-only instance with a role: only the shadow warning."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAAWSPROBEFAKEKEY1")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FakeEnvSessionToken")
    stub = StubSts(
        {"GetCallerIdentity": _sts_identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/me")}
    )
    with FakeImds(v1=False) as fake:
        _point_at(monkeypatch, fake.url)
        me = whoami(stub.session)
    assert me.temporary
    assert me.expires_at is None  # static env credentials carry no expiry
    assert [w.id for w in me.warnings] == ["env-keys-shadow-instance-role"]


@pytest.mark.usefixtures("imds_on")
def test_explicit_user_keys_on_an_instance_without_a_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Long-term keys (not from env) on a v2-only instance with no role: only the key warning."""
    session = boto3.Session(
        aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_SECRET, region_name="us-east-1"
    )
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci")})
    session._session.register("before-send.sts", stub._answer)
    with FakeImds(v1=False, role=None) as fake:
        _point_at(monkeypatch, fake.url)
        me = whoami(session)
    assert me.credential_source == "explicit"
    assert [w.id for w in me.warnings] == ["long-term-keys-on-ec2"]


@pytest.mark.usefixtures("imds_on", "moto_sts")
def test_instance_role_credentials_are_reported_as_iam_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no keys set, botocore takes the instance role: source iam-role, temporary, expiring."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with FakeImds(v1=False) as fake:
        _point_at(monkeypatch, fake.url)
        me = whoami(boto3.Session())
    assert (me.credential_source, me.temporary) == ("iam-role", True)
    assert me.access_key_id_masked == mask_key(ROLE_KEY)
    assert me.expires_at is not None
    assert me.expires_at > _dt.datetime.now(_dt.UTC)
    assert me.warnings == ()
    text = "\n".join(me.to_lines())
    assert "not readable from the instance metadata service" in text
    assert ROLE_SECRET not in text
    assert ROLE_TOKEN not in text


@pytest.mark.usefixtures("imds_on")
def test_not_on_ec2_says_so_and_makes_no_policy_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off EC2 the text says so and has no instance or role-policy lines."""
    _point_at(monkeypatch, closed_port_url())
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci")})
    lines = whoami(stub.session).to_lines()
    assert any(line.startswith("EC2") and "not on EC2" in line for line in lines)
    labels = {line.split("  ", 1)[0].strip() for line in lines}
    assert not labels & {"EC2 instance", "instance role", "role policy"}


def test_imds_not_checked_is_not_reported_as_off_ec2() -> None:
    """With the metadata probe disabled the text says it was not checked, not 'not on EC2'."""
    stub = StubSts({"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci")})
    lines = whoami(stub.session).to_lines()
    ec2 = [line for line in lines if line.startswith("EC2")]
    assert len(ec2) == 1
    assert "not checked: AWS_EC2_METADATA_DISABLED=true" in ec2[0]


def test_every_warning_is_one_line_with_a_fix() -> None:
    """Each WARNINGS template renders to one line that says what to do after a colon."""
    imds = ImdsInfo(
        on_ec2=True, instance_id="i-0123456789abcdef0", instance_role="r", imds_v1_enabled=True
    )
    found = identity_warnings(
        parse_principal(f"arn:aws:iam::{ACCOUNT}:root"), "env", FAKE_KEY, False, imds
    )
    assert [w.id for w in found] == list(WARNINGS)
    for warning in found:
        assert "\n" not in warning.message
        assert ": " in warning.message
        assert FAKE_KEY not in warning.message


def test_no_credentials_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere: CredentialsError, one line, nothing sent."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    stub = StubSts({})
    with pytest.raises(CredentialsError, match="no AWS credentials") as caught:
        whoami(stub.session)
    assert "\n" not in str(caught.value)
    assert stub.sent == []


def test_expired_credentials_are_a_one_line_error() -> None:
    """STS ExpiredToken on GetCallerIdentity: CredentialsError, one line, cause kept."""
    stub = StubSts(
        {
            "GetCallerIdentity": _sts_error(
                403, "ExpiredToken", "The security token included in the request is expired"
            )
        }
    )
    with pytest.raises(CredentialsError, match="ExpiredToken") as caught:
        whoami(stub.session)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("AKIAAWSPROBEFAKEKEY0", "AKIA…KEY0"),
        ("ASIAIOSFODNN7EXAMPLE", "ASIA…MPLE"),
        ("SHORTKEY", "********"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_key_shows_first_and_last_four(key: str | None, shown: str) -> None:
    """Key ids show 4 + … + 4 characters; keys under 12 characters are masked entirely."""
    assert mask_key(key) == shown


def test_no_secret_appears_in_any_whoami_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text, JSON and repr of a WhoAmI hold the masked key id only: no key, secret or token."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FakeEnvSessionTokenValue")
    stub = StubSts(
        {"GetCallerIdentity": _sts_identity(f"arn:aws:iam::{ACCOUNT}:user/ci", FAKE_KEY)}
    )
    me = whoami(stub.session)
    outputs = ["\n".join(me.to_lines()), json.dumps(me.to_json(), ensure_ascii=False), repr(me)]
    for output in outputs:
        for secret in (FAKE_KEY, FAKE_SECRET, "FakeEnvSessionTokenValue"):
            assert secret not in output
        assert "AKIA…KEY0" in output


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("headers={'X-Amz-Security-Token': b'IQoJb3JpZ2luX2VjEXAMPLE+/=='}", "IQoJb3JpZ2lu"),
        ("x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE", "IQoJb3JpZ2lu"),
        ("<SessionToken>FQoGZXIvYXdzEXAMPLE=</SessionToken>", "FQoGZXIvYXdz"),
        ("<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>", "wJalr"),
        ('{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", "Token": "abcTOKEN"}', "wJalr"),
        ('{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", "Token": "abcTOKEN"}', "abcTOKEN"),
        ("aws_secret_access_key = awsprobe/fake/secret/key/never/valid/0000", "awsprobe/fake"),
        ("aws_session_token=TOKENVALUE123", "TOKENVALUE123"),
        ("'X-aws-ec2-metadata-token': 'AQAEAFakeImdsToken=='", "AQAEAFakeImdsToken"),
        ("Credential=AKIAAWSPROBEFAKEKEY0/20260101/us-east-1/sts/aws4_request", FAKE_KEY),
        ("Signature=" + "ab12" * 16, "ab12" * 16),
        ("Signature:\n" + "cd34" * 16, "cd34" * 16),
        ("loose wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here", "wJalrXUtnFEMI"),
        ("'TokenCode': '123456'", "'123456'"),
    ],
)
def test_redact_removes_secrets_in_every_spelling(line: str, secret: str) -> None:
    """Key ids are masked; secrets, tokens and signatures are replaced, whatever the syntax."""
    assert secret not in redact(line)


def test_redact_keeps_ordinary_text() -> None:
    """Text without secrets passes through unchanged (a 40-hex digest is not a secret)."""
    text = "GetCallerIdentity 200 in 0.1 s; sha1 " + "0123456789abcdef" * 2 + "01234567"
    assert redact(text) == text


@settings(deadline=None)  # hypothesis's 200 ms per example is a wall-time bound
@given(
    prefix=st.sampled_from(["AKIA", "ASIA"]),
    body=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16),
    template=st.sampled_from(
        ["{k}", "Credential={k}/x", "'{k}'", "<AccessKeyId>{k}</AccessKeyId>"]
    ),
)
def test_any_access_key_id_is_masked(prefix: str, body: str, template: str) -> None:
    """No full access key id survives redaction, in any of the shapes botocore logs."""
    key = prefix + body
    assert key not in redact(template.format(k=key))
    assert mask_key(key) in redact(template.format(k=key))


def test_redaction_filter_rewrites_message_and_traceback() -> None:
    """RedactSecrets redacts the formatted message (args included) and the exception text."""
    try:
        raise ValueError(f"bad key {FAKE_KEY}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "botocore.x", logging.DEBUG, __file__, 1, "key %s", (FAKE_KEY,), sys.exc_info()
        )
    assert RedactSecrets().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert FAKE_KEY not in formatted
    assert "AKIA…KEY0" in formatted


def _secrets_in_debug_log(caplog: pytest.LogCaptureFixture, text: Callable[[], str]) -> list[str]:
    """Run MFA, assume-role and whoami against moto with DEBUG logs; the secrets ``text()``
    (what a handler output) holds afterwards."""
    caplog.set_level(logging.DEBUG)
    base = boto3.Session(
        aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_SECRET, region_name="us-east-1"
    )
    mfa = mfa_session(base, serial=MFA_ARN, code="123456")
    whoami(mfa, imds=False)
    role = assume_role_session(base, role_arn=ROLE_ARN)
    whoami(role, imds=False)
    secrets = [FAKE_KEY, FAKE_SECRET]
    for session in (mfa, role):
        frozen = session.get_credentials().get_frozen_credentials()
        secrets += [frozen.access_key, frozen.secret_key, frozen.token]
    output = text()
    assert "GetSessionTokenResponse" in output  # the bodies were logged
    return [secret for secret in secrets if secret in output]


@pytest.mark.usefixtures("moto_sts")
def test_botocore_debug_log_carries_secrets_without_redaction(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Control: botocore's own DEBUG log does show key ids, secrets and tokens."""
    assert _secrets_in_debug_log(
        caplog, lambda: caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    )


@pytest.mark.usefixtures("moto_sts")
def test_a_redacting_handler_outputs_no_secret_of_botocore_debug_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler with the RedactSecrets filter (as the CLI's --debug handler has) outputs
    botocore's DEBUG log with no key id, secret or token; the process's log record
    factory is left alone."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        assert _secrets_in_debug_log(caplog, stream.getvalue) == []
    finally:
        root.removeHandler(handler)
    assert "[REDACTED]" in stream.getvalue()
    assert logging.getLogRecordFactory() is logging.LogRecord


# --------------------------------------------------------------------------- MFA


@pytest.mark.usefixtures("moto_sts")
def test_mfa_session_against_moto_probes_with_temporary_credentials() -> None:
    """GetSessionToken via moto gives a temporary, expiring session that probe() can use."""
    session = mfa_session(serial=MFA_ARN, code="123456", duration_seconds=900)
    credentials = session.get_credentials()
    assert credentials.method == MFA_METHOD
    me = whoami(session)
    assert (me.credential_source, me.temporary) == (MFA_METHOD, True)
    assert me.expires_at is not None
    assert 0 < (me.expires_at - _dt.datetime.now(_dt.UTC)).total_seconds() <= 900
    matrix = probe(
        catalog=Catalog([load_catalog("ec2").find("ec2:DescribeInstances")]), session=session
    )
    assert matrix.results[0].outcome is Outcome.ALLOWED  # moto's 412 DryRunOperation


@pytest.mark.usefixtures("moto_sts")
def test_mfa_session_accepts_a_hardware_token_serial() -> None:
    """A hardware token's serial number (GAHT12345678) is a valid --mfa-serial."""
    seen: list[dict[str, Any]] = []
    base = botocore.session.get_session()
    base.register("before-call.sts.GetSessionToken", lambda params, **_: seen.append(params))
    mfa_session(base, serial="GAHT12345678", code="654321")
    assert seen[0]["body"]["SerialNumber"] == "GAHT12345678"
    assert seen[0]["body"]["TokenCode"] == "654321"


@pytest.mark.parametrize(
    "message",
    [
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your "
        "MFA serial number is valid and associated with this user.",
    ],
)
def test_a_wrong_mfa_code_is_a_one_line_error(message: str) -> None:
    """STS AccessDenied for a bad code becomes one CredentialsError line asking for a fresh code."""
    stub = StubSts({"GetSessionToken": _sts_error(403, "AccessDenied", message)})
    with pytest.raises(CredentialsError, match="--mfa-code") as caught:
        mfa_session(stub.session, serial=MFA_ARN, code="000000")
    assert "\n" not in str(caught.value)
    assert "AccessDenied" in str(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)


def test_expired_base_credentials_for_mfa_are_a_one_line_error() -> None:
    """STS ExpiredToken on GetSessionToken becomes one CredentialsError line."""
    stub = StubSts(
        {
            "GetSessionToken": _sts_error(
                403, "ExpiredToken", "The security token included in the request is expired"
            )
        }
    )
    with pytest.raises(CredentialsError, match="expired") as caught:
        mfa_session(stub.session, serial=MFA_ARN, code="123456")
    assert "\n" not in str(caught.value)


def test_an_expired_mfa_session_asks_for_a_fresh_code() -> None:
    """Once an MFA session expires, using it raises one CredentialsError line (no silent retry)."""
    past = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=1)
    stub = StubSts({"GetSessionToken": _sts_credentials("GetSessionToken", past)})
    session = mfa_session(stub.session, serial=MFA_ARN, code="123456")
    with pytest.raises(CredentialsError, match="fresh --mfa-code"):
        session.get_credentials().get_frozen_credentials()
    assert stub.sent == ["GetSessionToken"]


@pytest.mark.parametrize(
    ("serial", "code", "duration", "flag"),
    [
        ("arn:aws:iam::12345:mfa/ci", "123456", None, "--mfa-serial"),
        (f"arn:aws:iam::{ACCOUNT}:user/ci", "123456", None, "--mfa-serial"),
        ("short", "123456", None, "--mfa-serial"),
        (MFA_ARN, "12345", None, "--mfa-code"),
        (MFA_ARN, "12345a", None, "--mfa-code"),
        (MFA_ARN, "123456", 60, "--duration-seconds"),
    ],
)
def test_bad_mfa_input_is_a_one_line_usage_error(
    serial: str, code: str, duration: int | None, flag: str
) -> None:
    """A malformed serial, code or duration is refused before anything is sent."""
    stub = StubSts({})
    with pytest.raises(UsageError, match=flag) as caught:
        mfa_session(stub.session, serial=serial, code=code, duration_seconds=duration)
    assert "\n" not in str(caught.value)
    assert stub.sent == []


# --------------------------------------------------------------------------- assume role


@pytest.mark.usefixtures("moto_sts")
def test_assume_role_session_against_moto_is_refreshable() -> None:
    """AssumeRole via moto: the session is the role, and renews itself by assuming it again."""
    calls: list[dict[str, Any]] = []
    base = botocore.session.get_session()
    base.register("before-call.sts.AssumeRole", lambda params, **_: calls.append(params["body"]))
    session = assume_role_session(
        base, role_arn=ROLE_ARN, session_name="ci-run", external_id="ext-42"
    )
    me = whoami(session)
    assert me.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/probe/ci-run"
    assert (me.principal_type, me.role_name, me.session_name) == (
        PrincipalType.ASSUMED_ROLE,
        "probe",
        "ci-run",
    )
    assert (me.credential_source, me.temporary) == (ASSUME_ROLE_METHOD, True)
    assert calls[0]["ExternalId"] == "ext-42"
    credentials = session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    first = credentials.get_frozen_credentials().access_key
    credentials._expiry_time = _dt.datetime.now(_dt.UTC)  # as if the hour had passed
    assert credentials.get_frozen_credentials().access_key != first
    assert len(calls) == 2


@pytest.mark.usefixtures("moto_sts")
def test_assume_role_default_session_name_and_probe() -> None:
    """Without --role-session-name the session is awsprobe-<user>; probe() runs as the role."""
    session = assume_role_session(role_arn=ROLE_ARN)
    me = whoami(session)
    assert (me.session_name or "").startswith("awsprobe")
    matrix = probe(
        catalog=Catalog([load_catalog("ec2").find("ec2:DescribeInstances")]), session=session
    )
    assert matrix.identity.arn == me.arn
    assert matrix.results[0].outcome is Outcome.ALLOWED


def test_assume_role_access_denied_is_a_one_line_error() -> None:
    """AssumeRole AccessDenied becomes one CredentialsError line pointing at the trust policy."""
    message = (
        f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: "
        f"sts:AssumeRole on resource: {ROLE_ARN}"
    )
    stub = StubSts({"AssumeRole": _sts_error(403, "AccessDenied", message)})
    with pytest.raises(CredentialsError, match="trust policy") as caught:
        assume_role_session(stub.session, role_arn=ROLE_ARN)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"role_arn": "probe"}, "--assume-role"),
        ({"role_arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}, "--assume-role"),
        ({"role_arn": ROLE_ARN, "session_name": "has space"}, "--role-session-name"),
        ({"role_arn": ROLE_ARN, "external_id": "x"}, "--external-id"),
        ({"role_arn": ROLE_ARN, "duration_seconds": 100000}, "--duration-seconds"),
    ],
)
def test_bad_assume_role_input_is_a_one_line_usage_error(kwargs: dict[str, Any], flag: str) -> None:
    """A malformed role ARN, session name, external id or duration is refused before sending."""
    stub = StubSts({})
    with pytest.raises(UsageError, match=flag) as caught:
        assume_role_session(stub.session, **kwargs)
    assert "\n" not in str(caught.value)
    assert stub.sent == []


# --------------------------------------------------------------------------- exports


@pytest.mark.usefixtures("moto_sts")
def test_session_exports_hand_the_credentials_to_a_shell() -> None:
    """`export` lines (shell-quoted) carry key, secret, token and expiry of the MFA session."""
    session = mfa_session(serial=MFA_ARN, code="123456")
    frozen = session.get_credentials().get_frozen_credentials()
    exported = dict(shlex.split(line)[1].split("=", 1) for line in session_exports(session))
    assert exported["AWS_ACCESS_KEY_ID"] == frozen.access_key
    assert exported["AWS_SECRET_ACCESS_KEY"] == frozen.secret_key
    assert exported["AWS_SESSION_TOKEN"] == frozen.token
    assert exported["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    document = session_json(session)
    assert document["Version"] == 1
    assert document["SessionToken"] == frozen.token
    assert set(document) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }


def test_session_exports_of_static_keys_clear_any_old_token() -> None:
    """Long-term keys export no token and no expiry, and unset a stale AWS_SESSION_TOKEN."""
    lines = session_exports(botocore.session.get_session())
    assert lines[-1] == "unset AWS_SESSION_TOKEN"
    assert len(lines) == 3
