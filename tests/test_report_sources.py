"""Reports of two sources: dry runs and IAM's policy simulator (issue 18).

Matrices are built by hand: FIXED (dry runs only, the golden matrix) plus simulated
results as ``iam:SimulatePrincipalPolicy`` answers them (``EvalDecision`` ``allowed``,
``explicitDeny``, ``implicitDeny``; ``MatchedStatements`` as (``SourcePolicyId``,
``SourcePolicyType``); ``MissingContextValues``), and ``--cross-check`` disagreements.
Expected strings are written from the spec: a simulated verdict is its outcome's symbol
followed by ``ˢ`` (ASCII ``s``), a simulated explicit deny is ``⊘ˢ``, the legend says
"simulated by iam:SimulatePrincipalPolicy: identity policies, boundary and SCPs only"
only when there is one, the summary counts each source, and the cross-check is its
own section.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from awsprobe.compare import diff
from awsprobe.expect import CheckReport, Expectation, Expected, Unmet
from awsprobe.matrix import Matrix
from awsprobe.model import Disagreement, Identity, Outcome, ProbeResult, Simulation, Source
from awsprobe.report import (
    check_rows,
    drift_lines,
    render,
    render_check,
    render_csv,
    render_json,
    render_table,
    simulation_line,
    summary_line,
    why_line,
)
from tests.test_golden import FIXED

ARN = "arn:aws:iam::111122223333:user/ci"
LEGEND = "✔ˢ ✘ˢ simulated by iam:SimulatePrincipalPolicy: identity policies, boundary and SCPs only"
SUMMARY = (
    "22 probes: 7 allowed, 9 denied, 2 inconclusive, 2 error, 2 dry_run_ignored; "
    "16 dry runs, 6 simulated"
)


def _simulated(
    action: str,
    region: str,
    outcome: Outcome,
    decision: str,
    *,
    level: str = "write",
    identity: str = ARN,
    **details: object,
) -> ProbeResult:
    service, operation = action.split(":")
    return ProbeResult(
        action=action,
        service=service,
        operation=operation,
        region=region,
        outcome=outcome,
        code=None,
        http_status=None,
        message=None,
        attempts=1,
        elapsed_ms=5.0,
        identity=identity,
        access_level=level,
        source=Source.SIMULATED,
        simulation=Simulation(decision=decision, principal=identity, **details),  # type: ignore[arg-type]
    )


def _simulations(region: str) -> list[ProbeResult]:
    return [
        _simulated(
            "s3:GetObject",
            region,
            Outcome.ALLOWED,
            "allowed",
            level="read",
            matched_statements=(("ReadS3", "IAM Policy"),),
        ),
        _simulated(
            "s3:DeleteBucket",
            region,
            Outcome.DENIED,
            "explicitDeny",
            matched_statements=(
                ("DenyDeletes", "IAM Policy"),
                ("DenyDeletes", "IAM Policy"),
            ),
        ),
        _simulated(
            "lambda:InvokeFunction",
            region,
            Outcome.DENIED,
            "implicitDeny",
            allowed_by_organizations=False,
        ),
    ]


#: A session policy removed ec2:RunInstances: the dry run denies it in eu-west-1, the
#: simulator (which does not see session policies) allows it.
SESSION_POLICY = Disagreement(
    action="ec2:RunInstances",
    region="eu-west-1",
    identity=ARN,
    dry_run=Outcome.DENIED,
    simulated="allowed",
    reasons=("session policy", "VPC endpoint policy"),
)
DISAGREEMENT_LINE = (
    "ec2:RunInstances in eu-west-1: dry run denied, simulator allowed "
    "(likely: session policy, VPC endpoint policy)"
)

MIXED = FIXED.with_results([*FIXED.results, *_simulations("us-east-1"), *_simulations("eu-west-1")])
CROSS_CHECKED = dataclasses.replace(MIXED, cross_check=(SESSION_POLICY,), cross_checked=10)


def _row(text: str, action: str) -> str:
    (line,) = [line for line in text.splitlines() if line.split()[2:3] == [action]]
    return line


# -- the mark and the legend ---------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "unicode", "mark"),
    [
        ("s3:GetObject", True, "✔ˢ"),
        ("lambda:InvokeFunction", True, "✘ˢ"),
        ("s3:DeleteBucket", True, "⊘ˢ"),  # explicitDeny: an explicit deny, simulated
        ("s3:GetObject", False, "Ys"),
        ("lambda:InvokeFunction", False, "ns"),
        ("s3:DeleteBucket", False, "Ns"),
    ],
)
def test_a_simulated_verdict_is_its_symbol_followed_by_the_simulated_mark(
    action: str, unicode: bool, mark: str
) -> None:
    """Each simulated cell is the outcome's (or explicit deny's) symbol, then ˢ (ASCII s)."""
    line = _row(render_table(MIXED, unicode=unicode), action)
    assert line.split()[3:5] == [mark, mark]


def test_dry_run_cells_keep_their_symbols_beside_simulated_ones() -> None:
    """Only simulated results carry the mark: EC2's dry-run cells are as before."""
    text = render_table(MIXED)
    assert _row(text, "ec2:TerminateInstances").split()[3:5] == ["⊘", "✘"]
    assert _row(text, "ec2:RunInstances").split()[3:5] == ["✔*", "✘"]


