"""The policy layers of one principal: what :func:`~awsprobe.sandbox.evaluation.authorize` weighs.

IAM User Guide, "Policy evaluation logic" (REFERENCE §9): within one account
a request is allowed when no applicable policy denies it, every guardrail
that applies allows it -- the SCPs of every level above the account (member
accounts only), the principal's permissions boundary if it has one, the
session policies if the session was given any -- and an identity-based
policy allows it. :func:`policy_set` gathers those layers for a principal
found by :func:`~awsprobe.sandbox.identities._find_principal`:

* ``identity``: the user's inline, attached managed and group policies, or
  the role's inline and attached managed policies for an assumed-role session;
* ``boundary``: the user's or the role's permissions boundary (None: none set);
* ``session``: the ``Policy`` and ``PolicyArns`` passed to ``AssumeRole``
  (None: none were passed, which is not the same as an empty session policy);
* ``scps``: one tuple of SCP documents per level of the organization, from
  the root down to the account; each level must allow. The sandbox's model
  (:class:`~awsprobe.sandbox.Sandbox` ``scps=``) is one level, the SCPs
  attached to the sandbox account, with the root and any OU above it holding
  only ``FullAWSAccess`` (AWS Organizations User Guide, "SCP evaluation").

SCPs do not apply to the management account (the sandbox account is a member
account whenever SCPs are given) nor to service-linked roles (AWS
Organizations User Guide, "Service control policies": "SCPs don't affect
users or roles in the management account", "... service-linked roles").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from awsprobe.sandbox.evaluation import PolicySet
from awsprobe.sandbox.identities import _Principal

__all__ = ["FULL_AWS_ACCESS", "ScpLevels", "policy_set", "scp_levels"]

#: SCP levels: one tuple of documents per level, the root first, the account last.
ScpLevels = tuple[tuple[Mapping[str, Any], ...], ...]

#: The AWS managed SCP ``FullAWSAccess`` that AWS Organizations attaches to every
#: root, OU and account (AWS Organizations User Guide, "SCP evaluation"). A deny-list
#: strategy keeps it attached beside the Deny SCPs; give it with them.
FULL_AWS_ACCESS: Final[Mapping[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

#: Service-linked roles live under this path (IAM User Guide, "Using service-linked roles").
_SERVICE_LINKED_PATH: Final = ":role/aws-service-role/"


def scp_levels(account_scps: Iterable[Mapping[str, Any]]) -> ScpLevels:
    """The sandbox's SCP model: ``account_scps`` attached to the account, one level.

    No document means no SCP at all (the account is not in an organization,
    or is its management account): ``()``, not a level that allows nothing.
    """
    documents = tuple(account_scps)
    return (documents,) if documents else ()


def policy_set(
    principal: _Principal, scps: Sequence[Sequence[Mapping[str, Any]]] = ()
) -> PolicySet:
    """Every policy layer that applies to ``principal``'s requests (see the module's docs).

    ``scps`` are the SCP levels of the principal's account (:func:`scp_levels`);
    a service-linked role is exempt from them.
    """
    exempt = _SERVICE_LINKED_PATH in principal.principal_arn
    return PolicySet(
        identity=tuple(principal.documents),
        boundary=principal.boundary,
        session=tuple(principal.session_documents) if principal.session_documents else None,
        scps=() if exempt else tuple(tuple(level) for level in scps),
    )
