"""The pytest plugin, tested by running pytest itself against the sandbox.

Each ``pytester.runpytest_subprocess`` run starts its own sandbox (a second or
two), so every run here checks one behaviour with several test functions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from awsprobe.catalog import _cache_dir, load_catalog
from awsprobe.matrix import Identity, Matrix, ProbeResult
from awsprobe.model import Outcome
from awsprobe.sandbox import SANDBOX_ACCOUNT
from tests.fakes import FakeAWS, Seen, ec2_error

pytest_plugins = ["pytester"]

SANDBOX_ARN = f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/awsprobe-sandbox"
#: pytester moves HOME; the child processes share the catalog index built here.
CATALOG_CACHE = str(_cache_dir())


def _readme_example() -> str:
    """The plugin example exactly as the README shows it (docs cannot drift from the test)."""
    import re
    import textwrap

    readme = (Path(__file__).resolve().parent.parent / "README.rst").read_text(encoding="utf-8")
    section = readme.split("The pytest plugin\n-----------------", 1)[1]
    found = re.search(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    assert found, "the README lost its pytest plugin example"
    return textwrap.dedent(found.group(1))


README_EXAMPLE = _readme_example()

#: A conftest that records what the sandbox received, for the child's session.
RECORDING_CONFTEST = """
import json
from pathlib import Path

import pytest

@pytest.fixture(scope="session", autouse=True)
def _record_requests(awsprobe_sandbox):
    yield
    seen = [[r.service, r.operation, r.region, r.dry_run] for r in awsprobe_sandbox.requests]
    Path("requests.json").write_text(json.dumps(seen))
"""

#: A conftest overriding awsprobe_session: the sandbox user, with answers AWS may give
#: that are no verdict -- a validation error (inconclusive) and a region not enabled (error).
FAULTS_CONFTEST = """
import re

import pytest
from botocore.awsrequest import AWSResponse


class _Body:
    def __init__(self, body):
        self._body = body

    def stream(self, **_):
        yield self._body


def _ec2_error(request, status, code):
    body = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{code}</Message></Error>"
        "</Errors><RequestID>0</RequestID></Response>"
    ).encode()
    return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, _Body(body))


def _invalid(request, **_):
    return _ec2_error(request, 400, "InvalidParameterValue")


def _region_not_enabled(request, **_):
    scope = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", request.headers["Authorization"].decode())
    if scope and scope.group(1) == "ap-southeast-2":
        return _ec2_error(request, 401, "OptInRequired")
    return None


@pytest.fixture(scope="session")
def awsprobe_session(awsprobe_sandbox):
    session = awsprobe_sandbox.session()
    session.events.register("before-send.ec2.CreateVpc", _invalid)
    session.events.register("before-send.ec2", _region_not_enabled)
    return session
"""

FAULT_TESTS = """
import pytest

def test_inconclusive_fails_and_says_why(aws_permissions):
    aws_permissions.assert_allowed("ec2:CreateVpc")

@pytest.mark.aws_permissions(allow=["ec2:DescribeInstances"], region="ap-southeast-2")
def test_error_fails_and_says_why():
    pass

def test_allowed_cannot_tell_from_no_verdict(aws_permissions):
    aws_permissions.allowed("ec2:CreateVpc")

@pytest.mark.aws_permissions(deny=["ec2:CreateVpc"], strict=False)
def test_marker_opts_in():
    pass
"""


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose children find the catalog index and never see this repo's options."""
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", CATALOG_CACHE)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=180)


def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/awsprobe-plugin-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/awsprobe-plugin-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _result(action: str, region: str, outcome: Outcome, arn: str = SANDBOX_ARN) -> ProbeResult:
    code = {Outcome.ALLOWED: "DryRunOperation", Outcome.DENIED: "UnauthorizedOperation"}[outcome]
    return ProbeResult(
        action=action,
        service="ec2",
        operation=action.split(":", 1)[1],
        region=region,
        outcome=outcome,
        code=code,
        http_status=412 if outcome is Outcome.ALLOWED else 403,
        message=None,
        attempts=1,
        elapsed_ms=1.0,
        identity=arn,
    )


