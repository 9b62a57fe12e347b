"""The catalog's data tables, each declared once.

Everything here is data about AWS that botocore's models do not carry:

* :data:`SERVICE_BEHAVIOUR` -- how each service answers a dry run, and
  whether awsprobe probes it at all (with the reason when it does not);
* :data:`OPERATION_BEHAVIOUR` -- per-operation exceptions to that;
* :data:`IAM_PREFIX_OVERRIDES` and :data:`IAM_ACTION_EXCEPTIONS` -- where the
  IAM action is not ``<signing name>:<Operation>``;
* :data:`ACCESS_LEVEL_VERBS` and :data:`ACCESS_LEVEL_OVERRIDES` -- the access
  level rule and its exceptions;
* :data:`EC2_ID_PREFIXES` -- well-formed placeholder ids by resource noun;
* :data:`PARAM_OVERRIDES` -- curated probe parameters where a synthesized
  placeholder would be rejected before authorization.

Each row cites its source (``../shared/REFERENCE.md`` sections, AWS docs).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "ACCESS_LEVEL_OVERRIDES",
    "ACCESS_LEVEL_VERBS",
    "EC2_ID_PREFIXES",
    "IAM_ACTION_EXCEPTIONS",
    "IAM_PREFIX_OVERRIDES",
    "ID_ROLE_PREFIXES",
    "OPERATION_BEHAVIOUR",
    "PARAM_OVERRIDES",
    "SERVICE_BEHAVIOUR",
    "TAGGING_OPERATIONS",
    "UNKNOWN_SERVICE_BEHAVIOUR",
    "AccessLevel",
    "ActionException",
    "DryRunBehaviour",
]


class AccessLevel(StrEnum):
    """The IAM access levels of the Service Authorization Reference."""

    LIST = "list"
    READ = "read"
    WRITE = "write"
    TAGGING = "tagging"
    PERMISSIONS_MANAGEMENT = "permissions-management"


@dataclass(frozen=True)
class DryRunBehaviour:
    """How one service (or one operation) answers a dry run.

    ``success_codes`` is the service's "would have succeeded" signal: the only
    answer awsprobe ever classifies as allowed. ``denial_codes`` are its
    authorization failures. ``probe`` is false for services whose dry run
    answers like a real call (HTTP 200) or whose semantics are undocumented:
    they are listed in the catalog, with ``reason``, and never sent.
    """

    success_codes: frozenset[str]
    denial_codes: frozenset[str]
    probe: bool
    reason: str | None
    source: str


def _probed(success: set[str], denial: set[str], source: str) -> DryRunBehaviour:
    return DryRunBehaviour(frozenset(success), frozenset(denial), True, None, source)


def _not_probed(reason: str, source: str) -> DryRunBehaviour:
    return DryRunBehaviour(frozenset(), frozenset(), False, reason, source)


_NORMAL_RESPONSE = (
    "its dry run answers HTTP 200 like a real call, so success cannot be told from "
    "a performed call; not probed"
)
_UNDOCUMENTED = "its dry-run answer is not documented or not modeled; not probed until confirmed"

#: Per-service dry-run behaviour, keyed by botocore service name (REFERENCE.md §2 and §8).
SERVICE_BEHAVIOUR: Final[MappingProxyType[str, DryRunBehaviour]] = MappingProxyType(
    {
        "ec2": _probed(
            {"DryRunOperation"},
            {"UnauthorizedOperation", "AccessDenied"},
            "REFERENCE.md §1.1: DryRunOperation 412 / UnauthorizedOperation 403; "
            "AccessDenied is moto's spelling (§6)",
        ),
        "kms": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "AccessDenied"},
            "REFERENCE.md §2: KMS DG 'Testing your permissions'; modeled DryRunOperationException",
        ),
        "imagebuilder": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "ForbiddenException"},
            "REFERENCE.md §2: DryRunOperationException, httpStatusCode 412 in the model",
        ),
        "appstream": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "AccessDenied"},
            "REFERENCE.md §2: CreateImportedImage models DryRunOperationException",
        ),
        "mgh": _probed(
            {"DryRunOperation"},
            {"UnauthorizedOperation", "AccessDeniedException"},
            "REFERENCE.md §2: modeled DryRunOperation / UnauthorizedOperation",
        ),
        "migrationhub-config": _probed(
            {"DryRunOperation"},
            {"AccessDeniedException"},
            "REFERENCE.md §2: modeled DryRunOperation",
        ),
        "redshift-serverless": _probed(
            {"DryRunException"},
            {"AccessDeniedException"},
            "REFERENCE.md §2: modeled DryRunException ('request was successful, but dry run')",
        ),
        "kinesis": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "KMSAccessDeniedException"},
            "REFERENCE.md §2: KDS dev guide 'kds-dryrun-validation' (400 "
            "DryRunOperationException; else the real call's error); modeled shapes",
        ),
        "support": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "AccessDenied"},
            "REFERENCE.md §2: AWS Support DryRunOperationException; modeled on every operation",
        ),
        "billing": _not_probed(
            _NORMAL_RESPONSE + " ('return the result without changing any credit')",
            "botocore model doc of billing DryRun",
        ),
        "logs": _not_probed(
            _NORMAL_RESPONSE + " (previews the policy's impact)",
            "botocore model doc of logs DryRun",
        ),
        "route53": _not_probed(
            _NORMAL_RESPONSE + " ('returns the same errors as for a real request')",
            "botocore model doc of route53 DryRun",
        ),
        "lambda-core": _not_probed(
            _NORMAL_RESPONSE + " ('validated without creating a new runtime version')",
            "botocore model doc of lambda-core DryRun",
        ),
        "network-firewall": _not_probed(_NORMAL_RESPONSE, "REFERENCE.md §2 (network-firewall)"),
        "es": _not_probed(_NORMAL_RESPONSE, "REFERENCE.md §2 (es: DryRunResults in output)"),
        "opensearch": _not_probed(
            _NORMAL_RESPONSE, "REFERENCE.md §2 (opensearch: DryRunResults in output)"
        ),
        "outposts": _not_probed(_NORMAL_RESPONSE, "REFERENCE.md §2 (outposts: DryRun in output)"),
        "lambda": _not_probed(_NORMAL_RESPONSE, "REFERENCE.md §2 (lambda UpdateFunctionCode)"),
        "ssm": _not_probed(_NORMAL_RESPONSE, "REFERENCE.md §2 (ssm DeleteInventory)"),
        "clouddirectory": _not_probed(
            _NORMAL_RESPONSE, "REFERENCE.md §2 (clouddirectory: 'no changes will be saved')"
        ),
        "pinpoint-sms-voice-v2": _not_probed(
            _NORMAL_RESPONSE, "REFERENCE.md §2 (pinpoint-sms-voice-v2: likely normal response)"
        ),
        "cloud9": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (cloud9: no modeled shapes)"),
        "launch-wizard": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (launch-wizard)"),
        "tnb": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (tnb)"),
        "meteringmarketplace": _not_probed(
            "its dry run is not modeled and the real call meters billable usage; not probed",
            "REFERENCE.md §2 (meteringmarketplace MeterUsage)",
        ),
        "license-manager": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (license-manager)"),
        "redshift": _not_probed(
            _UNDOCUMENTED + " (and UnauthorizedOperation means something else in Redshift)",
            "REFERENCE.md §2 (redshift)",
        ),
        "bcm-dashboards": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (bcm-dashboards)"),
        "elementalinference": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (elementalinference)"),
        "emr": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (emr)"),
        "medialive": _not_probed(
            _UNDOCUMENTED + " ('Placeholder documentation')", "REFERENCE.md §2 (medialive)"
        ),
        "wickr": _not_probed(_UNDOCUMENTED, "REFERENCE.md §2 (wickr)"),
    }
)

#: A service that botocore gained after this table was written: listed, never probed.
UNKNOWN_SERVICE_BEHAVIOUR: Final = _not_probed(
    "awsprobe does not know how this service answers a dry run yet; not probed until "
    "it is added to awsprobe.tables.SERVICE_BEHAVIOUR",
    "default for services missing from SERVICE_BEHAVIOUR",
)

#: Per-operation exceptions to :data:`SERVICE_BEHAVIOUR`, keyed by (service, operation).
OPERATION_BEHAVIOUR: Final[MappingProxyType[tuple[str, str], DryRunBehaviour]] = MappingProxyType(
    {
        ("appstream", "CreateUpdatedImage"): _not_probed(
            _NORMAL_RESPONSE + " (returns canUpdateImage)",
            "REFERENCE.md §2 (appstream CreateUpdatedImage)",
        ),
    }
)

#: IAM service prefixes that differ from the model's signing name (else endpoint prefix).
IAM_PREFIX_OVERRIDES: Final[MappingProxyType[str, str]] = MappingProxyType(
    {
        # The model's signing name is "elemental-inference"; no IAM prefix is published.
        "elementalinference": "elemental-inference",
    }
)


@dataclass(frozen=True)
class ActionException:
    """An operation whose IAM action is not ``prefix:Operation``."""

    action: str
    also_requires: tuple[str, ...]
    source: str


#: Operations whose IAM action does not follow the ``prefix:Operation`` rule (REFERENCE.md §5).
IAM_ACTION_EXCEPTIONS: Final[MappingProxyType[tuple[str, str], ActionException]] = MappingProxyType(
    {
        ("kms", "ReEncrypt"): ActionException(
            "kms:ReEncryptFrom",
            ("kms:ReEncryptTo",),
            "REFERENCE.md §5: kms ReEncrypt needs kms:ReEncryptFrom and kms:ReEncryptTo",
        ),
    }
)

#: The access level of an operation, by its leading verb (the SAR convention).
ACCESS_LEVEL_VERBS: Final[MappingProxyType[str, AccessLevel]] = MappingProxyType(
    {
        "Describe": AccessLevel.LIST,
        "List": AccessLevel.LIST,
        "Get": AccessLevel.READ,
        "Search": AccessLevel.READ,
        "Export": AccessLevel.READ,
        "Download": AccessLevel.READ,
    }
)

#: Exceptions to the verb rule, by IAM action (Service Authorization Reference access levels).
ACCESS_LEVEL_OVERRIDES: Final[MappingProxyType[str, AccessLevel]] = MappingProxyType(
    {
        "ec2:CreateTags": AccessLevel.TAGGING,
        "ec2:DeleteTags": AccessLevel.TAGGING,
        "ec2:CreateNetworkInterfacePermission": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:DeleteNetworkInterfacePermission": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ModifySnapshotAttribute": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ResetSnapshotAttribute": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ModifyImageAttribute": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ResetImageAttribute": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ModifyFpgaImageAttribute": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ResetFpgaImageAttribute": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:ModifyVpcEndpointServicePermissions": AccessLevel.PERMISSIONS_MANAGEMENT,
        "ec2:DescribeImageAttribute": AccessLevel.READ,
        "ec2:DescribeInstanceAttribute": AccessLevel.READ,
        "ec2:DescribeSnapshotAttribute": AccessLevel.READ,
        "ec2:DescribeVolumeAttribute": AccessLevel.READ,
        "ec2:DescribeNetworkInterfaceAttribute": AccessLevel.READ,
        "ec2:DescribeFpgaImageAttribute": AccessLevel.READ,
        "ec2:GetConsoleOutput": AccessLevel.READ,
        "ec2:GetPasswordData": AccessLevel.READ,
        "ec2:SearchTransitGatewayRoutes": AccessLevel.READ,
        "kms:CreateGrant": AccessLevel.PERMISSIONS_MANAGEMENT,
        "kms:RetireGrant": AccessLevel.PERMISSIONS_MANAGEMENT,
        "kms:RevokeGrant": AccessLevel.PERMISSIONS_MANAGEMENT,
    }
)

#: Tagging verbs: any ``TagResource``/``UntagResource``-style operation is tagging.
TAGGING_OPERATIONS: Final = frozenset(
    {"TagResource", "UntagResource", "CreateTags", "DeleteTags", "AddTags", "RemoveTags"}
)

#: EC2 id prefixes by resource noun, for well-formed placeholder ids ("i-" + 17 hex digits).
#: The noun is the member name without ``Id``/``Ids`` and without a role prefix such as
#: ``Source``/``Destination``/``Peer``. Source: the EC2 API reference's id formats.
EC2_ID_PREFIXES: Final[MappingProxyType[str, str]] = MappingProxyType(
    {
        "Instance": "i",
        "Volume": "vol",
        "Snapshot": "snap",
        "Vpc": "vpc",
        "Subnet": "subnet",
        "Group": "sg",
        "SecurityGroup": "sg",
        "SecurityGroupRule": "sgr",
        "Image": "ami",
        "NetworkInterface": "eni",
        "BranchInterface": "eni",
        "TrunkInterface": "eni",
        "NetworkInterfaceAttachment": "eni-attach",
        "NetworkInterfacePermission": "eni-perm",
        "InternetGateway": "igw",
        "EgressOnlyInternetGateway": "eigw",
        "CarrierGateway": "cagw",
        "RouteTable": "rtb",
        "NetworkAcl": "acl",
        "Allocation": "eipalloc",
        "Association": "eipassoc",
        "NatGateway": "nat",
        "VpcPeeringConnection": "pcx",
        "TransitGateway": "tgw",
        "TransitGatewayAttachment": "tgw-attach",
        "PeeringAttachment": "tgw-attach",
        "TransportTransitGatewayAttachment": "tgw-attach",
        "TransitGatewayRouteTable": "tgw-rtb",
        "TransitGatewayRouteTableAnnouncement": "tgw-rtb-ann",
        "TransitGatewayMulticastDomain": "tgw-mcast-domain",
        "TransitGatewayPolicyTable": "tgw-ptb",
        "TransitGatewayConnectPeer": "tgw-connect-peer",
        "TransitGatewayMeteringPolicy": "tgw-mp",
        "LaunchTemplate": "lt",
        "KeyPair": "key",
        "DhcpOptions": "dopt",
        "VpnGateway": "vgw",
        "CustomerGateway": "cgw",
        "VpnConnection": "vpn",
        "VpnConcentrator": "vcn",
        "FlowLog": "fl",
        "VpcEndpoint": "vpce",
        "Service": "vpce-svc",
        "ConnectionNotification": "vpce-nfn",
        "ClientVpnEndpoint": "cvpn-endpoint",
        "PrefixList": "pl",
        "Fleet": "fleet",
        "SpotFleetRequest": "sfr",
        "SpotInstanceRequest": "sir",
        "CapacityReservation": "cr",
        "CapacityReservationFleet": "crf",
        "LocalGateway": "lgw",
        "LocalGatewayRouteTable": "lgw-rtb",
        "LocalGatewayVirtualInterface": "lgw-vif",
        "LocalGatewayVirtualInterfaceGroup": "lgw-vif-grp",
        "LocalGatewayRouteTableVpcAssociation": "lgw-vpc-assoc",
        "LocalGatewayRouteTableVirtualInterfaceGroupAssociation": "lgw-vif-grp-assoc",
        "CoipPool": "ipv4pool-coip",
        "Pool": "ipv4pool-ec2",
        "Ipam": "ipam",
        "IpamPool": "ipam-pool",
        "IpamScope": "ipam-scope",
        "IpamResourceDiscovery": "ipam-res-disco",
        "IpamResourceDiscoveryAssociation": "ipam-res-disco-assoc",
        "IpamExternalResourceVerificationToken": "ipam-ext-res-ver-token",
        "IpamPolicy": "ipam-policy",
        "IpamPrefixListResolver": "ipam-prefix-list-resolver",
        "IpamPrefixListResolverTarget": "ipam-prefix-list-resolver-target",
        "IpamPoolAllocation": "ipam-pool-alloc",
        "InstanceEventWindow": "iew",
        "InstanceConnectEndpoint": "eice",
        "TrafficMirrorFilter": "tmf",
        "TrafficMirrorFilterRule": "tmfr",
        "TrafficMirrorSession": "tms",
        "TrafficMirrorTarget": "tmt",
        "VerifiedAccessInstance": "vai",
        "VerifiedAccessGroup": "vagr",
        "VerifiedAccessEndpoint": "vae",
        "VerifiedAccessTrustProvider": "vatp",
        "RouteServer": "rs",
        "RouteServerEndpoint": "rse",
        "RouteServerPeer": "rsp",
        "NetworkInsightsPath": "nip",
        "NetworkInsightsAnalysis": "nia",
        "NetworkInsightsAccessScope": "nis",
        "NetworkInsightsAccessScopeAnalysis": "nisa",
        "FpgaImage": "afi",
        "Host": "h",
        "Reservation": "r",
        "ConversionTask": "import-i",
        "ImportTask": "import-ami",
        "ExportTask": "export-i",
        "Bundle": "bun",
        "SubnetCidrReservation": "scr",
        "VpcEncryptionControl": "vpc-ec",
        "SecondaryNetwork": "sn",
        "SecondarySubnet": "ss",
        "OutpostLag": "op-lag",
        "Exclusion": "rgx",
        "CapacityManagerDataExport": "cmde",
        "InstanceEvent": "instance-event",
        "Report": "report",
        "Target": "tgt",
    }
)

#: Role prefixes stripped from a member name before looking its noun up.
ID_ROLE_PREFIXES: Final = (
    "Source",
    "Destination",
    "Peer",
    "Current",
    "Target",
    "Accepter",
    "Requester",
    "Default",
    "Parent",
)

#: Curated probe parameters, merged over the synthesized ones, keyed by (service, operation).
#: Each exists because a synthesized placeholder would be rejected by validation before
#: authorization, or because the condition context would differ from a real call.
PARAM_OVERRIDES: Final[MappingProxyType[tuple[str, str], MappingProxyType[str, Any]]] = (
    MappingProxyType(
        {
            # REFERENCE.md §1.3: without a subnet EC2 validates against the default VPC and
            # may answer VPCIdNotSpecified; without MetadataOptions an SCP on
            # ec2:MetadataHttpTokens denies (karpenter #9256). t3.micro is valid everywhere.
            ("ec2", "RunInstances"): MappingProxyType(
                {
                    "InstanceType": "t3.micro",
                    "MetadataOptions": {"HttpTokens": "required"},
                }
            ),
            # REFERENCE.md §2: IGNORE_CIPHERTEXT = authorization validation without
            # ciphertext validation.
            # KeyId is optional for Decrypt, but naming the key is what a key policy and
            # --resources/--discover act on; the zero UUID is awsprobe's placeholder.
            ("kms", "Decrypt"): MappingProxyType(
                {
                    "CiphertextBlob": b"awsprobe-placeholder-ciphertext",
                    "DryRunModifiers": ["IGNORE_CIPHERTEXT"],
                    "KeyId": "00000000-0000-0000-0000-000000000000",
                }
            ),
            ("kms", "ReEncrypt"): MappingProxyType(
                {
                    "CiphertextBlob": b"awsprobe-placeholder-ciphertext",
                    "DryRunModifiers": ["IGNORE_CIPHERTEXT"],
                    "SourceKeyId": "00000000-0000-0000-0000-000000000000",
                }
            ),
            # RetireGrant needs either GrantToken or KeyId + GrantId.
            ("kms", "RetireGrant"): MappingProxyType(
                {
                    "GrantId": "0" * 64,
                }
            ),
        }
    )
)
