"""The runner: retries to the real outcome, faults become errors, regions, interruption."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from awsprobe.catalog import Catalog, load_catalog
from awsprobe.errors import CredentialsError, CredentialsExpired, ProbeInterrupted, UsageError
from awsprobe.model import ErrorKind, Outcome
from awsprobe.probing import retry
from awsprobe.probing.orchestrate import can, probe
from awsprobe.probing.pacing import RATE_MARGIN, Pacer, bucket_for
from awsprobe.probing.regions import ALL_REGIONS, resolve_regions
from awsprobe.probing.runner import Runner
from tests.fakes import DRY_RUN_OK, UNAUTHORIZED, FakeAWS, Seen, ec2_error

EC2 = load_catalog(services="ec2")
DESCRIBES = Catalog(e for e in EC2 if e.operation.startswith("Describe"))


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries back off for milliseconds in tests, not seconds."""
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.001)


def _one(action: str) -> Catalog:
    return Catalog([EC2.find(action)])


def test_a_throttled_probe_is_retried_to_its_real_outcome() -> None:
    """RequestLimitExceeded twice, then DryRunOperation: allowed, 3 attempts recorded."""

    def throttle_twice(seen: Seen, nth: int) -> tuple[int, bytes] | None:
        return (503, ec2_error("RequestLimitExceeded")) if nth <= 2 else None

    fake = FakeAWS(throttle_twice)
    matrix = probe(catalog=_one("ec2:RunInstances"), session=fake.session)
    (result,) = matrix.results
    assert result.outcome is Outcome.ALLOWED
    assert result.attempts == 3
    assert len(fake.sent("RunInstances")) == 3


def test_retries_exhausted_is_an_error_with_the_cause() -> None:
    """Throttled on every attempt: error (throttled), max_attempts sent, a warning once."""
    fake = FakeAWS(lambda seen, nth: (503, ec2_error("RequestLimitExceeded")))
    matrix = probe(catalog=_one("ec2:RunInstances"), session=fake.session, max_attempts=4)
    (result,) = matrix.results
    assert (result.outcome, result.error_kind) == (Outcome.ERROR, ErrorKind.THROTTLED)
    assert result.attempts == 4
    assert result.code == "RequestLimitExceeded"
    assert any("ran out of retries" in w for w in matrix.warnings)


def test_server_errors_are_retried_then_error() -> None:
    """HTTP 500 InternalError on every attempt ends as error (server)."""
    fake = FakeAWS(lambda seen, nth: (500, ec2_error("InternalError")))
    (result,) = probe(catalog=_one("ec2:RunInstances"), session=fake.session, max_attempts=2)
    assert (result.outcome, result.error_kind) == (Outcome.ERROR, ErrorKind.SERVER)
    assert result.attempts == 2


@pytest.mark.parametrize(
    "fault",
    [
        ConnectionClosedError(endpoint_url="https://ec2.us-east-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com/"),
    ],
)
def test_connection_reset_and_timeouts_are_errors(fault: BaseException) -> None:
    """A connection reset or timeout on every attempt is error (connection), never denied."""
    fake = FakeAWS(lambda seen, nth: fault)
    (result,) = probe(catalog=_one("ec2:RunInstances"), session=fake.session, max_attempts=2)
    assert (result.outcome, result.error_kind) == (Outcome.ERROR, ErrorKind.CONNECTION)
    assert result.attempts == 2


def test_a_transient_reset_recovers() -> None:
    """A reset on the first attempt, then an answer: the real outcome."""
    fake = FakeAWS(
        lambda seen, nth: ConnectionClosedError(endpoint_url="x") if nth == 1 else UNAUTHORIZED
    )
    (result,) = probe(catalog=_one("ec2:RunInstances"), session=fake.session)
    assert result.outcome is Outcome.DENIED
    assert result.attempts == 2


def test_denials_are_not_retried() -> None:
    """A verdict is final: one request per probe."""
    fake = FakeAWS(default=UNAUTHORIZED)
    matrix = probe(catalog=DESCRIBES, session=fake.session)
    assert {r.outcome for r in matrix} == {Outcome.DENIED}
    assert len(fake.sent()) == len(DESCRIBES)
    assert all(r.attempts == 1 for r in matrix)


