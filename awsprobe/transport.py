"""A light HTTP/1.1 transport for the probe clients: botocore builds, signs and parses,
this sends.

botocore sends through urllib3 and ``http.client``: a pool lookup, a liveness poll,
header objects built by the ``email`` package, a response object wrapped twice. For a
dry run -- a small signed POST and a small answer -- that layer costs about as much CPU
as botocore's own work, and every blocking step in it hands the interpreter lock to
another of the runner's threads (benchmarks, figures 2 and 4). :class:`LightSession`
takes the place of the client's HTTP session and does the same exchange over a plain
keep-alive socket: one ``sendall``, reads until the answer is framed, the connection
back to its pool. Everything above it is untouched: the guard still inspects every
request before it gets here, botocore still signs and parses, and the answer is a
:class:`botocore.awsrequest.AWSResponse` like any other.

It does only what the probes need, and hands everything else to botocore's own session
(kept inside it), request by request:

* a proxy for the URL (``HTTPS_PROXY``, ``Config(proxies=...)``), a client
  certificate, a streaming body or answer, ``Expect: 100-continue``, any scheme but
  http and https: botocore's session sends it;
* TLS verification is botocore's, resolved by botocore (``verify=``,
  ``AWS_CA_BUNDLE``, the ``ca_bundle`` setting, ``REQUESTS_CA_BUNDLE``, else its
  default bundle): the same CA file, hostname checking on, TLS 1.2 or newer;
  ``verify=False`` turns checking off as it does in botocore;
* the client's connect and read timeouts and socket options apply as in botocore;
* failures are botocore's exceptions with botocore's meaning (``EndpointConnectionError``,
  ``ConnectTimeoutError``, ``ReadTimeoutError``, ``ConnectionClosedError``,
  ``SSLError``), so retries and classification see no difference;
* a pooled connection the server closed while idle is noticed before reuse (as urllib3
  does) and replaced; a request is never sent twice by the transport.

It is installed on the runner's probe clients only (:func:`install`), through
:mod:`awsprobe.adapters`; when botocore's session is not the one it knows, the client
keeps it and nothing else changes. ``AWSPROBE_HTTP=botocore`` in the environment keeps
botocore's session on every probe client (``light``, the default, installs this one;
read once, into :class:`~awsprobe.probing.options.RunOptions`).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import InsecureRequestWarning

from awsprobe import adapters

__all__ = ["LightSession", "PlainSettings", "install", "light_session"]

#: A status line and headers longer than this are not an AWS answer.
MAX_HEAD: Final = 64 * 1024
_RECV: Final = 65536
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# what http.client refuses in a request target and method (request splitting)
_BAD_TARGET: Final = frozenset(chr(c) for c in (*range(0x21), 0x7F))


@dataclass(frozen=True)
class PlainSettings:
    """What botocore's session was configured with, as this transport needs it.

    ``verify``: botocore's resolved value (``True``: its default CA bundle; a path;
    ``False``: no checking). ``ca_file``: the bundle ``True`` stands for.
    ``socket_options``: ``setsockopt`` triples. ``proxy_for``: botocore's answer to
    "which proxy for this URL" (``None``: none).
    """

    verify: bool | str
    ca_file: str | None
    socket_options: tuple[tuple[int, int, int], ...]
    proxy_for: Callable[[str], str | None]
    connect_timeout: float | None
    read_timeout: float | None
    max_idle: int


class _Garbled(Exception):
    """Internal: the bytes on the socket are not an HTTP/1.x answer."""


class _Closed(Exception):
    """Internal: the server closed the connection before a byte of answer."""


class _Body:
    """The answer's body as botocore reads a raw response (``stream``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, amt: int | None = None) -> bytes:
        data, self._data = (
            (self._data, b"") if amt is None else (self._data[:amt], self._data[amt:])
        )
        return data

    def close(self) -> None:
        self._data = b""


