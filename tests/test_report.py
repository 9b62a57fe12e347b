"""Report renderers: the list table and JSON read the same rows."""

from __future__ import annotations

import json

from awsprobe.classify import Outcome
from awsprobe.report import render_json, render_table, rows
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
