"""``choose_tier`` remembers its choice on disk, keyed by what decides it.

A fresh ``bpgrade grade`` then skips the start-up probes; any change of the key (interpreter,
kernel, bubblewrap, user-namespace settings, uid) probes again, and :func:`forget_tier_choice`
(called when a worker from a remembered tier fails to start) drops the file.

The cache lives in a temporary file here, and ``_quick_probe`` is replaced by a counter, so these
tests neither start processes nor touch the machine's real cache.
"""

from __future__ import annotations

import json
import sys

import pytest

from autograder.harness import sandbox
from autograder.harness.sandbox import SandboxError, choose_tier, forget_tier_choice

PYTHON = sys.executable


def _first_possible_tier() -> str:
    """The tier a probe that always succeeds would pick here (the first one not ruled out)."""
    return next(t for t in sandbox.TIERS if sandbox._static_reason(t) is None)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An isolated cache file and a probe counter; ``cache.works`` decides what probes succeed."""

    class Cache:
        path = tmp_path / "tier.json"
        probes: list[str] = []
        works: set[str] = set(sandbox.TIERS)

        def read(self) -> dict:
            return json.loads(self.path.read_text())

        def write(self, data: object) -> None:
            self.path.write_text(data if isinstance(data, str) else json.dumps(data))

    state = Cache()

    def fake_probe(tier: str, python: str) -> tuple[bool, str]:
        assert python == PYTHON
        state.probes.append(tier)
        return (tier in state.works), ("ok" if tier in state.works else "probe failed")

    monkeypatch.setattr(sandbox, "_tier_cache_path", lambda python: str(state.path))
    monkeypatch.setattr(sandbox, "_quick_probe", fake_probe)
    choose_tier.cache_clear()
    try:
        yield state
    finally:
        choose_tier.cache_clear()  # nothing chosen under the fakes may outlive the test


def test_choice_is_stored_with_its_key(cache):
    tier = choose_tier(PYTHON)
    assert tier == _first_possible_tier() and cache.probes == [tier]
    assert cache.read() == {"key": sandbox._tier_key(PYTHON), "tier": tier}


def test_second_call_after_cache_clear_does_not_probe(cache):
    tier = choose_tier(PYTHON)
    choose_tier.cache_clear()
    assert choose_tier(PYTHON) == tier
    assert len(cache.probes) == 1


@pytest.mark.parametrize("stored", sandbox.TIERS)
def test_remembered_tier_is_used_as_is(cache, stored):
    """What the file says wins over what a probe would say: the file, not a new probe, decided."""
    cache.write({"key": sandbox._tier_key(PYTHON), "tier": stored})
    assert choose_tier(PYTHON) == stored
    assert cache.probes == []


@pytest.mark.parametrize(
    "change",
    [
        lambda key: [*key, "one more setting"],
        lambda key: ["/another/python", *key[1:]],
        lambda key: [*key[:-1], "a changed user-namespace setting"],
        lambda key: [x + 1 if isinstance(x, int) and not isinstance(x, bool) else x for x in key],
    ],
    ids=["longer", "interpreter", "last-setting", "numbers"],
)
def test_changed_key_probes_again_and_stores_the_new_key(cache, monkeypatch, change):
    real_key = sandbox._tier_key(PYTHON)
    cache.write({"key": real_key, "tier": "seccomp"})
    new_key = change(real_key)
    assert new_key != real_key
    monkeypatch.setattr(sandbox, "_tier_key", lambda python: new_key)
    assert choose_tier(PYTHON) == _first_possible_tier()
    assert len(cache.probes) == 1
    assert cache.read() == {"key": new_key, "tier": _first_possible_tier()}


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '"bwrap"',
        "{}",
        '{"tier": "bwrap"}',
        None,  # the right key, an unknown tier
    ],
    ids=["garbage", "list", "string", "empty", "no-key", "unknown-tier"],
)
def test_unusable_file_probes_again(cache, content):
    if content is None:
        content = json.dumps({"key": sandbox._tier_key(PYTHON), "tier": "docker"})
    cache.write(content)
    assert choose_tier(PYTHON) == _first_possible_tier()
    assert len(cache.probes) == 1
    assert cache.read()["tier"] == _first_possible_tier()


def test_forget_removes_the_file_and_the_next_call_probes(cache):
    tier = choose_tier(PYTHON)
    assert cache.path.exists()
    forget_tier_choice(PYTHON)
    assert not cache.path.exists()
    assert choose_tier(PYTHON) == tier  # no cache_clear here: forget clears memory too
    assert len(cache.probes) == 2
    assert cache.path.exists()


def test_forget_without_a_file_is_harmless(cache):
    forget_tier_choice(PYTHON)
    assert not cache.path.exists()


def test_failed_probes_are_not_remembered(cache):
    cache.works = set()
    with pytest.raises(SandboxError, match="no sandbox tier"):
        choose_tier(PYTHON)
    assert not cache.path.exists()


def test_first_working_tier_is_remembered(cache):
    first = _first_possible_tier()
    later = [
        t for t in sandbox.TIERS[sandbox.TIERS.index(first) + 1 :] if not sandbox._static_reason(t)
    ]
    if not later:
        pytest.skip(f"only tier {first} is possible here")
    cache.works = {later[0]}
    assert choose_tier(PYTHON) == later[0]
    assert cache.probes == [first, later[0]]
    choose_tier.cache_clear()
    assert choose_tier(PYTHON) == later[0] and len(cache.probes) == 2
