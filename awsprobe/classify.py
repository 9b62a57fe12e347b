"""The classifier: what one answer to a dry run means.

Every answer -- a parsed error, an HTTP status, a caught exception -- becomes
one :class:`Answer`. Small single-question checkers then decide, in this fixed
order, the first one to answer wins (the model is botocore's retry checkers):

1. ``no_answer``        an exception with no HTTP answer (connection refused
                        or reset, timeout, unparseable body)       -> error
   ``unreadable``       an HTTP error whose body botocore could not parse
                        (it reports the status as the code)        -> error
2. ``ran_for_real``     a 2xx answer: the service ignored the flag -> dry_run_ignored
3. ``dry_run_success``  the service's own success signal
                        (``DryRunOperation`` for EC2, ...)         -> allowed
4. ``throttled``        a throttling code or HTTP 429, after retries -> error
5. ``credentials``      the credentials, account or region are not usable
                        (``AuthFailure``, ``ExpiredToken``, ``OptInRequired``...) -> error
6. ``denied``           an authorization failure (the service's own denial
                        codes and the generic ``AccessDenied*``)    -> denied
7. ``server_error``     a 5xx answer or a transient server code    -> error
8. ``inconclusive``     anything else: validation errors, ``*.NotFound``,
                        ``*.Malformed``, ``Missing*``, ``Invalid*``,
                        ``Unsupported*`` and every code awsprobe does not know
                                                                   -> inconclusive

Only checker 3 can say ``allowed``: an unknown code never does. The code
lists are data, declared once below, and so are the questions the probe runner
asks of the same :class:`Answer` before it is classified (``is_throttled``,
``is_server_error``, ``is_transport_fault``, ``is_expired``, and the table
``REGION_DISABLED_CODES``): what to retry, when the credentials are gone, when a
region is not enabled.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.parsers import ResponseParserError

from awsprobe.model import ErrorKind, Outcome
from awsprobe.redact import redact

__all__ = [
    "AUTH_ERROR_CODES",
    "CHECKERS",
    "EXPIRED_CODES",
    "GENERIC_DENIAL_CODES",
    "REGION_DISABLED_CODES",
    "SERVER_ERROR_CODES",
    "THROTTLE_CODES",
    "TRANSPORT_FAULTS",
    "Answer",
    "ErrorKind",
    "Outcome",
    "Verdict",
    "classify",
    "is_expired",
    "is_server_error",
    "is_throttled",
    "is_transport_fault",
    "is_unreadable",
]


#: Throttling codes (botocore ``retries/standard.py`` and ``data/_retry.json``).
THROTTLE_CODES: Final = frozenset(
    {
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
    }
)

#: Credential, account and region problems: never a permission fact (AWS EC2 API Reference,
#: Error codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
AUTH_ERROR_CODES: Final[dict[str, ErrorKind]] = {
    "AuthFailure": ErrorKind.CREDENTIALS,  # also a region not enabled: REGION_DISABLED_CODES
    "InvalidClientTokenId": ErrorKind.CREDENTIALS,
    "UnrecognizedClientException": ErrorKind.CREDENTIALS,
    "SignatureDoesNotMatch": ErrorKind.CREDENTIALS,
    "IncompleteSignature": ErrorKind.CREDENTIALS,
    "InvalidAccessKeyId": ErrorKind.CREDENTIALS,
    "MissingAuthenticationToken": ErrorKind.CREDENTIALS,
    "InvalidSignatureException": ErrorKind.CREDENTIALS,
    "RequestExpired": ErrorKind.CREDENTIALS,
    "ExpiredToken": ErrorKind.CREDENTIALS,
    "ExpiredTokenException": ErrorKind.CREDENTIALS,
    "OptInRequired": ErrorKind.REGION,
    "Blocked": ErrorKind.ACCOUNT,
    "PendingVerification": ErrorKind.ACCOUNT,
    "SubscriptionRequiredException": ErrorKind.ACCOUNT,
}

#: Of :data:`AUTH_ERROR_CODES`, the answers that mean the credentials stopped working
#: mid-run: the runner refreshes refreshable credentials, else stops the identity (AWS EC2 API
#: Reference, Error codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html;
#: ExpiredTokenException: botocore data/sts/2011-06-15/service-2.json).
EXPIRED_CODES: Final = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}
)

#: Of :data:`AUTH_ERROR_CODES`, the answers that, to the first probe of a (service, region),
#: mean the region is not enabled for the account (EC2 API Reference, Error codes:
#: AuthFailure, OptInRequired): the runner sends nothing more there.
REGION_DISABLED_CODES: Final = frozenset({"AuthFailure", "OptInRequired"})

#: Authorization failures recognised for every service, on top of each service's own.
GENERIC_DENIAL_CODES: Final = frozenset({"AccessDenied", "AccessDeniedException"})

#: Transient server-side codes (answered without a decision).
SERVER_ERROR_CODES: Final = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSInternalException",
        "DependencyTimeoutException",
    }
)

#: Codes that say the request was rejected before a verdict: a named reason to be inconclusive.
_VALIDATION_PATTERN: Final = re.compile(
    r"(\.NotFound$|NotFound(Exception)?$|\.Malformed$|Malformed|^Missing|^Invalid|^Unsupported"
    r"|Validation|^UnknownParameter$|^IncorrectState|^DependencyViolation$|NotSpecified$)"
)


@dataclass(frozen=True)
class Answer:
    """Everything known about one answer: the context every checker reads."""

    code: str | None = None
    http_status: int | None = None
    message: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_exception(cls, exc: BaseException) -> Answer:
        """The answer carried by a botocore exception (or its absence)."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error") or {}  # absent or None: no error element
            meta = exc.response.get("ResponseMetadata") or {}
            status = meta.get("HTTPStatusCode")
            message = error.get("Message")
            return cls(
                code=str(error.get("Code")) if error.get("Code") else None,
                http_status=int(status) if status is not None else None,
                # AWS may echo the signed request (token, key id) back: never keep it
                message=_redact(str(message)) if message else None,
                exception=exc,
            )
        return cls(message=_redact(_describe(exc)), exception=exc)

    @classmethod
    def from_response(cls, parsed: dict[str, Any]) -> Answer:
        """The answer of a call that returned normally (a 2xx)."""
        meta = parsed.get("ResponseMetadata") or {}
        status = meta.get("HTTPStatusCode", 200)
        return cls(http_status=int(status))


