"""awsprobe's benchmarks: ``python -m benchmarks`` (see benchmarks/README.rst).

Run by hand, never in CI; nothing in the test suite asserts timings.
"""
