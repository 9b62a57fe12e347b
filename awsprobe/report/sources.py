"""Two sources of verdicts: how a simulated one is marked, explained and cross-checked.

A result is a dry run's (AWS authorized the request itself) or the policy
simulator's (``iam:SimulatePrincipalPolicy``: identity policies, permissions
boundary and SCPs only). The matrix renderers (:mod:`~awsprobe.report.matrix`)
and the check report (:mod:`~awsprobe.report.check`) read this module to

* mark a simulated verdict: the outcome's symbol followed by :data:`SIMULATED`
  (``✔ˢ``, ``✘ˢ``, ``⊘ˢ``; ASCII ``Ys``, ``ns``, ``Ns``), with
  :data:`SIMULATED_LEGEND` in the legend only when the matrix holds one;
* count each source (:func:`sources_text`: ``786 dry runs, 120 simulated``);
* explain a simulated verdict the way a decoded message explains a dry run's
  denial (:func:`simulation_line`, and :func:`why_line` for either source);
* list the cross-check (``--cross-check``): every action whose dry run and
  simulation disagree (:func:`cross_check_lines`, :func:`cross_check_html`).
  A disagreement never changes a dry run's outcome: the dry run is the truth
  for its request.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from awsprobe.matrix import Matrix
from awsprobe.model import Disagreement, ProbeResult, Simulation, Source
from awsprobe.report.render import tabulated

__all__ = [
    "CROSS_CHECK_TITLE",
    "SIMULATED",
    "SIMULATED_LEGEND",
    "cross_check_html",
    "cross_check_lines",
    "disagreement_line",
    "has_simulated",
    "is_simulated",
    "simulation_detail",
    "simulation_line",
    "sources_text",
    "why_line",
]

#: Appended to a simulated verdict's symbol (unicode, ASCII).
SIMULATED: Final = ("ˢ", "s")
SIMULATED_LEGEND: Final = (
    "simulated by iam:SimulatePrincipalPolicy: identity policies, boundary and SCPs only"
)
CROSS_CHECK_TITLE: Final = "Cross-check: dry run vs simulator"

#: IAM's ``EvalDecision`` values, in words.
_DECISIONS: Final = {
    "allowed": "allowed",
    "explicitDeny": "explicit deny",
    "implicitDeny": "implicit deny",
}
#: How :func:`simulation_line` opens, per ``EvalDecision`` (as ``Explanation.line`` does).
_VERDICTS: Final = {
    "allowed": "allowed",
    "explicitDeny": "explicit deny",
    "implicitDeny": "no policy allows",
}


def is_simulated(result: ProbeResult) -> bool:
    return result.source is Source.SIMULATED


def has_simulated(matrix: Matrix) -> bool:
    """Whether any result came from the simulator (the legend and counts say so then)."""
    return any(is_simulated(r) for r in matrix.results)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def sources_text(matrix: Matrix) -> str:
    """``786 dry runs, 120 simulated``; ``""`` when every result is a dry run's."""
    if not has_simulated(matrix):
        return ""
    counts = matrix.sources
    dry = _plural(counts[Source.DRY_RUN.value], "dry run", "dry runs")
    return f"{dry}, {counts[Source.SIMULATED.value]} simulated"


# -- the simulator's explanation -----------------------------------------------------


def _facts(simulation: Simulation, *, types: bool = False) -> list[str]:
    """What decided it: the policies of the matched statements (with ``types``, each
    ``SourcePolicyType`` -- real answers say ``IAM Policy``), the SCPs or the boundary,
    missing context keys."""
    facts = []
    matched = dict.fromkeys(
        f"{pid} [{kind}]" if types else pid for pid, kind in simulation.matched_statements
    )
    if matched:
        facts.append(f"{'policy' if len(matched) == 1 else 'policies'} {', '.join(matched)}")
    if simulation.allowed_by_organizations is False:
        facts.append("not allowed by the SCPs")
    if simulation.allowed_by_boundary is False:
        facts.append("not allowed by the permissions boundary")
    if simulation.missing_context:
        facts.append(f"missing context {', '.join(simulation.missing_context)}")
    return facts


def simulation_detail(simulation: Simulation) -> str:
    """IAM's own words, for a tooltip: ``explicitDeny; policy DenyDeletes [IAM Policy]``."""
    return "; ".join([simulation.decision, *_facts(simulation, types=True)])


