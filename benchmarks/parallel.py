"""A prototype of process-parallel probing, built on awsprobe's public :class:`Runner`.

One Python process runs botocore on one core (the GIL), so a sweep of every
region is CPU-bound on one core however many threads it uses. Here the work is
cut into plain, picklable :class:`ProbeTask` units and run in a process pool.

The unit of work is (identity, regions, actions). Pacing stays correct as long
as every probe of one (account, region, action) lives in one process, because
:class:`~awsprobe.runner.Pacer` is per process: :func:`plan` therefore splits by
region first and, with fewer regions than processes, by action -- never the
same action of one region across two processes. (Several identities of one
account would go into the same task, sharing its pacer.)

``prototype`` switches on the runner changes prototyped in
:mod:`benchmarks.prototypes` (shared alias cache, client eviction).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ParallelRun",
    "ProbeTask",
    "plan",
    "probe_parallel",
    "run_task",
    "start_method",
]


@dataclass(frozen=True)
class ProbeTask:
    """Everything one worker process needs, as plain data (it is pickled)."""

    access_key: str
    secret_key: str
    identity: tuple[str, str, str]  # (arn, account, user id): asked of STS once, by the parent
    regions: tuple[str, ...]
    operations: tuple[str, ...]  # EC2 operation names
    endpoint_url: str | None
    workers: int
    prototype: bool = False  # the runner changes of benchmarks.prototypes
    service: str = "ec2"


@dataclass
class ParallelRun:
    """What :func:`probe_parallel` gives back."""

    results: list[Any] = field(default_factory=list)  # awsprobe ProbeResult objects
    start_method: str = ""
    wall: float = 0.0
    startup: float = 0.0  # pool start until every worker had imported awsprobe
    per_process: list[dict[str, float]] = field(default_factory=list)


def plan(
    regions: Sequence[str], operations: Sequence[str], processes: int
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Cut (regions x operations) into about ``processes`` (regions, operations) chunks.

    Regions are dealt round-robin; with fewer regions than processes each
    region's operations are split into contiguous chunks instead.
    """
    processes = max(1, processes)
    if len(regions) >= processes:
        groups = [tuple(regions[i::processes]) for i in range(processes)]
        return [(group, tuple(operations)) for group in groups if group]
    per_region = max(1, processes // max(1, len(regions)))
    size = -(-len(operations) // per_region)
    return [
        ((region,), tuple(operations[i : i + size]))
        for region in regions
        for i in range(0, len(operations), size)
    ]


def _warm() -> float:
    """Pool initializer work: import awsprobe and load the catalog (counted as start-up)."""
    import awsprobe

    awsprobe.load_catalog(services="ec2")
    return time.perf_counter()


def run_task(task: ProbeTask) -> tuple[list[Any], dict[str, float]]:
    """Run one task in this process; return its results and this process's costs."""
    import botocore.session

    from awsprobe.catalog import Catalog, load_catalog
    from awsprobe.matrix import Identity
    from awsprobe.runner import Runner

    cpu = time.process_time()
    wall = time.perf_counter()
    session = botocore.session.get_session()
    session.set_credentials(task.access_key, task.secret_key)
    session.set_config_variable("region", task.regions[0])
    wanted = set(task.operations)
    entries = Catalog(e for e in load_catalog(services=task.service) if e.operation in wanted)
    arn, account, user_id = task.identity
    options: dict[str, Any] = {
        "workers": task.workers,
        "endpoint_url": task.endpoint_url,
        "identity": Identity(arn=arn, account=account, user_id=user_id),
    }
    if task.prototype:
        from benchmarks.prototypes import PrototypeRunner

        runner: Runner = PrototypeRunner(session, alias=True, evict=True, **options)
    else:
        runner = Runner(session, **options)
    with runner:
        matrix = runner.run(list(entries), list(task.regions))
    costs = {
        "pid": float(os.getpid()),
        "probes": float(len(matrix.results)),
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    return list(matrix.results), costs


def start_method() -> str:
    """``fork`` while this process has no other thread (cheap: the imports are inherited),
    else ``spawn`` (forking a threaded process is unsafe)."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def probe_parallel(
    tasks: Sequence[ProbeTask], processes: int, method: str | None = None
) -> ParallelRun:
    """Run ``tasks`` in a pool of ``processes`` interpreters; start-up is part of the wall."""
    run = ParallelRun(start_method=method or start_method())
    started = time.perf_counter()
    context = multiprocessing.get_context(run.start_method)
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        ready = [pool.submit(_warm) for _ in range(processes)]
        run.startup = max(f.result() for f in ready) - started
        for results, costs in pool.map(run_task, tasks):
            run.results.extend(results)
            run.per_process.append(costs)
    run.wall = time.perf_counter() - started
    return run
