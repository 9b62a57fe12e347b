"""Expectations files: parsing, errors that name the problem, glob expansion, strictness."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from awsprobe.classify import Outcome
from awsprobe.errors import NoMatchError, SchemaError, UsageError
from awsprobe.expect import (
    Expectations,
    Expected,
    RequestExpectation,
    check_matrix,
    marker_expectations,
)
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
        ("request = 'ec2:RunInstances'", "'request' must be [[request]] tables"),
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


# -- [[request]] tables ---------------------------------------------------------------------

REQUESTS = """
[[request]]
action = "ec2:RunInstances"
expect = "denied"
region = "eu-west-1"
params = { ImageId = "ami-0abcdef1234567890", MinCount = 1, MaxCount = 1 }

[[request]]
action = "ec2:RunInstances"
expect = "allowed"
[request.params]
MinCount = 1
MaxCount = 1
IamInstanceProfile = { Name = "app-server" }
"""


def test_request_tables_load_alone_or_with_lists(tmp_path: Path) -> None:
    """[[request]] tables are expectations of their own: action, params, expect, region;
    a [request.params] sub-table belongs to the request above it (TOML arrays of tables)."""
    expectations = _load(tmp_path, REQUESTS)
    assert expectations.items == ()
    denied, allowed = expectations.requests
    assert (denied.action, denied.expected, denied.region) == (
        "ec2:RunInstances",
        Expected.DENY,
        "eu-west-1",
    )
    assert allowed.expected is Expected.ALLOW
    assert allowed.region is None
    assert allowed.params == {
        "MinCount": 1,
        "MaxCount": 1,
        "IamInstanceProfile": {"Name": "app-server"},
    }
    assert _load(tmp_path, GOOD + REQUESTS).requests == expectations.requests


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('expect = "allowed"', "[[request]] 1: 'action' must be one action"),
        ('action = "ec2:RunInstances"', '[[request]] 1: \'expect\' must be "allowed" or "denied"'),
        ('action = "ec2:RunInstances"\nexpect = "allow"', "'expect' must be"),
        ('action = "ec2:RunInstances"\nexpect = "denied"\nparams = 3', "'params' must be a table"),
        ('action = "ec2:RunInstances"\nexpect = "denied"\nregion = 3', "'region' must be one"),
        ('action = "ec2:RunInstances"\nexpect = "denied"\nexpected = 1', "unknown key 'expected'"),
        (
            'action = "ec2:RunInstances"\nexpect = "denied"\nparams = { MinCount = 1 }',
            "[[request]] 1: ec2:RunInstances: missing required parameter MaxCount",
        ),
        (
            'action = "ec2:RunInstances"\nexpect = "denied"\n'
            "params = { MinCount = 1, MaxCount = 1, DryRun = false }",
            "DryRun is false",
        ),
        ('action = "ec2:RunInstancez"\nexpect = "denied"', "close matches: ec2:RunInstances"),
    ],
)
def test_bad_request_tables_name_the_table_and_the_problem(
    tmp_path: Path, table: str, words: str
) -> None:
    """A bad [[request]] is a SchemaError naming the file, the table's number and the
    problem -- its parameters included, checked against botocore's model at load time."""
    with pytest.raises(SchemaError) as info:
        _load(tmp_path, f"[[request]]\n{table}\n")
    assert words in str(info.value)
    assert "expect.toml" in str(info.value)
    assert "\n" not in str(info.value)


def test_request_results_are_checked_with_the_lists() -> None:
    """check_matrix asserts each request's result: a miss is a 'request …' line, and counts."""
    expectations = Expectations.from_lists(allow=["ec2:DescribeInstances"])
    request = RequestExpectation("ec2:RunInstances", {"MinCount": 1, "MaxCount": 1})
    denied = FIXED.get("ec2:RunInstances", "eu-west-1")
    allowed = FIXED.get("ec2:RunInstances", "us-east-1")
    pairs = expectations.expand(["us-east-1"])
    report = check_matrix(expectations, FIXED, pairs, [(request, allowed), (request, denied)])
    assert report.checked == 3
    assert [u.line for u in report.unmet] == [
        "request ec2:RunInstances in eu-west-1: expected allowed, got denied "
        "(UnauthorizedOperation)"
    ]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"allow": ["ec2:X"], "zone": "a"}, "unknown argument zone="),
        ({"allow": 3}, "allow= takes an action glob or a list of them"),
        ({"allow": ["ec2:X"], "region": ["a"]}, "region= takes one region name"),
        ({"allow": ["ec2:X"], "region": "a", "regions": ["b"]}, "not both"),
        ({}, "nothing to check"),
        ({"allow": ["ec2:X"], "strict": "no"}, "strict= takes True or False"),
    ],
)
def test_marker_arguments_are_checked_by_the_library(kwargs: dict[str, Any], words: str) -> None:
    """The pytest marker's arguments: each mistake is a UsageError naming the argument."""
    with pytest.raises(UsageError, match=re.escape(words)):
        marker_expectations(kwargs)


def test_marker_arguments_become_expectations() -> None:
    """allow/deny lists (or one glob), region or regions, strict (the plugin's default)."""
    made = marker_expectations(
        {"allow": "ec2:Describe*", "deny": ["ec2:Delete*"], "region": "eu-west-1"}, strict=False
    )
    assert [(e.pattern, e.expected) for e in made.items] == [
        ("ec2:Describe*", Expected.ALLOW),
        ("ec2:Delete*", Expected.DENY),
    ]
    assert made.regions == ("eu-west-1",)
    assert made.strict is False
    assert marker_expectations({"deny": ["ec2:X"], "strict": True}, strict=False).strict is True
