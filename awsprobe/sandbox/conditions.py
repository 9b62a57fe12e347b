"""IAM's condition operators, its wildcards and its ARN matching, as pure functions.

Source: IAM User Guide, "IAM JSON policy elements: Condition operators" and
"IAM JSON policy elements: Resource". Each operator of
:data:`CONDITION_OPERATORS` is an :class:`Operator`: how a policy value is
read (:attr:`Operator.compile`), how a request value is read
(:attr:`Operator.read`) and when the two match (:attr:`Operator.test`).
A value that cannot be read (``"ten"`` for a number, ``"300.0.0.0/8"`` for a
CIDR) reads as ``None``: the evaluator cannot judge it and says so, it never
guesses. Policy values arrive as :data:`~awsprobe.sandbox.variables.Pattern`
(so a ``*`` that came from a policy variable or from ``${*}`` is no
wildcard). ``...IfExists``, ``ForAnyValue:``/``ForAllValues:``, ``Null`` and
absent keys are the evaluator's business (:mod:`awsprobe.sandbox.evaluation`);
nothing here knows a request or a policy.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

from awsprobe.sandbox.variables import Pattern, literal

# -- wildcards -----------------------------------------------------------------------------


def _piece(text: str, wild: bool, star: str, one: str) -> str:
    """One piece of a pattern as a regular expression; literal text stays literal."""
    escaped = re.escape(text)
    if not wild:
        return escaped
    return escaped.replace(r"\*", star).replace(r"\?", one)


def _compile_like(pattern: Pattern) -> re.Pattern[str]:
    """IAM's wildcards over a whole value: ``*`` any run of characters, ``?`` exactly one."""
    body = "".join(_piece(text, wild, ".*", ".") for text, wild in pattern)
    return re.compile(body, re.DOTALL)


# Caches are wrapped by assignment, not by a decorator: mutmut leaves decorated functions
# alone, and these are the ones the mutation tests must reach (tests/mutation.py).
_like = functools.lru_cache(maxsize=8192)(_compile_like)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """A policy's own text (an Action, say) with IAM's wildcards, as a regular expression."""
    return _like(literal(pattern))


def _arn_components(pattern: Pattern) -> tuple[Pattern, ...]:
    """A pattern split into an ARN's components: the first five colons separate, the
    sixth component (the resource) keeps any colon it holds."""
    components: list[list[tuple[str, bool]]] = [[]]
    for text, wild in pattern:
        rest = text
        while rest:
            if len(components) == 6:
                components[-1].append((rest, wild))
                break
            head, colon, rest = rest.partition(":")
            if head:
                components[-1].append((head, wild))
            if colon:
                components.append([])
    return tuple(tuple(component) for component in components)


def _compile_arn_condition(pattern: Pattern) -> re.Pattern[str]:
    """``ArnLike``/``ArnEquals``: "each of the six colon-delimited components of the ARN
    is checked separately", so a wildcard never reaches past a colon before the resource,
    and a pattern with fewer components matches only a value with as few."""
    components = _arn_components(pattern)
    parts = [
        "".join(
            _piece(text, wild, ".*" if index == 5 else "[^:]*", "." if index == 5 else "[^:]")
            for text, wild in component
        )
        for index, component in enumerate(components)
    ]
    return re.compile(":".join(parts), re.DOTALL)


_arn_condition = functools.lru_cache(maxsize=4096)(_compile_arn_condition)


def _compile_arn_resource(pattern: Pattern) -> re.Pattern[str] | None:
    """A ``Resource``/``NotResource`` ARN: wildcards stay within their segment, except
    that "if the wildcard (*) is the last character of a resource ARN segment, it can
    expand to match beyond colon boundaries"; the resource segment takes anything.

    None when a wildcard is in the service segment, which IAM does not allow ("you can't
    use a wildcard in the service segment"): what IAM then does is not documented.
    """
    components = _arn_components(pattern)
    if len(components) > 2 and any(wild and ("*" in t or "?" in t) for t, wild in components[2]):
        return None
    parts = []
    for index, component in enumerate(components):
        if index < 5:
            body = [_piece(t, wild, "[^:]*", "[^:]") for t, wild in component]
            if component and component[-1][1] and component[-1][0].endswith("*"):
                text = component[-1][0][:-1]
                body[-1] = _piece(text, True, "[^:]*", "[^:]") + ".*"
        else:
            body = [_piece(t, wild, ".*", ".") for t, wild in component]
        parts.append("".join(body))
    return re.compile(":".join(parts), re.DOTALL)


_arn_resource = functools.lru_cache(maxsize=4096)(_compile_arn_resource)


def _forget() -> None:
    """Empty this module's caches (tests do, so that no cached answer hides a change)."""
    for cache in (_like, _arn_condition, _arn_resource):
        cache.cache_clear()


# -- reading values ------------------------------------------------------------------------


def _text(pattern: Pattern) -> str:
    return "".join(text for text, _ in pattern)


_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _number(value: str) -> Decimal | None:
    """An integer or decimal value (Numeric operators); anything else is unreadable."""
    if not _NUMBER.fullmatch(value.strip()):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


_EPOCH: Final = re.compile(r"[+-]?\d+(\.\d+)?")
_YEAR_MONTH: Final = re.compile(r"(\d{4})-(\d{2})")


