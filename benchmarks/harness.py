"""What every measurement shares: the fake endpoint's process, timers, figures, the machine."""

from __future__ import annotations

import contextlib
import gc
import http.client
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from benchmarks.fake_aws import BENCH_IDENTITIES, DEFAULT_LATENCY, FakeIdentity

__all__ = [
    "FAKE_SCRIPT",
    "CpuMeter",
    "FakeEndpoint",
    "Figure",
    "Timing",
    "boto3_session",
    "botocore_session",
    "children_peak_rss_mb",
    "machine",
    "peak_rss_mb",
    "rss_mb",
    "timed",
    "warm_memory",
]

FAKE_SCRIPT: Final = Path(__file__).with_name("fake_aws.py")
REPO: Final = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figure:
    """One row of the table: awsprobe's value against a reference, as a ratio.

    ``better`` says which way is good: ``"lower"`` (times, memory: ratio =
    value / reference, target a maximum) or ``"higher"`` (speed-ups: the ratio
    is what the figure states and the target a minimum).
    """

    number: str
    name: str
    value: float
    reference: float
    ratio: float
    unit: str  # of value and reference
    target: float | None = None
    better: Literal["lower", "higher"] = "lower"
    note: str = ""
    target_on: Literal["ratio", "value"] = "ratio"

    @property
    def met(self) -> bool | None:
        """Whether the target is met (``None``: information only)."""
        if self.target is None:
            return None
        measured = self.ratio if self.target_on == "ratio" else self.value
        return measured >= self.target if self.better == "higher" else measured <= self.target

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass
class Timing:
    """Wall and CPU seconds of one timed block.

    ``cpu``: this process, all threads; ``children_cpu``: the child processes
    that ended (and were waited for) during the block -- awsprobe's worker
    processes when it probes in several.
    """

    wall: float = 0.0
    cpu: float = 0.0
    children_cpu: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.children_cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
    result = Timing()
    gc.collect()
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    try:
        yield result
    finally:
        result.wall = time.perf_counter() - wall
        result.cpu = time.process_time() - cpu
        result.children_cpu = _children_cpu() - children


def best_of(n: int, run: Callable[[], float]) -> float:
    """The smallest of ``n`` measurements (the one least disturbed by other processes)."""
    return min(run() for _ in range(n))


def median_of(values: list[float]) -> float:
    return statistics.median(values)


