"""IAM's policy simulator: verdicts for the actions a dry run cannot answer (``--simulate``).

``iam:SimulatePrincipalPolicy`` evaluates a principal's identity policies, permissions
boundary and the SCPs that apply to it for a list of actions, and performs nothing. It
does not see session policies, resource-based policies, VPC endpoint policies or
resource control policies; a dry run does. So a dry run is the truth for its request,
and the simulator answers only what has no dry run -- each of its answers labelled
``source = simulated`` -- and, with ``--cross-check``, is compared with the dry runs
(:mod:`~awsprobe.probing.crosscheck`).

Who is simulated (:func:`principal_for`): the ``PolicySourceArn`` must be a user, group
or role. An IAM user is itself; an assumed-role session is its role,
``arn:PARTITION:iam::ACCOUNT:role/NAME`` -- an IAM Identity Center role
(``AWSReservedSSO_*``) under ``/aws-reserved/sso.amazonaws.com/``. A role with any other
path cannot be told from the session ARN: IAM answers ``NoSuchEntity`` and one warning
says to name it (``simulate_principal=``, ``--simulate-principal``). The root user and
federated users cannot be simulated: one warning, no simulated results.

How it is asked (:class:`Simulator`): once per region, with the context entry
``aws:RequestedRegion`` = the region -- for a global service with one endpoint, that
endpoint's region, or no entry where the guide does not say which it is
(:func:`requested_region`); ``ActionNames`` in batches of :data:`BATCH`; ``MaxItems``
:data:`MAX_ITEMS`, following ``Marker`` while ``IsTruncated``; ``ResourceArns`` ``*``,
or the ARNs given for the action's service (``resource_arns=``, region part empty or the
region) that are of a resource type the reference lists for the action -- an action on
no resource type, or none of whose types a given ARN is, is asked about ``*``. Given
ARNs, IAM answers per resource (``ResourceSpecificResults``), missing context included.
IAM is global -- one endpoint, one request rate per account -- so every
request takes a token from one bucket per account (:data:`IAM_BUCKET`, a
:class:`~awsprobe.probing.pacing.Pacer` bucket, halved when throttled); throttling,
server errors and connection faults are retried as probes are
(:mod:`~awsprobe.probing.retry`).

What an answer means (:func:`verdict`): ``allowed`` only for ``EvalDecision`` ``allowed``
with no ``MissingContextValues``; ``denied`` for ``explicitDeny`` and ``implicitDeny``
(the decision is the result's ``code``); ``inconclusive`` when the decision depended on
context the simulator was not given (the detail names the keys) or is a decision awsprobe
does not know. An identity that may not simulate itself (``AccessDenied``) gets one
warning naming the permission, and no simulated results.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from awsprobe._version import __version__
from awsprobe.arn import parse_arn
from awsprobe.classify import Answer, Signals, classify, is_throttled
from awsprobe.errors import UnsafeRequestError, UsageError
from awsprobe.guard import close_client, guarded_client
from awsprobe.identity.principal import PrincipalType, parse_principal
from awsprobe.model import Identity, Outcome, ProbeResult, Simulation, Source
from awsprobe.probing.options import RunOptions
from awsprobe.probing.pacing import Clock, Pacer
from awsprobe.probing.retry import JITTER, backoff_delay, is_retryable
from awsprobe.reference import action_facts
from awsprobe.tables import GLOBAL_ENDPOINT_REGIONS, GLOBAL_ENDPOINT_UNKNOWN

__all__ = [
    "BATCH",
    "IAM_BUCKET",
    "MAX_ITEMS",
    "SSO_ROLE_PATH",
    "Asked",
    "IamPace",
    "Simulator",
    "group_arns",
    "principal_for",
    "refused_result",
    "result_of",
    "verdict",
]

#: Actions per request. The API documents no maximum for ``ActionNames``; 100 keeps each
#: request and answer small.
BATCH: Final = 100
#: ``MaxItems`` per page (the API's maximum is 1000).
MAX_ITEMS: Final = 1000
#: IAM publishes no request rate for its API, and it is one endpoint for the whole
#: account: a modest bucket of (capacity, refill per second), halved when throttled.
IAM_BUCKET: Final = (5.0, 2.0)
#: IAM's one endpoint, as a region for the pacer's buckets.
_GLOBAL: Final = "aws-global"
#: The path of every IAM Identity Center role (IAM User Guide, "Service-linked roles for
#: IAM Identity Center"; the role names start with ``AWSReservedSSO_``).
SSO_ROLE_PATH: Final = "/aws-reserved/sso.amazonaws.com/"
#: The decisions ``EvalDecision`` takes (IAM API Reference, EvaluationResult).
_DENIALS: Final = frozenset({"explicitDeny", "implicitDeny"})
_NO_CODES: Final = Signals(success_codes=(), denial_codes=())
_PRINCIPAL_HINT: Final = "give the role's ARN with --simulate-principal (simulate_principal=)"


def principal_for(identity_arn: str, given: str | None = None) -> tuple[str | None, str | None]:
    """The ``PolicySourceArn`` to simulate for a caller, and a warning when there is none.

    ``given`` (``--simulate-principal``) wins; it must be an IAM user, group or role ARN
    (:class:`~awsprobe.errors.UsageError` otherwise).
    """
    if given:
        parsed = parse_arn(given)
        kind = parsed.resource.split("/", 1)[0] if parsed else ""
        if parsed is None or parsed.service != "iam" or kind not in ("user", "group", "role"):
            raise UsageError(
                f"--simulate-principal {given!r}: give an IAM user, group or role ARN "
                "such as arn:aws:iam::123456789012:role/Deploy"
            )
        return given, None
    who = parse_principal(identity_arn)
    parsed = parse_arn(identity_arn)
    if parsed is None or who.type is PrincipalType.UNKNOWN:
        return None, (
            f"--simulate: cannot tell which IAM principal {identity_arn} is; "
            f"no action was simulated ({_PRINCIPAL_HINT})"
        )
    if who.type is PrincipalType.USER:
        return identity_arn, None
    if who.type in (PrincipalType.ROOT, PrincipalType.FEDERATED_USER):
        what = "the root user" if who.type is PrincipalType.ROOT else "a federated user"
        return None, (
            f"--simulate: {identity_arn} is {what}, which IAM's policy simulator cannot "
            "evaluate (it takes a user, group or role); no action was simulated, only dry "
            "runs answered"
        )
    path = SSO_ROLE_PATH if who.type is PrincipalType.SSO_ROLE else "/"
    role = f"arn:{parsed.partition}:iam::{parsed.account}:role{path}{who.role_name}"
    return role, None


def _denied_warning(principal: str, account: str, answer: Answer) -> str:
    kind = parse_arn(principal)
    is_user = kind is not None and kind.resource.startswith("user/")
    resource = f"arn:aws:iam::{account}:user/${{aws:username}}" if is_user else principal
    return (
        f"--simulate: this identity may not simulate its own policies "
        f"(iam:SimulatePrincipalPolicy on {principal} answered {answer.code}); no action was "
        f"simulated, only dry runs answered. To enable it, allow iam:SimulatePrincipalPolicy "
        f"on {resource}"
    )


def _unknown_warning(principal: str) -> str:
    return (
        f"--simulate: IAM does not know {principal} (NoSuchEntity): a role's path cannot be "
        f"told from its session ARN; {_PRINCIPAL_HINT}. No action was simulated"
    )


@dataclass(frozen=True)
class Asked:
    """One (action, region, resource) the simulator answered, or could not."""

    action: str
    region: str
    resource: str
    #: The evaluation (``None`` when the simulator could not answer: see ``failure``).
    simulation: Simulation | None
    attempts: int
    elapsed_ms: float
    #: The last answer of a request that failed (``None`` when it was answered).
    failure: Answer | None = None


def verdict(simulation: Simulation) -> tuple[Outcome, str | None, str]:
    """(outcome, code, detail) of a simulator's evaluation; never ``allowed`` on doubt."""
    decision = simulation.decision
    ids = ", ".join(dict.fromkeys(pid for pid, _ in simulation.matched_statements if pid))
    by = f" ({ids})" if ids else ""
    if simulation.missing_context:
        keys = ", ".join(simulation.missing_context)
        return (
            Outcome.INCONCLUSIVE,
            None,
            f"simulated {decision}, but the decision depends on context the simulator was "
            f"not given: {keys}",
        )
    if decision == "allowed":
        return Outcome.ALLOWED, None, f"simulated: allowed by the principal's policies{by}"
    if decision not in _DENIALS:
        return (
            Outcome.INCONCLUSIVE,
            None,
            f"simulated {decision!r}: a decision awsprobe does not know",
        )
    if decision == "explicitDeny":
        detail = f"simulated: explicit deny{by}"
    else:
        detail = "simulated: no policy allows it (implicit deny)"
    if simulation.allowed_by_organizations is False:
        detail += "; a service control policy does not allow it"
    if simulation.allowed_by_boundary is False:
        detail += "; the permissions boundary does not allow it"
    return Outcome.DENIED, decision, detail


