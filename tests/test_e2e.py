"""End to end: the whole EC2 catalog through probe() against the sandbox, several policies.

Expected outcomes are written here by rule (from the operation names), never computed
by the code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from awsprobe.catalog import load_catalog
from awsprobe.classify import Outcome
from awsprobe.probing.orchestrate import probe
from awsprobe.sandbox import Sandbox

EC2 = load_catalog(services="ec2")
OPS = [e.operation for e in EC2]


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


POLICIES: list[tuple[str, dict[str, Any], list[str], Callable[[str, str], bool]]] = [
    (
        "describe-only",
        _policy({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}),
        ["us-east-1"],
        lambda op, region: op.startswith("Describe"),
    ),
    (
        "all-but-explicit-deny",
        _policy(
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["ec2:Delete*", "ec2:TerminateInstances"],
                "Resource": "*",
            },
        ),
        ["us-east-1"],
        lambda op, region: not (op.startswith("Delete") or op == "TerminateInstances"),
    ),
    (
        "not-action",
        _policy({"Effect": "Allow", "NotAction": ["ec2:Run*", "ec2:Create*"], "Resource": "*"}),
        ["us-east-1"],
        lambda op, region: not (op.startswith("Run") or op.startswith("Create")),
    ),
    (
        "region-condition",
        _policy(
            {
                "Effect": "Allow",
                "Action": "ec2:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            }
        ),
        ["us-east-1", "eu-west-1"],
        lambda op, region: region == "eu-west-1",
    ),
    (
        "empty",
        _policy(),
        ["us-east-1"],
        lambda op, region: False,
    ),
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.mark.parametrize(
    ("name", "policy", "regions", "allowed"), POLICIES, ids=[p[0] for p in POLICIES]
)
def test_whole_ec2_catalog_matches_the_policy(
    sandbox: Sandbox,
    name: str,
    policy: dict[str, Any],
    regions: list[str],
    allowed: Callable[[str, str], bool],
) -> None:
    """Every probed EC2 operation is allowed exactly when the policy's rule says so."""
    sandbox.set_policy(policy)
    matrix = probe(
        catalog=EC2, regions=regions, session=sandbox.session(), endpoint_url=sandbox.endpoint_url
    )
    assert len(matrix.results) == len(OPS) * len(regions)
    wrong = [
        (r.operation, r.region, r.outcome.value, r.code)
        for r in matrix
        if r.outcome is not (Outcome.ALLOWED if allowed(r.operation, r.region) else Outcome.DENIED)
    ]
    assert wrong == []
    assert matrix.summary["dry_run_ignored"] == 0
    # the sandbox saw every probe with its flag: nothing reached moto without it
    assert sum(r.dry_run for r in sandbox.requests) >= len(matrix.results)
    assert all(r.dry_run or r.exempt for r in sandbox.requests)
