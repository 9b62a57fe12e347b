"""The version floors .ci/run tests are exactly the floors pyproject.toml declares.

.ci/run installs tests/constraints-floors.txt into a second venv and runs the sandbox
smoke and the fast tests there; a floor raised or lowered in one file only would leave
the other untested, so these tests read both files and compare them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "tests" / "constraints-floors.txt"

#: Direct dependencies the floors job does not install, each with why.
NOT_IN_FLOORS_JOB = {
    "ruff": "a linter: .ci/run lints once, with the newest",
    "mypy": "a type checker: .ci/run checks types once, with the newest",
    "types-tabulate": "type stubs, read only by mypy",
    "mutmut": "mutation testing, outside .ci/run",
}

_REQUIREMENT = re.compile(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?(?:\s*(>=|==)\s*([0-9][0-9A-Za-z.]*))?")


def _pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        found += extra
    return found


def _parse(requirement: str) -> tuple[str, str, str]:
    match = _REQUIREMENT.fullmatch(requirement.strip())
    assert match, f"not a 'name', 'name>=floor' or 'name==pin' requirement: {requirement!r}"
    name, operator, version = match.groups()
    return name.lower(), operator or "", version or ""


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _pyproject_floors() -> dict[str, str]:
    """Each tested dependency's lowest floor (moto's sandbox floor is below the test extra's)."""
    floors: dict[str, str] = {}
    for requirement in _pyproject_requirements():
        name, operator, version = _parse(requirement)
        if name in NOT_IN_FLOORS_JOB:
            continue
        # the test extra may pin (==) what the runtime floors: a pin is its own floor
        assert operator in (">=", "=="), f"{requirement!r}: a tested dependency needs a floor"
        floors[name] = min(floors.get(name, version), version, key=_release)
    return floors


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, operator, version = _parse(line)
            assert operator == "==", f"{line!r}: a constraint pins one version"
            assert name not in pins, f"{name} pinned twice"
            pins[name] = version
    return pins


def test_constraints_pin_every_floor_of_pyproject_and_nothing_else() -> None:
    """tests/constraints-floors.txt pins each tested dependency to its pyproject floor."""
    assert _constraints() == _pyproject_floors()


def test_every_dependency_is_tested_at_its_floor_or_named_as_left_out() -> None:
    """A new direct dependency joins the floors job or NOT_IN_FLOORS_JOB, with a reason."""
    names = {_parse(requirement)[0] for requirement in _pyproject_requirements()}
    assert set(NOT_IN_FLOORS_JOB) <= names, "a left-out name is no longer a dependency"
    assert names - set(NOT_IN_FLOORS_JOB) == set(_constraints())


def test_ci_installs_the_constraints_file_and_runs_the_sandbox_smoke() -> None:
    """.ci/run's floors job installs with -c the constraints file and runs the sandbox."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c tests/constraints-floors.txt" in ci
    assert ".venv-floors/bin/awsprobe matrix --sandbox --services ec2" in ci


def _run_without(code: str) -> None:
    """Run ``code`` in a fresh interpreter (imports there cannot leak into this one)."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok", result.stdout


def test_a_botocore_without_a_cbor_reader_imports_and_refuses_every_cbor_body() -> None:
    """botocore before 1.37.2 has no RpcV2CBORParser: the guard still imports, and
    fails closed -- a CBOR body whose flag is true (RFC 8949 bytes) is refused."""
    _run_without(
        """
        import botocore.parsers
        del botocore.parsers.RpcV2CBORParser
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.model import ServiceModel
        import awsprobe.guard as guard
        from awsprobe.errors import UnsafeRequestError

        assert not guard._CBOR_STRICT
        model = ServiceModel({
            "metadata": {"protocol": "smithy-rpc-v2-cbor", "apiVersion": "2020-01-01",
                         "endpointPrefix": "x", "serviceId": "X", "targetPrefix": "X"},
            "operations": {"Go": {"name": "Go", "http": {"method": "POST", "requestUri": "/"},
                                  "input": {"shape": "In"}}},
            "shapes": {"In": {"type": "structure", "members": {"DryRun": {"shape": "F"}}},
                       "F": {"type": "boolean"}},
        })
        body = b"\\xa1\\x66DryRun\\xf5"  # map(1) {"DryRun": true}
        request = AWSPreparedRequest("POST", "https://x/", {}, body, stream_output=False)
        try:
            guard.check_request(model, "x", "Go", request)
        except UnsafeRequestError:
            print("ok")
        """
    )


def test_a_moto_without_its_request_handler_serves_through_werkzeugs() -> None:
    """moto before 5.2.3 has no MotoRequestHandler: the sandbox serves through werkzeug's
    documented WSGIRequestHandler and still answers a dry run."""
    _run_without(
        """
        import moto.server
        vars(moto.server).pop("MotoRequestHandler", None)  # absent already before moto 5.2.3
        from werkzeug.serving import WSGIRequestHandler
        from awsprobe.sandbox import Sandbox
        from awsprobe.sandbox.server import _Handler

        assert _Handler.__mro__[1] is WSGIRequestHandler
        policy = {"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
        with Sandbox(policy=policy) as sandbox:
            ec2 = sandbox.session().client("ec2", endpoint_url=sandbox.endpoint_url)
            try:
                ec2.describe_instances(DryRun=True)
            except Exception as error:
                assert error.response["Error"]["Code"] == "DryRunOperation", error
                print("ok")
        """
    )