def test_a_disabled_region_is_detected_once_and_not_hammered() -> None:
    """AuthFailure on a region's first probe: the rest are not sent, one warning."""

    def disabled(seen: Seen, nth: int) -> tuple[int, bytes] | None:
        if seen.region == "ap-east-1":
            return (401, ec2_error("AuthFailure", "AWS was not able to validate"))
        return None

    fake = FakeAWS(disabled)
    matrix = probe(catalog=DESCRIBES, session=fake.session, regions=["us-east-1", "ap-east-1"])
    assert len(fake.sent(region="ap-east-1")) == 1
    assert len(fake.sent(region="us-east-1")) == len(DESCRIBES)
    east = [r for r in matrix if r.region == "ap-east-1"]
    assert len(east) == len(DESCRIBES)
    assert {(r.outcome, r.error_kind) for r in east[1:]} <= {
        (Outcome.ERROR, ErrorKind.REGION),
        (Outcome.ERROR, ErrorKind.CREDENTIALS),
    }
    assert sum("ap-east-1" in w for w in matrix.warnings) == 1
    assert all(r.outcome is Outcome.ALLOWED for r in matrix if r.region == "us-east-1")


def test_an_interrupted_run_keeps_its_partial_results() -> None:
    """Ctrl-C in the middle: ProbeInterrupted carries every result gathered so far."""

    def slow(seen: Seen, nth: int) -> None:
        time.sleep(0.01)

    fake = FakeAWS(slow)
    seen = []

    def interrupt_after_ten(result: object) -> None:
        seen.append(result)
        if len(seen) == 10:
            raise KeyboardInterrupt

    with pytest.raises(ProbeInterrupted) as info:
        probe(catalog=DESCRIBES, session=fake.session, on_result=interrupt_after_ten, workers=2)
    partial = info.value.matrix
    assert partial.complete is False
    assert len(partial.results) >= 10
    assert len(partial.results) < len(DESCRIBES)
    assert isinstance(info.value, KeyboardInterrupt)


def test_no_worker_threads_survive_a_run() -> None:
    """The pool is shut down: no awsprobe threads are left behind."""
    fake = FakeAWS()
    probe(catalog=DESCRIBES, session=fake.session)
    assert not [t for t in threading.enumerate() if t.name.startswith("awsprobe")]


def test_progress_reports_done_and_total() -> None:
    """The progress callback sees 0..total, ending at total."""
    fake = FakeAWS()
    calls: list[tuple[int, int]] = []
    probe(catalog=DESCRIBES, session=fake.session, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, len(DESCRIBES))
    assert calls[-1] == (len(DESCRIBES), len(DESCRIBES))


def test_one_client_per_service_and_region_is_reused() -> None:
    """Clients are created once per (service, region) and reused across probes."""
    fake = FakeAWS()
    with Runner(fake.session) as runner:
        first = runner.client("ec2", "us-east-1")
        assert runner.client("ec2", "us-east-1") is first
        assert runner.client("ec2", "eu-west-1") is not first
        assert first.meta.config.max_pool_connections == runner.options.workers


def test_a_runs_clients_share_one_service_model_until_close() -> None:
    """Every region's client of a service uses the run's one parsed model (each
    operation's shapes resolved once per run, not per region); a closed runner starts
    again with a model of its own, so a long-lived process keeps none it stopped using."""
    fake = FakeAWS()
    with Runner(fake.session) as runner:
        east = runner.client("ec2", "us-east-1")
        west = runner.client("ec2", "eu-west-1")
        assert west.meta.service_model is east.meta.service_model
        runner.close()
        again = runner.client("ec2", "us-east-1")
        assert again.meta.service_model is not east.meta.service_model


def test_every_request_sent_carries_the_dry_run_flag() -> None:
    """What reached the fake wire: every probe body has DryRun=true."""
    fake = FakeAWS()
    probe(catalog=EC2, session=fake.session)
    assert len(fake.sent()) == len(EC2)
    for seen in fake.sent():
        assert b"DryRun=true" in seen.body, seen.operation


