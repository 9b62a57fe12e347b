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
* ``RefreshableCredentials._protected_refresh`` and ``_refresh_lock``: a refresh now,
  under botocore's own lock; without them the public path (botocore refreshes near
  expiry);
* ``RefreshableCredentials._expiry_time``: when temporary credentials expire; without
  it, "not said".
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Final

__all__ = [
    "PRIVATE_REFRESH",
    "alias_cache",
    "botocore_session_of",
    "close_pools",
    "credentials_expiry",
    "force_refresh",
    "has_private_refresh",
    "set_alias_cache",
]

logger = logging.getLogger(__name__)


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


#: botocore's private method that refreshes now, and the lock it must be called under.
PRIVATE_REFRESH: Final = "_protected_refresh"
_PRIVATE_LOCK: Final = "_refresh_lock"


def has_private_refresh(credentials: Any) -> bool:
    """Whether ``credentials`` can be refreshed on demand through botocore's private door."""
    return callable(getattr(credentials, PRIVATE_REFRESH, None)) and callable(
        getattr(credentials, "refresh_needed", None)
    )


def force_refresh(credentials: Any) -> bool:
    """Fetch fresh ``credentials`` now; False when they cannot be refreshed.

    botocore refreshes :class:`~botocore.credentials.RefreshableCredentials` (an assumed
    role, SSO, a credential process) by itself only when their expiry time is near. When
    AWS answers ``ExpiredToken`` earlier (a session cut short, clock skew), this takes
    botocore's private ``_protected_refresh(is_mandatory=True)``, called with the
    credentials' own ``_refresh_lock`` held, as botocore calls it; where botocore no
    longer has them, the public path (``refresh_needed()`` and
    ``get_frozen_credentials()``), which refreshes only what botocore thinks is due.
    Static credentials cannot be refreshed; a refresh that fails is logged and reported
    as False (the caller then stops as expired).
    """
    if credentials is None:
        return False
    try:
        if has_private_refresh(credentials):
            lock = getattr(credentials, _PRIVATE_LOCK, None)
            if not isinstance(lock, contextlib.AbstractContextManager):
                lock = contextlib.nullcontext()
            with lock:
                getattr(credentials, PRIVATE_REFRESH)(is_mandatory=True)
            return True
        return _public_refresh(credentials)
    except Exception as exc:  # the refresh itself failed: stop as expired
        logger.debug("credential refresh failed: %s", exc)
        return False


def _public_refresh(credentials: Any) -> bool:
    """botocore's public path: refresh when botocore itself says one is due."""
    needed = getattr(credentials, "refresh_needed", None)
    frozen = getattr(credentials, "get_frozen_credentials", None)
    if not callable(needed) or not callable(frozen) or not needed():
        return False
    frozen()  # refreshes, as botocore does before it signs
    return not needed()


def credentials_expiry(credentials: Any) -> Any:
    """The expiry botocore keeps on refreshable credentials (its private ``_expiry_time``),
    or ``None`` when it does not say (static credentials, or a botocore that renamed it)."""
    return getattr(credentials, "_expiry_time", None)
