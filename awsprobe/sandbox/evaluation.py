"""The policy evaluator: IAM's verdict for one action over identity policies.

:func:`evaluate` follows IAM's evaluation logic: an applying Deny beats an
applying Allow, which beats the implicit deny; actions match
case-insensitively with ``*``/``?``; a ``NotResource`` statement applies
unless it lists ``"*"`` (the request's resource is unknown); conditions are
evaluated over a request context with the operators of
:mod:`awsprobe.sandbox.conditions`. Malformed statements never apply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from awsprobe.sandbox.conditions import (
    CONDITION_KEYS,
    CONDITION_OPERATORS,
    _split_operator,
    _wildcard,
)

logger = logging.getLogger(__name__)


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
    of values; see :mod:`awsprobe.sandbox` for what is and is not modelled.
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