class _Connection:
    """One keep-alive connection and what has been read past the last answer."""

    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def dropped(self) -> bool:
        """Whether the server closed (or wrote to) this idle connection: readable while
        idle means EOF or bytes nobody asked for, unusable either way (as urllib3)."""
        if self.buffer:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            if hasattr(select, "poll"):
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return bool(poller.poll(0))
            readable, _, _ = select.select([self.sock], [], [], 0)  # no poll() (Windows)
            return bool(readable)
        except Exception:  # whatever it is, this connection is not to be trusted
            return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _more(self) -> bytes:
        return self.sock.recv(_RECV)

    def head(self) -> bytes:
        """The status line and headers (without the blank line)."""
        buffer = self.buffer
        start = 0
        while True:
            end = buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                self.buffer = buffer[end + 4 :]
                return buffer[:end]
            if len(buffer) > MAX_HEAD:
                raise _Garbled("the answer's headers are too long")
            start = max(0, len(buffer) - 3)
            data = self._more()
            if not data:
                if not buffer:
                    raise _Closed
                raise _Garbled("the connection closed inside the answer's headers")
            buffer += data

    def exactly(self, count: int) -> tuple[bytes, bool]:
        """``count`` bytes, or fewer and False when the server closed first."""
        buffer = self.buffer
        while len(buffer) < count:
            data = self._more()
            if not data:
                self.buffer = b""
                return buffer, False
            buffer += data
        self.buffer = buffer[count:]
        return buffer[:count], True

    def line(self) -> bytes:
        buffer = self.buffer
        while True:
            end = buffer.find(b"\r\n")
            if end >= 0:
                self.buffer = buffer[end + 2 :]
                return buffer[:end]
            if len(buffer) > MAX_HEAD:
                raise _Garbled("a chunk header is too long")
            data = self._more()
            if not data:
                raise _Garbled("the connection closed inside a chunked answer")
            buffer += data

    def rest(self) -> bytes:
        """Everything until the server closes (an answer framed by closing)."""
        parts = [self.buffer]
        while data := self._more():
            parts.append(data)
        self.buffer = b""
        return b"".join(parts)

    def chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self.line().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _Garbled("a chunk size is not hexadecimal") from None
            if size < 0:
                raise _Garbled("a chunk size is negative")
            if size == 0:
                while self.line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            data, complete = self.exactly(size + 2)
            if not complete or data[-2:] != b"\r\n":
                raise _Garbled("a chunk is cut short")
            parts.append(data[:-2])


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = [line.rstrip(b"\r") for line in head.split(b"\n")]  # as http.client splits
    status_line = lines[0].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code, _, _ = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not "100" <= code <= "999":
        raise _Garbled(f"not an HTTP/1.x status line: {status_line[:40]!r}")
    headers: dict[str, str] = {}
    names: dict[str, str] = {}  # lower-case name -> the name as first seen
    last = ""
    for raw in lines[1:]:
        text = raw.decode("latin-1")
        if text[:1] in (" ", "\t") and last:  # an obsolete folded continuation line
            headers[last] += " " + text.strip()
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise _Garbled(f"not an HTTP header line: {text[:40]!r}")
        value = value.strip()
        key = name.lower()
        if key in names:  # repeated: joined, as urllib3 does
            headers[names[key]] += ", " + value
        else:
            names[key] = name
            headers[name] = value
        last = names[key]
    return int(code), version, headers


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _host_header(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


class LightSession:
    """An HTTP session for one botocore client: keep-alive sockets, one pool a host.

    ``inner`` is botocore's own session, which sends whatever this one does not
    (see the module's documentation) and is closed with it.
    """

    def __init__(self, inner: Any, settings: PlainSettings) -> None:
        self.inner = inner
        self.settings = settings
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._direct: dict[tuple[str, str], bool] = {}

    # -- what it sends itself ------------------------------------------------

    def _mine(self, request: AWSPreparedRequest, parts: SplitResult) -> bool:
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            return False
        if getattr(request, "stream_output", False):
            return False
        body = request.body
        if body is not None and not isinstance(body, bytes | str):
            return False  # a file or a generator: botocore streams it
        headers = request.headers
        if "Expect" in headers or "Transfer-Encoding" in headers:
            return False
        key = (parts.scheme, parts.netloc)
        direct = self._direct.get(key)
        if direct is None:
            direct = self._direct[key] = self.settings.proxy_for(request.url) is None
        return direct

    def send(self, request: AWSPreparedRequest) -> AWSResponse:
        """Send ``request`` and read the whole answer (botocore's ``send`` contract)."""
        parts = urlsplit(request.url)
        if not self._mine(request, parts):
            response: AWSResponse = self.inner.send(request)
            return response
        try:
            payload = self._encode(request, parts)
        except UnicodeEncodeError as exc:  # as http.client refuses it, behind botocore
            raise HTTPClientError(error=exc) from None
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        key = (parts.scheme, parts.hostname or "", port)
        connection = self._checkout(key, request.url)
        try:
            status, headers, body, keep = self._exchange(connection, payload, request)
        except BaseException:
            connection.close()
            raise
        if keep:
            self._checkin(key, connection)
        else:
            connection.close()
        return AWSResponse(request.url, status, headers, _Body(body))

    def _encode(self, request: AWSPreparedRequest, parts: SplitResult) -> bytes:
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        if _BAD_TARGET.intersection(target) or _BAD_TARGET.intersection(request.method):
            raise HTTPClientError(error=ValueError("control characters in the request target"))
        body = request.body
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        lines = [f"{request.method} {target} HTTP/1.1"]
        given = {name.lower() for name in request.headers}
        if "host" not in given:
            lines.append(f"Host: {_host_header(parts)}")
        if "accept-encoding" not in given:
            lines.append("Accept-Encoding: identity")  # as http.client: no compression
        for name, value in request.headers.items():
            text = _text(value)
            if "\r" in text or "\n" in text or "\r" in name or "\n" in name or ":" in name:
                raise HTTPClientError(error=ValueError(f"invalid header {name!r}"))
            lines.append(f"{name}: {text}")
        if "content-length" not in given and (data or request.method in ("POST", "PUT", "PATCH")):
            lines.append(f"Content-Length: {len(data)}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("latin-1") + data

    # -- the exchange ----------------------------------------------------------

    def _exchange(
        self, connection: _Connection, payload: bytes, request: AWSPreparedRequest
    ) -> tuple[int, dict[str, str], bytes, bool]:
        url = request.url
        try:
            connection.sock.sendall(payload)
            while True:
                status, version, headers = _parse_head(connection.head())
                if not 100 <= status < 200:
                    break
                if status == 101:
                    raise _Garbled("the server switched protocols")
            lower = _lower(headers)
            tokens = {t.strip().lower() for t in lower.get("connection", "").split(",")}
            keep = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
            if request.method == "HEAD" or status in (204, 304):
                body = b""
            elif lower.get("transfer-encoding", "").lower().rsplit(",", 1)[-1].strip() == (
                "chunked"
            ):
                body = connection.chunked()
            elif "content-length" in lower:
                values = {v.strip() for v in lower["content-length"].split(",")}
                if len(values) != 1 or not next(iter(values)).isdigit():
                    # RFC 9112 6.3: an invalid or conflicting length is unrecoverable
                    raise HTTPClientError(
                        error=ValueError(f"Content-Length {lower['content-length']!r}")
                    )
                length = int(values.pop())
                body, complete = connection.exactly(length)
                if not complete:  # an answer cut short is no answer (retried as a fault)
                    raise _Garbled(f"the answer ended after {len(body)} of {length} bytes")
            else:  # framed by the server closing
                body = connection.rest()
                keep = False
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=url, error=exc) from None
        except ssl.SSLError as exc:
            raise SSLError(endpoint_url=url, error=exc) from None
        except _Closed:
            error = ConnectionError("the server closed the connection without an answer")
            raise ConnectionClosedError(endpoint_url=url, request=request, error=error) from None
        except (_Garbled, OSError) as exc:
            raise ConnectionClosedError(endpoint_url=url, request=request, error=exc) from None
        return status, headers, body, keep and not self._closed

    # -- connections -------------------------------------------------------------

    def _checkout(self, key: tuple[str, str, int], url: str) -> _Connection:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
            if connection is None:
                return self._connect(key, url)
            if not connection.dropped():  # (the poll outside the lock)
                return connection
            connection.close()

    def _checkin(self, key: tuple[str, str, int], connection: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if self._closed or len(idle) >= self.settings.max_idle:
                connection.close()
            else:
                idle.append(connection)

    def _context(self) -> ssl.SSLContext:
        return _tls_context(self.settings.verify, self.settings.ca_file)

    def _connect(self, key: tuple[str, str, int], url: str) -> _Connection:
        scheme, host, port = key
        settings = self.settings
        context = None
        if scheme == "https":
            try:  # before connecting: a CA bundle that cannot be read is no network fault
                context = self._context()
            except (ssl.SSLError, OSError) as exc:
                raise SSLError(endpoint_url=url, error=exc) from None
        try:
            sock = socket.create_connection((host, port), timeout=settings.connect_timeout)
        except socket.gaierror as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from None
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=url, error=exc) from None
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from None
        try:
            for level, option, value in settings.socket_options:
                sock.setsockopt(level, option, value)
            if context is not None:
                sock = self._handshake(context, sock, host, url)
            sock.settimeout(settings.read_timeout)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _handshake(
        self, context: ssl.SSLContext, sock: socket.socket, host: str, url: str
    ) -> socket.socket:
        """TLS on ``sock`` (under the connect timeout), failing as botocore's session does:
        a certificate or protocol failure is ``SSLError``, silence ``ReadTimeoutError``, a
        reset ``ConnectionClosedError``."""
        try:
            wrapped = context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=url, error=exc) from None
        except ssl.SSLError as exc:  # certificate checks included
            raise SSLError(endpoint_url=url, error=exc) from None
        except OSError as exc:
            raise ConnectionClosedError(endpoint_url=url, error=exc) from None
        if self.settings.verify is False:  # as urllib3 warns, behind botocore
            warnings.warn(
                f"Unverified HTTPS request is being made to host '{host}'. "
                "Adding certificate verification is strongly advised.",
                InsecureRequestWarning,
                stacklevel=3,
            )
        return wrapped

    def close(self) -> None:
        """Close every idle connection (and those in flight as they come back), and
        botocore's session."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
        adapters.close_session_pools(self.inner)
        self.inner.close()


_TLS_LOCK = threading.Lock()
_TLS_CONTEXTS: dict[tuple[bool | str, str | None], ssl.SSLContext] = {}


def _tls_context(verify: bool | str, ca_file: str | None) -> ssl.SSLContext:
    """One TLS context per verification setting, shared (loading a CA bundle costs
    milliseconds, and a context is safe to share between threads).

    As botocore's: TLS 1.2 or newer; the one CA file botocore would load (a directory
    fails, as it does there), hostname checking on; none of the stricter X.509 flags
    newer Pythons add to ``ssl.create_default_context``, which botocore's context
    does not have either.
    """
    key = (verify, ca_file)
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(key)
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname check, CERT_REQUIRED
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.options |= ssl.OP_NO_COMPRESSION
            if verify is False:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            else:
                context.load_verify_locations(cafile=verify if isinstance(verify, str) else ca_file)
            _TLS_CONTEXTS[key] = context
        return context


def light_session(
    inner: Any,
    *,
    connect_timeout: float | None,
    read_timeout: float | None,
    max_idle: int,
) -> LightSession | None:
    """A :class:`LightSession` in front of botocore's session ``inner``, or ``None`` when
    ``inner`` is not botocore's ``URLLib3Session`` as :mod:`awsprobe.adapters` knows it
    (or it presents a client certificate)."""
    found = adapters.plain_transport_settings(inner)
    if found is None:
        return None
    verify, ca_file, socket_options, proxy_for = found
    settings = PlainSettings(
        verify=verify,
        ca_file=ca_file,
        socket_options=socket_options,
        proxy_for=proxy_for,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_idle=max(1, max_idle),
    )
    return LightSession(inner, settings)


def install(client: Any) -> bool:
    """Put a :class:`LightSession` in front of ``client``'s HTTP session; True when it is.

    False (the client keeps botocore's session) when botocore's session or its settings
    are not where :mod:`awsprobe.adapters` looks for them. The client's connect and read
    timeouts and its pool size (``max_pool_connections``) apply. (Whether to install it
    at all is :attr:`RunOptions.http <awsprobe.probing.options.RunOptions.http>`.)
    """
    inner = adapters.http_session_of(client)
    if inner is None or isinstance(inner, LightSession):
        return isinstance(inner, LightSession)
    config = client.meta.config
    light = light_session(
        inner,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_idle=int(config.max_pool_connections or 10),
    )
    return light is not None and adapters.set_http_session(client, light)