def _save_baseline(path: Path, rows: list[tuple[str, str, Outcome]]) -> None:
    identity = Identity(arn=SANDBOX_ARN, account=SANDBOX_ACCOUNT, user_id="AIDAEXAMPLE")
    results = tuple(_result(action, region, outcome) for action, region, outcome in rows)
    regions = tuple(dict.fromkeys(region for _, region, _ in rows))
    Matrix(identity=identity, regions=regions, results=results).save(path)


# -- registration ------------------------------------------------------------------------


def test_options_and_ini_keys_are_registered_in_an_awsprobe_group(
    pytester: pytest.Pytester,
) -> None:
    """--help lists every option in the awsprobe group and every ini key it mirrors."""
    result = _run(pytester, "--help")
    result.stdout.fnmatch_lines(
        [
            "awsprobe: assert an AWS identity's permissions:",
            "*--awsprobe-profile=NAME*",
            "*--awsprobe-region=REGION*",
            "*--awsprobe-regions=LIST*",
            "*--awsprobe-endpoint-url=URL*",
            "*--awsprobe-sandbox *",
            "*--awsprobe-sandbox-policy=FILE*",
            "*--awsprobe-baseline=FILE*",
            "*--awsprobe-strict*",
            "*--awsprobe-no-strict*",
            "*--awsprobe-decode*",
            "*--awsprobe-no-decode*",
        ]
    )
    for key in (
        "awsprobe_profile (string)",
        "awsprobe_region (string)",
        "awsprobe_regions (string)",
        "awsprobe_endpoint_url (string)",
        "awsprobe_sandbox (bool)",
        "awsprobe_sandbox_policy (string)",
        "awsprobe_baseline (string)",
        "awsprobe_strict (bool)",
        "awsprobe_decode (bool)",
    ):
        result.stdout.fnmatch_lines([f"  {key}*"])


def test_plugin_is_inert_without_its_marker_fixture_or_options(pytester: pytest.Pytester) -> None:
    """A suite that does not use the plugin gets no header, no sandbox, no moto, no probe."""
    pytester.makepyfile(
        """
        import sys
        import threading

        def test_nothing_started():
            assert "moto" not in sys.modules
            assert not [t.name for t in threading.enumerate() if "awsprobe" in t.name]
        """
    )
    result = _run(pytester, "--strict-markers", "--strict-config")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("awsprobe*")


# -- the README example ------------------------------------------------------------------


def test_readme_example_passes_against_the_sandbox(pytester: pytest.Pytester) -> None:
    """The issue's example passes with --awsprobe-sandbox, --strict-markers on; header shown."""
    pytester.makepyfile(test_readme=README_EXAMPLE)
    result = _run(pytester, "--awsprobe-sandbox", "--strict-markers", "--strict-config", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"awsprobe: identity {SANDBOX_ARN} (sandbox, demo policy)",
            "awsprobe: regions us-east-1 (strict; denials decoded)",
            "*test_ci_role_can_deploy_but_not_destroy PASSED*",
            "*test_fine_grained PASSED*",
            f"* dry runs sent as {SANDBOX_ARN}, * reused from the cache",
        ]
    )


# -- failures ----------------------------------------------------------------------------


