"""The per-identity runner: send each selected dry run, concurrently, within AWS's limits.

* One guarded client per (service, region), created once and reused, its connection
  pool sized to the worker count, closed when its last probe is in. The clients of one
  service share one parsed service model (:func:`~awsprobe.guard.share_service_model`)
  and send through :mod:`awsprobe.transport` (``RunOptions.http``).
* Retries: botocore's own are off (``total_max_attempts=1``, see
  :mod:`~awsprobe.probing.retry`); awsprobe retries throttling, server errors and
  transport faults itself with capped full-jitter backoff, and records the number of
  attempts. A probe that was throttled and then answered ends with its real outcome.
* Pacing: before each send the shared :class:`~awsprobe.probing.pacing.Pacer` says how
  long to wait; a throttled action slows down.
* Expiry: an answer that the credentials expired refreshes refreshable credentials
  (:func:`awsprobe.adapters.force_refresh`) and retries; otherwise the identity stops at once and
  the run raises :class:`~awsprobe.errors.CredentialsExpired` with what it gathered.
* Regions that are not enabled answer ``AuthFailure``/``OptInRequired``: each
  (service, region) sends one probe first (a canary), and when it says so the rest of
  that group is not sent; its results are ``error`` with one warning.
* Results stream to ``on_result`` as they arrive; an interruption raises
  :class:`~awsprobe.errors.ProbeInterrupted`, which carries the partial matrix.

Every wait (the pacer's, the backoff's) is on the runner's stop event, so that a stop
cuts it short; the backoff's random source (:attr:`Runner.rng`) and the clock that times
each probe are parameters.
"""

from __future__ import annotations

import datetime as _dt
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from awsprobe import transport
from awsprobe._version import __version__
from awsprobe.adapters import force_refresh
from awsprobe.catalog import CatalogEntry
from awsprobe.classify import (
    EXPIRED_CODES,
    REGION_DISABLED_CODES,
    Answer,
    classify,
    is_expired,
    is_throttled,
)
from awsprobe.decode import plain_reason
from awsprobe.errors import CredentialsExpired, ProbeInterrupted, UnsafeRequestError, UsageError
from awsprobe.guard import ModelShare, close_client, core_session, guarded_client
from awsprobe.matrix import Matrix
from awsprobe.model import ErrorKind, Identity, Outcome, ProbeResult
from awsprobe.probing.caller import caller_identity
from awsprobe.probing.coverage import not_exercised
from awsprobe.probing.options import RunOptions
from awsprobe.probing.pacing import Clock, Pacer
from awsprobe.probing.results import assemble
from awsprobe.probing.retry import JITTER, backoff_delay, is_retryable
from awsprobe.probing.tasks import Task, expand

__all__ = ["Runner"]

logger = logging.getLogger(__name__)


