"""The sandbox answers ``iam:SimulatePrincipalPolicy`` (and ``GetContextKeysForPrincipalPolicy``).

Every call goes through a guarded botocore client against a running sandbox, so
botocore's own parser reads each answer. Expected verdicts come from the IAM
documentation each test names (IAM API Reference, ``SimulatePrincipalPolicy``,
``EvaluationResult``; IAM User Guide, "Policy evaluation logic", "Permissions
boundaries", "Session policies"; AWS Organizations User Guide, "SCP evaluation";
the AWS CLI's ``simulate-custom-policy`` example), never from the evaluator.

The EC2 proof (issue 18, item 6) compares two answers of the sandbox with each
other: for every EC2 catalog entry, the dry run's outcome and the simulator's
decision on the very (action, resource) pairs that dry run is authorized for
(:func:`awsprobe.sandbox.context.request_contexts`), with ``aws:RequestedRegion``
in the context entries.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import botocore.session
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.model import ServiceModel
from botocore.serialize import create_serializer

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.guard import guarded_client
from awsprobe.model import Outcome
from awsprobe.probing.orchestrate import probe
from awsprobe.sandbox import FULL_AWS_ACCESS, SANDBOX_ACCOUNT, Sandbox
from awsprobe.sandbox.context import Call, Invalid, request_contexts
from awsprobe.sandbox.identities import _Principal
from tests.fakes import client_error

V = "2012-10-17"
NO_RETRIES = Config(retries={"total_max_attempts": 1})
TRUST_ANYONE = {
    "Version": V,
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": list(statements)}


def _allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **extra}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(_policy(_allow("ec2:*"))) as running:
        yield running


def _iam(sandbox: Sandbox, session: Any = None) -> BaseClient:
    """A guarded IAM client (the guard exempts the two simulator calls)."""
    return guarded_client(
        session or sandbox.admin_session(),
        "iam",
        endpoint_url=sandbox.endpoint_url,
        config=NO_RETRIES,
    )


def _plain(sandbox: Sandbox, service: str) -> BaseClient:
    """The admin's plain client, to set the scene (IAM and STS calls moto answers)."""
    return sandbox.admin_session().client(
        service, endpoint_url=sandbox.endpoint_url, config=NO_RETRIES
    )


def _user_arn(sandbox: Sandbox) -> str:
    return f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/{sandbox.user_name}"


def _region(region: str) -> list[dict[str, Any]]:
    return [
        {
            "ContextKeyName": "aws:RequestedRegion",
            "ContextKeyValues": [region],
            "ContextKeyType": "string",
        }
    ]


