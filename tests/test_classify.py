"""The classifier: AWS answers modelled on the documentation (each fixture's source is in
tests/fixtures/SOURCES.toml; none is a recording) through botocore's parser, and a fuzz
proof that nothing but a service's own success signal is ever 'allowed'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from hypothesis import given, settings
from hypothesis import strategies as st

from awsprobe.catalog import load_catalog
from awsprobe.classify import (
    CHECKERS,
    Answer,
    ErrorKind,
    Outcome,
    Signals,
    Verdict,
    classify,
)
from awsprobe.guard import guarded_client

FIXTURES = Path(__file__).parent / "fixtures" / "aws"
EC2 = load_catalog(services="ec2").find("ec2:RunInstances")
KMS = load_catalog(services="kms").find("kms:Decrypt")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


class _Replay:
    """A before-send stub answering with whatever response is loaded into it."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b""
        self.headers: dict[str, str] = {}

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, self.status, self.headers, _Raw(self.body))


_CLIENTS: dict[str, tuple[Any, _Replay]] = {}


def _replaying_client(service: str) -> tuple[Any, _Replay]:
    """One guarded client per service whose 'network' replays a fixture answer."""
    if service not in _CLIENTS:
        client = guarded_client(
            botocore.session.get_session(),
            service,
            region="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        replay = _Replay()
        client.meta.events.register("before-send", replay)
        _CLIENTS[service] = (client, replay)
    return _CLIENTS[service]


def _answer_via_botocore(service: str, fixture: str, status: int) -> Answer:
    """Send the entry's probe through a guarded client whose 'network' replays a fixture."""
    entry = EC2 if service == "ec2" else KMS
    client, replay = _replaying_client(service)
    replay.body = (FIXTURES / fixture).read_bytes()
    replay.status = status
    ctype = "text/xml" if fixture.endswith(".xml") else "application/x-amz-json-1.1"
    replay.headers = {"Content-Type": ctype}
    try:
        parsed = getattr(client, entry.method)(**entry.probe_params())
    except ClientError as exc:
        return Answer.from_exception(exc)
    return Answer.from_response(parsed)


MODELLED_ANSWERS = [
    # (fixture, service, HTTP status, outcome, code). Not recordings: each is modelled on
    # AWS's documentation, and tests/fixtures/SOURCES.toml gives its source.
    ("ec2-dry-run-operation.xml", "ec2", 412, Outcome.ALLOWED, "DryRunOperation"),
    ("ec2-unauthorized-operation.xml", "ec2", 403, Outcome.DENIED, "UnauthorizedOperation"),
    ("ec2-unauthorized-no-blob.xml", "ec2", 403, Outcome.DENIED, "UnauthorizedOperation"),
    ("ec2-moto-access-denied.xml", "ec2", 403, Outcome.DENIED, "AccessDenied"),
    ("ec2-auth-failure.xml", "ec2", 401, Outcome.ERROR, "AuthFailure"),
    ("ec2-opt-in-required.xml", "ec2", 401, Outcome.ERROR, "OptInRequired"),
    ("ec2-request-expired.xml", "ec2", 400, Outcome.ERROR, "RequestExpired"),
    ("ec2-blocked.xml", "ec2", 403, Outcome.ERROR, "Blocked"),
    ("ec2-request-limit-exceeded.xml", "ec2", 503, Outcome.ERROR, "RequestLimitExceeded"),
    ("ec2-internal-error.xml", "ec2", 500, Outcome.ERROR, "InternalError"),
    ("ec2-invalid-instance-not-found.xml", "ec2", 400, Outcome.INCONCLUSIVE, None),
    ("ec2-invalid-instance-malformed.xml", "ec2", 400, Outcome.INCONCLUSIVE, None),
    ("ec2-vpcid-not-specified.xml", "ec2", 400, Outcome.INCONCLUSIVE, "VPCIdNotSpecified"),
    ("ec2-missing-parameter.xml", "ec2", 400, Outcome.INCONCLUSIVE, "MissingParameter"),
    ("ec2-unsupported-operation.xml", "ec2", 400, Outcome.INCONCLUSIVE, "UnsupportedOperation"),
    ("ec2-unknown-code.xml", "ec2", 400, Outcome.INCONCLUSIVE, "SomethingNew"),
    ("ec2-success-200.xml", "ec2", 200, Outcome.DRY_RUN_IGNORED, None),
    ("kms-dry-run-operation.json", "kms", 400, Outcome.ALLOWED, "DryRunOperationException"),
    ("kms-access-denied.json", "kms", 400, Outcome.DENIED, "AccessDeniedException"),
    ("kms-not-found.json", "kms", 400, Outcome.INCONCLUSIVE, "NotFoundException"),
    ("kms-validation.json", "kms", 400, Outcome.INCONCLUSIVE, "ValidationException"),
    ("kms-throttling.json", "kms", 400, Outcome.ERROR, "ThrottlingException"),
    ("kms-unrecognized-client.json", "kms", 400, Outcome.ERROR, "UnrecognizedClientException"),
    ("kms-expired-token.json", "kms", 400, Outcome.ERROR, "ExpiredTokenException"),
    ("kms-success-200.json", "kms", 200, Outcome.DRY_RUN_IGNORED, None),
]


@pytest.mark.parametrize(("fixture", "service", "status", "outcome", "code"), MODELLED_ANSWERS)
def test_answers_modelled_on_aws_documentation_classify_as_documented(
    fixture: str, service: str, status: int, outcome: Outcome, code: str | None
) -> None:
    """Each fixture body (modelled on the AWS documentation; sources in
    tests/fixtures/SOURCES.toml), parsed by botocore, lands on its documented verdict."""
    answer = _answer_via_botocore(service, fixture, status)
    verdict = classify(answer, EC2 if service == "ec2" else KMS)
    assert verdict.outcome is outcome, verdict
    if code is not None:
        assert answer.code == code
    assert answer.http_status == status


def test_not_found_and_malformed_codes_are_inconclusive_with_a_hint() -> None:
    """*.NotFound / *.Malformed say 'rejected before a verdict', not 'unknown'."""
    verdict = classify(Answer("InvalidInstanceID.NotFound", 400, "x"), EC2)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "supply real parameters" in verdict.reason


def test_a_success_code_of_another_service_is_not_allowed() -> None:
    """KMS answering EC2's DryRunOperation is not KMS's signal: inconclusive, not allowed."""
    assert classify(Answer("DryRunOperation", 412), KMS).outcome is Outcome.INCONCLUSIVE
    assert classify(Answer("DryRunOperationException", 400), EC2).outcome is Outcome.INCONCLUSIVE


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), ErrorKind.CONNECTION),
        (ConnectionClosedError(endpoint_url="http://127.0.0.1:9"), ErrorKind.CONNECTION),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), ErrorKind.CONNECTION),
        (RuntimeError("emulator blew up"), ErrorKind.CONNECTION),
    ],
)
def test_no_answer_is_an_error(exception: BaseException, kind: ErrorKind) -> None:
    """Connection failures, timeouts and crashes are errors: a denial and an outage differ."""
    verdict = classify(Answer.from_exception(exception), EC2)
    assert verdict.outcome is Outcome.ERROR
    assert verdict.error_kind is kind