def _simulation(raw: Mapping[str, Any], principal: str, top: Mapping[str, Any]) -> Simulation:
    """One ``EvaluationResult`` (or one of its ``ResourceSpecificResults``) as data."""
    statements = tuple(
        (str(s.get("SourcePolicyId", "")), str(s.get("SourcePolicyType", "")))
        for s in raw.get("MatchedStatements") or ()
    )
    organizations = (top.get("OrganizationsDecisionDetail") or {}).get("AllowedByOrganizations")
    boundary = (raw.get("PermissionsBoundaryDecisionDetail") or {}).get(
        "AllowedByPermissionsBoundary"
    )
    return Simulation(
        decision=str(raw.get("EvalDecision") or raw.get("EvalResourceDecision") or ""),
        principal=principal,
        resource=str(raw.get("EvalResourceName") or "*"),
        matched_statements=statements,
        missing_context=tuple(str(k) for k in raw.get("MissingContextValues") or ()),
        allowed_by_organizations=organizations if isinstance(organizations, bool) else None,
        allowed_by_boundary=boundary if isinstance(boundary, bool) else None,
    )


def _evaluations(raw: Mapping[str, Any], principal: str) -> Iterator[Simulation]:
    """One simulation per resource of an ``EvaluationResult``: its
    ``ResourceSpecificResults`` when it has them (given ``ResourceArns``, IAM reports the
    decision and the missing context keys per resource there), each with the top level's
    missing keys too; else the result itself."""
    specific = list(raw.get("ResourceSpecificResults") or ())
    if not specific:
        yield _simulation(raw, principal, raw)
        return
    top = tuple(str(k) for k in raw.get("MissingContextValues") or ())
    for row in specific:
        found = _simulation(row, principal, raw)
        missing = tuple(dict.fromkeys((*found.missing_context, *top)))
        yield dataclasses.replace(found, missing_context=missing)


