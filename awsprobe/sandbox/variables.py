"""Policy variables: ``${aws:username}`` replaced by the request's value, as IAM does.

IAM User Guide, "IAM policy elements: Variables and tags": a policy whose
``Version`` is ``2012-10-17`` may hold ``${key}`` in its ``Resource`` element
and in the values of string and ARN conditions; when the policy is evaluated
each is replaced by the request context's value of ``key`` (any single-valued
context key: ``aws:username``, ``aws:userid``, ``aws:PrincipalTag/k``...).
``${key, 'default'}`` gives a value for a key the request does not have;
``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``.
In a ``2008-10-17`` or versionless document all of this is literal text.

A value is a :data:`Pattern`: pieces of text, each saying whether its ``*``
and ``?`` are IAM wildcards (text the policy wrote) or literal characters
(a value substituted from the request, or ``${*}``). Nothing here knows an
operator or a statement.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from typing import Final

#: A value as pieces ``(text, wild)``: ``wild`` says whether ``*``/``?`` in ``text``
#: are wildcards (the policy's own text) or literal characters (substituted text).
Pattern = tuple[tuple[str, bool], ...]

#: The Version that has policy variables ("Policy variables": "Variables were
#: introduced in version 2012-10-17").
VARIABLES_VERSION: Final = "2012-10-17"


class Unresolved(enum.Enum):
    """Why a value with variables has no text for this request."""

    #: A variable's key is absent from the request and it has no default: the
    #: element it is in does not match ("Policy variables with no value").
    ABSENT = "absent"
    #: A variable names a key with several values: "you cannot use a multivalued
    #: context key as a policy variable" (single-valued vs. multivalued keys).
    MULTIVALUED = "multivalued"
    #: A variable's text (its key's value or its default) holds ``*`` or ``?`` where
    #: wildcards are read: whether IAM reads them as wildcards is not documented.
    WILDCARD = "wildcard"


#: ``${...}``: a variable, an escape, or a key with a default in single quotes.
_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")
_DEFAULT: Final = re.compile(r"(?s)(.*?)\s*,\s*'([^']*)'\s*")
_ESCAPES: Final = frozenset({"*", "?", "$"})


def supports_variables(document: Mapping[str, object]) -> bool:
    """Whether a policy document's ``Version`` gives ``${...}`` its meaning."""
    return document.get("Version") == VARIABLES_VERSION


def has_variables(text: str) -> bool:
    """Whether ``text`` holds a ``${...}`` that a 2012-10-17 policy would replace."""
    return _VARIABLE.search(text) is not None


def literal(text: str) -> Pattern:
    """The policy's own text, wildcards and all, with no variable replaced."""
    return ((text, True),)


def _split(text: str) -> tuple[tuple[str, str, str | None], ...]:
    """``text`` as tokens ``(kind, text, default)``, once: ``"text"`` the policy's own
    text, ``"char"`` an escape's character, ``"var"`` a key and its default (or None)."""
    tokens: list[tuple[str, str, str | None]] = []
    # re.split with one group: policy text, a variable's body, policy text, ...
    for index, piece in enumerate(_VARIABLE.split(text)):
        if index % 2 == 0:
            tokens.append(("text", piece, None))
        elif piece in _ESCAPES:
            tokens.append(("char", piece, None))
        else:
            with_default = _DEFAULT.fullmatch(piece)
            if with_default:
                tokens.append(("var", with_default.group(1).strip(), with_default.group(2)))
            else:
                tokens.append(("var", piece.strip(), None))
    return tuple(tokens)


# By assignment, not as a decorator: mutmut leaves decorated functions alone.
_parts = functools.lru_cache(maxsize=4096)(_split)


def _forget() -> None:
    """Empty this module's cache (tests do, so that no cached answer hides a change)."""
    _parts.cache_clear()


def variable_keys(text: str) -> tuple[str, ...]:
    """The keys of ``text``'s variables, as written, in order (escapes such as ``${*}`` are none).

    Each is a key the evaluation of ``text`` looks up, whether the request has it or
    not; a variable with a default names its key all the same.
    """
    return tuple(name for kind, name, _ in _parts(text) if kind == "var")


def _value(key: str, default: str | None, keys: Mapping[str, tuple[str, ...]]) -> str | Unresolved:
    """A variable's text: its key's only value, else its default."""
    values = keys.get(key.lower(), ())
    if len(values) > 1:
        return Unresolved.MULTIVALUED
    if values:
        return values[0]
    if default is None:
        return Unresolved.ABSENT
    return default


def substitute(
    text: str, keys: Mapping[str, tuple[str, ...]], wildcards: bool
) -> Pattern | Unresolved:
    """``text`` with each variable replaced by the value of its key in ``keys``.

    ``keys`` maps lower-case key names to the request's values (key names
    ignore case). A key with no value takes the variable's default, if any;
    without one the answer is :attr:`Unresolved.ABSENT`. A key with several
    values is :attr:`Unresolved.MULTIVALUED`. Where ``wildcards`` are read, a
    replacement holding ``*`` or ``?`` is :attr:`Unresolved.WILDCARD`.
    """
    pieces: list[tuple[str, bool]] = []
    for kind, name, default in _parts(text):
        if kind == "text":
            pieces.append((name, True))
            continue
        replacement = name if kind == "char" else _value(name, default, keys)
        if isinstance(replacement, Unresolved):
            return replacement
        if wildcards and kind == "var" and ("*" in replacement or "?" in replacement):
            return Unresolved.WILDCARD
        pieces.append((replacement, False))
    return tuple(pieces)
