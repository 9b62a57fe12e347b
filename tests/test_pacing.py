"""Retry and pacing: capped jittered backoff, what is retried, token buckets per action.

Expected values come from outside awsprobe:

* the EC2 token buckets from the EC2 Developer Guide, "Request throttling for the
  Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  (the table "Request token bucket sizes and refill rates");
* what is retried from botocore 1.44.8: ``data/_retry.json`` (its ``definitions``) and
  ``retries/standard.py`` (``ThrottledRetryableChecker._THROTTLED_ERROR_CODES``,
  ``TransientRetryableChecker``, ``ExponentialBackoff``, whose cap is 20 s);
* awsprobe's own design numbers, written out here as literals: backoff from 0.2 s,
  doubling per attempt, capped at 20 s; the pacer plans at 95 % of AWS's refill rates.

No test sleeps or measures the wall clock: the pacer takes a fake clock, and the runner's
waits go through its stop event, which the tests replace with one that records the wait
and returns at once.
"""

from __future__ import annotations

import http.client
import random
import statistics
import threading
from collections.abc import Iterator, Sequence

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.parsers import ResponseParserError
from hypothesis import given, settings
from hypothesis import strategies as st

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.classify import Answer, classify
from awsprobe.model import ErrorKind, Identity, Outcome
from awsprobe.probing.options import RunOptions
from awsprobe.probing.pacing import Pacer, bucket_for
from awsprobe.probing.retry import backoff_delay, is_retryable
from awsprobe.probing.runner import Runner, _Skipped
from tests.fakes import DRY_RUN_OK, UNAUTHORIZED, FakeAWS, Reply, Seen, ec2_error

ACCOUNT = "111122223333"
IDENTITY = Identity(arn=f"arn:aws:iam::{ACCOUNT}:user/ci", account=ACCOUNT, user_id="AIDAEXAMPLE")
URL = "https://ec2.us-east-1.amazonaws.com/"
EC2 = load_catalog(services="ec2")
RUN_INSTANCES: CatalogEntry = EC2.find("ec2:RunInstances")

#: awsprobe's backoff: 0.2 s * 2**attempt, capped at botocore's 20 s.
BACKOFF_UPPER = {1: 0.4, 2: 0.8, 3: 1.6, 4: 3.2, 5: 6.4, 6: 12.8, 7: 20.0}
#: The share of AWS's published refill rate the pacer plans with.
MARGIN = 0.95


class UpperEnd(random.Random):
    """A jitter source that records each range asked for and returns its upper end."""

    def __init__(self) -> None:
        super().__init__(0)
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


class RecordingStop(threading.Event):
    """The runner's stop event: records every wait and returns at once (not stopped),
    or reports a stop on the wait numbered ``stop_on`` (1 for the first)."""

    def __init__(self, stop_on: int | None = None) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop_on = stop_on

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        return len(self.waits) == self.stop_on


class ScriptedPacer(Pacer):
    """A pacer that asks the caller to wait the scripted delays (then none), and records
    every token taken and every throttle reported."""

    def __init__(self, delays: Sequence[float] = ()) -> None:
        super().__init__(clock=lambda: 0.0)
        self.delays = list(delays)
        self.taken: list[tuple[str, str, str, str]] = []
        self.throttles: list[tuple[str, str, str, str]] = []

    def delay(self, account: str, region: str, service: str, operation: str) -> float:
        self.taken.append((account, region, service, operation))
        return self.delays.pop(0) if self.delays else 0.0

    def throttled(self, account: str, region: str, service: str, operation: str) -> None:
        self.throttles.append((account, region, service, operation))


def _runner(
    fake: FakeAWS,
    *,
    pacer: Pacer | None = None,
    max_attempts: int = 5,
    stop: RecordingStop | None = None,
) -> tuple[Runner, RecordingStop]:
    runner = Runner(
        fake.session,
        RunOptions(workers=1, max_attempts=max_attempts),
        pacer=pacer or ScriptedPacer(),
        identity=IDENTITY,
    )
    recording = stop or RecordingStop()
    runner._stop = recording  # the one place the runner waits
    runner.rng = UpperEnd()
    _RUNNERS.append(runner)
    return runner, recording


