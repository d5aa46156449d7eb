"""``python -m autograder`` is the same command as ``bpgrade``."""

import sys

from autograder.cli import main

sys.exit(main())
