"""Read an assignment spec (TOML) into typed records.

The spec is the only place that knows what a homework grades: its parts, points, student
functions, case generators, tolerances and how many public and hidden cases each part gets.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.harness.support import KIND_NAME, Support

DEFAULT_SPEC = Path(__file__).parent / "homeworks" / "backprop" / "spec.toml"

#: What a part does with an answer right only to single precision (see autograder/checks.py).
FLOAT32_POLICIES = ("accept", "reject")

KNOWN_CHECKS = frozenset(
    {"array", "cost", "gradient", "cost_and_gradient", "labels", "uniform_init", "descent"}
)


class SpecError(ValueError):
    """The spec file is missing, malformed or inconsistent."""


#: What the child provides when a spec has no ``[runtime]`` table: what the worker itself needs.
BASE_PACKAGES = ("numpy>=1.26", "scipy>=1.11")
# pip distribution name -> import name, where the two differ (PEP 503-normalized keys).
_IMPORT_NAMES = {
    "scikit-learn": "sklearn",
    "scikit-image": "skimage",
    "pillow": "PIL",
    "python-dateutil": "dateutil",
    "pyyaml": "yaml",
    "opencv-python": "cv2",
    "opencv-python-headless": "cv2",
    "beautifulsoup4": "bs4",
}
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=!~,.*\w\s]*)$")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def distribution_name(requirement: str) -> str:
    """The PEP 503-normalized distribution name of a pip requirement (``"scikit-learn>=1.3"``).

    Parameters
    ----------
    requirement : str
        A requirement without environment markers or URLs.

    Returns
    -------
    str

    Raises
    ------
    SpecError
        The requirement is not ``name[extras] specifiers``.
    """
    match = _REQUIREMENT.fullmatch(requirement)
    if match is None:
        raise SpecError(f"[runtime] packages: {requirement!r} is not a plain pip requirement")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def import_name(requirement: str) -> str:
    """The top-level module a requirement provides (``"scikit-learn>=1.3"`` -> ``"sklearn"``)."""
    dist = distribution_name(requirement)
    return _IMPORT_NAMES.get(dist, dist.replace("-", "_"))


@dataclass(frozen=True)
class RuntimeSpec:
    """What the child's interpreter provides to student code: the ``[runtime]`` table.

    ``bpgrade setup`` installs ``packages`` into the child runtime and the sandbox exposes them and
    their dependencies, nothing else. An import of any other (non-standard-library) module binds a
    placeholder that raises ``ModuleNotFoundError`` when it is used.

    Parameters
    ----------
    packages : tuple of str
        pip requirements, e.g. ``"matplotlib>=3.7"``; numpy and scipy are always added (the worker
        needs numpy). Plain ``name[extras] specifiers`` only: no markers, URLs or paths.
    modules : tuple of str
        Top-level import names the feedback lists as provided; defaults to one per package
        (``scikit-learn`` -> ``sklearn``). Give it when a package's import name is unusual.
    env : dict of str to str
        Environment variables of the child, e.g. ``{"MPLBACKEND": "Agg"}`` (upper-case names).
    """

    packages: tuple[str, ...] = BASE_PACKAGES
    modules: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = {distribution_name(p) for p in self.packages}
        extra = tuple(p for p in BASE_PACKAGES if distribution_name(p) not in names)
        object.__setattr__(self, "packages", extra + tuple(self.packages))
        if not self.modules:
            modules = tuple(dict.fromkeys(import_name(p) for p in self.packages))
            object.__setattr__(self, "modules", modules)
        for key, value in self.env.items():
            if not _ENV_NAME.fullmatch(key) or not isinstance(value, str) or "\0" in value:
                raise SpecError(f'[runtime] env: {key!r} = {value!r} is not NAME = "text"')

    @property
    def distributions(self) -> tuple[str, ...]:
        """Normalized distribution names of ``packages``."""
        return tuple(distribution_name(p) for p in self.packages)


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
    runtime: RuntimeSpec = field(default_factory=RuntimeSpec)
    support: Support = field(default_factory=Support, compare=False)
    #: What the handout says about timed cases, per language (``timing_note``; may be empty).
    timing_note: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("en") or self.name

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
        raw = copy.deepcopy(_parsed(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise SpecError(f"cannot read spec {path}: {exc}") from exc
    spec = _build_spec(raw, path)
    _validate(spec)
    return spec


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> dict:
    """The TOML document ``text``, parsed once per content: a command that infers the homework
    reads every homework's spec, then loads the one it chose (callers get a copy)."""
    # Imported here, not at the top: the sandbox imports this module on a cold command's path to
    # its first worker, and only reading a spec needs a TOML parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    return tomllib.loads(text)


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
            runtime=_build_runtime(raw.get("runtime", {}), path),
            support=_build_support(a.get("support"), path),
            timing_note=dict(a.get("timing_note", {})),
        )
    except KeyError as exc:
        raise SpecError(f"spec {path}: missing field {exc}") from exc


def _build_runtime(r: dict, path: Path) -> RuntimeSpec:
    if not isinstance(r, dict) or set(r) - {"packages", "modules", "env"}:
        raise SpecError(f"spec {path}: [runtime] takes packages, modules and env only")
    packages, modules, env = (
        r.get("packages", BASE_PACKAGES),
        r.get("modules", ()),
        r.get("env", {}),
    )
    lists = isinstance(packages, (list, tuple)) and isinstance(modules, (list, tuple))
    if not lists or not all(isinstance(x, str) for x in [*packages, *modules]):
        raise SpecError(f"spec {path}: [runtime] packages and modules are lists of strings")
    if not isinstance(env, dict):
        raise SpecError(f'spec {path}: [runtime] env is a table of NAME = "text"')
    for module in modules:
        if not all(part.isidentifier() for part in module.split(".")):
            raise SpecError(f"spec {path}: [runtime] modules: {module!r} is not a module name")
    return RuntimeSpec(tuple(packages), tuple(modules), dict(env))


def _build_support(name: str | None, path: Path) -> Support:
    """The homework's support module (``support = "support.py"``, beside the spec), as text.

    Its ``HELPERS`` and ``CALLABLES`` must be dict literals with string keys: their names are read
    here without running the module, which only the sandboxed worker does.
    """
    if name is None:
        return Support()
    file = path.parent / str(name)
    try:
        source = file.read_text(encoding="utf-8")
        tree = ast.parse(source, str(file))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise SpecError(f"spec {path}: cannot read support module {file}: {exc}") from exc
    tables = {"HELPERS": frozenset(), "CALLABLES": frozenset()}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and node.targets else None
        if isinstance(target, ast.Name) and target.id in tables:
            keys = node.value.keys if isinstance(node.value, ast.Dict) else [None]
            names = [k.value if isinstance(k, ast.Constant) else None for k in keys]
            if not all(isinstance(n, str) and KIND_NAME.fullmatch(n) for n in names):
                raise SpecError(f"{file}: {target.id} must be a dict literal with name keys")
            tables[target.id] = frozenset(names)
    return Support(source, file.name, tables["HELPERS"], tables["CALLABLES"])


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
