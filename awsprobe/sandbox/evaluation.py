"""The policy evaluator: IAM's verdict on one request, from the policies that apply to it.

Pure functions over a :class:`PolicySet` and a :class:`RequestContext`, after
the IAM User Guide ("Policy evaluation logic", "Condition operators",
"Policy variables", "Permissions boundaries", "Single-valued vs. multivalued
context keys"):

1. An applicable ``Deny`` in any policy (SCPs, permissions boundary, session
   policies, identity policies) denies: an explicit deny.
2. Otherwise every guardrail that applies must allow — each SCP level, the
   boundary if the principal has one, the session policies if the session has
   them — and the identity policies must allow. The first that does not is the
   implicit deny's :attr:`Decision.layer`, in the order of the guide's
   evaluation flow chart: SCPs, identity policies, permissions boundary,
   session policies (:data:`LAYERS`).

A statement applies when its ``Action``/``NotAction`` (case-insensitive,
``*``/``?``), its ``Resource``/``NotResource`` (ARNs segment by segment,
case-sensitive) and every condition match. Within ``Condition``: operators
and keys AND-ed, a key's values OR-ed (NOR-ed for a negated operator). A key
missing from the context (or with no value) is absent: the condition is false,
true for a negated operator, true with ``...IfExists``, true under
``ForAllValues:``, false under ``ForAnyValue:``; ``Null`` tests presence.
Policy variables (:mod:`awsprobe.sandbox.variables`) are replaced in
``Resource`` and in string, ARN and Bool condition values of 2012-10-17
documents only; each variable's key counts as looked up (:attr:`Decision.keys_read`),
and as missing when the request lacks it (:attr:`Decision.keys_missing`), even
with a default. Malformed statements never apply.

*The sandbox never lies.* What the guide leaves undocumented or the evaluator
cannot read (a number that is no number, a multivalued key used as a variable,
a wildcard in an ARN's service segment) is *unjudged*: an Allow that depends
on it grants nothing, a Deny that depends on it denies, and
:attr:`Decision.unjudged` says why.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from awsprobe.sandbox import conditions, variables
from awsprobe.sandbox.conditions import (
    _IAM_OPERATORS,
    CONDITION_OPERATORS,
    Operator,
    _arn_components,
    _arn_resource,
    _like,
    _split_operator,
    _wildcard,
)
from awsprobe.sandbox.variables import (
    Unresolved,
    has_variables,
    literal,
    substitute,
    supports_variables,
    variable_keys,
)

logger = logging.getLogger(__name__)

#: Where a denial comes from, in the order of the IAM User Guide's evaluation flow
#: chart ("Policy evaluation logic": deny evaluation, then Organizations SCPs,
#: resource-based policies, identity-based policies, permissions boundaries,
#: session policies). Resource-based policies are not evaluated here.
LAYERS: Final = ("scp", "identity", "boundary", "session")


@dataclass(frozen=True)
class RequestContext:
    """One authorization question: may the caller do ``action`` on ``resource``, given ``keys``?"""

    action: str  # "ec2:RunInstances", "iam:PassRole"
    resource: str  # one ARN, or "*" for an action with no resource type
    keys: Mapping[str, tuple[str, ...]]  # condition keys (names ignore case); missing: absent


@dataclass(frozen=True)
class PolicySet:
    """Every policy that applies to one principal's request."""

    identity: tuple[Mapping[str, Any], ...] = ()  # inline, attached managed and group policies
    boundary: Mapping[str, Any] | None = None  # the permissions boundary, if the principal has one
    session: tuple[Mapping[str, Any], ...] | None = None  # session policies; None: none passed
    scps: tuple[tuple[Mapping[str, Any], ...], ...] = ()  # SCPs per level, root first; each allows