def _decisions(answer: dict[str, Any]) -> dict[str, str]:
    return {r["EvalActionName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}


_failure = client_error  # (code, HTTP status, message) of the ClientError it must raise


# -- the proof: the simulator and the dry runs agree over the whole EC2 catalog ---------------

EC2 = load_catalog(services="ec2")
ACCOUNT_PRINCIPAL = _Principal(
    arn=f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/awsprobe-sandbox",
    principal_arn=f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/awsprobe-sandbox",
    id="AIDASANDBOX",
    name="awsprobe-sandbox",
    kind="User",
    account=SANDBOX_ACCOUNT,
    secret="unused",
    session_token=None,
    documents=(),
)

CROSS_CHECKED: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "allow-all-but-some",
        _policy(_allow("*"), _deny(["ec2:Delete*", "ec2:TerminateInstances", "iam:PassRole"])),
        ["us-east-1"],
    ),
    (
        "action-globs",
        _policy(_allow(["ec2:Describe*", "ec2:Get*", "ec2:*Tags", "ec2:?tartInstances"])),
        ["us-east-1"],
    ),
    (
        "not-action-deny",
        _policy(_allow("ec2:*"), {"Effect": "Deny", "NotAction": "ec2:Describe*", "Resource": "*"}),
        ["us-east-1"],
    ),
    (
        "resource-restricted",
        _policy(
            _allow("ec2:*", ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*"]),
            _allow("ec2:Describe*"),
        ),
        ["us-east-1"],
    ),
    (
        "requested-region",
        _policy(
            _allow(
                "ec2:*",
                Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            )
        ),
        ["us-east-1", "eu-west-1"],
    ),
]


@functools.cache
def _ec2_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("ec2")


def _wire_params(entry: CatalogEntry) -> dict[str, tuple[str, ...]]:
    """The probe's parameters as the EC2 query protocol sends them (botocore's serializer)."""
    model = _ec2_model()
    serialized = create_serializer("ec2").serialize_to_request(
        entry.probe_params(), model.operation_model(entry.operation)
    )
    body = serialized["body"]
    text = body.decode() if isinstance(body, bytes) else str(body)
    form = parse_qs(text, keep_blank_values=True)
    return {k: tuple(v) for k, v in form.items() if k not in ("Action", "Version")}


def _authorized_pairs(entry: CatalogEntry, region: str) -> list[tuple[str, str]] | None:
    """Every (action, resource) the entry's dry run is authorized for; None: refused first."""
    call = Call(
        "ec2",
        entry.operation,
        (entry.action, *entry.also_requires),
        _wire_params(entry),
        region,
    )
    steps = request_contexts(call, ACCOUNT_PRINCIPAL)
    if any(isinstance(step, Invalid) for step in steps):
        return None
    return [(step.action, step.resource) for step in steps if not isinstance(step, Invalid)]


def _simulated(
    iam: BaseClient, arn: str, pairs: set[tuple[str, str]], region: str
) -> dict[tuple[str, str], str]:
    """The simulator's decision on each pair: one call per resource, actions batched."""
    by_resource: dict[str, set[str]] = defaultdict(set)
    for action, resource in pairs:
        by_resource[resource].add(action)
    paginator = iam.get_paginator("simulate_principal_policy")
    decisions = {}
    for resource, actions in sorted(by_resource.items()):
        extra = {} if resource == "*" else {"ResourceArns": [resource]}
        for page in paginator.paginate(
            PolicySourceArn=arn,
            ActionNames=sorted(actions),
            ContextEntries=_region(region),
            PaginationConfig={"PageSize": 1000},
            **extra,
        ):
            for result in page["EvaluationResults"]:
                decisions[(result["EvalActionName"], resource)] = result["EvalDecision"]
    return decisions


@pytest.mark.parametrize(
    ("name", "policy", "regions"), CROSS_CHECKED, ids=[c[0] for c in CROSS_CHECKED]
)
def test_simulator_agrees_with_every_ec2_dry_run(
    sandbox: Sandbox, name: str, policy: dict[str, Any], regions: list[str]
) -> None:
    """Issue 18 item 6: for every probed EC2 entry, the simulator allows every (action,
    resource) the dry run is authorized for exactly when the dry run answers
    DryRunOperation, and denies one exactly when it answers UnauthorizedOperation."""
    sandbox.set_policy(policy)
    matrix = probe(
        catalog=EC2, regions=regions, session=sandbox.session(), endpoint_url=sandbox.endpoint_url
    )
    dry_runs = {(r.operation, r.region): r.outcome for r in matrix}
    iam = _iam(sandbox)
    disagreements, compared = [], {Outcome.ALLOWED: 0, Outcome.DENIED: 0}
    for region in regions:
        pairs = {e.operation: _authorized_pairs(e, region) for e in EC2 if e.probe}
        wanted = {pair for found in pairs.values() for pair in found or ()}
        simulated = _simulated(iam, _user_arn(sandbox), wanted, region)
        for operation, found in pairs.items():
            if found is None:  # refused on its parameters before any authorization
                continue
            allowed = all(simulated[pair] == "allowed" for pair in found)
            outcome = dry_runs[(operation, region)]
            compared[outcome] = compared.get(outcome, 0) + 1
            if outcome is not (Outcome.ALLOWED if allowed else Outcome.DENIED):
                disagreements.append((operation, region, outcome.value, allowed))
    assert disagreements == []
    assert sum(compared.values()) >= 0.95 * len(EC2) * len(regions)
    assert compared[Outcome.ALLOWED] > 0
    assert compared[Outcome.DENIED] > 0


# -- the answer's shape and each input -------------------------------------------------------

#: The AWS CLI's simulate-custom-policy example (awscli examples/iam/simulate-custom-policy.rst):
#: this exact text, aws:CurrentTime 2019-04-25T11:00:00Z -> allowed, the statement at
#: line 1 column 38 to line 1 column 167; with a time before the condition's -> implicitDeny.
CLI_EXAMPLE = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
    '"Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)


def _at(moment: str) -> list[dict[str, Any]]:
    return [
        {
            "ContextKeyName": "aws:CurrentTime",
            "ContextKeyValues": [moment],
            "ContextKeyType": "date",
        }
    ]


def test_policy_input_list_as_in_the_cli_example(sandbox: Sandbox) -> None:
    """AWS CLI example: a PolicyInputList policy allows dynamodb:CreateBackup after its date,
    matched as PolicyInputList.1 at 1:38-1:167; before the date it is an implicit deny with
    no matched statement; the sandbox user's own policy (ec2:* only) adds nothing."""
    sandbox.set_policy(_policy(_allow("ec2:*")))
    iam = _iam(sandbox)
    answer = iam.simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["dynamodb:CreateBackup"],
        PolicyInputList=[CLI_EXAMPLE],
        ContextEntries=_at("2019-04-25T11:00:00Z"),
    )
    [result] = answer["EvaluationResults"]
    assert result["EvalResourceName"] == "*"
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"] == [
        {
            "SourcePolicyId": "PolicyInputList.1",
            "SourcePolicyType": "IAM Policy",
            "StartPosition": {"Line": 1, "Column": 38},
            "EndPosition": {"Line": 1, "Column": 167},
        }
    ]
    assert result["MissingContextValues"] == []
    assert "OrganizationsDecisionDetail" not in result  # no SCP applies in this sandbox
    assert answer["IsTruncated"] is False
    assert answer["ResponseMetadata"]["RequestId"]
    before = iam.simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["dynamodb:CreateBackup"],
        PolicyInputList=[CLI_EXAMPLE],
        ContextEntries=_at("2018-01-01T00:00:00Z"),
    )["EvaluationResults"][0]
    assert (before["EvalDecision"], before["MatchedStatements"]) == ("implicitDeny", [])
    without = iam.simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox), ActionNames=["dynamodb:CreateBackup"]
    )
    assert _decisions(without) == {"dynamodb:CreateBackup": "implicitDeny"}


