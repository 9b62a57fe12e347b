"""The probe runner: send each selected dry run, concurrently, within AWS's limits.

* One guarded client per (service, region) per identity, created once and
  reused, its connection pool sized to the worker count.
* Retries: botocore's own retries are switched off by an explicit config
  (``total_max_attempts=1``): its standard-mode retry quota refills only on
  2xx answers, and every dry-run answer is a 4xx, so a long sweep would
  silently stop retrying (botocore ``retries/quota.py``: a retry's tokens are
  released only on a 2xx). awsprobe retries throttling, 5xx
  and connection failures itself, with capped full-jitter backoff, and
  records the number of attempts. A probe that was throttled and then
  answered ends with its real outcome.
* Pacing: EC2 throttles per account, region and action with token buckets;
  :class:`Pacer` keeps one bucket per (account, region, action) at AWS's
  published refill rates, so repeated probes of one action are paced and a
  throttled action slows down.
* Regions that are not enabled answer ``AuthFailure``/``OptInRequired``: each
  (service, region) sends one probe first, and when it says so the rest of
  that group is not sent; its results are ``error`` with one warning.
* Results stream to ``on_result`` as they arrive; an interruption raises
  :class:`ProbeInterrupted`, which carries the partial matrix.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import http.client
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.parsers import ResponseParserError

from awsprobe._version import __version__
from awsprobe.catalog import Catalog, CatalogEntry, load_catalog
from awsprobe.classify import THROTTLE_CODES, Answer, ErrorKind, Outcome, classify, is_unreadable
from awsprobe.decode import explain_denials, plain_reason
from awsprobe.errors import (
    CredentialsExpired,
    ProbeInterrupted,
    UnsafeRequestError,
    UsageError,
)
from awsprobe.guard import close_client, core_session, guarded_client
from awsprobe.matrix import Identity, Matrix, ProbeResult
from awsprobe.params import strip_roles
from awsprobe.tables import is_read_only

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_WORKERS",
    "EXPIRED_CODES",
    "MAX_WORKERS",
    "CredentialsExpired",
    "Pacer",
    "ProbeInterrupted",
    "Runner",
    "Task",
    "backoff_delay",
    "caller_identity",
    "can",
    "expand",
    "identify",
    "probe",
    "resolve_regions",
]

logger = logging.getLogger(__name__)

#: Requests in flight at once per process when ``workers`` is not given. AWS limits
#: each action's rate, not concurrency, and a sweep sends each action once per region.
#: At 30 ms a round trip, 32 in flight keep one process's core busy; two processes x 32
#: took 17 regions x 786 in 13-15 s on 2 cores, 2 x 16 took 19 s, 2 x 64 15 s (more
#: threads cost CPU); one process at 64 peaked at 325 MB, at 32 at 150 MB (benchmarks).
DEFAULT_WORKERS: Final = 32
#: More threads than this gain nothing (AWS throttles per action) and cost memory.
MAX_WORKERS: Final = 256
DEFAULT_MAX_ATTEMPTS: Final = 5
DEFAULT_REGION: Final = "us-east-1"
CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 15.0
BACKOFF_BASE: Final = 0.2
BACKOFF_CAP: Final = 20.0
#: The default source of backoff jitter: the OS's, never the random module's state, and
#: never one copied into forked workers (they would all back off in step).
_JITTER: Final = random.SystemRandom()

#: Codes that, on the first probe of a (service, region), mean the region is not usable.
REGION_DISABLED_CODES: Final = frozenset({"AuthFailure", "OptInRequired"})

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

_RETRYABLE_EXCEPTIONS: Final = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ResponseStreamingError,
    ResponseParserError,
    http.client.IncompleteRead,
)


#: Answers that mean the credentials stopped working mid-run (AWS EC2 API Reference, Error
#: codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html;
#: ExpiredTokenException: botocore data/sts/2011-06-15/service-2.json).
EXPIRED_CODES: Final = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}
)


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


class _Bucket:
    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now


class Pacer:
    """Token buckets per (account, region, action), shared by every worker of a run.

    A single sweep spends one token per action and never waits; repeated
    probes of one action (several identities of one account, repeated checks)
    wait for the bucket to refill. A throttled action halves its rate.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str, str], _Bucket] = {}
        self._clock = clock

    def _bucket(self, key: tuple[str, str, str, str]) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity, rate = bucket_for(key[2], key[3])
            bucket = self._buckets[key] = _Bucket(capacity, rate * RATE_MARGIN, self._clock())
        return bucket

    def delay(self, account: str, region: str, service: str, operation: str) -> float:
        """Take a token; return how long the caller must wait before sending."""
        key = (account, region, service, operation)
        with self._lock:
            bucket = self._bucket(key)
            now = self._clock()
            bucket.tokens = min(bucket.capacity, bucket.tokens + (now - bucket.stamp) * bucket.rate)
            bucket.stamp = now
            bucket.tokens -= 1.0
            return max(0.0, -bucket.tokens / bucket.rate)

    def throttled(self, account: str, region: str, service: str, operation: str) -> None:
        """AWS throttled this action: halve its refill rate (not below 0.1/s)."""
        with self._lock:
            bucket = self._bucket((account, region, service, operation))
            bucket.rate = max(bucket.rate / 2.0, 0.1)


