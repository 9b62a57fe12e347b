"""The ``awsprobe`` command line: a thin layer over the library.

Every subcommand takes the common options after its name (``--output``,
``--debug``, ``--color/--no-color``, and where AWS is called ``--profile``,
``--region``, ``--endpoint-url``, ``--no-verify-ssl``, ``--sandbox``,
``--policy``), as the AWS CLI accepts its global options.

Exit codes: 0 success; 1 drift or an unmet expectation; 2 bad input;
3 no usable credentials; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from awsprobe._version import __version__
from awsprobe.catalog import Catalog, load_catalog
from awsprobe.classify import Outcome
from awsprobe.compare import Drift, diff
from awsprobe.errors import (
    AwsprobeError,
    CredentialsError,
    CredentialsExpired,
    ProbeInterrupted,
    SchemaError,
    UsageError,
    WorkerFailed,
)
from awsprobe.matrix import Matrix
from awsprobe.report import FORMATS, render, tabulated
from awsprobe.runner import DEFAULT_WORKERS, MAX_WORKERS, probe

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CREDENTIALS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "main",
    "main_entry",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CREDENTIALS = 3
EXIT_INTERRUPTED = 130

_EPILOG = """\
exit codes: 0 success; 1 drift or unmet expectation; 2 bad input;
3 no usable credentials (none found, expired, invalid); 130 interrupted.
"""


def _is_loopback(host: str) -> bool:
    """Only a real loopback address (or ``localhost``) counts: not ``127.0.0.1.nip.io``."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    group.add_argument("--services", help="comma-separated botocore service names (ec2,kms)")
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


def _run_options(parser: argparse.ArgumentParser) -> None:
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
        help=f"concurrent probes in all (default: {DEFAULT_WORKERS} per process)",
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
        help="TOML of real ids (InstanceId = ['i-0abc...']) to probe instead of placeholders",
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


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="awsprobe",
        description="Tell an AWS identity exactly what it may do, without doing any of it.",
        epilog="Run 'awsprobe COMMAND --help' for a command's options.\n\n" + _EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"awsprobe {__version__}")
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
        ],
    )
    _select(matrix)
    _run_options(matrix)
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
    matrix.set_defaults(handler=_cmd_matrix)

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
    catalog.set_defaults(handler=_cmd_catalog)

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
    diff_cmd.set_defaults(handler=_cmd_diff)

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
    _run_options(check)
    check.add_argument("--save", metavar="PATH", help="also write the probed matrix as JSON")
    _aws(check)
    _common(check, ("table", "json"))
    check.set_defaults(handler=_cmd_check)

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
    decode.set_defaults(handler=_cmd_decode)

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
    whoami_cmd.set_defaults(handler=_cmd_whoami)

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
    session_cmd.set_defaults(handler=_cmd_session)
    return parser


# -- shared plumbing -----------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    sessions: tuple[Any, ...]
    endpoint_url: str | None
    verify: bool | None
    region: str | None

    @property
    def session(self) -> Any:
        return self.sessions[0]


def _warn(message: str) -> None:
    print(f"awsprobe: warning: {message}", file=sys.stderr)


def _session(args: argparse.Namespace, profile: str | None = None) -> Any:
    import boto3
    from botocore.exceptions import ProfileNotFound

    name = profile if profile is not None else args.profile
    try:
        return boto3.Session(profile_name=name, region_name=args.region)
    except ProfileNotFound:
        raise UsageError(
            f"profile {name!r} is not in your AWS config files; "
            f"create it with 'aws configure --profile {name}' or pick another"
        ) from None


def _mfa_code(args: argparse.Namespace) -> str:
    if args.mfa_code:
        return str(args.mfa_code)
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"MFA code for {args.mfa_serial}: ").strip()
    raise UsageError("--mfa-serial needs --mfa-code CODE (no terminal to prompt on)")


