"""Reliability: faults on the wire, expiring credentials, interruption, repeated runs,
bad input, atomic saves, the guard at the socket, secrets, TLS and library hygiene.

Everything runs against :mod:`tests.faults`, a real TCP server on 127.0.0.1 started
and stopped by each test; nothing leaves the machine. Timeouts are explicit and
small, backoff is monkeypatched to milliseconds, every retry loop is bounded by a
count the tests assert, wall time is asserted only where it is the behaviour (a
timeout fires, an interrupt is honoured) and then with a margin of 5x or more,
and the fault server's fixture asserts at teardown that no request without its
dry-run flag ever reached it.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import gc
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from botocore.model import Shape
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from awsprobe import cli, transport
from awsprobe.catalog import Catalog, CatalogEntry, load_catalog
from awsprobe.classify import ErrorKind, Outcome
from awsprobe.errors import (
    AwsprobeError,
    CredentialsError,
    EndpointUnreachable,
    ProbeInterrupted,
    UnsafeRequestError,
    UsageError,
)
from awsprobe.guard import guarded_client
from awsprobe.matrix import SCHEMA, Identity, Matrix, ProbeResult
from awsprobe.probing import retry
from awsprobe.probing.options import MAX_WORKERS, RunOptions
from awsprobe.probing.orchestrate import probe
from awsprobe.probing.pacing import Pacer
from awsprobe.probing.regions import resolve_regions
from awsprobe.probing.runner import Runner
from tests.faults import (
    ACCOUNT,
    ARN,
    DRY_RUN_OK,
    EXEMPT,
    UNAUTHORIZED,
    USER_ID,
    Fault,
    FaultServer,
    Recorded,
    blackhole_endpoint,
    client_connections,
    fault_server,
    open_fds,
    refused_endpoint,
    rss_bytes,
)

__all__ = ["fault_server"]  # the fixture, re-exported so pytest finds it here

REPO = Path(__file__).resolve().parent.parent
EC2 = load_catalog(services="ec2")
DESCRIBES = Catalog(e for e in EC2 if e.operation.startswith("Describe"))
RUN_INSTANCES = EC2.find("ec2:RunInstances")
IDENTITY = Identity(arn=ARN, account=ACCOUNT, user_id=USER_ID)
FAST = {"connect_timeout": 0.5, "read_timeout": 0.5}

StartServer = Callable[..., FaultServer]
_LOADER = botocore.loaders.create_loader()


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries back off for milliseconds here, not seconds."""
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.001)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A safety net: in this process no socket may connect anywhere but 127.0.0.1/::1."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            assert address[0] in ("127.0.0.1", "::1"), f"a test tried to connect to {address!r}"
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _session(
    key: str = "AKIARELIABILITY00001", secret: str = "reliability-secret", token: str | None = None
) -> botocore.session.Session:
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)  # models parsed once per module
    session.set_credentials(key, secret, token)
    session.set_config_variable("region", "us-east-1")
    return session


def _runner(
    url: str,
    max_attempts: int = 3,
    workers: int = 4,
    *,
    pacer: Pacer | None = None,
    read_timeout: float = FAST["read_timeout"],
) -> Runner:
    options = RunOptions(
        workers=workers,
        endpoint_url=url,
        max_attempts=max_attempts,
        connect_timeout=FAST["connect_timeout"],
        read_timeout=read_timeout,
    )
    return Runner(_session(), options, identity=IDENTITY, pacer=pacer)


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Assert the block finishes within ``seconds`` of wall time."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f}s, bound {seconds}s"


def _awsprobe_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("awsprobe")]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


# =====================================================================================
# Faults on the wire
# =====================================================================================

_HTML_502 = Fault.body(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
_HTML_504 = Fault.body(504, b"<html><body>504 Gateway Time-out</body></html>", "text/html")
_RESET_IN_HEADERS = Fault.reset(40, UNAUTHORIZED)
_RESET_IN_BODY = Fault.reset(len(UNAUTHORIZED.data) - 25, UNAUTHORIZED)
_TRUNCATED = Fault.truncate(len(UNAUTHORIZED.data) - 25, UNAUTHORIZED)
_MALFORMED_XML = Fault.body(412, b"<Response><Errors><Error><Code>DryRunOper")
_NOT_HTTP = Fault.raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

TRANSIENT = [
    pytest.param(Fault.answer(503, "RequestLimitExceeded"), 2, id="RequestLimitExceeded-503"),
    pytest.param(Fault.answer(400, "Throttling"), 2, id="Throttling-400"),
    pytest.param(Fault.answer(400, "ThrottlingException"), 2, id="ThrottlingException-400"),
    pytest.param(Fault.answer(429), 1, id="429-empty-body"),
    pytest.param(Fault.answer(500, "InternalError"), 2, id="500-InternalError"),
    pytest.param(_HTML_502, 1, id="502-html"),
    pytest.param(Fault.answer(503, "Unavailable"), 2, id="503-Unavailable"),
    pytest.param(_HTML_504, 1, id="504-html"),
    pytest.param(_RESET_IN_HEADERS, 1, id="reset-in-headers"),
    pytest.param(_RESET_IN_BODY, 1, id="reset-in-body"),
    pytest.param(Fault.close(), 2, id="closed-without-answer"),
    pytest.param(Fault.hang(), 1, id="never-answers-read-timeout"),
    pytest.param(Fault.slow(2.0), 1, id="slower-than-read-timeout"),
    pytest.param(_NOT_HTTP, 1, id="not-http"),
    pytest.param(_TRUNCATED, 1, id="truncated-body"),
    pytest.param(_MALFORMED_XML, 1, id="malformed-xml"),
]


@pytest.mark.parametrize(("fault", "times"), TRANSIENT)
def test_a_transient_fault_is_retried_to_the_real_outcome(
    fault_server: StartServer, fault: Fault, times: int
) -> None:
    """The fault on the first ``times`` attempts, then UnauthorizedOperation: the probe
    ends denied (its real outcome), with every attempt recorded and no more made."""
    fake = fault_server(lambda op, nth: fault if nth <= times else UNAUTHORIZED)
    with _runner(fake.url, max_attempts=times + 2) as runner:
        result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.code) == (Outcome.DENIED, "UnauthorizedOperation")
    assert result.attempts == times + 1
    assert fake.attempts("RunInstances") == times + 1


_THROTTLED, _SERVER, _CONNECTION = ErrorKind.THROTTLED, ErrorKind.SERVER, ErrorKind.CONNECTION
PERMANENT = [
    pytest.param(
        Fault.answer(503, "RequestLimitExceeded"),
        _THROTTLED,
        "RequestLimitExceeded",
        True,
        id="RequestLimitExceeded",
    ),
    pytest.param(Fault.answer(400, "Throttling"), _THROTTLED, "Throttling", True, id="Throttling"),
    pytest.param(
        Fault.answer(400, "ThrottlingException"),
        _THROTTLED,
        "ThrottlingException",
        True,
        id="ThrottlingException",
    ),
    pytest.param(Fault.answer(500, "InternalError"), _SERVER, "InternalError", True, id="500"),
    pytest.param(_HTML_502, ErrorKind.SERVER, "502", True, id="502"),
    pytest.param(Fault.answer(503), ErrorKind.SERVER, "503", True, id="503"),
    pytest.param(_HTML_504, ErrorKind.SERVER, "504", True, id="504"),
    pytest.param(_RESET_IN_BODY, ErrorKind.CONNECTION, "ConnectionClosedError", True, id="reset"),
    pytest.param(Fault.close(), ErrorKind.CONNECTION, "ConnectionClosedError", True, id="closed"),
    pytest.param(Fault.hang(), ErrorKind.CONNECTION, "ReadTimeoutError", True, id="never-answers"),
    pytest.param(_NOT_HTTP, ErrorKind.CONNECTION, "ConnectionClosedError", True, id="not-http"),
    # a body shorter than its Content-Length: the connection closed early (a fault, retried)
    pytest.param(_TRUNCATED, ErrorKind.CONNECTION, "ConnectionClosedError", True, id="truncated"),
    pytest.param(_MALFORMED_XML, ErrorKind.CONNECTION, "ResponseParserError", False, id="bad-xml"),
]


@pytest.mark.parametrize(("fault", "kind", "cause", "retried"), PERMANENT)
def test_a_permanent_fault_is_an_error_with_its_cause(
    fault_server: StartServer, fault: Fault, kind: ErrorKind, cause: str, retried: bool
) -> None:
    """The fault on every attempt: ``error`` with its kind and cause (code or exception
    named), never allowed or denied; at most max_attempts requests (the bound that matters:
    the count, not the clock)."""
    fake = fault_server(lambda op, nth: fault)
    with _runner(fake.url, max_attempts=3, read_timeout=0.3) as runner:
        result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.error_kind) == (Outcome.ERROR, kind)
    assert cause in f"{result.code} {result.message}"
    assert result.attempts == fake.attempts("RunInstances") <= 3
    if retried:
        assert result.attempts == 3


def test_connection_refused_is_an_error_naming_the_endpoint() -> None:
    """Nothing listens: error (connection), 'Could not connect', every attempt made."""
    with refused_endpoint() as (url, _), _runner(url) as runner:
        result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.error_kind) == (Outcome.ERROR, ErrorKind.CONNECTION)
    assert "Could not connect" in (result.message or "")
    assert result.attempts == 3


def test_connection_refused_then_listening_recovers() -> None:
    """Refused twice, then the port starts answering: the probe ends with its real outcome
    after exactly three attempts (the pacer hook marks each attempt deterministically)."""
    servers: list[FaultServer] = []

    with refused_endpoint() as (url, sock):

        class StartOnThirdAttempt(Pacer):
            calls = 0

            def delay(self, account: str, region: str, service: str, operation: str) -> float:
                self.calls += 1
                if self.calls == 3:
                    servers.append(FaultServer(lambda op, nth: UNAUTHORIZED, listener=sock))
                return super().delay(account, region, service, operation)

        try:
            with _runner(url, max_attempts=5, pacer=StartOnThirdAttempt()) as runner:
                result = runner.probe_one(RUN_INSTANCES, "us-east-1")
        finally:
            for server in servers:
                server.stop()
    assert (result.outcome, result.attempts) == (Outcome.DENIED, 3)
    assert servers[0].attempts("RunInstances") == 1


