"""What comes in and what is recorded: the request model of the sandbox's WSGI app.

:class:`_Incoming` is one HTTP request as the sandbox reads it -- method,
target, headers (botocore's case-insensitive ``HeadersDict``), body, and the
SigV4 ``Authorization`` header taken apart (:class:`_Auth`: access key,
region, signing name; :func:`_parse_auth`); :func:`_read_request` makes one
from a WSGI environ, reading the body to its end. :class:`RecordedRequest` is
what the sandbox's request log keeps of each.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from botocore.awsrequest import HeadersDict


@dataclass(frozen=True)
class RecordedRequest:
    """One request the sandbox received.

    ``dry_run`` is true when the request carried its dry-run flag (the guard's
    own check); ``exempt`` when the operation is one the guard lets through
    without one (:data:`awsprobe.guard.EXEMPT_OPERATIONS`). ``answered_by`` is
    ``"sandbox"`` for answers the sandbox wrote, ``"moto"`` for pass-through.
    """

    service: str | None
    operation: str | None
    region: str | None
    access_key_id: str | None
    dry_run: bool
    exempt: bool
    status: int
    code: str | None
    answered_by: str

    @property
    def guarded(self) -> bool:
        """Whether awsprobe's guard would have let this request leave the client."""
        return self.dry_run or self.exempt


_CREDENTIAL_RE: Final = re.compile(
    r"Credential=(?P<akid>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request"
)
_SIGNED_HEADERS_RE: Final = re.compile(r"SignedHeaders=(?P<headers>[^,\s]+)")
_SIGNATURE_RE: Final = re.compile(r"Signature=(?P<signature>[0-9a-fA-F]+)")


@dataclass(frozen=True)
class _Auth:
    access_key_id: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class _Incoming:
    method: str
    url: str
    path: str
    query: str
    headers: Mapping[str, str]  # botocore's HeadersDict: original names, found in any case
    body: bytes
    auth: _Auth | None
    source_ip: str | None = None  # the caller's address (REMOTE_ADDR): aws:SourceIp

    def form(self) -> dict[str, list[str]]:
        content_type = (self.headers.get("Content-Type") or "").lower()
        fields = parse_qs(self.query, keep_blank_values=True)
        if content_type.startswith("application/x-www-form-urlencoded") and self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                return fields
            for key, values in parse_qs(text, keep_blank_values=True).items():
                fields.setdefault(key, []).extend(values)
        return fields


#: Set in the WSGI environ once the request body has been read to its end, so
#: the connection can carry the next request (see :mod:`awsprobe.sandbox.server`).
_BODY_READ: Final = "awsprobe.sandbox.body_read"


def _read_request(environ: dict[str, Any]) -> _Incoming:
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH") or ""
    if stream is None:
        body, complete = b"", True
    elif length.isdigit():
        body = stream.read(int(length))
        complete = len(body) == int(length)
    elif environ.get("wsgi.input_terminated"):
        body, complete = stream.read(), True
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:  # no framing header means no body; a malformed one leaves the end unknown
        body = b""
        complete = not length and "HTTP_TRANSFER_ENCODING" not in environ
    environ[_BODY_READ] = complete
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    environ["CONTENT_LENGTH"] = str(len(body))
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    return _incoming(
        environ.get("REQUEST_METHOD", "GET"),
        raw,
        headers,
        body,
        f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}",
        environ.get("QUERY_STRING", ""),
        environ.get("REMOTE_ADDR") or None,
    )


def _incoming(
    method: str,
    raw: str,
    headers: Mapping[str, str],
    body: bytes,
    server: str,
    query: str = "",
    source_ip: str | None = None,
) -> _Incoming:
    """A request from its parts: ``raw`` is the request target, ``server`` the fallback host."""
    parts = urlsplit(raw)
    found = HeadersDict(headers)
    return _Incoming(
        method=method.upper(),
        url=f"http://{found.get('Host') or server}{raw}",
        path=parts.path or "/",
        query=parts.query or query,
        headers=found,
        body=body,
        auth=_parse_auth(found.get("Authorization")),
        source_ip=source_ip,
    )


def _parse_auth(header: str | None) -> _Auth | None:
    if not header or not header.startswith("AWS4-HMAC-SHA256"):
        return None
    credential = _CREDENTIAL_RE.search(header)
    signed = _SIGNED_HEADERS_RE.search(header)
    signature = _SIGNATURE_RE.search(header)
    if credential is None or signed is None or signature is None:
        return None
    return _Auth(
        access_key_id=credential["akid"],
        region=credential["region"],
        service=credential["service"].lower(),
        signed_headers=tuple(h.lower() for h in signed["headers"].split(";")),
        signature=signature["signature"].lower(),
    )