@pytest.fixture(scope="module")
def _one_fake() -> FakeAWS:
    return FakeAWS()  # one botocore session for the module: its models load once


_RUNNERS: list[Runner] = []


@pytest.fixture
def fake(_one_fake: FakeAWS) -> Iterator[FakeAWS]:
    """A fake AWS with no script: DryRunOperation to everything, nothing recorded yet."""
    _one_fake.rules = []
    _one_fake.default = DRY_RUN_OK
    _one_fake.seen.clear()
    _one_fake.counts.clear()
    yield _one_fake
    while _RUNNERS:
        _RUNNERS.pop().close()


def _first_then(fake: FakeAWS, reply: Reply) -> FakeAWS:
    """Script ``fake`` to give ``reply`` to the first request, DryRunOperation after."""

    def first(seen: Seen, nth: int) -> Reply | None:
        return reply if nth == 1 else None

    fake.rules = [first]
    return fake


# -- backoff ------------------------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "upper"), sorted(BACKOFF_UPPER.items()))
def test_backoff_is_full_jitter_from_zero_to_a_doubling_bound(attempt: int, upper: float) -> None:
    """After attempt n the wait is drawn uniformly from [0, min(20, 0.2 * 2**n)]."""
    rng = UpperEnd()
    assert backoff_delay(attempt, rng) == pytest.approx(upper)
    ((low, high),) = rng.ranges
    assert low == 0
    assert high == pytest.approx(upper)


@pytest.mark.parametrize("attempt", [7, 8, 10, 20, 64, 500])
def test_backoff_never_exceeds_the_20_second_cap(attempt: int) -> None:
    """However many attempts, no single wait is longer than botocore's 20 s cap."""
    rng = UpperEnd()
    assert backoff_delay(attempt, rng) == 20.0
    samples = [backoff_delay(attempt, random.Random(seed)) for seed in range(200)]
    assert max(samples) <= 20.0


def test_backoff_jitter_spreads_over_the_whole_range() -> None:
    """Full jitter: draws at one attempt cover [0, bound] evenly (mean near half of it),
    so retries of many probes do not fall in step."""
    rng = random.Random(20)
    draws = [backoff_delay(3, rng) for _ in range(4000)]
    assert all(0.0 <= d <= 1.6 for d in draws)
    assert min(draws) < 0.05
    assert max(draws) > 1.55
    assert statistics.fmean(draws) == pytest.approx(0.8, abs=0.05)


def test_backoff_without_a_generator_leaves_the_random_module_alone() -> None:
    """The default jitter has its own generator: it never draws from (or reseeds) the
    ``random`` module's shared state, which a user's program may have seeded."""
    random.seed(13)
    expected = [random.random() for _ in range(3)]
    random.seed(13)
    draws = [backoff_delay(2) for _ in range(50)]
    assert [random.random() for _ in range(3)] == expected
    assert all(0.0 <= d <= 0.8 for d in draws)
    assert len(set(draws)) > 1


# -- the runner honours the pacer and the backoff ------------------------------------------


def test_a_probe_waits_the_pacers_delay_and_the_backoff_through_its_stop_event(
    fake: FakeAWS,
) -> None:
    """Throttled twice, then answered: the runner waits the pacer's delay before each send
    it asks for (none when it says 0) and the capped backoff after each failed attempt,
    all through the stop event, and reports each throttle to the pacer for that action."""
    throttle = (503, ec2_error("RequestLimitExceeded"))
    fake.rules = [lambda seen, nth: throttle if nth <= 2 else None]
    pacer = ScriptedPacer(delays=[0.0, 0.7, 0.0])
    runner, stop = _runner(fake, pacer=pacer)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.ALLOWED, 3)
    # backoff after attempt 1, pacer before attempt 2, backoff after attempt 2
    assert stop.waits == pytest.approx([0.4, 0.7, 0.8])
    key = (ACCOUNT, "us-east-1", "ec2", "RunInstances")
    assert pacer.taken == [key, key, key]
    assert pacer.throttles == [key, key]
    assert len(fake.sent("RunInstances")) == 3


