"""The pytest plugin's ``--awsprobe-simulate`` (ini ``awsprobe_simulate``), run as pytest itself.

Expected verdicts come from the policy text (IAM User Guide, "Policy evaluation logic":
an allow for ``s3:Get*`` allows ``s3:GetObject``; nothing allows ``s3:PutObject``).
"""

from __future__ import annotations

import json

import pytest

from awsprobe.catalog import _cache_dir

pytest_plugins = ["pytester"]

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "ec2:DescribeVpcs"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"},
    ],
}
TESTS = """
import pytest

@pytest.mark.aws_permissions(allow=["s3:GetObject", "ec2:DescribeVpcs"], deny=["s3:PutObject"])
def test_marker():
    pass

def test_fixture(aws_permissions):
    aws_permissions.assert_allowed("s3:GetObject")
    aws_permissions.assert_denied("s3:PutObject", "ec2:DescribeSubnets")
"""


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(_cache_dir()))
    (pytester.path / "policy.json").write_text(json.dumps(POLICY))
    pytester.makepyfile(TESTS)
    return pytester


def test_simulated_verdicts_meet_expectations(pytester: pytest.Pytester) -> None:
    """With the ini key, s3 actions (no dry run) are asserted through the simulator."""
    pytester.makeini("[pytest]\nawsprobe_sandbox_policy = policy.json\nawsprobe_simulate = true\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-config", timeout=180)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*policy simulator*"])


def test_without_simulate_an_action_without_dry_run_says_to_add_it(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--awsprobe-sandbox-policy", "policy.json", timeout=180
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*s3:GetObject has no dry run awsprobe sends: add --simulate*"])


def test_a_failed_simulated_expectation_says_why(pytester: pytest.Pytester) -> None:
    """An expectation the simulator contradicts fails with the simulator's reason: nothing
    in the policy allows s3:PutObject (an implicit deny), and the message says it was
    simulated."""
    pytester.makepyfile(
        test_put="""
import pytest

@pytest.mark.aws_permissions(allow=["s3:PutObject"])
def test_put():
    pass
"""
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--awsprobe-sandbox-policy",
        "policy.json",
        "--awsprobe-simulate",
        "test_put.py",
        timeout=180,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*s3:PutObject*", "*simulated: no policy allows it*"])
