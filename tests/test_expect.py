"""Expectations files: parsing, errors that name the problem, glob expansion, strictness."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from awsprobe.classify import Outcome
from awsprobe.errors import NoMatchError, SchemaError
from awsprobe.expect import Expectations, Expected, check_matrix
from tests.test_golden import FIXED

GOOD = """
allow = ["ec2:DescribeInstances", "ec2:RunInstances"]
deny = ["ec2:TerminateInstances"]
regions = ["us-east-1"]

[region.eu-west-1]
deny = ["ec2:RunInstances"]
"""


def _load(tmp_path: Path, text: str) -> Expectations:
    path = tmp_path / "expect.toml"
    path.write_text(text, encoding="utf-8")
    return Expectations.load(path)


def test_a_good_file_loads_with_per_region_tables(tmp_path: Path) -> None:
    """Top-level lists apply to 'regions'; [region.X] tables to X only."""
    expectations = _load(tmp_path, GOOD)
    assert expectations.regions == ("us-east-1",)
    assert expectations.regions_needed() == ("us-east-1", "eu-west-1")
    kinds = {(e.pattern, e.expected, e.region) for e in expectations.items}
    assert ("ec2:RunInstances", Expected.DENY, "eu-west-1") in kinds


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("allow = [", "not valid TOML"),
        ("alow = ['ec2:X']", "unknown key 'alow'"),
        ("allow = [1, 2]", "'allow' must be a list of action globs"),
        ("regions = 'us-east-1'\nallow=['ec2:X']", "'regions' must be a list"),
        ("strict = 'no'\nallow=['ec2:X']", "'strict' must be true or false"),
        ("[region.eu-west-1]\nallo = ['x']", "[region.eu-west-1] has unknown key"),
        ("", "no expectations"),
    ],
)
def test_bad_files_get_one_line_errors(tmp_path: Path, text: str, words: str) -> None:
    """Each malformed file raises SchemaError naming the file and the problem."""
    with pytest.raises(SchemaError) as info:
        _load(tmp_path, text)
    assert words in str(info.value)
    assert "expect.toml" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist says so."""
    with pytest.raises(SchemaError, match="no such file"):
        Expectations.load(tmp_path / "nope.toml")


def test_globs_expand_through_the_catalog() -> None:
    """An allow glob becomes every matching probed action, in each region."""
    expectations = Expectations.from_lists(allow=["ec2:DescribeInstance*"])
    pairs = expectations.expand(["us-east-1", "eu-west-1"])
    actions = {entry.action for _, entry, _ in pairs}
    assert "ec2:DescribeInstances" in actions
    assert "ec2:DescribeInstanceStatus" in actions
    assert len(pairs) == 2 * len(actions)


def test_a_glob_matching_nothing_is_an_error() -> None:
    """A typo is reported, not silently ignored."""
    with pytest.raises(NoMatchError, match="ec2:DescribeInstancez"):
        Expectations.from_lists(allow=["ec2:DescribeInstancez"]).expand(["us-east-1"])


def test_check_matrix_reports_each_unmet_expectation() -> None:
    """Unmet lines name action, region, expected and seen outcome with its code."""
    expectations = Expectations.from_lists(
        allow=["ec2:RunInstances", "ec2:DescribeInstances"], deny=["ec2:TerminateInstances"]
    )
    pairs = expectations.expand(["us-east-1", "eu-west-1"])
    report = check_matrix(expectations, FIXED, pairs)
    assert [u.line for u in report.unmet] == [
        "ec2:RunInstances in eu-west-1: expected allowed, got denied (UnauthorizedOperation)"
    ]
    assert report.checked == 6


def test_inconclusive_never_satisfies_unless_not_strict() -> None:
    """inconclusive/error fail a strict expectation and are 'skipped' when strict=false."""
    strict = Expectations.from_lists(allow=["ec2:CreateVolume"])
    pairs = strict.expand(["us-east-1"])
    assert not check_matrix(strict, FIXED, pairs).ok
    lenient = dataclasses.replace(strict, strict=False)
    report = check_matrix(lenient, FIXED, pairs)
    assert report.ok
    assert report.skipped[0].result.outcome is Outcome.INCONCLUSIVE
