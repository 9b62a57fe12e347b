"""``python -m awsprobe``: the same as the ``awsprobe`` command."""

from awsprobe.entry import main_entry

if __name__ == "__main__":
    main_entry()
