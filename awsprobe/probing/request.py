"""Request probes: the user's exact request, sent as a dry run.

A catalog probe sends the smallest input botocore accepts, so its "allowed" never
exercised the request's resources, conditions or dependent actions (``iam:PassRole``
for an instance profile, ``ec2:CreateTags`` for ``TagSpecifications``). A request
probe sends every parameter the caller gives, and only those:

1. the action must be a probed catalog entry (:class:`~awsprobe.errors.UsageError`
   naming why not, otherwise);
2. the parameters are checked against botocore's model of the operation before
   anything is sent: an unknown member, a wrong type or a missing required member is
   one line naming the parameter (:func:`check_params`), and botocore's own
   :class:`~botocore.validate.ParamValidator` has the last word (lengths, ranges,
   unions); a dry-run member that is not ``true`` is refused, and awsprobe sets it;
3. it is sent by a :class:`~awsprobe.probing.runner.Runner` (the guard, the retries,
   the pacing and the classification of catalog probes: one code path), and a denial
   is decoded (:mod:`awsprobe.decode`) to name the action actually denied;
4. the result carries the parameters as sent, with every secret redacted
   (:func:`redacted_params`: members botocore's model marks ``sensitive``, and what
   :func:`awsprobe.redact.redact` removes from text).
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import difflib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.decode import explain_denials
from awsprobe.errors import UsageError
from awsprobe.guard import core_session
from awsprobe.model import Outcome, ProbeResult
from awsprobe.probing.options import RunOptions
from awsprobe.probing.regions import resolve_regions
from awsprobe.probing.runner import Runner
from awsprobe.redact import redact

__all__ = ["REDACTED", "check_params", "find_entry", "probe_request", "redacted_params"]

#: What a secret parameter's value is replaced by in a result.
REDACTED: Final = "[REDACTED]"
#: How JSON names each botocore type (for messages about ``--params``).
_JSON_TYPES: Final = {
    "structure": "an object",
    "map": "an object",
    "list": "an array",
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "boolean": "true or false",
}
#: A list longer than this is not spelled out in a message.
_MAX_LISTED: Final = 12


def probe_request(
    action: str,
    params: Mapping[str, Any],
    *,
    region: str | None = None,
    session: Any = None,
    endpoint_url: str | None = None,
    decode: bool = True,
    verify: bool | str | None = None,
) -> ProbeResult:
    """Send ``action`` with exactly ``params`` as a dry run; what AWS said about it.

    ``params`` are the API's parameters as botocore names them (``ImageId``,
    ``IamInstanceProfile``, …), without the dry-run flag: awsprobe sets it, and refuses
    one set to anything but true. Bad parameters raise :class:`UsageError` before
    anything is sent. ``region`` defaults to the session's; ``session`` is a boto3 or
    botocore session (``None``: the default credential chain). With ``decode`` a
    denial's encoded message is explained (``result.decoded``: the action actually
    denied, which can be a dependent one such as ``iam:PassRole``, the resource and the
    matched statements); when it cannot be, ``result.detail`` says why. The result's
    ``params`` are those sent, secrets redacted.
    """
    entry = find_entry(action)
    core = core_session(session)
    operation = core.get_service_model(entry.service).operation_model(entry.operation)
    sent = check_params(entry, operation, params)
    where = resolve_regions([region] if region else None, core, endpoint_url=endpoint_url)[0]
    options = RunOptions(workers=1, endpoint_url=endpoint_url, verify=verify)
    with Runner(core, options) as runner:
        result = runner.probe_one(entry, where, params=sent)
    if decode and result.outcome is Outcome.DENIED:
        explained, why = explain_denials(
            [result], core, endpoint_url=endpoint_url, region=where, workers=1
        )
        result = explained[0]
        if why:
            result = replace(result, detail="; ".join([result.detail, *why]))
    return replace(result, params=redacted_params(sent, operation.input_shape))


def find_entry(action: str) -> CatalogEntry:
    """The probed catalog entry of one IAM action (or ``service:Operation``).

    :class:`UsageError` for a glob, an action the catalog does not have
    (:class:`~awsprobe.errors.NoMatchError`, with close matches) or one awsprobe does
    not probe (with the reason).
    """
    if any(ch in action for ch in "*?["):
        raise UsageError(f"a request probe takes one action, not a glob ({action!r})")
    entry = load_catalog(actions=[action], include_unprobed=True).find(action)
    if not entry.probe:
        raise UsageError(f"{entry.action} is not probed: {entry.reason}")
    return entry


def check_params(
    entry: CatalogEntry, operation: OperationModel, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The parameters to send: ``params`` checked against the operation's input shape,
    with the dry-run flag set. :class:`UsageError` (one line, naming the parameter)
    for a dry-run flag that is not true, an unknown member, a wrong type or a missing
    required member, or whatever else botocore's validator refuses."""
    if not isinstance(params, Mapping):
        raise UsageError(
            f"{entry.action}: the parameters must be an object of parameter names and "
            f"values, not {_json_type_of(params)}"
        )
    member = entry.dry_run_member
    if member in params and params[member] is not True:
        raise UsageError(
            f"{entry.action}: {member} is {_shown(params[member])}; awsprobe only sends dry "
            f"runs and sets {member} itself: leave it out of the parameters"
        )
    sent = {**params, member: True}
    shape = operation.input_shape
    if shape is None:  # pragma: no cover - every dry-run operation has an input
        raise UsageError(f"{entry.action}: botocore's model has no input for it")
    problem = _problem(sent, shape, "")
    if problem is None:
        report = ParamValidator().validate(sent, shape)
        if report.has_errors():  # what the walk does not check: lengths, ranges, unions
            problem = " ".join(redact(report.generate_report()).split())
    if problem is not None:
        raise UsageError(
            f"{entry.action}: {problem} (nothing was sent; see the operation's parameters "
            "in the AWS API reference)"
        )
    return sent


