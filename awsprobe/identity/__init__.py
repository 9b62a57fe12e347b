"""Who am I, and from where: the caller, its credentials, and the EC2 instance it runs on.

One purpose a module:

* :mod:`~awsprobe.identity.principal` -- a caller ARN taken apart (:func:`parse_principal`);
* :mod:`~awsprobe.identity.imds` -- the instance metadata client (:func:`probe_imds`),
  which reads the instance id, region and role *name*, never credentials;
* :mod:`~awsprobe.identity.credentials` -- the sessions behind ``--mfa-serial`` and
  ``--assume-role`` (:func:`mfa_session`, :func:`assume_role_session`) and their
  export for a shell (:func:`session_exports`, :func:`session_json`);
* :mod:`~awsprobe.identity.caller` -- :func:`whoami`, its :class:`WhoAmI` answer and
  the warnings it gives.

The STS client and error wording they share are :mod:`awsprobe.sts`; redaction is
:mod:`awsprobe.redact`. The public names are re-exported here, where the README
documents them (``awsprobe.identity.whoami(session=None)``,
``awsprobe.identity.assume_role_session``, ``awsprobe.identity.mfa_session``).
"""

from __future__ import annotations

from awsprobe.identity.caller import (
    CREDENTIAL_SOURCES,
    JSON_KEYS,
    WARNINGS,
    IdentityWarning,
    WhoAmI,
    identity_warnings,
    whoami,
)
from awsprobe.identity.credentials import (
    ASSUME_ROLE_METHOD,
    MFA_METHOD,
    assume_role_session,
    mfa_session,
    session_exports,
    session_json,
)
from awsprobe.identity.imds import (
    IMDS_DEFAULT_ENDPOINT,
    IMDS_DEFAULT_TIMEOUT,
    IMDS_IPV6_ENDPOINT,
    ImdsInfo,
    InstanceMetadata,
    probe_imds,
)
from awsprobe.identity.principal import Principal, PrincipalType, parse_principal

__all__ = [
    "ASSUME_ROLE_METHOD",
    "CREDENTIAL_SOURCES",
    "IMDS_DEFAULT_ENDPOINT",
    "IMDS_DEFAULT_TIMEOUT",
    "IMDS_IPV6_ENDPOINT",
    "JSON_KEYS",
    "MFA_METHOD",
    "WARNINGS",
    "IdentityWarning",
    "ImdsInfo",
    "InstanceMetadata",
    "Principal",
    "PrincipalType",
    "WhoAmI",
    "assume_role_session",
    "identity_warnings",
    "mfa_session",
    "parse_principal",
    "probe_imds",
    "session_exports",
    "session_json",
    "whoami",
]
