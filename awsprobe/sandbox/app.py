"""The sandbox's WSGI application: one request in, one answer out, no socket.

:class:`_SandboxApp` reads a request from its WSGI environ, routes it, and
either answers it here -- a dry run of a probed catalog operation,
``sts:DecodeAuthorizationMessage``, ``sts:GetCallerIdentity``, the calls of
:mod:`~awsprobe.sandbox.intercept` and :mod:`~awsprobe.sandbox.simulate`: authenticate
(SigV4, keys from moto's IAM), evaluate the caller's identity policies, answer
in the service's own protocol -- or passes it to moto untouched (moto's IAM
enforcement is on), forgetting every remembered caller. Whether a request is
a dry run is :func:`awsprobe.guard.check_request`'s call, the guard's own wire
check (:func:`_is_dry_run`). Every request is recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from botocore.awsrequest import AWSRequest

from awsprobe.catalog import CatalogEntry, dry_run_member
from awsprobe.errors import UnsafeRequestError
from awsprobe.guard import EXEMPT_OPERATIONS, check_request
from awsprobe.sandbox import intercept, simulate
from awsprobe.sandbox.answers import (
    _INVALID_MESSAGE,
    DIALECTS,
    DRY_RUN_MESSAGES,
    ENCODED_MESSAGE_SERVICES,
    _Answer,
    _caller_identity,
    _decoded_answer,
    _denial_message,
    _error,
    _modeled_status,
    _pick_denial_code,
    _pick_success_code,
    _status_line,
)
from awsprobe.sandbox.auth import _signature_matches
from awsprobe.sandbox.callers import _authorize, _Caller, _Callers, _decide_for
from awsprobe.sandbox.context import Call, Invalid, global_keys, request_contexts, wire_params
from awsprobe.sandbox.evaluation import Decision, RequestContext
from awsprobe.sandbox.identities import _POLICY_NAME, _Principal, _put_inline_policy
from awsprobe.sandbox.inventory import MotoInventory
from awsprobe.sandbox.messages import _decoded_message, _MessageCodec
from awsprobe.sandbox.moto_adapter import WsgiApp
from awsprobe.sandbox.request import RecordedRequest, _Auth, _Incoming, _read_request
from awsprobe.sandbox.routing import _Route, _routing
from awsprobe.sandbox.sessions import _Sessions

logger = logging.getLogger(__name__)


class _SandboxApp:
    """Answers dry runs and ``DecodeAuthorizationMessage``; passes the rest to moto."""

    def __init__(
        self,
        moto_app: WsgiApp,
        account: str,
        scps: Sequence[Sequence[Mapping[str, Any]]] = (),
    ) -> None:
        self._moto = moto_app
        self._account = account
        self._codec = _MessageCodec()
        self._inventory = MotoInventory(account)
        self.scps = scps  # the account's SCP levels (layers.scp_levels)
        self.sessions = _Sessions()  # what the sandbox keeps beyond moto (sessions.py)
        self.callers = _Callers(account, self.sessions, scps)
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
        request = _read_request(environ)
        outcome = self.handle(request)
        if isinstance(outcome, _Answer):
            return self._send(outcome, start_response)
        watched = (outcome.service, outcome.operation) in intercept.WATCHED
        if outcome.access_key_id and self.sessions.token(outcome.access_key_id) is not None:
            self._resign(environ, request)
        return self.pass_through(environ, start_response, outcome, request if watched else None)

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
        own = route is not None and (
            (route.service, route.operation) in _STS_ANSWERS
            or (route.service, route.operation) in intercept.ANSWERED
            or (route.service, route.operation) in simulate.ANSWERED
        )
        auth = request.auth
        if route is not None and ((entry is not None and dry_run) or own):
            try:
                answer = self._answer(request, route, entry if dry_run else None)
            except Exception:  # never let a dry run fall through to moto, which might execute it
                logger.exception("sandbox failed to answer %s:%s", route.service, route.operation)
                answer = _error(route, route.wire, "InternalFailure", 500, "sandbox error")
            return self._answered(route, auth, dry_run, exempt, answer)
        refusal = None
        if route is not None and (route.service, route.operation) in intercept.WATCHED:
            try:
                refusal = self._refuse_watched(request, route)
            except Exception:  # moto answers it as it would have without the sandbox
                logger.exception("sandbox failed to check %s:%s", route.service, route.operation)
        if route is not None and refusal is not None:
            return self._answered(route, auth, dry_run, exempt, refusal)
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

    def _answered(
        self, route: _Route, auth: _Auth | None, dry_run: bool, exempt: bool, answer: _Answer
    ) -> _Answer:
        """Record a request the sandbox answered itself, and return the answer."""
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

    def pass_through(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        record: RecordedRequest,
        watched: _Incoming | None = None,
    ) -> Any:
        """Let moto answer (``environ`` carries the body already read); record its status.

        ``watched`` is the request of a call :mod:`~awsprobe.sandbox.intercept`
        watches: once moto has answered it 200, what it leaves behind that moto
        does not keep is recorded, and the answer completed with what the
        sandbox keeps, before it goes back (its status line held until then).
        """
        statuses: list[int] = []
        held: list[tuple[str, Any, Any]] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            if watched is not None:
                held.append((status, headers, exc_info))
                return lambda data: None  # moto never writes through it
            return start_response(status, headers, exc_info)

        try:
            answered = self._moto(environ, recording_start_response)
            if watched is None:
                return answered
            try:
                body = b"".join(answered)  # an STS or IAM answer: small
            finally:
                getattr(answered, "close", lambda: None)()
            if statuses and statuses[-1] == 200:
                body = self._record_watched(watched, body)
            status, headers, exc_info = held[-1]
            kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*kept, ("Content-Length", str(len(body)))], exc_info)
            return [body]
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
        if entry is None and (route.service, route.operation) in intercept.ANSWERED:
            return self._intercepted(request, route, caller)
        if entry is None and (route.service, route.operation) in simulate.ANSWERED:
            return self._simulated(request, route, caller)
        if entry is None:
            return self._decode(request, route, caller)
        call = Call(
            route.service,
            route.operation,
            (entry.action, *entry.also_requires),
            wire_params(route.wire, request),
            auth.region,
            request.source_ip,
        )
        steps = request_contexts(call, principal, self._inventory)
        failed = _authorize(caller, steps)
        if isinstance(failed, Invalid):
            return _error(route, route.wire, failed.code, failed.status, failed.message)
        if failed is not None:
            denied, decision = failed
            return self._deny(route, entry, principal, decision, denied, auth.region)
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
        request: RequestContext,
        region: str,
    ) -> _Answer:
        """The service's denial, naming the action and resource that failed (maybe a dependent)."""
        dialect = DIALECTS.get(route.wire, DIALECTS["json"])
        code = _pick_denial_code(entry)
        status = _modeled_status(route.model, code, dialect.denial_status)
        blob = None
        if entry.service in ENCODED_MESSAGE_SERVICES:
            service = entry.action.partition(":")[0]
            document = _decoded_message(decision, principal, request, service, region)
            blob = self._codec.encode(document)
        message = _denial_message(principal, decision, request.resource, blob)
        return _error(route, route.wire, code, status, message)

    # -- STS and IAM calls the sandbox answers or watches (intercept.py) ----------------

    def _intercepted(self, request: _Incoming, route: _Route, caller: _Caller) -> _Answer:
        """One of :data:`intercept.ANSWERED`, for an authenticated caller."""
        assert request.auth is not None
        region, source_ip = request.auth.region, request.source_ip

        def authorize(action: str, resource: str, keys: Mapping[str, tuple[str, ...]]) -> Decision:
            context = global_keys(caller.principal, region, source_ip)
            context.update(keys)
            return _decide_for(caller, RequestContext(action, resource, context))

        params = intercept.params_of(request.form())
        answer = intercept.answer(
            intercept.InterceptedCall(
                route,
                caller.principal,
                request.auth.access_key_id,
                params,
                self.sessions,
                authorize,
            )
        )
        if answer.status == 200:
            self.callers.invalidate()  # a new session, or a boundary changed
        return answer

    def _simulated(self, request: _Incoming, route: _Route, caller: _Caller) -> _Answer:
        """One of :data:`simulate.ANSWERED`, for an authenticated caller."""
        assert request.auth is not None
        region, source_ip = request.auth.region, request.source_ip

        def authorize(action: str, resource: str) -> Decision:
            context = global_keys(caller.principal, region, source_ip)
            return _decide_for(caller, RequestContext(action, resource, context))

        return simulate.answer(
            simulate.SimulationCall(
                route,
                caller.principal,
                request.form(),
                self._account,
                self.sessions,
                tuple(tuple(level) for level in self.scps),
                authorize,
            )
        )

    def _refuse_watched(self, request: _Incoming, route: _Route) -> _Answer | None:
        """AWS's refusal of a watched call moto would accept, for an authenticated caller."""
        auth = request.auth
        caller = self.callers.get(auth.access_key_id) if auth is not None else None
        if (
            auth is None
            or caller is None
            or not _signature_matches(request, auth, caller.principal)
        ):
            return None  # moto refuses it, as it refuses any unauthenticated call
        params = intercept.params_of(request.form())
        return intercept.check_watched(route, params, self._account)

    def _resign(self, environ: dict[str, Any], request: _Incoming) -> None:
        """A request with GetSessionToken credentials, signed anew for moto (if authentic)."""
        auth = request.auth
        caller = self.callers.get(auth.access_key_id) if auth is not None else None
        if auth and caller and _signature_matches(request, auth, caller.principal):
            intercept.resign_for_moto(environ, request, self._account, self.sessions)

    def _record_watched(self, request: _Incoming, body: bytes) -> bytes:
        """Record what a watched call left behind; its answer, completed by the sandbox."""
        route = _routing().identify(request)
        if route is None:
            return body
        params = intercept.params_of(request.form())
        return intercept.record_watched(route, params, body, self._account, self.sessions)

    def _decode(self, request: _Incoming, route: _Route, caller: _Caller) -> _Answer:
        assert request.auth is not None
        principal = caller.principal
        action = "sts:DecodeAuthorizationMessage"
        call = Call("sts", route.operation, (action,), {}, request.auth.region, request.source_ip)
        failed = _authorize(caller, request_contexts(call, principal, self._inventory))
        if isinstance(failed, tuple):
            denied, decision = failed
            message = _denial_message(principal, decision, denied.resource, None)
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
    try:
        _put_inline_policy(account, user_name, _POLICY_NAME, document, app.sessions)
    finally:
        app.callers.invalidate()  # remembered verdicts read the old policy