_BLOB_MARK: Final = "Encoded authorization failure message:"


def _redact(text: str) -> str:
    """Redact what AWS may echo back (tokens, key ids), but never the encoded
    authorization message: an opaque AWS blob that must reach STS intact."""
    head, mark, blob = text.partition(_BLOB_MARK)
    return redact(head) + mark + blob


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    return f"{name}: {text}" if text else name


@dataclass(frozen=True)
class Verdict:
    """The classifier's decision: outcome, why, and (for errors) what kind of error."""

    outcome: Outcome
    checker: str
    reason: str
    error_kind: ErrorKind | None = None


@dataclass(frozen=True)
class Signals:
    """The per-service codes a classification needs (a :class:`CatalogEntry` has them)."""

    success_codes: Collection[str]
    denial_codes: Collection[str]


Checker = Callable[[Answer, Signals], Verdict | None]

#: Exceptions that mean a request got no answer because of the way there or back (refused,
#: timed out, reset, cut short, unparseable): worth another attempt. botocore wraps every
#: transport failure in its own classes (``botocore/httpsession.py``); any other exception
#: without a code is still "no answer" to ``no_answer``, but not retried.
TRANSPORT_FAULTS: Final = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ResponseStreamingError,
    ResponseParserError,
    http.client.IncompleteRead,
)


def is_throttled(answer: Answer) -> bool:
    """A throttling code, or HTTP 429."""
    return answer.code in THROTTLE_CODES or answer.http_status == 429


def is_server_error(answer: Answer) -> bool:
    """A transient server-side code, or an HTTP 5xx."""
    status = answer.http_status
    return answer.code in SERVER_ERROR_CODES or (status is not None and status >= 500)


def is_transport_fault(answer: Answer) -> bool:
    """No code, and an exception of :data:`TRANSPORT_FAULTS`."""
    return answer.code is None and isinstance(answer.exception, TRANSPORT_FAULTS)


def is_expired(answer: Answer) -> bool:
    """The credentials stopped working (:data:`EXPIRED_CODES`)."""
    return answer.code in EXPIRED_CODES


def is_unreadable(answer: Answer) -> bool:
    """botocore could not parse a 4xx error body and made up ``Code = str(status)``.

    (A 5xx with an unreadable body is a server error, decided by ``server_error``.)
    """
    status = answer.http_status
    return status is not None and status < 500 and answer.code == str(status)


