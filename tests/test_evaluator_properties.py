"""Properties of the sandbox's evaluator over generated requests and policies.

The expected verdicts come from the IAM User Guide's rules as written, computed
here by small oracles of their own (set algebra, integer CIDR masks, a
recursive wildcard matcher), never by the evaluator's code. The pages
(``...`` is https://docs.aws.amazon.com/IAM/latest/UserGuide):

    Operators     .../reference_policies_elements_condition_operators.html
                  "If the key that you specify in a policy condition is not present in the
                  request context, the values do not match and the condition is false. If
                  the policy condition requires that the key is not matched, such as
                  StringNotLike or ArnNotLike, and the right key is not present, the
                  condition is true. This logic applies to all condition operators except
                  ...IfExists and Null check."
    Set operators .../reference_policies_condition-single-vs-multi-valued-context-keys.html
                  ForAllValues: true when every request value matches a policy value, and
                  when the key is absent or empty; ForAnyValue: true when one does, false
                  when the key is absent or empty.
    Several values .../reference_policies_condition-logic-multiple-context-keys-or-values.html
                  operators AND, keys AND, values OR, and NOR for a negated operator.
    Evaluation    .../reference_policies_evaluation-logic.html (explicit deny in any
                  policy; then SCPs, identity policies, boundary, session policies must
                  each allow, in that order of the flow chart).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from awsprobe.sandbox import PolicySet, RequestContext, authorize, evaluation

V = "2012-10-17"


@pytest.fixture(autouse=True)
def _fresh_evaluator() -> None:
    """Every test reads its policies afresh: no cached reading from an earlier test hides a
    change to the evaluator (tests/mutation.py runs mutants in a process that ran the suite)."""
    evaluation._forget_compiled()


#: The operators the Condition operators page lists, with a value of their type each and
#: whether they are negated ("Negated matching"), written from the page, not from the code.
OPERATORS: list[tuple[str, str, bool]] = [
    ("StringEquals", "x", False),
    ("StringNotEquals", "x", True),
    ("StringEqualsIgnoreCase", "x", False),
    ("StringNotEqualsIgnoreCase", "x", True),
    ("StringLike", "x*", False),
    ("StringNotLike", "x*", True),
    ("NumericEquals", "1", False),
    ("NumericNotEquals", "1", True),
    ("NumericLessThan", "1", False),
    ("NumericLessThanEquals", "1", False),
    ("NumericGreaterThan", "1", False),
    ("NumericGreaterThanEquals", "1", False),
    ("DateEquals", "2020-01-01T00:00:00Z", False),
    ("DateNotEquals", "2020-01-01T00:00:00Z", True),
    ("DateLessThan", "2020-01-01T00:00:00Z", False),
    ("DateLessThanEquals", "2020-01-01T00:00:00Z", False),
    ("DateGreaterThan", "2020-01-01T00:00:00Z", False),
    ("DateGreaterThanEquals", "2020-01-01T00:00:00Z", False),
    ("Bool", "true", False),
    ("BinaryEquals", "QmluYXJ5", False),
    ("IpAddress", "203.0.113.0/24", False),
    ("NotIpAddress", "203.0.113.0/24", True),
    ("ArnEquals", "arn:aws:iam::123456789012:user/*", False),
    ("ArnLike", "arn:aws:iam::123456789012:user/*", False),
    ("ArnNotEquals", "arn:aws:iam::123456789012:user/*", True),
    ("ArnNotLike", "arn:aws:iam::123456789012:user/*", True),
]

KEY_NAMES = st.from_regex(r"(aws|ec2|s3):[A-Za-z][A-Za-z0-9/_-]{0,15}", fullmatch=True)
OTHER_KEYS = st.dictionaries(
    KEY_NAMES, st.lists(st.text(max_size=5), min_size=1, max_size=3).map(tuple), max_size=4
)


def _grants(condition: Mapping[str, Any], keys: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether an Allow on everything with ``condition`` grants the request."""
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    policies = PolicySet(identity=({"Version": V, "Statement": [statement]},))
    return authorize(policies, RequestContext("ec2:RunInstances", "*", keys)).allowed


