"""Every subcommand through main(argv), against the sandbox, with its exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from awsprobe import cli
from awsprobe.cli import main
from awsprobe.errors import ProbeInterrupted
from awsprobe.matrix import Matrix
from awsprobe.sandbox import Sandbox
from tests.test_golden import FIXED


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def as_sandbox_user(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Environment credentials of the sandbox identity, and the options pointing at it."""
    credentials = sandbox.session().get_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    return ["--endpoint-url", sandbox.endpoint_url]


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_matrix_sandbox_json_is_a_truthful_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command, as JSON: the demo policy's verdicts for the EC2 catalog."""
    assert main(["matrix", "--sandbox", "--services", "ec2", "--output", "json"]) == 0
    data = _json(capsys)
    assert data["schema"] == "awsprobe.matrix/1"
    outcomes = {r["action"]: r["outcome"] for r in data["results"]}
    assert outcomes["ec2:DescribeInstances"] == "allowed"
    assert outcomes["ec2:RunInstances"] == "allowed"  # a us-east-1 write
    assert outcomes["ec2:TerminateInstances"] == "denied"  # explicit deny
    assert outcomes["ec2:CreateVpc"] == "denied"  # no statement allows it
    assert data["summary"]["dry_run_ignored"] == 0
    assert data["summary"]["allowed"] + data["summary"]["denied"] == len(data["results"])


