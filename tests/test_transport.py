"""awsprobe's light HTTP transport (awsprobe.transport) against botocore's own.

botocore's ``URLLib3Session`` is the reference: for every answer a server can give --
framed by length, by chunks, by closing; 1xx first; repeated headers; cut short; not
HTTP at all; reset; silence -- the light session must hand botocore the same status,
headers and body, or raise the same botocore exception. Each case runs both sessions
against the same scripted loopback server (tests/fixtures/tls for TLS). Beyond that:
keep-alive (one connection for many requests, a connection the server closed while
idle replaced without sending anything twice), the request on the wire is the one
botocore signed, and whatever the light session does not do (a proxy, a client
certificate, a streaming body) goes to botocore's session.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.config import Config
from botocore.exceptions import (
    EndpointConnectionError,
    HTTPClientError,
    SSLError,
)
from botocore.httpsession import URLLib3Session

from awsprobe import adapters, transport
from awsprobe.guard import guarded_client

TLS = Path(__file__).parent / "fixtures" / "tls"
CA = str(TLS / "ca.pem")
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
DRY_RUN_412 = (
    b"HTTP/1.1 412 Precondition Failed\r\nContent-Type: text/xml;charset=UTF-8\r\n"
    b"Content-Length: 45\r\n\r\n<Response><Errors><Error><Code>DryRunOperatio"
)


@dataclass(frozen=True)
class Reply:
    """What the server does with one request: send ``data`` (None: send nothing),
    then close (``close``), reset (``reset``) or wait ``hang`` seconds first."""

    data: bytes | None
    close: bool = False
    reset: bool = False
    hang: float = 0.0


class Scripted:
    """A loopback HTTP(S) server: each request gets the next :class:`Reply` (the last
    one again when they run out); it records each request's bytes and counts
    connections."""

    def __init__(self, *replies: Reply, tls: ssl.SSLContext | None = None) -> None:
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def url(self, host: str = "127.0.0.1") -> str:
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}/"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes] | None:
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return None
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            data = conn.recv(65536)
            if not data:
                return None
            rest += data
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn.settimeout(5)
                conn = self._tls.wrap_socket(conn, server_side=True)
            conn.settimeout(10)
            buffer = b""
            while not self._stop.is_set():
                got = self._read_request(conn, buffer)
                if got is None:
                    return
                request, buffer = got
                with self._lock:
                    self.requests.append(request)
                    index = len(self.requests) - 1
                reply = self.replies[min(index, len(self.replies) - 1)]
                if reply.hang:
                    self._stop.wait(reply.hang)
                if reply.data is not None:
                    conn.sendall(reply.data)
                if reply.reset:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if reply.close or reply.data is None:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Scripted] = []

    def start(*replies: Reply, tls: ssl.SSLContext | None = None) -> Scripted:
        server = Scripted(*replies, tls=tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _server_tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    return context


def _botocore(
    verify: bool | str = True, read_timeout: float = 2.0, connect_timeout: float = 2.0, **kw: Any
) -> URLLib3Session:
    return URLLib3Session(
        verify=verify, timeout=(connect_timeout, read_timeout), socket_options=NODELAY, **kw
    )


def _light(
    verify: bool | str = True, read_timeout: float = 2.0, connect_timeout: float = 2.0, **kw: Any
) -> Any:
    light = transport.light_session(
        _botocore(verify, read_timeout, connect_timeout, **kw),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_idle=4,
    )
    assert isinstance(light, transport.LightSession)
    return light


def _request(url: str, body: bytes = b"Action=DescribeVpcs&Version=2016-11-15&DryRun=true") -> Any:
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "awsprobe-test",
            "X-Amz-Date": "20261130T000000Z",
        },
    )
    return request.prepare()


def _outcome(session: Any, url: str) -> tuple[Any, ...]:
    try:
        response = session.send(_request(url))
    except HTTPClientError as exc:  # botocore's transport exceptions and their kin
        return ("raised", type(exc).__name__)
    except EndpointConnectionError as exc:
        return ("raised", type(exc).__name__)
    except SSLError as exc:
        return ("raised", type(exc).__name__)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return ("answered", response.status_code, headers, response.content)


def _both(serve: Any, reply: Reply, **kw: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The outcome of one request through botocore's session and through the light
    one, each against its own server giving ``reply``."""
    tls = kw.pop("tls", None)
    host = kw.pop("host", "127.0.0.1")
    reference, light = _botocore(**kw), _light(**kw)
    try:
        expected = _outcome(reference, serve(reply, tls=tls).url(host))
        got = _outcome(light, serve(reply, tls=tls).url(host))
    finally:
        reference.close()
        light.close()
    return expected, got


