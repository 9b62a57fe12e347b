"""The sandbox: a local AWS on 127.0.0.1 that answers dry runs the way AWS does.

There is no AWS account in a test run, so awsprobe brings its own: moto's
in-memory AWS, served on a free loopback port, behind a thin WSGI layer that
answers every *dry run* itself. Use it as a context manager::

    with Sandbox(policy) as sandbox:
        ec2 = guarded_client(sandbox.session(), "ec2", endpoint_url=sandbox.endpoint_url)

Design
======

::

    botocore client ──HTTP/1.1 keep-alive──▶ werkzeug server (127.0.0.1:<free port>,
                                             one thread per connection)
                                  │
                          _SandboxApp (this module)
                       identify service + operation
                                  │
              ┌─── a dry run of a probed catalog operation, sts:DecodeAuthorizationMessage
              │    or sts:GetCallerIdentity
              │        authenticate (SigV4, keys from moto's IAM) → evaluate the caller's
              │        identity policies (this module's evaluator) → answer in the service's
              │        own protocol with real-AWS codes, statuses and texts
              │
              └─── anything else: passed to moto untouched (moto's IAM enforcement is on)

*Identification.* The SigV4 credential scope gives access key, region and
signing name; the signing name gives the candidate botocore models (``mgh``
signs for two); the operation comes from the form ``Action`` (ec2/query),
``X-Amz-Target`` (json), ``/service/S/operation/Op`` (smithy-rpc-v2-cbor) or
the method and path against the model's ``requestUri`` templates (rest-json).
Whether the request is a dry run is decided by :func:`awsprobe.guard.check_request`,
the same wire check that guards awsprobe's own clients, so the sandbox and
the guard can never disagree about what a dry run is.

*How it differs from moto* (moto 5.2: ``moto/ec2/responses/_base_response.py``
``error_on_dryrun``, ``moto/core/authorization.py``; getmoto/moto#1980):

* moto honours ``DryRun`` on about 92 EC2 operations and *executes* the rest;
  here no dry run of a probed operation ever reaches moto.
* moto denies EC2 calls with ``AccessDenied`` in an ``<ErrorResponse>``;
  here EC2 says ``UnauthorizedOperation`` (403) with an encoded authorization
  failure message, KMS ``AccessDeniedException`` (400), and so on: the codes
  come from each catalog entry's ``success_codes``/``denial_codes``, the
  statuses from the service model's ``httpStatusCode`` or :data:`DIALECTS`.
* moto has no ``sts:DecodeAuthorizationMessage``; here it decodes the
  sandbox's own messages into the JSON shape of the AWS CLI's example
  (aws/aws-cli ``awscli/examples/sts/decode-authorization-message.rst``).
  ``sts:GetCallerIdentity`` is answered here too, with the same identity
  moto would give (and, as in AWS, whatever the caller's policies say):
  the question every probe run asks first then never loads moto's request
  authorization (and its S3 models) or STS responses.
* moto's policy evaluator matches actions case-sensitively and treats a
  failed ``Condition`` as a deny; :func:`evaluate` follows IAM: an explicit
  Deny beats an Allow beats the implicit deny, actions match
  case-insensitively with ``*``/``?``, and conditions are evaluated over a
  small request context (:data:`CONDITION_KEYS`).

Evaluation limits (documented, deliberate):

* Only identity-based policies: user inline, user managed, group inline and
  group managed policies; for assumed roles the role's policies, narrowed by
  the session policy. No SCPs, permission boundaries or resource policies.
* The request's resource is unknown, so it matches every ``Resource``;
  a ``NotResource`` statement applies unless it lists ``"*"``.
* A condition on a key outside :data:`CONDITION_KEYS`, or with an operator
  outside :data:`CONDITION_OPERATORS` (numeric, date, IP, binary), is *not
  satisfied*: an Allow with it grants nothing and a Deny with it denies
  nothing. Policy variables (``${aws:username}``) are not substituted.
* SigV4 signatures are verified (with botocore's own signer); clock skew
  and message expiry are not checked.

Process-wide state
==================

moto keeps its backends and its IAM-enforcement switch in module globals.
So only one :class:`Sandbox` may run per process at a time (a second
``start()`` raises :class:`SandboxError`), starting one resets every moto
backend, and a ``moto.mock_aws`` must not be active meanwhile. ``stop()``
resets the backends again and restores moto's authentication settings, so
``mock_aws`` works unauthenticated afterwards. The server itself is thread
safe: each connection has its own thread and the sandbox's own state is
read-only after ``start()`` apart from the request log and the remembered
callers, which are locked.

*Where it serves.* Client and server in one process share one GIL, so every
request's parsing, signature check and evaluation would slow the probes that
send them. Where forking is safe (Linux, and no other thread in the process:
:func:`awsprobe.parallel.fork_safe`), ``start()`` sets moto up and then
forks the server into a process of its own, which inherits moto's state and
the listening socket; :meth:`Sandbox.set_policy`, :attr:`Sandbox.requests`
and ``stop()`` reach it over a pipe, a thread named ``awsprobe-sandbox-<port>``
reports its unexpected end, and it exits when ``stop()`` says so or when its
parent is gone. Elsewhere it serves from that thread, in this process. Either
way moto's state in this process is what ``start()`` made it, and ``stop()``
restores it as above.

*Remembered callers.* Looking a caller up in moto's IAM and evaluating its
policies is done once per access key, action and region, and remembered
until moto's state may have changed: any request the sandbox passes to moto
(an IAM or STS call, or anything else) and :meth:`Sandbox.set_policy` forget
everything. A verdict whose policies have a condition on ``aws:CurrentTime``
or ``aws:EpochTime`` is never remembered. Change moto's IAM through the
sandbox's endpoint (or ``set_policy``), never by calling moto's backends.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import functools
import hashlib
import hmac
import http
import io
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import boto3
import botocore.loaders
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.model import ServiceModel

from awsprobe import strictjson
from awsprobe.catalog import CatalogEntry, dry_run_index, dry_run_member, load_catalog
from awsprobe.errors import SandboxError, UnsafeRequestError
from awsprobe.guard import EXEMPT_OPERATIONS, check_request
from awsprobe.tables import IAM_PREFIX_OVERRIDES

__all__ = [
    "CONDITION_KEYS",
    "CONDITION_OPERATORS",
    "DEMO_POLICY",
    "DENIAL_CODE_PREFERENCE",
    "DIALECTS",
    "DRY_RUN_MESSAGES",
    "ENCODED_MESSAGE_SERVICES",
    "MOTO_SPELLINGS",
    "SANDBOX_ACCOUNT",
    "Decision",
    "Dialect",
    "RecordedRequest",
    "Sandbox",
    "evaluate",
    "load_policy",
    "validate_policy",
]

logger = logging.getLogger(__name__)

#: moto's default account id; every sandbox identity lives in it.
SANDBOX_ACCOUNT: Final = "123456789012"

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

_ADMIN_POLICY: Final = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_POLICY_NAME: Final = "awsprobe-sandbox-policy"
_ADMIN_POLICY_NAME: Final = "awsprobe-sandbox-admin"
_PARTITION: Final = "aws"
_STOP_TIMEOUT: Final = 5.0
_CALL_TIMEOUT: Final = 30.0  # set_policy and requests, answered by the server's process

# --------------------------------------------------------------------------------------
# Tables: how real AWS spells its answers, declared once; each cites its public source.
# --------------------------------------------------------------------------------------

_EC2_AUTH_FAILURE = "AWS was not able to validate the provided access credentials"
_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Dialect:
    """How one wire protocol answers: content type, default statuses, auth failures.

    ``success_status``/``denial_status`` apply when the service model gives
    the error shape no ``httpStatusCode``. ``unknown_key`` and
    ``bad_signature`` are ``(code, HTTP status, message)``.
    """

    content_type: str
    success_status: int
    denial_status: int
    unknown_key: tuple[str, int, str]
    bad_signature: tuple[str, int, str]
    source: str


#: Answers by wire protocol (``{version}`` is the model's ``jsonVersion``).
DIALECTS: Final[Mapping[str, Dialect]] = MappingProxyType(
    {
        "ec2": Dialect(
            "text/xml;charset=UTF-8",
            412,
            403,
            ("AuthFailure", 401, _EC2_AUTH_FAILURE),
            ("AuthFailure", 401, _EC2_AUTH_FAILURE),
            "AWS EC2 API Reference, Error codes: "
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html; "
            "UnauthorizedOperation 403, AuthFailure 401 (hashicorp/terraform-provider-aws#29710, "
            "hashicorp/terraform#17273); DryRunOperation 412: raw AWS capture in "
            "getmoto/moto#1980",
        ),
        "query": Dialect(
            "text/xml",
            400,
            403,
            ("InvalidClientTokenId", 403, _INVALID_TOKEN),
            ("SignatureDoesNotMatch", 403, _BAD_SIGNATURE),
            "AWS EC2 API Reference, Error codes, common client errors: "
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html "
            "(InvalidClientTokenId, 403 in STS/IAM); STS AccessDenied: "
            "https://repost.aws/knowledge-center/ec2-not-auth-launch",
        ),
        "json": Dialect(
            "application/x-amz-json-{version}",
            400,
            400,
            ("UnrecognizedClientException", 400, _INVALID_TOKEN),
            ("InvalidSignatureException", 400, _BAD_SIGNATURE),
            "KMS DryRunOperationException has no httpStatusCode in botocore "
            "data/kms/2014-11-01/service-2.json: 400 assumed (unconfirmed: no primary source), "
            "as Kinesis documents for its own: "
            "https://docs.aws.amazon.com/streams/latest/dev/kds-dryrun-validation.html",
        ),
        "rest-json": Dialect(
            "application/json",
            400,
            403,
            ("UnrecognizedClientException", 403, _INVALID_TOKEN),
            ("InvalidSignatureException", 403, _BAD_SIGNATURE),
            "AccessDeniedException httpStatusCode 403 in the rest-json models, e.g. botocore "
            "data/imagebuilder/2019-12-02/service-2.json",
        ),
        "smithy-rpc-v2-cbor": Dialect(
            "application/cbor",
            400,
            400,
            ("UnrecognizedClientException", 400, _INVALID_TOKEN),
            ("InvalidSignatureException", 400, _BAD_SIGNATURE),
            "same codes as awsJson (the protocol that rpc-v2-cbor replaces)",
        ),
    }
)

#: The message of each dry-run success code (DryRunOperation: the raw AWS capture in
#: getmoto/moto#1980; the others: their botocore models, kms and redshift-serverless).
DRY_RUN_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "DryRunOperation": "Request would have succeeded, but DryRun flag is set.",
        "DryRunOperationException": (
            "The request was rejected because the DryRun parameter was specified."
        ),
        "DryRunException": "The request was successful, but dry run was enabled.",
    }
)

#: Which denial code a service uses, when its catalog entry lists several.
DENIAL_CODE_PREFERENCE: Final = ("UnauthorizedOperation", "AccessDeniedException")
#: Codes that are moto's spelling, never AWS's answer to a dry run (moto
#: ``core/exceptions.py`` ``AccessDeniedError``).
MOTO_SPELLINGS: Final = frozenset({"AccessDenied"})
#: Services whose denials carry an encoded authorization failure message (AWS EC2 API
#: Reference, Error codes, UnauthorizedOperation:
#: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
ENCODED_MESSAGE_SERVICES: Final = frozenset({"ec2"})

_STS_XMLNS: Final = "https://sts.amazonaws.com/doc/2011-06-15/"
_INVALID_MESSAGE = (
    "The encoded authorization message is invalid: it was not issued by this sandbox, "
    "was altered, or contains characters such as line breaks."
)

#: Condition keys the sandbox puts in a request context (lower case: keys are
#: case-insensitive). A condition on any other key is not satisfied.
CONDITION_KEYS: Final = frozenset(
    {
        "aws:region",
        "aws:requestedregion",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:username",
        "aws:userid",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
        "ec2:region",
    }
)


def _wildcard(pattern: str, flags: re.RegexFlag = re.NOFLAG) -> re.Pattern[str]:
    """IAM's wildcards as a regular expression: ``*`` any run of characters, ``?`` one.

    Not cached here: ``re.compile`` keeps its own cache of compiled patterns.
    """
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(body, flags | re.DOTALL)


def _string_equals(value: str, wanted: str) -> bool:
    return value == wanted


def _string_equals_ignore_case(value: str, wanted: str) -> bool:
    return value.casefold() == wanted.casefold()


def _string_like(value: str, wanted: str) -> bool:
    return _wildcard(wanted).fullmatch(value) is not None


def _arn_like(value: str, wanted: str) -> bool:
    # ARNs match segment by segment: a wildcard never crosses a colon before the resource
    have, want = value.split(":", 5), wanted.split(":", 5)
    return len(have) == len(want) and all(map(_string_like, have, want))


def _bool_equals(value: str, wanted: str) -> bool:
    return value.lower() == wanted.lower()


#: Supported condition operators: name -> (value matcher, negated). ``...IfExists``,
#: ``ForAnyValue:`` and ``ForAllValues:`` apply to each; ``Null`` is handled apart.
CONDITION_OPERATORS: Final[Mapping[str, tuple[Callable[[str, str], bool], bool]]] = (
    MappingProxyType(
        {
            "StringEquals": (_string_equals, False),
            "StringNotEquals": (_string_equals, True),
            "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
            "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
            "StringLike": (_string_like, False),
            "StringNotLike": (_string_like, True),
            "ArnEquals": (_arn_like, False),
            "ArnLike": (_arn_like, False),
            "ArnNotEquals": (_arn_like, True),
            "ArnNotLike": (_arn_like, True),
            "Bool": (_bool_equals, False),
        }
    )
)

#: Every operator IAM accepts (IAM User Guide, "Condition operators"); the ones
#: missing from CONDITION_OPERATORS validate but are never satisfied here.
_IAM_OPERATORS: Final = frozenset(
    {
        *CONDITION_OPERATORS,
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "Null",
    }
)
_SET_QUALIFIERS: Final = ("ForAnyValue:", "ForAllValues:")

# --------------------------------------------------------------------------------------
# Policy documents: loading and validation.
# --------------------------------------------------------------------------------------

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


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue:", "StringLike", True)."""
    qualifier = None
    for prefix in _SET_QUALIFIERS:
        if operator.startswith(prefix):
            qualifier, operator = prefix, operator[len(prefix) :]
            break
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


