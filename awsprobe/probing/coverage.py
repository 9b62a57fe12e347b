"""What an ``allowed`` placeholder probe did not exercise.

A probe sends the operation's *required* parameters only, filled with placeholders
(:mod:`awsprobe.params`). ``allowed`` then answers for that request: a real one names
more resources, and its optional parameters (an instance profile, tags) bring in the
Service Authorization Reference's *dependent actions* (``iam:PassRole``,
``ec2:CreateTags``), which the dry run of the placeholder request never evaluated.
:func:`not_exercised` says which, from the catalog entry alone:

* **resource types** -- each *required* resource type of the action that the request
  names no resource of. A request names a resource type when one of its parameter
  names, at any depth, stemmed (``SecurityGroupIds`` -> ``securitygroup``), equals or
  ends with the type's name or its ARN's last variable, stemmed alike
  (``security-group``, ``${SecurityGroupId}``; ``GroupId`` names ``security-group``,
  ``AllocationId`` names ``elastic-ip``), or the other way round; and the operation
  names the type it acts on or creates by its noun (``RunInstances`` -> ``instance``,
  ``CreateVolume`` -> ``volume``). A placeholder id names its type: the dry run was
  authorized against that (made-up) resource, and the result's ``placeholders`` says
  so. The rule errs towards naming too much, so a type it lists is one no parameter
  of the request is about (``RunInstances``: ``image``, ``network-interface``,
  ``security-group``, ``subnet``);
* **dependent actions** -- all of the reference's: the placeholder request never sends
  the optional parameters that bring them in.

Real-request probes (the user's own parameters) are evaluated whole by AWS and carry
nothing here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from awsprobe.model import NotExercised
from awsprobe.tables import operation_verb

if TYPE_CHECKING:
    from awsprobe.catalog import CatalogEntry
    from awsprobe.reference import ResourceType

__all__ = ["not_exercised"]

#: Name endings that say "an identifier of" (``InstanceIds``, ``KeyArn``, ``BucketName``).
_ID_SUFFIXES: Final = ("ids", "id", "arns", "arn", "names", "name")
_ARN_VARIABLE: Final = re.compile(r"\$\{(\w+)\}")


def _stem(name: str) -> str:
    """``SecurityGroupIds`` -> ``securitygroup``; ``Policies`` -> ``policy``."""
    word = re.sub(r"[^a-z0-9]", "", name.lower())
    for suffix in _ID_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield str(key)
            yield from _keys(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _keys(inner)


def _words(resource: ResourceType) -> set[str]:
    """The stems a parameter naming ``resource`` may have: its name, its ARN's id."""
    words = {_stem(resource.name)}
    variables = _ARN_VARIABLE.findall(resource.arn)
    if variables:
        words.add(_stem(variables[-1]))
    return words


def _names(stems: set[str], resource: ResourceType) -> bool:
    return any(
        a == b or a.endswith(b) or b.endswith(a) for a in stems for b in _words(resource) if a
    )


def not_exercised(entry: CatalogEntry) -> NotExercised | None:
    """What a real request of ``entry`` would add to its placeholder probe, or ``None``."""
    sent = {_stem(key) for key in _keys(entry.params) if key != entry.dry_run_member}
    sent.add(_stem(entry.operation[len(operation_verb(entry.operation)) :]))
    found = NotExercised(
        resource_types=tuple(
            r.name for r in entry.resource_types if r.required and not _names(sent, r)
        ),
        dependent_actions=entry.dependent_actions,
    )
    return None if found.empty else found