E, D, A = Outcome.ERROR, Outcome.DENIED, Outcome.ALLOWED
CRED, REGION, ACCOUNT = ErrorKind.CREDENTIALS, ErrorKind.REGION, ErrorKind.ACCOUNT
THROTTLED, SERVER = ErrorKind.THROTTLED, ErrorKind.SERVER

#: (service, code, HTTP status, outcome, error kind): each code with the outcome its
#: documented meaning implies, written from the source named above each group. Never
#: built from the classifier's own code lists.
DOCUMENTED_CODES = [
    # EC2 API Reference, "Error codes for the Amazon EC2 API", common client errors
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). The
    # page says "a 400-series HTTP response code" without a number per code: 400 here,
    # except DryRunOperation 412 (getmoto/moto#1980) and UnauthorizedOperation 403.
    ("ec2", "DryRunOperation", 412, A, None),
    ("ec2", "UnauthorizedOperation", 403, D, None),
    ("ec2", "AuthFailure", 400, E, CRED),  # "The provided credentials could not be validated"
    ("ec2", "IncompleteSignature", 400, E, CRED),
    ("ec2", "InvalidClientTokenId", 400, E, CRED),
    ("ec2", "MissingAuthenticationToken", 400, E, CRED),
    ("ec2", "RequestExpired", 400, E, CRED),
    ("ec2", "Blocked", 400, E, ACCOUNT),  # "Your account is currently blocked"
    ("ec2", "PendingVerification", 400, E, ACCOUNT),  # "Your account is pending verification"
    ("ec2", "OptInRequired", 400, E, REGION),  # "ensure that you have subscribed to the service"
    # ... and its server errors (500-series): RequestLimitExceeded is its throttling.
    ("ec2", "RequestLimitExceeded", 503, E, THROTTLED),
    ("ec2", "InternalError", 500, E, SERVER),
    ("ec2", "Unavailable", 503, E, SERVER),
    ("ec2", "ServiceUnavailable", 503, E, SERVER),
    # "Common Errors" of every AWS service's API Reference
    # (https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html).
    ("kms", "AccessDeniedException", 403, D, None),
    ("kms", "ExpiredTokenException", 403, E, CRED),
    ("kms", "IncompleteSignature", 403, E, CRED),
    ("kms", "OptInRequired", 403, E, REGION),  # "needs a subscription for the service"
    ("kms", "RequestExpired", 400, E, CRED),
    ("kms", "UnrecognizedClientException", 403, E, CRED),
    ("kms", "ThrottlingException", 400, E, THROTTLED),
    ("kms", "InternalFailure", 500, E, SERVER),
    ("kms", "ServiceUnavailable", 503, E, SERVER),
    # Amazon S3 API Reference, "Error responses", list of error codes
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
    ("kms", "AccessDenied", 403, D, None),
    ("kms", "ExpiredToken", 400, E, CRED),  # "The provided token has expired"
    ("kms", "InvalidAccessKeyId", 403, E, CRED),
    ("kms", "SignatureDoesNotMatch", 403, E, CRED),
    ("kms", "SlowDown", 503, E, THROTTLED),
    # botocore models: data/sts/2011-06-15/service-2.json (ExpiredTokenException 400),
    # data/ivs/2020-07-14/service-2.json (PendingVerification 403, "Your account is pending
    # verification"), data/bedrock-agentcore-control/2023-06-05/service-2.json
    # (SubscriptionRequiredException 403, "requires an active AWS Marketplace subscription").
    ("kms", "ExpiredTokenException", 400, E, CRED),
    ("kms", "PendingVerification", 403, E, ACCOUNT),
    ("kms", "SubscriptionRequiredException", 403, E, ACCOUNT),
    # botocore data/_retry.json: throttling codes (HTTP 400) and HTTP 429 ...
    ("kms", "Throttling", 400, E, THROTTLED),
    ("kms", "ThrottledException", 400, E, THROTTLED),
    ("kms", "RequestThrottledException", 400, E, THROTTLED),
    ("kms", "ProvisionedThroughputExceededException", 400, E, THROTTLED),
    ("kms", None, 429, E, THROTTLED),
    # ... and general server errors by status (500, 502, 503, 504).
    ("kms", None, 500, E, SERVER),
    ("kms", None, 502, E, SERVER),
    ("kms", None, 504, E, SERVER),
    # botocore retries/standard.py, ThrottledRetryableChecker: "the union of all error codes
    # we've seen that represent a throttled error".
    ("kms", "TooManyRequestsException", 400, E, THROTTLED),
    ("kms", "TransactionInProgressException", 400, E, THROTTLED),
    ("kms", "BandwidthLimitExceeded", 400, E, THROTTLED),
    ("kms", "LimitExceededException", 400, E, THROTTLED),
    ("kms", "RequestThrottled", 400, E, THROTTLED),
    ("kms", "PriorRequestNotComplete", 400, E, THROTTLED),
    ("kms", "EC2ThrottledException", 400, E, THROTTLED),
]


