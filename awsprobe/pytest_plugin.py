"""The awsprobe pytest plugin: a test fails when an AWS identity gains or loses a permission.

Registered through the ``pytest11`` entry point, so pytest loads it in every
run wherever awsprobe is installed. It stays inert -- no network, no sandbox,
no probe -- until a test uses the ``aws_permissions`` marker or fixture, or an
``--awsprobe-*`` option is given; awsprobe's own modules are imported only then.

::

    @pytest.mark.aws_permissions(allow=["ec2:RunInstances"], deny=["ec2:TerminateInstances"])
    def test_ci_role_can_deploy_but_not_destroy(): ...

    def test_fine_grained(aws_permissions):
        aws_permissions.assert_allowed("ec2:Describe*", region="eu-west-1")

It is thin over the library:

* options in an ``awsprobe`` group, each mirrored by an ini key;
* fixtures: ``awsprobe_sandbox``, ``awsprobe_session`` (override it to bring
  your own boto3 session), ``awsprobe_endpoint_url`` and ``awsprobe_cache``
  (a :class:`ProbeCache`), all session-scoped, and ``aws_permissions`` (an
  :class:`AwsPermissions`, function-scoped);
* the ``aws_permissions`` marker, checked before the test body runs;
* with ``--awsprobe-baseline FILE`` one more test item, ``awsprobe-baseline``,
  which compares the identity's current permissions to a saved matrix.

Expectations expand through the catalog (:mod:`awsprobe.expect`); probes go
through the library's :class:`~awsprobe.probing.cache.ProbeCache`, which sends
each (action, region, identity) once for the whole session and explains denials
with :mod:`awsprobe.decode`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pytest

from awsprobe import pytest_options as _options

if TYPE_CHECKING:
    from awsprobe.catalog import CatalogEntry
    from awsprobe.expect import Expectation, Expectations, RequestExpectation, Unmet
    from awsprobe.matrix import Matrix
    from awsprobe.model import Identity, Outcome, ProbeResult
    from awsprobe.probing.cache import ProbeCache
    from awsprobe.sandbox import Sandbox

__all__ = [
    "MARKER",
    "NO_CREDENTIALS",
    "AwsPermissions",
    "ProbeCache",
    "Settings",
]

#: The marker's name.
MARKER: Final = "aws_permissions"
#: The skip reason of a test that needs credentials when none are found.
NO_CREDENTIALS: Final = (
    "awsprobe: no AWS credentials found (set AWS_PROFILE, or use --awsprobe-sandbox)"
)
BASELINE_ITEM: Final = _options.BASELINE_ITEM

_T = TypeVar("_T")

_MARKER_HELP: Final = (
    f"{MARKER}(allow=[...], deny=[...], region=None, regions=None, strict=None): "
    "fail unless the AWS identity is allowed every action (or glob) in allow and denied "
    "every one in deny, probed with dry runs by awsprobe"
)
_UNDECIDED_HINT: Final = (
    "inconclusive and error answers never meet an expectation; pass strict=False "
    "(or set awsprobe_strict = false) to report them without failing"
)


# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The plugin's options, command line first, then the ini file."""

    profile: str | None = None
    region: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    sandbox: bool = False
    sandbox_policy: Path | None = None
    sandbox_scps: tuple[Path, ...] = ()
    baseline: Path | None = None
    strict: bool = True
    decode: bool = True
    simulate: bool = False

    @property
    def configured(self) -> bool:
        """Whether any option that points the plugin at an identity was given."""
        chosen = (self.profile, self.region, self.regions, self.endpoint_url, self.baseline)
        return self.sandbox or any(chosen)


@dataclass
class _State:
    """What one pytest run holds: its settings and what its tests left for the summary."""

    settings: Settings
    caches: list[ProbeCache] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)


_STATE: Final = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    state = config.stash.get(_STATE, None)
    if state is None:  # pytest_configure did not run for this config (should not happen)
        state = config.stash[_STATE] = _State(_read_settings(config))
    return state


def pytest_addoption(parser: pytest.Parser) -> None:
    _options.add_options(parser)


