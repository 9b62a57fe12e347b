"""The STS and IAM calls the sandbox answers or watches itself, where moto keeps too little.

*Answered here*, never passed to moto (moto mints one fixed example key for
``GetSessionToken`` that authenticates nowhere, and answers HTTP 500 to the
user permissions-boundary calls):

* ``sts:GetSessionToken`` -- for an IAM user's long-term key only ("Cannot
  call GetSessionToken with session credentials"), with no permission needed
  (IAM User Guide, "Permissions for GetSessionToken": "You cannot use policies
  to control authentication operations"). ``DurationSeconds`` 900 to 129600,
  43200 by default; with ``SerialNumber`` and a six-digit ``TokenCode`` the
  credentials carry MFA. The code is not checked against a device: the
  sandbox has no authenticator to check it with.
* ``iam:PutUserPermissionsBoundary`` and ``iam:DeleteUserPermissionsBoundary``
  -- authorized like any request (the sandbox's evaluator, with
  ``iam:PermissionsBoundary`` in the context of the first), then the user must
  exist and the boundary name an existing managed policy.

A request moto answers, signed with ``GetSessionToken`` credentials, is
signed anew with the user's own key first (:func:`resign_for_moto`): moto
knows only its own sessions.

*Watched*: moto answers them; the sandbox first refuses what AWS would and
moto does not, and records what moto does not keep once moto has answered 200:

* ``sts:AssumeRole`` -- the ``Policy`` must be a valid policy
  (``MalformedPolicyDocument``), at most ten ``PolicyArns``, MFA as above;
  recorded: the ``PolicyArns``, the session ``Tags``, the issue time and MFA,
  by the new session's access key id (read from moto's answer).
* ``iam:CreateUser`` -- a ``PermissionsBoundary`` must name an existing
  managed policy; recorded as the new user's boundary.
* ``iam:GetUser`` (and ``CreateUser``'s answer) -- the user's
  ``PermissionsBoundary``, which moto leaves out, is added to moto's answer.

Everything recorded lives in the sandbox's :class:`~awsprobe.sandbox.sessions._Sessions`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from awsprobe.errors import SandboxError
from awsprobe.sandbox import moto_adapter
from awsprobe.sandbox.answers import (
    _IAM_XMLNS,
    _STS_XMLNS,
    _Answer,
    _denial_message,
    _error,
    _query_ok,
)
from awsprobe.sandbox.evaluation import Decision
from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.moto_adapter import _PARTITION, managed_policy, user_named
from awsprobe.sandbox.policy import validate_policy
from awsprobe.sandbox.request import _Incoming
from awsprobe.sandbox.routing import _Route
from awsprobe.sandbox.sessions import _RoleSessionExtras, _Sessions

#: Operations the sandbox answers itself.
ANSWERED: Final = frozenset(
    {
        ("sts", "GetSessionToken"),
        ("iam", "PutUserPermissionsBoundary"),
        ("iam", "DeleteUserPermissionsBoundary"),
    }
)
#: Operations moto answers, checked before and recorded after by the sandbox.
WATCHED: Final = frozenset({("sts", "AssumeRole"), ("iam", "CreateUser"), ("iam", "GetUser")})

#: ``(action, resource ARN, extra condition keys)`` -> the caller's decision.
Authorize = Callable[[str, str, Mapping[str, tuple[str, ...]]], Decision]


#: STS API Reference, GetSessionToken: DurationSeconds 900-129600, default 43200;
#: SerialNumber 9-256 characters of [\w+=/:,.@-]; TokenCode six digits.
_SESSION_DURATION: Final = (900, 129600, 43200)
_SERIAL_RE: Final = re.compile(r"[\w+=/:,.@-]{9,256}")
_TOKEN_CODE_RE: Final = re.compile(r"\d{6}")
#: STS API Reference, AssumeRole: "You can pass up to 10 managed policy ARNs".
_MAX_POLICY_ARNS: Final = 10
_POLICY_ARN_RE: Final = re.compile(r"arn:[\w-]+:iam::(aws|\d{12}):policy/[\w+=,.@/-]+")
_ACCESS_KEY_RE: Final = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
_BAD_MFA: Final = "MultiFactorAuthentication failed with invalid MFA one time pass code."


@dataclass(frozen=True)
class InterceptedCall:
    """One authenticated request for an answered operation."""

    route: _Route
    principal: _Principal
    access_key_id: str  # the caller's
    params: Mapping[str, str]  # the form's fields, the last value of each
    sessions: _Sessions
    authorize: Authorize


def params_of(form: Mapping[str, list[str]]) -> dict[str, str]:
    """A query request's fields, the last value of each."""
    return {key: values[-1] for key, values in form.items() if values}


