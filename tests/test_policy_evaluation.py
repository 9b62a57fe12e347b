"""The sandbox's policy evaluator and its wire check, called directly (no server).

Every expected verdict is the IAM User Guide's; each case's id names the rule
it checks. The pages (``...`` is https://docs.aws.amazon.com/IAM/latest/UserGuide):

    Evaluation logic   .../reference_policies_evaluation-logic.html
    Grammar            .../reference_policies_grammar.html
    Action, NotAction  .../reference_policies_elements_action.html,
                       .../reference_policies_elements_notaction.html
    Resource           .../reference_policies_elements_resource.html,
                       .../reference_policies_elements_notresource.html
    Condition          .../reference_policies_elements_condition.html
    Operators          .../reference_policies_elements_condition_operators.html
    Several keys       .../reference_policies_condition-logic-multiple-context-keys-or-values.html
    Set operators      .../reference_policies_condition-single-vs-multi-valued-context-keys.html

tests/test_sandbox.py holds the first tables of verdicts; the cases here are
the ones it does not have. Where the sandbox does not give the documented
verdict yet (issue 15), the case says so and is a strict xfail.

The wire check (``_is_dry_run``) is checked with requests that botocore
itself serialized, for every protocol the sandbox routes: the expected answer
is whether the request carries its operation's dry-run member set to true,
as botocore's service model names that member.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.client import BaseClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.sandbox import Decision, evaluate
from awsprobe.sandbox.app import _is_dry_run
from awsprobe.sandbox.request import _Incoming, _incoming
from awsprobe.sandbox.routing import _Route, _routing
from tests.fakes import one_flag_model

ALICE = "arn:aws:iam::123456789012:user/alice"

#: What AWS puts in the request context of an IAM user's call (aws:username and
#: aws:PrincipalArn are documented for IAM users; the region is the request's).
USER_CONTEXT: Mapping[str, str | Sequence[str]] = {
    "aws:RequestedRegion": "us-east-1",
    "aws:PrincipalArn": ALICE,
    "aws:PrincipalAccount": "123456789012",
    "aws:username": "alice",
    "aws:SecureTransport": "true",
}


def _statement(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    return {"Effect": effect, **elements}


def _allows(
    statement: Mapping[str, Any],
    action: str = "ec2:RunInstances",
    context: Mapping[str, str | Sequence[str]] = USER_CONTEXT,
) -> bool:
    return evaluate([{"Statement": [statement]}], action, context).allowed


# -- evaluation logic ---------------------------------------------------------------------

ALLOW_ALL = _statement(Sid="AllowAll", Action="*", Resource="*")
DENY_EC2 = _statement("Deny", Sid="DenyEc2", Action="ec2:*", Resource="*")


@pytest.mark.parametrize(
    ("documents", "action", "expected"),
    [
        pytest.param(
            [{"Statement": [DENY_EC2, ALLOW_ALL]}],
            "ec2:RunInstances",
            Decision("ec2:RunInstances", False, True, (DENY_EC2,)),
            id="Evaluation logic: an explicit deny wins, before an allow in one policy",
        ),
        pytest.param(
            [{"Statement": [DENY_EC2]}, {"Statement": [ALLOW_ALL]}],
            "ec2:RunInstances",
            Decision("ec2:RunInstances", False, True, (DENY_EC2,)),
            id="Evaluation logic: an explicit deny wins, in the first of two policies",
        ),
        pytest.param(
            [{"Statement": [DENY_EC2, ALLOW_ALL]}],
            "kms:Decrypt",
            Decision("kms:Decrypt", True, False, (ALLOW_ALL,)),
            id="Evaluation logic: a deny that does not apply leaves the allow",
        ),
        pytest.param(
            [{"Statement": [DENY_EC2]}],
            "kms:Decrypt",
            Decision("kms:Decrypt", False, False, ()),
            id="Evaluation logic: nothing applies, the implicit deny",
        ),
        pytest.param(
            [],
            "kms:Decrypt",
            Decision("kms:Decrypt", False, False, ()),
            id="Evaluation logic: no policy at all, the implicit deny",
        ),
        pytest.param(
            [{"Statement": [ALLOW_ALL, {**ALLOW_ALL, "Sid": "Again"}]}],
            "kms:Decrypt",
            Decision("kms:Decrypt", True, False, (ALLOW_ALL, {**ALLOW_ALL, "Sid": "Again"})),
            id="Evaluation logic: every applying allow is reported, in order",
        ),
        pytest.param(
            [{"Statement": [DENY_EC2]}, {"Statement": {**DENY_EC2, "Sid": "Again"}}],
            "ec2:RunInstances",
            Decision("ec2:RunInstances", False, True, (DENY_EC2, {**DENY_EC2, "Sid": "Again"})),
            id="Evaluation logic: every applying deny is reported, in order",
        ),
    ],
)
def test_evaluation_logic(documents: list[dict[str, Any]], action: str, expected: Decision) -> None:
    """An explicit deny beats an allow beats the implicit deny, whatever the order."""
    assert evaluate(documents, action) == expected


def test_no_context_is_an_empty_request_context() -> None:
    """Without a context every condition key is absent: a negated operator is true.

    Rule: Operators, "If the key ... is not present in the request context ... the condition
    is false. If the policy condition requires that the key is not matched ... the condition is
    true."
    """
    statement = _statement(
        Action="*",
        Resource="*",
        Condition={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
    )
    assert evaluate([{"Statement": [statement]}], "ec2:RunInstances").allowed
    assert evaluate([{"Statement": [statement]}], "ec2:RunInstances", None).allowed
    assert evaluate([{"Statement": [statement]}], "ec2:RunInstances", {}).allowed


# -- the policy's shape -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("documents", "allowed"),
    [
        pytest.param(
            [{"Statement": ALLOW_ALL}],
            True,
            id="Grammar: Statement may be one statement object",
        ),
        pytest.param(
            [{"Statement": ["nonsense", ALLOW_ALL]}],
            True,
            id="Grammar: a malformed statement does not hide the valid one beside it",
        ),
        pytest.param(
            [{"Statement": [{**ALLOW_ALL, "Effect": "Deny"}, ALLOW_ALL]}],
            False,
            id="Grammar: Effect Deny is a deny",
        ),
        pytest.param(
            [{"Statement": [{**ALLOW_ALL, "Effect": "DENY"}, ALLOW_ALL]}],
            True,
            id="Grammar: Effect is Allow or Deny, spelled so",
        ),
        pytest.param([[ALLOW_ALL]], False, id="Grammar: a policy is a JSON object"),
        pytest.param([{"Statements": [ALLOW_ALL]}], False, id="Grammar: the element is Statement"),
        pytest.param(
            [{"Statement": [{k: v for k, v in ALLOW_ALL.items() if k != "Effect"}]}],
            False,
            id="Grammar: a statement has an Effect",
        ),
    ],
)
def test_policy_shape(documents: list[Any], allowed: bool) -> None:
    """Only well-formed statements count; IAM refuses a policy with any other."""
    assert evaluate(documents, "ec2:RunInstances").allowed is allowed


# -- Action and NotAction -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "action", "allowed"),
    [
        pytest.param(
            {"Action": "ec2:RunInstances*"},
            "ec2:RunInstances",
            True,
            id="Action: * matches no character too",
        ),
        pytest.param(
            {"Action": "ec2:*Instances"},
            "ec2:RunInstances",
            True,
            id="Action: * at the start of the name",
        ),
        pytest.param(
            {"Action": "ec2:RunInstance?"},
            "ec2:RunInstances",
            True,
            id="Action: ? matches the last character",
        ),
        pytest.param(
            {"Action": "ec2:RunInstances?"},
            "ec2:RunInstances",
            False,
            id="Action: ? needs exactly one character, not none",
        ),
        pytest.param(
            {"Action": "ec2:R?Instances"},
            "ec2:RunInstances",
            False,
            id="Action: ? needs exactly one character, not two",
        ),
        pytest.param(
            {"Action": "ec2:Run.nstances"},
            "ec2:RunInstances",
            False,
            id="Action: only * and ? are wildcards",
        ),
        pytest.param(
            {"Action": "ec2:RunInstances"},
            "ec2:RunInstancesNow",
            False,
            id="Action: the whole name must match, not a prefix",
        ),
        pytest.param(
            {"Action": "ec2:RunInstances"},
            "xec2:RunInstances",
            False,
            id="Action: the whole name must match, not a suffix",
        ),
        pytest.param(
            {"Action": ["ec2:Describe*", "EC2:RUN*"]},
            "ec2:RunInstances",
            True,
            id="Action: a list, the second item matches ignoring case",
        ),
        pytest.param({"Action": []}, "ec2:RunInstances", False, id="Action: an empty list"),
        pytest.param(
            {"Action": ["ec2:*", 3]},
            "ec2:RunInstances",
            False,
            id="Grammar: Action is a string or a list of strings",
        ),
        pytest.param(
            {"NotAction": "EC2:*"},
            "ec2:RunInstances",
            False,
            id="NotAction: matches ignoring case",
        ),
        pytest.param(
            {"NotAction": ["kms:*", "ec2:Run?nstances"]},
            "ec2:RunInstances",
            False,
            id="NotAction: a list, any item excludes",
        ),
        pytest.param(
            {"NotAction": ["kms:*", "s3:*"]},
            "ec2:RunInstances",
            True,
            id="NotAction: a list, the action is in none",
        ),
        pytest.param(
            {"NotAction": 3}, "ec2:RunInstances", False, id="Grammar: NotAction is strings"
        ),
        pytest.param({}, "ec2:RunInstances", False, id="Grammar: Action or NotAction is needed"),
    ],
)
def test_action_and_not_action(statement: dict[str, Any], action: str, allowed: bool) -> None:
    """Action/NotAction match IAM action names ignoring case, with * and ? wildcards."""
    assert _allows(_statement(Resource="*", **statement), action) is allowed


def test_deny_with_not_action_denies_all_but_what_it_lists() -> None:
    """Rule: NotAction with Deny, "explicitly deny access to all ... except the listed"."""
    document = {
        "Statement": [
            ALLOW_ALL,
            _statement("Deny", NotAction=["iam:*", "sts:*"], Resource="*"),
        ]
    }
    assert evaluate([document], "kms:Decrypt").explicit_deny
    assert evaluate([document], "iam:ListUsers").allowed
    assert evaluate([document], "sts:GetCallerIdentity").allowed


# -- Resource and NotResource -------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "allowed"),
    [
        pytest.param({"Resource": ["*"]}, True, id="Resource: a list holding *"),
        pytest.param({"Resource": 3}, False, id="Grammar: Resource is a string or strings"),
        pytest.param(
            {"Resource": ["*", 3]}, False, id="Grammar: Resource is a list of strings only"
        ),
        pytest.param(
            {"NotResource": ["arn:aws:s3:::b", "*"]},
            False,
            id="NotResource: * in a list omits nothing",
        ),
        pytest.param(
            {"NotResource": ["arn:aws:s3:::b", "arn:aws:s3:::c"]},
            True,
            id="NotResource: a list that omits the request's resource",
        ),
        pytest.param({"NotResource": 3}, False, id="Grammar: NotResource is strings"),
        pytest.param(
            {"NotResource": "arn:aws:s3:::b", "Resource": 3},
            True,
            id="NotResource: the statement's resources are the ones it omits",
        ),
    ],
)
def test_resource_and_not_resource(statement: dict[str, Any], allowed: bool) -> None:
    """Resource/NotResource, for a request whose resource is not one the statement names."""
    assert _allows(_statement(Action="*", **statement)) is allowed


def test_deny_on_a_resource_does_not_deny_an_action_without_one() -> None:
    """Rule: Resource, with the Service Authorization Reference's resource types:
    ec2:DescribeInstances is authorized on "*" only, so a Deny on instance ARNs does not
    match it (tests/test_sandbox.py checks the reference says so)."""
    deny = _statement("Deny", Action="ec2:*", Resource="arn:aws:ec2:*:*:instance/*")
    decision = evaluate([{"Statement": [ALLOW_ALL, deny]}], "ec2:DescribeInstances")
    assert decision.allowed


# -- Condition ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        pytest.param(
            {
                "StringEquals": {"aws:RequestedRegion": "eu-west-1"},
                "StringLike": {"aws:username": "a*"},
            },
            False,
            id="Several operators: AND-ed, the first fails",
        ),
        pytest.param(
            {
                "StringEquals": {"aws:RequestedRegion": "us-east-1"},
                "StringLike": {"aws:username": "b*"},
            },
            False,
            id="Several operators: AND-ed, the second fails",
        ),
        pytest.param(
            {
                "StringEquals": {"aws:RequestedRegion": "us-east-1"},
                "StringLike": {"aws:username": "a*"},
            },
            True,
            id="Several operators: AND-ed, all hold",
        ),
        pytest.param(
            {"StringEquals": {"aws:username": "bob", "aws:PrincipalAccount": "123456789012"}},
            False,
            id="Several keys: AND-ed, the first fails",
        ),
        pytest.param({}, True, id="Condition: an empty block asks nothing"),
        pytest.param("StringEquals", False, id="Grammar: Condition is an object"),
        pytest.param(
            {"StringEquals": "aws:username"}, False, id="Grammar: an operator holds an object"
        ),
        pytest.param(
            {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "StringLike": ["x"]},
            False,
            id="Grammar: every operator holds an object",
        ),
        # String operators
        pytest.param(
            {"StringNotEqualsIgnoreCase": {"aws:RequestedRegion": "US-EAST-1"}},
            False,
            id="String: StringNotEqualsIgnoreCase, same value in other case",
        ),
        pytest.param(
            {"StringNotEqualsIgnoreCase": {"aws:RequestedRegion": "EU-WEST-1"}},
            True,
            id="String: StringNotEqualsIgnoreCase, other value",
        ),
        pytest.param(
            {"StringEqualsIgnoreCase": {"aws:RequestedRegion": "EU-WEST-1"}},
            False,
            id="String: StringEqualsIgnoreCase, other value",
        ),
        pytest.param(
            {"StringLike": {"aws:RequestedRegion": "us-east-?"}},
            True,
            id="String: StringLike, ? is one character",
        ),
        pytest.param(
            {"StringLike": {"aws:RequestedRegion": "us-east-1?"}},
            False,
            id="String: StringLike, ? is exactly one character",
        ),
        pytest.param(
            {"StringLike": {"aws:RequestedRegion": "US-*"}},
            False,
            id="String: StringLike is case-sensitive",
        ),
        pytest.param(
            {"StringLike": {"aws:RequestedRegion": "us-east"}},
            False,
            id="String: StringLike matches the whole value",
        ),
        pytest.param(
            {"StringLike": {"aws:RequestedRegion": "us.east.1"}},
            False,
            id="String: StringLike, only * and ? are wildcards",
        ),
        pytest.param(
            {"StringLike": {"aws:RequestedRegion": ["eu-*", "us-*"]}},
            True,
            id="Several values: StringLike values are OR-ed",
        ),
        pytest.param(
            {"StringNotLike": {"aws:RequestedRegion": "us-*"}},
            False,
            id="String: StringNotLike, a match",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
            False,
            id="Several values: a negated operator is false when any value matches",
        ),
        # ARN operators
        pytest.param(
            {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/*"}},
            True,
            id="ARN: ArnEquals takes wildcards like ArnLike",
        ),
        pytest.param(
            {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/bob"}},
            False,
            id="ARN: ArnEquals, other ARN",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/ALICE"}},
            False,
            id="ARN: ArnLike is case-sensitive",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:alice"}},
            False,
            id="ARN: a wildcard stays within its component",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1234567890?2:user/alic?"}},
            True,
            id="ARN: ArnLike, ? in the account and the resource",
        ),
        pytest.param(
            {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
            False,
            id="ARN: ArnNotLike, a match",
        ),
        pytest.param(
            {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
            True,
            id="ARN: ArnNotLike, no match",
        ),
        pytest.param(
            {"ArnNotEquals": {"aws:PrincipalArn": ALICE}},
            False,
            id="ARN: ArnNotEquals, the same ARN",
        ),
        # Bool and Null
        pytest.param(
            {"Bool": {"aws:SecureTransport": True}},
            True,
            id="Bool: a JSON true is the value true",
        ),
        pytest.param(
            {"Bool": {"aws:SecureTransport": False}},
            False,
            id="Bool: a JSON false is the value false",
        ),
        pytest.param(
            {"StringEquals": {"aws:SecureTransport": True}},
            True,
            id="Condition: a JSON true compares as the string true",
        ),
        pytest.param(
            {"Null": {"aws:username": "false"}},
            True,
            id="Null false: the key is present",
        ),
        pytest.param(
            {"Null": {"aws:userid": "false"}},
            False,
            id="Null false: the key is absent",
        ),
        pytest.param(
            {"Null": {"aws:userid": True}},
            True,
            id="Null: a JSON true, the key is absent",
        ),
        pytest.param(
            {"Null": {"aws:userid": "TRUE"}},
            True,
            id="Null: true in capitals, the key is absent",
        ),
        # absent keys and ...IfExists
        pytest.param(
            {"StringNotLike": {"aws:userid": "A*"}},
            True,
            id="Absent key: StringNotLike is true",
        ),
        pytest.param(
            {"StringNotEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}},
            False,
            id="IfExists: a present key is evaluated, negated too",
        ),
        pytest.param(
            {"StringNotEqualsIfExists": {"aws:userid": "x"}},
            True,
            id="IfExists: an absent key is true, negated too",
        ),
        pytest.param(
            {"ForAllValues:StringEqualsIfExists": {"aws:userid": "x"}},
            True,
            id="IfExists: with a set operator, an absent key is true",
        ),
        pytest.param(
            {"ForAnyValue:StringEqualsIfExists": {"aws:userid": "x"}},
            True,
            id="IfExists: ForAnyValue with IfExists, an absent key is true",
        ),
        pytest.param(
            {"ForAnyValue:StringNotEquals": {"aws:userid": "x"}},
            False,
            id="ForAnyValue: an absent key is false, negated too",
        ),
        pytest.param(
            {"ForAllValues:StringNotEquals": {"aws:userid": "x"}},
            True,
            id="ForAllValues: an absent key is true, negated too",
        ),
        pytest.param(
            {"ForAnyValue:StringLikeIfExists": {"aws:RequestedRegion": "eu-*"}},
            False,
            id="IfExists: ForAnyValue with IfExists, a present key is evaluated",
        ),
        pytest.param(
            {"StringEqualsIfExistsNow": {"aws:userid": "x"}},
            False,
            id="Grammar: an operator IAM does not know is never satisfied",
        ),
        pytest.param(
            {"ForAnyValue:ForAllValues:StringEquals": {"aws:userid": "x"}},
            False,
            id="Set operators: one qualifier per operator",
        ),
        pytest.param(
            {"ForAllValues:StringLike": {"aws:RequestedRegion": "us-*"}},
            True,
            id="ForAllValues: the only request value matches",
        ),
    ],
)
def test_conditions(condition: Any, allowed: bool) -> None:
    """Condition blocks: operators and keys AND-ed, values OR-ed, absent keys as documented.

    ``aws:userid`` is not in USER_CONTEXT: for those cases it is an absent key.
    """
    assert _allows(_statement(Action="*", Resource="*", Condition=condition)) is allowed


#: A multivalued request context: the evaluator takes any key's values as a set, so
#: aws:RequestedRegion with two values stands in for a multivalued key such as aws:TagKeys
#: (which the sandbox does not put in its request context).
TWO_REGIONS: Mapping[str, str | Sequence[str]] = {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}
NO_REGION: Mapping[str, str | Sequence[str]] = {"aws:RequestedRegion": []}


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            TWO_REGIONS,
            True,
            id="ForAnyValue: one request value of two matches",
        ),
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:RequestedRegion": "ap-south-1"}},
            TWO_REGIONS,
            False,
            id="ForAnyValue: no request value matches",
        ),
        pytest.param(
            {"ForAnyValue:StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            TWO_REGIONS,
            True,
            id="ForAnyValue: negated, one request value is not listed",
        ),
        pytest.param(
            {"ForAnyValue:StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
            TWO_REGIONS,
            False,
            id="ForAnyValue: negated, every request value is listed",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1", "x"]}},
            TWO_REGIONS,
            True,
            id="ForAllValues: every request value is in the policy's values",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            TWO_REGIONS,
            False,
            id="ForAllValues: one request value is not in the policy's values",
        ),
        pytest.param(
            {"ForAllValues:StringNotEquals": {"aws:RequestedRegion": "ap-south-1"}},
            TWO_REGIONS,
            True,
            id="ForAllValues: negated, no request value is listed",
        ),
        pytest.param(
            {"ForAllValues:StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            TWO_REGIONS,
            False,
            id="ForAllValues: negated, one request value is listed",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            NO_REGION,
            True,
            id="ForAllValues: a key with an empty set of values is true",
        ),
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            NO_REGION,
            False,
            id="ForAnyValue: a key with an empty set of values is false",
        ),
        pytest.param(
            {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            NO_REGION,
            False,
            id="Absent key: an empty set of values is no value, positive operator false",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            NO_REGION,
            True,
            id="Absent key: an empty set of values is no value, negated operator true",
        ),
        pytest.param(
            {"ArnNotEquals": {"aws:PrincipalArn": ALICE}},
            {},
            True,
            id="Absent key: ArnNotEquals is true",
        ),
        pytest.param(
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:ssm:*:*:parameter/a:*"}},
            {"aws:PrincipalArn": "arn:aws:ssm:us-east-1:123456789012:parameter/a:b"},
            True,
            id="ARN: the resource component may itself hold colons",
        ),
        pytest.param(
            {"StringLike": {"aws:username": "a*"}},
            {"aws:username": "a\nb"},
            True,
            id="String: StringLike, * matches any characters, a line break too",
        ),
    ],
)
def test_conditions_over_a_given_context(
    condition: dict[str, Any], context: Mapping[str, str | Sequence[str]], allowed: bool
) -> None:
    """Set operators over several request values, and absent or odd context values."""
    statement = _statement(Action="*", Resource="*", Condition=condition)
    assert _allows(statement, context=context) is allowed


# -- the wire check: what the sandbox takes for a dry run ------------------------------------


class _Sent(Exception):
    """Raised by the before-send stub: the request as botocore put it on the wire."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__("sent")
        self.request = request