ANSWERS = [
    pytest.param(Reply(DRY_RUN_412), id="content-length"),
    pytest.param(
        Reply(
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml"
            b"\r\n\r\n5;name=value\r\n<Resp\r\n4\r\nonse\r\n0\r\nX-Trailer: t\r\n\r\n"
        ),
        id="chunked-with-extension-and-trailer",
    ),
    pytest.param(
        Reply(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<framed by closing/>", close=True),
        id="framed-by-close",
    ),
    pytest.param(
        Reply(b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<http10/>", close=True),
        id="http-1.0",
    ),
    pytest.param(Reply(b"HTTP/1.1 100 Continue\r\n\r\n" + DRY_RUN_412), id="100-continue-first"),
    pytest.param(Reply(b"HTTP/1.1 204 No Content\r\nX-Amzn-RequestId: r\r\n\r\n"), id="204"),
    pytest.param(
        Reply(b"HTTP/1.1 400 Bad Request\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\nok"),
        id="repeated-header-joined",
    ),
    pytest.param(Reply(b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\n\r\n"), id="empty-503"),
    pytest.param(
        Reply(b"HTTP/1.1 400 Bad\r\nX-Long: one\r\n two\r\nContent-Length: 0\r\n\r\n"),
        id="folded-header",
    ),
]

FAILURES = [
    pytest.param(Reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", close=True), id="not-http"),
    pytest.param(Reply(None), id="closed-without-answer"),
    pytest.param(Reply(b"HTTP/1.1 412 Precondition", reset=True), id="reset-in-status-line"),
    pytest.param(Reply(DRY_RUN_412[:-10], reset=True), id="reset-in-body"),
    pytest.param(
        Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", close=True),
        id="chunk-size-not-hex",
    ),
    pytest.param(
        Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", close=True),
        id="chunk-cut-short",
    ),
    pytest.param(Reply(None, hang=3.0), id="no-answer-within-read-timeout"),
    pytest.param(
        Reply(b"HTTP/1.1 412 X\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello12"),
        id="conflicting-content-lengths",
    ),
    pytest.param(Reply(b"HTTP/1.1 099 X\r\nContent-Length: 2\r\n\r\nok"), id="status-below-100"),
]


@pytest.mark.parametrize("reply", ANSWERS)
def test_every_framing_gives_botocore_what_its_own_session_gives(serve: Any, reply: Reply) -> None:
    """Status, headers (repeated ones joined) and body equal botocore's own session's,
    for every way HTTP/1.x frames an answer."""
    expected, got = _both(serve, reply)
    assert expected[0] == "answered"
    assert got == expected


@pytest.mark.parametrize("reply", FAILURES)
def test_every_failure_is_the_botocore_exception_its_own_session_raises(
    serve: Any, reply: Reply
) -> None:
    """Bytes that are not HTTP, a close or reset mid-answer, a broken chunk, silence:
    the same botocore exception as botocore's own session (so retries and classification
    see no difference)."""
    expected, got = _both(serve, reply, read_timeout=0.5)
    assert expected[0] == "raised"
    assert got == expected


def test_a_body_shorter_than_its_content_length_is_a_closed_connection(serve: Any) -> None:
    """The server closes before the Content-Length's bytes: ConnectionClosedError (a
    fault, retried), as botocore 1.42's session raises; newer botocore hands the short
    body to its parser instead, which then fails on it or reads half an answer."""
    server = serve(Reply(b"HTTP/1.1 412 X\r\nContent-Length: 100\r\n\r\ncut short", close=True))
    assert _outcome(_light(), server.url()) == ("raised", "ConnectionClosedError")


def test_a_refused_connection_is_an_endpoint_connection_error_as_in_botocore() -> None:
    """Nothing listening: EndpointConnectionError, naming the URL, like botocore."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    expected = ("raised", "EndpointConnectionError")
    assert _outcome(_light(), url) == _outcome(_botocore(), url) == expected


TLS_CASES = [
    pytest.param(CA, "127.0.0.1", "answered", id="trusted-ca"),
    pytest.param(True, "127.0.0.1", "raised", id="default-bundle-does-not-trust-it"),
    pytest.param(
        False,
        "127.0.0.1",
        "answered",
        id="verify-false",
        marks=pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
    ),
    pytest.param(CA, "localhost", "raised", id="hostname-mismatch"),
    pytest.param("/nonexistent/ca.pem", "127.0.0.1", "raised", id="missing-ca-bundle"),
    pytest.param(str(TLS), "127.0.0.1", "raised", id="ca-directory-is-not-a-bundle"),
]


@pytest.mark.parametrize(("verify", "host", "kind"), TLS_CASES)
def test_tls_verification_is_botocores(
    serve: Any, verify: bool | str, host: str, kind: str
) -> None:
    """Over TLS the light session trusts exactly what botocore's would: the bundle it
    resolved (a CA file; by default its own bundle, which does not hold the test CA;
    a missing file or a directory is an SSLError, not a network fault), hostname
    checking on, nothing checked with verify=False."""
    expected, got = _both(serve, Reply(DRY_RUN_412), tls=_server_tls(), verify=verify, host=host)
    assert expected[0] == kind
    assert got == expected
    if kind == "raised":
        assert got == ("raised", "SSLError")


def test_verify_false_warns_as_urllib3_does(serve: Any) -> None:
    """verify=False still answers, with urllib3's InsecureRequestWarning (botocore's own
    session warns the same way)."""
    from urllib3.exceptions import InsecureRequestWarning

    server = serve(Reply(DRY_RUN_412), tls=_server_tls())
    light = _light(verify=False)
    with pytest.warns(InsecureRequestWarning):
        assert light.send(_request(server.url())).status_code == 412
    light.close()


def test_one_connection_carries_many_requests(serve: Any) -> None:
    """Keep-alive: twenty requests, one connection, twenty requests received."""
    server = serve(Reply(DRY_RUN_412))
    light = _light()
    for _ in range(20):
        assert light.send(_request(server.url())).status_code == 412
    light.close()
    assert (server.connections, len(server.requests)) == (1, 20)


def test_a_connection_the_server_closed_while_idle_is_replaced_and_nothing_sent_twice(
    serve: Any,
) -> None:
    """A server that closes after each answer (without saying so): the closed idle
    connection is noticed before reuse, a new one is opened, and each request reaches
    the server exactly once."""
    server = serve(Reply(DRY_RUN_412, close=True))
    light = _light()
    for _ in range(5):
        assert light.send(_request(server.url())).status_code == 412
        time.sleep(0.05)  # let the close arrive
    light.close()
    assert (server.connections, len(server.requests)) == (5, 5)


def test_connection_close_is_honoured(serve: Any) -> None:
    """An answer saying ``Connection: close`` ends that connection."""
    server = serve(
        Reply(b"HTTP/1.1 412 X\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", close=True)
    )
    light = _light()
    for _ in range(3):
        assert light.send(_request(server.url())).content == b"ok"
    light.close()
    assert server.connections == 3


def test_close_closes_idle_connections(serve: Any) -> None:
    """After close() the server sees its connection end."""
    server = serve(Reply(DRY_RUN_412))
    light = _light()
    light.send(_request(server.url()))
    light.close()
    deadline = time.monotonic() + 5
    while server._threads[-1].is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server._threads[-1].is_alive()


def _captured_request(url: str) -> AWSPreparedRequest:
    """A real dry run as botocore prepares and signs it (caught before it is sent)."""
    session = botocore.session.get_session()
    session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
    client = session.create_client("ec2", region_name="us-east-1", endpoint_url=url)
    captured: list[AWSPreparedRequest] = []

    class _Caught(Exception):
        pass

    def catch(request: AWSPreparedRequest, **_: Any) -> None:
        captured.append(request)
        raise _Caught

    client.meta.events.register("before-send", catch)
    with pytest.raises(_Caught):
        client.describe_vpcs(DryRun=True)
    return captured[0]


def _parsed(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def test_the_request_on_the_wire_is_the_one_botocore_signed(serve: Any) -> None:
    """The same signed request through both sessions reaches the server with the same
    request line, headers (Host included: it is signed) and body."""
    server = serve(Reply(DRY_RUN_412))
    request = _captured_request(server.url())
    for session in (_botocore(), _light()):
        session.send(request)
        session.close()
    seen = [_parsed(raw) for raw in server.requests]
    assert seen[1] == seen[0]
    line, headers, body = seen[1]
    assert line == "POST / HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert b"DryRun=true" in body
    assert "authorization" in headers


@pytest.mark.parametrize(
    "url",
    [
        "https://ec2.us-east-1.amazonaws.com/",
        "https://ec2.us-east-1.amazonaws.com:443/",
        "http://ec2.us-east-1.amazonaws.com:80/",
        "https://ec2.us-east-1.amazonaws.com:8443/",
        "http://[::1]:4566/",
        "https://EC2.US-EAST-1.amazonaws.com/",
    ],
)
def test_the_host_header_is_the_host_botocore_signs(url: str) -> None:
    """SigV4 signs the host: the Host header is built as botocore's signer builds it
    (no default port, IPv6 in brackets, lower case)."""
    from urllib.parse import urlsplit

    from botocore.auth import _host_from_url

    assert transport._host_header(urlsplit(url)) == _host_from_url(url)


def test_a_proxy_is_left_to_botocore(serve: Any) -> None:
    """With a proxy configured the request goes through botocore's session, to the
    proxy (absolute-form request target)."""
    proxy = serve(Reply(DRY_RUN_412))
    target = "http://127.0.0.1:9/"
    light = _light(proxies={"http": proxy.url().rstrip("/")})
    assert light.send(_request(target)).status_code == 412
    light.close()
    assert proxy.requests[0].startswith(b"POST http://127.0.0.1:9/ HTTP/1.1")


def test_a_streaming_body_is_left_to_botocore(serve: Any) -> None:
    """A file-like body is botocore's to stream."""
    server = serve(Reply(DRY_RUN_412))
    light = _light()
    request = _request(server.url())
    request.body = io.BytesIO(b"Action=DescribeVpcs&DryRun=true")
    request.headers["Content-Length"] = "31"
    assert light.send(request).status_code == 412
    light.close()
    assert server.requests[0].endswith(b"DryRun=true")


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Injected", "a\r\nEvil: 1"), ("X-Injected", "a\nb"), ("Bad\r\nName", "v")],
)
def test_a_header_that_would_split_the_request_is_refused(
    serve: Any, name: str, value: str
) -> None:
    """CR or LF in a header is refused before anything is sent (as http.client does)."""
    server = serve(Reply(DRY_RUN_412))
    request = _request(server.url())
    request.headers[name] = value
    with pytest.raises(HTTPClientError):
        _light().send(request)
    assert server.requests == []


class _AnotherSession:
    """An HTTP session that is not botocore's (a user's, or a newer botocore's)."""

    def send(self, request: AWSPreparedRequest) -> Any:
        raise AssertionError("not used")


def test_install_puts_the_light_session_in_front_of_botocores() -> None:
    """A guarded client gets the light session, once, with its timeouts and pool size;
    a client certificate, or a session that is not botocore's, keeps botocore's."""
    session = botocore.session.get_session()
    session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
    config = Config(connect_timeout=3, read_timeout=7, max_pool_connections=12)
    client = guarded_client(session, "ec2", region="us-east-1", config=config)
    inner = adapters.http_session_of(client)
    assert transport.install(client) is True
    light = adapters.http_session_of(client)
    assert isinstance(light, transport.LightSession)
    assert light.inner is inner
    assert (light.settings.connect_timeout, light.settings.read_timeout) == (3, 7)
    assert light.settings.max_idle == 12
    assert transport.install(client) is True  # idempotent
    assert adapters.http_session_of(client) is light
    with_cert = guarded_client(
        session, "ec2", region="us-east-1", config=Config(client_cert="/nonexistent.pem")
    )
    assert transport.install(with_cert) is False
    other = guarded_client(session, "ec2", region="us-east-1")
    adapters.set_http_session(other, _AnotherSession())
    assert transport.install(other) is False
    client.close()


def test_awsprobe_http_chooses_the_probe_clients_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default a runner's clients send through the light session; AWSPROBE_HTTP=botocore
    keeps botocore's own; any other value is a one-line UsageError naming the choices,
    raised by probe() before anything is sent."""
    from awsprobe import probe
    from awsprobe.errors import UsageError
    from awsprobe.probing.options import RunOptions
    from awsprobe.probing.runner import Runner

    session = botocore.session.get_session()
    session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "fake-secret")
    monkeypatch.delenv("AWSPROBE_HTTP", raising=False)
    with Runner(session) as runner:
        assert isinstance(
            adapters.http_session_of(runner.client("ec2", "us-east-1")), transport.LightSession
        )
    monkeypatch.setenv("AWSPROBE_HTTP", "botocore")
    assert RunOptions().http == "botocore"
    with Runner(session) as runner:
        assert isinstance(
            adapters.http_session_of(runner.client("ec2", "us-east-1")), URLLib3Session
        )
    monkeypatch.setenv("AWSPROBE_HTTP", "urllib4")
    with pytest.raises(UsageError, match="AWSPROBE_HTTP='urllib4' is not one of light, botocore"):
        RunOptions()
    with pytest.raises(UsageError, match="AWSPROBE_HTTP"):
        probe(session=session, endpoint_url="http://127.0.0.1:9")  # refused before STS
    with pytest.raises(UsageError, match="http must be one of"):
        RunOptions(http="curl")


def test_a_bad_awsprobe_http_is_one_line_and_exit_2_in_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI says what is wrong with AWSPROBE_HTTP and how to fix it, in one line."""
    from awsprobe import cli

    monkeypatch.setenv("AWSPROBE_HTTP", "fast")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    code = cli.main(["matrix", "--services", "ec2", "--endpoint-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "AWSPROBE_HTTP='fast'" in err[0]
    assert "botocore" in err[0]


def _tcp_server(action: Any) -> socket.socket:
    """A bare TCP listener on 127.0.0.1 running ``action(connection)`` per connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=action, args=(conn,), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    return listener


def _silent(conn: socket.socket) -> None:
    time.sleep(2.0)
    conn.close()


def _reset_at_hello(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize(
    ("action", "raised"),
    [(_silent, "ReadTimeoutError"), (_reset_at_hello, "ConnectionClosedError")],
    ids=["silent-during-handshake", "reset-during-handshake"],
)
def test_a_failed_tls_handshake_raises_what_botocore_raises(action: Any, raised: str) -> None:
    """A server that never answers the TLS hello (the handshake is bounded by the
    connect timeout, and botocore calls that a read timeout), or resets it: the same
    botocore exception as botocore's own session."""
    listener = _tcp_server(action)
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/"
    reference = _botocore(CA, read_timeout=5.0, connect_timeout=0.3)
    light = _light(CA, read_timeout=5.0, connect_timeout=0.3)
    try:
        assert _outcome(light, url) == _outcome(reference, url) == ("raised", raised)
    finally:
        listener.close()
        reference.close()
        light.close()


def test_the_tls_context_has_botocores_checks_and_no_stricter_ones() -> None:
    """Hostname checking and CERT_REQUIRED, TLS 1.2 or newer, and none of the X.509
    flags Python 3.13's create_default_context adds (VERIFY_X509_STRICT,
    VERIFY_X509_PARTIAL_CHAIN): botocore's context has neither, and the strict one
    refuses CA bundles botocore accepts (TLS-inspecting proxies' CAs)."""
    context = transport._tls_context(CA, None)
    assert context.check_hostname is True
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    strict = getattr(ssl, "VERIFY_X509_STRICT", 0) | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    assert not context.verify_flags & strict


def test_without_select_poll_idle_connections_are_still_checked(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where select.poll does not exist (Windows), select.select checks idle connections."""
    import select

    monkeypatch.delattr(select, "poll")
    server = serve(Reply(DRY_RUN_412))
    light = _light()
    assert [light.send(_request(server.url())).status_code for _ in range(3)] == [412] * 3
    light.close()
    assert server.connections == 1


def test_a_header_latin_1_cannot_carry_is_an_http_client_error(serve: Any) -> None:
    """Text HTTP/1.1 cannot carry is refused as botocore's session refuses it, and nothing
    is sent."""
    server = serve(Reply(DRY_RUN_412))
    request = _request(server.url())
    request.headers["X-App"] = "\u2603"
    with pytest.raises(HTTPClientError):
        _light().send(request)
    assert server.requests == []