def answer(call: InterceptedCall) -> _Answer:
    """Answer one of :data:`ANSWERED` for an authenticated caller."""
    operation = call.route.operation
    if operation == "GetSessionToken":
        return _get_session_token(call)
    return _user_boundary(call, put=operation == "PutUserPermissionsBoundary")


def _fail(route: _Route, code: str, status: int, message: str) -> _Answer:
    return _error(route, "query", code, status, message)


def _validation(route: _Route, value: str, member: str, constraint: str) -> _Answer:
    return _fail(
        route,
        "ValidationError",
        400,
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _mfa(route: _Route, params: Mapping[str, str]) -> tuple[str | None, _Answer | None]:
    """The MFA device of a call (None without MFA), or the answer refusing it."""
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if serial is None and code is None:
        return None, None
    if serial is not None and not _SERIAL_RE.fullmatch(serial):
        return None, _validation(
            route,
            serial,
            "serialNumber",
            r"Member must satisfy regular expression pattern: [\w+=/:,.@-]* "
            "and have length between 9 and 256",
        )
    if code is not None and not _TOKEN_CODE_RE.fullmatch(code):
        return None, _validation(
            route, code, "tokenCode", r"Member must satisfy regular expression pattern: [\d]*"
        )
    if serial is None or code is None:  # one without the other authenticates nothing
        return None, _fail(route, "AccessDenied", 403, _BAD_MFA)
    return serial, None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def _get_session_token(call: InterceptedCall) -> _Answer:
    route, principal, params = call.route, call.principal, call.params
    if principal.kind != "User" or principal.session_token is not None:
        return _fail(
            route, "AccessDenied", 403, "Cannot call GetSessionToken with session credentials"
        )
    low, high, default = _SESSION_DURATION
    given = params.get("DurationSeconds")
    try:
        duration = default if given is None else int(given)
    except ValueError:
        return _validation(route, str(given), "durationSeconds", "Member must be an integer")
    if not low <= duration <= high:
        bound = "greater than or equal to 900" if duration < low else "less than or equal to 129600"
        return _validation(
            route, str(duration), "durationSeconds", f"Member must have value {bound}"
        )
    serial, refusal = _mfa(route, params)
    if refusal is not None:
        return refusal
    minted = call.sessions.mint(principal.id, principal.name, call.access_key_id, duration, serial)
    credentials = (
        "<Credentials>"
        f"<AccessKeyId>{minted.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{escape(minted.secret)}</SecretAccessKey>"
        f"<SessionToken>{escape(minted.token)}</SessionToken>"
        f"<Expiration>{_iso(minted.expires)}</Expiration>"
        "</Credentials>"
    )
    return _query_ok("GetSessionToken", _STS_XMLNS, credentials)


def _user_arn(account: str, name: str) -> str:
    user = user_named(account, name)
    return user.arn if user is not None else f"arn:{_PARTITION}:iam::{account}:user/{name}"


def _user_boundary(call: InterceptedCall, *, put: bool) -> _Answer:
    route, principal, params = call.route, call.principal, call.params
    action = f"iam:{route.operation}"
    name = params.get("UserName", "")
    boundary = params.get("PermissionsBoundary", "") if put else ""
    if not name:
        return _validation(route, "null", "userName", "Member must not be null")
    if put and not boundary:
        return _validation(route, "null", "permissionsBoundary", "Member must not be null")
    resource = _user_arn(principal.account, name)
    keys = MappingProxyType({"iam:PermissionsBoundary": (boundary,)} if put else {})
    decision = call.authorize(action, resource, keys)
    if not decision.allowed:
        message = _denial_message(principal, decision, resource, None)
        return _fail(route, "AccessDenied", 403, message)
    user = user_named(principal.account, name)
    if user is None:
        return _fail(route, "NoSuchEntity", 404, f"The user with name {name} cannot be found.")
    if put:
        refusal = _missing_policy(route, principal.account, boundary)
        if refusal is not None:
            return refusal
    call.sessions.set_boundary(user.id, boundary if put else None)
    return _query_ok(route.operation, _IAM_XMLNS)


def _missing_policy(route: _Route, account: str, arn: str) -> _Answer | None:
    """The answer refusing a policy ARN that names no managed policy, else None."""
    if _POLICY_ARN_RE.fullmatch(arn) and managed_policy(account, arn) is not None:
        return None
    return _fail(route, "NoSuchEntity", 404, f"Policy {arn} does not exist or is not attachable.")


def resign_for_moto(
    environ: dict[str, Any], request: _Incoming, account: str, sessions: _Sessions
) -> None:
    """Sign a request moto will answer with the long-term key behind its session credentials.

    moto authenticates IAM users' keys and its own ``AssumeRole`` sessions,
    not the sandbox's ``GetSessionToken`` credentials. So a request signed
    with them (its signature already checked by the caller) goes to moto
    signed anew, by botocore's SigV4 signer, with the key that asked for the
    session: moto then judges it as that user's, as AWS judges a session's
    request by the user's policies. Nothing changes when that key is no
    longer active: moto refuses the request.
    """
    auth = request.auth
    minted = sessions.token(auth.access_key_id) if auth is not None else None
    source = moto_adapter.user_with_key(account, minted.source_key_id) if minted else None
    if auth is None or minted is None or source is None:
        return
    dropped = ("authorization", "x-amz-security-token", "x-amz-date")
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() in auth.signed_headers and name.lower() not in dropped
    }
    signed = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    credentials = Credentials(minted.source_key_id, source[1])
    SigV4Auth(credentials, auth.service, auth.region).add_auth(signed)
    environ["HTTP_AUTHORIZATION"] = signed.headers["Authorization"]
    environ["HTTP_X_AMZ_DATE"] = signed.headers["X-Amz-Date"]
    environ.pop("HTTP_X_AMZ_SECURITY_TOKEN", None)


