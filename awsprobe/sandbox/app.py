"""The sandbox's WSGI application: one request in, one answer out, no socket.

:class:`_SandboxApp` reads a request from its WSGI environ, routes it, and
either answers it here -- a dry run of a probed catalog operation,
``sts:DecodeAuthorizationMessage`` or ``sts:GetCallerIdentity``: authenticate
(SigV4, keys from moto's IAM), evaluate the caller's identity policies, answer
in the service's own protocol -- or passes it to moto untouched (moto's IAM
enforcement is on), forgetting every remembered caller. Whether a request is
a dry run is :func:`awsprobe.guard.check_request`'s call, the guard's own wire
check (:func:`_is_dry_run`). Every request is recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final

from botocore.awsrequest import AWSRequest

from awsprobe.catalog import CatalogEntry, dry_run_member
from awsprobe.errors import UnsafeRequestError
from awsprobe.guard import EXEMPT_OPERATIONS, check_request
from awsprobe.sandbox.answers import (
    _INVALID_MESSAGE,
    DIALECTS,
    DRY_RUN_MESSAGES,
    ENCODED_MESSAGE_SERVICES,
    _Answer,
    _caller_identity,
    _decoded_answer,
    _denial_reason,
    _error,
    _modeled_status,
    _pick_denial_code,
    _pick_success_code,
    _resource_for,
    _status_line,
)
from awsprobe.sandbox.auth import _signature_matches
from awsprobe.sandbox.callers import _Caller, _Callers, _decide_for, _request_context
from awsprobe.sandbox.evaluation import Decision
from awsprobe.sandbox.identities import _POLICY_NAME, _Principal, _put_inline_policy
from awsprobe.sandbox.messages import _decoded_message, _MessageCodec
from awsprobe.sandbox.moto_adapter import WsgiApp, iam_backend
from awsprobe.sandbox.request import RecordedRequest, _Incoming, _read_request
from awsprobe.sandbox.routing import _Route, _routing

logger = logging.getLogger(__name__)


class _SandboxApp:
    """Answers dry runs and ``DecodeAuthorizationMessage``; passes the rest to moto."""

    def __init__(self, moto_app: WsgiApp, account: str) -> None:
        self._moto = moto_app
        self._account = account
        self._codec = _MessageCodec()
        self.callers = _Callers(account)
        self._log: list[RecordedRequest] = []
        self._log_lock = threading.Lock()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._log)

    def _record(self, request: RecordedRequest) -> None:
        with self._log_lock:
            self._log.append(request)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The WSGI application: :meth:`handle`, then :meth:`pass_through` or the answer."""
        outcome = self.handle(_read_request(environ))
        if isinstance(outcome, _Answer):
            return self._send(outcome, start_response)
        return self.pass_through(environ, start_response, outcome)

    def handle(self, request: _Incoming) -> _Answer | RecordedRequest:
        """Answer a request here, or say how to record it once moto has (its status aside)."""
        try:
            routing = _routing()
            route = routing.identify(request)
            entry = routing.entry(route) if route else None
            dry_run = route is not None and _is_dry_run(route, request)
        except Exception:  # unclassifiable: never pass it on, it might be an unflagged call
            logger.exception("sandbox could not classify %s %s", request.method, request.url)
            return _error(None, "json", "InternalFailure", 500, "the sandbox failed to route")
        exempt = route is not None and (route.service, route.operation) in EXEMPT_OPERATIONS
        own = route is not None and (route.service, route.operation) in _STS_ANSWERS
        auth = request.auth
        if route is not None and ((entry is not None and dry_run) or own):
            try:
                answer = self._answer(request, route, entry if dry_run else None)
            except Exception:  # never let a dry run fall through to moto, which might execute it
                logger.exception("sandbox failed to answer %s:%s", route.service, route.operation)
                answer = _error(route, route.wire, "InternalFailure", 500, "sandbox error")
            self._record(
                RecordedRequest(
                    route.service,
                    route.operation,
                    auth.region if auth else None,
                    auth.access_key_id if auth else None,
                    dry_run,
                    exempt,
                    answer.status,
                    answer.code,
                    "sandbox",
                )
            )
            return answer
        return RecordedRequest(
            route.service if route else (auth.service if auth else None),
            route.operation if route else None,
            auth.region if auth else None,
            auth.access_key_id if auth else None,
            dry_run,
            exempt,
            500,
            None,
            "moto",
        )

    def pass_through(
        self, environ: dict[str, Any], start_response: Callable[..., Any], record: RecordedRequest
    ) -> Any:
        """Let moto answer (``environ`` carries the body already read); record its status."""
        statuses: list[int] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        try:
            return self._moto(environ, recording_start_response)
        finally:
            self.callers.invalidate()  # moto may have changed users, keys, policies, sessions
            self._record(replace(record, status=statuses[-1] if statuses else 500))

    @staticmethod
    def _send(answer: _Answer, start_response: Callable[..., Any]) -> list[bytes]:
        start_response(
            _status_line(answer.status),
            [*answer.headers, ("Content-Length", str(len(answer.body)))],
        )
        return [answer.body]

    def _answer(self, request: _Incoming, route: _Route, entry: CatalogEntry | None) -> _Answer:
        auth = request.auth
        assert auth is not None  # identify() needs it
        dialect = DIALECTS.get(route.wire, DIALECTS["json"])
        caller = self.callers.get(auth.access_key_id)
        if caller is None:
            code, status, message = dialect.unknown_key
            return _error(route, route.wire, code, status, message)
        principal = caller.principal
        if not _signature_matches(request, auth, principal):
            code, status, message = dialect.bad_signature
            return _error(route, route.wire, code, status, message)
        if entry is None and route.operation == "GetCallerIdentity":
            return _caller_identity(principal)
        if entry is None:
            return self._decode(request, route, caller)
        resource = _resource_for(route, request, auth.region, principal.account)
        for action in (entry.action, *entry.also_requires):
            decision = _decide_for(caller, action, auth.region)
            if not decision.allowed:
                context = _request_context(principal, auth.region, action)
                return self._deny(route, entry, principal, decision, resource, context)
        code = _pick_success_code(entry)
        status = _modeled_status(route.model, code, dialect.success_status)
        message = DRY_RUN_MESSAGES.get(code, DRY_RUN_MESSAGES["DryRunOperation"])
        return _error(route, route.wire, code, status, message)

    def _deny(
        self,
        route: _Route,
        entry: CatalogEntry,
        principal: _Principal,
        decision: Decision,
        resource: str,
        context: Mapping[str, list[str]],
    ) -> _Answer:
        dialect = DIALECTS.get(route.wire, DIALECTS["json"])
        code = _pick_denial_code(entry)
        status = _modeled_status(route.model, code, dialect.denial_status)
        reason = _denial_reason(decision)
        if entry.service in ENCODED_MESSAGE_SERVICES:
            blob = self._codec.encode(_decoded_message(decision, principal, resource, context))
            message = (
                f"You are not authorized to perform this operation. User: {principal.arn} is not "
                f"authorized to perform: {decision.action} {reason}. "
                f"Encoded authorization failure message: {blob}"
            )
        else:
            on = "" if resource == "*" else f" on resource: {resource}"
            message = (
                f"User: {principal.arn} is not authorized to perform: {decision.action}{on} "
                f"{reason}"
            )
        return _error(route, route.wire, code, status, message)

    def _decode(self, request: _Incoming, route: _Route, caller: _Caller) -> _Answer:
        assert request.auth is not None
        principal = caller.principal
        action = "sts:DecodeAuthorizationMessage"
        decision = _decide_for(caller, action, request.auth.region)
        if not decision.allowed:
            message = (
                f"User: {principal.arn} is not authorized to perform: {action} "
                f"{_denial_reason(decision)}"
            )
            return _error(route, "query", "AccessDenied", 403, message)
        encoded = request.form().get("EncodedMessage", [""])[-1]
        decoded = self._codec.decode(encoded)
        if decoded is None:
            return _error(
                route, "query", "InvalidAuthorizationMessageException", 400, _INVALID_MESSAGE
            )
        return _decoded_answer(decoded)


