"""Who am I, and from where: the caller, its credentials, and the EC2 instance it runs on.

:func:`whoami` answers ``awsprobe whoami`` as a :class:`WhoAmI` value:

* **the caller** -- one ``sts:GetCallerIdentity`` (guard-exempt, cannot be
  denied), its ARN parsed by :func:`parse_principal` into a
  :class:`PrincipalType` (IAM user, root, assumed role, IAM Identity Center
  role, federated user);
* **the credentials** -- botocore's own name for where it found them
  (``credentials.method``: ``env``, ``shared-credentials-file``,
  ``assume-role``, ``sso``, ``iam-role``, ...; botocore ``credentials.py``), whether they
  are temporary (a session token, or an ``ASIA`` key) and when they expire
  (refreshable credentials only), the profile and region in use. The access
  key id is only ever shown masked (:func:`mask_key`); secrets and tokens
  never;
* **the instance** -- :func:`probe_imds` asks the EC2 instance metadata
  service (IMDSv2 token first, then a tokenless GET to see whether IMDSv1
  still answers) for the instance id, region and attached role *name*. It
  never reads the role's credentials, and the role's policy cannot be read
  from IMDS at all, which the text output says rather than guess;
* **warnings** -- data in :data:`WARNINGS` (stable id → one-line message
  that names the fix), chosen by :func:`identity_warnings`.

It also builds the sessions behind ``--mfa-serial`` and ``--assume-role``:
:func:`mfa_session` (``sts:GetSessionToken``) and :func:`assume_role_session`
(``sts:AssumeRole``, refreshable). Both return an ordinary
:class:`boto3.Session` that :func:`awsprobe.runner.probe` and
:func:`awsprobe.guard.guarded_client` accept. These two STS calls are the
only ones in awsprobe that mint credentials; they are listed in
:data:`awsprobe.guard.EXEMPT_OPERATIONS` and made only on explicit request.
:func:`session_exports` / :func:`session_json` are the one place a secret is
ever output, for ``awsprobe session`` to hand to a shell.

Redaction (:func:`redact`, :func:`mask_key`, :class:`RedactSecrets`,
:func:`install_redaction`) lives in the leaf module :mod:`awsprobe.redact`; the
names are re-exported here so older imports keep working.

Errors are one line: :class:`~awsprobe.errors.UsageError` for bad input (a
malformed MFA serial, code or role ARN), :class:`~awsprobe.errors.CredentialsError`
for credentials that are missing, expired or refused (a wrong MFA code, a
role that may not be assumed), each with the botocore exception as
``__cause__``.
"""

from __future__ import annotations

import datetime as _dt
import enum
import getpass
import http.client
import logging
import os
import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from awsprobe.arn import parse_arn
from awsprobe.errors import CredentialsError, EndpointUnreachable, UsageError
from awsprobe.guard import close_client, core_session, guarded_client
from awsprobe.matrix import Identity
from awsprobe.redact import (  # re-exported: redaction lived here before awsprobe.redact
    _ACCESS_KEY_RE,
    REDACTED_LOGGERS,
    RedactSecrets,
    install_redaction,
    mask_key,
    redact,
)

__all__ = [
    "ASSUME_ROLE_METHOD",
    "CREDENTIAL_SOURCES",
    "IMDS_DEFAULT_ENDPOINT",
    "IMDS_DEFAULT_TIMEOUT",
    "IMDS_IPV6_ENDPOINT",
    "JSON_KEYS",
    "MFA_METHOD",
    "REDACTED_LOGGERS",
    "WARNINGS",
    "IdentityWarning",
    "ImdsInfo",
    "InstanceMetadata",
    "Principal",
    "PrincipalType",
    "RedactSecrets",
    "WhoAmI",
    "assume_role_session",
    "identity_warnings",
    "install_redaction",
    "mask_key",
    "mfa_session",
    "parse_principal",
    "probe_imds",
    "redact",
    "session_exports",
    "session_json",
    "whoami",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- tables

#: ``credentials.method`` of a session from :func:`mfa_session` (botocore has no name for it).
MFA_METHOD: Final = "mfa-session"
#: ``credentials.method`` of a session from :func:`assume_role_session`: botocore's own name
#: for the same thing done from a profile's ``role_arn``.
ASSUME_ROLE_METHOD: Final = "assume-role"

#: botocore's credential ``method`` names (each provider's ``METHOD`` in botocore
#: ``credentials.py``) and what each means, for the text.
CREDENTIAL_SOURCES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "explicit": "passed explicitly to the session",
        "env": "environment variables (AWS_ACCESS_KEY_ID)",
        "assume-role": "an assumed role (profile role_arn or --assume-role)",
        "assume-role-with-web-identity": "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
        "sso": "IAM Identity Center (SSO) login cache",
        "shared-credentials-file": "the shared credentials file (~/.aws/credentials)",
        "login": "the 'aws login' cache",
        "custom-process": "a credential_process command",
        "config-file": "keys in the config file (~/.aws/config)",
        "ec2-credentials-file": "the EC2 credentials file (/etc/boto.cfg)",
        "boto-config": "a boto2 config file",
        "container-role": "the container's role (ECS task role or EKS Pod Identity)",
        "iam-role": "the EC2 instance's role (instance metadata service)",
        MFA_METHOD: "an MFA session (sts:GetSessionToken with --mfa-serial)",
    }
)

