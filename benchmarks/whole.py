"""Figures "as the user runs it": whole ``awsprobe`` processes, start-up and exit included.

Each command runs through ``launch.py`` (a small interpreter that starts it and reads the
kernel's accounting of it with ``os.wait4``: wall, CPU, peak RSS of the largest process),
side by side with its reference in the same run, rounds interleaved so a drift of the
machine's speed hits both alike; the median of each side is compared.

* 1w: ``awsprobe matrix --services ec2 --regions us-east-1 --output json`` against the
  same fake as figure 1, vs the naive boto3 loop run as a process (``naive_loop.py``);
* 6e: a one-probe ``awsprobe matrix`` vs a process that creates one boto3 EC2 client;
* 6f: a first run (empty cache) of ``awsprobe catalog --services ec2`` vs the warm run;
* 6g: a first run of the full index (``awsprobe catalog``) vs the boto3-client process;
* 6h: the peak RSS of the largest process of any first run.

A first run is a fresh ``HOME`` with nothing in it (no ``~/.cache/awsprobe``), as on a
newcomer's machine; ``AWSPROBE_CACHE_DIR`` and ``XDG_CACHE_HOME`` are unset for it.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchmarks.fake_aws import BENCH_IDENTITIES
from benchmarks.harness import Figure

__all__ = ["Run", "measure_first_run", "measure_matrix_process", "run"]

LAUNCH: Final = Path(__file__).with_name("launch.py")
NAIVE: Final = Path(__file__).with_name("naive_loop.py")
BOTO3_CLIENT: Final = "import boto3; boto3.client('ec2', region_name='us-east-1')"
#: The bench's peak RSS budget for a first run, from issue 17.
FIRST_RUN_RSS_MB: Final = 150.0


@dataclass(frozen=True)
class Run:
    """One whole process: wall and CPU seconds, the peak RSS of its largest process."""

    wall: float
    cpu: float
    peak_rss_mb: float


def run(argv: Sequence[str], env: dict[str, str], stdout: str | None = None) -> Run:
    """Start ``argv`` through the launcher and return its figures; fail if it failed."""
    spec = {"argv": list(argv), "env": env, "stdout": stdout}
    answer = subprocess.run(
        [sys.executable, "-S", str(LAUNCH), json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(answer.stdout)
    if figures["exit"] != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {figures['exit']}")
    return Run(figures["wall"], figures["cpu"], figures["peak_rss_mb"])


def awsprobe_command() -> list[str]:
    """The console script beside this interpreter (as installed), else ``-m awsprobe``."""
    script = Path(sys.executable).with_name("awsprobe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "awsprobe"]


def _env(home: str, cache: str | None) -> dict[str, str]:
    """The bench's environment for a command: ``cache`` the catalog cache, or ``None`` for
    a first run (an empty ``HOME`` and no cache variables: ``~/.cache/awsprobe`` is empty)."""
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env.pop("XDG_CACHE_HOME", None)
    env.pop("AWSPROBE_CACHE_DIR", None)
    env["HOME"] = home
    if cache is not None:
        env["AWSPROBE_CACHE_DIR"] = cache
    identity = BENCH_IDENTITIES[0]
    env["AWS_ACCESS_KEY_ID"] = identity.access_key
    env["AWS_SECRET_ACCESS_KEY"] = identity.secret_key
    return env


@contextmanager
def _homes() -> Iterator[Iterator[str]]:
    """Fresh empty home directories, one per first run."""
    with tempfile.TemporaryDirectory(prefix="awsprobe-first-run-") as base:

        def fresh() -> Iterator[str]:
            number = 0
            while True:
                number += 1
                home = Path(base) / f"home-{number}"
                home.mkdir()
                yield str(home)

        yield fresh()


def _median(runs: Sequence[Run]) -> float:
    return statistics.median(r.wall for r in runs)


def _times(runs: Sequence[Run]) -> list[float]:
    return [round(r.wall, 3) for r in runs]


def measure_matrix_process(
    bench: Any, entries: Sequence[Any], selection: Sequence[str], rounds: int = 3
) -> None:
    """1w: ``awsprobe matrix`` as a process vs the naive loop as a process, one region.

    ``selection`` is the CLI's catalog options naming exactly ``entries`` (the naive
    loop's calls); the fake answers at the bench's latency.
    """
    url = bench.fake.endpoint_url
    region = "us-east-1"
    cli = [*awsprobe_command(), "matrix", *selection, "--regions", region]
    cli += ["--output", "json", "--endpoint-url", url]
    with tempfile.TemporaryDirectory(prefix="awsprobe-bench-") as scratch:
        cache, output = str(Path(scratch) / "cache"), str(Path(scratch) / "matrix.json")
        env = _env(scratch, cache)
        calls = Path(scratch) / "calls.pickle"
        calls.write_bytes(pickle.dumps([(e.method, e.probe_params()) for e in entries]))
        bench.fake.configure(latency=bench.options.latency, throttle=False)
        run(cli, env)  # fills the catalog cache: the runs below are the normal, warm case
        awsprobe_runs = [run(cli, env, output)]
        saved = json.loads(Path(output).read_text(encoding="utf-8"))
        naive = run([sys.executable, str(NAIVE), url, str(calls), region], env)
        awsprobe_runs += [run(cli, env, output) for _ in range(max(1, rounds - 1))]
    probes = len(saved["results"])
    assert probes == len(entries), (probes, len(entries))
    errors = sum(1 for r in saved["results"] if r["outcome"] == "error")
    assert errors == 0, f"{errors} probes in error"
    wall = _median(awsprobe_runs)
    bench.details["matrix_process"] = {
        "probes": probes,
        "command": " ".join(["awsprobe", *cli[len(awsprobe_command()) :]]),
        "awsprobe_wall": _times(awsprobe_runs),
        "awsprobe_cpu": [round(r.cpu, 3) for r in awsprobe_runs],
        "awsprobe_peak_rss_mb": [round(r.peak_rss_mb, 1) for r in awsprobe_runs],
        "naive_wall": round(naive.wall, 3),
        "naive_cpu": round(naive.cpu, 3),
    }
    cpu = statistics.median(r.cpu for r in awsprobe_runs)
    bench.add(
        Figure(
            "1w",
            f"same as the user runs it: `awsprobe matrix` ({probes} probes) as a whole "
            "process / the naive loop as a whole process",
            value=wall,
            reference=naive.wall,
            ratio=naive.wall / wall,
            unit="s",
            target=20.0,
            better="higher",
            note=(
                f"median of {len(awsprobe_runs)} awsprobe runs around one naive run, catalog "
                f"cached; {cpu:.2f}s CPU in all processes; largest process "
                f"{max(r.peak_rss_mb for r in awsprobe_runs):.0f} MB"
            ),
        )
    )


def measure_first_run(bench: Any, rounds: int) -> None:
    """6e-6h: a one-probe matrix, first runs of the catalog, their memory."""
    cli = awsprobe_command()
    url = bench.fake.endpoint_url
    named = [*cli, "catalog", "--services", "ec2", "--output", "json"]
    full = [*cli, "catalog", "--output", "json"]
    one_probe = [*cli, "matrix", "--actions", "ec2:DescribeRegions", "--regions", "us-east-1"]
    one_probe += ["--output", "json", "--endpoint-url", url]
    first_matrix = [*cli, "matrix", "--services", "ec2", "--regions", "us-east-1"]
    first_matrix += ["--output", "json", "--endpoint-url", url]
    client = [sys.executable, "-c", BOTO3_CLIENT]
    bench.fake.configure(latency=bench.options.latency, throttle=False)
    runs: dict[str, list[Run]] = {
        k: [] for k in ("boto3_client", "one_probe", "warm", "cold", "full_cold", "matrix_cold")
    }
    with _homes() as homes, tempfile.TemporaryDirectory(prefix="awsprobe-bench-") as warm:
        cache = str(Path(warm) / "cache")
        warm_env = _env(warm, cache)
        run(named, warm_env)  # fill the warm cache
        run(one_probe, warm_env)
        for number in range(rounds):
            runs["boto3_client"].append(run(client, warm_env))
            runs["one_probe"].append(run(one_probe, warm_env))
            runs["cold"].append(run(named, _env(next(homes), None)))
            runs["warm"].append(run(named, warm_env))
            if number < max(2, rounds // 2):  # the slow ones: fewer rounds
                runs["full_cold"].append(run(full, _env(next(homes), None)))
                runs["matrix_cold"].append(run(first_matrix, _env(next(homes), None)))
    median = {k: _median(v) for k, v in runs.items()}
    peaks = {k: max(r.peak_rss_mb for r in v) for k, v in runs.items()}
    bench.details["first_run"] = {
        **{k: _times(v) for k, v in runs.items()},
        "peak_rss_mb": {k: round(v, 1) for k, v in peaks.items()},
    }
    client_s = median["boto3_client"]
    bench.add(
        Figure(
            "6e",
            "one-probe `awsprobe matrix` (STS + 1 probe at 30 ms) / one boto3 EC2 client, "
            "whole processes",
            value=median["one_probe"],
            reference=client_s,
            ratio=median["one_probe"] / client_s,
            unit="s",
            target=1.5,
            note=f"median of {rounds} interleaved rounds; catalog cached",
        )
    )
    bench.add(
        Figure(
            "6f",
            "first run: `awsprobe catalog --services ec2 --output json`, empty cache / "
            "the same warm",
            value=median["cold"],
            reference=median["warm"],
            ratio=median["cold"] / median["warm"],
            unit="s",
            target=1.5,
            note=(
                f"median of {rounds} interleaved rounds, each first run in a fresh empty HOME; "
                f"a first `awsprobe matrix --services ec2` at 30 ms: {median['matrix_cold']:.2f}s"
            ),
        )
    )
    bench.add(
        Figure(
            "6g",
            "first run of the full index: `awsprobe catalog --output json`, empty cache / "
            "one boto3 EC2 client",
            value=median["full_cold"],
            reference=client_s,
            ratio=median["full_cold"] / client_s,
            unit="s",
            target=3.0,
            note=f"median of {len(runs['full_cold'])} runs; every service's entries built",
        )
    )
    first = {k: peaks[k] for k in ("cold", "full_cold", "matrix_cold")}
    worst = max(first, key=lambda k: first[k])
    bench.add(
        Figure(
            "6h",
            "peak RSS of the largest process of any first run / 150 MB budget",
            value=first[worst],
            reference=FIRST_RUN_RSS_MB,
            ratio=first[worst] / FIRST_RUN_RSS_MB,
            unit="MB",
            target=1.0,
            note=(
                f"catalog --services ec2 {first['cold']:.0f} MB, full catalog "
                f"{first['full_cold']:.0f} MB, matrix --services ec2 {first['matrix_cold']:.0f} "
                f"MB (its worker processes included); warm catalog {peaks['warm']:.0f} MB; "
                "from os.wait4 in a small launcher (a floor of ~10 MB)"
            ),
        )
    )