@pytest.mark.parametrize(
    ("service", "code", "status", "outcome", "kind"),
    DOCUMENTED_CODES,
    ids=[f"{row[0]}-{row[1] or row[2]}-{row[2]}" for row in DOCUMENTED_CODES],
)
def test_documented_codes_classify_as_their_documented_meaning(
    service: str, code: str | None, status: int, outcome: Outcome, kind: ErrorKind | None
) -> None:
    """A permission fact only from a verdict code; credentials, account, region, throttling
    and server codes are errors of their kind, never 'denied' (a denial and an outage differ)."""
    verdict = classify(Answer(code, status), EC2 if service == "ec2" else KMS)
    assert (verdict.outcome, verdict.error_kind) == (outcome, kind), verdict


INC = Outcome.INCONCLUSIVE
CONNECTION = ErrorKind.CONNECTION
UNKNOWN = "an answer awsprobe does not know; not counted as allowed"
LOOKUP = (
    "rejected before a verdict (validation or resource lookup); supply real parameters to decide"
)

#: (answer, the verdict a user reads): one row per checker and per wording, the checker
#: named as in the module docstring's list. The reason is shown as a probe's detail, so
#: it names the code (or the HTTP status when there is none) and what it means.
VERDICTS = [
    (
        Answer.from_exception(ClientError({"Error": {"Message": "x"}}, "RunInstances")),  # type: ignore[arg-type]
        Verdict(E, "no_answer", "no usable answer (x)", CONNECTION),
    ),
    (
        Answer("400", 400),
        Verdict(
            E,
            "unreadable",
            "HTTP 400 with a body that could not be read (truncated or malformed): no verdict",
            CONNECTION,
        ),
    ),
    (
        Answer(None, 200),
        Verdict(
            Outcome.DRY_RUN_IGNORED,
            "ran_for_real",
            "HTTP 200: the service answered as if the call ran; it ignored the dry-run flag",
        ),
    ),
    (
        Answer("DryRunOperation", 412),
        Verdict(A, "dry_run_success", "DryRunOperation: would have succeeded"),
    ),
    (
        Answer("RequestLimitExceeded", 503),
        Verdict(E, "throttled", "RequestLimitExceeded: throttled after all retries", THROTTLED),
    ),
    (
        Answer(None, 429),
        Verdict(E, "throttled", "HTTP 429: throttled after all retries", THROTTLED),
    ),
    (
        Answer("AuthFailure", 401),
        Verdict(
            E,
            "credentials",
            "AuthFailure: the credentials were not accepted (or the region is not enabled)",
            CRED,
        ),
    ),
    (
        Answer("OptInRequired", 401),
        Verdict(
            E,
            "credentials",
            "OptInRequired: the account is not subscribed here or the region is not enabled",
            REGION,
        ),
    ),
    (
        Answer("Blocked", 403),
        Verdict(E, "credentials", "Blocked: the account cannot use this service yet", ACCOUNT),
    ),
    (
        Answer("UnauthorizedOperation", 403),
        Verdict(D, "denied", "UnauthorizedOperation: not authorized"),
    ),
    (
        Answer("InternalError", 500),
        Verdict(E, "server_error", "InternalError: server error after retries", SERVER),
    ),
    (Answer(None, 502), Verdict(E, "server_error", "HTTP 502: server error after retries", SERVER)),
    (Answer(None, 400), Verdict(INC, "inconclusive", "HTTP 400 without an error code")),
    (
        Answer("InvalidInstanceID.NotFound", 400),
        Verdict(INC, "inconclusive", f"InvalidInstanceID.NotFound: {LOOKUP}"),
    ),
    (Answer("SomethingNew", 400), Verdict(INC, "inconclusive", f"SomethingNew: {UNKNOWN}")),
    (  # a code without an HTTP status (a ClientError without ResponseMetadata)
        Answer.from_exception(ClientError({"Error": {"Code": "SomethingNew"}}, "RunInstances")),  # type: ignore[arg-type]
        Verdict(INC, "inconclusive", f"SomethingNew: {UNKNOWN}"),
    ),
]