def test_marker_failure_lists_every_unmet_expectation_with_decoded_reasons(
    pytester: pytest.Pytester,
) -> None:
    """One readable message: action, region, outcome, code, the decoded reason; globs expand."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aws_permissions(
            allow=["ec2:RunInstances", "ec2:*ClassicLinkVpc"],
            deny=["ec2:DescribeInstances"],
            regions=["us-east-1", "eu-west-1"],
        )
        def test_marker_fails():
            raise RuntimeError("the body never runs when an expectation is unmet")

        @pytest.mark.aws_permissions(allow=["ec2:RunInstances"], region="eu-west-1")
        @pytest.mark.aws_permissions(deny=["ec2:TerminateInstances"])
        def test_stacked_markers_combine():
            pass

        @pytest.mark.aws_permissions(allow=["ec2:NoSuchThing*"])
        def test_glob_matching_nothing():
            pass

        @pytest.mark.aws_permissions(allow=["ec2:RunInstances"], zone="eu-west-1a")
        def test_unknown_argument():
            pass
        """
    )
    result = _run(pytester, "--awsprobe-sandbox")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*_ test_marker_fails _*",
            f"aws_permissions: 7 of 8 expectations unmet for {SANDBOX_ARN}",
            "  ec2:RunInstances in eu-west-1: expected allowed, got denied (UnauthorizedOperation)",
            "      why: no policy allows: ec2:RunInstances on *",
            "  ec2:AttachClassicLinkVpc in us-east-1: expected allowed, got denied"
            " (UnauthorizedOperation)  [[]allow ec2:*ClassicLinkVpc]",
            "      why: no policy allows: ec2:AttachClassicLinkVpc on *",
            "  ec2:AttachClassicLinkVpc in eu-west-1: *",
            "*",
            "  ec2:DetachClassicLinkVpc in us-east-1: *",
            "*",
            "  ec2:DetachClassicLinkVpc in eu-west-1: *",
            "*",
            "  ec2:DescribeInstances in us-east-1: expected denied, got allowed (DryRunOperation)",
            "  ec2:DescribeInstances in eu-west-1: expected denied, got allowed (DryRunOperation)",
            "*_ test_stacked_markers_combine _*",
            f"aws_permissions: 1 of 2 expectations unmet for {SANDBOX_ARN}",
            "  ec2:RunInstances in eu-west-1: expected allowed, got denied (UnauthorizedOperation)",
            "*_ test_glob_matching_nothing _*",
            "awsprobe: *no catalog action matches ec2:NoSuchThing*",
            "*_ test_unknown_argument _*",
            "aws_permissions: unknown argument zone=*",
        ]
    )
    result.stdout.no_fnmatch_line("*the body never runs*")
    result.stdout.no_fnmatch_line("*Traceback*")


def test_fixture_assertions_read_like_assertion_messages(pytester: pytest.Pytester) -> None:
    """assert_allowed/assert_denied raise AssertionError listing every miss; queries answer."""
    pytester.makepyfile(
        """
        from awsprobe import Outcome

        def test_assert_allowed_fails(aws_permissions):
            aws_permissions.assert_allowed("ec2:StartInstances", "ec2:Terminate*",
                                           region=["us-east-1", "eu-west-1"])

        def test_assert_denied_fails(aws_permissions):
            aws_permissions.assert_denied("ec2:*ClassicLinkInstances")

        def test_queries(aws_permissions):
            assert aws_permissions.allowed("ec2:RunInstances")
            assert not aws_permissions.allowed("ec2:RunInstances", region="eu-west-1")
            assert not aws_permissions.allowed("ec2:*Instances")  # a glob: all or nothing
            assert aws_permissions.outcome("ec2:TerminateInstances") is Outcome.DENIED
            result = aws_permissions.result("ec2:RunInstances", "eu-west-1")
            assert (result.region, result.code) == ("eu-west-1", "UnauthorizedOperation")
            assert aws_permissions.regions == ("us-east-1",)
            matrix = aws_permissions.matrix("ec2:RunInstances", region=["us-east-1", "eu-west-1"])
            assert matrix.outcome("ec2:RunInstances", "us-east-1") is Outcome.ALLOWED
            assert matrix.outcome("ec2:RunInstances", "eu-west-1") is Outcome.DENIED
        """
    )
    result = _run(pytester, "--awsprobe-sandbox", "--awsprobe-no-decode")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            ">*aws_permissions.assert_allowed(*",
            "E       AssertionError: assert_allowed('ec2:StartInstances', 'ec2:Terminate*',"
            " region=[[]'us-east-1', 'eu-west-1']): 5 of 6 expectations unmet for *",
            "E         ec2:StartInstances in eu-west-1: expected allowed, got denied"
            " (UnauthorizedOperation)",
            "E             why: because no identity-based policy allows the ec2:StartInstances*",
            "E         ec2:TerminateClientVpnConnections in us-east-1: *  [[]allow ec2:Terminate*]",
            "E             why: *",
            "E         ec2:TerminateClientVpnConnections in eu-west-1: *  [[]allow ec2:Terminate*]",
            "E             why: *",
            "E         ec2:TerminateInstances in us-east-1: expected allowed, got denied"
            " (UnauthorizedOperation)  [[]allow ec2:Terminate*]",
            "E             why: with an explicit deny in an identity-based policy",
            "E         ec2:TerminateInstances in eu-west-1: *",
            "E             why: with an explicit deny in an identity-based policy",
            "",
            ">*aws_permissions.assert_denied(*",
            "E       AssertionError: assert_denied('ec2:*ClassicLinkInstances'): 1 of 1 *",
            "E         ec2:DescribeClassicLinkInstances in us-east-1: expected denied, got allowed"
            " (DryRunOperation)  [[]deny ec2:*ClassicLinkInstances]",
        ]
    )
    assert "awsprobe/pytest_plugin.py" not in result.stdout.str()  # the user's line, not ours