#: Every warning whoami can give: stable id → one line that names the fix.
WARNINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "root-credentials": (
            "root user credentials are in use: use an IAM role or IAM Identity Center user "
            "instead, and delete the root access keys"
        ),
        "long-term-keys-on-ec2": (
            "long-term IAM user access key {key} is in use on EC2 instance {instance}: "
            "use the instance's IAM role instead, and deactivate the key"
        ),
        "env-keys-shadow-instance-role": (
            "static keys in environment variables are used instead of instance role {role}: "
            "unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN to use the role"
        ),
        "imds-v1-enabled": (
            "IMDSv1 still answers on instance {instance}: require IMDSv2 with "
            "'aws ec2 modify-instance-metadata-options --instance-id {instance} "
            "--http-tokens required'"
        ),
    }
)

#: The keys of :meth:`WhoAmI.to_json`, in order.
JSON_KEYS: Final = (
    "arn",
    "account",
    "user_id",
    "principal_type",
    "principal_name",
    "role_name",
    "session_name",
    "credential_source",
    "access_key_id_masked",
    "temporary",
    "expires_at",
    "profile",
    "region",
    "on_ec2",
    "instance_id",
    "instance_region",
    "instance_role",
    "imds_v1_enabled",
    "imds_v2",
    "imds_detail",
    "warnings",
    "warning_ids",
)

_STS_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=5.0,
    read_timeout=15.0,
)
_DEFAULT_REGION: Final = "us-east-1"

# --------------------------------------------------------------------------- principal


class PrincipalType(enum.Enum):
    """What kind of principal a caller ARN names (the value is the JSON spelling)."""

    USER = "iam-user"
    ROOT = "root"
    ASSUMED_ROLE = "assumed-role"
    SSO_ROLE = "sso-role"  # an IAM Identity Center permission set's AWSReservedSSO_* role
    FEDERATED_USER = "federated-user"
    UNKNOWN = "unknown"


_SSO_ROLE_RE: Final = re.compile(r"^AWSReservedSSO_(?P<set>.+)_[0-9a-f]{16}$")


@dataclass(frozen=True)
class Principal:
    """A caller ARN taken apart."""

    type: PrincipalType
    name: str | None = None
    role_name: str | None = None
    session_name: str | None = None

    @property
    def permission_set(self) -> str | None:
        """The IAM Identity Center permission set behind an ``AWSReservedSSO_*`` role."""
        match = _SSO_ROLE_RE.match(self.role_name or "")
        return match.group("set") if match else None


def parse_principal(arn: str) -> Principal:
    """Take a ``sts:GetCallerIdentity`` ARN apart.

    ``arn:aws:iam::123456789012:user/path/name`` → user ``name``;
    ``arn:aws:iam::123456789012:root`` → root;
    ``arn:aws:sts::123456789012:assumed-role/Role/session`` → assumed role (an
    ``AWSReservedSSO_*`` role is an IAM Identity Center role);
    ``arn:aws:sts::123456789012:federated-user/name`` → federated user. Any
    partition. Anything else is :attr:`PrincipalType.UNKNOWN`.
    """
    parsed = parse_arn(arn)
    if parsed is None:
        return Principal(PrincipalType.UNKNOWN)
    resource = parsed.resource
    kind, _, rest = resource.partition("/")
    if resource == "root":
        return Principal(PrincipalType.ROOT, name="root")
    if kind == "user" and rest:
        return Principal(PrincipalType.USER, name=rest.rsplit("/", 1)[-1])
    if kind == "federated-user" and rest:
        return Principal(PrincipalType.FEDERATED_USER, name=rest)
    if kind == "assumed-role" and "/" in rest:
        role, session = rest.split("/", 1)
        kind_of_role = (
            PrincipalType.SSO_ROLE if _SSO_ROLE_RE.match(role) else PrincipalType.ASSUMED_ROLE
        )
        return Principal(kind_of_role, name=role, role_name=role, session_name=session)
    return Principal(PrincipalType.UNKNOWN)


