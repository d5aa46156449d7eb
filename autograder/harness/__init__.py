"""Sandboxed execution of student code: protocol, worker, isolation tiers and the runner.

The grading layer uses :class:`~autograder.harness.runner.SandboxedSubmission`;
``bpgrade doctor`` uses :func:`~autograder.harness.sandbox.describe` and ``bpgrade setup``
uses :func:`~autograder.harness.runtime.setup_child_runtime`.
"""
