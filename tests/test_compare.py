"""diff(): what became allowed, what became denied, what else changed."""

from __future__ import annotations

import dataclasses

from awsprobe.classify import Outcome
from awsprobe.compare import diff
from tests.test_golden import FIXED


def _with(outcomes: dict[tuple[str, str], Outcome]):  # type: ignore[no-untyped-def]
    results = [
        dataclasses.replace(r, outcome=outcomes[(r.action, r.region)])
        if (r.action, r.region) in outcomes
        else r
        for r in FIXED.results
    ]
    return FIXED.with_results(results)


def test_identical_matrices_do_not_differ() -> None:
    """Same results: no drift, one line saying so."""
    drift = diff(FIXED, FIXED)
    assert not drift.differs
    assert drift.lines() == ["no differences"]


def test_changes_are_sorted_into_kinds() -> None:
    """denied->allowed is 'became allowed'; allowed->denied 'became denied'; else 'changed'."""
    new = _with(
        {
            ("ec2:TerminateInstances", "us-east-1"): Outcome.ALLOWED,
            ("ec2:DescribeInstances", "eu-west-1"): Outcome.DENIED,
            ("ec2:CreateVolume", "us-east-1"): Outcome.ERROR,
        }
    )
    drift = diff(FIXED, new)
    assert [c.action for c in drift.became_allowed] == ["ec2:TerminateInstances"]
    assert [c.action for c in drift.became_denied] == ["ec2:DescribeInstances"]
    assert [c.action for c in drift.changed] == ["ec2:CreateVolume"]
    text = "\n".join(drift.lines())
    assert "became allowed (1):" in text
    assert "ec2:TerminateInstances in us-east-1: denied (UnauthorizedOperation) -> allowed" in text


def test_added_and_removed_results() -> None:
    """Results present on one side only are listed as such."""
    fewer = FIXED.with_results(r for r in FIXED.results if r.action != "kms:Decrypt")
    drift = diff(fewer, FIXED)
    assert {c.action for c in drift.added} == {"kms:Decrypt"}
    assert diff(FIXED, fewer).removed
    assert drift.to_json()["added"][0]["new"] == "denied"
