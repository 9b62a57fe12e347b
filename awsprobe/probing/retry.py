"""Retry: which answers are worth another attempt, and how long to wait before it.

botocore's own retries are switched off in every probe client
(``total_max_attempts=1``): its standard-mode retry quota refills only on 2xx answers,
and every dry-run answer is a 4xx, so a long sweep would silently stop retrying
(botocore ``retries/quota.py``). awsprobe retries here instead, on the model of
botocore's ``retries/standard.py``: a checker that reads one
:class:`~awsprobe.classify.Answer` -- with the classifier's own questions and code
tables, so that what is retried and what is then called a throttle or a server error
cannot disagree -- and a capped full-jitter backoff.

The random source is a parameter; the default is the operating system's, never the
:mod:`random` module's shared state, and never one copied into forked workers (they
would all back off in step). The waiting itself is the caller's (the runner waits on
its stop event, so that a stop cuts a wait short).
"""

from __future__ import annotations

import random
from typing import Final

from awsprobe.classify import (
    Answer,
    is_server_error,
    is_throttled,
    is_transport_fault,
    is_unreadable,
)

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "JITTER", "backoff_delay", "is_retryable"]

BACKOFF_BASE: Final = 0.2
BACKOFF_CAP: Final = 20.0
#: The default source of backoff jitter (see the module's docstring).
JITTER: Final = random.SystemRandom()


def is_retryable(answer: Answer) -> bool:
    """Whether ``answer`` is worth another attempt.

    Throttled (a throttling code or HTTP 429), a server error (a transient server code
    or an HTTP 5xx), no answer because of the transport, or a 4xx body botocore could
    not read. A verdict, a bad request or a 2xx is the answer.
    """
    return (
        is_throttled(answer)
        or is_server_error(answer)
        or is_transport_fault(answer)
        or is_unreadable(answer)
    )


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """How long to wait after failed attempt number ``attempt`` (1 for the first).

    Capped exponential backoff with full jitter: uniform over
    ``[0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)]``, the model of botocore's
    ``retries/standard.py`` ``ExponentialBackoff`` (its cap is also 20 s).
    """
    return (rng or JITTER).uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
