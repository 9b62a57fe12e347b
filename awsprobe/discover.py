"""Real resources for resource-level probing: ``--resources FILE`` and ``--discover``.

A dry run on a placeholder id often cannot be decided (``InvalidInstanceID.NotFound``),
and KMS probes need a real key. Two ways to supply real ids:

* a TOML resources file: parameter name (``InstanceId``) or resource type
  (``instance``) -> a list of ids; an ARN applies only in its own region::

      InstanceId = ["i-0123456789abcdef0"]
      KeyId = ["arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
      volume = ["vol-0123456789abcdef0"]

* discovery: the identity's own read calls, sent normally (not as dry runs), and
  only the side-effect-free Describe/List operations of :data:`DISCOVERY_CALLS`
  -- an explicit allow-list the guard enforces for discovery clients -- find up
  to N ids per parameter in each region.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import jmespath
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from awsprobe.errors import SchemaError
from awsprobe.expect import read_toml
from awsprobe.guard import guarded_client
from awsprobe.tables import is_read_only

__all__ = [
    "DISCOVERY_CALLS",
    "DISCOVERY_OPERATIONS",
    "RESOURCE_TYPES",
    "DiscoveryCall",
    "discover",
    "load_resources",
]


@dataclass(frozen=True)
class DiscoveryCall:
    """One allow-listed read call and where the ids are in its answer."""

    service: str
    operation: str
    params: Mapping[str, Any]
    path: str  # a JMESPath expression yielding ids
    parameter: str  # the probe parameter the ids fill


#: The only calls discovery may send (without a dry-run flag): read-only Describe/List.
DISCOVERY_CALLS: Final[tuple[DiscoveryCall, ...]] = (
    DiscoveryCall(
        "ec2",
        "DescribeInstances",
        {"MaxResults": 50},
        "Reservations[].Instances[].InstanceId",
        "InstanceId",
    ),
    DiscoveryCall("ec2", "DescribeVolumes", {"MaxResults": 50}, "Volumes[].VolumeId", "VolumeId"),
    DiscoveryCall(
        "ec2",
        "DescribeSnapshots",
        {"OwnerIds": ["self"], "MaxResults": 50},
        "Snapshots[].SnapshotId",
        "SnapshotId",
    ),
    DiscoveryCall("ec2", "DescribeImages", {"Owners": ["self"]}, "Images[].ImageId", "ImageId"),
    DiscoveryCall("ec2", "DescribeVpcs", {"MaxResults": 50}, "Vpcs[].VpcId", "VpcId"),
    DiscoveryCall("ec2", "DescribeSubnets", {"MaxResults": 50}, "Subnets[].SubnetId", "SubnetId"),
    DiscoveryCall(
        "ec2", "DescribeSecurityGroups", {"MaxResults": 50}, "SecurityGroups[].GroupId", "GroupId"
    ),
    DiscoveryCall(
        "ec2",
        "DescribeNetworkInterfaces",
        {"MaxResults": 50},
        "NetworkInterfaces[].NetworkInterfaceId",
        "NetworkInterfaceId",
    ),
    DiscoveryCall(
        "ec2",
        "DescribeInternetGateways",
        {"MaxResults": 50},
        "InternetGateways[].InternetGatewayId",
        "InternetGatewayId",
    ),
    DiscoveryCall(
        "ec2",
        "DescribeRouteTables",
        {"MaxResults": 50},
        "RouteTables[].RouteTableId",
        "RouteTableId",
    ),
    DiscoveryCall(
        "ec2",
        "DescribeLaunchTemplates",
        {"MaxResults": 50},
        "LaunchTemplates[].LaunchTemplateId",
        "LaunchTemplateId",
    ),
    DiscoveryCall("ec2", "DescribeKeyPairs", {}, "KeyPairs[].KeyName", "KeyName"),
    DiscoveryCall("kms", "ListKeys", {"Limit": 50}, "Keys[].KeyArn", "KeyId"),
)

#: (service, operation) of every discovery call: what the guard lets a discovery client send.
DISCOVERY_OPERATIONS: Final = frozenset((c.service, c.operation) for c in DISCOVERY_CALLS)

if not all(is_read_only(op) for _, op in DISCOVERY_OPERATIONS):  # pragma: no cover
    raise RuntimeError("DISCOVERY_CALLS may only hold read-only operations")

#: Resource type names accepted in a resources file, and the parameter each fills.
RESOURCE_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "instance": "InstanceId",
        "volume": "VolumeId",
        "snapshot": "SnapshotId",
        "image": "ImageId",
        "vpc": "VpcId",
        "subnet": "SubnetId",
        "security-group": "GroupId",
        "network-interface": "NetworkInterfaceId",
        "internet-gateway": "InternetGatewayId",
        "route-table": "RouteTableId",
        "launch-template": "LaunchTemplateId",
        "key-pair": "KeyName",
        "key": "KeyId",
        "kms-key": "KeyId",
    }
)


def load_resources(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read a resources file: parameter name or resource type -> list of ids."""
    raw = read_toml(path)
    resources: dict[str, list[str]] = {}
    for key, value in raw.items():
        parameter = RESOURCE_TYPES.get(key.lower(), key)
        if not parameter[:1].isupper():
            types = ", ".join(sorted(RESOURCE_TYPES))
            raise SchemaError(
                f"{path}: {key!r} is neither a parameter name (InstanceId) nor a resource "
                f"type ({types})"
            )
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise SchemaError(f"{path}: {key!r} must be a list of ids, such as ['i-0abc...']")
        resources.setdefault(parameter, []).extend(values)
    if not resources:
        raise SchemaError(f"{path}: no resources; add e.g. InstanceId = ['i-0abc...']")
    return resources


def discover(
    session: Any,
    regions: Sequence[str],
    *,
    services: Sequence[str] = ("ec2", "kms"),
    limit: int = 3,
    endpoint_url: str | None = None,
) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """Find up to ``limit`` real ids per parameter in each region with read calls.

    Returns ``{region: {parameter: [ids]}}`` and warnings (one per call that
    could not be made, e.g. denied). Only :data:`DISCOVERY_CALLS` are sent.
    """
    found: dict[str, dict[str, list[str]]] = {}
    warnings: list[str] = []
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    for region in regions:
        per_region: dict[str, list[str]] = {}
        clients: dict[str, Any] = {}
        for call in DISCOVERY_CALLS:
            if call.service not in services:
                continue
            client = clients.get(call.service)
            if client is None:
                client = guarded_client(
                    session,
                    call.service,
                    region=region,
                    endpoint_url=endpoint_url,
                    config=config,
                    allow=DISCOVERY_OPERATIONS,
                )
                clients[call.service] = client
            method = getattr(client, _snake(call.operation))
            try:
                answer = method(**dict(call.params))
            except (ClientError, BotoCoreError) as exc:
                warnings.append(
                    f"discovery: {call.service}:{call.operation} in {region} failed "
                    f"({_short(exc)}); {call.parameter} stays a placeholder there"
                )
                continue
            ids = [str(i) for i in (jmespath.search(call.path, answer) or []) if i]
            if ids:
                per_region.setdefault(call.parameter, []).extend(ids[:limit])
        for client in clients.values():
            client.close()
        found[region] = per_region
    return found, warnings


def _snake(operation: str) -> str:
    import botocore

    return str(botocore.xform_name(operation))


def _short(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
