"""awsprobe: tell an AWS identity exactly what it may do, without doing any of it.

The public API is what ``__all__`` lists; everything else may change.
"""

from __future__ import annotations

import logging

from awsprobe._version import __version__
from awsprobe.catalog import Catalog, CatalogEntry, load_catalog
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
from awsprobe.tables import AccessLevel

__all__ = [
    "AccessLevel",
    "AwsprobeError",
    "Catalog",
    "CatalogEntry",
    "CredentialsError",
    "NoMatchError",
    "SandboxError",
    "SchemaError",
    "UnknownServiceError",
    "UnsafeRequestError",
    "UsageError",
    "__version__",
    "guarded_client",
    "install_guard",
    "load_catalog",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