def test_a_connect_that_never_completes_is_bounded_by_the_connect_timeout() -> None:
    """A listener whose backlog is full drops SYNs: ConnectTimeoutError per attempt, error
    (connection), in about attempts x connect_timeout."""
    # time is the behaviour: 2 attempts x 0.5 s connect timeout = 1 s expected, bound 5x
    with blackhole_endpoint() as url, _runner(url, max_attempts=2) as runner, within(5.0):
        result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.error_kind) == (Outcome.ERROR, ErrorKind.CONNECTION)
    assert "ConnectTimeoutError" in (result.message or "")
    assert result.attempts == 2


def test_a_slow_answer_within_the_read_timeout_is_not_retried(fault_server: StartServer) -> None:
    """Slow but in time (0.2 s < 0.5 s read timeout): the real outcome, one attempt."""
    fake = fault_server(lambda op, nth: Fault.slow(0.2, UNAUTHORIZED))
    with _runner(fake.url) as runner:
        result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.DENIED, 1)


def test_a_2xx_answer_is_dry_run_ignored_and_not_retried(fault_server: StartServer) -> None:
    """HTTP 200 to a dry run: dry_run_ignored (the service ran it), one attempt, no retry."""
    fake = fault_server(lambda op, nth: Fault.ok())
    with _runner(fake.url) as runner:
        result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts, result.http_status) == (
        Outcome.DRY_RUN_IGNORED,
        1,
        200,
    )


@pytest.mark.parametrize(
    "body",
    [b'{"__type": "DryRunOperationExce', b"<html>proxy error</html>", b""],
    ids=["truncated-json", "html", "empty"],
)
def test_an_unreadable_json_error_body_is_an_error_not_inconclusive(
    fault_server: StartServer, body: bytes
) -> None:
    """KMS (JSON protocol) answering 400 with a body that is not JSON: no usable answer,
    so error with the cause -- never a verdict, not even inconclusive."""
    fake = fault_server(lambda op, nth: Fault.body(400, body, "application/x-amz-json-1.1"))
    entry = load_catalog(services="kms").find("kms:Encrypt")
    with _runner(fake.url, max_attempts=2) as runner:
        result = runner.probe_one(entry, "us-east-1")
    assert result.outcome is Outcome.ERROR
    assert result.error_kind is ErrorKind.CONNECTION
    assert result.attempts == 2


def test_a_storm_of_mixed_faults_ends_with_every_real_outcome(fault_server: StartServer) -> None:
    """40 probes, 8 workers, each operation scripted by its name: throttled twice, a 503, a
    reset, a close, a hang, or nothing, before its real verdict (allowed or denied by name).
    Every probe ends with its real outcome and attempt count, the run is complete, and no
    worker thread survives it."""
    entries = list(DESCRIBES)[:40]
    faults: list[tuple[Fault, int]] = [
        (Fault.answer(503, "RequestLimitExceeded"), 2),
        (Fault.answer(503, "Unavailable"), 1),
        (_RESET_IN_BODY, 1),
        (Fault.close(), 1),
        (Fault.hang(), 1),
        (DRY_RUN_OK, 0),
    ]

    def plan(operation: str) -> tuple[Fault, int, Fault]:
        fault, times = faults[_crc(operation) % len(faults)]
        verdict = DRY_RUN_OK if _crc(operation[::-1]) % 2 else UNAUTHORIZED
        return fault, times, verdict

    def script(operation: str, nth: int) -> Fault | None:
        if operation == "GetCallerIdentity":
            return None
        fault, times, verdict = plan(operation)
        return fault if nth <= times else verdict

    fake = fault_server(script)
    with _runner(fake.url, max_attempts=4, workers=8, read_timeout=0.3, pacer=_Unpaced()) as runner:
        matrix = runner.run(entries, ["us-east-1"])
    assert matrix.complete
    assert len(matrix.results) == len(entries)
    for result in matrix.results:
        _, times, verdict = plan(result.operation)
        expected = Outcome.ALLOWED if verdict is DRY_RUN_OK else Outcome.DENIED
        assert result.outcome is expected, result.action
        assert result.attempts == times + 1, result.action
    assert not _awsprobe_threads()


_THROTTLES = ("RequestLimitExceeded", "Throttling", "ThrottlingException")


class _Unpaced(Pacer):
    """Keeps the pacer's accounting but never waits: these tests are about the retry loop.
    (With real pacing, a storm on a 1-token action such as DescribeByoipCidrs waits its
    bucket's refill, halved per throttle down to 0.1/s: ~30 s for one probe.)"""

    def delay(self, account: str, region: str, service: str, operation: str) -> float:
        super().delay(account, region, service, operation)
        return 0.0


@pytest.mark.parametrize("storm", [3, None], ids=["3-per-probe", "endless"])
def test_a_throttling_storm_over_the_whole_run_is_bounded(
    fault_server: StartServer, storm: int | None
) -> None:
    """Every probe of a 40-probe run is throttled (the three codes, by operation): for its
    first 3 attempts -- every probe recovers its real outcome with 4 attempts -- or for
    ever -- every probe is error (throttled) after exactly max_attempts requests, with one
    summary warning. Either way the request count is exact: no unbounded retry loop."""
    entries = list(DESCRIBES)[:40]

    def script(operation: str, nth: int) -> Fault | None:
        if operation == "GetCallerIdentity" or (storm is not None and nth > storm):
            return None
        code = _THROTTLES[_crc(operation) % 3]
        return Fault.answer(503 if code == "RequestLimitExceeded" else 400, code)

    fake = fault_server(script)
    with _runner(fake.url, max_attempts=5, workers=8, pacer=_Unpaced()) as runner:
        matrix = runner.run(entries, ["us-east-1"])
    if storm is not None:
        assert {(r.outcome, r.attempts) for r in matrix} == {(Outcome.ALLOWED, storm + 1)}
        assert len(fake.probes()) == len(entries) * (storm + 1)
        assert not any("ran out of retries" in w for w in matrix.warnings)
    else:
        assert {(r.outcome, r.error_kind, r.attempts) for r in matrix} == {
            (Outcome.ERROR, ErrorKind.THROTTLED, 5)
        }
        assert {r.code for r in matrix} == set(_THROTTLES)
        assert len(fake.probes()) == len(entries) * 5
        assert sum("ran out of retries" in w for w in matrix.warnings) == 1


def test_a_run_against_an_endpoint_that_never_answers_is_bounded(
    fault_server: StartServer,
) -> None:
    """Accept and never answer, for every probe: 6 probes x 2 attempts x 0.25 s with 3 workers
    (after the one canary) finish in about 1.5 s -- every probe an error naming the read
    timeout, exactly max_attempts requests each, no retry loop."""
    fake = fault_server(
        lambda op, nth: None if op == "GetCallerIdentity" else Fault.hang(), hang_cap=10
    )
    entries = list(DESCRIBES)[:6]
    # time is the behaviour: ~1.5 s expected, bound 5x; with the read timeout ignored each
    # hang would last the fake's hang_cap (10 s)
    with (
        _runner(fake.url, max_attempts=2, workers=3, read_timeout=0.25) as runner,
        within(7.5),
    ):
        matrix = runner.run(entries, ["us-east-1"])
    assert {(r.outcome, r.error_kind) for r in matrix} == {(Outcome.ERROR, ErrorKind.CONNECTION)}
    assert all("ReadTimeoutError" in (r.message or "") for r in matrix)
    assert len(fake.probes()) == 12


def test_explicit_timeouts_bound_the_identity_call_too(fault_server: StartServer) -> None:
    """probe(read_timeout=0.5): an STS that answers after 1.0 s times out like any other
    call (EndpointUnreachable, bounded time) instead of being waited for up to 15 s x 3."""
    from botocore.exceptions import ReadTimeoutError

    fake = fault_server(lambda op, nth: Fault.slow(1.0) if op == "GetCallerIdentity" else None)
    # time is the behaviour: one 0.5 s read timeout expected, bound 5x
    with pytest.raises(EndpointUnreachable) as info, within(2.5):
        probe(
            catalog=Catalog([RUN_INSTANCES]),
            session=_session(),
            endpoint_url=fake.url,
            max_attempts=1,
            connect_timeout=0.5,
            read_timeout=0.5,
        )
    assert isinstance(info.value.__cause__, ReadTimeoutError)


def test_probe_honours_explicit_timeouts_for_probes(fault_server: StartServer) -> None:
    """probe(connect_timeout=, read_timeout=): a hanging EC2 endpoint costs at most
    max_attempts x read_timeout per probe; the result is error (connection)."""
    fake = fault_server(lambda op, nth: None if op == "GetCallerIdentity" else Fault.hang())
    # time is the behaviour: 2 attempts x 0.5 s read timeout = 1 s expected, bound 5x; with
    # the timeout ignored each hang would last the fake's hang_cap (10 s)
    with within(5.0):
        matrix = probe(
            catalog=Catalog([RUN_INSTANCES]),
            session=_session(),
            endpoint_url=fake.url,
            max_attempts=2,
            connect_timeout=0.5,
            read_timeout=0.5,
        )
    (result,) = matrix.results
    assert (result.outcome, result.error_kind, result.attempts) == (
        Outcome.ERROR,
        ErrorKind.CONNECTION,
        2,
    )


# =====================================================================================
# Credentials that expire mid-run
# =====================================================================================

_EXPIRY_CODES = [
    pytest.param("ExpiredToken", 400, id="ExpiredToken"),
    pytest.param("RequestExpired", 400, id="RequestExpired"),
]


def _expire_after(count: int, code: str, status: int) -> Callable[[Recorded], Fault | None]:
    lock = threading.Lock()
    seen = [0]

    def rule(request: Recorded) -> Fault | None:
        if request.exempt:
            return None
        with lock:
            seen[0] += 1
            number = seen[0]
        if number <= count:
            return DRY_RUN_OK
        return Fault.answer(status, code, "The security token included in the request is expired")

    return rule


