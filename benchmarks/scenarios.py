"""The measurements: each returns :class:`~benchmarks.harness.Figure` rows and raw details.

Every figure compares awsprobe with a reference measured in the same run, so
the ratio survives a slow or busy machine better than any absolute number.
awsprobe is measured as the CLI runs it -- ``probe(processes="auto")``, one
worker process per usable core for large runs -- with ``processes=1`` (the
library's default) as the contrast.

1. speed-up over a naive sequential boto3 loop (one region, full EC2 catalog), in
   process and as the user runs it (whole processes, :mod:`benchmarks.whole`);
2. distance from the physical limit of that run (latency bound, CPU floor);
3. awsprobe's own CPU per probe over a bare botocore call;
4. scale: 17 regions x the catalog, against the CPU floor of this machine's
   cores; memory;
5. five identities of one account against EC2's token buckets;
6. start-up of the CLI against creating one boto3 client; first runs (empty cache);
7. the sandbox (moto) answering the full EC2 catalog.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from benchmarks.fake_aws import (
    ACCOUNT,
    BENCH_IDENTITIES,
    DEFAULT_LATENCY,
    OTHER_ACCOUNT,
    OTHER_IDENTITIES,
    min_seconds_for,
)
from benchmarks.harness import (
    FakeEndpoint,
    Figure,
    boto3_session,
    botocore_session,
    children_peak_rss_mb,
    peak_rss_mb,
    rss_mb,
    timed,
    warm_memory,
)

__all__ = ["DEFAULT_REGIONS", "Bench", "Options"]

#: The regions every AWS account has enabled by default (no opt-in).
DEFAULT_REGIONS: Final = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "sa-east-1",
)
REGION: Final = "us-east-1"
#: awsprobe's runner configuration for retries, copied so the bare client matches it.
_RETRIES: Final = {"mode": "standard", "total_max_attempts": 1}
_DRY_RUN_BODY: Final = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
    b"<Code>DryRunOperation</Code><Message>Request would have succeeded, but DryRun flag "
    b"is set.</Message></Error></Errors><RequestID>1</RequestID></Response>"
)


@dataclass
class Options:
    quick: bool = False
    latency: float = DEFAULT_LATENCY
    profile_dir: Path | None = None
    extra: bool = False  # also the slower contrasts (figure 5d)


@dataclass
class Bench:
    """State shared by the measurements of one run."""

    options: Options
    fake: FakeEndpoint
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    _costs: dict[str, float] | None = None

    @property
    def cores(self) -> int:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:
            return os.cpu_count() or 1

    def catalog(self) -> Any:
        from awsprobe import load_catalog

        return load_catalog(services="ec2")

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        mark = {True: "met", False: "NOT met", None: "info"}[figure.met]
        print(
            f"  {figure.number:>3} {figure.name}: {figure.value:.4g} {figure.unit} vs "
            f"{figure.reference:.4g} -> ratio {figure.ratio:.3g} ({mark})",
            flush=True,
        )


# ---------------------------------------------------------------------------- helpers


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _canned(request: Any, **_: Any) -> Any:
    """A ``before-send`` handler: every request answers 412 DryRunOperation, no socket."""
    from botocore.awsrequest import AWSResponse

    return AWSResponse(request.url, 412, {"Content-Type": "text/xml"}, _Raw(_DRY_RUN_BODY))


def _bare_client(session: Any, region: str, endpoint_url: str) -> Any:
    from botocore.config import Config

    return session.create_client(
        "ec2", region_name=region, endpoint_url=endpoint_url, config=Config(retries=_RETRIES)
    )


def _bare_loop(client: Any, entries: Sequence[Any]) -> float:
    """CPU seconds to send every entry once through ``client`` (errors are answers)."""
    from botocore.exceptions import ClientError

    cpu = time.process_time()
    for entry in entries:
        with contextlib.suppress(ClientError):  # every dry-run answer is an error
            getattr(client, entry.method)(**entry.probe_params())
    return time.process_time() - cpu


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def _sampled(bench: Bench, name: str, pid: int) -> Iterator[None]:
    """With ``--profile DIR``: sample ``pid`` with py-spy (GIL-holding stacks) meanwhile."""
    directory = bench.options.profile_dir
    tool = _py_spy() if directory is not None else None
    if directory is None:
        yield
        return
    if tool is None:
        print(f"  (profile {name}: py-spy not found; pip install py-spy)", flush=True)
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}.txt"
    command = [tool, "record", "--gil", "--subprocesses", "--nonblocking", "-r", "200"]
    command += ["--format", "raw"]  # --subprocesses: awsprobe's worker processes too
    sampler = subprocess.Popen(
        [*command, "-o", str(out), "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)  # let it attach
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)
        try:
            sampler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sampler.kill()
            sampler.wait()
        if out.exists():
            summary = summarise_profile(out)
            (directory / f"{name}.summary.txt").write_text(summary, encoding="utf-8")
            print(f"  profile {name}: {out} (summary: {name}.summary.txt)", flush=True)


def summarise_profile(path: Path, top: int = 40) -> str:
    """Self and inclusive shares of functions in a py-spy ``--format raw`` file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f.split(":")[0] for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples\n"
    lines = [f"{total} samples holding the GIL", "", "self:"]
    lines += [f"{100 * v / total:5.1f}%  {k}" for k, v in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"{100 * v / total:5.1f}%  {k}" for k, v in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def _child_main(conn: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", func(*args)))
    except BaseException:  # report anything, including KeyboardInterrupt, to the parent
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_in_child(
    bench: Bench, name: str, func: Callable[..., Any], *args: Any, timeout: float = 600.0
) -> Any:
    """Run ``func(*args)`` in a fresh (spawned) interpreter and return its result.

    Not a daemon process: a daemon may not start processes, and awsprobe's
    ``processes="auto"`` starts its workers there (it is killed below if it lingers).
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(send, func, args), daemon=False)
    process.start()
    send.close()
    try:
        assert process.pid is not None
        with _sampled(bench, name, process.pid):
            if not receive.poll(timeout):
                raise TimeoutError(f"{name} did not finish within {timeout:.0f}s")
            status, payload = receive.recv()
    finally:
        receive.close()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
    if status != "ok":
        raise RuntimeError(f"{name} failed in its child process:\n{payload}")
    return payload


def _subset(entries: Sequence[Any], step: int) -> list[Any]:
    return list(entries)[::step] if step > 1 else list(entries)


# ---------------------------------------------------------------------------- costs


def botocore_costs(bench: Bench) -> dict[str, float]:
    """Per-call CPU seconds of a bare botocore client and of awsprobe, with a canned answer.

    * ``cold``: a fresh client sends each operation once -- the shape of a real
      sweep, where every (region, operation) is sent once per client;
    * ``warm``: the same client again (every per-operation cache filled);
    * ``cold_shared_alias``: a fresh client sharing the process's filled
      event-name alias cache (:func:`awsprobe.guard.share_alias_cache`, what
      every client awsprobe creates now does);
    * ``awsprobe_warm`` / ``awsprobe_cold``: :meth:`Runner.probe_one` likewise
      (a fresh runner's clients share that filled cache, as shipped).

    Rounds alternate and the least of each is kept.
    """
    if bench._costs is not None:
        return bench._costs
    from awsprobe.guard import share_alias_cache
    from awsprobe.model import Identity
    from awsprobe.probing.options import RunOptions
    from awsprobe.probing.pacing import Pacer
    from awsprobe.probing.runner import Runner

    entries = list(bench.catalog())
    rounds = 2 if bench.options.quick else 3
    session = botocore_session()
    session.register("before-send", _canned)
    url = "http://127.0.0.1:9"  # never reached: the canned handler answers first
    identity = Identity(arn=BENCH_IDENTITIES[0].arn, account="111122223333", user_id="bench")
    samples: dict[str, list[float]] = {
        k: [] for k in ("cold", "warm", "cold_shared_alias", "awsprobe_cold", "awsprobe_warm")
    }
    warm = _bare_client(session, REGION, url)
    _bare_loop(warm, entries)
    one = RunOptions(workers=1, endpoint_url=url)
    runner = Runner(session, one, identity=identity)
    runner.pacer = Pacer()
    for entry in entries:
        runner.probe_one(entry, REGION)
    n = len(entries)
    for _ in range(rounds):
        samples["cold"].append(_bare_loop(_bare_client(session, REGION, url), entries) / n)
        samples["warm"].append(_bare_loop(warm, entries) / n)
        shared = _bare_client(session, REGION, url)
        shared_alias = share_alias_cache(shared)  # filled by the runner's clients above
        samples["cold_shared_alias"].append(_bare_loop(shared, entries) / n)
        for key, fresh in (("awsprobe_cold", True), ("awsprobe_warm", False)):
            probe_runner = Runner(session, one, identity=identity) if fresh else runner
            probe_runner.pacer = Pacer()  # a fresh pacer: no bucket waits between rounds
            cpu = time.process_time()
            for entry in entries:
                probe_runner.probe_one(entry, REGION)
            samples[key].append((time.process_time() - cpu) / n)
            if fresh:
                probe_runner.close()
    # Warm awsprobe vs warm bare, paired chunk by chunk (order alternating), so a burst of
    # load from other processes hits both sides of a pair alike; the median pair decides.
    ratios: list[float] = []
    totals = {"awsprobe": 0.0, "bare": 0.0}
    chunks = [entries[i : i + 100] for i in range(0, n, 100)]
    for round_number in range(rounds + 1):
        for index, chunk in enumerate(chunks):
            pair: dict[str, float] = {}
            for side in (
                ("awsprobe", "bare") if (round_number + index) % 2 else ("bare", "awsprobe")
            ):
                if side == "bare":
                    pair[side] = _bare_loop(warm, chunk)
                else:
                    runner.pacer = Pacer()
                    cpu = time.process_time()
                    for entry in chunk:
                        runner.probe_one(entry, REGION)
                    pair[side] = time.process_time() - cpu
                totals[side] += pair[side]
            ratios.append(pair["awsprobe"] / pair["bare"])
    runner.close()
    bench._costs = {k: min(v) for k, v in samples.items()}
    bench._costs["paired_ratio"] = statistics.median(ratios)
    bench._costs["paired_awsprobe"] = totals["awsprobe"] / (n * (rounds + 1))
    bench._costs["paired_bare"] = totals["bare"] / (n * (rounds + 1))
    bench.details["per_call_cpu_us"] = {
        k: {"min": round(min(v) * 1e6, 1), "all": [round(x * 1e6, 1) for x in v]}
        for k, v in samples.items()
    }
    bench.details["per_call_cpu_us"]["cold_shared_alias"]["shared"] = shared_alias
    bench.details["per_call_cpu_us"]["paired_warm"] = {
        "awsprobe_mean": round(bench._costs["paired_awsprobe"] * 1e6, 1),
        "bare_mean": round(bench._costs["paired_bare"] * 1e6, 1),
        "median_ratio": round(bench._costs["paired_ratio"], 3),
        "ratios": [round(r, 3) for r in ratios],
    }
    return bench._costs


def wire_cost(bench: Bench, entries: Sequence[Any]) -> float:
    """Per-call CPU of a bare botocore client over HTTP to the fake at 0 ms (warm client)."""
    bench.fake.configure(latency=0.0, throttle=False)
    client = _bare_client(botocore_session(), REGION, bench.fake.endpoint_url)
    _bare_loop(client, entries)
    best = min(_bare_loop(client, entries) for _ in range(2)) / len(entries)
    client.close()
    return best


def wire_cost_cold(bench: Bench, entries: Sequence[Any]) -> float:
    """Per-call CPU of a bare botocore client over HTTP to the fake at 0 ms, a fresh client
    each round (each operation once, as in a sweep) sharing the process's alias cache as
    awsprobe's clients do: what a sweep costs with the HTTP stack (urllib3, http.client)
    that the canned CPU floor leaves out. Least of three rounds."""
    from awsprobe.guard import share_alias_cache

    if "wire_cold" in bench.details:
        return float(bench.details["wire_cold"])
    bench.fake.configure(latency=0.0, throttle=False)
    session = botocore_session()
    rounds = []
    for _ in range(3):
        client = _bare_client(session, REGION, bench.fake.endpoint_url)
        share_alias_cache(client)
        rounds.append(_bare_loop(client, entries) / len(entries))
        client.close()
    bench.fake.configure()
    bench.details["wire_cold"] = min(rounds)
    return min(rounds)


# ---------------------------------------------------------------------------- 1, 2, 3


def _planned(requested: int | str, probes: int) -> dict[str, Any]:
    """How many processes ``probe(processes=requested)`` will use here for ``probes`` probes.

    ``"auto"`` forks only while this process has no other thread
    (:func:`awsprobe.probing.parallel.fork_safe`); otherwise it stays in one process, and
    the figure would not measure what the CLI does -- hence ``warning``.
    """
    from awsprobe.probing.parallel import fork_safe, plan_processes, usable_cores

    safe = fork_safe()
    plan: dict[str, Any] = {
        "requested": requested,
        "processes": plan_processes(requested, probes),
        "fork_safe": safe,
        "threads": threading.active_count(),
        "usable_cores": usable_cores(),
        "warning": "",
    }
    if requested == "auto" and not safe:
        plan["warning"] = (
            f"WARNING: {plan['threads']} threads in the measuring process, so "
            "processes='auto' stayed in one process (not what the CLI does)"
        )
        print(f"  {plan['warning']}", flush=True)
    return plan


def _auto_text(plan: dict[str, Any], probes: int) -> str:
    """What ``processes="auto"`` chose, for a note."""
    from awsprobe.probing.parallel import MAX_AUTO_PROCESSES, MIN_PROBES_PER_PROCESS

    if plan["warning"]:
        return str(plan["warning"])
    return (
        f"auto chose {plan['processes']} process{'es' if plan['processes'] > 1 else ''} "
        f"(fork-safe, {plan['threads']} thread; {probes} probes, >= "
        f"{MIN_PROBES_PER_PROCESS} a process, {plan['usable_cores']} usable cores, at most "
        f"{MAX_AUTO_PROCESSES})"
    )


def measure_speed(bench: Bench) -> None:
    """1. vs a naive boto3 loop; 2. vs the physical limit; 3. per-probe CPU overhead.

    awsprobe runs as the CLI runs it: ``probe(processes="auto")`` with the
    default workers; the same with ``processes=1`` (the library's default) is
    the contrast.
    """
    from botocore.exceptions import ClientError

    from awsprobe import Catalog, probe
    from awsprobe.probing.options import DEFAULT_WORKERS

    latency = bench.options.latency
    entries = _subset(bench.catalog(), 4 if bench.options.quick else 1)
    catalog = Catalog(entries)
    n = len(entries)
    costs = botocore_costs(bench)
    bench.details["wire_cpu_us_per_call"] = round(wire_cost(bench, entries) * 1e6, 1)
    wire_cost_cold(bench, entries)  # before the runs: it sets the fake to 0 ms
    bench.fake.configure(latency=latency, throttle=False)

    def awsprobe_run(processes: int | str, workers: int | None = None) -> dict[str, Any]:
        bench.fake.configure()
        plan = _planned(processes, n)
        if workers is None:  # probe()'s default: DEFAULT_WORKERS per process
            workers = DEFAULT_WORKERS * plan["processes"]
        with timed() as t:
            matrix = probe(
                catalog=catalog,
                regions=[REGION],
                session=boto3_session(),
                workers=workers,
                endpoint_url=bench.fake.endpoint_url,
                processes=processes,
            )
        assert len(matrix.results) == n, "every probe answered"
        assert matrix.summary["error"] == 0, matrix.summary
        stats = bench.fake.stats()
        return {
            "wall": t.wall,
            "cpu": t.cpu,
            "workers_cpu": t.children_cpu,
            "workers": workers,
            "plan": plan,
            "fake_cpu_s": round(float(stats["cpu_seconds"]), 3),
            "fake_peak_in_flight": stats["peak_in_flight"],
        }

    runs: dict[str, list[dict[str, Any]]] = {"auto": [], "one": []}
    with _sampled(bench, "1-one-region-awsprobe", os.getpid()):
        for _ in range(2):  # best of two each, interleaved so drift hits both alike
            runs["auto"].append(awsprobe_run("auto"))
            runs["one"].append(awsprobe_run(1))
    auto = min(runs["auto"], key=lambda r: r["wall"])
    one = min(runs["one"], key=lambda r: r["wall"])
    # around the default (DEFAULT_WORKERS a process, so 2 x that on 2 cores): half and double
    sweep = {w: awsprobe_run("auto", w) for w in (DEFAULT_WORKERS, DEFAULT_WORKERS * 4)}

    bench.fake.configure()
    import boto3

    with timed() as naive:  # what a user writes by hand
        client = boto3.Session(
            aws_access_key_id=BENCH_IDENTITIES[0].access_key,
            aws_secret_access_key=BENCH_IDENTITIES[0].secret_key,
        ).client("ec2", region_name=REGION, endpoint_url=bench.fake.endpoint_url)
        verdicts: Counter[str] = Counter()
        for entry in entries:
            try:
                getattr(client, entry.method)(**entry.probe_params())
                verdicts["ran"] += 1
            except ClientError as exc:
                verdicts[exc.response["Error"]["Code"]] += 1
    wall = auto["wall"]
    used = auto["plan"]["processes"]
    bench.details["one_region"] = {
        "probes": n,
        "latency_s": latency,
        "workers": DEFAULT_WORKERS,
        "auto": runs["auto"],
        "one_process": runs["one"],
        "workers_sweep_auto": sweep,
        "naive_wall": round(naive.wall, 3),
        "naive_verdicts": dict(verdicts),
    }
    sweep_text = ", ".join(
        f"at {w} workers {r['wall']:.2f}s ({naive.wall / r['wall']:.1f}x)" for w, r in sweep.items()
    )
    bench.add(
        Figure(
            "1",
            f"{n} EC2 probes, 1 region, {latency * 1000:.0f} ms: naive boto3 loop / "
            "probe(processes='auto') as the CLI runs it",
            value=wall,
            reference=naive.wall,
            ratio=naive.wall / wall,
            unit="s",
            target=20.0,
            better="higher",
            note=(
                f"{_auto_text(auto['plan'], n)}; workers={auto['workers']} in all (the "
                f"default, {DEFAULT_WORKERS} a process); "
                f"{sweep_text}; CPU {auto['cpu']:.2f}s here + {auto['workers_cpu']:.2f}s in "
                "worker processes"
            ),
        )
    )
    bench.add(
        Figure(
            "1b",
            "same, one process (processes=1, the library default): naive / awsprobe",
            value=one["wall"],
            reference=naive.wall,
            ratio=naive.wall / one["wall"],
            unit="s",
            target=20.0,
            better="higher",
            note=(
                f"workers={one['workers']}; auto's gain over one process "
                f"{one['wall'] / wall:.2f}x; {one['cpu']:.2f}s CPU"
            ),
        )
    )
    latency_bound = n * latency / auto["workers"]
    cpu_floor = n * costs["cold"]
    wire = wire_cost_cold(bench, entries)
    limit = max(latency_bound, cpu_floor)
    bench.add(
        Figure(
            "2",
            "same run (processes='auto') / physical limit max(latency bound, CPU floor)",
            value=wall,
            reference=limit,
            ratio=wall / limit,
            unit="s",
            target=1.5,
            note=(
                f"latency bound {latency_bound:.2f}s (n x {latency * 1000:.0f} ms / "
                f"{auto['workers']}), CPU floor {cpu_floor:.2f}s (n x "
                f"{costs['cold'] * 1e6:.0f} us bare botocore, fresh client), floor / {used} "
                f"process{'es' if used > 1 else ''} used = {cpu_floor / used:.2f}s; awsprobe "
                f"used {auto['cpu'] + auto['workers_cpu']:.2f}s CPU in all; one process: "
                f"{one['wall'] / limit:.2f}x the limit; with the HTTP stack (bare botocore "
                f"over HTTP, fresh client: {wire * 1e6:.0f} us a call) the CPU floor is "
                f"{n * wire:.2f}s"
            ),
        )
    )
    _matrix_process(bench)
    pairs = len(bench.details["per_call_cpu_us"]["paired_warm"]["ratios"])
    bench.add(
        Figure(
            "3",
            "CPU per probe: awsprobe probe_one / bare botocore call (canned answer)",
            value=costs["paired_awsprobe"] * 1e6,
            reference=costs["paired_bare"] * 1e6,
            ratio=costs["paired_ratio"],
            unit="us",
            target=1.3,
            note=(
                f"warm clients, median of {pairs} paired chunks of 100 calls; fresh clients: "
                f"awsprobe {costs['awsprobe_cold'] * 1e6:.0f} us (its clients share the "
                f"process's filled alias cache, as shipped) vs bare "
                f"{costs['cold'] * 1e6:.0f} us ({costs['awsprobe_cold'] / costs['cold']:.2f}x); "
                f"a bare fresh client sharing that cache too: "
                f"{costs['cold_shared_alias'] * 1e6:.0f} us "
                f"({costs['awsprobe_cold'] / costs['cold_shared_alias']:.2f}x); over HTTP "
                f"(0 ms): {bench.details['wire_cpu_us_per_call']:.0f} us"
            ),
        )
    )


def _matrix_process(bench: Bench) -> None:
    """1w: the run of figure 1 as the user runs it, ``awsprobe matrix`` as a process."""
    from awsprobe import load_catalog
    from benchmarks import whole

    if bench.options.quick:  # a subset the CLI can name: the Describe calls
        selection = ["--actions", "ec2:Describe*"]
        entries = list(load_catalog(services="ec2", actions="ec2:Describe*"))
    else:
        selection = ["--services", "ec2"]
        entries = list(bench.catalog())
    whole.measure_matrix_process(bench, entries, selection, rounds=3)


# ---------------------------------------------------------------------------- 4


def scale_run(
    url: str,
    regions: Sequence[str],
    step: int,
    processes: int | str,
    repeats: int,
    repeat_step: int,
) -> dict[str, Any]:
    """In a fresh interpreter: one ``probe(processes=...)`` over every region, then
    ``repeats`` small runs in this process (``processes=1``) to see whether RSS grows."""
    from awsprobe import Catalog, load_catalog, probe

    entries = _subset(load_catalog(services="ec2"), step)
    gc.collect()
    before = rss_mb()
    plan = _planned(processes, len(entries) * len(regions))
    with timed() as t:
        matrix = probe(
            catalog=Catalog(entries),
            regions=list(regions),
            session=boto3_session(),
            endpoint_url=url,
            processes=processes,
        )
    result: dict[str, Any] = {
        "probes": len(matrix.results),
        "summary": matrix.summary,
        "plan": plan,
        "wall": t.wall,
        "cpu": t.cpu,
        "workers_cpu": t.children_cpu,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "workers_peak_rss_mb": children_peak_rss_mb(),  # the largest worker's (0: none)
    }
    del matrix
    if not repeats:
        return result
    small = Catalog(_subset(entries, repeat_step))
    rss: list[float] = []
    objects: list[int] = []
    for _ in range(repeats):
        again = probe(
            catalog=small,
            regions=list(regions),
            session=boto3_session(),
            endpoint_url=url,
            processes=1,
        )
        del again
        gc.collect()
        rss.append(rss_mb())
        objects.append(len(gc.get_objects()))
    result.update(repeat_probes=len(small) * len(regions), rss_after_runs=rss, objects=objects)
    return result


def measure_scale(bench: Bench) -> None:
    """4. All default regions x the catalog: wall vs CPU floor, memory.

    Each run is in a fresh interpreter (one thread, so ``processes="auto"``
    may fork, as in the CLI): ``probe(processes="auto")``, then ``processes=1``
    as the contrast, followed by the repeated runs of 4e.
    """
    from awsprobe.probing.options import DEFAULT_WORKERS

    quick = bench.options.quick
    regions = DEFAULT_REGIONS[:4] if quick else DEFAULT_REGIONS
    step = 2 if quick else 1
    entries = _subset(bench.catalog(), step)
    n = len(entries) * len(regions)
    costs = botocore_costs(bench)
    wire = wire_cost_cold(bench, entries)
    cores = bench.cores
    url = bench.fake.endpoint_url
    bench.fake.configure(latency=bench.options.latency, throttle=False)

    runs: dict[str, dict[str, Any]] = {}
    for label, processes, repeats in (("auto", "auto", 0), ("one", 1, 4 if quick else 5)):
        bench.fake.configure()
        warm_memory()  # each run starts alike on a VM that returns idle memory to its host
        run = run_in_child(
            bench, f"4-scale-{label}", scale_run, url, regions, step, processes, repeats, 48
        )
        run["fake"] = bench.fake.stats()
        assert run["probes"] == n, run["probes"]
        assert run["summary"]["error"] == 0, run["summary"]
        runs[label] = run
    auto, one = runs["auto"], runs["one"]
    if auto["plan"]["warning"]:
        print(f"  {auto['plan']['warning']} (figure 4)", flush=True)

    def floor(run: dict[str, Any]) -> float:
        return (n * costs["cold"] + float(run["fake"]["cpu_seconds"])) / cores

    bench.details["scale"] = {
        "regions": len(regions),
        "probes": n,
        "cores": cores,
        "auto": auto,
        "one_process": one,
        "latency_bound_default_workers": n * bench.options.latency / DEFAULT_WORKERS,
    }
    used = auto["plan"]["processes"]
    auto_cpu = auto["cpu"] + auto["workers_cpu"]
    bench.add(
        Figure(
            "4a",
            f"{len(regions)} regions x {len(entries)} = {n} probes, probe(processes='auto') "
            "as the CLI runs it / CPU floor of the cores",
            value=auto["wall"],
            reference=floor(auto),
            ratio=auto["wall"] / floor(auto),
            unit="s",
            target=1.5,
            note=(
                f"{_auto_text(auto['plan'], n)}; floor = (n x {costs['cold'] * 1e6:.0f} us + "
                f"fake's {auto['fake']['cpu_seconds']:.1f}s CPU) / {cores} cores; awsprobe "
                f"used {auto_cpu:.1f}s CPU ({auto['cpu']:.1f}s in the parent, "
                f"{auto['workers_cpu']:.1f}s in {used} workers; {auto_cpu / n * 1e6:.0f} "
                f"us/probe); gain over one process {one['wall'] / auto['wall']:.2f}x"
            ),
        )
    )
    bench.add(
        Figure(
            "4b",
            "same, one process (processes=1, the library default) / CPU floor (info)",
            value=one["wall"],
            reference=floor(one),
            ratio=one["wall"] / floor(one),
            unit="s",
            note=(
                f"{one['cpu']:.1f}s CPU ({one['cpu'] / n * 1e6:.0f} us/probe) on one core: "
                "one interpreter runs Python on one core at a time"
            ),
        )
    )
    wire_floor = (n * wire + float(auto["fake"]["cpu_seconds"])) / cores
    bench.add(
        Figure(
            "4c",
            "same run (processes='auto') / floor with the HTTP stack: bare botocore over "
            "HTTP, fresh clients (info)",
            value=auto["wall"],
            reference=wire_floor,
            ratio=auto["wall"] / wire_floor,
            unit="s",
            note=(
                f"floor = (n x {wire * 1e6:.0f} us, a bare fresh client sharing the alias cache "
                f"over HTTP at 0 ms, + the fake's CPU) / {cores} cores; the CPU floor of 4a "
                f"({costs['cold'] * 1e6:.0f} us a call) answers from a canned before-send "
                "handler, so it leaves out urllib3, http.client and the socket (awsprobe "
                "sends through its own HTTP session, awsprobe.transport)"
            ),
        )
    )
    peak = max(auto["peak_rss_mb"], auto["workers_peak_rss_mb"])
    bench.add(
        Figure(
            "4d",
            "peak RSS of the largest process of probe(processes='auto') / 200 MB budget",
            value=peak,
            reference=200.0,
            ratio=peak / 200.0,
            unit="MB",
            target=1.0,
            note=(
                f"parent {auto['peak_rss_mb']:.0f} MB, largest of {used} workers "
                f"{auto['workers_peak_rss_mb']:.0f} MB (forked: pages shared with the parent "
                f"count in both); the one-process run peaked at {one['peak_rss_mb']:.0f} MB"
            ),
        )
    )
    rss = one["rss_after_runs"]
    objects = one["objects"]
    bench.add(
        Figure(
            "4e",
            f"RSS after {len(rss)} repeated runs / after the 2nd (same process, processes=1)",
            value=rss[-1],
            reference=rss[1],
            ratio=rss[-1] / rss[1],
            unit="MB",
            target=1.05,
            note=(
                f"{one['repeat_probes']} probes a run, in the process that ran 4b; gc objects "
                f"{objects[1]} -> {objects[-1]} ({objects[-1] - objects[1]:+d}); RSS by run "
                + ", ".join(f"{x:.0f}" for x in rss)
            ),
        )
    )


# ---------------------------------------------------------------------------- 5


def _throttled_text(stats: dict[str, Any], account: str) -> str:
    early = stats["throttled_early_ms"]
    return ", ".join(
        f"{action} x{count}, up to {early.get(f'{account}/{action}', 0):.0f} ms early"
        for action, count in sorted(stats["throttled_actions"].get(account, {}).items())
    )


def _throttle_errors(matrices: Sequence[Any]) -> int:
    return sum(
        1
        for m in matrices
        for r in m.results
        if r.outcome.value == "error" and getattr(r.error_kind, "value", "") == "throttled"
    )


def measure_throttling(bench: Bench) -> None:
    """5. Identities of one account against the bucket-enforcing fake."""
    import inspect

    from awsprobe import Catalog, probe
    from awsprobe.probing.options import RunOptions
    from awsprobe.probing.pacing import Pacer
    from awsprobe.probing.runner import Runner
    from benchmarks.fake_aws import bucket_for

    quick = bench.options.quick
    identities = BENCH_IDENTITIES[:3] if quick else BENCH_IDENTITIES
    entries = list(bench.catalog())
    catalog = Catalog(entries)
    latency = bench.options.latency
    url = bench.fake.endpoint_url
    minimum = min_seconds_for({e.operation: len(identities) for e in entries}) + latency
    total = len(entries) * len(identities)
    sessions = [boto3_session(i) for i in identities]

    # What awsprobe offers today for several identities.
    bench.fake.configure(latency=latency, throttle=True)
    shared_api = "sessions" in inspect.signature(probe).parameters
    with timed() as t:
        if shared_api:  # probe(sessions=[...]) shares one Pacer across the identities
            matrices = [
                probe(catalog=catalog, regions=[REGION], sessions=sessions, endpoint_url=url)
            ]
        else:  # the library's documented way: Runners sharing one Pacer, one after another
            pacer = Pacer()
            matrices = [
                Runner(s, RunOptions(endpoint_url=url), pacer=pacer).run(entries, [REGION])
                for s in sessions
            ]
    stats = bench.fake.stats()
    errors = _throttle_errors(matrices)
    how = "probe(sessions=...)" if shared_api else "Runners sharing one Pacer"
    details: dict[str, Any] = {
        "identities": len(identities),
        "probes": total,
        "results": sum(len(m.results) for m in matrices),
        "api": how,
        "minimum_s": minimum,
        "shared": {"wall": t.wall, "fake": stats, "throttle_errors": errors},
    }
    bench.details["throttling"] = details
    throttled = _throttled_text(stats, ACCOUNT)
    bench.add(
        Figure(
            "5a",
            f"{len(identities)} identities of one account, buckets enforced: wall / the "
            "buckets' minimum",
            value=t.wall,
            reference=minimum,
            ratio=t.wall / minimum,
            unit="s",
            target=1.2,
            note=(
                f"{how}; {stats['throttled']} RequestLimitExceeded answers, retried "
                f"({throttled or 'none'}); the minimum is set by AdvertiseByoipCidr "
                "(1 token, 0.1/s)"
            ),
        )
    )
    bench.add(
        Figure(
            "5b",
            "probes ending in error from throttling / probes",
            value=float(errors),
            reference=float(total),
            ratio=errors / total,
            unit="probes",
            target=0.0,
        )
    )
    if not bench.options.extra:
        return

    # 5d, the contrast: one probe() per identity at once, each with its own pacer, on the
    # actions whose bucket holds fewer tokens than there are identities. A second account
    # (its own buckets; a few probes).
    tight = Catalog(e for e in entries if bucket_for(e.operation)[0] < len(identities))
    others = [boto3_session(i) for i in OTHER_IDENTITIES[: len(identities)]]
    bench.fake.configure()
    with timed() as apart:
        contrast = _concurrently(
            lambda s: probe(catalog=tight, regions=[REGION], session=s, endpoint_url=url),
            others,
        )
    both = bench.fake.stats()
    apart_errors = _throttle_errors(contrast)
    details["separate"] = {
        "actions": [e.operation for e in tight],
        "wall": apart.wall,
        "throttled": both["throttled_actions"].get(OTHER_ACCOUNT, {}),
        "throttle_errors": apart_errors,
    }
    bench.add(
        Figure(
            "5d",
            f"contrast: one probe() per identity at once, {len(tight)} tight actions: "
            "throttle errors / probes (info)",
            value=float(apart_errors),
            reference=float(len(tight) * len(identities)),
            ratio=apart_errors / (len(tight) * len(identities)),
            unit="probes",
            note=(
                f"RequestLimitExceeded: {_throttled_text(both, OTHER_ACCOUNT) or 'none'}; "
                f"{apart.wall:.1f}s; run with a second account (its own buckets)"
            ),
        )
    )


def _concurrently(call: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    results: list[Any] = [None] * len(items)
    failures: list[BaseException] = []

    def one(index: int, item: Any) -> None:
        try:
            results[index] = call(item)
        except BaseException as exc:  # re-raised in the caller's thread
            failures.append(exc)

    threads = [
        threading.Thread(target=one, args=(i, item), name=f"bench-{i}")
        for i, item in enumerate(items)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


# ---------------------------------------------------------------------------- 6


def _command_env(cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env["AWSPROBE_CACHE_DIR"] = cache_dir
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _awsprobe_command() -> list[str]:
    script = Path(sys.executable).with_name("awsprobe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "awsprobe"]


def _time_commands(
    commands: dict[str, list[str]], env: dict[str, str], rounds: int
) -> dict[str, list[float]]:
    """Wall seconds of each whole process, rounds interleaved so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(
                command,
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
            times[name].append(time.perf_counter() - started)
    return times


def measure_startup(bench: Bench) -> None:
    """6. CLI start-up vs one boto3 client in a fresh interpreter; the catalog index."""
    from benchmarks import bench_catalog

    rounds = 5 if bench.options.quick else 9
    cli = _awsprobe_command()
    python = sys.executable
    with tempfile.TemporaryDirectory() as cache:
        env = _command_env(cache)
        subprocess.run(  # fill the index cache once
            [*cli, "catalog", "--services", "ec2", "--output", "json"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        times = _time_commands(
            {
                "help": [*cli, "--help"],
                "catalog": [*cli, "catalog", "--services", "ec2", "--output", "json"],
                "boto3_client": [
                    python,
                    "-c",
                    "import boto3; boto3.client('ec2', region_name='us-east-1')",
                ],
                "import_awsprobe": [python, "-c", "import awsprobe"],
                "import_boto3": [python, "-c", "import boto3"],
            },
            env,
            rounds,
        )
    median = {k: statistics.median(v) for k, v in times.items()}
    bench.details["startup"] = {k: [round(x, 4) for x in v] for k, v in times.items()}
    ref = median["boto3_client"]
    bench.add(
        Figure(
            "6a",
            "`awsprobe --help` / one boto3 EC2 client, whole processes (median)",
            value=median["help"],
            reference=ref,
            ratio=median["help"] / ref,
            unit="s",
            target=1.0,
            note=f"{rounds} interleaved rounds",
        )
    )
    bench.add(
        Figure(
            "6b",
            "`awsprobe catalog --services ec2 --output json` / one boto3 EC2 client",
            value=median["catalog"],
            reference=ref,
            ratio=median["catalog"] / ref,
            unit="s",
            target=1.0,
            note="index cached on disk (the normal case)",
        )
    )
    bench.add(
        Figure(
            "6c",
            "`import awsprobe` / `import boto3` (info)",
            value=median["import_awsprobe"],
            reference=median["import_boto3"],
            ratio=median["import_awsprobe"] / median["import_boto3"],
            unit="s",
        )
    )
    cold, warm, floor = bench_catalog.measure(rounds=2 if bench.options.quick else 3)
    bench.details["catalog_index"] = {"cold": cold, "warm": warm, "floor": floor}
    bench.add(
        Figure(
            "6d",
            "load_catalog('ec2') in a fresh interpreter: cached / first run (info)",
            value=warm,
            reference=cold,
            ratio=warm / cold,
            unit="s",
            note=f"floor (import botocore + load the ec2 model): {floor:.2f}s",
        )
    )
    from benchmarks import whole

    whole.measure_first_run(bench, rounds)


# ---------------------------------------------------------------------------- 7


def sandbox_run(fake_url: str) -> dict[str, Any]:
    """In a fresh interpreter: the full EC2 catalog against the sandbox, then the fake."""
    from awsprobe import Sandbox, load_catalog, probe

    catalog = load_catalog(services="ec2")
    started = time.perf_counter()
    with Sandbox() as sandbox:
        ready = time.perf_counter()
        cpu = time.process_time()
        matrix = probe(
            catalog=catalog,
            regions=[sandbox.region],
            session=sandbox.session(),
            endpoint_url=sandbox.endpoint_url,
        )
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    summary = matrix.summary
    with timed() as fake:
        probe(catalog=catalog, regions=[REGION], session=boto3_session(), endpoint_url=fake_url)
    return {
        "probes": len(matrix.results),
        "summary": summary,
        "start": ready - started,
        "probe": done - ready,
        "cpu": cpu,
        "fake_wall": fake.wall,
    }


def measure_sandbox(bench: Bench) -> None:
    """7. The sandbox: the full EC2 catalog in one region, probes per second."""
    bench.fake.configure(latency=0.0, throttle=False)
    result = run_in_child(bench, "7-sandbox", sandbox_run, bench.fake.endpoint_url)
    bench.details["sandbox"] = result
    total = result["start"] + result["probe"]
    bench.add(
        Figure(
            "7",
            f"sandbox: {result['probes']} EC2 probes, start + probe / same vs fake at 0 ms",
            value=total,
            reference=result["fake_wall"],
            ratio=total / result["fake_wall"],
            unit="s",
            target=3.0,
            target_on="value",
            note=(
                f"target: value <= 3 s; {result['probes'] / result['probe']:.0f} probes/s; "
                f"start {result['start']:.2f}s, probe {result['probe']:.2f}s, "
                f"{result['cpu']:.1f}s CPU in the probing process (the sandbox serves from its "
                "own forked process where forking is safe, as here)"
            ),
        )
    )


#: Measurement number -> (what, function), in run order.
MEASUREMENTS: Final[dict[str, tuple[str, Callable[[Bench], None]]]] = {
    "1": ("speed-up, limit and per-probe CPU (figures 1-3)", measure_speed),
    "4": ("scale: every default region", measure_scale),
    "5": ("throttling: identities of one account", measure_throttling),
    "6": ("start-up", measure_startup),
    "7": ("sandbox", measure_sandbox),
}
#: Figures 2 and 3 come from the same run as figure 1.
ALIASES: Final = {"2": "1", "3": "1"}
