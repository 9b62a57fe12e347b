"""Probing in several processes: one Python process sends on one core.

botocore spends about a millisecond of CPU per call (serializing, signing,
parsing), and one interpreter runs Python on one core at a time, so a sweep
of every region is CPU-bound on one core however many threads send it
(benchmarks, figure 4). Here the probes are cut into shares, one per worker
process, and the results stream back to the parent as they arrive.

* The unit of work is plain data: the expanded :class:`~awsprobe.probing.tasks.Task`
  objects of each identity, the identities, the :class:`~awsprobe.probing.options.RunOptions`,
  and the sessions -- inherited as they are when the process is forked, or as a
  snapshot of their credentials when it is spawned.
* What a worker tells its parent is a typed message, a frozen dataclass
  (:class:`Results`, :class:`Notes`, :class:`Stopped`, :class:`Expired`,
  :class:`Failed`, :class:`Unsafe`, :class:`Exited`), never a string tag.
* Pacing stays correct because every probe of one (account, region, action)
  is in one share: each worker keeps its own :class:`~awsprobe.probing.pacing.Pacer`,
  and :func:`split` never puts one (service, region, operation) in two shares.
* ``workers`` stays the number of requests in flight in all: each process runs
  its share of the threads.
* Stopping: Ctrl-C (or :class:`KeyboardInterrupt`) in the parent stops every
  worker; the probes in flight are answered and kept, the run raises
  :class:`~awsprobe.errors.ProbeInterrupted` with the partial matrix. A worker
  whose parent died stops too.

Forking is used only when the calling process has no other thread (forking a
threaded process can copy a lock another thread holds); otherwise, or on
macOS and Windows, workers are spawned, which needs the caller's main module
to be importable without side effects (``if __name__ == "__main__":``). The
automatic choice (``processes="auto"``, :func:`plan_processes`) never spawns:
it stays in one process instead. Event handlers registered on a session run
in the workers, so their side effects stay there: the library probes in one
process unless asked (the CLI asks for ``auto``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Final

import botocore.session

from awsprobe.errors import (
    CredentialsError,
    CredentialsExpired,
    ProbeInterrupted,
    UnsafeRequestError,
    WorkerFailed,
)
from awsprobe.matrix import Matrix
from awsprobe.model import Identity, ProbeResult
from awsprobe.probing.options import RunOptions, check_concurrency
from awsprobe.probing.pacing import Pacer
from awsprobe.probing.results import assemble, combine
from awsprobe.probing.runner import Runner
from awsprobe.probing.tasks import Task

__all__ = [
    "MAX_AUTO_PROCESSES",
    "MIN_PROBES_PER_PROCESS",
    "Exited",
    "Expired",
    "Failed",
    "Message",
    "Notes",
    "ParallelRun",
    "Results",
    "SessionSnapshot",
    "Stopped",
    "Unsafe",
    "fork_safe",
    "plan_processes",
    "run_in_processes",
    "split",
    "usable_cores",
]

#: The automatic choice uses at most this many processes.
MAX_AUTO_PROCESSES: Final = 8
#: Below this many probes per process, starting a process costs more than it saves.
MIN_PROBES_PER_PROCESS: Final = 200
#: How often a waiting loop looks at the stop flag and its parent, in seconds.
_POLL: Final = 0.25
#: After a stop, how long the parent waits for the workers' last answers, in seconds.
_GRACE: Final = 30.0
#: A worker sends its results in batches of this many, or after this many seconds.
_BATCH: Final = 64
_FLUSH: Final = 0.1


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def fork_safe() -> bool:
    """Whether forking is safe here: Linux, and no other thread in this process."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def plan_processes(requested: int | str, probes: int) -> int:
    """How many processes to probe ``probes`` probes with.

    ``requested`` is a number (1 = in this process) or :data:`~awsprobe.probing.options.AUTO`:
    one process per usable core (at most :data:`MAX_AUTO_PROCESSES`), at least
    :data:`MIN_PROBES_PER_PROCESS` probes each, and only where forking is safe.
    """
    check_concurrency(processes=requested)
    if isinstance(requested, int):
        return max(1, min(requested, probes))
    if not fork_safe():
        return 1
    wanted = min(usable_cores(), MAX_AUTO_PROCESSES, probes // MIN_PROBES_PER_PROCESS)
    return max(1, wanted)


def split(tasks: Sequence[Sequence[Task]], count: int) -> list[list[list[Task]]]:
    """Cut each identity's tasks into ``count`` shares: ``shares[process][identity]``.

    Every task of one (service, region, operation) -- whatever the identity or
    resource -- lands in the same share, so one process paces it. With many
    (service, region) groups, whole groups are dealt out (each region's canary
    and client stay in one process); with few, their operations are. Largest
    first to the least loaded share.
    """
    count = max(1, count)
    keys: Counter[tuple[str, ...]] = Counter()
    for identity_tasks in tasks:
        for task in identity_tasks:
            keys[(task.entry.service, task.region, task.entry.operation)] += 1
    groups: Counter[tuple[str, ...]] = Counter()
    for key, n in keys.items():
        groups[key[:2]] += n
    load = [0] * count
    owner: dict[tuple[str, ...], int] = {}

    def deal(weights: dict[tuple[str, ...], int]) -> None:
        for key, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
            index = load.index(min(load))
            owner[key] = index
            load[index] += weight

    by_group = len(groups) >= 4 * count
    deal(dict(groups) if by_group else dict(keys))
    shares: list[list[list[Task]]] = [[[] for _ in tasks] for _ in range(count)]
    for number, identity_tasks in enumerate(tasks):
        for task in identity_tasks:
            owned: tuple[str, ...] = (task.entry.service, task.region)
            if not by_group:
                owned = (*owned, task.entry.operation)
            shares[owner[owned]][number].append(task)
    return shares


@dataclass(frozen=True)
class SessionSnapshot:
    """What a spawned worker needs to rebuild a session: profile, region, credentials."""

    profile: str | None
    region: str | None
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str | None = field(repr=False, default=None)

    @classmethod
    def of(cls, core: Any) -> SessionSnapshot:
        credentials = core.get_credentials()
        if credentials is None:
            raise CredentialsError("no credentials found: configure a profile or environment")
        frozen = credentials.get_frozen_credentials()
        profile = core.get_config_variable("profile")
        region = core.get_config_variable("region")
        return cls(
            profile=str(profile) if profile else None,
            region=str(region) if region else None,
            access_key=frozen.access_key,
            secret_key=frozen.secret_key,
            token=frozen.token,
        )

    def session(self) -> botocore.session.Session:
        core = botocore.session.Session(profile=self.profile)
        core.set_credentials(self.access_key, self.secret_key, self.token)
        if self.region:
            core.set_config_variable("region", self.region)
        return core


# -- what a worker tells its parent -------------------------------------------------


@dataclass(frozen=True)
class Results:
    """A batch of results, per identity number."""

    batch: Mapping[int, tuple[ProbeResult, ...]]


@dataclass(frozen=True)
class Notes:
    """The warnings one identity's runner gathered in this worker."""

    identity: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Stopped:
    """The worker saw the stop flag (or lost its parent) while probing this identity."""

    identity: int


@dataclass(frozen=True)
class Expired:
    """This identity's credentials expired mid-run: the worker went on with the others."""

    identity: int
    code: str


@dataclass(frozen=True)
class Failed:
    """The worker failed: the parent raises :class:`~awsprobe.errors.WorkerFailed`."""

    why: str


@dataclass(frozen=True)
class Unsafe:
    """The guard refused a request in the worker: the parent raises the same error."""

    service: str
    operation: str
    why: str


@dataclass(frozen=True)
class Exited:
    """The worker's last message: it is done and about to exit."""


Message = Results | Notes | Stopped | Expired | Failed | Unsafe | Exited


@dataclass(frozen=True)
class _Share:
    """One worker's work: per identity, its session, identity and tasks."""

    sessions: tuple[Any, ...]  # botocore sessions (fork) or SessionSnapshot (spawn)
    identities: tuple[Identity, ...]
    tasks: tuple[tuple[Task, ...], ...]
    regions: tuple[str, ...]
    options: RunOptions


@dataclass
class ParallelRun:
    """What :func:`run_in_processes` gathered: one matrix per identity."""

    matrices: list[Matrix]
    expired: dict[int, str]  # identity index -> the expiry code


class _Outbox:
    """A worker's messages to the parent, results in batches: one pickle and one write
    per batch instead of per result (the worker's CPU is the run's bottleneck)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.batch: dict[int, list[ProbeResult]] = {}
        self.size = 0
        self.sent_at = time.monotonic()

    def result(self, number: int, result: ProbeResult) -> None:
        self.batch.setdefault(number, []).append(result)
        self.size += 1
        if self.size >= _BATCH or time.monotonic() - self.sent_at >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            batch = {number: tuple(results) for number, results in self.batch.items()}
            self.connection.send(Results(batch))
            self.batch, self.size = {}, 0
        self.sent_at = time.monotonic()

    def send(self, message: Message) -> None:
        self.flush()
        self.connection.send(message)


def _worker(share: _Share, connection: Any, stop: Any, parent: int) -> None:
    """A worker process: probe the share, stream every result to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stopping = threading.Event()
    current: list[Runner] = []
    lock = threading.Lock()

    def watch() -> None:
        while not stop.value:
            if os.getppid() != parent:  # the parent is gone: nobody reads the results
                break
            time.sleep(_POLL)
        with lock:
            stopping.set()
            for runner in current:
                runner.interrupt()

    threading.Thread(target=watch, name="awsprobe-watch", daemon=True).start()
    pacer = Pacer()  # one per process: every probe of an (account, region, action) is here
    out = _Outbox(connection)
    try:
        for number, (session, identity, tasks) in enumerate(
            zip(share.sessions, share.identities, share.tasks, strict=True)
        ):
            if not tasks:
                continue
            core = session.session() if isinstance(session, SessionSnapshot) else session
            runner = Runner(core, share.options, identity=identity, pacer=pacer)
            with lock:
                if stopping.is_set():
                    break
                current[:] = [runner]

            def send(result: ProbeResult, n: int = number) -> None:
                out.result(n, result)

            with runner:
                try:
                    runner.run_tasks(tasks, share.regions, on_result=send)
                except ProbeInterrupted:
                    out.send(Notes(number, tuple(runner.notes)))
                    out.send(Stopped(number))
                    break
                except CredentialsExpired as expired:
                    out.send(Notes(number, tuple(runner.notes)))
                    out.send(Expired(number, expired.code))
                    continue
            out.send(Notes(number, tuple(runner.notes)))
    except UnsafeRequestError as exc:  # the guard refused: the parent raises it again
        out.send(Unsafe(exc.service, exc.operation, exc.why))
    except BaseException as exc:  # report it; the parent raises WorkerFailed
        out.send(Failed(f"{type(exc).__name__}: {exc}"))
    finally:
        with contextlib.suppress(OSError):  # the parent may be gone
            out.send(Exited())
        connection.close()


@dataclass
class _Gathered:
    """What the parent has received from its workers so far."""

    results: list[list[ProbeResult]]
    notes: list[list[str]]
    expired: dict[int, str] = field(default_factory=dict)
    stopped: bool = False
    failures: list[str] = field(default_factory=list)
    unsafe: list[UnsafeRequestError] = field(default_factory=list)
    count: int = 0


def run_in_processes(
    sessions: Sequence[Any],
    identities: Sequence[Identity],
    tasks: Sequence[Sequence[Task]],
    regions: Sequence[str],
    *,
    processes: int,
    options: RunOptions,
    notes: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[ProbeResult], None] | None = None,
) -> ParallelRun:
    """Probe every identity's ``tasks`` in ``processes`` worker processes.

    ``sessions`` are botocore sessions, one per identity; ``options.workers`` is the
    number of requests in flight in all (divided among the processes). Raises
    :class:`~awsprobe.errors.ProbeInterrupted` (partial matrix) on
    :class:`KeyboardInterrupt` and :class:`~awsprobe.errors.WorkerFailed` when a
    worker fails.
    """
    started = _dt.datetime.now(_dt.UTC)
    method = "fork" if fork_safe() else "spawn"
    context: Any = multiprocessing.get_context(method)
    carried: tuple[Any, ...] = (
        tuple(sessions)
        if method == "fork"
        else tuple(SessionSnapshot.of(core) for core in sessions)
    )
    shares = [s for s in split(tasks, processes) if any(s)]
    total = sum(len(t) for t in tasks)
    per_process = dataclasses.replace(
        options, workers=max(1, options.workers // max(1, len(shares)))
    )
    # a flag in shared memory, polled (a multiprocessing.Event can hang its set() when a
    # process that waited on it has exited)
    stop = context.Value("b", 0, lock=False)
    got = _Gathered(
        results=[[] for _ in identities],
        notes=[list(notes) if n == 0 else [] for n in range(len(identities))],
    )
    readers: dict[Any, Any] = {}  # the parent's end of each worker's pipe -> the worker
    children: list[Any] = []

    def handle(message: Message) -> None:
        """Take one message from a worker."""
        match message:
            case Results(batch):
                for number, results in batch.items():
                    got.results[number].extend(results)
                    for result in results:
                        got.count += 1
                        if on_result is not None:
                            on_result(result)
                        if progress is not None:
                            progress(got.count, total)
            case Notes(number, gathered):
                got.notes[number].extend(gathered)
            case Expired(number, code):
                got.expired[number] = code
            case Stopped():
                got.stopped = True
            case Failed(why):
                got.failures.append(why)
                stop.value = 1
            case Unsafe(service, operation, why):
                got.unsafe.append(UnsafeRequestError(service, operation, why))
                stop.value = 1

    def receive(until: float | None = None) -> None:
        """Take messages until every worker said it exited (or hung up), or ``until``."""
        while readers and (until is None or time.monotonic() < until):
            ready: list[Any] = wait(list(readers), timeout=_POLL)
            for reader in ready:
                try:
                    message = reader.recv()
                except EOFError:  # hung up without saying goodbye: it died
                    child = readers.pop(reader)
                    reader.close()
                    child.join(timeout=5)
                    got.failures.append(f"{child.name} exited with code {child.exitcode}")
                    stop.value = 1
                    continue
                if isinstance(message, Exited):
                    readers.pop(reader).join(timeout=_GRACE)
                    reader.close()
                    continue
                handle(message)

    def matrices(complete: bool) -> list[Matrix]:
        return [
            assemble(
                identity,
                regions,
                got.results[n],
                started,
                got.notes[n],
                complete=complete and n not in got.expired,
            )
            for n, identity in enumerate(identities)
        ]

    if progress is not None:
        progress(0, total)
    try:
        for number, share in enumerate(shares):
            work = _Share(
                sessions=carried,
                identities=tuple(identities),
                tasks=tuple(tuple(t) for t in share),
                regions=tuple(regions),
                options=per_process,
            )
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(
                target=_worker,
                args=(work, writer, stop, os.getpid()),
                name=f"awsprobe-worker-{number}",
                daemon=True,
            )
            child.start()
            writer.close()  # the worker holds the only writing end: its exit is our EOF
            readers[reader] = child
            children.append(child)
        receive()
    except KeyboardInterrupt:
        stop.value = 1
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
            receive(time.monotonic() + _GRACE)
        raise ProbeInterrupted(combine(matrices(complete=False), identities)) from None
    finally:
        stop.value = 1
        for reader in list(readers):
            reader.close()
        for child in children:
            child.join(timeout=1.0)
            if child.is_alive():
                child.terminate()
                child.join()
    if got.unsafe:  # as in one process: a bug, never an outcome
        raise got.unsafe[0]
    if got.failures:
        raise WorkerFailed(
            f"a probe worker process failed ({'; '.join(got.failures)}); the results it sent "
            "are kept: run again with --processes 1 (processes=1) to probe in one process",
            combine(matrices(complete=False), identities),
        )
    if got.stopped:  # a worker saw the stop flag without a Ctrl-C here (its parent moved)
        raise ProbeInterrupted(combine(matrices(complete=False), identities))
    return ParallelRun(matrices=matrices(complete=True), expired=got.expired)