@pytest.mark.parametrize(("code", "status"), _EXPIRY_CODES)
def test_credentials_expiring_mid_run_stop_the_identity_and_keep_results(
    fault_server: StartServer, code: str, status: int
) -> None:
    """After 5 good probes every answer is ExpiredToken/RequestExpired: probing stops at
    once (at most the in-flight probes follow the first expiry), the 5 results are kept
    in the error's matrix (complete=false), and the message is one line naming the code."""
    fake = fault_server(rule=_expire_after(5, code, status))
    workers = 2
    with pytest.raises(CredentialsError) as info:
        probe(
            catalog=DESCRIBES,
            session=_session(),
            endpoint_url=fake.url,
            workers=workers,
            **FAST,
        )
    assert len(fake.probes()) <= 5 + workers + 1
    partial: Matrix = info.value.matrix  # type: ignore[attr-defined]
    assert partial.complete is False
    assert sum(r.outcome is Outcome.ALLOWED for r in partial) == 5
    assert "\n" not in str(info.value)
    assert code in str(info.value)


def test_cli_exits_3_with_one_line_when_credentials_expire_mid_run(
    fault_server: StartServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """awsprobe matrix --save: expiry mid-run exits 3 with one stderr line, and the saved
    file holds every result gathered before it (complete: false)."""
    fake = fault_server(rule=_expire_after(5, "ExpiredToken", 400))
    saved = tmp_path / "partial.json"
    code = cli.main(
        [
            "matrix",
            "--endpoint-url",
            fake.url,
            "--actions",
            "ec2:Describe*",
            "--workers",
            "2",
            "--save",
            str(saved),
        ]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert len(err.strip().splitlines()) == 1, err
    assert "ExpiredToken" in err
    partial = Matrix.load(saved)
    assert partial.complete is False
    assert sum(r.outcome is Outcome.ALLOWED for r in partial) == 5
    assert len(fake.probes()) <= 5 + 3


class _Given(CredentialProvider):  # type: ignore[misc]
    METHOD = "assume-role"
    CANONICAL_NAME = "custom-reliability"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self.credentials


def test_refreshable_credentials_refresh_instead_of_stopping(fault_server: StartServer) -> None:
    """An assumed role whose first keys the service declares expired mid-run (the local
    expiry still an hour away): awsprobe refreshes them and every probe ends with its real
    outcome; no request with the old keys follows the refresh."""
    fresh = {"n": 0}

    def refresh() -> dict[str, str]:
        fresh["n"] += 1
        return {
            "access_key": f"ASIANEWKEY{fresh['n']:010d}",
            "secret_key": "new-secret",
            "token": "new-token",
            "expiry_time": (_dt.datetime.now(_dt.UTC) + _dt.timedelta(hours=1)).isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata={
            "access_key": "ASIAOLDKEY0000000000",
            "secret_key": "old-secret",
            "token": "old-token",
            "expiry_time": (_dt.datetime.now(_dt.UTC) + _dt.timedelta(hours=1)).isoformat(),
        },
        refresh_using=refresh,
        method="assume-role",
    )
    session = botocore.session.Session()
    session.set_config_variable("region", "us-east-1")
    session.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
    old_probes = [0]

    def rule(request: Recorded) -> Fault | None:
        if request.exempt or not request.access_key.startswith("ASIAOLD"):
            return None
        old_probes[0] += 1
        return None if old_probes[0] <= 3 else Fault.answer(400, "ExpiredToken", "expired")

    fake = fault_server(rule=rule)
    entries = Catalog(list(DESCRIBES)[:12])
    matrix = probe(catalog=entries, session=session, endpoint_url=fake.url, workers=2, **FAST)
    assert fresh["n"] >= 1
    assert {r.outcome for r in matrix} == {Outcome.ALLOWED}
    assert old_probes[0] <= 3 + 2 + 1


def test_credentials_expired_before_the_run_exit_3_with_one_line(
    fault_server: StartServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """STS itself says ExpiredToken: nothing is probed, exit 3, one stderr line."""
    fake = fault_server(
        lambda op, nth: Fault.body(
            403,
            b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            b"<Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token "
            b"included in the request is expired</Message></Error><RequestId>1</RequestId>"
            b"</ErrorResponse>",
        )
    )
    code = cli.main(["matrix", "--endpoint-url", fake.url, "--actions", "ec2:DescribeVpcs"])
    err = capsys.readouterr().err
    assert code == 3
    assert len(err.strip().splitlines()) == 1
    assert "ExpiredToken" in err
    assert not fake.probes()


# =====================================================================================
# Interruption
# =====================================================================================


def _cli_argv(url: str, save: Path, workers: int = 2) -> list[str]:
    return [
        "matrix",
        "--endpoint-url",
        url,
        "--actions",
        "ec2:Describe*",
        "--workers",
        str(workers),
        "--save",
        str(save),
        "--output",
        "json",
    ]


@pytest.mark.parametrize(
    "signum",
    [
        pytest.param(signal.SIGINT, id="SIGINT"),
        pytest.param(signal.SIGTERM, id="SIGTERM"),
    ],
)
def test_a_signal_saves_partial_results_and_exits_130(
    fault_server: StartServer, tmp_path: Path, signum: signal.Signals
) -> None:
    """``python -m awsprobe matrix --save`` against a slow fake, signalled mid-run: exit
    130, a one-line notice, no traceback, and the saved file loads with complete: false
    and the results gathered so far."""
    fake = fault_server(lambda op, nth: None if op == "GetCallerIdentity" else Fault.slow(0.1))
    saved = tmp_path / "partial.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "awsprobe", *_cli_argv(fake.url, saved)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.wait_for(4, timeout=20), "the CLI never started probing"
        process.send_signal(signum)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err.strip().splitlines()[-1]
    partial = Matrix.load(saved)
    assert partial.complete is False
    assert 3 <= len(partial.results) < len(DESCRIBES)


class _Fired(threading.Event):
    at: float = 0.0  # time.monotonic() when the signal was sent

    @property
    def since(self) -> float:
        return time.monotonic() - self.at


@contextlib.contextmanager
def _sigint_after(fake: FaultServer, count: int) -> Iterator[_Fired]:
    """Send this process SIGINT once ``count`` probes reached the fake -- only while the
    block runs (a stray Ctrl-C after it would hit pytest itself)."""
    inside = threading.Event()
    fired = _Fired()

    def handler(signum: int, frame: Any) -> None:
        if inside.is_set():
            raise KeyboardInterrupt

    def fire() -> None:
        if fake.wait_for(count, timeout=20) and inside.is_set():
            fired.at = time.monotonic()
            fired.set()
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    timer = threading.Thread(target=fire, name="reliability-sigint")
    inside.set()
    timer.start()
    try:
        yield fired
    finally:
        inside.clear()
        timer.join(timeout=25)
        signal.signal(signal.SIGINT, previous)


def test_sigint_in_process_saves_and_leaves_no_threads_or_sockets(
    fault_server: StartServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cli.main in this process, SIGINT mid-run: returns 130, the partial matrix is saved,
    and afterwards no awsprobe thread and no client socket to the fake remains open."""
    fake = fault_server(lambda op, nth: None if op == "GetCallerIdentity" else Fault.slow(0.05))
    saved = tmp_path / "partial.json"
    threads_before = threading.active_count()
    with _sigint_after(fake, 5) as fired:
        code = cli.main(_cli_argv(fake.url, saved, workers=3))
    assert fired.is_set()
    assert fired.since < 5.0  # Ctrl-C honoured promptly: ~0.1 s expected, bound far over 5x
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert Matrix.load(saved).complete is False
    assert not _awsprobe_threads()
    gc.collect()  # see test_probe_closes_its_sockets_before_returning for why
    assert client_connections(fake.port) == 0
    assert fake.settle()
    assert threading.active_count() <= threads_before


def test_probe_closes_its_sockets_before_returning(fault_server: StartServer) -> None:
    """When probe() returns (or is interrupted), no socket of its clients is still open --
    without relying on the garbage collector (disabled here to make that deterministic)."""
    fake = fault_server()
    gc.collect()
    gc.disable()
    try:
        probe(catalog=Catalog(list(DESCRIBES)[:8]), session=_session(), endpoint_url=fake.url,
              workers=4, **FAST)  # fmt: skip
        assert client_connections(fake.port) == 0
    finally:
        gc.enable()


def test_interrupting_hung_requests_returns_within_the_read_timeout(
    fault_server: StartServer,
) -> None:
    """SIGINT while every request hangs: ProbeInterrupted (partial matrix) arrives within
    about one read timeout -- the run does not wait for the server -- and no worker thread
    or client socket is left."""
    fake = fault_server(lambda op, nth: None if nth <= 1 else Fault.hang())
    entries = list(DESCRIBES)[:30]
    with (
        _sigint_after(fake, len(entries) + 2) as fired,
        pytest.raises(ProbeInterrupted) as info,
        _runner(fake.url, max_attempts=5, workers=4) as runner,
    ):
        runner.run(entries, ["us-east-1", "eu-west-1"])
    assert fired.is_set()
    # time is the behaviour: in-flight reads end within one read timeout (0.5 s), bound 5x;
    # a run that waited for the server would wait out its hang_cap (10 s)
    assert fired.since < 2.5
    assert info.value.matrix.complete is False
    assert not _awsprobe_threads()
    gc.collect()
    assert client_connections(fake.port) == 0


# =====================================================================================
# Repeated runs in one process
# =====================================================================================


def test_twenty_runs_do_not_grow_threads_fds_or_memory(fault_server: StartServer) -> None:
    """The pytest plugin's life: 20 probe() runs in one process, a fresh session each,
    leave thread count and open file descriptors unchanged and RSS within 8 MiB."""
    fake = fault_server()
    entries = Catalog(list(DESCRIBES)[:10])

    def run() -> None:
        matrix = probe(
            catalog=entries, session=_session(), endpoint_url=fake.url, workers=4, **FAST
        )
        assert matrix.summary["allowed"] == len(entries)

    for _ in range(3):  # warm-up: lazy imports, model caches, the catalog index
        run()
    gc.collect()  # urllib3 2.x closes pooled sockets only when the pools are collected
    assert fake.settle()
    threads, fds, rss = threading.active_count(), open_fds(), rss_bytes()
    for _ in range(20):
        run()
    gc.collect()
    assert fake.settle()
    deadline = time.monotonic() + 10.0  # a thread that is ending is not a leak: wait for it
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads, [t.name for t in threading.enumerate()]
    assert open_fds() <= fds
    assert rss_bytes() - rss < 8 * 2**20, f"RSS grew {(rss_bytes() - rss) / 2**20:.1f} MiB"
    assert not _awsprobe_threads()


# =====================================================================================
# Bad input, fuzzed
# =====================================================================================


def _fuzz(examples: int) -> Any:
    """Modest example counts (RELIABILITY_EXAMPLES=N overrides them for a long soak)."""
    return settings(
        max_examples=int(os.environ.get("RELIABILITY_EXAMPLES", examples)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


_FUZZ = _fuzz(40)
#: Any text a process could get as an argument or file content: no NUL, no lone surrogates.
_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
_ODD = st.sampled_from(
    [
        "",
        " ",
        ",",
        ",,",
        "*",
        "all",
        "ALL",
        "us-east-1",
        "us-east-1,",
        " us-east-1 ",
        "us-east-1,us-east-1",
        "mars-north-9",
        "US-EAST-1",
        "ec2",
        "ec2:",
        ":",
        "[",
        "ec2:[",
        "ec2:Describe[",
        "ec2:DescribeVpcs",
        "EC2:describevpcs",
        "kms:Encrypt",
        "ec2:**",
        "s3",
        "ec2,kms",
        "table",
        "json",
        "0",
        "-1",
        "1e3",
        "\u202e1-tsae-su",
        "us\u2010east\u20101",
        "ｕｓ-ｅａｓｔ-１",
        "\ufeffus-east-1",
        "é" * 300,
        "💥",
        "\n",
        "\r\n",
        "\t",
    ]
)
_VALUE = st.one_of(_ODD, _TEXT)


#: Per-test state shared by all of one hypothesis test's examples (cleared after each test).
_SHARED: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _forget_shared_state() -> Iterator[None]:
    yield
    for value in _SHARED.values():
        if isinstance(value, _Clients):
            value.close()
    _SHARED.clear()


def _shared_fake(name: str, start: StartServer) -> FaultServer:
    """One fake server for all of a hypothesis test's examples (stopped with the test)."""
    if name not in _SHARED:
        _SHARED[name] = start()
    fake: FaultServer = _SHARED[name]
    return fake


def _run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_clean(code: int, err: str, expected: int, argv: list[str]) -> None:
    """The documented exit code for this input; never a traceback; an error is exactly
    one stderr line."""
    if currently_in_test_context():  # event() is only allowed inside a hypothesis test
        event(f"exit {code}")
    assert code == expected, (code, argv, err)
    assert "Traceback" not in err, (argv, err)
    if code in (2, 3):
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, (argv, err)
        assert lines[0].startswith("awsprobe: "), (argv, err)


@pytest.fixture
def shared_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's boto3 sessions share one botocore loader, so the EC2 model is parsed once
    per module rather than once per fuzz example (speed only: a loader is a pure cache)."""
    import boto3

    real = boto3.Session

    def session(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("botocore_session") is None:
            core = botocore.session.Session()
            core.register_component("data_loader", _LOADER)
            kwargs["botocore_session"] = core
        return real(*args, **kwargs)

    monkeypatch.setattr(boto3, "Session", session)


@pytest.fixture
def small_catalogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a fuzzed glob selects, the CLI probes at most 3 entries (speed only)."""
    real = cli.load_catalog

    def small(*args: Any, **kwargs: Any) -> Catalog:
        return Catalog(list(real(*args, **kwargs))[:3])

    monkeypatch.setattr(cli, "load_catalog", small)


#: ``matrix --output`` and ``--layout`` choices as README.rst's "Command line" lists them.
_OUTPUTS = ("table", "json", "csv", "markdown", "html")
_LAYOUTS = ("list", "grid")


def _refuses(call: Callable[[], object]) -> bool:
    """True when the library call raises its own error (the CLI's exit 2), else False."""
    try:
        call()
    except AwsprobeError:
        return True
    return False


def _bad_regions(value: str | None) -> bool:
    """--regions LIST|all the library refuses; "all" is asked of the fake, so never refused."""
    given = value.split(",") if value is not None else []
    names = [n.strip() for n in given if n.strip()]
    if [n.lower() for n in names] == ["all"]:
        return False
    return _refuses(lambda: resolve_regions(names or None, None))


def _matrix_options_code(options: dict[str, str]) -> int:
    """README "Exit codes": 2 when any option value is bad input, else 0 (a plain matrix
    run has no baseline to drift from, and every answer from the fake is a result)."""
    workers = options.get("--workers")
    if workers is not None:
        try:
            if not 1 <= int(workers) <= MAX_WORKERS:
                return 2
        except ValueError:
            return 2
    if options.get("--output", "table") not in _OUTPUTS:
        return 2
    if options.get("--layout", "list") not in _LAYOUTS:
        return 2
    valid = {o.value for o in Outcome}
    for part in options.get("--only", "").split(","):
        name = part.strip().lower().replace("-", "_")
        if name and name not in valid:
            return 2
    actions = options.get("--actions")
    # the CLI splits the comma lists before the library sees them
    selection = (cli._names(options.get("--services")), [actions] if actions else None)
    if _refuses(lambda: load_catalog(*selection, cli._names(options.get("--access-level")))):
        return 2
    return 2 if _bad_regions(options.get("--regions")) else 0


@pytest.mark.usefixtures("small_catalogs", "shared_models")
@_FUZZ
@given(data=st.data())
def test_fuzzed_matrix_options_end_in_one_line_and_a_documented_code(
    fault_server: StartServer, capsys: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    """Random --regions, --actions, --services, --workers, --output, --only, --layout and
    --access-level values: exit 2 with exactly one line when any value is bad input, else
    0 (probed against the fake); never a traceback."""
    fake = _shared_fake("matrix-options", fault_server)
    argv = ["matrix", f"--endpoint-url={fake.url}"]
    options = {
        "--regions": _VALUE,
        "--actions": _VALUE,
        "--services": _VALUE,
        "--workers": st.one_of(st.integers(-3, 32).map(str), _VALUE),
        "--output": st.one_of(st.sampled_from(["table", "json", "csv", "html"]), _VALUE),
        "--only": _VALUE,
        "--layout": st.one_of(st.sampled_from(["list", "grid"]), _VALUE),
        "--access-level": _VALUE,
    }
    chosen: dict[str, str] = {}
    for option, values in options.items():
        if data.draw(st.booleans(), label=f"use {option}"):
            chosen[option] = data.draw(values, label=option)
    if "--actions" not in chosen and "--services" not in chosen:
        chosen["--actions"] = "ec2:DescribeVpcs"
    argv += [f"{option}={value}" for option, value in chosen.items()]
    code, _, err = _run_cli(capsys, argv)
    _assert_clean(code, err, _matrix_options_code(chosen), argv)


_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63),
        st.floats(allow_nan=False, allow_infinity=False),
        _TEXT,
        _ODD,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(_TEXT, _ODD), inner, max_size=3)
    ),
    max_leaves=8,
)
_POLICY_KEYS = st.sampled_from(
    ["Version", "Statement", "Effect", "Action", "NotAction", "Resource", "NotResource",
     "Condition", "Principal", "Sid", "Id"]
)  # fmt: skip
_POLICY_VALUES = st.one_of(
    _JSON,
    st.sampled_from(["2012-10-17", "Allow", "Deny", "*", "ec2:*", "ec2:Describe*", "arn:aws:*"]),
)
_POLICY = st.recursive(
    st.dictionaries(_POLICY_KEYS, _POLICY_VALUES, max_size=4),
    lambda inner: st.one_of(
        st.dictionaries(_POLICY_KEYS, st.one_of(inner, st.lists(inner, max_size=3)), max_size=4)
    ),
    max_leaves=6,
)


def _file_content(structured: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        structured.map(lambda doc: json.dumps(doc).encode()),
        structured.map(lambda doc: json.dumps(doc, ensure_ascii=False).encode()[:-1]),  # cut
        _TEXT.map(str.encode),
        st.binary(max_size=64),
        st.sampled_from([b"", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"null", b"[]", b"{}"]),
    )


@_fuzz(100)
@given(content=_file_content(_POLICY))
def test_fuzzed_policy_files_are_rejected_before_the_sandbox_starts(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
) -> None:
    """matrix --sandbox --policy FILE with random contents: a bad policy is exit 2 with one
    line, and the sandbox is never started for it (a stub stands in for the sandbox and
    records whether it was reached: only a policy load_policy accepts may reach it)."""
    from awsprobe import sandbox

    reached: list[Any] = []

    class NoSandbox:
        def __init__(self, policy: Any, **_: Any) -> None:
            reached.append(policy)
            raise UsageError("stub sandbox: the policy was accepted")

    monkeypatch.setattr(sandbox, "Sandbox", NoSandbox)
    path = tmp_path / "policy.json"
    path.write_bytes(content)
    argv = ["matrix", "--sandbox", "--policy", str(path), "--actions", "ec2:DescribeVpcs"]
    code, _, err = _run_cli(capsys, argv)
    _assert_clean(code, err, 2, argv)
    accepted = True
    try:
        sandbox.load_policy(path)
    except AwsprobeError:
        accepted = False
    assert bool(reached) == accepted


_ACTION_STRINGS = st.sampled_from(
    ["ec2:DescribeVpcs", "ec2:RunInstances", "kms:Encrypt", "nope:Nothing", "", "ec2:",
     "ec2:Describe*Vpc*", "EC2:describevpcs", "us-east-1", "all", "eu-west-1"]
)  # fmt: skip
#: Strings for generated files: no broad globs (an expectation of "*" probes everything).
_FILE_STRINGS = st.one_of(_ACTION_STRINGS, _ODD, _TEXT).filter(
    lambda text: "*" not in text or text == "ec2:Describe*Vpc*"
)


def _toml_value(draw: Callable[..., Any], depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 2 else 3))
    if kind == 0:
        return json.dumps(draw(_FILE_STRINGS))
    if kind == 1:
        return str(draw(st.integers(-(2**63), 2**63 - 1)))
    if kind == 2:
        return draw(st.sampled_from(["true", "false", "1.5", "inf", "nan", "1979-05-27", '""']))
    if kind == 3:
        return json.dumps(draw(st.lists(_ACTION_STRINGS, max_size=3)))
    if kind == 4:
        count = draw(st.integers(0, 3))
        return "[" + ", ".join(_toml_value(draw, depth + 1) for _ in range(count)) + "]"
    keys = draw(st.lists(st.sampled_from(["allow", "deny", "strict", "x"]), max_size=2))
    return "{" + ", ".join(f"{k} = {_toml_value(draw, depth + 1)}" for k in keys) + "}"


