"""Run the measurements, print one table of ratios, write it as JSON.

``python -m benchmarks [--quick] [--only N[,N...]] [--json PATH] [--profile DIR]``

The fake AWS endpoint runs in its own process for the whole run; measurements
that need a fresh interpreter (scale, sandbox) spawn one. awsprobe is measured
as the CLI runs it, ``probe(processes="auto")``: its worker processes fork
from the measuring process, so the bench starts no thread of its own while it
measures.
Everything talks to 127.0.0.1 only: credentials, config files and the
instance metadata service are switched off for this process and its children.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.fake_aws import DEFAULT_LATENCY
from benchmarks.harness import CpuMeter, FakeEndpoint, Figure, machine, warm_memory

__all__ = ["main"]

DEFAULT_JSON = Path(__file__).with_name("results.json")


def _isolate(home: str) -> None:
    """No real credentials, profiles, endpoints or IMDS: only the fake is reachable."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ):
            del os.environ[name]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["AWS_CONFIG_FILE"] = os.path.join(home, "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "credentials")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def _parser() -> argparse.ArgumentParser:
    from benchmarks.scenarios import MEASUREMENTS

    listing = "; ".join(f"{k}: {v[0]}" for k, v in MEASUREMENTS.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="awsprobe's benchmarks: ratios against references measured in the same run.",
        epilog=f"measurements: {listing}",
    )
    parser.add_argument("--quick", action="store_true", help="a reduced set (about two minutes)")
    parser.add_argument(
        "--extra",
        action="store_true",
        help="also the slower contrasts: one probe() per identity at once (figure 5d)",
    )
    parser.add_argument(
        "--only", metavar="N[,N]", help="run only these measurements (1-7; 2 and 3 run with 1)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help="write the table here (benchmarks/results.json)",
    )
    parser.add_argument(
        "--table-format",
        default="simple",
        metavar="FMT",
        help="tabulate format of the printed table: simple (default), rst, github...",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="measure nothing: print the table of an earlier results file",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the measured processes with py-spy (if installed) into DIR",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=DEFAULT_LATENCY,
        help=f"simulated round trip in seconds ({DEFAULT_LATENCY})",
    )
    return parser


def _selected(only: str | None) -> list[str]:
    from benchmarks.scenarios import ALIASES, MEASUREMENTS

    if not only:
        return list(MEASUREMENTS)
    chosen: list[str] = []
    for raw in only.split(","):
        key = ALIASES.get(raw.strip(), raw.strip())
        if key not in MEASUREMENTS:
            raise SystemExit(f"--only {raw!r}: choose from 1-7")
        if key not in chosen:
            chosen.append(key)
    return [k for k in MEASUREMENTS if k in chosen]


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "us":
        return f"{value:.0f} us"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.0f} {unit}"


def _target(figure: Figure) -> str:
    if figure.target is None:
        return ""
    if figure.target_on == "value":
        sign = ">=" if figure.better == "higher" else "<="
        return f"value {sign} {_fmt(figure.target, figure.unit)}"
    if figure.better == "higher":
        return f">= {figure.target:g}x"
    return f"<= {figure.target:g}x"


def table(figures: Sequence[Figure], tablefmt: str = "simple") -> str:
    from tabulate import tabulate

    rows = [
        (
            f.number,
            f.name,
            _fmt(f.value, f.unit),
            _fmt(f.reference, f.unit),
            f"{f.ratio:.2f}x" if f.unit != "probes" else f"{f.ratio:.4f}",
            _target(f),
            {True: "yes", False: "NO", None: "-"}[f.met],
        )
        for f in figures
    ]
    headers = ("#", "figure", "awsprobe", "reference", "ratio", "target", "met")
    return str(tabulate(rows, headers=headers, tablefmt=tablefmt))