def _stop_at_the_wire(request: AWSPreparedRequest, **_: Any) -> None:
    raise _Sent(request)


class _CborLoader(botocore.loaders.Loader):  # type: ignore[misc]
    """Loads appstream with smithy-rpc-v2-cbor as its only protocol."""

    def load_service_model(self, service_name: str, type_name: str, api_version: Any = None) -> Any:
        model = super().load_service_model(service_name, type_name, api_version)
        if service_name == "appstream" and type_name == "service-2":
            model = {
                **model,
                "metadata": {**model["metadata"], "protocols": ["smithy-rpc-v2-cbor"]},
            }
        return model


_CLIENTS: dict[tuple[str, bool], BaseClient] = {}


def _plain_client(service: str, cbor: bool = False) -> BaseClient:
    """An unguarded botocore client whose requests stop at the wire (so flags can be left out)."""
    if (service, cbor) not in _CLIENTS:
        session = botocore.session.Session()
        if cbor:
            session.register_component("data_loader", _CborLoader())
        client = session.create_client(
            service,
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        client.meta.events.register("before-send", _stop_at_the_wire)
        _CLIENTS[service, cbor] = client
    return _CLIENTS[service, cbor]


def _on_the_wire(client: BaseClient, method: str, params: Mapping[str, Any]) -> _Incoming:
    """The request botocore serializes for ``method(**params)``, as the sandbox reads it."""
    with pytest.raises(_Sent) as sent:
        getattr(client, method)(**params)
    prepared = sent.value.request
    split = prepared.url.split("://", 1)[1]
    target = "/" + split.split("/", 1)[1] if "/" in split else "/"
    headers = {
        k: v.decode() if isinstance(v, bytes) else str(v) for k, v in prepared.headers.items()
    }
    body = prepared.body or b""
    return _incoming(
        prepared.method, target, headers, body.encode() if isinstance(body, str) else body, "h:9"
    )


def _judged_dry_run(request: _Incoming) -> bool:
    route = _routing().identify(request)
    assert route is not None, request.url
    return _is_dry_run(route, request)


PROBED = list(load_catalog())
FLAGS = {"true": True, "false": False, "absent": None}


def _params(entry: CatalogEntry, flag: bool | None) -> dict[str, Any]:
    params = entry.probe_params()
    if flag is None:
        del params[entry.dry_run_member]
    else:
        params[entry.dry_run_member] = flag
    return params


def _first(service: str) -> CatalogEntry:
    return next(e for e in PROBED if e.service == service)


@pytest.mark.parametrize("flag", FLAGS.values(), ids=list(FLAGS))
@pytest.mark.parametrize(
    ("service", "cbor"),
    [
        pytest.param("ec2", False, id="ec2 (form body)"),
        pytest.param("kms", False, id="json"),
        pytest.param("imagebuilder", False, id="rest-json"),
        pytest.param("appstream", True, id="smithy-rpc-v2-cbor"),
    ],
)
def test_only_a_request_with_its_flag_true_is_a_dry_run(
    service: str, cbor: bool, flag: bool | None
) -> None:
    """Every protocol the sandbox routes: true is a dry run; false or absent never is."""
    entry = _first(service)
    request = _on_the_wire(_plain_client(service, cbor), entry.method, _params(entry, flag))
    assert _judged_dry_run(request) is (flag is True)


@pytest.mark.parametrize(
    ("query", "dry_run"), [("&DryRun=true", True), ("&DryRun=false", False), ("", False)]
)
def test_an_ec2_get_request_carries_its_flag_in_the_query(query: str, dry_run: bool) -> None:
    """EC2's Query API takes GET requests too (EC2 API Reference, "Query requests"): the flag
    is read from the query string."""
    signed = _on_the_wire(_plain_client("ec2"), "describe_regions", {"DryRun": True})
    request = _incoming(
        "GET",
        "/?Action=DescribeRegions&Version=2016-11-15" + query,
        dict(signed.headers),
        b"",
        "h:9",
    )
    assert _judged_dry_run(request) is dry_run


def test_an_exempt_operation_without_its_flag_is_not_a_dry_run() -> None:
    """ec2:DescribeRegions may leave awsprobe without its flag (guard.EXEMPT_OPERATIONS), but
    without the flag it is a real call, which the sandbox must pass on as one."""
    request = _on_the_wire(_plain_client("ec2"), "describe_regions", {})
    assert _judged_dry_run(request) is False
    request = _on_the_wire(_plain_client("ec2"), "describe_regions", {"DryRun": True})
    assert _judged_dry_run(request) is True


@pytest.mark.parametrize(
    ("service", "method"),
    [
        pytest.param("sts", "get_caller_identity", id="query"),
        pytest.param("iam", "list_users", id="query (iam)"),
        pytest.param("s3", "list_buckets", id="rest-xml"),
    ],
)
def test_an_operation_without_a_dry_run_member_is_never_a_dry_run(
    service: str, method: str
) -> None:
    """botocore's model gives these operations no dry-run member: none of them is a dry run."""
    assert _judged_dry_run(_on_the_wire(_plain_client(service), method, {})) is False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=st.sampled_from(PROBED), flag=st.sampled_from(list(FLAGS.values())))