def _session_region(core: botocore.session.Session) -> str:
    region = core.get_config_variable("region")
    return str(region) if region else DEFAULT_REGION


def caller_identity(
    session: Any = None,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    config: Config | None = None,
) -> Identity:
    """Who the credentials belong to (``sts:GetCallerIdentity``, which cannot be denied).

    :class:`CredentialsError` when there are none or they are rejected.
    """
    from awsprobe.identity import whoami

    who = whoami(session, region=region, endpoint_url=endpoint_url, imds=False, config=config)
    return who.identity()


def _known_regions(core: botocore.session.Session) -> set[str]:
    regions: set[str] = set()
    for partition in core.get_available_partitions():
        regions.update(core.get_available_regions("ec2", partition_name=partition))
    return regions


def resolve_regions(
    regions: Iterable[str] | str | None,
    session: Any = None,
    *,
    endpoint_url: str | None = None,
    warnings: list[str] | None = None,
) -> tuple[str, ...]:
    """Turn ``None`` / a list / ``"all"`` into region names.

    ``None`` is the session's region (else us-east-1). ``"all"`` asks EC2
    ``DescribeRegions`` for the regions enabled for the account; when that
    is denied, botocore's partition data is used and a warning says so.
    """
    core = core_session(session)
    if regions is None:
        return (_session_region(core),)
    names = regions.split(",") if isinstance(regions, str) else list(regions)
    names = [n.strip() for n in names if n.strip()]
    if not names:
        return (_session_region(core),)
    if [n.lower() for n in names] == ["all"]:
        return _all_regions(core, endpoint_url, warnings)
    known = _known_regions(core)
    for name in names:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"unknown region {name!r}{hint} (or use --regions all)")
    return tuple(dict.fromkeys(names))


