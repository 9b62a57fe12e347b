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
