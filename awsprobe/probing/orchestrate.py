"""The orchestrator: :func:`probe` and :func:`can`, the library's front door for probing.

The one module that sees both the in-process :class:`~awsprobe.probing.runner.Runner`
and the worker processes (:mod:`~awsprobe.probing.parallel`): it selects the catalog,
checks the regions, identifies every identity, expands the tasks, picks where to run
them, decodes denials when asked, and combines the identities' matrices into one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import botocore.session
from botocore.config import Config

from awsprobe.catalog import Catalog, load_catalog
from awsprobe.decode import explain_denials
from awsprobe.discover import discover as find_resources
from awsprobe.errors import CredentialsExpired, ProbeInterrupted, UsageError
from awsprobe.guard import core_session
from awsprobe.matrix import Matrix
from awsprobe.model import Disagreement, Identity, Outcome, ProbeResult
from awsprobe.probing.caller import identify
from awsprobe.probing.crosscheck import add_simulations
from awsprobe.probing.options import (
    CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_WORKERS,
    MAX_WORKERS,
    READ_TIMEOUT,
    RunOptions,
    check_concurrency,
    check_max_attempts,
    chosen_http,
)
from awsprobe.probing.pacing import Pacer
from awsprobe.probing.parallel import plan_processes, run_in_processes
from awsprobe.probing.regions import ALL_REGIONS, resolve_regions
from awsprobe.probing.results import combine
from awsprobe.probing.runner import Runner
from awsprobe.probing.selection import Selection, select
from awsprobe.probing.simulate import IamPace, Simulator, group_arns, principal_for
from awsprobe.probing.tasks import Task, expand

__all__ = ["can", "probe"]


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
    simulate: bool = False,
    cross_check: bool = False,
    simulate_principal: str | None = None,
    resource_arns: Iterable[str] | None = None,
    selection: Selection | None = None,
) -> Matrix:
    """Probe the selected actions in the selected regions and return the matrix.

    ``actions`` are IAM action globs (``ec2:Describe*``), ``services``
    botocore service names, ``regions`` a region name, a list of them,
    ``"all"`` (:data:`~awsprobe.probing.regions.ALL_REGIONS`: every region enabled
    for the account) or ``None`` (the session's region). ``session`` is a boto3 or
    botocore session (``None``: the default credential chain); ``sessions``
    probes several identities side by side (one column each), sharing one
    :class:`~awsprobe.probing.pacing.Pacer` so identities of one account stay within
    EC2's per-action limits. ``decode`` explains denials with
    ``sts:DecodeAuthorizationMessage``; ``resources`` (parameter -> real ids) and
    ``discover`` (up to N ids per parameter found with allow-listed read calls) probe
    real resources instead of placeholders. ``workers`` is the number of requests in
    flight in all (default: :data:`~awsprobe.probing.options.DEFAULT_WORKERS` per
    process). ``processes`` spreads the probes over worker processes (one interpreter
    sends on one core): ``"auto"`` picks one per core for large runs when forking is
    safe; the default, 1, stays in this process (:mod:`awsprobe.probing.parallel`).
    Nothing is ever sent without its dry-run flag.

    ``simulate`` widens the selection to the Service Authorization Reference
    (:mod:`~awsprobe.probing.selection`: ``services`` may then be IAM prefixes such as
    ``s3``, ``actions`` match reference actions too, ``access_levels`` the reference's
    levels) and answers every selected action that has no dry run with
    ``iam:SimulatePrincipalPolicy`` (:mod:`~awsprobe.probing.simulate`), each such
    result labelled ``source = simulated``; ``selection`` gives that selection ready-made
    (instead of ``catalog``). ``cross_check`` also simulates the actions that were
    dry-run and fills :attr:`Matrix.cross_check` with every disagreement
    (:mod:`~awsprobe.probing.crosscheck`); dry-run results never change.
    ``simulate_principal`` names the IAM user or role to simulate when it cannot be told
    from the caller (a role with a path); ``resource_arns`` are ARNs to simulate actions
    against instead of ``*`` (an ARN applies to the actions of its service that act on its
    resource type). When the identity may not simulate itself, one warning says so, each
    action only the simulator could answer is an ``error`` result (never asked) and
    ``cross_check`` stays ``None``.
    """
    check_max_attempts(max_attempts)
    check_concurrency(workers, processes)
    chosen_http()  # a bad AWSPROBE_HTTP is a one-line error before anything is sent
    if catalog is not None and selection is not None:
        raise UsageError("give catalog= or selection=, not both")
    if catalog is not None and simulate:
        raise UsageError(
            "simulate=True selects with services=/actions= (or selection=); a catalog= holds "
            "dry runs only and would simulate nothing"
        )
    if selection is None and simulate and catalog is None:
        selection = select(services, actions, access_levels)
    arns = group_arns(resource_arns or ())
    if simulate_principal:
        principal_for("", simulate_principal)  # a bad ARN fails before anything is sent
    if selection is not None:
        selected: Catalog = selection.catalog
    else:
        selected = (
            catalog if catalog is not None else load_catalog(services, actions, access_levels)
        )
    simulated = selection.simulated if selection is not None and simulate else ()
    cores = [core_session(s) for s in (sessions if sessions else [session])]
    first = cores[0]
    notes: list[str] = []
    wants_all = regions == ALL_REGIONS
    names: tuple[str, ...] = ()
    if not wants_all:  # bad region names fail before anything is sent
        names = resolve_regions(regions, first, endpoint_url=endpoint_url, warnings=notes)
    sts_config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    identities = [identify(core, endpoint_url=endpoint_url, config=sts_config) for core in cores]
    if wants_all:  # DescribeRegions needs working credentials: asked after identifying
        names = resolve_regions(regions, first, endpoint_url=endpoint_url, warnings=notes)
    entries = [e for e in selected if e.probe]
    tasks: list[list[Task]] = []
    for core in cores:  # each identity discovers its own resources
        per_region = None
        if discover:
            services_used = sorted({e.service for e in entries})
            per_region, found_notes = find_resources(
                core, names, services=services_used, limit=discover, endpoint_url=endpoint_url
            )
            notes.extend(found_notes)
        tasks.append(list(expand(entries, names, resources, per_region)))
    count = plan_processes(processes, sum(len(t) for t in tasks))
    options = RunOptions(
        # DEFAULT_WORKERS in flight per process unless told
        workers=workers if workers is not None else min(MAX_WORKERS, DEFAULT_WORKERS * count),
        endpoint_url=endpoint_url,
        verify=verify,
        max_attempts=max_attempts,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    if count > 1:
        ran = run_in_processes(
            cores,
            identities,
            tasks,
            names,
            processes=count,
            options=options,
            notes=notes,
            progress=progress,
            on_result=on_result,
        )
        done, expired = ran.matrices, ran.expired
    else:
        done, expired = _run_here(
            cores, identities, tasks, names, options, notes, progress, on_result
        )
    checks: list[Disagreement] = []
    cross_checked = False
    try:  # a Ctrl-C while denials are decoded or the simulator asked keeps every dry run
        if decode:
            for number, core in enumerate(cores):
                matrix = done[number]
                explained, why = explain_denials(
                    matrix.results, core, endpoint_url=endpoint_url, workers=min(options.workers, 8)
                )
                done[number] = matrix.with_results(explained, warnings=(*matrix.warnings, *why))
        if simulated or cross_check:
            pace = IamPace()
            for number, core in enumerate(cores):
                if number in expired:
                    continue

                def simulator(principal: str, core: Any = core, number: int = number) -> Simulator:
                    return Simulator(core, identities[number], principal, options, pace)

                matrix, found = add_simulations(
                    done[number],
                    simulator,
                    identities[number],
                    names,
                    simulated,
                    cross_check=cross_check,
                    principal=simulate_principal,
                    resource_arns=arns,
                    on_result=on_result,
                )
                done[number] = matrix
                if found is not None:
                    cross_checked = True
                    checks.extend(found)
    except KeyboardInterrupt:  # the dry runs are whole; what was to follow is not
        partial = dataclasses.replace(combine(done, identities), complete=False)
        raise ProbeInterrupted(partial) from None
    held = sum(m.cross_checked for m in done)
    combined = combine(done, identities)
    if cross_checked:
        combined = dataclasses.replace(combined, cross_check=tuple(checks), cross_checked=held)
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
    options: RunOptions,
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
        with Runner(core, options, pacer=pacer, identity=identity) as runner:
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
                raise ProbeInterrupted(combine(done, identities)) from None
            except CredentialsExpired as stopped:  # stop this identity, go on with the others
                expired[number] = stopped.code
                done.append(stopped.matrix)
                continue
        done.append(matrix)
    return done, expired


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
