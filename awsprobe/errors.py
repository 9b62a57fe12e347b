"""Every error awsprobe raises.

One base class, so that a caller can catch everything awsprobe raises in one
place; subclasses say what went wrong and what to do next. When a botocore
exception is the cause it is kept as ``__cause__``. Tell errors apart by
class, never by message text: the messages are for people.

This module is a leaf: it imports nothing of awsprobe at run time.

::

    AwsprobeError
    ├── UnsafeRequestError      the guard refused to send a request without its dry-run flag
    ├── UsageError              bad input: an unknown service, a glob that matches nothing, ...
    │   ├── UnknownServiceError
    │   └── NoMatchError
    ├── CredentialsError        no usable credentials (none found, expired, invalid)
    │   └── CredentialsExpired  they expired mid-run; ``matrix`` holds the results so far
    ├── EndpointUnreachable     an AWS endpoint did not answer (connection, timeout, bad reply)
    ├── ProbeInterrupted        Ctrl-C mid-run (also a KeyboardInterrupt); ``matrix`` is kept
    ├── WorkerFailed            a probe worker process died; ``matrix`` is kept
    ├── SchemaError             a saved matrix or data file that awsprobe cannot read
    └── SandboxError            the local sandbox could not start or was given a bad policy
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - the data model, for annotations only
    from awsprobe.matrix import Matrix

__all__ = [
    "AwsprobeError",
    "CredentialsError",
    "CredentialsExpired",
    "EndpointUnreachable",
    "NoMatchError",
    "ProbeInterrupted",
    "SandboxError",
    "SchemaError",
    "UnknownServiceError",
    "UnsafeRequestError",
    "UsageError",
    "WorkerFailed",
]


class AwsprobeError(Exception):
    """Base class of every error awsprobe raises."""


class UnsafeRequestError(AwsprobeError):
    """The wire guard refused to send a request that lacks its dry-run flag.

    Nothing reached the network. This is always a bug in awsprobe or in code
    that reused one of awsprobe's clients for a real call.
    """

    def __init__(self, service: str, operation: str, why: str) -> None:
        self.service = service
        self.operation = operation
        self.why = why
        super().__init__(
            f"refused to send {service}:{operation}: {why}; awsprobe only sends dry runs "
            "(nothing was sent; report this as a bug if awsprobe itself built the request)"
        )


class UsageError(AwsprobeError):
    """Bad input from the caller: the message names the problem and the fix."""


class UnknownServiceError(UsageError):
    """A service name that botocore does not know or that has no dry-run operations."""


class NoMatchError(UsageError):
    """An action glob or filter that selects nothing from the catalog."""


class CredentialsError(AwsprobeError):
    """No usable credentials: none found, expired or rejected."""


class CredentialsExpired(CredentialsError):
    """Credentials expired mid-run; probing stopped for that identity, ``matrix`` keeps
    every result gathered (the CLI saves it and exits 3)."""

    def __init__(self, matrix: Matrix, identities: Sequence[str], code: str = "") -> None:
        self.matrix = matrix
        self.identities = tuple(identities)
        self.code = code
        hint = (
            "check the clock (RequestExpired also means clock skew) or refresh the credentials"
            if code == "RequestExpired"
            else "refresh the credentials (a new session or MFA code)"
        )
        said = f" ({code})" if code else ""
        super().__init__(
            f"the credentials of {', '.join(self.identities)} expired mid-run{said}; probing "
            f"stopped after {len(matrix.results)} results (kept); {hint} and run again"
        )


class EndpointUnreachable(AwsprobeError):
    """An AWS endpoint did not answer: no connection, a timeout, or a reply that could
    not be read. Nothing is known about any permission; ``__cause__`` is botocore's
    exception. ``what`` says which endpoint and for what, ``detail`` what went wrong."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail
        super().__init__(f"cannot reach {what} ({detail}); check --endpoint-url and the network")


class ProbeInterrupted(AwsprobeError, KeyboardInterrupt):
    """The run was interrupted; ``matrix`` holds every result gathered before it.

    Also a :class:`KeyboardInterrupt`, so that code which handles Ctrl-C handles it.
    """

    def __init__(self, matrix: Matrix) -> None:
        self.matrix = matrix
        super().__init__(
            f"interrupted after {len(matrix.results)} results; the partial matrix is kept "
            "in .matrix: save it, or run again to finish"
        )


class WorkerFailed(AwsprobeError):
    """A worker process failed; the results it sent before are kept in ``matrix``.

    The message names the failure and the fix (probe in one process).
    """

    def __init__(self, message: str, matrix: Matrix) -> None:
        self.matrix = matrix
        super().__init__(message)


class SchemaError(AwsprobeError):
    """A file awsprobe wrote (or should have written) that it cannot read back."""


class SandboxError(AwsprobeError):
    """The local sandbox could not start, or was given a policy it cannot use."""