# --------------------------------------------------------------------------------------
# The evaluator.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The verdict of :func:`evaluate` for one action.

    ``matched`` holds the statements that decided it: the applying Deny
    statements for an explicit deny, the applying Allow statements when
    allowed, nothing for the implicit deny.
    """

    action: str
    allowed: bool
    explicit_deny: bool
    matched: tuple[Mapping[str, Any], ...] = ()


def evaluate(
    documents: Iterable[Mapping[str, Any]],
    action: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
) -> Decision:
    """Evaluate identity-based policy documents for one action, the way IAM does.

    An applying Deny beats an applying Allow, which beats the implicit deny.
    ``context`` maps condition keys (case-insensitive) to a value or a list
    of values; see the module docstring for what is and is not modelled.
    Malformed statements never apply.
    """
    values = _normalise_context(context or {})
    allows: list[Mapping[str, Any]] = []
    denies: list[Mapping[str, Any]] = []
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, action, values):
                continue
            (denies if statement.get("Effect") == "Deny" else allows).append(statement)
    if denies:
        return Decision(action, False, True, tuple(denies))
    if allows:
        return Decision(action, True, False, tuple(allows))
    return Decision(action, False, False)


def _normalise_context(context: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    normalised: dict[str, list[str]] = {}
    for key, value in context.items():
        normalised[key.lower()] = [value] if isinstance(value, str) else [str(v) for v in value]
    return normalised


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return []
    return [s for s in statements if isinstance(s, Mapping) and s.get("Effect") in _EFFECTS]


_EFFECTS: Final = ("Allow", "Deny")


def _as_strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _applies(statement: Mapping[str, Any], action: str, context: Mapping[str, list[str]]) -> bool:
    if "Action" in statement:
        patterns = _as_strings(statement["Action"])
        if patterns is None or not _any_action_matches(patterns, action):
            return False
    elif "NotAction" in statement:
        patterns = _as_strings(statement["NotAction"])
        if patterns is None or _any_action_matches(patterns, action):
            return False
    else:
        return False
    if "NotResource" in statement:
        # the request's resource is unknown: it is excluded only by "*"
        excluded = _as_strings(statement["NotResource"])
        if excluded is None or "*" in excluded:
            return False
    elif _as_strings(statement.get("Resource")) is None:
        return False
    condition = statement.get("Condition")
    if condition is None:
        return True
    return isinstance(condition, Mapping) and _conditions_hold(condition, context)


def _any_action_matches(patterns: Sequence[str], action: str) -> bool:
    return any(_wildcard(p, re.IGNORECASE).fullmatch(action) for p in patterns)


def _conditions_hold(condition: Mapping[str, Any], context: Mapping[str, list[str]]) -> bool:
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            return False
        for key, wanted in block.items():
            if not _condition_holds(str(operator), str(key), wanted, context):
                return False
    return True


def _policy_values(wanted: Any) -> list[str]:
    items = wanted if isinstance(wanted, list) else [wanted]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _condition_holds(
    operator: str, key: str, wanted: Any, context: Mapping[str, list[str]]
) -> bool:
    lowered = key.lower()
    if lowered not in CONDITION_KEYS:
        logger.debug("condition key %s is not modelled by the sandbox: not satisfied", key)
        return False
    present = context.get(lowered)
    qualifier, name, if_exists = _split_operator(operator)
    expected = _policy_values(wanted)
    if name == "Null":
        return all((present is None) == (v.lower() == "true") for v in expected)
    if name not in CONDITION_OPERATORS:
        logger.debug("condition operator %s is not modelled by the sandbox", operator)
        return False
    match, negated = CONDITION_OPERATORS[name]
    if not present:
        if if_exists:
            return True
        if qualifier == "ForAllValues:":
            return True
        if qualifier == "ForAnyValue:":
            return False
        return negated

    def hits(value: str) -> bool:
        return any(match(value, want) for want in expected)

    if qualifier == "ForAllValues:":
        return all(hits(v) != negated for v in present)
    if qualifier == "ForAnyValue:":
        return any(hits(v) != negated for v in present)
    found = any(hits(v) for v in present)
    return found != negated


# --------------------------------------------------------------------------------------
# What the sandbox records.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request the sandbox received.

    ``dry_run`` is true when the request carried its dry-run flag (the guard's
    own check); ``exempt`` when the operation is one the guard lets through
    without one (:data:`awsprobe.guard.EXEMPT_OPERATIONS`). ``answered_by`` is
    ``"sandbox"`` for answers this module wrote, ``"moto"`` for pass-through.
    """

    service: str | None
    operation: str | None
    region: str | None
    access_key_id: str | None
    dry_run: bool
    exempt: bool
    status: int
    code: str | None
    answered_by: str

    @property
    def guarded(self) -> bool:
        """Whether awsprobe's guard would have let this request leave the client."""
        return self.dry_run or self.exempt