# --------------------------------------------------------------------------- IMDS
#
# The instance metadata service is a link-local HTTP endpoint on the instance, not
# an AWS API: nothing here is signed or sent through botocore, so the dry-run guard
# does not (and need not) apply. What does apply: short timeouts, no redirects
# (http.client never follows one), bounded reads, and never asking for
# ``security-credentials/<role>`` -- only the role *name* is listed.

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


# --------------------------------------------------------------------------- whoami


@dataclass(frozen=True)
class IdentityWarning:
    """One warning: a stable id from :data:`WARNINGS` and its rendered one-line message."""

    id: str
    message: str


def _warning(warning_id: str, **fields: str) -> IdentityWarning:
    return IdentityWarning(warning_id, WARNINGS[warning_id].format(**fields))


def identity_warnings(
    principal: Principal,
    credential_source: str | None,
    access_key_id: str | None,
    temporary: bool,
    imds: ImdsInfo,
) -> tuple[IdentityWarning, ...]:
    """The warnings that apply, in the order of :data:`WARNINGS`."""
    found: list[IdentityWarning] = []
    instance = imds.instance_id or "?"
    if principal.type is PrincipalType.ROOT:
        found.append(_warning("root-credentials"))
    if imds.on_ec2 and access_key_id and not temporary:
        found.append(
            _warning("long-term-keys-on-ec2", key=mask_key(access_key_id), instance=instance)
        )
    if imds.on_ec2 and imds.instance_role and credential_source == "env":
        found.append(_warning("env-keys-shadow-instance-role", role=imds.instance_role))
    if imds.on_ec2 and imds.imds_v1_enabled:
        found.append(_warning("imds-v1-enabled", instance=instance))
    return tuple(found)


