"""Where the server runs: a process of its own, forked once moto is set up.

Client and server in one process share one GIL, so every request's parsing,
signature check and evaluation would slow the probes that send them. Where
forking is safe, :class:`_ServerProcess` forks the server into a child that
inherits moto's state and the listening socket; the parent reaches it over a
pipe (``set_policy``, ``requests``, ``stop``) and a watcher thread reports its
unexpected end. Elsewhere the sandbox serves from a thread of its own process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from awsprobe.catalog import dry_run_member
from awsprobe.errors import SandboxError
from awsprobe.sandbox.app import _apply_policy, _SandboxApp
from awsprobe.sandbox.request import RecordedRequest
from awsprobe.sandbox.routing import _routing

if TYPE_CHECKING:
    from awsprobe.sandbox.server import _Server

logger = logging.getLogger(__name__)

_STOP_TIMEOUT: Final = 5.0
_CALL_TIMEOUT: Final = 30.0  # set_policy and requests, answered by the server's process


class _ServerProcess:
    """The server, forked into a process of its own: there it has a GIL of its own.

    In one process, every request's parsing, signature check and evaluation
    competes with the client's own work for one GIL. Forked once moto is set
    up, the child inherits everything (moto's users and keys, the routing
    tables, the listening socket) and serves; the parent keeps a pipe for
    :meth:`call` (``set_policy``, ``requests``, ``stop``) and a thread that
    waits for the child's end, to report an unexpected one. The child stops
    when told to, or when the pipe closes because the parent is gone.
    """

    def __init__(self, server: _Server, app: _SandboxApp, name: str) -> None:
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        self._pipe = ours
        self._child = context.Process(
            target=_serve_forked, args=(server, app, theirs, ours), name=name, daemon=True
        )
        try:
            self._child.start()
        finally:
            theirs.close()
        server.socket.close()  # only the child accepts connections
        self.pid = self._child.pid
        self._lock = threading.Lock()
        self._stopping = False
        self._watcher = threading.Thread(target=self._watch, name=name, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        self._child.join()
        if not self._stopping:
            logger.warning(
                "the sandbox's server process %s ended (exit code %s)",
                self.pid,
                self._child.exitcode,
            )

    def call(self, command: str, argument: Any = None, timeout: float = _CALL_TIMEOUT) -> Any:
        """Run ``command`` in the child and return its answer; its error as SandboxError."""
        with self._lock:
            try:
                self._pipe.send((command, argument))
                if not self._pipe.poll(timeout):
                    self._pipe.close()  # a late answer must not be taken for the next one's
                    raise SandboxError(f"the sandbox's server process did not answer {command!r}")
                status, answer = self._pipe.recv()
            except (EOFError, OSError) as exc:
                raise SandboxError(
                    f"the sandbox's server process has ended (exit code {self._child.exitcode})"
                ) from exc
        if status != "ok":
            raise SandboxError(str(answer))
        return answer

    def stop(self, deadline: float) -> list[RecordedRequest]:
        """Stop the child's server, wait for it to exit (killing it at ``deadline``).

        Returns the child's request log as it ended (empty if it could not tell).
        """
        self._stopping = True
        requests: list[RecordedRequest] = []
        with contextlib.suppress(SandboxError):
            requests = self.call("stop", timeout=max(0.0, deadline - time.monotonic()))
        self._watcher.join(max(0.0, deadline - time.monotonic()))
        if self._watcher.is_alive():
            self._child.kill()
            self._watcher.join()
        self._pipe.close()
        self._child.close()
        return requests


def _serve_forked(server: _Server, app: _SandboxApp, pipe: Any, parent_end: Any) -> None:
    """The forked child: serve, and do what the parent asks until it says stop (or is gone)."""
    parent_end.close()  # else the pipe never reads as closed when the parent is gone
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    threading.Thread(target=_warm_up, daemon=True).start()
    try:
        while True:
            try:
                command, argument = pipe.recv()
            except (EOFError, OSError):  # the parent is gone
                break
            if command == "stop":
                break
            try:
                if command == "set_policy":
                    _apply_policy(app, *argument)
                    answer: Any = None
                else:
                    answer = app.requests
                pipe.send(("ok", answer))
            except Exception as exc:  # the parent raises it as SandboxError
                pipe.send(("error", str(exc)))
    finally:
        server.shutdown()
        thread.join()
        server.join_handlers(time.monotonic() + _STOP_TIMEOUT)
        server.server_close()
        with contextlib.suppress(OSError):
            pipe.send(("ok", app.requests))


def _warm_up() -> None:
    """Prepare what the first requests need while the client is still starting up.

    Run only in the server's own process, where it takes nothing from the
    client: the routers of STS (every probe run asks who it is first) and of
    EC2 (most of the catalog), with every EC2 operation's input shape resolved.
    """
    try:
        for signing_name in ("sts", "ec2"):
            for router in _routing().routers(signing_name):
                for operation in router.operations:
                    dry_run_member(router.model.operation_model(operation))
    except Exception:  # the request that needs it does it again, and answers any error
        logger.debug("sandbox: warming up failed", exc_info=True)
