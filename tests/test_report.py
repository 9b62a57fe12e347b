"""Reports: each kind of output's row generator, and the renderers that read its rows."""

from __future__ import annotations

import dataclasses
import json

import pytest

from awsprobe.catalog import load_catalog
from awsprobe.compare import diff
from awsprobe.expect import CheckReport, Expectations, check_matrix
from awsprobe.matrix import Matrix
from awsprobe.model import Explanation, Outcome
from awsprobe.report import (
    catalog_rows,
    check_rows,
    decode_rows,
    drift_lines,
    drift_rows,
    render_catalog,
    render_check,
    render_decode,
    render_drift,
    render_json,
    render_table,
    rows,
)
from tests.test_golden import EXPLICIT, FIXED
from tests.test_matrix import MATRIX


def test_rows_are_one_per_action_with_a_cell_per_region() -> None:
    """rows(): one Row per action, cells in the matrix's region order."""
    produced = list(rows(MATRIX))
    assert [r.action for r in produced] == ["ec2:DescribeInstances", "ec2:RunInstances"]
    first = produced[0]
    assert [c.outcome for c in first.cells if c] == [Outcome.ALLOWED, Outcome.DENIED]


def test_table_has_regions_as_columns_a_legend_and_a_summary() -> None:
    """The list layout: symbols per region, a legend, and counts per outcome."""
    text = render_table(MATRIX, unicode=True)
    assert "us-east-1" in text
    assert "eu-west-1" in text
    assert "✔" in text
    assert "✘" in text
    assert "legend:" in text
    assert text.rstrip().endswith(
        "4 probes: 1 allowed, 1 denied, 1 inconclusive, 1 error, 0 dry_run_ignored"
    )
    assert "\033[" not in text


def test_ascii_fallback_and_color() -> None:
    """Without UTF-8 the symbols are ASCII; with color, ANSI codes appear."""
    assert "✔" not in render_table(MATRIX, unicode=False)
    assert "\033[32m" in render_table(MATRIX, color=True)


def test_json_renderer_filters_by_outcome() -> None:
    """render_json(only=[denied]) keeps the denied results and the full summary."""
    data = json.loads(render_json(MATRIX, only=[Outcome.DENIED]))
    assert [r["outcome"] for r in data["results"]] == ["denied"]
    assert data["summary"]["allowed"] == 1


# -- one row generator per kind of output ---------------------------------------------
#
# Expected values come from README.rst: the catalog section (each entry's action,
# access level -- from the Service Authorization Reference -- probe and reason), the
# ``diff``, ``check`` and ``decode`` command entries, and the pytest plugin section's
# failure lines (``ACTION in REGION: expected allowed, got denied (CODE)`` and
# ``why: no policy allows: ACTION on *``). The FIXED matrix of tests/test_golden.py is
# the input whose outcomes those rows must report.


@pytest.mark.parametrize(
    ("action", "access_level"),
    [
        # access levels as the Service Authorization Reference lists them
        ("ec2:DescribeInstances", "list"),
        ("ec2:RunInstances", "write"),
        ("ec2:CreateTags", "tagging"),
        ("kms:Decrypt", "write"),
    ],
)
def test_catalog_rows_carry_action_access_level_and_probe_flag(
    action: str, access_level: str
) -> None:
    """catalog_rows(): one row per entry with its IAM action, access level, probed, no reason."""
    (row,) = catalog_rows(load_catalog(actions=[action]))
    assert (row.action, row.access_level, row.probe, row.reason) == (
        action,
        access_level,
        True,
        None,
    )
    assert row.service == action.split(":")[0]
    assert row.to_json()["params"]  # JSON: the parameters a probe sends, flag included


def test_catalog_rows_list_unprobed_services_with_their_reason() -> None:
    """Network Firewall's dry run answers like a real call: listed, never probed, with why."""
    listed = list(catalog_rows(load_catalog(services="network-firewall", include_unprobed=True)))
    assert listed
    assert all(not row.probe and row.reason for row in listed)