def test_inconclusive_and_error_fail_with_why_unless_not_strict(
    pytester: pytest.Pytester,
) -> None:
    """No verdict never meets an expectation and says why; strict=False lets it pass."""
    pytester.makeconftest(FAULTS_CONFTEST)
    pytester.makepyfile(test_faults=FAULT_TESTS)
    result = _run(pytester, "--awsprobe-sandbox")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert_allowed('ec2:CreateVpc'): 1 of 1 expectations unmet *",
            "E         ec2:CreateVpc in us-east-1: expected allowed, got inconclusive"
            " (InvalidParameterValue)",
            "E             why: InvalidParameterValue: rejected before a verdict*",
            "E         (inconclusive and error answers never meet an expectation; pass"
            " strict=False (or set awsprobe_strict = false) to report them without failing)",
            "*_ test_error_fails_and_says_why _*",
            "aws_permissions: 1 of 1 expectations unmet for *",
            "  ec2:DescribeInstances in ap-southeast-2: expected allowed,"
            " got error (OptInRequired)",
            "      why: OptInRequired: the account is not subscribed here or the region is not*",
            "E       AssertionError: allowed('ec2:CreateVpc'): cannot tell,"
            " no verdict for 1 of 1 probe",
            "E         ec2:CreateVpc in us-east-1: inconclusive (InvalidParameterValue)",
            "*- awsprobe -*",
            "1 expectation neither met nor failed (strict=False):",
            "  aws_permissions: ec2:CreateVpc in us-east-1: expected denied, got inconclusive"
            " (InvalidParameterValue): InvalidParameterValue: *",
        ]
    )


def test_ini_awsprobe_strict_false_lets_no_verdict_pass(pytester: pytest.Pytester) -> None:
    """awsprobe_strict = false in the ini file: no verdict is reported, not failed."""
    pytester.makeconftest(FAULTS_CONFTEST)
    pytester.makepyfile(test_faults=FAULT_TESTS)
    pytester.makeini("[pytest]\nawsprobe_strict = false\nawsprobe_sandbox = true\n")
    result = _run(pytester, "--strict-config")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "awsprobe: regions us-east-1 (not strict; denials decoded)",
            "3 expectations neither met nor failed (strict=False):",
        ]
    )


# -- caching -----------------------------------------------------------------------------


