"""``iam:SimulatePrincipalPolicy`` and ``iam:GetContextKeysForPrincipalPolicy``, answered here.

moto implements neither. The sandbox answers both itself, in IAM's query/XML
shape (IAM API Reference, ``SimulatePrincipalPolicy``, ``EvaluationResult``,
``ResourceSpecificResult``, ``Statement``; REFERENCE §10), with its own
evaluator (:func:`~awsprobe.sandbox.evaluation.authorize`): the simulator's
verdict on an action, a resource and a context is the verdict a dry run of
the same request gets from the same policies (``tests/test_sandbox_simulate.py``
proves it over the whole EC2 catalog).

*What the simulator weighs* (IAM User Guide, "Testing IAM policies with the IAM
policy simulator"; API Reference, ``SimulatePrincipalPolicy``):

* the identity policies of ``PolicySourceArn`` -- a user's inline and attached
  policies and its groups' both, a group's, or a role's -- plus
  ``PolicyInputList``;
* the entity's permissions boundary, or ``PermissionsBoundaryPolicyInputList``
  instead of it (at most one);
* the SCPs of the sandbox account (``Sandbox(scps=...)``;
  ``OrganizationsDecisionDetail``), which spare service-linked roles.

*What it does not see*, as in AWS: session policies (a role is simulated, never
one of its sessions: an assumed-role ARN is ``InvalidInput``), resource-based
policies, VPC endpoint policies, RCPs. ``ResourcePolicy`` and
``PolicyExclusionList`` are not modelled: the sandbox refuses them
(``InvalidInput``, saying so) rather than answer as if they were not there.

*The request context* is ``ContextEntries`` and nothing else. The API Reference
says "whenever a context key is evaluated in one of the simulated IAM
permissions policies, the corresponding value is supplied" from the entries,
and ``MissingContextValues`` lists the keys the policies needed and "were not
provided by one of the input parameters": so the sandbox supplies no global
key of its own (no ``aws:PrincipalArn``, ``aws:username``, ``aws:CurrentTime``,
``aws:RequestedRegion``...). A key the decision read and the entries lack is
absent -- IAM's absent-key rules apply -- and is listed in
``MissingContextValues`` (:attr:`Decision.keys_missing`, as the policy spells it):
a condition's key, or a policy variable's (``${aws:username}``) in a
``Resource`` or a condition value. With ``ResourceArns`` each resource's
``ResourceSpecificResults`` member lists its own, and the top level "the
deduplicated set of missing context values across all requested resources";
without, the top level alone. Keys only SCPs read are not listed ("This field
doesn't include context keys referenced by service control policies").

*The answer*, per the API Reference's current note on ``EvaluationResult``: one
result per action, whatever the number of ``ResourceArns``; its decision is
the most restrictive over the resources (``explicitDeny`` over ``implicitDeny``
over ``allowed``), its ``EvalResourceName`` the first resource that decided it
(``*`` without ``ResourceArns``), and one ``ResourceSpecificResults`` member per
given ARN. ``MatchedStatements`` are the statements that decided: every
applicable Deny for an explicit deny, the identity policies' applicable Allows
when allowed, none for an implicit deny; SCP statements are not listed (their
effect is ``OrganizationsDecisionDetail``). ``SourcePolicyId`` is the managed
policy's name, ``PolicyInputList.N``, ``PermissionsBoundaryPolicyInputList.1``,
or ``<user|group|role>_<entity>_<policy>`` for an inline policy, and
``SourcePolicyType`` is ``IAM Policy``: what real answers carry (recorded
answers quoted in public repositories: ``AdministratorAccess``,
``PolicyInputList.1``, ``role_<role>_<policy>``, all ``IAM Policy``; the service
model's enum lists ``user``, ``group``, ``role``, ``aws-managed``...,
which real answers do not use). Positions are 1-based and approximate: the
column just past the statement's ``{`` and just past its ``}``, which matches
the API Reference's ``simulate-custom-policy`` example exactly. Results are
paginated by ``MaxItems`` (1 to 1000, 100 by default) and an opaque ``Marker``.

*Errors*: a constraint of the service model broken (``PolicySourceArn`` or
``ActionNames`` missing, ``MaxItems`` out of range, an unknown
``ContextKeyType``) is ``ValidationError`` 400, as IAM answers model
violations; an ARN that names no user, group or role ("Invalid Entity Arn:
ARN does not clearly define entity type and name."), a malformed policy,
action, resource ARN or marker is ``InvalidInput`` 400; an entity that does not
exist is ``NoSuchEntity`` 404. The caller must be allowed the action on the
entity's ARN (``AccessDenied`` 403 otherwise, IAM's message), checked after the
input and before the entity's existence.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from xml.sax.saxutils import escape

from awsprobe.errors import SandboxError
from awsprobe.sandbox import moto_adapter
from awsprobe.sandbox.answers import (
    _IAM_XMLNS,
    _Answer,
    _denial_message,
    _error,
    _query_ok,
)
from awsprobe.sandbox.evaluation import Decision, PolicySet, RequestContext, authorize
from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.layers import FULL_AWS_ACCESS
from awsprobe.sandbox.policy import validate_policy
from awsprobe.sandbox.routing import _Route
from awsprobe.sandbox.sessions import _Sessions
from awsprobe.sandbox.variables import supports_variables

__all__ = ["ANSWERED", "SimulationCall", "answer"]

#: The IAM calls this module answers.
ANSWERED: Final = frozenset(
    {("iam", "SimulatePrincipalPolicy"), ("iam", "GetContextKeysForPrincipalPolicy")}
)

#: ``(action, resource ARN)`` -> the caller's own decision on its request.
Authorize = Callable[[str, str], Decision]

#: IAM API Reference, SimulatePrincipalPolicy: MaxItems 1 to 1000, "defaults to 100".
_MAX_ITEMS: Final = (1, 1000, 100)
#: The service model's ContextKeyTypeEnum.
CONTEXT_KEY_TYPES: Final = frozenset(
    {
        "string",
        "stringList",
        "numeric",
        "numericList",
        "boolean",
        "booleanList",
        "ip",
        "ipList",
        "binary",
        "binaryList",
        "date",
        "dateList",
    }
)
#: The policy type real answers give every identity policy (see the module's docstring).
_IDENTITY_POLICY_TYPE: Final = "IAM Policy"
_ENTITY_ARN_RE: Final = re.compile(
    r"arn:(?P<partition>aws[\w-]*):iam::(?P<account>\d{12}):"
    r"(?P<kind>user|group|role)(?:/[\x21-\x7e]*)?/(?P<name>[\w+=,.@-]{1,128})"
)
_ACTION_RE: Final = re.compile(r"[\w*?-]+:[\w*?-]+")
_MARKER_PREFIX: Final = "awsprobe-sandbox-simulation:"
_SERVICE_LINKED_PATH: Final = ":role/aws-service-role/"
_VARIABLE_RE: Final = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class SimulationCall:
    """One authenticated request for one of :data:`ANSWERED`."""

    route: _Route
    caller: _Principal
    form: Mapping[str, Sequence[str]]  # the query request's fields, as sent
    account: str
    sessions: _Sessions
    scps: tuple[tuple[Mapping[str, Any], ...], ...]  # the account's SCP levels
    authorize: Authorize


def answer(call: SimulationCall) -> _Answer:
    """Answer one of :data:`ANSWERED` (see the module's docstring)."""
    try:
        if call.route.operation == "GetContextKeysForPrincipalPolicy":
            return _context_keys(call)
        return _simulate(call)
    except _Refusal as refusal:
        return _error(call.route, "query", refusal.code, refusal.status, refusal.message)


class _Refusal(Exception):
    """IAM's refusal of the request: raised while reading it, answered by :func:`answer`."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def _validation(value: str, member: str, constraint: str) -> _Refusal:
    return _Refusal(
        "ValidationError",
        400,
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _invalid(message: str) -> _Refusal:
    return _Refusal("InvalidInput", 400, message)


# -- reading the request --------------------------------------------------------------------


def _last(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None


def _members(form: Mapping[str, Sequence[str]], prefix: str) -> list[str]:
    """A list member's items (``Prefix.member.N``), in order."""
    found: list[tuple[int, str]] = []
    head = f"{prefix}.member."
    for key, values in form.items():
        number = key[len(head) :] if key.startswith(head) else ""
        if number.isdigit() and values:
            found.append((int(number), values[-1]))
    return [value for _, value in sorted(found)]


def _structures(form: Mapping[str, Sequence[str]], prefix: str) -> list[dict[str, list[str]]]:
    """A list of structures (``Prefix.member.N.Field...``) as one form per member, in order."""
    found: dict[int, dict[str, list[str]]] = {}
    head = f"{prefix}.member."
    for key, values in form.items():
        if not key.startswith(head):
            continue
        number, _, rest = key[len(head) :].partition(".")
        if number.isdigit() and rest:
            found.setdefault(int(number), {})[rest] = list(values)
    return [found[number] for number in sorted(found)]


@dataclass(frozen=True)
class _Entity:
    """``PolicySourceArn`` read: what kind of entity, and its name."""

    arn: str
    kind: str  # user, group, role
    account: str
    name: str


def _entity(form: Mapping[str, Sequence[str]]) -> _Entity:
    arn = _last(form, "PolicySourceArn")
    if arn is None:
        raise _validation("null", "policySourceArn", "Member must not be null")
    found = _ENTITY_ARN_RE.fullmatch(arn)
    if found is None:
        # recorded: "Invalid Entity Arn: arn:aws:sts::…:assumed-role/… does not clearly
        # define entity type and name." (public issue threads quoting IAM's answer)
        raise _invalid(f"Invalid Entity Arn: {arn} does not clearly define entity type and name.")
    return _Entity(arn, found["kind"], found["account"], found["name"])


@dataclass(frozen=True)
class _Request:
    """A ``SimulatePrincipalPolicy`` request, read and checked."""

    entity: _Entity
    actions: tuple[str, ...]
    resources: tuple[str, ...] | None  # None: not given, simulated on "*"
    context: Mapping[str, tuple[str, ...]]
    policy_inputs: tuple[str, ...]
    boundary_input: str | None
    max_items: int
    offset: int


def _read(form: Mapping[str, Sequence[str]]) -> _Request:
    entity = _entity(form)
    actions = _members(form, "ActionNames")
    if not actions:
        raise _validation("null", "actionNames", "Member must not be null")
    for action in actions:
        if not _ACTION_RE.fullmatch(action):
            raise _invalid(f"Action {action} is not a valid action name: service:action expected.")
    resources = _members(form, "ResourceArns") or None
    for resource in resources or ():
        if resource != "*" and (not resource.startswith("arn:") or resource.count(":") < 5):
            raise _invalid(f'Resource {resource} must be in ARN format or "*".')
    for unmodelled in ("ResourcePolicy", "PolicyExclusionList"):
        if any(key == unmodelled or key.startswith(f"{unmodelled}.") for key in form):
            raise _invalid(f"the awsprobe sandbox does not simulate {unmodelled}")
    boundaries = _members(form, "PermissionsBoundaryPolicyInputList")
    if len(boundaries) > 1:
        raise _invalid("The list of Permissions Boundary policies cannot exceed 1 items.")
    return _Request(
        entity,
        tuple(actions),
        tuple(resources) if resources else None,
        _context(form),
        tuple(_checked_policy(text) for text in _members(form, "PolicyInputList")),
        _checked_policy(boundaries[0]) if boundaries else None,
        _max_items(_last(form, "MaxItems")),
        _offset(_last(form, "Marker")),
    )


def _checked_policy(text: str) -> str:
    try:
        validate_policy(json.loads(text))
    except (ValueError, SandboxError) as exc:
        raise _invalid(f"The policy is not valid: {exc}") from exc
    return text


def _max_items(given: str | None) -> int:
    low, high, default = _MAX_ITEMS
    if given is None:
        return default
    try:
        number = int(given)
    except ValueError:
        raise _validation(given, "maxItems", "Member must be an integer") from None
    if number < low:
        raise _validation(given, "maxItems", "Member must have value greater than or equal to 1")
    if number > high:
        raise _validation(given, "maxItems", "Member must have value less than or equal to 1000")
    return number


def _marker(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_MARKER_PREFIX}{offset}".encode()).decode()


def _offset(marker: str | None) -> int:
    if marker is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    number = text[len(_MARKER_PREFIX) :] if text.startswith(_MARKER_PREFIX) else ""
    if not number.isdigit():
        raise _invalid(f"Invalid Marker: {marker}")
    return int(number)


def _context(form: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """``ContextEntries`` as request-context keys (names ignore case, the last entry wins)."""
    context: dict[str, tuple[str, ...]] = {}
    for entry in _structures(form, "ContextEntries"):
        name = (entry.get("ContextKeyName") or [""])[-1]
        kind = (entry.get("ContextKeyType") or [""])[-1]
        values = _members(entry, "ContextKeyValues")
        if kind not in CONTEXT_KEY_TYPES:
            raise _validation(
                kind or "null",
                "contextEntries.member.contextKeyType",
                "Member must satisfy enum value set: ["
                + ", ".join(sorted(CONTEXT_KEY_TYPES))
                + "]",
            )
        if len(name) < 5:
            raise _validation(
                name or "null",
                "contextEntries.member.contextKeyName",
                "Member must have length greater than or equal to 5",
            )
        if not kind.endswith("List") and len(values) > 1:
            raise _invalid(f"Context key {name} of type {kind} takes one value, not {len(values)}.")
        if kind.startswith("boolean"):
            if any(v.lower() not in ("true", "false") for v in values):
                raise _invalid(f"Context key {name} of type {kind} takes true or false.")
            values = [v.lower() for v in values]
        context[name] = tuple(values)
    return context


# -- the entity and its policies ------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One policy the simulation weighs, and where its statements are in its text."""

    id: str  # SourcePolicyId
    text: str
    document: Mapping[str, Any]
    spans: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = field(default=())


@dataclass(frozen=True)
class _Subject:
    """The simulated entity: its identity policies and its permissions boundary."""

    arn: str
    identity: tuple[_Source, ...]
    boundary: _Source | None


def _source(source_id: str, text: str, sessions: _Sessions | None) -> _Source:
    original = sessions.original(text) if sessions is not None else None
    try:
        document = copy.deepcopy(original) if original is not None else json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, Mapping):  # a policy that cannot be read allows nothing
        document = {"Version": "2012-10-17", "Statement": []}
    return _Source(source_id, text, document, _statement_spans(text))


def _inline_id(policy: moto_adapter.MotoPolicy) -> str:
    if policy.kind in ("user", "group", "role"):
        return f"{policy.kind}_{policy.owner}_{policy.name}"
    return policy.name


def _boundary(arn: str | None, account: str, sessions: _Sessions) -> _Source | None:
    if arn is None:
        return None
    text = moto_adapter.managed_policy(account, arn)
    if text is None:  # deleted since: a boundary that allows nothing, never no boundary
        text = '{"Version": "2012-10-17", "Statement": []}'
    return _source(arn.rsplit("/", 1)[-1], text, sessions)


def _subject(entity: _Entity, account: str, sessions: _Sessions) -> _Subject | None:
    """The entity as moto's IAM has it now, or None when there is no such entity."""
    if entity.account != account:
        return None
    policies: list[moto_adapter.MotoPolicy]
    boundary_arn: str | None = None
    if entity.kind == "user":
        user = moto_adapter.user_named(account, entity.name)
        if user is None:
            return None
        policies = moto_adapter.user_policy_sources(account, user.name)
        boundary_arn = sessions.boundary(user.id)
    elif entity.kind == "group":
        group = moto_adapter.group_named(account, entity.name)
        if group is None:
            return None
        policies = moto_adapter.group_policy_sources(account, group.name)
    else:
        role = moto_adapter.role_named(account, entity.name)
        if role is None:
            return None
        policies = moto_adapter.role_policy_sources(account, role.name)
        boundary_arn = role.boundary_arn
    return _Subject(
        entity.arn,
        tuple(_source(_inline_id(p), p.text, sessions) for p in policies),
        _boundary(boundary_arn, account, sessions),
    )


def _missing_entity(entity: _Entity) -> _Refusal:
    return _Refusal(
        "NoSuchEntity", 404, f"The {entity.kind} with name {entity.name} cannot be found."
    )


def _authorized(call: SimulationCall, entity: _Entity) -> None:
    """The caller may perform this operation on the entity, or :class:`_Refusal` says why not."""
    action = f"iam:{call.route.operation}"
    decision = call.authorize(action, entity.arn)
    if not decision.allowed:
        message = _denial_message(call.caller, decision, entity.arn, None)
        raise _Refusal("AccessDenied", 403, message)


# -- positions ------------------------------------------------------------------------------


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _statement_offsets(text: str) -> list[tuple[int, int]]:
    """The offsets of each ``Statement`` element's ``{`` and ``}``; empty if unreadable."""
    decoder = json.JSONDecoder()
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return []
    at += 1
    while True:
        at = _skip(text, at)
        if text.startswith("}", at) or at >= len(text):
            return []
        key, at = decoder.raw_decode(text, at)
        at = _skip(text, at)
        at = _skip(text, at + 1)  # the colon
        if key != "Statement":
            _, at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if text.startswith(",", at):
                at += 1
            continue
        if text.startswith("{", at):
            _, end = decoder.raw_decode(text, at)
            return [(at, end - 1)]
        spans: list[tuple[int, int]] = []
        at += 1
        while True:
            at = _skip(text, at)
            if text.startswith(",", at):
                at = _skip(text, at + 1)
            if text.startswith("]", at) or at >= len(text):
                return spans
            _, end = decoder.raw_decode(text, at)
            spans.append((at, end - 1))
            at = end


def _statement_spans(text: str) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    """Each statement's (start, end) as 1-based (line, column), past its ``{`` and ``}``."""
    try:
        offsets = _statement_offsets(text)
    except (ValueError, IndexError):
        return ()
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def position(offset: int) -> tuple[int, int]:
        line = max(i for i, start in enumerate(line_starts) if start <= offset)
        return line + 1, offset - line_starts[line] + 2  # 1-based, one past the brace

    return tuple((position(start), position(end)) for start, end in offsets)


# -- simulating -----------------------------------------------------------------------------

_RANK: Final = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}


