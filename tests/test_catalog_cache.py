"""The on-disk cache of built catalog entries: exact, self-invalidating, and optional."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import botocore
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awsprobe import catalog as catalog_mod
from awsprobe.catalog import CatalogEntry, dry_run_index, load_catalog
from awsprobe.cli import main
from awsprobe.tables import AccessLevel

_BUILD = catalog_mod._build_entries


def _strictly_equal(a: Any, b: Any) -> bool:
    """Equal, with the same type at every level and dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, _dt.datetime):
        return a == b and a.tzinfo is b.tzinfo
    return bool(a == b)


def _assert_same_entries(built: tuple[CatalogEntry, ...], cached: tuple[CatalogEntry, ...]) -> None:
    assert [e.operation for e in cached] == [e.operation for e in built]
    for fresh, loaded in zip(built, cached, strict=True):
        assert loaded == fresh
        for name in CatalogEntry.__dataclass_fields__:  # params too, which == skips
            assert _strictly_equal(getattr(loaded, name), getattr(fresh, name)), (
                fresh.action,
                name,
            )


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services whose entries were built from their botocore model (not read from disk)."""
    built: list[str] = []

    def counting(
        svc: catalog_mod.ServiceIndex, raw: Mapping[str, Any] | None = None
    ) -> tuple[CatalogEntry, ...]:
        built.append(svc.service)
        return _BUILD(svc, raw)

    monkeypatch.setattr(catalog_mod, "_build_entries", counting)
    return built


def _load_again(service: str) -> tuple[CatalogEntry, ...]:
    catalog_mod._service_entries.cache_clear()
    return catalog_mod._service_entries(service)


def _cache_file(cache_dir: Path, service: str) -> Path:
    (path,) = cache_dir.glob(f"catalog-*-{service}-botocore-*.json")
    return path


@pytest.mark.parametrize("service", ["ec2", "kms"])
def test_cached_entries_equal_freshly_built_ones(
    service: str, cache_dir: Path, builds: list[str]
) -> None:
    """Entries read back from disk equal a fresh build field by field, params and types too."""
    written = catalog_mod._service_entries(service)
    assert builds == [service]
    cached = _load_again(service)
    assert builds == [service], "the second load must come from the cache file"
    fresh = _BUILD(dry_run_index()[service])
    _assert_same_entries(fresh, cached)
    _assert_same_entries(written, cached)
    assert all(type(e.access_level) is AccessLevel for e in cached)


def test_bytes_params_and_overrides_survive_the_cache(cache_dir: Path) -> None:
    """KMS Decrypt's curated ciphertext stays bytes and its modifiers stay a list."""
    catalog_mod._service_entries("kms")
    decrypt = next(e for e in _load_again("kms") if e.operation == "Decrypt")
    assert decrypt.params["CiphertextBlob"] == b"awsprobe-placeholder-ciphertext"
    assert decrypt.params["DryRunModifiers"] == ["IGNORE_CIPHERTEXT"]
    assert decrypt.placeholders == ("KeyId",)