def _all_regions(
    core: botocore.session.Session, endpoint_url: str | None, warnings: list[str] | None
) -> tuple[str, ...]:
    client = guarded_client(
        core,
        "ec2",
        region=_session_region(core),
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    try:
        answer = client.describe_regions()
        names = sorted(r["RegionName"] for r in answer.get("Regions", []))
        if names:
            return tuple(names)
        reason = "it returned no regions"
    except (ClientError, BotoCoreError) as exc:
        reason = str(exc)
    partition = core.get_partition_for_region(_session_region(core)) or "aws"
    fallback = tuple(sorted(core.get_available_regions("ec2", partition_name=partition)))
    message = (
        f"could not list the account's enabled regions ({reason}); using botocore's "
        "partition data"
        f" ({len(fallback)} {partition} regions): regions not enabled will show as error"
    )
    logger.warning(message)
    if warnings is not None:
        warnings.append(message)
    return fallback


@dataclass(frozen=True)
class Task:
    """One probe to send: an entry in a region, optionally on a real resource."""

    entry: CatalogEntry
    region: str
    overrides: tuple[tuple[str, Any], ...] = ()  # parameter -> real value
    resource: str | None = None


class Runner:
    """Probe catalog entries in regions for one identity. Reusable; thread-safe per run."""

    def __init__(
        self,
        session: Any = None,
        *,
        workers: int = DEFAULT_WORKERS,
        endpoint_url: str | None = None,
        verify: bool | str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        pacer: Pacer | None = None,
        identity: Identity | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise UsageError(f"workers must be between 1 and {MAX_WORKERS}, not {workers}")
        if max_attempts < 1:
            raise UsageError(f"max_attempts must be at least 1, not {max_attempts}")
        self.session = core_session(session)
        self.workers = workers
        self.endpoint_url = endpoint_url
        self.verify = verify
        self.max_attempts = max_attempts
        self.pacer = pacer or Pacer()
        #: The source of backoff jitter (replaceable, e.g. by a seeded one in tests).
        self.rng: random.Random = _JITTER
        self._identity = identity
        self._clients: dict[tuple[str, str], BaseClient] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interrupt = threading.Event()
        #: The warnings of the last run as gathered, before the ones derived from results.
        self.notes: list[str] = []
        self._config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=workers,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            user_agent_extra=f"awsprobe/{__version__}",
        )

    @property
    def identity(self) -> Identity:
        """The caller identity, asked of STS once."""
        if self._identity is None:
            self._identity = caller_identity(
                self.session,
                endpoint_url=self.endpoint_url,
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                    connect_timeout=self._config.connect_timeout,
                    read_timeout=self._config.read_timeout,
                ),
            )
        return self._identity

    def client(self, service: str, region: str) -> BaseClient:
        """The one guarded client for (service, region), created on first use."""
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = guarded_client(
                    self.session,
                    service,
                    region=region,
                    endpoint_url=self.endpoint_url,
                    config=self._config,
                    verify=self.verify,
                )
                self._clients[key] = client
            return client

    def close(self) -> None:
        """Close every client's connection pool."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            close_client(client)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- one probe -------------------------------------------------------------

    def probe_one(
        self,
        entry: CatalogEntry,
        region: str,
        overrides: Iterable[tuple[str, Any]] = (),
        resource: str | None = None,
    ) -> ProbeResult:
        """Send one dry run (with retries) and classify its answer.

        ``overrides`` replace parameters (real ids instead of placeholders);
        ``resource`` names the real resource for the result.
        """
        if not entry.probe:
            raise UsageError(f"{entry.action} is not probed: {entry.reason}")
        client = self.client(entry.service, region)
        account = self.identity.account
        call = getattr(client, entry.method)
        replaced = dict(overrides)
        attempts = 0
        started = time.perf_counter()
        answer: Answer | None = None
        while True:
            attempts += 1
            wait_for = self.pacer.delay(account, region, entry.service, entry.operation)
            if self._stop.is_set() or (wait_for > 0 and self._stop.wait(wait_for)):
                break  # a stopped runner sends nothing more
            answer = self._send(call, entry, replaced)
            if answer.code in EXPIRED_CODES and attempts < self.max_attempts and self._refresh():
                continue  # refreshable credentials (an assumed role) refresh instead of stopping
            if attempts >= self.max_attempts or not _retryable(answer):
                break
            if answer.code in THROTTLE_CODES or answer.http_status == 429:
                self.pacer.throttled(account, region, entry.service, entry.operation)
            if self._stop.wait(backoff_delay(attempts, self.rng)):
                break
        if answer is None:  # stopped before anything was sent: no result to report
            raise _Skipped
        if answer.code in EXPIRED_CODES:
            self._stop.set()  # the identity's credentials are gone: no more sends at once
        verdict = classify(answer, entry)
        placeholders = tuple(p for p in entry.placeholders if p not in replaced)
        detail = verdict.reason
        if verdict.outcome is Outcome.INCONCLUSIVE and placeholders:
            detail += (
                f"; it was sent with a placeholder {', '.join(placeholders)}: supply a real "
                "one (--resources FILE or --discover; resources= or discover= in Python)"
            )
        return ProbeResult(
            action=entry.action,
            service=entry.service,
            operation=entry.operation,
            region=region,
            outcome=verdict.outcome,
            code=answer.code,
            http_status=answer.http_status,
            message=answer.message,
            attempts=attempts,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            detail=detail,
            error_kind=verdict.error_kind,
            identity=self.identity.arn,
            access_level=entry.access_level.value,
            reason=plain_reason(answer.message) if verdict.outcome is Outcome.DENIED else None,
            resource=resource,
            placeholders=placeholders,
        )

    @staticmethod
    def _send(call: Callable[..., Any], entry: CatalogEntry, replaced: dict[str, Any]) -> Answer:
        params = entry.probe_params()
        params.update(replaced)
        params[entry.dry_run_member] = True  # overrides never touch the flag
        try:
            response = call(**params)
        except UnsafeRequestError:
            raise  # a bug, never a probe outcome
        except ClientError as exc:
            return Answer.from_exception(exc)
        except Exception as exc:  # anything else is no usable answer: an error, never allowed
            return Answer.from_exception(exc)
        return Answer.from_response(response if isinstance(response, dict) else {})

    # -- a run -------------------------------------------------------------------

    def run(
        self,
        entries: Sequence[CatalogEntry],
        regions: Sequence[str],
        *,
        progress: Callable[[int, int], None] | None = None,
        on_result: Callable[[ProbeResult], None] | None = None,
        warnings: list[str] | None = None,
        resources: Mapping[str, Sequence[str]] | None = None,
        discovered: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> Matrix:
        """Probe every entry in every region; return the matrix.

        ``resources`` maps parameter names (``InstanceId``) to real ids: an entry
        taking such a parameter is probed once per id instead of on a placeholder.
        """
        tasks = list(expand(entries, regions, resources, discovered))
        return self.run_tasks(
            tasks, regions, progress=progress, on_result=on_result, warnings=warnings
        )

    def run_tasks(
        self,
        tasks: Sequence[Task],
        regions: Sequence[str],
        *,
        progress: Callable[[int, int], None] | None = None,
        on_result: Callable[[ProbeResult], None] | None = None,
        warnings: list[str] | None = None,
    ) -> Matrix:
        """Send already expanded :class:`Task` objects (see :func:`expand`); the matrix."""
        identity = self.identity
        started = _dt.datetime.now(_dt.UTC)
        notes: list[str] = list(warnings or [])
        self.notes = notes
        total = len(tasks)
        groups: dict[tuple[str, str], list[Task]] = {}
        for task in tasks:
            groups.setdefault((task.entry.service, task.region), []).append(task)
        results: list[ProbeResult] = []
        self._stop.clear()  # (an interrupt() that came before the run still stops it)

        def emit(result: ProbeResult) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)
            if progress is not None:
                progress(len(results), total)

        if progress is not None:
            progress(0, total)
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="awsprobe")
        # Finished futures arrive on a queue (not concurrent.futures.wait over every
        # pending future, which costs O(pending) per call and contends with the workers).
        finished: queue.SimpleQueue[tuple[Future[ProbeResult], tuple[str, str] | None]]
        finished = queue.SimpleQueue()
        outstanding = 0
        # a client holds ~17 MB of per-operation caches once a whole catalog went
        # through it: close each (service, region) client when its last probe is in
        left = {key: len(group) for key, group in groups.items()}

        def answered(key: tuple[str, str], count: int = 1) -> None:
            left[key] -= count
            if left[key] <= 0:
                self._drop(key)

        def submit(task: Task, canary_of: tuple[str, str] | None) -> None:
            nonlocal outstanding
            future = pool.submit(self._task, task)
            outstanding += 1
            future.add_done_callback(lambda f: finished.put((f, canary_of)))

        def take(future: Future[ProbeResult]) -> ProbeResult | None:
            if future.cancelled() or isinstance(future.exception(), _Skipped):
                return None
            return future.result()

        try:
            for key, group in groups.items():  # canaries first: one per (service, region)
                submit(group[0], key)
            while outstanding:
                if self._interrupt.is_set():
                    raise KeyboardInterrupt
                try:
                    future, canary_of = finished.get(timeout=0.25)
                except queue.Empty:
                    continue
                outstanding -= 1
                result = take(future)
                if result is None:
                    continue
                emit(result)
                answered((result.service, result.region))
                if result.code in EXPIRED_CODES:
                    raise _Expired(result.code)
                if canary_of is None:
                    continue
                rest = groups[canary_of][1:]
                if result.code in REGION_DISABLED_CODES:
                    service, region = canary_of
                    notes.append(
                        f"region {region} answered {result.code} for {service}: it is not "
                        "enabled for this account (or not subscribed); its other probes were "
                        "not sent (error)"
                    )
                    for task in rest:
                        emit(_not_sent(task, result, identity.arn))
                    answered(canary_of, len(rest))
                    continue
                for task in rest:
                    submit(task, None)
        except (KeyboardInterrupt, _Expired) as stop:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            while True:  # every probe that did finish is kept
                try:
                    future, _ = finished.get_nowait()
                except queue.Empty:
                    break
                kept = take(future)
                if kept is not None:
                    emit(kept)
            partial = assemble(identity, regions, results, started, notes, complete=False)
            if isinstance(stop, _Expired):
                raise CredentialsExpired(partial, [identity.arn], str(stop)) from None
            raise ProbeInterrupted(partial) from None
        except BaseException:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            self._interrupt.clear()  # the next run starts afresh
        pool.shutdown(wait=True)
        return assemble(identity, regions, results, started, notes, complete=True)

    def interrupt(self) -> None:
        """Stop the current (or next) run from another thread: nothing more is sent, the
        probes in flight are answered, and :meth:`run` raises :class:`ProbeInterrupted`."""
        self._interrupt.set()

    def _drop(self, key: tuple[str, str]) -> None:
        """Close and forget the client of (service, region); the next use recreates it."""
        with self._lock:
            client = self._clients.pop(key, None)
        if client is not None:
            close_client(client)

    def _refresh(self) -> bool:
        """Force a refresh of refreshable credentials; False when they cannot refresh."""
        credentials = self.session.get_credentials()
        refresh = getattr(credentials, "_protected_refresh", None)
        if refresh is None or not getattr(credentials, "refresh_needed", None):
            return False
        with self._lock:
            try:
                refresh(is_mandatory=True)
            except Exception as exc:  # the refresh itself failed: stop as expired
                logger.debug("credential refresh failed: %s", exc)
                return False
        return True

    def _task(self, task: Task) -> ProbeResult:
        if self._stop.is_set():
            raise _Skipped
        return self.probe_one(task.entry, task.region, task.overrides, task.resource)


def assemble(
    identity: Identity,
    regions: Sequence[str],
    results: Iterable[ProbeResult],
    started: _dt.datetime,
    notes: Iterable[str],
    *,
    complete: bool,
) -> Matrix:
    """One identity's matrix from its results, with the warnings the results call for."""
    ordered = sorted(results, key=lambda r: (r.service, r.action, r.region))
    warnings = list(notes)
    for result in ordered:
        if result.outcome is Outcome.DRY_RUN_IGNORED:
            warnings.append(
                f"DRY RUN IGNORED: {result.action} in {result.region} answered HTTP "
                f"{result.http_status} as if it ran; the service may have performed the call"
            )
    exhausted = [r for r in ordered if r.error_kind in (ErrorKind.THROTTLED, ErrorKind.SERVER)]
    if exhausted:
        warnings.append(
            f"{len(exhausted)} probes ran out of retries (throttling or server errors); "
            "their outcome is error: run again later or with fewer --workers"
        )
    return Matrix(
        identity=identity,
        regions=tuple(regions),
        results=tuple(ordered),
        started_at=started,
        finished_at=_dt.datetime.now(_dt.UTC),
        complete=complete,
        warnings=tuple(dict.fromkeys(warnings)),
    )


