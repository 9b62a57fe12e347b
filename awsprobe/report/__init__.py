"""Reports: one row generator per kind of output, and the renderers over them.

Each kind of output has one module holding its row generator (frozen
dataclass rows, made once) and the formats it is shown in:

* :mod:`~awsprobe.report.matrix` -- the permission matrix: :func:`rows` (list
  layout), :func:`grid_rows` (resources x verbs); table, JSON, CSV, Markdown
  and HTML through :func:`render`;
* :mod:`~awsprobe.report.catalog` -- the catalog listing: :func:`catalog_rows`;
* :mod:`~awsprobe.report.check` -- unmet expectations: :func:`check_rows`;
* :mod:`~awsprobe.report.drift` -- changes between two matrices: :func:`drift_rows`;
* :mod:`~awsprobe.report.decode` -- a decoded denial: :func:`decode_rows`;
* :mod:`~awsprobe.report.request` -- a request probe's verdict: :func:`request_rows`;
* :mod:`~awsprobe.report.sources` -- dry run or simulator: the simulated mark, the
  simulator's explanation (:func:`why_line`) and the cross-check section;
* :mod:`~awsprobe.report.render` -- the shared writers (tabulate, JSON, CSV).

The report layer only turns results into text: it never prints, and the CLI
and the pytest plugin write what it returns.
"""

from __future__ import annotations

from awsprobe.report.catalog import CatalogRow, catalog_rows, render_catalog
from awsprobe.report.check import CheckRow, CheckStatus, check_rows, render_check
from awsprobe.report.decode import DecodeRow, decode_rows, render_decode
from awsprobe.report.drift import DRIFT_SECTIONS, DriftRow, drift_lines, drift_rows, render_drift
from awsprobe.report.matrix import (
    CSV_COLUMNS,
    EXPLICIT_DENY,
    EXPLICIT_DENY_LEGEND,
    FORMATS,
    GRID_VERBS,
    LEGEND,
    NOT_EXERCISED,
    NOT_EXERCISED_LEGEND,
    SYMBOLS,
    GridRow,
    Row,
    column_labels,
    grid_columns,
    grid_rows,
    is_explicit_deny,
    not_exercised_lines,
    render,
    render_csv,
    render_grid,
    render_html,
    render_json,
    render_markdown,
    render_table,
    rows,
    split_operation,
    summary_line,
)
from awsprobe.report.render import csv_text, json_text, tabulated
from awsprobe.report.request import RequestRow, render_request, request_rows
from awsprobe.report.sources import (
    SIMULATED,
    SIMULATED_LEGEND,
    cross_check_lines,
    disagreement_line,
    simulation_line,
    sources_text,
    why_line,
)

__all__ = [
    "CSV_COLUMNS",
    "DRIFT_SECTIONS",
    "EXPLICIT_DENY",
    "EXPLICIT_DENY_LEGEND",
    "FORMATS",
    "GRID_VERBS",
    "LEGEND",
    "NOT_EXERCISED",
    "NOT_EXERCISED_LEGEND",
    "SIMULATED",
    "SIMULATED_LEGEND",
    "SYMBOLS",
    "CatalogRow",
    "CheckRow",
    "CheckStatus",
    "DecodeRow",
    "DriftRow",
    "GridRow",
    "RequestRow",
    "Row",
    "catalog_rows",
    "check_rows",
    "column_labels",
    "cross_check_lines",
    "csv_text",
    "decode_rows",
    "disagreement_line",
    "drift_lines",
    "drift_rows",
    "grid_columns",
    "grid_rows",
    "is_explicit_deny",
    "json_text",
    "not_exercised_lines",
    "render",
    "render_catalog",
    "render_check",
    "render_csv",
    "render_decode",
    "render_drift",
    "render_grid",
    "render_html",
    "render_json",
    "render_markdown",
    "render_request",
    "render_table",
    "request_rows",
    "rows",
    "simulation_line",
    "sources_text",
    "split_operation",
    "summary_line",
    "tabulated",
    "why_line",
]
