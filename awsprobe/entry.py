"""The ``awsprobe`` console script and ``python -m awsprobe``: Ctrl-C keeps its word from
the first line.

Importing the command line (botocore, the runner: about 0.2 s) is itself a moment a user
may press Ctrl-C in. The CLI's own handling (exit 130, ``--save`` writes what was
gathered) starts only once it is imported, so this module, which imports nothing heavy,
catches an interrupt that comes while it loads: exit 130 and, for ``matrix --save PATH``,
a valid matrix with no results (``complete: false``), as if the run had been interrupted
before its first probe.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

__all__ = ["main_entry"]

#: The shell's status for a process stopped by Ctrl-C (128 + SIGINT), as the CLI exits.
_INTERRUPTED = 128 + signal.SIGINT


def main_entry() -> None:
    """Import the CLI and run it; an interrupt during the import still exits 130."""
    try:
        from awsprobe.cli import main_entry as run
    except KeyboardInterrupt:
        sys.exit(interrupted_while_loading(sys.argv[1:]))
    run()


def interrupted_while_loading(argv: Sequence[str]) -> int:
    """Save an empty matrix when ``argv`` is ``matrix ... --save PATH``; the exit status."""
    # Held: a second Ctrl-C must not cut the save in half.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        saved = _save_nothing(argv)
    finally:
        signal.signal(signal.SIGINT, previous)
    where = f"; partial results saved to {saved}" if saved else ""
    print(f"awsprobe: interrupted{where}", file=sys.stderr)
    return _INTERRUPTED


def _save_nothing(argv: Sequence[str]) -> str | None:
    from awsprobe.cli_parser import build_parser, parse
    from awsprobe.errors import AwsprobeError
    from awsprobe.matrix import Matrix

    try:
        # the default number of workers only shapes --help's text
        args = parse(build_parser(default_workers=0), list(argv))
    except (AwsprobeError, SystemExit):
        return None
    if isinstance(args, int) or getattr(args, "command", None) != "matrix":
        return None
    path = getattr(args, "save", None)
    if not path:
        return None
    regions = [r for r in (getattr(args, "regions", None) or "").split(",") if r]
    try:
        Matrix.nothing_probed(r for r in regions if r != "all").save(path)
    except OSError:
        return None
    return str(path)
