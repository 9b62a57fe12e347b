"""A loopback fake of the EC2 instance metadata service (IMDS), for tests.

It answers on ``127.0.0.1`` on a free port and behaves like IMDS in the ways
awsprobe and botocore rely on (EC2 User Guide, "Use IMDSv2":
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html,
and "Retrieve instance metadata":
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html;
botocore ``utils.py`` ``IMDSFetcher``/``InstanceMetadataFetcher``):

* ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds``
  (1-21600) returns a session token; without the header, ``400``. With
  ``v2=False`` the PUT answers ``404`` (an IMDS that predates IMDSv2, or a
  proxy that drops PUTs), which clients treat as "fall back to IMDSv1".
* ``GET /latest/...`` with a valid ``X-aws-ec2-metadata-token`` is served;
  without one it is served only when ``v1=True`` (``HttpTokens=optional``),
  else ``401`` (``HttpTokens=required``); a wrong token is ``401``.
* ``meta-data/iam/security-credentials/`` lists the role name, or ``404``
  when no role is attached; ``…/security-credentials/<role>`` returns a
  credentials document (awsprobe must never ask for it; botocore may).
* ``delay`` makes every answer late (a slow or half-dead service).
* ``redirect`` answers every request with ``307`` to that URL (a hostile or
  misconfigured endpoint; a client must not follow it).

Every request is recorded in :attr:`FakeImds.requests` so a test can assert
what was (or was not) asked. :func:`closed_port_url` gives a URL on which
nothing listens (the "missing" service).
"""

from __future__ import annotations

import datetime as _dt
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

TOKEN = "AQAEAFakeImdsTokenForAwsprobeTests=="
ROLE_KEY = "ASIAFAKEIMDSROLEKEY1"
ROLE_SECRET = "fAkE/iMdS+RoLe/SeCrEt/0123456789abcdefGH"
ROLE_TOKEN = "IQoJFakeImdsRoleSessionTokenNeverValid//+==" * 3


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    token: str | None
    ttl: str | None


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class FakeImds:
    """A fake IMDS on 127.0.0.1 (or ``host="::1"``); use as a context manager."""

    def __init__(
        self,
        *,
        v1: bool = True,
        v2: bool = True,
        role: str | None = "probe-instance-role",
        instance_id: str = "i-0123456789abcdef0",
        region: str = "eu-west-1",
        delay: float = 0.0,
        redirect: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.v1 = v1
        self.v2 = v2
        self.role = role
        self.instance_id = instance_id
        self.region = region
        self.delay = delay
        self.redirect = redirect
        self.requests: list[Seen] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self._server = server_class((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{host}:{port}/"

    def __enter__(self) -> FakeImds:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()  # wake any handler sleeping in "slow" mode
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def paths(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.requests]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def _document(self, path: str) -> tuple[int, str]:
        meta = "/latest/meta-data/"
        creds = meta + "iam/security-credentials/"
        if path == meta + "instance-id":
            return 200, self.instance_id
        if path == meta + "placement/region":
            return 200, self.region
        if path == meta + "placement/availability-zone":
            return 200, self.region + "a"
        if path == creds:
            return (200, self.role) if self.role else (404, "Not Found")
        if self.role and path == creds + self.role:
            expiry = _dt.datetime.now(_dt.UTC) + _dt.timedelta(hours=6)
            return 200, json.dumps(
                {
                    "Code": "Success",
                    "LastUpdated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": ROLE_KEY,
                    "SecretAccessKey": ROLE_SECRET,
                    "Token": ROLE_TOKEN,
                    "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
        return 404, "Not Found"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet: the test output is not the place for an access log."""

            def _reply(self, status: int, body: str) -> None:
                if fake.delay and fake._stop.wait(fake.delay):
                    return
                data = body.encode()
                try:
                    if fake.redirect:
                        self.send_response(307)
                        self.send_header("Location", fake.redirect + self.path.lstrip("/"))
                    else:
                        self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timed out) first
                    pass

            def do_PUT(self) -> None:
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                fake._record(Seen("PUT", self.path, None, ttl))
                if not fake.v2:
                    self._reply(404, "Not Found")
                elif self.path != "/latest/api/token":
                    self._reply(405, "Method Not Allowed")
                elif ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                    self._reply(400, "Bad Request")
                else:
                    self._reply(200, TOKEN)

            def do_GET(self) -> None:
                token = self.headers.get("X-aws-ec2-metadata-token")
                fake._record(Seen("GET", self.path, token, None))
                if (token is not None and (token != TOKEN or not fake.v2)) or (
                    token is None and not fake.v1
                ):
                    self._reply(401, "Unauthorized")
                else:
                    self._reply(*fake._document(self.path))

        return Handler


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
