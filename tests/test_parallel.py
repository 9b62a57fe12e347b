"""Probing in worker processes: the same matrix as one process, pacing kept, stops kept."""

from __future__ import annotations

import csv
import dataclasses
import io
import multiprocessing
import os
import pickle
import signal
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awsprobe.catalog import Catalog, load_catalog
from awsprobe.errors import (
    CredentialsExpired,
    ProbeInterrupted,
    UnsafeRequestError,
    UsageError,
    WorkerFailed,
)
from awsprobe.matrix import Matrix
from awsprobe.model import Identity, Outcome, ProbeResult
from awsprobe.probing import parallel
from awsprobe.probing.options import MAX_PROCESSES, RunOptions, check_concurrency
from awsprobe.probing.orchestrate import probe
from awsprobe.probing.pacing import bucket_for
from awsprobe.probing.parallel import SessionSnapshot, plan_processes, split
from awsprobe.probing.runner import Runner
from awsprobe.probing.tasks import expand
from tests.fakes import UNAUTHORIZED, FakeAWS, Seen, ec2_error

EC2 = load_catalog(services="ec2")
#: 60 probed actions with roomy token buckets (a second identity of the same account
#: never waits for a refill: 1-token actions like AdvertiseByoipCidr would make it wait 10 s)
SOME = Catalog([e for e in EC2 if e.probe and bucket_for(e.service, e.operation)[0] >= 50][:60])
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


@pytest.fixture(autouse=True)
def _single_threaded() -> None:
    """The forked path needs a process with no other thread (as the CLI is)."""
    assert threading.active_count() == 1, [t.name for t in threading.enumerate()]


def _describe_only(seen: Seen, nth: int) -> tuple[int, bytes] | None:
    return None if seen.operation.startswith("Describe") else UNAUTHORIZED


def _table(matrix: Matrix) -> Counter[tuple[str, str, str, str | None]]:
    return Counter((r.action, r.region, r.outcome.value, r.code) for r in matrix.results)


# -- splitting the work -------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    service: str
    operation: str


@dataclass(frozen=True)
class _Task:
    entry: _Entry
    region: str
    resource: str | None = None


