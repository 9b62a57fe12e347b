"""The ``awsprobe`` command line: a thin layer over the library.

Every subcommand takes the common options after its name (``--output``,
``--debug``, ``--color/--no-color``, and where AWS is called ``--profile``,
``--region``, ``--endpoint-url``, ``--no-verify-ssl``, ``--sandbox``,
``--policy``), as the AWS CLI accepts its global options.

The options and their help are declared in :mod:`awsprobe.cli_parser`; each
``_cmd_*`` function here turns them into library arguments, calls the library,
writes what :mod:`awsprobe.report` renders, and returns an exit code.

Exit codes: 0 success; 1 drift, an unmet expectation or a request not allowed;
2 bad input; 3 no usable credentials; 130 interrupted.
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from awsprobe.catalog import Catalog, CatalogEntry, load_catalog
from awsprobe.cli_parser import build_parser, parse
from awsprobe.compare import diff
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
from awsprobe.model import ErrorKind, Outcome
from awsprobe.probing.options import DEFAULT_WORKERS, check_concurrency
from awsprobe.probing.orchestrate import probe
from awsprobe.probing.regions import ALL_REGIONS
from awsprobe.probing.selection import Selection
from awsprobe.report import (
    drift_lines,
    render,
    render_catalog,
    render_check,
    render_decode,
    render_drift,
    render_request,
)

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


def _is_loopback(host: str) -> bool:
    """Only a real loopback address (or ``localhost``) counts: not ``127.0.0.1.nip.io``."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _build_parser() -> argparse.ArgumentParser:
    return build_parser(default_workers=DEFAULT_WORKERS)


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
    if getattr(args, "scp", None) and not args.sandbox:
        raise UsageError("--scp only applies to the sandbox: add --sandbox")
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
        from awsprobe.sandbox.policy import load_scp, validate_scps

        try:
            policy = load_policy(args.policy) if args.policy else None
            scps = validate_scps([load_scp(path) for path in getattr(args, "scp", None) or ()])
        except SandboxError as exc:  # a bad policy or SCP file is bad input
            raise UsageError(str(exc)) from exc
        with Sandbox(policy, region=args.region or "us-east-1", scps=scps) as sandbox:
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


def _check_workers(workers: int | None, processes: int | str = "auto") -> None:
    check_concurrency(workers, processes, workers_name="--workers", processes_name="--processes")


def _names(text: str | None) -> list[str] | None:
    """``--services`` / ``--access-level``: comma-separated names."""
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()] or None


