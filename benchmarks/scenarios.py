"""The measurements: each returns :class:`~benchmarks.harness.Figure` rows and raw details.

Every figure compares awsprobe with a reference measured in the same run, so
the ratio survives a slow or busy machine better than any absolute number.

1. speed-up over a naive sequential boto3 loop (one region, full EC2 catalog);
2. distance from the physical limit of that run (latency bound, CPU floor);
3. awsprobe's own CPU per probe over a bare botocore call;
4. scale: 17 regions x the catalog, against the CPU floor of this machine's
   cores; memory; a process-pool prototype;
5. five identities of one account against EC2's token buckets;
6. start-up of the CLI against creating one boto3 client;
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
    peak_rss_mb,
    rss_mb,
    timed,
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
    processes: int = 0  # 0: the usable cores
    pool_workers: int = 32  # threads per process in the process-pool prototype
    extra: bool = False  # also the slower prototypes and contrasts


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
    command = [tool, "record", "--gil", "--nonblocking", "-r", "200", "--format", "raw"]
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
    """Run ``func(*args)`` in a fresh (spawned) interpreter and return its result."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(send, func, args), daemon=True)
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
    * ``cold_shared_alias``: fresh client sharing a filled alias cache (prototype);
    * ``awsprobe_warm`` / ``awsprobe_cold``: :meth:`Runner.probe_one` likewise.

    Rounds alternate and the least of each is kept.
    """
    if bench._costs is not None:
        return bench._costs
    from awsprobe.matrix import Identity
    from awsprobe.runner import Pacer, Runner

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
    alias_cache = warm.meta.events._alias_name_cache
    runner = Runner(session, workers=1, endpoint_url=url, identity=identity)
    runner.pacer = Pacer()
    for entry in entries:
        runner.probe_one(entry, REGION)
    n = len(entries)
    for _ in range(rounds):
        samples["cold"].append(_bare_loop(_bare_client(session, REGION, url), entries) / n)
        samples["warm"].append(_bare_loop(warm, entries) / n)
        shared = _bare_client(session, REGION, url)
        shared.meta.events._alias_name_cache = alias_cache
        samples["cold_shared_alias"].append(_bare_loop(shared, entries) / n)
        for key, fresh in (("awsprobe_cold", True), ("awsprobe_warm", False)):
            probe_runner = (
                Runner(session, workers=1, endpoint_url=url, identity=identity) if fresh else runner
            )
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


# ---------------------------------------------------------------------------- 1, 2, 3


def measure_speed(bench: Bench) -> None:
    """1. vs a naive boto3 loop; 2. vs the physical limit; 3. per-probe CPU overhead."""
    from botocore.exceptions import ClientError

    from awsprobe import Catalog, probe
    from awsprobe.runner import DEFAULT_WORKERS

    latency = bench.options.latency
    entries = _subset(bench.catalog(), 4 if bench.options.quick else 1)
    catalog = Catalog(entries)
    n = len(entries)
    costs = botocore_costs(bench)
    bench.details["wire_cpu_us_per_call"] = round(wire_cost(bench, entries) * 1e6, 1)
    bench.fake.configure(latency=latency, throttle=False)

    def awsprobe_run(workers: int) -> tuple[float, float, dict[str, Any]]:
        bench.fake.configure()
        with timed() as t:
            matrix = probe(
                catalog=catalog,
                regions=[REGION],
                session=boto3_session(),
                workers=workers,
                endpoint_url=bench.fake.endpoint_url,
            )
        assert len(matrix.results) == n, "every probe answered"
        assert matrix.summary["error"] == 0, matrix.summary
        return t.wall, t.cpu, bench.fake.stats()

    runs = []
    with _sampled(bench, "1-one-region-awsprobe", os.getpid()):
        for _ in range(2):
            runs.append(awsprobe_run(DEFAULT_WORKERS))
    wall, cpu, stats = min(runs, key=lambda r: r[0])
    sweep = {}
    for workers in (32, 64):
        w_wall, w_cpu, _ = awsprobe_run(workers)
        sweep[workers] = {"wall": round(w_wall, 3), "cpu": round(w_cpu, 3)}

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
    pool = _pool_run(bench, [REGION], [e.operation for e in entries], prototype=False)
    bench.details["one_region"] = {
        "probes": n,
        "latency_s": latency,
        "workers": DEFAULT_WORKERS,
        "awsprobe_walls": [round(r[0], 3) for r in runs],
        "awsprobe_cpu": round(cpu, 3),
        "fake_cpu_s": round(float(stats["cpu_seconds"]), 3),
        "fake_peak_in_flight": stats["peak_in_flight"],
        "workers_sweep": sweep,
        "naive_wall": round(naive.wall, 3),
        "naive_verdicts": dict(verdicts),
        "pool": pool,
    }
    bench.add(
        Figure(
            "1",
            f"{n} EC2 probes, 1 region, {latency * 1000:.0f} ms: naive boto3 loop / awsprobe",
            value=wall,
            reference=naive.wall,
            ratio=naive.wall / wall,
            unit="s",
            target=20.0,
            better="higher",
            note=(
                f"workers={DEFAULT_WORKERS}; at 32 workers {sweep[32]['wall']:.2f}s "
                f"({naive.wall / sweep[32]['wall']:.1f}x), at 64 {sweep[64]['wall']:.2f}s "
                f"({naive.wall / sweep[64]['wall']:.1f}x)"
            ),
        )
    )
    bench.add(
        Figure(
            "1b",
            f"same, process pool (bench prototype, {pool['processes']} processes): naive / pool",
            value=pool["wall"],
            reference=naive.wall,
            ratio=naive.wall / pool["wall"],
            unit="s",
            target=20.0,
            better="higher",
            note=(
                f"{pool['start_method']}, {bench.options.pool_workers} threads each; start-up "
                f"{pool['startup']:.2f}s of it"
            ),
        )
    )
    latency_bound = n * latency / DEFAULT_WORKERS
    cpu_floor = n * costs["cold"]
    limit = max(latency_bound, cpu_floor)
    bench.add(
        Figure(
            "2",
            "same run / physical limit max(latency bound, CPU floor)",
            value=wall,
            reference=limit,
            ratio=wall / limit,
            unit="s",
            target=1.5,
            note=(
                f"latency bound {latency_bound:.2f}s (n x {latency * 1000:.0f} ms / "
                f"{DEFAULT_WORKERS}), CPU floor {cpu_floor:.2f}s (n x "
                f"{costs['cold'] * 1e6:.0f} us bare botocore, fresh client); awsprobe used "
                f"{cpu:.2f}s CPU"
            ),
        )
    )
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
                f"awsprobe {costs['awsprobe_cold'] * 1e6:.0f} us vs "
                f"bare {costs['cold'] * 1e6:.0f} us "
                f"({costs['awsprobe_cold'] / costs['cold']:.2f}x); fresh client sharing a "
                f"filled alias cache: {costs['cold_shared_alias'] * 1e6:.0f} us; over HTTP "
                f"(0 ms): {bench.details['wire_cpu_us_per_call']:.0f} us"
            ),
        )
    )


def _pool_run(
    bench: Bench, regions: Sequence[str], operations: Sequence[str], *, prototype: bool
) -> dict[str, Any]:
    """One run of the process-pool prototype against the fake; its costs (results dropped)."""
    from awsprobe.runner import caller_identity
    from benchmarks.parallel import ProbeTask, plan, probe_parallel

    url = bench.fake.endpoint_url
    processes = bench.options.processes or bench.cores
    who = caller_identity(botocore_session(), endpoint_url=url)
    tasks = [
        ProbeTask(
            access_key=BENCH_IDENTITIES[0].access_key,
            secret_key=BENCH_IDENTITIES[0].secret_key,
            identity=(who.arn, who.account, who.user_id),
            regions=chunk_regions,
            operations=chunk_operations,
            endpoint_url=url,
            workers=bench.options.pool_workers,
            prototype=prototype,
        )
        for chunk_regions, chunk_operations in plan(regions, operations, processes)
    ]
    bench.fake.configure()
    run = probe_parallel(tasks, processes)
    expected = len(regions) * len(operations)
    assert len(run.results) == expected, (len(run.results), expected)
    errors = sum(1 for r in run.results if r.outcome.value == "error")
    assert errors == 0, errors
    costs = {
        "processes": processes,
        "start_method": run.start_method,
        "wall": run.wall,
        "startup": run.startup,
        "per_process": run.per_process,
        "fake": bench.fake.stats(),
    }
    del run
    gc.collect()
    return costs


# ---------------------------------------------------------------------------- 4


def scale_single_process(
    url: str,
    regions: Sequence[str],
    step: int,
    repeats: int,
    repeat_step: int,
    prototype: bool = False,
) -> dict[str, Any]:
    """In a fresh interpreter: one run over every region, then repeated small runs.

    ``prototype``: a :class:`~benchmarks.prototypes.PrototypeRunner` with the
    shared alias cache and client eviction instead of ``probe()``.
    """
    from awsprobe import Catalog, load_catalog, probe

    entries = _subset(load_catalog(services="ec2"), step)
    gc.collect()
    before = rss_mb()
    with timed() as t:
        if prototype:
            from benchmarks.prototypes import PrototypeRunner

            with PrototypeRunner(
                botocore_session(), endpoint_url=url, alias=True, evict=True
            ) as runner:
                matrix = runner.run(entries, list(regions))
        else:
            matrix = probe(
                catalog=Catalog(entries),
                regions=list(regions),
                session=boto3_session(),
                endpoint_url=url,
            )
    result: dict[str, Any] = {
        "probes": len(matrix.results),
        "summary": matrix.summary,
        "wall": t.wall,
        "cpu": t.cpu,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
    }
    del matrix
    if not repeats:
        return result
    small = Catalog(_subset(entries, repeat_step))
    rss: list[float] = []
    objects: list[int] = []
    for _ in range(repeats):
        again = probe(
            catalog=small, regions=list(regions), session=boto3_session(), endpoint_url=url
        )
        del again
        gc.collect()
        rss.append(rss_mb())
        objects.append(len(gc.get_objects()))
    result.update(repeat_probes=len(small) * len(regions), rss_after_runs=rss, objects=objects)
    return result


def _prototypes_label() -> str:
    from benchmarks.prototypes import runner_evicts

    return "shared alias cache" + ("" if runner_evicts() else " + client eviction") + " (prototype)"


def measure_scale(bench: Bench) -> None:
    """4. All default regions x the catalog: wall vs CPU floor, memory, process pool."""
    quick = bench.options.quick
    regions = DEFAULT_REGIONS[:4] if quick else DEFAULT_REGIONS
    step = 2 if quick else 1
    entries = _subset(bench.catalog(), step)
    n = len(entries) * len(regions)
    costs = botocore_costs(bench)
    cores = bench.cores
    processes = bench.options.processes or cores
    url = bench.fake.endpoint_url
    bench.fake.configure(latency=bench.options.latency, throttle=False)

    single = run_in_child(
        bench,
        "4-scale-single-process",
        scale_single_process,
        url,
        regions,
        step,
        4 if quick else 5,
        48,
    )
    single_fake = bench.fake.stats()
    assert single["probes"] == n, single["probes"]
    assert single["summary"]["error"] == 0, single["summary"]

    operations = [e.operation for e in entries]
    variants = {
        label: _pool_run(bench, regions, operations, prototype=proto)
        for label, proto in (("pool", False), ("pool+prototypes", True))
    }

    def floor(fake_cpu: float) -> float:
        return (n * costs["cold"] + fake_cpu) / cores

    single_floor = floor(float(single_fake["cpu_seconds"]))
    bench.details["scale"] = {
        "regions": len(regions),
        "probes": n,
        "cores": cores,
        "processes": processes,
        "pool_workers_per_process": bench.options.pool_workers,
        "single": single,
        "single_fake": single_fake,
        "variants": variants,
        "latency_bound_default_workers": n * bench.options.latency / 16,
    }
    bench.add(
        Figure(
            "4a",
            f"{len(regions)} regions x {len(entries)} = {n} probes, one process "
            "(probe() as shipped) / CPU floor of the cores",
            value=single["wall"],
            reference=single_floor,
            ratio=single["wall"] / single_floor,
            unit="s",
            target=1.5,
            note=(
                f"floor = (n x {costs['cold'] * 1e6:.0f} us + fake's "
                f"{single_fake['cpu_seconds']:.1f}s CPU) / {cores} cores; awsprobe used "
                f"{single['cpu']:.1f}s CPU ({single['cpu'] / n * 1e6:.0f} us/probe) on one core"
            ),
        )
    )
    for number, label in (("4b", "pool"), ("4c", "pool+prototypes")):
        variant = variants[label]
        ref = floor(float(variant["fake"]["cpu_seconds"]))
        cpu_total = sum(p["cpu"] for p in variant["per_process"])
        what = "process pool (prototype)"
        if label != "pool":
            what += f" + {_prototypes_label()}"
        what += f", {variant['start_method']}"
        bench.add(
            Figure(
                number,
                f"same, {what}, {processes} processes / CPU floor",
                value=variant["wall"],
                reference=ref,
                ratio=variant["wall"] / ref,
                unit="s",
                target=1.5,
                note=(
                    f"gain over one process {single['wall'] / variant['wall']:.2f}x; start-up "
                    f"{variant['startup']:.2f}s; {cpu_total:.1f}s CPU in the workers "
                    f"({cpu_total / n * 1e6:.0f} us/probe)"
                ),
            )
        )
    if bench.options.extra:
        bench.fake.configure()
        proto = run_in_child(
            bench,
            "4-scale-prototype",
            scale_single_process,
            url,
            regions,
            step,
            0,
            32,
            True,
        )
        proto_fake = bench.fake.stats()
        assert proto["summary"]["error"] == 0, proto["summary"]
        bench.details["scale"]["prototype_single"] = {**proto, "fake": proto_fake}
        ref = floor(float(proto_fake["cpu_seconds"]))
        bench.add(
            Figure(
                "4f",
                f"same, one process, Runner + {_prototypes_label()} / CPU floor",
                value=proto["wall"],
                reference=ref,
                ratio=proto["wall"] / ref,
                unit="s",
                target=1.5,
                note=(
                    f"gain over probe() as shipped {single['wall'] / proto['wall']:.2f}x; "
                    f"{proto['cpu'] / n * 1e6:.0f} us CPU/probe; peak RSS "
                    f"{proto['peak_rss_mb']:.0f} MB (as shipped {single['peak_rss_mb']:.0f} MB)"
                ),
            )
        )
    peak = single["peak_rss_mb"]
    pool_peaks = [p["peak_rss_mb"] for v in variants.values() for p in v["per_process"]]
    bench.add(
        Figure(
            "4d",
            "peak RSS of the one-process run (probe() as shipped) / 200 MB budget",
            value=peak,
            reference=200.0,
            ratio=peak / 200.0,
            unit="MB",
            target=1.0,
            note=(
                f"pool workers peaked at {max(pool_peaks):.0f} MB each "
                f"({variants['pool']['start_method']}: inherited pages count as theirs)"
            ),
        )
    )
    rss = single["rss_after_runs"]
    objects = single["objects"]
    bench.add(
        Figure(
            "4e",
            f"RSS after {len(rss)} repeated runs / after the 2nd (same process)",
            value=rss[-1],
            reference=rss[1],
            ratio=rss[-1] / rss[1],
            unit="MB",
            target=1.05,
            note=(
                f"{single['repeat_probes']} probes a run; gc objects {objects[1]} -> "
                f"{objects[-1]} ({objects[-1] - objects[1]:+d}); RSS by run "
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
    from awsprobe.runner import Pacer, Runner
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
                Runner(s, pacer=pacer, endpoint_url=url).run(entries, [REGION]) for s in sessions
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

    from benchmarks.prototypes import MarginPacer, runner_has_margin

    landed = runner_has_margin()  # then 5a measures the change itself: no 5c

    # 5c, and at the same time 5d with a second account (its own buckets; a few probes).
    # 5d is the contrast: one probe() per identity at once, each with its own pacer, on
    # the actions whose bucket holds fewer tokens than there are identities.
    tight = Catalog(e for e in entries if bucket_for(e.operation)[0] < len(identities))
    others = [boto3_session(i) for i in OTHER_IDENTITIES[: len(identities)]]
    contrast: dict[str, Any] = {}

    def separately() -> None:
        with timed() as apart:
            contrast["matrices"] = _concurrently(
                lambda s: probe(catalog=tight, regions=[REGION], session=s, endpoint_url=url),
                others,
            )
        contrast["wall"] = apart.wall

    bench.fake.configure()
    background = threading.Thread(target=separately, name="bench-contrast")
    background.start()
    if landed:
        background.join()
        both = bench.fake.stats()
        details["margin_pacer"] = "in the runner (awsprobe.runner.RATE_MARGIN): see 5a"
    else:
        margin = MarginPacer()
        with timed() as proto:
            prototype = [
                Runner(s, pacer=margin, endpoint_url=url).run(entries, [REGION]) for s in sessions
            ]
        background.join()
        both = bench.fake.stats()
        details["margin_pacer"] = {
            "wall": proto.wall,
            "throttled": both["throttled_actions"].get(ACCOUNT, {}),
            "throttle_errors": _throttle_errors(prototype),
        }
    if not landed:
        bench.add(
            Figure(
                "5c",
                "same, Runners sharing a pacer planned at 95% of the rates (prototype)",
                value=proto.wall,
                reference=minimum,
                ratio=proto.wall / minimum,
                unit="s",
                target=1.2,
                note=(
                    f"RequestLimitExceeded: {_throttled_text(both, ACCOUNT) or 'none'}; "
                    f"{_throttle_errors(prototype)} probes in error; identities one after "
                    "another, as probe(sessions=...) does"
                ),
            )
        )
    apart_errors = _throttle_errors(contrast["matrices"])
    details["separate"] = {
        "actions": [e.operation for e in tight],
        "wall": contrast["wall"],
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
                f"{contrast['wall']:.1f}s; run with a second account (its own buckets)"
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
            "load_catalog('ec2'), cached index / cold scan of every model (info)",
            value=warm,
            reference=cold,
            ratio=warm / cold,
            unit="s",
            note=f"floor (import botocore + load the ec2 model): {floor:.2f}s",
        )
    )


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
                f"{result['cpu']:.1f}s CPU (server and client share one process)"
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
