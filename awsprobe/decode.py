"""Explain a denial: ``sts:DecodeAuthorizationMessage`` and the message texts around it.

A denied EC2 dry run may carry ``Encoded authorization failure message:
<blob>``; STS decodes the blob (for callers allowed
``sts:DecodeAuthorizationMessage``) into JSON that says whether the deny was
explicit, which statements matched, the action actually denied (possibly a
dependent one such as ``iam:PassRole``), the resource and the condition keys
(STS API Reference, DecodeAuthorizationMessage:
https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html;
the JSON shape of aws/aws-cli ``awscli/examples/sts/decode-authorization-message.rst``).
Newer messages also carry a plain-text reason before the
blob ("because no identity-based policy allows ..."); it is parsed into
``reason`` for display and never used to classify.

The decoded value, :class:`~awsprobe.model.Explanation`, lives in the data model
(re-exported here). A failure to decode is a
:class:`~awsprobe.errors.UsageError` when the text is not a message STS can
decode, a :class:`~awsprobe.errors.CredentialsError` when there are no usable
credentials, an :class:`~awsprobe.errors.EndpointUnreachable` when STS does not
answer, and an :class:`~awsprobe.errors.AwsprobeError` for any other refusal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from awsprobe.errors import AwsprobeError, CredentialsError, EndpointUnreachable, UsageError
from awsprobe.guard import guarded_client
from awsprobe.model import Explanation, Outcome, ProbeResult
from awsprobe.sts import CREDENTIAL_ERRORS, one_line

__all__ = [
    "Explanation",
    "decode_authorization_message",
    "encoded_message",
    "explain_denials",
    "parse_decoded",
    "plain_reason",
]

_ENCODED: Final = re.compile(r"Encoded authorization failure message:\s*(\S+)")
_REASON: Final = re.compile(
    r"(because (?:no [\w -]+ policy allows|of an explicit deny|"
    r"with an explicit deny|an? [\w -]+ policy)[^.]*)",
    re.IGNORECASE,
)
_WITH_EXPLICIT: Final = re.compile(r"(with an explicit deny in an? [\w -]+ policy)", re.IGNORECASE)
_MAX_MESSAGE: Final = 10240  # the STS model's length limit for EncodedMessage


def encoded_message(message: str | None) -> str | None:
    """The encoded blob in an error message, if any."""
    if not message:
        return None
    found = _ENCODED.search(message)
    return found.group(1) if found else None


def plain_reason(message: str | None) -> str | None:
    """The plain-text reason newer AWS messages carry before the blob, if any."""
    if not message:
        return None
    found = _WITH_EXPLICIT.search(message) or _REASON.search(message)
    return found.group(1).rstrip(" .") if found else None


def _items(node: Any) -> list[Any]:
    if isinstance(node, dict):
        items = node.get("items", [])
        return list(items) if isinstance(items, list) else []
    return list(node) if isinstance(node, list) else []


def _value(node: Any) -> str | None:
    if isinstance(node, dict):
        value = node.get("value")
        return str(value) if value is not None else None
    return str(node) if node is not None else None


def normalise_action(action: str | None, service_prefix: str | None = None) -> str | None:
    """``RunInstances`` -> ``ec2:RunInstances`` (decoded messages use both forms)."""
    if not action:
        return None
    if ":" in action or service_prefix is None:
        return action
    return f"{service_prefix}:{action}"


def parse_decoded(text: str, service_prefix: str | None = None) -> Explanation:
    """Parse the JSON that ``DecodeAuthorizationMessage`` returns."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise AwsprobeError(f"the decoded message is not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise AwsprobeError("the decoded message is not a JSON object")
    context = raw.get("context")
    if not isinstance(context, dict):
        context = {}
    statements = tuple(
        (
            str(s["statementId"]) if isinstance(s, dict) and s.get("statementId") else None,
            str(s["effect"]) if isinstance(s, dict) and s.get("effect") else None,
        )
        for s in _items(raw.get("matchedStatements"))
    )
    conditions: list[tuple[str, tuple[str, ...]]] = []
    for item in _items(context.get("conditions")):
        if isinstance(item, dict) and item.get("key"):
            values = tuple(v for v in (_value(x) for x in _items(item.get("values"))) if v)
            conditions.append((str(item["key"]), values))
    principal = context.get("principal")
    principal_arn = principal.get("arn") if isinstance(principal, dict) else None
    return Explanation(
        explicit_deny=bool(raw.get("explicitDeny", False)),
        denied_action=normalise_action(
            str(context["action"]) if context.get("action") else None, service_prefix
        ),
        resource=str(context["resource"]) if context.get("resource") else None,
        matched_statements=statements,
        conditions=tuple(conditions),
        principal=str(principal_arn) if principal_arn else None,
        allowed=bool(raw.get("allowed", False)),
    )