def test_a_run_waits_the_pacers_delay_before_sending(fake: FakeAWS) -> None:
    """Through run(): a probe whose bucket is empty waits the pacer's delay, then sends."""
    fake.default = UNAUTHORIZED
    runner, stop = _runner(fake, pacer=ScriptedPacer(delays=[2.5]))
    matrix = runner.run([RUN_INSTANCES], ["us-east-1"])
    assert [(r.outcome, r.attempts) for r in matrix] == [(Outcome.DENIED, 1)]
    assert stop.waits == [2.5]


def test_a_stop_during_the_pacers_wait_sends_nothing(fake: FakeAWS) -> None:
    """The run stopped while a probe waited for its bucket: the request is never sent."""
    runner, _ = _runner(fake, pacer=ScriptedPacer(delays=[3.0]), stop=RecordingStop(stop_on=1))
    with pytest.raises(_Skipped):
        runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert fake.sent() == []


def test_a_stop_during_the_backoff_ends_the_probe_with_its_last_answer(fake: FakeAWS) -> None:
    """The run stopped while a throttled probe backed off: no further attempt is sent."""
    fake.default = (503, ec2_error("RequestLimitExceeded"))
    runner, stop = _runner(fake, stop=RecordingStop(stop_on=1))
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.code, result.attempts) == ("RequestLimitExceeded", 1)
    assert stop.waits == pytest.approx([0.4])
    assert len(fake.sent()) == 1


@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5])
def test_max_attempts_bounds_the_sends_and_the_backoffs(max_attempts: int, fake: FakeAWS) -> None:
    """Throttled on every attempt: exactly max_attempts requests, a backoff between each
    two of them (none after the last), each at most its attempt's bound."""
    fake.default = (503, ec2_error("RequestLimitExceeded"))
    runner, stop = _runner(fake, max_attempts=max_attempts)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert result.attempts == max_attempts
    assert len(fake.sent()) == max_attempts
    assert stop.waits == pytest.approx([BACKOFF_UPPER[n] for n in range(1, max_attempts)])


def test_backoff_is_drawn_from_the_runners_generator(fake: FakeAWS) -> None:
    """The runner's ``rng`` supplies the jitter: a seeded one gives reproducible waits."""
    fake.default = (503, ec2_error("RequestLimitExceeded"))
    runner, stop = _runner(fake, max_attempts=4)
    runner.rng = random.Random(7)
    runner.probe_one(RUN_INSTANCES, "us-east-1")
    again = random.Random(7)
    assert stop.waits == [again.uniform(0, BACKOFF_UPPER[n]) for n in (1, 2, 3)]


# -- what is retried -----------------------------------------------------------------------

#: botocore retries/standard.py ThrottledRetryableChecker._THROTTLED_ERROR_CODES (the union
#: of data/_retry.json's throttling definitions and the codes seen in the wild).
BOTOCORE_THROTTLE_CODES = (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
)
#: data/_retry.json: too_many_requests (429), general_server_error (500), bad_gateway (502),
#: service_unavailable (503), gateway_timeout (504), limit_exceeded (509); each here with
#: a code that is not a throttling code, so that the status alone decides.
RETRIED_STATUSES = (
    (429, "SomethingUnmodelled"),
    (500, "InternalError"),
    (502, "BadGateway"),
    (503, "ServiceUnavailable"),
    (504, "GatewayTimeout"),
    (509, "InternalFailure"),
)
#: retries/standard.py TransientRetryableChecker: botocore ConnectionError and
#: HTTPClientError (connection refused, connect and read timeouts, a reset, a cut stream);
#: awsprobe also retries an answer whose body could not be parsed or was cut short.
RETRIED_FAULTS = (
    EndpointConnectionError(endpoint_url=URL),
    ConnectTimeoutError(endpoint_url=URL),
    ReadTimeoutError(endpoint_url=URL),
    ConnectionClosedError(endpoint_url=URL),
    ResponseStreamingError(error="reset"),
    ResponseParserError("cut short"),
    http.client.IncompleteRead(b"<Resp"),
)
#: Final answers (EC2 API Reference, Error codes): a verdict, or a request that is wrong.
NOT_RETRIED = (
    UNAUTHORIZED,
    (400, ec2_error("InvalidParameterValue")),
    (400, ec2_error("MissingParameter")),
    (400, ec2_error("InvalidInstanceID.NotFound")),
    (401, ec2_error("AuthFailure")),
    (403, ec2_error("Blocked")),
    (428, ec2_error("Unknown")),
    (430, ec2_error("Unknown")),
    (499, ec2_error("Unknown")),
    (200, b"<RunInstancesResponse/>"),
)


