"""The classifier's input: how a botocore exception or response becomes one ``Answer``,
what it says about an exception without an HTTP answer, what it redacts, and which
answers botocore made up from an unreadable body.

The ``ClientError.response`` rows follow botocore's documented shape, ``{"Error":
{"Code", "Message"}, "ResponseMetadata": {"HTTPStatusCode"}}`` (boto3 guide, Error
handling, https://docs.aws.amazon.com/boto3/latest/guide/error-handling.html), with the
parts a hand-built or odd ``ClientError`` may lack. Exception texts are botocore's own
(``botocore/exceptions.py``, each class's ``fmt``).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
from hypothesis import given, settings
from hypothesis import strategies as st

from awsprobe.catalog import load_catalog
from awsprobe.classify import Answer, ErrorKind, Outcome, classify, is_unreadable

EC2 = load_catalog(services="ec2").find("ec2:RunInstances")
KMS = load_catalog(services="kms").find("kms:Decrypt")
KEY_ID = "AKIAABCDEFGHIJKLMNOP"  # the shape of an access key id, not a real one
MARK = "Encoded authorization failure message:"  # EC2's words before the blob


#: (ClientError.response, code, HTTP status, message) of the Answer it gives.
CLIENT_ERRORS: list[tuple[dict[str, Any], str | None, int | None, str | None]] = [
    (
        {
            "Error": {"Code": "UnauthorizedOperation", "Message": "You are not authorized."},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "UnauthorizedOperation",
        403,
        "You are not authorized.",
    ),
    # no ResponseMetadata: no HTTP status is known
    (
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
        "AccessDenied",
        None,
        "Access Denied",
    ),
    # no Error element: an HTTP answer without a code
    ({"ResponseMetadata": {"HTTPStatusCode": 403}}, None, 403, None),
    # an empty code and message
    (
        {"Error": {"Code": "", "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        None,
        400,
        None,
    ),
    # neither part (botocore's ClientError itself refuses a null Error or ResponseMetadata)
    ({}, None, None, None),
]


@pytest.mark.parametrize(("response", "code", "status", "message"), CLIENT_ERRORS)
def test_a_client_error_gives_its_code_status_and_message(
    response: dict[str, Any], code: str | None, status: int | None, message: str | None
) -> None:
    """Code, HTTP status and message come from the error's response; a missing or empty
    part is None, never the text "None" or an empty string; the exception is kept."""
    exc = ClientError(response, "RunInstances")  # type: ignore[arg-type]
    answer = Answer.from_exception(exc)
    assert (answer.code, answer.http_status, answer.message) == (code, status, message)
    assert answer.exception is exc


#: (parsed response, HTTP status of the Answer). botocore puts ResponseMetadata with
#: HTTPStatusCode on every parsed dict; the runner passes {} for a call that returned
#: something else, and a call that returned normally is a 2xx: taken as 200.
RESPONSES: list[tuple[dict[str, Any], int]] = [
    (
        {"ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "EXAMPLE"}, "Reservations": []},
        200,
    ),
    ({"ResponseMetadata": {"HTTPStatusCode": 204}}, 204),
    ({"ResponseMetadata": {}}, 200),
    ({"ResponseMetadata": None}, 200),
    ({}, 200),
]


@pytest.mark.parametrize(("parsed", "status"), RESPONSES)
def test_a_normal_return_is_a_2xx_answer_without_a_code(
    parsed: dict[str, Any], status: int
) -> None:
    """A call that returned normally carries its HTTP status (200 when none is given) and
    no code or message: the service ran it, so the dry-run flag was ignored."""
    answer = Answer.from_response(parsed)
    assert answer == Answer(code=None, http_status=status, message=None)
    assert classify(answer, EC2).outcome is Outcome.DRY_RUN_IGNORED


#: (exception without an HTTP answer, the message its Answer carries).
NO_ANSWER_MESSAGES: list[tuple[BaseException, str]] = [
    (
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        'EndpointConnectionError: Could not connect to the endpoint URL: "http://127.0.0.1:9"',
    ),
    (
        ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"),
        'ConnectTimeoutError: Connect timeout on endpoint URL: "http://127.0.0.1:9"',
    ),
    (RuntimeError("  emulator blew up \n"), "RuntimeError: emulator blew up"),
    (RuntimeError(), "RuntimeError"),
    (TimeoutError("   "), "TimeoutError"),
]


@pytest.mark.parametrize(("exc", "message"), NO_ANSWER_MESSAGES)
def test_an_exception_without_an_answer_is_described_by_its_type_and_text(
    exc: BaseException, message: str
) -> None:
    """The message names the exception's type, then its text if it has any (trimmed); no
    code, no status; the verdict is a connection error that quotes it."""
    answer = Answer.from_exception(exc)
    assert answer == Answer(code=None, http_status=None, message=message)
    assert answer.exception is exc
    verdict = classify(answer, EC2)
    assert (verdict.outcome, verdict.error_kind) == (Outcome.ERROR, ErrorKind.CONNECTION)
    assert verdict.reason == f"no usable answer ({message})"


def test_a_key_id_in_an_exception_text_is_masked() -> None:
    """An exception's text may quote the signed request: its access key id is not kept."""
    answer = Answer.from_exception(RuntimeError(f"Credential={KEY_ID}/20260101/us-east-1"))
    assert answer.message is not None
    assert answer.message.startswith("RuntimeError: Credential=")
    assert KEY_ID not in answer.message


