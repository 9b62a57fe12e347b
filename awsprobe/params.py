"""Synthesize probe parameters that pass botocore's client-side validation.

A probe sends the smallest input botocore accepts: the required members only,
filled by type and name (well-formed placeholder ids such as
``i-00000000000000000``, enums from the model, documentation-range IP
addresses), the dry-run flag set, and the curated overrides of
:data:`awsprobe.tables.PARAM_OVERRIDES` merged on top. Optional members --
``TagSpecifications`` in particular, which would add an ``ec2:CreateTags``
authorization -- are never filled unless an override asks for them.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, Shape

from awsprobe.tables import EC2_ID_PREFIXES, ID_ROLE_PREFIXES, PARAM_OVERRIDES

__all__ = [
    "PLACEHOLDER_ACCOUNT",
    "is_placeholder",
    "placeholder_members",
    "strip_roles",
    "synthesize_params",
]

PLACEHOLDER_ACCOUNT = "111122223333"
_PLACEHOLDER_HEX = "0" * 17
_PLACEHOLDER_UUID = "00000000-0000-0000-0000-000000000000"
_PLACEHOLDER_TIME = _dt.datetime(2030, 1, 1, tzinfo=_dt.UTC)
_MAX_DEPTH = 12

# Name-based fillers for strings, first match wins: (test on the member name, value).
_STRING_BY_SUFFIX: tuple[tuple[str, str], ...] = (
    ("Ipv6CidrBlock", "2001:db8::/56"),
    ("Ipv6Cidr", "2001:db8::/56"),
    ("CidrBlock", "10.0.0.0/24"),
    ("Cidr", "10.0.0.0/24"),
    ("IpAddress", "192.0.2.10"),
    ("PublicIp", "192.0.2.10"),
    ("Address", "192.0.2.10"),
    ("Region", "us-east-1"),
    ("AccountId", PLACEHOLDER_ACCOUNT),
    ("Owner", PLACEHOLDER_ACCOUNT),
    ("RoleArn", f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/awsprobe-placeholder"),
    ("Arn", f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/awsprobe-placeholder"),
    ("Asn", "65000"),
    ("ClientToken", "awsprobe-dry-run-0000"),
    ("Bucket", "awsprobe-placeholder-bucket"),
    ("BucketName", "awsprobe-placeholder-bucket"),
    ("GranteePrincipal", f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/awsprobe-placeholder"),
)


def synthesize_params(
    service: str, operation_model: OperationModel, dry_run_member: str
) -> dict[str, Any]:
    """The parameters a probe of ``operation_model`` sends, dry-run flag included."""
    shape = operation_model.input_shape
    params: dict[str, Any] = {}
    if shape is not None:
        filled = _fill(shape, shape.name, service, 0)
        if isinstance(filled, dict):
            params = filled
    override = PARAM_OVERRIDES.get((service, operation_model.name))
    if override is not None:
        params = deep_merge(params, override)
    params[dry_run_member] = True
    return params


_PLACEHOLDER_ID = re.compile(r"^[a-z0-9-]+-0{17}$")


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` (or every item of a list) is one of awsprobe's placeholder ids."""
    if isinstance(value, list):
        return bool(value) and all(is_placeholder(v) for v in value)
    return isinstance(value, str) and (
        value == _PLACEHOLDER_UUID or bool(_PLACEHOLDER_ID.match(value))
    )


def placeholder_members(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The top-level parameters holding placeholder ids, in order."""
    return tuple(key for key, value in params.items() if is_placeholder(value))


def _fill(shape: Shape, name: str, service: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return None
    kind = shape.type_name
    if kind == "structure":
        if shape.metadata.get("union"):  # exactly one member must be set: the first
            first = next(iter(shape.members.items()), None)
            if first is None:
                return {}
            return {first[0]: _fill(first[1], first[0], service, depth + 1)}
        return {
            member: _fill(shape.members[member], member, service, depth + 1)
            for member in shape.required_members
        }
    if kind == "list":
        size = max(int(shape.metadata.get("min", 1)), 1)
        element_name = name[:-1] if name.endswith("s") else name
        element = _fill(shape.member, element_name, service, depth + 1)
        return [copy.deepcopy(element) for _ in range(size)]
    if kind == "map":
        if int(shape.metadata.get("min", 0)) == 0:
            return {}
        key = _fill(shape.key, "Key", service, depth + 1)
        return {key: _fill(shape.value, "Value", service, depth + 1)}
    if kind == "string":
        return _string(shape, name, service)
    if kind in ("integer", "long"):
        low = int(shape.metadata.get("min", 1))
        high = shape.metadata.get("max")
        value = max(low, 1)
        return min(value, int(high)) if high is not None else value
    if kind in ("float", "double"):
        return float(max(shape.metadata.get("min", 1), 1))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return _PLACEHOLDER_TIME
    if kind == "blob":
        size = max(int(shape.metadata.get("min", 1)), 8)
        return (b"awsprobe" * (size // 8 + 1))[:size]
    # document and anything newer: an empty object is the most neutral value.
    return {}


def _string(shape: Shape, name: str, service: str) -> str:
    if shape.enum:
        return str(shape.enum[0])
    value = _by_name(name, shape.name, service)
    low = int(shape.metadata.get("min", 0))
    high = shape.metadata.get("max")
    if len(value) < low:
        value = value + "0" * (low - len(value))
    if high is not None and len(value) > int(high):
        value = value[: int(high)]
    return value


def placeholder_id(name: str, shape_name: str = "") -> str | None:
    """A well-formed EC2 placeholder id for a member or shape name, if its noun is known."""
    for candidate in (name, shape_name):
        noun = _noun(candidate)
        if noun is None:
            continue
        for form in (noun, *strip_roles(noun)):
            prefix = EC2_ID_PREFIXES.get(form)
            if prefix is not None:
                return f"{prefix}-{_PLACEHOLDER_HEX}"
    return None


def _noun(name: str) -> str | None:
    for suffix in ("Ids", "Id"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def strip_roles(noun: str) -> list[str]:
    """``SourceKeyId`` -> ``KeyId``: the name without a role prefix (Source, Peer, ...)."""
    return [noun[len(p) :] for p in ID_ROLE_PREFIXES if noun.startswith(p) and noun != p]


def _by_name(name: str, shape_name: str, service: str) -> str:
    if service == "kms" and name.endswith("KeyId"):
        return _PLACEHOLDER_UUID
    if service == "ec2":
        ec2_id = placeholder_id(name, shape_name)
        if ec2_id is not None:
            return ec2_id
    for suffix, value in _STRING_BY_SUFFIX:
        if name.endswith(suffix):
            return value
    return "awsprobe-placeholder"


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings merged, the rest replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
