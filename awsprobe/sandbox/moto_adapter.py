"""Every use of moto, in one place: its WSGI app, its control API, its backends.

The sandbox reaches moto through its front doors wherever moto has one:

* the server's WSGI application, ``DomainDispatcherApplication`` from
  ``moto.server`` (what ``moto_server`` and ``ThreadedMotoServer`` serve), and
  the request handler ``moto.server`` serves it with;
* IAM enforcement: ``moto.core.enable_iam_authentication`` where moto has it,
  else ``POST /moto-api/reset-auth`` (what moto's own
  ``set_initial_no_auth_action_count`` posts in server mode; docs "IAM-like
  Access Control");
* resetting every backend: ``POST /moto-api/reset`` (docs "Server Mode",
  "Reset API"). The control API is called in this process, through moto's WSGI
  app and werkzeug's test client: no socket, and no entry in the sandbox's
  request log.

Two things have no public surface, so each is one function here that detects
the feature and falls back, and ``tests/test_sandbox.py`` fails loudly when
moto changes it: whether a ``mock_aws`` is active (:func:`mock_aws_active`),
and the IAM and STS backends (:func:`iam_backend`, :func:`sts_backend`, reached
the way moto's docs show for SNS, "an internal API, the exact format may differ
per versions"): the secret of an access key lives nowhere else.

What the sandbox reads of them is read here, through the backend methods named
after IAM's own API operations (``get_user``, ``list_user_policies``,
``get_policy_version``, ``list_role_tags``, ...) and the few attributes they
have no operation for (a user's access keys and their secrets, a role's
``permissions_boundary_arn``, STS's ``assumed_roles``), and handed on as plain
frozen records (:class:`MotoUser`, :class:`MotoRole`, :class:`MotoRoleSession`)
and policy texts: no moto object leaves this module. ``tests/test_sandbox_layers.py``
checks each of them against the installed moto.

moto, werkzeug and flask load on first use, never when this module is imported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from awsprobe.errors import SandboxError

logger = logging.getLogger(__name__)

#: moto's default account id (``moto.core.DEFAULT_ACCOUNT_ID``); every sandbox identity
#: lives in it.
SANDBOX_ACCOUNT: Final = "123456789012"
#: The partition the sandbox serves, and the key of moto's IAM and STS backends in it.
_PARTITION: Final = "aws"

#: A WSGI application: ``app(environ, start_response)`` -> the body's chunks.
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def moto_app() -> WsgiApp:
    """moto's WSGI application: every service, dispatched by host and path.

    Raises :class:`SandboxError` when moto's server extra is not installed.
    """
    try:  # what moto.server's own main() serves (its typing re-exports ThreadedMotoServer only)
        from moto.server import (  # type: ignore[attr-defined]
            DomainDispatcherApplication,
            create_backend_app,
        )
    except ImportError as exc:
        raise SandboxError("the sandbox needs moto: pip install 'awsprobe[sandbox]'") from exc
    app: WsgiApp = DomainDispatcherApplication(create_backend_app)
    return app


def request_handler() -> type[Any]:
    """The request handler moto's server uses, a werkzeug ``WSGIRequestHandler``.

    moto 5.2.3 and later serve with ``MotoRequestHandler``, which keeps S3's
    underscored header names; before, werkzeug's own handler is what moto serves with.
    """
    import moto.server
    from werkzeug.serving import WSGIRequestHandler

    handler = getattr(moto.server, "MotoRequestHandler", None)
    if isinstance(handler, type) and issubclass(handler, WSGIRequestHandler):
        return handler
    return WSGIRequestHandler


def _control(app: WsgiApp, path: str, body: str = "") -> dict[str, Any]:
    """``POST path`` to moto's control API (``/moto-api/...``) and return its JSON answer."""
    from werkzeug.test import Client

    answer = Client(app).post(path, data=body, content_type="text/plain")
    if answer.status_code != 200:
        raise SandboxError(f"moto's {path} answered HTTP {answer.status_code}")
    document: dict[str, Any] = json.loads(answer.get_data())
    return document


def reset(app: WsgiApp) -> None:
    """Reset every moto backend in this process: ``POST /moto-api/reset``."""
    _control(app, "/moto-api/reset")