@pytest.mark.parametrize(
    ("output", "marker"),
    [
        ("table", "probed"),
        ("markdown", "|---"),
        ("html", "<table>"),
        ("csv", "action,service,operation,access_level,probe,reason"),
    ],
)
def test_every_catalog_format_shows_each_row(output: str, marker: str) -> None:
    """The catalog renders in every output format, one line per operation."""
    entries = load_catalog(actions=["ec2:Describe*"])
    text = render_catalog(entries, output)
    assert marker in text
    for row in catalog_rows(entries):
        assert row.action in text
    if output == "csv":
        assert len(text.splitlines()) == len(entries) + 1
    data = json.loads(render_catalog(entries, "json"))
    assert [d["action"] for d in data] == [r.action for r in catalog_rows(entries)]


def _replaced(changes: dict[tuple[str, str], Outcome | None]) -> Matrix:
    """FIXED with some outcomes changed (``None``: the result left out)."""
    results = []
    for result in FIXED.results:
        key = (result.action, result.region)
        if key not in changes:
            results.append(result)
        elif changes[key] is not None:
            results.append(dataclasses.replace(result, outcome=changes[key]))
    return FIXED.with_results(results)


@pytest.mark.parametrize(
    ("action", "region", "new", "section"),
    [
        # README ``diff``: what became allowed, what became denied, what changed otherwise
        ("ec2:TerminateInstances", "us-east-1", Outcome.ALLOWED, "became_allowed"),
        ("ec2:DescribeInstances", "eu-west-1", Outcome.DENIED, "became_denied"),
        ("ec2:DescribeVolumes", "us-east-1", Outcome.ERROR, "changed"),
        ("ec2:CreateVolume", "eu-west-1", Outcome.ALLOWED, "became_allowed"),
        ("kms:Decrypt", "us-east-1", None, "removed"),
    ],
)
def test_drift_rows_put_each_change_in_its_section(
    action: str, region: str, new: Outcome | None, section: str
) -> None:
    """drift_rows(): one row for the one changed result, in the section its change names."""
    old_outcome = FIXED.get(action, region).outcome
    (row,) = drift_rows(diff(FIXED, _replaced({(action, region): new})))
    assert (row.section, row.action, row.region) == (section, action, region)
    assert (row.old, row.new) == (old_outcome, new)
    assert row.line.startswith(f"{action} in {region}: {old_outcome.value}")


def test_drift_rows_added_results_and_no_rows_without_change() -> None:
    """A result only in the new matrix is 'only in the new matrix'; equal matrices: no rows."""
    fewer = _replaced({("kms:Decrypt", "eu-west-1"): None})
    (row,) = drift_rows(diff(fewer, FIXED))
    assert (row.section, row.old, row.new) == ("added", None, Outcome.DENIED)
    assert list(drift_rows(diff(FIXED, FIXED))) == []
    assert drift_lines(diff(FIXED, FIXED)) == ["no differences"]
    assert "only in the new matrix (1):" in drift_lines(diff(fewer, FIXED))
    data = json.loads(render_drift(diff(fewer, FIXED), "json"))
    assert data["differs"] is True
    assert data["added"] == [row.to_json()]


def _check(allow: list[str], deny: list[str], *, strict: bool = True) -> CheckReport:
    expectations = Expectations.from_lists(allow, deny, strict=strict)
    pairs = expectations.expand(FIXED.regions)
    return check_matrix(expectations, FIXED, pairs)