def _instant(value: str) -> float | None:
    """A date as epoch seconds: "one of the W3C implementations of the ISO 8601 date
    formats or in epoch (UNIX) time" (Date operators). A time without a zone is UTC."""
    value = value.strip()
    if _EPOCH.fullmatch(value):
        return float(value)
    year_month = _YEAR_MONTH.fullmatch(value)
    if year_month:
        value = f"{year_month.group(1)}-{year_month.group(2)}-01"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _binary(value: str) -> bytes | None:
    """A base-64 value (BinaryEquals compares bytes to the policy's base-64 text)."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(value: str) -> _Network | None:
    """A CIDR, IPv4 or IPv6 (host bits may be set); an address without a prefix is the /32
    (or /128) of it."""
    try:
        return ipaddress.ip_interface(value.strip()).network
    except ValueError:
        return None


def _address(value: str) -> _Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _in_network(address: _Address, network: _Network) -> bool:
    return address.version == network.version and address in network


# -- the operators -------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """One condition operator (without ``IfExists`` or a set qualifier).

    ``compile`` reads a policy value, ``read`` a request value (None: unreadable),
    ``test(request, policy)`` says whether they match; ``negated`` operators are true
    when no value matches. ``variables``: its values take policy variables;
    ``wildcards``: it reads ``*`` and ``?`` in them.
    """

    name: str
    compile: Callable[[Pattern], Any]
    read: Callable[[str], Any]
    test: Callable[[Any, Any], bool]
    negated: bool = False
    variables: bool = False
    wildcards: bool = False


def _same(value: str) -> str:
    return value


def _folded(value: str) -> str:
    return value.casefold()


def _lowered(value: str) -> str:
    return value.lower()


def _equal(request: Any, policy: Any) -> bool:
    return bool(request == policy)


def _fullmatch(request: str, policy: re.Pattern[str]) -> bool:
    return policy.fullmatch(request) is not None


def _less(request: Any, policy: Any) -> bool:
    return bool(request < policy)


def _at_most(request: Any, policy: Any) -> bool:
    return bool(request <= policy)


def _more(request: Any, policy: Any) -> bool:
    return bool(request > policy)


def _at_least(request: Any, policy: Any) -> bool:
    return bool(request >= policy)


def _typed(read: Callable[[str], Any]) -> Callable[[Pattern], Any]:
    """A policy value of a type without wildcards or variables, read like a request value."""

    def compile_value(pattern: Pattern) -> Any:
        return read(_text(pattern))

    return compile_value


def _compile_text(pattern: Pattern) -> str:
    return _text(pattern)


def _compile_folded(pattern: Pattern) -> str:
    return _text(pattern).casefold()


def _compile_lowered(pattern: Pattern) -> str:
    return _text(pattern).lower()


def _family(
    names: tuple[str, str, str, str, str, str],
    read: Callable[[str], Any],
) -> dict[str, Operator]:
    """The six Numeric or Date operators over one kind of value."""
    compile_value = _typed(read)
    tests = (_equal, _equal, _less, _at_most, _more, _at_least)
    return {
        name: Operator(name, compile_value, read, test, negated=index == 1)
        for index, (name, test) in enumerate(zip(names, tests, strict=True))
    }


#: Every operator IAM defines but ``Null``, by name (IAM User Guide, "Condition operators").
CONDITION_OPERATORS: Final[Mapping[str, Operator]] = MappingProxyType(
    {
        op.name: op
        for op in (
            Operator("StringEquals", _compile_text, _same, _equal, variables=True),
            Operator("StringNotEquals", _compile_text, _same, _equal, True, True),
            Operator("StringEqualsIgnoreCase", _compile_folded, _folded, _equal, variables=True),
            Operator("StringNotEqualsIgnoreCase", _compile_folded, _folded, _equal, True, True),
            Operator("StringLike", _like, _same, _fullmatch, False, True, True),
            Operator("StringNotLike", _like, _same, _fullmatch, True, True, True),
            Operator("ArnEquals", _arn_condition, _same, _fullmatch, False, True, True),
            Operator("ArnLike", _arn_condition, _same, _fullmatch, False, True, True),
            Operator("ArnNotEquals", _arn_condition, _same, _fullmatch, True, True, True),
            Operator("ArnNotLike", _arn_condition, _same, _fullmatch, True, True, True),
            # "You can use a policy variable with the Boolean condition operator."
            Operator("Bool", _compile_lowered, _lowered, _equal, variables=True),
            Operator("BinaryEquals", _typed(_binary), _binary, _equal),
            Operator("IpAddress", _typed(_network), _address, _in_network),
            Operator("NotIpAddress", _typed(_network), _address, _in_network, True),
        )
    }
    | _family(
        (
            "NumericEquals",
            "NumericNotEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
        ),
        _number,
    )
    | _family(
        (
            "DateEquals",
            "DateNotEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
        ),
        _instant,
    )
)

#: Every operator IAM accepts; policies are validated against it.
_IAM_OPERATORS: Final = frozenset({*CONDITION_OPERATORS, "Null"})
_SET_QUALIFIERS: Final = ("ForAnyValue:", "ForAllValues:")


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