# A blob part of 40 mixed-case base64 characters between '-' is the shape of a secret
# access key, and `AKIA` + 16 is the shape of a key id: outside a blob both are redacted.
SECRET_SHAPED = "Ab1" * 13 + "C"
BLOB = f"x-{SECRET_SHAPED}-y_{KEY_ID}_z"


def _denial(message: str) -> Answer:
    error = {
        "Error": {"Code": "UnauthorizedOperation", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403},
    }
    return Answer.from_exception(ClientError(error, "RunInstances"))  # type: ignore[arg-type]


def test_the_encoded_blob_is_kept_verbatim_even_where_it_looks_secret() -> None:
    """Everything after the mark is the blob STS decodes: kept byte for byte, while a key
    id before the mark is masked."""
    answer = _denial(f"Credential={KEY_ID}/20260101 denied. {MARK} {BLOB}")
    assert answer.message is not None
    head, _, tail = answer.message.partition(MARK)
    assert KEY_ID not in head
    assert tail == f" {BLOB}"


def test_everything_after_the_first_mark_is_kept_verbatim() -> None:
    """Text that repeats the mark: nothing after its first occurrence is redacted."""
    text = f"denied. {MARK} {BLOB} {MARK} {BLOB}"
    assert _denial(text).message == text


def test_without_a_mark_secret_shapes_are_redacted() -> None:
    """The same secret-shaped text with no mark before it is redacted (the blob is kept
    only because of the mark)."""
    answer = _denial(f"denied. {BLOB}")
    assert answer.message is not None
    assert SECRET_SHAPED not in answer.message
    assert KEY_ID not in answer.message


@settings(max_examples=200, deadline=None)
@given(
    head=st.text(max_size=80),
    blob=st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=300
    ),
)
def test_fuzz_the_blob_after_the_mark_is_never_changed(head: str, blob: str) -> None:
    """Any text before the mark, any base64url blob after it: the blob arrives intact."""
    answer = _denial(f"{head}{MARK} {blob}")
    assert answer.message is not None
    assert answer.message.endswith(f"{MARK} {blob}")


#: (code, HTTP status, unreadable?). botocore's parsers, when they cannot read an error
#: body, make up Code = str(status) (botocore/parsers.py, _do_generic_error_parse and
#: the JSON parser's fallback); a 5xx is a server error whatever its body.
UNREADABLE = [
    ("400", 400, True),
    ("403", 403, True),
    ("412", 412, True),
    ("499", 499, True),
    ("500", 500, False),
    ("503", 503, False),
    ("400", 403, False),  # the code is not this answer's status
    ("AccessDenied", 403, False),
    (None, 400, False),
    ("403", None, False),
    ("0", None, False),  # no status at all: the code was not made up from one
]


