"""The options of a probe run, their limits, and the one check of workers and processes.

:class:`RunOptions` is what every :class:`~awsprobe.probing.runner.Runner` (and every
worker process) is given: a frozen value, checked when it is made. The CLI, the pytest
plugin and :func:`~awsprobe.probing.orchestrate.probe` check ``workers`` and
``processes`` with :func:`check_concurrency` (the CLI names its flags).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from awsprobe.errors import UsageError

__all__ = [
    "AUTO",
    "CONNECT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_WORKERS",
    "HTTP_CHOICES",
    "HTTP_SETTING",
    "MAX_PROCESSES",
    "MAX_WORKERS",
    "READ_TIMEOUT",
    "RunOptions",
    "check_concurrency",
    "check_max_attempts",
    "chosen_http",
]

#: Requests in flight at once per process when ``workers`` is not given. AWS limits
#: each action's rate, not concurrency, and a sweep sends each action once per region.
#: A probe costs ~0.75 ms of CPU (awsprobe.transport), so at 30 ms a round trip about
#: 40 in flight keep one process's core busy. 17 regions x 786 on 2 cores at 30 ms:
#: two processes x 32 took 8.5 s, x 48 7.0-7.3 s, x 64 6.4-7.1 s; one process at 32
#: 14.9 s, at 64 10.9 s, peaking at ~150 MB either way (benchmarks, figure 4).
DEFAULT_WORKERS: Final = 64
#: More threads than this gain nothing (AWS throttles per action) and cost memory.
MAX_WORKERS: Final = 256
DEFAULT_MAX_ATTEMPTS: Final = 5
CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 15.0
#: An explicit ``processes=`` above this is a mistake, not a speed-up.
MAX_PROCESSES: Final = 64
#: ``processes=AUTO``: one process per usable core for large runs, where forking is safe.
AUTO: Final = "auto"


def check_concurrency(
    workers: int | None = None,
    processes: int | str = 1,
    *,
    workers_name: str = "workers",
    processes_name: str = "processes",
) -> None:
    """:class:`UsageError` unless ``workers`` is ``None`` or 1..:data:`MAX_WORKERS` and
    ``processes`` is :data:`AUTO` or 1..:data:`MAX_PROCESSES`.

    ``workers_name`` and ``processes_name`` are what the caller calls them
    (``workers=`` in Python, ``--workers`` on the command line).
    """
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"{workers_name} must be between 1 and {MAX_WORKERS}, not {workers}")
    if processes == AUTO:
        return
    if isinstance(processes, bool) or not isinstance(processes, int):
        raise UsageError(f"{processes_name} must be a number or auto, not {processes!r}")
    if not 1 <= processes <= MAX_PROCESSES:
        raise UsageError(
            f"{processes_name} must be between 1 and {MAX_PROCESSES} or auto (one per core), "
            f"not {processes}"
        )


#: The environment variable that chooses the probe clients' HTTP session, and its values:
#: ``light`` (:mod:`awsprobe.transport`, the default) or ``botocore`` (its own session).
HTTP_SETTING: Final = "AWSPROBE_HTTP"
HTTP_CHOICES: Final = ("light", "botocore")


def chosen_http() -> str:
    """``AWSPROBE_HTTP`` (``light`` when unset); :class:`UsageError` for anything else."""
    value = os.environ.get(HTTP_SETTING, "").strip().lower() or "light"
    if value not in HTTP_CHOICES:
        raise UsageError(
            f"{HTTP_SETTING}={os.environ[HTTP_SETTING]!r} is not one of "
            f"{', '.join(HTTP_CHOICES)}: unset it, or set it to botocore to send through "
            "botocore's own HTTP session"
        )
    return value


def check_max_attempts(max_attempts: int) -> None:
    """:class:`UsageError` unless at least one attempt is allowed."""
    if max_attempts < 1:
        raise UsageError(f"max_attempts must be at least 1, not {max_attempts}")


@dataclass(frozen=True)
class RunOptions:
    """How one identity's probes are sent (checked when made)."""

    #: Requests in flight at once.
    workers: int = DEFAULT_WORKERS
    endpoint_url: str | None = None
    #: TLS verification: ``None`` (botocore's default: verify), ``False``, or a CA bundle.
    verify: bool | str | None = None
    #: Requests per probe at most, retries included.
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    #: The probe clients' HTTP session: ``light`` (:mod:`awsprobe.transport`) or
    #: ``botocore`` (its own); by default ``AWSPROBE_HTTP``, else ``light``.
    http: str = field(default_factory=chosen_http)

    def __post_init__(self) -> None:
        check_concurrency(self.workers)
        check_max_attempts(self.max_attempts)
        if self.http not in HTTP_CHOICES:
            raise UsageError(f"http must be one of {', '.join(HTTP_CHOICES)}, not {self.http!r}")