@st.composite
def _toml_documents(draw: Callable[..., Any], keys: tuple[str, ...]) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.one_of(st.sampled_from(keys), _TEXT.map(json.dumps)))
        lines.append(f"{key} = {_toml_value(draw)}")
    if draw(st.booleans()):
        region = draw(st.sampled_from(["us-east-1", "eu-west-1", "x", '"z"', "'q'"]))
        key = draw(st.sampled_from(["allow", "deny", "other"]))
        lines += [f"[region.{region}]", f"{key} = {_toml_value(draw)}"]
    return "\n".join(lines).encode()


_EXPECT_KEYS = ("allow", "deny", "regions", "strict", "region")
_RESOURCE_KEYS = ("InstanceId", "VpcId", "instance", "volume", "KeyId", "nothing")
_EXPECT_ACTIONS = st.sampled_from(
    ["ec2:DescribeVpcs", "ec2:RunInstances", "kms:Encrypt", "EC2:describevpcs", "nope:Nothing"]
)  # the first four exist: most plausible files are valid
_REGION_NAMES = st.sampled_from(["us-east-1", "eu-west-1", "mars-north-9", "", "US-EAST-1"])


@st.composite
def _plausible_expectations(draw: Callable[..., Any]) -> bytes:
    """Files close to valid ones, so that many reach the probe (and the check) itself."""
    lines = []
    for key in ("allow", "deny"):
        if key == "allow" or draw(st.booleans()):
            actions = draw(st.lists(_EXPECT_ACTIONS, min_size=1, max_size=3))
            lines.append(f"{key} = {json.dumps(actions)}")
    if draw(st.booleans()):
        lines.append(f"regions = {json.dumps(draw(st.lists(_REGION_NAMES, max_size=2)))}")
    if draw(st.booleans()):
        strict = draw(st.sampled_from(["true", "false", "1", '"no"']))
        lines.append(f"strict = {strict}")
    if draw(st.booleans()):
        actions = draw(st.lists(_EXPECT_ACTIONS, min_size=1, max_size=2))
        region = draw(st.sampled_from(["eu-west-1", "us-east-1", "mars-north-9", '"a b"']))
        key = draw(st.sampled_from(["allow", "deny", "other"]))
        lines += [f"[region.{region}]", f"{key} = {json.dumps(actions)}"]
    return "\n".join(lines).encode()


