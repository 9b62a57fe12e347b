"""awsprobe: tell an AWS identity exactly what it may do, without doing any of it.

The public API is what ``__all__`` lists; everything else may change. Names are
imported on first use, so ``import awsprobe`` (and the pytest plugin, which
every pytest run loads) costs nothing until awsprobe is actually used.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from awsprobe._version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from awsprobe.catalog import Catalog, CatalogEntry, load_catalog
    from awsprobe.errors import (
        AwsprobeError,
        CredentialsError,
        NoMatchError,
        ProbeInterrupted,
        SandboxError,
        SchemaError,
        UnknownServiceError,
        UnsafeRequestError,
        UsageError,
    )
    from awsprobe.guard import guarded_client, install_guard
    from awsprobe.identity import WhoAmI, whoami
    from awsprobe.matrix import Matrix
    from awsprobe.model import (
        Disagreement,
        ErrorKind,
        Identity,
        Outcome,
        ProbeResult,
        Simulation,
        Source,
    )
    from awsprobe.probing.orchestrate import can, probe
    from awsprobe.probing.request import probe_request
    from awsprobe.sandbox import Sandbox
    from awsprobe.tables import AccessLevel

#: Public name -> the module that defines it.
_WHERE = {
    "AccessLevel": "tables",
    "AwsprobeError": "errors",
    "Catalog": "catalog",
    "CatalogEntry": "catalog",
    "CredentialsError": "errors",
    "Disagreement": "model",
    "ErrorKind": "model",
    "Identity": "model",
    "Matrix": "matrix",
    "NoMatchError": "errors",
    "Outcome": "model",
    "ProbeInterrupted": "errors",
    "ProbeResult": "model",
    "Sandbox": "sandbox",
    "SandboxError": "errors",
    "SchemaError": "errors",
    "Simulation": "model",
    "Source": "model",
    "UnknownServiceError": "errors",
    "UnsafeRequestError": "errors",
    "UsageError": "errors",
    "WhoAmI": "identity",
    "can": "probing.orchestrate",
    "guarded_client": "guard",
    "install_guard": "guard",
    "load_catalog": "catalog",
    "probe": "probing.orchestrate",
    "probe_request": "probing.request",
    "whoami": "identity",
}

__all__ = [
    "AccessLevel",
    "AwsprobeError",
    "Catalog",
    "CatalogEntry",
    "CredentialsError",
    "Disagreement",
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
    "Simulation",
    "Source",
    "UnknownServiceError",
    "UnsafeRequestError",
    "UsageError",
    "WhoAmI",
    "__version__",
    "can",
    "guarded_client",
    "install_guard",
    "load_catalog",
    "probe",
    "probe_request",
    "whoami",
]


if set(__all__) != {*_WHERE, "__version__"}:  # pragma: no cover - caught by the tests
    raise ImportError("awsprobe.__all__ and its lazy-import table disagree")


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'awsprobe' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"awsprobe.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


logging.getLogger(__name__).addHandler(logging.NullHandler())
