"""Every answer fixture says where it comes from (tests/fixtures/SOURCES.toml).

A fixture is either ``modelled`` on a public source, ``recorded`` from real AWS (with
the date), or produced by ``moto`` (with its version); its ``source`` names the public
page or issue (a URL) or the botocore/moto file it follows.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = FIXTURES / "SOURCES.toml"
#: The directories whose every file is an answer fixture that needs a provenance entry.
FIXTURE_DIRS = ("aws", "decoded")
PROVENANCES = frozenset({"modelled", "recorded", "moto"})
KEYS = frozenset({"provenance", "source"})

_URL = re.compile(r"https?://[^\s)'\"]+\.[^\s)'\"]+")
_CODE_PATH = re.compile(r"\b(?:botocore|moto)/(?:[\w.-]+/)*[\w.-]+\.(?:py|json)\b")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_MOTO_VERSION = re.compile(r"\bmoto \d+\.\d+\.\d+\b")


def _sources() -> dict[str, Any]:
    with SOURCES.open("rb") as handle:
        return tomllib.load(handle)


def _fixture_files() -> list[str]:
    return sorted(
        path.relative_to(FIXTURES).as_posix()
        for directory in FIXTURE_DIRS
        for path in (FIXTURES / directory).iterdir()
        if path.is_file()
    )


def _problems(name: str, entry: Any) -> list[str]:
    """What is wrong with one SOURCES.toml entry (empty when nothing is)."""
    if not isinstance(entry, dict):
        return [f"{name}: not a table"]
    problems = [f"{name}: unknown key {key!r}" for key in sorted(set(entry) - KEYS)]
    problems += [f"{name}: missing key {key!r}" for key in sorted(KEYS - set(entry))]
    provenance, source = entry.get("provenance"), entry.get("source")
    if provenance not in PROVENANCES:
        problems.append(f"{name}: provenance {provenance!r} not one of {sorted(PROVENANCES)}")
    if not isinstance(source, str) or not source.strip():
        return [*problems, f"{name}: source is not a non-empty string"]
    if not (_URL.search(source) or _CODE_PATH.search(source)):
        problems.append(f"{name}: source names no http(s) URL and no botocore/moto file")
    if provenance == "recorded":
        dates = _DATE.findall(source)
        if not dates:
            problems.append(f"{name}: a recorded fixture's source carries no YYYY-MM-DD date")
        for text in dates:
            try:
                datetime.date.fromisoformat(text)
            except ValueError:
                problems.append(f"{name}: {text!r} is not a real date")
    if provenance == "moto" and not _MOTO_VERSION.search(source):
        problems.append(f"{name}: a moto fixture's source names no moto version (moto X.Y.Z)")
    return problems


def test_every_fixture_file_has_an_entry() -> None:
    """No answer fixture under aws/ or decoded/ lacks a SOURCES.toml entry."""
    files = _fixture_files()
    assert files, "no fixtures found: the directory layout changed"
    missing = sorted(set(files) - set(_sources()))
    assert not missing, f"fixtures without a SOURCES.toml entry: {missing}"


def test_every_entry_names_an_existing_fixture() -> None:
    """No SOURCES.toml entry is left behind for a fixture that was renamed or removed."""
    stale = sorted(name for name in _sources() if not (FIXTURES / name).is_file())
    assert not stale, f"SOURCES.toml entries for missing files: {stale}"
    assert all(name.split("/", 1)[0] in FIXTURE_DIRS for name in _sources())


def test_every_entry_is_well_formed() -> None:
    """Each entry has an allowed provenance and a public source; recordings are dated."""
    problems = [p for name, entry in _sources().items() for p in _problems(name, entry)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"provenance": "guessed", "source": "https://example.com/x"}, "provenance"),
        ({"provenance": "modelled", "source": "the docs, somewhere"}, "no http(s) URL"),
        ({"provenance": "modelled"}, "missing key 'source'"),
        ({"provenance": "modelled", "source": "https://a.example/b", "x": 1}, "unknown key"),
        ({"provenance": "recorded", "source": "https://a.example/b by hand"}, "no YYYY-MM-DD"),
        ({"provenance": "recorded", "source": "https://a.example/b 2026-13-40"}, "real date"),
        ({"provenance": "moto", "source": "moto/core/exceptions.py"}, "moto version"),
    ],
)
def test_the_checker_rejects_a_bad_entry(entry: dict[str, Any], expected: str) -> None:
    """The well-formedness check itself catches each kind of bad entry."""
    problems = _problems("aws/x.xml", entry)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "entry",
    [
        {"provenance": "modelled", "source": "botocore/data/_retry.json (ec2 policy)"},
        {"provenance": "recorded", "source": "us-east-1, 2026-11-29: https://a.example/run/1"},
        {"provenance": "moto", "source": "moto 5.2.5, moto/ec2/responses/_base_response.py"},
    ],
)
def test_the_checker_accepts_a_good_entry(entry: dict[str, Any]) -> None:
    """A file path, a dated recording and a versioned moto answer all pass the check."""
    assert _problems("aws/x.xml", entry) == []