@pytest.mark.parametrize("layout", ["list", "grid"])
def test_the_legend_names_the_simulator_only_when_a_result_is_simulated(layout: str) -> None:
    """The simulated legend item appears with a simulated result, never without one."""
    assert LEGEND in render(MIXED, "table", layout=layout)
    assert "simulated" not in render(FIXED, "table", layout=layout)
    assert "ˢ" not in render(FIXED, "table", layout=layout)


def test_the_ascii_legend_uses_the_ascii_mark() -> None:
    text = render_table(MIXED, unicode=False)
    assert "Ys ns simulated by iam:SimulatePrincipalPolicy" in text
    assert "ˢ" not in text


def test_the_simulated_grid_cell_is_marked() -> None:
    """Grid cells gather operations: S3 Object's Get column is the simulated GetObject."""
    grid = render(MIXED, "table", layout="grid")
    (object_row,) = [
        line for line in grid.splitlines() if line.startswith("s3 ") and "Object" in line
    ]
    assert "✔ˢ" in object_row


# -- the summary ---------------------------------------------------------------------


def test_the_summary_counts_each_source_when_one_is_simulated() -> None:
    """``…; 16 dry runs, 6 simulated`` closes every text output with simulated results."""
    assert summary_line(MIXED) == SUMMARY
    for layout in ("list", "grid"):
        assert render(MIXED, "table", layout=layout).splitlines()[-1] == SUMMARY
    assert render(MIXED, "markdown").splitlines()[-1] == SUMMARY


def test_the_summary_of_dry_runs_only_is_unchanged() -> None:
    """A dry-run-only matrix's summary names no source (the golden files hold the rest)."""
    assert summary_line(FIXED) == (
        "16 probes: 5 allowed, 5 denied, 2 inconclusive, 2 error, 2 dry_run_ignored"
    )


def test_the_summary_counts_one_of_each_in_the_singular() -> None:
    one = FIXED.with_results([FIXED.results[0], _simulations("us-east-1")[0]])
    assert summary_line(one).endswith("; 1 dry run, 1 simulated")


# -- every format --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "layout", "shown"),
    [
        ("table", "list", "✔ˢ"),
        ("table", "grid", "✔ˢ"),
        ("markdown", "list", "| ✔ˢ "),
        ("markdown", "grid", "| ✔ˢ "),
        ("html", "list", '<td class="allowed simulated" title="GetObject: allowed (simulated: '),
        ("csv", "list", ",simulated,allowed,ReadS3,"),
        ("json", "list", '"source": "simulated"'),
    ],
)
def test_every_format_shows_a_simulated_source(output: str, layout: str, shown: str) -> None:
    """Tables mark the cell; HTML classes and titles it; CSV and JSON name the source."""
    assert shown in render(MIXED, output, layout=layout)


@pytest.mark.parametrize("output", ["markdown", "html"])
def test_markdown_and_html_legends_name_the_simulator(output: str) -> None:
    assert "simulated by iam:SimulatePrincipalPolicy: identity policies, boundary and SCPs" in (
        render(MIXED, output)
    )
    assert "SimulatePrincipalPolicy" not in render(FIXED, output)


