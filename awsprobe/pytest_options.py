"""The pytest plugin's options: each command-line flag and its ini key, declared once.

:mod:`awsprobe.pytest_plugin` registers them (``pytest_addoption``) and reads them into
its ``Settings``; this module holds only the table, so the plugin stays one room.
Imports nothing of awsprobe: the plugin stays inert until it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pytest

__all__ = ["BASELINE_ITEM", "OPTIONS", "Option", "add_options"]

#: The test item ``--awsprobe-baseline`` adds.
BASELINE_ITEM: Final = "awsprobe-baseline"


@dataclass(frozen=True)
class Option:
    """One command-line option and its ini key (the option's name, ``_`` for ``-``)."""

    flag: str
    help: str
    metavar: str | None = None  # a value option; else a flag
    repeat: bool = False  # a value option given any number of times (ini: one a line)
    negation: str | None = None  # a flag with an opposite, true by default
    default: bool = False

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


#: The options, in the order ``pytest --help`` lists them.
OPTIONS: Final = (
    Option(
        "--awsprobe-profile",
        "AWS profile of the identity to assert (default: the default credential chain)",
        metavar="NAME",
    ),
    Option(
        "--awsprobe-region",
        "the session's region (default: AWS_REGION or the profile's, else us-east-1)",
        metavar="REGION",
    ),
    Option(
        "--awsprobe-regions",
        "comma-separated regions expectations apply to, or 'all' (default: the session's region)",
        metavar="LIST",
    ),
    Option("--awsprobe-endpoint-url", "send every AWS call to this endpoint", metavar="URL"),
    Option(
        "--awsprobe-sandbox",
        "assert against awsprobe's local sandbox, whose identity has the demo policy",
    ),
    Option(
        "--awsprobe-sandbox-policy",
        "assert against awsprobe's local sandbox, whose identity has this IAM policy (JSON)",
        metavar="FILE",
    ),
    Option(
        "--awsprobe-sandbox-scp",
        "assert against awsprobe's local sandbox, with this SCP (JSON) on its account (repeatable)",
        metavar="FILE",
        repeat=True,
    ),
    Option(
        "--awsprobe-baseline",
        f"add a test item, {BASELINE_ITEM}, that fails when the identity's permissions "
        "differ from this saved matrix (awsprobe matrix --save FILE)",
        metavar="FILE",
    ),
    Option(
        "--awsprobe-simulate",
        "also answer actions that have no dry run (s3:GetObject...) with IAM's policy "
        "simulator, iam:SimulatePrincipalPolicy (labelled simulated)",
    ),
    Option(
        "--awsprobe-strict",
        "inconclusive and error answers fail expectations",
        negation="--awsprobe-no-strict",
        default=True,
    ),
    Option(
        "--awsprobe-decode",
        "explain denials with sts:DecodeAuthorizationMessage",
        negation="--awsprobe-no-decode",
        default=True,
    ),
)


def add_options(parser: pytest.Parser) -> None:
    """Declare every option in an ``awsprobe`` group, each mirrored by an ini key."""
    group = parser.getgroup("awsprobe", "awsprobe: assert an AWS identity's permissions")
    for option in OPTIONS:
        flag, dest, help = option.flag, option.dest, option.help
        if option.metavar is not None:
            action = "append" if option.repeat else "store"
            group.addoption(flag, dest=dest, metavar=option.metavar, action=action, help=help)
            if option.repeat:
                parser.addini(dest, help, type="linelist", default=[])
            else:
                parser.addini(dest, help, type="string", default="")
            continue
        group.addoption(flag, action="store_const", const=True, dest=dest, default=None, help=help)
        if option.negation is None:
            parser.addini(dest, help, type="bool", default=False)
            continue
        group.addoption(
            option.negation,
            action="store_const",
            const=False,
            dest=dest,
            help=f"the opposite of {flag}",
        )
        default = option.default
        parser.addini(
            dest, f"{help} (default: {str(default).lower()})", type="bool", default=default
        )
