"""Gathering results: one identity's matrix from its results, several matrices as one.

Both the in-process runner and the worker processes end here, so that a matrix
has the same order and the same warnings however it was probed.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence

from awsprobe.matrix import Matrix
from awsprobe.model import ErrorKind, Identity, Outcome, ProbeResult

__all__ = ["assemble", "combine"]


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


def combine(matrices: Sequence[Matrix], identities: Sequence[Identity]) -> Matrix:
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
