"""The EC2 instance metadata service (IMDS): a small, bounded client that reads no credentials.

:func:`probe_imds` (an :class:`InstanceMetadata` client) asks, IMDSv2 token
first, then a tokenless GET to see whether IMDSv1 still answers, for the
instance id, region and attached role *name*, and returns an :class:`ImdsInfo`.

The instance metadata service is a link-local HTTP endpoint on the instance, not
an AWS API: nothing here is signed or sent through botocore, so the dry-run guard
does not (and need not) apply. What does apply: short timeouts, no redirects
(http.client never follows one), bounded reads, and never asking for
``security-credentials/<role>`` -- only the role *name* is listed.
"""

from __future__ import annotations

import enum
import http.client
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import botocore.session

from awsprobe.errors import UsageError
from awsprobe.guard import core_session

__all__ = [
    "IMDS_DEFAULT_ENDPOINT",
    "IMDS_DEFAULT_TIMEOUT",
    "IMDS_IPV6_ENDPOINT",
    "ImdsInfo",
    "InstanceMetadata",
    "probe_imds",
]

logger = logging.getLogger(__name__)

IMDS_DEFAULT_ENDPOINT: Final = "http://169.254.169.254/"
IMDS_IPV6_ENDPOINT: Final = "http://[fd00:ec2::254]/"
#: Per-request timeout (seconds) unless ``AWS_METADATA_SERVICE_TIMEOUT`` says otherwise.
IMDS_DEFAULT_TIMEOUT: Final = 0.5
_TOKEN_PATH: Final = "latest/api/token"
_TTL_HEADER: Final = "X-aws-ec2-metadata-token-ttl-seconds"
_TOKEN_HEADER: Final = "X-aws-ec2-metadata-token"
_TOKEN_TTL: Final = "60"  # seconds: the token is used for a handful of GETs, then dropped
_MAX_BODY: Final = 4096
#: What awsprobe reads from IMDS, and the shape each answer must have to be believed.
_IMDS_PATHS: Final[Mapping[str, tuple[str, re.Pattern[str]]]] = MappingProxyType(
    {
        "instance_id": ("latest/meta-data/instance-id", re.compile(r"^i-[0-9a-f]{8,32}$")),
        "region": ("latest/meta-data/placement/region", re.compile(r"^[a-z]{2,8}(-[a-z]+)+-\d+$")),
        # the listing only: one role name per line (an instance profile holds one role)
        "role": ("latest/meta-data/iam/security-credentials/", re.compile(r"^[\w+=,.@-]{1,128}$")),
    }
)


class _Failure(enum.Enum):
    REFUSED = "connection failed"
    CONNECT_TIMEOUT = "no connection"
    READ_TIMEOUT = "no answer"
    BROKEN = "a broken answer"
    OUT_OF_TIME = "out of time"


@dataclass(frozen=True)
class _Reply:
    status: int | None = None
    body: str = ""
    failure: _Failure | None = None


@dataclass(frozen=True)
class ImdsInfo:
    """What the instance metadata service said (all ``None``/``False`` off EC2)."""

    on_ec2: bool = False
    instance_id: str | None = None
    region: str | None = None
    instance_role: str | None = None
    imds_v1_enabled: bool | None = None
    imds_v2: bool | None = None
    endpoint: str | None = None
    detail: str = "not checked"


