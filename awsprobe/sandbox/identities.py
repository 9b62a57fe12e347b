"""Who the sandbox knows: principals as moto's IAM and STS have them, and its own users.

:func:`_find_principal` answers "whose access key is this, and which
policies apply to it", as AWS would:

* an IAM user's long-term key: the user's identity policies (inline, attached
  managed, and its groups' inline and managed policies), its permissions
  boundary, its tags; no session keys;
* credentials from the sandbox's own ``GetSessionToken``: the same user,
  plus ``aws:TokenIssueTime`` and ``aws:MultiFactorAuthPresent`` (and
  ``aws:MultiFactorAuthAge`` when MFA was given);
* an ``AssumeRole`` session: the role's identity policies and permissions
  boundary, the session policies passed to ``AssumeRole`` (``Policy`` and
  ``PolicyArns``), the role's tags overridden by session tags, and the
  session keys.

moto is reached through :mod:`awsprobe.sandbox.moto_adapter` only; what moto
does not keep comes from the sandbox's own records
(:class:`~awsprobe.sandbox.sessions._Sessions`). A policy ARN that names no
policy (a boundary or a session policy deleted since) reads as a document
that allows nothing, never as no policy at all. :func:`_put_inline_policy`
writes a sandbox user's policy into moto's IAM.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

from awsprobe.arn import parse_arn
from awsprobe.errors import SandboxError
from awsprobe.sandbox import moto_adapter
from awsprobe.sandbox.moto_adapter import _PARTITION, MotoUser
from awsprobe.sandbox.sessions import _Sessions

logger = logging.getLogger(__name__)

#: The sandbox user's inline policy, and the admin user's (``Action: *``).
_POLICY_NAME: Final = "awsprobe-sandbox-policy"
_ADMIN_POLICY_NAME: Final = "awsprobe-sandbox-admin"
_ADMIN_POLICY: Final = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _nothing() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class _Principal:
    """A caller, and every policy that applies to it (see :func:`.layers.policy_set`).

    ``documents`` are its identity policies; ``session_documents`` the
    session policies of an ``AssumeRole`` session (empty: none were passed);
    ``boundary`` the user's or role's permissions boundary (None: it has none).
    """

    arn: str
    principal_arn: str  # aws:PrincipalArn: the role, for an assumed-role session
    id: str
    name: str
    kind: str  # aws:PrincipalType
    account: str
    secret: str
    session_token: str | None
    documents: tuple[Mapping[str, Any], ...]
    session_documents: tuple[Mapping[str, Any], ...] = ()
    boundary: Mapping[str, Any] | None = None
    #: aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge, aws:TokenIssueTime: only for
    #: temporary credentials that carry them; long-term keys carry none
    session_keys: Mapping[str, tuple[str, ...]] = field(default_factory=_nothing)
    #: the user's or role's tags, plus session tags: aws:PrincipalTag/<key>
    tags: Mapping[str, str] = field(default_factory=_nothing)


#: What a policy that cannot be read stands for: a document that allows nothing.
_UNREADABLE: Final[Mapping[str, Any]] = MappingProxyType({"Version": "2012-10-17", "Statement": []})


@functools.lru_cache(maxsize=256)
def _parse_document(text: str) -> Mapping[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        logger.debug("a policy document that is not JSON allows nothing")
        return _UNREADABLE
    return document if isinstance(document, dict) else _UNREADABLE


def _read(text: str | None, sessions: _Sessions | None) -> Mapping[str, Any]:
    """A policy text as the evaluator should see it (None: a policy that is not there)."""
    if text is None:
        return _UNREADABLE
    original = sessions.original(text) if sessions is not None else None
    return original if original is not None else _parse_document(text)


def _managed(account: str, arn: str | None, sessions: _Sessions | None) -> Mapping[str, Any]:
    return _read(moto_adapter.managed_policy(account, arn) if arn else None, sessions)


def _find_principal(
    account: str, access_key_id: str, sessions: _Sessions | None = None
) -> _Principal | None:
    """The principal whose active access key ``access_key_id`` is, as IAM and STS have it now.

    ``sessions`` holds what the sandbox keeps beyond moto (minted session
    tokens, AssumeRole extras, users' boundaries); without it only moto's own
    state is read.
    """
    found = moto_adapter.user_with_key(account, access_key_id)
    if found is not None:
        user, secret = found
        return _user_principal(account, user, secret, None, sessions)
    minted = sessions.token(access_key_id) if sessions is not None else None
    if minted is not None:
        owner = moto_adapter.user_named(account, minted.user_name)
        if owner is None or owner.id != minted.user_id:
            return None  # the user was deleted: its sessions no longer authenticate
        principal = _user_principal(account, owner, minted.secret, minted.token, sessions)
        return replace(principal, session_keys=minted.keys())
    session = moto_adapter.role_session(account, access_key_id)
    if session is None or session.expires <= time.time():
        return None  # no such session, or it has expired
    return _role_principal(account, session, sessions)


def _user_principal(
    account: str, user: MotoUser, secret: str, token: str | None, sessions: _Sessions | None
) -> _Principal:
    boundary_arn = sessions.boundary(user.id) if sessions is not None else None
    return _Principal(
        arn=user.arn,
        principal_arn=user.arn,
        id=user.id,
        name=user.name,
        kind="User",
        account=account,
        secret=secret,
        session_token=token,
        documents=tuple(_read(t, sessions) for t in moto_adapter.user_policies(account, user.name)),
        boundary=_managed(account, boundary_arn, sessions) if boundary_arn else None,
        tags=moto_adapter.user_tags(account, user.name),
    )


def _role_principal(
    account: str, session: moto_adapter.MotoRoleSession, sessions: _Sessions | None
) -> _Principal | None:
    role_arn = parse_arn(session.role_arn)
    role_name = (role_arn.resource if role_arn else session.role_arn).rsplit("/", 1)[-1]
    role = moto_adapter.role_named(account, role_name)
    if role is None:
        return None  # the role was deleted: its sessions no longer authenticate
    extras = sessions.role_session(session.access_key_id) if sessions is not None else None
    session_documents = [_parse_document(session.policy)] if session.policy else []
    tags = dict(role.tags)
    session_keys: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    if extras is not None:
        session_documents += [_managed(account, arn, sessions) for arn in extras.policy_arns]
        tags.update(extras.tags)  # session tags override the role's tags of the same key
        session_keys = extras.keys()
    return _Principal(
        arn=f"arn:{_PARTITION}:sts::{account}:assumed-role/{role_name}/{session.session_name}",
        principal_arn=role.arn,
        id=f"{role.id}:{session.session_name}",
        name=session.session_name,
        kind="AssumedRole",
        account=account,
        secret=session.secret,
        session_token=session.session_token,
        documents=tuple(_read(t, sessions) for t in moto_adapter.role_policies(account, role_name)),
        session_documents=tuple(session_documents),
        boundary=_managed(account, role.boundary_arn, sessions) if role.boundary_arn else None,
        session_keys=session_keys,
        tags=MappingProxyType(tags),
    )


def _put_inline_policy(
    account: str,
    user: str,
    name: str,
    policy: Mapping[str, Any],
    sessions: _Sessions | None = None,
) -> None:
    """Put ``policy`` inline on ``user`` in moto's IAM (replacing one of that name).

    An empty statement list puts nothing (IAM refuses it; no policy grants
    nothing just the same). moto refuses a missing or 2008 ``Version``, so
    such a document is stored as 2012-10-17 and ``sessions`` remembers the
    original, which is what the evaluator then reads: its policy variables
    stay literal, as IAM leaves them.
    """
    moto_adapter.delete_user_policy(account, user, name)
    statements = policy.get("Statement")
    if not statements:
        return
    stored = json.dumps({**policy, "Version": "2012-10-17"})
    try:
        moto_adapter.put_user_policy(account, user, name, stored)
    except Exception as exc:  # moto's MalformedPolicyDocument and friends
        raise SandboxError(f"moto's IAM rejected the policy: {exc}; simplify the policy") from exc
    if sessions is not None and policy.get("Version") != "2012-10-17":
        sessions.remember_original(stored, policy)