@dataclass(frozen=True)
class _Matched:
    source: _Source
    index: int  # in the document's Statement list


@dataclass(frozen=True)
class _Verdict:
    """The simulation of one action on one resource."""

    resource: str
    decision: str  # allowed | explicitDeny | implicitDeny
    matched: tuple[_Matched, ...]
    missing: tuple[str, ...]
    by_organizations: bool | None  # None: no SCP applies
    by_boundary: bool | None  # None: no boundary applies


class _Simulation:
    """The policies of one simulation, and which statement of which policy is which."""

    def __init__(
        self,
        identity: Sequence[_Source],
        boundary: _Source | None,
        scps: tuple[tuple[Mapping[str, Any], ...], ...],
    ) -> None:
        self.boundary = boundary
        self.scps = scps
        self.policies = PolicySet(
            identity=tuple(s.document for s in identity),
            boundary=boundary.document if boundary is not None else None,
            scps=scps,
        )
        # MissingContextValues "doesn't include context keys referenced by service
        # control policies (SCPs)" (API Reference, EvaluationResult)
        self.without_scps = PolicySet(self.policies.identity, self.policies.boundary)
        self._where: dict[int, _Matched] = {}
        for source in (*identity, *((boundary,) if boundary else ())):
            for index, statement in enumerate(_statement_list(source.document)):
                self._where.setdefault(id(statement), _Matched(source, index))

    def verdict(
        self, action: str, resource: str, context: Mapping[str, tuple[str, ...]]
    ) -> _Verdict:
        request = RequestContext(action, resource, context)
        decision = authorize(self.policies, request)
        if decision.allowed:
            name = "allowed"
        else:
            name = "explicitDeny" if decision.explicit_deny else "implicitDeny"
        matched = tuple(self._where[id(s)] for s in decision.matched if id(s) in self._where)
        missing = decision.keys_missing
        by_organizations = None
        if self.scps:
            alone = PolicySet(identity=(FULL_AWS_ACCESS,), scps=self.scps)
            by_organizations = authorize(alone, request).allowed
            missing = authorize(self.without_scps, request).keys_missing
        by_boundary = None
        if self.boundary is not None:
            by_boundary = authorize(PolicySet(identity=(self.boundary.document,)), request).allowed
        return _Verdict(resource, name, matched, missing, by_organizations, by_boundary)