@dataclass
class Simulator:
    """Asks ``iam:SimulatePrincipalPolicy`` for one identity, paced and retried.

    ``pace`` is shared by every simulator of a run (one bucket per account: IAM is
    global); ``clock``, ``sleep`` and ``rng`` are parameters so tests move time by hand.
    """

    session: Any
    identity: Identity
    principal: str
    options: RunOptions = field(default_factory=RunOptions)
    pace: IamPace | None = None
    rng: random.Random = JITTER
    sleep: Callable[[float], None] = time.sleep
    clock: Clock = time.perf_counter
    #: Why IAM refused to simulate this principal at all (``AccessDenied``,
    #: ``NoSuchEntity``): a warning saying what to do. Once set, :meth:`ask` asks nothing.
    refused: str | None = field(default=None, init=False)
    _client: BaseClient | None = field(default=None, init=False, repr=False)

    def client(self, region: str) -> BaseClient:
        """The one guarded IAM client (IAM is global: the first region's partition)."""
        if self._client is None:
            self._client = guarded_client(
                self.session,
                "iam",
                region=region,
                endpoint_url=self.options.endpoint_url,
                verify=self.options.verify,
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=self.options.connect_timeout,
                    read_timeout=self.options.read_timeout,
                    user_agent_extra=f"awsprobe/{__version__}",
                ),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            close_client(self._client)
            self._client = None

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ask(
        self,
        actions: Sequence[str],
        region: str,
        resource_arns: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Asked]:
        """Every action in ``region``, against ``*`` or the ARNs given for its prefix.

        When IAM refuses the principal itself (``AccessDenied``, ``NoSuchEntity``),
        :attr:`refused` says why and nothing more is asked (then or later).
        """
        groups: dict[tuple[tuple[str, ...], str | None], list[str]] = {}
        parsed = parse_arn(self.principal) or parse_arn(self.identity.arn)
        in_aws = parsed is None or parsed.partition == "aws"
        for action in dict.fromkeys(actions):
            arns = _arns_for(action, region, resource_arns or {})
            asked_region = requested_region(action.split(":", 1)[0], region, in_aws)
            groups.setdefault((arns, asked_region), []).append(action)
        found: list[Asked] = []
        for (arns, asked_region), names in groups.items():
            for start in range(0, len(names), BATCH):
                if self.refused is not None:
                    return found
                batch = names[start : start + BATCH]
                found += self._batch(batch, region, arns, asked_region)
        return found

    def _batch(
        self,
        actions: Sequence[str],
        region: str,
        arns: tuple[str, ...],
        requested: str | None,
    ) -> list[Asked]:
        spelled = {a.lower(): a for a in actions}
        params: dict[str, Any] = {
            "PolicySourceArn": self.principal,
            "ActionNames": list(actions),
            "MaxItems": MAX_ITEMS,
        }
        if requested is not None:
            params["ContextEntries"] = [
                {
                    "ContextKeyName": "aws:RequestedRegion",
                    "ContextKeyType": "string",
                    "ContextKeyValues": [requested],
                }
            ]
        if arns != ("*",):
            params["ResourceArns"] = list(arns)
        found: list[Asked] = []
        started = self.clock()
        total_attempts = 0
        while True:
            response, answer, attempts = self._send(params, region)
            total_attempts += attempts
            elapsed = (self.clock() - started) * 1000.0
            if response is None:
                assert answer is not None
                if answer.code in ("AccessDenied", "AccessDeniedException"):
                    self.refused = _denied_warning(self.principal, self.identity.account, answer)
                    return found
                if answer.code == "NoSuchEntity":
                    self.refused = _unknown_warning(self.principal)
                    return found
                answered = {a.action.lower() for a in found}
                found += [
                    Asked(a, region, r, None, total_attempts, elapsed, answer)
                    for a in actions
                    if a.lower() not in answered
                    for r in arns
                ]
                return found
            for raw in response.get("EvaluationResults") or ():
                name = str(raw.get("EvalActionName", ""))
                action = spelled.get(name.lower(), name)
                for simulation in _evaluations(raw, self.principal):
                    found.append(
                        Asked(
                            action,
                            region,
                            simulation.resource,
                            simulation,
                            total_attempts,
                            elapsed,
                        )
                    )
            if not response.get("IsTruncated") or not response.get("Marker"):
                return found
            params["Marker"] = response["Marker"]

    def _send(
        self, params: Mapping[str, Any], region: str
    ) -> tuple[dict[str, Any] | None, Answer | None, int]:
        """One page, retried: (response, None, attempts) or (None, last answer, attempts)."""
        client = self.client(region)
        attempts = 0
        while True:
            attempts += 1
            wait_for = self.pace.delay(self.identity.account) if self.pace else 0.0
            if wait_for > 0:
                self.sleep(wait_for)
            try:
                response = client.simulate_principal_policy(**params)
            except UnsafeRequestError:
                raise  # a bug, never an answer
            except ClientError as exc:
                answer = Answer.from_exception(exc)
            except Exception as exc:  # no usable answer: an error, never a verdict
                answer = Answer.from_exception(exc)
            else:
                return dict(response), None, attempts
            if attempts >= self.options.max_attempts or not is_retryable(answer):
                return None, answer, attempts
            if is_throttled(answer) and self.pace is not None:
                self.pace.throttled(self.identity.account)
            self.sleep(backoff_delay(attempts, self.rng))