def _reprint(path: Path, tablefmt: str) -> int:
    document = json.loads(path.read_text(encoding="utf-8"))
    info = document["machine"]
    fields = {f.name for f in dataclasses.fields(Figure)}
    figures = [Figure(**{k: v for k, v in f.items() if k in fields}) for f in document["figures"]]
    print(
        f"Measured {document['measured_at'][:10]} on {info['usable_cores']} cores "
        f"({info['cpu']}), Python {info['python']}, botocore {info['botocore']}, "
        f"awsprobe {info['awsprobe']}"
    )
    print(table(figures, tablefmt))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.from_json:
        return _reprint(args.from_json, args.table_format)
    keys = _selected(args.only)
    with tempfile.TemporaryDirectory(prefix="awsprobe-bench-") as home:
        _isolate(home)
        return _run(args, keys)


def _run(args: argparse.Namespace, keys: list[str]) -> int:
    from benchmarks.scenarios import MEASUREMENTS, Bench, Options

    info = machine()
    print(
        f"awsprobe {info['awsprobe']} | botocore {info['botocore']} | Python {info['python']} | "
        f"{info['usable_cores']} cores ({info['cpu']}) | load {info['load_average_at_start']}",
        flush=True,
    )
    options = Options(
        quick=args.quick,
        latency=args.latency,
        profile_dir=args.profile,
        extra=args.extra,
    )
    started = time.perf_counter()
    timings: dict[str, float] = {}
    interference: dict[str, dict[str, float]] = {}
    failures: dict[str, str] = {}
    with FakeEndpoint(latency=args.latency) as fake:
        bench = Bench(options=options, fake=fake)
        info["fake_endpoint_priority"] = fake.priority
        bench.catalog()  # build or read the index once, before anything is timed
        meter = CpuMeter(fake.pid)
        for key in keys:
            what, measure = MEASUREMENTS[key]
            print(f"[{key}] {what}", flush=True)
            warm_memory()  # not timed: see its docstring
            began = time.perf_counter()
            before = meter.snapshot()
            try:
                measure(bench)
            except Exception as exc:  # report it, keep the other measurements
                failures[key] = "".join(traceback.format_exception(exc))
                print(f"  FAILED: {type(exc).__name__}: {exc}".splitlines()[0], flush=True)
            interference[key] = meter.others(before)
            timings[key] = round(time.perf_counter() - began, 1)
            print(f"  ({timings[key]:.0f}s)", flush=True)
            if interference[key]["other_cores"] + interference[key]["steal_cores"] > 0.2:
                print(
                    f"  WARNING: other processes used {interference[key]['other_cores']} "
                    f"cores (+{interference[key]['steal_cores']} stolen) during [{key}]: "
                    "its figures are skewed; rerun on a quiet machine",
                    flush=True,
                )
    elapsed = time.perf_counter() - started
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print(
        f"Measured {_dt.date.today().isoformat()} on {info['usable_cores']} cores "
        f"({info['cpu']}), Python {info['python']}, botocore {info['botocore']}, "
        f"awsprobe {info['awsprobe']}; {elapsed:.0f}s" + (" (--quick)" if args.quick else "")
    )
    print(table(bench.figures, args.table_format))
    busy = {k: v["other_cores"] + v["steal_cores"] for k, v in interference.items()}
    print(
        "other processes' CPU during each measurement (cores): "
        + ", ".join(f"[{k}] {v:.2f}" for k, v in busy.items())
    )
    notes = [f for f in bench.figures if f.note]
    if notes:
        print()
        for figure in notes:
            print(f"{figure.number:>3}: {figure.note}")
    document: dict[str, Any] = {
        "schema": "awsprobe.bench/1",
        "measured_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": info,
        "options": {
            "quick": args.quick,
            "extra": args.extra,
            "only": keys,
            "latency_s": args.latency,
        },
        "seconds": {"total": round(elapsed, 1), **timings},
        "other_processes_cores": interference,
        "figures": [f.to_json() for f in bench.figures],
        "failures": failures,
        "details": bench.details,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json}")
    missed = [f.number for f in bench.figures if f.met is False]
    if missed:
        print(f"targets not met: {', '.join(missed)}", file=sys.stderr)
    for key, trace in failures.items():
        print(f"\nmeasurement {key} failed:\n{trace}", file=sys.stderr)
    return 1 if failures else 0