@pytest.mark.parametrize("code", BOTOCORE_THROTTLE_CODES)
@pytest.mark.parametrize("status", [400, 503])
def test_every_botocore_throttling_code_is_retried_and_slows_the_action(
    code: str, status: int, fake: FakeAWS
) -> None:
    """A throttling code is retried to the real answer, and the pacer hears of it."""
    pacer = ScriptedPacer()
    runner, _ = _runner(_first_then(fake, (status, ec2_error(code))), pacer=pacer)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.ALLOWED, 2)
    assert pacer.throttles == [(ACCOUNT, "us-east-1", "ec2", "RunInstances")]


@pytest.mark.parametrize(("status", "code"), RETRIED_STATUSES)
def test_http_429_and_5xx_are_retried(status: int, code: str, fake: FakeAWS) -> None:
    """429 and the 5xx of _retry.json are retried whatever the code; only 429 (a
    throttle) slows the action down."""
    pacer = ScriptedPacer()
    runner, _ = _runner(_first_then(fake, (status, ec2_error(code))), pacer=pacer)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.ALLOWED, 2)
    assert len(pacer.throttles) == (1 if status == 429 else 0)


#: botocore retries/standard.py TransientRetryableChecker._TRANSIENT_ERROR_CODES: retried
#: whatever the HTTP status (S3 answers RequestTimeout with a 400: "Your socket connection
#: to the server was not read from or written to within the timeout period", Amazon S3 API
#: Reference, Error responses).
TRANSIENT_CODES_AT_4XX = ("RequestTimeout", "RequestTimeoutException")


@pytest.mark.parametrize("code", TRANSIENT_CODES_AT_4XX)
def test_transient_codes_are_retried_whatever_the_status(code: str, fake: FakeAWS) -> None:
    """A transient code with a 400 is retried to the real answer, not left as a server
    error "after retries" that were never made (the runner and the classifier now read the
    same table: before, the runner retried server errors only on a 5xx)."""
    pacer = ScriptedPacer()
    runner, _ = _runner(_first_then(fake, (400, ec2_error(code))), pacer=pacer)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.ALLOWED, 2)
    assert pacer.throttles == []


@given(
    code=st.one_of(
        st.none(),
        st.sampled_from(
            [*BOTOCORE_THROTTLE_CODES, *TRANSIENT_CODES_AT_4XX, "InternalError", "AuthFailure"]
        ),
        st.text(min_size=1, max_size=20),
    ),
    status=st.one_of(st.none(), st.integers(min_value=100, max_value=599)),
)
@settings(max_examples=300, deadline=None)
def test_whatever_is_called_out_of_retries_was_retried(
    code: str | None, status: int | None
) -> None:
    """An answer the classifier reports as throttled or a server error "after retries" is
    one the runner retries: the two read the same code tables."""
    verdict = classify(Answer(code=code, http_status=status), RUN_INSTANCES)
    if verdict.error_kind in (ErrorKind.THROTTLED, ErrorKind.SERVER):
        assert is_retryable(Answer(code=code, http_status=status))


@pytest.mark.parametrize("fault", RETRIED_FAULTS, ids=lambda f: type(f).__name__)
def test_connection_faults_are_retried(fault: BaseException, fake: FakeAWS) -> None:
    """No answer at all (refused, timed out, reset, cut short) is retried, not throttled."""
    pacer = ScriptedPacer()
    runner, _ = _runner(_first_then(fake, fault), pacer=pacer)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.ALLOWED, 2)
    assert pacer.throttles == []


