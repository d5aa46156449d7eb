"""Points: each case earns a fraction of its part; a part's score is its points times the mean."""

from __future__ import annotations

from collections.abc import Sequence


def part_score(points: float, fractions: Sequence[float]) -> float:
    """Points earned by a part whose cases earned ``fractions`` (each clamped to [0, 1]).

    Every case weighs the same, public or hidden, so a submission that hard-codes the public
    answers earns at most the public share.
    """
    if not fractions:
        return 0.0
    clamped = [min(1.0, max(0.0, f)) for f in fractions]
    return round(points * sum(clamped) / len(clamped), 4)
