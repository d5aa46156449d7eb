"""Read an assignment spec (TOML) into typed records.

The spec is the only place that knows what a homework grades: its parts, points, student
functions, case generators, tolerances and how many public and hidden cases each part gets.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_SPEC = Path(__file__).parent / "homeworks" / "backprop" / "spec.toml"

#: What a part does with an answer right only to single precision (see autograder/checks.py).
FLOAT32_POLICIES = ("accept", "reject")

KNOWN_CHECKS = frozenset(
    {"array", "cost", "gradient", "cost_and_gradient", "labels", "uniform_init", "descent"}
)


class SpecError(ValueError):
    """The spec file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class PartSpec:
    """One graded part: a student function, its points and how its cases are built and checked."""

    id: str
    function: str
    signature: str
    title: dict[str, str]
    points: float
    check: str
    generator: str
    public_cases: int
    hidden_cases: int
    rtol: float = 1e-6
    atol: float = 1e-9
    call_group: str | None = None
    depends_on: tuple[str, ...] = ()
    float32: str = "accept"

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("en") or self.id


@dataclass(frozen=True)
class Spec:
    """A whole assignment."""

    name: str
    title: dict[str, str]
    cases_module: str
    misconceptions_module: str | None
    module_name: str
    call_timeout_s: float
    time_budget_s: float
    load_timeout_s: float
    parts: tuple[PartSpec, ...]
    path: Path | None = field(default=None, compare=False)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)

    def part(self, part_id: str) -> PartSpec:
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(part_id)


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and validate a spec file.

    Parameters
    ----------
    path : str or Path, optional
        The TOML file; defaults to the bundled backprop homework.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        If the file cannot be read or a field is missing or inconsistent.
    """
    path = Path(path) if path is not None else DEFAULT_SPEC
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"cannot read spec {path}: {exc}") from exc
    spec = _build_spec(raw, path)
    _validate(spec)
    return spec


def _build_spec(raw: dict, path: Path) -> Spec:
    try:
        a = raw["assignment"]
        float32 = a.get("float32", "accept")
        parts = tuple(_build_part(p, float32) for p in raw["parts"])
        return Spec(
            name=a["name"],
            title=dict(a.get("title", {"en": a["name"]})),
            cases_module=a["cases_module"],
            misconceptions_module=a.get("misconceptions_module"),
            module_name=a.get("module_name", "submission.py"),
            call_timeout_s=float(a.get("call_timeout_s", 5.0)),
            time_budget_s=float(a.get("time_budget_s", 60.0)),
            load_timeout_s=float(a.get("load_timeout_s", 10.0)),
            parts=parts,
            path=path,
        )
    except KeyError as exc:
        raise SpecError(f"spec {path}: missing field {exc}") from exc


def _build_part(p: dict, float32: str) -> PartSpec:
    return PartSpec(
        id=p["id"],
        function=p["function"],
        signature=p.get("signature", p["function"]),
        title=dict(p.get("title", {"en": p["id"]})),
        points=float(p["points"]),
        check=p["check"],
        generator=p["generator"],
        public_cases=int(p.get("public_cases", 1)),
        hidden_cases=int(p.get("hidden_cases", 0)),
        rtol=float(p.get("rtol", 1e-6)),
        atol=float(p.get("atol", 1e-9)),
        call_group=p.get("call_group"),
        depends_on=tuple(p.get("depends_on", ())),
        float32=p.get("float32", float32),
    )


def _validate(spec: Spec) -> None:
    ids = [p.id for p in spec.parts]
    if len(set(ids)) != len(ids):
        raise SpecError(f"spec {spec.path}: duplicate part ids in {ids}")
    for p in spec.parts:
        if p.check not in KNOWN_CHECKS:
            raise SpecError(
                f"part {p.id!r}: unknown check {p.check!r}; known: {sorted(KNOWN_CHECKS)}"
            )
        if p.float32 not in FLOAT32_POLICIES:
            raise SpecError(
                f"part {p.id!r}: float32 must be one of {FLOAT32_POLICIES}, got {p.float32!r}"
            )
        if p.points < 0:
            raise SpecError(f"part {p.id!r}: points must be >= 0, got {p.points}")
        if p.public_cases + p.hidden_cases < 1:
            raise SpecError(f"part {p.id!r}: needs at least one case")
        unknown = set(p.depends_on) - set(ids)
        if unknown:
            raise SpecError(f"part {p.id!r}: depends_on names unknown parts {sorted(unknown)}")
