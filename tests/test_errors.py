"""The errors: one hierarchy in one leaf module, and outages told apart by class.

The expected parents are written out here by hand from the hierarchy issue 14
asks for (distinct classes for outages, credentials and usage, all below one
base), not read from the classes; a test holds errors.py's drawing to them.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import BotoCoreError, EndpointConnectionError

import awsprobe
from awsprobe import errors
from awsprobe.catalog import Catalog, load_catalog
from awsprobe.cli import EXIT_FAILED, main
from awsprobe.errors import (
    AwsprobeError,
    CredentialsError,
    CredentialsExpired,
    EndpointUnreachable,
    NoMatchError,
    ProbeInterrupted,
    SandboxError,
    SchemaError,
    UnknownServiceError,
    UnsafeRequestError,
    UsageError,
    WorkerFailed,
)
from awsprobe.identity import assume_role_session, mfa_session, whoami
from awsprobe.probing.caller import caller_identity
from awsprobe.probing.orchestrate import probe
from tests.faults import refused_endpoint

PACKAGE = Path(awsprobe.__file__).parent

#: Every exception class awsprobe raises and the parent its documentation gives it.
DOCUMENTED_PARENTS: list[tuple[type[BaseException], type[BaseException]]] = [
    (AwsprobeError, Exception),
    (UnsafeRequestError, AwsprobeError),
    (UsageError, AwsprobeError),
    (UnknownServiceError, UsageError),
    (NoMatchError, UsageError),
    (CredentialsError, AwsprobeError),
    (CredentialsExpired, CredentialsError),
    (EndpointUnreachable, AwsprobeError),
    (ProbeInterrupted, AwsprobeError),
    (WorkerFailed, AwsprobeError),
    (SchemaError, AwsprobeError),
    (SandboxError, AwsprobeError),
]


@pytest.mark.parametrize(
    ("cls", "parent"), DOCUMENTED_PARENTS, ids=[c.__name__ for c, _ in DOCUMENTED_PARENTS]
)
def test_every_error_is_an_awsprobe_error_with_its_documented_parent(
    cls: type[BaseException], parent: type[BaseException]
) -> None:
    """Each class is an AwsprobeError (catch one, catch all) directly below its parent."""
    assert issubclass(cls, AwsprobeError)
    assert cls.__bases__[0] is parent
    assert cls.__module__ == "awsprobe.errors"


def test_probe_interrupted_is_also_a_keyboard_interrupt() -> None:
    """Code that handles Ctrl-C handles an interrupted run too."""
    assert issubclass(ProbeInterrupted, KeyboardInterrupt)


def test_the_table_lists_every_class_in_the_errors_module() -> None:
    """A new error class must be added to the documented hierarchy (and to this table)."""
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == "awsprobe.errors"
    }
    assert defined == {cls for cls, _ in DOCUMENTED_PARENTS}
    assert sorted(errors.__all__) == sorted(cls.__name__ for cls, _ in DOCUMENTED_PARENTS)


def _drawn_parents(doc: str) -> dict[str, str]:
    """Child -> parent, read from the box-drawing tree in a docstring."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.split("::", 1)[1].splitlines():
        match = re.match(r"^(\s*(?:│   )*)(?:[├└]── )?([A-Z]\w+)", line)
        if match is None:
            continue
        depth = len(match.group(1)) + (4 if "──" in line else 0)
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_the_docstring_draws_the_same_hierarchy() -> None:
    """The tree in errors.py's docstring is the one the classes form."""
    assert errors.__doc__ is not None
    drawn = _drawn_parents(errors.__doc__)
    expected = {
        cls.__name__: parent.__name__
        for cls, parent in DOCUMENTED_PARENTS
        if cls is not AwsprobeError
    }
    assert drawn == expected


