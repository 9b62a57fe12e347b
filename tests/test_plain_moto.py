"""Against plain moto (no sandbox layer), on 127.0.0.1 and a free port.

moto honours the dry-run flag on ~92 EC2 operations and runs the rest for real,
and says AccessDenied where AWS says UnauthorizedOperation (moto
``ec2/responses/_base_response.py`` ``error_on_dryrun`` and ``core/exceptions.py``
``AccessDeniedError``; getmoto/moto#1980).
This proves the classifier reads both: AccessDenied -> denied, and a 2xx answer
-> dry_run_ignored with a loud warning, never allowed.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

from awsprobe.catalog import Catalog, load_catalog
from awsprobe.classify import Outcome
from awsprobe.probing.orchestrate import probe

moto_server = pytest.importorskip("moto.server")

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reset_auth(endpoint: str, value: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=value.encode(),
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        json.loads(answer.read())


@pytest.fixture(scope="module")
def moto_user() -> Iterator[tuple[boto3.Session, str]]:
    """A moto server with IAM enforcement on and a user allowed ec2:Describe* only."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port())
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        admin = boto3.Session("AKIAADMINADMINADMIN0", "admin", region_name="us-east-1")
        iam = admin.client("iam", endpoint_url=endpoint)
        iam.create_user(UserName="probe")
        iam.put_user_policy(
            UserName="probe", PolicyName="describe", PolicyDocument=json.dumps(POLICY)
        )
        key = iam.create_access_key(UserName="probe")["AccessKey"]
        _reset_auth(endpoint, "0")
        user = boto3.Session(key["AccessKeyId"], key["SecretAccessKey"], region_name="us-east-1")
        yield user, endpoint
    finally:
        _reset_auth(endpoint, "inf")
        server.stop()


def _catalog(*actions: str) -> Catalog:
    ec2 = load_catalog(services="ec2")
    return Catalog(ec2.find(a) for a in actions)


def test_moto_access_denied_is_denied(moto_user: tuple[boto3.Session, str]) -> None:
    """moto's AccessDenied (AWS would say UnauthorizedOperation) classifies as denied."""
    session, endpoint = moto_user
    matrix = probe(
        catalog=_catalog("ec2:RunInstances", "ec2:TerminateInstances"),
        session=session,
        endpoint_url=endpoint,
    )
    assert {r.outcome for r in matrix} == {Outcome.DENIED}
    assert {r.code for r in matrix} == {"AccessDenied"}


def test_moto_dry_run_operation_is_allowed(moto_user: tuple[boto3.Session, str]) -> None:
    """An operation moto honours answers 412 DryRunOperation: allowed."""
    session, endpoint = moto_user
    matrix = probe(
        catalog=_catalog("ec2:DescribeInstances"), session=session, endpoint_url=endpoint
    )
    result = matrix.results[0]
    assert (result.outcome, result.code, result.http_status) == (
        Outcome.ALLOWED,
        "DryRunOperation",
        412,
    )


def test_moto_running_the_call_is_dry_run_ignored(moto_user: tuple[boto3.Session, str]) -> None:
    """DescribeVolumes is allowed but moto ignores DryRun and answers 200: dry_run_ignored."""
    session, endpoint = moto_user
    matrix = probe(catalog=_catalog("ec2:DescribeVolumes"), session=session, endpoint_url=endpoint)
    result = matrix.results[0]
    assert result.outcome is Outcome.DRY_RUN_IGNORED
    assert result.http_status == 200
    assert any("DRY RUN IGNORED: ec2:DescribeVolumes" in w for w in matrix.warnings)
    assert matrix.summary["allowed"] == 0