def test_every_probed_entry_is_a_dry_run_exactly_when_its_flag_is_true(
    entry: CatalogEntry, flag: bool | None
) -> None:
    """Across the catalog, the sandbox's reading of the wire agrees with the flag botocore sent."""
    request = _on_the_wire(_plain_client(entry.service), entry.method, _params(entry, flag))
    assert _judged_dry_run(request) is (flag is True)


WICKR_TDF = {
    "networkId": "12345678",
    "clientId": "c",
    "clientSecret": "s",
    "domain": "example.com",
    "provider": "p",
}


@pytest.mark.parametrize("flag", FLAGS.values(), ids=list(FLAGS))
def test_a_flag_bound_to_the_query_string_is_read_there(flag: bool | None) -> None:
    """wickr:RegisterOpentdfConfig binds dryRun to the query string (botocore's model):
    a POST with the flag in its URL is a dry run exactly when it is true."""
    client = _plain_client("wickr")
    params = dict(WICKR_TDF) if flag is None else {**WICKR_TDF, "dryRun": flag}
    request = _on_the_wire(client, "register_opentdf_config", params)
    route = _Route("wickr", "RegisterOpentdfConfig", "rest-json", client.meta.service_model)
    assert _is_dry_run(route, request) is (flag is True)


@pytest.mark.parametrize(
    ("headers", "dry_run"),
    [({"X-Dry": "true"}, True), ({"X-Dry": "false"}, False), ({}, False)],
    ids=["true", "false", "absent"],
)
def test_a_flag_bound_to_a_header_is_read_there(headers: dict[str, str], dry_run: bool) -> None:
    """A dry-run member with ``location: header`` is read from the request's headers."""
    route = _Route(
        "x",
        "Go",
        "rest-json",
        one_flag_model("rest-json", "DryRun", {"location": "header", "locationName": "X-Dry"}),
    )
    request = _incoming("POST", "/go", headers, b'{"DryRun": true}', "h:9")
    assert _is_dry_run(route, request) is dry_run


def test_the_wire_check_logs_the_call_that_carried_its_flag(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The guard's debug line for a dry run names the service and operation the sandbox routed."""
    entry = _first("ec2")
    request = _on_the_wire(_plain_client("ec2"), entry.method, _params(entry, True))
    with caplog.at_level(logging.DEBUG, logger="awsprobe.guard"):
        assert _judged_dry_run(request)
    messages = [r.getMessage() for r in caplog.records if r.name == "awsprobe.guard"]
    assert messages == [f"guard: ec2:{entry.operation} carries DryRun=true"]
