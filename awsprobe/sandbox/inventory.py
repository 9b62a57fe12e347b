"""What exists in the sandbox's account, as a request context reads it: moto's IAM and EC2.

:class:`MotoInventory` answers :class:`awsprobe.sandbox.context.Inventory`'s
questions (instance profiles and their roles, subnets, the default VPC's
default subnets and security groups, EC2 resource tags) from moto's backends,
reached through :mod:`awsprobe.sandbox.moto_adapter` only. moto's backends are
internal: each question that fails (moto changed, or its state is being
changed by another thread) is answered "nothing", with a debug line;
``tests/test_sandbox_context.py`` fails when moto's shapes change. While no
request has used moto's EC2 (:func:`~awsprobe.sandbox.moto_adapter.ec2_backend`
is None: it is not even loaded), nothing exists there: no subnet, group or tag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from awsprobe.sandbox.context import InstanceProfile, Subnet
from awsprobe.sandbox.moto_adapter import ec2_backend, iam_backend

logger = logging.getLogger(__name__)


class MotoInventory:
    """The account ``account`` as moto has it now (nothing is remembered)."""

    def __init__(self, account: str) -> None:
        self._account = account

    def instance_profile(self, name: str | None, arn: str | None) -> InstanceProfile | None:
        iam = iam_backend(self._account)
        try:
            profile = (
                iam.get_instance_profile(name) if name else iam.get_instance_profile_by_arn(arn)
            )
        except Exception:  # moto's NotFoundException, or moto changed
            logger.debug("no instance profile %s in moto", name or arn)
            return None
        return InstanceProfile(str(profile.arn), tuple(str(role.arn) for role in profile.roles))

    def subnet(self, region: str, subnet_id: str) -> Subnet | None:
        backend = ec2_backend(self._account, region)
        if backend is None:
            return None
        try:
            found = backend.get_subnet(subnet_id)
        except Exception:  # moto's InvalidSubnetIdError, or moto changed
            return None
        return _subnet(found)

    def default_subnet(self, region: str, zone: str | None) -> Subnet | None:
        backend = ec2_backend(self._account, region)
        if backend is None:
            return None
        try:
            subnets: Mapping[str, Any] = backend.get_default_subnets()
            chosen = subnets.get(zone) if zone else subnets[min(subnets)] if subnets else None
        except Exception:
            logger.debug("moto's default subnets of %s are unreadable", region, exc_info=True)
            return None
        return _subnet(chosen) if chosen is not None else None

    def security_group(self, region: str, name: str, vpc_id: str | None) -> str | None:
        backend = ec2_backend(self._account, region)
        if backend is None:
            return None
        try:
            vpc = vpc_id or backend.get_default_vpc().id
            group = backend.get_security_group_from_name(name, vpc)
        except Exception:
            logger.debug("moto's security groups of %s are unreadable", region, exc_info=True)
            return None
        return str(group.id) if group is not None else None

    def default_security_group(self, region: str, vpc_id: str | None) -> str | None:
        backend = ec2_backend(self._account, region)
        if backend is None:
            return None
        try:
            vpc = vpc_id or backend.get_default_vpc().id
            group = backend.get_default_security_group(vpc)
        except Exception:
            logger.debug("moto's default security group of %s is unreadable", region, exc_info=True)
            return None
        return str(group.id) if group is not None else None

    def tags(self, region: str, resource_id: str) -> Mapping[str, str]:
        backend = ec2_backend(self._account, region)
        if backend is None:
            return {}
        try:
            tags = backend.tags.get(resource_id)
            return dict(tags) if tags else {}
        except Exception:
            logger.debug("moto's tags of %s are unreadable", resource_id, exc_info=True)
            return {}


def _subnet(found: Any) -> Subnet:
    return Subnet(str(found.id), str(found.vpc_id), str(found.availability_zone))
