"""Encoded authorization failure messages: what they say, and the codec.

EC2's denials carry an opaque message that ``sts:DecodeAuthorizationMessage``
turns into JSON. :func:`_decoded_message` writes that JSON in the shape of the
AWS CLI's example (aws/aws-cli ``awscli/examples/sts/decode-authorization-message.rst``):
the verdict, the statements that decided it and the request context of the
authorization that failed -- which may be a dependent action (``iam:PassRole``
on the role's ARN: AWS re:Post KC "ec2-not-auth-launch"). The context's
conditions are the keys that were evaluated, plus the descriptive keys real
decoded messages list (:func:`_descriptive_keys`), which no policy is tested on.
:class:`_MessageCodec` makes the opaque form: base64url of a MAC and the
compressed JSON, so only the sandbox that issued a message can decode it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from awsprobe.arn import parse_arn
from awsprobe.sandbox.evaluation import Decision, RequestContext
from awsprobe.sandbox.identities import _Principal


def _items(values: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    return {"items": [{"value": v} for v in values]}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _policy_values(wanted: Any) -> list[str]:
    items = wanted if isinstance(wanted, list) else [wanted]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _statement_item(statement: Mapping[str, Any], principal: _Principal) -> dict[str, Any]:
    conditions = [
        {"key": str(key), "values": _items(_policy_values(values))}
        for block in (statement.get("Condition") or {}).values()
        if isinstance(block, Mapping)
        for key, values in block.items()
    ]
    item: dict[str, Any] = {
        "statementId": str(statement.get("Sid", "")),
        "effect": str(statement.get("Effect", "")).upper(),
        "principals": _items([principal.id]),
        "principalGroups": {"items": []},
        "actions": _items(_strings(statement.get("Action"))),
        "resources": _items(_strings(statement.get("Resource"))),
        "conditions": {"items": conditions},
    }
    if "NotAction" in statement:
        item["notActions"] = _items(_strings(statement.get("NotAction")))
    if "NotResource" in statement:
        item["notResources"] = _items(_strings(statement.get("NotResource")))
    return item


def _descriptive_keys(request: RequestContext, service: str, region: str) -> dict[str, list[str]]:
    """The keys real decoded messages list beside the evaluated ones (REFERENCE §9).

    AWS re:Post KC "ec2-not-auth-launch" (an ``iam:PassRole`` denial of a
    RunInstances call): ``aws:Region``, ``aws:Service`` (the called service,
    ``ec2``), ``aws:Resource`` (the ARN's resource part), ``aws:Account``,
    ``aws:Type`` (the resource type) and ``aws:ARN``. They are not documented
    condition keys and are never part of what a policy is evaluated on.
    """
    keys = {"aws:Region": [region], "aws:Service": [service]}
    arn = parse_arn(request.resource) if request.resource != "*" else None
    if arn is not None:
        keys["aws:Resource"] = [arn.resource]
        if arn.account:
            keys["aws:Account"] = [arn.account]
        kind = re.split(r"[/:]", arn.resource, maxsplit=1)[0]
        if kind != arn.resource:
            keys["aws:Type"] = [kind]
        keys["aws:ARN"] = [request.resource]
    return keys


def _decoded_message(
    decision: Decision,
    principal: _Principal,
    request: RequestContext,
    service: str,
    region: str,
) -> dict[str, Any]:
    """The JSON STS returns for a denial of ``request``, in the AWS CLI example's shape.

    ``service`` is the IAM prefix of the called operation, ``region`` the
    request's. ``context.action`` is EC2's own action unprefixed and any other
    prefixed, as AWS writes them (REFERENCE §3).
    """
    prefix, _, name = decision.action.partition(":")
    conditions = {key: list(values) for key, values in request.keys.items()}
    lowered = {key.lower() for key in conditions}
    for key, values in _descriptive_keys(request, service, region).items():
        if key.lower() not in lowered:
            conditions[key] = values
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.explicit_deny,
        "matchedStatements": {"items": [_statement_item(s, principal) for s in decision.matched]},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal.id, "name": principal.name, "arn": principal.arn},
            "action": name if prefix.lower() == "ec2" else decision.action,
            "resource": request.resource,
            "conditions": {
                "items": [
                    {"key": key, "values": _items(values)} for key, values in conditions.items()
                ]
            },
        },
    }


class _MessageCodec:
    """Opaque, tamper-evident authorization messages: base64url(MAC + zlib(JSON))."""

    _MAC_BYTES = 16
    _ALPHABET = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def encode(self, document: Mapping[str, Any]) -> str:
        payload = zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[: self._MAC_BYTES]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode(self, message: str) -> str | None:
        """The JSON text, or None for anything this sandbox did not issue."""
        if not self._ALPHABET.fullmatch(message):
            return None
        try:
            raw = base64.urlsafe_b64decode(message + "=" * (-len(message) % 4))
        except ValueError:
            return None
        mac, payload = raw[: self._MAC_BYTES], raw[self._MAC_BYTES :]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[: self._MAC_BYTES]
        if not payload or not hmac.compare_digest(mac, expected):
            return None
        try:
            return zlib.decompress(payload).decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            return None
