"""An independent battery of IAM policy cases, each verdict written from AWS documentation.

Every row names the documented rule it exercises, where the rule is written, the
policies, the request and the verdict AWS documents: ``allowed``, ``explicit deny``
or ``implicit deny``. No expected value here was computed by awsprobe; where the
documentation is ambiguous the case was left out (the ambiguities are listed at the
end of this docstring).

Sources (``UG`` is the IAM User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/):

    UG "Policy evaluation logic"                    reference_policies_evaluation-logic.html
    UG "The difference between explicit and implicit denies"
                                     reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
    UG "IAM JSON policy elements: Action"           reference_policies_elements_action.html
    UG "IAM JSON policy elements: NotAction"        reference_policies_elements_notaction.html
    UG "IAM JSON policy elements: Resource"         reference_policies_elements_resource.html
    UG "IAM JSON policy elements: NotResource"      reference_policies_elements_notresource.html
    UG "IAM JSON policy elements: Condition operators"
                                                    reference_policies_elements_condition_operators.html
    UG "Conditions with multiple context keys or values"
                                     reference_policies_condition-logic-multiple-context-keys-or-values.html
    UG "Single-valued vs. multivalued context keys" and "Multivalued context key examples"
                                     reference_policies_condition-single-vs-multi-valued-context-keys.html
    UG "IAM policy elements: Variables and tags"    reference_policies_variables.html
    UG "IAM JSON policy elements: Version"          reference_policies_elements_version.html
    UG "Permissions boundaries for IAM entities"    access_policies_boundaries.html
    UG "Policies and permissions in IAM" (session policies)     access_policies.html
    UG "AWS global condition context keys"          reference_policies_condition-keys.html
    UG examples "Amazon EC2: Requires MFA (GetSessionToken) for specific EC2 operations" and
        "AWS: Denies access to AWS based on the requested Region"
    AWS Organizations UG "SCP evaluation"           organizations/latest/userguide/
                                                    orgs_manage_policies_scps_evaluation.html
    AWS Knowledge Center "How do I use MFA with the AWS CLI" (mfa-iam-user-aws-cli)

Left out as ambiguous in the documentation:

* ``ArnLike`` case sensitivity: the UG says "case-sensitive matching of the ARN"; the AWS
  SDK for .NET documents ArnLike as "loose case-insensitive matching".
* A ``Resource`` pattern whose trailing ``*`` in a segment would have to cross colons to
  match (the UG says it "can expand to match beyond the colon boundaries", while the same
  pattern under ``ArnLike`` documentedly fails): only the plain ``arn:aws:ec2:REGION:*``
  form is kept.
* ``NotResource`` against a resource-less action (authorized on ``*``): not documented.
* A policy variable with no value under a negated operator (``StringNotEquals``): the
  current "Policy variables with no value" section says it matches; the older text said
  "any attempt to match it fails and causes the statement to be invalid".
* Policy variables in ``Bool`` values: "Condition operators" says supported, "Variables
  and tags" says not.
* ``...IfExists`` combined with ``ForAllValues``/``ForAnyValue``; several session policies
  passed together; the management account (not reachable through ``PolicySet``).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any

import pytest

import awsprobe

Doc = Mapping[str, Any]
V2012 = "2012-10-17"
V2008 = "2008-10-17"
ACCT = "123456789012"
EAST, WEST = "us-east-1", "eu-west-1"
INSTANCE = f"arn:aws:ec2:{EAST}:{ACCT}:instance/i-0123456789abcdef0"
INSTANCE_WEST = f"arn:aws:ec2:{WEST}:{ACCT}:instance/i-0123456789abcdef0"
PROD_INSTANCE = f"arn:aws:ec2:{EAST}:{ACCT}:instance/i-1234567890abcdef0"
IMAGE = f"arn:aws:ec2:{EAST}::image/ami-0abcdef1234567890"
NO_RESOURCE = "*"  # what a resource-less action (most Describe*) is authorized on
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
USER_ALICE = f"arn:aws:iam::{ACCT}:user/alice"


class Verdict(StrEnum):
    """The three outcomes "Policy evaluation logic" distinguishes."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


ALLOWED = Verdict.ALLOWED
EXPLICIT = Verdict.EXPLICIT_DENY
IMPLICIT = Verdict.IMPLICIT_DENY

# -- where each rule is written ---------------------------------------------------------------

EVAL = 'UG "Policy evaluation logic"'
DENIES = 'UG "The difference between explicit and implicit denies"'
ACTION = 'UG "IAM JSON policy elements: Action"'
NOTACTION = 'UG "IAM JSON policy elements: NotAction"'
RESOURCE = 'UG "IAM JSON policy elements: Resource"'
NOTRESOURCE = 'UG "IAM JSON policy elements: NotResource"'
OPS = 'UG "IAM JSON policy elements: Condition operators"'
OPS_STRING = f"{OPS}, String condition operators"
OPS_NUMERIC = f"{OPS}, Numeric condition operators"
OPS_DATE = f"{OPS}, Date condition operators"
OPS_BOOL = f"{OPS}, Boolean condition operators"
OPS_BINARY = f"{OPS}, Binary condition operators"
OPS_IP = f"{OPS}, IP address condition operators"
OPS_ARN = f"{OPS}, Amazon Resource Name (ARN) condition operators"
OPS_IFEXISTS = f"{OPS}, ...IfExists condition operators"
OPS_NULL = f"{OPS}, Condition operator to check existence of condition keys"
OPS_ABSENT = f"{OPS}, Important note on keys not present in the request context"
MULTI = 'UG "Conditions with multiple context keys or values"'
SETS = 'UG "Single-valued vs. multivalued context keys", set operators'
SETS_EX = 'UG "Multivalued context key examples"'
VARS = 'UG "IAM policy elements: Variables and tags"'
VERSION = 'UG "IAM JSON policy elements: Version" and "Variables and tags"'
BOUNDARY = 'UG "Permissions boundaries for IAM entities"'
SESSION = 'UG "Policies and permissions in IAM", Session policies; "Policy evaluation logic"'
SCP = 'AWS Organizations UG "SCP evaluation"; UG "Policy evaluation logic"'
GLOBAL = 'UG "AWS global condition context keys"'
EC2_MFA = 'UG example "Amazon EC2: Requires MFA (GetSessionToken) for specific EC2 operations"'
REGION_EX = 'UG example "AWS: Denies access to AWS based on the requested Region"'
KC_MFA = 'AWS Knowledge Center "mfa-iam-user-aws-cli"'


# -- the row --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request against one set of policies, and the verdict AWS documents for it."""

    id: str  # "<family>:<rule>"
    rule: str  # the documented rule, quoted or closely paraphrased
    source: str  # the page (and section) that states it
    action: str
    resource: str
    expected: Verdict
    identity: tuple[Doc, ...] = ()
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    boundary: Doc | None = None
    session: tuple[Doc, ...] | None = None
    scps: tuple[tuple[Doc, ...], ...] = ()

    @property
    def family(self) -> str:
        return self.id.split(":", 1)[0]


def row(
    id: str,
    rule: str,
    source: str,
    expected: Verdict,
    *,
    action: str,
    resource: str,
    identity: tuple[Doc, ...] = (),
    keys: Mapping[str, str | tuple[str, ...]] | None = None,
    boundary: Doc | None = None,
    session: tuple[Doc, ...] | None = None,
    scps: tuple[tuple[Doc, ...], ...] = (),
) -> Case:
    frozen_keys = tuple(
        (name, (value,) if isinstance(value, str) else tuple(value))
        for name, value in (keys or {}).items()
    )
    return Case(
        id=id,
        rule=rule,
        source=source,
        action=action,
        resource=resource,
        expected=expected,
        identity=identity,
        keys=frozen_keys,
        boundary=boundary,
        session=session,
        scps=scps,
    )


# -- policy builders ------------------------------------------------------------------------


