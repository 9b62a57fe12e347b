"""Rewrite tests/golden/ from the fixed matrix in tests/test_golden.py.

    python -m tests.regen_golden
    git diff tests/golden        # review every change before committing it

The golden tests themselves never write these files; this command is the only
thing that does, so a renderer change shows up as a diff a person reads.
"""

from __future__ import annotations

import sys

from tests.test_golden import CASES, GOLDEN, rendered


def main() -> int:
    """Write each golden file; print the ones whose content changed."""
    for output, layout, name in CASES:
        path = GOLDEN / name
        text = rendered(output, layout)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if text != old:
            path.write_text(text, encoding="utf-8")
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