@pytest.mark.parametrize(
    ("answer", "verdict"),
    VERDICTS,
    ids=[f"{v.checker}-{a.code or a.http_status}" for a, v in VERDICTS],
)
def test_each_verdict_names_its_checker_and_says_why(answer: Answer, verdict: Verdict) -> None:
    """Outcome, deciding checker, the reason a user reads, and the error kind."""
    assert classify(answer, EC2) == verdict


def _answer_for_body(service: str, body: bytes, status: int) -> Answer:
    """The answer a guarded client gives when the 'network' returns ``body`` and ``status``."""
    entry = EC2 if service == "ec2" else KMS
    client, replay = _replaying_client(service)
    replay.body, replay.status = body, status
    ctype = "text/xml" if service == "ec2" else "application/x-amz-json-1.1"
    replay.headers = {"Content-Type": ctype}
    try:
        parsed = getattr(client, entry.method)(**entry.probe_params())
    except Exception as exc:
        return Answer.from_exception(exc)
    return Answer.from_response(parsed)


#: (service, body, HTTP status, the Answer's code, its message, checker, outcome, kind):
#: bodies AWS never documents, through botocore's own parsers. botocore/parsers.py makes up
#: Code = str(status) for a body it cannot read (JSON: BaseJSONParser's fallback; any
#: protocol: a 5xx with an empty or <html> body, _do_generic_error_parse, with the status's
#: reason phrase as the message), and gives no Code for an error element without one.
PARSED = [
    ("kms", b"not json", 400, "400", "not json", "unreadable", E, CONNECTION),
    ("kms", b"", 403, "403", None, "unreadable", E, CONNECTION),
    ("kms", b"{}", 400, "400", None, "unreadable", E, CONNECTION),
    ("kms", b"", 500, "500", "Internal Server Error", "server_error", E, SERVER),
    ("ec2", b"", 503, "503", "Service Unavailable", "server_error", E, SERVER),
    ("ec2", b"<html></html>", 502, "502", "Bad Gateway", "server_error", E, SERVER),
    (
        "ec2",
        b"<Response><Errors><Error><Message>x</Message></Error></Errors></Response>",
        400,
        None,
        "x",
        "inconclusive",
        INC,
        None,
    ),
    ("ec2", b"<Response/>", 403, None, None, "inconclusive", INC, None),
    ("kms", b"{}", 300, None, None, "inconclusive", INC, None),  # 300 is not a 2xx: no run
]