def _regions(text: str | None) -> list[str] | str | None:
    """``--regions``: comma-separated names, or ``all`` (any case) for every enabled region."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if [name.lower() for name in names] == ["all"]:
        return ALL_REGIONS
    return names or None


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
    selection: Selection | None = None,
) -> tuple[Matrix, AwsprobeError | None]:
    """Run the probe with a progress bar: (matrix, what stopped it early or None).

    ``selection`` (``--simulate``) replaces ``catalog``: the dry runs and the actions the
    policy simulator answers.

    An interruption (:class:`ProbeInterrupted`), expired credentials
    (:class:`CredentialsExpired`) or a failed worker process
    (:class:`WorkerFailed`) still return the results gathered so far.
    """
    if args.discover < 0:
        raise UsageError(f"--discover takes a positive number, not {args.discover}")
    progress = _Progress(sys.stderr)
    simulating = getattr(args, "simulate", False)
    try:
        result = probe(
            catalog=catalog if selection is None else None,
            selection=selection,
            simulate=simulating,
            cross_check=getattr(args, "cross_check", False),
            simulate_principal=getattr(args, "simulate_principal", None),
            resource_arns=_resource_arns(resources) if simulating else None,
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


def _resource_arns(resources: dict[str, list[str]] | None) -> list[str]:
    """``--resources`` ids that are ARNs: what ``--simulate`` simulates each service against."""
    from awsprobe.arn import parse_arn

    ids = [i for values in (resources or {}).values() for i in values]
    return list(dict.fromkeys(i for i in ids if parse_arn(i) is not None))


def _check_simulate(args: argparse.Namespace) -> None:
    """``--simulate-principal`` needs the simulator, and must be a user, group or role ARN."""
    if args.simulate_principal is None:
        return
    if not (args.simulate or args.cross_check):
        raise UsageError("--simulate-principal needs --simulate or --cross-check")
    from awsprobe.probing.simulate import principal_for

    principal_for("", args.simulate_principal)


def _selection(args: argparse.Namespace) -> tuple[Catalog, Selection | None]:
    """What ``matrix`` probes: the catalog, or with ``--simulate`` the wider selection.

    Without ``--simulate``, a name or glob that only the reference knows says to add it.
    """
    from awsprobe.probing.selection import select, simulation_would_answer

    services, levels = _names(args.services), _names(args.access_level)
    if args.simulate:
        chosen = select(services, args.actions, levels)
        return chosen.catalog, chosen
    try:
        return load_catalog(services, args.actions, levels), None
    except UsageError as exc:
        if not simulation_would_answer(services, args.actions, levels):
            raise
        raise type(exc)(
            f"{exc}; add --simulate to answer the actions without a dry run with IAM's "
            "policy simulator"
        ) from None


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


def _nothing_probed(args: argparse.Namespace) -> Matrix:
    """The matrix of a run interrupted before it probed: no results, ``complete: false``."""
    regions = _regions(args.regions)
    return Matrix.nothing_probed(regions if isinstance(regions, list) else ())


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold Ctrl-C and SIGTERM until the block is done (a save is never cut in half); the
    list names the signals that came meanwhile."""
    import signal
    import threading

    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return

    def hold(signum: int, frame: Any) -> None:
        came.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield came
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _cmd_matrix(args: argparse.Namespace, out: TextIO) -> int:
    _check_workers(args.workers, args.processes)
    only = _outcomes(args.only)
    _check_save_path(args.save)
    baseline: Matrix | None = None
    matrix: Matrix | None = None
    stop: AwsprobeError | None = None
    try:  # Ctrl-C from here on still saves a matrix (with no results before any probe)
        baseline = Matrix.load(args.baseline) if args.baseline else None
        resources = _resources(args)
        _check_simulate(args)
        catalog, selection = _selection(args)
        with _target(args) as target:
            matrix, stop = _probe(
                args, target, catalog, _regions(args.regions), resources, selection
            )
    except KeyboardInterrupt as interrupt:  # before probing (catalog, identity), or after
        if isinstance(interrupt, ProbeInterrupted):
            matrix = interrupt.matrix
        matrix = matrix if matrix is not None else _nothing_probed(args)
        stop = ProbeInterrupted(matrix)
    if args.save:
        with _signals_held() as came:
            matrix.save(args.save)
        if came and stop is None:
            stop = ProbeInterrupted(matrix)
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
            for line in drift_lines(drift):
                print(f"  {line}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def _cmd_catalog(args: argparse.Namespace, out: TextIO) -> int:
    entries = load_catalog(
        services=_names(args.services),
        actions=args.actions,
        access_levels=_names(args.access_level),
        include_unprobed=args.all,
    )
    # one write of the whole text (json.dump would write EC2's ~57,000 chunks one by one)
    out.write(render_catalog(entries, args.output))
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    old = Matrix.load(args.old)
    new = Matrix.load(args.new)
    drift = diff(old, new)
    out.write(render_drift(drift, args.output))
    return EXIT_FAILED if drift.differs else EXIT_OK


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from awsprobe.expect import Expectation, Expectations, check_matrix, probe_requests
    from awsprobe.probing.regions import resolve_regions
    from awsprobe.probing.selection import ReferenceAction

    _check_workers(args.workers, args.processes)
    _check_save_path(args.save)
    expectations = Expectations.load(args.expectations)
    resources = _resources(args)
    _check_simulate(args)
    with _target(args) as target:
        default = resolve_regions(
            _regions(args.regions), target.session, endpoint_url=target.endpoint_url
        )
        pairs: Sequence[tuple[Expectation, CatalogEntry | ReferenceAction, str]]
        if args.simulate:
            pairs = expectations.expand_simulated(default)
        else:
            pairs = expectations.expand(default)
        regions = expectations.regions_needed(default)
        chosen = list(dict.fromkeys(entry for _, entry, _ in pairs))
        catalog = Catalog(e for e in chosen if isinstance(e, CatalogEntry))
        selection = Selection(catalog, tuple(e for e in chosen if isinstance(e, ReferenceAction)))
        matrix, stop = _probe(args, target, catalog, list(regions), resources, selection)
        requests = (
            probe_requests(
                expectations,
                target.session,
                endpoint_url=target.endpoint_url,
                verify=target.verify,
                regions=default,
            )
            if stop is None
            else []
        )
    if args.save:
        matrix.save(args.save)
    _report_warnings(matrix)
    if stop is not None:
        return _stopped(stop, args.save)
    report = check_matrix(expectations, matrix, pairs, requests)
    out.write(render_check(report, matrix.identity, args.output))
    return EXIT_OK if report.ok else EXIT_FAILED


def _request_params(text: str) -> dict[str, Any]:
    """``--params``: a JSON object, or ``@FILE`` holding one (a repeated key is an error)."""
    from awsprobe import strictjson

    where = "--params"
    if text.startswith("@"):
        where = f"--params {text}"
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{where}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{where}: cannot read it as text ({exc})") from None
    try:
        value = strictjson.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"{where}: not valid JSON ({exc}); give an object such as "
            '\'{"MinCount": 1, "MaxCount": 1}\' or @FILE'
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: give a JSON object of parameter names and values")
    return value


def _cmd_request(args: argparse.Namespace, out: TextIO) -> int:
    from awsprobe.probing.request import probe_request

    if args.assume_role and len(args.assume_role) > 1:
        raise UsageError("request takes one --assume-role")
    params = _request_params(args.params)
    with _target(args) as target:
        result = probe_request(
            args.action,
            params,
            region=target.region,
            session=target.session,
            endpoint_url=target.endpoint_url,
            verify=target.verify,
        )
    out.write(render_request(result, args.output))
    if result.outcome is Outcome.DRY_RUN_IGNORED:
        print(
            "awsprobe: WARNING: the request was answered as if it ran: the service ignored "
            "the dry-run flag and may have performed the call",
            file=sys.stderr,
        )
    if result.outcome is Outcome.ALLOWED:
        return EXIT_OK
    return EXIT_CREDENTIALS if result.error_kind is ErrorKind.CREDENTIALS else EXIT_FAILED


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
    out.write(render_decode(explanation, raw, args.output))
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


#: Each subcommand's function: (parsed arguments, stdout) -> exit code.
_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "matrix": _cmd_matrix,
    "catalog": _cmd_catalog,
    "diff": _cmd_diff,
    "check": _cmd_check,
    "request": _cmd_request,
    "decode": _cmd_decode,
    "whoami": _cmd_whoami,
    "session": _cmd_session,
}


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
    from awsprobe.redact import RedactSecrets

    # --debug: the CLI (never the library) shows these logger trees at DEBUG on stderr,
    # through its own handler, whose filter redacts every record it prints (traceback
    # included). While it runs, the trees stop propagating: the DEBUG records it turned on
    # (wire logs full of credentials) reach no other handler. The root logger is not touched.
    shown = ("awsprobe", "botocore", "boto3", "urllib3", "moto", "werkzeug")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    saved = [(logger, logger.level, logger.propagate) for logger in map(logging.getLogger, shown)]
    for logger, _, _ in saved:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    try:
        return _main(args_list, debug)
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


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
        args = parse(parser, _shield_dashed_message(args_list))
        if isinstance(args, int):  # --help, --version
            return args
        command = _COMMANDS.get(args.command or "")
        if command is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        return command(args, sys.stdout)
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
    """Console-script entry point (:mod:`awsprobe.entry` imports this module and calls it)."""
    code = main()
    # The process ends here: untrack what is left, so the interpreter's last collection
    # does not free ~40,000 cyclic objects (a botocore session and its EC2 model) one by
    # one, ~0.15 s of a 1.5 s run (benchmarks, figure 1w). atexit handlers still run.
    import gc

    gc.freeze()
    sys.exit(code)