def _text(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    if value is None:
        value = config.getini(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def _flag(config: pytest.Config, name: str) -> bool:
    value = config.getoption(name)
    return bool(config.getini(name) if value is None else value)


def _paths(config: pytest.Config, name: str) -> tuple[Path, ...]:
    """File options: relative to the working directory, or to the ini file's folder."""
    given = config.getoption(name) or ()
    if given:
        return tuple(
            config.invocation_params.dir / g for g in ([given] if isinstance(given, str) else given)
        )
    base, ini = config.inipath.parent if config.inipath else config.rootpath, config.getini(name)
    return tuple(base / t.strip() for t in ([ini] if isinstance(ini, str) else ini) if t.strip())


def _path(config: pytest.Config, name: str) -> Path | None:
    return next(iter(_paths(config, name)), None)


def _read_settings(config: pytest.Config) -> Settings:
    regions = _text(config, "awsprobe_regions") or ""
    policy = _path(config, "awsprobe_sandbox_policy")
    scps = _paths(config, "awsprobe_sandbox_scp")
    return Settings(
        profile=_text(config, "awsprobe_profile"),
        region=_text(config, "awsprobe_region"),
        regions=tuple(r for r in re.split(r"[,\s]+", regions) if r),
        endpoint_url=_text(config, "awsprobe_endpoint_url"),
        sandbox=_flag(config, "awsprobe_sandbox") or policy is not None or bool(scps),
        sandbox_policy=policy,
        sandbox_scps=scps,
        baseline=_path(config, "awsprobe_baseline"),
        strict=_flag(config, "awsprobe_strict"),
        decode=_flag(config, "awsprobe_decode"),
        simulate=_flag(config, "awsprobe_simulate"),
    )


def _check_settings(settings: Settings) -> None:
    """Fail fast, before collection, on options that cannot work (the sandbox's files too)."""
    from awsprobe.errors import AwsprobeError

    try:
        if settings.sandbox:
            _sandbox(settings)
        if settings.baseline is not None:
            from awsprobe.matrix import Matrix

            Matrix.load(settings.baseline)
        names = [*settings.regions, *([settings.region] if settings.region else [])]
        if names and [n.lower() for n in settings.regions] != ["all"]:
            import botocore.session

            from awsprobe.probing.regions import resolve_regions

            resolve_regions(names, botocore.session.Session())
    except AwsprobeError as exc:
        raise pytest.UsageError(f"awsprobe: {exc}") from None


def _sandbox(settings: Settings) -> Sandbox:
    """The sandbox the settings describe, its files read and checked (not started)."""
    from awsprobe.sandbox import Sandbox

    return Sandbox.from_files(
        settings.sandbox_policy, settings.sandbox_scps, region=settings.region
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)
    settings = _read_settings(config)
    if settings.configured:
        _check_settings(settings)
    config.stash[_STATE] = _State(settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        for cache in state.caches:
            cache.close()


# -- the header and the summary ----------------------------------------------------------


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Who is asserted, where: only when an option configures the plugin."""
    state = _state(config)
    settings = state.settings
    if not settings.configured:
        return None
    if settings.sandbox:
        sandbox = _sandbox(settings)
        policy = f"policy {settings.sandbox_policy}" if settings.sandbox_policy else "demo policy"
        policy += "".join(f", SCP {path}" for path in settings.sandbox_scps)
        who = f"{sandbox.user_arn} (sandbox, {policy})"
        default_region = sandbox.region
    else:
        who, default_region = _real_identity(settings)
    regions = ", ".join(settings.regions) or default_region
    traits = [
        "strict" if settings.strict else "not strict",
        "denials decoded" if settings.decode else "denials not decoded",
        *(["IAM's policy simulator for actions without a dry run"] if settings.simulate else []),
    ]
    lines = [f"awsprobe: identity {who}", f"awsprobe: regions {regions} ({'; '.join(traits)})"]
    if settings.baseline is not None:
        lines.append(f"awsprobe: baseline {settings.baseline}")
    return lines


def _real_identity(settings: Settings) -> tuple[str, str]:
    """(identity ARN or why it is unknown, the session's region): one sts call."""
    from botocore.exceptions import BotoCoreError

    from awsprobe.errors import AwsprobeError
    from awsprobe.probing.caller import caller_identity

    try:
        session = _default_session(settings)
        region = str(session.region_name or "us-east-1")
        if session.get_credentials() is None:
            return f"unknown: {NO_CREDENTIALS.removeprefix('awsprobe: ')}", region
    except BotoCoreError as exc:
        return f"unknown ({exc})", settings.region or "us-east-1"
    try:
        identity = caller_identity(session, endpoint_url=settings.endpoint_url)
    except (AwsprobeError, BotoCoreError) as exc:
        return f"unknown ({exc})", region
    return identity.arn, region


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    lines: list[str] = []
    for cache in state.caches:
        lines += cache.summary()
    if state.undecided:
        count = _plural(len(state.undecided), "expectation")
        lines.append(f"{count} neither met nor failed (strict=False):")
        lines += [f"  {line}" for line in state.undecided]
    if lines:
        terminalreporter.write_sep("-", "awsprobe")
        for line in lines:
            terminalreporter.write_line(line)


# -- the facade --------------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    """``ProbeCache`` is the library's (:mod:`awsprobe.probing.cache`), imported on first use."""
    if name == "ProbeCache":
        from awsprobe.probing.cache import ProbeCache

        return ProbeCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _region_list(region: str | Sequence[str] | None) -> tuple[str, ...]:
    if region is None:
        return ()
    if isinstance(region, str):
        return (region,)
    return tuple(region)


class AwsPermissions:
    """What the test's AWS identity may do, probed lazily with dry runs and cached.

    ``action`` arguments are IAM actions (``ec2:RunInstances``) or globs
    (``ec2:Describe*``); a glob is allowed only when every matching action is.
    ``region`` is a region name or a list of them; ``None`` means the default
    regions (``--awsprobe-regions``, else the session's region).
    """

    def __init__(
        self,
        cache: ProbeCache,
        session: Any,
        endpoint_url: str | None = None,
        *,
        regions: Sequence[str] = (),
        strict: bool = True,
        on_undecided: Callable[[str], None] | None = None,
        simulate: bool = False,
    ) -> None:
        self.cache = cache
        self.session = session
        self.endpoint_url = endpoint_url
        self.strict = strict
        self._region_names = tuple(regions)
        self._on_undecided = on_undecided
        #: Expectations also match actions without a dry run, which the simulator answers.
        self.simulate = simulate

    def __repr__(self) -> str:
        return f"<AwsPermissions strict={self.strict} regions={self._region_names or 'default'}>"

    # -- plumbing: every library error becomes a skip or a readable failure ---------------

    def _call(self, what: Callable[[], _T]) -> _T:
        __tracebackhide__ = True
        from awsprobe.errors import AwsprobeError, CredentialsError
        from awsprobe.probing.caller import credentials_missing

        try:
            return what()
        except CredentialsError as exc:
            if credentials_missing(self.session, exc):
                pytest.skip(NO_CREDENTIALS)
            pytest.fail(f"awsprobe: {exc}", pytrace=False)
        except AwsprobeError as exc:
            pytest.fail(f"awsprobe: {exc}", pytrace=False)

    @property
    def identity(self) -> Identity:
        """Who the session is (asked of STS once per session)."""
        __tracebackhide__ = True
        return self._call(lambda: self.cache.identity(self.session, self.endpoint_url))

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions an assertion without ``region`` applies to."""
        __tracebackhide__ = True
        return self._resolve(self._region_names)

    def _where(self, region: str | Sequence[str] | None) -> tuple[str, ...]:
        __tracebackhide__ = True
        names = _region_list(region)
        return self._resolve(names) if names else self.regions

    def _resolve(self, names: Sequence[str]) -> tuple[str, ...]:
        """Region names checked, resolved and cached; ``all`` alone (any case) is every
        enabled region, ``()`` the session's."""
        __tracebackhide__ = True
        from awsprobe.probing.regions import ALL_REGIONS

        wanted = ALL_REGIONS if [n.lower() for n in names] == ["all"] else tuple(names)
        return self._call(lambda: self.cache.regions(self.session, self.endpoint_url, wanted))

    def _probe(
        self, pairs: Sequence[tuple[CatalogEntry, str]]
    ) -> dict[tuple[str, str], ProbeResult]:
        __tracebackhide__ = True
        return self._call(lambda: self.cache.results(self.session, self.endpoint_url, pairs))

    def _entries(self, pattern: str) -> tuple[CatalogEntry, ...]:
        __tracebackhide__ = True
        return self._call(lambda: self.cache.entries(pattern))

    # -- queries -----------------------------------------------------------------------

    def results(
        self, *actions: str, region: str | Sequence[str] | None = None
    ) -> list[ProbeResult]:
        """The probe results of every action the globs match, in every region asked."""
        __tracebackhide__ = True
        where = self._where(region)
        pairs = [(e, r) for a in actions for e in self._entries(a) for r in where]
        found = self._probe(pairs)
        return [found[(e.action, r)] for e, r in dict.fromkeys(pairs)]

    def result(self, action: str, region: str | None = None) -> ProbeResult:
        """The probe result of one action in one region (default: the first default region)."""
        __tracebackhide__ = True
        from awsprobe.catalog import Catalog

        if any(ch in action for ch in "*?["):
            pytest.fail(
                f"awsprobe: result() and outcome() take one action, not a glob ({action!r}); "
                "use results() or allowed() for globs",
                pytrace=False,
            )
        entry = self._call(lambda: Catalog(self.cache.entries(action)).find(action))
        where = region or self.regions[0]
        return self._probe([(entry, self._where(where)[0])])[(entry.action, where)]

    def outcome(self, action: str, region: str | None = None) -> Outcome:
        """The outcome (allowed, denied, inconclusive, error, dry_run_ignored) of one action."""
        __tracebackhide__ = True
        return self.result(action, region).outcome

    def allowed(self, action: str, region: str | Sequence[str] | None = None) -> bool:
        """True when every action the glob matches is allowed in every region asked.

        False when one is denied. An answer that is neither allowed nor denied
        (inconclusive, error, dry run ignored) cannot say either: with strict
        on (the default) it raises ``AssertionError`` saying why,
        so an outage never reads as "not allowed"; with strict off it is False.
        """
        __tracebackhide__ = True
        from awsprobe.model import Outcome

        results = self.results(action, region=region)
        decided = (Outcome.ALLOWED, Outcome.DENIED)
        undecided = [r for r in results if r.outcome not in decided]
        if undecided and self.strict:
            lines = [
                f"allowed({action!r}): cannot tell, no verdict for "
                f"{len(undecided)} of {_plural(len(results), 'probe')}"
            ]
            for result in undecided:
                code = f" ({result.code})" if result.code else ""
                lines.append(f"  {result.action} in {result.region}: {result.outcome.value}{code}")
                lines.append(f"      why: {result.detail}")
            lines.append(f"  {_UNDECIDED_HINT}")
            raise AssertionError("\n".join(lines))
        return all(r.outcome is Outcome.ALLOWED for r in results)

    def matrix(self, *actions: str, region: str | Sequence[str] | None = None) -> Matrix:
        """The matching results as a :class:`~awsprobe.matrix.Matrix` (save it as a baseline)."""
        __tracebackhide__ = True
        results = self.results(*actions, region=region)
        return self._matrix(results, self._where(region))

    def _matrix(self, results: Iterable[ProbeResult], regions: Sequence[str]) -> Matrix:
        from awsprobe.matrix import Matrix

        ordered = sorted(results, key=lambda r: (r.service, r.action, r.region))
        return Matrix(identity=self.identity, regions=tuple(regions), results=tuple(ordered))

    # -- assertions --------------------------------------------------------------------

    def assert_allowed(
        self,
        *actions: str,
        region: str | Sequence[str] | None = None,
        strict: bool | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Fail unless every action the globs match is allowed in every region asked; with
        ``params``, unless that exact request of one action is (awsprobe sets DryRun)."""
        __tracebackhide__ = True
        self._assert("assert_allowed", actions, region, strict, params)

    def assert_denied(
        self,
        *actions: str,
        region: str | Sequence[str] | None = None,
        strict: bool | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Fail unless every action the globs match is denied (or that one request is)."""
        __tracebackhide__ = True
        self._assert("assert_denied", actions, region, strict, params)

    def _assert(
        self,
        name: str,
        actions: Sequence[str],
        region: str | Sequence[str] | None,
        strict: bool | None,
        params: Mapping[str, Any] | None,
    ) -> None:
        __tracebackhide__ = True
        from awsprobe.expect import Expectations

        strict = self.strict if strict is None else strict
        want = name.removeprefix("assert_")
        made = self._call(
            lambda: Expectations.asserting(want, actions, params, strict, self.session)
        )
        title = f"{name}({_args(actions, region)}{', params=…' if params is not None else ''})"
        message = self._check([_with_regions(made, _region_list(region))], title)
        if message:
            raise AssertionError(message)

    def expect(
        self,
        allow: Iterable[str] | str = (),
        deny: Iterable[str] | str = (),
        *,
        region: str | None = None,
        regions: Sequence[str] | None = None,
        strict: bool | None = None,
        title: str = MARKER,
    ) -> None:
        """What the marker does: fail (a readable failure, no traceback) listing every miss."""
        __tracebackhide__ = True
        expectations = self._expectations(
            {"allow": allow, "deny": deny, "region": region, "regions": regions, "strict": strict}
        )
        message = self._check([expectations], title)
        if message:
            pytest.fail(message, pytrace=False)

    def _expectations(self, kwargs: dict[str, Any]) -> Expectations:
        """The marker's arguments (checked by :func:`awsprobe.expect.marker_expectations`)."""
        __tracebackhide__ = True
        from awsprobe.errors import UsageError
        from awsprobe.expect import marker_expectations

        try:
            expectations = marker_expectations(kwargs, strict=self.strict)
        except UsageError as exc:
            pytest.fail(f"{MARKER}: {exc}", pytrace=False)
        return _with_regions(expectations, expectations.regions)

    def _check(self, groups: Sequence[Expectations], title: str) -> str | None:
        """Probe every expectation of every group in one batch; the failure message, if any."""
        __tracebackhide__ = True
        from awsprobe.catalog import CatalogEntry
        from awsprobe.expect import check_matrix

        expanded: list[tuple[Expectations, list[tuple[Expectation, Any, str]]]] = []
        for group in groups:
            # region names are checked (and "all" resolved) before anything is sent
            regions = self._where(group.regions) if group.regions else self.regions
            for name in dict.fromkeys(i.region for i in group.items if i.region):
                self._where(name)
            group = replace(group, regions=regions)
            pairs: list[tuple[Expectation, Any, str]] = self._call(
                group.expand_simulated if self.simulate else group.expand
            )
            expanded.append((group, pairs))
        asked = [(entry, region) for _, pairs in expanded for _, entry, region in pairs]
        results = self._probe([(e, r) for e, r in asked if isinstance(e, CatalogEntry)])
        simulated = [(e, r) for e, r in asked if not isinstance(e, CatalogEntry)]
        if simulated:
            at = self.endpoint_url
            results |= self._call(lambda: self.cache.simulations(self.session, at, simulated))
        matrix = self._matrix(results.values(), self.regions)
        unmet: list[Unmet] = []
        checked = 0
        for expectations, pairs in expanded:
            report = check_matrix(expectations, matrix, pairs, self._requests(expectations))
            unmet += report.unmet
            checked += report.checked
            if self._on_undecided is not None:
                for skipped in report.skipped:
                    self._on_undecided(f"{title}: {skipped.line}: {skipped.result.detail}")
        if not unmet:
            return None
        return self._message(title, unmet, checked)

    def _requests(self, group: Expectations) -> list[tuple[RequestExpectation, ProbeResult]]:
        """Each exact request of ``group`` sent as a dry run (never cached: its own params)."""
        __tracebackhide__ = True
        from awsprobe.expect import probe_requests

        at, decode = self.endpoint_url, self.cache.decode
        return self._call(
            lambda: probe_requests(group, self.session, endpoint_url=at, decode=decode)
        )

    def _message(self, title: str, unmet: Sequence[Unmet], checked: int) -> str:
        from awsprobe.model import Outcome

        arn = self.identity.arn
        reasons, failures = self.cache.reasons(
            self.session, self.endpoint_url, [miss.result for miss in unmet]
        )
        lines = [f"{title}: {len(unmet)} of {checked} expectations unmet for {arn}"]
        undecided = False
        for miss in unmet:
            result = miss.result
            line = f"  {miss.line}"
            if miss.expectation.pattern.lower() != result.action.lower():
                line += f"  [{miss.expectation.expected.value} {miss.expectation.pattern}]"
            lines.append(line)
            if result.outcome is Outcome.DENIED:
                if result in reasons:
                    lines.append(f"      why: {reasons[result]}")
            elif result.outcome is not Outcome.ALLOWED:
                undecided = undecided or result.outcome is not Outcome.DRY_RUN_IGNORED
                lines.append(f"      why: {result.detail}")
        lines += [f"  ({failure})" for failure in failures]
        if undecided:
            lines.append(f"  ({_UNDECIDED_HINT})")
        return "\n".join(lines)


def _with_regions(expectations: Expectations, regions: Sequence[str]) -> Expectations:
    return replace(expectations, regions=tuple(regions), source=f"@pytest.mark.{MARKER}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _args(actions: Sequence[str], region: str | Sequence[str] | None) -> str:
    parts = [repr(a) for a in actions]
    if region is not None:
        parts.append(f"region={region!r}")
    return ", ".join(parts)


# -- fixtures ----------------------------------------------------------------------------


def _default_session(settings: Settings) -> Any:
    import boto3

    return boto3.Session(profile_name=settings.profile, region_name=settings.region)


@pytest.fixture(scope="session")
def awsprobe_sandbox(pytestconfig: pytest.Config) -> Iterator[Sandbox | None]:
    """The local sandbox (started once, stopped at the end), or None when not configured."""
    state = _state(pytestconfig)
    if not state.settings.sandbox:
        yield None
        return
    with _sandbox(state.settings) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def awsprobe_session(pytestconfig: pytest.Config, awsprobe_sandbox: Sandbox | None) -> Any:
    """The boto3 session whose permissions are asserted. Override it to bring your own.

    Default: the sandbox user's session, else ``boto3.Session`` with
    ``--awsprobe-profile`` and ``--awsprobe-region``.
    """
    if awsprobe_sandbox is not None:
        return awsprobe_sandbox.session()
    from botocore.exceptions import BotoCoreError

    try:
        return _default_session(_state(pytestconfig).settings)
    except BotoCoreError as exc:
        pytest.fail(f"awsprobe: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def awsprobe_endpoint_url(
    pytestconfig: pytest.Config, awsprobe_sandbox: Sandbox | None
) -> str | None:
    """The endpoint every call goes to: the sandbox's, ``--awsprobe-endpoint-url``, or None."""
    if awsprobe_sandbox is not None:
        return awsprobe_sandbox.endpoint_url
    return _state(pytestconfig).settings.endpoint_url


@pytest.fixture(scope="session")
def awsprobe_cache(pytestconfig: pytest.Config) -> Iterator[ProbeCache]:
    """The session's :class:`ProbeCache`: each (action, region, identity) is probed once."""
    from awsprobe.probing.cache import ProbeCache

    state = _state(pytestconfig)
    cache = ProbeCache(decode=state.settings.decode)
    state.caches.append(cache)
    yield cache
    cache.close()


@pytest.fixture
def aws_permissions(
    pytestconfig: pytest.Config,
    awsprobe_cache: ProbeCache,
    awsprobe_session: Any,
    awsprobe_endpoint_url: str | None,
) -> AwsPermissions:
    """Assert what the AWS identity may do; skipped when no credentials can be found."""
    from botocore.exceptions import BotoCoreError

    try:
        credentials = awsprobe_session.get_credentials()
    except BotoCoreError as exc:
        pytest.fail(f"awsprobe: cannot load AWS credentials: {exc}", pytrace=False)
    if credentials is None:
        pytest.skip(NO_CREDENTIALS)
    state = _state(pytestconfig)
    return AwsPermissions(
        awsprobe_cache,
        awsprobe_session,
        awsprobe_endpoint_url,
        regions=state.settings.regions,
        strict=state.settings.strict,
        simulate=state.settings.simulate,
        on_undecided=state.undecided.append,
    )


# -- the marker --------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and item.get_closest_marker(MARKER) is not None
            and "aws_permissions" not in item.fixturenames
        ):
            item.fixturenames.append("aws_permissions")
    baseline = _state(config).settings.baseline
    if baseline is not None:
        items.extend(_BaselineFile.from_parent(session, path=baseline).collect())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Check the test's ``aws_permissions`` markers before its body runs."""
    if not isinstance(item, pytest.Function):
        return
    marks = list(item.iter_markers(MARKER))
    if not marks:
        return
    permissions = item.funcargs.get("aws_permissions")
    if not isinstance(permissions, AwsPermissions):
        pytest.fail(
            f"{MARKER}: the aws_permissions fixture is overridden with something that is not "
            "an AwsPermissions; the marker needs the plugin's own",
            pytrace=False,
        )
    groups = []
    for mark in marks:
        if mark.args:
            pytest.fail(
                f"{MARKER}: takes keyword arguments only: allow=[...], deny=[...], "
                "region= or regions=, strict=",
                pytrace=False,
            )
        groups.append(permissions._expectations(dict(mark.kwargs)))
    message = permissions._check(groups, MARKER)
    if message:
        pytest.fail(message, pytrace=False)


# -- the baseline item -------------------------------------------------------------------


class _BaselineFile(pytest.File):
    """The saved matrix as a collector: its one item is ``FILE::awsprobe-baseline``."""

    def collect(self) -> Iterator[pytest.Item]:
        yield _BaselineItem.from_parent(self, name=BASELINE_ITEM, callobj=_baseline)


class _BaselineItem(pytest.Function):
    """The item ``--awsprobe-baseline`` adds: a function, so that fixtures (and overrides) apply."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, BASELINE_ITEM


def _baseline(aws_permissions: AwsPermissions, pytestconfig: pytest.Config) -> None:
    """Fail when the identity's permissions differ from the saved matrix."""
    from awsprobe.compare import diff
    from awsprobe.matrix import Matrix

    path = _state(pytestconfig).settings.baseline
    assert path is not None
    baseline = Matrix.load(path)
    if len({r.identity for r in baseline.results}) > 1:
        pytest.fail(
            f"{BASELINE_ITEM}: {path} holds results of several identities; "
            "save a matrix of one identity as the baseline",
            pytrace=False,
        )
    permissions = aws_permissions
    pairs = permissions._call(lambda: permissions.cache.pairs_of(baseline))
    current = permissions._matrix(permissions._probe(pairs).values(), baseline.regions)
    drift = diff(baseline, current)
    if not drift.differs:
        return
    was = baseline.identity.arn
    now = current.identity.arn
    taken = f" (taken as {was})" if was != now else ""
    changed = [c.new for _, changes in drift.sections() for c in changes if c.new is not None]
    reasons, failures = permissions.cache.reasons(
        permissions.session, permissions.endpoint_url, changed
    )
    lines = [f"{BASELINE_ITEM}: the permissions of {now} differ from {path}{taken}"]
    lines += [f"  {line}" for line in drift.lines(reasons)]  # a denial with its reason
    lines += [f"  ({failure})" for failure in failures]
    pytest.fail("\n".join(lines), pytrace=False)