@st.composite
def _plausible_resources(draw: Callable[..., Any]) -> bytes:
    ids = st.sampled_from(
        ["i-0123456789abcdef0", "vpc-12345678", "", "i-", "💥", "i-0123456789abcdef0\n",
         "arn:aws:kms:us-east-1:111122223333:key/x", "arn:aws:kms:eu-west-1:111122223333:key/y"]
    )  # fmt: skip
    lines = []
    for key in draw(st.lists(st.sampled_from(_RESOURCE_KEYS), min_size=1, max_size=3)):
        value = draw(st.one_of(ids, st.lists(ids, max_size=3), st.integers(), st.booleans()))
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines).encode()


def _check_code(path: Path) -> int:
    """README "Exit codes" for ``check`` against the fake, which answers every EC2 dry run
    ``DryRunOperation`` (allowed) and anything else a 400 error (neither allowed nor
    denied): 2 for a file, glob or region the library refuses; 1 when a ``deny`` names an
    EC2 action, or, with ``strict`` (the default), any expectation names another service's;
    else 0."""
    from awsprobe.expect import Expectations, Expected

    try:
        expectations = Expectations.load(path)
        pairs = expectations.expand(("us-east-1",))  # conftest's AWS_DEFAULT_REGION
    except AwsprobeError:
        return 2
    needed = list(expectations.regions_needed(("us-east-1",)))
    if _refuses(lambda: resolve_regions(needed, None)):  # in a file "all" is no region name
        return 2
    for expectation, entry, _ in pairs:
        if entry.service != "ec2" and expectations.strict:
            return 1
        if entry.service == "ec2" and expectation.expected is Expected.DENY:
            return 1
    return 0


@pytest.mark.usefixtures("shared_models")
@_fuzz(30)
@given(
    plausible=_plausible_expectations(),
    junk=st.one_of(_toml_documents(_EXPECT_KEYS), _TEXT.map(str.encode), st.binary(max_size=64)),
)
def test_fuzzed_expectation_files_end_in_one_line_and_a_documented_code(
    fault_server: StartServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    plausible: bytes,
    junk: bytes,
) -> None:
    """awsprobe check EXPECT.toml with near-valid and random TOML (and non-TOML): 2 with
    one line when the file, a glob or a region is bad input; else 1 when an expectation
    is unmet, 0 when all are met (probed against the fake); never a traceback."""
    fake = _shared_fake("expectations", fault_server)
    path = tmp_path / "expect.toml"
    for content in (plausible, junk):
        path.write_bytes(content)
        argv = ["check", str(path), "--endpoint-url", fake.url, "--workers", "4"]
        code, _, err = _run_cli(capsys, argv)
        _assert_clean(code, err, _check_code(path), argv)


def _matrix_document() -> dict[str, Any]:
    results = [
        ProbeResult(
            action=f"ec2:{operation}",
            service="ec2",
            operation=operation,
            region="us-east-1",
            outcome=outcome,
            code=code,
            http_status=status,
            message="m",
            attempts=1,
            elapsed_ms=1.5,
        )
        for operation, outcome, code, status in (
            ("DescribeVpcs", Outcome.ALLOWED, "DryRunOperation", 412),
            ("RunInstances", Outcome.DENIED, "UnauthorizedOperation", 403),
        )
    ]
    return Matrix(identity=IDENTITY, regions=("us-east-1",), results=tuple(results)).to_json()


@st.composite
def _saved_matrices(draw: Callable[..., Any]) -> bytes:
    """A valid saved matrix, mutated: a key dropped or retyped, an unknown schema version,
    odd Unicode, the text truncated -- or not a matrix at all."""
    document = _matrix_document()
    how = draw(st.integers(0, 6))
    if how == 0:
        return draw(st.one_of(_TEXT.map(str.encode), st.binary(max_size=64)))
    if how == 1:
        document["schema"] = draw(
            st.one_of(
                st.sampled_from(["awsprobe.matrix/2", "awsprobe.matrix/0", "awsprobe.matrix/",
                                 "awsprobe.matrix/1 ", "AWSPROBE.MATRIX/1", None, 1]),
                _TEXT,
            )
        )  # fmt: skip
    elif how in (2, 3):
        target: Any = document
        if draw(st.booleans()):
            target = document["results"][draw(st.integers(0, 1))]
        elif draw(st.booleans()):
            target = document["identity"]
        key = draw(st.sampled_from(sorted(target)))
        if how == 2:
            del target[key]
        else:
            target[key] = draw(_JSON)
    elif how == 4:
        document["results"][0]["action"] = draw(_TEXT) + "\u202e\u0000\ud7ff💥"
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if how == 5:
        text = text[: draw(st.integers(0, len(text) - 1))]
    return text.encode()


_Facts = dict[tuple[str, str, str], Outcome]


def _facts(matrix: Matrix) -> list[tuple[str, str, str, Outcome]]:
    return [(r.action, r.region, r.identity, r.outcome) for r in matrix.results]


def _drifts(
    old: list[tuple[str, str, str, Outcome]], new: list[tuple[str, str, str, Outcome]]
) -> bool:
    """README ``diff``: one outcome per (action, region) -- per identity too when either
    side holds several -- and any outcome gained, lost or changed is a difference."""
    by_identity = len({f[2] for f in old}) > 1 or len({f[2] for f in new}) > 1

    def index(facts: list[tuple[str, str, str, Outcome]]) -> _Facts:
        return {(a, r, i if by_identity else ""): o for a, r, i, o in facts}

    return index(old) != index(new)


def _unloadable(path: Path) -> bool:
    return _refuses(lambda: Matrix.load(path))


