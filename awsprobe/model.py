"""The data model: the plain values every layer passes around.

* :class:`Outcome` -- what a probe found out (``allowed``, ``denied``, ...);
* :class:`ErrorKind` -- why an ``error`` outcome has no usable answer;
* :class:`Identity` -- who was probed, and where its credentials came from;
* :class:`Explanation` -- a decoded authorization failure;
* :class:`NotExercised` -- what an ``allowed`` placeholder probe did not cover;
* :class:`Source` -- where a verdict came from: a dry run or IAM's policy simulator;
* :class:`Simulation` -- what ``iam:SimulatePrincipalPolicy`` said of one action;
* :class:`ProbeResult` -- what one dry run (or one simulation) found out;
* :class:`Disagreement` -- a dry run and the simulator answering one action differently.

Each value knows its JSON form (``to_json``); reading a saved matrix back,
strictly and with errors that say where the problem is, is the matrix's job
(:meth:`awsprobe.matrix.Matrix.from_json`).

A leaf: it imports nothing of awsprobe, and neither boto3 nor botocore, so the
classifier, the matrix, the report and the decoder can all share these types
without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Disagreement",
    "ErrorKind",
    "Explanation",
    "Identity",
    "NotExercised",
    "Outcome",
    "ProbeResult",
    "Simulation",
    "Source",
]


class Outcome(StrEnum):
    """What a probe found out. Lower-case strings in JSON."""

    ALLOWED = "allowed"
    DENIED = "denied"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    DRY_RUN_IGNORED = "dry_run_ignored"


class Source(StrEnum):
    """Where a verdict came from. ``dry-run``: AWS authorized the request itself (the truth
    for that request); ``simulated``: ``iam:SimulatePrincipalPolicy`` evaluated the
    principal's identity policies, boundary and SCPs (it does not see session policies,
    resource-based policies, VPC endpoint policies or RCPs)."""

    DRY_RUN = "dry-run"
    SIMULATED = "simulated"


class ErrorKind(StrEnum):
    """Why an ``error`` outcome has no usable answer (``None`` for other outcomes)."""

    CONNECTION = "connection"
    THROTTLED = "throttled"
    SERVER = "server"
    CREDENTIALS = "credentials"
    REGION = "region"
    ACCOUNT = "account"


@dataclass(frozen=True)
class Identity:
    """Who was probed: the caller identity and where its credentials came from."""

    arn: str
    account: str
    user_id: str
    credential_source: str | None = None
    #: ``awsprobe whoami``'s JSON for this identity, when it was asked (never secrets).
    details: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        """A short name: the user or role name (``ci``, ``Deploy``), else the ARN."""
        resource = self.arn.split(":", 5)[-1]
        parts = resource.split("/")
        if parts[0] == "assumed-role" and len(parts) >= 2:
            return parts[1]
        return parts[-1] if len(parts) > 1 else resource

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "arn": self.arn,
            "account": self.account,
            "user_id": self.user_id,
            "credential_source": self.credential_source,
        }
        if self.details is not None:
            data["whoami"] = dict(self.details)
        return data


@dataclass(frozen=True)
class Explanation:
    """A decoded authorization failure."""

    explicit_deny: bool
    denied_action: str | None
    resource: str | None
    matched_statements: tuple[tuple[str | None, str | None], ...]  # (statement id, effect)
    conditions: tuple[tuple[str, tuple[str, ...]], ...]  # (key, values)
    principal: str | None
    allowed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "explicit_deny": self.explicit_deny,
            "denied_action": self.denied_action,
            "resource": self.resource,
            "matched_statements": [
                {"statement_id": sid, "effect": effect} for sid, effect in self.matched_statements
            ],
            "conditions": {key: list(values) for key, values in self.conditions},
            "principal": self.principal,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Explanation:
        """The inverse of :meth:`to_json` (for saved matrices)."""
        statements = tuple(
            (s.get("statement_id"), s.get("effect")) for s in raw.get("matched_statements", [])
        )
        conditions = tuple(
            (str(key), tuple(str(v) for v in values))
            for key, values in dict(raw.get("conditions", {})).items()
        )
        return cls(
            explicit_deny=bool(raw["explicit_deny"]),
            denied_action=raw.get("denied_action"),
            resource=raw.get("resource"),
            matched_statements=statements,
            conditions=conditions,
            principal=raw.get("principal"),
        )

    @property
    def line(self) -> str:
        """One line: ``explicit deny of ec2:RunInstances on arn:... (statement DenyRun)``."""
        kind = "explicit deny" if self.explicit_deny else "no policy allows"
        what = self.denied_action or "the action"
        on = f" on {self.resource}" if self.resource else ""
        sids = [sid for sid, _ in self.matched_statements if sid]
        by = f" (statement {', '.join(sids)})" if sids else ""
        return f"{kind}: {what}{on}{by}"


@dataclass(frozen=True)
class NotExercised:
    """What an ``allowed`` verdict on awsprobe's placeholder request does not cover.

    The probe sends the operation's required parameters only, with placeholder values;
    a real request names more resources and may need more actions. ``resource_types``
    are the required resource types (the Service Authorization Reference's names) that
    the placeholder request named no resource of; ``dependent_actions`` are the
    reference's dependent actions of the action, none of which the placeholder request
    brings in. A dry run of the real request decides them.
    """

    resource_types: tuple[str, ...] = ()
    dependent_actions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether there is nothing a real request would add."""
        return not (self.resource_types or self.dependent_actions)

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_types": list(self.resource_types),
            "dependent_actions": list(self.dependent_actions),
        }