def test_explicit_deny_wins_and_is_the_only_matched_statement(sandbox: Sandbox) -> None:
    """EvaluationResult.MatchedStatements: "if only one statement denies that operation, then
    the explicit deny overrides any allow. In addition, the deny statement is the only entry";
    an inline user policy is named user_<user>_<policy> (as real answers name a role's
    role_<role>_<policy>) and a managed policy by its name (real answers: AdministratorAccess)."""
    sandbox.set_policy(_policy(_allow("ec2:*"), _deny("ec2:TerminateInstances")))
    plain = _plain(sandbox, "iam")
    managed = plain.create_policy(
        PolicyName="describe-everything", PolicyDocument=json.dumps(_policy(_allow("ec2:Desc*")))
    )["Policy"]["Arn"]
    plain.attach_user_policy(UserName=sandbox.user_name, PolicyArn=managed)
    try:
        answer = _iam(sandbox).simulate_principal_policy(
            PolicySourceArn=_user_arn(sandbox),
            ActionNames=["ec2:TerminateInstances", "ec2:DescribeVpcs", "s3:ListBucket"],
        )
    finally:
        plain.detach_user_policy(UserName=sandbox.user_name, PolicyArn=managed)
    terminate, describe, listing = answer["EvaluationResults"]
    assert terminate["EvalDecision"] == "explicitDeny"
    inline = f"user_{sandbox.user_name}_awsprobe-sandbox-policy"
    assert [m["SourcePolicyId"] for m in terminate["MatchedStatements"]] == [inline]
    assert describe["EvalDecision"] == "allowed"
    assert [m["SourcePolicyId"] for m in describe["MatchedStatements"]] == [
        inline,
        "describe-everything",
    ]
    assert (listing["EvalDecision"], listing["MatchedStatements"]) == ("implicitDeny", [])