@contextlib.contextmanager
def iam_enforced(app: WsgiApp) -> Iterator[None]:
    """Inside, moto checks every request's signature and its caller's policies.

    moto's own ``enable_iam_authentication`` where moto has it (it restores both
    of moto's counters on exit); else moto's control API, which restores the
    number of unauthenticated requests moto allows and restarts its count.
    """
    import moto.core

    enable = getattr(moto.core, "enable_iam_authentication", None)
    if callable(enable):
        with enable():
            yield
        return
    answer = _control(app, "/moto-api/reset-auth", "0")
    previous = str(answer["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])
    try:
        yield
    finally:
        _control(app, "/moto-api/reset-auth", previous)


def mock_aws_active() -> bool:
    """Whether a ``moto.mock_aws`` is active in this process.

    moto has no public way to ask: its ``MockAWS`` counts the active mocks in
    ``_nested_count`` (moto 5.0 to 5.2). Where it does not, the answer is no,
    with a debug line saying so.
    """
    from moto.core.models import MockAWS

    count = getattr(MockAWS, "_nested_count", None)
    if not isinstance(count, int):
        logger.debug("moto's MockAWS has no _nested_count: taking mock_aws for inactive")
        return False
    return count > 0


def iam_backend(account: str) -> Any:
    """moto's IAM backend of ``account`` (global: one per partition)."""
    from moto.iam import iam_backends  # type: ignore[attr-defined]  # as moto's docs import

    return iam_backends[account][_PARTITION]


def ec2_backend(account: str, region: str) -> Any | None:
    """moto's EC2 backend of ``account`` in ``region``, or None while moto's EC2 is unused.

    Importing ``moto.ec2`` takes most of a second, and nothing exists in moto's
    EC2 until a request (or a ``mock_aws`` test) has used it, which imports it:
    until then there is nothing to read, and this says so rather than load it.
    A region's backend is made, with its default VPC, on first use.
    """
    if "moto.ec2" not in sys.modules:
        return None
    from moto.ec2 import ec2_backends  # type: ignore[attr-defined]  # as moto's docs import

    return ec2_backends[account][region]


def sts_backend(account: str) -> Any:
    """moto's STS backend of ``account`` (one per partition)."""
    from moto.sts import sts_backends  # type: ignore[attr-defined]  # as moto's docs import

    return sts_backends[account][_PARTITION]


# -- what the sandbox reads of moto's IAM and STS, as plain records ------------------------


@dataclass(frozen=True)
class MotoUser:
    """An IAM user as moto keeps it (``id`` is unique: a user made again has a new one)."""

    name: str
    arn: str
    id: str


@dataclass(frozen=True)
class MotoRole:
    """An IAM role as moto keeps it: its permissions boundary's ARN and its tags."""

    name: str
    arn: str
    id: str
    boundary_arn: str | None
    tags: Mapping[str, str]


@dataclass(frozen=True)
class MotoRoleSession:
    """An ``AssumeRole`` session as moto's STS keeps it (``policy``: the ``Policy`` JSON)."""

    role_arn: str
    session_name: str
    access_key_id: str
    secret: str
    session_token: str
    policy: str | None
    expires: float  # epoch seconds


def _user(user: Any) -> MotoUser:
    return MotoUser(str(user.name), str(user.arn), str(user.id))


def user_with_key(account: str, access_key_id: str) -> tuple[MotoUser, str] | None:
    """The user whose *active* access key ``access_key_id`` is, and the key's secret."""
    for user in list(iam_backend(account).users.values()):
        for key in list(user.access_keys):
            if key.access_key_id == access_key_id and key.status == "Active":
                return _user(user), str(key.secret_access_key)
    return None


def user_named(account: str, name: str) -> MotoUser | None:
    """``GetUser``: the user called ``name``, or None."""

    try:
        return _user(iam_backend(account).get_user(name))
    except _missing_entity_errors():
        return None


def _text(document: Any) -> str:
    return json.dumps(document) if isinstance(document, Mapping) else str(document)


@dataclass(frozen=True)
class MotoPolicy:
    """One identity policy of a user, group or role, as moto's IAM keeps it.

    ``kind`` is where it is attached and how: ``user``, ``group`` or ``role`` for an
    inline policy of that entity (``owner`` its name), ``aws-managed`` or
    ``user-managed`` for an attached managed policy (``arn`` its ARN).
    """

    kind: str
    owner: str
    name: str
    arn: str | None
    text: str


#: The account part of AWS managed policies' ARNs (IAM User Guide, "AWS managed policies").
_AWS_MANAGED_ACCOUNT: Final = ":iam::aws:policy/"


def _managed_policies(iam: Any, policies: Iterable[Any]) -> list[MotoPolicy]:
    found = []
    for policy in policies:
        arn = str(policy.arn)
        kind = "aws-managed" if _AWS_MANAGED_ACCOUNT in arn else "user-managed"
        text = _text(iam.get_policy_version(arn, policy.default_version_id).document)
        found.append(MotoPolicy(kind, "", str(policy.name), arn, text))
    return found


def _group_policies(iam: Any, group_name: str) -> list[MotoPolicy]:
    found = [
        MotoPolicy(
            "group",
            group_name,
            name,
            None,
            _text(iam.get_group_policy(group_name, name)["policy_document"]),
        )
        for name in list(iam.list_group_policies(group_name))
    ]
    return found + _managed_policies(iam, list(iam.list_attached_group_policies(group_name)[0]))


def user_policy_sources(account: str, user_name: str) -> list[MotoPolicy]:
    """A user's identity policies: inline, attached, and its groups' both, in that order."""
    iam = iam_backend(account)
    found = [
        MotoPolicy(
            "user",
            user_name,
            name,
            None,
            _text(iam.get_user_policy(user_name, name)["policy_document"]),
        )
        for name in list(iam.list_user_policies(user_name))
    ]
    found += _managed_policies(iam, list(iam.list_attached_user_policies(user_name)[0]))
    for group in list(iam.get_groups_for_user(user_name)):
        found += _group_policies(iam, str(group.name))
    return found


def user_policies(account: str, user_name: str) -> list[str]:
    """The texts of a user's identity policies: inline, attached, and its groups' both."""
    return [policy.text for policy in user_policy_sources(account, user_name)]


def group_policy_sources(account: str, group_name: str) -> list[MotoPolicy]:
    """A group's identity policies: inline, then attached."""
    return _group_policies(iam_backend(account), group_name)


@dataclass(frozen=True)
class MotoGroup:
    """An IAM group as moto keeps it."""

    name: str
    arn: str


def group_named(account: str, name: str) -> MotoGroup | None:
    """``GetGroup``: the group called ``name``, or None."""
    try:
        group = iam_backend(account).get_group(name)
    except _missing_entity_errors():
        return None
    return MotoGroup(str(group.name), str(group.arn))


def _role_boundary(role: Any) -> str | None:
    """A role's permissions boundary ARN: ``permissions_boundary_arn`` since moto 5.1,
    before that the ARN itself in ``permissions_boundary`` (a dict there since 5.1)."""
    arn = getattr(role, "permissions_boundary_arn", None)
    if arn is None:
        older = getattr(role, "permissions_boundary", None)
        arn = older if isinstance(older, str) else None
    return arn or None


def _missing_entity_errors() -> tuple[type[Exception], ...]:
    """moto's "no such IAM entity" exceptions (their names changed between releases)."""
    import moto.iam.exceptions as errors

    found = (
        getattr(errors, name, None)
        for name in ("NoSuchEntity", "NotFoundException", "IAMNotFoundException")
    )
    return tuple(e for e in found if isinstance(e, type) and issubclass(e, Exception))


def user_tags(account: str, user_name: str) -> Mapping[str, str]:
    """``ListUserTags``."""
    tags = iam_backend(account).list_user_tags(user_name)
    if isinstance(tags, Mapping):  # moto before 5.1 answers {"Tags": [...]}, later the list
        tags = tags.get("Tags", [])
    return MappingProxyType({str(t["Key"]): str(t["Value"]) for t in tags})


def role_named(account: str, name: str) -> MotoRole | None:
    """``GetRole``: the role called ``name`` with its boundary and tags, or None."""

    iam = iam_backend(account)
    try:
        role = iam.get_role(name)
        tags, _marker = iam.list_role_tags(name, None, max_items=1000)
    except _missing_entity_errors():
        return None
    return MotoRole(
        str(role.name),
        str(role.arn),
        str(role.id),
        _role_boundary(role),
        MappingProxyType({str(t["Key"]): str(t["Value"]) for t in tags}),
    )


def role_policy_sources(account: str, role_name: str) -> list[MotoPolicy]:
    """A role's identity policies: inline, then attached."""
    iam = iam_backend(account)
    found = [
        MotoPolicy("role", role_name, name, None, _text(iam.get_role_policy(role_name, name)[1]))
        for name in list(iam.list_role_policies(role_name))
    ]
    return found + _managed_policies(iam, list(iam.list_attached_role_policies(role_name)[0]))


def role_policies(account: str, role_name: str) -> list[str]:
    """The texts of a role's identity policies: inline and attached."""
    return [policy.text for policy in role_policy_sources(account, role_name)]


def managed_policy(account: str, arn: str) -> str | None:
    """``GetPolicy`` + ``GetPolicyVersion``: the default version's text, or None if none."""

    iam = iam_backend(account)
    try:
        policy = iam.get_policy(arn)
        return _text(iam.get_policy_version(arn, policy.default_version_id).document)
    except _missing_entity_errors():
        return None


def put_user_policy(account: str, user_name: str, policy_name: str, text: str) -> None:
    """``PutUserPolicy`` (moto validates the document and may raise its IAM errors)."""
    iam_backend(account).put_user_policy(user_name, policy_name, text)


def delete_user_policy(account: str, user_name: str, policy_name: str) -> None:
    """``DeleteUserPolicy``, if the user has a policy of that name."""
    iam = iam_backend(account)
    if policy_name in iam.list_user_policies(user_name):
        iam.delete_user_policy(user_name, policy_name)


def _epoch(moment: Any) -> float:
    """A moto timestamp (a naive datetime in UTC) as epoch seconds; unknown: never expires."""
    import datetime

    if not isinstance(moment, datetime.datetime):
        return float("inf")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return float(moment.timestamp())


def role_session(account: str, access_key_id: str) -> MotoRoleSession | None:
    """The ``AssumeRole`` session whose access key ``access_key_id`` is, as moto's STS has it."""
    for session in list(sts_backend(account).assumed_roles):
        if session.access_key_id == access_key_id:
            return MotoRoleSession(
                str(session.role_arn),
                str(session.session_name),
                str(session.access_key_id),
                str(session.secret_access_key),
                str(session.session_token),
                session.policy if isinstance(session.policy, str) else None,
                _epoch(session.expiration),
            )
    return None