@_fuzz(100)
@given(old=_saved_matrices(), new=_saved_matrices())
def test_fuzzed_saved_matrices_in_diff_end_in_one_line_and_a_documented_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: bytes, new: bytes
) -> None:
    """awsprobe diff A B with mutated saved matrices: 2 with one line naming the first
    file that does not load, else 1 when the outcomes differ and 0 when they do not;
    never a traceback."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(old)
    b.write_bytes(new)
    argv = ["diff", str(a), str(b), "--output", "json"]
    code, _, err = _run_cli(capsys, argv)
    bad = next((path for path in (a, b) if _unloadable(path)), None)
    if bad is not None:
        _assert_clean(code, err, 2, argv)
        assert str(bad) in err
        return
    differs = _drifts(_facts(Matrix.load(a)), _facts(Matrix.load(b)))
    _assert_clean(code, err, 1 if differs else 0, argv)
    if old == new:
        assert code == 0


@pytest.mark.usefixtures("shared_models")
@_fuzz(25)
@given(
    baseline=_saved_matrices(),
    plausible=_plausible_resources(),
    junk=st.one_of(_toml_documents(_RESOURCE_KEYS), _TEXT.map(str.encode), st.binary(max_size=32)),
)
def test_fuzzed_baselines_and_resources_end_in_one_line_and_a_documented_code(
    fault_server: StartServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    baseline: bytes,
    plausible: bytes,
    junk: bytes,
) -> None:
    """matrix --baseline FILE (a mutated saved matrix) and --resources FILE (near-valid
    and random TOML): 2 with one line for a file that does not load; else a baseline run
    is 1 when its outcomes drift from the baseline's (the fake allows ec2:DescribeVpcs in
    us-east-1) and 0 when not, a resources run 0; never a traceback."""
    from awsprobe.discover import load_resources

    fake = _shared_fake("baseline-resources", fault_server)
    base = ["matrix", "--endpoint-url", fake.url, "--actions", "ec2:DescribeVpcs"]
    path = tmp_path / "baseline.json"
    path.write_bytes(baseline)
    argv = [*base, "--baseline", str(path)]
    code, _, err = _run_cli(capsys, argv)
    if _unloadable(path):
        expected = 2
    else:
        run = [("ec2:DescribeVpcs", "us-east-1", ARN, Outcome.ALLOWED)]
        expected = 1 if _drifts(_facts(Matrix.load(path)), run) else 0
    _assert_clean(code, err, expected, argv)
    path = tmp_path / "resources.toml"
    for content in (plausible, junk):
        path.write_bytes(content)
        argv = [*base, "--resources", str(path)]
        code, _, err = _run_cli(capsys, argv)
        _assert_clean(code, err, 2 if _refuses(lambda: load_resources(path)) else 0, argv)


_ONE_VPC = ["matrix", "--actions", "ec2:DescribeVpcs"]


def _deep_json() -> bytes:
    return b"[" * 100_000


def _deep_toml() -> bytes:
    return b"allow = " + b"[" * 100_000


@pytest.mark.parametrize(
    ("argv", "name", "content"),
    [
        (["diff", "{path}", "{path}"], "m.json", _deep_json()),
        ([*_ONE_VPC, "--baseline", "{path}"], "b.json", _deep_json()),
        (["matrix", "--sandbox", "--policy", "{path}"], "p.json", _deep_json()),
        (["check", "{path}"], "e.toml", _deep_toml()),
        ([*_ONE_VPC, "--resources", "{path}"], "r.toml", _deep_toml()),
    ],
    ids=["diff", "baseline", "policy", "expectations", "resources"],
)
def test_deeply_nested_files_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], name: str, content: bytes
) -> None:
    """100 000 nested brackets: exit 2 and one line, not a RecursionError traceback."""
    path = tmp_path / name
    path.write_bytes(content)
    args = [a.replace("{path}", str(path)) for a in argv]
    code, _, err = _run_cli(capsys, args)
    _assert_clean(code, err, 2, args)


def test_a_saved_matrix_with_an_enormous_number_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """elapsed_ms = 10**400 (valid JSON): exit 2 and one line, not an OverflowError."""
    document = _matrix_document()
    document["results"][0]["elapsed_ms"] = 10**400
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document))
    code, _, err = _run_cli(capsys, ["diff", str(path), str(path)])
    _assert_clean(code, err, 2, ["diff"])


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["diff", "{path}", "{path}"], "m.json"),
        ([*_ONE_VPC, "--baseline", "{path}"], "b.json"),
        (["matrix", "--sandbox", "--policy", "{path}"], "p.json"),
        (["check", "{path}"], "e.toml"),
        ([*_ONE_VPC, "--resources", "{path}"], "r.toml"),
    ],
    ids=["diff", "baseline", "policy", "expectations", "resources"],
)
def test_huge_files_are_one_line_errors_in_bounded_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], name: str
) -> None:
    """A 64 MiB file (sparse: NULs): exit 2 and one line within a few seconds."""
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.truncate(64 * 2**20)
    args = [a.replace("{path}", str(path)) for a in argv]
    with within(10.0):  # refused early: under 0.5 s measured on 2 cores, bound 20x
        code, _, err = _run_cli(capsys, args)
    _assert_clean(code, err, 2, args)


def test_unknown_schema_versions_name_the_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A matrix saved by a future awsprobe: exit 2, one line naming both versions."""
    document = _matrix_document()
    document["schema"] = "awsprobe.matrix/99"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(document))
    code, _, err = _run_cli(capsys, ["diff", str(path), str(path)])
    _assert_clean(code, err, 2, ["diff"])
    assert "awsprobe.matrix/99" in err
    assert SCHEMA in err


def test_an_absurd_worker_count_is_bad_input(
    probe_stub: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """--workers 100000000: exit 2 with one line naming --workers before anything is
    probed (cli.probe is a stub here, so today's hang is never reached), and the library's
    run options refuse such a count too."""
    argv = ["matrix", "--endpoint-url", "http://127.0.0.1:9", "--actions", "ec2:DescribeVpcs"]
    code, _, err = _run_cli(capsys, [*argv, "--workers", "100000000"])
    _assert_clean(code, err, 2, argv)
    assert "--workers" in err
    assert not probe_stub
    with pytest.raises(UsageError, match="workers"):
        RunOptions(workers=100_000_000)


@pytest.mark.parametrize(
    "argv",
    [
        [b"matrix", b"--regions", b"us-\xff-1", b"--actions", b"ec2:DescribeVpcs"],
        [b"diff", b"/nonexistent/\xfe\xff.json", b"x.json"],
        [b"check", b"/nonexistent/caf\xe9.toml"],
    ],
    ids=["region", "matrix-path", "expect-path"],
)
def test_undecodable_argument_bytes_are_one_line_errors(argv: list[bytes]) -> None:
    """Arguments that are not UTF-8 (as a shell may pass them): exit 2, one stderr line,
    no traceback, in a real process (with its real stdout/stderr encodings)."""
    done = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"awsprobe", *argv],
        cwd=REPO,
        capture_output=True,
        timeout=30,
        check=False,
    )
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


# =====================================================================================
# Atomic saves
# =====================================================================================


def _big_matrix(count: int) -> Matrix:
    results = tuple(
        ProbeResult(
            action=f"ec2:Op{number}",
            service="ec2",
            operation=f"Op{number}",
            region="us-east-1",
            outcome=Outcome.ALLOWED,
            code="DryRunOperation",
            http_status=412,
            message="x" * 200,
            attempts=1,
            elapsed_ms=1.0,
        )
        for number in range(count)
    )
    return Matrix(identity=IDENTITY, regions=("us-east-1",), results=results)


@pytest.mark.parametrize("where", ["write", "rename"])
def test_a_save_interrupted_mid_way_leaves_the_old_file_intact(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """Ctrl-C while writing the temporary file, or just before the rename: the previous
    matrix at the path is untouched and no temporary file is left behind."""
    target = tmp_path / "m.json"
    _big_matrix(2).save(target)
    before = target.read_bytes()
    if where == "rename":

        def interrupted_rename(src: Any, dst: Any) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "replace", interrupted_rename)
        monkeypatch.setattr(os, "rename", interrupted_rename)
    else:  # interrupted while serialising, after the temporary file was created

        def interrupted_dumps(self: Matrix) -> str:
            raise KeyboardInterrupt

        monkeypatch.setattr(Matrix, "dumps", interrupted_dumps)
        monkeypatch.setattr(Matrix, "to_json", interrupted_dumps)
    with pytest.raises(KeyboardInterrupt):
        _big_matrix(500).save(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


_SAVER = """
import sys
from awsprobe.matrix import Identity, Matrix, ProbeResult
from awsprobe.classify import Outcome
identity = Identity(arn="arn:aws:iam::111122223333:user/x", account="111122223333", user_id="U")
def matrix(count):
    return Matrix(identity=identity, regions=("us-east-1",), results=tuple(
        ProbeResult(action=f"ec2:Op{n}", service="ec2", operation=f"Op{n}", region="us-east-1",
                    outcome=Outcome.ALLOWED, code="DryRunOperation", http_status=412,
                    message="x" * 300, attempts=1, elapsed_ms=1.0) for n in range(count)))
small, large = matrix(10), matrix(4000)
small.save(sys.argv[1])
print("ready", flush=True)
for number in range(400):
    (large if number % 2 else small).save(sys.argv[1])
"""


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_a_process_killed_while_saving_never_leaves_a_corrupt_file(
    tmp_path: Path, delay: float
) -> None:
    """A process saving matrices in a loop is SIGKILLed at some moment: the file at the
    path always loads, holding one complete matrix or the other."""
    target = tmp_path / "m.json"
    process = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(target)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        process.kill()
    finally:
        process.communicate(timeout=10)
    assert len(Matrix.load(target).results) in (10, 4000)


def test_save_writes_a_temporary_file_beside_the_target_and_renames_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The temporary file is in the target's directory (so the rename is atomic on one
    filesystem) and the target only ever appears by rename."""
    renames: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: Any, dst: Any) -> None:
        renames.append((os.fspath(src), os.fspath(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    target = tmp_path / "m.json"
    _big_matrix(3).save(target)
    ((src, dst),) = renames
    assert Path(dst) == target
    assert Path(src).parent == tmp_path
    assert Matrix.load(target).results == _big_matrix(3).results


# =====================================================================================
# The guard, at the socket
# =====================================================================================

_ALL = list(load_catalog(include_unprobed=True))
_PROBED = [e for e in _ALL if e.probe]
_SERVICES = sorted({e.service for e in _ALL})
_SOCKET_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    inject_host_prefix=False,
    connect_timeout=1.0,
    read_timeout=2.0,
)


class _Clients:
    """One guarded client per service, all talking to one fault server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = _session()
        self.clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = guarded_client(
                self.session,
                service,
                region="us-east-1",
                endpoint_url=self.url,
                config=_SOCKET_CONFIG,
            )
        return self.clients[service]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def _call(clients: _Clients, entry: CatalogEntry, params: dict[str, Any]) -> str:
    """Send; say what happened: 'refused' (guard), 'invalid' (botocore), or 'sent'."""
    try:
        getattr(clients(entry.service), entry.method)(**params)
    except UnsafeRequestError:
        return "refused"
    except ParamValidationError:
        return "invalid"
    except (ClientError, BotoCoreError):  # an error answer, or one that did not parse: sent
        return "sent"
    return "sent"