class IamPace:
    """The :class:`~awsprobe.probing.pacing.Pacer` for IAM's one endpoint: one bucket per
    account (:data:`IAM_BUCKET`), whatever the region."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._pacer = Pacer(clock, sizes=lambda _service, _operation: IAM_BUCKET)

    def delay(self, account: str) -> float:
        """Take a token; how long to wait before sending."""
        return self._pacer.delay(account, _GLOBAL, "iam", "SimulatePrincipalPolicy")

    def throttled(self, account: str) -> None:
        """IAM throttled this account: halve its refill rate."""
        self._pacer.throttled(account, _GLOBAL, "iam", "SimulatePrincipalPolicy")


def requested_region(prefix: str, region: str, in_aws_partition: bool = True) -> str | None:
    """What ``aws:RequestedRegion`` holds for a request of ``prefix`` meant for ``region``:
    the region itself, or for a global service with one endpoint, that endpoint's region
    (:data:`~awsprobe.tables.GLOBAL_ENDPOINT_REGIONS`, ``aws`` partition only). ``None``
    (the simulator is not told) for a global service whose endpoint's region is not
    documented: a policy that tests the key then makes the answer inconclusive."""
    if prefix in GLOBAL_ENDPOINT_REGIONS:
        return GLOBAL_ENDPOINT_REGIONS[prefix] if in_aws_partition else None
    if prefix in GLOBAL_ENDPOINT_UNKNOWN:
        return None
    return region


def _arns_for(
    action: str, region: str, resource_arns: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """The ARNs to simulate ``action`` against in ``region``: those given for its prefix
    (region part empty or ``region``) that are of a resource type the reference lists for
    the action (matched on the type's ARN format); ``*`` when none is, or the action acts
    on no resource type (AWS authorizes it on ``*``)."""
    given = resource_arns.get(action.split(":", 1)[0], ())
    if not given:
        return ("*",)
    facts = action_facts(action)
    formats = [_arn_pattern(t.arn) for t in (facts.resource_types if facts else ()) if t.arn]
    chosen = []
    for arn in given:
        parsed = parse_arn(arn)
        if parsed is None or parsed.region not in ("", region):
            continue
        if any(pattern.fullmatch(arn) for pattern in formats):
            chosen.append(arn)
    return tuple(chosen) or ("*",)


_VARIABLE = re.compile(r"\$\{[^}]*\}")


@functools.cache
def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    """The reference's ARN format (``arn:${Partition}:s3:::${BucketName}/${ObjectName}``)
    as a pattern: a variable is one or more characters other than ``:`` and ``/``, except
    a last one that follows a ``/`` (an object key, a path), which may hold both."""
    parts = _VARIABLE.split(arn_format)
    out = []
    for number, literal in enumerate(parts):
        out.append(re.escape(literal))
        if number == len(parts) - 1:
            break
        last = number == len(parts) - 2 and parts[-1] == ""
        out.append(".+" if last and literal.endswith("/") else "[^:/]*")
    return re.compile("".join(out))


def group_arns(arns: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """ARNs by their service part (the IAM prefix whose actions they are simulated for);
    :class:`~awsprobe.errors.UsageError` for one that is not an ARN."""
    grouped: dict[str, list[str]] = {}
    for arn in arns:
        parsed = parse_arn(arn)
        if parsed is None or not parsed.service:
            raise UsageError(f"resource ARN {arn!r} is not an ARN (arn:aws:s3:::bucket/key)")
        grouped.setdefault(parsed.service, []).append(arn)
    return {k: tuple(dict.fromkeys(v)) for k, v in grouped.items()}


def result_of(asked: Asked, identity: Identity, access_level: str) -> ProbeResult:
    """One :class:`~awsprobe.model.ProbeResult` (``source = simulated``) of an answer."""
    prefix, _, name = asked.action.partition(":")
    resource = None if asked.resource == "*" else asked.resource
    if asked.simulation is None:
        failure = asked.failure or Answer(message="no answer")
        decided = classify(failure, _NO_CODES)
        return ProbeResult(
            action=asked.action,
            service=prefix,
            operation=name,
            region=asked.region,
            # a failed call is never a verdict: error (retries ran out) or inconclusive
            outcome=decided.outcome if decided.outcome is Outcome.INCONCLUSIVE else Outcome.ERROR,
            code=failure.code,
            http_status=failure.http_status,
            message=failure.message,
            attempts=asked.attempts,
            elapsed_ms=asked.elapsed_ms,
            detail=f"iam:SimulatePrincipalPolicy could not answer: {decided.reason}",
            error_kind=decided.error_kind,
            identity=identity.arn,
            access_level=access_level,
            resource=resource,
            source=Source.SIMULATED,
        )
    outcome, code, detail = verdict(asked.simulation)
    return ProbeResult(
        action=asked.action,
        service=prefix,
        operation=name,
        region=asked.region,
        outcome=outcome,
        code=code,
        http_status=200,
        message=None,
        attempts=asked.attempts,
        elapsed_ms=asked.elapsed_ms,
        detail=detail,
        identity=identity.arn,
        access_level=access_level,
        resource=resource,
        source=Source.SIMULATED,
        simulation=asked.simulation,
    )


def refused_result(
    action: str, region: str, identity: Identity, access_level: str, warning: str
) -> ProbeResult:
    """The ``error`` result of an action the simulator would not be asked about at all
    (the principal cannot be simulated, or may not be): ``warning`` says why."""
    prefix, _, name = action.partition(":")
    return ProbeResult(
        action=action,
        service=prefix,
        operation=name,
        region=region,
        outcome=Outcome.ERROR,
        code=None,
        http_status=None,
        message=None,
        attempts=0,
        elapsed_ms=0.0,
        detail=warning,
        identity=identity.arn,
        access_level=access_level,
        source=Source.SIMULATED,
    )