def test_the_html_title_carries_the_eval_decision_and_matched_statements() -> None:
    """The tooltip holds IAM's own words: EvalDecision, SourcePolicyId [SourcePolicyType]."""
    page = render(MIXED, "html")
    assert (
        '<td class="denied explicit simulated" title="DeleteBucket: explicit deny (simulated: '
        'explicitDeny; policy DenyDeletes [IAM Policy])">⊘ˢ</td>'
    ) in page
    assert 'title="InvokeFunction: denied (simulated: implicitDeny; not allowed by the SCPs)"' in (
        page
    )
    assert '<li id="sources">16 dry runs, 6 simulated</li>' in page
    assert 'id="sources"' not in render(FIXED, "html")


def test_csv_has_a_source_and_the_simulators_answer_per_result() -> None:
    """``source`` on every line; decision, matched policy ids, missing keys when simulated."""
    missing = _simulated(
        "s3:GetObject",
        "us-east-1",
        Outcome.INCONCLUSIVE,
        "implicitDeny",
        missing_context=("aws:SourceIp", "s3:prefix"),
    )
    matrix = FIXED.with_results([FIXED.results[0], missing])
    dry, simulated = csv.DictReader(io.StringIO(render_csv(matrix)))
    assert (dry["source"], dry["simulated_decision"]) == ("dry-run", "")
    assert simulated["source"] == "simulated"
    assert simulated["simulated_decision"] == "implicitDeny"
    assert simulated["simulated_missing_context"] == "aws:SourceIp s3:prefix"
    assert simulated["simulated_matched_policies"] == ""
    rows = list(csv.DictReader(io.StringIO(render_csv(MIXED))))
    (delete, _) = [r for r in rows if r["action"] == "s3:DeleteBucket"]
    # two matched statements of one policy: its id once
    assert (delete["simulated_decision"], delete["simulated_matched_policies"]) == (
        "explicitDeny",
        "DenyDeletes",
    )


def test_json_round_trips_sources_simulations_and_the_cross_check() -> None:
    """Matrix.loads reads back what render_json wrote: every source, simulation, disagreement."""
    loaded = Matrix.loads(render_json(CROSS_CHECKED))
    assert loaded.results == CROSS_CHECKED.results
    assert loaded.cross_check == (SESSION_POLICY,)
    assert loaded.sources == {"dry-run": 16, "simulated": 6}
    assert render(loaded, "table") == render(CROSS_CHECKED, "table")


def test_json_only_filters_results_and_keeps_sources_and_cross_check_whole() -> None:
    """``--only`` filters results; summary, sources and cross_check describe the matrix."""
    data = json.loads(render_json(CROSS_CHECKED, only=[Outcome.ALLOWED]))
    assert {r["outcome"] for r in data["results"]} == {"allowed"}
    assert data["sources"] == {"dry-run": 16, "simulated": 6}
    assert data["cross_check"] == [SESSION_POLICY.to_json()]


# -- the cross-check -----------------------------------------------------------------


def test_the_table_lists_each_disagreement_in_its_own_section() -> None:
    """A title with the counts, then a line per disagreement; the summary still closes it."""
    lines = render_table(CROSS_CHECKED).splitlines()
    title = lines.index("Cross-check: dry run vs simulator (1 disagreement, 10 dry runs compared):")
    assert lines[title - 1] == ""
    assert lines[title + 1] == f"  {DISAGREEMENT_LINE}"
    assert lines[title + 2] == SUMMARY


def test_no_disagreement_is_one_line() -> None:
    """``cross-check: N dry runs compared, no disagreement``: N is the number the
    cross-check recorded it held against the simulator (``Matrix.cross_checked``)."""
    agreed = dataclasses.replace(MIXED, cross_check=(), cross_checked=10)
    text = render_table(agreed)
    assert "cross-check: 10 dry runs compared, no disagreement\n" + SUMMARY in text
    assert "Cross-check:" not in text


@pytest.mark.parametrize("output", ["table", "markdown", "html", "csv"])
def test_without_cross_check_there_is_no_section(output: str) -> None:
    assert "cross-check" not in render(MIXED, output).lower()


def test_the_disagreement_names_the_identity_when_several_were_probed() -> None:
    other = "arn:aws:iam::111122223333:role/Deploy"
    two = dataclasses.replace(
        CROSS_CHECKED,
        identities=(FIXED.identity, Identity(other, "111122223333", "AROA")),
        cross_check=(SESSION_POLICY, dataclasses.replace(SESSION_POLICY, identity=other)),
    )
    text = render_table(two)
    assert f"  ec2:RunInstances in eu-west-1 as {ARN}: dry run denied, simulator allowed" in text
    assert f"  ec2:RunInstances in eu-west-1 as {other}: dry run denied" in text