@pytest.mark.parametrize(
    ("service", "body", "status", "code", "message", "checker", "outcome", "kind"), PARSED
)
def test_bodies_botocore_cannot_read_are_never_a_verdict(
    service: str,
    body: bytes,
    status: int,
    code: str | None,
    message: str | None,
    checker: str,
    outcome: Outcome,
    kind: ErrorKind | None,
) -> None:
    """A made-up code is an error (unreadable 4xx, or a 5xx); an HTTP error without a code
    is inconclusive: neither is a permission fact."""
    answer = _answer_for_body(service, body, status)
    assert (answer.code, answer.http_status, answer.message) == (code, status, message)
    verdict = classify(answer, EC2 if service == "ec2" else KMS)
    assert (verdict.checker, verdict.outcome, verdict.error_kind) == (checker, outcome, kind)


def test_an_error_xml_botocore_cannot_parse_is_no_answer() -> None:
    """EC2 (query protocol) with an empty 400 body: botocore raises ResponseParserError,
    so there is no HTTP answer at all."""
    answer = _answer_for_body("ec2", b"", 400)
    assert (answer.code, answer.http_status) == (None, None)
    assert isinstance(answer.exception, ResponseParserError)
    verdict = classify(answer, EC2)
    assert (verdict.checker, verdict.outcome, verdict.error_kind) == ("no_answer", E, CONNECTION)


