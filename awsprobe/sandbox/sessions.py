"""What the sandbox remembers that moto does not: temporary credentials and boundaries.

moto's STS answers ``GetSessionToken`` with one fixed example key that
authenticates nowhere, keeps no ``PolicyArns``, session tags or MFA of an
``AssumeRole`` call, and moto's IAM answers ``PutUserPermissionsBoundary``
with HTTP 500. The sandbox answers or watches those calls itself
(:mod:`awsprobe.sandbox.intercept`) and keeps here, per running sandbox,
what they leave behind:

* :class:`_TokenSession` -- credentials minted by ``GetSessionToken``, with
  the user they belong to and when MFA authenticated them;
* :class:`_RoleSessionExtras` -- what an ``AssumeRole`` call carried beyond
  what moto keeps (moto keeps the role, the session name, the keys and the
  ``Policy`` JSON);
* users' permissions boundaries, by user id (a user deleted and made again
  under the same name has a new id, and no boundary).

:class:`_SessionKeys` is what temporary credentials put into a request's
context (IAM User Guide, "AWS global condition context keys"):
``aws:TokenIssueTime``, ``aws:MultiFactorAuthPresent`` (``"true"`` or
``"false"``), and ``aws:MultiFactorAuthAge`` only when MFA was used,
counted at the moment it is read. Long-term access keys carry none of them.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

#: Context keys of temporary credentials, spelled as the IAM User Guide spells them.
MFA_PRESENT: Final = "aws:MultiFactorAuthPresent"
MFA_AGE: Final = "aws:MultiFactorAuthAge"
TOKEN_ISSUE_TIME: Final = "aws:TokenIssueTime"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


class _SessionKeys(Mapping[str, tuple[str, ...]]):
    """The condition keys temporary credentials carry; ``aws:MultiFactorAuthAge`` is live.

    ``issued`` is when the credentials were minted, ``mfa_at`` when MFA
    authenticated them (None: not with MFA). The age is whole seconds since
    ``mfa_at`` by ``clock`` at the moment the key is read, so a remembered
    principal never carries a stale age.
    """

    __slots__ = ("_clock", "_fixed", "_mfa_at")

    def __init__(
        self, issued: float, mfa_at: float | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._mfa_at = mfa_at
        self._fixed = {
            TOKEN_ISSUE_TIME: (_iso(issued),),
            MFA_PRESENT: ("true" if mfa_at is not None else "false",),
        }

    def __getitem__(self, key: str) -> tuple[str, ...]:
        if key == MFA_AGE and self._mfa_at is not None:
            return (str(max(0, int(self._clock() - self._mfa_at))),)
        return self._fixed[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._fixed
        if self._mfa_at is not None:
            yield MFA_AGE

    def __len__(self) -> int:
        return len(self._fixed) + (self._mfa_at is not None)

    def __repr__(self) -> str:
        return f"_SessionKeys({dict(self)!r})"


@dataclass(frozen=True)
class _TokenSession:
    """Credentials minted by the sandbox's ``GetSessionToken`` for one IAM user."""

    access_key_id: str
    secret: str
    token: str
    user_id: str
    user_name: str
    source_key_id: str  # the long-term key that asked for them
    issued: float
    expires: float
    mfa_at: float | None  # when MFA authenticated the call; None without MFA
    mfa_serial: str | None

    def keys(self) -> _SessionKeys:
        return _SessionKeys(self.issued, self.mfa_at)


@dataclass(frozen=True)
class _RoleSessionExtras:
    """What an ``AssumeRole`` call carried that moto's STS does not keep."""

    policy_arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    issued: float = 0.0
    mfa_at: float | None = None

    def keys(self) -> _SessionKeys:
        return _SessionKeys(self.issued, self.mfa_at)


_KEY_ALPHABET: Final = string.ascii_uppercase + string.digits
_SECRET_ALPHABET: Final = string.ascii_letters + string.digits + "+/"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class _Sessions:
    """The sandbox's own records, shared by its request threads (every method locks)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _TokenSession] = {}
        self._roles: dict[str, _RoleSessionExtras] = {}
        self._boundaries: dict[str, str] = {}  # user id -> policy ARN
        self._originals: dict[str, Mapping[str, Any]] = {}  # text stored in moto -> original

    def now(self) -> float:
        return self._clock()

    def mint(
        self,
        user_id: str,
        user_name: str,
        source_key_id: str,
        duration: int,
        mfa_serial: str | None,
    ) -> _TokenSession:
        """New temporary credentials for a user (``ASIA`` keys, as STS's are)."""
        now = self._clock()
        minted = _TokenSession(
            access_key_id="ASIA" + _random(_KEY_ALPHABET, 16),
            secret=_random(_SECRET_ALPHABET, 40),
            token="IQoJb3JpZ2luX2Vj" + _random(_SECRET_ALPHABET, 300),
            user_id=user_id,
            user_name=user_name,
            source_key_id=source_key_id,
            issued=now,
            expires=now + duration,
            mfa_at=now if mfa_serial is not None else None,
            mfa_serial=mfa_serial,
        )
        with self._lock:
            self._tokens[minted.access_key_id] = minted
        return minted

    def token(self, access_key_id: str) -> _TokenSession | None:
        """The unexpired ``GetSessionToken`` credentials with this access key id."""
        with self._lock:
            found = self._tokens.get(access_key_id)
        if found is None or found.expires <= self._clock():
            return None
        return found

    def add_role_session(self, access_key_id: str, extras: _RoleSessionExtras) -> None:
        with self._lock:
            self._roles[access_key_id] = extras

    def role_session(self, access_key_id: str) -> _RoleSessionExtras | None:
        with self._lock:
            return self._roles.get(access_key_id)

    def set_boundary(self, user_id: str, policy_arn: str | None) -> None:
        """Set (or, with None, delete) a user's permissions boundary."""
        with self._lock:
            if policy_arn is None:
                self._boundaries.pop(user_id, None)
            else:
                self._boundaries[user_id] = policy_arn

    def boundary(self, user_id: str) -> str | None:
        with self._lock:
            return self._boundaries.get(user_id)

    def remember_original(self, stored: str, original: Mapping[str, Any]) -> None:
        """``stored`` (a policy text in moto) stands for ``original`` (moto would refuse it)."""
        with self._lock:
            self._originals[stored] = original

    def original(self, stored: str) -> Mapping[str, Any] | None:
        with self._lock:
            return self._originals.get(stored)