def test_cli_json_is_identical_from_a_cold_and_a_warm_cache(
    cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`catalog --output json` prints the same bytes whether entries were built or read."""
    assert main(["catalog", "--services", "ec2,kms", "--all", "--output", "json"]) == 0
    cold = capsys.readouterr().out
    catalog_mod._service_entries.cache_clear()
    assert main(["catalog", "--services", "ec2,kms", "--all", "--output", "json"]) == 0
    assert capsys.readouterr().out == cold


def _corrupt(path: Path, how: str) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = raw["entries"]
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif how == "not json":
        path.write_text("{not json", encoding="utf-8")
    elif how == "a list":
        path.write_text("[]", encoding="utf-8")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        if how == "missing field":
            del rows[0]["action"]
        elif how == "wrong type":
            rows[0]["probe"] = "yes"
        elif how == "unknown access level":
            rows[0]["access_level"] = "admin"
        elif how == "unknown tag":
            rows[0]["params"]["X"] = {"\x00set": []}
        elif how == "bad base64":
            decrypt = next(r for r in rows if r["operation"] == "Decrypt")
            decrypt["params"]["CiphertextBlob"] = {"\x00bytes": "not base64!"}
        elif how == "older format":
            raw["key"]["format"] = 0
        path.write_text(json.dumps(raw), encoding="utf-8")


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "not json",
        "a list",
        "empty",
        "binary",
        "missing field",
        "wrong type",
        "unknown access level",
        "unknown tag",
        "bad base64",
        "older format",
    ],
)
def test_a_corrupt_cache_file_is_rebuilt_silently(
    how: str, cache_dir: Path, builds: list[str]
) -> None:
    """Whatever is wrong with the file, the entries are rebuilt (no error) and rewritten."""
    first = catalog_mod._service_entries("kms")
    path = _cache_file(cache_dir, "kms")
    _corrupt(path, how)
    _assert_same_entries(first, _load_again("kms"))
    assert builds == ["kms", "kms"]
    _assert_same_entries(first, _load_again("kms"))
    assert builds == ["kms", "kms"], "the rebuilt file is read on the next start"


@pytest.mark.parametrize(
    ("changed", "target", "name", "value"),
    [
        ("botocore version", botocore, "__version__", "0.0.0-other"),
        ("awsprobe version", catalog_mod, "__version__", "0.0.0-other"),
        ("table fingerprint", catalog_mod, "_shaping_fingerprint", lambda: "0" * 64),
    ],
)
def test_cached_entries_are_rebuilt_when_their_inputs_change(
    changed: str,
    target: object,
    name: str,
    value: object,
    cache_dir: Path,
    builds: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another botocore, another awsprobe or edited tables: the old entries are not used."""
    first = catalog_mod._service_entries("kms")
    monkeypatch.setattr(target, name, value)
    _assert_same_entries(first, _load_again("kms"))
    assert builds == ["kms", "kms"], changed
    _load_again("kms")
    assert builds == ["kms", "kms"], f"{changed}: the new key's file is then reused"


def test_editing_a_shaping_module_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fingerprint covers every module that shapes an entry: editing one invalidates."""
    shaping = ("tables.py", "params.py", "catalog.py", "reference.py")
    assert sorted(catalog_mod._SHAPING_MODULES) == sorted(shaping)
    source = Path(catalog_mod.__file__).parent
    for name in shaping:
        shutil.copy(source / name, tmp_path / name)
    monkeypatch.setattr(catalog_mod, "__file__", str(tmp_path / "catalog.py"))
    fingerprints = []
    try:
        for name in shaping:
            catalog_mod._shaping_fingerprint.cache_clear()
            fingerprints.append(catalog_mod._shaping_fingerprint())
            with (tmp_path / name).open("a", encoding="utf-8") as handle:
                handle.write("\n# edited\n")
        catalog_mod._shaping_fingerprint.cache_clear()
        fingerprints.append(catalog_mod._shaping_fingerprint())
    finally:
        catalog_mod._shaping_fingerprint.cache_clear()
    assert None not in fingerprints
    assert len(set(fingerprints)) == 5


def test_an_unwritable_cache_dir_still_gives_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builds: list[str]
) -> None:
    """When the cache cannot be written, entries are built in memory and nothing fails."""
    dry_run_index()
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(blocker / "cache"))  # mkdir fails, even as root
    catalog_mod._service_entries.cache_clear()
    try:
        kms = load_catalog(services="kms")
        assert {e.service for e in kms} == {"kms"}
        assert builds == ["kms"]
        assert list(tmp_path.iterdir()) == [blocker]
    finally:
        catalog_mod._service_entries.cache_clear()


def test_unreadable_source_means_no_caching_not_a_failure(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, builds: list[str]
) -> None:
    """Without awsprobe's source to fingerprint (a frozen build), entries are built each time."""
    monkeypatch.setattr(catalog_mod, "__file__", str(cache_dir / "nowhere" / "catalog.py"))
    catalog_mod._shaping_fingerprint.cache_clear()
    try:
        assert len(load_catalog(services="kms")) > 0
        _load_again("kms")
    finally:
        catalog_mod._shaping_fingerprint.cache_clear()
    assert builds == ["kms", "kms"]
    assert not list(cache_dir.glob("catalog-*"))


def test_a_warm_start_loads_no_botocore_model(cache_dir: Path) -> None:
    """With the cache filled, loading the EC2 catalog imports no model or loader code."""
    catalog_mod._write_index(catalog_mod._cache_path(), dry_run_index())
    catalog_mod._service_entries("ec2")
    code = (
        "import sys, awsprobe\n"
        "assert len(awsprobe.load_catalog(services='ec2')) > 700\n"
        "heavy = {'botocore.session', 'botocore.loaders', 'botocore.model', 'awsprobe.params'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AWSPROBE_CACHE_DIR": str(cache_dir)},
    )
    assert done.stdout.strip() == "[]"


# -- the lossless params encoding ------------------------------------------------------------

_UTC_TIMES = st.datetimes(timezones=st.just(_dt.UTC)) | st.datetimes()
_KEYS = st.text(max_size=8).filter(lambda k: not k.startswith("\x00"))
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.binary(max_size=12)
    | _UTC_TIMES
)
_PARAMS = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(deadline=None)  # hypothesis's 200 ms per example is a wall-time bound
@given(st.dictionaries(_KEYS, _PARAMS, max_size=4))
def test_params_round_trip_through_json_exactly(params: dict[str, Any]) -> None:
    """bytes, timestamps, tuples and lists come back as the same types and values."""
    text = json.dumps(catalog_mod._encode(params))
    assert _strictly_equal(catalog_mod._decode(json.loads(text)), params)


@pytest.mark.parametrize(
    "value",
    [
        {"Values": {1, 2}},
        {"Frozen": MappingProxyType({"a": 1})},
        {"Level": AccessLevel.READ},
        {"When": _dt.datetime(2030, 1, 1, tzinfo=_dt.timezone(_dt.timedelta(hours=1)))},
        {"\x00bytes": "looks like a tag"},
        {"Map": {1: "int key"}},
        {"Day": _dt.date(2030, 1, 1)},
    ],
    ids=["set", "mappingproxy", "enum", "offset tz", "tag-like key", "int key", "date"],
)
def test_values_json_cannot_return_make_a_service_uncacheable(
    value: dict[str, Any], cache_dir: Path
) -> None:
    """A value JSON would not give back unchanged is refused: such entries are never cached."""
    with pytest.raises(catalog_mod._Uncacheable):
        catalog_mod._encode(value)
    entry = load_catalog(services="kms")[0]
    odd = dataclasses.replace(entry, params=value)
    path = cache_dir / "odd.json"
    catalog_mod._write_entries(path, {"service": "kms"}, [odd])
    assert not path.exists()