def test_identity_is_asked_once() -> None:
    """sts:GetCallerIdentity once per run; the matrix records the ARN and source."""
    fake = FakeAWS()
    matrix = probe(catalog=DESCRIBES, session=fake.session)
    assert sum(s.operation == "GetCallerIdentity" for s in fake.seen) == 1
    assert matrix.identity.arn == "arn:aws:iam::111122223333:user/ci"
    assert matrix.identity.account == "111122223333"


def test_no_credentials_is_a_credentials_error() -> None:
    """No credentials anywhere: CredentialsError (exit 3 in the CLI), nothing sent."""
    import botocore.session

    session = botocore.session.get_session()
    session.set_config_variable("region", "us-east-1")
    session.get_component("credential_provider").providers = []
    with pytest.raises(CredentialsError, match="no AWS credentials"):
        probe(catalog=DESCRIBES, session=session)


def test_regions_default_list_and_validation() -> None:
    """None -> the session's region; a name or a list is kept; unknown names suggest close
    ones; a comma-separated string is the CLI's to split, not the library's."""
    fake = FakeAWS()
    assert resolve_regions(None, fake.session) == ("us-east-1",)
    assert resolve_regions([], fake.session) == ("us-east-1",)
    assert resolve_regions("eu-west-1", fake.session) == ("eu-west-1",)
    assert resolve_regions(["eu-west-1", "us-east-1"], fake.session) == ("eu-west-1", "us-east-1")
    with pytest.raises(UsageError, match="did you mean eu-west-1"):
        resolve_regions(["eu-wst-1"], fake.session)
    with pytest.raises(UsageError, match="not one comma-separated string"):
        resolve_regions("eu-west-1,us-east-1", fake.session)


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        (None, None),
        ("", None),
        (" , ", None),
        ("eu-west-1", ["eu-west-1"]),
        ("eu-west-1, us-east-1,", ["eu-west-1", "us-east-1"]),
        ("all", "all"),
        (" ALL ", "all"),
        ("all,eu-west-1", ["all", "eu-west-1"]),
    ],
)
def test_the_cli_splits_regions_for_the_library(text: str | None, regions: object) -> None:
    """--regions LIST|all (README): the CLI turns the text into names or the ALL sentinel."""
    from awsprobe import cli

    assert cli._regions(text) == regions


def test_all_regions_falls_back_to_partition_data_when_describe_regions_is_denied() -> None:
    """'all' asks DescribeRegions; denied -> botocore's partition list with a warning."""
    fake = FakeAWS(default=UNAUTHORIZED)
    warnings: list[str] = []
    names = resolve_regions(ALL_REGIONS, fake.session, warnings=warnings)
    assert "us-east-1" in names
    assert "eu-west-1" in names
    assert warnings
    assert "partition" in warnings[0]


def test_all_regions_uses_describe_regions() -> None:
    """'all' = the regions DescribeRegions lists (the enabled ones)."""
    body = (
        b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        b"<requestId>1</requestId><regionInfo>"
        b"<item><regionName>eu-west-1</regionName><regionEndpoint>x</regionEndpoint></item>"
        b"<item><regionName>us-east-1</regionName><regionEndpoint>y</regionEndpoint></item>"
        b"</regionInfo></DescribeRegionsResponse>"
    )
    fake = FakeAWS(lambda seen, nth: (200, body) if seen.operation == "DescribeRegions" else None)
    assert resolve_regions(ALL_REGIONS, fake.session) == ("eu-west-1", "us-east-1")
    (regions_call,) = fake.sent("DescribeRegions")
    assert b"DryRun" not in regions_call.body  # the one listed read-only exemption


def test_pacer_spends_one_token_per_action_and_paces_repeats() -> None:
    """A sweep never waits; the 6th RunInstances in a burst of 5 waits ~0.5 s (2/s refill,
    planned at RATE_MARGIN of it)."""
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    assert bucket_for("ec2", "RunInstances") == (5.0, 2.0)
    assert all(pacer.delay("a", "r", "ec2", op) == 0 for op in ("A", "B", "C"))
    delays = [pacer.delay("a", "r", "ec2", "RunInstances") for _ in range(6)]
    assert delays[:5] == [0, 0, 0, 0, 0]
    assert delays[5] == pytest.approx(1 / (2.0 * RATE_MARGIN))
    assert pacer.delay("a", "other-region", "ec2", "RunInstances") == 0
    pacer.throttled("a", "r", "ec2", "RunInstances")
    assert pacer.delay("a", "r", "ec2", "RunInstances") == pytest.approx(2.0 / RATE_MARGIN)


