"""The data model: the plain values every layer passes around.

* :class:`Outcome` -- what a probe found out (``allowed``, ``denied``, ...);
* :class:`ErrorKind` -- why an ``error`` outcome has no usable answer;
* :class:`Identity` -- who was probed, and where its credentials came from;
* :class:`Explanation` -- a decoded authorization failure;
* :class:`NotExercised` -- what an ``allowed`` placeholder probe did not cover;
* :class:`ProbeResult` -- what one dry run found out.

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

__all__ = ["ErrorKind", "Explanation", "Identity", "NotExercised", "Outcome", "ProbeResult"]


class Outcome(StrEnum):
    """What a probe found out. Lower-case strings in JSON."""

    ALLOWED = "allowed"
    DENIED = "denied"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    DRY_RUN_IGNORED = "dry_run_ignored"


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
        }
