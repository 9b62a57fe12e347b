"""A loopback fake of ``iam:SimulatePrincipalPolicy``, as a :class:`~tests.faults.FaultServer` rule.

The answers are shaped as the IAM API Reference documents them (SimulatePrincipalPolicy,
"Examples": the ``SimulatePrincipalPolicyResponse`` XML with ``EvaluationResults`` members
holding ``EvalActionName``, ``EvalResourceName``, ``EvalDecision``, ``MatchedStatements``
and ``MissingContextValues``; ``IsTruncated`` and ``Marker`` for pagination; errors in the
query protocol's ``ErrorResponse`` envelope, e.g. ``AccessDenied`` 403, ``NoSuchEntity``
404, ``Throttling`` 400). Decisions come from a table the test writes (action, lower
case -> decision), ``implicitDeny`` otherwise. Every request is kept, parsed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.faults import Fault, Recorded, http_response

NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def iam_error(status: int, code: str, message: str = "from the IAM fake") -> Fault:
    body = (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    ).encode()
    return Fault("send", http_response(status, body))


@dataclass(frozen=True)
class Asked:
    """One SimulatePrincipalPolicy request as the fake read it."""

    principal: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    context: dict[str, tuple[str, str, tuple[str, ...]]]  # key -> (name, type, values)
    max_items: int | None
    marker: str | None


def _members(form: Mapping[str, list[str]], prefix: str) -> tuple[str, ...]:
    found = []
    number = 1
    while f"{prefix}.member.{number}" in form:
        found.append(form[f"{prefix}.member.{number}"][0])
        number += 1
    return tuple(found)


def parse(body: bytes) -> Asked:
    form = parse_qs(body.decode(), keep_blank_values=True)
    context: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    number = 1
    while f"ContextEntries.member.{number}.ContextKeyName" in form:
        base = f"ContextEntries.member.{number}"
        name = form[f"{base}.ContextKeyName"][0]
        kind = form[f"{base}.ContextKeyType"][0]
        context[name] = (name, kind, _members(form, f"{base}.ContextKeyValues"))
        number += 1
    items = form.get("MaxItems")
    return Asked(
        principal=form["PolicySourceArn"][0],
        actions=_members(form, "ActionNames"),
        resources=_members(form, "ResourceArns"),
        context=context,
        max_items=int(items[0]) if items else None,
        marker=form.get("Marker", [None])[0],
    )


@dataclass
class IamFake:
    """The rule: answers SimulatePrincipalPolicy, leaves everything else to the server.

    ``decisions`` maps a lower-case action to its ``EvalDecision``; ``missing`` maps one to
    the ``MissingContextValues`` it reports; ``page`` is how many results one page holds at
    most (fewer than ``MaxItems`` to force a ``Marker``); ``before`` may answer a request
    instead (a fault: throttling, ``AccessDenied``...), given the request's number.
    """

    decisions: Mapping[str, str] = field(default_factory=dict)
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    page: int = 1000
    before: Callable[[int, Asked], Fault | None] | None = None
    asked: list[Asked] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Recorded) -> Fault | None:
        if request.operation != "SimulatePrincipalPolicy":
            return None
        asked = parse(request.body)
        with self._lock:
            self.asked.append(asked)
            number = len(self.asked)
        if self.before is not None:
            fault = self.before(number, asked)
            if fault is not None:
                return fault
        rows = [(a, r) for a in asked.actions for r in (asked.resources or ("*",))]
        start = int(asked.marker or 0)
        size = min(self.page, asked.max_items or 100)
        chunk = rows[start : start + size]
        truncated = start + size < len(rows)
        members = "".join(self._member(a, r) for a, r in chunk)
        marker = f"<Marker>{start + size}</Marker>" if truncated else ""
        body = (
            f'<SimulatePrincipalPolicyResponse xmlns="{NS}"><SimulatePrincipalPolicyResult>'
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{marker}"
            f"<EvaluationResults>{members}</EvaluationResults>"
            "</SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>1</RequestId>"
            "</ResponseMetadata></SimulatePrincipalPolicyResponse>"
        ).encode()
        return Fault("send", http_response(200, body))

    def _member(self, action: str, resource: str) -> str:
        decision = self.decisions.get(action.lower(), "implicitDeny")
        statements = ""
        if decision != "implicitDeny":
            statements = (
                "<MatchedStatements><member><SourcePolicyId>ProbePolicy</SourcePolicyId>"
                "<SourcePolicyType>user</SourcePolicyType></member></MatchedStatements>"
            )
        missing = "".join(f"<member>{k}</member>" for k in self.missing.get(action.lower(), ()))
        return (
            f"<member>{statements}<MissingContextValues>{missing}</MissingContextValues>"
            f"<EvalResourceName>{resource}</EvalResourceName>"
            f"<EvalDecision>{decision}</EvalDecision>"
            f"<EvalActionName>{action}</EvalActionName>"
            "<OrganizationsDecisionDetail><AllowedByOrganizations>true</AllowedByOrganizations>"
            "</OrganizationsDecisionDetail></member>"
        )


def simulated(requests: list[Asked]) -> list[str]:
    """Every action name asked, in order."""
    return [a for asked in requests for a in asked.actions]


def as_dict(asked: Asked) -> dict[str, Any]:
    return {"principal": asked.principal, "actions": list(asked.actions)}