def _identities(args: argparse.Namespace, base: list[Any], endpoint_url: str | None) -> list[Any]:
    """Apply --mfa-serial, then --assume-role (one session per role), to the base sessions."""
    from awsprobe.identity import assume_role_session, mfa_session

    if args.mfa_code and not args.mfa_serial:
        raise UsageError("--mfa-code needs --mfa-serial ARN (the MFA device)")
    roles = list(args.assume_role or [])
    if (args.role_session_name or args.external_id) and not roles:
        raise UsageError("--role-session-name and --external-id need --assume-role ARN")
    sessions = base
    if args.mfa_serial:
        code = _mfa_code(args)
        sessions = [
            mfa_session(
                s,
                serial=args.mfa_serial,
                code=code,
                duration_seconds=args.duration_seconds,
                endpoint_url=endpoint_url,
            )
            for s in sessions
        ]
    if roles:
        sessions = [
            assume_role_session(
                sessions[0],
                role_arn=role,
                session_name=args.role_session_name,
                external_id=args.external_id,
                duration_seconds=args.duration_seconds,
                endpoint_url=endpoint_url,
            )
            for role in roles
        ]
    return sessions


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[_Target]:
    """The sessions and endpoint to talk to: real AWS, or a sandbox started for this run."""
    if args.policy and not args.sandbox:
        raise UsageError("--policy only applies to the sandbox: add --sandbox")
    profiles = [p.strip() for p in (getattr(args, "profiles", None) or "").split(",") if p.strip()]
    if profiles and args.profile:
        raise UsageError("give either --profile or --profiles, not both")
    if args.sandbox:
        if args.profile or profiles or args.endpoint_url:
            raise UsageError(
                "--sandbox brings its own identity and endpoint: drop --profile/--endpoint-url"
            )
        from awsprobe.errors import SandboxError
        from awsprobe.sandbox import Sandbox, load_policy

        try:
            policy = load_policy(args.policy) if args.policy else None
        except SandboxError as exc:  # a bad policy file is bad input
            raise UsageError(str(exc)) from exc
        with Sandbox(policy, region=args.region or "us-east-1") as sandbox:
            sessions = _identities(args, [sandbox.session()], sandbox.endpoint_url)
            yield _Target(tuple(sessions), sandbox.endpoint_url, None, sandbox.region)
        return
    verify: bool | None = None
    if args.no_verify_ssl:
        verify = False
        _warn("TLS certificate verification is off (--no-verify-ssl)")
    if args.endpoint_url:
        parts = urlsplit(args.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"--endpoint-url {args.endpoint_url!r} is not a URL; use http(s)://host[:port]"
            )
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            _warn(f"{args.endpoint_url} is plain http: signed requests are sent in the clear")
    base = [_session(args, p) for p in profiles] if profiles else [_session(args)]
    sessions = _identities(args, base, args.endpoint_url)
    yield _Target(tuple(sessions), args.endpoint_url, verify, args.region)


