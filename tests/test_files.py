"""One atomic write for every file awsprobe saves: the matrix, the dry-run index, the
catalog cache. Whatever fails, and wherever, the old file stays and no temporary file
is left beside it; when nothing fails, the new file appears in one rename."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from awsprobe import catalog as catalog_mod
from awsprobe.catalog import dry_run_index, load_catalog
from awsprobe.classify import Outcome
from awsprobe.files import write_atomic
from awsprobe.matrix import Identity, Matrix, ProbeResult

OLD = b'{"old": "content"}\n'


def _matrix() -> Matrix:
    result = ProbeResult(
        action="ec2:RunInstances",
        service="ec2",
        operation="RunInstances",
        region="us-east-1",
        outcome=Outcome.ALLOWED,
        code="DryRunOperation",
        http_status=412,
        message="Request would have succeeded, but DryRun flag is set.",
        attempts=1,
        elapsed_ms=1.0,
    )
    identity = Identity(arn="arn:aws:iam::111122223333:user/x", account="111122223333", user_id="U")
    return Matrix(identity=identity, regions=("us-east-1",), results=(result,))


@pytest.fixture(scope="module")
def kms_entries() -> tuple[Any, ...]:
    return tuple(load_catalog(services="kms"))


#: The three places awsprobe writes a file: (name, writer, whether an OSError is swallowed).
#: The catalog files are caches (a failed write only costs a rebuild), the matrix is not.
Writer = Callable[[Path, tuple[Any, ...]], None]
WRITERS: list[tuple[str, Writer, bool]] = [
    ("write_atomic", lambda path, _: write_atomic(path, b'{"new": 1}'), False),
    ("matrix", lambda path, _: _matrix().save(path), False),
    ("index", lambda path, _: catalog_mod._write_index(path, dry_run_index()), True),
    (
        "entries",
        lambda path, kms: catalog_mod._write_entries(path, {"service": "kms"}, kms),
        True,
    ),
]


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """An existing file (the previous save) alone in its directory."""
    path = tmp_path / "saved.json"
    path.write_bytes(OLD)
    return path


def _in(directory: Path, fd: int) -> bool:
    """Whether file descriptor ``fd`` is a file in ``directory`` (so other writes pass)."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}")).parent == directory
    except OSError:
        return False


def _inject(monkeypatch: pytest.MonkeyPatch, step: str, directory: Path) -> type[BaseException]:
    """Make ``step`` fail for files in ``directory``; the exception type it raises."""
    real_write, real_fsync = os.write, os.fsync

    if step == "write: disk full":

        def write(fd: int, data: Any) -> int:
            if _in(directory, fd):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", write)
        return OSError
    if step == "write: Ctrl-C half-way":
        calls: list[int] = []

        def half(fd: int, data: Any) -> int:
            if not _in(directory, fd):
                return real_write(fd, data)
            calls.append(fd)
            if len(calls) > 1:
                raise KeyboardInterrupt
            return real_write(fd, bytes(data)[: max(1, len(data) // 2)])

        monkeypatch.setattr(os, "write", half)
        return KeyboardInterrupt
    if step == "fsync":

        def fsync(fd: int) -> None:
            if _in(directory, fd):
                raise OSError(errno.EIO, "Input/output error")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        return OSError
    if step in ("replace", "replace: Ctrl-C"):
        error = OSError(errno.EXDEV, "Invalid cross-device link")
        raised: BaseException = KeyboardInterrupt() if step == "replace: Ctrl-C" else error

        def replace(src: Any, dst: Any) -> None:
            raise raised

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "rename", replace)
        return type(raised)
    assert step == "json encoding"

    def dumps(*_: Any, **__: Any) -> str:
        raise ValueError("Circular reference detected")

    monkeypatch.setattr(json, "dumps", dumps)
    return ValueError


STEPS = ["write: disk full", "write: Ctrl-C half-way", "fsync", "replace", "replace: Ctrl-C"]


FAILURES = [
    pytest.param(name, writer, swallows, step, id=f"{name}-{step}")
    for name, writer, swallows in WRITERS
    for step in [*STEPS, *([] if name == "write_atomic" else ["json encoding"])]
]


@pytest.mark.parametrize(("name", "writer", "swallows_oserror", "step"), FAILURES)
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
    target: Path,
    kms_entries: tuple[Any, ...],
    name: str,
    writer: Writer,
    swallows_oserror: bool,
    step: str,
) -> None:
    """An injected failure at each step (writing, syncing, renaming, encoding the JSON):
    the previous file is byte for byte intact and the directory holds only it. The
    error reaches the caller, except an OSError while caching the catalog (logged).
    write_atomic itself takes bytes, so only its callers can fail to encode."""
    dry_run_index()  # built before the injection, so only the write under test can fail
    raised = _inject(monkeypatch, step, target.parent)
    if raised is OSError and swallows_oserror:
        writer(target, kms_entries)
    else:
        with pytest.raises(raised):
            writer(target, kms_entries)
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


@pytest.mark.parametrize(
    ("name", "writer", "swallows_oserror"), WRITERS, ids=[name for name, _, _ in WRITERS]
)
def test_a_successful_write_replaces_the_file_in_one_rename(
    monkeypatch: pytest.MonkeyPatch,
    target: Path,
    kms_entries: tuple[Any, ...],
    name: str,
    writer: Writer,
    swallows_oserror: bool,
) -> None:
    """The new content is written to a hidden file beside the target and renamed over it
    once: a new file (inode), never the old one rewritten in place; nothing else is left."""
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    dry_run_index()
    before = target.stat().st_ino
    monkeypatch.setattr(os, "replace", spy)
    writer(target, kms_entries)
    monkeypatch.undo()
    ((src, dst),) = renames
    assert dst == target
    assert src.parent == target.parent
    assert src.name.startswith(".")
    assert target.stat().st_ino != before
    assert target.read_bytes() != OLD
    json.loads(target.read_bytes())
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_short_writes_are_continued_until_every_byte_is_written(
    monkeypatch: pytest.MonkeyPatch, target: Path
) -> None:
    """os.write may write fewer bytes than asked (POSIX write(2)): the rest follows."""
    real_write = os.write

    def trickle(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data)[:7]) if _in(target.parent, fd) else real_write(fd, data)

    monkeypatch.setattr(os, "write", trickle)
    data = bytes(range(256)) * 40
    write_atomic(target, data)
    monkeypatch.undo()
    assert target.read_bytes() == data


def test_a_new_file_is_created_and_a_relative_path_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No previous file: the target appears; a bare file name writes in the working dir."""
    monkeypatch.chdir(tmp_path)
    write_atomic("plain.json", b"{}")
    assert (tmp_path / "plain.json").read_bytes() == b"{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.json"]


def test_a_missing_directory_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    """write_atomic does not create directories: the caller decides (the catalog does)."""
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "absent" / "m.json", b"{}")
    assert list(tmp_path.iterdir()) == []