def test_markdown_gives_the_cross_check_a_second_table() -> None:
    text = render(CROSS_CHECKED, "markdown")
    assert "| action           | region    | dry run   | simulator   | likely reasons" in text
    assert (
        "| ec2:RunInstances | eu-west-1 | denied    | allowed     | session policy, VPC "
        "endpoint policy |"
    ) in text
    # a blank line ends the table before the summary
    assert text.endswith("endpoint policy |\n\n" + SUMMARY + "\n")


def test_html_gives_the_cross_check_a_second_table() -> None:
    page = render(CROSS_CHECKED, "html")
    assert "<h2>Cross-check: dry run vs simulator</h2>" in page
    assert (
        '<tr><td>ec2:RunInstances</td><td>eu-west-1</td><td class="denied">denied</td>'
        "<td>allowed</td><td>session policy, VPC endpoint policy</td></tr>"
    ) in page
    agreed = render(dataclasses.replace(MIXED, cross_check=(), cross_checked=10), "html")
    assert '<p id="cross-check">cross-check: 10 dry runs compared, no disagreement</p>' in agreed


def test_csv_holds_the_results_only() -> None:
    """CSV is one line per result: the cross-check is in JSON and the other formats."""
    text = render_csv(CROSS_CHECKED)
    assert text == render_csv(MIXED)
    assert "session policy" not in text


# -- the simulator's explanation -----------------------------------------------------


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (
            _simulations("us-east-1")[1],
            "simulator: explicit deny: s3:DeleteBucket on * (policy DenyDeletes)",
        ),
        (
            _simulations("us-east-1")[2],
            "simulator: no policy allows: lambda:InvokeFunction on * (not allowed by the SCPs)",
        ),
        (
            _simulated(
                "s3:GetObject",
                "us-east-1",
                Outcome.INCONCLUSIVE,
                "implicitDeny",
                resource="arn:aws:s3:::bucket/key",
                missing_context=("aws:SourceIp",),
                allowed_by_boundary=False,
            ),
            "simulator: no policy allows: s3:GetObject on arn:aws:s3:::bucket/key "
            "(not allowed by the permissions boundary; missing context aws:SourceIp)",
        ),
    ],
)
def test_a_simulated_verdict_is_explained_as_a_decoded_denial_is(
    result: ProbeResult, line: str
) -> None:
    """explicit or implicit deny, the matched policies, the SCPs/boundary, missing keys."""
    assert simulation_line(result) == line
    assert why_line(result) == line


def test_a_dry_run_is_explained_by_its_decoded_message_or_reason() -> None:
    explicit = next(r for r in FIXED.results if r.decoded is not None)
    assert simulation_line(explicit) is None
    assert why_line(explicit) == explicit.decoded.line  # type: ignore[union-attr]
    assert why_line(FIXED.results[0]) is None


def test_check_gives_the_simulators_reason_why() -> None:
    """``awsprobe check``: an unmet expectation on a simulated verdict says what the
    simulator saw, and its JSON names the source."""
    denied = _simulations("us-east-1")[2]
    report = CheckReport(
        unmet=(Unmet(Expectation("lambda:InvokeFunction", Expected.ALLOW), denied),), checked=1
    )
    (row,) = check_rows(report)
    assert row.why == (
        "simulator: no policy allows: lambda:InvokeFunction on * (not allowed by the SCPs)"
    )
    text = render_check(report, FIXED.identity)
    assert f"       why: {row.why}\n" in text
    (unmet,) = json.loads(render_check(report, FIXED.identity, "json"))["unmet"]
    assert unmet["source"] == "simulated"


def test_drift_marks_a_change_of_a_simulated_verdict() -> None:
    """``diff``/``--baseline``: a simulated change ends in ``[simulated]``; others do not."""
    old = MIXED
    flipped = [
        dataclasses.replace(r, outcome=Outcome.DENIED)
        if r.action in ("s3:GetObject", "ec2:DescribeVolumes") and r.region == "us-east-1"
        else r
        for r in MIXED.results
    ]
    lines = drift_lines(diff(old, MIXED.with_results(flipped)))
    assert "  s3:GetObject in us-east-1: allowed -> denied [simulated]" in lines
    assert (
        "  ec2:DescribeVolumes in us-east-1: allowed (DryRunOperation) -> denied (DryRunOperation)"
    ) in lines
