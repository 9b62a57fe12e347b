"""The ``awsprobe`` command line: a thin layer over the library.

Exit codes: 0 success; 1 drift or an unmet expectation; 2 bad input;
3 no usable credentials; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from tabulate import tabulate

from awsprobe._version import __version__
from awsprobe.catalog import load_catalog
from awsprobe.errors import AwsprobeError, CredentialsError, UsageError

__all__ = ["EXIT_BAD_INPUT", "EXIT_CREDENTIALS", "EXIT_INTERRUPTED", "main", "main_entry"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CREDENTIALS = 3
EXIT_INTERRUPTED = 130

_EPILOG = """\
exit codes: 0 success; 1 drift or unmet expectation; 2 bad input;
3 no usable credentials; 130 interrupted.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2, raised instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _common(parser: argparse.ArgumentParser, outputs: Sequence[str]) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--output",
        choices=outputs,
        default=outputs[0],
        help=f"output format (default: {outputs[0]})",
    )
    group.add_argument("--debug", action="store_true", help="log details and show tracebacks")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="awsprobe",
        description="Tell an AWS identity exactly what it may do, without doing any of it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"awsprobe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    catalog = sub.add_parser(
        "catalog",
        help="list the operations awsprobe can probe",
        description="List the operations that botocore models with a dry-run flag, with "
        "the IAM action each needs and the parameters a probe sends.",
        epilog="example:\n  awsprobe catalog --services ec2 --actions 'ec2:Describe*' "
        "--output json\n\n" + _EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    catalog.add_argument("--services", help="comma-separated botocore service names (ec2,kms)")
    catalog.add_argument(
        "--actions",
        action="append",
        metavar="GLOB",
        help="IAM action glob such as 'ec2:Describe*' (repeatable, case-insensitive)",
    )
    catalog.add_argument(
        "--access-level",
        help="comma-separated access levels: list, read, write, tagging, permissions-management",
    )
    catalog.add_argument(
        "--all", action="store_true", help="include operations awsprobe does not probe"
    )
    _common(catalog, ("table", "json"))
    catalog.set_defaults(handler=_cmd_catalog)
    return parser


def _cmd_catalog(args: argparse.Namespace, out: TextIO) -> int:
    entries = load_catalog(
        services=args.services,
        actions=args.actions,
        access_levels=args.access_level,
        include_unprobed=args.all,
    )
    if args.output == "json":
        json.dump([e.to_json() for e in entries], out, indent=2)
        out.write("\n")
        return EXIT_OK
    rows = [
        (e.action, e.access_level.value, "yes" if e.probe else "no", e.reason or "")
        for e in entries
    ]
    out.write(tabulate(rows, headers=("action", "access level", "probed", "reason")) + "\n")
    probed = sum(1 for e in entries if e.probe)
    out.write(f"\n{len(entries)} operations, {probed} probed\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never calls ``sys.exit``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    parser = _build_parser()
    try:
        args = parser.parse_args(args_list)
        if getattr(args, "handler", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        code: int = args.handler(args, sys.stdout)
        return code
    except KeyboardInterrupt:
        print("awsprobe: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CredentialsError as exc:
        _report(exc, debug)
        return EXIT_CREDENTIALS
    except UsageError as exc:
        _report(exc, debug)
        return EXIT_BAD_INPUT
    except AwsprobeError as exc:
        _report(exc, debug)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        logging.getLogger("awsprobe").exception("awsprobe failed")
    print(f"awsprobe: {exc}", file=sys.stderr)


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
