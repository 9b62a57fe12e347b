"""Mutation testing of awsprobe's safety-critical code: ``bash .ci/mutation``.

Each group below names the functions that hold one safety promise and the
fast test files that must catch a change to them. For every group the driver
copies the checkout to a scratch folder, writes mutmut's configuration there,
runs mutmut over only those functions (each mutant against the tests that
cover it), and reads mutmut's per-file results back. It prints

    mutation score (guard): KILLED/TOTAL
    ...
    mutation score: KILLED/TOTAL (overall)
    never-break paths: N surviving

A mutant counts as killed when a test fails, times out or crashes with it.
A survivor listed in ``tests/MUTATION.md`` as equivalent (it cannot change
behaviour) is taken out of the total and shown as such; any other survivor is
printed with its diff so that a test can be written for it.

The two paths that must never break are "a request leaves without its
dry-run flag" and "a request is sent for an entry that is not probed": every
function on them is marked ``never_break`` below, and one surviving mutant
there fails the script whatever the overall score.

Usage: ``python -m tests.mutation [GROUP ...]`` (all groups by default);
``--keep`` leaves the scratch folders for a look at ``mutmut show``.
Needs mutmut (``pip install -e '.[test,mutation]'``); not part of ``.ci/run``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "tests" / "MUTATION.md"
#: The overall share of mutants that must be killed (issue 13).
TARGET = 0.90

# mutmut's exit codes for a mutant (mutmut/stats.py status_by_exit_code).
_KILLED = {1, 3, 36, -24, 24, 152, 255, -11, -9}  # failed, pytest error, timeout, crash
_SURVIVED = {0}
_NO_TESTS = {5, 33}


@dataclass(frozen=True)
class Target:
    """Functions of one module (``Class.method`` for a method)."""

    module: str
    functions: tuple[str, ...]
    never_break: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    name: str
    targets: tuple[Target, ...]
    tests: tuple[str, ...]


#: The guard's wire check: every function on the never-break path "a request leaves
#: without its dry-run flag".
_GUARD_WIRE = (
    "install_guard",
    "check_request",
    "_query_wire_name",
    "_body_text",
    "_single",
    "_form_value",
    "_query_value",
    "_header_value",
    "_xml_value",
    "_StrictCBORParser._parse_key_value_pair",
    "_cbor_value",
    "_json_value",
    "guarded_client",
)

GROUPS: tuple[Group, ...] = (
    Group(
        "guard",
        (
            Target("awsprobe/guard.py", _GUARD_WIRE, never_break=_GUARD_WIRE),
            Target("awsprobe/strictjson.py", ("_unique_keys", "loads")),
        ),
        ("tests/test_guard.py", "tests/test_guard_wire.py", "tests/test_strictjson_arn.py"),
    ),
    Group(
        "classify",
        (Target("awsprobe/classify.py", ("*", "Answer.*")),),
        ("tests/test_classify.py", "tests/test_classify_answer.py"),
    ),
    Group(
        "probe gating",
        (
            Target(
                "awsprobe/catalog.py",
                (
                    "dry_run_member",
                    "_raw_dry_run_member",
                    "_behaviour",
                    "_entry",
                    "Catalog.probed",
                    "_entry_from_row",
                    "_typed",
                ),
                never_break=(
                    "dry_run_member",
                    "_raw_dry_run_member",
                    "_behaviour",
                    "_entry",
                    "Catalog.probed",
                ),
            ),
            Target(
                "awsprobe/probing/runner.py",
                ("Runner.probe_one", "Runner._send"),
                never_break=("Runner.probe_one", "Runner._send"),
            ),
            Target("awsprobe/probing/tasks.py", ("expand",), never_break=("expand",)),
        ),
        (
            "tests/test_catalog.py",
            "tests/test_catalog_cache.py",
            "tests/test_runner.py",
            "tests/test_probe_gating.py",
            "tests/test_pacing.py",
            "tests/test_matrix.py",
            "tests/test_request.py",
        ),
    ),
    Group(
        "retry and pacing",
        (
            Target("awsprobe/probing/pacing.py", ("bucket_for", "TokenBucket.*", "Pacer.*")),
            Target("awsprobe/probing/retry.py", ("is_retryable", "backoff_delay")),
        ),
        ("tests/test_runner.py", "tests/test_pacing.py"),
    ),
    Group(
        "sandbox evaluator and wire check",
        (
            Target(
                "awsprobe/sandbox/conditions.py",
                (
                    "_piece",
                    "_compile_like",
                    "_wildcard",
                    "_arn_components",
                    "_compile_arn_condition",
                    "_compile_arn_resource",
                    "_text",
                    "_number",
                    "_instant",
                    "_binary",
                    "_network",
                    "_address",
                    "_in_network",
                    "_same",
                    "_folded",
                    "_lowered",
                    "_equal",
                    "_fullmatch",
                    "_less",
                    "_at_most",
                    "_more",
                    "_at_least",
                    "_compile_text",
                    "_compile_folded",
                    "_compile_lowered",
                    "_split_operator",
                ),
            ),
            Target(
                "awsprobe/sandbox/variables.py",
                ("supports_variables", "has_variables", "literal", "_split", "substitute"),
            ),
            Target(
                "awsprobe/sandbox/evaluation.py",
                (
                    "authorize",
                    "evaluate",
                    "_normalise_context",
                    "_lowered",
                    "_Trace.looked_up",
                    "_Trace.cannot_judge",
                    "_statements",
                    "_as_strings",
                    "_policy_values",
                    "_compiled",
                    "_compile",
                    "_compile_statement",
                    "_compile_conditions",
                    "_compile_value",
                    "_judge",
                    "_all",
                    "_any",
                    "_negated",
                    "_applies",
                    "_action_expression",
                    "_resource_matches",
                    "_resource_hit",
                    "_conditions_hold",
                    "_condition_holds",
                    "_value_hit",
                    "_late_value",
                ),
            ),
            Target("awsprobe/sandbox/app.py", ("_is_dry_run",), never_break=("_is_dry_run",)),
        ),
        (
            "tests/test_sandbox.py",
            "tests/test_policy_evaluation.py",
            "tests/test_evaluator_properties.py",
        ),
    ),
    Group(
        "sandbox policy layers and sessions",
        (
            Target("awsprobe/sandbox/layers.py", ("scp_levels", "policy_set")),
            Target("awsprobe/sandbox/sessions.py", ("_SessionKeys.*", "_Sessions.*")),
            Target("awsprobe/sandbox/policy.py", ("validate_scp", "validate_scps")),
            Target(
                "awsprobe/sandbox/identities.py",
                ("_find_principal", "_user_principal", "_role_principal", "_put_inline_policy"),
            ),
            Target(
                "awsprobe/sandbox/intercept.py",
                (
                    "_mfa",
                    "_get_session_token",
                    "_user_boundary",
                    "_missing_policy",
                    "_members",
                    "check_watched",
                    "record_watched",
                    "_with_boundary",
                ),
            ),
        ),
        ("tests/test_sandbox_layers.py",),
    ),
)

_SEPARATOR = "ǁ"  # mutmut's separator between a class and its method in a mutant's name


def _mangled(module: str, function: str) -> str:
    """mutmut's name for a function: ``awsprobe.guard.x_check_request``."""
    dotted = module.removesuffix(".py").replace("/", ".")
    if "." in function:
        cls, method = function.split(".", 1)
        return f"{dotted}.x{_SEPARATOR}{cls}{_SEPARATOR}{method}"
    return f"{dotted}.x_{function}"