# -- watched: moto answers, the sandbox checks before and records after -----------------


def _members(params: Mapping[str, str], prefix: str, field: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for key, value in params.items():
        head, _, tail = key.partition(".member.")
        number, _, name = tail.partition(".")
        if head == prefix and number.isdigit() and name == field:
            found.append((int(number), value))
    return [value for _, value in sorted(found)]


def check_watched(route: _Route, params: Mapping[str, str], account: str) -> _Answer | None:
    """The answer refusing a watched call before moto sees it, or None to pass it on."""
    if route.operation == "GetUser":
        return None
    if route.operation == "CreateUser":
        boundary = params.get("PermissionsBoundary")
        return None if boundary is None else _missing_policy(route, account, boundary)
    policy = params.get("Policy")
    if policy is not None:
        try:
            validate_policy(json.loads(policy))
        except (ValueError, SandboxError) as exc:
            return _fail(route, "MalformedPolicyDocument", 400, f"The policy is not valid: {exc}")
    arns = _members(params, "PolicyArns", "arn")
    if len(arns) > _MAX_POLICY_ARNS:
        return _validation(
            route, str(len(arns)), "policyArns", "Member must have length less than or equal to 10"
        )
    for arn in arns:
        if not _POLICY_ARN_RE.fullmatch(arn):
            return _validation(route, arn, "policyArns.member.arn", "Member must be a policy ARN")
    return _mfa(route, params)[1]


def record_watched(
    route: _Route,
    params: Mapping[str, str],
    body: bytes,
    account: str,
    sessions: _Sessions,
) -> bytes:
    """Keep what a watched call moto answered 200 leaves behind that moto does not keep.

    Returns the answer to send: moto's, or for ``GetUser`` moto's with the
    user's ``PermissionsBoundary`` added (IAM API Reference, ``User``).
    """
    if route.operation == "GetUser":
        return _with_boundary(body, account, sessions)
    if route.operation == "CreateUser":
        boundary = params.get("PermissionsBoundary")
        user = user_named(account, params.get("UserName", ""))
        if boundary and user is not None:
            sessions.set_boundary(user.id, boundary)
        return _with_boundary(body, account, sessions)
    found = _ACCESS_KEY_RE.search(body)
    if found is None:
        return body
    keys = _members(params, "Tags", "Key")
    values = _members(params, "Tags", "Value")
    now = sessions.now()
    extras = _RoleSessionExtras(
        policy_arns=tuple(_members(params, "PolicyArns", "arn")),
        tags=MappingProxyType(dict(zip(keys, values, strict=False))),
        issued=now,
        mfa_at=now if params.get("SerialNumber") and params.get("TokenCode") else None,
    )
    sessions.add_role_session(found.group(1).decode(), extras)
    return body


_USER_ID_RE: Final = re.compile(rb"<UserId>([^<]+)</UserId>")


def _with_boundary(body: bytes, account: str, sessions: _Sessions) -> bytes:
    """A ``GetUser``/``CreateUser`` answer with the user's boundary, which moto leaves out."""
    found = _USER_ID_RE.search(body)
    arn = sessions.boundary(found.group(1).decode()) if found else None
    if arn is None or b"<PermissionsBoundary>" in body or body.count(b"</User>") != 1:
        return body
    element = (
        "<PermissionsBoundary>"
        "<PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType>"
        f"<PermissionsBoundaryArn>{escape(arn)}</PermissionsBoundaryArn>"
        "</PermissionsBoundary>"
    ).encode()
    return body.replace(b"</User>", element + b"</User>")