def _status_mb(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MB; None without /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


#: Touches this many MB in a short-lived process (see warm_memory).
WARM_MB: Final = 768
_WARM = (
    "import sys\n"
    "b = bytearray(int(sys.argv[1]) * 1024 * 1024)\n"
    "for i in range(0, len(b), 4096): b[i] = 1\n"
)


def warm_memory(megabytes: int = WARM_MB) -> None:
    """Touch ``megabytes`` of fresh memory in a throwaway process, then free it.

    On a virtual machine that hands idle guest memory back to its host (seen here: a
    Firecracker VM), the first run after a quiet spell of ~20 s pays a host page fault
    on every page it touches, as user CPU: +30-50 % on figure 4, bimodally, whatever
    the code. Touching that much memory first (in its own process, so no measured
    process's peak RSS changes) makes every run start alike.
    """
    subprocess.run([sys.executable, "-S", "-c", _WARM, str(megabytes)], check=True)


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    now = _status_mb("VmRSS")
    return float("nan") if now is None else now


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB.

    ``VmHWM``, not ``ru_maxrss``: a spawned interpreter is started with
    vfork + exec, and Linux carries the parent's peak into the child's
    ``ru_maxrss`` across that exec, so a child of a large bench would report
    the bench's peak as its own.
    """
    peak = _status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 if peak is None else peak


def children_peak_rss_mb() -> float:
    """The peak resident set size of the largest child process waited for so far, in MB.

    Right for forked children (awsprobe's workers: their own peak, pages inherited
    from the parent included), not for spawned ones (see :func:`peak_rss_mb`).
    """
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def botocore_session(identity: FakeIdentity = BENCH_IDENTITIES[0]) -> Any:
    import botocore.session

    session = botocore.session.get_session()
    session.set_credentials(identity.access_key, identity.secret_key)
    session.set_config_variable("region", "us-east-1")
    return session


def boto3_session(identity: FakeIdentity = BENCH_IDENTITIES[0]) -> Any:
    import boto3

    return boto3.Session(
        aws_access_key_id=identity.access_key,
        aws_secret_access_key=identity.secret_key,
        region_name="us-east-1",
    )


#: The fake runs this many nice levels above the bench: it needs ~5 % of a core, but a
#: client saturating both cores must not delay its timers (that would add latency).
FAKE_PRIORITY_BOOST: Final = 5


def _raise_priority(pid: int, boost: int) -> str:
    """Make ``pid`` ``boost`` nice levels more favoured than this process, if allowed."""
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, mine - boost)
    except (OSError, AttributeError):  # not root (or not POSIX): equal priority
        return "same as the bench (raising it needs root)"
    return f"nice {mine - boost} (the bench: {mine})"


class FakeEndpoint:
    """The fake AWS in its own process (``fake_aws.py``), started and stopped here."""

    def __init__(self, latency: float = DEFAULT_LATENCY, throttle: bool = False) -> None:
        self.latency = latency
        self.throttle = throttle
        self._process: subprocess.Popen[str] | None = None
        self.priority = "same as the bench"
        self.endpoint_url = ""
        self.port = 0

    def __enter__(self) -> FakeEndpoint:
        command = [sys.executable, str(FAKE_SCRIPT), "--latency", str(self.latency)]
        if self.throttle:
            command.append("--throttle")
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        self.priority = _raise_priority(self._process.pid, FAKE_PRIORITY_BOOST)
        line = self._process.stdout.readline().strip()
        if not line.startswith("listening "):
            self.__exit__()
            raise RuntimeError(f"the fake endpoint did not start: {line!r}")
        self.endpoint_url = line.split(" ", 1)[1]
        self.port = int(self.endpoint_url.rsplit(":", 1)[1])
        return self

    def __exit__(self, *_: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the fake exits when its stdin closes
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _get(self, path: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            data: dict[str, Any] = json.loads(answer.read())
            return data
        finally:
            connection.close()

    def configure(self, latency: float | None = None, throttle: bool | None = None) -> None:
        """Set latency and throttling; resets the fake's buckets and counters."""
        if latency is not None:
            self.latency = latency
        if throttle is not None:
            self.throttle = throttle
        self._get(f"/__bench/config?latency={self.latency}&throttle={int(self.throttle)}")

    def stats(self) -> dict[str, Any]:
        return self._get("/__bench/stats")


_TICK: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / _TICK, steal / _TICK


def _process_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


class CpuMeter:
    """How much CPU *other* processes used while the bench measured (a busy machine skews
    every figure): the machine's busy time minus this bench's (itself, its reaped
    children, the fake endpoint)."""

    def __init__(self, fake_pid: int | None) -> None:
        self.fake_pid = fake_pid

    def snapshot(self) -> tuple[float, float, float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
        busy, steal = _machine_cpu()
        return time.perf_counter(), busy, steal, own + _process_cpu(self.fake_pid)

    def others(self, before: tuple[float, float, float, float]) -> dict[str, float]:
        """Cores used by other processes (and stolen by the hypervisor) since ``before``."""
        wall0, busy0, steal0, own0 = before
        wall1, busy1, steal1, own1 = self.snapshot()
        wall = max(wall1 - wall0, 1e-9)
        return {
            "other_cores": round(max(0.0, (busy1 - busy0) - (own1 - own0)) / wall, 2),
            "steal_cores": round((steal1 - steal0) / wall, 2),
        }


def _botocore_version() -> str:
    import botocore

    return str(botocore.__version__)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load: tuple[float, float, float] | None = None
    with contextlib.suppress(OSError):
        load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "botocore": _botocore_version(),
        "awsprobe": _awsprobe_version(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
    }


def _awsprobe_version() -> str:
    from awsprobe._version import __version__

    return __version__