class _Expired(Exception):
    """Internal: a probe answered that the credentials expired."""


class _Skipped(Exception):
    """Internal: a probe not sent because the run was stopping."""


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """How long to wait after failed attempt number ``attempt`` (1 for the first).

    Capped exponential backoff with full jitter: uniform over
    ``[0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)]``, the model of botocore's
    ``retries/standard.py`` ``ExponentialBackoff`` (its cap is also 20 s).
    """
    return (rng or _JITTER).uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def _retryable(answer: Answer) -> bool:
    if answer.code in THROTTLE_CODES or is_unreadable(answer):
        return True
    if answer.code is None and isinstance(answer.exception, _RETRYABLE_EXCEPTIONS):
        return True
    status = answer.http_status
    return status is not None and (status == 429 or status >= 500)


def expand(
    entries: Iterable[CatalogEntry],
    regions: Iterable[str],
    resources: Mapping[str, Sequence[str]] | None = None,
    discovered: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> Iterator[Task]:
    """Every probe to send: one per (entry, region), or one per real id when
    ``resources`` has ids for a parameter the entry takes (``InstanceId`` also
    fills a list parameter ``InstanceIds``). An id that is an ARN is only used
    in its own region."""
    given = {k: list(v) for k, v in (resources or {}).items() if v}
    entry_list = list(entries)
    for region in regions:
        chosen = {k: list(v) for k, v in given.items()}
        for key, ids in ((discovered or {}).get(region) or {}).items():
            known = chosen.setdefault(key, [])
            known.extend(i for i in ids if i not in known)
        for entry in entry_list:
            if not entry.probe:
                continue
            member, ids, as_list = _resource_member(entry, chosen)
            usable = [i for i in ids if _in_region(i, region)]
            if member is None or not usable:
                yield Task(entry, region)
                continue
            for real in usable:
                value: Any = [real] if as_list else real
                yield Task(entry, region, ((member, value),), real)


def _resource_member(
    entry: CatalogEntry, resources: Mapping[str, list[str]]
) -> tuple[str | None, list[str], bool]:
    for member in entry.placeholders:
        as_list = isinstance(entry.params.get(member), list)
        singular = member[:-1] if as_list and member.endswith("s") else member
        for name in (member, singular, *strip_roles(singular)):
            if name in resources:
                return member, resources[name], as_list
    return None, [], False


def _in_region(resource: str, region: str) -> bool:
    parts = resource.split(":")
    if len(parts) > 4 and parts[0] == "arn" and parts[3]:
        return parts[3] == region
    return True


def _not_sent(task: Task, canary: ProbeResult, identity: str) -> ProbeResult:
    return ProbeResult(
        action=task.entry.action,
        service=task.entry.service,
        operation=task.entry.operation,
        region=task.region,
        outcome=Outcome.ERROR,
        code=canary.code,
        http_status=canary.http_status,
        message=f"not sent: region {task.region} is not enabled ({canary.code} on first probe)",
        attempts=0,
        elapsed_ms=0.0,
        detail=canary.detail,
        error_kind=ErrorKind.REGION,
        identity=identity,
        access_level=task.entry.access_level.value,
    )


def identify(
    session: Any = None, *, endpoint_url: str | None = None, config: Config | None = None
) -> Identity:
    """The caller identity with ``awsprobe whoami``'s details recorded (one STS call)."""
    from awsprobe.identity import whoami

    who = whoami(session, endpoint_url=endpoint_url, config=config)
    return dataclasses.replace(who.identity(), details=who.to_json())


def probe(
    actions: Iterable[str] | str | None = None,
    services: Iterable[str] | str | None = None,
    regions: Iterable[str] | str | None = None,
    session: Any = None,
    workers: int | None = None,
    *,
    sessions: Sequence[Any] | None = None,
    access_levels: Iterable[str] | str | None = None,
    endpoint_url: str | None = None,
    verify: bool | str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[ProbeResult], None] | None = None,
    catalog: Catalog | None = None,
    decode: bool = False,
    resources: Mapping[str, Sequence[str]] | None = None,
    discover: int = 0,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    processes: int | str = 1,
) -> Matrix:
    """Probe the selected actions in the selected regions and return the matrix.

    ``actions`` are IAM action globs (``ec2:Describe*``), ``services``
    botocore service names, ``regions`` a list, a comma-separated string,
    ``"all"`` or ``None`` (the session's region). ``session`` is a boto3 or
    botocore session (``None``: the default credential chain); ``sessions``
    probes several identities side by side (one column each), sharing one
    :class:`Pacer` so identities of one account stay within EC2's per-action
    limits. ``decode`` explains denials with ``sts:DecodeAuthorizationMessage``;
    ``resources`` (parameter -> real ids) and ``discover`` (up to N ids per
    parameter found with allow-listed read calls) probe real resources instead of
    placeholders. ``workers`` is the number of requests in flight in all (default:
    :data:`DEFAULT_WORKERS` per process). ``processes`` spreads the probes over worker
    processes (one interpreter sends on one core): ``"auto"`` picks one per core for large runs
    when forking is safe; the default, 1, stays in this process
    (:mod:`awsprobe.parallel`).
    Nothing is ever sent without its dry-run flag.
    """
    if max_attempts < 1:
        raise UsageError(f"max_attempts must be at least 1, not {max_attempts}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"workers must be between 1 and {MAX_WORKERS}, not {workers}")
    from awsprobe.parallel import check_processes, plan_processes, run_in_processes

    check_processes(processes)
    selected = catalog if catalog is not None else load_catalog(services, actions, access_levels)
    cores = [core_session(s) for s in (sessions if sessions else [session])]
    first = cores[0]
    notes: list[str] = []
    wants_all = isinstance(regions, str) and regions.strip().lower() == "all"
    names: tuple[str, ...] = ()
    if not wants_all:  # bad region names fail before anything is sent
        names = resolve_regions(regions, first, endpoint_url=endpoint_url, warnings=notes)
    sts_config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    identities = [identify(core, endpoint_url=endpoint_url, config=sts_config) for core in cores]
    if wants_all:
        names = resolve_regions(regions, first, endpoint_url=endpoint_url, warnings=notes)
    entries = [e for e in selected if e.probe]
    tasks: list[list[Task]] = []
    for core in cores:  # each identity discovers its own resources
        per_region = None
        if discover:
            from awsprobe.discover import discover as find

            services_used = sorted({e.service for e in entries})
            per_region, found_notes = find(
                core, names, services=services_used, limit=discover, endpoint_url=endpoint_url
            )
            notes.extend(found_notes)
        tasks.append(list(expand(entries, names, resources, per_region)))
    options: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "verify": verify,
        "max_attempts": max_attempts,
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
    }
    count = plan_processes(processes, sum(len(t) for t in tasks))
    if workers is None:  # DEFAULT_WORKERS in flight per process
        workers = min(MAX_WORKERS, DEFAULT_WORKERS * count)
    done: list[Matrix] = []
    expired: dict[int, str] = {}
    if count > 1:
        ran = run_in_processes(
            cores,
            identities,
            tasks,
            names,
            processes=count,
            workers=workers,
            options=options,
            notes=notes,
            progress=progress,
            on_result=on_result,
        )
        done, expired = ran.matrices, ran.expired
    else:
        done, expired = _run_here(
            cores, identities, tasks, names, workers, options, notes, progress, on_result
        )
    if decode:
        for number, core in enumerate(cores):
            matrix = done[number]
            explained, why = explain_denials(
                matrix.results, core, endpoint_url=endpoint_url, workers=min(workers, 8)
            )
            done[number] = matrix.with_results(explained, warnings=(*matrix.warnings, *why))
    combined = _combine(done, identities)
    if expired:
        raise CredentialsExpired(
            combined, [identities[n].arn for n in sorted(expired)], next(iter(expired.values()))
        )
    return combined


