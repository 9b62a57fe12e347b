"""Redaction: access key ids masked, secrets, session tokens and signatures removed from text.

A leaf: it imports nothing of awsprobe, so the pure classifier, the report, the
CLI and the pytest plugin can all redact what they output without loading
boto3, the instance metadata client or anything else.

* :func:`redact` -- one string in, the same string with every secret gone:
  access key ids (``AKIA``/``ASIA`` + 16) shown as :func:`mask_key` shows them;
  the value after a secret's or token's name (dict reprs, headers, XML and JSON
  bodies, canonical requests, config files) replaced by ``[REDACTED]``; SigV4
  signatures replaced; a loose 40-character base64 run with the shape of a
  secret access key replaced. Prose such as botocore's parser error
  ``unclosed token: line 1`` is not a secret and passes through unchanged.
* :func:`mask_key` -- an access key id for display (``AKIA…KEY0``);
  :func:`is_access_key_id` -- whether a string is one.
* :class:`RedactSecrets` -- a :class:`logging.Filter` for a handler: every record
  the handler outputs passes through :func:`redact`, traceback included. It is a
  step on one output path (the CLI's ``--debug`` handler), never a change to how
  the process creates log records; the library never installs it.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = [
    "RedactSecrets",
    "is_access_key_id",
    "mask_key",
    "redact",
]

_KEY_ID = r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"
_ACCESS_KEY_RE: Final = re.compile(_KEY_ID)
#: Names whose value is a secret or a token, in every spelling botocore's debug log uses
#: (dict reprs, headers, XML and JSON bodies, canonical requests, config files).
_SECRET_NAMES: Final = (
    "aws_secret_access_key",
    "secret_access_key",
    "SecretAccessKey",
    "secret_key",
    "SecretKey",
    "Secret",
    "X-Amz-Security-Token",
    "X-aws-ec2-metadata-token",
    "aws_session_token",
    "aws_security_token",
    "session_token",
    "SessionToken",
    "security_token",
    "TokenCode",
    "Token",
)
_NAMED_SECRET_RE: Final = re.compile(
    r"(?i)\b(" + "|".join(re.escape(name) for name in _SECRET_NAMES) + r")"
    r"(['\"]?\s*[:=>]\s*b?['\"]?)"  # ': b'   ": "   =   >   :
    r"([^\s'\"<>,;&}\]\\]+)"
)
#: Names that are also English words. In prose -- ``word: value``, no quotes, as in
#: botocore's parser error ``unclosed token: line 1`` -- the value is redacted only
#: if it could be a credential: a plain word (letters in one case, or capitalised) is kept.
_WORD_NAMES: Final = frozenset({"token", "secret"})
_PROSE_SEPARATOR_RE: Final = re.compile(r"\s*:\s*")
_PLAIN_WORD_RE: Final = re.compile(r"[a-z]+|[A-Z][a-z]*|[A-Z]+")
_SIGNATURE_RE: Final = re.compile(r"(?i)(Signature\s*[=:]\s*)[0-9a-f]{64}")
_BARE_SECRET_RE: Final = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_REDACTED: Final = "[REDACTED]"


def mask_key(key: str | None) -> str:
    """An access key id for display: first 4 and last 4 characters (``AKIA…KEY0``).

    Keys shorter than 12 characters are masked entirely; ``None`` gives ``""``.
    """
    if not key:
        return ""
    if len(key) < 12:
        return "*" * len(key)
    return f"{key[:4]}…{key[-4:]}"


def is_access_key_id(text: str) -> bool:
    """Whether ``text`` is exactly an access key id (``AKIA``/``ASIA`` + 16)."""
    return _ACCESS_KEY_RE.fullmatch(text) is not None


def _redact_named(match: re.Match[str]) -> str:
    name, separator, value = match.groups()
    if (
        name.lower() in _WORD_NAMES
        and _PROSE_SEPARATOR_RE.fullmatch(separator)
        and _PLAIN_WORD_RE.fullmatch(value)
    ):
        return match.group(0)  # prose ("unclosed token: line 1"), not a secret
    return name + separator + _REDACTED


def _looks_secret(candidate: str) -> bool:
    # a 40-character base64 run with mixed case and a digit: the shape of a secret key
    return (
        any(c.isupper() for c in candidate)
        and any(c.islower() for c in candidate)
        and any(c.isdigit() or c in "/+" for c in candidate)
    )


def redact(text: str) -> str:
    """``text`` with access key ids masked and secrets, tokens and signatures removed."""
    text = _NAMED_SECRET_RE.sub(_redact_named, text)
    text = _SIGNATURE_RE.sub(lambda m: m.group(1) + _REDACTED, text)
    text = _BARE_SECRET_RE.sub(
        lambda m: _REDACTED if _looks_secret(m.group(0)) else m.group(0), text
    )
    return _ACCESS_KEY_RE.sub(lambda m: mask_key(m.group(0)), text)


class RedactSecrets(logging.Filter):
    """A logging filter that rewrites each record's message (and traceback) through :func:`redact`.

    It never drops a record. Attach it to the handler whose output must hold no
    secret: a handler's filters see every record the handler is given, from any
    logger (a filter on a logger would miss its children's records).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it, message and arguments
            record.msg = redact(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(redact(repr(arg)) for arg in record.args)
            elif record.args is not None:
                record.args = (redact(repr(record.args)),)
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
