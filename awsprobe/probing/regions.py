"""Region names: the session's region, a list checked against botocore's, or every one
enabled for the account (EC2 ``DescribeRegions``).

The library takes names, never a command-line string: ``None``, one name, a sequence
of names, or the sentinel :data:`ALL_REGIONS`. Splitting ``"a,b"`` is the CLI's job.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from awsprobe.errors import UsageError
from awsprobe.files import cache_dir, write_cache
from awsprobe.guard import core_session, guarded_client

__all__ = ["ALL_REGIONS", "DEFAULT_REGION", "resolve_regions", "session_region"]

logger = logging.getLogger(__name__)

DEFAULT_REGION: Final = "us-east-1"
#: ``regions=ALL_REGIONS``: every region enabled for the account.
ALL_REGIONS: Final = "all"


def session_region(core: botocore.session.Session) -> str:
    """The session's region, else :data:`DEFAULT_REGION`."""
    region = core.get_config_variable("region")
    return str(region) if region else DEFAULT_REGION


def resolve_regions(
    regions: Iterable[str] | str | None,
    session: Any = None,
    *,
    endpoint_url: str | None = None,
    warnings: list[str] | None = None,
) -> tuple[str, ...]:
    """Turn ``None`` / a region name / a list of them / :data:`ALL_REGIONS` into names.

    ``None`` (or an empty list) is the session's region (else us-east-1).
    :data:`ALL_REGIONS` asks EC2 ``DescribeRegions`` for the regions enabled for the
    account; when that is denied, botocore's partition data is used and a warning
    says so. Names are checked against botocore's: :class:`UsageError` for an
    unknown one, with the close ones.
    """
    core = core_session(session)
    if regions == ALL_REGIONS:
        return _all_regions(core, endpoint_url, warnings)
    given = [regions] if isinstance(regions, str) else list(regions or ())
    names = [name.strip() for name in given if name.strip()]  # blank names: none given
    if not names:
        return (session_region(core),)
    known = _known_regions(core)
    for name in names:
        if "," in name:
            raise UsageError(
                f"unknown region {name!r}: give a list of region names, not one "
                "comma-separated string"
            )
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"unknown region {name!r}{hint} (or use --regions all)")
    return tuple(dict.fromkeys(names))


def _known_regions(core: botocore.session.Session) -> set[str]:
    """Every region botocore knows for EC2, in every partition.

    Reading botocore's endpoint data costs ~75 ms of every run (a third of a one-probe
    ``awsprobe matrix``'s start-up), so the names are kept in the cache directory,
    in a file named after the botocore version and its data path (a user's
    ``AWS_DATA_PATH`` may add regions): a new botocore reads its own data again.
    """
    path = _regions_cache(core)
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, list) and cached and all(isinstance(r, str) for r in cached):
            return set(cached)
    except (OSError, ValueError):
        pass
    regions: set[str] = set()
    for partition in core.get_available_partitions():
        regions.update(core.get_available_regions("ec2", partition_name=partition))
    failed = write_cache(path, json.dumps(sorted(regions)).encode("utf-8"))
    if failed is not None:  # a read-only home is fine: read botocore's data next time
        logger.debug("could not cache the region names at %s: %s", path, failed)
    return regions


def _regions_cache(core: botocore.session.Session) -> Path:
    data_path = str(core.get_config_variable("data_path") or "")
    tag = hashlib.sha256(data_path.encode("utf-8")).hexdigest()[:12] if data_path else "default"
    return cache_dir() / f"regions-botocore-{botocore.__version__}-{tag}.json"


def _all_regions(
    core: botocore.session.Session, endpoint_url: str | None, warnings: list[str] | None
) -> tuple[str, ...]:
    client = guarded_client(
        core,
        "ec2",
        region=session_region(core),
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    try:
        answer = client.describe_regions()
        names = sorted(r["RegionName"] for r in answer.get("Regions", []))
        if names:
            return tuple(names)
        reason = "it returned no regions"
    except (ClientError, BotoCoreError) as exc:
        reason = str(exc)
    partition = core.get_partition_for_region(session_region(core)) or "aws"
    fallback = tuple(sorted(core.get_available_regions("ec2", partition_name=partition)))
    message = (
        f"could not list the account's enabled regions ({reason}); using botocore's "
        "partition data"
        f" ({len(fallback)} {partition} regions): regions not enabled will show as error"
    )
    logger.warning(message)
    if warnings is not None:
        warnings.append(message)
    return fallback