def test_dry_run_ignored_is_reported_loudly() -> None:
    """A 2xx answer is dry_run_ignored with a warning naming the action, never allowed."""
    body = b'<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpcSet/></DescribeVpcsResponse>'
    fake = FakeAWS(default=(200, body))
    matrix = probe(catalog=_one("ec2:DescribeVpcs"), session=fake.session)
    assert matrix.results[0].outcome is Outcome.DRY_RUN_IGNORED
    assert any("DRY RUN IGNORED: ec2:DescribeVpcs" in w for w in matrix.warnings)


def test_can_is_true_only_for_allowed() -> None:
    """can() is True for DryRunOperation and False for a denial or anything else."""
    assert can("ec2:RunInstances", session=FakeAWS().session) is True
    assert can("ec2:RunInstances", session=FakeAWS(default=UNAUTHORIZED).session) is False
    odd = FakeAWS(default=(400, ec2_error("InvalidParameterValue")))
    assert can("ec2:RunInstances", session=odd.session) is False
    with pytest.raises(UsageError, match="not a glob"):
        can("ec2:Describe*", session=FakeAWS().session)


def test_default_reply_is_dry_run_ok() -> None:
    """(sanity) the fake's default answer is the EC2 success signal."""
    assert DRY_RUN_OK[0] == 412


def _expire_after(n: int) -> Callable[[Seen, int], tuple[int, bytes] | None]:
    seen_count = [0]
    lock = threading.Lock()

    def rule(seen: Seen, nth: int) -> tuple[int, bytes] | None:
        with lock:
            seen_count[0] += 1
            if seen_count[0] > n:
                return (400, ec2_error("RequestExpired", "Request has expired."))
        return None

    return rule


def test_expired_credentials_stop_the_identity_and_keep_results() -> None:
    """RequestExpired mid-run: CredentialsExpired with the partial matrix; few probes after."""
    fake = FakeAWS(_expire_after(20))
    with pytest.raises(CredentialsExpired) as info:
        probe(catalog=DESCRIBES, session=fake.session, workers=4)
    partial = info.value.matrix
    assert partial.complete is False
    assert sum(r.outcome is Outcome.ALLOWED for r in partial) == 20
    # stopped at once: at most a worker's worth of requests after the first expiry
    assert len(fake.sent()) <= 20 + 1 + 4 * 2
    assert len(partial.results) < len(DESCRIBES)
    assert "expired mid-run" in str(info.value)


