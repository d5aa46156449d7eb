"""Red team at the grading level (issue 4): hostile submissions through ``grade_submission``."""
