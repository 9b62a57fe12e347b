"""The awsprobe version, read by setuptools at build time and by ``--version``."""

__version__ = "0.1.0"