def st(
    effect: str,
    *,
    action: Any = None,
    not_action: Any = None,
    resource: Any = None,
    not_resource: Any = None,
    condition: Mapping[str, Any] | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    if sid is not None:
        statement["Sid"] = sid
    statement["Effect"] = effect
    for name, value in (
        ("Action", action),
        ("NotAction", not_action),
        ("Resource", resource),
        ("NotResource", not_resource),
        ("Condition", condition),
    ):
        if value is not None:
            statement[name] = value
    return statement


def allow(
    action: Any = "*", resource: Any = "*", condition: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return st("Allow", action=action, resource=resource, condition=condition)


def deny(
    action: Any = "*", resource: Any = "*", condition: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return st("Deny", action=action, resource=resource, condition=condition)


def policy(*statements: dict[str, Any], version: str | None = V2012) -> Doc:
    doc: dict[str, Any] = {}
    if version is not None:
        doc["Version"] = version
    doc["Statement"] = list(statements)
    return doc


def one(*statements: dict[str, Any], version: str | None = V2012) -> tuple[Doc, ...]:
    """An identity made of one policy document."""
    return (policy(*statements, version=version),)


def cond_allow(
    operator: str, key: str, value: Any, action: str = "*", resource: str = "*"
) -> tuple[Doc, ...]:
    """One Allow statement with one condition."""
    return one(allow(action, resource, {operator: {key: value}}))


ALLOW_ALL = policy(allow())
FULL_AWS_ACCESS = ALLOW_ALL  # the AWS managed SCP "FullAWSAccess"
SHIRLEY_BOUNDARY = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"]))
XCOMPANY_BOUNDARY = policy(
    st("Allow", sid="ServiceBoundaries", action=["s3:*", "cloudwatch:*", "ec2:*", "dynamodb:*"],
       resource="*"),
    st("Allow", sid="AllowIAMConsoleForCredentials",
       action=["iam:ListUsers", "iam:GetAccountPasswordPolicy"], resource="*"),
    st("Allow", sid="AllowManageOwnPasswordAndAccessKeys",
       action=["iam:*AccessKey*", "iam:ChangePassword", "iam:GetUser"],
       resource=["arn:aws:iam::*:user/${aws:username}"]),
    st("Deny", sid="DenyS3Logs", action="s3:*",
       resource=["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]),
    st("Deny", sid="DenyEC2Production", action="ec2:*",
       resource="arn:aws:ec2:*:*:instance/i-1234567890abcdef0"),
)  # fmt: skip
INTERPLAY = policy(
    st("Allow", sid="AllowGetList", action=["iam:Get*", "iam:List*"], resource="*"),
    st("Deny", sid="DenyReports", action="iam:*Report", resource="*"),
)
EC2_REQUIRE_MFA = policy(
    st("Allow", sid="AllowAllActionsForEC2", action="ec2:*", resource="*"),
    st("Deny", sid="DenyStopAndTerminateWhenMFAIsNotPresent",
       action=["ec2:StopInstances", "ec2:TerminateInstances"], resource="*",
       condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": False}}),
)  # fmt: skip
DENY_OTHER_REGIONS = policy(
    allow(),
    st("Deny", sid="DenyAllOutsideRequestedRegions", not_action=["iam:*", "sts:*"],
       resource="*",
       condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", WEST]}}),
)  # fmt: skip
IFEXISTS_TYPES = ["t1.*", "t2.*", "m3.*"]
DENY_NON_IAM_WITHOUT_MFA = st(
    "Deny",
    sid="DenyAllUsersNotUsingMFA",
    not_action="iam:*",
    resource="*",
    condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
)


# -- the table ------------------------------------------------------------------------------

EVALUATION: tuple[Case, ...] = (
    row("eval:no-policy-is-implicit-deny",
        "By default, all requests are implicitly denied", EVAL, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE),
    row("eval:matching-allow-allows",
        "An explicit allow in an identity-based policy overrides this default", EVAL, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("ec2:RunInstances"))),
    row("eval:allow-of-another-action-is-implicit-deny",
        "An implicit denial occurs when there is no applicable Deny statement but also no "
        "applicable Allow statement", DENIES, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:TerminateInstances"))),
    row("eval:deny-alone-is-explicit-deny",
        "A request results in an explicit deny if an applicable policy includes a Deny statement",
        DENIES, EXPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(deny("ec2:RunInstances"))),
    row("eval:explicit-deny-overrides-allow-same-policy",
        "If policies include an Allow statement and a Deny statement, the Deny statement trumps "
        "the Allow statement", DENIES, EXPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:*"), deny("ec2:RunInstances"))),
    row("eval:explicit-deny-overrides-allow-other-policy",
        "An explicit deny in any policy overrides any allows", EVAL, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=(policy(allow("ec2:*")), policy(deny("ec2:Run*")))),
    row("eval:deny-first-in-order-still-wins",
        "All policies that apply are evaluated; the order of statements does not matter", EVAL,
        EXPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(deny("ec2:RunInstances"), allow("*"))),
    row("eval:deny-of-another-action-does-not-apply",
        "Only a Deny statement that applies to the request is an explicit deny", EVAL, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:*"), deny("ec2:TerminateInstances"))),
    row("eval:deny-whose-condition-is-false-does-not-apply",
        "A statement applies only when its conditions match", EVAL, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={"aws:RequestedRegion": EAST},
        identity=one(allow("ec2:*"),
                     deny("ec2:*", "*", {"StringEquals": {"aws:RequestedRegion": WEST}}))),
    row("eval:allow-whose-condition-is-false-does-not-apply",
        "A statement applies only when its conditions match", EVAL, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={"aws:RequestedRegion": EAST},
        identity=cond_allow("StringEquals", "aws:RequestedRegion", WEST)),
    row("eval:statement-as-a-single-object",
        "Statement may be one object (the guide's examples use that form)", EVAL, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=({"Version": V2012,
                   "Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}},)),
    row("eval:any-identity-policy-may-allow",
        "AWS checks all identity-based policies for at least one Allow", EVAL, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=(policy(allow("s3:*")), policy(allow("ec2:RunInstances")))),
    row("eval:interplay-get-list-allowed",
        "AllowGetList allows read-only access to IAM actions that begin with Get and List",
        DENIES, ALLOWED, action="iam:ListUsers", resource=NO_RESOURCE, identity=(INTERPLAY,)),
    row("eval:interplay-other-iam-implicitly-denied",
        "All other actions in IAM, such as iam:CreatePolicy, are implicitly denied", DENIES,
        IMPLICIT, action="iam:CreatePolicy", resource=NO_RESOURCE, identity=(INTERPLAY,)),
    row("eval:interplay-report-explicitly-denied",
        "DenyReports explicitly denies actions that include the Report suffix", DENIES, EXPLICIT,
        action="iam:GetCredentialReport", resource=NO_RESOURCE, identity=(INTERPLAY,)),
    row("eval:interplay-report-denied-despite-another-allow",
        "If someone adds another policy granting iam:GenerateCredentialReport, report-related "
        "requests are still denied because of this explicit deny", DENIES, EXPLICIT,
        action="iam:GenerateCredentialReport", resource=NO_RESOURCE,
        identity=(INTERPLAY, policy(allow("iam:GenerateCredentialReport")))),
)  # fmt: skip

ACTIONS: tuple[Case, ...] = (
    row("action:exact-name", "The name must match an action supported by the service", ACTION,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:RunInstances"))),
    row("action:name-is-case-insensitive",
        "The prefix and the action name are case insensitive", ACTION, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("ec2:runinstances"))),
    row("action:prefix-is-case-insensitive",
        "iam:ListAccessKeys is the same as IAM:listaccesskeys", ACTION, ALLOWED,
        action="iam:ListAccessKeys", resource=USER_ALICE,
        identity=one(allow("IAM:listaccesskeys"))),
    row("action:service-wildcard", '"s3:*" applies to all actions the product offers', ACTION,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("ec2:*"))),
    row("action:service-wildcard-other-service",
        "A service's wildcard covers only that service's actions", ACTION, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("s3:*"))),
    row("action:star-is-every-action", 'Action "*" matches every action', ACTION, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("*"))),
    row("action:infix-wildcard-matches",
        '"iam:*AccessKey*" applies to CreateAccessKey, DeleteAccessKey, ListAccessKeys...', ACTION,
        ALLOWED, action="iam:ListAccessKeys", resource=USER_ALICE,
        identity=one(allow("iam:*AccessKey*"))),
    row("action:infix-wildcard-does-not-match-others",
        '"iam:*AccessKey*" applies only to actions that include the string AccessKey', ACTION,
        IMPLICIT, action="iam:ListUsers", resource=NO_RESOURCE,
        identity=one(allow("iam:*AccessKey*"))),
    row("action:prefix-wildcard", "Wildcards (*) may be used as part of the action name", ACTION,
        ALLOWED, action="ec2:DescribeInstances", resource=NO_RESOURCE,
        identity=one(allow("ec2:Describe*"))),
    row("action:prefix-wildcard-excludes", "Describe* does not match RunInstances", ACTION,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:Describe*"))),
    row("action:wildcard-is-case-insensitive-too",
        "The prefix and the action name are case insensitive", ACTION, ALLOWED,
        action="ec2:DescribeInstances", resource=NO_RESOURCE,
        identity=one(allow("EC2:describe*"))),
    row("action:question-mark-is-one-character",
        "You can also use wildcards (* or ?) as part of the action name", ACTION, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("ec2:?unInstances"))),
    row("action:question-mark-is-exactly-one-character",
        "? is a single-character wildcard: it does not match three characters", ACTION,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:?Instances"))),
    row("action:no-wildcard-is-not-a-prefix-match",
        "Without a wildcard the whole name must match", ACTION, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("ec2:Run"))),
    row("action:list-is-any-of", "You can specify multiple values for the Action element",
        ACTION, ALLOWED, action="ec2:StartInstances", resource=INSTANCE,
        identity=one(allow(["sqs:SendMessage", "ec2:StartInstances", "iam:ChangePassword"]))),
    row("notaction:allow-grants-unlisted",
        "NotAction with Allow: every action in every service except IAM", NOTACTION, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(st("Allow", not_action="iam:*", resource="*"))),
    row("notaction:allow-excludes-listed",
        "NotAction matches everything except the specified list of actions", NOTACTION,
        IMPLICIT, action="iam:CreateUser", resource=USER_ALICE,
        identity=one(st("Allow", not_action="iam:*", resource="*"))),
    row("notaction:is-case-insensitive",
        "The prefix and the action name are case insensitive (NotAction too)", NOTACTION,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(st("Allow", not_action="EC2:RUN*", resource="*"))),
    row("notaction:deny-denies-unlisted",
        "NotAction with Deny explicitly denies the actions not listed", NOTACTION, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow(), st("Deny", not_action="iam:*", resource="*"))),
    row("notaction:deny-spares-listed",
        "NotAction with Deny does not deny the listed actions", NOTACTION, ALLOWED,
        action="iam:ListUsers", resource=NO_RESOURCE,
        identity=one(allow(), st("Deny", not_action="iam:*", resource="*"))),
    row("notaction:resource-scopes-it-s3-object",
        "NotAction s3:DeleteBucket on arn:aws:s3:::* allows the other S3 actions on S3 resources",
        NOTACTION, ALLOWED, action="s3:GetObject", resource=f"{BUCKET}/report.csv",
        identity=one(st("Allow", not_action="s3:DeleteBucket", resource="arn:aws:s3:::*"))),
    row("notaction:resource-scope-excludes-listed",
        "...except for deleting a bucket", NOTACTION, IMPLICIT, action="s3:DeleteBucket",
        resource=BUCKET,
        identity=one(st("Allow", not_action="s3:DeleteBucket", resource="arn:aws:s3:::*"))),
    row("notaction:resource-scope-excludes-star-resource-actions",
        "This does not allow ListAllMyBuckets, because that action requires the \"*\" resource",
        NOTACTION, IMPLICIT, action="s3:ListAllMyBuckets", resource=NO_RESOURCE,
        identity=one(st("Allow", not_action="s3:DeleteBucket", resource="arn:aws:s3:::*"))),
    row("notaction:resource-scope-excludes-other-services",
        "This policy also does not allow actions in other services, because other service "
        "actions are not applicable to the S3 resources", NOTACTION, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(st("Allow", not_action="s3:DeleteBucket", resource="arn:aws:s3:::*"))),
    row("notaction:deny-without-mfa-denies-non-iam",
        "DenyAllUsersNotUsingMFA: denies non-IAM actions when not signed in with MFA",
        NOTACTION, EXPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow(), DENY_NON_IAM_WITHOUT_MFA)),
    row("notaction:deny-without-mfa-spares-iam",
        "DenyAllUsersNotUsingMFA: would only explicitly deny all other actions except IAM",
        NOTACTION, ALLOWED, action="iam:ListUsers", resource=NO_RESOURCE,
        identity=one(allow(), DENY_NON_IAM_WITHOUT_MFA)),
    row("notaction:deny-with-mfa-does-not-apply",
        "If the user is signed in with MFA the Condition test fails and the Deny has no effect",
        NOTACTION, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={"aws:MultiFactorAuthPresent": "true"},
        identity=one(allow(), DENY_NON_IAM_WITHOUT_MFA)),
)  # fmt: skip

S3_MIDDLE = f"{BUCKET}/*/test/*"
RESOURCES: tuple[Case, ...] = (
    row("resource:exact-arn", "You specify a resource using an ARN", RESOURCE, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:TerminateInstances", INSTANCE))),
    row("resource:star-matches-any", 'Resource "*" matches every resource', RESOURCE, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE, identity=one(allow("ec2:*", "*"))),
    row("resource:iam-user-name-case-sensitive",
        "In the Resource element, the IAM user name is case sensitive", RESOURCE, IMPLICIT,
        action="iam:GetUser", resource=f"arn:aws:iam::{ACCT}:user/bob",
        identity=one(allow("iam:GetUser", f"arn:aws:iam::{ACCT}:user/Bob"))),
    row("resource:iam-user-name-same-case",
        "arn:aws:iam::account:user/Bob refers to the IAM user named Bob", RESOURCE, ALLOWED,
        action="iam:GetUser", resource=f"arn:aws:iam::{ACCT}:user/Bob",
        identity=one(allow("iam:GetUser", f"arn:aws:iam::{ACCT}:user/Bob"))),
    row("resource:path-wildcard",
        "arn:aws:iam::account:user/accounting/* refers to all users whose path is /accounting",
        RESOURCE, ALLOWED, action="iam:GetUser",
        resource=f"arn:aws:iam::{ACCT}:user/accounting/alice",
        identity=one(allow("iam:GetUser", f"arn:aws:iam::{ACCT}:user/accounting/*"))),
    row("resource:path-wildcard-other-path", "...and not users of another path", RESOURCE,
        IMPLICIT, action="iam:GetUser", resource=f"arn:aws:iam::{ACCT}:user/marketing/alice",
        identity=one(allow("iam:GetUser", f"arn:aws:iam::{ACCT}:user/accounting/*"))),
    row("resource:star-spans-slashes",
        "* can expand to replace everything within a segment, including /: "
        "bucket/*/test/* applies to bucket/1/2/test/3/object.jpg", RESOURCE, ALLOWED,
        action="s3:GetObject", resource=f"{BUCKET}/1/2/test/3/object.jpg",
        identity=one(allow("s3:GetObject", S3_MIDDLE))),
    row("resource:star-spans-repeated-slashes",
        "bucket/*/test/* applies to bucket/1///test///object.jpg", RESOURCE, ALLOWED,
        action="s3:GetObject", resource=f"{BUCKET}/1///test///object.jpg",
        identity=one(allow("s3:GetObject", S3_MIDDLE))),
    row("resource:star-matches-empty",
        "bucket/*/test/* applies to bucket//test/object.jpg (* matches nothing)", RESOURCE,
        ALLOWED, action="s3:GetObject", resource=f"{BUCKET}//test/object.jpg",
        identity=one(allow("s3:GetObject", S3_MIDDLE))),
    row("resource:star-pattern-needs-its-literals",
        "The ARN would not match bucket/1-test/object.jpg", RESOURCE, IMPLICIT,
        action="s3:GetObject", resource=f"{BUCKET}/1-test/object.jpg",
        identity=one(allow("s3:GetObject", S3_MIDDLE))),
    row("resource:question-mark-one-character",
        "? represents any single character: example?bucket matches example1bucket", RESOURCE,
        ALLOWED, action="s3:GetObject", resource="arn:aws:s3:::example1bucket/a.txt",
        identity=one(allow("s3:GetObject", "arn:aws:s3:::example?bucket/*"))),
    row("resource:question-mark-not-zero-characters",
        "? represents exactly one character, not none", RESOURCE, IMPLICIT,
        action="s3:GetObject", resource="arn:aws:s3:::examplebucket/a.txt",
        identity=one(allow("s3:GetObject", "arn:aws:s3:::example?bucket/*"))),
    row("resource:question-mark-not-two-characters",
        "? represents exactly one character, not two", RESOURCE, IMPLICIT,
        action="s3:GetObject", resource="arn:aws:s3:::example12bucket/a.txt",
        identity=one(allow("s3:GetObject", "arn:aws:s3:::example?bucket/*"))),
    row("resource:region-wildcard-segment",
        "Wildcards can be used in any ARN segment: arn:aws:ec2:*:account:instance/*", RESOURCE,
        ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE_WEST,
        identity=one(allow("ec2:TerminateInstances", f"arn:aws:ec2:*:{ACCT}:instance/*"))),
    row("resource:region-scoped-other-region",
        "A region segment matches only that region", RESOURCE, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE_WEST,
        identity=one(allow("ec2:TerminateInstances", f"arn:aws:ec2:{EAST}:*:instance/*"))),
    row("resource:region-scoped-same-region", "A region segment matches its region", RESOURCE,
        ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:TerminateInstances", f"arn:aws:ec2:{EAST}:*:instance/*"))),
    row("resource:partial-region-wildcard", "us-*-1 matches us-east-1", RESOURCE, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:TerminateInstances", f"arn:aws:ec2:us-*-1:{ACCT}:instance/*"))),
    row("resource:partial-region-wildcard-excludes", "us-*-1 does not match eu-west-1", RESOURCE,
        IMPLICIT, action="ec2:TerminateInstances", resource=INSTANCE_WEST,
        identity=one(allow("ec2:TerminateInstances", f"arn:aws:ec2:us-*-1:{ACCT}:instance/*"))),
    row("resource:other-account", "The account segment must match", RESOURCE, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:*", f"arn:aws:ec2:{EAST}:111122223333:instance/*"))),
    row("resource:other-resource-type", "The resource part must match", RESOURCE, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:*", f"arn:aws:ec2:{EAST}:{ACCT}:volume/*"))),
    row("resource:other-partition", "The partition segment must match", RESOURCE, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:*", "arn:aws-cn:ec2:*:*:instance/*"))),
    row("resource:other-service", "The service segment must match", RESOURCE, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("*", "arn:aws:s3:::*"))),
    row("resource:image-empty-account-exact",
        "EC2 image ARNs have an empty account: arn:aws:ec2:region::image/ami-*", RESOURCE,
        ALLOWED, action="ec2:RunInstances", resource=IMAGE,
        identity=one(allow("ec2:RunInstances", f"arn:aws:ec2:{EAST}::image/*"))),
    row("resource:image-empty-account-star",
        "* represents any combination of characters, none included (bucket//test/ example)",
        RESOURCE, ALLOWED, action="ec2:RunInstances", resource=IMAGE,
        identity=one(allow("ec2:RunInstances", f"arn:aws:ec2:{EAST}:*:image/*"))),
    row("resource:image-empty-account-named-account",
        "An account segment does not match the image ARN's empty account", RESOURCE, IMPLICIT,
        action="ec2:RunInstances", resource=IMAGE,
        identity=one(allow("ec2:RunInstances", f"arn:aws:ec2:{EAST}:{ACCT}:image/*"))),
    row("resource:image-empty-account-question-mark",
        "? needs exactly one character; the image's account segment is empty", RESOURCE,
        IMPLICIT, action="ec2:RunInstances", resource=IMAGE,
        identity=one(allow("ec2:RunInstances", f"arn:aws:ec2:{EAST}:?:image/*"))),
    row("resource:resourceless-action-star",
        "Some actions cannot be scoped to resources: use the wildcard * in Resource", RESOURCE,
        ALLOWED, action="ec2:DescribeInstances", resource=NO_RESOURCE,
        identity=one(allow("ec2:DescribeInstances", "*"))),
    row("resource:resourceless-action-arn-pattern",
        "An action that requires the \"*\" resource is not matched by an ARN pattern", RESOURCE,
        IMPLICIT, action="ec2:DescribeInstances", resource=NO_RESOURCE,
        identity=one(allow("ec2:*", "arn:aws:ec2:*:*:*"))),
    row("resource:resourceless-action-s3",
        "ListAllMyBuckets requires the \"*\" resource (NotAction page)", RESOURCE, IMPLICIT,
        action="s3:ListAllMyBuckets", resource=NO_RESOURCE,
        identity=one(allow("s3:*", "arn:aws:s3:::*"))),
    row("resource:list-is-any-of", "You can specify multiple resources", RESOURCE, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:*", [f"{BUCKET}/*", INSTANCE]))),
    row("resource:trailing-star-crosses-colons",
        "If * is the last character of a segment, it can expand beyond the colon boundaries",
        RESOURCE, ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow("ec2:*", f"arn:aws:ec2:{EAST}:*"))),
    row("notresource:allow-everything-but-listed",
        "NotResource matches every resource except those specified", NOTRESOURCE, ALLOWED,
        action="s3:GetObject", resource="arn:aws:s3:::HRBucket/Other/a.txt",
        identity=one(st("Allow", action="s3:*", not_resource="arn:aws:s3:::HRBucket/Payroll/*"))),
    row("notresource:allow-excludes-listed", "The listed resources are the only ones excluded",
        NOTRESOURCE, IMPLICIT, action="s3:GetObject",
        resource="arn:aws:s3:::HRBucket/Payroll/june.pdf",
        identity=one(st("Allow", action="s3:*", not_resource="arn:aws:s3:::HRBucket/Payroll/*"))),
    row("notresource:deny-hr-payroll-spares-listed",
        "Deny s3:* NotResource HRBucket/Payroll: the Payroll folder is not denied", NOTRESOURCE,
        ALLOWED, action="s3:GetObject", resource="arn:aws:s3:::HRBucket/Payroll/june.pdf",
        identity=one(allow("s3:*"),
                     st("Deny", action="s3:*", not_resource=["arn:aws:s3:::HRBucket/Payroll",
                                                             "arn:aws:s3:::HRBucket/Payroll/*"]))),
    row("notresource:deny-hr-payroll-denies-others",
        "The policy explicitly denies access to all Amazon S3 resources other than the listed",
        NOTRESOURCE, EXPLICIT, action="s3:GetObject", resource="arn:aws:s3:::HRBucket/Other/a",
        identity=one(allow("s3:*"),
                     st("Deny", action="s3:*", not_resource=["arn:aws:s3:::HRBucket/Payroll",
                                                             "arn:aws:s3:::HRBucket/Payroll/*"]))),
    row("notresource:deny-alone-grants-nothing",
        "Note, however, that this policy does not grant the user access to any resources",
        NOTRESOURCE, IMPLICIT, action="s3:GetObject",
        resource="arn:aws:s3:::HRBucket/Payroll/june.pdf",
        identity=one(st("Deny", action="s3:*", not_resource=["arn:aws:s3:::HRBucket/Payroll",
                                                             "arn:aws:s3:::HRBucket/Payroll/*"]))),
    row("notresource:deny-with-ec2-action-denies-ec2-resources",
        "If the Action element also included EC2 actions, the policy would deny access to any "
        "EC2 resources not specified in NotResource", NOTRESOURCE, EXPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow(),
                     st("Deny", action=["s3:*", "ec2:*"],
                        not_resource=["arn:aws:s3:::HRBucket/Payroll",
                                      "arn:aws:s3:::HRBucket/Payroll/*"]))),
    row("notresource:case-sensitive-other-case-not-excluded",
        "NotResource compares ARNs like Resource: IAM user names are case sensitive",
        NOTRESOURCE, ALLOWED, action="iam:GetUser", resource=f"arn:aws:iam::{ACCT}:user/bob",
        identity=one(st("Allow", action="iam:GetUser",
                        not_resource=f"arn:aws:iam::{ACCT}:user/Bob"))),
    row("notresource:case-sensitive-same-case-excluded",
        "The resource named in NotResource is excluded", NOTRESOURCE, IMPLICIT,
        action="iam:GetUser", resource=f"arn:aws:iam::{ACCT}:user/Bob",
        identity=one(st("Allow", action="iam:GetUser",
                        not_resource=f"arn:aws:iam::{ACCT}:user/Bob"))),
    row("notresource:wildcard-region-excluded",
        "NotResource with wildcards excludes every resource its patterns match", NOTRESOURCE,
        IMPLICIT, action="ec2:TerminateInstances", resource=INSTANCE_WEST,
        identity=one(st("Allow", action="ec2:*", not_resource=f"arn:aws:ec2:{WEST}:*:*"))),
    row("notresource:wildcard-region-other-included",
        "...and matches every other resource", NOTRESOURCE, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(st("Allow", action="ec2:*", not_resource=f"arn:aws:ec2:{WEST}:*:*"))),
)  # fmt: skip

ITYPE = "ec2:InstanceType"
STRING: tuple[Case, ...] = (
    row("string:equals-matches", "StringEquals: exact matching, case sensitive", OPS_STRING,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringEquals", ITYPE, "t3.micro")),
    row("string:equals-is-case-sensitive", "StringEquals: exact matching, case sensitive",
        OPS_STRING, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        keys={ITYPE: "t3.micro"}, identity=cond_allow("StringEquals", ITYPE, "T3.MICRO")),
    row("string:equals-has-no-wildcards",
        "StringEquals is exact; you must use StringLike wildcards for partial matches",
        OPS_STRING, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        keys={ITYPE: "t3.micro"}, identity=cond_allow("StringEquals", ITYPE, "t3.*")),
    row("string:not-equals-different", "StringNotEquals: negated matching", OPS_STRING, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "m5.large"},
        identity=cond_allow("StringNotEquals", ITYPE, "t3.micro")),
    row("string:not-equals-same", "StringNotEquals: negated matching", OPS_STRING, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringNotEquals", ITYPE, "t3.micro")),
    row("string:equals-ignore-case", "StringEqualsIgnoreCase: exact matching, ignoring case",
        OPS_STRING, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={ITYPE: "t3.micro"}, identity=cond_allow("StringEqualsIgnoreCase", ITYPE, "T3.Micro")),
    row("string:equals-ignore-case-different",
        "StringEqualsIgnoreCase still needs the same characters", OPS_STRING, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringEqualsIgnoreCase", ITYPE, "T3.NANO")),
    row("string:not-equals-ignore-case-same-letters",
        "StringNotEqualsIgnoreCase: negated matching, ignoring case", OPS_STRING, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringNotEqualsIgnoreCase", ITYPE, "T3.MICRO")),
    row("string:not-equals-ignore-case-different",
        "StringNotEqualsIgnoreCase: negated matching, ignoring case", OPS_STRING, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "m5.large"},
        identity=cond_allow("StringNotEqualsIgnoreCase", ITYPE, "T3.MICRO")),
    row("string:like-star", "StringLike: multi-character match wildcard (*)", OPS_STRING,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringLike", ITYPE, "t3.*")),
    row("string:like-star-no-match", "StringLike: the literal part must match", OPS_STRING,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "m5.large"},
        identity=cond_allow("StringLike", ITYPE, "t3.*")),
    row("string:like-is-case-sensitive", "StringLike: case-sensitive matching", OPS_STRING,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringLike", ITYPE, "T3.*")),
    row("string:like-question-mark", "StringLike: single-character match wildcard (?)",
        OPS_STRING, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={ITYPE: "t3.micro"}, identity=cond_allow("StringLike", ITYPE, "t?.micro")),
    row("string:like-question-mark-one-only", "? matches a single character", OPS_STRING,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3a.micro"},
        identity=cond_allow("StringLike", ITYPE, "t?.micro")),
    row("string:not-like-no-match", "StringNotLike: negated case-sensitive matching",
        OPS_STRING, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={ITYPE: "m5.large"}, identity=cond_allow("StringNotLike", ITYPE, "t3.*")),
    row("string:not-like-match", "StringNotLike: negated case-sensitive matching", OPS_STRING,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t3.micro"},
        identity=cond_allow("StringNotLike", ITYPE, "t3.*")),
    row("string:key-name-case-insensitive",
        "Key names are case-insensitive: aws:CurrentTime is equivalent to AWS:currenttime",
        VARS, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={"aws:RequestedRegion": EAST},
        identity=cond_allow("StringEquals", "AWS:requestedregion", EAST)),
    row("string:principal-tag-absent",
        "If a user without the tag attempts it, the condition returns false and the request "
        "is implicitly denied by this statement", OPS_STRING, IMPLICIT,
        action="iam:CreateAccessKey", resource=USER_ALICE,
        identity=cond_allow("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin")),
    row("string:principal-tag-present",
        "The principal making the request must be tagged with the iamuser-admin job category",
        OPS_STRING, ALLOWED, action="iam:CreateAccessKey", resource=USER_ALICE,
        keys={"aws:PrincipalTag/job-category": "iamuser-admin"},
        identity=cond_allow("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin")),
)  # fmt: skip

MAXKEYS = "s3:max-keys"
LIST = {"action": "s3:ListBucket", "resource": "arn:aws:s3:::example_bucket"}


def numeric(
    id: str, operator: str, policy_value: str, request_value: str, expected: Verdict
) -> Case:
    return row(
        f"numeric:{id}",
        f"{operator} {policy_value} with {request_value} in the request",
        OPS_NUMERIC,
        expected,
        keys={MAXKEYS: request_value},
        identity=cond_allow(operator, MAXKEYS, policy_value),
        **LIST,
    )


NUMERIC: tuple[Case, ...] = (
    numeric("equals", "NumericEquals", "10", "10", ALLOWED),
    numeric("equals-other", "NumericEquals", "10", "11", IMPLICIT),
    numeric("not-equals", "NumericNotEquals", "10", "11", ALLOWED),
    numeric("not-equals-same", "NumericNotEquals", "10", "10", IMPLICIT),
    numeric("less-than-is-numeric-not-lexical", "NumericLessThan", "10", "9", ALLOWED),
    numeric("less-than-equal-bound", "NumericLessThan", "10", "10", IMPLICIT),
    numeric("less-than-equals-bound", "NumericLessThanEquals", "10", "10", ALLOWED),
    numeric("less-than-equals-above", "NumericLessThanEquals", "10", "11", IMPLICIT),
    numeric("greater-than-is-numeric-not-lexical", "NumericGreaterThan", "9", "10", ALLOWED),
    numeric("greater-than-equal-bound", "NumericGreaterThan", "9", "9", IMPLICIT),
    numeric("greater-than-equals-bound", "NumericGreaterThanEquals", "10", "10", ALLOWED),
    numeric("greater-than-equals-below", "NumericGreaterThanEquals", "10", "9", IMPLICIT),
    numeric("decimal-values", "NumericLessThan", "2.5", "2.25", ALLOWED),
    row(
        "numeric:doc-example-up-to-10",
        "NumericLessThanEquals s3:max-keys 10: the requester can list up to 10 objects",
        OPS_NUMERIC,
        IMPLICIT,
        keys={MAXKEYS: "1000"},
        identity=cond_allow("NumericLessThanEquals", MAXKEYS, "10"),
        **LIST,
    ),
)

NOW = "aws:CurrentTime"
EPOCH = "aws:EpochTime"


def date(
    id: str, operator: str, policy_value: str, request_value: str, expected: Verdict, key: str = NOW
) -> Case:
    return row(
        f"date:{id}",
        f"{operator} {policy_value} with {key} {request_value}",
        OPS_DATE,
        expected,
        action="ec2:RunInstances",
        resource=INSTANCE,
        keys={key: request_value},
        identity=cond_allow(operator, key, policy_value),
    )


NEW_YEAR = "2020-01-01T00:00:00Z"
DATES: tuple[Case, ...] = (
    date("equals", "DateEquals", NEW_YEAR, NEW_YEAR, ALLOWED),
    date("equals-other-second", "DateEquals", NEW_YEAR, "2020-01-01T00:00:01Z", IMPLICIT),
    date("not-equals", "DateNotEquals", NEW_YEAR, "2020-01-01T00:00:01Z", ALLOWED),
    date("not-equals-same", "DateNotEquals", NEW_YEAR, NEW_YEAR, IMPLICIT),
    date("less-than", "DateLessThan", NEW_YEAR, "2019-12-31T23:59:59Z", ALLOWED),
    date("less-than-equal-bound", "DateLessThan", NEW_YEAR, NEW_YEAR, IMPLICIT),
    date("less-than-equals-bound", "DateLessThanEquals", NEW_YEAR, NEW_YEAR, ALLOWED),
    date("less-than-equals-after", "DateLessThanEquals", NEW_YEAR, "2020-01-01T00:00:01Z",
         IMPLICIT),
    date("greater-than", "DateGreaterThan", NEW_YEAR, "2020-01-01T00:00:01Z", ALLOWED),
    date("greater-than-equal-bound", "DateGreaterThan", NEW_YEAR, NEW_YEAR, IMPLICIT),
    date("greater-than-equals-bound", "DateGreaterThanEquals", NEW_YEAR, NEW_YEAR, ALLOWED),
    date("greater-than-equals-before", "DateGreaterThanEquals", NEW_YEAR, "2019-12-31T23:59:59Z",
         IMPLICIT),
    date("epoch-less-than", "DateLessThan", "1577836800", "1577836799", ALLOWED, key=EPOCH),
    date("epoch-less-than-bound", "DateLessThan", "1577836800", "1577836800", IMPLICIT, key=EPOCH),
    date("epoch-greater-than-is-numeric", "DateGreaterThan", "999999999", "1577836800", ALLOWED,
         key=EPOCH),
    date("epoch-policy-value-iso-request", "DateGreaterThan", "1577836800", "2020-06-01T00:00:00Z",
         ALLOWED),
    date("iso-date-only", "DateGreaterThan", "2020-01-01", "2020-06-15T12:00:00Z", ALLOWED),
    date("iso-time-zone-offset", "DateEquals", "2020-01-01T01:00:00+01:00", NEW_YEAR, ALLOWED),
    row("date:token-issue-time-absent-for-access-keys",
        "aws:TokenIssueTime is not present for requests made with access keys: if an IAM user "
        "attempts it, the request is denied", OPS_DATE, IMPLICIT,
        action="iam:CreateAccessKey", resource=USER_ALICE,
        identity=cond_allow("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z")),
)  # fmt: skip

MFA = "aws:MultiFactorAuthPresent"
TLS = "aws:SecureTransport"
BOOLS: tuple[Case, ...] = (
    row("bool:true-matches-true", "Bool: Boolean matching", OPS_BOOL, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={MFA: "true"},
        identity=cond_allow("Bool", MFA, "true")),
    row("bool:true-does-not-match-false", "Bool: Boolean matching", OPS_BOOL, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={MFA: "false"},
        identity=cond_allow("Bool", MFA, "true")),
    row("bool:deny-without-tls-spares-tls",
        "BooleanExample denies S3 actions if the request is not over SSL", OPS_BOOL, ALLOWED,
        action="s3:GetObject", resource=f"{BUCKET}/a.txt", keys={TLS: "true"},
        identity=one(allow("s3:*"), deny("s3:*", [BUCKET, f"{BUCKET}/*"],
                                        {"Bool": {TLS: "false"}}))),
    row("bool:deny-without-tls-denies-plain-http",
        "BooleanExample denies S3 actions if the request is not over SSL", OPS_BOOL, EXPLICIT,
        action="s3:GetObject", resource=f"{BUCKET}/a.txt", keys={TLS: "false"},
        identity=one(allow("s3:*"), deny("s3:*", [BUCKET, f"{BUCKET}/*"],
                                        {"Bool": {TLS: "false"}}))),
    row("bool:allow-needs-the-key",
        "If the key is not present in the request context, the values do not match", OPS_BOOL,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("Bool", MFA, "true")),
    row("bool:json-boolean-policy-value",
        'The guide writes {"aws:MultiFactorAuthPresent": false} unquoted; it matches "false"',
        EC2_MFA, EXPLICIT, action="ec2:StopInstances", resource=INSTANCE, keys={MFA: "false"},
        identity=(EC2_REQUIRE_MFA,)),
)  # fmt: skip

BLOB = "QmluYXJ5VmFsdWVJbkJhc2U2NA=="  # the guide's example value
BINARY_KEY = "example:BinaryValue"
BINARY: tuple[Case, ...] = (
    row("binary:equals-same-bytes",
        "BinaryEquals compares the key byte for byte against the base-64 value in the policy "
        "(request values given base-64 encoded, as SimulatePrincipalPolicy takes them)",
        OPS_BINARY, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={BINARY_KEY: BLOB}, identity=cond_allow("BinaryEquals", BINARY_KEY, BLOB)),
    row("binary:equals-other-bytes", "BinaryEquals: byte-for-byte comparison", OPS_BINARY,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        keys={BINARY_KEY: "T3RoZXJWYWx1ZQ=="},
        identity=cond_allow("BinaryEquals", BINARY_KEY, BLOB)),
    row("binary:equals-absent",
        "If the key is not present in the request context, the values do not match",
        OPS_BINARY, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("BinaryEquals", BINARY_KEY, BLOB)),
)  # fmt: skip

SRC = "aws:SourceIp"
CORP_V4 = "203.0.113.0/24"
CORP_V6 = "2001:DB8:1234:5678::/64"
IP: tuple[Case, ...] = (
    row("ip:v4-in-range", "IpAddress: the request must come from 203.0.113.0-203.0.113.255",
        OPS_IP, ALLOWED, action="iam:CreateAccessKey", resource=USER_ALICE,
        keys={SRC: "203.0.113.7"}, identity=cond_allow("IpAddress", SRC, CORP_V4)),
    row("ip:v4-out-of-range", "IpAddress: the specified IP address or range", OPS_IP, IMPLICIT,
        action="iam:CreateAccessKey", resource=USER_ALICE, keys={SRC: "198.51.100.7"},
        identity=cond_allow("IpAddress", SRC, CORP_V4)),
    row("ip:no-prefix-is-slash-32",
        "An IP address without a routing prefix uses the default prefix /32", OPS_IP, ALLOWED,
        action="iam:CreateAccessKey", resource=USER_ALICE, keys={SRC: "203.0.113.5"},
        identity=cond_allow("IpAddress", SRC, "203.0.113.5")),
    row("ip:no-prefix-excludes-neighbour",
        "An IP address without a routing prefix uses the default prefix /32", OPS_IP, IMPLICIT,
        action="iam:CreateAccessKey", resource=USER_ALICE, keys={SRC: "203.0.113.6"},
        identity=cond_allow("IpAddress", SRC, "203.0.113.5")),
    row("ip:v6-in-range", "IPv6 in CIDR format, e.g. 2001:DB8:1234:5678::/64", OPS_IP, ALLOWED,
        action="iam:CreateAccessKey", resource=USER_ALICE, keys={SRC: "2001:db8:1234:5678::1"},
        identity=cond_allow("IpAddress", SRC, CORP_V6)),
    row("ip:v6-out-of-range", "IPv6 in CIDR format, e.g. 2001:DB8:1234:5678::/64", OPS_IP,
        IMPLICIT, action="iam:CreateAccessKey", resource=USER_ALICE,
        keys={SRC: "2001:db8:1234:5679::1"}, identity=cond_allow("IpAddress", SRC, CORP_V6)),
    row("ip:mixed-list-v6-request",
        "Mix IPv4 and IPv6 addresses to cover all of your organization's valid addresses",
        OPS_IP, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={SRC: "2001:db8:1234:5678:abcd::1"},
        identity=cond_allow("IpAddress", SRC, [CORP_V4, CORP_V6])),
    row("ip:mixed-list-v4-request",
        "Mix IPv4 and IPv6 addresses to cover all of your organization's valid addresses",
        OPS_IP, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={SRC: "203.0.113.200"}, identity=cond_allow("IpAddress", SRC, [CORP_V4, CORP_V6])),
    row("ip:v4-request-v6-range", "An IPv4 address is not in an IPv6 range", OPS_IP, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={SRC: "203.0.113.7"},
        identity=cond_allow("IpAddress", SRC, CORP_V6)),
    row("ip:not-ip-inside-range",
        "NotIpAddress: all IP addresses except the specified address or range", OPS_IP,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={SRC: "203.0.113.7"},
        identity=cond_allow("NotIpAddress", SRC, CORP_V4)),
    row("ip:not-ip-outside-range",
        "NotIpAddress: all IP addresses except the specified address or range", OPS_IP, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={SRC: "198.51.100.7"},
        identity=cond_allow("NotIpAddress", SRC, CORP_V4)),
    row("ip:deny-outside-corporate-range",
        "NotIpAddress in a Deny denies calls from outside the range", OPS_IP, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={SRC: "198.51.100.7"},
        identity=one(allow(), deny("*", "*", {"NotIpAddress": {SRC: [CORP_V4, CORP_V6]}}))),
    row("ip:deny-outside-spares-inside",
        "NotIpAddress in a Deny does not deny calls from inside the range", OPS_IP, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={SRC: "203.0.113.7"},
        identity=one(allow(), deny("*", "*", {"NotIpAddress": {SRC: [CORP_V4, CORP_V6]}}))),
    row("ip:source-ip-absent-via-vpc-endpoint",
        "aws:SourceIp is absent when the requester uses a VPC endpoint: the condition returns "
        "false and the request is implicitly denied by this statement", OPS_IP, IMPLICIT,
        action="iam:CreateAccessKey", resource=USER_ALICE, keys={"aws:SourceVpce": "vpce-1a2b3c4d"},
        identity=cond_allow("IpAddress", SRC, CORP_V4)),
)  # fmt: skip

SRCARN = "aws:SourceArn"
TOPIC = f"arn:aws:sns:{EAST}:{ACCT}:topic-a"
ODD_PATTERN = "arn:aws:someservice:*:111122223333:finance/*"
ODD_VALUE = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
ARNS: tuple[Case, ...] = (
    row("arn:equals-exact", "ArnEquals: case-sensitive matching of the ARN", OPS_ARN, ALLOWED,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC}, identity=cond_allow("ArnEquals", SRCARN, TOPIC)),
    row("arn:like-wildcards-per-component",
        "ArnLike: each of the six colon-delimited components can include * or ?", OPS_ARN,
        ALLOWED, action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC},
        identity=cond_allow("ArnLike", SRCARN, f"arn:aws:sns:*:{ACCT}:topic-?")),
    row("arn:equals-behaves-like-arnlike",
        "The ArnEquals and ArnLike condition operators behave identically (wildcards included)",
        OPS_ARN, ALLOWED, action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC}, identity=cond_allow("ArnEquals", SRCARN, f"arn:aws:sns:*:{ACCT}:*")),
    row("arn:like-other-account", "ArnLike: the account component must match", OPS_ARN,
        IMPLICIT, action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC},
        identity=cond_allow("ArnLike", SRCARN, "arn:aws:sns:*:111122223333:*")),
    row("arn:like-does-not-cross-colons",
        "With ArnLike the first asterisk matches only us-east-2 and fails on "
        "999999999999:store/abc:", OPS_ARN, IMPLICIT, action="sqs:SendMessage",
        resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1", keys={SRCARN: ODD_VALUE},
        identity=cond_allow("ArnLike", SRCARN, ODD_PATTERN)),
    row("arn:stringlike-crosses-colons",
        "With a StringLike condition the same match succeeds", OPS_ARN, ALLOWED,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: ODD_VALUE}, identity=cond_allow("StringLike", SRCARN, ODD_PATTERN)),
    row("arn:not-equals-different", "ArnNotEquals: negated matching for ARN", OPS_ARN, ALLOWED,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC}, identity=cond_allow("ArnNotEquals", SRCARN, f"{TOPIC}-other")),
    row("arn:not-equals-same", "ArnNotEquals: negated matching for ARN", OPS_ARN, IMPLICIT,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC}, identity=cond_allow("ArnNotEquals", SRCARN, TOPIC)),
    row("arn:not-like-matching", "ArnNotLike: negated matching for ARN", OPS_ARN, IMPLICIT,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC}, identity=cond_allow("ArnNotLike", SRCARN, "arn:aws:sns:*:*:*")),
    row("arn:not-like-other", "ArnNotLike: negated matching for ARN", OPS_ARN, ALLOWED,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: TOPIC}, identity=cond_allow("ArnNotLike", SRCARN, "arn:aws:s3:::*")),
    row("arn:source-arn-absent-for-direct-call",
        "aws:SourceArn is present only when a service calls on behalf of a resource; for a "
        "direct call the condition returns false and the request is implicitly denied",
        OPS_ARN, IMPLICIT, action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        identity=cond_allow("ArnEquals", SRCARN, TOPIC)),
)  # fmt: skip

NULLS: tuple[Case, ...] = (
    row("null:true-and-absent",
        "Null true: the key doesn't exist (the user must not use temporary credentials)",
        OPS_NULL, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("Null", "aws:TokenIssueTime", "true", "ec2:*")),
    row("null:true-and-present",
        "With temporary credentials aws:TokenIssueTime exists, so Null true is false",
        OPS_NULL, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        keys={"aws:TokenIssueTime": "2024-05-01T12:00:00Z"},
        identity=cond_allow("Null", "aws:TokenIssueTime", "true", "ec2:*")),
    row("null:false-and-present", "Null false: the key exists and its value is not null",
        OPS_NULL, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={"aws:TokenIssueTime": "2024-05-01T12:00:00Z"},
        identity=cond_allow("Null", "aws:TokenIssueTime", "false")),
    row("null:false-and-absent", "Null false: the key exists and its value is not null",
        OPS_NULL, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("Null", "aws:TokenIssueTime", "false")),
)  # fmt: skip

TAG_ENV = "aws:ResourceTag/env"
IFEXISTS: tuple[Case, ...] = (
    row("ifexists:string-equals-absent",
        "If the key is not present, evaluate the condition element as true", OPS_IFEXISTS,
        ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE,
        identity=cond_allow("StringEqualsIfExists", TAG_ENV, "dev")),
    row("ifexists:string-equals-present-match",
        "If the key is present, process the key as specified in the policy", OPS_IFEXISTS,
        ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE, keys={TAG_ENV: "dev"},
        identity=cond_allow("StringEqualsIfExists", TAG_ENV, "dev")),
    row("ifexists:string-equals-present-mismatch",
        "If the key is present, process the key as specified in the policy", OPS_IFEXISTS,
        IMPLICIT, action="ec2:TerminateInstances", resource=INSTANCE, keys={TAG_ENV: "prod"},
        identity=cond_allow("StringEqualsIfExists", TAG_ENV, "dev")),
    row("ifexists:ec2-image-without-ifexists-fails",
        "THISPOLICYDOESNOTWORK: the image has no ec2:InstanceType, so StringLike fails",
        OPS_IFEXISTS, IMPLICIT, action="ec2:RunInstances", resource=IMAGE,
        identity=cond_allow("StringLike", ITYPE, IFEXISTS_TYPES, "ec2:RunInstances")),
    row("ifexists:ec2-image-with-ifexists",
        "StringLikeIfExists: if the resource does not have that key, don't worry about it",
        OPS_IFEXISTS, ALLOWED, action="ec2:RunInstances", resource=IMAGE,
        identity=cond_allow("StringLikeIfExists", ITYPE, IFEXISTS_TYPES, "ec2:RunInstances")),
    row("ifexists:ec2-instance-allowed-type",
        "Allow the action only if the key value begins with t1., t2., or m3.", OPS_IFEXISTS,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "t2.micro"},
        identity=cond_allow("StringLikeIfExists", ITYPE, IFEXISTS_TYPES, "ec2:RunInstances")),
    row("ifexists:ec2-instance-other-type",
        "Allow the action only if the key value begins with t1., t2., or m3.", OPS_IFEXISTS,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={ITYPE: "m5.large"},
        identity=cond_allow("StringLikeIfExists", ITYPE, IFEXISTS_TYPES, "ec2:RunInstances")),
    row("ifexists:numeric-absent", "IfExists may end any operator name except Null",
        OPS_IFEXISTS, ALLOWED, identity=cond_allow("NumericLessThanEqualsIfExists", MAXKEYS, "10"),
        **LIST),
    row("ifexists:numeric-present-mismatch", "If the key is present it is evaluated", OPS_IFEXISTS,
        IMPLICIT, keys={MAXKEYS: "11"},
        identity=cond_allow("NumericLessThanEqualsIfExists", MAXKEYS, "10"), **LIST),
    row("ifexists:date-absent", "IfExists may end any operator name except Null", OPS_IFEXISTS,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("DateGreaterThanIfExists", "aws:TokenIssueTime", NEW_YEAR)),
    row("ifexists:date-present-mismatch", "If the key is present it is evaluated", OPS_IFEXISTS,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        keys={"aws:TokenIssueTime": "2019-06-01T00:00:00Z"},
        identity=cond_allow("DateGreaterThanIfExists", "aws:TokenIssueTime", NEW_YEAR)),
    row("ifexists:ip-absent", "IfExists may end any operator name except Null", OPS_IFEXISTS,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("IpAddressIfExists", SRC, CORP_V4)),
    row("ifexists:ip-present-mismatch", "If the key is present it is evaluated", OPS_IFEXISTS,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, keys={SRC: "198.51.100.7"},
        identity=cond_allow("IpAddressIfExists", SRC, CORP_V4)),
    row("ifexists:arn-absent", "IfExists may end any operator name except Null", OPS_IFEXISTS,
        ALLOWED, action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        identity=cond_allow("ArnLikeIfExists", SRCARN, f"arn:aws:sns:*:{ACCT}:*")),
    row("ifexists:binary-absent", "IfExists may end any operator name except Null",
        OPS_IFEXISTS, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("BinaryEqualsIfExists", BINARY_KEY, BLOB)),
    row("ifexists:bool-absent", "IfExists may end any operator name except Null", OPS_IFEXISTS,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=cond_allow("BoolIfExists", MFA, "true")),
    row("ifexists:negated-in-deny-still-denies-when-missing",
        "With Deny and a negated operator like StringNotEqualsIfExists, the request is still "
        "denied even if the tag is missing", OPS_IFEXISTS, EXPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        identity=one(allow(), deny("*", "*", {"StringNotEqualsIfExists": {TAG_ENV: "dev"}}))),
    row("ifexists:negated-in-deny-spares-matching-tag",
        "StringNotEqualsIfExists with the tag present and equal does not deny", OPS_IFEXISTS,
        ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE, keys={TAG_ENV: "dev"},
        identity=one(allow(), deny("*", "*", {"StringNotEqualsIfExists": {TAG_ENV: "dev"}}))),
)  # fmt: skip

TEAM = "aws:PrincipalTag/team"


def absent(id: str, operator: str, key: str, value: Any, expected: Verdict) -> Case:
    negated = expected is ALLOWED
    return row(
        f"absent:{id}",
        f"{operator} on a key not in the request context is "
        + ("true (the condition requires that the key is not matched)" if negated else "false"),
        OPS_ABSENT,
        expected,
        action="ec2:RunInstances",
        resource=INSTANCE,
        identity=cond_allow(operator, key, value),
    )


ABSENT: tuple[Case, ...] = (
    absent("string-equals", "StringEquals", TEAM, "red", IMPLICIT),
    absent("string-equals-ignore-case", "StringEqualsIgnoreCase", TEAM, "red", IMPLICIT),
    absent("string-like", "StringLike", TEAM, "*", IMPLICIT),
    absent("numeric-equals", "NumericEquals", MAXKEYS, "10", IMPLICIT),
    absent("numeric-greater-than", "NumericGreaterThan", MAXKEYS, "0", IMPLICIT),
    absent("date-equals", "DateEquals", "aws:TokenIssueTime", NEW_YEAR, IMPLICIT),
    absent("date-less-than", "DateLessThan", "aws:TokenIssueTime", "2999-01-01T00:00:00Z",
           IMPLICIT),
    absent("bool", "Bool", MFA, "false", IMPLICIT),
    absent("ip-address", "IpAddress", SRC, "0.0.0.0/0", IMPLICIT),
    absent("arn-like", "ArnLike", SRCARN, "arn:*:*:*:*:*", IMPLICIT),
    absent("string-not-equals", "StringNotEquals", TEAM, "red", ALLOWED),
    absent("string-not-equals-ignore-case", "StringNotEqualsIgnoreCase", TEAM, "red", ALLOWED),
    absent("string-not-like", "StringNotLike", TEAM, "r*", ALLOWED),
    absent("numeric-not-equals", "NumericNotEquals", MAXKEYS, "10", ALLOWED),
    absent("date-not-equals", "DateNotEquals", "aws:TokenIssueTime", NEW_YEAR, ALLOWED),
    absent("not-ip-address", "NotIpAddress", SRC, CORP_V4, ALLOWED),
    absent("arn-not-equals", "ArnNotEquals", SRCARN, TOPIC, ALLOWED),
    absent("arn-not-like", "ArnNotLike", SRCARN, "arn:aws:sns:*:*:*", ALLOWED),
    row("absent:negated-in-deny-denies",
        "A negated operator on an absent key is true, so a Deny with it applies", OPS_ABSENT,
        EXPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow(), deny("*", "*", {"StringNotEquals": {TEAM: "red"}}))),
)  # fmt: skip

TAGKEYS = "aws:TagKeys"
TAG_USER = {"action": "iam:TagUser", "resource": USER_ALICE}
DENY_KEY1 = policy(
    allow(),
    st("Deny", sid="DenyRestrictedTags", action=["iam:Tag*", "iam:UnTag*"], resource=["*"],
       condition={"ForAllValues:StringNotLike": {TAGKEYS: "key1*"}}),
)  # fmt: skip
DENY_PUT_ATTRS = policy(
    allow(),
    deny("dynamodb:PutItem", f"arn:aws:dynamodb:{EAST}:{ACCT}:table/Thread",
         {"ForAnyValue:StringLike": {"dynamodb:Attributes": ["ID", "PostDateTime"]}}),
)  # fmt: skip
THREAD = {"action": "dynamodb:PutItem", "resource": f"arn:aws:dynamodb:{EAST}:{ACCT}:table/Thread"}
ALLOWED_TAGS = ["Owner", "CostCenter"]
SETS_CASES: tuple[Case, ...] = (
    row("sets:for-all-values-every-value-listed",
        "ForAllValues: true if every context key value in the request matches a policy value",
        SETS, ALLOWED, keys={TAGKEYS: ("Owner", "CostCenter")},
        identity=cond_allow("ForAllValues:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-all-values-subset", "ForAllValues: a subset of the policy values is enough",
        SETS, ALLOWED, keys={TAGKEYS: ("Owner",)},
        identity=cond_allow("ForAllValues:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-all-values-one-unlisted",
        "ForAllValues: there must be a match for every value in the request", SETS, IMPLICIT,
        keys={TAGKEYS: ("Owner", "Project")},
        identity=cond_allow("ForAllValues:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-all-values-absent-is-true",
        "ForAllValues also returns true if there are no context keys in the request", SETS,
        ALLOWED, identity=cond_allow("ForAllValues:StringEquals", TAGKEYS, ALLOWED_TAGS),
        **TAG_USER),
    row("sets:for-all-values-empty-is-true",
        "If the key values resolve to an empty data set, ForAllValues returns true", SETS,
        ALLOWED, keys={TAGKEYS: ()},
        identity=cond_allow("ForAllValues:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-all-values-with-null-false-guard",
        "A Null condition with false prevents a missing key from evaluating to true", SETS_EX,
        IMPLICIT, identity=one(allow("iam:TagUser", "*", {
            "ForAllValues:StringEquals": {TAGKEYS: ALLOWED_TAGS}, "Null": {TAGKEYS: "false"}})),
        **TAG_USER),
    row("sets:for-all-values-like",
        'ForAllValues:StringLike "Created*" matches CreatedBy and CreatedAt', SETS, ALLOWED,
        keys={TAGKEYS: ("CreatedBy", "CreatedAt")},
        identity=cond_allow("ForAllValues:StringLike", TAGKEYS, "Created*"), **TAG_USER),
    row("sets:for-any-value-one-matches",
        "ForAnyValue: true if at least one request value matches a policy value", SETS, ALLOWED,
        keys={TAGKEYS: ("Project", "Owner")},
        identity=cond_allow("ForAnyValue:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-any-value-none-matches",
        "ForAnyValue: false when no request value matches", SETS, IMPLICIT,
        keys={TAGKEYS: ("Project", "Team")},
        identity=cond_allow("ForAnyValue:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-any-value-absent-is-false",
        "ForAnyValue returns false if the key is not present in the request", SETS, IMPLICIT,
        identity=cond_allow("ForAnyValue:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-any-value-empty-is-false",
        "If the key values resolve to an empty data set, ForAnyValue returns false", SETS,
        IMPLICIT, keys={TAGKEYS: ()},
        identity=cond_allow("ForAnyValue:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:for-any-value-is-case-sensitive",
        "The qualified operator keeps its own semantics: StringEquals is case sensitive", SETS,
        IMPLICIT, keys={TAGKEYS: ("owner",)},
        identity=cond_allow("ForAnyValue:StringEquals", TAGKEYS, ALLOWED_TAGS), **TAG_USER),
    row("sets:deny-for-all-not-like-key1-legal",
        'ForAllValues:StringNotLike "key1*", request key1:legal: no match, may be allowed',
        SETS_EX, ALLOWED, keys={TAGKEYS: ("key1:legal",)}, identity=(DENY_KEY1,), **TAG_USER),
    row("sets:deny-for-all-not-like-key1-two-values",
        "Request key1:hr and key1:personnel: no match, may be allowed by another statement",
        SETS_EX, ALLOWED, keys={TAGKEYS: ("key1:hr", "key1:personnel")}, identity=(DENY_KEY1,),
        **TAG_USER),
    row("sets:deny-for-all-not-like-key2", "Request key2:audit: match (denied)", SETS_EX,
        EXPLICIT, keys={TAGKEYS: ("key2:audit",)}, identity=(DENY_KEY1,), **TAG_USER),
    row("sets:deny-for-all-not-like-absent", "No aws:TagKeys in the request context: match",
        SETS_EX, EXPLICIT, identity=(DENY_KEY1,), **TAG_USER),
    row("sets:deny-for-any-value-one-forbidden",
        "ForAnyValue Deny on ID and PostDateTime: updating PostDateTime and Message is denied",
        SETS, EXPLICIT, keys={"dynamodb:Attributes": ("UserName", "Message", "PostDateTime")},
        identity=(DENY_PUT_ATTRS,), **THREAD),
    row("sets:deny-for-any-value-none-forbidden",
        "PutItem with just UserName: the condition returns false; not denied by this policy",
        SETS, ALLOWED, keys={"dynamodb:Attributes": ("UserName",)}, identity=(DENY_PUT_ATTRS,),
        **THREAD),
)  # fmt: skip

WINDOW = {
    "DateGreaterThan": {NOW: "2013-08-16T12:00:00Z"},
    "DateLessThan": {NOW: "2013-08-16T15:00:00Z"},
    "IpAddress": {SRC: ["192.0.2.0/24", CORP_V4]},
}
RR = "aws:RequestedRegion"
MULTI_CASES: tuple[Case, ...] = (
    row("multi:operators-and-all-true",
        "Multiple condition operators are evaluated using a logical AND", MULTI, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE,
        keys={NOW: "2013-08-16T13:00:00Z", SRC: "203.0.113.9"},
        identity=one(allow("ec2:*", "*", WINDOW))),
    row("multi:operators-and-date-false",
        "Multiple condition operators are evaluated using a logical AND", MULTI, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        keys={NOW: "2013-08-16T16:00:00Z", SRC: "203.0.113.9"},
        identity=one(allow("ec2:*", "*", WINDOW))),
    row("multi:operators-and-ip-false",
        "Multiple condition operators are evaluated using a logical AND", MULTI, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        keys={NOW: "2013-08-16T13:00:00Z", SRC: "198.51.100.9"},
        identity=one(allow("ec2:*", "*", WINDOW))),
    row("multi:values-or", "Multiple values for one key are evaluated using a logical OR",
        MULTI, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={NOW: "2013-08-16T13:00:00Z", SRC: "192.0.2.77"},
        identity=one(allow("ec2:*", "*", WINDOW))),
    row("multi:keys-and-both-true",
        "Multiple context keys under one operator are evaluated using a logical AND", MULTI,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        keys={RR: EAST, ITYPE: "t3.micro"},
        identity=one(allow("ec2:*", "*", {"StringEquals": {RR: EAST, ITYPE: "t3.micro"}}))),
    row("multi:keys-and-one-false",
        "Multiple context keys under one operator are evaluated using a logical AND", MULTI,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        keys={RR: WEST, ITYPE: "t3.micro"},
        identity=one(allow("ec2:*", "*", {"StringEquals": {RR: EAST, ITYPE: "t3.micro"}}))),
    row("multi:values-or-second-value",
        "Multiple values for one key are evaluated using a logical OR", MULTI, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: WEST},
        identity=cond_allow("StringEquals", RR, [EAST, WEST])),
    row("multi:negated-values-nor-one-listed",
        "A negated operator's values are evaluated using a logical NOR", MULTI, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: WEST},
        identity=cond_allow("StringNotEquals", RR, [EAST, WEST])),
    row("multi:negated-values-nor-none-listed",
        "A negated operator's values are evaluated using a logical NOR", MULTI, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: "ap-south-1"},
        identity=cond_allow("StringNotEquals", RR, [EAST, WEST])),
    row("multi:negated-deny-listed-region-not-denied",
        "Deny with StringNotEquals [a, b]: a request in a is not denied (NOR)", MULTI, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: EAST},
        identity=one(allow(), deny("*", "*", {"StringNotEquals": {RR: [EAST, WEST]}}))),
    row("multi:negated-deny-other-region-denied",
        "Deny with StringNotEquals [a, b]: a request elsewhere is denied (NOR)", MULTI, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: "ap-south-1"},
        identity=one(allow(), deny("*", "*", {"StringNotEquals": {RR: [EAST, WEST]}}))),
)  # fmt: skip

HOME = f"{BUCKET}/home/${{aws:username}}/*"
USERNAME = "aws:username"
OWNER = "aws:ResourceTag/owner"


def home_policy(version: str | None) -> tuple[Doc, ...]:
    return one(allow("s3:GetObject", HOME), version=version)


VARIABLES: tuple[Case, ...] = (
    row("vars:username-in-resource",
        "IAM replaces ${aws:username} with the friendly name of the current user", VARS,
        ALLOWED, action="s3:GetObject", resource=f"{BUCKET}/home/alice/notes.txt",
        keys={USERNAME: "alice"}, identity=home_policy(V2012)),
    row("vars:username-in-resource-other-user",
        "The variable resolves to the requester's name, not to any name", VARS, IMPLICIT,
        action="s3:GetObject", resource=f"{BUCKET}/home/bob/notes.txt",
        keys={USERNAME: "alice"}, identity=home_policy(V2012)),
    row("vars:absent-variable-resource-does-not-match",
        "A variable with no value (aws:username is not present for role sessions) makes the "
        "resource not match", VARS, IMPLICIT, action="s3:GetObject",
        resource=f"{BUCKET}/home/alice/notes.txt", keys={"aws:userid": "AROAEXAMPLE:session"},
        identity=home_policy(V2012)),
    row("vars:absent-variable-is-not-literal-text",
        "In a 2012-10-17 policy ${aws:username} is a variable, never the literal text", VARS,
        IMPLICIT, action="s3:GetObject", resource=f"{BUCKET}/home/${{aws:username}}/notes.txt",
        identity=home_policy(V2012)),
    row("vars:default-used-when-absent",
        "Specifying default values: ${aws:username, 'anonymous'} when the key is absent", VARS,
        ALLOWED, action="s3:GetObject", resource=f"{BUCKET}/home/anonymous/notes.txt",
        identity=one(allow("s3:GetObject", f"{BUCKET}/home/${{aws:username, 'anonymous'}}/*"))),
    row("vars:default-ignored-when-present",
        "The default applies only when the variable has no value", VARS, IMPLICIT,
        action="s3:GetObject", resource=f"{BUCKET}/home/anonymous/notes.txt",
        keys={USERNAME: "alice"},
        identity=one(allow("s3:GetObject", f"{BUCKET}/home/${{aws:username, 'anonymous'}}/*"))),
    row("vars:default-present-uses-value",
        "With the key present the variable takes its value", VARS, ALLOWED,
        action="s3:GetObject", resource=f"{BUCKET}/home/alice/notes.txt",
        keys={USERNAME: "alice"},
        identity=one(allow("s3:GetObject", f"{BUCKET}/home/${{aws:username, 'anonymous'}}/*"))),
    row("vars:principal-tag-in-resource",
        'Resource "arn:aws:s3:::bucket/${aws:PrincipalTag/department}" uses the tag value',
        VARS, ALLOWED, action="s3:GetObject", resource=f"{BUCKET}/red/plan.txt",
        keys={TEAM: "red"}, identity=one(allow("s3:GetObject", f"{BUCKET}/${{{TEAM}}}/*"))),
    row("vars:principal-tag-in-resource-other-value",
        "The tag variable resolves to the principal's own tag value", VARS, IMPLICIT,
        action="s3:GetObject", resource=f"{BUCKET}/blue/plan.txt", keys={TEAM: "red"},
        identity=one(allow("s3:GetObject", f"{BUCKET}/${{{TEAM}}}/*"))),
    row("vars:principal-tag-absent",
        "An untagged principal: the variable has no value and the resource does not match",
        VARS, IMPLICIT, action="s3:GetObject", resource=f"{BUCKET}/red/plan.txt",
        identity=one(allow("s3:GetObject", f"{BUCKET}/${{{TEAM}}}/*"))),
    row("vars:userid-in-resource", "aws:userid is a key you can use as a policy variable", VARS,
        ALLOWED, action="s3:GetObject", resource=f"{BUCKET}/AIDAEXAMPLE/notes.txt",
        keys={"aws:userid": "AIDAEXAMPLE"},
        identity=one(allow("s3:GetObject", f"{BUCKET}/${{aws:userid}}/*"))),
    row("vars:in-condition-string-equals",
        "Policy variables can be used for Condition values with string operators", VARS,
        ALLOWED, action="ec2:TerminateInstances", resource=INSTANCE,
        keys={OWNER: "alice", USERNAME: "alice"},
        identity=cond_allow("StringEquals", OWNER, "${aws:username}")),
    row("vars:in-condition-string-equals-other",
        "The substituted value must still match", VARS, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE,
        keys={OWNER: "bob", USERNAME: "alice"},
        identity=cond_allow("StringEquals", OWNER, "${aws:username}")),
    row("vars:in-condition-absent-variable",
        "With a variable that has no value, StringEquals does not match", VARS, IMPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE, keys={OWNER: "alice"},
        identity=cond_allow("StringEquals", OWNER, "${aws:username}")),
    row("vars:in-condition-string-like",
        'StringLike {"s3:prefix": ["home/${aws:username}/"]} lets users list their home', VARS,
        ALLOWED, action="s3:ListBucket", resource=BUCKET,
        keys={"s3:prefix": "home/alice/", USERNAME: "alice"},
        identity=cond_allow("StringLike", "s3:prefix", ["", "home/", "home/${aws:username}/"])),
    row("vars:in-condition-arn-equals",
        "You can use a policy variable with the ARN condition operators", VARS, ALLOWED,
        action="sqs:SendMessage", resource=f"arn:aws:sqs:{EAST}:{ACCT}:queue1",
        keys={SRCARN: f"arn:aws:sns:{EAST}:{ACCT}:alice-topic", USERNAME: "alice"},
        identity=cond_allow("ArnEquals", SRCARN,
                            f"arn:aws:sns:{EAST}:{ACCT}:${{aws:username}}-topic")),
    row("vars:2008-version-keeps-variable-literal",
        "Without Version 2012-10-17, variables like ${aws:username} are treated as literal "
        "strings", VERSION, IMPLICIT, action="s3:GetObject",
        resource=f"{BUCKET}/home/alice/notes.txt", keys={USERNAME: "alice"},
        identity=home_policy(V2008)),
    row("vars:2008-version-literal-text-matches",
        "In a 2008-10-17 policy the literal text ${aws:username} is what is matched", VERSION,
        ALLOWED, action="s3:GetObject", resource=f"{BUCKET}/home/${{aws:username}}/notes.txt",
        keys={USERNAME: "alice"}, identity=home_policy(V2008)),
    row("vars:no-version-keeps-variable-literal",
        "If you do not include a Version element, the value defaults to 2008-10-17", VERSION,
        IMPLICIT, action="s3:GetObject", resource=f"{BUCKET}/home/alice/notes.txt",
        keys={USERNAME: "alice"}, identity=home_policy(None)),
    row("vars:no-version-literal-text-matches",
        "Versionless: ${aws:username} is a literal string", VERSION, ALLOWED,
        action="s3:GetObject", resource=f"{BUCKET}/home/${{aws:username}}/notes.txt",
        keys={USERNAME: "alice"}, identity=home_policy(None)),
    row("vars:2008-version-condition-literal",
        "Variables are literal strings in a 2008-10-17 policy's conditions too", VERSION,
        IMPLICIT, action="ec2:TerminateInstances", resource=INSTANCE,
        keys={OWNER: "alice", USERNAME: "alice"},
        identity=one(allow("*", "*", {"StringEquals": {OWNER: "${aws:username}"}}),
                     version=V2008)),
    row("vars:2008-version-condition-literal-matches",
        "...so the literal text matches", VERSION, ALLOWED, action="ec2:TerminateInstances",
        resource=INSTANCE, keys={OWNER: "${aws:username}", USERNAME: "alice"},
        identity=one(allow("*", "*", {"StringEquals": {OWNER: "${aws:username}"}}),
                     version=V2008)),
    row("vars:special-star-is-literal-asterisk",
        "${*} - use where you need an * (asterisk) character", VARS, ALLOWED,
        action="s3:ListBucket", resource=BUCKET, keys={"s3:prefix": "reports*"},
        identity=cond_allow("StringLike", "s3:prefix", "reports${*}")),
    row("vars:special-star-is-not-a-wildcard",
        "${*} is a literal *, not a wildcard", VARS, IMPLICIT, action="s3:ListBucket",
        resource=BUCKET, keys={"s3:prefix": "reports-2020"},
        identity=cond_allow("StringLike", "s3:prefix", "reports${*}")),
    row("vars:special-question-mark-is-literal",
        "${?} - use where you need a ? (question mark) character", VARS, ALLOWED,
        action="s3:ListBucket", resource=BUCKET, keys={"s3:prefix": "what?"},
        identity=cond_allow("StringLike", "s3:prefix", "what${?}")),
    row("vars:special-question-mark-is-not-a-wildcard",
        "${?} is a literal ?, not a single-character wildcard", VARS, IMPLICIT,
        action="s3:ListBucket", resource=BUCKET, keys={"s3:prefix": "whatX"},
        identity=cond_allow("StringLike", "s3:prefix", "what${?}")),
    row("vars:special-dollar", "${$} - use where you need a $ (dollar sign) character", VARS,
        ALLOWED, action="s3:ListBucket", resource=BUCKET, keys={"s3:prefix": "cost$"},
        identity=cond_allow("StringEquals", "s3:prefix", "cost${$}")),
    row("vars:special-star-in-resource",
        "These predefined variables can be used in any string where you can use regular "
        "policy variables (Resource included)", VARS, ALLOWED, action="s3:GetObject",
        resource=f"{BUCKET}/a*b", identity=one(allow("s3:GetObject", f"{BUCKET}/a${{*}}b"))),
    row("vars:special-star-in-resource-not-wildcard", "${*} in Resource is a literal *", VARS,
        IMPLICIT, action="s3:GetObject", resource=f"{BUCKET}/aXb",
        identity=one(allow("s3:GetObject", f"{BUCKET}/a${{*}}b"))),
)  # fmt: skip

BOUNDARIES: tuple[Case, ...] = (
    row("boundary:intersection-both-allow",
        "The entity can perform only the actions allowed by both its identity-based policies "
        "and its permissions boundaries", BOUNDARY, ALLOWED, action="ec2:RunInstances",
        resource=INSTANCE, identity=one(allow("ec2:*")), boundary=SHIRLEY_BOUNDARY),
    row("boundary:excludes-what-it-does-not-allow",
        "Shirley tries to create a user and the operation fails: the boundary does not allow "
        "iam:CreateUser", BOUNDARY, IMPLICIT, action="iam:CreateUser", resource=USER_ALICE,
        identity=one(allow("iam:CreateUser")), boundary=SHIRLEY_BOUNDARY),
    row("boundary:grants-nothing-alone",
        "A permissions boundary limits the permissions but does not provide permissions on its "
        "own", BOUNDARY, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        boundary=SHIRLEY_BOUNDARY),
    row("boundary:deny-in-boundary-is-explicit",
        "DenyEC2Production explicitly denies access to the i-1234567890abcdef0 instance",
        BOUNDARY, EXPLICIT, action="ec2:TerminateInstances", resource=PROD_INSTANCE,
        identity=one(allow("ec2:*")), boundary=XCOMPANY_BOUNDARY),
    row("boundary:deny-in-boundary-spares-other-instances",
        "ServiceBoundaries allows full EC2 access otherwise", BOUNDARY, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE, identity=one(allow("ec2:*")),
        boundary=XCOMPANY_BOUNDARY),
    row("boundary:deny-s3-logs", "DenyS3Logs explicitly denies access to the logs bucket",
        BOUNDARY, EXPLICIT, action="s3:GetObject", resource="arn:aws:s3:::logs/app.log",
        identity=one(allow("s3:*")), boundary=XCOMPANY_BOUNDARY),
    row("boundary:variable-own-access-keys",
        "AllowManageOwnPasswordAndAccessKeys: users manage only their own access keys",
        BOUNDARY, ALLOWED, action="iam:CreateAccessKey", resource=USER_ALICE,
        keys={USERNAME: "alice"}, identity=one(allow("iam:*")), boundary=XCOMPANY_BOUNDARY),
    row("boundary:variable-other-users-keys",
        "AllowManageOwnPasswordAndAccessKeys: not other users' access keys", BOUNDARY,
        IMPLICIT, action="iam:CreateAccessKey", resource=f"arn:aws:iam::{ACCT}:user/bob",
        keys={USERNAME: "alice"}, identity=one(allow("iam:*")), boundary=XCOMPANY_BOUNDARY),
    row("boundary:identity-deny-still-wins",
        "An explicit deny in either of these policies overrides the allow", BOUNDARY, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:*"), deny("ec2:RunInstances")), boundary=SHIRLEY_BOUNDARY),
    row("boundary:condition-limits",
        "The boundary sets the maximum permissions: its conditions apply", BOUNDARY, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE_WEST, keys={RR: WEST},
        identity=one(allow("ec2:*")),
        boundary=policy(allow("ec2:*", "*", {"StringEquals": {RR: EAST}}))),
    row("boundary:condition-holds",
        "The boundary sets the maximum permissions: its conditions apply", BOUNDARY, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: EAST},
        identity=one(allow("ec2:*")),
        boundary=policy(allow("ec2:*", "*", {"StringEquals": {RR: EAST}}))),
    row("boundary:resource-scope-excludes-resourceless",
        "A boundary scoped to ARNs does not allow an action authorized on \"*\"", BOUNDARY,
        IMPLICIT, action="ec2:DescribeInstances", resource=NO_RESOURCE,
        identity=one(allow("ec2:*")), boundary=policy(allow("ec2:*", f"arn:aws:ec2:{EAST}:*:*"))),
)  # fmt: skip

SESSIONS: tuple[Case, ...] = (
    row("session:intersection-allows-common",
        "The session's permissions are the intersection of the identity-based policy and the "
        "session policies", SESSION, ALLOWED, action="ec2:DescribeInstances",
        resource=NO_RESOURCE, identity=one(allow("ec2:*")),
        session=(policy(allow("ec2:Describe*")),)),
    row("session:intersection-excludes-rest",
        "The session's permissions are the intersection of the identity-based policy and the "
        "session policies", SESSION, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow("ec2:*")), session=(policy(allow("ec2:Describe*")),)),
    row("session:grants-nothing-alone",
        "Session policies limit the permissions the identity-based policy grants", SESSION,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        session=(policy(allow("ec2:*")),)),
    row("session:deny-is-explicit",
        "An explicit deny in any of these policies overrides the allow", SESSION, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow("ec2:*")),
        session=(policy(allow("ec2:*"), deny("ec2:RunInstances")),)),
    row("session:with-boundary-all-allow",
        "Identity, session policy and boundary: everything allowed by all three types",
        BOUNDARY, ALLOWED, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow()), boundary=SHIRLEY_BOUNDARY, session=(policy(allow("ec2:*")),)),
    row("session:with-boundary-boundary-misses",
        "Identity, session policy and boundary: everything allowed by all three types",
        BOUNDARY, IMPLICIT, action="iam:CreateUser", resource=USER_ALICE,
        identity=one(allow()), boundary=SHIRLEY_BOUNDARY, session=(policy(allow()),)),
    row("session:with-boundary-session-misses",
        "Identity, session policy and boundary: everything allowed by all three types",
        BOUNDARY, IMPLICIT, action="s3:GetObject", resource=f"{BUCKET}/a.txt",
        identity=one(allow()), boundary=SHIRLEY_BOUNDARY, session=(policy(allow("ec2:*")),)),
)  # fmt: skip

EC2_ONLY = policy(allow("ec2:*"))
S3_ONLY = policy(allow("s3:*"))
SCPS: tuple[Case, ...] = (
    row("scp:full-access-and-identity-allow",
        "If an SCP is present, identity-based policies grant permissions only if those "
        "policies and the SCP allow the action", SCP, ALLOWED, action="ec2:RunInstances",
        resource=INSTANCE, identity=one(allow("ec2:*")), scps=((FULL_AWS_ACCESS,),)),
    row("scp:allow-alone-grants-nothing",
        "SCPs don't grant permissions: an identity-based policy must still allow", SCP,
        IMPLICIT, action="ec2:RunInstances", resource=INSTANCE, scps=((FULL_AWS_ACCESS,),)),
    row("scp:action-not-allowed-by-scp",
        "If the enforcement code does not find an applicable Allow in the SCPs, the request is "
        "implicitly denied", SCP, IMPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow()), scps=((S3_ONLY,),)),
    row("scp:deny-wins",
        "An explicit deny in an SCP overrides the allow", SCP, EXPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE, identity=one(allow()),
        scps=((policy(allow(), deny("ec2:TerminateInstances")),),)),
    row("scp:every-level-must-allow-missing",
        "There must be an explicit Allow at every level from the root through each OU in the "
        "direct path to the account", SCP, IMPLICIT, action="s3:GetObject",
        resource=f"{BUCKET}/a.txt", identity=one(allow()),
        scps=((FULL_AWS_ACCESS,), (EC2_ONLY,))),
    row("scp:every-level-must-allow-present",
        "There must be an explicit Allow at every level from the root through each OU", SCP,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, identity=one(allow()),
        scps=((FULL_AWS_ACCESS,), (EC2_ONLY,))),
    row("scp:root-level-narrower",
        "A level that allows only S3 blocks EC2 even if a lower level allows it", SCP, IMPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, identity=one(allow()),
        scps=((S3_ONLY,), (EC2_ONLY,))),
    row("scp:several-scps-at-one-level",
        "At one level, an Allow in any attached SCP counts for that level", SCP, ALLOWED,
        action="s3:GetObject", resource=f"{BUCKET}/a.txt", identity=one(allow()),
        scps=((FULL_AWS_ACCESS,), (EC2_ONLY, S3_ONLY))),
    row("scp:deny-at-lower-level",
        "A Deny in an SCP at any level in the path denies", SCP, EXPLICIT,
        action="ec2:TerminateInstances", resource=INSTANCE, identity=one(allow()),
        scps=((FULL_AWS_ACCESS,), (policy(allow(), deny("ec2:TerminateInstances")),))),
    row("scp:region-deny-other-region",
        "An SCP Deny with StringNotEquals aws:RequestedRegion denies other regions", SCP,
        EXPLICIT, action="ec2:RunInstances", resource=INSTANCE_WEST, keys={RR: WEST},
        identity=one(allow()),
        scps=((policy(allow(), deny("*", "*", {"StringNotEquals": {RR: EAST}})),),)),
    row("scp:region-deny-allowed-region",
        "An SCP Deny with StringNotEquals aws:RequestedRegion spares the listed region", SCP,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, keys={RR: EAST},
        identity=one(allow()),
        scps=((policy(allow(), deny("*", "*", {"StringNotEquals": {RR: EAST}})),),)),
    row("scp:with-boundary-all-allow",
        "SCP, permissions boundary and identity-based policy must all allow the action", SCP,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, identity=one(allow()),
        boundary=SHIRLEY_BOUNDARY, scps=((FULL_AWS_ACCESS,),)),
    row("scp:with-boundary-boundary-misses",
        "SCP, permissions boundary and identity-based policy must all allow the action", SCP,
        IMPLICIT, action="iam:CreateUser", resource=USER_ALICE, identity=one(allow()),
        boundary=SHIRLEY_BOUNDARY, scps=((FULL_AWS_ACCESS,),)),
    row("scp:identity-deny-with-scp-allow",
        "An explicit deny in any policy overrides any allows", SCP, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow(), deny("ec2:RunInstances")), scps=((FULL_AWS_ACCESS,),)),
)  # fmt: skip

GLOBAL_KEYS: tuple[Case, ...] = (
    row("global:mfa-bool-false-does-not-deny-access-keys",
        "aws:MultiFactorAuthPresent is not present for long-term credentials, so a Bool false "
        "Deny does not deny them", KC_MFA, ALLOWED, action="ec2:RunInstances",
        resource=INSTANCE, identity=one(allow(), deny("*", "*", {"Bool": {MFA: "false"}}))),
    row("global:mfa-boolifexists-false-denies-access-keys",
        "BoolIfExists: if the key is not present the condition is true, so the Deny applies",
        KC_MFA, EXPLICIT, action="ec2:RunInstances", resource=INSTANCE,
        identity=one(allow(), deny("*", "*", {"BoolIfExists": {MFA: "false"}}))),
    row("global:mfa-boolifexists-false-spares-mfa-sessions",
        "With MFA the key is true and the BoolIfExists false Deny does not apply", KC_MFA,
        ALLOWED, action="ec2:RunInstances", resource=INSTANCE, keys={MFA: "true"},
        identity=one(allow(), deny("*", "*", {"BoolIfExists": {MFA: "false"}}))),
    row("global:ec2-require-mfa-terminate-without-mfa",
        "DenyStopAndTerminateWhenMFAIsNotPresent denies TerminateInstances when the MFA "
        "context is missing", EC2_MFA, EXPLICIT, action="ec2:TerminateInstances",
        resource=INSTANCE, identity=(EC2_REQUIRE_MFA,)),
    row("global:ec2-require-mfa-terminate-with-mfa",
        "With MFA the Deny does not apply; AllowAllActionsForEC2 allows", EC2_MFA, ALLOWED,
        action="ec2:TerminateInstances", resource=INSTANCE, keys={MFA: "true"},
        identity=(EC2_REQUIRE_MFA,)),
    row("global:ec2-require-mfa-run-without-mfa",
        "Only StopInstances and TerminateInstances are denied without MFA", EC2_MFA, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE, identity=(EC2_REQUIRE_MFA,)),
    row("global:requested-region-outside-list-denied",
        "Denies access to any operations outside the listed Regions", REGION_EX, EXPLICIT,
        action="ec2:RunInstances", resource=INSTANCE, keys={RR: EAST},
        identity=(DENY_OTHER_REGIONS,)),
    row("global:requested-region-inside-list-allowed",
        "Operations in the listed Regions are not denied", REGION_EX, ALLOWED,
        action="ec2:RunInstances", resource=INSTANCE_WEST, keys={RR: WEST},
        identity=(DENY_OTHER_REGIONS,)),
    row("global:requested-region-global-service-exempt",
        "...except for actions in the listed (global) services", REGION_EX, ALLOWED,
        action="iam:ListUsers", resource=NO_RESOURCE, keys={RR: EAST},
        identity=(DENY_OTHER_REGIONS,)),
    row("global:secure-transport-always-present",
        "aws:SecureTransport is always present in the request context; requests over HTTPS "
        "carry true and a Deny on false does not apply", GLOBAL, ALLOWED,
        action="ec2:DescribeInstances", resource=NO_RESOURCE, keys={TLS: "true"},
        identity=one(allow(), deny("*", "*", {"Bool": {TLS: "false"}}))),
)  # fmt: skip

CASES: tuple[Case, ...] = (
    EVALUATION
    + ACTIONS
    + RESOURCES
    + STRING
    + NUMERIC
    + DATES
    + BOOLS
    + BINARY
    + IP
    + ARNS
    + NULLS
    + IFEXISTS
    + ABSENT
    + SETS_CASES
    + MULTI_CASES
    + VARIABLES
    + BOUNDARIES
    + SESSIONS
    + SCPS
    + GLOBAL_KEYS
)


# -- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation() -> ModuleType:
    """The evaluator under test, imported here so the table collects without it."""
    return importlib.import_module("awsprobe.sandbox.evaluation")


def verdict_of(decision: Any) -> Verdict:
    if decision.allowed:
        return ALLOWED
    return EXPLICIT if decision.explicit_deny else IMPLICIT


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_documented_verdict(evaluation: ModuleType, case: Case) -> None:
    """The evaluator gives the verdict the documentation gives for this request."""
    policies = evaluation.PolicySet(
        identity=copy.deepcopy(case.identity),
        boundary=copy.deepcopy(case.boundary),
        session=copy.deepcopy(case.session),
        scps=copy.deepcopy(case.scps),
    )
    request = evaluation.RequestContext(
        action=case.action, resource=case.resource, keys=dict(case.keys)
    )
    got = verdict_of(evaluation.authorize(policies, request))
    assert got is case.expected, (
        f"{case.id}: expected {case.expected.value}, got {got.value}\n"
        f"  rule:   {case.rule}\n  source: {case.source}"
    )


FAMILIES = {
    "eval", "action", "notaction", "resource", "notresource", "string", "numeric", "date",
    "bool", "binary", "ip", "arn", "null", "ifexists", "absent", "sets", "multi", "vars",
    "boundary", "session", "scp", "global",
}  # fmt: skip
OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
    "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}  # fmt: skip


def _operators(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Condition":
                yield from inner
            yield from _operators(inner)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _operators(item)


def test_the_table_is_a_battery() -> None:
    """At least 150 rows, unique ids, each naming its rule and source; every rule family and
    every condition operator is exercised, and the IfExists form of every operator family
    (Null has none); all three verdicts occur."""
    assert len(CASES) >= 150
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    assert all(c.rule and c.source for c in CASES)
    assert {c.family for c in CASES} == FAMILIES
    assert {c.expected for c in CASES} == set(Verdict)
    used = {
        op.split(":", 1)[-1]
        for c in CASES
        for doc in (
            *c.identity,
            c.boundary,
            *(c.session or ()),
            *(d for level in c.scps for d in level),
        )
        for op in _operators(doc)
    }
    assert OPERATORS <= used
    assert {op.removesuffix("IfExists") for op in used if op.endswith("IfExists")} >= {
        "StringEquals", "StringLike", "StringNotEquals", "NumericLessThanEquals",
        "DateGreaterThan", "Bool", "BinaryEquals", "IpAddress", "ArnLike",
    }  # fmt: skip


# -- end to end: the real sandbox over the wire ---------------------------------------------

DESCRIBE, RUN, TERMINATE = "ec2:DescribeInstances", "ec2:RunInstances", "ec2:TerminateInstances"
E2E_ACTIONS = (DESCRIBE, RUN, TERMINATE)
E2E_REGIONS = (EAST, WEST)


@dataclass(frozen=True)
class WireCase:
    """One identity policy probed for Describe/Run/Terminate in two regions."""

    id: str
    rule: str
    source: str
    policy: Doc
    expected: Mapping[tuple[str, str], Verdict]  # (action, region) -> verdict


def by_region(
    describe: tuple[Verdict, Verdict],
    run: tuple[Verdict, Verdict],
    terminate: tuple[Verdict, Verdict],
) -> dict[tuple[str, str], Verdict]:
    """Verdicts per action as (us-east-1, eu-west-1)."""
    table: dict[tuple[str, str], Verdict] = {}
    for action, pair in ((DESCRIBE, describe), (RUN, run), (TERMINATE, terminate)):
        for region, verdict in zip(E2E_REGIONS, pair, strict=True):
            table[action, region] = verdict
    return table


WIRE_CASES: tuple[WireCase, ...] = (
    WireCase(
        "wire:resource-arns-scoped-to-us-east-1",
        "Resource ARNs are matched segment by segment (region included; the image's empty "
        'account matched by *); a resource-less action is authorized on "*", which no ARN '
        "pattern matches",
        f'{RESOURCE}; {NOTACTION} (ListAllMyBuckets needs the "*" resource)',
        policy(allow("ec2:*", f"arn:aws:ec2:{EAST}:*:*")),
        by_region((IMPLICIT, IMPLICIT), (ALLOWED, IMPLICIT), (ALLOWED, IMPLICIT)),
    ),
    WireCase(
        "wire:region-allow-list-and-deny-terminate-by-arn",
        "StringEquals aws:RequestedRegion with two values (OR); a Deny scoped to eu-west-1 "
        "instance ARNs wins over the Allow",
        f"{MULTI}; {DENIES}",
        policy(
            allow("ec2:*", "*", {"StringEquals": {RR: [EAST, WEST]}}),
            deny(TERMINATE, f"arn:aws:ec2:{WEST}:*:instance/*"),
        ),
        by_region((ALLOWED, ALLOWED), (ALLOWED, ALLOWED), (ALLOWED, EXPLICIT)),
    ),
    WireCase(
        "wire:deny-outside-eu-west-1",
        "Deny with StringNotEquals aws:RequestedRegion denies every other region",
        REGION_EX,
        policy(allow("ec2:*"), deny("ec2:*", "*", {"StringNotEquals": {RR: WEST}})),
        by_region((EXPLICIT, ALLOWED), (EXPLICIT, ALLOWED), (EXPLICIT, ALLOWED)),
    ),
    WireCase(
        "wire:instance-type-ifexists-and-region",
        "StringLikeIfExists ec2:InstanceType checks only the instance (the probe launches "
        "t3.micro); aws:RequestedRegion limits Run to us-east-1 and Terminate to eu-west-1",
        f"{OPS_IFEXISTS}; {OPS_STRING}",
        policy(
            allow("ec2:Describe*"),
            allow(RUN, "*", {"StringLikeIfExists": {ITYPE: "t3.*"}, "StringEquals": {RR: EAST}}),
            allow(TERMINATE, "arn:aws:ec2:*:*:instance/*", {"StringEquals": {RR: WEST}}),
        ),
        by_region((ALLOWED, ALLOWED), (ALLOWED, IMPLICIT), (IMPLICIT, ALLOWED)),
    ),
    WireCase(
        "wire:instance-type-without-ifexists-fails",
        "THISPOLICYDOESNOTWORK: RunInstances is authorized on every resource it touches and "
        "those other than the instance lack ec2:InstanceType; DescribeInstances is not "
        "matched by an instance ARN pattern",
        f"{OPS_IFEXISTS}; {RESOURCE}",
        policy(
            allow(RUN, "*", {"StringLike": {ITYPE: "t3.*"}}),
            allow(DESCRIBE, "arn:aws:ec2:*:*:instance/*"),
        ),
        by_region((IMPLICIT, IMPLICIT), (IMPLICIT, IMPLICIT), (IMPLICIT, IMPLICIT)),
    ),
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[awsprobe.Sandbox]:
    with awsprobe.Sandbox() as running:
        yield running


@pytest.mark.parametrize("case", WIRE_CASES, ids=[c.id for c in WIRE_CASES])
def test_documented_verdicts_over_the_wire(sandbox: awsprobe.Sandbox, case: WireCase) -> None:
    """A probe through the sandbox finds, per action and region, the documented verdict; a
    denial's message says "explicit deny" exactly when the documented denial is explicit
    (IAM UG "Troubleshoot access denied error messages")."""
    sandbox.set_policy(dict(case.policy))
    matrix = awsprobe.probe(
        actions=list(E2E_ACTIONS),
        regions=list(E2E_REGIONS),
        session=sandbox.session(),
        endpoint_url=sandbox.endpoint_url,
    )
    wrong = []
    for (action, region), expected in sorted(case.expected.items()):
        result = matrix.get(action, region)
        if expected is ALLOWED:
            ok = result.outcome is awsprobe.Outcome.ALLOWED
        else:
            explicit = "explicit deny" in (result.message or "")
            ok = result.outcome is awsprobe.Outcome.DENIED and explicit == (expected is EXPLICIT)
        if not ok:
            wrong.append((action, region, expected.value, result.outcome.value, result.message))
    assert wrong == [], f"{case.rule} ({case.source})"