def simulation_line(result: ProbeResult) -> str | None:
    """One line, the simulator's counterpart of a decoded denial (``None`` for a dry run).

    ``simulator: explicit deny: s3:DeleteBucket on * (policy DenyDeletes)``
    """
    simulation = result.simulation
    if simulation is None:
        return None
    verdict = _VERDICTS.get(simulation.decision, simulation.decision)
    facts = _facts(simulation)
    why = f" ({'; '.join(facts)})" if facts else ""
    return f"simulator: {verdict}: {result.action} on {simulation.resource}{why}"


def why_line(result: ProbeResult) -> str | None:
    """Why a result is what it is: the decoded denial, the simulator's answer, else the
    plain-text reason AWS gave (``None`` when there is none)."""
    if result.decoded is not None:
        return result.decoded.line
    return simulation_line(result) or result.reason or None


# -- the cross-check -----------------------------------------------------------------


def _several(matrix: Matrix, disagreements: Sequence[Disagreement]) -> bool:
    return len(matrix.all_identities) > 1 or len({d.identity for d in disagreements}) > 1


def _likely(disagreement: Disagreement) -> str:
    return ", ".join(disagreement.reasons)


def disagreement_line(disagreement: Disagreement, *, identity: bool = False) -> str:
    """``ec2:RunInstances in us-east-1: dry run denied, simulator allowed (likely: session
    policy, VPC endpoint policy)``; ``identity`` adds ``as ARN`` after the region."""
    d = disagreement
    who = f" as {d.identity}" if identity and d.identity else ""
    simulated = _DECISIONS.get(d.simulated, d.simulated)
    likely = f" (likely: {_likely(d)})" if d.reasons else ""
    verdicts = f"dry run {d.dry_run.value}, simulator {simulated}"
    return f"{d.action} in {d.region}{who}: {verdicts}{likely}"


def _no_disagreement(matrix: Matrix) -> str:
    dry_runs = _plural(matrix.cross_checked, "dry run", "dry runs")
    return f"cross-check: {dry_runs} compared, no disagreement"


def cross_check_lines(matrix: Matrix, *, tablefmt: str | None = None) -> list[str]:
    """The cross-check section (``[]`` without ``--cross-check``).

    One line when nothing disagrees (``cross-check: 12 dry runs compared, no
    disagreement``); else a title and a line per disagreement, indented -- or, with a
    ``tablefmt`` (Markdown's ``github``), a table of them.
    """
    found = matrix.cross_check
    if found is None:
        return []
    if not found:
        return [_no_disagreement(matrix)]
    several = _several(matrix, found)
    title = (
        f"{CROSS_CHECK_TITLE} ({_plural(len(found), 'disagreement', 'disagreements')}, "
        f"{_plural(matrix.cross_checked, 'dry run', 'dry runs')} compared):"
    )
    if tablefmt is None:
        return [title, *(f"  {disagreement_line(d, identity=several)}" for d in found)]
    headers = ["action", "region", *(["identity"] if several else []), "dry run", "simulator"]
    body = [
        [
            d.action,
            d.region,
            *([d.identity] if several else []),
            d.dry_run.value,
            _DECISIONS.get(d.simulated, d.simulated),
            _likely(d),
        ]
        for d in found
    ]
    table = tabulated(body, headers=[*headers, "likely reasons"], tablefmt=tablefmt)
    return [title, "", table, ""]  # a blank line ends a Markdown table


def cross_check_html(matrix: Matrix) -> str:
    """The HTML page's cross-check: a table of disagreements, or the one line."""
    e = html.escape
    found = matrix.cross_check
    if found is None:
        return ""
    if not found:
        return f'<p id="cross-check">{e(_no_disagreement(matrix))}</p>\n'
    several = _several(matrix, found)
    who = "<th>identity</th>" if several else ""
    body = "".join(
        f"<tr><td>{e(d.action)}</td><td>{e(d.region)}</td>"
        + (f"<td>{e(d.identity)}</td>" if several else "")
        + f'<td class="{e(d.dry_run.value)}">{e(d.dry_run.value)}</td>'
        + f"<td>{e(d.simulated)}</td><td>{e(_likely(d))}</td></tr>"
        for d in found
    )
    compared_text = _plural(matrix.cross_checked, "dry run", "dry runs")
    return (
        f"<h2>{e(CROSS_CHECK_TITLE)}</h2>\n"
        f"<p>{_plural(len(found), 'disagreement', 'disagreements')}, {e(compared_text)} "
        "compared; the dry run is the truth for its request.</p>\n"
        f'<table id="cross-check"><thead><tr><th>action</th><th>region</th>{who}'
        "<th>dry run</th><th>simulator</th><th>likely reasons</th></tr></thead>\n"
        f"<tbody>{body}</tbody></table>\n"
    )
