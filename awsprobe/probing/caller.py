"""Who the probes are sent as: the caller identity, asked of STS once.

``sts:GetCallerIdentity`` cannot be denied, so it works for every identity; the
details ``awsprobe whoami`` prints (where the credentials came from) are recorded
in the matrix by :func:`identify`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from botocore.config import Config
from botocore.exceptions import NoCredentialsError

from awsprobe.identity import whoami
from awsprobe.model import Identity

__all__ = ["caller_identity", "credentials_missing", "identify"]


def caller_identity(
    session: Any = None,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    config: Config | None = None,
) -> Identity:
    """Who the credentials belong to (``sts:GetCallerIdentity``, which cannot be denied).

    :class:`~awsprobe.errors.CredentialsError` when there are none or they are rejected.
    """
    who = whoami(session, region=region, endpoint_url=endpoint_url, imds=False, config=config)
    return who.identity()


def identify(
    session: Any = None, *, endpoint_url: str | None = None, config: Config | None = None
) -> Identity:
    """The caller identity with ``awsprobe whoami``'s details recorded (one STS call)."""
    who = whoami(session, endpoint_url=endpoint_url, config=config)
    return dataclasses.replace(who.identity(), details=who.to_json())


def credentials_missing(session: Any, exc: BaseException) -> bool:
    """Whether a :class:`~awsprobe.errors.CredentialsError` from ``session`` means that
    none were found (configure some), not that they were rejected."""
    if isinstance(exc.__cause__, NoCredentialsError):
        return True
    try:
        return session.get_credentials() is None
    except Exception:
        return False