def decode_authorization_message(
    message: str,
    session: Any = None,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    service_prefix: str | None = None,
) -> tuple[Explanation, str]:
    """Decode one message with ``sts:DecodeAuthorizationMessage``: (explanation, raw JSON).

    ``message`` may be the blob itself or a whole error message containing it.
    """
    blob = encoded_message(message) or message.strip()
    if not blob or len(blob) > _MAX_MESSAGE or any(ch.isspace() for ch in blob):
        raise UsageError(
            "that is not an encoded authorization message: pass the text after "
            "'Encoded authorization failure message:' (one line, at most 10240 characters)"
        )
    client = guarded_client(
        session,
        "sts",
        region=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    try:
        answer = client.decode_authorization_message(EncodedMessage=blob)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "InvalidAuthorizationMessageException":
            raise UsageError(
                "STS could not decode that message: it is malformed or has expired "
                "(messages are only valid for a while); probe again for a fresh one"
            ) from exc
        if code in ("AccessDenied", "AccessDeniedException"):
            raise AwsprobeError(
                "this identity may not decode authorization messages: it needs "
                "sts:DecodeAuthorizationMessage (ask for it, or decode with another identity)"
            ) from exc
        raise AwsprobeError(f"sts:DecodeAuthorizationMessage failed: {code}") from exc
    except CREDENTIAL_ERRORS as exc:  # no credentials is not an outage
        raise CredentialsError(f"cannot load AWS credentials: {one_line(exc)}") from exc
    except BotoCoreError as exc:
        raise EndpointUnreachable("STS to decode the message", str(exc)) from exc
    text = str(answer.get("DecodedMessage", ""))
    return parse_decoded(text, service_prefix), text


def explain_denials(
    results: Sequence[ProbeResult],
    session: Any = None,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    workers: int = 8,
) -> tuple[list[ProbeResult], list[str]]:
    """Decode every denied result's encoded message (concurrently, once per message).

    Returns the results with ``decoded`` attached where it worked, and the
    warnings -- one per distinct reason a message could not be explained
    (decoding denied, expired message), never one per row.
    """
    blobs: dict[str, str] = {}  # blob -> service prefix
    for result in results:
        blob = encoded_message(result.message) if result.outcome == Outcome.DENIED else None
        if blob:
            blobs.setdefault(blob, result.action.split(":", 1)[0])
    if not blobs:
        return list(results), []
    explained: dict[str, Explanation] = {}
    failures: dict[str, int] = {}

    def one(item: tuple[str, str]) -> tuple[str, Explanation | None, str | None]:
        blob, prefix = item
        try:
            explanation, _ = decode_authorization_message(
                blob, session, region=region, endpoint_url=endpoint_url, service_prefix=prefix
            )
        except AwsprobeError as exc:
            return blob, None, " ".join(str(exc).split())
        return blob, explanation, None

    with ThreadPoolExecutor(
        max_workers=max(1, workers), thread_name_prefix="awsprobe-decode"
    ) as pool:
        for blob, explanation, failure in pool.map(one, list(blobs.items())):
            if explanation is not None:
                explained[blob] = explanation
            elif failure is not None:
                failures[failure] = failures.get(failure, 0) + 1
    out = []
    for result in results:
        blob = encoded_message(result.message)
        if blob in explained:
            result = replace(result, decoded=explained[blob])
        out.append(result)
    warnings = [
        f"could not explain {count} denial{'s' if count > 1 else ''}: {why}"
        for why, count in failures.items()
    ]
    return out, warnings
