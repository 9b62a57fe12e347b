"""``--cross-check``: dry runs and the policy simulator compared, action by action.

The dry run is the truth for its request; a disagreement says what the simulator cannot
see. What it cannot see is the IAM API Reference's (SimulatePrincipalPolicy: it evaluates
the principal's identity policies, boundary and SCPs -- not session policies,
resource-based policies unless given, VPC endpoint policies or RCPs). Against the
loopback fakes of :mod:`tests.faults` (dry runs) and :mod:`tests.iam_fake` (the simulator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from awsprobe.matrix import Matrix
from awsprobe.model import Outcome, ProbeResult, Simulation, Source
from awsprobe.probing import retry
from awsprobe.probing.crosscheck import SCOPED_RESOURCES, disagreements
from awsprobe.probing.orchestrate import probe
from tests.faults import ACCOUNT, ARN, UNAUTHORIZED, Fault, FaultServer, fault_server
from tests.iam_fake import IamFake

__all__ = ["fault_server"]  # the fixture, re-exported so pytest finds it here

StartServer = Callable[..., FaultServer]
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/run"


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.001)


def start(
    fault_server: StartServer,
    arn: str = ARN,
    denied: frozenset[str] = frozenset(),
    answer: Fault | None = None,
    **kwargs: Any,
) -> tuple[FaultServer, IamFake]:
    """A fake whose EC2 dry runs of ``denied`` operations are UnauthorizedOperation."""
    iam = IamFake(**kwargs)

    def script(operation: str, _: int) -> Fault | None:
        if operation in denied:
            return UNAUTHORIZED
        return answer if answer is not None and operation.startswith("Describe") else None

    return fault_server(script, rule=iam, arn=arn), iam


def run(server: FaultServer, **kwargs: Any) -> Matrix:
    return probe(session=boto3.Session(), endpoint_url=server.url, **kwargs)


def test_dry_run_allowed_simulator_denied_names_scoped_resources_first(
    fault_server: StartServer,
) -> None:
    """A dry run allowed what the principal's policies do not allow on ``*``: a statement
    scoped to the request's resources (the simulator was asked about ``*``) or something
    else granted it (a key or resource policy); the dry run's verdict stands."""
    server, iam = start(fault_server)
    matrix = run(server, actions=["ec2:DescribeVpcs"], cross_check=True)
    assert matrix.outcome("ec2:DescribeVpcs") is Outcome.ALLOWED
    assert matrix.cross_check is not None
    (found,) = matrix.cross_check
    assert (found.action, found.region, found.identity) == ("ec2:DescribeVpcs", "us-east-1", ARN)
    assert (found.dry_run, found.simulated) == (Outcome.ALLOWED, "implicitDeny")
    assert found.reasons[:2] == (SCOPED_RESOURCES, "resource-based policy")
    assert iam.asked[0].actions == ("ec2:DescribeVpcs",)
    assert {r.source for r in matrix.results} == {Source.DRY_RUN}  # cross-check adds no result


def test_a_session_denied_what_its_role_allows_names_the_session_policy_first(
    fault_server: StartServer,
) -> None:
    """An assumed-role session's dry run is denied, its role's simulation allowed: a
    session policy is the likeliest cause, then a resource-based policy."""
    server, _ = start(
        fault_server,
        arn=SESSION,
        denied=frozenset({"DescribeVpcs"}),
        decisions={"ec2:describevpcs": "allowed", "ec2:describesubnets": "allowed"},
    )
    matrix = run(server, actions=["ec2:DescribeVpcs", "ec2:DescribeSubnets"], cross_check=True)
    assert matrix.outcome("ec2:DescribeVpcs") is Outcome.DENIED
    assert matrix.cross_check is not None
    (found,) = matrix.cross_check
    assert found.action == "ec2:DescribeVpcs"
    assert (found.dry_run, found.simulated) == (Outcome.DENIED, "allowed")
    assert found.reasons[:2] == ("session policy", "resource-based policy")
    assert matrix.cross_checked == 2  # both decided, both answered by the simulator


