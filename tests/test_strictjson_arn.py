"""The two small parsers every room shares: strict JSON and ARNs."""

from __future__ import annotations

import json

import pytest

from awsprobe import strictjson
from awsprobe.arn import Arn, parse_arn


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"DryRun": false, "DryRun": true}', "DryRun"),
        ('{"a": {"b": 1, "b": 2}}', "b"),
        ('[{"x": 1}, {"y": 1, "y": 1}]', "y"),
    ],
)
def test_a_repeated_key_anywhere_is_refused_and_named(text: str, key: str) -> None:
    """A key repeated in one object, at any depth, raises a ValueError naming it."""
    with pytest.raises(ValueError, match="appears twice in one object") as caught:
        strictjson.loads(text)
    assert strictjson.repeated_key(caught.value) == key


def test_unique_keys_load_as_json_does() -> None:
    """Without repeats, strict loading is json.loads: same value, same key order."""
    text = '{"b": [1, {"c": null}], "a": true, "B": 2}'
    assert strictjson.loads(text) == json.loads(text)
    assert list(strictjson.loads(text)) == ["b", "a", "B"]
    assert strictjson.loads(b'{"k": 1}') == {"k": 1}


def test_malformed_json_is_still_a_decode_error() -> None:
    """Syntax errors stay json.JSONDecodeError (with line and column)."""
    with pytest.raises(json.JSONDecodeError) as caught:
        strictjson.loads('{"a": }')
    assert strictjson.repeated_key(caught.value) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "arn:aws:iam::123456789012:user/path/alice",
            Arn("aws", "iam", "", "123456789012", "user/path/alice"),
        ),
        (
            "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc",
            Arn("aws-cn", "ec2", "cn-north-1", "123456789012", "instance/i-0abc"),
        ),
        (
            "arn:aws:sns:us-east-1:123456789012:topic:sub:with:colons",
            Arn("aws", "sns", "us-east-1", "123456789012", "topic:sub:with:colons"),
        ),
        ("arn:aws:s3:::bucket", Arn("aws", "s3", "", "", "bucket")),
        ("not-an-arn", None),
        ("arn:aws:iam::123456789012", None),  # five parts
        ("ARN:aws:iam::123456789012:root", None),  # the prefix is lower case
        ("", None),
    ],
)
def test_parse_arn_takes_six_parts_and_keeps_the_resource_whole(
    text: str, expected: Arn | None
) -> None:
    """Six colon-separated parts, 'arn' first; the resource keeps its own colons."""
    parsed = parse_arn(text)
    assert parsed == expected
    if parsed is not None:
        assert str(parsed) == text