def test_errors_is_a_leaf_at_run_time() -> None:
    """errors.py imports nothing of awsprobe except under TYPE_CHECKING, and importing it
    loads no other awsprobe module (only the package's own version)."""
    tree = ast.parse((PACKAGE / "errors.py").read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("awsprobe"):
            assert id(node) in type_only, ast.unparse(node)
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("awsprobe") for a in node.names), ast.unparse(node)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, awsprobe.errors; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('awsprobe'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert loaded == ["awsprobe", "awsprobe._version", "awsprobe.errors"]


def _public_exception_classes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
        if any(
            b.endswith(("Error", "Exception", "Interrupt")) or b in errors.__all__ for b in bases
        ):
            found.append(node.name)
    return found


def test_no_module_but_errors_defines_a_public_exception() -> None:
    """Every exception awsprobe raises to its callers is defined in errors.py."""
    elsewhere = {
        path.name: names
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "errors.py" and (names := _public_exception_classes(path))
    }
    assert elsewhere == {}


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("awsprobe", "ProbeInterrupted"),
    ],
)
def test_the_old_import_paths_still_work(module: str, name: str) -> None:
    """The classes moved to errors.py; where they were, the same objects are still found."""
    import importlib

    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_an_outage_message_says_what_to_do_next() -> None:
    """EndpointUnreachable names what could not be reached, why, and what to check."""
    error = EndpointUnreachable("STS to identify the caller", "Read timeout")
    assert str(error) == (
        "cannot reach STS to identify the caller (Read timeout); "
        "check --endpoint-url and the network"
    )
    assert (error.what, error.detail) == ("STS to identify the caller", "Read timeout")


# -- an outage is EndpointUnreachable, on every path that calls STS ---------------------------


def _session() -> boto3.Session:
    return boto3.Session("AKIAFAKEFAKEFAKEFAKE", "secret", region_name="us-east-1")


def _unreachable(call: Callable[[str], object]) -> EndpointUnreachable:
    """Call ``call(url)`` against a port that refuses connections; the error it raised."""
    with refused_endpoint() as (url, _), pytest.raises(EndpointUnreachable) as info:
        call(url)
    assert isinstance(info.value.__cause__, BotoCoreError)
    assert isinstance(info.value.__cause__, EndpointConnectionError)
    return info.value


def test_probe_raises_endpoint_unreachable_when_sts_refuses() -> None:
    """probe(): the identity call cannot connect, so the run stops with an outage, not a
    denial and not a bare AwsprobeError."""
    entry = load_catalog(services="ec2").find("ec2:RunInstances")
    error = _unreachable(
        lambda url: probe(
            catalog=Catalog([entry]), session=_session(), endpoint_url=url, max_attempts=1
        )
    )
    assert error.what == "STS to identify the caller"


def test_whoami_raises_endpoint_unreachable() -> None:
    """whoami() and the runner's caller_identity(): the same class for the same outage."""
    _unreachable(lambda url: whoami(_session(), endpoint_url=url, imds=False))
    _unreachable(lambda url: caller_identity(_session(), endpoint_url=url))


def test_minting_credentials_raises_endpoint_unreachable() -> None:
    """sts:AssumeRole and sts:GetSessionToken against no STS: an outage, naming the call."""
    role = "arn:aws:iam::123456789012:role/R"
    error = _unreachable(
        lambda url: assume_role_session(_session(), role_arn=role, endpoint_url=url)
    )
    assert error.what == "STS for sts:AssumeRole"
    error = _unreachable(
        lambda url: mfa_session(
            _session(), serial="arn:aws:iam::123456789012:mfa/me", code="123456", endpoint_url=url
        )
    )
    assert error.what == "STS for sts:GetSessionToken"


def test_an_outage_is_not_a_credentials_or_usage_error() -> None:
    """Callers that handle credentials or bad input do not swallow an outage."""
    assert not issubclass(EndpointUnreachable, (CredentialsError, UsageError, SchemaError))


# -- the CLI: exit code and one line, as before the class existed ----------------------------


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["whoami"], "STS to identify the caller"),
        (
            ["matrix", "--services", "ec2", "--actions", "ec2:RunInstances"],
            "STS to identify the caller",
        ),
        (["whoami", "--assume-role", "arn:aws:iam::123456789012:role/R"], "STS for sts:AssumeRole"),
    ],
    ids=["whoami", "matrix", "assume-role"],
)
def test_the_cli_reports_an_outage_in_one_line_and_exits_1(argv: list[str], what: str) -> None:
    """The line and exit code recorded from the CLI before EndpointUnreachable existed
    (main at the start of issue 14): exit 1, one line, botocore's reason in brackets."""
    err = io.StringIO()
    with refused_endpoint() as (url, _), contextlib.redirect_stderr(err):
        code = main([*argv, "--endpoint-url", url])
    assert code == EXIT_FAILED == 1
    assert err.getvalue() == (
        f'awsprobe: cannot reach {what} (Could not connect to the endpoint URL: "{url}/"); '
        "check --endpoint-url and the network\n"
    )