def test_checkers_run_in_the_documented_order() -> None:
    """The order in the module docstring is the order of CHECKERS."""
    names = [c.__name__.lstrip("_") for c in CHECKERS]
    assert names == [
        "no_answer",
        "unreadable",
        "ran_for_real",
        "dry_run_success",
        "throttled",
        "credentials",
        "denied",
        "server_error",
    ]


SIGNALS = Signals(frozenset({"DryRunOperation"}), frozenset({"UnauthorizedOperation"}))


@settings(max_examples=2000, deadline=None)
@given(
    code=st.one_of(st.none(), st.text(max_size=40)),
    status=st.one_of(st.none(), st.integers(min_value=0, max_value=999)),
    message=st.one_of(st.none(), st.text(max_size=200)),
)
def test_fuzz_only_the_success_signal_is_ever_allowed(
    code: str | None, status: int | None, message: str | None
) -> None:
    """Random codes, statuses and bodies: 'allowed' iff the code is the success signal."""
    verdict = classify(Answer(code, status, message), SIGNALS)
    if code == "DryRunOperation":
        assert verdict.outcome is Outcome.ALLOWED
    else:
        assert verdict.outcome is not Outcome.ALLOWED


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=300),
    status=st.integers(min_value=100, max_value=599),
)
def test_fuzz_random_bodies_through_the_parser_are_never_allowed(body: bytes, status: int) -> None:
    """Garbage bodies with any status, parsed by botocore, never classify as allowed."""
    client, replay = _replaying_client("ec2")
    replay.body, replay.status, replay.headers = body, status, {}
    try:
        parsed = client.describe_instances(DryRun=True)
        answer = Answer.from_response(parsed)
    except Exception as exc:
        answer = Answer.from_exception(exc)
    verdict = classify(answer, load_catalog(services="ec2").find("ec2:DescribeInstances"))
    if answer.code != "DryRunOperation":
        assert verdict.outcome is not Outcome.ALLOWED


def test_echoed_secrets_are_redacted_but_the_encoded_blob_is_kept() -> None:
    """A key id echoed before the blob is masked; the blob itself reaches STS intact."""
    blob = "A" * 20 + "b1" * 20 + "-x_" + "Zq9" * 15
    error = {
        "Error": {
            "Code": "UnauthorizedOperation",
            "Message": "Credential=AKIAABCDEFGHIJKLMNOP/20260101 denied. "
            f"Encoded authorization failure message: {blob}",
        },
        "ResponseMetadata": {"HTTPStatusCode": 403},
    }
    answer = Answer.from_exception(ClientError(error, "RunInstances"))  # type: ignore[arg-type]
    assert answer.message is not None
    assert "AKIAABCDEFGHIJKLMNOP" not in answer.message
    assert answer.message.endswith(blob)


#: Every code this file's tables cite, so the fuzz below meets real ones often.
CITED_CODES = sorted({row[1] for row in DOCUMENTED_CODES if row[1]} | {"DryRunOperationException"})
#: The services' documented dry-run success signals: EC2 API Reference, Error codes
#: (DryRunOperation), and KMS Developer Guide, Testing your permissions
#: (DryRunOperationException).
DOCUMENTED_SUCCESS = {"ec2": "DryRunOperation", "kms": "DryRunOperationException"}


@settings(max_examples=1000, deadline=None)
@given(
    service=st.sampled_from(sorted(DOCUMENTED_SUCCESS)),
    code=st.one_of(st.none(), st.sampled_from(CITED_CODES), st.text(max_size=40)),
    status=st.one_of(st.none(), st.integers(min_value=0, max_value=999)),
)
def test_fuzz_real_entries_are_allowed_only_on_their_documented_success_code(
    service: str, code: str | None, status: int | None
) -> None:
    """For the catalog's EC2 and KMS entries, with any status: 'allowed' exactly when the
    code is that service's documented success signal (an unknown code never is)."""
    verdict = classify(Answer(code, status), EC2 if service == "ec2" else KMS)
    assert (verdict.outcome is Outcome.ALLOWED) is (code == DOCUMENTED_SUCCESS[service])
