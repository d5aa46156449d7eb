"""Bridges to grading platforms: Gradescope's autograder.zip, GitHub Classroom's workflow, and
nbgrader / otter-grader exports."""
