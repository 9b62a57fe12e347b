"""Docs that cannot drift: the README's commands, public API and CLI commands."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

import awsprobe
from awsprobe.cli import _build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.rst").read_text(encoding="utf-8")


def _readme_commands() -> list[str]:
    """The first two indented command lines of the README (install+run, install+test)."""
    commands = re.findall(r"::\n\n    (python3 -m venv .+)\n", README)
    return commands[:2]


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    """CI installs exactly as the README says: both command lines appear verbatim in .ci/run."""
    commands = _readme_commands()
    assert len(commands) == 2
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        assert command in ci


def test_public_api_is_what_the_readme_documents() -> None:
    """awsprobe.__all__ is exactly the list in the README's public-api block."""
    block = README.split(".. public-api", 1)[1].split(".. end-public-api", 1)[0]
    documented = re.findall(r"^\* ``([A-Za-z_]+)``", block, flags=re.M)
    assert sorted(documented) == sorted(awsprobe.__all__)
    for name in awsprobe.__all__:
        assert hasattr(awsprobe, name)


def test_every_cli_command_is_in_the_readme_with_help_and_an_example() -> None:
    """Each subcommand has --help text with an example and a README entry."""
    parser = _build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, subparser in sub.choices.items():  # type: ignore[attr-defined]
        assert f"``{name}``" in README, name
        text = subparser.format_help()
        assert "example" in text, name


def _python_blocks() -> list[str]:
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", README)
    return [re.sub(r"^    ", "", b, flags=re.M) for b in blocks]


def _run_block(block: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[str]]:
    """Run one README block as written; its namespace and the lines it printed."""
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.rst", "exec"), namespace)
    return namespace, capsys.readouterr().out.splitlines()


def test_readme_python_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every Python example in the README runs as written and prints what it documents.

    Expected values come from the README, not from running the code: the first
    example's comments say ``# Outcome.ALLOWED`` and ``# False``, and the sandbox
    section documents the demo policy (read-only EC2 allowed, writes outside
    us-east-1 and an explicit deny refused, every dry run answered as AWS does).
    The Service Authorization Reference lists ec2:DescribeInstances as List.
    """
    monkeypatch.chdir(tmp_path)
    blocks = _python_blocks()
    assert len(blocks) == 4

    api = blocks[0]
    assert 'matrix.outcome("ec2:DescribeInstances"))       # Outcome.ALLOWED' in api
    assert "endpoint_url=sandbox.endpoint_url))  # False" in api
    namespace, lines = _run_block(api, capsys)
    matrix = namespace["matrix"]
    assert matrix.outcome("ec2:DescribeInstances") is awsprobe.Outcome.ALLOWED
    assert lines[1:] == ["allowed", "False"]
    summary = ast.literal_eval(lines[0])
    assert summary == matrix.summary
    assert summary["allowed"] > 0
    assert summary["denied"] > 0
    assert summary["inconclusive"] == summary["error"] == summary["dry_run_ignored"] == 0
    saved = awsprobe.Matrix.load(tmp_path / "matrix.json")
    assert saved.outcome("ec2:DescribeInstances") is awsprobe.Outcome.ALLOWED
    assert saved.outcome("ec2:TerminateInstances") is awsprobe.Outcome.DENIED

    namespace, lines = _run_block(blocks[1], capsys)
    assert lines == ["ec2:DescribeInstances list {'DryRun': True}"]
    assert namespace["entry"].access_level is awsprobe.AccessLevel.LIST

    for block in blocks[2:]:  # the pytest examples define tests and a fixture, print nothing
        assert _run_block(block, capsys)[1] == []


def _how_it_is_built() -> str:
    start = README.index("How it is built\n---------------\n")
    return README[start : README.index("Development\n-----------\n", start)]


def test_how_it_is_built_names_every_module_and_no_other() -> None:
    """README's "How it is built" names each module of the package, and none that is gone."""
    package = Path(awsprobe.__file__).parent
    section = _how_it_is_built()
    modules = {
        p.stem if p.parent == package else f"{p.parent.name}/{p.stem}"
        for p in package.rglob("*.py")
        if not p.name.startswith("_")
    }
    missing = []
    for module in sorted(modules):
        folder, _, name = module.rpartition("/")
        where = section
        if folder:
            where = section[section.index(f"``{folder}/``") :].split("\n* ", 1)[0]
        if f"``{name}``" not in where:
            missing.append(module)
    assert missing == []
    named = set(re.findall(r"``([a-z_]+)/``", section))
    assert named == {p.parent.name for p in package.rglob("__init__.py") if p.parent != package}