def test_each_probe_is_sent_once_per_session(pytester: pytest.Pytester) -> None:
    """Many assertions over many tests send each (action, region) dry run once, decode once."""
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aws_permissions(allow=["ec2:DescribeInstances", "ec2:RunInstances"],
                                     deny=["ec2:TerminateInstances"])
        def test_marker():
            pass

        def test_same_again_and_again(aws_permissions):
            for _ in range(3):
                aws_permissions.assert_allowed("ec2:DescribeInstances", "ec2:RunInstances")
                aws_permissions.assert_denied("ec2:TerminateInstances")
                assert aws_permissions.allowed("ec2:RunInstances")
                assert aws_permissions.outcome("ec2:TerminateInstances").value == "denied"

        def test_overlapping_glob(aws_permissions):
            aws_permissions.assert_allowed("ec2:Describe*Instances")

        @pytest.mark.parametrize("attempt", [1, 2])
        def test_same_denial_explained_twice(aws_permissions, attempt):
            aws_permissions.assert_allowed("ec2:RunInstances", region="eu-west-1")
        """
    )
    result = _run(pytester, "--awsprobe-sandbox")
    result.assert_outcomes(passed=3, failed=2)
    seen = json.loads((pytester.path / "requests.json").read_text())
    dry_runs = Counter((op, region) for service, op, region, dry in seen if dry)
    assert dry_runs, "no dry run reached the sandbox"
    assert max(dry_runs.values()) == 1, [key for key, n in dry_runs.items() if n > 1]
    describes = sum(1 for op, _ in dry_runs if op.startswith("Describe") and "Instances" in op)
    assert len(dry_runs) == describes + 3  # + RunInstances twice, TerminateInstances once
    others = Counter(op for service, op, region, dry in seen if not dry)
    assert others == {"GetCallerIdentity": 1, "DecodeAuthorizationMessage": 1}
    result.stdout.fnmatch_lines(
        [f"{len(dry_runs)} dry runs sent as {SANDBOX_ARN}, * reused from the cache"]
    )


# -- credentials -------------------------------------------------------------------------


def test_skipped_with_a_clear_reason_without_credentials(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials and no sandbox: the plugin's tests are skipped, not errored."""
    _no_credentials(monkeypatch)
    pytester.makepyfile(test_readme=README_EXAMPLE)
    pytester.makepyfile(
        test_other="""
        def test_unrelated():
            pass
        """
    )
    result = _run(pytester, "-rs", "--awsprobe-regions", "eu-west-1")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "awsprobe: identity unknown: no AWS credentials found"
            " (set AWS_PROFILE, or use --awsprobe-sandbox)",
            "awsprobe: regions eu-west-1 (strict; denials decoded)",
            "SKIPPED [[]1] test_readme.py:*: awsprobe: no AWS credentials found"
            " (set AWS_PROFILE, or use --awsprobe-sandbox)",
            "SKIPPED [[]1] test_readme.py:*: awsprobe: no AWS credentials found*",
        ]
    )


def test_awsprobe_session_can_be_overridden(pytester: pytest.Pytester) -> None:
    """A conftest's own awsprobe_session (an assumed role, say) is the identity asserted."""
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def awsprobe_session(awsprobe_sandbox):
            return awsprobe_sandbox.admin_session()  # another identity: allowed everything
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aws_permissions(allow=["ec2:TerminateInstances", "ec2:RunInstances"],
                                     regions=["us-east-1", "eu-west-1"])
        def test_admin(aws_permissions):
            assert aws_permissions.identity.arn.endswith(":user/awsprobe-sandbox-admin")
        """
    )
    result = _run(pytester, "--awsprobe-sandbox")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["4 dry runs sent as *:user/awsprobe-sandbox-admin, *"])


# -- the baseline item -------------------------------------------------------------------


def test_baseline_item_fails_listing_the_drift(pytester: pytest.Pytester) -> None:
    """--awsprobe-baseline adds one item that fails with compare.diff's lines (and why)."""
    _save_baseline(
        pytester.path / "baseline.json",
        [
            ("ec2:DescribeInstances", "us-east-1", Outcome.ALLOWED),
            ("ec2:DescribeVpcs", "eu-west-1", Outcome.DENIED),
            ("ec2:RunInstances", "eu-west-1", Outcome.ALLOWED),
            ("ec2:TerminateInstances", "us-east-1", Outcome.DENIED),
        ],
    )
    pytester.makepyfile("def test_unrelated():\n    pass\n")
    result = _run(pytester, "--awsprobe-sandbox", "--awsprobe-baseline", "baseline.json", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "awsprobe: baseline *baseline.json",
            "baseline.json::awsprobe-baseline FAILED*",
            "*_ awsprobe-baseline _*",
            f"awsprobe-baseline: the permissions of {SANDBOX_ARN} differ from *baseline.json",
            "  became allowed (1):",
            "    ec2:DescribeVpcs in eu-west-1: denied (UnauthorizedOperation)"
            " -> allowed (DryRunOperation)",
            "  became denied (1):",
            "    ec2:RunInstances in eu-west-1: allowed (DryRunOperation)"
            " -> denied (UnauthorizedOperation)",
            "        why: no policy allows: ec2:RunInstances on *",
            "FAILED baseline.json::awsprobe-baseline - Failed: awsprobe-baseline: *",
        ]
    )
    result.stdout.no_fnmatch_line("*TerminateInstances*")