#: The STS calls the sandbox answers itself, whether or not they carry a dry-run flag.
_STS_ANSWERS: Final = frozenset(
    {("sts", "DecodeAuthorizationMessage"), ("sts", "GetCallerIdentity")}
)


def _is_dry_run(route: _Route, request: _Incoming) -> bool:
    """Whether the request carries its dry-run flag: the guard's own wire check."""
    if dry_run_member(route.model.operation_model(route.operation)) is None:
        return False
    # prepared the way botocore prepares its own requests before ``before-send``
    prepared = AWSRequest(
        method=request.method, url=request.url, headers=request.headers, data=request.body
    ).prepare()
    try:
        check_request(route.model, route.service, route.operation, prepared, exempt=())
    except UnsafeRequestError:
        return False
    return True


def _apply_policy(app: _SandboxApp, account: str, user_name: str, document: Any) -> None:
    """Replace the sandbox user's inline policy in moto, and forget remembered verdicts."""
    iam = iam_backend(account)
    try:
        if _POLICY_NAME in iam.list_user_policies(user_name):
            iam.delete_user_policy(user_name, _POLICY_NAME)
        _put_inline_policy(iam, user_name, _POLICY_NAME, document)
    finally:
        app.callers.invalidate()  # remembered verdicts read the old policy
