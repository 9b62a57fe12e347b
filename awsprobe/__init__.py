"""awsprobe: tell an AWS identity exactly what it may do, without doing any of it.

The public API is what ``__all__`` lists; everything else may change.
"""

from __future__ import annotations

import logging

from awsprobe._version import __version__
from awsprobe.catalog import Catalog, CatalogEntry, load_catalog
from awsprobe.classify import ErrorKind, Outcome
from awsprobe.errors import (
    AwsprobeError,
    CredentialsError,
    NoMatchError,
    SandboxError,
    SchemaError,
    UnknownServiceError,
    UnsafeRequestError,
    UsageError,
)
from awsprobe.guard import guarded_client, install_guard
from awsprobe.matrix import Identity, Matrix, ProbeResult
from awsprobe.runner import ProbeInterrupted, can, probe
from awsprobe.sandbox import Sandbox
from awsprobe.tables import AccessLevel

__all__ = [
    "AccessLevel",
    "AwsprobeError",
    "Catalog",
    "CatalogEntry",
    "CredentialsError",
    "ErrorKind",
    "Identity",
    "Matrix",
    "NoMatchError",
    "Outcome",
    "ProbeInterrupted",
    "ProbeResult",
    "Sandbox",
    "SandboxError",
    "SchemaError",
    "UnknownServiceError",
    "UnsafeRequestError",
    "UsageError",
    "__version__",
    "can",
    "guarded_client",
    "install_guard",
    "load_catalog",
    "probe",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
