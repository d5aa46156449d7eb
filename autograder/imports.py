"""Which modules a submission imports that the grader does not provide, read from its source.

The child binds a placeholder for such a module, and the placeholder raises ModuleNotFoundError
when a graded function uses it (see ``harness/worker.py``). The child's error text cannot name the
module on a hidden case: the student controls it, and could put a hidden input into it. So the
parent names the module from the submission's own source instead: the imports a function reaches
(directly, through the module-level functions and classes it calls, or through module-level names
built from an import) do not depend on any case, so saying them reveals nothing.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from autograder.harness.runtime import GRADER_MODULES
from autograder.messages import msg

#: A dotted module name as an import statement could write it: nothing else is ever looked up,
#: so a string in ``import_module("...")`` cannot steer the grader's own file-system checks.
_MODULE_NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}


@dataclass(frozen=True)
class ImportFacts:
    """What a submission imports that the grader does not provide.

    Parameters
    ----------
    provided : tuple of str
        Import names the grader provides (the spec's ``[runtime] modules``).
    missing : tuple of str
        Every unprovided module the source imports, in source order: a top-level name
        (``"torch"`` for ``import torch.nn``), or a dotted one when only a submodule of a provided
        package is missing (``"scipy.optimise"``).
    uses : dict of str to tuple of str
        For each module-level function and class: the unprovided modules it reaches.
    """

    provided: tuple[str, ...]
    missing: tuple[str, ...] = ()
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def used_by(self, function: str) -> tuple[str, ...]:
        """The unprovided modules ``function`` reaches (empty if none is visible statically)."""
        return self.uses.get(function, ())


def import_facts(
    source: str,
    provided: Iterable[str],
    *,
    local: Iterable[str] = (),
    exists: Callable[[str], bool] | None = None,
) -> ImportFacts:
    """Read a submission's source for the modules it imports that the grader does not provide.

    Parameters
    ----------
    source : str
        The Python source the child runs (a notebook already converted).
    provided : iterable of str
        Top-level import names the grader provides; the standard library always is.
    local : iterable of str
        The submission's own module names (its other files): never reported.
    exists : callable, optional
        ``exists("scipy.optimise")`` tells whether a dotted module of a provided package is
        installed in the child runtime (see :func:`runtime_module_exists`); without it every
        submodule of a provided package counts as provided.

    Returns
    -------
    ImportFacts
        Empty (but for ``provided``) when the source does not parse.
    """
    from autograder.submission import MAX_CELL_TOKENS, _tokens

    provided = tuple(dict.fromkeys(provided))
    available = _Availability(set(provided), set(local), exists)
    tokens = _tokens(source)
    if tokens is None or tokens > 4 * MAX_CELL_TOKENS:  # parsed in the grader: bounded like cells
        return ImportFacts(provided)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ImportFacts(provided)
    available.fallbacks = _with_fallback(tree)
    missing = [m for node in ast.walk(tree) for m in _imported(node, available)]
    bound = _module_level_bindings(tree, available)
    definitions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    direct = {name: _direct_uses(node, bound, available) for name, node in definitions.items()}
    calls = {name: _names(node) & set(definitions) for name, node in definitions.items()}
    uses = {name: _reach(name, direct, calls) for name in definitions}
    return ImportFacts(provided, tuple(dict.fromkeys(missing)), uses)


class _Availability:
    """Decides, per dotted module name, what to report as not provided (or None)."""

    def __init__(self, provided: set[str], local: set[str], exists: Callable[[str], bool] | None):
        self.provided, self.local, self.exists = provided, local, exists
        self.fallbacks: set[int] = set()  # ids of imports whose failure the student handles

    def missing(self, module: str) -> str | None:
        top = module.partition(".")[0]
        if top in GRADER_MODULES:
            return top
        if top in self.local or top in _STDLIB:
            return None
        if top not in self.provided:
            return top
        if "." in module and self.exists is not None and not self.exists(module):
            return module
        return None


def _imported(node: ast.AST, available: _Availability) -> list[str]:
    """The unprovided modules one node imports (an import, or ``import_module("...")``)."""
    if id(node) in available.fallbacks:
        modules = []
    elif isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = [node.module] if node.level == 0 and node.module else []
    elif isinstance(node, ast.Call) and _dynamic_import(node):
        modules = [node.args[0].value]
    else:
        modules = []
    return [m for m in (available.missing(module) for module in modules) if m]


def _dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return (
        name in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and _MODULE_NAME.fullmatch(node.args[0].value) is not None
    )


def _bindings(node: ast.stmt, available: _Availability) -> dict[str, str]:
    """Names an import statement binds to an unprovided module."""
    found: dict[str, str] = {}
    if id(node) in available.fallbacks:
        return found
    if isinstance(node, ast.Import):
        for alias in node.names:
            module = available.missing(alias.name)
            if module:
                found[alias.asname or alias.name.partition(".")[0]] = module
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        module = available.missing(node.module)
        if module:
            for alias in node.names:
                found[alias.asname or alias.name] = module
    return found


_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_TRY = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)


def _with_fallback(tree: ast.AST) -> set[int]:
    """Imports inside a ``try`` whose handler for a failed import does more than ``pass``
    (``except ImportError: import numpy as xp``): the child lets them fail for real, the
    student's fallback runs, so they are never what a graded call misses."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, _TRY) and any(_falls_back(h) for h in node.handlers)
        for stmt in node.body
        for inner in ast.walk(stmt)
        if isinstance(inner, (ast.Import, ast.ImportFrom))
    }


