"""Shared renderers: rows in, text out, the same way for every kind of report.

The row generators (:mod:`~awsprobe.report.matrix`, :mod:`~awsprobe.report.catalog`,
:mod:`~awsprobe.report.check`, :mod:`~awsprobe.report.drift`,
:mod:`~awsprobe.report.decode`) say *what* a report holds; these functions say
how a table, a JSON document or a CSV file is written. tabulate is imported on
first use: JSON and CSV output never need it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["csv_text", "json_text", "tabulated"]


def tabulated(rows: Any, **options: Any) -> str:
    """tabulate (its ``headers`` and ``tablefmt`` options), imported on first use."""
    from tabulate import tabulate

    return str(tabulate(rows, **options))


def json_text(data: Any) -> str:
    """Indented JSON and a final newline, made in one piece (one write for the caller)."""
    return json.dumps(data, indent=2) + "\n"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header line, then one line per row (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
