"""Sandboxed execution of student code: protocol, worker, isolation tiers and the runner.

The grading layer uses :class:`~autograder.harness.runner.SandboxedSubmission`, and the
self-check on a machine without a sandbox :class:`~autograder.harness.local.LocalSubmission`
(both :class:`~autograder.harness.client.WorkerClient`);
``bpgrade doctor`` uses :func:`~autograder.harness.sandbox.describe` and ``bpgrade setup``
uses :func:`~autograder.harness.runtime.setup_child_runtime`.
"""