# --------------------------------------------------------------------------------------
# Incoming requests: parsing, routing to (service, operation).
# --------------------------------------------------------------------------------------

_CREDENTIAL_RE: Final = re.compile(
    r"Credential=(?P<akid>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request"
)
_SIGNED_HEADERS_RE: Final = re.compile(r"SignedHeaders=(?P<headers>[^,\s]+)")
_SIGNATURE_RE: Final = re.compile(r"Signature=(?P<signature>[0-9a-fA-F]+)")
_CBOR_PATH_RE: Final = re.compile(r"/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)")


@dataclass(frozen=True)
class _Auth:
    access_key_id: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class _Incoming:
    method: str
    url: str
    path: str
    query: str
    headers: Mapping[str, str]  # original names
    body: bytes
    auth: _Auth | None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def form(self) -> dict[str, list[str]]:
        content_type = (self.header("Content-Type") or "").lower()
        fields = parse_qs(self.query, keep_blank_values=True)
        if content_type.startswith("application/x-www-form-urlencoded") and self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                return fields
            for key, values in parse_qs(text, keep_blank_values=True).items():
                fields.setdefault(key, []).extend(values)
        return fields


#: Set in the WSGI environ once the request body has been read to its end, so
#: the connection can carry the next request (see the server's ``run_wsgi``).
_BODY_READ: Final = "awsprobe.sandbox.body_read"


def _read_request(environ: dict[str, Any]) -> _Incoming:
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH") or ""
    if stream is None:
        body, complete = b"", True
    elif length.isdigit():
        body = stream.read(int(length))
        complete = len(body) == int(length)
    elif environ.get("wsgi.input_terminated"):
        body, complete = stream.read(), True
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:  # no framing header means no body; a malformed one leaves the end unknown
        body = b""
        complete = not length and "HTTP_TRANSFER_ENCODING" not in environ
    environ[_BODY_READ] = complete
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    environ["CONTENT_LENGTH"] = str(len(body))
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    return _incoming(
        environ.get("REQUEST_METHOD", "GET"),
        raw,
        headers,
        body,
        f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}",
        environ.get("QUERY_STRING", ""),
    )


def _incoming(
    method: str, raw: str, headers: dict[str, str], body: bytes, server: str, query: str = ""
) -> _Incoming:
    """A request from its parts: ``raw`` is the request target, ``server`` the fallback host."""
    parts = urlsplit(raw)
    return _Incoming(
        method=method.upper(),
        url=f"http://{headers.get('Host') or server}{raw}",
        path=parts.path or "/",
        query=parts.query or query,
        headers=headers,
        body=body,
        auth=_parse_auth(headers.get("Authorization")),
    )


def _parse_auth(header: str | None) -> _Auth | None:
    if not header or not header.startswith("AWS4-HMAC-SHA256"):
        return None
    credential = _CREDENTIAL_RE.search(header)
    signed = _SIGNED_HEADERS_RE.search(header)
    signature = _SIGNATURE_RE.search(header)
    if credential is None or signed is None or signature is None:
        return None
    return _Auth(
        access_key_id=credential["akid"],
        region=credential["region"],
        service=credential["service"].lower(),
        signed_headers=tuple(h.lower() for h in signed["headers"].split(";")),
        signature=signature["signature"].lower(),
    )


@dataclass(frozen=True)
class _Route:
    service: str
    operation: str
    wire: str  # the protocol the request was serialized with
    model: ServiceModel


_LABEL_RE: Final = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class _RestRoute:
    method: str
    path: re.Pattern[str]
    query: tuple[str, ...]  # names the query string must carry
    operation: str
    literal: int  # specificity: literal characters in the template


def _rest_routes(model: ServiceModel) -> tuple[_RestRoute, ...]:
    routes = []
    for name in model.operation_names:
        http_trait = model.operation_model(name).http
        template = str(http_trait.get("requestUri", "/"))
        path, _, query = template.partition("?")
        pattern, last = [], 0
        for label in _LABEL_RE.finditer(path):
            pattern.append(re.escape(path[last : label.start()]))
            pattern.append(".+" if label.group(1).endswith("+") else "[^/]+")
            last = label.end()
        pattern.append(re.escape(path[last:]))
        required = tuple(
            part.split("=", 1)[0] for part in query.split("&") if part and "{" not in part
        )
        literal = len(_LABEL_RE.sub("", path))
        routes.append(
            _RestRoute(
                str(http_trait.get("method", "POST")).upper(),
                re.compile("^" + "".join(pattern) + "/?$"),
                required,
                name,
                literal,
            )
        )
    return tuple(sorted(routes, key=lambda r: (-r.literal, r.operation)))


