"""Redaction is a leaf: ``awsprobe.redact`` needs nothing of awsprobe, and the classifier
that uses it loads neither identity nor boto3; what it masks and what it leaves alone.

The example credentials are AWS's own documentation examples (IAM User Guide, "Managing
access keys": ``AKIAIOSFODNN7EXAMPLE`` / ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``).
The parser text is botocore's: what ``botocore.parsers`` raises for an unclosed XML body
(``ResponseParserError``, wrapping ``xml.etree``'s "unclosed token: line 1, column 0").
"""

from __future__ import annotations

import ast
import io
import logging
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest
from botocore.parsers import ResponseParserError, create_parser

from awsprobe.classify import Answer
from awsprobe.redact import RedactSecrets, is_access_key_id, redact

ROOT = Path(__file__).resolve().parent.parent
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _loaded_after(statement: str) -> list[str]:
    """The awsprobe and boto3 modules a fresh interpreter holds after ``statement``."""
    probe = (
        f"import sys\n{statement}\n"
        "print('\\n'.join(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('awsprobe', 'boto3'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_redact_module_source_imports_nothing_of_awsprobe() -> None:
    """No import statement in redact.py (top level or inside a function) names awsprobe."""
    tree = ast.parse((ROOT / "awsprobe" / "redact.py").read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in a leaf module"
            imported.append(node.module or "")
    assert imported  # the walk saw the module's imports
    assert [name for name in imported if name.split(".")[0] == "awsprobe"] == []


def test_importing_redact_loads_no_other_awsprobe_module() -> None:
    """A fresh ``import awsprobe.redact`` loads only the lazy facade and redact itself."""
    loaded = _loaded_after("import awsprobe.redact")
    assert "awsprobe.redact" in loaded
    assert set(loaded) <= {"awsprobe", "awsprobe._version", "awsprobe.redact"}


def test_importing_the_classifier_loads_neither_identity_nor_boto3() -> None:
    """The pure classifier redacts without the IMDS/boto3 module behind whoami."""
    loaded = _loaded_after("import awsprobe.classify")
    assert "awsprobe.classify" in loaded
    assert "awsprobe.identity" not in loaded
    assert "awsprobe.matrix" not in loaded
    assert not [name for name in loaded if name.split(".")[0] == "boto3"]


@pytest.mark.parametrize(
    ("text", "is_key"),
    [
        (KEY_ID, True),
        ("ASIAIOSFODNN7EXAMPLE", True),
        (f" {KEY_ID}", False),
        (KEY_ID[:-1], False),
        ("AIDAEXAMPLEUSERID0001", False),  # a user id (IAM identifiers: AIDA = user)
    ],
)
def test_is_access_key_id(text: str, is_key: bool) -> None:
    """Exactly AKIA/ASIA and 16 more: a key id; a user id or anything around it: not."""
    assert is_access_key_id(text) is is_key


def test_a_broken_format_string_is_reported_without_its_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A record whose message cannot be formatted reaches logging's error report (message
    and arguments on stderr) through the filter, with the secret masked."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    record = logging.LogRecord("botocore.x", logging.DEBUG, __file__, 1, "%d", (KEY_ID,), None)
    handler.handle(record)
    reported = capsys.readouterr().err
    assert "Logging error" in reported  # logging did report it
    assert KEY_ID not in reported + stream.getvalue()
    assert "AKIA…MPLE" in reported


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # access key ids: shown as first 4 + last 4
        (f"Credential={KEY_ID}/20260101/us-east-1/sts/aws4_request",
         "Credential=AKIA…MPLE/20260101/us-east-1/sts/aws4_request"),
        (f"<AccessKeyId>{KEY_ID}</AccessKeyId>", "<AccessKeyId>AKIA…MPLE</AccessKeyId>"),
        # named secrets and tokens, in dict, JSON, XML, header and config spellings
        (f"{{'SecretAccessKey': '{SECRET}'}}", "{'SecretAccessKey': '[REDACTED]'}"),
        ('{"Token": "abcTOKEN"}', '{"Token": "[REDACTED]"}'),
        ("<SessionToken>FQoGZXIvYXdzEXAMPLE=</SessionToken>",
         "<SessionToken>[REDACTED]</SessionToken>"),
        ("x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE", "x-amz-security-token:[REDACTED]"),
        ("aws_session_token=TOKENVALUE123", "aws_session_token=[REDACTED]"),
        ("'TokenCode': '123456'", "'TokenCode': '[REDACTED]'"),
        # prose-like "token:" still hides a value shaped like a credential
        ("session token: IQoJb3JpZ2luX2VjEXAMPLE", "session token: [REDACTED]"),
        ("Secret: s3cr3t", "Secret: [REDACTED]"),
        # a SigV4 signature, and a loose secret access key
        ("Signature=" + "ab12" * 16, "Signature=[REDACTED]"),
        (f"loose {SECRET} here", "loose [REDACTED] here"),
        # prose is not a secret: botocore's XML parser error stays as it is
        ("unclosed token: line 1", "unclosed token: line 1"),
        ("Unable to parse response (unclosed token: line 1, column 0), invalid XML received.",
         "Unable to parse response (unclosed token: line 1, column 0), invalid XML received."),
        ("invalid token: Line 3", "invalid token: Line 3"),
        ("GetCallerIdentity 200 in 0.1 s", "GetCallerIdentity 200 in 0.1 s"),
    ],
)  # fmt: skip
def test_redact_table(text: str, redacted: str) -> None:
    """Each text redacts to exactly the text beside it: secrets masked, prose untouched."""
    assert redact(text) == redacted


def test_botocore_unclosed_xml_error_reaches_the_answer_unchanged() -> None:
    """The real ResponseParserError text for a cut-off XML body keeps "unclosed token: line 1"."""
    operation = (
        botocore.session.get_session().get_service_model("sts").operation_model("GetCallerIdentity")
    )
    with pytest.raises(ResponseParserError) as caught:
        create_parser("query").parse(
            {"body": b"<a", "headers": {}, "status_code": 500}, operation.output_shape
        )
    assert "unclosed token: line 1" in str(caught.value)  # botocore's words, as asserted above
    message = Answer.from_exception(caught.value).message
    assert message is not None
    assert "unclosed token: line 1, column 0" in message
    assert "[REDACTED]" not in message
