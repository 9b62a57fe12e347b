"""Writing files so that a reader never sees half of one.

A leaf: it imports nothing of awsprobe. :func:`write_atomic` writes the bytes
to a temporary file beside the target, flushes them to disk and renames the
temporary file over the target (``os.replace``, atomic on one filesystem), so
the path holds the old content or the new, never a mix. On any failure --
an ``OSError``, an exception while writing or syncing, Ctrl-C -- the
temporary file is removed, the target is left as it was, and the exception
goes on to the caller.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "write_atomic", "write_cache"]


def cache_dir() -> Path:
    """Where awsprobe keeps what it derives from the installed botocore (the dry-run index,
    catalogs, region names), each file named after the botocore version it came from:
    ``$AWSPROBE_CACHE_DIR``, else ``$XDG_CACHE_HOME/awsprobe``, else ``~/.cache/awsprobe``."""
    explicit = os.environ.get("AWSPROBE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "awsprobe"


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` in one step.

    The temporary file is created in the target's directory (so the rename
    stays on one filesystem), hidden, and named after the target. The
    directory must exist.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_cache(path: Path, data: bytes) -> OSError | None:
    """Write a cache file atomically, its directory made if need be; the error when it
    could not be written (a read-only home only costs a rebuild next time), else None."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as exc:
        return exc
    return None