class _ServiceRouter:
    """Finds the operation of a request to one botocore service."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.service = str(model.service_name)
        metadata = model.metadata
        self.protocols = tuple(metadata.get("protocols") or [metadata.get("protocol", "")])
        self.target_prefix = metadata.get("targetPrefix")
        self.operations = frozenset(model.operation_names)
        has_rest = any(p.startswith("rest-") for p in self.protocols)
        self._rest = _rest_routes(model) if has_rest else ()

    def match(self, request: _Incoming) -> tuple[str, str] | None:
        """``(operation, wire protocol)`` when the request is for this service."""
        target = request.header("X-Amz-Target")
        if target and self.target_prefix and "json" in self.protocols:
            prefix, _, operation = target.rpartition(".")
            if prefix == self.target_prefix and operation in self.operations:
                return operation, "json"
        if "smithy-rpc-v2-cbor" in self.protocols:
            found = _CBOR_PATH_RE.fullmatch(request.path)
            if (
                found
                and found["service"] == self.target_prefix
                and (found["operation"] in self.operations)
            ):
                return found["operation"], "smithy-rpc-v2-cbor"
        for protocol in ("ec2", "query"):
            if protocol in self.protocols:
                actions = request.form().get("Action")
                if actions and actions[-1] in self.operations:
                    return actions[-1], protocol
        if self._rest and not target:
            query = parse_qs(request.query, keep_blank_values=True)
            wire = "rest-json" if "rest-json" in self.protocols else "rest-xml"
            for route in self._rest:
                if (
                    route.method == request.method
                    and route.path.match(request.path)
                    and all(name in query for name in route.query)
                ):
                    return route.operation, wire
        return None


class _Routing:
    """Everything the sandbox knows about the services it answers for.

    One per process, filled per SigV4 signing name on the first request that
    carries it: a router per botocore service that signs with that name and
    has probed catalog entries (or, for pass-through traffic such as ``iam``
    or ``sts``, the same-named service), and those services' catalog entries,
    keyed by (service, operation). Only the models a request needs are loaded.
    """

    def __init__(self) -> None:
        self.loader = _shared_loader()  # models straight from it: no botocore session needed
        self._entries: dict[tuple[str, str], CatalogEntry] = {}
        self._by_signing_name: dict[str, list[_ServiceRouter]] = {}
        self._variants: dict[tuple[str, str], ServiceModel] = {}
        self._lock = threading.Lock()

    def _routers_for(self, signing_name: str) -> list[_ServiceRouter]:
        # the dry-run index records each service's IAM prefix, which is its signing
        # name unless IAM_PREFIX_OVERRIDES says otherwise: check those by their model
        index = dry_run_index()
        candidates = sorted(
            service
            for service, row in index.items()
            if row.iam_prefix.lower() == signing_name or service in IAM_PREFIX_OVERRIDES
        )
        routers = []
        for service in candidates:
            model = self._model(service)
            if str(model.signing_name).lower() != signing_name:
                continue
            entries = [e for e in load_catalog(services=[service]) if e.service == service]
            if entries:
                self._entries.update(((e.service, e.operation), e) for e in entries)
                routers.append(_ServiceRouter(model))
        if not routers and signing_name in self.loader.list_available_services("service-2"):
            # pass-through traffic (iam, sts, s3...): the same-named model, to record it
            model = self._model(signing_name)
            if str(model.signing_name).lower() == signing_name:
                routers.append(_ServiceRouter(model))
        return routers

    def _model(self, service: str) -> ServiceModel:
        return ServiceModel(self.loader.load_service_model(service, "service-2"), service)

    def routers(self, signing_name: str) -> list[_ServiceRouter]:
        with self._lock:
            if signing_name not in self._by_signing_name:
                self._by_signing_name[signing_name] = self._routers_for(signing_name)
            return self._by_signing_name[signing_name]

    def entry(self, route: _Route) -> CatalogEntry | None:
        """The probed catalog entry of a routed request, if it has one."""
        return self._entries.get((route.service, route.operation))

    def identify(self, request: _Incoming) -> _Route | None:
        if request.auth is None:
            return None
        for router in self.routers(request.auth.service):
            found = router.match(request)
            if found is not None:
                operation, wire = found
                return _Route(router.service, operation, wire, self.model_for(router, wire))
        return None

    def model_for(self, router: _ServiceRouter, wire: str) -> ServiceModel:
        """The service model whose resolved protocol is the one the request used."""
        model = router.model
        if getattr(model, "resolved_protocol", model.protocol) == wire or wire == "rest-xml":
            return model
        key = (router.service, wire)
        with self._lock:
            if key not in self._variants:
                raw = dict(self.loader.load_service_model(router.service, "service-2"))
                raw["metadata"] = {**raw["metadata"], "protocol": wire, "protocols": [wire]}
                self._variants[key] = ServiceModel(raw, router.service)
            return self._variants[key]


_ROUTING: dict[str, _Routing] = {}
_ROUTING_LOCK = threading.Lock()


def _routing() -> _Routing:
    """The process-wide routing tables, filled as requests arrive (see :class:`_Routing`)."""
    with _ROUTING_LOCK:
        if "routing" not in _ROUTING:
            _ROUTING["routing"] = _Routing()
        return _ROUTING["routing"]


@functools.cache
def _shared_loader() -> Any:
    return botocore.loaders.create_loader()


def _botocore_session() -> Any:
    """A botocore session that reads no environment variable and no config file."""
    variables = {}
    for name, spec in botocore.session.Session.SESSION_VARIABLES.items():
        config_name, _env_vars, default, convert = spec
        variables[name] = (config_name, None, _ISOLATED_DEFAULTS.get(name, default), convert)
    session = botocore.session.Session(session_vars=variables)
    session.register_component("data_loader", _shared_loader())
    session.set_config_variable("ignore_configured_endpoint_urls", True)
    session.set_default_client_config(Config(proxies={}))
    return session


_ISOLATED_DEFAULTS: Final = {"config_file": os.devnull, "credentials_file": os.devnull}

# --------------------------------------------------------------------------------------
# Who is calling: moto's IAM and STS backends, and the SigV4 signature.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Principal:
    arn: str
    principal_arn: str  # aws:PrincipalArn: the role, for an assumed-role session
    id: str
    name: str
    kind: str  # aws:PrincipalType
    account: str
    secret: str
    session_token: str | None
    documents: tuple[Mapping[str, Any], ...]
    session_documents: tuple[Mapping[str, Any], ...] = ()


@functools.lru_cache(maxsize=256)
def _parse_document(text: str) -> Mapping[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        logger.debug("ignoring a policy document that is not JSON")
        return {}
    return document if isinstance(document, dict) else {}


def _document(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping) and "policy_document" in raw:
        raw = raw["policy_document"]
    if hasattr(raw, "versions"):  # a moto managed policy
        raw = next((v.document for v in raw.versions if v.is_default), "{}")
    if isinstance(raw, Mapping):
        return raw
    return _parse_document(str(raw))


def _find_principal(account: str, access_key_id: str) -> _Principal | None:
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    iam = iam_backends[account][_PARTITION]
    for user in list(iam.users.values()):
        for key in list(user.access_keys):
            if key.access_key_id == access_key_id and key.status == "Active":
                return _Principal(
                    arn=user.arn,
                    principal_arn=user.arn,
                    id=user.id,
                    name=user.name,
                    kind="User",
                    account=account,
                    secret=key.secret_access_key,
                    session_token=None,
                    documents=tuple(_user_documents(iam, user.name)),
                )
    for session in list(sts_backends[account][_PARTITION].assumed_roles):
        if session.access_key_id != access_key_id:
            continue
        role_name = session.role_arn.rsplit("/", 1)[-1]
        role = next((r for r in iam.get_roles() if r.name == role_name), None)
        if role is None:
            return None  # the role was deleted: its sessions no longer authenticate
        documents = [_document(iam.get_role_policy(role_name, p)[1]) for p in role.policies]
        documents += [_document(p) for p in iam.list_attached_role_policies(role_name)[0]]
        return _Principal(
            arn=f"arn:{_PARTITION}:sts::{account}:assumed-role/{role_name}/{session.session_name}",
            principal_arn=role.arn,
            id=f"{role.id}:{session.session_name}",
            name=session.session_name,
            kind="AssumedRole",
            account=account,
            secret=session.secret_access_key,
            session_token=session.session_token,
            documents=tuple(documents),
            session_documents=(_parse_document(session.policy),) if session.policy else (),
        )
    return None


def _user_documents(iam: Any, user_name: str) -> Iterator[Mapping[str, Any]]:
    for name in list(iam.list_user_policies(user_name)):
        yield _document(iam.get_user_policy(user_name, name))
    for policy in iam.list_attached_user_policies(user_name)[0]:
        yield _document(policy)
    for group in iam.get_groups_for_user(user_name):
        for name in iam.list_group_policies(group.name):
            yield _document(iam.get_group_policy(group.name, name))
        for policy in iam.list_attached_group_policies(group.name)[0]:
            yield _document(policy)


class _Caller:
    """A principal as looked up in one state of moto's IAM, and what derives from it.

    ``decisions`` remembers :func:`_decide`'s verdicts by (action, region),
    unless a condition of the caller's policies reads the clock (then
    ``timeless`` is false and nothing is kept); ``signing_keys`` remembers
    SigV4 signing keys by (date, region, service).
    """

    __slots__ = ("decisions", "principal", "signing_keys", "timeless")

    def __init__(self, principal: _Principal) -> None:
        self.principal = principal
        self.decisions: dict[tuple[str, str], Decision] = {}
        self.signing_keys: dict[tuple[str, str, str], bytes] = {}
        self.timeless = not any(
            str(key).lower() in _CLOCK_KEYS
            for document in (*principal.documents, *principal.session_documents)
            for statement in _statements(document)
            for block in _condition_blocks(statement)
            for key in block
        )


_CLOCK_KEYS: Final = frozenset({"aws:currenttime", "aws:epochtime"})


def _condition_blocks(statement: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    condition = statement.get("Condition")
    if isinstance(condition, Mapping):
        yield from (block for block in condition.values() if isinstance(block, Mapping))


class _Callers:
    """Callers by access key, valid while moto's IAM and STS state is unchanged.

    Finding a caller walks moto's users, keys, groups and policies, and
    evaluating matches every statement: work that depends only on moto's
    state, so it is done once per access key and state. That state changes
    only through requests the sandbox passes to moto and through
    :meth:`Sandbox.set_policy`; each calls :meth:`invalidate`, which starts a
    new generation with nothing remembered. A lookup that overlapped an
    invalidation is used for its own request but not kept.
    """

    _LIMIT = 4096  # access keys remembered at once

    def __init__(self, account: str) -> None:
        self._account = account
        self._lock = threading.Lock()
        self._generation = 0
        self._callers: dict[str, _Caller | None] = {}  # None: no such active key

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._callers = {}

    def get(self, access_key_id: str) -> _Caller | None:
        with self._lock:
            generation = self._generation
            if access_key_id in self._callers:
                return self._callers[access_key_id]
        principal = _find_principal(self._account, access_key_id)
        caller = None if principal is None else _Caller(principal)
        with self._lock:
            if generation == self._generation:
                if len(self._callers) >= self._LIMIT:
                    self._callers = {}
                self._callers[access_key_id] = caller
        return caller


def _decide_for(caller: _Caller, action: str, region: str) -> Decision:
    """:func:`_decide` in the request context of ``region``, remembered when timeless."""
    principal = caller.principal
    key = (action, region)
    decision = caller.decisions.get(key) if caller.timeless else None
    if decision is None:
        decision = _decide(principal, action, _request_context(principal, region, action))
        if caller.timeless:
            caller.decisions[key] = decision
    return decision


def _signature_matches(request: _Incoming, auth: _Auth, caller: _Caller) -> bool:
    principal = caller.principal
    token = request.header("X-Amz-Security-Token")
    if principal.session_token is not None and token != principal.session_token:
        return False
    headers = {k: v for k, v in request.headers.items() if k.lower() in auth.signed_headers}
    timestamp = request.header("X-Amz-Date")
    if timestamp is None or "host" not in auth.signed_headers:
        return False
    return _plain_signature_matches(
        request, auth, caller, headers, timestamp
    ) or _botocore_signature_matches(request, auth, principal, headers, timestamp)


def _plain_signature_matches(
    request: _Incoming, auth: _Auth, caller: _Caller, headers: Mapping[str, str], timestamp: str
) -> bool:
    """SigV4 for the common request (path ``/``, no query string, body hashed), computed here.

    The canonical request holds the method, path, query, every signed header
    and the body's hash, so a match proves the client signed exactly this
    request. Anything else, and any mismatch, goes to botocore's signer, which
    stays the authority: this path can only accept sooner, never refuse.
    """
    from botocore.auth import SIGNED_HEADERS_BLACKLIST

    if request.path != "/" or request.query or request.header("X-Amz-Content-SHA256"):
        return False
    lowered = {k.lower(): v for k, v in headers.items()}
    names = sorted(name for name in lowered if name not in SIGNED_HEADERS_BLACKLIST)
    if "host" not in lowered:
        return False
    canonical = "\n".join(
        [
            request.method,
            "/",
            "",
            "".join(f"{name}:{' '.join(lowered[name].split())}\n" for name in names),
            ";".join(names),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    date = timestamp[:8]
    scope = f"{date}/{auth.region}/{auth.service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = (date, auth.region, auth.service)
    signing_key = caller.signing_keys.get(key)
    if signing_key is None:
        signing_key = f"AWS4{caller.principal.secret}".encode()
        for part in (*key, "aws4_request"):
            signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
        caller.signing_keys[key] = signing_key
    expected = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, auth.signature)


def _botocore_signature_matches(
    request: _Incoming,
    auth: _Auth,
    principal: _Principal,
    headers: Mapping[str, str],
    timestamp: str,
) -> bool:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    signed.context["timestamp"] = timestamp
    credentials = Credentials(auth.access_key_id, principal.secret, principal.session_token)
    signer = SigV4Auth(credentials, auth.service, auth.region)
    try:
        canonical = signer.canonical_request(signed)
        expected = signer.signature(signer.string_to_sign(signed, canonical), signed)
    except Exception:  # a header botocore cannot canonicalise: not a valid signature
        logger.debug("could not recompute a SigV4 signature", exc_info=True)
        return False
    return hmac.compare_digest(str(expected), auth.signature)


# --------------------------------------------------------------------------------------
# Answers.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    code: str | None


def _status_line(status: int) -> str:
    return f"{status} {http.HTTPStatus(status).phrase}"


@functools.cache
def _request_ids() -> random.Random:
    return random.Random()  # seeded once from os.urandom; never the random module's own state


def _request_id() -> str:
    """A version 4 UUID, as AWS's request ids are, without a system call each time."""
    return str(uuid.UUID(int=_request_ids().getrandbits(128), version=4))


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 0x100:
        return bytes([major << 5 | 24, length])
    if length < 0x10000:
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")
    return bytes([major << 5 | 26]) + length.to_bytes(4, "big")


