"""Each private botocore/boto3 attribute awsprobe reads: still there, and a fallback without it.

The first test of each pair fails loudly when the installed botocore or boto3 moves the
attribute (time to look at ``awsprobe/adapters.py``); the second proves that awsprobe
then takes the plain public path instead of raising.
"""

from __future__ import annotations

import datetime as _dt
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
from botocore.credentials import RefreshableCredentials

from awsprobe import adapters


def _client() -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "ec2", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
    )


def test_botocore_still_has_the_event_alias_cache() -> None:
    """A client's event emitter still holds an alias-name cache and an alias table."""
    found = adapters.alias_cache(_client().meta.events)
    assert found is not None, "botocore moved the EventAliaser caches: see awsprobe/adapters.py"
    cache, table = found
    shared: dict[str, str] = {"x": "y"}
    adapters.set_alias_cache(_client().meta.events, shared)
    assert isinstance(cache, dict)
    assert isinstance(table, dict)


def test_without_the_alias_cache_there_is_nothing_to_share() -> None:
    """An emitter without the private caches gives None, and the client keeps its own."""
    assert adapters.alias_cache(SimpleNamespace()) is None
    assert adapters.alias_cache(SimpleNamespace(_alias_name_cache={}, _event_aliases=None)) is None


def test_boto3_session_still_wraps_a_botocore_session() -> None:
    """boto3.Session still keeps its botocore session as ``_session``."""
    core = botocore.session.get_session()
    assert adapters.botocore_session_of(boto3.Session(botocore_session=core)) is core


def test_a_botocore_session_is_its_own_botocore_session() -> None:
    """Without ``_session`` the object itself is taken (then checked by the caller)."""
    core = botocore.session.get_session()
    assert adapters.botocore_session_of(core) is core
    assert adapters.botocore_session_of(None) is None


def test_botocore_still_exposes_the_urllib3_pools() -> None:
    """The pools behind a client can still be reached and closed."""
    client = _client()
    assert adapters.close_pools(client) is True, "botocore moved its pools: see adapters.py"
    client.close()


def test_without_reachable_pools_close_is_left_to_the_client() -> None:
    """Another HTTP session implementation: close_pools says False and raises nothing."""
    assert adapters.close_pools(SimpleNamespace(_endpoint=SimpleNamespace())) is False


def test_botocore_still_keeps_the_expiry_of_refreshable_credentials() -> None:
    """RefreshableCredentials still keep their expiry where the adapter reads it."""
    expiry = _dt.datetime.now(_dt.UTC) + _dt.timedelta(hours=1)
    metadata = {"access_key": "AKID", "secret_key": "s", "token": "t"}
    credentials = RefreshableCredentials.create_from_metadata(
        {**metadata, "expiry_time": expiry.isoformat()}, lambda: {}, "test"
    )
    found = adapters.credentials_expiry(credentials)
    assert found is not None, "botocore moved _expiry_time: see awsprobe/adapters.py"
    assert abs((found - expiry).total_seconds()) < 1


def test_without_an_expiry_there_is_none() -> None:
    """Static credentials (or a botocore that renamed it) say no expiry."""
    assert adapters.credentials_expiry(SimpleNamespace()) is None


def test_botocore_still_keeps_the_client_service_model_in_its_meta() -> None:
    """``client.meta._service_model`` is still what ``meta.service_model`` returns, and
    setting it gives the client another model."""
    client, other = _client(), _client()
    assert adapters.set_service_model(client, other.meta.service_model) is True, (
        "botocore moved ClientMeta._service_model: see awsprobe/adapters.py"
    )
    assert client.meta.service_model is other.meta.service_model


def test_without_the_meta_service_model_slot_the_client_keeps_its_own() -> None:
    """A client whose meta has no such attribute (or a property that ignores it) is left
    alone and the adapter says so."""
    own = object()
    assert adapters.set_service_model(SimpleNamespace(meta=SimpleNamespace()), own) is False
    moved = SimpleNamespace(meta=SimpleNamespace(service_model=own, _service_model=object()))
    assert adapters.set_service_model(moved, object()) is False
    assert moved.meta.service_model is own


def test_botocore_still_keeps_the_http_session_and_its_settings_where_awsprobe_reads_them() -> None:
    """``client._endpoint.http_session`` is botocore's URLLib3Session, and its resolved
    verify value, CA bundle, socket options and proxy lookup can still be read."""
    import socket

    from botocore.httpsession import URLLib3Session

    client = _client()
    inner = adapters.http_session_of(client)
    assert isinstance(inner, URLLib3Session), "botocore moved the HTTP session: see adapters.py"
    found = adapters.plain_transport_settings(inner)
    assert found is not None, "botocore moved URLLib3Session's settings: see adapters.py"
    verify, ca_file, options, proxy_for = found
    # True (botocore's default bundle, named) unless AWS_CA_BUNDLE/REQUESTS_CA_BUNDLE say
    assert verify is True or isinstance(verify, str)
    assert isinstance(ca_file, str) if verify is True else ca_file is None
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in options
    assert proxy_for("https://ec2.us-east-1.amazonaws.com/") is None
    assert adapters.set_http_session(client, inner) is True


def test_without_botocores_http_session_the_client_keeps_its_own_transport() -> None:
    """Another session type, a client certificate, or settings botocore moved: no
    settings, so awsprobe.transport leaves the client alone; a client without the
    endpoint attribute cannot be given a session."""
    from botocore.httpsession import URLLib3Session

    assert adapters.http_session_of(SimpleNamespace()) is None
    assert adapters.set_http_session(SimpleNamespace(), object()) is False
    assert adapters.plain_transport_settings(object()) is None
    assert adapters.plain_transport_settings(URLLib3Session(client_cert="/x.pem")) is None
    moved = URLLib3Session()
    del moved._verify
    assert adapters.plain_transport_settings(moved) is None
    odd = URLLib3Session(socket_options=[("not", "a", "triple")])
    assert adapters.plain_transport_settings(odd) is None
    with_ca = adapters.plain_transport_settings(URLLib3Session(verify="/etc/ca.pem"))
    assert with_ca is not None
    assert with_ca[:2] == ("/etc/ca.pem", None)
