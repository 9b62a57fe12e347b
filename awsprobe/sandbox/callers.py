"""Callers: principals remembered per access key, and their verdicts per request context.

:class:`_Callers` keeps each access key's principal (:func:`_find_principal`)
for as long as moto's IAM and STS state is unchanged, with its policy layers
(:func:`~awsprobe.sandbox.layers.policy_set`); :func:`_decide_for` authorizes
one :class:`~awsprobe.sandbox.evaluation.RequestContext` and remembers the
verdict, unless the caller's policies read a key that changes with the clock
alone (:data:`~awsprobe.sandbox.context.CLOCK_KEYS`); :func:`_authorize`
walks every step of a request (:func:`~awsprobe.sandbox.context.request_contexts`)
and returns the first that fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

from awsprobe.sandbox.context import CLOCK_KEYS, Invalid, Step
from awsprobe.sandbox.evaluation import Decision, PolicySet, RequestContext, authorize
from awsprobe.sandbox.identities import _find_principal, _Principal
from awsprobe.sandbox.layers import policy_set
from awsprobe.sandbox.sessions import _Sessions


class _Caller:
    """A principal as looked up in one state of moto's IAM, and what derives from it.

    ``policies`` are its policy layers under ``scps``; ``decisions`` remembers
    :func:`authorize`'s verdicts by request context (its clock keys aside),
    unless those policies name a clock key anywhere, in a condition or a policy
    variable (then ``timeless`` is false and nothing is kept).
    """

    __slots__ = ("decisions", "policies", "principal", "timeless")

    _LIMIT = 8192  # verdicts remembered at once

    def __init__(
        self, principal: _Principal, scps: Sequence[Sequence[Mapping[str, Any]]] = ()
    ) -> None:
        self.principal = principal
        self.policies = policy_set(principal, scps)
        self.decisions: dict[Hashable, Decision] = {}
        # a clock key anywhere (a condition, or a policy variable) makes verdicts time-bound
        text = json.dumps(list(_documents(self.policies)), default=str).lower()
        self.timeless = not any(key in text for key in CLOCK_KEYS)


def _documents(policies: PolicySet) -> Iterator[Mapping[str, Any]]:
    yield from policies.identity
    if policies.boundary is not None:
        yield policies.boundary
    yield from policies.session or ()
    for level in policies.scps:
        yield from level


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

    def __init__(
        self,
        account: str,
        sessions: _Sessions | None = None,
        scps: Sequence[Sequence[Mapping[str, Any]]] = (),
    ) -> None:
        self._account = account
        self._sessions = sessions  # what the sandbox keeps beyond moto (minted sessions, ...)
        self._scps = scps  # the account's SCP levels (layers.scp_levels)
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
        principal = _find_principal(self._account, access_key_id, self._sessions)
        caller = None if principal is None else _Caller(principal, self._scps)
        with self._lock:
            if generation == self._generation:
                if len(self._callers) >= self._LIMIT:
                    self._callers = {}
                self._callers[access_key_id] = caller
        return caller


def _decide_for(caller: _Caller, request: RequestContext) -> Decision:
    """:func:`_decide` for the caller's policies, remembered when timeless."""
    if not caller.timeless:
        return _decide(caller.policies, request)
    key = _memo_key(request)
    decision = caller.decisions.get(key)
    if decision is None:
        decision = _decide(caller.policies, request)
        if len(caller.decisions) >= caller._LIMIT:
            caller.decisions.clear()
        caller.decisions[key] = decision
    return decision


def _decide(policies: PolicySet, request: RequestContext) -> Decision:
    """The one place a verdict is computed (tests count the calls)."""
    return authorize(policies, request)


def _memo_key(request: RequestContext) -> Hashable:
    """What a verdict depends on: the action, the resource and every key but the clock's."""
    keys = tuple(
        sorted(
            (name.lower(), tuple(values))
            for name, values in request.keys.items()
            if name.lower() not in CLOCK_KEYS
        )
    )
    return request.action.lower(), request.resource, keys


def _authorize(
    caller: _Caller, steps: Sequence[Step]
) -> tuple[RequestContext, Decision] | Invalid | None:
    """The first step that fails -- a denied context with its verdict, or a refusal -- or None."""
    for step in steps:
        if isinstance(step, Invalid):
            return step
        decision = _decide_for(caller, step)
        if not decision.allowed:
            return step, decision
    return None
