"""Who the caller is: :func:`whoami`, its :class:`WhoAmI` answer, and the warnings it gives.

* **the caller** -- one ``sts:GetCallerIdentity`` (guard-exempt, cannot be
  denied), its ARN parsed by :func:`~awsprobe.identity.principal.parse_principal`;
* **the credentials** -- botocore's own name for where it found them
  (``credentials.method``: ``env``, ``shared-credentials-file``,
  ``assume-role``, ``sso``, ``iam-role``, ...; botocore ``credentials.py``), whether they
  are temporary (a session token, or an ``ASIA`` key) and when they expire
  (refreshable credentials only), the profile and region in use. The access
  key id is only ever shown masked (:func:`~awsprobe.redact.mask_key`); secrets
  and tokens never;
* **the instance** -- :func:`~awsprobe.identity.imds.probe_imds`: instance id,
  region and attached role *name*. The role's policy cannot be read from IMDS
  at all, which the text output says rather than guess;
* **warnings** -- data in :data:`WARNINGS` (stable id → one-line message
  that names the fix), chosen by :func:`identity_warnings`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from awsprobe.errors import CredentialsError, EndpointUnreachable
from awsprobe.guard import close_client, core_session
from awsprobe.identity.credentials import MFA_METHOD
from awsprobe.identity.imds import ImdsInfo, probe_imds
from awsprobe.identity.principal import Principal, PrincipalType, parse_principal
from awsprobe.model import Identity
from awsprobe.redact import is_access_key_id, mask_key
from awsprobe.sts import (
    CREDENTIAL_ERRORS,
    DEFAULT_REGION,
    error_text,
    expiry_of,
    one_line,
    sts_client,
    utc_iso,
)

__all__ = [
    "CREDENTIAL_SOURCES",
    "JSON_KEYS",
    "WARNINGS",
    "IdentityWarning",
    "WhoAmI",
    "identity_warnings",
    "whoami",
]

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
            "expires_at": utc_iso(self.expires_at),
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
            ("region", self.region or f"(not set: {DEFAULT_REGION} used)"),
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
        return f"yes, expires {utc_iso(self.expires_at)} ({when})"


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
        raise CredentialsError(f"cannot load AWS credentials: {one_line(exc)}") from exc
    if credentials is None:
        raise CredentialsError(
            "no AWS credentials found; set AWS_PROFILE or run 'aws configure', "
            "or try the local sandbox with --sandbox"
        )
    client = sts_client(core, region, endpoint_url, config)
    try:
        answer = client.get_caller_identity()
    except ClientError as exc:
        code, message = error_text(exc)
        raise CredentialsError(
            f"the credentials were rejected by sts:GetCallerIdentity ({code}: {message}); "
            "refresh them (expired session?) or pick another --profile"
        ) from exc
    except CREDENTIAL_ERRORS as exc:
        raise CredentialsError(f"cannot load AWS credentials: {one_line(exc)}") from exc
    except BotoCoreError as exc:
        raise EndpointUnreachable("STS to identify the caller", one_line(exc)) from exc
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
        user_id=mask_key(user_id) if is_access_key_id(user_id) else user_id,
        principal_type=principal.type,
        principal_name=principal.name,
        role_name=principal.role_name,
        session_name=principal.session_name,
        credential_source=source,
        access_key_id_masked=mask_key(key) or None,
        temporary=temporary,
        expires_at=expiry_of(credentials) if temporary else None,
        profile=core.profile,
        region=region or core.get_config_variable("region"),
        imds=instance,
        warnings=identity_warnings(principal, source, key, temporary, instance),
    )