@dataclass(frozen=True)
class WhoAmI:
    """Everything ``awsprobe whoami`` reports. Holds no secret: the key id is masked."""

    arn: str
    account: str
    user_id: str
    principal_type: PrincipalType
    principal_name: str | None
    role_name: str | None
    session_name: str | None
    credential_source: str | None
    access_key_id_masked: str | None
    temporary: bool
    expires_at: _dt.datetime | None
    profile: str | None
    region: str | None
    imds: ImdsInfo
    warnings: tuple[IdentityWarning, ...] = ()

    @property
    def on_ec2(self) -> bool:
        return self.imds.on_ec2

    @property
    def instance_id(self) -> str | None:
        return self.imds.instance_id

    @property
    def instance_role(self) -> str | None:
        return self.imds.instance_role

    @property
    def imds_v1_enabled(self) -> bool | None:
        return self.imds.imds_v1_enabled

    def identity(self) -> Identity:
        """The caller as the matrix records it."""
        return Identity(
            arn=self.arn,
            account=self.account,
            user_id=self.user_id,
            credential_source=self.credential_source,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready object with exactly the keys of :data:`JSON_KEYS`."""
        document: dict[str, Any] = {
            "arn": self.arn,
            "account": self.account,
            "user_id": self.user_id,
            "principal_type": self.principal_type.value,
            "principal_name": self.principal_name,
            "role_name": self.role_name,
            "session_name": self.session_name,
            "credential_source": self.credential_source,
            "access_key_id_masked": self.access_key_id_masked,
            "temporary": self.temporary,
            "expires_at": _iso(self.expires_at),
            "profile": self.profile,
            "region": self.region,
            "on_ec2": self.imds.on_ec2,
            "instance_id": self.imds.instance_id,
            "instance_region": self.imds.region,
            "instance_role": self.imds.instance_role,
            "imds_v1_enabled": self.imds.imds_v1_enabled,
            "imds_v2": self.imds.imds_v2,
            "imds_detail": self.imds.detail,
            "warnings": [w.message for w in self.warnings],
            "warning_ids": [w.id for w in self.warnings],
        }
        return {key: document[key] for key in JSON_KEYS}

    def describe_principal(self) -> str:
        """The principal in words: ``IAM user ci``, ``assumed role Admin (session bob)``, ..."""
        kind = self.principal_type
        if kind is PrincipalType.USER:
            return f"IAM user {self.principal_name}"
        if kind is PrincipalType.ROOT:
            return f"root user of account {self.account}"
        if kind is PrincipalType.FEDERATED_USER:
            return f"federated user {self.principal_name}"
        if kind is PrincipalType.SSO_ROLE:
            permission_set = parse_principal(self.arn).permission_set
            return (
                f"IAM Identity Center role {self.role_name} (permission set {permission_set}, "
                f"session {self.session_name})"
            )
        if kind is PrincipalType.ASSUMED_ROLE:
            return f"assumed role {self.role_name} (session {self.session_name})"
        return "unrecognised principal (see the ARN)"

    def to_lines(self, now: _dt.datetime | None = None) -> list[str]:
        """A one-screen text rendering; the CLI prints it, the library never does."""
        source = self.credential_source or "unknown"
        where = CREDENTIAL_SOURCES.get(source)
        rows: list[tuple[str, str]] = [
            ("account", self.account),
            ("arn", self.arn),
            ("user id", self.user_id),
            ("principal", self.describe_principal()),
            ("credentials", f"{source}: {where}" if where else source),
            ("access key", self.access_key_id_masked or "-"),
            ("temporary", self._expiry_text(now)),
            ("profile", self.profile or "(none: default chain)"),
            ("region", self.region or f"(not set: {_DEFAULT_REGION} used)"),
        ]
        imds = self.imds
        if imds.on_ec2:
            rows += [
                ("EC2 instance", f"{imds.instance_id} in {imds.region or 'an unknown region'}"),
                ("metadata", imds.detail),
                ("instance role", imds.instance_role or "none attached"),
            ]
            if imds.instance_role:
                rows.append(
                    (
                        "role policy",
                        "not readable from the instance metadata service (awsprobe does not "
                        "guess it); probe with the role's credentials to see what it may do",
                    )
                )
        elif imds.detail.startswith("not checked"):
            rows.append(("EC2", imds.detail))
        else:
            rows.append(("EC2", f"not on EC2 ({imds.detail})"))
        width = max(len(label) for label, _ in rows)
        lines = [f"{label:<{width}}  {value}" for label, value in rows]
        lines += [f"warning: {warning.message}" for warning in self.warnings]
        return lines

    def _expiry_text(self, now: _dt.datetime | None) -> str:
        if not self.temporary:
            return "no (long-term keys)"
        if self.expires_at is None:
            return "yes (expiry not known)"
        current = now or _dt.datetime.now(_dt.UTC)
        minutes = int((self.expires_at - current).total_seconds() // 60)
        when = "already expired" if minutes < 0 else f"in {minutes} min"
        return f"yes, expires {_iso(self.expires_at)} ({when})"


def _iso(moment: _dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: Any) -> _dt.datetime | None:
    if not isinstance(moment, _dt.datetime):
        return None
    return moment.replace(tzinfo=_dt.UTC) if moment.tzinfo is None else moment.astimezone(_dt.UTC)


_CREDENTIAL_ERRORS: Final = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)


def whoami(
    session: Any = None,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    imds: bool = True,
    imds_endpoint: str | None = None,
    imds_timeout: float | None = None,
    config: Config | None = None,
) -> WhoAmI:
    """Who the session's credentials belong to, where they came from, and where this runs.

    ``session`` is a boto3 or botocore session (``None``: the default chain).
    One ``sts:GetCallerIdentity`` is sent (guard-exempt); with ``imds`` the
    instance metadata service is asked too (see :func:`probe_imds`).
    """
    core = core_session(session)
    try:
        credentials = core.get_credentials()
    except BotoCoreError as exc:
        raise CredentialsError(f"cannot load AWS credentials: {_one_line(exc)}") from exc
    if credentials is None:
        raise CredentialsError(
            "no AWS credentials found; set AWS_PROFILE or run 'aws configure', "
            "or try the local sandbox with --sandbox"
        )
    client = _sts_client(core, region, endpoint_url, config)
    try:
        answer = client.get_caller_identity()
    except ClientError as exc:
        code, message = _error(exc)
        raise CredentialsError(
            f"the credentials were rejected by sts:GetCallerIdentity ({code}: {message}); "
            "refresh them (expired session?) or pick another --profile"
        ) from exc
    except _CREDENTIAL_ERRORS as exc:
        raise CredentialsError(f"cannot load AWS credentials: {_one_line(exc)}") from exc
    except BotoCoreError as exc:
        raise EndpointUnreachable("STS to identify the caller", _one_line(exc)) from exc
    finally:
        close_client(client)
    frozen = credentials.get_frozen_credentials()  # already fresh: the call above used them
    key = str(frozen.access_key or "") or None
    temporary = bool(frozen.token) or (key or "").startswith("ASIA")
    method = getattr(credentials, "method", None)
    source = str(method) if method else None
    arn = str(answer["Arn"])
    principal = parse_principal(arn)
    instance = probe_imds(imds_endpoint, imds_timeout, session=core) if imds else ImdsInfo()
    user_id = str(answer["UserId"])
    return WhoAmI(
        arn=arn,
        account=str(answer["Account"]),
        # real STS never answers with a key id here, but a fake may: never show one whole
        user_id=mask_key(user_id) if _ACCESS_KEY_RE.fullmatch(user_id) else user_id,
        principal_type=principal.type,
        principal_name=principal.name,
        role_name=principal.role_name,
        session_name=principal.session_name,
        credential_source=source,
        access_key_id_masked=mask_key(key) or None,
        temporary=temporary,
        expires_at=_utc(getattr(credentials, "_expiry_time", None)) if temporary else None,
        profile=core.profile,
        region=region or core.get_config_variable("region"),
        imds=instance,
        warnings=identity_warnings(principal, source, key, temporary, instance),
    )


# --------------------------------------------------------------------------- sessions

_MFA_ARN_RE: Final = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:mfa/[\w+=,.@/-]{1,512}$")
_HARDWARE_SERIAL_RE: Final = re.compile(r"^[\w+=,.@-]{9,256}$")
_MFA_CODE_RE: Final = re.compile(r"^\d{6}$")
_ROLE_ARN_RE: Final = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_SESSION_NAME_RE: Final = re.compile(r"^[\w+=,.@-]{2,64}$")
_EXTERNAL_ID_RE: Final = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
#: Allowed ``DurationSeconds`` (STS API reference): GetSessionToken for IAM users, and
#: AssumeRole up to the role's maximum session duration (at most 12 hours).
_DURATIONS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {"GetSessionToken": (900, 129600), "AssumeRole": (900, 43200)}
)


def _check_serial(serial: str) -> str:
    serial = serial.strip()
    if _MFA_ARN_RE.match(serial) or (
        not serial.startswith("arn:") and _HARDWARE_SERIAL_RE.match(serial)
    ):
        return serial
    raise UsageError(
        f"--mfa-serial {serial!r} is not an MFA device: give its ARN "
        "(arn:aws:iam::123456789012:mfa/NAME) or a hardware token's serial number"
    )


def _check_code(code: str) -> str:
    code = code.strip()
    if _MFA_CODE_RE.match(code):
        return code
    raise UsageError("--mfa-code must be the 6 digits your MFA device shows now")


def _check_duration(duration: int | None, operation: str) -> int | None:
    if duration is None:
        return None
    low, high = _DURATIONS[operation]
    if not low <= duration <= high:
        raise UsageError(
            f"--duration-seconds {duration} is out of range for sts:{operation} "
            f"({low} to {high} seconds)"
        )
    return duration


def _check(value: str | None, shape: re.Pattern[str], what: str, hint: str) -> str | None:
    if value is None or shape.match(value):
        return value
    raise UsageError(f"{what} {value!r} is not valid: {hint}")


def _default_session_name() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (containers without a passwd entry)
        user = ""
    user = re.sub(r"[^\w+=,.@-]", "-", user)
    return f"awsprobe-{user}"[:64] if user else "awsprobe"


def mfa_session(
    session: Any = None,
    *,
    serial: str,
    code: str,
    duration_seconds: int | None = None,
    endpoint_url: str | None = None,
) -> boto3.Session:
    """A session with MFA-authenticated temporary credentials (``sts:GetSessionToken``).

    ``serial`` is the MFA device's ARN or a hardware token's serial number,
    ``code`` its current 6 digits. The credentials cannot be renewed without a
    new code: once they expire, using the session raises
    :class:`~awsprobe.errors.CredentialsError`. Its ``credentials.method`` is
    :data:`MFA_METHOD`.
    """
    params: dict[str, Any] = {"SerialNumber": _check_serial(serial), "TokenCode": _check_code(code)}
    duration = _check_duration(duration_seconds, "GetSessionToken")
    if duration is not None:
        params["DurationSeconds"] = duration
    core = core_session(session)
    client = _sts_client(core, None, endpoint_url)
    answer = _mint(client.get_session_token, "GetSessionToken", params, _mfa_hint)
    metadata = _metadata(answer["Credentials"])

    def expired() -> dict[str, str]:
        raise CredentialsError(
            f"the MFA session expired at {metadata['expiry_time']}; "
            "run again with a fresh --mfa-code"
        )

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=metadata,
        refresh_using=expired,
        method=MFA_METHOD,
        advisory_timeout=0,  # never refresh early: a refresh needs a new code
        mandatory_timeout=0,
    )
    return _session_with(core, credentials)


def assume_role_session(
    session: Any = None,
    *,
    role_arn: str,
    session_name: str | None = None,
    external_id: str | None = None,
    duration_seconds: int | None = None,
    endpoint_url: str | None = None,
) -> boto3.Session:
    """A session that is ``role_arn`` (``sts:AssumeRole``), renewing itself before expiry.

    The role is assumed once now, so a bad ARN or a refused trust policy fails
    here with one line, then again whenever botocore finds the credentials
    close to expiry. ``session_name`` defaults to ``awsprobe-<local user>``.
    Its ``credentials.method`` is :data:`ASSUME_ROLE_METHOD`.
    """
    role_hint = "give a role ARN such as arn:aws:iam::123456789012:role/NAME"
    params: dict[str, Any] = {
        "RoleArn": _check(role_arn.strip(), _ROLE_ARN_RE, "--assume-role", role_hint),
        "RoleSessionName": _check(
            session_name or _default_session_name(),
            _SESSION_NAME_RE,
            "--role-session-name",
            "use 2-64 letters, digits or +=,.@_-",
        ),
    }
    if external_id is not None:
        params["ExternalId"] = _check(
            external_id, _EXTERNAL_ID_RE, "--external-id", "use 2-1224 letters, digits or +=,.@:/_-"
        )
    duration = _check_duration(duration_seconds, "AssumeRole")
    if duration is not None:
        params["DurationSeconds"] = duration
    core = core_session(session)
    client = _sts_client(core, None, endpoint_url)

    def fetch() -> dict[str, str]:
        answer = _mint(client.assume_role, "AssumeRole", params, _assume_role_hint)
        return _metadata(answer["Credentials"])

    metadata = fetch()
    expiry = _dt.datetime.fromisoformat(metadata["expiry_time"])
    lifetime = max(0.0, (expiry - _dt.datetime.now(_dt.UTC)).total_seconds())
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=metadata,
        refresh_using=fetch,
        method=ASSUME_ROLE_METHOD,
        # botocore's 15/10-minute windows would refresh a 15-minute session on every call
        advisory_timeout=min(15 * 60, lifetime / 3),
        mandatory_timeout=min(10 * 60, lifetime / 6),
    )
    return _session_with(core, credentials)


def _mfa_hint(code: str, message: str) -> str:
    if "MultiFactorAuthentication" in message:
        return (
            f"the MFA code was refused ({code}: {message}); "
            "check --mfa-serial and use a fresh --mfa-code"
        )
    if code == "ExpiredToken":
        return f"the credentials used to ask for an MFA session have expired ({code}: {message})"
    return f"sts:GetSessionToken was refused ({code}: {message})"


def _assume_role_hint(code: str, message: str) -> str:
    if code == "ExpiredToken":
        return f"the credentials used to assume the role have expired ({code}: {message})"
    return (
        f"cannot assume the role ({code}: {message}); check the role's trust policy, "
        "--external-id, and your sts:AssumeRole permission"
    )


def _mint(
    call: Callable[..., Any],
    operation: str,
    params: Mapping[str, Any],
    hint: Callable[[str, str], str],
) -> Mapping[str, Any]:
    """Send one credential-minting STS call (``call``); every failure becomes one line."""
    try:
        answer: Mapping[str, Any] = call(**params)
    except ClientError as exc:
        raise CredentialsError(hint(*_error(exc))) from exc
    except _CREDENTIAL_ERRORS as exc:
        raise CredentialsError(f"cannot load AWS credentials: {_one_line(exc)}") from exc
    except BotoCoreError as exc:
        raise EndpointUnreachable(f"STS for sts:{operation}", _one_line(exc)) from exc
    return answer


def _metadata(credentials: Mapping[str, Any]) -> dict[str, str]:
    expiry = credentials["Expiration"]
    moment = _utc(expiry) if isinstance(expiry, _dt.datetime) else None
    return {
        "access_key": str(credentials["AccessKeyId"]),
        "secret_key": str(credentials["SecretAccessKey"]),
        "token": str(credentials["SessionToken"]),
        "expiry_time": moment.isoformat() if moment else str(expiry),
    }


class _GivenCredentials(CredentialProvider):  # type: ignore[misc]  # botocore is untyped
    """The only provider of a session built here: it hands out credentials made earlier."""

    METHOD = "awsprobe"
    CANONICAL_NAME = "custom-awsprobe"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _session_with(base: botocore.session.Session, credentials: Any) -> boto3.Session:
    """A new session like ``base`` (same profile settings and region) but with ``credentials``."""
    profile = base.profile
    core = botocore.session.Session(profile=profile) if profile else botocore.session.Session()
    region = base.get_config_variable("region")
    if region:
        core.set_config_variable("region", region)
    core.register_component(
        "credential_provider", CredentialResolver([_GivenCredentials(credentials)])
    )
    return boto3.Session(botocore_session=core)


def _frozen(session: Any) -> tuple[Any, _dt.datetime | None]:
    core = core_session(session)
    try:
        credentials = core.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except BotoCoreError as exc:
        raise CredentialsError(f"cannot load AWS credentials: {_one_line(exc)}") from exc
    if frozen is None:
        raise CredentialsError("no AWS credentials found; nothing to export")
    return frozen, _utc(getattr(credentials, "_expiry_time", None))


def session_exports(session: Any) -> list[str]:
    """``export AWS_...=...`` lines that give a POSIX shell the session's credentials.

    THIS PRINTS THE SECRET KEY AND SESSION TOKEN. It is the only place awsprobe
    ever outputs a secret, and only for ``awsprobe session``, which the user
    runs to ``eval`` the result in a shell. Values are shell-quoted.
    """
    frozen, expiry = _frozen(session)
    lines = [
        f"export AWS_ACCESS_KEY_ID={shlex.quote(frozen.access_key)}",
        f"export AWS_SECRET_ACCESS_KEY={shlex.quote(frozen.secret_key)}",
    ]
    if frozen.token:
        lines.append(f"export AWS_SESSION_TOKEN={shlex.quote(frozen.token)}")
    else:
        lines.append("unset AWS_SESSION_TOKEN")
    if expiry is not None:
        lines.append(f"export AWS_CREDENTIAL_EXPIRATION={_iso(expiry)}")
    return lines


def session_json(session: Any) -> dict[str, Any]:
    """The session's credentials in the ``credential_process`` JSON format (``Version`` 1).

    Like :func:`session_exports`, this contains the secret key and token, on
    explicit request only (``awsprobe session --output json``).
    """
    frozen, expiry = _frozen(session)
    document: dict[str, Any] = {
        "Version": 1,
        "AccessKeyId": frozen.access_key,
        "SecretAccessKey": frozen.secret_key,
    }
    if frozen.token:
        document["SessionToken"] = frozen.token
    if expiry is not None:
        document["Expiration"] = _iso(expiry)
    return document


# --------------------------------------------------------------------------- helpers


def _sts_client(
    core: botocore.session.Session,
    region: str | None,
    endpoint_url: str | None,
    config: Config | None = None,
) -> BaseClient:
    return guarded_client(
        core,
        "sts",
        region=region or core.get_config_variable("region") or _DEFAULT_REGION,
        endpoint_url=endpoint_url,
        config=config or _STS_CONFIG,
    )


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "") or "Unknown"), _one_line(error.get("Message", "") or "")


def _one_line(text: object) -> str:
    # AWS may echo a canonical request (token, full key id) back in a message: redact it
    return redact(" ".join(str(text).split()).rstrip("."))