def _cbor_text_map(values: Mapping[str, str]) -> bytes:
    out = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            raw = text.encode("utf-8")
            out += _cbor_head(3, len(raw)) + raw
    return bytes(out)


def _error(route: _Route | None, wire: str, code: str, status: int, message: str) -> _Answer:
    """An error in the wire protocol's own format."""
    request_id = _request_id()
    dialect = DIALECTS.get(wire, DIALECTS["json"])
    content_type = dialect.content_type
    if "{version}" in content_type:
        version = route.model.metadata.get("jsonVersion", "1.1") if route else "1.1"
        content_type = content_type.format(version=version)
    headers: list[tuple[str, str]] = [
        ("Content-Type", content_type),
        ("x-amzn-RequestId", request_id),
    ]
    if wire == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
    elif wire in ("query", "rest-xml"):
        body = (
            f'<ErrorResponse xmlns="{_STS_XMLNS}"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    elif wire == "rest-json":
        headers.append(("x-amzn-ErrorType", code))
        body = json.dumps({"message": message}).encode()
    elif wire == "smithy-rpc-v2-cbor":
        headers.append(("smithy-protocol", "rpc-v2-cbor"))
        body = _cbor_text_map({"__type": code, "message": message})
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
    return _Answer(status, tuple(headers), body, code)


def _modeled_status(model: ServiceModel, code: str, default: int) -> int:
    for shape in model.error_shapes:
        error = shape.metadata.get("error", {})
        if shape.name == code or error.get("code") == code:
            return int(error.get("httpStatusCode", default))
    return default


def _pick_denial_code(entry: CatalogEntry) -> str:
    codes = entry.denial_codes
    for code in DENIAL_CODE_PREFERENCE:
        if code in codes:
            return code
    real = sorted(codes - MOTO_SPELLINGS)
    return real[0] if real else "AccessDenied"


def _pick_success_code(entry: CatalogEntry) -> str:
    real = sorted(entry.success_codes - MOTO_SPELLINGS)
    return real[0] if real else "DryRunOperation"


def _denial_reason(decision: Decision) -> str:
    if decision.explicit_deny:
        return "with an explicit deny in an identity-based policy"
    return f"because no identity-based policy allows the {decision.action} action"


def _resource_for(route: _Route, request: _Incoming, region: str, account: str) -> str:
    """The resource named in messages: a KMS key ARN when the request names a key, else ``*``."""
    if route.service != "kms":
        return "*"
    try:
        document = json.loads(request.body or b"{}")
    except ValueError:
        return "*"
    key = (
        document.get("KeyId") or document.get("DestinationKeyId")
        if isinstance(document, dict)
        else None
    )
    if not isinstance(key, str) or not key:
        return "*"
    if key.startswith("arn:"):
        return key
    if key.startswith("alias/"):
        return f"arn:{_PARTITION}:kms:{region}:{account}:{key}"
    return f"arn:{_PARTITION}:kms:{region}:{account}:key/{key}"


@functools.lru_cache(maxsize=2)
def _clock(second: int) -> tuple[str, str, str]:
    """aws:CurrentTime, aws:EpochTime and the HTTP ``Date`` of one second, made once."""
    return (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)),
        str(second),
        email.utils.formatdate(second, usegmt=True),
    )


def _request_context(principal: _Principal, region: str, action: str) -> dict[str, list[str]]:
    current_time, epoch_time, _ = _clock(int(time.time()))
    context = {
        "aws:Region": [region],
        "aws:RequestedRegion": [region],
        "aws:PrincipalArn": [principal.principal_arn],
        "aws:PrincipalAccount": [principal.account],
        "aws:PrincipalType": [principal.kind],
        "aws:userid": [principal.id],
        "aws:SecureTransport": ["false"],
        "aws:CurrentTime": [current_time],
        "aws:EpochTime": [epoch_time],
    }
    if principal.kind == "User":
        context["aws:username"] = [principal.name]
    if action.lower().startswith("ec2:"):
        context["ec2:Region"] = [region]
    return context


def _decide(principal: _Principal, action: str, context: Mapping[str, list[str]]) -> Decision:
    decision = evaluate(principal.documents, action, context)
    if decision.allowed and principal.session_documents:
        narrowed = evaluate(principal.session_documents, action, context)
        if not narrowed.allowed:
            return narrowed
    return decision


def _items(values: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    return {"items": [{"value": v} for v in values]}


def _statement_item(statement: Mapping[str, Any], principal: _Principal) -> dict[str, Any]:
    def listed(key: str) -> list[str]:
        return _as_strings(statement.get(key)) or []

    conditions = [
        {"key": str(key), "values": _items(_policy_values(values))}
        for block in (statement.get("Condition") or {}).values()
        if isinstance(block, Mapping)
        for key, values in block.items()
    ]
    item: dict[str, Any] = {
        "statementId": str(statement.get("Sid", "")),
        "effect": str(statement.get("Effect", "")).upper(),
        "principals": _items([principal.id]),
        "principalGroups": {"items": []},
        "actions": _items(listed("Action")),
        "resources": _items(listed("Resource")),
        "conditions": {"items": conditions},
    }
    if "NotAction" in statement:
        item["notActions"] = _items(listed("NotAction"))
    if "NotResource" in statement:
        item["notResources"] = _items(listed("NotResource"))
    return item


def _decoded_message(
    decision: Decision,
    principal: _Principal,
    resource: str,
    context: Mapping[str, list[str]],
) -> dict[str, Any]:
    """The JSON STS returns, in the shape of the AWS CLI's decode-authorization-message example."""
    prefix, _, name = decision.action.partition(":")
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.explicit_deny,
        "matchedStatements": {"items": [_statement_item(s, principal) for s in decision.matched]},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal.id, "name": principal.name, "arn": principal.arn},
            # like AWS: EC2's own actions unprefixed, every other action prefixed
            "action": name if prefix.lower() == "ec2" else decision.action,
            "resource": resource,
            "conditions": {
                "items": [{"key": key, "values": _items(values)} for key, values in context.items()]
            },
        },
    }


class _MessageCodec:
    """Opaque, tamper-evident authorization messages: base64url(MAC + zlib(JSON))."""

    _MAC_BYTES = 16
    _ALPHABET = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def encode(self, document: Mapping[str, Any]) -> str:
        payload = zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[: self._MAC_BYTES]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode(self, message: str) -> str | None:
        """The JSON text, or None for anything this sandbox did not issue."""
        if not self._ALPHABET.fullmatch(message):
            return None
        try:
            raw = base64.urlsafe_b64decode(message + "=" * (-len(message) % 4))
        except ValueError:
            return None
        mac, payload = raw[: self._MAC_BYTES], raw[self._MAC_BYTES :]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[: self._MAC_BYTES]
        if not payload or not hmac.compare_digest(mac, expected):
            return None
        try:
            return zlib.decompress(payload).decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            return None


# --------------------------------------------------------------------------------------
# The WSGI layer in front of moto.
# --------------------------------------------------------------------------------------


