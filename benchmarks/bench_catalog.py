"""Catalog start-up: a first run (nothing cached) vs the cached catalog (ratios, one run).

Part of ``python -m benchmarks`` (figure 6d); also runnable alone:
``python benchmarks/bench_catalog.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

LOAD = "import awsprobe; awsprobe.load_catalog(services='ec2')"
BARE = "import botocore.session; botocore.session.get_session().get_service_model('ec2')"


def _time(code: str, cache_dir: str) -> float:
    env = {
        "AWSPROBE_CACHE_DIR": cache_dir,
        "PATH": "/usr/bin:/bin",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def measure(rounds: int = 3) -> tuple[float, float, float]:
    """(cold, warm, floor) seconds: a fresh interpreter loading the EC2 catalog.

    cold: nothing on disk (the EC2 model is read once: indexed and built from one
    parse); warm: the EC2 entries are cached (best of ``rounds``); floor: importing
    botocore and loading the EC2 model alone (best of ``rounds``).
    """
    with tempfile.TemporaryDirectory() as cache:
        cold = _time(LOAD, cache)
        warm = min(_time(LOAD, cache) for _ in range(rounds))
        floor = min(_time(BARE, cache) for _ in range(rounds))
    return cold, warm, floor


def main() -> None:
    cold, warm, floor = measure()
    print(f"cold (first run):       {cold:.2f}s")
    print(f"warm (cached catalog):  {warm:.2f}s  -> {cold / warm:.1f}x faster than cold")
    print(f"floor (load ec2 model): {floor:.2f}s  -> warm is {warm / floor:.2f}x the floor")


if __name__ == "__main__":
    main()
