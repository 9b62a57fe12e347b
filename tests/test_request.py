"""Request probes: the user's exact request as a dry run (``awsprobe request``,
``awsprobe.probe_request``, ``[[request]]`` in ``check`` files, ``params=`` in the plugin).

Expected values come from outside the code under test:

* what ``RunInstances`` takes: the EC2 API Reference, RunInstances
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html):
  ``MinCount`` and ``MaxCount`` are the required integers, ``ImageId`` and
  ``InstanceType`` strings, ``IamInstanceProfile`` an object with ``Arn``/``Name``,
  ``TagSpecifications`` a list of objects whose ``Tags`` have string ``Key``/``Value``;
  ``UserData`` is marked ``sensitive`` in botocore's model of EC2;
* the wire form of an EC2 query request (``IamInstanceProfile.Name=…``,
  ``TagSpecification.1.Tag.1.Key=…``): the EC2 API Reference, "Query requests";
* the rules the sandbox must follow for a real request, from the IAM User Guide and
  the Service Authorization Reference (issue 16, "Tests"): an instance profile brings
  in ``iam:PassRole`` on its role with ``iam:PassedToService = ec2.amazonaws.com``;
  ``TagSpecifications`` bring in ``ec2:CreateTags`` with ``ec2:CreateAction =
  RunInstances``; ``ec2:InstanceType`` is a condition key of ``RunInstances`` on the
  instance resource.

Only one sandbox may run per process: the module shares one (:func:`sandbox`) and
swaps its policy; the CLI reaches it through ``AWS_ENDPOINT_URL`` and the sandbox
user's keys, and the one ``--sandbox --policy`` run is a subprocess of its own.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import awsprobe
from awsprobe import Outcome, Sandbox, UsageError
from awsprobe.catalog import _cache_dir, load_catalog
from awsprobe.cli import main
from awsprobe.expect import Expectations, Expected
from awsprobe.probing.request import REDACTED, probe_request, redacted_params
from awsprobe.sandbox import SANDBOX_ACCOUNT
from tests.faults import FaultServer

pytest_plugins = ["pytester"]

V = "2012-10-17"
ALLOW_ALL = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DENY_RUN = {
    "Version": V,
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "NoLaunch", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"},
    ],
}
#: The launch of the README: one t3.micro of an image, nothing else.
LAUNCH = {
    "ImageId": "ami-0abcdef1234567890",
    "InstanceType": "t3.micro",
    "MinCount": 1,
    "MaxCount": 1,
}
PROFILE = "app-server"
WITH_PROFILE = {**LAUNCH, "IamInstanceProfile": {"Name": PROFILE}}
WITH_TAGS = {
    **LAUNCH,
    "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "web"}]}],
}
#: What a request needs besides the action itself: decode its own denials.
DECODE = {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}
TRUST = {
    "Version": V,
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
README = (Path(__file__).resolve().parent.parent / "README.rst").read_text(encoding="utf-8")


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": [*statements, DECODE]}


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- bad input: one line, exit 2, nothing sent --------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (
            {**LAUNCH, "ImageID": "ami-0abcdef1234567890"},
            "unknown parameter ImageID; did you mean ImageId?",
        ),
        ({**LAUNCH, "MinCount": "1"}, "MinCount must be an integer, not a string"),
        (
            {"ImageId": "ami-0abcdef1234567890", "MinCount": 1},
            "missing required parameter MaxCount",
        ),
        ({**LAUNCH, "DryRun": False}, "DryRun is false; awsprobe only sends dry runs"),
        ({**LAUNCH, "DryRun": "yes"}, 'DryRun is "yes"'),
        (
            {**LAUNCH, "IamInstanceProfile": {"Nmae": PROFILE}},
            "unknown parameter Nmae in IamInstanceProfile",
        ),
        (
            {**LAUNCH, "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": 7}]}]},
            "TagSpecifications[0].Tags[0].Key must be a string, not an integer",
        ),
        ({**LAUNCH, "IamInstanceProfile": "app-server"}, "IamInstanceProfile must be an object"),
    ],
    ids=[
        "unknown",
        "type",
        "missing",
        "dryrun-false",
        "dryrun-not-bool",
        "nested-unknown",
        "nested-type",
        "object",
    ],
)
def test_bad_parameters_are_one_line_exit_2_and_nothing_is_sent(
    capsys: pytest.CaptureFixture[str], params: dict[str, Any], words: str
) -> None:
    """Each parameter the model refuses is named in one line, exit 2; no request leaves,
    not even the caller-identity call."""
    with FaultServer() as fake:
        code, out, err = _cli(
            capsys,
            "request",
            "ec2:RunInstances",
            "--params",
            json.dumps(params),
            "--endpoint-url",
            fake.url,
        )
        assert fake.requests == []
    assert code == 2
    assert out == ""
    assert words in err
    assert err.startswith("awsprobe: ec2:RunInstances: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["ec2:RunInstances", "--params", "{MinCount: 1}"], "--params: not valid JSON"),
        (["ec2:RunInstances", "--params", "[1, 2]"], "--params: give a JSON object"),
        (["ec2:RunInstances", "--params", '{"MinCount": 1, "MinCount": 2}'], "appears twice"),
        (["ec2:RunInstances", "--params", "@/nonexistent/launch.json"], "no such file"),
        (["ec2:RunInstancez"], "close matches: ec2:RunInstances"),
        (["ec2:Run*"], "not a glob"),
        (["network-firewall:CreateFirewallPolicy"], "is not probed: its dry run answers HTTP 200"),
    ],
)
def test_bad_command_lines_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    """Malformed --params, an unknown action, a glob and an action awsprobe does not probe
    (Network Firewall's dry run answers 200 like a real call) are bad input."""
    with FaultServer() as fake:
        code, _, err = _cli(capsys, "request", *argv, "--endpoint-url", fake.url)
        assert fake.requests == []
    assert code == 2
    assert words in err
    assert err.count("\n") == 1


def test_the_library_refuses_bad_parameters_before_sending() -> None:
    """probe_request raises UsageError (no session needed: nothing is sent)."""
    with pytest.raises(UsageError, match="missing required parameter MinCount"):
        probe_request("ec2:RunInstances", {"MaxCount": 1})
    with pytest.raises(UsageError, match="must be an object of parameter names"):
        probe_request("ec2:RunInstances", ["MinCount", 1])  # type: ignore[arg-type]


# -- the request on the wire ----------------------------------------------------------------


def test_the_exact_request_is_sent_with_the_flag_and_nothing_else(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every given parameter is on the wire as given, DryRun=true is added, and nothing of
    the catalog probe's placeholders is; --params @FILE reads the same JSON."""
    launch = tmp_path / "launch.json"
    launch.write_text(json.dumps({**WITH_PROFILE, **WITH_TAGS}), encoding="utf-8")
    with FaultServer() as fake:
        code, out, _ = _cli(
            capsys,
            "request",
            "ec2:RunInstances",
            "--params",
            f"@{launch}",
            "--endpoint-url",
            fake.url,
            "--output",
            "json",
        )
        [sent] = fake.probes("RunInstances")
    assert code == 0
    form = {key: values[0] for key, values in parse_qs(sent.body.decode()).items()}
    assert form == {
        "Action": "RunInstances",
        "Version": form["Version"],
        "ImageId": "ami-0abcdef1234567890",
        "InstanceType": "t3.micro",
        "MinCount": "1",
        "MaxCount": "1",
        "IamInstanceProfile.Name": PROFILE,
        "TagSpecification.1.ResourceType": "instance",
        "TagSpecification.1.Tag.1.Key": "team",
        "TagSpecification.1.Tag.1.Value": "web",
        "DryRun": "true",
        "ClientToken": form["ClientToken"],  # botocore's idempotency token, as for any call
    }
    result = json.loads(out)
    assert result["outcome"] == "allowed"
    assert result["params"] == {**WITH_PROFILE, **WITH_TAGS, "DryRun": True}


def test_secrets_never_leave_in_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    """UserData (sensitive in the model) is redacted, an access key id masked, a token's
    value removed -- in the JSON output, while the wire carries them."""
    key = "AKIAIOSFODNN7EXAMPLE"
    params = {**LAUNCH, "UserData": "c2VjcmV0", "ClientToken": f"launch-{key}"}
    with FaultServer() as fake:
        code, out, _ = _cli(
            capsys,
            "request",
            "ec2:RunInstances",
            "--params",
            json.dumps(params),
            "--endpoint-url",
            fake.url,
            "--output",
            "json",
        )
        [sent] = fake.probes("RunInstances")
    assert code == 0
    assert b"UserData=YzJWamNtVjA%3D" in sent.body  # botocore base64-encodes UserData itself
    shown = json.loads(out)["params"]
    assert shown["UserData"] == REDACTED
    assert key not in out
    assert "c2VjcmV0" not in out
    assert redacted_params({"SessionToken": "FwoGZXIvYXdzEXAMPLE"}, None) == {
        "SessionToken": REDACTED
    }


def test_kms_plaintext_is_redacted_by_the_model() -> None:
    """KMS marks Encrypt's Plaintext sensitive (botocore's model): it is never shown."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model("kms").operation_model("Encrypt")
    shown = redacted_params({"KeyId": "alias/app", "Plaintext": b"hunter2"}, shape.input_shape)
    assert shown == {"KeyId": "alias/app", "Plaintext": REDACTED}


def test_a_request_probe_carries_no_not_exercised_note() -> None:
    """A request probe is the real request: nothing is left for a real request to add."""
    with FaultServer() as fake:
        result = probe_request("ec2:RunInstances", WITH_PROFILE, endpoint_url=fake.url)
    assert result.outcome is Outcome.ALLOWED
    assert result.params == {**WITH_PROFILE, "DryRun": True}
    assert result.placeholders == ()
    assert getattr(result, "not_exercised", None) is None


def test_a_request_probe_names_no_placeholder_of_the_catalog_probe() -> None:
    """The catalog's TerminateInstances probe sends a placeholder instance id; a request
    probe sends the caller's ids, so its result lists no placeholder."""
    from awsprobe.catalog import load_catalog

    (entry,) = load_catalog(actions=["ec2:TerminateInstances"])
    assert entry.placeholders == ("InstanceIds",)
    with FaultServer() as fake:
        result = probe_request(
            "ec2:TerminateInstances",
            {"InstanceIds": ["i-0123456789abcdef0"]},
            endpoint_url=fake.url,
        )
    assert result.params == {"InstanceIds": ["i-0123456789abcdef0"], "DryRun": True}
    assert result.placeholders == ()


# -- against the sandbox ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module, with an instance profile ``app-server`` on a role of the
    same name (created through the endpoint, as a user would)."""
    with Sandbox(ALLOW_ALL) as running:
        iam = running.admin_session().client("iam", endpoint_url=running.endpoint_url)
        iam.create_role(RoleName=PROFILE, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.create_instance_profile(InstanceProfileName=PROFILE)
        iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=PROFILE)
        yield running


@pytest.fixture
def as_sandbox_user(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The CLI talks to the shared sandbox as its user (AWS_ENDPOINT_URL and its keys)."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return sandbox


def _probe(sandbox: Sandbox, params: dict[str, Any], **kwargs: Any) -> awsprobe.ProbeResult:
    return awsprobe.probe_request(
        "ec2:RunInstances",
        params,
        session=sandbox.session(),
        endpoint_url=sandbox.endpoint_url,
        **kwargs,
    )


def test_allowed_by_an_allow_all_policy(
    as_sandbox_user: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Action * allows the launch: exit 0, the verdict first, the parameters as sent last."""
    as_sandbox_user.set_policy(ALLOW_ALL)
    code, out, _ = _cli(capsys, "request", "ec2:RunInstances", "--params", json.dumps(LAUNCH))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "verdict:   allowed (DryRunOperation)"
    assert lines[1] == "request:   ec2:RunInstances in us-east-1"
    assert lines[2] == f"identity:  {as_sandbox_user.user_arn}"
    assert lines[-1].startswith('params:    {"ImageId": "ami-0abcdef1234567890"')


def test_denied_by_a_deny_policy_names_the_statement(
    as_sandbox_user: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """An explicit deny of ec2:RunInstances: exit 1, the denied action, the statement."""
    as_sandbox_user.set_policy(DENY_RUN)
    code, out, _ = _cli(capsys, "request", "ec2:RunInstances", "--params", json.dumps(LAUNCH))
    assert code == 1
    assert "verdict:   denied (UnauthorizedOperation)\n" in out
    assert "denied:    ec2:RunInstances (explicit deny)\n" in out
    assert "statement: NoLaunch (deny)\n" in out


def test_json_output_is_one_result_object(
    as_sandbox_user: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """--output json: the matrix result fields README documents, plus params and decoded."""
    as_sandbox_user.set_policy(DENY_RUN)
    code, out, _ = _cli(
        capsys, "request", "ec2:RunInstances", "--params", json.dumps(LAUNCH), "--output", "json"
    )
    assert code == 1
    result = json.loads(out)
    documented = {
        "action",
        "service",
        "operation",
        "region",
        "outcome",
        "code",
        "http_status",
        "message",
        "attempts",
        "elapsed_ms",
    }  # README, "The permission matrix": each result's fields
    assert documented <= set(result)
    assert (result["action"], result["region"], result["outcome"]) == (
        "ec2:RunInstances",
        "us-east-1",
        "denied",
    )
    assert result["params"] == {**LAUNCH, "DryRun": True}
    assert result["decoded"]["explicit_deny"] is True
    assert result["decoded"]["denied_action"] == "ec2:RunInstances"
    assert result["decoded"]["matched_statements"] == [
        {"statement_id": "NoLaunch", "effect": "DENY"}
    ]


def test_check_asserts_request_tables(
    as_sandbox_user: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """[[request]] tables are checked with the lists: met ones pass, an unmet one is listed
    as a request with why, exit 1; a bad one is exit 2 before anything is sent."""
    as_sandbox_user.set_policy(DENY_RUN)
    expect = tmp_path / "expect.toml"
    expect.write_text(
        textwrap.dedent(
            """
            allow = ["ec2:DescribeInstances"]

            [[request]]
            action = "ec2:RunInstances"
            expect = "denied"
            params = { ImageId = "ami-0abcdef1234567890", MinCount = 1, MaxCount = 1 }

            [[request]]
            action = "ec2:RunInstances"
            expect = "allowed"
            region = "us-east-1"
            [request.params]
            InstanceType = "t3.micro"
            MinCount = 1
            MaxCount = 1
            """
        ),
        encoding="utf-8",
    )
    code, out, _ = _cli(capsys, "check", str(expect), "--decode")
    assert code == 1
    unmet, why, verdict = out.splitlines()
    assert unmet == (
        "UNMET  request ec2:RunInstances in us-east-1: expected allowed, got denied "
        "(UnauthorizedOperation)"
    )
    # the resource named is whichever AWS (here the sandbox) evaluates first
    assert fnmatch.fnmatch(
        why, "       why: explicit deny: ec2:RunInstances on * (statement NoLaunch)"
    )
    assert verdict == f"3 expectations checked for {as_sandbox_user.user_arn}: 1 unmet"
    code, out, _ = _cli(capsys, "check", str(expect), "--output", "json")
    [unmet] = json.loads(out)["unmet"]
    assert unmet["params"] == {
        "InstanceType": "t3.micro",
        "MinCount": 1,
        "MaxCount": 1,
        "DryRun": True,
    }
    as_sandbox_user.set_policy(ALLOW_ALL)
    before = len(as_sandbox_user.requests)
    expect.write_text(
        '[[request]]\naction = "ec2:RunInstances"\nexpect = "allowed"\nparams = { MinCount = 1 }\n',
        encoding="utf-8",
    )
    code, _, err = _cli(capsys, "check", str(expect))
    assert code == 2
    assert "[[request]] 1: ec2:RunInstances: missing required parameter MaxCount" in err
    assert len(as_sandbox_user.requests) == before


def test_expectations_from_a_request_need_one_action() -> None:
    """params= describes one request: two actions (or a glob) are bad input."""
    with pytest.raises(UsageError, match="give one action with it, not 2"):
        Expectations.asserting("allowed", ["ec2:RunInstances", "ec2:StartInstances"], LAUNCH)
    made = Expectations.asserting("denied", ["ec2:RunInstances"], LAUNCH)
    assert [(r.action, r.expected) for r in made.requests] == [("ec2:RunInstances", Expected.DENY)]


# -- what the sandbox evaluates of a real request (issue 12) ------------------------------


def test_an_instance_profile_needs_iam_pass_role(sandbox: Sandbox) -> None:
    """Allowed ec2:RunInstances but not iam:PassRole: a launch with an instance profile is
    denied naming iam:PassRole on the profile's role; allowing iam:PassRole on that role
    to ec2.amazonaws.com (iam:PassedToService) allows it."""
    run_only = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}
    sandbox.set_policy(_policy(run_only))
    assert _probe(sandbox, LAUNCH).outcome is Outcome.ALLOWED  # no profile: no PassRole
    denied = _probe(sandbox, WITH_PROFILE)
    assert denied.outcome is Outcome.DENIED
    assert denied.decoded is not None
    assert denied.decoded.denied_action == "iam:PassRole"
    role = f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/{PROFILE}"
    assert denied.decoded.resource == role
    pass_role = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": role,
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
    }
    sandbox.set_policy(_policy(run_only, pass_role))
    assert _probe(sandbox, WITH_PROFILE).outcome is Outcome.ALLOWED


def test_tag_specifications_need_ec2_create_tags(sandbox: Sandbox) -> None:
    """TagSpecifications without ec2:CreateTags: denied naming ec2:CreateTags; allowed once
    ec2:CreateTags is allowed with ec2:CreateAction = RunInstances."""
    run_only = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}
    sandbox.set_policy(_policy(run_only))
    denied = _probe(sandbox, WITH_TAGS)
    assert denied.outcome is Outcome.DENIED
    assert denied.decoded is not None
    assert denied.decoded.denied_action == "ec2:CreateTags"
    create_tags = {
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": "*",
        "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
    }
    sandbox.set_policy(_policy(run_only, create_tags))
    assert _probe(sandbox, WITH_TAGS).outcome is Outcome.ALLOWED


def test_an_instance_type_condition_decides_by_the_request(sandbox: Sandbox) -> None:
    """ec2:InstanceType = t3.micro on the instance (and every other resource allowed):
    t3.micro is allowed, m5.large denied."""
    sandbox.set_policy(
        _policy(
            {
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro"}},
            },
            {
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "NotResource": "arn:aws:ec2:*:*:instance/*",
            },
        )
    )
    assert _probe(sandbox, LAUNCH).outcome is Outcome.ALLOWED
    large = _probe(sandbox, {**LAUNCH, "InstanceType": "m5.large"})
    assert large.outcome is Outcome.DENIED
    assert large.decoded is not None
    assert large.decoded.denied_action == "ec2:RunInstances"


# -- the pytest plugin --------------------------------------------------------------------


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose children find the catalog index built here."""
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(_cache_dir()))
    return pytester


def test_the_plugin_asserts_one_request(pytester: pytest.Pytester) -> None:
    """assert_allowed/assert_denied(action, params=...) send that request; a miss reads
    like the other assertions, with the decoded reason; bad params fail in one line."""
    policy = pytester.path / "policy.json"
    policy.write_text(json.dumps(DENY_RUN), encoding="utf-8")
    pytester.makepyfile(
        f"""
        LAUNCH = {LAUNCH!r}

        def test_denied_request(aws_permissions):
            aws_permissions.assert_denied("ec2:RunInstances", params=LAUNCH)

        def test_allowed_request_fails(aws_permissions):
            aws_permissions.assert_allowed("ec2:RunInstances", params=LAUNCH)

        def test_bad_params(aws_permissions):
            aws_permissions.assert_allowed("ec2:RunInstances", params={{"MinCount": 1}})

        def test_two_actions(aws_permissions):
            aws_permissions.assert_allowed("ec2:RunInstances", "ec2:StartInstances",
                                           params=LAUNCH)
        """
    )
    # the child process starts a sandbox of its own
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--awsprobe-sandbox-policy={policy}", timeout=180
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert_allowed('ec2:RunInstances', params=…): "
            "1 of 1 expectations unmet for *",
            "E         request ec2:RunInstances in us-east-1: expected allowed, got denied"
            " (UnauthorizedOperation)",
            "E             why: explicit deny: ec2:RunInstances on * (statement NoLaunch)",
            "*awsprobe: ec2:RunInstances: missing required parameter MaxCount*",
            "*awsprobe: params= is one request: give one action with it, not 2*",
        ]
    )


# -- the README -----------------------------------------------------------------------------


def _readme_python_example() -> str:
    section = README.split("Probing a real request\n----------------------\n", 1)[1]
    section = section.split("\n----", 1)[0]
    found = re.search(r"The same from Python[^\n]*\n[^\n]*::\n\n((?:    .*\n|\n)+)", section)
    assert found, "the README lost its Python request example"
    return textwrap.dedent(found.group(1))


def test_readme_python_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Python example prints what its comments say (a subprocess: it starts a
    sandbox of its own)."""
    example = _readme_python_example()
    comments = [line.split("#", 1)[1].strip() for line in example.splitlines() if "# " in line]
    done = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == comments


#: The README's sample run: a sandbox whose policy allows the launch, the role and its
#: instance profile created through the endpoint, then the CLI as the sandbox user.
_README_RUN = """
import json, os, sys
from awsprobe import Sandbox
from awsprobe.cli import main

policy, trust, profile, params = (json.loads(given) for given in sys.argv[1:5])
with Sandbox(policy) as sandbox:
    iam = sandbox.admin_session().client("iam", endpoint_url=sandbox.endpoint_url)
    iam.create_role(RoleName=profile, AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=profile)
    os.environ.update(sandbox.env())
    sys.exit(main(["request", "ec2:RunInstances", "--params", json.dumps(params)]))
"""


def test_readme_cli_example_output_matches_a_run() -> None:
    """The README's sample output is what the CLI prints for that launch against a sandbox
    whose policy allows the launch and not the role (identity and account aside)."""
    section = README.split("Probing a real request\n----------------------\n", 1)[1]
    shown = re.search(r"\n(    verdict:.*?)\n\n", section, flags=re.S)
    assert shown
    expected = textwrap.dedent(shown.group(1)).splitlines()
    policy = _policy({"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"})
    data = [json.dumps(x) for x in (policy, TRUST, PROFILE, WITH_PROFILE)]
    done = subprocess.run(
        [sys.executable, "-c", _README_RUN, *data],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    got = done.stdout.splitlines()
    assert [line.split(":", 1)[0] for line in got] == [line.split(":", 1)[0] for line in expected]
    for want, line in zip(expected, got, strict=True):
        label = want.split(":", 1)[0]
        if label == "identity":
            assert line.endswith(":user/awsprobe-sandbox")
        elif label == "params":
            assert line.startswith(want.split("…", 1)[0])
        else:
            assert re.sub(r"\d{12}", "ACCOUNT", line) == re.sub(r"\d{12}", "ACCOUNT", want)


def test_the_cli_runs_against_its_own_sandbox(tmp_path: Path) -> None:
    """awsprobe request --sandbox --policy FILE, as the README shows it (its own process)."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(DENY_RUN), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "awsprobe",
            "request",
            "ec2:RunInstances",
            "--sandbox",
            "--policy",
            str(policy),
            "--params",
            json.dumps(LAUNCH),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["outcome"] == "denied"


def test_every_catalog_probe_keeps_its_json_shape() -> None:
    """Catalog probes' results gain no params key (saved matrices keep their shape)."""
    entry = load_catalog(actions=["ec2:DescribeInstances"]).find("ec2:DescribeInstances")
    with FaultServer() as fake:
        matrix = awsprobe.probe(catalog=awsprobe.Catalog([entry]), endpoint_url=fake.url)
    assert "params" not in matrix.results[0].to_json()
