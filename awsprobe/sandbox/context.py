"""The request context AWS would build: what one request asks IAM, resource by resource.

IAM does not authorize an operation once: it authorizes each action the request
performs on each resource it touches, each time with the condition keys of
that resource (IAM User Guide, "Policy evaluation logic", the request context;
Service Authorization Reference, the actions tables). :func:`request_contexts`
turns one request -- its route, its parameters as sent on the wire, the
caller, the region and the caller's address -- into that list of
:class:`~awsprobe.sandbox.evaluation.RequestContext`, in the order the sandbox
evaluates them; every one must be allowed.

* **Resources** come from the reference as data (:func:`awsprobe.reference.action_facts`):
  each resource type of the action with its ARN format, the ids taken from the
  request's parameters of the same name (``${InstanceId}`` from ``InstanceId`` or
  ``InstanceId.1``; the few that differ are :data:`PARAMETER_ALIASES`); a
  required type the request does not name is one not yet created and gets ``*``
  for its id, as AWS writes ``instance/*`` for ``RunInstances``. An action with
  no resource type, or none the request names, is authorized on ``*``.
  ``ec2:RunInstances`` is the one exception, written out in :func:`_run_instances`:
  it touches the image, instance, network interface, security groups, subnet
  and volume whatever the request names, with EC2's defaults for what it leaves out.
* **Condition keys**: the global keys as AWS sets them for a caller of its HTTPS
  endpoints (:func:`global_keys`), and the keys the request sets
  (:data:`EC2_REQUEST_KEYS`, tags, existing resources' tags) -- each kept only
  on the resource types the reference lists it for (:func:`_applicable`).
* **Dependent actions** as EC2 evaluates them during a dry run (REFERENCE §9):
  ``IamInstanceProfile`` ⇒ ``iam:PassRole`` on the profile's role with
  ``iam:PassedToService = ec2.amazonaws.com``; ``TagSpecifications`` ⇒
  ``ec2:CreateTags`` on each tagged resource with ``ec2:CreateAction`` = the
  creating operation, ``aws:RequestTag/<key>`` and ``aws:TagKeys``.

What exists (instance profiles, default subnets and security groups, resource
tags) is asked of an :class:`Inventory`; the sandbox's reads moto
(:mod:`awsprobe.sandbox.inventory`), :data:`NOTHING` knows nothing. A request
AWS refuses on its parameters rather than on its permissions (an instance
profile that does not exist) is an :class:`Invalid` step in the list.
Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol

from awsprobe.reference import action_facts, arn_format, resource_condition_keys
from awsprobe.sandbox.evaluation import RequestContext
from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.moto_adapter import _PARTITION
from awsprobe.sandbox.request import _Incoming

__all__ = [
    "CLOCK_KEYS",
    "EC2_REQUEST_KEYS",
    "NOTHING",
    "PARAMETER_ALIASES",
    "Call",
    "InstanceProfile",
    "Invalid",
    "Inventory",
    "Step",
    "Subnet",
    "global_keys",
    "request_contexts",
    "wire_params",
]


#: The service principal EC2 passes an instance profile's role to (IAM User Guide,
#: "Grant a user permissions to pass a role to an AWS service"; AWS re:Post KC
#: "iam-passrole-error": ``iam:PassedToService`` = ``ec2.amazonaws.com``).
EC2_SERVICE_PRINCIPAL: Final = "ec2.amazonaws.com"


@dataclass(frozen=True)
class Call:
    """One request as IAM sees it.

    ``actions`` are the operation's IAM actions (the action, then what it also
    requires, as the catalog lists them); ``params`` the request's parameters
    flattened to their wire names (:func:`wire_params`): ``InstanceId.1``,
    ``Placement.GroupName``, ``TagSpecification.1.Tag.1.Key``.
    """

    service: str
    operation: str
    actions: tuple[str, ...]
    params: Mapping[str, tuple[str, ...]]
    region: str
    source_ip: str | None = None


@dataclass(frozen=True)
class Invalid:
    """A refusal on the request's parameters, which AWS answers instead of a verdict."""

    code: str
    status: int
    message: str
    source: str


#: One step of a request's authorization: a context to allow, or a refusal.
Step = RequestContext | Invalid


@dataclass(frozen=True)
class InstanceProfile:
    arn: str
    roles: tuple[str, ...]  # the ARNs of its roles (IAM allows at most one)


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    zone: str


