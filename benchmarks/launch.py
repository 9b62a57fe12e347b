"""Run one command as a whole process; print its wall time, CPU and peak RSS as JSON.

``python -S benchmarks/launch.py '{"argv": [...], "env": {...}, "stdout": PATH}'``

Standard library only, and started without ``site`` so that it stays small: a child
started by vfork + exec from a large process has that process's peak carried into its
``ru_maxrss`` (Linux records the old address space's peak at exec), so the bench never
starts the measured command itself. This launcher, a ~10 MB interpreter, starts it and
reads ``os.wait4``'s accounting of it: its own user and system seconds and the largest
peak RSS among it and the children it waited for (awsprobe's worker processes). The
wall time runs from just before the start to just after the child is reaped, so the
launcher's own start-up is not in it.
"""

import json
import os
import sys
import time


def main() -> int:
    spec = json.loads(sys.argv[1])
    argv = spec["argv"]
    env = spec.get("env") or dict(os.environ)
    stdout = spec.get("stdout") or os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, spec.get("stderr") or os.devnull, os.O_WRONLY | os.O_CREAT, 0o600),
    ]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024.0,
                "exit": os.waitstatus_to_exitcode(status),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
