"""Renderings of a :class:`~autograder.grading.GradeReport`: text, Gradescope JSON, Markdown, HTML."""

from autograder.report.gradescope import to_gradescope
from autograder.report.text import to_text

__all__ = ["to_gradescope", "to_text"]