class Inventory(Protocol):
    """What exists in the account: the facts of existing resources a context reads."""

    def instance_profile(self, name: str | None, arn: str | None) -> InstanceProfile | None:
        """The profile named (by name or ARN), or None when there is none."""

    def subnet(self, region: str, subnet_id: str) -> Subnet | None: ...

    def default_subnet(self, region: str, zone: str | None) -> Subnet | None:
        """The default VPC's default subnet of ``zone`` (any zone when None)."""

    def security_group(self, region: str, name: str, vpc_id: str | None) -> str | None:
        """The id of the security group named ``name`` (of ``vpc_id``, or of the default VPC)."""

    def default_security_group(self, region: str, vpc_id: str | None) -> str | None:
        """The id of the VPC's ``default`` security group (the default VPC's when None)."""

    def tags(self, region: str, resource_id: str) -> Mapping[str, str]: ...


class _Nothing:
    """An account where nothing exists: no profile, subnet, group or tag."""

    def instance_profile(self, name: str | None, arn: str | None) -> InstanceProfile | None:
        return None

    def subnet(self, region: str, subnet_id: str) -> Subnet | None:
        return None

    def default_subnet(self, region: str, zone: str | None) -> Subnet | None:
        return None

    def security_group(self, region: str, name: str, vpc_id: str | None) -> str | None:
        return None

    def default_security_group(self, region: str, vpc_id: str | None) -> str | None:
        return None

    def tags(self, region: str, resource_id: str) -> Mapping[str, str]:
        return {}


NOTHING: Final[Inventory] = _Nothing()

# -- the request's parameters -------------------------------------------------------


def wire_params(wire: str, request: _Incoming) -> dict[str, tuple[str, ...]]:
    """A request's parameters, flattened to wire names, whatever the protocol.

    ec2/query: the form fields (``Action`` and ``Version`` aside) as sent. JSON
    bodies (json, rest-json): members joined with dots, list items numbered from
    1, as the query protocols spell them (``Tags.1.Key``). Other bodies: none.
    """
    if wire in ("ec2", "query"):
        return {
            key: tuple(values)
            for key, values in request.form().items()
            if key not in ("Action", "Version")
        }
    if wire in ("json", "rest-json") and request.body:
        try:
            document = json.loads(request.body)
        except ValueError:
            return {}
        flat: dict[str, tuple[str, ...]] = {}
        for key, value in _flatten("", document):
            flat[key] = (*flat.get(key, ()), value)
        return flat
    return {}


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value, 1):
            yield from _flatten(f"{prefix}.{index}", item)
    elif prefix:
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        yield prefix, text


def _values(params: Mapping[str, tuple[str, ...]], *names: str) -> list[str]:
    """The values of the parameters ``names``, each alone or as a list (``Name.1``...)."""
    found: list[str] = []
    for name in names:
        found += params.get(name, ())
        index = 1
        while f"{name}.{index}" in params:
            found += params[f"{name}.{index}"]
            index += 1
    return [v for v in found if v]


