"""Identity-based policy documents: the demo policy, loading and validation.

:func:`load_policy` reads a policy file, :func:`validate_policy` checks a
document against IAM's own rules for identity policies, each failure a
one-line :class:`~awsprobe.errors.SandboxError` that names the problem and the
fix. :data:`DEMO_POLICY` is what a sandbox grants when given no policy.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from awsprobe import strictjson
from awsprobe.errors import SandboxError
from awsprobe.sandbox.conditions import _IAM_OPERATORS, _split_operator

#: The built-in policy of ``Sandbox()``: read-only EC2 everywhere, a few writes in
#: us-east-1 only, an explicit deny on destruction, and the right to decode denials.
DEMO_POLICY: Final[dict[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOnlyEc2",
            "Effect": "Allow",
            "Action": ["ec2:Describe*", "ec2:Get*"],
            "Resource": "*",
        },
        {
            "Sid": "WritesInUsEast1",
            "Effect": "Allow",
            "Action": [
                "ec2:RunInstances",
                "ec2:CreateTags",
                "ec2:StartInstances",
                "ec2:StopInstances",
                "kms:Encrypt",
                "kms:Decrypt",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
        },
        {
            "Sid": "NeverDestroy",
            "Effect": "Deny",
            "Action": ["ec2:TerminateInstances", "ec2:Delete*"],
            "Resource": "*",
        },
        {
            "Sid": "ExplainDenials",
            "Effect": "Allow",
            "Action": "sts:DecodeAuthorizationMessage",
            "Resource": "*",
        },
    ],
}

_STATEMENT_KEYS: Final = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_POLICY_KEYS: Final = frozenset({"Version", "Id", "Statement"})
_VERSIONS: Final = ("2012-10-17", "2008-10-17")
_ACTION_RE: Final = re.compile(r"(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+)")
_SID_RE: Final = re.compile(r"[A-Za-z0-9]*")
_CONDITION_KEY_RE: Final = re.compile(r"[A-Za-z0-9*?_.-]+:[^\s]+")


def load_policy(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an IAM policy JSON file and validate it (see :func:`validate_policy`).

    Raises :class:`SandboxError` with a one-line message naming the problem
    and the fix: a missing or unreadable file, invalid JSON (with line and
    column), or a document IAM would reject.
    """
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SandboxError(
            f"policy file {name!r} not found; give the path of an IAM policy JSON document"
        ) from None
    except IsADirectoryError:
        raise SandboxError(
            f"policy file {name!r} is a directory; give the path of an IAM policy JSON file"
        ) from None
    except UnicodeDecodeError as exc:
        raise SandboxError(
            f"policy file {name!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON"
        ) from None
    except OSError as exc:
        raise SandboxError(
            f"cannot read policy file {name!r}: {exc.strerror or exc}; check its permissions"
        ) from None
    try:
        document = strictjson.loads(text)
    except json.JSONDecodeError as exc:
        raise SandboxError(
            f"policy file {name!r} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}; fix the syntax"
        ) from None
    except ValueError as exc:  # only a repeated key is left (JSONDecodeError is above)
        raise SandboxError(
            f"policy file {name!r} repeats the key {strictjson.repeated_key(exc)!r} in one "
            "object; IAM reads such a document ambiguously, keep one"
        ) from None
    except RecursionError:
        raise SandboxError(f"policy file {name!r} is nested too deeply to be a policy") from None
    try:
        return validate_policy(document)
    except SandboxError as exc:
        raise SandboxError(f"policy file {name!r}: {exc}") from None
    except RecursionError:
        raise SandboxError(f"policy file {name!r} is nested too deeply to be a policy") from None


