"""A scripted fake AWS behind botocore's ``before-send`` event (nothing touches a socket).

Each request is recorded with its service, operation and region (read from the
SigV4 credential scope), and answered by the first matching script rule.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError

STS_IDENTITY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/ci</Arn>"
    b"<UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
)


def ec2_error(code: str, message: str = "message") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error></Errors><RequestID>1</RequestID></Response>"
    ).encode()


DRY_RUN_OK = (
    412,
    ec2_error("DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
)
UNAUTHORIZED = (
    403,
    ec2_error("UnauthorizedOperation", "You are not authorized to perform this operation."),
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


@dataclass(frozen=True)
class Seen:
    service: str
    operation: str
    region: str
    body: bytes
    key: str = ""


Reply = tuple[int, bytes] | BaseException
Rule = Callable[[Seen, int], Reply | None]  # (request, nth time this op+region seen) -> reply


class FakeAWS:
    """Install on a botocore session; scripts decide each answer, everything is recorded."""

    def __init__(self, *rules: Rule, default: Reply = DRY_RUN_OK) -> None:
        self.rules = list(rules)
        self.default = default
        self.seen: list[Seen] = []
        self.counts: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()
        self.session = botocore.session.get_session()
        self.session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
        self.session.set_config_variable("region", "us-east-1")
        self.session.register("before-send", self)

    def __call__(self, request: AWSPreparedRequest, event_name: str = "", **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        auth = request.headers.get("Authorization", b"")
        auth_text = auth.decode() if isinstance(auth, bytes) else str(auth)
        scope = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", auth_text)
        key, region, service = scope.groups() if scope else ("", "?", "?")
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        seen = Seen(service, operation, region, body, key)
        with self.lock:
            self.seen.append(seen)
            key = (operation, region)
            self.counts[key] = self.counts.get(key, 0) + 1
            nth = self.counts[key]
        if operation == "GetCallerIdentity":
            return AWSResponse(request.url, 200, {}, _Raw(STS_IDENTITY))
        reply: Reply | None = None
        for rule in self.rules:
            reply = rule(seen, nth)
            if reply is not None:
                break
        if reply is None:
            reply = self.default
        if isinstance(reply, BaseException):
            raise reply
        status, payload = reply
        return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, _Raw(payload))

    def sent(self, operation: str | None = None, region: str | None = None) -> list[Seen]:
        return [
            s
            for s in self.seen
            if s.operation != "GetCallerIdentity"
            and (operation is None or s.operation == operation)
            and (region is None or s.region == region)
        ]


def one_flag_model(protocol: str, member: str, ref: dict[str, str]) -> Any:
    """A minimal service, ``x``, of one operation, ``Go``, whose input has one boolean member
    (the dry-run flag) serialized as ``ref`` says (location, locationName, queryName)."""
    from botocore.model import ServiceModel

    return ServiceModel(
        {
            "metadata": {
                "protocol": protocol,
                "apiVersion": "2020-01-01",
                "endpointPrefix": "x",
                "serviceId": "X",
                "targetPrefix": "X",
                "jsonVersion": "1.0",
            },
            "operations": {
                "Go": {
                    "name": "Go",
                    "http": {"method": "POST", "requestUri": "/go"},
                    "input": {"shape": "GoInput"},
                }
            },
            "shapes": {
                "GoInput": {
                    "type": "structure",
                    "locationName": "GoRequest",
                    "members": {member: {"shape": "Flag", **ref}},
                },
                "Flag": {"type": "boolean"},
            },
        },
        "x",
    )


def client_error(call: Callable[..., Any], **params: Any) -> tuple[str, int, str]:
    """Call and return (code, HTTP status, message) of the ClientError it must raise."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )
