"""The private attributes of botocore and boto3 that awsprobe uses, each behind one adapter.

A dependency's private attribute is a debt: each is read here only, feature-detected,
with a fallback to the plain public path when it is gone, so a speed trick never turns
into a traceback on another version. ``tests/test_adapters.py`` fails loudly when the
installed botocore or boto3 no longer has one (time to look), and proves each fallback.

What each private attribute buys, and what happens without it:

* the event emitter's ``_alias_name_cache`` and ``_event_aliases``: clients share one
  event-name alias cache (benchmarks, figure 3); without them each client keeps its own;
* ``boto3.Session._session``: the botocore session inside a boto3 one; without it only
  botocore sessions are accepted;
* the urllib3 pools under ``client._endpoint``: connections are closed now, not at
  garbage collection; without them ``client.close()`` alone;
* ``RefreshableCredentials._protected_refresh``: a refresh now, under botocore's own
  lock; without it the frozen credentials are read (botocore refreshes near expiry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "alias_cache",
    "botocore_session_of",
    "close_pools",
    "forced_refresh",
    "set_alias_cache",
]


def alias_cache(events: Any) -> tuple[dict[str, str], dict[str, str]] | None:
    """An event emitter's (alias name cache, alias table), or ``None`` when botocore moved them."""
    own = getattr(events, "_alias_name_cache", None)
    table = getattr(events, "_event_aliases", None)
    if not isinstance(own, dict) or not isinstance(table, dict):
        return None
    return own, table


def set_alias_cache(events: Any, cache: dict[str, str]) -> None:
    """Give an emitter ``cache`` as its alias cache (only after :func:`alias_cache` found one)."""
    events._alias_name_cache = cache


def botocore_session_of(session: Any) -> Any:
    """The botocore session inside a boto3 ``Session`` (its ``_session``), else ``session``."""
    return getattr(session, "_session", session)


def close_pools(client: Any) -> bool:
    """Close the urllib3 connection pools behind ``client``; False when they cannot be found.

    ``client.close()`` clears urllib3's pool manager, which (urllib3 2.x) no longer
    closes the pools it drops: the caller still calls ``client.close()`` after this.
    """
    try:
        manager = client._endpoint.http_session._manager
        pools = list(manager.pools._container.values())
    except AttributeError:  # another HTTP session implementation: rely on close()
        return False
    for pool in pools:
        pool.close()
    return True


def forced_refresh(credentials: Any) -> Callable[[], None] | None:
    """A function that refreshes ``credentials`` now, or ``None`` when botocore has none.

    botocore's ``RefreshableCredentials._protected_refresh(is_mandatory=True)`` refreshes
    under the credentials' own lock. Without it, callers fall back to the public path:
    ``get_frozen_credentials()``, which refreshes when botocore judges them near expiry.
    """
    refresh = getattr(credentials, "_protected_refresh", None)
    if not callable(refresh):
        return None

    def run() -> None:
        refresh(is_mandatory=True)

    return run