def _statement_list(document: Mapping[str, Any]) -> list[Any]:
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        return [statements]
    return list(statements) if isinstance(statements, list) else []


def _simulate(call: SimulationCall) -> _Answer:
    request = _read(call.form)
    _authorized(call, request.entity)
    subject = _subject(request.entity, call.account, call.sessions)
    if subject is None:
        raise _missing_entity(request.entity)
    inputs = [
        _source(f"PolicyInputList.{n}", text, None)
        for n, text in enumerate(request.policy_inputs, 1)
    ]
    boundary = subject.boundary
    if request.boundary_input is not None:
        boundary = _source("PermissionsBoundaryPolicyInputList.1", request.boundary_input, None)
    scps = () if _SERVICE_LINKED_PATH in subject.arn else call.scps
    simulation = _Simulation((*subject.identity, *inputs), boundary, scps)
    page = request.actions[request.offset : request.offset + request.max_items]
    results = [_result(action, request.resources, simulation, request.context) for action in page]
    following = request.offset + len(page)
    truncated = following < len(request.actions)
    body = "<EvaluationResults>" + "".join(results) + "</EvaluationResults>"
    body += f"<IsTruncated>{_bool(truncated)}</IsTruncated>"
    if truncated:
        body += f"<Marker>{_marker(following)}</Marker>"
    return _query_ok("SimulatePrincipalPolicy", _IAM_XMLNS, body)