def _first(params: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values and values[0] else None


def _members(params: Mapping[str, tuple[str, ...]], prefix: str) -> Iterator[str]:
    """The numbered members of a list parameter: ``prefix.1``, ``prefix.2``..."""
    index = 1
    while any(key.startswith(f"{prefix}.{index}.") for key in params):
        yield f"{prefix}.{index}"
        index += 1


# -- global keys ---------------------------------------------------------------------

#: The keys whose value changes with the clock alone (a verdict on them is never remembered).
CLOCK_KEYS: Final = frozenset({"aws:currenttime", "aws:epochtime", "aws:multifactorauthage"})


@functools.lru_cache(maxsize=2)
def _clock(second: int) -> tuple[str, str]:
    """aws:CurrentTime and aws:EpochTime of one second, made once."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)), str(second)


def global_keys(
    principal: _Principal, region: str, source_ip: str | None, now: float | None = None
) -> dict[str, tuple[str, ...]]:
    """The global condition keys AWS sets for a direct caller of its HTTPS endpoints.

    IAM User Guide, "AWS global condition context keys" (REFERENCE §9): present
    for every such request, ``aws:username`` only for IAM users, the MFA keys and
    ``aws:TokenIssueTime`` only when the principal's session carries them.
    ``aws:SourceIp`` is absent when the address is unknown.
    """
    current_time, epoch_time = _clock(int(time.time() if now is None else now))
    keys: dict[str, tuple[str, ...]] = {
        "aws:SecureTransport": ("true",),  # AWS's public endpoints are HTTPS only
        "aws:CurrentTime": (current_time,),
        "aws:EpochTime": (epoch_time,),
        "aws:RequestedRegion": (region,),
        "aws:PrincipalArn": (principal.principal_arn,),
        "aws:PrincipalAccount": (principal.account,),
        "aws:PrincipalType": (principal.kind,),
        "aws:userid": (principal.id,),
        "aws:PrincipalIsAWSService": ("false",),
        "aws:ViaAWSService": ("false",),
    }
    if source_ip:
        keys["aws:SourceIp"] = (source_ip,)
    if principal.kind == "User":
        keys["aws:username"] = (principal.name,)
    for tag, value in getattr(principal, "tags", {}).items():
        keys[f"aws:PrincipalTag/{tag}"] = (str(value),)
    for key, values in getattr(principal, "session_keys", {}).items():
        keys[key] = tuple(values)
    return keys


# -- resources -----------------------------------------------------------------------

#: ARN-format variables whose request parameter has another name (EC2 API Reference,
#: each operation's request parameters): variable -> parameter names, in order.
PARAMETER_ALIASES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "KeyPairName": ("KeyName",),
        "SecurityGroupId": ("SecurityGroupId", "GroupId"),
        "PlacementGroupName": ("GroupName", "Placement.GroupName"),
        "LaunchTemplateId": ("LaunchTemplateId", "LaunchTemplate.LaunchTemplateId"),
    }
)

#: Per (action, variable), the parameter naming that resource when it is not the
#: variable's own name (KMS API Reference, ReEncrypt: the source key is
#: ``SourceKeyId`` for kms:ReEncryptFrom, the destination ``DestinationKeyId``).
ACTION_PARAMETERS: Final[Mapping[tuple[str, str], tuple[str, ...]]] = MappingProxyType(
    {
        ("kms:ReEncryptFrom", "KeyId"): ("SourceKeyId",),
        ("kms:ReEncryptTo", "KeyId"): ("DestinationKeyId",),
    }
)

#: EC2's condition key for the id of each resource type (Service Authorization
#: Reference, Amazon EC2, "Condition keys": ``ec2:InstanceID`` "Filters access by
#: the ID of an instance", and so on).
EC2_ID_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "image": "ec2:ImageID",
        "instance": "ec2:InstanceID",
        "network-interface": "ec2:NetworkInterfaceID",
        "security-group": "ec2:SecurityGroupID",
        "snapshot": "ec2:SnapshotID",
        "subnet": "ec2:SubnetID",
        "volume": "ec2:VolumeID",
        "vpc": "ec2:VpcID",
    }
)

_VARIABLE: Final = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class _Touched:
    """One resource an action touches: its type, ARN, id and own condition keys."""

    type: str
    arn: str
    id: str | None  # None: not created yet (its ARN ends in ``*``)
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _arn(prefix: str, resource_type: str, region: str, account: str, ids: Mapping[str, str]) -> str:
    """The reference's ARN format filled in; a variable the request does not give is ``*``."""
    template = arn_format(prefix, resource_type)
    if not template:
        return "*"

    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        if name == "Partition":
            return _PARTITION
        if name == "Region":
            return region
        if name == "Account":
            return account
        return ids.get(name, "*")

    return _VARIABLE.sub(fill, template)


def _id_variable(prefix: str, resource_type: str) -> str | None:
    """The variable of a resource type's ARN format that holds its id (the last one)."""
    names = [
        n
        for n in _VARIABLE.findall(arn_format(prefix, resource_type))
        if n not in ("Partition", "Region", "Account")
    ]
    return names[-1] if names else None


def _named_ids(action: str, variable: str, params: Mapping[str, tuple[str, ...]]) -> list[str]:
    names = ACTION_PARAMETERS.get((action, variable)) or PARAMETER_ALIASES.get(
        variable, (variable,)
    )
    return _values(params, *names)


def _generic(action: str, call: Call, account: str) -> list[_Touched]:
    """Each resource type of the action: the ones the request names, and the required ones."""
    facts = action_facts(action)
    if facts is None:
        return []
    prefix = action.partition(":")[0]
    touched: list[_Touched] = []
    for resource in facts.resource_types:
        variable = _id_variable(prefix, resource.name)
        ids = _named_ids(action, variable, call.params) if variable else []
        for value in ids:
            if value.startswith("arn:"):
                touched.append(_Touched(resource.name, value, value))
            elif prefix == "kms" and value.startswith("alias/"):
                # an alias names its key; the sandbox does not resolve it (README)
                alias = f"arn:{_PARTITION}:kms:{call.region}:{account}:{value}"
                touched.append(_Touched(resource.name, alias, value))
            else:
                arn = _arn(prefix, resource.name, call.region, account, {variable or "": value})
                touched.append(_Touched(resource.name, arn, value))
        if not ids and resource.required:
            touched.append(
                _Touched(resource.name, _arn(prefix, resource.name, call.region, account, {}), None)
            )
    return touched


def _ec2_arn(resource_type: str, region: str, account: str, resource_id: str | None) -> str:
    variable = _id_variable("ec2", resource_type) or ""
    ids = {variable: resource_id} if resource_id else {}
    return _arn("ec2", resource_type, region, account, ids)


def _run_instances(call: Call, account: str, inventory: Inventory) -> list[_Touched]:
    """What ``RunInstances`` touches, with EC2's defaults for what the request leaves out.

    EC2 User Guide, "Example policies to control access to the Amazon EC2 API",
    "Launch instances (RunInstances)": the action is authorized on the image, the
    instance, the network interface, the security groups, the subnet and the
    volume, plus the key pair, launch template, placement group, capacity
    reservation and snapshots the request names. Resources not created yet are
    ``…/*`` (``instance/*`` as in AWS's own denials: aws/karpenter-provider-aws#7370).
    A request that names no subnet launches into the default VPC's default subnet
    of its availability zone (EC2 API Reference, RunInstances, ``SubnetId``), and
    one that names no security group uses that VPC's ``default`` group
    (``SecurityGroupIds``: "If you don't specify a security group ID, we use the
    default security group for the VPC"); each is looked up in the inventory, else
    written ``*``. No ``ImageId`` (the catalog's probe sends none): ``image/*``.
    """
    params, region = call.params, call.region
    nic = "NetworkInterface.1"
    zone = _first(params, "Placement.AvailabilityZone")
    subnet_id = _first(params, "SubnetId") or _first(params, f"{nic}.SubnetId")
    subnet = inventory.subnet(region, subnet_id) if subnet_id else None
    if subnet_id is None:
        subnet = inventory.default_subnet(region, zone)
        subnet_id = subnet.id if subnet else None
    vpc_id = subnet.vpc_id if subnet else None
    zone = zone or (subnet.zone if subnet else None)
    vpc_arn = _ec2_arn("vpc", region, account, vpc_id) if vpc_id else None
    subnet_arn = _ec2_arn("subnet", region, account, subnet_id)
    shared: dict[str, tuple[str, ...]] = {}
    if zone:
        shared["ec2:AvailabilityZone"] = (zone,)
    if vpc_arn:
        shared["ec2:Vpc"] = (vpc_arn,)

    touched: list[_Touched] = []
    instance = dict(shared, **_instance_keys(call, region, account, inventory))
    touched.append(
        _Touched("instance", _ec2_arn("instance", region, account, None), None, instance)
    )
    image = _first(params, "ImageId")
    touched.append(_Touched("image", _ec2_arn("image", region, "", image), image))
    interface = _first(params, f"{nic}.NetworkInterfaceId")
    interface_keys = dict(shared)
    if subnet_id:
        interface_keys["ec2:Subnet"] = (subnet_arn,)
    associate = _first(params, f"{nic}.AssociatePublicIpAddress")
    if associate:
        interface_keys["ec2:AssociatePublicIpAddress"] = (associate,)
    touched.append(
        _Touched(
            "network-interface",
            _ec2_arn("network-interface", region, account, interface),
            interface,
            interface_keys,
        )
    )
    groups = _values(params, "SecurityGroupId", f"{nic}.SecurityGroupId")
    for name in _values(params, "SecurityGroup"):
        group = inventory.security_group(region, name, vpc_id)
        groups.append(group or "*")
    if not groups:
        groups = [inventory.default_security_group(region, vpc_id) or "*"]
    for group in dict.fromkeys(groups):
        known = group if group != "*" else None
        touched.append(
            _Touched(
                "security-group",
                _ec2_arn("security-group", region, account, known),
                known,
                {"ec2:Vpc": (vpc_arn,)} if vpc_arn else {},
            )
        )
    subnet_keys = dict(shared)
    touched.append(_Touched("subnet", subnet_arn, subnet_id, subnet_keys))
    touched.append(
        _Touched(
            "volume", _ec2_arn("volume", region, account, None), None, _volume_keys(call, zone)
        )
    )
    key_name = _first(params, "KeyName")
    if key_name:
        touched.append(
            _Touched(
                "key-pair",
                _ec2_arn("key-pair", region, account, key_name),
                key_name,
                {"ec2:KeyPairName": (key_name,)},
            )
        )
    template = _first(params, "LaunchTemplate.LaunchTemplateId")
    if template or _first(params, "LaunchTemplate.LaunchTemplateName"):
        arn = _ec2_arn("launch-template", region, account, template)
        touched.append(_Touched("launch-template", arn, template))
    group_name = _first(params, "Placement.GroupName")
    if group_name:
        touched.append(
            _Touched(
                "placement-group",
                _ec2_arn("placement-group", region, account, group_name),
                group_name,
                {"ec2:PlacementGroupName": (group_name,)},
            )
        )
    reservation = _first(
        params, "CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId"
    )
    if reservation:
        arn = _ec2_arn("capacity-reservation", region, account, reservation)
        touched.append(_Touched("capacity-reservation", arn, reservation))
    for mapping in _members(params, "BlockDeviceMapping"):
        snapshot = _first(params, f"{mapping}.Ebs.SnapshotId")
        if snapshot:
            touched.append(
                _Touched("snapshot", _ec2_arn("snapshot", region, "", snapshot), snapshot)
            )
    return touched


#: Condition keys of the instance a RunInstances request sets from its parameters:
#: key -> (parameter, EC2's default when the request leaves it out, None for none).
#: Service Authorization Reference, Amazon EC2, "Condition keys"; the defaults
#: from the EC2 API Reference, RunInstances (``InstanceType``: "Default: m1.small";
#: ``Placement.Tenancy``: "default"; ``InstanceMarketOptions``: on-demand when
#: absent; ``EbsOptimized``: "Default: false"). A request that names a launch
#: template takes what it leaves out from the template: no default then.
EC2_REQUEST_KEYS: Final[Mapping[str, tuple[str, str | None]]] = MappingProxyType(
    {
        "ec2:InstanceType": ("InstanceType", "m1.small"),
        "ec2:Tenancy": ("Placement.Tenancy", "default"),
        "ec2:InstanceMarketType": ("InstanceMarketOptions.MarketType", "on-demand"),
        "ec2:EbsOptimized": ("EbsOptimized", "false"),
        "ec2:MetadataHttpTokens": ("MetadataOptions.HttpTokens", None),
        "ec2:MetadataHttpEndpoint": ("MetadataOptions.HttpEndpoint", None),
        "ec2:MetadataHttpPutResponseHopLimit": ("MetadataOptions.HttpPutResponseHopLimit", None),
        "ec2:InstanceMetadataTags": ("MetadataOptions.InstanceMetadataTags", None),
    }
)

#: Condition keys of the volumes a RunInstances request sets from its first block
#: device mapping (Service Authorization Reference, Amazon EC2, "Condition keys").
EC2_VOLUME_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ec2:VolumeType": "Ebs.VolumeType",
        "ec2:VolumeSize": "Ebs.VolumeSize",
        "ec2:VolumeIops": "Ebs.Iops",
        "ec2:VolumeThroughput": "Ebs.Throughput",
        "ec2:Encrypted": "Ebs.Encrypted",
    }
)


