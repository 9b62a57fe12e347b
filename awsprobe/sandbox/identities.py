"""Who the sandbox knows: principals as moto's IAM and STS have them, and its own users.

:func:`_find_principal` looks an access key up in moto's IAM (users and their
keys, inline and managed policies of the user and its groups) and STS
(assumed-role sessions: the role's policies, narrowed by the session policy);
:func:`_put_inline_policy` writes a sandbox user's policy into moto's IAM.
moto is reached through :mod:`awsprobe.sandbox.moto_adapter` only.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from awsprobe.arn import parse_arn
from awsprobe.errors import SandboxError
from awsprobe.sandbox.evaluation import _statements
from awsprobe.sandbox.moto_adapter import _PARTITION, iam_backend, sts_backend

logger = logging.getLogger(__name__)

#: The sandbox user's inline policy, and the admin user's (``Action: *``).
_POLICY_NAME: Final = "awsprobe-sandbox-policy"
_ADMIN_POLICY_NAME: Final = "awsprobe-sandbox-admin"
_ADMIN_POLICY: Final = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class _Principal:
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


@functools.lru_cache(maxsize=256)
def _parse_document(text: str) -> Mapping[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        logger.debug("ignoring a policy document that is not JSON")
        return {}
    return document if isinstance(document, dict) else {}


def _document(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping) and "policy_document" in raw:
        raw = raw["policy_document"]
    if hasattr(raw, "versions"):  # a moto managed policy
        raw = next((v.document for v in raw.versions if v.is_default), "{}")
    if isinstance(raw, Mapping):
        return raw
    return _parse_document(str(raw))


def _find_principal(account: str, access_key_id: str) -> _Principal | None:
    """The principal whose active access key ``access_key_id`` is, as moto's IAM has it now."""
    iam = iam_backend(account)
    for user in list(iam.users.values()):
        for key in list(user.access_keys):
            if key.access_key_id == access_key_id and key.status == "Active":
                return _Principal(
                    arn=user.arn,
                    principal_arn=user.arn,
                    id=user.id,
                    name=user.name,
                    kind="User",
                    account=account,
                    secret=key.secret_access_key,
                    session_token=None,
                    documents=tuple(_user_documents(iam, user.name)),
                )
    for session in list(sts_backend(account).assumed_roles):
        if session.access_key_id != access_key_id:
            continue
        role_arn = parse_arn(session.role_arn)
        role_name = (role_arn.resource if role_arn else session.role_arn).rsplit("/", 1)[-1]
        role = next((r for r in iam.get_roles() if r.name == role_name), None)
        if role is None:
            return None  # the role was deleted: its sessions no longer authenticate
        documents = [_document(iam.get_role_policy(role_name, p)[1]) for p in role.policies]
        documents += [_document(p) for p in iam.list_attached_role_policies(role_name)[0]]
        return _Principal(
            arn=f"arn:{_PARTITION}:sts::{account}:assumed-role/{role_name}/{session.session_name}",
            principal_arn=role.arn,
            id=f"{role.id}:{session.session_name}",
            name=session.session_name,
            kind="AssumedRole",
            account=account,
            secret=session.secret_access_key,
            session_token=session.session_token,
            documents=tuple(documents),
            session_documents=(_parse_document(session.policy),) if session.policy else (),
        )
    return None


def _user_documents(iam: Any, user_name: str) -> Iterator[Mapping[str, Any]]:
    for name in list(iam.list_user_policies(user_name)):
        yield _document(iam.get_user_policy(user_name, name))
    for policy in iam.list_attached_user_policies(user_name)[0]:
        yield _document(policy)
    for group in iam.get_groups_for_user(user_name):
        for name in iam.list_group_policies(group.name):
            yield _document(iam.get_group_policy(group.name, name))
        for policy in iam.list_attached_group_policies(group.name)[0]:
            yield _document(policy)


def _put_inline_policy(iam: Any, user: str, name: str, policy: Mapping[str, Any]) -> None:
    if not _statements(policy):
        return  # IAM refuses an empty statement list; no policy grants nothing just the same
    # moto refuses a missing or 2008 Version; it only changes policy variables, unsupported here
    stored = {**policy, "Version": "2012-10-17"}
    try:
        iam.put_user_policy(user, name, json.dumps(stored))
    except Exception as exc:  # moto's MalformedPolicyDocument and friends
        raise SandboxError(f"moto's IAM rejected the policy: {exc}; simplify the policy") from exc
