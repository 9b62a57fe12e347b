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

moto, werkzeug and flask load on first use, never when this module is imported.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
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


def sts_backend(account: str) -> Any:
    """moto's STS backend of ``account`` (one per partition)."""
    from moto.sts import sts_backends  # type: ignore[attr-defined]  # as moto's docs import

    return sts_backends[account][_PARTITION]
