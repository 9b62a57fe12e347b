"""Pacing: AWS's token buckets per action, and the :class:`Pacer` that keeps within them.

EC2 throttles per account, region and action with token buckets (EC2 Developer Guide,
Request throttling); :func:`bucket_for` is that table as data, and :class:`Pacer` keeps
one :class:`TokenBucket` per (account, region, service, action) at the published refill
rates, so repeated probes of one action are spaced and a throttled action slows down.
The clock is a parameter (botocore's ``retries/bucket.py`` takes one too): tests move
time by hand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

from awsprobe.tables import is_read_only

__all__ = [
    "DEFAULT_BUCKET",
    "EC2_BUCKETS",
    "MIN_RATE",
    "RATE_MARGIN",
    "Clock",
    "Pacer",
    "TokenBucket",
    "bucket_for",
]

#: A monotonic clock in seconds.
Clock = Callable[[], float]

#: EC2 API token buckets (capacity, refill per second), per action: EC2 Developer Guide,
#: Request throttling, https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
EC2_BUCKETS: Final[dict[str, tuple[float, float]]] = {
    "non-mutating": (100.0, 20.0),
    "unfiltered": (50.0, 10.0),
    "mutating": (50.0, 5.0),
    "RunInstances": (5.0, 2.0),
    "StartInstances": (5.0, 2.0),
    "TerminateInstances": (100.0, 5.0),
    "CreateTags": (100.0, 10.0),
    "CreateVpcEndpoint": (4.0, 0.3),
    "AdvertiseByoipCidr": (1.0, 0.1),
    "DescribeByoipCidrs": (1.0, 0.5),
}
_EC2_UNFILTERED: Final = frozenset(
    {
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DescribeNetworkInterfaces",
        "DescribeSecurityGroups",
        "DescribeSnapshots",
        "DescribeSpotInstanceRequests",
        "DescribeVolumes",
    }
)
#: Other services: a conservative default bucket per action.
DEFAULT_BUCKET: Final = (20.0, 5.0)
#: The pacer plans at 95 % of the published refill rates: it spaces requests when it
#: decides, AWS counts them when they arrive, and an exact plan turns a millisecond of
#: jitter into RequestLimitExceeded, a halved rate and a long wait (benchmarks, figure 5).
RATE_MARGIN: Final = 0.95
#: However often an action is throttled, its refill rate stays at least this (per second).
MIN_RATE: Final = 0.1


def bucket_for(service: str, operation: str) -> tuple[float, float]:
    """The (capacity, refill/s) token bucket AWS applies to one action."""
    if service != "ec2":
        return DEFAULT_BUCKET
    if operation in EC2_BUCKETS:
        return EC2_BUCKETS[operation]
    if operation in _EC2_UNFILTERED:
        return EC2_BUCKETS["unfiltered"]
    if is_read_only(operation):
        return EC2_BUCKETS["non-mutating"]
    return EC2_BUCKETS["mutating"]


class TokenBucket:
    """One action's bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def take(self, now: float) -> float:
        """Refill up to ``now``, take a token; how long to wait before sending."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return max(0.0, -self.tokens / self.rate)

    def slow_down(self) -> None:
        """Halve the refill rate (not below :data:`MIN_RATE`)."""
        self.rate = max(self.rate / 2.0, MIN_RATE)


class Pacer:
    """Token buckets per (account, region, action), shared by every worker of a run.

    A single sweep spends one token per action and never waits; repeated
    probes of one action (several identities of one account, repeated checks)
    wait for the bucket to refill. A throttled action halves its rate.
    """

    def __init__(
        self,
        clock: Clock = time.monotonic,
        sizes: Callable[[str, str], tuple[float, float]] = bucket_for,
    ) -> None:
        """``sizes`` gives the (capacity, refill/s) bucket of a (service, operation):
        AWS's published limits (:func:`bucket_for`) unless told otherwise."""
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str, str], TokenBucket] = {}
        self._clock = clock
        self._sizes = sizes

    def _bucket(self, key: tuple[str, str, str, str]) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity, rate = self._sizes(key[2], key[3])
            bucket = TokenBucket(capacity, rate * RATE_MARGIN, self._clock())
            self._buckets[key] = bucket
        return bucket

    def delay(self, account: str, region: str, service: str, operation: str) -> float:
        """Take a token; return how long the caller must wait before sending."""
        key = (account, region, service, operation)
        with self._lock:
            bucket = self._bucket(key)
            return bucket.take(self._clock())

    def throttled(self, account: str, region: str, service: str, operation: str) -> None:
        """AWS throttled this action: halve its refill rate (not below 0.1/s)."""
        with self._lock:
            self._bucket((account, region, service, operation)).slow_down()