def test_baseline_item_passes_and_sandbox_policy_file_is_used(pytester: pytest.Pytester) -> None:
    """A matching baseline passes; --awsprobe-sandbox-policy gives the sandbox user that policy."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
    }
    (pytester.path / "policy.json").write_text(json.dumps(policy))
    _save_baseline(
        pytester.path / "baseline.json",
        [
            ("ec2:DescribeInstances", "us-east-1", Outcome.ALLOWED),
            ("ec2:DescribeInstances", "eu-west-1", Outcome.ALLOWED),
            ("ec2:DescribeVpcs", "eu-west-1", Outcome.DENIED),
        ],
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aws_permissions(allow=["ec2:DescribeInstances"], deny=["ec2:DescribeVpcs"])
        def test_policy_applies():
            pass
        """
    )
    pytester.makeini(
        "[pytest]\nawsprobe_sandbox_policy = policy.json\nawsprobe_baseline = baseline.json\n"
    )
    result = _run(pytester, "--strict-config", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"awsprobe: identity {SANDBOX_ARN} (sandbox, policy *policy.json)",
            "awsprobe: baseline *baseline.json",
            "*test_policy_applies PASSED*",
            "baseline.json::awsprobe-baseline PASSED*",
        ]
    )


# -- bad options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--awsprobe-sandbox-policy", "missing.json"], "*policy file*missing.json*not found*"),
        (["--awsprobe-regions", "eu-west-7"], "*unknown region 'eu-west-7'*"),
        (["--awsprobe-baseline", "missing.json"], "*missing.json: no such file*"),
    ],
)
def test_bad_options_are_usage_errors_before_collection(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    """An option that cannot work stops the run at once with one line (exit code 4)."""
    pytester.makepyfile("def test_unrelated():\n    pass\n")
    result = _run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: awsprobe: {message}"])


# -- the cache, in process ---------------------------------------------------------------


def test_probe_cache_sends_each_probe_once_under_concurrent_callers() -> None:
    """Threads asking for overlapping batches at once still send each dry run once."""
    from concurrent.futures import ThreadPoolExecutor

    from awsprobe.probing.cache import ProbeCache
    from awsprobe.sandbox import Sandbox

    with Sandbox() as sandbox:
        session, url = sandbox.session(), sandbox.endpoint_url
        cache = ProbeCache(workers=4)
        entries = [e for a in ("ec2:RunInstances", "ec2:*ClassicLink*") for e in cache.entries(a)]
        wanted = [(e, r) for e in entries for r in ("us-east-1", "eu-west-1")]
        try:
            with ThreadPoolExecutor(max_workers=6) as pool:
                answers = list(
                    pool.map(
                        lambda n: cache.results(session, url, wanted[n:] + wanted[:n]), range(6)
                    )
                )
        finally:
            cache.close()
        dry_runs = Counter((r.operation, r.region) for r in sandbox.requests if r.dry_run)
    assert len(dry_runs) == len(wanted)
    assert set(dry_runs.values()) == {1}
    assert cache.sent == len(wanted)
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][("ec2:RunInstances", "us-east-1")].outcome is Outcome.ALLOWED
    assert answers[0][("ec2:RunInstances", "eu-west-1")].outcome is Outcome.DENIED


