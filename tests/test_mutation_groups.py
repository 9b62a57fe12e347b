"""The mutation driver's groups name real code and real tests.

``bash .ci/mutation`` is run by hand; these checks run with the suite so that a
renamed function or test file cannot quietly drop out of the mutation score.
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

from tests import mutation

ROOT = Path(__file__).resolve().parent.parent


def _functions(module: str) -> set[str]:
    """Every function of a module, methods as ``Class.method``."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.add(f"{node.name}.{item.name}")
    return found


TARGETS = [(g.name, t) for g in mutation.GROUPS for t in g.targets]


@pytest.mark.parametrize(("group", "target"), TARGETS, ids=[f"{g}:{t.module}" for g, t in TARGETS])
def test_every_named_function_exists(group: str, target: mutation.Target) -> None:
    """Each function (or pattern) a group mutates matches a function in its module."""
    present = _functions(target.module)
    for name in (*target.functions, *target.never_break):
        assert fnmatch.filter(present, name), f"{group}: {target.module} has no {name}"


def test_never_break_functions_are_mutated() -> None:
    """A function on a never-break path is also in its group's mutated set."""
    for _, target in TARGETS:
        for name in target.never_break:
            assert any(fnmatch.fnmatch(name, f) for f in target.functions), name


@pytest.mark.parametrize("group", mutation.GROUPS, ids=lambda g: g.name)
def test_every_group_test_file_exists(group: mutation.Group) -> None:
    """A group's tests are files that exist (mutmut would silently run nothing)."""
    for path in group.tests:
        assert (ROOT / path).is_file(), path


def test_both_never_break_paths_are_covered() -> None:
    """The guard (flag on the wire) and the runner's gate (not-probed entries) are marked."""
    marked = {(t.module, n) for _, t in TARGETS for n in t.never_break}
    assert ("awsprobe/guard.py", "check_request") in marked
    assert ("awsprobe/probing/runner.py", "Runner.probe_one") in marked
    assert ("awsprobe/probing/tasks.py", "expand") in marked


def test_mangled_names_follow_mutmut() -> None:
    """Patterns use mutmut's naming: ``x_`` for functions, ``xǁClassǁ`` for methods."""
    assert mutation._mangled("awsprobe/guard.py", "check_request") == (
        "awsprobe.guard.x_check_request"
    )
    assert mutation._mangled("awsprobe/probing/pacing.py", "Pacer.delay") == (
        "awsprobe.probing.pacing.xǁPacerǁdelay"
    )


def test_equivalent_mutants_parse_from_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger line ``- `NAME` — why`` is read; prose and malformed lines are not."""
    ledger = tmp_path / "MUTATION.md"
    ledger.write_text(
        "# header\n"
        "- `awsprobe.guard.x__single__mutmut_3` — the list always has one item\n"
        "- `not_a_mutant` — ignored\n"
        "text `awsprobe.guard.x__single__mutmut_4` — not a list item\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(mutation, "LEDGER", ledger)
    assert mutation._equivalents() == {
        "awsprobe.guard.x__single__mutmut_3": "the list always has one item"
    }


def test_ledger_never_excuses_a_never_break_mutant() -> None:
    """No mutant on a never-break path is excused as equivalent in tests/MUTATION.md."""
    patterns = [p for _, t in TARGETS for p in mutation._patterns(t, t.never_break)]
    for name in mutation._equivalents():
        assert not any(fnmatch.fnmatch(name, p) for p in patterns), name
