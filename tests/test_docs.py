"""Docs that cannot drift: the README's commands, public API and CLI commands."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_readme_python_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every Python example in the README runs as written (against the sandbox)."""
    monkeypatch.chdir(tmp_path)
    blocks = _python_blocks()
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.rst", "exec"), {})
    out = capsys.readouterr().out
    assert "Outcome.ALLOWED" in out or "allowed" in out
    assert (tmp_path / "matrix.json").exists()