@pytest.mark.parametrize(
    ("allow", "deny", "strict", "expected"),
    [
        # met everywhere: no rows
        (["ec2:DescribeInstances"], ["ec2:TerminateInstances"], True, []),
        # allowed in us-east-1 only: unmet in eu-west-1, with the code seen
        (
            ["ec2:RunInstances"],
            [],
            True,
            [("unmet", "ec2:RunInstances", "eu-west-1", "denied", "UnauthorizedOperation")],
        ),
        # an allowed action expected denied
        (
            [],
            ["ec2:DescribeVolumes"],
            True,
            [
                ("unmet", "ec2:DescribeVolumes", "us-east-1", "allowed", "DryRunOperation"),
                ("unmet", "ec2:DescribeVolumes", "eu-west-1", "allowed", "DryRunOperation"),
            ],
        ),
        # inconclusive never satisfies an expectation unless strict = false ...
        (
            ["ec2:CreateVolume"],
            [],
            True,
            [
                ("unmet", "ec2:CreateVolume", "us-east-1", "inconclusive", "InvalidZone.NotFound"),
                ("unmet", "ec2:CreateVolume", "eu-west-1", "inconclusive", "InvalidZone.NotFound"),
            ],
        ),
        # ... then it is skipped, not failed
        (
            ["ec2:DeleteVolume"],
            [],
            False,
            [
                ("skipped", "ec2:DeleteVolume", "us-east-1", "error", "OptInRequired"),
                ("skipped", "ec2:DeleteVolume", "eu-west-1", "error", "OptInRequired"),
            ],
        ),
    ],
)
def test_check_rows_list_each_unmet_expectation_with_outcome_and_code(
    allow: list[str],
    deny: list[str],
    strict: bool,
    expected: list[tuple[str, str, str, str, str]],
) -> None:
    """check_rows(): each unmet (or, with strict = false, skipped) expectation, as seen."""
    listed = list(check_rows(_check(allow, deny, strict=strict)))
    assert [(r.status.value, r.action, r.region, r.outcome.value, r.code) for r in listed] == (
        expected
    )


def test_check_row_line_and_why_read_as_the_readme_shows() -> None:
    """The README's failure line, and the decoded explanation as the reason why."""
    (unmet,) = check_rows(_check(["ec2:RunInstances"], []))
    assert unmet.line == (
        "ec2:RunInstances in eu-west-1: expected allowed, got denied (UnauthorizedOperation)"
    )
    (explicit, _) = check_rows(_check(["ec2:TerminateInstances"], []))
    assert explicit.why is not None
    assert explicit.why.startswith("explicit deny: ec2:TerminateInstances")
    assert "NeverDestroy" in explicit.why
    text = render_check(_check(["ec2:RunInstances"], []), FIXED.identity)
    assert f"UNMET  {unmet.line}" in text
    assert text.endswith(f"checked for {FIXED.identity.arn}: 1 unmet\n")
    data = json.loads(render_check(_check(["ec2:RunInstances"], []), FIXED.identity, "json"))
    assert (data["ok"], data["unmet"]) == (False, [unmet.to_json()])


@pytest.mark.parametrize(
    ("explanation", "expected"),
    [
        (
            EXPLICIT,
            [
                ("verdict", "explicit deny"),
                ("action", "ec2:TerminateInstances"),
                ("resource", "arn:aws:ec2:us-east-1:111122223333:instance/*"),
                ("principal", "arn:aws:iam::111122223333:user/ci"),
                ("statement", "NeverDestroy"),
                ("condition", "aws:RequestedRegion"),
            ],
        ),
        (
            # the action actually denied can be a dependent one such as iam:PassRole
            Explanation(
                explicit_deny=False,
                denied_action="iam:PassRole",
                resource="arn:aws:iam::111122223333:role/app",
                matched_statements=(),
                conditions=(),
                principal=None,
            ),
            [
                ("verdict", "implicit deny"),
                ("action", "iam:PassRole"),
                ("resource", "arn:aws:iam::111122223333:role/app"),
                ("principal", ""),
            ],
        ),
    ],
)
def test_decode_rows_say_verdict_action_resource_statements_and_conditions(
    explanation: Explanation, expected: list[tuple[str, str]]
) -> None:
    """decode_rows(): the README's facts, in order, a statement and a condition key a row."""
    listed = list(decode_rows(explanation))
    assert [row.label for row in listed] == [label for label, _ in expected]
    for row, (_, value) in zip(listed, expected, strict=True):
        assert value in row.value
    lines = render_decode(explanation, "{}").splitlines()  # the readable form: a line a row
    assert [line.split(":")[0] for line in lines] == [row.label for row in listed]
    assert all(line.endswith(row.value) for line, row in zip(lines, listed, strict=True))


def test_decode_json_is_the_raw_message_from_sts() -> None:
    """--output json prints the decoded JSON as STS returned it (indented)."""
    raw = '{"allowed":false,"explicitDeny":true}'
    assert json.loads(render_decode(EXPLICIT, raw, "json")) == json.loads(raw)
