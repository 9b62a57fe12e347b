"""Catalog start-up: cold scan of every model vs the cached index (ratios, one run)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time


def _time(code: str, cache_dir: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env={"AWSPROBE_CACHE_DIR": cache_dir, "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - start


def main() -> None:
    load = "import awsprobe; awsprobe.load_catalog(services='ec2')"
    bare = "import botocore.session; botocore.session.get_session().get_service_model('ec2')"
    with tempfile.TemporaryDirectory() as cache:
        cold = _time(load, cache)
        warm = min(_time(load, cache) for _ in range(3))
        floor = min(_time(bare, cache) for _ in range(3))
    print(f"cold (scan all models): {cold:.2f}s")
    print(f"warm (cached index):    {warm:.2f}s  -> {cold / warm:.1f}x faster than cold")
    print(f"floor (load ec2 model): {floor:.2f}s  -> warm is {warm / floor:.2f}x the floor")


if __name__ == "__main__":
    main()