def test_agreement_is_an_empty_tuple_and_no_cross_check_is_none(fault_server: StartServer) -> None:
    server, iam = start(fault_server, decisions={"ec2:describevpcs": "allowed"})
    assert run(server, actions=["ec2:DescribeVpcs"], cross_check=True).cross_check == ()
    asked = len(iam.asked)
    assert run(server, actions=["ec2:DescribeVpcs"]).cross_check is None
    assert len(iam.asked) == asked  # without --cross-check nothing is simulated


def test_undecided_dry_runs_and_simulations_missing_context_are_not_compared(
    fault_server: StartServer,
) -> None:
    """An inconclusive dry run (a validation error) and a simulation that needed context
    cannot disagree with anything."""
    server, _ = start(
        fault_server,
        answer=Fault.answer(400, "InvalidParameterValue", "bad"),
        missing={"ec2:runinstances": ("ec2:InstanceType",)},  # and implicitDeny
    )
    matrix = run(server, actions=["ec2:DescribeVpcs", "ec2:RunInstances"], cross_check=True)
    assert matrix.outcome("ec2:DescribeVpcs") is Outcome.INCONCLUSIVE
    assert matrix.outcome("ec2:RunInstances") is Outcome.ALLOWED
    assert matrix.cross_check == ()
    assert matrix.cross_checked == 0  # neither was held against the simulator


def test_cross_check_never_changes_a_dry_run(fault_server: StartServer) -> None:
    server, _ = start(fault_server, denied=frozenset({"DescribeVpcs"}))
    kept = [(r.action, r.outcome, r.code) for r in run(server, actions=["ec2:Describe*"]).results]
    checked = run(server, actions=["ec2:Describe*"], cross_check=True)
    assert [(r.action, r.outcome, r.code) for r in checked.results] == kept
    assert checked.cross_check  # every allowed describe disagrees with implicitDeny


def test_the_cross_check_survives_a_save(fault_server: StartServer, tmp_path: Any) -> None:
    server, _ = start(fault_server)
    matrix = run(server, actions=["ec2:DescribeVpcs"], cross_check=True)
    matrix.save(tmp_path / "m.json")
    loaded = Matrix.load(tmp_path / "m.json")
    assert (loaded.cross_check, loaded.cross_checked) == (matrix.cross_check, 1)


def _dry(action: str, outcome: Outcome, resource: str | None = None) -> ProbeResult:
    service, _, operation = action.partition(":")
    return ProbeResult(
        action, service, operation, "us-east-1", outcome, None, 412, None, 1, 1.0, resource=resource
    )


@pytest.mark.parametrize(
    ("dry_run", "decision", "missing", "resource", "caller", "reasons"),
    [
        (Outcome.ALLOWED, "allowed", (), None, ARN, None),
        (Outcome.DENIED, "implicitDeny", (), None, ARN, None),
        (Outcome.DENIED, "explicitDeny", (), None, ARN, None),
        (Outcome.ALLOWED, "explicitDeny", (), None, ARN, SCOPED_RESOURCES),
        (Outcome.DENIED, "allowed", (), None, ARN, "resource-based policy"),
        (Outcome.DENIED, "allowed", (), None, SESSION, "session policy"),
        (Outcome.ALLOWED, "implicitDeny", (), None, SESSION, SCOPED_RESOURCES),
        (Outcome.DENIED, "allowed", ("aws:SourceIp",), None, ARN, None),
        (Outcome.DENIED, "allowed", (), "i-0abc", ARN, None),
        (Outcome.INCONCLUSIVE, "allowed", (), None, ARN, None),
        (Outcome.ERROR, "allowed", (), None, ARN, None),
    ],
)
def test_what_is_a_disagreement_and_its_first_reason(
    dry_run: Outcome,
    decision: str,
    missing: tuple[str, ...],
    resource: str | None,
    caller: str,
    reasons: str | None,
) -> None:
    """Only decided dry runs on placeholders, against decided simulations, disagree; the
    first reason depends on the direction and on whether the caller is a session."""
    simulation = Simulation(decision, ARN, missing_context=missing)
    found = disagreements(
        [_dry("ec2:DescribeVpcs", dry_run, resource)],
        {("ec2:describevpcs", "us-east-1"): simulation},
        caller,
    )
    assert [d.reasons[0] for d in found] == ([reasons] if reasons else [])