def _run_here(
    cores: Sequence[botocore.session.Session],
    identities: Sequence[Identity],
    tasks: Sequence[Sequence[Task]],
    regions: Sequence[str],
    workers: int,
    options: dict[str, Any],
    notes: list[str],
    progress: Callable[[int, int], None] | None,
    on_result: Callable[[ProbeResult], None] | None,
) -> tuple[list[Matrix], dict[int, str]]:
    """Probe each identity in turn in this process, sharing one :class:`Pacer`."""
    pacer = Pacer()
    done: list[Matrix] = []
    expired: dict[int, str] = {}
    total = sum(len(t) for t in tasks)

    def overall(count: int, _: int) -> None:
        if progress is not None:
            progress(sum(len(m.results) for m in done) + count, total)

    for number, (core, identity) in enumerate(zip(cores, identities, strict=True)):
        with Runner(core, workers=workers, pacer=pacer, identity=identity, **options) as runner:
            try:
                matrix = runner.run_tasks(
                    tasks[number],
                    regions,
                    progress=overall if progress is not None else None,
                    on_result=on_result,
                    warnings=notes if not done else [],
                )
            except ProbeInterrupted as interrupted:
                done.append(interrupted.matrix)
                raise ProbeInterrupted(_combine(done, identities)) from None
            except CredentialsExpired as stopped:  # stop this identity, go on with the others
                expired[number] = stopped.code
                done.append(stopped.matrix)
                continue
        done.append(matrix)
    return done, expired


