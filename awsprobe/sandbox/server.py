"""The server: the only code that knows sockets.

werkzeug's threaded WSGI server on a free loopback port, one thread per
connection, serving the sandbox's WSGI app (:class:`_SandboxApp`) with
http.server's request parsing and werkzeug's WSGI environ, and HTTP/1.1
keep-alive. How it is run (a thread, or a process of its own) is
:mod:`awsprobe.sandbox.process`'s business.

Imported by :meth:`Sandbox.start` only: werkzeug and moto's server load with it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from werkzeug.serving import ThreadedWSGIServer

from awsprobe.errors import SandboxError
from awsprobe.sandbox.app import _SandboxApp
from awsprobe.sandbox.moto_adapter import request_handler
from awsprobe.sandbox.request import _BODY_READ

if TYPE_CHECKING:
    from werkzeug.serving import WSGIRequestHandler as _BaseHandler
else:
    _BaseHandler = request_handler()  # moto's own, where moto has one

logger = logging.getLogger(__name__)


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with its connections kept to be closed and joined on stop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._handlers: list[threading.Thread] = []
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, as ThreadingMixIn, but kept to be joined on stop."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"awsprobe-sandbox-connection-{client_address[1]}",
            daemon=True,
        )
        with self._connections_lock:
            self._handlers = [t for t in self._handlers if t.is_alive()]
            self._handlers.append(thread)
        thread.start()

    def join_handlers(self, deadline: float) -> None:
        """End every connection and wait for its thread to finish, until ``deadline``."""
        while time.monotonic() < deadline:
            with self._connections_lock:
                alive = [t for t in self._handlers if t.is_alive()]
            if not alive:
                return
            self.close_connections()
            alive[0].join(0.05)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End idle keep-alive connections so their threads can finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("sandbox server: " + message.rstrip(), *args)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("sandbox: error serving %s", client_address, exc_info=True)


class _Handler(_BaseHandler):
    """moto's request handler (werkzeug's before moto 5.2.3), keeping connections alive.

    http.server reads the request line and the headers, werkzeug's
    ``make_environ`` makes the WSGI environ (a chunked body behind its
    dechunking reader), and the sandbox's app reads every body to its end and
    says so in the environ. So, unlike werkzeug's own ``run_wsgi``, which closes
    every connection (http.server cannot tell where an unread body ends) and
    then waits 10 ms for stray bytes, the connection carries the next request;
    when the end of a body is unsure, or anything fails, it closes.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each answer is two small writes: send them at once

    def run_wsgi(self) -> None:
        """Serve one request through the app, then keep the connection or close it."""
        environ = self.environ = self.make_environ()
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [(status, list(headers))]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            status, headers = started[0]
        except Exception:
            logger.debug("sandbox: error serving a request", exc_info=True)
            environ[_BODY_READ] = False
            status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
            chunks[:] = [b"Internal Server Error"]
        if not environ.get(_BODY_READ):
            self.close_connection = True
        self._respond(status, headers, b"".join(chunks))

    def _respond(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        """The answer through http.server; ``Connection: close`` when the connection ends."""
        code, _, reason = status.partition(" ")
        bodiless = self.command == "HEAD" or int(code) < 200 or int(code) in (204, 304)
        self.send_response(int(code), reason)
        names = set()
        for name, value in headers:
            if name.lower() not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
                names.add(name.lower())
        if "content-length" not in names and not bodiless:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodiless:
            self.wfile.write(body)

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_Server, self.server).untrack(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if logger.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("sandbox http: " + message.rstrip(), *args)


def _make_server(app: _SandboxApp) -> _Server:
    """A server for ``app`` listening on 127.0.0.1 and a free port, not serving yet."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        return _Server("127.0.0.1", 0, app, handler=_Handler, fd=listener.fileno())
    except OSError as exc:
        raise SandboxError(f"the sandbox could not listen on 127.0.0.1: {exc}") from exc
    finally:
        listener.close()  # the server holds its own duplicate of the socket