def _result(
    action: str,
    resources: tuple[str, ...] | None,
    simulation: _Simulation,
    context: Mapping[str, tuple[str, ...]],
) -> str:
    verdicts = [simulation.verdict(action, r, context) for r in (resources or ("*",))]
    worst = max(verdicts, key=lambda v: _RANK[v.decision])  # the first of the most restrictive
    deciding = [v for v in verdicts if v.decision == worst.decision]
    matched = _unique(m for v in deciding for m in v.matched)
    # with ResourceArns each resource's missing keys are in its ResourceSpecificResults
    # member, and "in the top-level result, this field contains the deduplicated set of
    # missing context values across all requested resources" (API Reference, EvaluationResult)
    missing = _unique(k for v in verdicts for k in v.missing)
    parts = [
        f"<EvalActionName>{escape(action)}</EvalActionName>",
        f"<EvalResourceName>{escape(worst.resource)}</EvalResourceName>",
        f"<EvalDecision>{worst.decision}</EvalDecision>",
        _statements_xml(matched),
        _list_xml("MissingContextValues", missing),
    ]
    if worst.by_organizations is not None:
        allowed = all(bool(v.by_organizations) for v in verdicts)
        parts.append(
            "<OrganizationsDecisionDetail>"
            f"<AllowedByOrganizations>{_bool(allowed)}</AllowedByOrganizations>"
            "</OrganizationsDecisionDetail>"
        )
    if worst.by_boundary is not None:
        parts.append(_boundary_xml(all(bool(v.by_boundary) for v in verdicts)))
    if resources is not None and resources != ("*",):
        # same account, with resource ARNs: "present but empty" (API Reference)
        parts.append("<EvalDecisionDetails/>")
        parts.append(
            "<ResourceSpecificResults>"
            + "".join(f"<member>{_resource_xml(v)}</member>" for v in verdicts)
            + "</ResourceSpecificResults>"
        )
    return "<member>" + "".join(parts) + "</member>"


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _list_xml(name: str, values: Iterable[str]) -> str:
    return f"<{name}>" + "".join(f"<member>{escape(v)}</member>" for v in values) + f"</{name}>"


