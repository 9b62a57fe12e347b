"""``python -m benchmarks``: every measurement, one table, one JSON file."""

from __future__ import annotations

if __name__ == "__main__":
    from benchmarks.run import main

    raise SystemExit(main())