def _patterns(target: Target, names: Sequence[str]) -> list[str]:
    return [_mangled(target.module, name) + "__mutmut_*" for name in names]


def _config(group: Group) -> str:
    modules = sorted({t.module for t in group.targets})
    lines = [
        "",
        "[tool.mutmut]",
        'source_paths = ["awsprobe/"]',
        'also_copy = ["README.rst"]',  # tests that check README examples read it
        f"only_mutate = {json.dumps(modules)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(list(group.tests))}",
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]',
        "use_git_change_detection = false",
        "timeout_multiplier = 5.0",
        "timeout_constant = 5.0",
    ]
    return "\n".join(lines) + "\n"


def _copy_checkout(into: Path) -> None:
    """The checkout as it is now (tracked and new files, not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = Path(os.fsdecode(raw))
        source = ROOT / rel
        if not source.is_file():
            continue  # deleted in the work tree
        dest = into / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def _equivalents() -> dict[str, str]:
    """Mutants recorded in tests/MUTATION.md as equivalent, with their reason."""
    found: dict[str, str] = {}
    if not LEDGER.exists():
        return found
    for line in LEDGER.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^- `([^`]+__mutmut_\d+)`\s*[:—-]+\s*(.+)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


@dataclass
class Tally:
    killed: int = 0
    total: int = 0
    equivalent: int = 0
    survivors: list[str] | None = None
    never_break_survivors: int = 0


def _run_group(group: Group, keep: bool, jobs: int) -> Tally:
    scratch = Path(tempfile.mkdtemp(prefix="awsprobe-mutation-"))
    try:
        _copy_checkout(scratch)
        with (scratch / "pyproject.toml").open("a", encoding="utf-8") as out:
            out.write(_config(group))
        patterns = [p for t in group.targets for p in _patterns(t, t.functions)]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", f"--max-children={jobs}", *patterns],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        log = scratch / "mutmut-run.log"
        log.write_text(run.stdout + run.stderr, encoding="utf-8")
        if run.returncode != 0:
            sys.stdout.write(run.stdout[-4000:] + run.stderr[-4000:])
            raise SystemExit(f"mutmut failed for group {group.name!r} (exit {run.returncode})")
        return _tally(group, scratch)
    finally:
        if keep:
            print(f"  (scratch kept: {scratch})")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _tally(group: Group, scratch: Path) -> Tally:
    equivalents = _equivalents()
    tally = Tally(survivors=[])
    for target in group.targets:
        meta = scratch / "mutants" / (target.module + ".meta")
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        wanted = [re.compile(_glob_to_re(p)) for p in _patterns(target, target.functions)]
        guarded = [re.compile(_glob_to_re(p)) for p in _patterns(target, target.never_break)]
        for name, code in sorted(codes.items()):
            if not any(w.fullmatch(name) for w in wanted):
                continue
            if code in _KILLED:
                tally.killed += 1
                tally.total += 1
                continue
            if code in _SURVIVED | _NO_TESTS and name in equivalents:
                tally.equivalent += 1
                continue
            tally.total += 1
            why = "survived" if code in _SURVIVED else f"not killed (mutmut exit {code})"
            assert tally.survivors is not None
            tally.survivors.append(f"{name}: {why}")
            if any(g.fullmatch(name) for g in guarded):
                tally.never_break_survivors += 1
            diff = subprocess.run(
                [sys.executable, "-m", "mutmut", "show", name],
                cwd=scratch,
                capture_output=True,
                text=True,
            ).stdout
            tally.survivors.append(diff.rstrip())
    return tally


def _glob_to_re(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("groups", nargs="*", help="group names (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    chosen = [g for g in GROUPS if not args.groups or g.name in args.groups]
    unknown = set(args.groups) - {g.name for g in GROUPS}
    if unknown:
        parser.error(f"unknown group(s) {sorted(unknown)}; choose from {[g.name for g in GROUPS]}")
    killed = total = never_break = 0
    for group in chosen:
        started = time.monotonic()
        tally = _run_group(group, args.keep, args.jobs)
        killed += tally.killed
        total += tally.total
        never_break += tally.never_break_survivors
        extra = f", {tally.equivalent} equivalent (tests/MUTATION.md)" if tally.equivalent else ""
        took = time.monotonic() - started
        print(
            f"mutation score ({group.name}): {tally.killed}/{tally.total}{extra} [{took:.0f} s]",
            flush=True,
        )
        for line in tally.survivors or ():
            print("  " + line.replace("\n", "\n  "), flush=True)
    share = killed / total if total else 1.0
    print(f"mutation score: {killed}/{total} ({share:.1%}) overall, target {TARGET:.0%}")
    print(f"never-break paths: {never_break} surviving")
    return 0 if share >= TARGET and never_break == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
