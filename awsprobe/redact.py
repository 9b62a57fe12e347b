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
* :func:`mask_key` -- an access key id for display (``AKIA…KEY0``).
* :class:`RedactSecrets` -- a :class:`logging.Filter` that passes each record
  through :func:`redact`; :func:`install_redaction` applies it to every record
  of the chosen logger trees (the CLI's ``--debug``; the library never calls it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

__all__ = [
    "REDACTED_LOGGERS",
    "RedactSecrets",
    "install_redaction",
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

    It never drops a record. Attach it to a handler, or let :func:`install_redaction`
    apply it to every record of the chosen logger trees.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it for logging to report
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


#: The logger trees whose records :func:`install_redaction` redacts by default.
REDACTED_LOGGERS: Final = ("botocore", "boto3", "urllib3", "awsprobe", "moto", "werkzeug")


def install_redaction(logger_names: Iterable[str] = REDACTED_LOGGERS) -> Callable[[], None]:
    """Redact every log record of ``logger_names`` (and their children) as it is created.

    For the CLI's ``--debug``; the library never calls it. It wraps the process's
    log record factory, so redaction holds whatever handlers are configured and
    also for child loggers such as ``botocore.endpoint`` (a filter on the
    ``botocore`` logger itself would not see their records). Returns a function
    that removes it again.
    """
    names = tuple(logger_names)
    redactor = RedactSecrets()
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if any(record.name == name or record.name.startswith(name + ".") for name in names):
            redactor.filter(record)
        return record

    logging.setLogRecordFactory(factory)

    def uninstall() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return uninstall
