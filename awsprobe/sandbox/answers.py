"""Answers in each service's own protocol, with real AWS's codes, statuses and texts.

The tables of how AWS spells its answers (:data:`DIALECTS` per wire protocol,
:data:`DRY_RUN_MESSAGES`, which denial code a service uses), each citing its
public source, and the functions that write one answer: an error in the
protocol's own format (:func:`_error`), ``sts:GetCallerIdentity`` and
``sts:DecodeAuthorizationMessage`` results, the status a service model gives
an error, and the text of a denial.
"""

from __future__ import annotations

import functools
import http
import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from xml.sax.saxutils import escape

from botocore.model import ServiceModel

from awsprobe.catalog import CatalogEntry
from awsprobe.sandbox.cbor import _cbor_text_map
from awsprobe.sandbox.evaluation import Decision
from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.routing import _Route

_EC2_AUTH_FAILURE = "AWS was not able to validate the provided access credentials"
_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Dialect:
    """How one wire protocol answers: content type, default statuses, auth failures.

    ``success_status``/``denial_status`` apply when the service model gives
    the error shape no ``httpStatusCode``. ``unknown_key`` and
    ``bad_signature`` are ``(code, HTTP status, message)``.
    """

    content_type: str
    success_status: int
    denial_status: int
    unknown_key: tuple[str, int, str]
    bad_signature: tuple[str, int, str]
    source: str


#: Answers by wire protocol (``{version}`` is the model's ``jsonVersion``).
DIALECTS: Final[Mapping[str, Dialect]] = MappingProxyType(
    {
        "ec2": Dialect(
            "text/xml;charset=UTF-8",
            412,
            403,
            ("AuthFailure", 401, _EC2_AUTH_FAILURE),
            ("AuthFailure", 401, _EC2_AUTH_FAILURE),
            "AWS EC2 API Reference, Error codes: "
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html; "
            "UnauthorizedOperation 403, AuthFailure 401 (hashicorp/terraform-provider-aws#29710, "
            "hashicorp/terraform#17273); DryRunOperation 412: raw AWS capture in "
            "getmoto/moto#1980",
        ),
        "query": Dialect(
            "text/xml",
            400,
            403,
            ("InvalidClientTokenId", 403, _INVALID_TOKEN),
            ("SignatureDoesNotMatch", 403, _BAD_SIGNATURE),
            "AWS EC2 API Reference, Error codes, common client errors: "
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html "
            "(InvalidClientTokenId, 403 in STS/IAM); STS AccessDenied: "
            "https://repost.aws/knowledge-center/ec2-not-auth-launch",
        ),
        "json": Dialect(
            "application/x-amz-json-{version}",
            400,
            400,
            ("UnrecognizedClientException", 400, _INVALID_TOKEN),
            ("InvalidSignatureException", 400, _BAD_SIGNATURE),
            "KMS DryRunOperationException has no httpStatusCode in botocore "
            "data/kms/2014-11-01/service-2.json: 400 assumed (unconfirmed: no primary source), "
            "as Kinesis documents for its own: "
            "https://docs.aws.amazon.com/streams/latest/dev/kds-dryrun-validation.html",
        ),
        "rest-json": Dialect(
            "application/json",
            400,
            403,
            ("UnrecognizedClientException", 403, _INVALID_TOKEN),
            ("InvalidSignatureException", 403, _BAD_SIGNATURE),
            "AccessDeniedException httpStatusCode 403 in the rest-json models, e.g. botocore "
            "data/imagebuilder/2019-12-02/service-2.json",
        ),
        "smithy-rpc-v2-cbor": Dialect(
            "application/cbor",
            400,
            400,
            ("UnrecognizedClientException", 400, _INVALID_TOKEN),
            ("InvalidSignatureException", 400, _BAD_SIGNATURE),
            "same codes as awsJson (the protocol that rpc-v2-cbor replaces)",
        ),
    }
)

#: The message of each dry-run success code (DryRunOperation: the raw AWS capture in
#: getmoto/moto#1980; the others: their botocore models, kms and redshift-serverless).
DRY_RUN_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "DryRunOperation": "Request would have succeeded, but DryRun flag is set.",
        "DryRunOperationException": (
            "The request was rejected because the DryRun parameter was specified."
        ),
        "DryRunException": "The request was successful, but dry run was enabled.",
    }
)

#: Which denial code a service uses, when its catalog entry lists several.
DENIAL_CODE_PREFERENCE: Final = ("UnauthorizedOperation", "AccessDeniedException")
#: Codes that are moto's spelling, never AWS's answer to a dry run (moto
#: ``core/exceptions.py`` ``AccessDeniedError``).
MOTO_SPELLINGS: Final = frozenset({"AccessDenied"})
#: Services whose denials carry an encoded authorization failure message (AWS EC2 API
#: Reference, Error codes, UnauthorizedOperation:
#: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
ENCODED_MESSAGE_SERVICES: Final = frozenset({"ec2"})

_STS_XMLNS: Final = "https://sts.amazonaws.com/doc/2011-06-15/"
_IAM_XMLNS: Final = "https://iam.amazonaws.com/doc/2010-05-08/"
_INVALID_MESSAGE = (
    "The encoded authorization message is invalid: it was not issued by this sandbox, "
    "was altered, or contains characters such as line breaks."
)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    code: str | None


def _status_line(status: int) -> str:
    return f"{status} {http.HTTPStatus(status).phrase}"


@functools.cache
def _request_ids() -> random.Random:
    return random.Random()  # seeded once from os.urandom; never the random module's own state