def _boundary_xml(allowed: bool) -> str:
    return (
        "<PermissionsBoundaryDecisionDetail>"
        f"<AllowedByPermissionsBoundary>{_bool(allowed)}</AllowedByPermissionsBoundary>"
        "</PermissionsBoundaryDecisionDetail>"
    )


def _statements_xml(matched: Iterable[_Matched]) -> str:
    members = []
    for found in matched:
        part = (
            f"<SourcePolicyId>{escape(found.source.id)}</SourcePolicyId>"
            f"<SourcePolicyType>{_IDENTITY_POLICY_TYPE}</SourcePolicyType>"
        )
        if found.index < len(found.source.spans):
            (start_line, start_column), (end_line, end_column) = found.source.spans[found.index]
            part += (
                f"<StartPosition><Line>{start_line}</Line><Column>{start_column}</Column>"
                f"</StartPosition><EndPosition><Line>{end_line}</Line>"
                f"<Column>{end_column}</Column></EndPosition>"
            )
        members.append(f"<member>{part}</member>")
    return "<MatchedStatements>" + "".join(members) + "</MatchedStatements>"


def _resource_xml(verdict: _Verdict) -> str:
    part = (
        f"<EvalResourceName>{escape(verdict.resource)}</EvalResourceName>"
        f"<EvalResourceDecision>{verdict.decision}</EvalResourceDecision>"
        + _statements_xml(verdict.matched)
        + _list_xml("MissingContextValues", verdict.missing)
        + "<EvalDecisionDetails/>"
    )
    if verdict.by_boundary is not None:
        part += _boundary_xml(verdict.by_boundary)
    return part


