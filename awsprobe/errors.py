"""Every error awsprobe raises.

One base class, so that a caller can catch everything awsprobe raises in one
place; subclasses say what went wrong and what to do next. When a botocore
exception is the cause it is kept as ``__cause__``.

::

    AwsprobeError
    ├── UnsafeRequestError      the guard refused to send a request without its dry-run flag
    ├── UsageError              bad input: an unknown service, a glob that matches nothing, ...
    │   ├── UnknownServiceError
    │   └── NoMatchError
    ├── CredentialsError        no usable credentials (none found, expired, invalid)
    ├── SchemaError             a saved matrix or data file that awsprobe cannot read
    └── SandboxError            the local sandbox could not start or was given a bad policy
"""

from __future__ import annotations

__all__ = [
    "AwsprobeError",
    "CredentialsError",
    "NoMatchError",
    "SandboxError",
    "SchemaError",
    "UnknownServiceError",
    "UnsafeRequestError",
    "UsageError",
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


class SchemaError(AwsprobeError):
    """A file awsprobe wrote (or should have written) that it cannot read back."""


class SandboxError(AwsprobeError):
    """The local sandbox could not start, or was given a policy it cannot use."""
