"""The catalog listing (``awsprobe catalog``): one row per operation, in every format.

:func:`catalog_rows` turns catalog entries into :class:`CatalogRow` values;
:func:`render_catalog` writes them as a table (with a count line), JSON (each
entry's full description, parameters included), CSV, Markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from awsprobe.report.render import csv_text, json_text, tabulated

if TYPE_CHECKING:
    from awsprobe.catalog import CatalogEntry

__all__ = ["CATALOG_CSV_COLUMNS", "CATALOG_HEADERS", "CatalogRow", "catalog_rows", "render_catalog"]

#: Column headers of the catalog table (text, Markdown, HTML).
CATALOG_HEADERS: Final = ("action", "access level", "probed", "reason")
#: Column names of the catalog CSV (the JSON keys of the same facts).
CATALOG_CSV_COLUMNS: Final = ("action", "service", "operation", "access_level", "probe", "reason")


@dataclass(frozen=True)
class CatalogRow:
    """One operation as the listing shows it: its action, access level and probe flag."""

    action: str
    service: str
    operation: str
    access_level: str
    probe: bool
    reason: str | None
    entry: CatalogEntry = field(repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The entry's documented JSON form (``params`` included)."""
        return self.entry.to_json()


def catalog_rows(entries: Iterable[CatalogEntry]) -> Iterator[CatalogRow]:
    """One row per entry, in the catalog's order."""
    for entry in entries:
        yield CatalogRow(
            action=entry.action,
            service=entry.service,
            operation=entry.operation,
            access_level=entry.access_level.value,
            probe=entry.probe,
            reason=entry.reason,
            entry=entry,
        )


def render_catalog(entries: Iterable[CatalogEntry], output: str = "table") -> str:
    """The listing in ``output`` (table, json, csv, markdown or html)."""
    listed = list(catalog_rows(entries))
    if output == "json":
        return json_text([row.to_json() for row in listed])
    if output == "csv":
        return csv_text(
            CATALOG_CSV_COLUMNS,
            (
                (r.action, r.service, r.operation, r.access_level, r.probe, r.reason or "")
                for r in listed
            ),
        )
    table = [(r.action, r.access_level, "yes" if r.probe else "no", r.reason or "") for r in listed]
    if output == "html":
        return tabulated(table, headers=CATALOG_HEADERS, tablefmt="html") + "\n"
    fmt = "github" if output == "markdown" else "simple"
    probed = sum(1 for row in listed if row.probe)
    return (
        tabulated(table, headers=CATALOG_HEADERS, tablefmt=fmt)
        + f"\n\n{len(listed)} operations, {probed} probed\n"
    )
