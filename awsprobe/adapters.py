"""The private attributes of botocore and boto3 that awsprobe uses, each behind one adapter.

A dependency's private attribute is a debt: each is read here only, feature-detected,
with a fallback to the plain public path when it is gone, so a speed trick never turns
into a traceback on another version. ``tests/test_adapters.py`` fails loudly when the
installed botocore or boto3 no longer has one (time to look), and proves each fallback.

What each private attribute buys, and what happens without it:

* the event emitter's ``_alias_name_cache`` and ``_event_aliases``: clients share one
  event-name alias cache (benchmarks, figure 3); without them each client keeps its own;
* ``ClientMeta._service_model``: a run's clients of one service (one per region) share
  one parsed service model, so botocore resolves each operation's shapes once per run
  instead of once per region (benchmarks, figure 4); without it each client keeps its own;
* ``boto3.Session._session``: the botocore session inside a boto3 one; without it only
  botocore sessions are accepted;
* the urllib3 pools under ``client._endpoint``: connections are closed now, not at
  garbage collection; without them ``client.close()`` alone;
* ``client._endpoint.http_session`` and, in botocore's ``URLLib3Session``, ``_verify``,
  ``_proxy_config``, ``_cert_file`` and ``_socket_options``: the probe clients send
  through :mod:`awsprobe.transport` with botocore's own TLS, proxy and socket
  settings (benchmarks, figures 2 and 4); without any of them the client keeps
  botocore's session;
* ``RefreshableCredentials._protected_refresh`` and ``_refresh_lock``: a refresh now,
  under botocore's own lock; without them the public path (botocore refreshes near
  expiry);
* ``RefreshableCredentials._expiry_time``: when temporary credentials expire; without
  it, "not said".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "PRIVATE_REFRESH",
    "alias_cache",
    "botocore_session_of",
    "close_pools",
    "close_session_pools",
    "credentials_expiry",
    "force_refresh",
    "has_private_refresh",
    "http_session_of",
    "plain_transport_settings",
    "set_alias_cache",
    "set_http_session",
    "set_service_model",
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


def set_service_model(client: Any, model: Any) -> bool:
    """Give ``client`` ``model`` as its service model; False (and nothing changed) when
    botocore no longer keeps it in ``client.meta._service_model``.

    Only for a model of the same service built from the same loaded description: a
    :class:`~botocore.model.ServiceModel` holds no region, so clients of every region can
    share one (and its per-operation caches).
    """
    meta = getattr(client, "meta", None)
    current = getattr(meta, "_service_model", None)
    if current is None or getattr(meta, "service_model", None) is not current:
        return False
    meta._service_model = model  # type: ignore[union-attr]
    return True


def botocore_session_of(session: Any) -> Any:
    """The botocore session inside a boto3 ``Session`` (its ``_session``), else ``session``."""
    return getattr(session, "_session", session)


def close_pools(client: Any) -> bool:
    """Close the urllib3 connection pools behind ``client``; False when they cannot be found.

    ``client.close()`` clears urllib3's pool manager, which (urllib3 2.x) no longer
    closes the pools it drops: the caller still calls ``client.close()`` after this.
    """
    endpoint = getattr(client, "_endpoint", None)
    return close_session_pools(getattr(endpoint, "http_session", None))


def close_session_pools(http_session: Any) -> bool:
    """Close the urllib3 pools of botocore's HTTP session (see :func:`close_pools`);
    False when they cannot be found (another implementation, awsprobe.transport's
    included: its ``close()`` alone, which closes botocore's session behind it)."""
    try:
        pools = list(http_session._manager.pools._container.values())
    except AttributeError:
        return False
    for pool in pools:
        pool.close()
    return True


def http_session_of(client: Any) -> Any | None:
    """The HTTP session a client sends through (``client._endpoint.http_session``), or
    ``None`` when botocore moved it."""
    endpoint = getattr(client, "_endpoint", None)
    session = getattr(endpoint, "http_session", None)
    return session if callable(getattr(session, "send", None)) else None


def set_http_session(client: Any, session: Any) -> bool:
    """Make ``client`` send through ``session`` (only after :func:`http_session_of` found one)."""
    endpoint = getattr(client, "_endpoint", None)
    if endpoint is None or not hasattr(endpoint, "http_session"):
        return False
    endpoint.http_session = session
    return True


def plain_transport_settings(
    http_session: Any,
) -> tuple[bool | str, str | None, tuple[tuple[int, int, int], ...], Callable[[str], Any]] | None:
    """What botocore's ``URLLib3Session`` was configured with: (verify, the CA bundle
    ``True`` stands for, socket options, "which proxy for this URL"); ``None`` when it is
    another session, uses a client certificate, or keeps any of these elsewhere.

    ``verify`` is botocore's resolved value: ``verify=``, else the ``ca_bundle`` setting
    (``AWS_CA_BUNDLE``), else ``REQUESTS_CA_BUNDLE``, else ``True`` (its default bundle,
    :func:`botocore.httpsession.get_cert_path`).
    """
    from botocore.httpsession import URLLib3Session

    if type(http_session) is not URLLib3Session:
        return None
    verify = getattr(http_session, "_verify", None)
    proxies = getattr(http_session, "_proxy_config", None)
    proxy_for = getattr(proxies, "proxy_url_for", None)
    options = getattr(http_session, "_socket_options", None)
    if getattr(http_session, "_cert_file", "missing") is not None:
        return None  # a client certificate (or botocore moved it): botocore sends
    if not isinstance(verify, bool | str) or not callable(proxy_for):
        return None
    if not isinstance(options, list) or not all(
        isinstance(o, tuple) and len(o) == 3 and all(isinstance(v, int) for v in o) for o in options
    ):
        return None
    ca_file: str | None = None
    if verify is True:
        try:
            from botocore.httpsession import get_cert_path

            ca_file = get_cert_path(True)
        except (ImportError, OSError):
            return None
        if not isinstance(ca_file, str):
            return None
    return verify, ca_file, tuple(options), proxy_for


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
