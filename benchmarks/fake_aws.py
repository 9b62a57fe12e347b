"""A loopback fake EC2/STS endpoint built for speed, for the benchmarks.

Standard library only, so it runs as its own process (``python fake_aws.py``)
and its CPU never competes with the measured interpreter's GIL::

    botocore ──HTTP/1.1 keep-alive──▶ asyncio.Protocol on 127.0.0.1:<free port>
                                        │ request line, Content-Length, body
                                        │ Action=…            (EC2 query protocol)
                                        │ Credential=AKID/date/REGION/SERVICE/…
                                        ▼
                          token bucket (account, region, action)? ─ empty ─▶ 503
                                        ▼
                          policy table: access key → identity; action glob → verdict
                                        ▼
                          canned bytes, written after ``latency`` seconds (loop.call_later)

Every answer is precomputed bytes, memoised per (access key, action), so the
server's own cost is a few tens of microseconds per request; ``GET
/__bench/stats`` reports its CPU seconds so a bench can account for them.

Control (plain HTTP on the same port, no signature):

* ``GET /__bench/config?latency=0.03&throttle=1`` sets the simulated round
  trip and EC2 token-bucket enforcement, and resets buckets and counters.
* ``GET /__bench/stats`` answers JSON: requests, answers per code, throttled
  requests, peak requests in flight, the server's CPU seconds.

The server exits when its stdin closes (the bench that started it is gone) or
after ``--max-seconds``; it only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, unquote_plus

__all__ = [
    "ACCOUNT",
    "BENCH_IDENTITIES",
    "DEFAULT_LATENCY",
    "EC2_BUCKETS",
    "OTHER_ACCOUNT",
    "OTHER_IDENTITIES",
    "FakeIdentity",
    "Policy",
    "bucket_for",
    "main",
]

DEFAULT_LATENCY: Final = 0.030
ACCOUNT: Final = "111122223333"


@dataclass(frozen=True)
class FakeIdentity:
    """One set of access keys: who they belong to and what they may do."""

    access_key: str
    secret_key: str
    account: str
    arn: str
    user_id: str
    allow: tuple[str, ...]  # operation globs that answer DryRunOperation; the rest are denied


_READ_ONLY: Final = ("Describe*", "Get*", "List*", "Search*")

#: Five identities of one account (roles of one team): the first two may also change things.
BENCH_IDENTITIES: Final = tuple(
    FakeIdentity(
        access_key=f"AKIABENCH{n:011d}",
        secret_key=f"bench-secret-{n}",
        account=ACCOUNT,
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/bench-role-{n}/session",
        user_id=f"AROABENCH{n:011d}:session",
        allow=(*_READ_ONLY, "Create*", "Run*") if n < 2 else _READ_ONLY,
    )
    for n in range(5)
)
OTHER_ACCOUNT: Final = "444455556666"
#: Five identities of a second account: its buckets are its own.
OTHER_IDENTITIES: Final = tuple(
    FakeIdentity(
        access_key=f"AKIAOTHER{n:011d}",
        secret_key=f"other-secret-{n}",
        account=OTHER_ACCOUNT,
        arn=f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/other-role-{n}/session",
        user_id=f"AROAOTHER{n:011d}:session",
        allow=_READ_ONLY,
    )
    for n in range(5)
)

# -- EC2 token buckets, kept independent of awsprobe's own table --------------------------
# EC2 Developer Guide, Request throttling:
# https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html

#: (capacity, refill per second) per category.
EC2_BUCKETS: Final[Mapping[str, tuple[float, float]]] = {
    "non-mutating": (100.0, 20.0),
    "unfiltered": (50.0, 10.0),
    "mutating": (50.0, 5.0),
    "resource-intensive": (50.0, 5.0),
}
_UNCATEGORIZED: Final[Mapping[str, tuple[float, float]]] = {
    "RunInstances": (5.0, 2.0),
    "StartInstances": (5.0, 2.0),
    "TerminateInstances": (100.0, 5.0),
    "CreateTags": (100.0, 10.0),
    "CreateVpcEndpoint": (4.0, 0.3),
    "AdvertiseByoipCidr": (1.0, 0.1),
    "DescribeByoipCidrs": (1.0, 0.5),
}
_UNFILTERED: Final = frozenset(
    {
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DescribeNetworkInterfaces",
        "DescribeSecurityGroups",
        "DescribeSnapshots",
        "DescribeSpotInstanceRequests",
        "DescribeVolumes",
    }
)
_RESOURCE_INTENSIVE: Final = frozenset(
    {
        "AcceptVpcPeeringConnection",
        "AuthorizeSecurityGroupIngress",
        "CancelSpotInstanceRequests",
        "CreateKeyPair",
        "CreateVpcPeeringConnection",
        "DeleteVpcPeeringConnection",
        "RejectVpcPeeringConnection",
        "RevokeSecurityGroupIngress",
        "RequestSpotInstances",
    }
)


def bucket_for(action: str) -> tuple[float, float]:
    """The EC2 API-request bucket (capacity, refill/s) of one action, per the EC2 guide."""
    if action in _UNCATEGORIZED:
        return _UNCATEGORIZED[action]
    if action in _UNFILTERED:  # a probe sends no filter and no pagination
        return EC2_BUCKETS["unfiltered"]
    if action in _RESOURCE_INTENSIVE:
        return EC2_BUCKETS["resource-intensive"]
    if action.startswith(("Describe", "List", "Search", "Get")):
        return EC2_BUCKETS["non-mutating"]
    return EC2_BUCKETS["mutating"]


def min_seconds_for(counts: Mapping[str, int]) -> float:
    """The least time the buckets allow for ``counts[action]`` requests of each action.

    Buckets start full; the n-th request beyond the capacity waits ``1/rate``.
    """
    worst = 0.0
    for action, n in counts.items():
        capacity, rate = bucket_for(action)
        worst = max(worst, max(0.0, n - capacity) / rate)
    return worst


class Policy:
    """Access key → identity; (identity, action) → canned answer bytes (memoised)."""

    def __init__(
        self, identities: Sequence[FakeIdentity] = BENCH_IDENTITIES + OTHER_IDENTITIES
    ) -> None:
        self.by_key = {i.access_key: i for i in identities}
        self._answers: dict[tuple[str, str, str], tuple[bytes, str]] = {}

    def answer(self, access_key: str, service: str, action: str) -> tuple[bytes, str]:
        """The whole HTTP response for one request, and its code (for the counters)."""
        key = (access_key, service, action)
        cached = self._answers.get(key)
        if cached is not None:
            return cached
        identity = self.by_key.get(access_key)
        if identity is None:
            response = _ec2_error(
                401, "AuthFailure", "AWS was not able to validate the provided access credentials"
            )
        elif service == "sts" and action == "GetCallerIdentity":
            response = _sts_identity(identity)
        elif service != "ec2":
            response = _ec2_error(400, "InvalidAction", f"{service}:{action} is not faked")
        elif any(fnmatch.fnmatchcase(action, glob) for glob in identity.allow):
            response = _ec2_error(
                412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."
            )
        else:
            response = _ec2_error(
                403, "UnauthorizedOperation", "You are not authorized to perform this operation."
            )
        self._answers[key] = (response, _code_of(response))
        return self._answers[key]


_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    412: "Precondition Failed",
    503: "Service Unavailable",
}


def _http(status: int, body: bytes, content_type: str = "text/xml;charset=UTF-8") -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Server: AmazonEC2\r\n\r\n"
    )
    return head.encode("ascii") + body


def _ec2_error(status: int, code: str, message: str) -> bytes:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        "</Errors><RequestID>00000000-0000-4000-8000-000000000000</RequestID></Response>"
    )
    return _http(status, body.encode())


def _sts_identity(identity: FakeIdentity) -> bytes:
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>{identity.arn}</Arn><UserId>{identity.user_id}</UserId>"
        f"<Account>{identity.account}</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId>"
        "</ResponseMetadata></GetCallerIdentityResponse>"
    )
    return _http(200, body.encode())


def _code_of(response: bytes) -> str:
    start = response.find(b"<Code>")
    if start < 0:
        return response[9:12].decode()  # the status digits: "200"
    return response[start + 6 : response.find(b"</Code>", start)].decode()


_THROTTLED: Final = _ec2_error(
    503,
    "RequestLimitExceeded",
    f"Request limit exceeded. Account {ACCOUNT} has been throttled on ec2 because it "
    "exceeded its request rate limit.",
)


class _Bucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now


class Server:
    """The fake's state: configuration, counters and token buckets."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.latency = DEFAULT_LATENCY
        self.throttle = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self.reset()

    def reset(self) -> None:
        self._buckets.clear()
        self.requests = 0
        self.codes: Counter[str] = Counter()
        self.throttled_actions: dict[str, Counter[str]] = {}  # account -> action -> count
        self.early_ms: dict[str, float] = {}  # per "account/action": how early, at most
        self.in_flight = 0
        self.peak_in_flight = 0
        self.late_total = 0.0  # how much later than ``latency`` answers went out, summed
        self.late_max = 0.0
        self.delayed = 0
        self.connections = 0
        self.cpu_start = time.process_time()

    def stats(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "codes": dict(self.codes),
            "throttled": self.codes.get("RequestLimitExceeded", 0),
            "throttled_actions": {a: dict(c) for a, c in self.throttled_actions.items()},
            "throttled_early_ms": {k: round(v, 1) for k, v in self.early_ms.items()},
            "peak_in_flight": self.peak_in_flight,
            "late_ms_mean": round(1000.0 * self.late_total / max(1, self.delayed), 2),
            "late_ms_max": round(1000.0 * self.late_max, 2),
            "connections": self.connections,
            "cpu_seconds": time.process_time() - self.cpu_start,
            "latency": self.latency,
            "throttle": self.throttle,
        }

    def take(self, account: str, region: str, action: str) -> bool:
        """Spend one token of (account, region, action); False when the bucket is empty."""
        now = time.monotonic()
        key = (account, region, action)
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity, rate = bucket_for(action)
            bucket = self._buckets[key] = _Bucket(capacity, rate, now)
        bucket.tokens = min(bucket.capacity, bucket.tokens + (now - bucket.stamp) * bucket.rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            early = (1.0 - bucket.tokens) / bucket.rate * 1000.0
            where = f"{account}/{action}"
            self.early_ms[where] = max(self.early_ms.get(where, 0.0), early)
            self.throttled_actions.setdefault(account, Counter())[action] += 1
            return False
        bucket.tokens -= 1.0
        return True

    def handle(self, head: bytes, body: bytes) -> bytes:
        """Answer one request (control requests included)."""
        line_end = head.find(b"\r\n")
        request_line = head[:line_end] if line_end >= 0 else head
        if b" /__bench/" in request_line:
            return self._control(request_line.split(b" ")[1].decode("ascii", "replace"))
        action = _form_field(body, b"Action")
        access_key, region, service = _credential_scope(head)
        self.requests += 1
        identity = self.policy.by_key.get(access_key)
        if (
            self.throttle
            and service == "ec2"
            and identity is not None
            and not self.take(identity.account, region, action)
        ):
            self.codes["RequestLimitExceeded"] += 1
            return _THROTTLED
        response, code = self.policy.answer(access_key, service, action)
        self.codes[code] += 1
        return response

    def _control(self, target: str) -> bytes:
        path, _, query = target.partition("?")
        if path == "/__bench/config":
            values = {k: v[-1] for k, v in parse_qs(query).items()}
            if "latency" in values:
                self.latency = max(0.0, float(values["latency"]))
            if "throttle" in values:
                self.throttle = values["throttle"].lower() in ("1", "true", "yes")
            self.reset()
        elif path != "/__bench/stats":
            return _http(404, b"{}", "application/json")
        return _http(200, json.dumps(self.stats()).encode(), "application/json")


def _form_field(body: bytes, name: bytes) -> str:
    """One field of a form-encoded body (the EC2 query protocol's ``Action``)."""
    start = 0
    prefix = name + b"="
    while True:
        found = body.find(prefix, start)
        if found < 0:
            return ""
        if found == 0 or body[found - 1 : found] == b"&":
            end = body.find(b"&", found)
            raw = body[found + len(prefix) : end if end >= 0 else len(body)]
            return unquote_plus(raw.decode("ascii", "replace"))
        start = found + 1


def _credential_scope(head: bytes) -> tuple[str, str, str]:
    """(access key, region, service) from the SigV4 ``Authorization`` header."""
    found = head.find(b"Credential=")
    if found < 0:
        return "", "", ""
    end = head.find(b",", found)
    parts = head[found + 11 : end if end >= 0 else len(head)].split(b"/")
    if len(parts) < 4:
        return "", "", ""
    return parts[0].decode(), parts[2].decode(), parts[3].decode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse requests as they arrive, answer after the latency."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            length = _content_length(head)
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            response = self.server.handle(head, body)
            close = b"\r\nconnection: close" in head.lower()
            if b" /__bench/" in head[:64] or self.server.latency <= 0:
                self._write(response, close)
            else:
                server = self.server
                server.in_flight += 1
                server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                assert server.loop is not None
                due = time.monotonic() + server.latency
                server.loop.call_later(server.latency, self._delayed, response, close, due)

    def _delayed(self, response: bytes, close: bool, due: float) -> None:
        server = self.server
        server.in_flight -= 1
        late = time.monotonic() - due
        server.delayed += 1
        server.late_total += late
        server.late_max = max(server.late_max, late)
        self._write(response, close)

    def _write(self, response: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(response)
        if close:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _content_length(head: bytes) -> int:
    found = head.find(b"ontent-Length:")
    if found < 0:
        found = head.lower().find(b"ontent-length:")
        if found < 0:
            return 0
    end = head.find(b"\r\n", found)
    return int(head[found + 14 : end if end >= 0 else len(head)])


async def _serve(port: int, max_seconds: float, latency: float, throttle: bool) -> None:
    loop = asyncio.get_running_loop()
    server = Server(Policy())
    server.loop = loop
    server.latency = latency
    server.throttle = throttle
    listener = await loop.create_server(
        lambda: _Connection(server), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    bound = listener.sockets[0].getsockname()[1]
    print(f"listening http://127.0.0.1:{bound}", flush=True)
    stop = asyncio.Event()

    def stdin_closed() -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            stop.set()

    # no usable stdin: rely on the timer
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        loop.add_reader(sys.stdin.fileno(), stdin_closed)
    loop.call_later(max_seconds, stop.set)
    async with listener:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY, help="seconds")
    parser.add_argument("--throttle", action="store_true", help="enforce EC2 token buckets")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="exit after this")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.max_seconds, args.latency, args.throttle))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
