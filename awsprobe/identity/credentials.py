"""Credential minting: the sessions behind ``--mfa-serial`` and ``--assume-role``, and their export.

:func:`mfa_session` (``sts:GetSessionToken``) and :func:`assume_role_session`
(``sts:AssumeRole``, refreshable) each return an ordinary :class:`boto3.Session`
that :func:`awsprobe.probe` and :func:`awsprobe.guard.guarded_client`
accept. These two STS calls are the only ones in awsprobe that mint
credentials; they are listed in :data:`awsprobe.guard.EXEMPT_OPERATIONS` and
made only on explicit request. :func:`session_exports` / :func:`session_json`
are the one place a secret is ever output, for ``awsprobe session`` to hand to
a shell.

Errors are one line: :class:`~awsprobe.errors.UsageError` for a malformed MFA
serial, code or role ARN, :class:`~awsprobe.errors.CredentialsError` for
credentials that are missing, expired or refused (a wrong MFA code, a role
that may not be assumed), :class:`~awsprobe.errors.EndpointUnreachable` when
STS does not answer, each with the botocore exception as ``__cause__``.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import re
import shlex
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from awsprobe.errors import CredentialsError, EndpointUnreachable, UsageError
from awsprobe.guard import core_session
from awsprobe.sts import (
    CREDENTIAL_ERRORS,
    as_utc,
    error_text,
    expiry_of,
    one_line,
    sts_client,
    utc_iso,
)

__all__ = [
    "ASSUME_ROLE_METHOD",
    "MFA_METHOD",
    "assume_role_session",
    "mfa_session",
    "session_exports",
    "session_json",
]

#: ``credentials.method`` of a session from :func:`mfa_session` (botocore has no name for it).
MFA_METHOD: Final = "mfa-session"
#: ``credentials.method`` of a session from :func:`assume_role_session`: botocore's own name
#: for the same thing done from a profile's ``role_arn``.
ASSUME_ROLE_METHOD: Final = "assume-role"

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
    client = sts_client(core, None, endpoint_url)
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
    client = sts_client(core, None, endpoint_url)

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
        raise CredentialsError(hint(*error_text(exc))) from exc
    except CREDENTIAL_ERRORS as exc:
        raise CredentialsError(f"cannot load AWS credentials: {one_line(exc)}") from exc
    except BotoCoreError as exc:
        raise EndpointUnreachable(f"STS for sts:{operation}", one_line(exc)) from exc
    return answer


def _metadata(credentials: Mapping[str, Any]) -> dict[str, str]:
    expiry = credentials["Expiration"]
    moment = as_utc(expiry) if isinstance(expiry, _dt.datetime) else None
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
        raise CredentialsError(f"cannot load AWS credentials: {one_line(exc)}") from exc
    if frozen is None:
        raise CredentialsError("no AWS credentials found; nothing to export")
    return frozen, expiry_of(credentials)


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
        lines.append(f"export AWS_CREDENTIAL_EXPIRATION={utc_iso(expiry)}")
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
        document["Expiration"] = utc_iso(expiry)
    return document
