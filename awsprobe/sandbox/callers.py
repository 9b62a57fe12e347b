"""Callers: principals remembered per access key, and their verdicts per action and region.

:class:`_Callers` keeps each access key's principal (:func:`_find_principal`)
for as long as moto's IAM and STS state is unchanged; :func:`_decide_for`
evaluates the principal's policies in the request context of a region
(:func:`_request_context`), narrowed by a session policy (:func:`_decide`), and
remembers the verdict unless the policies read the clock.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

from awsprobe.sandbox.evaluation import Decision, _statements, evaluate
from awsprobe.sandbox.identities import _find_principal, _Principal


class _Caller:
    """A principal as looked up in one state of moto's IAM, and what derives from it.

    ``decisions`` remembers :func:`_decide`'s verdicts by (action, region),
    unless a condition of the caller's policies reads the clock (then
    ``timeless`` is false and nothing is kept).
    """

    __slots__ = ("decisions", "principal", "timeless")

    def __init__(self, principal: _Principal) -> None:
        self.principal = principal
        self.decisions: dict[tuple[str, str], Decision] = {}
        self.timeless = not any(
            str(key).lower() in _CLOCK_KEYS
            for document in (*principal.documents, *principal.session_documents)
            for statement in _statements(document)
            for block in _condition_blocks(statement)
            for key in block
        )


_CLOCK_KEYS: Final = frozenset({"aws:currenttime", "aws:epochtime"})


def _condition_blocks(statement: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    condition = statement.get("Condition")
    if isinstance(condition, Mapping):
        yield from (block for block in condition.values() if isinstance(block, Mapping))


class _Callers:
    """Callers by access key, valid while moto's IAM and STS state is unchanged.

    Finding a caller walks moto's users, keys, groups and policies, and
    evaluating matches every statement: work that depends only on moto's
    state, so it is done once per access key and state. That state changes
    only through requests the sandbox passes to moto and through
    :meth:`Sandbox.set_policy`; each calls :meth:`invalidate`, which starts a
    new generation with nothing remembered. A lookup that overlapped an
    invalidation is used for its own request but not kept.
    """

    _LIMIT = 4096  # access keys remembered at once

    def __init__(self, account: str) -> None:
        self._account = account
        self._lock = threading.Lock()
        self._generation = 0
        self._callers: dict[str, _Caller | None] = {}  # None: no such active key

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._callers = {}

    def get(self, access_key_id: str) -> _Caller | None:
        with self._lock:
            generation = self._generation
            if access_key_id in self._callers:
                return self._callers[access_key_id]
        principal = _find_principal(self._account, access_key_id)
        caller = None if principal is None else _Caller(principal)
        with self._lock:
            if generation == self._generation:
                if len(self._callers) >= self._LIMIT:
                    self._callers = {}
                self._callers[access_key_id] = caller
        return caller


def _decide_for(caller: _Caller, action: str, region: str) -> Decision:
    """:func:`_decide` in the request context of ``region``, remembered when timeless."""
    principal = caller.principal
    key = (action, region)
    decision = caller.decisions.get(key) if caller.timeless else None
    if decision is None:
        decision = _decide(principal, action, _request_context(principal, region, action))
        if caller.timeless:
            caller.decisions[key] = decision
    return decision


@functools.lru_cache(maxsize=2)
def _clock(second: int) -> tuple[str, str]:
    """aws:CurrentTime and aws:EpochTime of one second, made once."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)), str(second)


def _request_context(principal: _Principal, region: str, action: str) -> dict[str, list[str]]:
    current_time, epoch_time = _clock(int(time.time()))
    context = {
        "aws:Region": [region],
        "aws:RequestedRegion": [region],
        "aws:PrincipalArn": [principal.principal_arn],
        "aws:PrincipalAccount": [principal.account],
        "aws:PrincipalType": [principal.kind],
        "aws:userid": [principal.id],
        "aws:SecureTransport": ["false"],
        "aws:CurrentTime": [current_time],
        "aws:EpochTime": [epoch_time],
    }
    if principal.kind == "User":
        context["aws:username"] = [principal.name]
    if action.lower().startswith("ec2:"):
        context["ec2:Region"] = [region]
    return context


def _decide(principal: _Principal, action: str, context: Mapping[str, list[str]]) -> Decision:
    decision = evaluate(principal.documents, action, context)
    if decision.allowed and principal.session_documents:
        narrowed = evaluate(principal.session_documents, action, context)
        if not narrowed.allowed:
            return narrowed
    return decision