def test_refreshable_credentials_refresh_instead_of_stopping() -> None:
    """An assumed-role style session: the expired key is refreshed and the run completes."""
    import datetime as dt

    from botocore.credentials import RefreshableCredentials

    keys = iter(["ASIAOLDOLDOLDOLDOLD0", "ASIANEWNEWNEWNEWNEW0", "ASIANEWNEWNEWNEWNEW1"])

    def refresh() -> dict[str, str]:
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        return {
            "access_key": next(keys),
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    def old_key_expired(seen: Seen, nth: int) -> tuple[int, bytes] | None:
        if seen.key == "ASIAOLDOLDOLDOLDOLD0":
            return (400, ec2_error("RequestExpired", "Request has expired."))
        return None

    fake = FakeAWS(old_key_expired)
    fake.session._credentials = RefreshableCredentials.create_from_metadata(
        refresh(), refresh, "assume-role"
    )
    matrix = probe(catalog=_one("ec2:RunInstances"), session=fake.session)
    (result,) = matrix.results
    assert result.outcome is Outcome.ALLOWED
    assert result.attempts == 2


def test_cli_exits_3_and_saves_when_credentials_expire(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI: one line, exit 3, partial results saved."""
    from awsprobe import cli
    from awsprobe.matrix import Matrix

    partial = Matrix(
        identity=__import__("awsprobe").Identity("arn:aws:iam::1:user/x", "1", "AIDA"),
        regions=("us-east-1",),
        results=(),
        complete=False,
    )

    def expired(**_: object) -> Matrix:
        raise CredentialsExpired(partial, ["arn:aws:iam::1:user/x"])

    monkeypatch.setattr(cli, "probe", expired)
    saved = tmp_path / "p.json"
    assert cli.main(["matrix", "--save", str(saved)]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "expired mid-run" in err
    assert Matrix.load(saved).complete is False


# -- the credential refresh adapter (awsprobe.adapters) ------------------------------


def _refreshable(keys: list[str], expires_in: float = 3600.0) -> Any:
    """botocore RefreshableCredentials whose refresh hands out ``keys`` in turn."""
    import datetime as dt

    from botocore.credentials import RefreshableCredentials

    given = iter(keys)

    def fetch() -> dict[str, str]:
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)
        return {
            "access_key": next(given),
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(fetch(), fetch, "assume-role")


def test_botocore_still_has_the_private_refresh_the_adapter_uses() -> None:
    """Fails loudly when botocore changes RefreshableCredentials' private refresh (then the
    adapter quietly takes the public path, which cannot force a refresh: update
    awsprobe/adapters.py)."""
    import inspect
    import threading

    from botocore.credentials import RefreshableCredentials

    from awsprobe.adapters import PRIVATE_REFRESH, has_private_refresh

    private = getattr(RefreshableCredentials, PRIVATE_REFRESH, None)
    assert callable(private), f"botocore has no RefreshableCredentials.{PRIVATE_REFRESH}"
    assert "is_mandatory" in inspect.signature(private).parameters
    credentials = _refreshable(["ASIAOLD", "ASIANEW"])
    assert has_private_refresh(credentials)
    assert isinstance(credentials._refresh_lock, type(threading.Lock()))


def test_the_adapter_forces_a_refresh_of_fresh_looking_credentials() -> None:
    """AWS said the credentials expired an hour before botocore expected: the adapter
    fetches new ones at once (the private path)."""
    from awsprobe.adapters import force_refresh

    credentials = _refreshable(["ASIAOLD", "ASIANEW"])
    assert credentials.get_frozen_credentials().access_key == "ASIAOLD"
    assert force_refresh(credentials) is True
    assert credentials.get_frozen_credentials().access_key == "ASIANEW"


def test_static_or_absent_credentials_cannot_refresh() -> None:
    """An access key pair (botocore Credentials) or no credentials: nothing to refresh."""
    from botocore.credentials import Credentials

    from awsprobe.adapters import force_refresh

    assert force_refresh(Credentials("AKIAEXAMPLE", "secret")) is False
    assert force_refresh(None) is False


def test_a_failed_refresh_is_reported_as_no_refresh() -> None:
    """The refresh itself fails (the role can no longer be assumed): False, no traceback."""
    from awsprobe.adapters import force_refresh

    credentials = _refreshable(["ASIAOLD"])  # the next fetch raises StopIteration
    assert force_refresh(credentials) is False


class _PublicOnly:
    """Refreshable credentials as a botocore without the private refresh would have them."""

    def __init__(self, due: bool) -> None:
        self.due = due
        self.fetched = 0

    def refresh_needed(self) -> bool:
        return self.due

    def get_frozen_credentials(self) -> object:
        if self.due:  # botocore refreshes here when it thinks a refresh is due
            self.fetched += 1
            self.due = False
        return object()


@pytest.mark.parametrize(("due", "refreshed"), [(True, True), (False, False)])
def test_without_the_private_refresh_the_adapter_takes_the_public_path(
    due: bool, refreshed: bool
) -> None:
    """No private refresh: the adapter refreshes through get_frozen_credentials() when
    botocore says a refresh is due, and reports False (stop as expired) when it is not."""
    from awsprobe.adapters import force_refresh

    credentials = _PublicOnly(due)
    assert force_refresh(credentials) is refreshed
    assert credentials.fetched == (1 if refreshed else 0)