class Runner:
    """Probe catalog entries in regions for one identity. Reusable; thread-safe per run.

    ``options`` say how (:class:`RunOptions`); ``pacer`` is shared by every runner of a
    run (one of its own by default); ``identity`` saves the STS call when it is known;
    ``rng`` is the backoff's random source and ``clock`` times each probe.
    """

    def __init__(
        self,
        session: Any = None,
        options: RunOptions | None = None,
        *,
        pacer: Pacer | None = None,
        identity: Identity | None = None,
        rng: random.Random | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.options = options if options is not None else RunOptions()
        self.session = core_session(session)
        self.pacer = pacer or Pacer()
        #: The source of backoff jitter (replaceable, e.g. by a seeded one in tests).
        self.rng: random.Random = rng or JITTER
        self._clock = clock
        self._identity = identity
        self._clients: dict[tuple[str, str], BaseClient] = {}
        # one parsed model per service for all its regions' clients, dropped at close()
        self._models: ModelShare = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interrupt = threading.Event()
        #: The warnings of the last run as gathered, before the ones derived from results.
        self.notes: list[str] = []
        self._config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=self.options.workers,
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            user_agent_extra=f"awsprobe/{__version__}",
        )

    @property
    def identity(self) -> Identity:
        """The caller identity, asked of STS once."""
        if self._identity is None:
            self._identity = caller_identity(
                self.session,
                endpoint_url=self.options.endpoint_url,
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": self.options.max_attempts},
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
                    endpoint_url=self.options.endpoint_url,
                    config=self._config,
                    verify=self.options.verify,
                    models=self._models,
                )
                if self.options.http == "light":
                    transport.install(client)  # botocore's session stays behind it
                self._clients[key] = client
            return client

    def close(self) -> None:
        """Close every client's connection pool."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
            self._models = {}
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
        *,
        params: Mapping[str, Any] | None = None,
    ) -> ProbeResult:
        """Send one dry run (with retries) and classify its answer.

        ``overrides`` replace parameters (real ids instead of placeholders);
        ``resource`` names the real resource for the result. ``params``, when given,
        are sent instead of the entry's own (a request probe,
        :mod:`~awsprobe.probing.request`: checked already, no placeholder filled in);
        the dry-run flag is set either way.
        """
        if not entry.probe:
            raise UsageError(f"{entry.action} is not probed: {entry.reason}")
        client = self.client(entry.service, region)
        account = self.identity.account
        call = getattr(client, entry.method)
        replaced = dict(overrides)
        max_attempts = self.options.max_attempts
        attempts = 0
        started = self._clock()
        answer: Answer | None = None
        while True:
            attempts += 1
            wait_for = self.pacer.delay(account, region, entry.service, entry.operation)
            if self._stop.is_set() or (wait_for > 0 and self._stop.wait(wait_for)):
                break  # a stopped runner sends nothing more
            answer = self._send(call, entry, replaced, params)
            if is_expired(answer) and attempts < max_attempts and self._refresh():
                continue  # refreshable credentials (an assumed role) refresh instead of stopping
            if attempts >= max_attempts or not is_retryable(answer):
                break
            if is_throttled(answer):
                self.pacer.throttled(account, region, entry.service, entry.operation)
            if self._stop.wait(backoff_delay(attempts, self.rng)):
                break
        if answer is None:  # stopped before anything was sent: no result to report
            raise _Skipped
        if is_expired(answer):
            self._stop.set()  # the identity's credentials are gone: no more sends at once
        verdict = classify(answer, entry)
        placeholders = (
            tuple(p for p in entry.placeholders if p not in replaced) if params is None else ()
        )
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
            elapsed_ms=(self._clock() - started) * 1000.0,
            detail=detail,
            error_kind=verdict.error_kind,
            identity=self.identity.arn,
            access_level=entry.access_level.value,
            reason=plain_reason(answer.message) if verdict.outcome is Outcome.DENIED else None,
            resource=resource,
            placeholders=placeholders,
            # a request probe (params given) is the real request: AWS evaluated all of it
            not_exercised=(
                not_exercised(entry)
                if params is None and verdict.outcome is Outcome.ALLOWED
                else None
            ),
        )

    @staticmethod
    def _send(
        call: Callable[..., Any],
        entry: CatalogEntry,
        replaced: dict[str, Any],
        exact: Mapping[str, Any] | None = None,
    ) -> Answer:
        params = entry.probe_params() if exact is None else dict(exact)
        params.update(replaced)
        params[entry.dry_run_member] = True  # neither overrides nor a request drop the flag
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
        pool = ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="awsprobe")
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
        with self._lock:
            return force_refresh(self.session.get_credentials())

    def _task(self, task: Task) -> ProbeResult:
        if self._stop.is_set():
            raise _Skipped
        return self.probe_one(task.entry, task.region, task.overrides, task.resource)


class _Expired(Exception):
    """Internal: a probe answered that the credentials expired."""


class _Skipped(Exception):
    """Internal: a probe not sent because the run was stopping."""


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