@dataclass(frozen=True)
class Decision:
    """The verdict on one request.

    ``matched`` holds the statements that decided it: every applying Deny (in the
    order of :data:`LAYERS`) for an explicit deny, the identity policies' applying
    Allow statements when allowed, nothing for an implicit deny. ``layer`` names
    where a denial comes from (:data:`LAYERS`). ``keys_read`` lists the condition
    and policy-variable keys the evaluation looked up (as the policies spell them),
    ``keys_missing`` those of them the request did not have, and ``unjudged`` what
    the evaluator could not judge (see the module's docstring). The last four are explanations:
    two decisions that differ only in them are equal.
    """

    action: str
    allowed: bool
    explicit_deny: bool
    matched: tuple[Mapping[str, Any], ...] = ()
    resource: str = "*"
    layer: str | None = field(default=None, compare=False)
    keys_read: tuple[str, ...] = field(default=(), compare=False)
    keys_missing: tuple[str, ...] = field(default=(), compare=False)
    unjudged: tuple[str, ...] = field(default=(), compare=False)


def authorize(policies: PolicySet, request: RequestContext) -> Decision:
    """IAM's verdict on ``request`` under ``policies`` (see the module's docstring)."""
    keys = _lowered(request.keys)
    trace = _Trace()
    layers: list[tuple[str, Sequence[Mapping[str, Any]]]] = [
        ("scp", level) for level in policies.scps
    ]
    layers.append(("identity", policies.identity))
    if policies.boundary is not None:
        layers.append(("boundary", (policies.boundary,)))
    if policies.session is not None:
        layers.append(("session", policies.session))
    denies: list[Mapping[str, Any]] = []
    deny_layer: str | None = None
    not_allowing: str | None = None
    allows: dict[str, list[Mapping[str, Any]]] = {}
    for name, documents in layers:
        layer_denies, layer_allows = _judge(documents, request, keys, trace)
        if layer_denies and deny_layer is None:
            deny_layer = name
        denies.extend(layer_denies)
        if not layer_allows and not_allowing is None:
            not_allowing = name
        allows[name] = layer_allows
    if denies:
        verdict = (False, True, tuple(denies), deny_layer)
    elif not_allowing is not None:
        verdict = (False, False, (), not_allowing)
    else:
        verdict = (True, False, tuple(allows["identity"]), None)
    allowed, explicit_deny, matched, layer = verdict
    return Decision(
        request.action,
        allowed,
        explicit_deny,
        matched,
        request.resource,
        layer,
        keys_read=tuple(trace.read),
        keys_missing=tuple(trace.missing),
        unjudged=tuple(trace.unjudged),
    )


def evaluate(
    documents: Iterable[Mapping[str, Any]],
    action: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
) -> Decision:
    """:func:`authorize` for identity policies alone, on the resource ``"*"``.

    ``context`` maps condition keys (names ignore case) to a value or a list of
    values; a key it does not hold is absent.
    """
    request = RequestContext(action, "*", _normalise_context(context or {}))
    return authorize(PolicySet(identity=tuple(documents)), request)