def _check_save_path(path: str | None, flag: str = "--save") -> None:
    """Fail before probing when a result file cannot be written, so no probing is wasted."""
    if path is None:
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    if not directory.is_dir():
        raise UsageError(f"{flag} {path}: folder {directory} does not exist; create it first")
    if not os.access(directory, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{flag} {path}: not writable; choose another path")


def _processes(text: str) -> int | str:
    """``--processes``: a number of processes or ``auto`` (argparse reports a ValueError)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, not {text!r}") from None


def _check_workers(workers: int | None, processes: int | str = "auto") -> None:
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}")
    from awsprobe.parallel import check_processes

    check_processes(processes, "--processes")


def _outcomes(values: Sequence[str] | None) -> list[Outcome] | None:
    if not values:
        return None
    chosen: list[Outcome] = []
    for raw in values:
        for part in raw.split(","):
            name = part.strip().lower().replace("-", "_")
            if not name:
                continue
            try:
                chosen.append(Outcome(name))
            except ValueError:
                valid = ", ".join(o.value for o in Outcome)
                raise UsageError(f"--only {part!r}: choose from {valid}") from None
    return chosen or None


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and the run is long."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        if not self.shown and time.monotonic() - self.started < 1.0:
            return
        width = 30
        filled = int(width * done / total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} probes")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()
            self.shown = False


def _use_color(args: argparse.Namespace, out: TextIO) -> bool:
    if args.color is not None:
        return bool(args.color)
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def _unicode(out: TextIO) -> bool:
    return (getattr(out, "encoding", "") or "").lower().replace("-", "").startswith("utf")


def _resources(args: argparse.Namespace) -> dict[str, list[str]] | None:
    if not args.resources:
        return None
    from awsprobe.discover import load_resources

    return load_resources(args.resources)


def _probe(
    args: argparse.Namespace,
    target: _Target,
    catalog: Catalog,
    regions: Any,
    resources: dict[str, list[str]] | None = None,
) -> tuple[Matrix, AwsprobeError | None]:
    """Run the probe with a progress bar: (matrix, what stopped it early or None).

    An interruption (:class:`ProbeInterrupted`), expired credentials
    (:class:`CredentialsExpired`) or a failed worker process
    (:class:`WorkerFailed`) still return the results gathered so far.
    """
    if args.discover < 0:
        raise UsageError(f"--discover takes a positive number, not {args.discover}")
    progress = _Progress(sys.stderr)
    try:
        result = probe(
            catalog=catalog,
            regions=regions,
            sessions=target.sessions,
            workers=args.workers,
            processes=args.processes,
            endpoint_url=target.endpoint_url,
            verify=target.verify,
            progress=progress,
            decode=args.decode,
            resources=resources,
            discover=args.discover,
        )
    except (ProbeInterrupted, CredentialsExpired, WorkerFailed) as stopped:
        progress.close()
        return stopped.matrix, stopped
    progress.close()
    return result, None


def _stopped(stop: AwsprobeError, save: str | None) -> int:
    """One line for a run that stopped early; its exit code."""
    saved = f"; partial results saved to {save}" if save else ""
    if isinstance(stop, CredentialsExpired):
        print(f"awsprobe: {' '.join(str(stop).split())}{saved}", file=sys.stderr)
        return EXIT_CREDENTIALS
    if isinstance(stop, WorkerFailed):
        print(f"awsprobe: {' '.join(str(stop).split())}{saved}", file=sys.stderr)
        return EXIT_FAILED
    print(f"awsprobe: interrupted{saved}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _report_warnings(matrix: Matrix) -> None:
    for warning in matrix.warnings:
        _warn(warning)
    ignored = matrix.summary[Outcome.DRY_RUN_IGNORED.value]
    if ignored:
        print(
            f"awsprobe: WARNING: {ignored} probes were answered as if they ran: the service "
            "ignored the dry-run flag and may have performed the call (see above)",
            file=sys.stderr,
        )


# -- commands ----------------------------------------------------------------------


def _cmd_matrix(args: argparse.Namespace, out: TextIO) -> int:
    _check_workers(args.workers, args.processes)
    only = _outcomes(args.only)
    _check_save_path(args.save)
    baseline = Matrix.load(args.baseline) if args.baseline else None
    resources = _resources(args)
    catalog = load_catalog(args.services, args.actions, args.access_level)
    with _target(args) as target:
        matrix, stop = _probe(args, target, catalog, args.regions, resources)
    if args.save:
        matrix.save(args.save)
    _report_warnings(matrix)
    out.write(
        render(
            matrix,
            args.output,
            layout=args.layout,
            only=only,
            unicode=_unicode(out),
            color=_use_color(args, out),
        )
    )
    if stop is not None:
        return _stopped(stop, args.save)
    if baseline is not None:
        drift = diff(baseline, matrix)
        if drift.differs:
            print(f"awsprobe: drift from baseline {args.baseline}:", file=sys.stderr)
            for line in drift.lines():
                print(f"  {line}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def _cmd_catalog(args: argparse.Namespace, out: TextIO) -> int:
    entries = load_catalog(
        services=args.services,
        actions=args.actions,
        access_levels=args.access_level,
        include_unprobed=args.all,
    )
    if args.output == "json":
        # One write of the whole text: json.dump writes each of its ~57,000 chunks separately (EC2).
        out.write(json.dumps([e.to_json() for e in entries], indent=2) + "\n")
        return EXIT_OK
    headers = ("action", "access level", "probed", "reason")
    rows = [
        (e.action, e.access_level.value, "yes" if e.probe else "no", e.reason or "")
        for e in entries
    ]
    if args.output == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("action", "service", "operation", "access_level", "probe", "reason"))
        for e in entries:
            writer.writerow(
                (e.action, e.service, e.operation, e.access_level.value, e.probe, e.reason or "")
            )
        return EXIT_OK
    if args.output == "html":
        out.write(tabulated(rows, headers=headers, tablefmt="html") + "\n")
        return EXIT_OK
    fmt = "github" if args.output == "markdown" else "simple"
    out.write(tabulated(rows, headers=headers, tablefmt=fmt) + "\n")
    probed = sum(1 for e in entries if e.probe)
    out.write(f"\n{len(entries)} operations, {probed} probed\n")
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    old = Matrix.load(args.old)
    new = Matrix.load(args.new)
    drift: Drift = diff(old, new)
    if args.output == "json":
        out.write(json.dumps({"differs": drift.differs, **drift.to_json()}, indent=2) + "\n")
    else:
        out.write("\n".join(drift.lines()) + "\n")
    return EXIT_FAILED if drift.differs else EXIT_OK


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from awsprobe.expect import Expectations, check_matrix
    from awsprobe.runner import resolve_regions

    _check_workers(args.workers, args.processes)
    _check_save_path(args.save)
    expectations = Expectations.load(args.expectations)
    resources = _resources(args)
    with _target(args) as target:
        default = resolve_regions(args.regions, target.session, endpoint_url=target.endpoint_url)
        pairs = expectations.expand(default)
        regions = expectations.regions_needed(default)
        catalog = Catalog(dict.fromkeys(entry for _, entry, _ in pairs))
        matrix, stop = _probe(args, target, catalog, list(regions), resources)
    if args.save:
        matrix.save(args.save)
    _report_warnings(matrix)
    if stop is not None:
        return _stopped(stop, args.save)
    report = check_matrix(expectations, matrix, pairs)
    if args.output == "json":
        data = {
            "ok": report.ok,
            "checked": report.checked,
            "identity": matrix.identity.to_json(),
            "unmet": [_unmet_json(u) for u in report.unmet],
            "skipped": [_unmet_json(u) for u in report.skipped],
        }
        out.write(json.dumps(data, indent=2) + "\n")
    else:
        for unmet in report.unmet:
            out.write(f"UNMET  {unmet.line}\n")
            if unmet.result.decoded is not None:
                out.write(f"       why: {unmet.result.decoded.line}\n")
            elif unmet.result.reason:
                out.write(f"       why: {unmet.result.reason}\n")
        for skipped in report.skipped:
            out.write(f"SKIP   {skipped.line} (strict = false)\n")
        verdict = "all met" if report.ok else f"{len(report.unmet)} unmet"
        out.write(f"{report.checked} expectations checked for {matrix.identity.arn}: {verdict}\n")
    return EXIT_OK if report.ok else EXIT_FAILED


def _unmet_json(unmet: Any) -> dict[str, Any]:
    return {
        "action": unmet.result.action,
        "region": unmet.result.region,
        "expected": unmet.expectation.expected.value,
        "pattern": unmet.expectation.pattern,
        "outcome": unmet.result.outcome.value,
        "code": unmet.result.code,
    }


def _cmd_decode(args: argparse.Namespace, out: TextIO) -> int:
    from awsprobe.decode import decode_authorization_message

    given = args.encoded_message if args.encoded_message is not None else args.message
    if given is None or (args.message is not None and args.encoded_message is not None):
        raise UsageError(
            "decode needs exactly one encoded message: give it as MESSAGE, as "
            "--encoded-message=MESSAGE, or '-' to read stdin"
        )
    message = sys.stdin.read() if given == "-" else given
    with _target(args) as target:
        explanation, raw = decode_authorization_message(
            message.strip(),
            target.session,
            region=target.region,
            endpoint_url=target.endpoint_url,
        )
    if args.output == "json":
        try:
            out.write(json.dumps(json.loads(raw), indent=2) + "\n")
        except ValueError:
            out.write(raw + "\n")
        return EXIT_OK
    verdict = (
        "explicit deny" if explanation.explicit_deny else "implicit deny (no policy allows it)"
    )
    lines = [
        f"verdict:    {verdict}",
        f"action:     {explanation.denied_action or '(not stated)'}",
        f"resource:   {explanation.resource or '(not stated)'}",
        f"principal:  {explanation.principal or '(not stated)'}",
    ]
    for sid, effect in explanation.matched_statements:
        lines.append(f"statement:  {sid or '(no Sid)'} ({(effect or '?').lower()})")
    for key, values in explanation.conditions:
        lines.append(f"condition:  {key} = {', '.join(values)}")
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


def _cmd_whoami(args: argparse.Namespace, out: TextIO) -> int:
    from awsprobe.identity import whoami

    if args.assume_role and len(args.assume_role) > 1:
        raise UsageError("whoami takes one --assume-role")
    with _target(args) as target:
        who = whoami(
            target.session,
            endpoint_url=target.endpoint_url,
            region=target.region,
            imds=not args.no_imds,
        )
    if args.output == "json":
        out.write(json.dumps(who.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write("\n".join(who.to_lines()) + "\n")
    for warning in who.warnings:
        _warn(warning.message)
    return EXIT_OK


def _cmd_session(args: argparse.Namespace, out: TextIO) -> int:
    from awsprobe.identity import session_exports, session_json

    if not args.mfa_serial and not args.assume_role:
        raise UsageError("session needs --mfa-serial ARN (with --mfa-code) or --assume-role ARN")
    if args.assume_role and len(args.assume_role) > 1:
        raise UsageError("session takes one --assume-role")
    with _target(args) as target:
        if args.output == "json":
            out.write(json.dumps(session_json(target.session), indent=2) + "\n")
        else:
            out.write("\n".join(session_exports(target.session)) + "\n")
    return EXIT_OK


# -- entry points ----------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run like Ctrl-C: partial results kept, exit 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (never calls ``sys.exit``)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return _main_logged(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main_logged(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main_logged(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    if not debug:
        return _main(args_list, debug)
    from awsprobe.identity import install_redaction

    # --debug: the CLI (never the library) logs everything to stderr, secrets redacted
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    uninstall = install_redaction()
    try:
        return _main(args_list, debug)
    finally:
        uninstall()
        root.removeHandler(handler)
        root.setLevel(level)


# An encoded authorization message is base64url text, so one in ten starts with '-' and
# argparse would take it for an option; such a token after 'decode' is the message.
_DASHED_MESSAGE = re.compile(r"-[A-Za-z0-9_-]{15,}")


def _shield_dashed_message(args_list: list[str]) -> list[str]:
    if "decode" not in args_list:
        return args_list
    start = args_list.index("decode") + 1
    return args_list[:start] + [
        f"--encoded-message={token}" if _DASHED_MESSAGE.fullmatch(token) else token
        for token in args_list[start:]
    ]


def _main(args_list: list[str], debug: bool) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(_shield_dashed_message(args_list))
        if getattr(args, "handler", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        code: int = args.handler(args, sys.stdout)
        return code
    except _Done as done:
        return done.status
    except KeyboardInterrupt:
        print("awsprobe: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CredentialsError as exc:
        _report(exc, debug)
        return EXIT_CREDENTIALS
    except (UsageError, SchemaError) as exc:
        _report(exc, debug)
        return EXIT_BAD_INPUT
    except AwsprobeError as exc:
        _report(exc, debug)
        return EXIT_FAILED
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        return EXIT_OK


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        logging.getLogger("awsprobe").exception("awsprobe failed")
    message = " ".join(str(exc).split())
    print(f"awsprobe: {message}", file=sys.stderr)


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