def _instance_keys(
    call: Call, region: str, account: str, inventory: Inventory
) -> dict[str, tuple[str, ...]]:
    params = call.params
    templated = any(key.startswith("LaunchTemplate.") for key in params)
    keys: dict[str, tuple[str, ...]] = {}
    for key, (parameter, default) in EC2_REQUEST_KEYS.items():
        value = _first(params, parameter) or (None if templated else default)
        if value is not None:
            keys[key] = (value,)
    profile = _profile_reference(params)
    if profile is not None:
        found = inventory.instance_profile(*profile)
        if found is not None:
            keys["ec2:InstanceProfile"] = (found.arn,)
    group = _first(params, "Placement.GroupName")
    if group:
        keys["ec2:PlacementGroup"] = (_ec2_arn("placement-group", region, account, group),)
    template = _first(params, "LaunchTemplate.LaunchTemplateId")
    if template:
        keys["ec2:LaunchTemplate"] = (_ec2_arn("launch-template", region, account, template),)
    return keys


def _volume_keys(call: Call, zone: str | None) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {"ec2:AvailabilityZone": (zone,)} if zone else {}
    for key, member in EC2_VOLUME_KEYS.items():
        value = _first(call.params, f"BlockDeviceMapping.1.{member}")
        if value is not None:
            keys[key] = (value,)
    return keys


