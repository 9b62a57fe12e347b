"""IAM's condition operators and the condition keys the sandbox models.

The value matchers behind each supported operator (``StringEquals``,
``StringLike``, ``ArnLike``, ``Bool``...), IAM's wildcards as regular
expressions, the full list of operators IAM accepts (policies are validated
against it), and how an operator name splits into its set qualifier, its
base operator and ``IfExists``. Nothing here knows a request or a policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

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
    # ARNs match segment by segment: a wildcard never crosses a colon before the resource.
    # Split here, not by awsprobe.arn.parse_arn: a pattern need not be an ARN (its first
    # part may be a wildcard), and evaluate() compares whatever text its context holds.
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