@pytest.mark.parametrize("service", _SERVICES)
def test_every_service_sends_only_flagged_probes_to_the_socket(
    fault_server: StartServer, service: str
) -> None:
    """Each probed entry of the service (EC2: every 7th) goes out with its flag and reaches
    the fake; the same call with the flag false or absent is refused before any socket."""
    fake = fault_server()
    clients = _Clients(fake.url)
    entries = [e for e in _PROBED if e.service == service]
    if service == "ec2":
        entries = entries[::7]
    try:
        for entry in entries:
            before = len(fake.probes())
            assert _call(clients, entry, entry.probe_params()) == "sent", entry.action
            assert len(fake.probes()) == before + 1, entry.action
            assert fake.probes()[-1].dry_run, entry.action
            for flag in (False, None):
                params = entry.probe_params()
                if flag is None:
                    del params[entry.dry_run_member]
                else:
                    params[entry.dry_run_member] = flag
                assert _call(clients, entry, params) in ("refused", "invalid"), entry.action
                assert len(fake.probes()) == before + 1, entry.action
    finally:
        clients.close()
    assert not fake.without_dry_run()


def _values(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for a botocore shape -- right type most of the time, sometimes not."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 2:
            return st.just({})
        members = dict(list(shape.members.items())[:10])
        return st.fixed_dictionaries(
            {}, optional={name: _values(member, depth + 1) for name, member in members.items()}
        )
    if kind == "list":
        return st.lists(_values(shape.member, depth + 1), max_size=2)
    if kind == "map":
        return st.dictionaries(_TEXT, _values(shape.value, depth + 1), max_size=2)
    if kind == "string":
        enum = shape.enum
        return st.sampled_from(enum) if enum else st.one_of(_TEXT, _ODD)
    if kind in ("integer", "long"):
        return st.integers(-(2**31), 2**31)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(timezones=st.just(_dt.UTC))
    if kind == "blob":
        return st.binary(max_size=8)
    return st.none()


@_fuzz(100)
@given(data=st.data())
def test_fuzzed_entries_with_random_parameters_never_reach_a_socket_unflagged(
    fault_server: StartServer, data: st.DataObject
) -> None:
    """Random catalog entries (every protocol), random extra parameters, and a dry-run
    flag that is true, false, missing or mistyped: whatever botocore builds, nothing
    without its flag reaches the socket, and a flag that is not true never does."""
    fake = _shared_fake("guard", fault_server)
    if "guard-clients" not in _SHARED:
        _SHARED["guard-clients"] = _Clients(fake.url)
    clients: _Clients = _SHARED["guard-clients"]
    entry = data.draw(st.sampled_from(_ALL), label="entry")
    shape = clients(entry.service).meta.service_model.operation_model(entry.operation).input_shape
    extra = {
        name: data.draw(_values(member), label=name)
        for name, member in list(shape.members.items())[:12]
        if name != entry.dry_run_member and data.draw(st.booleans(), label=f"set {name}")
    }
    params = {**entry.probe_params(), **extra}
    flag = data.draw(st.sampled_from(["true", "false", "missing", "string", "int"]), label="flag")
    if flag == "missing":
        del params[entry.dry_run_member]
    elif flag != "true":
        params[entry.dry_run_member] = {"false": False, "string": "true", "int": 1}[flag]
    before = len(fake.probes())
    outcome = _call(clients, entry, params)
    event(f"flag {flag}: {outcome}")
    if flag != "true" and (entry.service, entry.operation) not in EXEMPT:
        # (ec2:DescribeRegions, read-only, may leave without a flag: awsprobe lists regions)
        assert outcome in ("refused", "invalid"), (entry.action, flag)
    if outcome != "sent":
        assert len(fake.probes()) == before, (entry.action, flag)
    assert not fake.without_dry_run()


def test_a_runner_client_reused_for_a_real_call_is_refused_before_the_socket(
    fault_server: StartServer,
) -> None:
    """Code that borrows awsprobe's client for a real call (no DryRun, or an operation
    without a dry-run member) gets UnsafeRequestError; the fake sees nothing."""
    fake = fault_server()
    with _runner(fake.url) as runner:
        client = runner.client("ec2", "us-east-1")
        with pytest.raises(UnsafeRequestError):
            client.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)
        with pytest.raises(UnsafeRequestError):
            client.modify_vpc_attribute(VpcId="vpc-12345678", EnableDnsSupport={"Value": True})
        with pytest.raises(UnsafeRequestError):
            client.terminate_instances(InstanceIds=["i-00000000000000000"], DryRun=False)
    assert not fake.probes()


# =====================================================================================
# Secrets
# =====================================================================================

KEY_ID = "AKIARELIABLE7SECRET9"
SECRET = "Rel1abilitySecretKey/NeverPrint+ThisOne0"
TOKEN = "IQoJb3JpZ2luX2VjEReliabilitySessionToken/NeverPrint+0123456789abcdefXYZ=="


@pytest.fixture
def distinctive_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)


def _assert_no_secret(where: str, text: str) -> None:
    for secret, name in ((SECRET, "secret key"), (TOKEN, "session token"), (KEY_ID, "key id")):
        assert secret not in text, f"the {name} appears in {where}"
    assert SECRET[:20] not in text, f"part of the secret key in {where}"
    assert TOKEN[:30] not in text, f"part of the session token in {where}"


@pytest.mark.usefixtures("distinctive_credentials", "shared_models")
@pytest.mark.parametrize(
    "extra",
    [
        ["--output", "table"],
        ["--output", "json"],
        ["--debug", "--output", "csv"],
        ["--debug", "--layout", "grid", "--output", "markdown"],
    ],
    ids=["table", "json", "debug-csv", "debug-grid"],
)
def test_no_secret_in_output_logs_or_saved_files(
    fault_server: StartServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    extra: list[str],
) -> None:
    """matrix against the fake with a key id, secret and session token in the environment,
    answers allowed, denied, throttled-then-denied and an error: stdout, stderr (with
    --debug: botocore's full wire log), every log record and the saved file hold none of
    them -- while the fake proves the token and key were really sent."""

    def script(operation: str, nth: int) -> Fault | None:
        if operation == "RunInstances":
            return Fault.answer(503, "RequestLimitExceeded") if nth == 1 else UNAUTHORIZED
        if operation == "DescribeVpcs":
            return Fault.close()
        return None

    fake = fault_server(script)
    saved = tmp_path / "m.json"
    argv = [
        "matrix",
        "--endpoint-url",
        fake.url,
        "--actions",
        "ec2:RunInstances",
        "--actions",
        "ec2:DescribeVpcs",
        "--actions",
        "ec2:DescribeInstances",
        "--save",
        str(saved),
        *extra,
    ]
    code, out, err = _run_cli(capsys, argv)
    assert code == 0, err
    _assert_no_secret("stdout", out)
    _assert_no_secret("stderr", err)
    _assert_no_secret("log records", caplog.text)
    _assert_no_secret("the saved matrix", saved.read_text())
    sent = fake.probes()
    assert sent
    assert all(r.access_key == KEY_ID for r in sent)
    assert all(TOKEN in r.text for r in sent)
    if "--debug" in extra:
        assert "botocore" in err  # the wire log was really written, and redacted


@pytest.mark.usefixtures("distinctive_credentials", "shared_models")
@pytest.mark.parametrize(
    "command",
    [
        ["whoami", "--no-imds"],
        ["whoami", "--no-imds", "--output", "json"],
        ["whoami", "--no-imds", "--debug"],
        ["check", "{expect}", "--debug", "--save", "{save}"],
        ["check", "{expect}", "--output", "json"],
    ],
    ids=["whoami", "whoami-json", "whoami-debug", "check-debug-save", "check-json"],
)
def test_no_secret_in_whoami_or_check_output(
    fault_server: StartServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    command: list[str],
) -> None:
    """whoami (which describes the credentials) and check, with and without --debug: no
    secret, token or full key id in stdout, stderr, log records or the saved file."""
    fake = fault_server(lambda op, nth: UNAUTHORIZED if op == "RunInstances" else None)
    expect = tmp_path / "expect.toml"
    expect.write_text('allow = ["ec2:DescribeVpcs"]\ndeny = ["ec2:RunInstances"]\n')
    save = tmp_path / "m.json"
    argv = [a.format(expect=expect, save=save) for a in command]
    code, out, err = _run_cli(capsys, [*argv, "--endpoint-url", fake.url])
    assert code == 0, err
    for where, text in (("stdout", out), ("stderr", err), ("log records", caplog.text)):
        _assert_no_secret(where, text)
    if save.exists():
        _assert_no_secret("the saved matrix", save.read_text())
    assert any(TOKEN in r.text for r in fake.requests)


def _echo(request: Recorded) -> Fault | None:
    """Answer like services whose SignatureDoesNotMatch message quotes the canonical
    request: the session token header and the full credential scope, verbatim."""
    canonical = (
        "The request signature we calculated does not match the signature you provided. "
        "The Canonical String for this request should have been 'POST / "
        f"x-amz-security-token:{request.headers.get('X-Amz-Security-Token', '')} "
        f"Authorization: {request.headers.get('Authorization', '')}'"
    )
    if request.operation == "GetCallerIdentity" and request.headers.get("X-Echo") is None:
        return None
    return Fault.answer(403, "SignatureDoesNotMatch", canonical)