class InstanceMetadata:
    """A small, bounded IMDS client (IMDSv2 first) that reads no credentials.

    ``endpoint`` defaults to ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (or the
    config file's ``ec2_metadata_service_endpoint``, or the IPv6 address when
    ``ec2_metadata_service_endpoint_mode`` is ``IPv6``), then
    ``http://169.254.169.254/``. ``timeout`` is per request, defaulting to
    ``AWS_METADATA_SERVICE_TIMEOUT`` or :data:`IMDS_DEFAULT_TIMEOUT`; the whole
    probe is bounded by four of them. ``AWS_EC2_METADATA_DISABLED=true``
    (botocore's rule) means no request at all.
    """

    def __init__(
        self, endpoint: str | None = None, timeout: float | None = None, *, session: Any = None
    ) -> None:
        core = core_session(session)
        self.disabled = os.environ.get("AWS_EC2_METADATA_DISABLED", "false").lower() == "true"
        self.endpoint = endpoint or _configured_endpoint(core)
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"instance metadata endpoint {self.endpoint!r} is not an http:// URL; "
                "fix AWS_EC2_METADATA_SERVICE_ENDPOINT"
            )
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        # always an explicit port: http.client would read "254" in "fd00:ec2::254" as one
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/") + "/"
        self.timeout = timeout if timeout is not None else _configured_timeout()
        self.budget = 4 * self.timeout

    def probe(self) -> ImdsInfo:
        """Find out whether this is an EC2 instance, and which one."""
        if self.disabled:
            return ImdsInfo(detail="not checked: AWS_EC2_METADATA_DISABLED=true")
        deadline = time.monotonic() + self.budget
        put = self._send("PUT", _TOKEN_PATH, {_TTL_HEADER: _TOKEN_TTL}, deadline)
        if put.failure in (_Failure.REFUSED, _Failure.CONNECT_TIMEOUT):
            # nobody listens: not on EC2 (a PUT dropped by a hop limit still connects)
            return self._absent(_describe(put))
        token = put.body.strip() if put.status == 200 else ""
        headers = {_TOKEN_HEADER: token} if token else {}
        tokenless = self._send("GET", _IMDS_PATHS["instance_id"][0], {}, deadline)
        v1_enabled = {200: True, 401: False}.get(tokenless.status or 0)
        if not token and tokenless.status != 200:
            return self._absent(_describe(tokenless if put.status is None else put))
        values = {
            key: self._value(path, shape, headers, deadline)
            for key, (path, shape) in _IMDS_PATHS.items()
        }
        if values["instance_id"] is None:
            return self._absent("it answered, but with no instance id")
        v2 = bool(token)
        v1_text = {True: "IMDSv1 still answers", False: "IMDSv1 disabled (tokens required)"}
        detail = ("IMDSv2" if v2 else f"IMDSv1 only (token request: {_describe(put)})") + (
            f"; {v1_text[v1_enabled]}" if v2 and v1_enabled is not None else ""
        )
        return ImdsInfo(
            on_ec2=True,
            instance_id=values["instance_id"],
            region=values["region"],
            instance_role=values["role"],
            imds_v1_enabled=v1_enabled,
            imds_v2=v2,
            endpoint=self.endpoint,
            detail=detail,
        )

    def _absent(self, why: str) -> ImdsInfo:
        return ImdsInfo(
            endpoint=self.endpoint,
            detail=f"no instance metadata service at {self.endpoint} ({why})",
        )

    def _value(
        self, path: str, shape: re.Pattern[str], headers: Mapping[str, str], deadline: float
    ) -> str | None:
        reply = self._send("GET", path, headers, deadline)
        if reply.status != 200:
            return None
        lines = reply.body.strip().splitlines()
        value = lines[0].strip() if lines else ""
        return value if shape.match(value) else None

    def _send(self, method: str, path: str, headers: Mapping[str, str], deadline: float) -> _Reply:
        timeout = min(self.timeout, deadline - time.monotonic())
        if timeout <= 0:
            return _Reply(failure=_Failure.OUT_OF_TIME)
        connection_class = (
            http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        )
        connection = connection_class(self._host, self._port, timeout=timeout)
        try:
            try:
                connection.connect()
            except TimeoutError:
                return _Reply(failure=_Failure.CONNECT_TIMEOUT)
            except OSError:
                return _Reply(failure=_Failure.REFUSED)
            try:
                connection.request(method, self._base + path, headers=dict(headers))
                response = connection.getresponse()
                body = response.read(_MAX_BODY).decode("utf-8", "replace")
            except TimeoutError:
                return _Reply(failure=_Failure.READ_TIMEOUT)
            except (OSError, http.client.HTTPException):
                return _Reply(failure=_Failure.BROKEN)
        finally:
            connection.close()
        logger.debug("imds: %s /%s -> %s", method, path, response.status)
        return _Reply(status=response.status, body=body)


def _describe(reply: _Reply) -> str:
    return f"HTTP {reply.status}" if reply.failure is None else str(reply.failure.value)


def _configured_endpoint(core: botocore.session.Session) -> str:
    endpoint = core.get_config_variable("ec2_metadata_service_endpoint")
    if endpoint:
        return str(endpoint)
    mode = core.get_config_variable("ec2_metadata_service_endpoint_mode")
    return IMDS_IPV6_ENDPOINT if str(mode or "").lower() == "ipv6" else IMDS_DEFAULT_ENDPOINT


def _configured_timeout() -> float:
    raw = os.environ.get("AWS_METADATA_SERVICE_TIMEOUT")
    try:
        value = float(raw) if raw else IMDS_DEFAULT_TIMEOUT
    except ValueError:
        return IMDS_DEFAULT_TIMEOUT
    return value if value > 0 else IMDS_DEFAULT_TIMEOUT


def probe_imds(
    endpoint: str | None = None, timeout: float | None = None, *, session: Any = None
) -> ImdsInfo:
    """Ask the instance metadata service who this instance is (see :class:`InstanceMetadata`)."""
    return InstanceMetadata(endpoint, timeout, session=session).probe()
