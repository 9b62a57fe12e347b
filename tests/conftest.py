"""Shared fixtures: fake credentials, and a ``before-send`` stub that answers for AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

FAKE_KEY = "AKIAAWSPROBEFAKEKEY0"
FAKE_SECRET = "awsprobe/fake/secret/key/never/valid/0000"

EC2_DRY_RUN_OK = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>DryRunOperation</Code>'
    b"<Message>Request would have succeeded, but DryRun flag is set.</Message></Error></Errors>"
    b"<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def fake_response(
    request: AWSPreparedRequest, status: int = 412, body: bytes = EC2_DRY_RUN_OK
) -> AWSResponse:
    """An HTTP response for ``request`` that never touched a socket."""
    return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, _Raw(body))


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever picks up a developer's real credentials or config."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/awsprobe-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/awsprobe-test-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private catalog cache dir; the dry-run index is already in memory, so it is never
    rescanned here."""
    from awsprobe import catalog

    catalog.dry_run_index()
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(tmp_path))
    catalog._service_entries.cache_clear()
    yield tmp_path
    catalog._service_entries.cache_clear()


@pytest.fixture
def model_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services whose botocore model is read from now on, in order: both ways the
    catalog reads one (its compressed bytes, botocore's loader) are watched."""
    import botocore.loaders

    from awsprobe import catalog as catalog_mod

    read: list[str] = []
    real_bytes = catalog_mod._model_bytes
    real_load = botocore.loaders.Loader.load_service_model

    def spy_bytes(loader: Any, service: str) -> bytes | None:
        read.append(service)
        return real_bytes(loader, service)

    def spy_load(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        read.append(service)
        return real_load(self, service, *args, **kwargs)

    monkeypatch.setattr(catalog_mod, "_model_bytes", spy_bytes)
    monkeypatch.setattr(botocore.loaders.Loader, "load_service_model", spy_load)
    return read
