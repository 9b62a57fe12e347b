"""Who a caller ARN names: an IAM user, the root user, an assumed or IAM Identity Center
role, a federated user.

:func:`parse_principal` takes a ``sts:GetCallerIdentity`` ARN apart into a
:class:`Principal` of a :class:`PrincipalType`. The ARN itself is split by the
one ARN parser, :func:`awsprobe.arn.parse_arn`; this module only reads the
resource part. Pure: no I/O, no boto3.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from awsprobe.arn import parse_arn

__all__ = ["Principal", "PrincipalType", "parse_principal"]


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