def _request_id() -> str:
    """A version 4 UUID, as AWS's request ids are, without a system call each time."""
    return str(uuid.UUID(int=_request_ids().getrandbits(128), version=4))


def _query_ok(root: str, xmlns: str, result: str = "") -> _Answer:
    """A query-protocol (STS, IAM) success: ``<RootResponse><RootResult>result</...>``, the
    result element left out when there is no result, and a request id."""
    request_id = _request_id()
    inner = f"<{root}Result>{result}</{root}Result>" if result else ""
    body = (
        f'<{root}Response xmlns="{xmlns}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{root}Response>"
    ).encode()
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return _Answer(200, headers, body, None)


def _error(route: _Route | None, wire: str, code: str, status: int, message: str) -> _Answer:
    """An error in the wire protocol's own format."""
    request_id = _request_id()
    dialect = DIALECTS.get(wire, DIALECTS["json"])
    content_type = dialect.content_type
    if "{version}" in content_type:
        version = route.model.metadata.get("jsonVersion", "1.1") if route else "1.1"
        content_type = content_type.format(version=version)
    headers: list[tuple[str, str]] = [
        ("Content-Type", content_type),
        ("x-amzn-RequestId", request_id),
    ]
    if wire == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
    elif wire in ("query", "rest-xml"):
        body = (
            f'<ErrorResponse xmlns="{_STS_XMLNS}"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    elif wire == "rest-json":
        headers.append(("x-amzn-ErrorType", code))
        body = json.dumps({"message": message}).encode()
    elif wire == "smithy-rpc-v2-cbor":
        headers.append(("smithy-protocol", "rpc-v2-cbor"))
        body = _cbor_text_map({"__type": code, "message": message})
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
    return _Answer(status, tuple(headers), body, code)


def _modeled_status(model: ServiceModel, code: str, default: int) -> int:
    for shape in model.error_shapes:
        error = shape.metadata.get("error", {})
        if shape.name == code or error.get("code") == code:
            return int(error.get("httpStatusCode", default))
    return default


def _pick_denial_code(entry: CatalogEntry) -> str:
    codes = entry.denial_codes
    for code in DENIAL_CODE_PREFERENCE:
        if code in codes:
            return code
    real = sorted(codes - MOTO_SPELLINGS)
    return real[0] if real else "AccessDenied"


def _pick_success_code(entry: CatalogEntry) -> str:
    real = sorted(entry.success_codes - MOTO_SPELLINGS)
    return real[0] if real else "DryRunOperation"


#: How AWS names each policy layer in a denial's reason (IAM User Guide,
#: "Troubleshoot access denied error messages": "... because no <type> allows the
#: <action> action" or "... with an explicit deny in a <type>"; "with an explicit deny
#: in a service control policy": aws/karpenter-provider-aws#7370).
POLICY_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "identity": "identity-based policy",
        "boundary": "permissions boundary",
        "session": "session policy",
        "scp": "service control policy",
        "resource": "resource-based policy",
    }
)


def _denial_reason(decision: Decision) -> str:
    """Why a request was denied, in AWS's words, naming the layer that denied it."""
    kind = POLICY_TYPES.get(decision.layer or "identity", POLICY_TYPES["identity"])
    if decision.explicit_deny:
        article = "an" if kind[0] in "aeiou" else "a"
        return f"with an explicit deny in {article} {kind}"
    return f"because no {kind} allows the {decision.action} action"


def _denial_message(
    principal: _Principal, decision: Decision, resource: str, blob: str | None
) -> str:
    """A denial's text, as AWS writes it for the action and resource that failed.

    ``User: ARN is not authorized to perform: ACTION on resource: ARN REASON``
    (no ``on resource`` part for ``*``), after EC2's own sentence and before the
    encoded message when there is one (aws/karpenter-provider-aws#7370: "You are
    not authorized to perform this operation. User: … is not authorized to perform:
    ec2:RunInstances on resource: arn:aws:ec2:…:instance/* with an explicit deny
    in a service control policy. Encoded authorization failure message: …").
    """
    on = "" if resource == "*" else f" on resource: {resource}"
    text = (
        f"User: {principal.arn} is not authorized to perform: {decision.action}{on} "
        f"{_denial_reason(decision)}"
    )
    if blob is None:
        return text
    return (
        f"You are not authorized to perform this operation. {text}. "
        f"Encoded authorization failure message: {blob}"
    )


def _caller_identity(principal: _Principal) -> _Answer:
    """sts:GetCallerIdentity: allowed to every caller, even under an explicit deny, as in AWS."""
    request_id = _request_id()
    body = (
        f'<GetCallerIdentityResponse xmlns="{_STS_XMLNS}"><GetCallerIdentityResult>'
        f"<Arn>{escape(principal.arn)}</Arn><UserId>{escape(principal.id)}</UserId>"
        f"<Account>{escape(principal.account)}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return _Answer(200, headers, body, None)


def _decoded_answer(decoded: str) -> _Answer:
    """sts:DecodeAuthorizationMessage's result: the decoded JSON text."""
    request_id = _request_id()
    body = (
        f'<DecodeAuthorizationMessageResponse xmlns="{_STS_XMLNS}">'
        "<DecodeAuthorizationMessageResult>"
        f"<DecodedMessage>{escape(decoded)}</DecodedMessage>"
        "</DecodeAuthorizationMessageResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</DecodeAuthorizationMessageResponse>"
    ).encode()
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return _Answer(200, headers, body, None)