class _SandboxApp:
    """Answers dry runs and ``DecodeAuthorizationMessage``; passes the rest to moto."""

    def __init__(self, moto_app: Any, account: str) -> None:
        self._moto = moto_app
        self._account = account
        self._codec = _MessageCodec()
        self.callers = _Callers(account)
        self._log: list[RecordedRequest] = []
        self._log_lock = threading.Lock()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._log)

    def _record(self, request: RecordedRequest) -> None:
        with self._log_lock:
            self._log.append(request)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The WSGI application: :meth:`handle`, then :meth:`pass_through` or the answer."""
        outcome = self.handle(_read_request(environ))
        if isinstance(outcome, _Answer):
            return self._send(outcome, start_response)
        return self.pass_through(environ, start_response, outcome)

    def handle(self, request: _Incoming) -> _Answer | RecordedRequest:
        """Answer a request here, or say how to record it once moto has (its status aside)."""
        try:
            routing = _routing()
            route = routing.identify(request)
            entry = routing.entry(route) if route else None
            dry_run = route is not None and _is_dry_run(route, request)
        except Exception:  # unclassifiable: never pass it on, it might be an unflagged call
            logger.exception("sandbox could not classify %s %s", request.method, request.url)
            return _error(None, "json", "InternalFailure", 500, "the sandbox failed to route")
        exempt = route is not None and (route.service, route.operation) in EXEMPT_OPERATIONS
        own = route is not None and (route.service, route.operation) in _STS_ANSWERS
        auth = request.auth
        if route is not None and ((entry is not None and dry_run) or own):
            try:
                answer = self._answer(request, route, entry if dry_run else None)
            except Exception:  # never let a dry run fall through to moto, which might execute it
                logger.exception("sandbox failed to answer %s:%s", route.service, route.operation)
                answer = _error(route, route.wire, "InternalFailure", 500, "sandbox error")
            self._record(
                RecordedRequest(
                    route.service,
                    route.operation,
                    auth.region if auth else None,
                    auth.access_key_id if auth else None,
                    dry_run,
                    exempt,
                    answer.status,
                    answer.code,
                    "sandbox",
                )
            )
            return answer
        return RecordedRequest(
            route.service if route else (auth.service if auth else None),
            route.operation if route else None,
            auth.region if auth else None,
            auth.access_key_id if auth else None,
            dry_run,
            exempt,
            500,
            None,
            "moto",
        )

    def pass_through(
        self, environ: dict[str, Any], start_response: Callable[..., Any], record: RecordedRequest
    ) -> Any:
        """Let moto answer (``environ`` carries the body already read); record its status."""
        statuses: list[int] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        try:
            return self._moto(environ, recording_start_response)
        finally:
            self.callers.invalidate()  # moto may have changed users, keys, policies, sessions
            self._record(replace(record, status=statuses[-1] if statuses else 500))

    @staticmethod
    def _send(answer: _Answer, start_response: Callable[..., Any]) -> list[bytes]:
        start_response(
            _status_line(answer.status),
            [*answer.headers, ("Content-Length", str(len(answer.body)))],
        )
        return [answer.body]

    def _answer(self, request: _Incoming, route: _Route, entry: CatalogEntry | None) -> _Answer:
        auth = request.auth
        assert auth is not None  # identify() needs it
        dialect = DIALECTS.get(route.wire, DIALECTS["json"])
        caller = self.callers.get(auth.access_key_id)
        if caller is None:
            code, status, message = dialect.unknown_key
            return _error(route, route.wire, code, status, message)
        principal = caller.principal
        if not _signature_matches(request, auth, caller):
            code, status, message = dialect.bad_signature
            return _error(route, route.wire, code, status, message)
        if entry is None and route.operation == "GetCallerIdentity":
            return _caller_identity(principal)
        if entry is None:
            return self._decode(request, route, caller)
        resource = _resource_for(route, request, auth.region, principal.account)
        for action in (entry.action, *entry.also_requires):
            decision = _decide_for(caller, action, auth.region)
            if not decision.allowed:
                context = _request_context(principal, auth.region, action)
                return self._deny(route, entry, principal, decision, resource, context)
        code = _pick_success_code(entry)
        status = _modeled_status(route.model, code, dialect.success_status)
        message = DRY_RUN_MESSAGES.get(code, DRY_RUN_MESSAGES["DryRunOperation"])
        return _error(route, route.wire, code, status, message)

    def _deny(
        self,
        route: _Route,
        entry: CatalogEntry,
        principal: _Principal,
        decision: Decision,
        resource: str,
        context: Mapping[str, list[str]],
    ) -> _Answer:
        dialect = DIALECTS.get(route.wire, DIALECTS["json"])
        code = _pick_denial_code(entry)
        status = _modeled_status(route.model, code, dialect.denial_status)
        reason = _denial_reason(decision)
        if entry.service in ENCODED_MESSAGE_SERVICES:
            blob = self._codec.encode(_decoded_message(decision, principal, resource, context))
            message = (
                f"You are not authorized to perform this operation. User: {principal.arn} is not "
                f"authorized to perform: {decision.action} {reason}. "
                f"Encoded authorization failure message: {blob}"
            )
        else:
            on = "" if resource == "*" else f" on resource: {resource}"
            message = (
                f"User: {principal.arn} is not authorized to perform: {decision.action}{on} "
                f"{reason}"
            )
        return _error(route, route.wire, code, status, message)

    def _decode(self, request: _Incoming, route: _Route, caller: _Caller) -> _Answer:
        assert request.auth is not None
        principal = caller.principal
        action = "sts:DecodeAuthorizationMessage"
        decision = _decide_for(caller, action, request.auth.region)
        if not decision.allowed:
            message = (
                f"User: {principal.arn} is not authorized to perform: {action} "
                f"{_denial_reason(decision)}"
            )
            return _error(route, "query", "AccessDenied", 403, message)
        encoded = request.form().get("EncodedMessage", [""])[-1]
        decoded = self._codec.decode(encoded)
        if decoded is None:
            return _error(
                route, "query", "InvalidAuthorizationMessageException", 400, _INVALID_MESSAGE
            )
        request_id = _request_id()
        body = (
            f'<DecodeAuthorizationMessageResponse xmlns="{_STS_XMLNS}">'
            "<DecodeAuthorizationMessageResult>"
            f"<DecodedMessage>{escape(decoded)}</DecodedMessage>"
            "</DecodeAuthorizationMessageResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            "</DecodeAuthorizationMessageResponse>"
        ).encode()
        headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
        return _Answer(200, headers, body, None)


#: The STS calls the sandbox answers itself, whether or not they carry a dry-run flag.
_STS_ANSWERS: Final = frozenset(
    {("sts", "DecodeAuthorizationMessage"), ("sts", "GetCallerIdentity")}
)


def _caller_identity(principal: _Principal) -> _Answer:
    """sts:GetCallerIdentity: allowed to every caller, even under an explicit deny, as in AWS."""
    request_id = _request_id()
    body = (
        f'<GetCallerIdentityResponse xmlns="{_STS_XMLNS}"><GetCallerIdentityResult>'
        f"<Arn>{escape(principal.arn)}</Arn><UserId>{escape(principal.id)}</UserId>"
        f"<Account>{escape(principal.account)}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return _Answer(200, headers, body, None)


def _is_dry_run(route: _Route, request: _Incoming) -> bool:
    """Whether the request carries its dry-run flag: the guard's own wire check."""
    if dry_run_member(route.model.operation_model(route.operation)) is None:
        return False
    # prepared the way botocore prepares its own requests before ``before-send``
    prepared = AWSRequest(
        method=request.method, url=request.url, headers=request.headers, data=request.body
    ).prepare()
    try:
        check_request(route.model, route.service, route.operation, prepared, exempt=())
    except UnsafeRequestError:
        return False
    return True


# --------------------------------------------------------------------------------------
# The server.
# --------------------------------------------------------------------------------------


_MAX_HEADER_LINE: Final = 65536  # http.client's _MAXLINE and _MAXHEADERS
_MAX_HEADERS: Final = 100
_HEADER_LINE_RE: Final = re.compile(rb"([!-9;-~]+):[ \t]*(.*?)\r?\n")


def _header_message(lines: list[bytes]) -> Any:
    """The header block as http.client's ``HTTPMessage``, as ``parse_headers`` makes it.

    Plain ``Name: value`` lines are stored directly (what the email package's
    compat32 policy would store); any other line -- folded, ``From ``,
    malformed -- sends the whole block through the email package instead.
    """
    import email.parser
    import http.client

    message = http.client.HTTPMessage()
    for line in lines[:-1]:
        plain = _HEADER_LINE_RE.fullmatch(line)
        if plain is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
        message[plain[1].decode("iso-8859-1")] = plain[2].decode("iso-8859-1")
    return message