def test_permissions_boundary_input_replaces_the_users_boundary(sandbox: Sandbox) -> None:
    """Permissions boundaries: identity ∩ boundary. The user's own boundary (Terminate only)
    allows Terminate and not Describe; PermissionsBoundaryPolicyInputList (Describe only)
    replaces it (API Reference: "the new permissions boundary policy is used for the
    simulation"), and AllowedByPermissionsBoundary says which the boundary allows."""
    sandbox.set_policy(_policy(_allow("ec2:*")))
    plain = _plain(sandbox, "iam")
    boundary = plain.create_policy(
        PolicyName="terminate-only",
        PolicyDocument=json.dumps(_policy(_allow("ec2:TerminateInstances"))),
    )["Policy"]["Arn"]
    iam = _iam(sandbox)
    plain.put_user_permissions_boundary(UserName=sandbox.user_name, PermissionsBoundary=boundary)
    actions = ["ec2:TerminateInstances", "ec2:DescribeInstances"]
    try:
        own = iam.simulate_principal_policy(PolicySourceArn=_user_arn(sandbox), ActionNames=actions)
        given = iam.simulate_principal_policy(
            PolicySourceArn=_user_arn(sandbox),
            ActionNames=actions,
            PermissionsBoundaryPolicyInputList=[json.dumps(_policy(_allow("ec2:Describe*")))],
        )
    finally:
        plain.delete_user_permissions_boundary(UserName=sandbox.user_name)
    assert _decisions(own) == {
        "ec2:TerminateInstances": "allowed",
        "ec2:DescribeInstances": "implicitDeny",
    }
    assert [
        r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]
        for r in own["EvaluationResults"]
    ] == [True, False]
    assert _decisions(given) == {
        "ec2:TerminateInstances": "implicitDeny",
        "ec2:DescribeInstances": "allowed",
    }
    assert [
        r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]
        for r in given["EvaluationResults"]
    ] == [False, True]
    code, status, _message = _failure(
        iam.simulate_principal_policy,
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=actions,
        PermissionsBoundaryPolicyInputList=[json.dumps(_policy(_allow("*")))] * 2,
    )
    assert (code, status) == ("InvalidInput", 400)  # "You can input only one permissions boundary"


def test_resource_arns_give_resource_specific_results(sandbox: Sandbox) -> None:
    """API Reference, EvaluationResult: one result per action whatever the number of
    ResourceArns; its EvalDecision the most restrictive over them; ResourceSpecificResults
    the decision on each (a policy on instance i-1 only: i-1 allowed, i-2 implicitDeny)."""
    one = f"arn:aws:ec2:us-east-1:{SANDBOX_ACCOUNT}:instance/i-1"
    two = f"arn:aws:ec2:us-east-1:{SANDBOX_ACCOUNT}:instance/i-2"
    sandbox.set_policy(_policy(_allow("ec2:TerminateInstances", one)))
    answer = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["ec2:TerminateInstances"],
        ResourceArns=[one, two],
    )
    [result] = answer["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert [
        (r["EvalResourceName"], r["EvalResourceDecision"])
        for r in result["ResourceSpecificResults"]
    ] == [(one, "allowed"), (two, "implicitDeny")]
    assert result["ResourceSpecificResults"][0]["MatchedStatements"][0]["SourcePolicyId"]
    assert result["EvalDecisionDetails"] == {}  # same account with ARNs: "present but empty"
    only = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["ec2:TerminateInstances"],
        ResourceArns=[one],
    )
    assert _decisions(only) == {"ec2:TerminateInstances": "allowed"}
    code, status, _ = _failure(
        _iam(sandbox).simulate_principal_policy,
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["ec2:TerminateInstances"],
        ResourceArns=["instance/i-1"],
    )
    assert (code, status) == ("InvalidInput", 400)


