"""STS, the one AWS service awsprobe calls for real: the plumbing its callers share.

``sts:GetCallerIdentity`` (:func:`awsprobe.identity.whoami`), the two
credential calls (:mod:`awsprobe.identity.credentials`) and
``sts:DecodeAuthorizationMessage`` (:mod:`awsprobe.decode`) are the guard's
only exemptions. What they share:

* :func:`sts_client` -- a guarded STS client with short timeouts and three attempts;
* :data:`CREDENTIAL_ERRORS` -- botocore's exceptions for credentials that cannot be
  loaded (none, partial, a failed provider or SSO token): a credentials problem,
  never an outage;
* :func:`error_text` and :func:`one_line` -- an STS failure as the code and one
  redacted line (AWS may echo a canonical request, token and all, in a message);
* :func:`expiry_of`, :func:`as_utc` and :func:`utc_iso` -- credential expiry times in UTC.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Final

import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from awsprobe.adapters import credentials_expiry
from awsprobe.guard import guarded_client
from awsprobe.redact import redact

__all__ = [
    "CREDENTIAL_ERRORS",
    "DEFAULT_REGION",
    "STS_CONFIG",
    "as_utc",
    "error_text",
    "expiry_of",
    "one_line",
    "sts_client",
    "utc_iso",
]

#: Short timeouts and three attempts: these calls are quick or the endpoint is down.
STS_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=5.0,
    read_timeout=15.0,
)
#: The region STS is asked in when the session names none.
DEFAULT_REGION: Final = "us-east-1"

#: Credentials that cannot be loaded: a credentials problem, never an outage.
CREDENTIAL_ERRORS: Final = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)


def sts_client(
    core: botocore.session.Session,
    region: str | None,
    endpoint_url: str | None,
    config: Config | None = None,
) -> BaseClient:
    """A guarded STS client in ``region`` (else the session's, else :data:`DEFAULT_REGION`)."""
    return guarded_client(
        core,
        "sts",
        region=region or core.get_config_variable("region") or DEFAULT_REGION,
        endpoint_url=endpoint_url,
        config=config or STS_CONFIG,
    )


def error_text(exc: ClientError) -> tuple[str, str]:
    """An STS error's code and its message on one redacted line."""
    error = exc.response.get("Error", {})
    return str(error.get("Code", "") or "Unknown"), one_line(error.get("Message", "") or "")


def one_line(text: object) -> str:
    """``text`` on one line, redacted: AWS may echo a canonical request (token, full key id)."""
    return redact(" ".join(str(text).split()).rstrip("."))


def utc_iso(moment: _dt.datetime | None) -> str | None:
    """``2026-01-01T00:00:00Z`` (``None`` stays ``None``)."""
    if moment is None:
        return None
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_utc(moment: Any) -> _dt.datetime | None:
    """``moment`` in UTC (a naive one is taken as UTC); ``None`` when it is not a datetime."""
    if not isinstance(moment, _dt.datetime):
        return None
    return moment.replace(tzinfo=_dt.UTC) if moment.tzinfo is None else moment.astimezone(_dt.UTC)


def expiry_of(credentials: Any) -> _dt.datetime | None:
    """When refreshable credentials expire, in UTC; ``None`` when botocore does not say.

    botocore keeps it in a private attribute, read through
    :func:`awsprobe.adapters.credentials_expiry`.
    """
    return as_utc(credentials_expiry(credentials))
