"""``python -m autograder`` is the same command as ``bpgrade``."""

from autograder.cli import entry

entry()
