"""Region names are checked against botocore's endpoint data, read once per botocore.

Reading that data costs ~75 ms of every run, so the names are kept in the cache
directory in a file named after the botocore version (and its data path): the same
names, read back, and a file that cannot be read is never trusted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest

from awsprobe.errors import UsageError
from awsprobe.probing.regions import resolve_regions


def _botocore_regions() -> set[str]:
    core = botocore.session.get_session()
    names: set[str] = set()
    for partition in core.get_available_partitions():
        names.update(core.get_available_regions("ec2", partition_name=partition))
    return names


class _Counting:
    """Counts botocore's own region lookups made through one session."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.session = botocore.session.get_session()
        self.calls = 0
        real = self.session.get_available_regions

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(self.session, "get_available_regions", counted)


def _cached(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob(f"regions-botocore-{botocore.__version__}-*.json"))


def test_the_names_are_read_from_botocore_once_then_from_the_cache(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first check reads botocore's data and writes every name it knows; the next
    reads the file only, and answers the same."""
    first = _Counting(monkeypatch)
    assert resolve_regions(["eu-west-1"], first.session) == ("eu-west-1",)
    assert first.calls >= 1
    (path,) = _cached(cache_dir)
    assert set(json.loads(path.read_text(encoding="utf-8"))) == _botocore_regions()
    again = _Counting(monkeypatch)
    assert resolve_regions(["us-gov-west-1", "eu-west-1"], again.session) == (
        "us-gov-west-1",
        "eu-west-1",
    )
    assert again.calls == 0
    with pytest.raises(UsageError, match="unknown region 'eu-west-9'"):
        resolve_regions(["eu-west-9"], again.session)
    assert again.calls == 0


@pytest.mark.parametrize("content", ["", "{", "[]", '{"us-east-1": 1}', "[1, 2]"])
def test_a_cache_file_that_is_not_a_list_of_names_is_read_again_from_botocore(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    """A truncated or foreign file is not trusted (an empty list would refuse every
    region): botocore's data is read and the file rewritten."""
    resolve_regions(["eu-west-1"], botocore.session.get_session())
    (path,) = _cached(cache_dir)
    path.write_text(content, encoding="utf-8")
    counting = _Counting(monkeypatch)
    assert resolve_regions(["eu-west-1"], counting.session) == ("eu-west-1",)
    assert counting.calls >= 1
    assert set(json.loads(path.read_text(encoding="utf-8"))) == _botocore_regions()


def test_a_cache_directory_that_cannot_be_written_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only home: the names come from botocore each time, and nothing fails."""
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(blocked / "cache"))
    assert resolve_regions(["eu-west-1"], botocore.session.get_session()) == ("eu-west-1",)


def test_another_data_path_has_its_own_file(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``AWS_DATA_PATH`` may hold endpoint data that adds regions: its names are kept
    apart from the installed botocore's."""
    resolve_regions(["eu-west-1"], botocore.session.get_session())
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    resolve_regions(["eu-west-1"], botocore.session.get_session())
    names = [p.name for p in _cached(cache_dir)]
    assert len(names) == 2
    assert any(n.endswith("-default.json") for n in names)