@pytest.mark.parametrize(
    ("entries", "decision", "missing"),
    [
        (_region("eu-west-1"), "allowed", []),
        (_region("us-east-1"), "implicitDeny", []),
        ([], "implicitDeny", ["aws:RequestedRegion"]),
        (
            [
                *_region("eu-west-1"),
                {
                    "ContextKeyName": "ec2:Tenancy",
                    "ContextKeyValues": ["1"],
                    "ContextKeyType": "numeric",
                },
            ],
            "allowed",
            [],
        ),
    ],
    ids=["met", "not-met", "missing", "other-keys-ignored"],
)
def test_context_entries_are_the_request_context(
    sandbox: Sandbox, entries: list[dict[str, Any]], decision: str, missing: list[str]
) -> None:
    """Condition operators: StringEquals on aws:RequestedRegion holds only for that value; an
    absent key makes it false (IAM User Guide, "Condition operators") and the simulator names
    it in MissingContextValues ("keys required by the input policies but not provided")."""
    sandbox.set_policy(
        _policy(_allow("ec2:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    )
    [result] = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["ec2:DescribeInstances"],
        ContextEntries=entries,
    )["EvaluationResults"]
    assert (result["EvalDecision"], result["MissingContextValues"]) == (decision, missing)


HOME_SECRET = "arn:aws:s3:::home/awsprobe-sandbox/secret"
HOME_OTHER = "arn:aws:s3:::home/awsprobe-sandbox/other"


def _username(name: str) -> list[dict[str, Any]]:
    return [
        {"ContextKeyName": "aws:username", "ContextKeyValues": [name], "ContextKeyType": "string"}
    ]


def test_a_policy_variables_absent_key_is_a_missing_context_value(sandbox: Sandbox) -> None:
    """IAM User Guide, "Policy variables": ${aws:username} in a Resource is replaced by the
    request's value; with no value the element does not match, so the Deny on the user's
    own secret does not apply and the Allow on "*" allows. The decision depended on
    aws:username, which the request lacked: MissingContextValues ("context keys that are
    required by the included input policies but that were not provided") names it, in the
    resource's ResourceSpecificResults member as ResourceArns are given (API Reference,
    ResourceSpecificResult). Given the key, the Deny applies and nothing is missing. The
    same for a variable in a condition value, reported at the top level without ARNs."""
    sandbox.set_policy(
        _policy(
            _allow("s3:PutObject"),
            {
                "Effect": "Deny",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::home/${aws:username}/secret",
            },
            _allow(
                "s3:ListBucket",
                Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
            ),
        )
    )
    iam = _iam(sandbox)

    def put(entries: list[dict[str, Any]]) -> dict[str, Any]:
        [result] = iam.simulate_principal_policy(
            PolicySourceArn=_user_arn(sandbox),
            ActionNames=["s3:PutObject"],
            ResourceArns=[HOME_SECRET],
            ContextEntries=entries,
        )["EvaluationResults"]
        return result

    without = put([])
    [secret] = without["ResourceSpecificResults"]
    assert (secret["EvalResourceDecision"], secret["MissingContextValues"]) == (
        "allowed",
        ["aws:username"],
    )
    assert without["EvalDecision"] == "allowed"
    given = put(_username(sandbox.user_name))
    [secret] = given["ResourceSpecificResults"]
    assert (secret["EvalResourceDecision"], secret["MissingContextValues"]) == ("explicitDeny", [])
    assert (given["EvalDecision"], given["MissingContextValues"]) == ("explicitDeny", [])
    # a variable in a condition value (the User Guide's StringLike on s3:prefix with
    # "home/${aws:username}/*"): without ResourceArns, reported at the top level
    prefix = {
        "ContextKeyName": "s3:prefix",
        "ContextKeyValues": [f"home/{sandbox.user_name}/photos"],
        "ContextKeyType": "string",
    }

    def listing(entries: list[dict[str, Any]]) -> dict[str, Any]:
        [result] = iam.simulate_principal_policy(
            PolicySourceArn=_user_arn(sandbox),
            ActionNames=["s3:ListBucket"],
            ContextEntries=entries,
        )["EvaluationResults"]
        return result

    absent = listing([prefix])
    assert (absent["EvalDecision"], absent["MissingContextValues"]) == (
        "implicitDeny",
        ["aws:username"],
    )
    assert "ResourceSpecificResults" not in absent
    present = listing([prefix, *_username(sandbox.user_name)])
    assert (present["EvalDecision"], present["MissingContextValues"]) == ("allowed", [])


def test_missing_context_values_per_resource_and_deduplicated_at_the_top(
    sandbox: Sandbox,
) -> None:
    """API Reference: "If you include a list of resources, then any missing context values
    are instead included under the ResourceSpecificResults section" (EvaluationResult), each
    resource's in its own member (ResourceSpecificResult); and "in the top-level result, this
    field contains the deduplicated set of missing context values across all requested
    resources" (EvaluationResult, with its note that the top-level fields are the aggregate
    over the resources). Without ResourceArns the top level holds them and there are no
    resource-specific results."""
    sandbox.set_policy(
        _policy(
            _allow("s3:*"),
            {
                "Effect": "Deny",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::home/${aws:username}/*",
            },
        )
    )
    [result] = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["s3:PutObject"],
        ResourceArns=[HOME_SECRET, HOME_OTHER],
    )["EvaluationResults"]
    assert [
        (r["EvalResourceName"], r["MissingContextValues"])
        for r in result["ResourceSpecificResults"]
    ] == [(HOME_SECRET, ["aws:username"]), (HOME_OTHER, ["aws:username"])]
    assert result["MissingContextValues"] == ["aws:username"]  # once: deduplicated
    sandbox.set_policy(
        _policy(_allow("ec2:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    )
    [star] = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox), ActionNames=["ec2:DescribeVpcs"]
    )["EvaluationResults"]
    assert star["MissingContextValues"] == ["aws:RequestedRegion"]
    assert "ResourceSpecificResults" not in star


def test_list_and_boolean_context_entries(sandbox: Sandbox) -> None:
    """ForAnyValue:StringEquals on a stringList key holds when one value matches; Bool on a
    boolean key; the simulator supplies no key of its own (aws:SecureTransport absent)."""
    sandbox.set_policy(
        _policy(
            _allow(
                "ec2:CreateTags",
                Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}},
            ),
            _allow("ec2:DescribeVpcs", Condition={"Bool": {"aws:SecureTransport": "true"}}),
        )
    )
    iam = _iam(sandbox)
    tags = {"ContextKeyName": "aws:TagKeys", "ContextKeyType": "stringList"}
    secure = {
        "ContextKeyName": "aws:SecureTransport",
        "ContextKeyValues": ["TRUE"],
        "ContextKeyType": "boolean",
    }

    def decide(*entries: dict[str, Any]) -> dict[str, str]:
        return _decisions(
            iam.simulate_principal_policy(
                PolicySourceArn=_user_arn(sandbox),
                ActionNames=["ec2:CreateTags", "ec2:DescribeVpcs"],
                ContextEntries=list(entries),
            )
        )

    assert decide({**tags, "ContextKeyValues": ["env", "team"]}, secure) == {
        "ec2:CreateTags": "allowed",
        "ec2:DescribeVpcs": "allowed",
    }
    assert decide({**tags, "ContextKeyValues": ["env"]}) == {
        "ec2:CreateTags": "implicitDeny",
        "ec2:DescribeVpcs": "implicitDeny",
    }


def test_pagination_with_max_items_and_the_paginator(sandbox: Sandbox) -> None:
    """API Reference: MaxItems bounds a page, IsTruncated and Marker lead to the next; the
    paginator botocore ships for simulate_principal_policy yields every result, in order."""
    sandbox.set_policy(_policy(_allow("ec2:Describe*")))
    iam = _iam(sandbox)
    actions = [f"ec2:Describe{n}" for n in ("Instances", "Vpcs", "Subnets", "Images", "Volumes")]
    first = iam.simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox), ActionNames=actions, MaxItems=2
    )
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == actions[:2]
    assert first["IsTruncated"] is True
    second = iam.simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox), ActionNames=actions, MaxItems=2, Marker=first["Marker"]
    )
    assert [r["EvalActionName"] for r in second["EvaluationResults"]] == actions[2:4]
    pages = list(
        iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=_user_arn(sandbox),
            ActionNames=actions,
            PaginationConfig={"PageSize": 2},
        )
    )
    assert len(pages) == 3
    assert [r["EvalActionName"] for p in pages for r in p["EvaluationResults"]] == actions
    assert {r["EvalDecision"] for p in pages for r in p["EvaluationResults"]} == {"allowed"}
    assert pages[-1]["IsTruncated"] is False
    assert "Marker" not in pages[-1]


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"PolicySourceArn": "arn:aws:sts::123456789012:assumed-role/r/s"}, "InvalidInput", 400),
        ({"PolicySourceArn": "not-an-arn-at-all-really"}, "InvalidInput", 400),
        ({"PolicySourceArn": "arn:aws:iam::123456789012:user/nobody"}, "NoSuchEntity", 404),
        ({"PolicySourceArn": "arn:aws:iam::123456789012:role/nothing"}, "NoSuchEntity", 404),
        ({"MaxItems": 1001}, "ValidationError", 400),
        ({"ActionNames": ["not-an-action"]}, "InvalidInput", 400),
        ({"Marker": "not-a-marker-we-gave"}, "InvalidInput", 400),
        ({"PolicyInputList": ["{not json"]}, "InvalidInput", 400),
        ({"ResourcePolicy": json.dumps(_policy(_allow("*")))}, "InvalidInput", 400),
    ],
    ids=[
        "assumed-role",
        "malformed",
        "no-user",
        "no-role",
        "max-items",
        "action",
        "marker",
        "policy",
        "resource-policy-unmodelled",
    ],
)
def test_bad_input_is_refused_in_iams_shape(
    sandbox: Sandbox, params: dict[str, Any], code: str, status: int
) -> None:
    """API Reference, SimulatePrincipalPolicy errors: InvalidInput (an ARN that is no user,
    group or role: "Invalid Entity Arn"), NoSuchEntity (404); a model constraint broken
    (MaxItems above 1000) is IAM's ValidationError."""
    call = {"PolicySourceArn": _user_arn(sandbox), "ActionNames": ["ec2:DescribeVpcs"], **params}
    found_code, found_status, message = _failure(_iam(sandbox).simulate_principal_policy, **call)
    assert (found_code, found_status) == (code, status)
    if params.get("PolicySourceArn", "").startswith("arn:aws:sts"):
        assert message.startswith("Invalid Entity Arn: arn:aws:sts::")


def test_the_caller_needs_permission_to_simulate(sandbox: Sandbox) -> None:
    """REFERENCE §10: the caller needs iam:SimulatePrincipalPolicy on the principal; denied,
    it is AccessDenied (403) with IAM's message; allowed on its own user only (the User
    Guide's ${aws:username} example), it may simulate itself and not the admin."""
    sandbox.set_policy(_policy(_allow("ec2:*")))
    mine = _iam(sandbox, sandbox.session())
    code, status, message = _failure(
        mine.simulate_principal_policy,
        PolicySourceArn=_user_arn(sandbox),
        ActionNames=["ec2:DescribeVpcs"],
    )
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: {_user_arn(sandbox)} is not authorized to perform: iam:SimulatePrincipalPolicy "
        f"on resource: {_user_arn(sandbox)} because no identity-based policy allows the "
        "iam:SimulatePrincipalPolicy action"
    )
    sandbox.set_policy(
        _policy(
            _allow("ec2:*"),
            _allow("iam:SimulatePrincipalPolicy", "arn:aws:iam::*:user/${aws:username}"),
        )
    )
    answer = mine.simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox), ActionNames=["ec2:DescribeVpcs"]
    )
    assert _decisions(answer) == {"ec2:DescribeVpcs": "allowed"}
    admin = f"arn:aws:iam::{SANDBOX_ACCOUNT}:user/{sandbox.admin_user_name}"
    code, status, _ = _failure(
        mine.simulate_principal_policy, PolicySourceArn=admin, ActionNames=["ec2:DescribeVpcs"]
    )
    assert (code, status) == ("AccessDenied", 403)


def test_a_role_is_simulated_without_its_sessions_policy(sandbox: Sandbox) -> None:
    """Session policies: a session's permissions are the role's ∩ the session policy, so the
    session's dry run of TerminateInstances is denied; the simulator of the role does not see
    session policies (REFERENCE §10) and allows it. A group is simulated with its policies."""
    plain = _plain(sandbox, "iam")
    role = plain.create_role(
        RoleName="Simulated", AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE)
    )
    plain.put_role_policy(
        RoleName="Simulated",
        PolicyName="inline",
        PolicyDocument=json.dumps(_policy(_allow(["ec2:Describe*", "ec2:TerminateInstances"]))),
    )
    credentials = _plain(sandbox, "sts").assume_role(
        RoleArn=role["Role"]["Arn"],
        RoleSessionName="narrow",
        Policy=json.dumps(_policy(_allow("ec2:Describe*"))),
    )["Credentials"]
    import boto3

    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=sandbox.region,
    )
    ec2 = guarded_client(session, "ec2", endpoint_url=sandbox.endpoint_url, config=NO_RETRIES)
    code, _, _ = _failure(ec2.terminate_instances, InstanceIds=["i-0123456789abcdef0"], DryRun=True)
    assert code == "UnauthorizedOperation"
    answer = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=role["Role"]["Arn"], ActionNames=["ec2:TerminateInstances"]
    )
    [result] = answer["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "role_Simulated_inline"
    session_arn = f"arn:aws:sts::{SANDBOX_ACCOUNT}:assumed-role/Simulated/narrow"
    code, status, _ = _failure(
        _iam(sandbox).simulate_principal_policy,
        PolicySourceArn=session_arn,
        ActionNames=["ec2:TerminateInstances"],
    )
    assert (code, status) == ("InvalidInput", 400)
    plain.create_group(GroupName="readers")
    plain.put_group_policy(
        GroupName="readers",
        PolicyName="read",
        PolicyDocument=json.dumps(_policy(_allow("s3:Get*"))),
    )
    group = f"arn:aws:iam::{SANDBOX_ACCOUNT}:group/readers"
    [read] = _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=group, ActionNames=["s3:GetObject"]
    )["EvaluationResults"]
    assert (read["EvalDecision"], read["MatchedStatements"][0]["SourcePolicyId"]) == (
        "allowed",
        "group_readers_read",
    )


def test_context_keys_of_the_principals_policies(sandbox: Sandbox) -> None:
    """GetContextKeysForPrincipalPolicy: the keys the entity's policies and PolicyInputList
    reference, in conditions and as policy variables."""
    sandbox.set_policy(
        _policy(
            _allow("ec2:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
            _allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"),
        )
    )
    given = json.dumps(
        _policy(
            _allow("ec2:RunInstances", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
        )
    )
    answer = _iam(sandbox).get_context_keys_for_principal_policy(
        PolicySourceArn=_user_arn(sandbox), PolicyInputList=[given]
    )
    assert answer["ContextKeyNames"] == [
        "aws:RequestedRegion",
        "aws:username",
        "aws:MultiFactorAuthPresent",
    ]


def test_answered_by_the_sandbox_never_by_moto(sandbox: Sandbox) -> None:
    """moto has no SimulatePrincipalPolicy: every such request is the sandbox's answer."""
    sandbox.set_policy(_policy(_allow("ec2:*")))
    _iam(sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(sandbox), ActionNames=["ec2:DescribeVpcs"]
    )
    seen = [r for r in sandbox.requests if r.operation == "SimulatePrincipalPolicy"]
    assert seen
    assert {r.answered_by for r in seen} == {"sandbox"}


# -- SCPs: a sandbox of their own -------------------------------------------------------------


@pytest.fixture
def scp_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """A sandbox with SCPs (fixed at construction), the module's stopped meanwhile."""
    scps = [
        FULL_AWS_ACCESS,
        _policy(
            _deny("ec2:TerminateInstances"),
            _deny(
                "ec2:RunInstances", Condition={"StringEquals": {"aws:RequestedRegion": "us-west-2"}}
            ),
        ),
    ]
    sandbox.stop()  # one sandbox per process
    try:
        with Sandbox(_policy(_allow("ec2:*")), scps=scps) as running:
            yield running
    finally:
        sandbox.start()


def test_an_scp_deny_shows_in_organizations_decision_detail(scp_sandbox: Sandbox) -> None:
    """AWS Organizations User Guide, "SCP evaluation": a Deny in an SCP denies what the
    identity allows; OrganizationsDecisionDetail.AllowedByOrganizations is false for it
    and true for what the SCPs allow."""
    answer = _iam(scp_sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(scp_sandbox),
        ActionNames=["ec2:TerminateInstances", "ec2:DescribeVpcs"],
    )
    terminate, describe = answer["EvaluationResults"]
    assert terminate["EvalDecision"] == "explicitDeny"
    assert terminate["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert describe["EvalDecision"] == "allowed"
    assert describe["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}


def test_keys_only_an_scp_reads_are_not_missing_context_values(scp_sandbox: Sandbox) -> None:
    """API Reference, EvaluationResult.MissingContextValues: "This field doesn't include
    context keys referenced by service control policies (SCPs). Only context keys referenced
    by identity-based and resource-based policies appear here." The SCP's conditional Deny
    reads aws:RequestedRegion (absent: StringEquals is false, the Deny does not apply); the
    user's policy reads aws:MultiFactorAuthPresent: only the latter is listed."""
    scp_sandbox.set_policy(
        _policy(_allow("ec2:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    )
    [result] = _iam(scp_sandbox).simulate_principal_policy(
        PolicySourceArn=_user_arn(scp_sandbox),
        ActionNames=["ec2:RunInstances"],
        ResourceArns=[f"arn:aws:ec2:us-east-1:{SANDBOX_ACCOUNT}:instance/i-1"],
    )["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert result["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]
    [instance] = result["ResourceSpecificResults"]
    assert instance["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]