@functools.cache
def _server_types() -> tuple[Any, Any]:
    """werkzeug's threaded server and moto's request handler, made quiet and stoppable."""
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    base: Any = WSGIRequestHandler  # what moto before 5.2.3 serves with
    with contextlib.suppress(ImportError):  # moto 5.2.3+: keeps S3's underscored header names
        from moto.moto_server.werkzeug_app import MotoRequestHandler as base

    class Handler(base):  # type: ignore[misc]
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # each answer is one small write: send it at once

        def parse_request(self) -> bool:
            """http.server's ``parse_request``, with the plain header block read here.

            http.server hands every header block to the email package, which
            took a fifth of the sandbox's time per request. A request line that
            is not ``METHOD target HTTP/1.x`` goes to http.server untouched; a
            header line that is not plain ``Name: value`` (folded, say) goes to
            the email package as before. The header limits are http.client's.
            """
            requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            words = requestline.split()
            if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
                return bool(super().parse_request())
            self.requestline = requestline
            self.command, self.path, self.request_version = words
            self.close_connection = self.request_version != "HTTP/1.1"
            if self.path.startswith("//"):  # as http.server: no open redirects (gh-87389)
                self.path = "/" + self.path.lstrip("/")
            lines: list[bytes] = []
            while True:
                line = self.rfile.readline(_MAX_HEADER_LINE + 1)
                if len(line) > _MAX_HEADER_LINE:
                    self.send_error(431, "Line too long", "header line")
                    return False
                lines.append(line)
                if len(lines) > _MAX_HEADERS:
                    self.send_error(431, "Too many headers", f"more than {_MAX_HEADERS}")
                    return False
                if line in (b"\r\n", b"\n", b""):
                    break
            self.headers = _header_message(lines)
            connection = self.headers.get("Connection", "").lower()
            if connection == "close":
                self.close_connection = True
            elif connection == "keep-alive":
                self.close_connection = False
            expect = self.headers.get("Expect", "").lower()
            if expect == "100-continue" and self.request_version == "HTTP/1.1":
                return bool(self.handle_expect_100())
            return True

        def run_wsgi(self) -> None:
            """Serve one request and keep the connection open for the next one.

            werkzeug's own ``run_wsgi`` closes every connection (http.server
            cannot tell where an unread body ends) and then waits 10 ms for
            stray bytes: a TCP connection and a thread per probe, most of what
            the sandbox cost. Here every body is read to its end first (by its
            ``Content-Length``; a chunked one by werkzeug's reader in
            :func:`_read_request`), so the next request starts where this one
            ended; when that is unsure, or anything fails, the connection
            closes as before. The requests the sandbox answers itself skip the
            WSGI environ; moto gets werkzeug's. (``parse_request`` has already
            answered an ``Expect: 100-continue``.)
            """
            app: Any = self.server.app  # a _SandboxApp
            request = self._read_plain_request()
            if request is None:  # unusual framing: werkzeug's environ and reader
                self._run_wsgi(app, self.make_environ())
                return
            outcome = app.handle(request)
            if isinstance(outcome, _Answer):
                self._respond(_status_line(outcome.status), list(outcome.headers), outcome.body)
                return
            environ = self.make_environ()
            environ["wsgi.input"] = io.BytesIO(request.body)
            environ["CONTENT_LENGTH"] = str(len(request.body))
            environ[_BODY_READ] = True
            self._run_wsgi(functools.partial(app.pass_through, record=outcome), environ)

        def _read_plain_request(self) -> _Incoming | None:
            """The request, its body read by ``Content-Length``; None when framed otherwise."""
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                if "_" in name:  # moto keeps these apart: let werkzeug's environ carry them
                    return None
                key = name.title()
                value = value.replace("\r\n", "")
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            length = headers.pop("Content-Length", "")
            if "Transfer-Encoding" in headers or not self.path.startswith("/"):
                return None
            if length and not length.isdigit():
                return None
            body = self.rfile.read(int(length)) if length else b""
            if len(body) != int(length or 0):
                self.close_connection = True
            headers["Content-Length"] = str(len(body))
            address: Any = self.server.server_address
            return _incoming(self.command, self.path, headers, body, f"{address[0]}:{address[1]}")

        def _run_wsgi(self, app: Callable[..., Any], environ: dict[str, Any]) -> None:
            self.environ = environ
            started: list[tuple[str, list[tuple[str, str]]]] = []
            chunks: list[bytes] = []

            def start_response(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Callable[[bytes], None]:
                started[:] = [(status, list(headers))]
                return chunks.append

            try:
                result = app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
                status, headers = started[0]
            except Exception:
                logger.debug("sandbox: error serving a request", exc_info=True)
                environ[_BODY_READ] = False
                status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
                chunks[:] = [b"Internal Server Error"]
            if not environ.get(_BODY_READ):
                self.close_connection = True
            self._respond(status, headers, b"".join(chunks))

        def _respond(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
            """Write the answer in one piece; ``Connection: close`` when the connection ends."""
            code = int(status.split(" ", 1)[0])
            bodiless = self.command == "HEAD" or code < 200 or code in (204, 304)
            lines = [
                f"{self.protocol_version} {status}",
                f"Server: {self.version_string()}",
                f"Date: {_clock(int(time.time()))[2]}",
            ]
            names = set()
            for name, value in headers:
                if name.lower() not in ("connection", "transfer-encoding"):
                    lines.append(f"{name}: {value}")
                    names.add(name.lower())
            if "content-length" not in names and not bodiless:
                lines.append(f"Content-Length: {len(body)}")
            if self.close_connection:
                lines.append("Connection: close")
            head = "".join(f"{line}\r\n" for line in lines) + "\r\n"
            self.wfile.write(head.encode("latin-1") + (b"" if bodiless else body))
            if logger.isEnabledFor(logging.DEBUG):
                self.log_request(code, len(body))

        def setup(self) -> None:
            super().setup()
            tracker: Any = self.server
            tracker.track(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                tracker: Any = self.server
                tracker.untrack(self.connection)

        def log(self, type: str, message: str, *args: Any) -> None:
            logger.debug("sandbox http: " + message.rstrip(), *args)

    class Server(ThreadedWSGIServer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._connections: set[socket.socket] = set()
            self._connections_lock = threading.Lock()
            self._handlers: list[threading.Thread] = []
            super().__init__(*args, **kwargs)

        def process_request(self, request: Any, client_address: Any) -> None:
            """One thread per connection, as ThreadingMixIn, but kept to be joined on stop."""
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name=f"awsprobe-sandbox-connection-{client_address[1]}",
                daemon=True,
            )
            with self._connections_lock:
                self._handlers = [t for t in self._handlers if t.is_alive()]
                self._handlers.append(thread)
            thread.start()

        def join_handlers(self, deadline: float) -> None:
            """End every connection and wait for its thread to finish, until ``deadline``."""
            while time.monotonic() < deadline:
                with self._connections_lock:
                    alive = [t for t in self._handlers if t.is_alive()]
                if not alive:
                    return
                self.close_connections()
                alive[0].join(0.05)

        def track(self, connection: socket.socket) -> None:
            with self._connections_lock:
                self._connections.add(connection)

        def untrack(self, connection: socket.socket) -> None:
            with self._connections_lock:
                self._connections.discard(connection)

        def close_connections(self) -> None:
            """End idle keep-alive connections so their threads can finish."""
            with self._connections_lock:
                connections = list(self._connections)
            for connection in connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)

        def log(self, type: str, message: str, *args: Any) -> None:
            logger.debug("sandbox server: " + message.rstrip(), *args)

        def handle_error(self, request: Any, client_address: Any) -> None:
            logger.debug("sandbox: error serving %s", client_address, exc_info=True)

    return Server, Handler


def _fork_safe() -> bool:
    """Whether the server may be forked into a process of its own (see ``parallel``)."""
    import multiprocessing

    from awsprobe.parallel import fork_safe

    return fork_safe() and not multiprocessing.current_process().daemon


class _ServerProcess:
    """The server, forked into a process of its own: there it has a GIL of its own.

    In one process, every request's parsing, signature check and evaluation
    competes with the client's own work for one GIL. Forked once moto is set
    up, the child inherits everything (moto's users and keys, the routing
    tables, the listening socket) and serves; the parent keeps a pipe for
    :meth:`call` (``set_policy``, ``requests``, ``stop``) and a thread that
    waits for the child's end, to report an unexpected one. The child stops
    when told to, or when the pipe closes because the parent is gone.
    """

    def __init__(self, server: Any, app: _SandboxApp, name: str) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        self._pipe = ours
        self._child = context.Process(
            target=_serve_forked, args=(server, app, theirs, ours), name=name, daemon=True
        )
        try:
            self._child.start()
        finally:
            theirs.close()
        server.socket.close()  # only the child accepts connections
        self.pid = self._child.pid
        self._lock = threading.Lock()
        self._stopping = False
        self._watcher = threading.Thread(target=self._watch, name=name, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        self._child.join()
        if not self._stopping:
            logger.warning(
                "the sandbox's server process %s ended (exit code %s)",
                self.pid,
                self._child.exitcode,
            )

    def call(self, command: str, argument: Any = None, timeout: float = _CALL_TIMEOUT) -> Any:
        """Run ``command`` in the child and return its answer; its error as SandboxError."""
        with self._lock:
            try:
                self._pipe.send((command, argument))
                if not self._pipe.poll(timeout):
                    self._pipe.close()  # a late answer must not be taken for the next one's
                    raise SandboxError(f"the sandbox's server process did not answer {command!r}")
                status, answer = self._pipe.recv()
            except (EOFError, OSError) as exc:
                raise SandboxError(
                    f"the sandbox's server process has ended (exit code {self._child.exitcode})"
                ) from exc
        if status != "ok":
            raise SandboxError(str(answer))
        return answer

    def stop(self, deadline: float) -> list[RecordedRequest]:
        """Stop the child's server, wait for it to exit (killing it at ``deadline``).

        Returns the child's request log as it ended (empty if it could not tell).
        """
        self._stopping = True
        requests: list[RecordedRequest] = []
        with contextlib.suppress(SandboxError):
            requests = self.call("stop", timeout=max(0.0, deadline - time.monotonic()))
        self._watcher.join(max(0.0, deadline - time.monotonic()))
        if self._watcher.is_alive():
            self._child.kill()
            self._watcher.join()
        self._pipe.close()
        self._child.close()
        return requests


def _serve_forked(server: Any, app: _SandboxApp, pipe: Any, parent_end: Any) -> None:
    """The forked child: serve, and do what the parent asks until it says stop (or is gone)."""
    parent_end.close()  # else the pipe never reads as closed when the parent is gone
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    threading.Thread(target=_warm_up, daemon=True).start()
    try:
        while True:
            try:
                command, argument = pipe.recv()
            except (EOFError, OSError):  # the parent is gone
                break
            if command == "stop":
                break
            try:
                if command == "set_policy":
                    _apply_policy(app, *argument)
                    answer: Any = None
                else:
                    answer = app.requests
                pipe.send(("ok", answer))
            except Exception as exc:  # the parent raises it as SandboxError
                pipe.send(("error", str(exc)))
    finally:
        server.shutdown()
        thread.join()
        server.join_handlers(time.monotonic() + _STOP_TIMEOUT)
        server.server_close()
        with contextlib.suppress(OSError):
            pipe.send(("ok", app.requests))


def _warm_up() -> None:
    """Prepare what the first requests need while the client is still starting up.

    Run only in the server's own process, where it takes nothing from the
    client: the routers of STS (every probe run asks who it is first) and of
    EC2 (most of the catalog), with every EC2 operation's input shape resolved.
    """
    try:
        for signing_name in ("sts", "ec2"):
            for router in _routing().routers(signing_name):
                for operation in router.operations:
                    dry_run_member(router.model.operation_model(operation))
    except Exception:  # the request that needs it does it again, and answers any error
        logger.debug("sandbox: warming up failed", exc_info=True)


def _apply_policy(app: _SandboxApp, account: str, user_name: str, document: Any) -> None:
    """Replace the sandbox user's inline policy in moto, and forget remembered verdicts."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account][_PARTITION]
    try:
        if _POLICY_NAME in iam.list_user_policies(user_name):
            iam.delete_user_policy(user_name, _POLICY_NAME)
        _put_inline_policy(iam, user_name, _POLICY_NAME, document)
    finally:
        app.callers.invalidate()  # remembered verdicts read the old policy


# --------------------------------------------------------------------------------------
# The public face.
# --------------------------------------------------------------------------------------

_REGION_RE: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_USER_NAME_RE: Final = re.compile(r"[\w+=,.@-]{1,64}")


def _isolated_session(access_key_id: str, secret: str, region: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        region_name=region,
        botocore_session=_botocore_session(),
    )


@dataclass(frozen=True)
class _Keys:
    access_key_id: str
    secret_access_key: str


class Sandbox:
    """A local AWS on 127.0.0.1 that answers dry runs as AWS does (see the module docstring).

    ``policy`` is the identity policy of the sandbox user (``None``:
    :data:`DEMO_POLICY`); it is validated at once, as are ``region`` and
    ``user_name``. ``start()`` (or ``with``) resets moto, creates the user
    with an access key and ``policy`` inline, plus an admin user
    (``Action: *``), and serves on a free loopback port, from a process of
    its own where forking is safe (see the module docstring), else from a
    thread. The first request for a service loads its model and catalog
    entries.

    While running: :attr:`endpoint_url`, :attr:`access_key_id`,
    :meth:`session`, :meth:`admin_session`, :meth:`env`, :meth:`set_policy`
    and :attr:`requests`. Only one sandbox may run per process at a time.
    Requests may arrive from any number of threads; start and stop a
    sandbox from one thread.
    """

    _running: ClassVar[Sandbox | None] = None
    _running_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        policy: Mapping[str, Any] | None = None,
        *,
        region: str = "us-east-1",
        user_name: str = "awsprobe-sandbox",
    ) -> None:
        self.policy = validate_policy(DEMO_POLICY if policy is None else policy)
        if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
            raise SandboxError(f"region {region!r} is not a region name such as 'us-east-1'")
        if region.startswith(("cn-", "us-gov-", "us-iso")):
            raise SandboxError(f"the sandbox serves the aws partition only, not {region!r}")
        if not isinstance(user_name, str) or not _USER_NAME_RE.fullmatch(user_name):
            raise SandboxError(
                f"user name {user_name!r} is not a valid IAM user name "
                "(1-64 letters, digits and +=,.@_-)"
            )
        self.region = region
        self.user_name = user_name
        self.admin_user_name = f"{user_name[:58]}-admin"
        self.account = SANDBOX_ACCOUNT
        self.user_arn = f"arn:{_PARTITION}:iam::{self.account}:user/{user_name}"
        self._keys: _Keys | None = None
        self._admin_keys: _Keys | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._process: _ServerProcess | None = None
        self._stopped_requests: list[RecordedRequest] | None = None  # a process's, at its stop
        self._app: _SandboxApp | None = None
        self._saved_auth: tuple[float, int] | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        state = self._url or "stopped"
        return f"<Sandbox {self.user_arn} {self.region} {state}>"

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self.start() if self._url is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Sandbox:
        """Reset moto, create the identities and serve. Returns ``self``."""
        with Sandbox._running_lock:
            if Sandbox._running is self:
                return self
            if Sandbox._running is not None:
                raise SandboxError(
                    f"another sandbox is already running in this process ({Sandbox._running!r}); "
                    "stop it first: moto's state is global, so only one can run at a time"
                )
            Sandbox._running = self
        try:
            self._start()
        except BaseException:
            self._teardown()
            raise
        logger.debug("sandbox serving at %s", self._url)
        return self

    def _start(self) -> None:
        try:
            from moto.core.models import MockAWS
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
        except ImportError as exc:
            raise SandboxError("the sandbox needs moto: pip install 'awsprobe[sandbox]'") from exc
        from moto import settings

        ActionAuthenticatorMixin = _moto_authenticator()
        if MockAWS._nested_count > 0:
            raise SandboxError(
                "a moto mock_aws is active in this process; the sandbox shares moto's state, "
                "so stop the mock before starting a sandbox"
            )
        self._stopped_requests = None
        self._saved_auth = (
            settings.INITIAL_NO_AUTH_ACTION_COUNT,
            ActionAuthenticatorMixin.request_count,
        )
        _reset_moto()
        self._keys = self._create_user(self.user_name, _POLICY_NAME, self.policy)
        self._admin_keys = self._create_user(
            self.admin_user_name, _ADMIN_POLICY_NAME, _ADMIN_POLICY
        )
        self._app = _SandboxApp(DomainDispatcherApplication(create_backend_app), self.account)
        server_type, handler_type = _server_types()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            self._server = server_type(
                "127.0.0.1", 0, self._app, handler=handler_type, fd=listener.fileno()
            )
        except OSError as exc:
            raise SandboxError(f"the sandbox could not listen on 127.0.0.1: {exc}") from exc
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        port = self._server.server_address[1]
        # moto checks every pass-through request's signature and policies from now on
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        if _fork_safe():
            try:
                self._process = _ServerProcess(self._server, self._app, f"awsprobe-sandbox-{port}")
            except OSError:  # no fork to be had (process limits): serve from a thread
                logger.debug("sandbox: could not fork its server", exc_info=True)
        if self._process is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"awsprobe-sandbox-{port}",
                daemon=True,
            )
            self._thread.start()
        self._url = f"http://127.0.0.1:{port}"

    def _create_user(self, name: str, policy_name: str, policy: Mapping[str, Any]) -> _Keys:
        from moto.iam.models import iam_backends

        iam = iam_backends[self.account][_PARTITION]
        iam.create_user(self.region, name)
        key = iam.create_access_key(name)
        _put_inline_policy(iam, name, policy_name, policy)
        return _Keys(key.access_key_id, key.secret_access_key)

    def set_policy(self, policy: Mapping[str, Any]) -> None:
        """Replace the sandbox user's policy while running; the next request sees it.

        Faster than a new sandbox: tests of several policies share one server.
        An empty ``Statement`` list leaves the user with no permissions.
        """
        document = validate_policy(policy)
        self._user_keys()
        if self._process is not None:
            self._process.call("set_policy", (self.account, self.user_name, document))
        else:
            assert self._app is not None  # running
            _apply_policy(self._app, self.account, self.user_name, document)
        self.policy = document

    def stop(self) -> None:
        """Stop serving, close every connection, and give moto back its global state."""
        if Sandbox._running is not self:
            return
        self._teardown()
        logger.debug("sandbox stopped")

    def _teardown(self) -> None:
        server, thread, process = self._server, self._thread, self._process
        deadline = time.monotonic() + _STOP_TIMEOUT
        if process is not None:
            self._stopped_requests = process.stop(deadline)
            self._process = None
        elif server is not None:
            if thread is not None:
                server.shutdown()
            while thread is not None and thread.is_alive() and time.monotonic() < deadline:
                server.close_connections()
                thread.join(0.05)
            server.join_handlers(deadline)
        if server is not None:
            server.server_close()
        self._server = self._thread = None
        self._url = None
        if self._saved_auth is not None:
            from moto import settings

            ActionAuthenticatorMixin = _moto_authenticator()
            count, requests = self._saved_auth
            settings.INITIAL_NO_AUTH_ACTION_COUNT = count
            ActionAuthenticatorMixin.request_count = requests
            self._saved_auth = None
            _reset_moto()
        with Sandbox._running_lock:
            if Sandbox._running is self:
                Sandbox._running = None

    # -- what callers use ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the sandbox is serving."""
        return self._url is not None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; pass it as every client's ``endpoint_url``."""
        if self._url is None:
            raise SandboxError("the sandbox is not running; call start() or use 'with Sandbox()'")
        return self._url

    @property
    def access_key_id(self) -> str:
        """The sandbox user's access key id."""
        return self._user_keys().access_key_id

    @property
    def secret_access_key(self) -> str:
        """The sandbox user's secret access key."""
        return self._user_keys().secret_access_key

    def _user_keys(self) -> _Keys:
        if self._keys is None or self._url is None:
            raise SandboxError("the sandbox is not running; call start() or use 'with Sandbox()'")
        return self._keys

    def session(self) -> boto3.Session:
        """A boto3 session with the sandbox user's keys and region.

        It reads no environment variable, profile or config file. Clients
        still need ``endpoint_url=sandbox.endpoint_url``.
        """
        keys = self._user_keys()
        return _isolated_session(keys.access_key_id, keys.secret_access_key, self.region)

    def admin_session(self) -> boto3.Session:
        """A boto3 session of an admin user (``Action: *``), for creating real moto resources."""
        self._user_keys()
        assert self._admin_keys is not None
        keys = self._admin_keys
        return _isolated_session(keys.access_key_id, keys.secret_access_key, self.region)

    def env(self) -> dict[str, str]:
        """Environment variables that point an AWS CLI or awsprobe subprocess at the sandbox."""
        keys = self._user_keys()
        return {
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since ``start()``, in arrival order (a copy)."""
        if self._process is not None:
            answer: list[RecordedRequest] = self._process.call("requests")
            return answer
        if self._stopped_requests is not None:
            return list(self._stopped_requests)
        return self._app.requests if self._app is not None else []


def _put_inline_policy(iam: Any, user: str, name: str, policy: Mapping[str, Any]) -> None:
    if not _statements(policy):
        return  # IAM refuses an empty statement list; no policy grants nothing just the same
    # moto refuses a missing or 2008 Version; it only changes policy variables, unsupported here
    stored = {**policy, "Version": "2012-10-17"}
    try:
        iam.put_user_policy(user, name, json.dumps(stored))
    except Exception as exc:  # moto's MalformedPolicyDocument and friends
        raise SandboxError(f"moto's IAM rejected the policy: {exc}; simplify the policy") from exc


def _moto_authenticator() -> Any:
    """moto's ``ActionAuthenticatorMixin``, which counts requests before auth starts.

    It moved from ``moto.core.responses`` to ``moto.core.authorization`` in moto 5.1.
    """
    try:
        from moto.core.authorization import ActionAuthenticatorMixin
    except ImportError:  # moto 5.0
        from moto.core.responses import ActionAuthenticatorMixin  # type: ignore[attr-defined]
    return ActionAuthenticatorMixin


def _reset_moto() -> None:
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()
