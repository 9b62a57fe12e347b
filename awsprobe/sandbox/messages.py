"""Encoded authorization failure messages: what they say, and the codec.

EC2's denials carry an opaque message that ``sts:DecodeAuthorizationMessage``
turns into JSON. :func:`_decoded_message` writes that JSON in the shape of the
AWS CLI's example (aws/aws-cli ``awscli/examples/sts/decode-authorization-message.rst``):
the verdict, the statements that decided it and the request context.
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

from awsprobe.sandbox.evaluation import Decision, _as_strings, _policy_values
from awsprobe.sandbox.identities import _Principal


def _items(values: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    return {"items": [{"value": v} for v in values]}


def _statement_item(statement: Mapping[str, Any], principal: _Principal) -> dict[str, Any]:
    def listed(key: str) -> list[str]:
        return _as_strings(statement.get(key)) or []

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
        "actions": _items(listed("Action")),
        "resources": _items(listed("Resource")),
        "conditions": {"items": conditions},
    }
    if "NotAction" in statement:
        item["notActions"] = _items(listed("NotAction"))
    if "NotResource" in statement:
        item["notResources"] = _items(listed("NotResource"))
    return item


def _decoded_message(
    decision: Decision,
    principal: _Principal,
    resource: str,
    context: Mapping[str, list[str]],
) -> dict[str, Any]:
    """The JSON STS returns, in the shape of the AWS CLI's decode-authorization-message example."""
    prefix, _, name = decision.action.partition(":")
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.explicit_deny,
        "matchedStatements": {"items": [_statement_item(s, principal) for s in decision.matched]},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal.id, "name": principal.name, "arn": principal.arn},
            # like AWS: EC2's own actions unprefixed, every other action prefixed
            "action": name if prefix.lower() == "ec2" else decision.action,
            "resource": resource,
            "conditions": {
                "items": [{"key": key, "values": _items(values)} for key, values in context.items()]
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