def _falls_back(handler: ast.ExceptHandler) -> bool:
    def names(node: ast.expr) -> list[str | None]:
        if isinstance(node, ast.Tuple):
            return [n for elt in node.elts for n in names(elt)]
        return [getattr(node, "id", None) or getattr(node, "attr", None)]

    catches = handler.type is None or any(n in _IMPORT_ERRORS for n in names(handler.type))
    trivial = all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in handler.body
    )
    return catches and not trivial


def _module_level_bindings(tree: ast.Module, available: _Availability) -> dict[str, set[str]]:
    """Module-level names that stand for unprovided modules: imports (also inside ``try`` or
    ``if``), and assignments built from them (``DataFrame = pd.DataFrame``)."""
    bound: dict[str, set[str]] = {}
    for node in _module_statements(tree.body):
        for name, module in _bindings(node, available).items():
            bound.setdefault(name, set()).add(module)
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value:
            modules = set().union(*(bound.get(n, set()) for n in _names(node.value)))
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in _names(target):
                    if modules:
                        bound.setdefault(name, set()).update(modules)
    return bound


def _module_statements(body: list) -> Iterable[ast.AST]:
    """Statements run at module level, including those nested in try/if/with blocks."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for attr in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, attr, None)
            if isinstance(inner, list):
                yield from _module_statements(
                    [n for n in inner if isinstance(n, (ast.stmt, ast.ExceptHandler))]
                )


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _direct_uses(node: ast.AST, bound: dict[str, set[str]], available: _Availability) -> set[str]:
    """Unprovided modules a definition names or imports itself."""
    uses = {m for n in ast.walk(node) for m in _imported(n, available)}
    for name in _names(node):
        uses |= bound.get(name, set())
    return uses


def _reach(start: str, direct: dict[str, set[str]], calls: dict[str, set[str]]) -> tuple[str, ...]:
    """Modules reached from ``start`` through the definitions it names, transitively."""
    seen, todo, modules = {start}, [start], set()
    while todo:
        name = todo.pop()
        modules |= direct[name]
        for callee in calls[name] - seen:
            seen.add(callee)
            todo.append(callee)
    return tuple(sorted(modules))


def runtime_module_exists(package_dirs: Iterable[str]) -> Callable[[str], bool]:
    """A test of whether a dotted module is installed in the child runtime.

    Parameters
    ----------
    package_dirs : iterable of str
        The runtime's provided site-packages entries (``ChildRuntime.package_dirs``).

    Returns
    -------
    callable
        ``exists("scipy.optimize") -> True``; ``exists("scipy.optimise") -> False``.
    """
    packages = {os.path.basename(p): p for p in package_dirs if os.path.isdir(p)}

    def exists(module: str) -> bool:
        if _MODULE_NAME.fullmatch(module) is None:
            return True  # not a module name: nothing to look up (and no path to build from it)
        top, *rest = module.split(".")
        path = packages.get(top)
        if path is None:
            return True  # not a package directory (a single-file module): cannot tell
        try:
            for part in rest:
                nxt = os.path.join(path, part)
                if os.path.isdir(nxt):
                    path = nxt
                    continue
                return os.path.isfile(nxt + ".py") or bool(glob.glob(glob.escape(nxt) + ".*.so"))
        except (OSError, ValueError):
            return True
        return True

    return exists


def missing_module_message(
    facts: ImportFacts, function: str, lang: str, detail: str | None = None
) -> str:
    """Feedback for a graded call that raised ModuleNotFoundError, named from the source.

    Parameters
    ----------
    facts : ImportFacts
    function : str
        The graded function.
    lang : {"en", "zh"}
    detail : str, optional
        The child's own error text: pass it for public cases only.

    Returns
    -------
    str
    """
    provided = ", ".join(facts.provided) or "numpy"
    used = facts.used_by(function)
    if used:
        text = msg(
            "module_missing", lang, function=function, modules=", ".join(used), provided=provided
        )
    elif facts.missing:
        text = msg(
            "module_missing_imports", lang, modules=", ".join(facts.missing), provided=provided
        )
    else:
        text = msg("module_missing_unknown", lang, provided=provided)
    return msg("module_missing_detail", lang, message=text, emsg=detail) if detail else text