def validate_policy(document: Any) -> dict[str, Any]:
    """Check an identity-based IAM policy document; return a deep copy of it.

    Follows IAM's own rules for identity policies: a JSON object with a
    ``Statement`` (one object or a list; an empty list grants nothing); each
    statement with ``Effect`` ``Allow``/``Deny``, exactly one of ``Action``/
    ``NotAction`` and of ``Resource``/``NotResource``, no ``Principal``,
    prefixed actions (``ec2:RunInstances``), ARNs or ``*`` as resources, an
    alphanumeric unique ``Sid``, and ``Condition`` as
    ``{operator: {key: value(s)}}`` with operators IAM knows. Raises
    :class:`SandboxError` with a one-line message otherwise.
    """
    if isinstance(document, str | bytes):
        raise SandboxError(
            "the policy is a string, not a JSON object; pass the parsed document "
            "(json.loads) or use load_policy(path)"
        )
    if not isinstance(document, Mapping):
        raise SandboxError(
            f"the policy must be a JSON object with a 'Statement', not {_kind(document)}"
        )
    unknown = sorted(set(map(str, document)) - _POLICY_KEYS)
    if unknown:
        raise SandboxError(
            f"the policy has unknown top-level key {unknown[0]!r}; "
            "only Version, Id and Statement are allowed"
        )
    version = document.get("Version")
    if version is not None and version not in _VERSIONS:
        raise SandboxError(
            f'the policy Version {version!r} is not one IAM accepts; use "2012-10-17"'
        )
    if "Statement" not in document:
        raise SandboxError(
            "the policy has no 'Statement'; add "
            '"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]'
        )
    statements = document["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise SandboxError(
            f"the policy 'Statement' must be an object or a list of objects, not "
            f"{_kind(statements)}"
        )
    sids: set[str] = set()
    for number, statement in enumerate(statements, 1):
        _validate_statement(number, statement, sids)
    try:
        copied: dict[str, Any] = json.loads(json.dumps(document))
    except (TypeError, ValueError) as exc:
        raise SandboxError(f"the policy is not JSON-serializable: {exc}") from None
    return copied


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _validate_statement(number: int, statement: Any, sids: set[str]) -> None:
    where = f"statement {number}"
    if not isinstance(statement, Mapping):
        raise SandboxError(f"{where} must be a JSON object, not {_kind(statement)}")
    sid = statement.get("Sid")
    if sid is not None:
        if not isinstance(sid, str) or not _SID_RE.fullmatch(sid):
            raise SandboxError(f"{where}: Sid {sid!r} must contain only letters and digits")
        if sid in sids:
            raise SandboxError(f"{where}: Sid {sid!r} is used twice; make each Sid unique")
        if sid:
            sids.add(sid)
            where = f"statement {number} (Sid {sid!r})"
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            raise SandboxError(
                f"{where} has {key!r}, which identity-based policies must not have; remove it"
            )
    unknown = sorted(set(map(str, statement)) - _STATEMENT_KEYS)
    if unknown:
        raise SandboxError(
            f"{where} has unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_STATEMENT_KEYS))}"
        )
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        shown = "missing" if "Effect" not in statement else json.dumps(effect)
        raise SandboxError(
            f'{where}: Effect must be "Allow" or "Deny" (case-sensitive), not {shown}'
        )
    _validate_pair(where, statement, "Action", "NotAction", _check_action)
    _validate_pair(where, statement, "Resource", "NotResource", _check_resource)
    if "Condition" in statement:
        _validate_condition(where, statement["Condition"])


def _validate_pair(
    where: str,
    statement: Mapping[str, Any],
    positive: str,
    negative: str,
    check: Callable[[str, str], None],
) -> None:
    present = [key for key in (positive, negative) if key in statement]
    if len(present) == 2:
        raise SandboxError(f"{where} has both {positive} and {negative}; keep one of them")
    if not present:
        hint = '"*" for every resource' if positive == "Resource" else '"ec2:Describe*"'
        raise SandboxError(f"{where} needs {positive} or {negative} (for example {hint})")
    key = present[0]
    values = statement[key]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise SandboxError(f"{where}: {key} must be a string or a non-empty list of strings")
    for value in values:
        if not isinstance(value, str):
            raise SandboxError(f"{where}: {key} lists {_kind(value)}, not a string")
        check(f"{where}: {key}", value)


def _check_action(where: str, action: str) -> None:
    if _ACTION_RE.fullmatch(action):
        return
    if ":" not in action:
        raise SandboxError(
            f"{where} {action!r} has no service prefix; write it like 'ec2:{action}'"
        )
    raise SandboxError(f"{where} {action!r} is not 'service:Action' (wildcards * and ? allowed)")