@pytest.mark.usefixtures("distinctive_credentials", "shared_models")
def test_secrets_echoed_back_by_aws_are_redacted_everywhere(
    fault_server: StartServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service echoes the session token and full key id in its error message: neither
    appears in stdout, stderr or the saved matrix."""
    fake = fault_server(rule=_echo)
    saved = tmp_path / "m.json"
    argv = [
        "matrix",
        "--endpoint-url",
        fake.url,
        "--actions",
        "ec2:DescribeVpcs",
        "--output",
        "json",
        "--save",
        str(saved),
    ]
    code, out, err = _run_cli(capsys, argv)
    assert code == 0, err
    _assert_no_secret("stdout", out)
    _assert_no_secret("stderr", err)
    _assert_no_secret("the saved matrix", saved.read_text())


@pytest.mark.usefixtures("distinctive_credentials", "shared_models")
def test_an_sts_rejection_echoing_the_token_is_redacted_in_the_one_line_error(
    fault_server: StartServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """STS rejects the caller with a message quoting the token: exit 3, one line, no token."""
    fake = fault_server(
        rule=lambda request: Fault.answer(
            403,
            "SignatureDoesNotMatch",
            f"x-amz-security-token:{TOKEN} Credential={KEY_ID}/20250101/us-east-1/sts",
        )
    )
    code, out, err = _run_cli(
        capsys, ["matrix", "--endpoint-url", fake.url, "--actions", "ec2:DescribeVpcs"]
    )
    assert code == 3
    _assert_no_secret("stderr", err)
    _assert_no_secret("stdout", out)


@pytest.mark.usefixtures("distinctive_credentials", "shared_models")
def test_library_exceptions_carry_no_secret(fault_server: StartServer) -> None:
    """The errors probe() raises -- rejected credentials, an unreachable endpoint, bad
    input -- hold no secret in their message, repr or cause chain."""
    import boto3

    fake = fault_server(
        lambda op, nth: Fault.body(
            403,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
            b"<Message>The security token included in the request is invalid.</Message>"
            b"</Error></ErrorResponse>",
        )
    )
    failures: list[BaseException] = []
    with refused_endpoint() as (refused, _):
        for endpoint in (fake.url, refused):
            with pytest.raises(AwsprobeError) as info:
                probe(actions="ec2:DescribeVpcs", session=boto3.Session(), endpoint_url=endpoint)
            failures.append(info.value)
    with pytest.raises(AwsprobeError) as bad:
        probe(actions="ec2:NoSuchThing*", session=boto3.Session(), endpoint_url=fake.url)
    failures.append(bad.value)
    for failure in failures:
        chain: BaseException | None = failure
        while chain is not None:
            _assert_no_secret(type(chain).__name__, f"{chain} {chain!r}")
            chain = chain.__cause__ or chain.__context__


# =====================================================================================
# TLS and plain http
# =====================================================================================


def test_tls_verification_is_on_by_default() -> None:
    """probe() and Runner default to verify=None, and their clients verify certificates."""
    import inspect

    assert inspect.signature(probe).parameters["verify"].default in (None, True)
    with Runner(_session(), identity=IDENTITY) as runner:
        assert runner.options.verify in (None, True)
        client = runner.client("ec2", "us-east-1")
        light = client._endpoint.http_session
        assert isinstance(light, transport.LightSession)  # awsprobe's transport, in front
        assert light.inner._verify not in (False, None)  # botocore's session behind it
        assert light.settings.verify not in (False, None)
        context = light._context()
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname is True


class _Stop(UsageError):
    """Raised by the probe stub: the CLI got as far as probing, nothing was sent."""


@pytest.fixture
def probe_stub(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """cli.probe replaced: records its arguments and stops before anything is sent."""
    calls: list[dict[str, Any]] = []

    def stub(**kwargs: Any) -> Matrix:
        calls.append(kwargs)
        raise _Stop("stub: stopped before anything was sent")

    monkeypatch.setattr(cli, "probe", stub)
    return calls


def test_no_verify_ssl_warns_once_and_turns_verification_off_for_awsprobe_only(
    probe_stub: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-verify-ssl: one warning line about TLS verification, verify=False reaches
    probe(), and nothing process-wide changes (ssl default context, warning filters)."""
    ssl_context = ssl._create_default_https_context
    filters = list(warnings.filters)
    code, _, err = _run_cli(
        capsys, ["matrix", "--no-verify-ssl", "--endpoint-url", "https://127.0.0.1:9"]
    )
    assert code == 2  # the stub stopped it
    warning_lines = [line for line in err.splitlines() if "verif" in line.lower()]
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith("awsprobe: warning:")
    assert probe_stub[0]["verify"] is False
    assert ssl._create_default_https_context is ssl_context
    assert warnings.filters == filters


def test_without_no_verify_ssl_verification_stays_on(
    probe_stub: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """No flag: no warning, and probe() gets verify None (botocore's default: verify)."""
    code, _, err = _run_cli(capsys, ["matrix", "--endpoint-url", "https://127.0.0.1:9"])
    assert code == 2
    assert "verif" not in err.lower()
    assert probe_stub[0]["verify"] in (None, True)


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        ("http://10.255.255.1:9", True),
        ("http://ec2.us-east-1.amazonaws.com", True),
        ("http://192.0.2.1:8080/", True),
        ("http://127.0.0.1:9", False),
        ("http://localhost:9", False),
        ("http://[::1]:9", False),
        ("https://10.255.255.1:9", False),
        pytest.param("http://localhost.attacker.example:9", True),
        pytest.param("http://127.0.0.1.nip.io:9", True),
    ],
)
def test_plain_http_to_a_non_loopback_endpoint_warns(
    probe_stub: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], url: str, warns: bool
) -> None:
    """http:// to anything but loopback: a one-line warning that signed requests go in the
    clear (the probe is stubbed and sockets are loopback-only: nothing is ever sent)."""
    code, _, err = _run_cli(capsys, ["matrix", "--endpoint-url", url])
    assert code == 2
    assert probe_stub, err  # it got as far as probing
    lines = [line for line in err.splitlines() if "in the clear" in line]
    assert len(lines) == (1 if warns else 0), err


# =====================================================================================
# Library hygiene
# =====================================================================================

_PACKAGE = REPO / "awsprobe"


def _dotted(node: ast.AST) -> str:
    """``logging.getLogger().addHandler`` -> 'logging.getLogger().addHandler'."""
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        inner = ", ".join(ast.unparse(a) for a in node.args)
        return f"{_dotted(node.func)}({inner})"
    return "?"


def _functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Each node -> the name of the innermost function it is in."""
    owner: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(node):
                owner[child] = node.name  # ast.walk is breadth-first: inner defs win
    return owner


_EXITS = frozenset({"sys.exit", "exit", "quit", "os._exit", "os.abort"})
_PROCESS_WIDE = frozenset(
    {
        "logging.basicConfig",
        "logging.disable",
        "logging.captureWarnings",
        "logging.root.addHandler",
        "logging.root.setLevel",
        "logging.getLogger().addHandler",
        "logging.getLogger().setLevel",
        "logging.getLogger(None).addHandler",
        "logging.getLogger(None).setLevel",
        "ssl._create_unverified_context",
        "urllib3.disable_warnings",
        "warnings.simplefilter",
        "warnings.filterwarnings",
    }
)


def test_the_library_never_exits_configures_logging_or_disables_tls() -> None:
    """Parsed, not grepped: in awsprobe/ no sys.exit/exit/quit/os._exit/raise SystemExit
    (only the console entry points, cli.main_entry and entry.main_entry, may exit), no
    logging.basicConfig or root-logger configuration (only cli.main, for --debug), no
    verify=False, no unverified SSL
    context, no urllib3.disable_warnings, no global warning filters."""
    problems = []
    files = sorted(_PACKAGE.rglob("*.py"))
    assert len(files) > 5
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        owner = _functions(tree)
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if _dotted(raised) in ("SystemExit", "builtins.SystemExit"):
                    problems.append(f"{where} raise SystemExit")
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            entry = path.name in ("cli.py", "entry.py") and owner.get(node) == "main_entry"
            if name in _EXITS and not entry:
                problems.append(f"{where} {name}()")
            if name in _PROCESS_WIDE and not (path.name == "cli.py" and owner.get(node) == "main"):
                problems.append(f"{where} {name}()")
            for keyword in node.keywords:
                value = keyword.value
                off = isinstance(value, ast.Constant) and value.value is False
                if keyword.arg == "verify" and off:
                    problems.append(f"{where} {name}(verify=False)")
    assert not problems, problems


def _logging_state() -> tuple[Any, ...]:
    root = logging.getLogger()
    return (
        list(root.handlers),
        root.level,
        logging.getLogRecordFactory(),
        logging.root.manager.disable,
        [(n, logging.getLogger(n).level, list(logging.getLogger(n).handlers))
         for n in ("awsprobe", "botocore", "boto3", "urllib3")],
        list(warnings.filters),
        ssl._create_default_https_context,
    )  # fmt: skip


def test_probe_and_the_cli_leave_process_wide_settings_alone(
    fault_server: StartServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe() run, and cli.main with --debug (which logs to stderr while it runs), leave
    the root logger, the log record factory, library logger levels, warning filters and
    the default SSL context exactly as they found them; neither raises SystemExit."""
    fake = fault_server()
    before = _logging_state()
    probe(actions="ec2:DescribeVpcs", session=_session(), endpoint_url=fake.url, **FAST)
    assert _logging_state() == before
    code, _, _ = _run_cli(
        capsys, ["matrix", "--debug", "--endpoint-url", fake.url, "--actions", "ec2:DescribeVpcs"]
    )
    assert code == 0
    assert _logging_state() == before


@pytest.mark.parametrize(
    "call",
    [
        lambda url: probe(actions="ec2:DescribeVpcs", workers=0, endpoint_url=url),
        lambda url: probe(actions="ec2:DescribeVpcs", max_attempts=0, endpoint_url=url),
        lambda url: probe(actions="nosuchservice:*", endpoint_url=url),
        lambda url: probe(actions="ec2:DescribeVpcs", session="not a session", endpoint_url=url),
        lambda url: probe(actions="ec2:DescribeVpcs", regions="mars-north-9", endpoint_url=url),
        lambda url: Matrix.loads("{"),
        lambda url: Matrix.load("/nonexistent/m.json"),
    ],
    ids=["workers", "attempts", "service", "session", "region", "json", "file"],
)
def test_library_errors_are_exceptions_never_exits(
    fault_server: StartServer, call: Callable[[str], Any]
) -> None:
    """Bad calls raise AwsprobeError subclasses; nothing raises SystemExit."""
    fake = fault_server()
    with pytest.raises(AwsprobeError):
        call(fake.url)


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["matrix", "--help"]])
def test_cli_main_returns_for_help_and_version(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """main(['--version']) and --help return 0 rather than raising SystemExit."""
    assert cli.main(argv) == 0
    assert capsys.readouterr().out