# -- GetContextKeysForPrincipalPolicy -------------------------------------------------------


def _context_keys(call: SimulationCall) -> _Answer:
    """The context keys the entity's identity policies (and ``PolicyInputList``) refer to.

    IAM API Reference, ``GetContextKeysForPrincipalPolicy``: "all of the context keys
    referenced in all the IAM policies that are attached to the specified IAM entity",
    its groups' for a user, and the policies given. Read here: the keys of every
    ``Condition`` and every policy variable (``${key}``) of a 2012-10-17 document, in
    the order they appear, each once (names ignore case). The permissions boundary is
    not read: the reference names attached policies only.
    """
    entity = _entity(call.form)
    inputs = tuple(_checked_policy(text) for text in _members(call.form, "PolicyInputList"))
    _authorized(call, entity)
    subject = _subject(entity, call.account, call.sessions)
    if subject is None:
        raise _missing_entity(entity)
    documents = [s.document for s in subject.identity] + [json.loads(t) for t in inputs]
    keys = _unique_ignoring_case(k for d in documents for k in _keys_of(d))
    return _query_ok(
        "GetContextKeysForPrincipalPolicy", _IAM_XMLNS, _list_xml("ContextKeyNames", keys)
    )


def _keys_of(document: Mapping[str, Any]) -> Iterator[str]:
    variables = supports_variables(document)
    for statement in _statement_list(document):
        if not isinstance(statement, Mapping):
            continue
        if variables:
            for element in ("Resource", "NotResource"):
                yield from _variables_in(statement.get(element))
        condition = statement.get("Condition")
        if not isinstance(condition, Mapping):
            continue
        for block in condition.values():
            if not isinstance(block, Mapping):
                continue
            for key, values in block.items():
                yield str(key)
                if variables:
                    yield from _variables_in(values)


def _variables_in(value: Any) -> Iterator[str]:
    for text in value if isinstance(value, list) else [value]:
        if not isinstance(text, str):
            continue
        for found in _VARIABLE_RE.finditer(text):
            key = found.group(1).split(",", 1)[0].strip()
            if key not in ("*", "?", "$") and key:
                yield key


def _unique_ignoring_case(keys: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    found = []
    for key in keys:
        if key.lower() not in seen:
            seen.add(key.lower())
            found.append(key)
    return found