def _combine(matrices: Sequence[Matrix], identities: Sequence[Identity]) -> Matrix:
    """One matrix from per-identity runs (identity = the first, identities = all)."""
    if len(matrices) == 1 and len(identities) == 1:
        return matrices[0]
    first, last = matrices[0], matrices[-1]
    warnings = tuple(dict.fromkeys(w for m in matrices for w in m.warnings))
    return Matrix(
        identity=identities[0],
        regions=first.regions,
        results=tuple(r for m in matrices for r in m.results),
        started_at=first.started_at,
        finished_at=last.finished_at,
        complete=all(m.complete for m in matrices) and len(matrices) == len(identities),
        warnings=warnings,
        identities=tuple(identities),
    )


def can(
    action: str,
    region: str | None = None,
    session: Any = None,
    *,
    endpoint_url: str | None = None,
) -> bool:
    """True only when a dry run of ``action`` says it would have succeeded."""
    if any(ch in action for ch in "*?["):
        raise UsageError(f"can() takes one action, not a glob ({action!r}); use probe() for globs")
    entry = load_catalog(actions=[action]).find(action)
    matrix = probe(
        catalog=Catalog([entry]),
        regions=[region] if region else None,
        session=session,
        workers=1,
        endpoint_url=endpoint_url,
    )
    return matrix.results[0].outcome is Outcome.ALLOWED
