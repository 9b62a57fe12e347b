"""Prototypes of the runner changes the numbers call for, so the bench can measure them.

They subclass awsprobe's public :class:`~awsprobe.runner.Runner` and
:class:`~awsprobe.runner.Pacer` from the outside; the real change belongs in
``awsprobe/runner.py``. Each is labelled "prototype" wherever it is reported.

* :func:`share_alias_cache` -- every botocore client starts with an empty
  event-name alias cache (``EventAliaser._alias_name_cache``); a client's first
  call of each operation re-derives about fifteen event names, roughly half of
  botocore's per-call CPU in a sweep where each operation is sent once per
  region. The mapping depends only on the event name, so one cache can serve
  every client. (botocore private attribute: guarded, a no-op if it moves.)
* ``evict`` -- each region's client holds about 17 MB of per-operation caches
  once every operation has been sent through it; a run of 17 regions keeps 17
  of them. Closing a region's client as soon as its last probe is answered
  bounds memory by the regions in flight (the pool works region by region).
* :class:`MarginPacer` -- plan at 95 % of the published refill rates: the
  pacer spaces requests when it *decides*, AWS counts them when they
  *arrive*, and a request can arrive a millisecond earlier, relative to the
  one before it, than the pacer planned -- which an exact pacer turns into a
  ``RequestLimitExceeded``, a halved rate and a long wait.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from awsprobe.runner import Pacer, Runner

__all__ = [
    "MarginPacer",
    "PrototypeRunner",
    "runner_evicts",
    "runner_has_margin",
    "share_alias_cache",
]

_ALIAS_CACHE: dict[str, str] = {}
RATE_MARGIN: Final = 0.95


def share_alias_cache(client: Any, cache: dict[str, str] = _ALIAS_CACHE) -> None:
    """Make ``client`` use the process-wide event-name alias cache."""
    events = getattr(getattr(client, "meta", None), "events", None)
    own = getattr(events, "_alias_name_cache", None)
    if isinstance(own, dict) and own is not cache:
        cache.update(own)
        events._alias_name_cache = cache  # type: ignore[union-attr]


class PrototypeRunner(Runner):
    """:class:`Runner` with the prototyped changes switched on by flags."""

    def __init__(self, *args: Any, alias: bool = True, evict: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.alias = alias
        # a runner that closes finished region clients itself needs no help
        self.evict = evict and not runner_evicts()
        self._left: Counter[tuple[str, str]] = Counter()
        self._left_lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        client = super().client(service, region)
        if self.alias:
            share_alias_cache(client)
        return client

    def run(self, entries: Sequence[Any], regions: Sequence[str], **kwargs: Any) -> Any:
        with self._left_lock:
            self._left = Counter({(e.service, r): 0 for r in regions for e in entries if e.probe})
            for region in regions:
                for entry in entries:
                    if entry.probe:
                        self._left[(entry.service, region)] += 1
        return super().run(entries, regions, **kwargs)

    def probe_one(self, entry: Any, region: str, *args: Any, **kwargs: Any) -> Any:
        result = super().probe_one(entry, region, *args, **kwargs)
        if self.evict:
            key = (entry.service, region)
            with self._left_lock:
                self._left[key] -= 1
                last = self._left[key] == 0
            if last:
                self._evict(key)
        return result

    def _evict(self, key: tuple[str, str]) -> None:
        clients = getattr(self, "_clients", None)
        lock = getattr(self, "_lock", None)
        if not isinstance(clients, dict) or lock is None:
            return  # the runner changed shape: nothing to evict
        with lock:
            client = clients.pop(key, None)
        if client is None:
            return
        try:
            from awsprobe.guard import close_client
        except ImportError:  # an older awsprobe
            client.close()
        else:
            close_client(client)


def runner_evicts() -> bool:
    """Whether awsprobe's own Runner already closes a region's client when it is done."""
    return hasattr(Runner, "_drop")


def runner_has_margin() -> bool:
    """Whether awsprobe's own Pacer already plans below the published rates."""
    import awsprobe.runner

    return float(getattr(awsprobe.runner, "RATE_MARGIN", 1.0)) < 1.0


class MarginPacer(Pacer):
    """:class:`Pacer` whose buckets refill at 95 % of the published rates.

    The margin has to live inside the bucket, not on the returned wait: a wait
    stretched after the fact is forgotten by the next caller's arithmetic, which
    then spaces its request less than ``1/rate`` after the stretched one. Done
    here through the public interface: a clock running at 95 % speed (slower
    refill) and waits converted back to real seconds.
    """

    def __init__(self, margin: float = RATE_MARGIN) -> None:
        self.margin = margin
        super().__init__(clock=lambda: time.monotonic() * margin)

    def delay(self, account: str, region: str, service: str, operation: str) -> float:
        return super().delay(account, region, service, operation) / self.margin