@pytest.mark.parametrize(("code", "status", "unreadable"), UNREADABLE)
def test_unreadable_means_a_4xx_whose_code_is_its_own_status(
    code: str | None, status: int | None, unreadable: bool
) -> None:
    """Only a 4xx answer whose code is its own status number was unreadable."""
    assert is_unreadable(Answer(code, status)) is unreadable


@settings(max_examples=500, deadline=None)
@given(status=st.integers(min_value=100, max_value=599))
def test_fuzz_a_codeless_answer_is_dry_run_ignored_exactly_for_2xx(status: int) -> None:
    """RFC 9110 section 15.3: 2xx (200-299) is Successful. A codeless answer in that class
    means the call ran; no other status does."""
    verdict = classify(Answer(None, status), KMS)
    assert (verdict.outcome is Outcome.DRY_RUN_IGNORED) is (200 <= status <= 299)
    assert verdict.outcome is not Outcome.ALLOWED


# -- the questions the runner asks of the same Answer --------------------------------------

#: Credentials that stopped working mid-run: EC2 API Reference, Error codes (RequestExpired:
#: "If you're using temporary security credentials, this error can also occur if the
#: credentials have expired"); AWS Common Errors (InvalidClientTokenId: "The X.509 certificate
#: or AWS access key ID provided does not exist in our records"); ExpiredTokenException
#: (botocore data/sts/2011-06-15/service-2.json); ExpiredToken (Amazon S3 API Reference,
#: Error responses: "The provided token has expired").
EXPIRED = ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId")
#: Not expiry: a bad signature or key is never refreshed away (same sources).
NOT_EXPIRED = ("SignatureDoesNotMatch", "AuthFailure", "UnauthorizedOperation", "AccessDenied")


@pytest.mark.parametrize(
    ("code", "expired"), [(c, True) for c in EXPIRED] + [(c, False) for c in NOT_EXPIRED]
)
def test_expiry_is_read_from_the_answer(code: str, expired: bool) -> None:
    """is_expired: the codes that say the credentials expired, and only those; each is also
    a credentials error to the classifier (the runner's list is the classifier's)."""
    from awsprobe.classify import is_expired

    answer = Answer(code=code, http_status=400)
    assert is_expired(answer) is expired
    if expired:
        assert classify(answer, EC2).error_kind is ErrorKind.CREDENTIALS


#: EC2 API Reference, Error codes: AuthFailure (also a region not enabled for the account)
#: and OptInRequired ("You are not authorized to use the requested service ... opt in").
@pytest.mark.parametrize("code", ["AuthFailure", "OptInRequired"])
def test_a_disabled_region_answers_with_a_credentials_or_region_error(code: str) -> None:
    """The codes the runner takes, on a region's first probe, as "not enabled here" are
    classified as errors (credentials or region), never a verdict."""
    from awsprobe.classify import REGION_DISABLED_CODES

    assert code in REGION_DISABLED_CODES
    verdict = classify(Answer(code=code, http_status=401), EC2)
    assert verdict.outcome is Outcome.ERROR
    assert verdict.error_kind in (ErrorKind.CREDENTIALS, ErrorKind.REGION)


@pytest.mark.parametrize(
    ("answer", "transport"),
    [
        (Answer(exception=EndpointConnectionError(endpoint_url="http://127.0.0.1:9")), True),
        (Answer(exception=ConnectTimeoutError(endpoint_url="http://127.0.0.1:9")), True),
        (Answer(exception=RuntimeError("a bug")), False),  # no answer, but not the wire's fault
        (Answer(code="Throttling", exception=ConnectTimeoutError(endpoint_url="x")), False),
        (Answer(http_status=500), False),
    ],
)
def test_a_transport_fault_is_an_exception_of_the_wire_without_a_code(
    answer: Answer, transport: bool
) -> None:
    """is_transport_fault: no code and one of botocore's transport exceptions (retried); any
    other exception is still "no usable answer" to the classifier, but not retried."""
    from awsprobe.classify import is_transport_fault

    assert is_transport_fault(answer) is transport
