"""A loopback fake AWS that misbehaves on purpose: a real TCP server on 127.0.0.1.

It sits below HTTP so a test can make it do what real networks and load
balancers do: answer an EC2 error, answer 2xx, send arbitrary bytes, reset the
connection halfway through a response, close without answering, accept and
never answer, or answer slowly. Tests script it per request::

    def script(operation: str, nth: int) -> Fault | None:
        return Fault.answer(503, "RequestLimitExceeded") if nth <= 2 else None

    with FaultServer(script) as fake:
        probe(..., endpoint_url=fake.url)
        assert fake.attempts("RunInstances") == 3

``nth`` counts the requests for one operation (1 for the first). A ``rule``
(``FaultServer(rule=...)``) sees the whole :class:`Recorded` request instead --
its access key id, region, headers -- and is asked first. ``None`` means the
default answer: ``sts:GetCallerIdentity`` gets an identity, an EC2
dry run ``DryRunOperation`` (412), any other request a 400 error. Every
request is recorded (operation, service, region, access key id, headers, body)
together with whether it carried a dry-run flag, judged here independently of
awsprobe's guard: a ``DryRun``-like member set to true in the form body, the
JSON or XML body, the CBOR body, the query string or a header.

Everything the server starts ends in :meth:`FaultServer.stop`: it is bounded
(a hang lasts at most ``hang_cap`` seconds, or until the client hangs up) and
joins every thread it started. The :func:`fault_server` fixture starts servers
for a test, stops them after it, and then asserts that none received a request
without its dry-run flag.

Also here: :func:`refused_endpoint` (a port that refuses, and can start
listening later), :func:`blackhole_endpoint` (connects never complete), and
process probes for leak checks (:func:`open_fds`, :func:`client_connections`,
:func:`rss_bytes`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest

__all__ = [
    "ACCOUNT",
    "ARN",
    "DRY_RUN_OK",
    "EXEMPT",
    "UNAUTHORIZED",
    "USER_ID",
    "Fault",
    "FaultServer",
    "Recorded",
    "Rule",
    "Script",
    "blackhole_endpoint",
    "client_connections",
    "ec2_error_body",
    "fault_server",
    "open_fds",
    "refused_endpoint",
    "rss_bytes",
]

ACCOUNT: Final = "111122223333"
ARN: Final = f"arn:aws:iam::{ACCOUNT}:user/reliability"
USER_ID: Final = "AIDARELIABILITYTEST01"

#: Requests that legitimately carry no dry-run flag: who-am-I, the credential calls and the
#: policy simulator (awsprobe.guard.EXEMPT_OPERATIONS).
EXEMPT: Final = frozenset(
    {
        ("sts", "GetCallerIdentity"),
        ("sts", "DecodeAuthorizationMessage"),
        ("sts", "GetSessionToken"),
        ("sts", "AssumeRole"),
        ("ec2", "DescribeRegions"),
        ("iam", "SimulatePrincipalPolicy"),  # --simulate: IAM's policy simulator
        ("iam", "GetContextKeysForPrincipalPolicy"),
    }
)

_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_DRY_RUN_NAME: Final = re.compile(r"(?i)^(x-amz-)?dry[-_]?run$")


def ec2_error_body(code: str, message: str | None = None) -> bytes:
    """The EC2 error envelope (AWS EC2 API Reference, Error codes, "Example error response":
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html)."""
    text = message if message is not None else f"{code} (from the reliability fake)"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{_xml_escape(text)}</Message>"
        "</Error></Errors><RequestID>5e1b4f0c-0000-4000-8000-000000000000</RequestID></Response>"
    ).encode()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def identity_body(arn: str = ARN, account: str = ACCOUNT, user_id: str = USER_ID) -> bytes:
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>{arn}</Arn><UserId>{user_id}</UserId>"
        f"<Account>{account}</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()


def http_response(
    status: int,
    body: bytes,
    content_type: str = "text/xml;charset=UTF-8",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A complete HTTP/1.1 response with an honest Content-Length (keep-alive)."""
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "x-amzn-RequestId: 5e1b4f0c-0000-4000-8000-000000000000",
        "Server: reliability-fake",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- faults -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What the server does with one request. Build them with the class methods."""

    kind: str  # "send" | "truncate" | "reset" | "close" | "hang" | "slow"
    data: bytes = b""  # the bytes to send (send/truncate/reset), or the reply after "slow"
    keep_alive: bool = True  # after "send": keep the connection for the next request
    limit: int = 0  # truncate/reset: how many bytes of ``data`` go out
    seconds: float = 0.0  # slow: the delay; hang: 0 means the server's cap
    then: Fault | None = None  # slow: what happens after the delay

    @classmethod
    def answer(cls, status: int, code: str | None = None, message: str | None = None) -> Fault:
        """An EC2 XML error answer (``code``), or an empty-bodied status when code is None."""
        body = ec2_error_body(code, message) if code is not None else b""
        return cls("send", http_response(status, body))

    @classmethod
    def ok(cls, body: bytes | None = None, status: int = 200) -> Fault:
        """A 2xx answer: the service ignored the dry-run flag and ran the call."""
        payload = (
            body
            if body is not None
            else (
                b'<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                b"<requestId>1</requestId><vpcSet/></DescribeVpcsResponse>"
            )
        )
        return cls("send", http_response(status, payload))

    @classmethod
    def body(cls, status: int, payload: bytes, content_type: str = "text/xml") -> Fault:
        """A well-framed answer whose body is anything (malformed XML, bad JSON, HTML)."""
        return cls("send", http_response(status, payload, content_type))

    @classmethod
    def raw(cls, data: bytes) -> Fault:
        """Exactly these bytes on the socket, then close (framing is the caller's problem)."""
        return cls("send", data, keep_alive=False)

    @classmethod
    def truncate(cls, after: int, reply: Fault | None = None) -> Fault:
        """The first ``after`` bytes of a reply (default DryRunOperation), then a clean close."""
        full = (reply or DRY_RUN_OK).data
        return cls("truncate", full, limit=after)

    @classmethod
    def reset(cls, after: int, reply: Fault | None = None) -> Fault:
        """The first ``after`` bytes of a reply, then a TCP reset (RST) mid-response."""
        full = (reply or DRY_RUN_OK).data
        return cls("reset", full, limit=after)

    @classmethod
    def close(cls) -> Fault:
        """Read the request, then close the connection without a byte of answer."""
        return cls("close")

    @classmethod
    def hang(cls, seconds: float = 0.0) -> Fault:
        """Accept, read, never answer (until the server's cap or ``stop()``), then close."""
        return cls("hang", seconds=seconds)

    @classmethod
    def slow(cls, seconds: float, then: Fault | None = None) -> Fault:
        """Answer after ``seconds`` (``then``, default the normal answer)."""
        return cls("slow", seconds=seconds, then=then)


DRY_RUN_OK: Final = Fault.answer(
    412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."
)
UNAUTHORIZED: Final = Fault.answer(
    403, "UnauthorizedOperation", "You are not authorized to perform this operation."
)


# -- recording --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived on the socket."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    operation: str
    service: str
    region: str
    access_key: str
    dry_run: bool
    nth: int
    at: float = field(compare=False)

    @property
    def exempt(self) -> bool:
        return (self.service, self.operation) in EXEMPT

    @property
    def text(self) -> str:
        """Request line, headers and body as text (for greps)."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.body.decode('utf-8', 'replace')}"


def _header(headers: dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    ctype = _header(headers, "content-type")
    if "x-www-form-urlencoded" in ctype or body.startswith(b"Action="):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    target = _header(headers, "x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "/operation/" in path:  # smithy rpc v2: /service/X/operation/Y
        return path.rsplit("/", 1)[-1]
    return f"{method} {urlsplit(path).path}"


def _truthy(value: Any) -> bool:
    if value is True:
        return True
    return isinstance(value, str) and value.strip().lower() == "true"


def _dry_run_flag(method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
    """Does the request carry a dry-run flag set to true anywhere a protocol can put one?"""
    for key, values in parse_qs(urlsplit(path).query, keep_blank_values=True).items():
        if _DRY_RUN_NAME.match(key) and values and all(_truthy(v) for v in values):
            return True
    for key, value in headers.items():
        if _DRY_RUN_NAME.match(key) and _truthy(value):
            return True
    if not body:
        return False
    ctype = _header(headers, "content-type")
    if "cbor" in ctype:
        return _cbor_flag(body)
    text = body.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in ctype or body.startswith(b"Action="):
        form = parse_qs(text, keep_blank_values=True)
        return any(
            _DRY_RUN_NAME.match(k) and vals and all(_truthy(v) for v in vals)
            for k, vals in form.items()
        )
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return False
        return isinstance(document, dict) and any(
            _DRY_RUN_NAME.match(k) and v is True for k, v in document.items()
        )
    if stripped.startswith("<"):
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            return False
        return any(
            _DRY_RUN_NAME.match(child.tag.rsplit("}", 1)[-1])
            and (child.text or "").strip() == "true"
            for child in root
        )
    return False


def _cbor_flag(body: bytes) -> bool:
    from botocore.parsers import RpcV2CBORParser

    parser = RpcV2CBORParser()
    try:
        document = parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))
    except Exception:
        return False
    return isinstance(document, dict) and any(
        isinstance(k, str) and _DRY_RUN_NAME.match(k) and v is True for k, v in document.items()
    )


_SCOPE: Final = re.compile(r"Credential=([^/\s,]+)/\d{8}/([^/]+)/([^/]+)/")


# -- the server ---------------------------------------------------------------------------

Script = Callable[[str, int], "Fault | None"]
Rule = Callable[[Recorded], "Fault | None"]


class FaultServer:
    """A scripted fake AWS on 127.0.0.1:<free port>, one thread per connection."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        rule: Rule | None = None,
        hang_cap: float = 10.0,
        arn: str = ARN,
        listener: socket.socket | None = None,
    ) -> None:
        self.script = script
        self.rule = rule
        self.hang_cap = hang_cap
        self.arn = arn
        self.requests: list[Recorded] = []
        self.connections = 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        if listener is None:  # else: a socket already bound (refusing until now), adopted
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", 0))
        self._listener = listener
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._accepting = threading.Thread(
            target=self._accept_loop, name=f"faults-accept-{self.port}", daemon=True
        )
        self._accepting.start()

    # -- public ------------------------------------------------------------------------

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close every socket, end every thread (asserts they all ended)."""
        self._stopping.set()
        self._accepting.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
            threads = list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._listener.close()
        alive = [t.name for t in [self._accepting, *threads] if t.is_alive()]
        assert not alive, f"fault server threads did not end: {alive}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def settle(self, timeout: float = 2.0) -> bool:
        """Wait until every client connection is gone (the client closed its side)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections == 0:
                return True
            time.sleep(0.01)
        return False

    @property
    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return [self._accepting, *self._threads]

    def probes(self, operation: str | None = None) -> list[Recorded]:
        """Recorded requests other than the exempt identity calls (optionally one operation)."""
        with self._lock:
            seen = list(self.requests)
        return [r for r in seen if not r.exempt and (operation is None or r.operation == operation)]

    def attempts(self, operation: str) -> int:
        return len(self.probes(operation))

    def without_dry_run(self) -> list[Recorded]:
        """Every non-exempt request that reached the socket without its dry-run flag."""
        return [r for r in self.probes() if not r.dry_run]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` probe requests arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.probes()) >= count:
                return True
            time.sleep(0.01)
        return False

    # -- internals -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.05)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"faults-conn-{self.port}", daemon=True
            )
            with self._lock:
                self.connections += 1
                self._conns.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _recv(self, conn: socket.socket, buffer: bytearray, wanted: int | None) -> bool:
        """Read into ``buffer`` until it holds a header block (``wanted`` None) or
        ``wanted`` bytes; False when the peer closed or the server is stopping."""
        while not self._stopping.is_set():
            if wanted is None and b"\r\n\r\n" in buffer:
                return True
            if wanted is not None and len(buffer) >= wanted:
                return True
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not chunk:
                return False
            buffer.extend(chunk)
        return False

    def _serve(self, conn: socket.socket) -> None:
        buffer = bytearray()
        try:
            while not self._stopping.is_set():
                if not self._recv(conn, buffer, None):
                    return
                head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = [*lines[0].split(" "), "", ""][:2]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip()] = value.strip()
                length = int(_header(headers, "content-length") or 0)
                buffer = bytearray(rest)
                if not self._recv(conn, buffer, length):
                    return
                body, buffer = bytes(buffer[:length]), bytearray(buffer[length:])
                request = self._record(method, path, headers, body)
                fault = self._decide(request)
                try:
                    if not self._act(conn, fault, request):
                        return
                except OSError:  # the client gave up first (timed out, reset): fine
                    return
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Recorded:
        operation = _operation(method, path, headers, body)
        scope = _SCOPE.search(_header(headers, "authorization"))
        key, region, service = scope.groups() if scope else ("", "", "")
        with self._lock:
            nth = self._counts[operation] = self._counts.get(operation, 0) + 1
            request = Recorded(
                method=method,
                path=path,
                headers=headers,
                body=body,
                operation=operation,
                service=service,
                region=region,
                access_key=key,
                dry_run=_dry_run_flag(method, path, headers, body),
                nth=nth,
                at=time.monotonic(),
            )
            self.requests.append(request)
        return request

    def _decide(self, request: Recorded) -> Fault:
        fault: Fault | None = None
        if self.rule is not None:
            fault = self.rule(request)
        if fault is None and self.script is not None:
            fault = self.script(request.operation, request.nth)
        return fault if fault is not None else self._default(request)

    def _default(self, request: Recorded) -> Fault:
        if request.operation == "GetCallerIdentity":
            account = self.arn.split(":")[4]
            return Fault("send", http_response(200, identity_body(self.arn, account)))
        if request.service == "ec2" and request.dry_run:
            return DRY_RUN_OK
        if request.service == "ec2":
            return Fault.answer(400, "InvalidRequest", "the reliability fake answers dry runs only")
        return Fault(
            "send",
            http_response(
                400,
                b'{"__type":"ValidationException","message":"reliability fake"}',
                "application/x-amz-json-1.1",
            ),
        )

    def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (never beyond the cap); False when the server is stopping."""
        return not self._stopping.wait(min(seconds, self.hang_cap))

    def _hang(self, conn: socket.socket, seconds: float) -> None:
        """Say nothing until the client gives up (EOF), ``seconds`` pass, or the server stops."""
        deadline = time.monotonic() + min(seconds, self.hang_cap)
        while not self._stopping.is_set() and time.monotonic() < deadline:
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def _act(self, conn: socket.socket, fault: Fault, request: Recorded) -> bool:
        """Do what ``fault`` says; True when the connection may serve another request."""
        if fault.kind == "slow":
            if not self._pause(fault.seconds):
                return False
            return self._act(conn, fault.then or self._default(request), request)
        if fault.kind == "send":
            conn.sendall(fault.data)
            return fault.keep_alive
        if fault.kind == "truncate":
            conn.sendall(fault.data[: fault.limit])
            return False
        if fault.kind == "reset":
            conn.sendall(fault.data[: fault.limit])
            time.sleep(0.01)  # let the partial bytes leave before the RST
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault.kind == "close":
            return False
        if fault.kind == "hang":
            self._hang(conn, fault.seconds or self.hang_cap)
            return False
        raise AssertionError(f"unknown fault kind {fault.kind!r}")


# -- process probes -------------------------------------------------------------------------


@contextlib.contextmanager
def refused_endpoint() -> Iterator[tuple[str, socket.socket]]:
    """A loopback URL whose port refuses connections: bound, not listening (so no other
    process can take the port). The socket is yielded too: ``FaultServer(listener=sock)``
    starts answering on that very port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", sock
    finally:
        sock.close()


@contextlib.contextmanager
def blackhole_endpoint() -> Iterator[str]:
    """A loopback URL whose connects never complete: a listener with a full backlog that
    never accepts, so the kernel drops new SYNs (exercises the *connect* timeout)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(4):  # fill the accept queue; later SYNs are dropped
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(address)
            fillers.append(filler)
        time.sleep(0.05)
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def _socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def client_connections(port: int) -> int:
    """This process's open TCP sockets connected *to* 127.0.0.1:``port`` (client side)."""
    mine = _socket_inodes()
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, inode = fields[2], fields[9]
            if inode != "0" and inode in mine and int(remote.split(":")[1], 16) == port:
                count += 1
    return count


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def fault_server() -> Iterator[Callable[..., FaultServer]]:
    """A factory: ``fault_server(script, ...)`` starts a server stopped after the test."""
    servers: list[FaultServer] = []

    def start(script: Script | None = None, **kwargs: Any) -> FaultServer:
        server = FaultServer(script, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:  # whatever the test did, nothing unflagged reached a socket
        unflagged = [f"{r.service}:{r.operation}" for r in server.without_dry_run()]
        assert not unflagged, f"requests without their dry-run flag reached the fake: {unflagged}"