def _problem(value: Any, shape: Shape, path: str) -> str | None:
    """The first unknown member, wrong type or missing required member under ``path``."""
    kind = shape.type_name
    expected = ParamValidator.CONTAINER_TYPES.get(kind) or ParamValidator.SCALAR_TYPES.get(kind)
    if expected is None:  # timestamps, blobs, documents: botocore's validator decides
        return None
    wrong_bool = isinstance(value, bool) and kind != "boolean"
    if not isinstance(value, expected) or wrong_bool:
        where = path or "the parameters"
        return f"{where} must be {_JSON_TYPES[kind]}, not {_json_type_of(value)}"
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return None
        members = shape.members
        for name, item in value.items():
            if name not in members:
                return _unknown(name, list(members), path)
            found = _problem(item, members[name], f"{path}.{name}" if path else name)
            if found is not None:
                return found
        for name in shape.required_members:
            if name not in value:
                return f"missing required parameter {f'{path}.{name}' if path else name}"
        return None
    if kind == "list":
        for index, item in enumerate(value):
            found = _problem(item, shape.member, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if kind == "map":
        for key, item in value.items():
            found = _problem(item, shape.value, f"{path}.{key}")
            if found is not None:
                return found
    return None


def _unknown(name: str, valid: list[str], path: str) -> str:
    where = f" in {path}" if path else ""
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    close = close or [v for v in valid if v.lower() == str(name).lower()]
    if close:
        hint = f"did you mean {close[0]}?"
    elif len(valid) <= _MAX_LISTED:
        hint = f"it takes {', '.join(valid)}"
    else:
        hint = "parameter names are the API's, such as " + ", ".join(valid[:3])
    return f"unknown parameter {name}{where}; {hint}"


def _json_type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _shown(value: Any) -> str:
    """A short JSON-like spelling of a scalar for a message (``false``, ``"yes"``)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, str):
        return f'"{redact(value)[:20]}"'
    return _json_type_of(value)


def redacted_params(params: Mapping[str, Any], shape: Shape | None) -> dict[str, Any]:
    """``params`` ready for JSON and free of secrets.

    A member whose shape botocore's model marks ``sensitive`` (``UserData``, a KMS
    ``Plaintext``, …) is replaced by :data:`REDACTED`; every other string goes through
    :func:`awsprobe.redact.redact` together with its name (so ``SessionToken`` values
    and access key ids go too). Bytes become base64 and timestamps ISO 8601.
    """
    shown = _redacted(params, shape, "")
    return dict(shown) if isinstance(shown, Mapping) else {}


def _redacted(value: Any, shape: Shape | None, name: str) -> Any:
    if shape is not None and shape.metadata.get("sensitive"):
        return REDACTED
    kind = shape.type_name if shape is not None else None
    if isinstance(value, Mapping):
        if kind == "structure" and shape is not None:
            members = shape.members
            return {str(k): _redacted(v, members.get(str(k)), str(k)) for k, v in value.items()}
        inner = shape.value if kind == "map" and shape is not None else None
        return {str(k): _redacted(v, inner, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        inner = shape.member if kind == "list" and shape is not None else None
        return [_redacted(v, inner, name) for v in value]
    if isinstance(value, str):
        # redact() knows secrets by the name before them: ``SessionToken=abc``
        return redact(f"{name}={value}")[len(name) + 1 :] if name else redact(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    return f"<{type(value).__name__}>"  # a stream or another object: not shown