@pytest.mark.parametrize("reply", NOT_RETRIED, ids=lambda r: f"{r[0]}")
def test_final_answers_are_not_retried(reply: tuple[int, bytes], fake: FakeAWS) -> None:
    """A denial, a bad request or a 2xx is the answer: one request, no backoff."""
    _first_then(fake, reply)
    runner, stop = _runner(fake)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert result.attempts == 1
    assert len(fake.sent()) == 1
    assert stop.waits == []


def test_an_unexpected_exception_is_not_retried(fake: FakeAWS) -> None:
    """A failure that is no transport fault (a bug, a bad parameter) is not retried."""
    _first_then(fake, ValueError("not a transport fault"))
    runner, stop = _runner(fake)
    result = runner.probe_one(RUN_INSTANCES, "us-east-1")
    assert (result.outcome, result.attempts) == (Outcome.ERROR, 1)
    assert stop.waits == []


@pytest.mark.parametrize(
    ("answer", "retried"),
    [
        (Answer(code="400", http_status=400), True),  # botocore's code for an unreadable body
        (Answer(code="404", http_status=404), True),
        (Answer(code="404", http_status=400), False),
        (Answer(http_status=429), True),
        (Answer(http_status=500), True),
        (Answer(http_status=499), False),
        (Answer(http_status=200), False),
        (Answer(), False),
        (Answer(exception=ValueError("x")), False),
        (Answer(code="Foo", exception=ReadTimeoutError(endpoint_url=URL)), False),
        (Answer(code="RequestTimeout", http_status=400), True),  # transient at any status
        (Answer(code="InternalError", http_status=400), True),
    ],
)
def test_retryable_answers_table(answer: Answer, retried: bool) -> None:
    """Edge answers decided directly: an unreadable 4xx body is retried (botocore sets
    Code to the status when it cannot parse the body); a status alone decides when
    there is no code; a transport exception counts only when there is no code."""
    assert is_retryable(answer) is retried


# -- the token buckets ---------------------------------------------------------------------

#: EC2 Developer Guide, Request throttling, "Request token bucket sizes and refill rates":
#: (action, bucket maximum capacity, refill rate per second).
EC2_DOCUMENTED = (
    # Non-mutating actions (Describe*, List*, Search*, Get*): 100, 20
    ("DescribeHosts", 100, 20),
    ("DescribeImages", 100, 20),
    ("ListImagesInRecycleBin", 100, 20),
    ("SearchTransitGatewayRoutes", 100, 20),
    ("GetConsoleOutput", 100, 20),
    # Unfiltered and unpaginated non-mutating actions: 50, 10
    ("DescribeInstances", 50, 10),
    ("DescribeInstanceStatus", 50, 10),
    ("DescribeNetworkInterfaces", 50, 10),
    ("DescribeSecurityGroups", 50, 10),
    ("DescribeSnapshots", 50, 10),
    ("DescribeSpotInstanceRequests", 50, 10),
    ("DescribeVolumes", 50, 10),
    # Mutating actions: 50, 5
    ("CreateVpc", 50, 5),
    ("DeleteVolume", 50, 5),
    ("ModifyInstanceAttribute", 50, 5),
    ("AuthorizeSecurityGroupIngress", 50, 5),
    # Uncategorized and special actions
    ("RunInstances", 5, 2),
    ("StartInstances", 5, 2),
    ("TerminateInstances", 100, 5),
    ("CreateTags", 100, 10),
    ("CreateVpcEndpoint", 4, 0.3),
    ("AdvertiseByoipCidr", 1, 0.1),
    ("DescribeByoipCidrs", 1, 0.5),
)


@pytest.mark.parametrize(("operation", "capacity", "rate"), EC2_DOCUMENTED)
def test_ec2_buckets_are_the_documented_ones(operation: str, capacity: float, rate: float) -> None:
    """Each EC2 action gets the bucket the EC2 Developer Guide gives for it."""
    assert bucket_for("ec2", operation) == (capacity, rate)


