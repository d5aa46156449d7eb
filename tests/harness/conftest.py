"""Shared fixtures for the harness tests: available tiers and leftover checks."""

from __future__ import annotations

import os

import pytest

from autograder.harness import sandbox
from autograder.harness.runtime import RuntimeSetupError
from autograder.harness.sandbox import Limits

ROOT_TIERS = ("bwrap", "seccomp")
#: Short limits keep the suite fast; hangs cost one timeout each.
FAST = Limits(start_timeout=20.0, load_timeout=2.0, call_timeout=1.0, total_budget=30.0)


def _detect() -> dict:
    try:
        return sandbox.detect_tiers()
    except (RuntimeSetupError, sandbox.SandboxError) as exc:  # pragma: no cover - machine-specific
        return {t: {"available": False, "reason": str(exc)} for t in sandbox.TIERS}


TIER_REPORT = _detect()


def tier_params(tiers: tuple[str, ...] = sandbox.TIERS) -> list:
    """One pytest param per tier, skipped with the detector's reason where it cannot run."""
    params = []
    for tier in tiers:
        info = TIER_REPORT[tier]
        marks = (
            [] if info["available"] else [pytest.mark.skip(reason=f"tier {tier}: {info['reason']}")]
        )
        params.append(pytest.param(tier, marks=marks, id=tier))
    return params


def uid_files(uid: int) -> list[str]:
    """Files owned by ``uid`` in the shared temporary directories (same depth as the cleanup)."""
    found: list[str] = []

    def walk(directory: str, depth: int) -> None:
        if depth > 4:
            return
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid == uid:
                found.append(entry.path)
            elif entry.is_dir(follow_symlinks=False) and sandbox._slot_may_write(info, uid):
                # The slot uid cannot create anything in a directory it cannot write to.
                walk(entry.path, depth + 1)

    for root in sandbox.CLEANUP_DIRS:
        walk(root, 0)
    return found


class LeftoverTracker:
    """Checks what a test's submissions left behind.

    The check runs inside ``Slot.release``, i.e. after the submission's cleanup but before the
    slot uid can be handed to another grader (other test sessions may share this machine).
    """

    def __init__(self) -> None:
        self.subs: list = []
        self.problems: list[str] = []

    def track(self, sub):
        self.subs.append(sub)
        slot = sub._slot
        if slot is not None:
            release = slot.release

            def checked_release() -> None:
                if sandbox.pids_of_uid(slot.uid):
                    self.problems.append(
                        f"slot-uid processes survived: {sandbox.pids_of_uid(slot.uid)}"
                    )
                if uid_files(slot.uid):
                    self.problems.append(f"slot-uid files survived: {uid_files(slot.uid)}")
                release()

            slot.release = checked_release
        return sub

    def check(self) -> None:
        for sub in self.subs:
            assert sub._closed, "submission not closed"
            assert not sub._stage.path.exists(), "stage directory not removed"
            assert sub._child is None, "worker still attached"
        assert self.problems == []


@pytest.fixture
def leftovers():
    """Track submissions with ``leftovers.track(sub)``; fail if any left a process or file."""
    tracker = LeftoverTracker()
    yield tracker
    tracker.check()


@pytest.fixture
def secret_file():
    """A 0600 grader secret in a directory any uid can traverse (only the file mode protects it)."""
    import shutil
    import tempfile

    base = tempfile.mkdtemp(prefix="bpgrade-secret-")
    os.chmod(base, 0o755)
    secret = os.path.join(base, "hidden_cases.json")
    with open(secret, "w") as fh:
        fh.write('{"expected": "TOPSECRET-4242"}')
    os.chmod(secret, 0o600)
    yield secret
    shutil.rmtree(base, ignore_errors=True)