def _denies(condition: Mapping[str, Any], keys: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether a Deny on everything with ``condition`` denies an otherwise allowed request."""
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}
    policies = PolicySet(identity=({"Version": V, "Statement": [allow, deny]},))
    return authorize(policies, RequestContext("ec2:RunInstances", "*", keys)).explicit_deny


def _without(keys: dict[str, tuple[str, ...]], key: str) -> dict[str, tuple[str, ...]]:
    return {k: v for k, v in keys.items() if k.lower() != key.lower()}


# -- absent keys -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    operator=st.sampled_from(OPERATORS),
    key=KEY_NAMES,
    others=OTHER_KEYS,
    empty=st.booleans(),
    if_exists=st.booleans(),
    qualifier=st.sampled_from(["", "ForAllValues:", "ForAnyValue:"]),
)
def test_an_absent_key_follows_the_documented_rule(
    operator: tuple[str, str, bool],
    key: str,
    others: dict[str, tuple[str, ...]],
    empty: bool,
    if_exists: bool,
    qualifier: str,
) -> None:
    """A key missing from the context (or with no value): ...IfExists true; ForAllValues
    true; ForAnyValue false; else false, but true for a negated operator. An Allow grants
    exactly when the condition is true, and the same Deny denies exactly then."""
    name, value, negated = operator
    keys = _without(others, key)
    if empty:
        keys[key] = ()
    spelled = qualifier + name + ("IfExists" if if_exists else "")
    if if_exists or qualifier == "ForAllValues:":
        expected = True
    elif qualifier == "ForAnyValue:":
        expected = False
    else:
        expected = negated
    condition = {spelled: {key: value}}
    assert _grants(condition, keys) is expected
    assert _denies(condition, keys) is expected


@settings(max_examples=200, deadline=None)
@given(key=KEY_NAMES, others=OTHER_KEYS, wanted=st.sampled_from(["true", "false", "TRUE", True]))
def test_null_tests_presence(
    key: str, others: dict[str, tuple[str, ...]], wanted: str | bool
) -> None:
    """Null: "true" holds when the key is absent, "false" when it is present."""
    absent = _without(others, key)
    present = {**absent, key: ("v",)}
    says_absent = str(wanted).lower() == "true"
    assert _grants({"Null": {key: wanted}}, absent) is says_absent
    assert _grants({"Null": {key: wanted}}, present) is not says_absent


# -- set operators ---------------------------------------------------------------------------

WORDS = st.sampled_from(["a", "b", "c", "d", "A"])
REQUEST_SETS = st.lists(WORDS, max_size=4, unique=True)
POLICY_SETS = st.lists(WORDS, min_size=1, max_size=4, unique=True)


@settings(max_examples=300, deadline=None)
@given(request=REQUEST_SETS, policy=POLICY_SETS, qualifier=st.sampled_from(["All", "Any"]))
def test_set_operators_are_set_algebra(
    request: list[str], policy: list[str], qualifier: str
) -> None:
    """ForAllValues:StringEquals: the request's values are a subset of the policy's (an empty
    set included); ForAnyValue:StringEquals: they meet. With StringNotEquals: ForAllValues,
    no request value is listed; ForAnyValue, some request value is not listed."""
    keys = {"aws:TagKeys": tuple(request)}
    requested, listed = set(request), set(policy)
    positive = f"For{qualifier}Value{'s' if qualifier == 'All' else ''}:StringEquals"
    negative = positive.replace("StringEquals", "StringNotEquals")
    if qualifier == "All":
        expected_positive = requested <= listed
        expected_negative = not (requested & listed)
    else:
        expected_positive = bool(requested & listed)
        expected_negative = bool(requested - listed)
    assert _grants({positive: {"aws:TagKeys": policy}}, keys) is expected_positive
    assert _grants({negative: {"aws:TagKeys": policy}}, keys) is expected_negative


def _wildcard_match(pattern: str, text: str) -> bool:
    """IAM's ``*`` (any run of characters) and ``?`` (exactly one), by recursion."""
    if not pattern:
        return not text
    head = pattern[0]
    if head == "*":
        return any(_wildcard_match(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    return (head == "?" or head == text[0]) and _wildcard_match(pattern[1:], text[1:])


PATTERNS = st.text(alphabet="ab*?", min_size=1, max_size=5)
VALUES = st.text(alphabet="ab", max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    request=st.lists(VALUES, min_size=1, max_size=3),
    policy=st.lists(PATTERNS, min_size=1, max_size=3),
)
def test_string_like_under_set_operators(request: list[str], policy: list[str]) -> None:
    """ForAllValues:StringLike: every request value matches some pattern; ForAnyValue: one
    does; StringNotLike under ForAllValues: no request value matches any pattern."""
    keys = {"s3:Prefix": tuple(request)}

    def matches(value: str) -> bool:
        return any(_wildcard_match(p, value) for p in policy)

    assert _grants({"ForAllValues:StringLike": {"s3:Prefix": policy}}, keys) is all(
        map(matches, request)
    )
    assert _grants({"ForAnyValue:StringLike": {"s3:Prefix": policy}}, keys) is any(
        map(matches, request)
    )
    assert _grants({"ForAllValues:StringNotLike": {"s3:Prefix": policy}}, keys) is not any(
        map(matches, request)
    )


# -- several values, several keys --------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(value=VALUES, policy=st.lists(PATTERNS, min_size=1, max_size=4))
def test_values_are_or_ed_and_nor_ed_when_negated(value: str, policy: list[str]) -> None:
    """One key's values are OR-ed; under a negated operator they are NOR-ed."""
    keys = {"aws:username": (value,)}
    hit = any(_wildcard_match(p, value) for p in policy)
    assert _grants({"StringLike": {"aws:username": policy}}, keys) is hit
    assert _grants({"StringNotLike": {"aws:username": policy}}, keys) is not hit


@settings(max_examples=200, deadline=None)
@given(first=st.booleans(), second=st.booleans(), same_operator=st.booleans())
def test_keys_and_operators_are_and_ed(first: bool, second: bool, same_operator: bool) -> None:
    """Two keys under one operator, or under two operators, hold only together."""
    keys = {"aws:username": ("alice",), "aws:RequestedRegion": ("us-east-1",)}
    user = {"aws:username": "alice" if first else "bob"}
    region = {"aws:RequestedRegion": "us-east-1" if second else "eu-west-1"}
    if same_operator:
        condition: dict[str, Any] = {"StringEquals": {**user, **region}}
    else:
        condition = {"StringEquals": user, "StringLike": region}
    assert _grants(condition, keys) is (first and second)


# -- numbers, dates and addresses ------------------------------------------------------------

COMPARISONS = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a != b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


@settings(max_examples=300, deadline=None)
@given(
    request=st.integers(-(10**6), 10**6),
    policy=st.integers(-(10**6), 10**6),
    comparison=st.sampled_from(sorted(COMPARISONS)),
)
def test_numeric_operators_compare_numbers(request: int, policy: int, comparison: str) -> None:
    """Numeric operators compare the request's number with the policy's, as numbers
    ("10" and "9": 10 is greater, whatever their text)."""
    keys = {"s3:max-keys": (str(request),)}
    condition = {f"Numeric{comparison}": {"s3:max-keys": str(policy)}}
    assert _grants(condition, keys) is COMPARISONS[comparison](request, policy)


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@settings(max_examples=300, deadline=None)
@given(
    request=st.integers(0, 4 * 10**9),
    policy=st.integers(0, 4 * 10**9),
    comparison=st.sampled_from(sorted(COMPARISONS)),
    policy_as_epoch=st.booleans(),
)
def test_date_operators_compare_instants(
    request: int, policy: int, comparison: str, policy_as_epoch: bool
) -> None:
    """Date operators compare instants, written in ISO 8601 or in epoch seconds."""
    iso = (EPOCH + datetime.timedelta(seconds=request)).strftime("%Y-%m-%dT%H:%M:%SZ")
    written = (
        str(policy)
        if policy_as_epoch
        else (EPOCH + datetime.timedelta(seconds=policy)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    keys = {"aws:CurrentTime": (iso,)}
    condition = {f"Date{comparison}": {"aws:CurrentTime": written}}
    assert _grants(condition, keys) is COMPARISONS[comparison](request, policy)


def _dotted(number: int) -> str:
    return ".".join(str((number >> shift) & 255) for shift in (24, 16, 8, 0))


@settings(max_examples=300, deadline=None)
@given(
    address=st.integers(0, 2**32 - 1),
    network=st.integers(0, 2**32 - 1),
    prefix=st.integers(0, 32),
)
def test_ip_address_operators_test_cidr_membership(address: int, network: int, prefix: int) -> None:
    """IpAddress: the address is in the CIDR (same leading ``prefix`` bits); NotIpAddress:
    it is not. Computed with integer masks."""
    mask = ((1 << prefix) - 1) << (32 - prefix)
    inside = (address & mask) == (network & mask)
    keys = {"aws:SourceIp": (_dotted(address),)}
    cidr = f"{_dotted(network)}/{prefix}"
    assert _grants({"IpAddress": {"aws:SourceIp": cidr}}, keys) is inside
    assert _grants({"NotIpAddress": {"aws:SourceIp": cidr}}, keys) is not inside


# -- the layers ------------------------------------------------------------------------------

ALLOW_ALL = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DENY_ALL = {"Version": V, "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
ALLOW_OTHER = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
BLOCKS = {"allow": ALLOW_ALL, "deny": DENY_ALL, "other": ALLOW_OTHER}
LAYER = st.lists(st.sampled_from(sorted(BLOCKS)), max_size=2)


@settings(max_examples=300, deadline=None)
@given(
    scps=st.lists(LAYER, max_size=3),
    identity=LAYER,
    boundary=st.one_of(st.none(), st.sampled_from(sorted(BLOCKS))),
    session=st.one_of(st.none(), LAYER),
)
def test_layers_follow_the_evaluation_flow_chart(
    scps: list[list[str]],
    identity: list[str],
    boundary: str | None,
    session: list[str] | None,
) -> None:
    """An explicit deny anywhere denies; else each SCP level, the identity policies, the
    boundary (if any) and the session policies (if any) must each allow; an implicit deny
    names the first that does not, in the flow chart's order."""
    layers: list[tuple[str, list[str]]] = [("scp", level) for level in scps]
    layers.append(("identity", identity))
    if boundary is not None:
        layers.append(("boundary", [boundary]))
    if session is not None:
        layers.append(("session", session))
    policies = PolicySet(
        identity=tuple(BLOCKS[b] for b in identity),
        boundary=None if boundary is None else BLOCKS[boundary],
        session=None if session is None else tuple(BLOCKS[b] for b in session),
        scps=tuple(tuple(BLOCKS[b] for b in level) for level in scps),
    )
    decision = authorize(policies, RequestContext("ec2:RunInstances", "*", {}))
    denied_in = [name for name, blocks in layers if "deny" in blocks]
    not_allowing = [name for name, blocks in layers if "allow" not in blocks]
    if denied_in:
        assert (decision.allowed, decision.explicit_deny, decision.layer) == (
            False,
            True,
            denied_in[0],
        )
    elif not_allowing:
        assert (decision.allowed, decision.explicit_deny, decision.layer) == (
            False,
            False,
            not_allowing[0],
        )
    else:
        assert (decision.allowed, decision.explicit_deny, decision.layer) == (True, False, None)


@pytest.mark.parametrize("version", [None, "2008-10-17"])
@settings(max_examples=50, deadline=None)
@given(name=st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_variables_are_literal_text_before_2012(version: str | None, name: str) -> None:
    """Policy variables: "If you don't include the Version element and set it to an
    appropriate version date, variables like ${aws:username} are treated as literal strings"."""
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "arn:aws:iam::123456789012:user/${aws:username}",
    }
    document: dict[str, Any] = {"Statement": [statement]}
    if version:
        document["Version"] = version
    keys = {"aws:username": (name,)}
    policies = PolicySet(identity=(document,))
    user = "arn:aws:iam::123456789012:user/"
    assume(name != "${aws:username}")
    assert not authorize(policies, RequestContext("iam:GetUser", user + name, keys)).allowed
    literal = RequestContext("iam:GetUser", user + "${aws:username}", keys)
    assert authorize(policies, literal).allowed
    modern = PolicySet(identity=({**document, "Version": V},))
    assert authorize(modern, RequestContext("iam:GetUser", user + name, keys)).allowed