def _check_resource(where: str, resource: str) -> None:
    if resource == "*" or resource.startswith("arn:"):
        return
    raise SandboxError(f'{where} {resource!r} must be an ARN (arn:aws:...) or "*"')


def _validate_condition(where: str, condition: Any) -> None:
    if not isinstance(condition, Mapping) or not condition:
        raise SandboxError(f"{where}: Condition must be an object {{operator: {{key: value}}}}")
    for operator, block in condition.items():
        name = _split_operator(str(operator))[1]
        if name not in _IAM_OPERATORS or (name == "Null" and str(operator) != "Null"):
            raise SandboxError(
                f"{where}: unknown condition operator {operator!r}; use one IAM defines, "
                "such as StringEquals, StringLike or ArnLike"
            )
        if not isinstance(block, Mapping) or not block:
            raise SandboxError(f"{where}: condition {operator!r} must map keys to values")
        for key, values in block.items():
            if not _CONDITION_KEY_RE.fullmatch(str(key)):
                raise SandboxError(
                    f"{where}: condition key {key!r} must look like 'aws:RequestedRegion'"
                )
            items = values if isinstance(values, list) else [values]
            if not items or not all(isinstance(v, str | bool | int | float) for v in items):
                raise SandboxError(
                    f"{where}: condition {operator!r} {key!r} needs a string, number, "
                    "boolean or a non-empty list of them"
                )


# -- service control policies --------------------------------------------------------

#: AWS Organizations User Guide, "Quotas for AWS Organizations": "Maximum size of a
#: policy document -- Service control policies: 5120 characters".
SCP_MAX_CHARACTERS: Final = 5120
#: AWS Organizations User Guide, "Managing policies": at most 5 SCPs attached to a
#: root, an OU or an account.
SCP_MAX_ATTACHED: Final = 5


def validate_scp(document: Any) -> dict[str, Any]:
    """Check a service control policy (SCP) document; return a deep copy of it.

    Since September 2025 SCPs take the full IAM policy language (AWS Security
    Blog, "AWS Organizations service control policy now supports full IAM
    language"; AWS Organizations User Guide, "SCP syntax"): ``Action``,
    ``NotAction``, ``Resource``, ``NotResource`` and ``Condition`` in both
    ``Allow`` and ``Deny`` statements, and no ``Principal``/``NotPrincipal``.
    So an SCP is checked as :func:`validate_policy` checks an identity policy,
    plus the SCP size quota: at most :data:`SCP_MAX_CHARACTERS` characters,
    counted without the white space outside strings (which the quota lets
    you drop: its note in "SCP syntax").
    """
    copied = validate_policy(document)
    size = len(json.dumps(copied, separators=(",", ":"), ensure_ascii=False))
    if size > SCP_MAX_CHARACTERS:
        raise SandboxError(
            f"the SCP is {size} characters long without white space; AWS Organizations "
            f"takes at most {SCP_MAX_CHARACTERS}: split it into several SCPs"
        )
    return copied


def validate_scps(documents: Any) -> list[dict[str, Any]]:
    """Check the SCPs attached to one account (:func:`validate_scp` each, at most five)."""
    if isinstance(documents, Mapping | str | bytes):
        raise SandboxError("scps must be a list of SCP documents, not one document")
    try:
        listed = list(documents)
    except TypeError:
        raise SandboxError(
            f"scps must be a list of SCP documents, not {_kind(documents)}"
        ) from None
    if len(listed) > SCP_MAX_ATTACHED:
        raise SandboxError(
            f"{len(listed)} SCPs given; AWS Organizations attaches at most "
            f"{SCP_MAX_ATTACHED} to one account: merge some of them"
        )
    checked = []
    for number, document in enumerate(listed, 1):
        try:
            checked.append(validate_scp(document))
        except SandboxError as exc:
            raise SandboxError(f"SCP {number}: {exc}") from None
    return checked


def load_scp(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an SCP JSON file and validate it (see :func:`validate_scp`).

    Reading and the policy grammar are :func:`load_policy`'s, with its
    one-line errors; the SCP rules are checked after.
    """
    document = load_policy(path)
    try:
        return validate_scp(document)
    except SandboxError as exc:
        raise SandboxError(f"SCP file {os.fspath(path)!r}: {exc}") from None