_tasks = st.lists(
    st.lists(
        st.builds(
            _Task,
            st.builds(_Entry, st.sampled_from(["ec2", "kms"]), st.sampled_from("ABCDEFGH")),
            st.sampled_from(["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"]),
            st.sampled_from([None, "i-1", "i-2"]),
        ),
        max_size=60,
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(tasks=_tasks, count=st.integers(min_value=1, max_value=9))
def test_split_keeps_every_task_once_and_each_action_in_one_process(
    tasks: list[list[_Task]], count: int
) -> None:
    """Every task lands in exactly one share, under its own identity; one (service, region,
    operation) -- every identity's and resource's probe of it -- never spans two shares, so
    one process's pacer sees all of it; shares are balanced within the largest unit."""
    shares = split(tasks, count)
    assert len(shares) == count
    for number, identity_tasks in enumerate(tasks):
        dealt = [t for share in shares for t in share[number]]
        assert Counter(dealt) == Counter(identity_tasks)
    home: dict[tuple[str, str, str], int] = {}
    for index, share in enumerate(shares):
        for identity_tasks in share:
            for task in identity_tasks:
                key = (task.entry.service, task.region, task.entry.operation)
                assert home.setdefault(key, index) == index, key
    loads = [sum(len(t) for t in share) for share in shares]
    units: Counter[tuple[str, ...]] = Counter()
    for identity_tasks in tasks:
        for task in identity_tasks:
            units[(task.entry.service, task.region, task.entry.operation)] += 1
    groups: Counter[tuple[str, ...]] = Counter()
    for key, n in units.items():
        groups[key[:2]] += n
    largest = max((groups if len(groups) >= 4 * count else units).values(), default=0)
    assert max(loads) - min(loads) <= largest


def test_split_keeps_whole_regions_together_when_there_are_many() -> None:
    """17 regions over 2 processes: each region's probes (its canary, its client) in one."""
    tasks = list(expand(SOME, [f"r{i}" for i in range(17)]))
    shares = split([tasks], 2)
    regions = [{t.region for t in share[0]} for share in shares]
    assert not regions[0] & regions[1]
    assert {len(r) for r in regions} == {8, 9}


# -- how many processes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "probes", "cores", "forkable", "expected"),
    [
        (1, 10_000, 8, True, 1),  # the library default: this process
        (4, 10_000, 2, True, 4),  # asked for: given, whatever the cores
        (4, 3, 2, True, 3),  # never more processes than probes
        (3, 10_000, 2, False, 3),  # asked for where forking is unsafe: spawned
        ("auto", 10_000, 2, True, 2),  # one per core
        ("auto", 10_000, 64, True, parallel.MAX_AUTO_PROCESSES),  # capped
        ("auto", 300, 8, True, 1),  # too few probes to pay for a process
        ("auto", 600, 8, True, 3),  # at least MIN_PROBES_PER_PROCESS each
        ("auto", 10_000, 8, False, 1),  # threads here: auto never spawns
        ("auto", 10_000, 1, True, 1),  # one core: one process
    ],
)
def test_plan_processes(
    monkeypatch: pytest.MonkeyPatch,
    requested: int | str,
    probes: int,
    cores: int,
    forkable: bool,
    expected: int,
) -> None:
    """The number of worker processes for a request, a run size, cores and fork safety."""
    monkeypatch.setattr(parallel, "usable_cores", lambda: cores)
    monkeypatch.setattr(parallel, "fork_safe", lambda: forkable)
    assert plan_processes(requested, probes) == expected


@pytest.mark.parametrize("bad", [0, -1, MAX_PROCESSES + 1, "x", "", True, 2.5, None])
def test_bad_process_counts_are_usage_errors(bad: object) -> None:
    """A bad processes= is one UsageError naming the range and 'auto', before any probe."""
    with pytest.raises(UsageError, match="processes must be"):
        check_concurrency(processes=bad)  # type: ignore[arg-type]
    fake = FakeAWS()
    with pytest.raises(UsageError, match="processes must be"):
        probe(catalog=SOME, session=fake.session, processes=bad)  # type: ignore[arg-type]
    assert fake.seen == []  # not even the identity call


def test_fork_is_safe_only_without_other_threads() -> None:
    """A second thread makes forking unsafe (it could hold a lock the child inherits)."""
    assert parallel.fork_safe() is True
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert parallel.fork_safe() is False
    finally:
        stop.set()
        thread.join()


def test_a_session_snapshot_never_shows_its_secrets() -> None:
    """The spawned workers' credentials snapshot keeps secrets out of repr (and logs)."""
    fake = FakeAWS()
    fake.session.set_credentials("AKIAFAKEFAKEFAKEFAKE", "s3cr3t-value", "t0ken-value")
    snapshot = SessionSnapshot.of(fake.session)
    assert "s3cr3t" not in repr(snapshot)
    assert "t0ken" not in repr(snapshot)
    rebuilt = snapshot.session().get_credentials().get_frozen_credentials()
    assert (rebuilt.access_key, rebuilt.secret_key, rebuilt.token) == (
        "AKIAFAKEFAKEFAKEFAKE",
        "s3cr3t-value",
        "t0ken-value",
    )
    assert snapshot.region == "us-east-1"


# -- forked workers -----------------------------------------------------------------


def test_forked_workers_give_the_same_matrix_as_one_process() -> None:
    """3 processes x 3 regions: the same results as one process, complete, every result
    streamed to on_result in the parent and progress reaching the total."""
    one = probe(catalog=SOME, regions=REGIONS, session=FakeAWS(_describe_only).session)
    streamed: list[ProbeResult] = []
    steps: list[tuple[int, int]] = []
    many = probe(
        catalog=SOME,
        regions=REGIONS,
        session=FakeAWS(_describe_only).session,
        processes=3,
        on_result=streamed.append,
        progress=lambda done, total: steps.append((done, total)),
    )
    assert _table(many) == _table(one)
    assert many.complete
    assert many.identity == one.identity
    assert many.regions == one.regions
    assert [r.action for r in many.results] == [r.action for r in one.results]  # same order
    assert Counter(streamed) == Counter(many.results)
    assert steps[0] == (0, len(SOME) * 3)
    assert steps[-1] == (len(SOME) * 3, len(SOME) * 3)
    assert multiprocessing.active_children() == []  # every worker joined


def test_several_identities_each_get_their_own_column() -> None:
    """sessions=[a, b] in two processes: both identities' results, tagged with their ARN."""
    first, second = FakeAWS(), FakeAWS(_describe_only)
    matrix = probe(
        catalog=SOME, regions=REGIONS[:2], sessions=[first.session, second.session], processes=2
    )
    assert len(matrix.identities) == 2
    assert len(matrix.results) == 2 * len(SOME) * 2
    outcomes = Counter(r.outcome for r in matrix.results)
    denied = sum(1 for e in SOME if not e.operation.startswith("Describe")) * 2
    assert outcomes[Outcome.DENIED] == denied
    assert outcomes[Outcome.ALLOWED] == 2 * len(SOME) * 2 - denied


def test_the_guard_still_refuses_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request without its flag is refused on the wire inside the worker, and the parent
    raises the same UnsafeRequestError as one process would (a bug, never an outcome)."""
    fake = FakeAWS()
    send = Runner._send

    def unflagged(call, entry, replaced, exact=None):  # type: ignore[no-untyped-def]
        if entry.operation == "DescribeVpcs":
            params = entry.probe_params()
            params.pop(entry.dry_run_member, None)
            call(**params)  # no flag: the guard must refuse to send it
        return send(call, entry, replaced, exact)

    monkeypatch.setattr(Runner, "_send", staticmethod(unflagged))
    catalog = Catalog([*SOME, EC2.find("ec2:DescribeVpcs")])
    with pytest.raises(UnsafeRequestError, match="DescribeVpcs"):
        probe(catalog=catalog, regions=REGIONS, session=fake.session, processes=2)
    assert multiprocessing.active_children() == []


def test_expired_credentials_in_a_worker_stop_that_identity_only() -> None:
    """ExpiredToken for the second identity: CredentialsExpired names it; the first
    identity's results are all kept."""
    good = FakeAWS()
    gone = FakeAWS(lambda seen, nth: (400, ec2_error("ExpiredToken")))
    with pytest.raises(CredentialsExpired) as info:
        probe(catalog=SOME, regions=REGIONS, sessions=[good.session, gone.session], processes=2)
    matrix = info.value.matrix
    assert matrix.complete is False
    assert info.value.code == "ExpiredToken"
    assert len(info.value.identities) == 1
    assert sum(1 for r in matrix.results if r.outcome is Outcome.ALLOWED) == len(SOME) * 3


def test_an_interrupt_keeps_what_arrived_and_stops_every_worker() -> None:
    """Ctrl-C in the parent (here: after 40 results): ProbeInterrupted with at least those
    40, incomplete; no worker process is left behind."""
    seen: list[ProbeResult] = []

    def stop_after_40(result: ProbeResult) -> None:
        seen.append(result)
        if len(seen) == 40:
            raise KeyboardInterrupt

    slow = FakeAWS(lambda s, n: (threading.Event().wait(0.02) and None) or None)
    with pytest.raises(ProbeInterrupted) as info:
        probe(
            catalog=EC2,
            regions=REGIONS,
            session=slow.session,
            processes=2,
            workers=4,
            on_result=stop_after_40,
        )
    partial = info.value.matrix
    assert partial.complete is False
    assert 40 <= len(partial.results) < len(EC2.probed) * 3
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_reported_with_the_results_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed mid-run (here it exits at DescribeVpcs): WorkerFailed says which and
    what to do; the results that arrived are kept."""

    def die(seen: Seen, nth: int) -> None:
        if seen.operation == "DescribeVpcs":
            os._exit(7)

    monkeypatch.setattr(parallel, "_GRACE", 2.0)
    catalog = Catalog([*SOME, EC2.find("ec2:DescribeVpcs")])
    with pytest.raises(WorkerFailed, match=r"exited with code 7.*--processes 1") as info:
        probe(catalog=catalog, regions=REGIONS[:1], session=FakeAWS(die).session, processes=2)
    assert info.value.matrix.complete is False
    assert multiprocessing.active_children() == []


# -- spawned workers ----------------------------------------------------------------


def test_spawned_workers_against_the_sandbox_match_one_process() -> None:
    """With another thread running (the sandbox's server), workers are spawned, not forked:
    they rebuild the session from a credentials snapshot, and the matrix is the same."""
    from awsprobe.sandbox import Sandbox

    with Sandbox() as sandbox:
        assert parallel.fork_safe() is False  # the sandbox serves from a thread
        mixed = Catalog([*SOME[:20], *[e for e in EC2 if e.operation.startswith("Describe")][:20]])
        kwargs = {
            "catalog": mixed,
            "regions": [sandbox.region],
            "session": sandbox.session(),
            "endpoint_url": sandbox.endpoint_url,
        }
        one = probe(**kwargs)  # type: ignore[arg-type]
        many = probe(processes=2, **kwargs)  # type: ignore[arg-type]
    assert _table(many) == _table(one)
    assert {r.outcome for r in many.results} == {Outcome.ALLOWED, Outcome.DENIED}
    assert many.complete
    assert multiprocessing.active_children() == []


def test_cli_processes_option(capsys: pytest.CaptureFixture[str]) -> None:
    """--processes N|auto reaches the run; a bad value is one line and exit 2."""
    from awsprobe import cli

    assert cli.main(["matrix", "--sandbox", "--processes", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--processes must be between 1 and 64 or auto" in err
    assert cli.main(["matrix", "--sandbox", "--processes", "many"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected a number or auto, not 'many'" in err
    actions = [f"--actions=ec2:{a}" for a in ("DescribeVpcs", "RunInstances", "CreateVpc")]
    rows = {}
    for processes in ("2", "1"):
        argv = ["matrix", "--sandbox", "--processes", processes, *actions, "--output", "csv"]
        assert cli.main(argv) == 0
        table = csv.DictReader(io.StringIO(capsys.readouterr().out))
        rows[processes] = [(r["action"], r["outcome"], r["code"]) for r in table]
    assert rows["2"] == rows["1"]
    assert {a: o for a, o, _ in rows["2"]} == {
        "ec2:CreateVpc": "denied",
        "ec2:DescribeVpcs": "allowed",
        "ec2:RunInstances": "allowed",
    }


def test_cli_saves_and_exits_1_when_a_worker_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI on WorkerFailed: one line naming the fix, exit 1, partial results saved."""
    from awsprobe import cli

    partial = Matrix(
        identity=Identity("arn:aws:iam::1:user/x", "1", "AIDA"),
        regions=("us-east-1",),
        results=(),
        complete=False,
    )

    def fails(**_: object) -> Matrix:
        raise WorkerFailed("a probe worker process failed (boom); run with --processes 1", partial)

    monkeypatch.setattr(cli, "probe", fails)
    saved = tmp_path / "partial.json"
    assert cli.main(["matrix", "--save", str(saved)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--processes 1" in err
    assert f"partial results saved to {saved}" in err
    assert Matrix.load(saved).complete is False


def test_an_interrupt_that_comes_before_the_run_still_stops_it() -> None:
    """A worker's stop can reach its Runner just before the run starts: the run stops at
    once (only its canaries are answered), and the next run of the Runner starts afresh."""
    fake = FakeAWS()
    with Runner(fake.session, RunOptions(workers=2)) as runner:
        runner.interrupt()
        with pytest.raises(ProbeInterrupted) as info:
            runner.run(SOME, REGIONS)
        assert len(info.value.matrix.results) <= len(REGIONS)  # the canaries at most
        again = runner.run(SOME, REGIONS)
    assert again.complete
    assert len(again.results) == len(SOME) * len(REGIONS)


# -- what a worker tells its parent -------------------------------------------------


def test_a_worker_speaks_in_typed_messages() -> None:
    """A worker (run here, in this process) sends frozen dataclasses that survive the pipe:
    its results in batches per identity, the identity's notes, then Exited; no string tags."""
    fake = FakeAWS(_describe_only)
    identity = Identity("arn:aws:iam::111122223333:user/ci", "111122223333", "AIDAEXAMPLE")
    tasks = tuple(expand(SOME[:5], ["us-east-1"]))
    share = parallel._Share(
        sessions=(fake.session,),
        identities=(identity,),
        tasks=(tasks,),
        regions=("us-east-1",),
        options=RunOptions(workers=2),
    )
    sent: list[object] = []

    class Pipe:
        def send(self, message: object) -> None:
            sent.append(pickle.loads(pickle.dumps(message)))  # as a pipe carries it

        def close(self) -> None:
            pass

    stop = SimpleNamespace(value=0)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    try:
        parallel._worker(share, Pipe(), stop, os.getppid())  # its "parent": ours
    finally:
        stop.value = 1
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
        for thread in threading.enumerate():
            if thread.name == "awsprobe-watch":
                thread.join()
    kinds = (parallel.Results, parallel.Notes, parallel.Exited)
    assert all(isinstance(m, kinds) for m in sent), sent
    assert all(dataclasses.is_dataclass(m) and m.__dataclass_params__.frozen for m in sent)
    assert sent[-1] == parallel.Exited()
    assert sent[-2] == parallel.Notes(0, ())
    results = [r for m in sent if isinstance(m, parallel.Results) for r in m.batch[0]]
    assert sorted(r.action for r in results) == sorted(e.action for e in SOME[:5])