def test_matrix_table_grid_csv_markdown_html(
    as_sandbox_user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every output format and both layouts render from the same run."""
    base = ["matrix", *as_sandbox_user, "--actions", "ec2:*Volume*"]
    for extra, marker in [
        ([], "legend:"),
        (["--layout", "grid"], "resource"),
        (["--output", "csv"], "identity,action,resource,service"),
        (["--output", "markdown"], "|---"),
        (["--output", "html"], "<!DOCTYPE html>"),
    ]:
        assert main([*base, *extra]) == 0
        assert marker in capsys.readouterr().out


def test_only_filters_outcomes(
    as_sandbox_user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--only denied keeps the denied results (the summary still counts everything)."""
    args = ["matrix", *as_sandbox_user, "--actions", "ec2:*Instances", "--only", "denied"]
    assert main([*args, "--output", "json"]) == 0
    data = _json(capsys)
    assert {r["outcome"] for r in data["results"]} == {"denied"}
    assert data["summary"]["allowed"] > 0


def test_save_then_baseline_detects_drift(
    sandbox: Sandbox,
    as_sandbox_user: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--save writes the matrix; --baseline against an edited copy exits 1 and says what changed."""
    saved = tmp_path / "m.json"
    args = ["matrix", *as_sandbox_user, "--actions", "ec2:*Instances"]
    assert main([*args, "--save", str(saved), "--output", "json"]) == 0
    capsys.readouterr()
    assert main([*args, "--baseline", str(saved)]) == 0
    capsys.readouterr()
    data = json.loads(saved.read_text(encoding="utf-8"))
    for row in data["results"]:
        if row["action"] == "ec2:TerminateInstances":
            row["outcome"], row["code"] = "allowed", "DryRunOperation"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    assert main([*args, "--baseline", str(edited)]) == 1
    err = capsys.readouterr().err
    assert "became denied (1):" in err
    assert (
        "ec2:TerminateInstances in us-east-1: allowed (DryRunOperation) -> "
        "denied (UnauthorizedOperation)" in err
    )


def test_interrupted_run_saves_partial_results_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C: partial results printed and saved, exit 130."""

    def interrupted(**_: object) -> Matrix:
        raise ProbeInterrupted(FIXED.with_results(FIXED.results[:3], complete=False))

    monkeypatch.setattr(cli, "probe", interrupted)
    saved = tmp_path / "partial.json"
    code = main(["matrix", "--save", str(saved), "--output", "json"])
    assert code == 130
    assert len(Matrix.load(saved).results) == 3
    assert Matrix.load(saved).complete is False
    assert "partial results saved" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["matrix", "--policy", "p.json"], 2, "--policy only applies to the sandbox"),
        (["matrix", "--save", "/nonexistent/dir/m.json"], 2, "does not exist"),
        (["matrix", "--workers", "0"], 2, "--workers must be between 1 and 256"),
        (["matrix", "--only", "maybe"], 2, "--only 'maybe'"),
        (["matrix", "--services", "ec3"], 2, "did you mean ec2"),
        (["matrix", "--actions", "ec2:DescribeInstancez"], 2, "close matches"),
        (["matrix", "--regions", "us-east-9"], 2, "unknown region"),
        (["matrix", "--baseline", "/nonexistent.json"], 2, "no such file"),
        (["matrix", "--endpoint-url", "not a url"], 2, "is not a URL"),
        (["matrix", "--profile", "nosuchprofile"], 2, "profile 'nosuchprofile'"),
        (["diff", "/nonexistent-a.json", "/nonexistent-b.json"], 2, "no such file"),
        (["check", "/nonexistent.toml"], 2, "no such file"),
        (["decode", "has spaces in it"], 2, "not an encoded authorization message"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(
    argv: list[str], code: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad input names the problem and the fix, with the documented exit code."""
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert words in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_bad_policy_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--sandbox --policy with a broken file: one line naming the problem, exit 2."""
    bad = tmp_path / "policy.json"
    bad.write_text('{"Statement": [', encoding="utf-8")
    assert main(["matrix", "--sandbox", "--policy", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "policy.json" in err
    assert len(err.splitlines()) == 1


def test_no_credentials_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credentials anywhere: exit 3 with a hint."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["matrix", "--actions", "ec2:DescribeInstances"]) == 3
    assert "no AWS credentials" in capsys.readouterr().err


def test_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """diff: 0 when equal, 1 when different (JSON output available)."""
    a = tmp_path / "a.json"
    FIXED.save(a)
    assert main(["diff", str(a), str(a)]) == 0
    assert "no differences" in capsys.readouterr().out
    b = tmp_path / "b.json"
    FIXED.with_results(FIXED.results[1:]).save(b)
    assert main(["diff", str(a), str(b), "--output", "json"]) == 1
    assert _json(capsys)["differs"] is True


def test_check_met_and_unmet(
    as_sandbox_user: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check: exit 0 when every expectation holds, 1 listing each unmet one with its code."""
    good = tmp_path / "good.toml"
    good.write_text(
        'allow = ["ec2:Describe*", "ec2:RunInstances"]\ndeny = ["ec2:TerminateInstances"]\n'
        '[region.eu-west-1]\ndeny = ["ec2:RunInstances"]\n',
        encoding="utf-8",
    )
    assert main(["check", str(good), *as_sandbox_user]) == 0
    assert "all met" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('allow = ["ec2:TerminateInstances", "ec2:CreateVpc"]\n', encoding="utf-8")
    assert main(["check", str(bad), *as_sandbox_user]) == 1
    out = capsys.readouterr().out
    assert (
        "UNMET  ec2:TerminateInstances in us-east-1: expected allowed, got denied "
        "(UnauthorizedOperation)" in out
    )
    assert "2 unmet" in out


def test_decode_explains_a_sandbox_denial(
    sandbox: Sandbox, as_sandbox_user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """decode: the message from a denied probe explains itself (readable and JSON)."""
    from awsprobe.decode import encoded_message
    from awsprobe.probing.orchestrate import probe

    matrix = probe(
        actions=["ec2:TerminateInstances"],
        session=sandbox.session(),
        endpoint_url=sandbox.endpoint_url,
    )
    blob = encoded_message(matrix.results[0].message)
    assert blob
    assert main(["decode", blob, *as_sandbox_user]) == 0
    out = capsys.readouterr().out
    assert "explicit deny" in out
    assert "NeverDestroy" in out
    assert main(["decode", blob, *as_sandbox_user, "--output", "json"]) == 0
    assert _json(capsys)["explicitDeny"] is True
    assert main(["decode", f"--encoded-message={blob}", *as_sandbox_user]) == 0
    assert "NeverDestroy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["decode", "-qM8LAMIa8BOM4WRt3qatHjapVRNb5wwEP0vPkaLgmn2A9", "--output", "json"],
        ["decode", "--output", "json", "-qM8LAMIa8BOM4WRt3qatHjapVRNb5wwEP0vPkaLgmn2A9"],
        ["decode", "--encoded-message=-qM8LAMIa8BOM4WRt3qatHjapVRNb5wwEP0vPkaLgmn2A9"],
    ],
)
def test_decode_takes_a_message_that_starts_with_a_dash(argv: list[str]) -> None:
    """An encoded message is base64url text and may start with '-': it is still the message."""
    args = cli._build_parser().parse_args(cli._shield_dashed_message(argv))
    assert args.encoded_message == "-qM8LAMIa8BOM4WRt3qatHjapVRNb5wwEP0vPkaLgmn2A9"
    assert args.message is None


def test_decode_without_a_message_says_how_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    """No message at all is a usage error (exit 2) that names the three ways to give one."""
    assert main(["decode", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert "--encoded-message" in err
    assert "MESSAGE" in err


def test_common_options_are_accepted_after_every_subcommand() -> None:
    """--output, --debug and --color/--no-color parse after each subcommand's name."""
    parser = cli._build_parser()
    for argv in (
        ["matrix", "--output", "json", "--debug", "--no-color"],
        ["catalog", "--output", "json", "--debug", "--color"],
        ["diff", "a", "b", "--output", "json", "--debug", "--no-color"],
        ["check", "x.toml", "--output", "json", "--debug", "--profile", "p", "--sandbox"],
        ["decode", "m", "--output", "json", "--debug", "--region", "eu-west-1", "--sandbox"],
    ):
        parser.parse_args(argv)
