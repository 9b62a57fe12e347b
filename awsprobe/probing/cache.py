"""The probe cache: each dry run sent once per (action, region, identity) for a session.

What the pytest plugin stands on: many tests ask about overlapping actions and
regions, and :class:`ProbeCache` sends only what no earlier test asked, through one
:class:`~awsprobe.probing.runner.Runner` per (session, endpoint). Denials are explained
with :mod:`awsprobe.decode`, each encoded message once. With the plugin's
``--awsprobe-simulate``, actions that have no dry run are asked of IAM's policy simulator,
each (action, region, identity) once too (:meth:`ProbeCache.simulations`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError

from awsprobe.catalog import CatalogEntry, load_catalog
from awsprobe.decode import decode_authorization_message, encoded_message, explain_denials
from awsprobe.errors import AwsprobeError, UsageError
from awsprobe.matrix import Matrix
from awsprobe.model import Identity, Outcome, ProbeResult, Source
from awsprobe.probing.options import DEFAULT_WORKERS, RunOptions
from awsprobe.probing.regions import resolve_regions
from awsprobe.probing.runner import Runner
from awsprobe.probing.selection import ReferenceAction
from awsprobe.probing.simulate import (
    IamPace,
    Simulator,
    principal_for,
    refused_result,
    result_of,
)

__all__ = ["ProbeCache"]

#: Messages decoded at once after the first (which goes alone: an identity that may not
#: decode is asked once).
_DECODERS = 8


@dataclass
class _Binding:
    """One session (and endpoint) the cache has seen, with its runner."""

    session: Any
    runner: Runner


class ProbeCache:
    """Probe results per (action, region, identity ARN), shared by a whole test session.

    Each probe is sent once: callers ask for a batch of (catalog entry, region)
    pairs and only those not yet answered for that identity are sent, together,
    through one :class:`~awsprobe.probing.runner.Runner` per session. Thread-safe.
    """

    def __init__(self, *, workers: int | None = None, decode: bool = True) -> None:
        self.options = RunOptions(workers=workers or DEFAULT_WORKERS)
        self.decode = decode
        self._lock = threading.RLock()
        self._bindings: dict[tuple[int, str | None], _Binding] = {}
        self._results: dict[tuple[str, str, str], ProbeResult] = {}
        self._regions: dict[tuple[int, str | None, tuple[str, ...] | str], tuple[str, ...]] = {}
        self._patterns: dict[str, tuple[CatalogEntry, ...]] = {}
        self._explained: dict[str, tuple[str | None, str | None]] = {}
        self._cannot_decode: dict[str, str] = {}
        self._warnings: dict[str, None] = {}
        self._sent: dict[str, int] = {}
        self._reused: dict[str, int] = {}
        self._pace = IamPace()

    @property
    def workers(self) -> int:
        """Requests in flight at once per session."""
        return self.options.workers

    def _binding(self, session: Any, endpoint_url: str | None) -> _Binding:
        key = (id(session), endpoint_url)
        binding = self._bindings.get(key)
        if binding is None:  # the binding keeps the session alive: its id stays unique
            options = RunOptions(workers=self.options.workers, endpoint_url=endpoint_url)
            binding = self._bindings[key] = _Binding(session, Runner(session, options))
        return binding

    def identity(self, session: Any, endpoint_url: str | None = None) -> Identity:
        """Who ``session`` is (one ``sts:GetCallerIdentity`` per session)."""
        with self._lock:
            return self._binding(session, endpoint_url).runner.identity

    def regions(
        self, session: Any, endpoint_url: str | None, names: Sequence[str] | str = ()
    ) -> tuple[str, ...]:
        """Region names checked and resolved: ``()`` is the session's region, and
        :data:`~awsprobe.probing.regions.ALL_REGIONS` every enabled one."""
        wanted = names if isinstance(names, str) else tuple(names)
        key = (id(session), endpoint_url, wanted)
        with self._lock:
            found = self._regions.get(key)
            if found is None:
                self._binding(session, endpoint_url)  # keep the session alive for its id
                found = resolve_regions(wanted or None, session, endpoint_url=endpoint_url)
                self._regions[key] = found
            return found

    def entries(self, pattern: str) -> tuple[CatalogEntry, ...]:
        """The probed catalog entries an action or glob names (``NoMatchError`` if none)."""
        with self._lock:
            found = self._patterns.get(pattern)
            if found is None:
                found = self._patterns[pattern] = tuple(load_catalog(actions=[pattern]))
            return found

    def pairs_of(self, saved: Matrix) -> list[tuple[CatalogEntry, str]]:
        """The (catalog entry, region) of each probe a saved matrix holds, where the
        catalog still has the action."""
        services = sorted({r.service for r in saved.results})
        catalog = {e.action: e for e in load_catalog(services=services)} if services else {}
        return [(catalog[r.action], r.region) for r in saved.results if r.action in catalog]

    def results(
        self,
        session: Any,
        endpoint_url: str | None,
        wanted: Iterable[tuple[CatalogEntry, str]],
    ) -> dict[tuple[str, str], ProbeResult]:
        """The results of ``wanted`` (entry, region) pairs, probing only those not cached."""
        pairs = list(dict.fromkeys(wanted))
        with self._lock:
            runner = self._binding(session, endpoint_url).runner
            arn = runner.identity.arn
            missing: dict[str, list[CatalogEntry]] = {}
            for entry, region in pairs:
                if (entry.action, region, arn) not in self._results:
                    missing.setdefault(region, []).append(entry)
            self._reused[arn] = (
                self._reused.get(arn, 0)
                + len(pairs)
                - sum(len(entries) for entries in missing.values())
            )
            batches: dict[tuple[CatalogEntry, ...], list[str]] = {}
            for region, needed in missing.items():
                batches.setdefault(tuple(needed), []).append(region)
            for batch, regions in batches.items():
                matrix = runner.run(list(batch), regions)
                for result in matrix.results:
                    self._results[(result.action, result.region, arn)] = result
                self._sent[arn] = self._sent.get(arn, 0) + sum(
                    1 for r in matrix.results if r.attempts
                )
                self._warnings.update(dict.fromkeys(matrix.warnings))
            return {
                (entry.action, region): self._results[(entry.action, region, arn)]
                for entry, region in pairs
            }

    def simulations(
        self,
        session: Any,
        endpoint_url: str | None,
        wanted: Iterable[tuple[ReferenceAction, str]],
    ) -> dict[tuple[str, str], ProbeResult]:
        """The policy simulator's results of ``wanted`` (reference action, region) pairs,
        asking only for those not cached (:mod:`~awsprobe.probing.simulate`). When the
        identity cannot be simulated, each is an ``error`` saying why (and one warning)."""
        pairs = list(dict.fromkeys(wanted))
        with self._lock:
            runner = self._binding(session, endpoint_url).runner
            identity = runner.identity
            arn = identity.arn
            missing: dict[str, list[ReferenceAction]] = {}
            for action, region in pairs:
                if (action.action, region, arn) not in self._results:
                    missing.setdefault(region, []).append(action)
            if missing:
                self._simulate(runner, identity, missing)
            return {
                (action.action, region): self._results[(action.action, region, arn)]
                for action, region in pairs
            }

    def _simulate(
        self, runner: Runner, identity: Identity, missing: Mapping[str, Sequence[ReferenceAction]]
    ) -> None:
        levels = {a.action: a.access_level.value for wanted in missing.values() for a in wanted}
        principal, why = principal_for(identity.arn)
        found: list[ProbeResult] = []
        if principal is not None:
            options = RunOptions(workers=1, endpoint_url=runner.options.endpoint_url)
            with Simulator(runner.session, identity, principal, options, self._pace) as asking:
                for region, wanted in missing.items():
                    asked = asking.ask([a.action for a in wanted], region)
                    found += [result_of(a, identity, levels.get(a.action, "")) for a in asked]
                why = asking.refused
        if why is not None:
            self._warnings[why] = None
            found = [
                refused_result(a.action, region, identity, a.access_level.value, why)
                for region, wanted in missing.items()
                for a in wanted
            ]
        for result in found:
            self._results[(result.action, result.region, identity.arn)] = result

    def explain(
        self, session: Any, endpoint_url: str | None, results: Iterable[ProbeResult]
    ) -> tuple[dict[str, str], list[str]]:
        """Why each denial happened: (decoded line per encoded message, why some could not be).

        Each message is sent to ``sts:DecodeAuthorizationMessage`` once per
        session; the first alone, so that an identity that may not decode is
        asked once, then the rest together (:func:`awsprobe.decode.explain_denials`).
        Each reason a message could not be decoded is listed once. Nothing is sent
        with decoding off.
        """
        blobs: dict[str, ProbeResult] = {}
        for result in results:
            blob = encoded_message(result.message) if result.outcome is Outcome.DENIED else None
            if blob is not None and result.decoded is None:
                blobs.setdefault(blob, result)
        if not self.decode or not blobs:
            return {}, []
        with self._lock:
            todo = [result for blob, result in blobs.items() if blob not in self._explained]
            if todo:
                blocked = self._decode_first(session, endpoint_url, todo[0])
                if blocked is None:
                    self._decode_rest(session, endpoint_url, todo[1:])
                else:  # this identity may not decode: the rest are not sent
                    for result in todo[1:]:
                        self._explained[_blob(result)] = (None, blocked)
            lines: dict[str, str] = {}
            failures: dict[str, None] = {}
            for blob in blobs:
                line, failure = self._explained[blob]
                if line:
                    lines[blob] = line
                if failure:
                    failures[failure] = None
        return lines, list(failures)

    def reasons(
        self, session: Any, endpoint_url: str | None, results: Iterable[ProbeResult]
    ) -> tuple[dict[ProbeResult, str], list[str]]:
        """Why each denied result was denied, as one line, and why some could not be told.

        The line is the decoded message's (:meth:`explain`) where there is one, else the
        plain-text reason AWS gave, else for a simulated verdict the simulator's answer
        (its detail: explicit or implicit deny, the matched policies); results that have
        none of these are left out.
        """
        denied = [r for r in results if r.outcome is Outcome.DENIED]
        decoded, failures = self.explain(session, endpoint_url, denied)
        found: dict[ProbeResult, str] = {}
        for result in denied:
            blob = encoded_message(result.message)
            line = (
                result.decoded.line
                if result.decoded is not None
                else decoded.get(blob, result.reason)
                if blob
                else result.reason
            )
            if not line and result.source is Source.SIMULATED:
                line = result.detail
            if line:
                found[result] = line
        return found, failures

    def _decode_first(
        self, session: Any, endpoint_url: str | None, result: ProbeResult
    ) -> str | None:
        """Decode one message alone; why this identity may not decode at all, if so."""
        blob = _blob(result)
        arn = result.identity
        blocked = self._cannot_decode.get(arn)
        if blocked is None:
            try:
                explanation, _ = decode_authorization_message(
                    blob,
                    session,
                    endpoint_url=endpoint_url,
                    service_prefix=result.action.split(":", 1)[0],
                )
            except UsageError as exc:  # this message: malformed or expired
                self._explained[blob] = (None, _cannot_explain(exc))
                return None
            except (AwsprobeError, BotoCoreError) as exc:  # this identity may not decode
                blocked = self._cannot_decode[arn] = _cannot_explain(exc)
            else:
                self._explained[blob] = (explanation.line, None)
                return None
        self._explained[blob] = (None, blocked)
        return blocked

    def _decode_rest(
        self, session: Any, endpoint_url: str | None, results: Sequence[ProbeResult]
    ) -> None:
        """Decode the other messages together; each failure is explain_denials' warning."""
        if not results:
            return
        explained, why = explain_denials(
            results, session, endpoint_url=endpoint_url, workers=min(_DECODERS, len(results))
        )
        failure = "; ".join(why) or None
        for result in explained:
            decoded = result.decoded
            self._explained[_blob(result)] = (
                (decoded.line, None) if decoded is not None else (None, failure)
            )

    def summary(self) -> list[str]:
        """One line per identity probed (dry runs sent, answers reused), then any warnings."""
        with self._lock:
            lines = [
                f"{_plural(self._sent.get(arn, 0), 'dry run')} sent as {arn}, "
                f"{_plural(self._reused.get(arn, 0), 'answer')} reused from the cache"
                for arn in dict.fromkeys([*self._sent, *self._reused])
            ]
            return lines + [f"warning: {w}" for w in self._warnings]

    @property
    def sent(self) -> int:
        """How many dry runs this cache sent, over every identity."""
        with self._lock:
            return sum(self._sent.values())

    def close(self) -> None:
        """Close every runner's connections."""
        with self._lock:
            bindings, self._bindings = list(self._bindings.values()), {}
        for binding in bindings:
            binding.runner.close()


def _blob(result: ProbeResult) -> str:
    blob = encoded_message(result.message)
    assert blob is not None, "only results with an encoded message are decoded"
    return blob


def _cannot_explain(exc: BaseException) -> str:
    """The words :func:`awsprobe.decode.explain_denials` uses for one message."""
    return f"could not explain 1 denial: {' '.join(str(exc).split())}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