#: A denial carrying an encoded message (EC2 API Reference, Error codes:
#: UnauthorizedOperation "... Encoded authorization failure message: ...").
def _denial_with(blob: str) -> tuple[int, bytes]:
    return (
        403,
        ec2_error(
            "UnauthorizedOperation",
            "You are not authorized to perform this operation. "
            f"Encoded authorization failure message: {blob}",
        ),
    )


#: STS's query-protocol error (STS API Reference, Common Errors: AccessDenied, HTTP 403).
_STS_DENIED = (
    403,
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
    b"<Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to "
    b"perform: sts:DecodeAuthorizationMessage</Message></Error><RequestId>1</RequestId>"
    b"</ErrorResponse>",
)


def _decoded(action: str) -> tuple[int, bytes]:
    """DecodeAuthorizationMessage's answer: the JSON shape of aws-cli's example
    (awscli/examples/sts/decode-authorization-message.rst), XML-escaped in the response."""
    from xml.sax.saxutils import escape

    text = json.dumps(
        {
            "allowed": False,
            "explicitDeny": False,
            "matchedStatements": {"items": []},
            "failures": {"items": []},
            "context": {"action": action, "resource": "*", "conditions": {"items": []}},
        }
    )
    return (
        200,
        b'<DecodeAuthorizationMessageResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<DecodeAuthorizationMessageResult><DecodedMessage>"
        + escape(text).encode()
        + b"</DecodedMessage></DecodeAuthorizationMessageResult>"
        b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
        b"</DecodeAuthorizationMessageResponse>",
    )


_DENIED_ACTIONS = ("ec2:RunInstances", "ec2:TerminateInstances", "ec2:CreateVpc")


def _denying(decode: tuple[int, bytes] | None) -> FakeAWS:
    """Every probe denied with its own encoded message (BLOB-<operation>); STS answers
    ``decode`` to DecodeAuthorizationMessage, or decodes each blob to its action."""

    def rule(seen: Seen, nth: int) -> tuple[int, bytes]:
        if seen.operation == "DecodeAuthorizationMessage":
            blob = seen.body.decode().split("EncodedMessage=", 1)[1].split("&", 1)[0]
            return decode or _decoded(f"ec2:{blob.removeprefix('BLOB-')}")
        return _denial_with(f"BLOB-{seen.operation}")

    return FakeAWS(rule)


def _ask_twice(
    fake: FakeAWS,
) -> tuple[list[tuple[dict[ProbeResult, str], list[str]]], list[ProbeResult]]:
    """Probe the denied actions through a cache, then ask it twice why they were denied."""
    from awsprobe.probing.cache import ProbeCache

    cache = ProbeCache(workers=2)
    entries = [load_catalog(actions=[a]).find(a) for a in _DENIED_ACTIONS]
    try:
        found = cache.results(fake.session, None, [(e, "us-east-1") for e in entries])
        results = list(found.values())
        answers = [cache.reasons(fake.session, None, results) for _ in range(2)]
    finally:
        cache.close()
    return answers, results


def test_the_cache_decodes_each_denial_once_through_awsprobe_decode() -> None:
    """Three denials, asked about twice: each message is decoded once, and each denial's
    reason is its decoded line."""
    fake = _denying(None)
    answers, results = _ask_twice(fake)
    assert len(fake.sent("DecodeAuthorizationMessage")) == 3
    for reasons, failures in answers:
        assert failures == []
        assert {r.action: reasons[r] for r in results} == {
            a: f"no policy allows: {a} on *" for a in _DENIED_ACTIONS
        }


def test_an_identity_that_may_not_decode_is_asked_once() -> None:
    """STS denies decoding: one DecodeAuthorizationMessage for the whole session, one line
    saying why, and no reason invented for the denials."""
    fake = _denying(_STS_DENIED)
    answers, _ = _ask_twice(fake)
    assert len(fake.sent("DecodeAuthorizationMessage")) == 1
    for reasons, failures in answers:
        assert reasons == {}
        (failure,) = failures
        assert "may not decode authorization messages" in failure