@dataclass(frozen=True)
class Simulation:
    """What ``iam:SimulatePrincipalPolicy`` answered for one action, resource and region."""

    #: IAM's ``EvalDecision``: ``allowed``, ``explicitDeny`` or ``implicitDeny``.
    decision: str
    #: The ``PolicySourceArn`` simulated (the user, or the role behind a session).
    principal: str
    #: ``EvalResourceName``: ``*`` or the ARN given with ``--resources``.
    resource: str = "*"
    #: ``MatchedStatements``: (``SourcePolicyId``, ``SourcePolicyType``) of each statement
    #: that decided it.
    matched_statements: tuple[tuple[str, str], ...] = ()
    #: ``MissingContextValues``: keys the decision depended on and was not given.
    missing_context: tuple[str, ...] = ()
    #: ``OrganizationsDecisionDetail.AllowedByOrganizations`` (``None``: not reported).
    allowed_by_organizations: bool | None = None
    #: ``PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary``.
    allowed_by_boundary: bool | None = None

    @property
    def explicit_deny(self) -> bool:
        return self.decision == "explicitDeny"

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "principal": self.principal,
            "resource": self.resource,
            "matched_statements": [
                {"source_policy_id": pid, "source_policy_type": kind}
                for pid, kind in self.matched_statements
            ],
            "missing_context": list(self.missing_context),
            "allowed_by_organizations": self.allowed_by_organizations,
            "allowed_by_boundary": self.allowed_by_boundary,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Simulation:
        """The inverse of :meth:`to_json` (for saved matrices); raises on a wrong type."""
        statements = tuple(
            (str(s["source_policy_id"]), str(s["source_policy_type"]))
            for s in raw.get("matched_statements", [])
        )
        organizations = raw.get("allowed_by_organizations")
        boundary = raw.get("allowed_by_boundary")
        for value in (organizations, boundary):
            if value is not None and not isinstance(value, bool):
                raise TypeError(f"expected a boolean or null, not {value!r}")
        return cls(
            decision=str(raw["decision"]),
            principal=str(raw["principal"]),
            resource=str(raw.get("resource", "*")),
            matched_statements=statements,
            missing_context=tuple(str(k) for k in raw.get("missing_context", [])),
            allowed_by_organizations=organizations,
            allowed_by_boundary=boundary,
        )


@dataclass(frozen=True)
class Disagreement:
    """A dry run and the simulator answering one action, in one region, differently.

    The dry run is the truth for its request; the disagreement says what the simulator
    cannot see. ``reasons`` are the likely causes, most likely first (``session policy``,
    ``resource-based policy``, ``VPC endpoint policy``, ``resource control policy``...).
    """

    action: str
    region: str
    identity: str
    dry_run: Outcome
    simulated: str  # the simulator's EvalDecision
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "region": self.region,
            "identity": self.identity,
            "dry_run": self.dry_run.value,
            "simulated": self.simulated,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Disagreement:
        return cls(
            action=str(raw["action"]),
            region=str(raw["region"]),
            identity=str(raw.get("identity", "")),
            dry_run=Outcome(raw["dry_run"]),
            simulated=str(raw["simulated"]),
            reasons=tuple(str(r) for r in raw.get("reasons", [])),
        )


@dataclass(frozen=True)
class ProbeResult:
    """What one dry run found out."""

    action: str
    service: str
    operation: str
    region: str
    outcome: Outcome
    code: str | None
    http_status: int | None
    message: str | None
    attempts: int
    elapsed_ms: float
    detail: str = ""
    error_kind: ErrorKind | None = None
    identity: str = ""
    access_level: str = ""
    #: The plain-text reason newer AWS messages carry ("because no identity-based policy
    #: allows ..."), for display only: never used to classify.
    reason: str | None = None
    #: The decoded authorization failure (``--decode``), when there was one to decode.
    decoded: Explanation | None = None
    #: The real resource id the probe used (``--resources``/``--discover``), if any.
    resource: str | None = None
    #: The parameters that still held awsprobe's placeholders (``i-000…``) when it was sent.
    placeholders: tuple[str, ...] = ()
    #: For an ``allowed`` placeholder probe: the required resource types and dependent
    #: actions its request did not exercise (``None`` when there are none).
    not_exercised: NotExercised | None = None
    #: A request probe's parameters as sent, secrets redacted (``None`` for catalog probes).
    params: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)
    #: Where the verdict came from: a dry run, or IAM's policy simulator (``--simulate``).
    source: Source = Source.DRY_RUN
    #: A simulated verdict's details (``None`` for dry runs).
    simulation: Simulation | None = None

    def to_json(self) -> dict[str, Any]:
        data = self._json_fields()
        if self.params is not None:  # a request probe's (catalog probes keep their shape)
            data["params"] = dict(self.params)
        return data

    def _json_fields(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "identity": self.identity,
            "outcome": self.outcome.value,
            "code": self.code,
            "http_status": self.http_status,
            "message": self.message,
            "attempts": self.attempts,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "detail": self.detail,
            "error_kind": self.error_kind.value if self.error_kind else None,
            "access_level": self.access_level,
            "reason": self.reason,
            "decoded": self.decoded.to_json() if self.decoded else None,
            "resource": self.resource,
            "placeholders": list(self.placeholders),
            "not_exercised": self.not_exercised.to_json() if self.not_exercised else None,
            "source": self.source.value,
            "simulation": self.simulation.to_json() if self.simulation else None,
        }
