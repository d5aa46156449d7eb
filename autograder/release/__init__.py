"""``bpgrade release``: turn the instructor's single source into the students' handout.

Pipeline: :mod:`~autograder.release.source` reads ``solutions/<hw>/<hw>.py`` (a percent-format
file of tagged cells), :mod:`~autograder.release.markers` validates and strips the solution
regions, :mod:`~autograder.release.handout` fills the points and titles from spec.toml,
:mod:`~autograder.release.notebook` writes the notebook, and :mod:`~autograder.release.build`
puts the files together (in memory, then on disk). ``check_template.py`` becomes each release's
``check.py``.
"""

from autograder.release.build import (
    Homework,
    build_release,
    diff_release,
    load_homework,
    write_release,
)
from autograder.release.handout import HandoutError
from autograder.release.markers import MarkerError
from autograder.release.source import LANGS, SourceError

__all__ = [
    "LANGS",
    "HandoutError",
    "Homework",
    "MarkerError",
    "SourceError",
    "build_release",
    "diff_release",
    "load_homework",
    "write_release",
]