def _normalise_context(context: Mapping[str, str | Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {
        str(key): (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        for key, value in context.items()
    }


def _lowered(keys: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {
        key.lower(): (value,) if isinstance(value, str) else tuple(value)
        for key, value in keys.items()
    }


class _Trace:
    """What one evaluation looked up and could not judge, in order, without repeats."""

    __slots__ = ("missing", "read", "unjudged")

    def __init__(self) -> None:
        self.read: list[str] = []
        self.missing: list[str] = []
        self.unjudged: list[str] = []

    def looked_up(self, key: str, present: bool) -> None:
        if key not in self.read:
            self.read.append(key)
        if not present and key not in self.missing:
            self.missing.append(key)

    def variables_read(self, text: str, keys: Mapping[str, tuple[str, ...]]) -> None:
        """Each policy variable's key in ``text`` looked up, present or absent (its
        element's verdict depends on it either way)."""
        for key in variable_keys(text):
            self.looked_up(key, bool(keys.get(key.lower())))

    def cannot_judge(self, why: str) -> None:
        if why not in self.unjudged:
            logger.debug("the sandbox cannot judge this: %s", why)
            self.unjudged.append(why)


# -- documents and statements ----------------------------------------------------------------

_EFFECTS: Final = ("Allow", "Deny")


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A document's statements whose ``Effect`` is ``Allow`` or ``Deny``, in order."""
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return []
    return [s for s in statements if isinstance(s, Mapping) and s.get("Effect") in _EFFECTS]


def _as_strings(value: Any) -> list[str] | None:
    """A string or a list of strings as a list; None for anything else."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _policy_values(wanted: Any) -> list[str]:
    """A condition's value(s) as text: a JSON ``true`` is ``"true"``, a number its digits."""
    items = wanted if isinstance(wanted, list) else [wanted]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


#: A condition value that holds policy variables: read once the request is known.
_LATE: Final = object()


@dataclass(frozen=True)
class _Condition:
    """One key under one operator, read once per document."""

    spelled: str  # the key as the policy writes it
    key: str  # lower case
    operator: Operator | None  # None: Null
    qualifier: str | None
    if_exists: bool
    values: tuple[tuple[str, Any], ...]  # (text, reading): the operator's, None, or _LATE


@dataclass(frozen=True)
class _Statement:
    """One well-formed statement, read once per document."""

    index: int  # its position among _statements(document)
    deny: bool
    actions: re.Pattern[str]  # every Action/NotAction pattern, as one expression
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[_Condition, ...]
    variables: bool  # the document's Version gives ${...} its meaning


_COMPILED: dict[str, tuple[_Statement, ...]] = {}
_COMPILED_LIMIT: Final = 1024


def _compiled(document: Mapping[str, Any]) -> tuple[_Statement, ...]:
    """The document's well-formed statements, read once per distinct document."""
    try:
        key = repr(document)
    except RecursionError:
        return ()
    found = _COMPILED.get(key)
    if found is None:
        found = _compile(document)
        if len(_COMPILED) >= _COMPILED_LIMIT:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


def _forget_compiled() -> None:
    """Forget every document, pattern and value read so far (the evaluator's caches).

    Tests call it first, so that no answer cached by an earlier test hides a change to
    the code (mutation testing runs each mutant in a process that ran the suite).
    """
    _COMPILED.clear()
    _any_action.cache_clear()
    conditions._forget()
    variables._forget()


def _compile(document: Mapping[str, Any]) -> tuple[_Statement, ...]:
    variables = isinstance(document, Mapping) and supports_variables(document)
    compiled = []
    for index, statement in enumerate(_statements(document)):
        read = _compile_statement(index, statement, variables)
        if read is None:
            logger.debug("statement %r is malformed: it never applies", statement.get("Sid", index))
        else:
            compiled.append(read)
    return tuple(compiled)


def _compile_statement(
    index: int, statement: Mapping[str, Any], variables: bool
) -> _Statement | None:
    """A statement as :class:`_Statement`; None when IAM would refuse it."""
    if "Action" in statement:
        actions, not_action = _as_strings(statement["Action"]), False
    elif "NotAction" in statement:
        actions, not_action = _as_strings(statement["NotAction"]), True
    else:
        return None
    # with NotResource, the statement's resources are the ones it omits
    if "NotResource" in statement:
        resources, not_resource = _as_strings(statement["NotResource"]), True
    elif "Resource" in statement:
        resources, not_resource = _as_strings(statement["Resource"]), False
    else:
        return None
    if not actions or not resources:
        return None
    conditions: tuple[_Condition, ...] | None = ()
    if "Condition" in statement:
        conditions = _compile_conditions(statement["Condition"], variables)
    if conditions is None:
        return None
    return _Statement(
        index=index,
        deny=statement["Effect"] == "Deny",
        actions=_any_action(tuple(actions)),
        not_action=not_action,
        resources=tuple(resources),
        not_resource=not_resource,
        conditions=conditions,
        variables=variables,
    )


def _compile_conditions(condition: Any, variables: bool) -> tuple[_Condition, ...] | None:
    """A ``Condition`` element as :class:`_Condition` items; None when malformed."""
    if not isinstance(condition, Mapping):
        return None
    read: list[_Condition] = []
    for operator, block in condition.items():
        if not isinstance(block, Mapping) or not block:
            return None
        qualifier, name, if_exists = _split_operator(str(operator))
        if name not in _IAM_OPERATORS or (name == "Null" and str(operator) != "Null"):
            logger.debug("condition operator %s is not one IAM defines", operator)
            return None
        known = CONDITION_OPERATORS.get(name)
        for key, wanted in block.items():
            items = wanted if isinstance(wanted, list) else [wanted]
            if not items or not all(isinstance(v, str | bool | int | float) for v in items):
                return None
            values = tuple((v, _compile_value(known, v, variables)) for v in _policy_values(wanted))
            spelled = str(key)
            read.append(_Condition(spelled, spelled.lower(), known, qualifier, if_exists, values))
    return tuple(read)


def _compile_value(operator: Operator | None, value: str, variables: bool) -> Any:
    if operator is None:  # Null: "true" tests absence, "false" presence
        lowered = value.lower()
        return True if lowered == "true" else False if lowered == "false" else None
    if variables and operator.variables and has_variables(value):
        return _LATE
    return operator.compile(literal(value))


# -- judging a request -----------------------------------------------------------------------


def _judge(
    documents: Sequence[Mapping[str, Any]],
    request: RequestContext,
    keys: Mapping[str, tuple[str, ...]],
    trace: _Trace,
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The applying Deny and Allow statements of one layer's documents.

    A statement that may or may not apply (unjudged) counts as a Deny, never as an Allow.
    """
    denies: list[Mapping[str, Any]] = []
    allows: list[Mapping[str, Any]] = []
    for document in documents:
        live: list[Mapping[str, Any]] | None = None
        for statement in _compiled(document):
            applies = _applies(statement, request, keys, trace)
            if applies is False or (applies is None and not statement.deny):
                continue
            if live is None:
                live = _statements(document)
            (denies if statement.deny else allows).append(live[statement.index])
    return denies, allows


def _all(results: Iterable[bool | None]) -> bool | None:
    """AND over verdicts where None is "cannot judge": false wins, then None."""
    verdict: bool | None = True
    for result in results:
        if result is False:
            return False
        if result is None:
            verdict = None
    return verdict


def _any(results: Iterable[bool | None]) -> bool | None:
    """OR over verdicts where None is "cannot judge": true wins, then None."""
    verdict: bool | None = False
    for result in results:
        if result is True:
            return True
        if result is None:
            verdict = None
    return verdict


def _negated(result: bool | None, negate: bool) -> bool | None:
    return result if result is None or not negate else not result


def _applies(
    statement: _Statement,
    request: RequestContext,
    keys: Mapping[str, tuple[str, ...]],
    trace: _Trace,
) -> bool | None:
    """Whether a statement applies to the request: True, False or None (cannot judge)."""
    if (statement.actions.fullmatch(request.action) is not None) == statement.not_action:
        return False
    resource = _resource_matches(statement, request.resource, keys, trace)
    if resource is False:
        return False
    return _all((resource, _conditions_hold(statement, keys, trace)))


def _action_expression(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """Action patterns as one expression: service prefix and name ignore case, ``*``/``?``."""
    return re.compile("|".join(f"(?:{_wildcard(p).pattern})" for p in patterns), re.IGNORECASE)


# By assignment, not as a decorator: mutmut leaves decorated functions alone.
_any_action = functools.lru_cache(maxsize=1024)(_action_expression)


def _resource_matches(
    statement: _Statement,
    resource: str,
    keys: Mapping[str, tuple[str, ...]],
    trace: _Trace,
) -> bool | None:
    """``Resource``: one listed pattern matches; ``NotResource``: none does."""
    hits = _any(
        _resource_hit(pattern, resource, keys, statement, trace) for pattern in statement.resources
    )
    return _negated(hits, statement.not_resource)


def _resource_hit(
    text: str,
    resource: str,
    keys: Mapping[str, tuple[str, ...]],
    statement: _Statement,
    trace: _Trace,
) -> bool | None:
    """Whether one ``Resource``/``NotResource`` entry matches the request's resource.

    A request on ``"*"`` (an action with no resource type) matches only an entry that
    matches the literal ``*``.
    """
    pattern = literal(text)
    if statement.variables and has_variables(text):
        if any("${" in t for c in _arn_components(pattern)[:5] for t, _ in c):
            trace.cannot_judge(
                f"Resource {text!r} has a policy variable before the ARN's resource part, "
                "where IAM does not allow one"
            )
            return None
        trace.variables_read(text, keys)
        substituted = substitute(text, keys, True)
        if substituted is Unresolved.ABSENT:
            # the entry does not match; whether its NotResource then applies is undocumented
            if statement.not_resource:
                trace.cannot_judge(f"NotResource {text!r} has a variable the request lacks")
                return None
            return False
        if isinstance(substituted, Unresolved):
            trace.cannot_judge(_UNRESOLVED[substituted].format(f"Resource {text!r}"))
            return None
        pattern = substituted
    if resource == "*":
        return _like(pattern).fullmatch("*") is not None
    regex = _arn_resource(pattern)
    if regex is None:
        trace.cannot_judge(f"Resource {text!r} has a wildcard in the ARN's service segment")
        return None
    return regex.fullmatch(resource) is not None


def _conditions_hold(
    statement: _Statement, keys: Mapping[str, tuple[str, ...]], trace: _Trace
) -> bool | None:
    """Every condition holds (AND over operators and keys)."""
    verdict: bool | None = True
    for condition in statement.conditions:
        result = _condition_holds(condition, keys, trace)
        if result is False:
            return False
        if result is None:
            verdict = None
    return verdict


def _condition_holds(
    condition: _Condition, keys: Mapping[str, tuple[str, ...]], trace: _Trace
) -> bool | None:
    """One key under one operator, with IAM's rules for absent keys and set operators."""
    present = keys.get(condition.key)
    trace.looked_up(condition.spelled, bool(present))
    operator = condition.operator
    if operator is None:  # Null: "true" the key is absent, "false" it is present
        for value, wanted in condition.values:
            if wanted is None:
                trace.cannot_judge(f"Null {condition.spelled!r} {value!r} is not true or false")
        return _any(None if w is None else w == (not present) for _, w in condition.values)
    if not present:
        if condition.if_exists or condition.qualifier == "ForAllValues:":
            return True
        if condition.qualifier == "ForAnyValue:":
            return False
        return operator.negated
    wanted = [
        _late_value(operator, value, keys, trace) if compiled is _LATE else compiled
        for value, compiled in condition.values
    ]

    def hits(request_value: str) -> bool | None:
        reading = operator.read(request_value)
        if reading is None:
            trace.cannot_judge(
                f"{operator.name}: the request's {condition.spelled} {request_value!r} "
                "cannot be read as its type"
            )
            return None
        return _any(_value_hit(operator, reading, w) for w in wanted)

    for value, compiled in condition.values:
        if compiled is None:
            trace.cannot_judge(f"{operator.name} value {value!r} cannot be read as its type")

    if condition.qualifier == "ForAllValues:":
        return _all(_negated(hits(v), operator.negated) for v in present)
    if condition.qualifier == "ForAnyValue:":
        return _any(_negated(hits(v), operator.negated) for v in present)
    return _negated(_any(hits(v) for v in present), operator.negated)


_ABSENT_VARIABLE: Final = object()
_UNRESOLVED: Final = {
    Unresolved.MULTIVALUED: "{} uses a multivalued key as a policy variable",
    Unresolved.WILDCARD: "{} replaces a variable with text holding * or ? where wildcards are read",
}


def _value_hit(operator: Operator, request: Any, wanted: Any) -> bool | None:
    """Whether a request value matches one policy value (None: cannot judge)."""
    if wanted is _ABSENT_VARIABLE:
        # "the values do not match"; for a negated operator IAM may also drop the statement
        return None if operator.negated else False
    if wanted is None:
        return None
    return operator.test(request, wanted)


def _late_value(
    operator: Operator, value: str, keys: Mapping[str, tuple[str, ...]], trace: _Trace
) -> Any:
    """A condition value with policy variables, read in this request's context."""
    trace.variables_read(value, keys)
    substituted = substitute(value, keys, operator.wildcards)
    if substituted is Unresolved.ABSENT:
        if operator.negated:
            trace.cannot_judge(f"{operator.name} value {value!r} has a variable the request lacks")
        return _ABSENT_VARIABLE
    if isinstance(substituted, Unresolved):
        trace.cannot_judge(_UNRESOLVED[substituted].format(f"{operator.name} value {value!r}"))
        return None
    return operator.compile(substituted)  # string, ARN and Bool values always read
