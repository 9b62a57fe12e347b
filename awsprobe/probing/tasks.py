"""What to probe: each selected catalog entry in each region, on real ids where given.

A :class:`Task` is one dry run to send. :func:`expand` turns entries x regions into
tasks: one per (entry, region), or one per real resource id when the caller supplied
(or discovery found) ids for a parameter the entry takes. Entries that are not probed
never become tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from awsprobe.arn import parse_arn
from awsprobe.catalog import CatalogEntry
from awsprobe.params import strip_roles

__all__ = ["Task", "expand"]


@dataclass(frozen=True)
class Task:
    """One probe to send: an entry in a region, optionally on a real resource."""

    entry: CatalogEntry
    region: str
    overrides: tuple[tuple[str, Any], ...] = ()  # parameter -> real value
    resource: str | None = None


def expand(
    entries: Iterable[CatalogEntry],
    regions: Iterable[str],
    resources: Mapping[str, Sequence[str]] | None = None,
    discovered: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> Iterator[Task]:
    """Every probe to send: one per (entry, region), or one per real id when
    ``resources`` has ids for a parameter the entry takes (``InstanceId`` also
    fills a list parameter ``InstanceIds``). An id that is an ARN is only used
    in its own region."""
    given = {k: list(v) for k, v in (resources or {}).items() if v}
    entry_list = list(entries)
    for region in regions:
        chosen = {k: list(v) for k, v in given.items()}
        for key, ids in ((discovered or {}).get(region) or {}).items():
            known = chosen.setdefault(key, [])
            known.extend(i for i in ids if i not in known)
        for entry in entry_list:
            if not entry.probe:
                continue
            member, ids, as_list = _resource_member(entry, chosen)
            usable = [i for i in ids if _in_region(i, region)]
            if member is None or not usable:
                yield Task(entry, region)
                continue
            for real in usable:
                value: Any = [real] if as_list else real
                yield Task(entry, region, ((member, value),), real)


def _resource_member(
    entry: CatalogEntry, resources: Mapping[str, list[str]]
) -> tuple[str | None, list[str], bool]:
    for member in entry.placeholders:
        as_list = isinstance(entry.params.get(member), list)
        singular = member[:-1] if as_list and member.endswith("s") else member
        for name in (member, singular, *strip_roles(singular)):
            if name in resources:
                return member, resources[name], as_list
    return None, [], False


def _in_region(resource: str, region: str) -> bool:
    arn = parse_arn(resource)
    return arn is None or not arn.region or arn.region == region