@pytest.mark.parametrize(
    ("service", "operation"),
    [("iam", "GetUser"), ("s3", "ListBuckets"), ("iam", "RunInstances"), ("sts", "Describe")],
)
def test_other_services_get_the_conservative_default(service: str, operation: str) -> None:
    """Outside EC2 (even for an operation named like an EC2 one) the bucket is 20, 5/s."""
    assert bucket_for(service, operation) == (20.0, 5.0)


def _pacer() -> tuple[Pacer, list[float]]:
    now = [1000.0]
    return Pacer(clock=lambda: now[0]), now


@pytest.mark.parametrize(("operation", "capacity", "rate"), EC2_DOCUMENTED)
def test_a_full_bucket_lets_capacity_requests_through_then_spaces_them(
    operation: str, capacity: int, rate: float
) -> None:
    """A fresh bucket sends its capacity at once; each further request waits one more
    refill interval (1 / (95 % of the rate)) than the one before."""
    pacer, _ = _pacer()
    delays = [pacer.delay(ACCOUNT, "us-east-1", "ec2", operation) for _ in range(capacity + 3)]
    assert delays[:capacity] == [0.0] * capacity
    step = 1 / (rate * MARGIN)
    assert delays[capacity:] == pytest.approx([step, 2 * step, 3 * step])


def test_the_bucket_refills_at_the_planned_rate_as_the_clock_moves() -> None:
    """RunInstances (5, 2/s): drained, then 1 s later 1.9 tokens are back: one request
    goes at once, the next waits for the missing 0.1 token."""
    pacer, now = _pacer()
    for _ in range(5):
        assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") == 0.0
    now[0] += 1.0
    assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") == 0.0
    assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") == pytest.approx(
        0.1 / (2 * MARGIN)
    )


def test_the_bucket_never_holds_more_than_its_capacity() -> None:
    """An idle hour refills RunInstances to 5 tokens, not more: the 6th request waits."""
    pacer, now = _pacer()
    pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    now[0] += 3600.0
    delays = [pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") for _ in range(6)]
    assert delays[:5] == [0.0] * 5
    assert delays[5] == pytest.approx(1 / (2 * MARGIN))


def test_buckets_are_per_account_region_service_and_action() -> None:
    """Draining one (account, region, service, action) leaves every other bucket full."""
    pacer, _ = _pacer()
    for _ in range(5):
        pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") > 0
    assert pacer.delay("444455556666", "us-east-1", "ec2", "RunInstances") == 0.0
    assert pacer.delay(ACCOUNT, "eu-west-1", "ec2", "RunInstances") == 0.0
    assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "StartInstances") == 0.0
    assert pacer.delay(ACCOUNT, "us-east-1", "iam", "RunInstances") == 0.0


def test_throttled_halves_the_rate_each_time() -> None:
    """RunInstances planned at 1.9/s: a throttle makes it 0.95/s, a second 0.475/s."""
    pacer, _ = _pacer()
    for _ in range(5):
        pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    pacer.throttled(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") == pytest.approx(1 / 0.95)
    pacer.throttled(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    assert pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") == pytest.approx(2 / 0.475)


@pytest.mark.parametrize("throttles", [6, 10, 40])
def test_throttled_never_slows_an_action_below_a_tenth_per_second(throttles: int) -> None:
    """However often AWS throttles, the rate stops at 0.1/s: one token every 10 s."""
    pacer, _ = _pacer()
    for _ in range(throttles):
        pacer.throttled(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    delays = [pacer.delay(ACCOUNT, "us-east-1", "ec2", "RunInstances") for _ in range(6)]
    assert delays[:5] == [0.0] * 5  # a throttle before any request keeps the full bucket
    assert delays[5] == pytest.approx(10.0)


def test_throttled_only_slows_its_own_action() -> None:
    """A throttle on one action leaves the same action elsewhere at its full rate."""
    pacer, _ = _pacer()
    pacer.throttled(ACCOUNT, "us-east-1", "ec2", "RunInstances")
    delays = [pacer.delay(ACCOUNT, "eu-west-1", "ec2", "RunInstances") for _ in range(6)]
    assert delays[5] == pytest.approx(1 / (2 * MARGIN))