def _unreadable(answer: Answer, _: Signals) -> Verdict | None:
    if is_unreadable(answer):
        return Verdict(
            Outcome.ERROR,
            "unreadable",
            f"HTTP {answer.http_status} with a body that could not be read (truncated or "
            "malformed): no verdict",
            ErrorKind.CONNECTION,
        )
    return None


def _no_answer(answer: Answer, _: Signals) -> Verdict | None:
    if answer.code is not None:
        return None
    if answer.exception is None:
        return None
    if isinstance(answer.exception, ClientError) and answer.http_status is not None:
        return None  # an HTTP answer without a code: let the status checkers decide
    kind = ErrorKind.CONNECTION
    return Verdict(Outcome.ERROR, "no_answer", f"no usable answer ({answer.message})", kind)


def _ran_for_real(answer: Answer, _: Signals) -> Verdict | None:
    if answer.code is None and answer.http_status is not None and 200 <= answer.http_status < 300:
        return Verdict(
            Outcome.DRY_RUN_IGNORED,
            "ran_for_real",
            f"HTTP {answer.http_status}: the service answered as if the call ran; "
            "it ignored the dry-run flag",
        )
    return None


def _dry_run_success(answer: Answer, signals: Signals) -> Verdict | None:
    if answer.code is not None and answer.code in signals.success_codes:
        return Verdict(Outcome.ALLOWED, "dry_run_success", f"{answer.code}: would have succeeded")
    return None


def _throttled(answer: Answer, _: Signals) -> Verdict | None:
    if is_throttled(answer):
        return Verdict(
            Outcome.ERROR,
            "throttled",
            f"{answer.code or 'HTTP 429'}: throttled after all retries",
            ErrorKind.THROTTLED,
        )
    return None


def _credentials(answer: Answer, _: Signals) -> Verdict | None:
    if answer.code is None or answer.code not in AUTH_ERROR_CODES:
        return None
    kind = AUTH_ERROR_CODES[answer.code]
    what = {
        ErrorKind.CREDENTIALS: "the credentials were not accepted (or the region is not enabled)",
        ErrorKind.REGION: "the account is not subscribed here or the region is not enabled",
        ErrorKind.ACCOUNT: "the account cannot use this service yet",
    }[kind]
    return Verdict(Outcome.ERROR, "credentials", f"{answer.code}: {what}", kind)


def _denied(answer: Answer, signals: Signals) -> Verdict | None:
    if answer.code is None:
        return None
    if answer.code in signals.denial_codes or answer.code in GENERIC_DENIAL_CODES:
        return Verdict(Outcome.DENIED, "denied", f"{answer.code}: not authorized")
    return None


def _server_error(answer: Answer, _: Signals) -> Verdict | None:
    if is_server_error(answer):
        label = answer.code or f"HTTP {answer.http_status}"
        return Verdict(
            Outcome.ERROR, "server_error", f"{label}: server error after retries", ErrorKind.SERVER
        )
    return None


def _inconclusive(answer: Answer) -> Verdict:
    code = answer.code
    if code is None:
        status = answer.http_status
        return Verdict(Outcome.INCONCLUSIVE, "inconclusive", f"HTTP {status} without an error code")
    if _VALIDATION_PATTERN.search(code):
        return Verdict(
            Outcome.INCONCLUSIVE,
            "inconclusive",
            f"{code}: rejected before a verdict (validation or resource lookup); "
            "supply real parameters to decide",
        )
    return Verdict(
        Outcome.INCONCLUSIVE,
        "inconclusive",
        f"{code}: an answer awsprobe does not know; not counted as allowed",
    )


#: The checkers, in the order they are asked. The last always answers.
CHECKERS: Final[tuple[Checker, ...]] = (
    _no_answer,
    _unreadable,
    _ran_for_real,
    _dry_run_success,
    _throttled,
    _credentials,
    _denied,
    _server_error,
)


def classify(answer: Answer, signals: Signals | Any) -> Verdict:
    """Decide what ``answer`` means for a probe with ``signals``' success/denial codes.

    ``signals`` is anything with ``success_codes`` and ``denial_codes``, such
    as a :class:`~awsprobe.catalog.CatalogEntry`.
    """
    for checker in CHECKERS:
        verdict = checker(answer, signals)
        if verdict is not None:
            return verdict
    return _inconclusive(answer)