def _profile_reference(
    params: Mapping[str, tuple[str, ...]],
) -> tuple[str | None, str | None] | None:
    name = _first(params, "IamInstanceProfile.Name")
    arn = _first(params, "IamInstanceProfile.Arn")
    return None if name is None and arn is None else (name, arn)


# -- tags ----------------------------------------------------------------------------


def _tag_specifications(params: Mapping[str, tuple[str, ...]]) -> dict[str, dict[str, str]]:
    """The tags a request puts on the resources it creates, per resource type."""
    tagged: dict[str, dict[str, str]] = {}
    for spec in _members(params, "TagSpecification"):
        resource_type = _first(params, f"{spec}.ResourceType")
        if not resource_type:
            continue
        tags = tagged.setdefault(resource_type, {})
        for tag in _members(params, f"{spec}.Tag"):
            key = _first(params, f"{tag}.Key")
            if key:
                tags[key] = (params.get(f"{tag}.Value") or ("",))[0]
    return {kind: tags for kind, tags in tagged.items() if tags}


def _request_tag_keys(tags: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {
        f"aws:RequestTag/{key}": (value,) for key, value in tags.items()
    }
    keys["aws:TagKeys"] = tuple(tags)
    return keys


def _resource_tag_keys(tags: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {}
    for key, value in tags.items():
        keys[f"aws:ResourceTag/{key}"] = (value,)
        keys[f"ec2:ResourceTag/{key}"] = (value,)
    return keys


# -- which keys apply where ----------------------------------------------------------

#: Global keys the reference lists per resource type: kept only where it lists them.
_PER_RESOURCE_GLOBALS: Final = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")


@functools.cache
def _listed(
    action: str, resource_type: str | None
) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """The keys the reference lists for the action on a resource type: exact, and prefixes."""
    table = resource_condition_keys(action)
    if table is None:
        return None
    listed = [*table.get("", ()), *(table.get(resource_type, ()) if resource_type else ())]
    exact = frozenset(k.lower() for k in listed if "${" not in k)
    prefixes = tuple(k.split("${", 1)[0].lower() for k in listed if "${" in k)
    return exact, prefixes


def _applicable(
    action: str, resource_type: str | None, keys: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """``keys`` less those the reference does not list for the action on the resource type.

    Global keys are always kept, but for the tag keys (``aws:RequestTag/*``,
    ``aws:ResourceTag/*``, ``aws:TagKeys``), which the reference lists per
    resource type. An action the reference does not list keeps every key.
    """
    listed = _listed(action, resource_type)
    if listed is None:
        return dict(keys)
    exact, prefixes = listed

    def kept(key: str) -> bool:
        lowered = key.lower()
        if lowered.startswith("aws:") and not lowered.startswith(_PER_RESOURCE_GLOBALS):
            return True
        return lowered in exact or lowered.startswith(prefixes)

    return {key: values for key, values in keys.items() if kept(key)}


# -- the request's contexts ----------------------------------------------------------


def request_contexts(
    call: Call,
    principal: _Principal,
    inventory: Inventory = NOTHING,
    now: float | None = None,
) -> tuple[Step, ...]:
    """Every authorization AWS makes for ``call``, in the order the sandbox evaluates them.

    For each of the call's actions, one :class:`RequestContext` per resource it
    touches (``*`` when none); then, for EC2, the dependent actions: the role
    of the named instance profile (an :class:`Invalid` first when the profile
    does not exist), and ``ec2:CreateTags`` per tagged resource type.
    """
    account = principal.account
    shared = global_keys(principal, call.region, call.source_ip, now)
    ec2 = call.actions[0].lower().startswith("ec2:") if call.actions else False
    if ec2:
        shared["ec2:Region"] = (call.region,)
    tagged = _tag_specifications(call.params) if ec2 else {}
    steps: list[Step] = []
    touched_by_type: dict[str, _Touched] = {}
    for action in call.actions:
        if action.lower() == "ec2:runinstances":
            touched = _run_instances(call, account, inventory)
        else:
            touched = _generic(action, call, account)
        if not touched:
            steps.append(
                RequestContext(action, "*", MappingProxyType(_applicable(action, None, shared)))
            )
            continue
        for resource in touched:
            touched_by_type.setdefault(resource.type, resource)
            keys = dict(shared)
            keys.update(resource.keys)
            if resource.id is not None and resource.type in EC2_ID_KEYS and ec2:
                keys[EC2_ID_KEYS[resource.type]] = (resource.id,)
            if resource.id is not None and ec2:
                keys.update(_resource_tag_keys(inventory.tags(call.region, resource.id)))
            if resource.type in tagged:
                keys.update(_request_tag_keys(tagged[resource.type]))
            steps.append(
                RequestContext(
                    action, resource.arn, MappingProxyType(_applicable(action, resource.type, keys))
                )
            )
    if ec2:
        steps += _pass_role(call, shared, inventory)
        steps += _create_tags(call, account, shared, tagged, touched_by_type)
    return tuple(steps)


def _pass_role(
    call: Call, shared: Mapping[str, tuple[str, ...]], inventory: Inventory
) -> Iterator[Step]:
    """``iam:PassRole`` on the instance profile's role, or the refusal of a missing profile.

    A profile that does not exist: ``InvalidParameterValue`` (400), "Value (NAME)
    for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile
    name" (``…iamInstanceProfile.arn… Invalid IAM Instance Profile ARN`` when
    named by ARN), as recorded in tungbq/aws-lab-with-terraform#102 and
    ZoccoCss/kalisoc#1 (status 400); EC2 answers it to a dry run too
    (REFERENCE §1.3: Karpenter, awless). A profile with no role passes nothing.
    """
    reference = _profile_reference(call.params)
    if reference is None:
        return
    name, arn = reference
    profile = inventory.instance_profile(name, arn)
    if profile is None:
        by, value, what = ("name", name, "name") if name else ("arn", arn, "ARN")
        yield Invalid(
            "InvalidParameterValue",
            400,
            f"Value ({value}) for parameter iamInstanceProfile.{by} is invalid. "
            f"Invalid IAM Instance Profile {what}",
            "tungbq/aws-lab-with-terraform#102, ZoccoCss/kalisoc#1 (a profile that does not exist)",
        )
        return
    action = "iam:PassRole"
    for role in profile.roles:
        keys = dict(_without_service_keys(shared))
        keys["iam:PassedToService"] = (EC2_SERVICE_PRINCIPAL,)
        yield RequestContext(action, role, MappingProxyType(_applicable(action, "role", keys)))


def _create_tags(
    call: Call,
    account: str,
    shared: Mapping[str, tuple[str, ...]],
    tagged: Mapping[str, Mapping[str, str]],
    touched: Mapping[str, _Touched],
) -> Iterator[Step]:
    """``ec2:CreateTags`` on each resource the request tags as it creates it.

    EC2 User Guide, "Grant permission to tag Amazon EC2 resources during
    creation": tagging on creation needs ``ec2:CreateTags``, whose
    ``ec2:CreateAction`` is the creating operation's name; not evaluated when
    the request sends no tags.
    """
    action = "ec2:CreateTags"
    for resource_type, tags in tagged.items():
        resource = touched.get(resource_type)
        arn = resource.arn if resource else _ec2_arn(resource_type, call.region, account, None)
        keys = dict(shared)
        keys["ec2:CreateAction"] = (call.operation,)
        keys.update(_request_tag_keys(tags))
        yield RequestContext(
            action, arn, MappingProxyType(_applicable(action, resource_type, keys))
        )


def _without_service_keys(
    keys: Mapping[str, tuple[str, ...]],
) -> Iterable[tuple[str, tuple[str, ...]]]:
    """The global keys alone (a dependent action of another service gets no ``ec2:`` key)."""
    return ((k, v) for k, v in keys.items() if k.lower().startswith("aws:"))
