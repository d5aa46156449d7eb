"""A submission on disk → the Python source the child will run.

Accepted: a ``.py`` module, a Jupyter ``.ipynb`` notebook, or a folder holding one of them
(``nn.py`` / ``backprop.ipynb`` preferred, else the one defining the graded functions) beside its
helper modules and data files. Every byte is read by :mod:`autograder.intake` (no link followed,
regular files only, sizes capped before reading). Everything else gets a :class:`SubmissionError`
whose message says what is wrong, so a batch can record it and go on.

Notebook policy: only definitions are graded. From the code cells we keep imports, ``def`` and
``class`` statements, and assignments that call nothing but numpy/math and never name a function the
notebook defines; IPython magics and shell escapes are dropped, and so are bare expressions, loops,
plots and training runs. Kept imports of packages the grader lacks, and kept assignments that fail,
are skipped silently (each is wrapped in ``try``).
A cell that does not parse is skipped with a warning. This keeps a 10-minute training cell from
eating the grading budget, while helper constants such as ``input_layer_size = 400`` survive.

Conversion runs in the grader's own process, so its work is capped before it starts, whatever the
notebook holds (a 4 MiB cell of ``a=1;`` would otherwise cost a minute and gigabytes of syntax
trees): the JSON is scanned for its nesting depth and number of objects and arrays before it is
parsed (:data:`MAX_JSON_DEPTH`, :data:`MAX_JSON_CONTAINERS`), the code cells are counted
(:data:`MAX_CODE_CELLS`), and each cell's size is estimated in tokens before it is parsed
(:data:`MAX_CELL_TOKENS`, and :data:`MAX_NOTEBOOK_TOKENS` for all cells). Cells are parsed and
rendered one at a time, so only one cell's syntax tree is alive at once. A notebook over a JSON cap
is a :class:`SubmissionError`; a cell over a cap, or nested too deeply to parse, is skipped with a
warning. The same caps bound :func:`module_definitions`.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.intake import (
    MAX_SOURCE_BYTES,
    PREFERRED,
    SubmissionError,
    display,
    read_submission,
)
from autograder.messages import msg

MAX_BYTES = MAX_SOURCE_BYTES
#: Notebook JSON: nesting (Jupyter writes about 8 levels) and objects plus arrays.
MAX_JSON_DEPTH = 64
MAX_JSON_CONTAINERS = 250_000
#: Code cells, and tokens (names, numbers, operators: about one syntax-tree node each, ~1 KiB of
#: the grader's memory while the cell is parsed) per cell and per notebook.
MAX_CODE_CELLS = 2_000
MAX_CELL_TOKENS = 50_000
MAX_NOTEBOOK_TOKENS = 200_000
MAX_CELL_BYTES = 512 * 1024

__all__ = ["PREFERRED", "Source", "SubmissionError", "load_source", "notebook_to_source"]


@dataclass
class Source:
    """Python source ready for the child, plus what the conversion noticed.

    ``files`` are a folder submission's other files (helper modules, data), keyed by safe
    relative POSIX paths from the main file's folder; the child finds them in its working
    directory, which is also on its ``sys.path``.
    """

    code: str
    origin: Path
    kind: str  # "module" | "notebook"
    warnings: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)


def load_source(
    path: str | Path,
    *,
    functions: Iterable[str] = (),
    lang: str = "en",
    siblings: bool = False,
    beneath: str | Path | None = None,
) -> Source:
    """Read a submission into Python source, through the guarded reader (:mod:`autograder.intake`).

    Parameters
    ----------
    path : str or Path
        A ``.py`` file, an ``.ipynb`` file, or a folder containing one (and its helpers and data).
    functions : iterable of str
        The graded functions; they pick the main file among several ``.py`` files of a folder.
    lang : str
        Language of the error messages and warnings.
    siblings : bool
        For a file, also take the other files of its folder (a student's self-check of ``nn.py``
        in their homework folder); never for a folder shared by several students.
    beneath : str or Path, optional
        A trusted folder holding ``path``: no folder between them may be a link either.

    Raises
    ------
    SubmissionError
        Missing, a link, not a regular file, empty, binary, non-UTF-8, too large, corrupt, or of
        an unsupported kind.
    """
    intake = read_submission(
        path, functions=functions, lang=lang, siblings=siblings, beneath=beneath
    )
    name = display(intake.origin.name)
    if intake.origin.suffix.lower() not in (".py", ".ipynb"):
        raise SubmissionError(msg("intake_unsupported", lang, suffix=display(intake.origin.suffix)))
    text = _decode(intake.data, name, lang)
    if intake.origin.suffix.lower() == ".py":
        return Source(text, intake.origin, "module", list(intake.warnings), intake.files)
    code, warnings = notebook_to_source(text, lang=lang, graded=functions)
    return Source(code, intake.origin, "notebook", intake.warnings + warnings, intake.files)


def _decode(data: bytes, name: str, lang: str) -> str:
    if b"\x00" in data:
        raise SubmissionError(msg("intake_binary", lang, name=name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(msg("intake_not_utf8", lang, name=name, pos=exc.start)) from None


# ---------------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------------


def notebook_to_source(
    text: str, *, lang: str = "en", graded: Iterable[str] = ()
) -> tuple[str, list[str]]:
    """Extract the gradable definitions of a notebook's code cells, in order (work capped).

    Raises
    ------
    SubmissionError
        Not a notebook, or over a JSON cap (see the module docstring).
    """
    definitions = _Definitions(graded)
    warnings: list[str] = []
    spent = 0
    for number, cell in _code_cells(text, lang):
        source = strip_magics(cell)
        tokens = _tokens(source)
        if tokens is None or tokens > MAX_CELL_TOKENS:
            what = f"{len(source) // 1024} KiB" if tokens is None else f"{tokens} tokens"
            limit = f"{MAX_CELL_BYTES // 1024} KiB" if tokens is None else f"{MAX_CELL_TOKENS}"
            warnings.append(msg("cell_too_large", lang, n=number, what=what, limit=limit))
            continue
        spent += tokens
        if spent > MAX_NOTEBOOK_TOKENS:
            warnings.append(msg("cells_over_budget", lang, n=number, limit=MAX_NOTEBOOK_TOKENS))
            break
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte
            line = getattr(exc, "lineno", None) or "?"
            warnings.append(msg("cell_syntax_error", lang, n=number, line=line))
            continue
        except (RecursionError, MemoryError):
            warnings.append(msg("cell_too_complex", lang, n=number))
            continue
        if not definitions.add(f"code cell {number}", tree):
            warnings.append(msg("cell_too_complex", lang, n=number))
        del tree  # one cell's syntax tree at a time
    return definitions.source(), warnings


_TOKEN = re.compile(r"[\w.]+|[^\w\s]")


def _tokens(source: str) -> int | None:
    """About the number of syntax-tree nodes parsing ``source`` makes; None if it is too big to
    count (over :data:`MAX_CELL_BYTES`)."""
    if len(source) > MAX_CELL_BYTES:
        return None
    return len(_TOKEN.findall(source))


def module_definitions(code: str, graded: Iterable[str] = ()) -> str | None:
    """A module's definitions alone, by the notebook policy; ``None`` if that changes nothing.

    Used when a ``.py`` submission's top-level code fails (a missing module, a missing data file,
    a demo that runs too long): the functions the student wrote are graded without it. A module
    that does not parse, or is over a cell's caps (too large to parse in the grader), has no
    definitions to offer, so it stays broken.
    """
    tokens = _tokens(code)
    if tokens is None or tokens > MAX_CELL_TOKENS:  # parsed in one piece, like one cell
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    definitions = _Definitions(graded)
    if not definitions.add("module", tree):
        return None
    del tree
    kept = definitions.source()
    return None if not kept.strip() else kept


def definitions_source(blocks: list[tuple[str, ast.Module]]) -> str:
    """The definitions of parsed code blocks (notebook cells or a module), as runnable source."""
    definitions = _Definitions()
    for label, tree in blocks:
        definitions.add(label, tree)
    return definitions.source()


class _Definitions:
    """The definitions of code blocks, added one block at a time (its tree can then be freed).

    Non-import statements are rendered as they come; imports wait (as small trees) until every
    block is in, since an import is kept only if some kept statement uses its name. With the
    graded functions known, only statements they reach count: the handout's ``loadDigits()``
    helper must not make every notebook import scikit-learn (0.6 s in the child) for nothing.
    """

    def __init__(self, graded: Iterable[str] = ()) -> None:
        self.graded = set(graded)
        self.defined: set[str] = set()
        self.used: set[str] = set()
        self.uses_of: dict[str, set[str]] = {}  # a kept statement's bound name -> names it reads
        self.always: set[str] = set()  # names read by kept statements that bind nothing
        # (label, [rendered text, or an import statement still to decide]) per block
        self.blocks: list[tuple[str, list[str | ast.stmt]]] = []

    def add(self, label: str, tree: ast.Module) -> bool:
        """Keep ``tree``'s definitions; False (and nothing kept) if one is too deep to render."""
        self.defined |= _defined_functions(tree)
        statements = [s for s in tree.body if _is_definition(s, self.defined)]
        if not statements:
            return True
        try:
            body: list[str | ast.stmt] = [
                s if isinstance(s, (ast.Import, ast.ImportFrom)) else _render(s) for s in statements
            ]
        except (RecursionError, MemoryError):  # ast.unparse recurses
            return False
        self.used |= _names_used(statements)
        for stmt in statements:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            reads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
            bound = _bound_names(stmt)
            for name in bound:
                self.uses_of.setdefault(name, set()).update(reads)
            if not bound:
                self.always |= reads
        self.blocks.append((label, body))
        return True

    def needed(self) -> set[str]:
        """The names the graded functions reach (every name used, if they are not known)."""
        if not self.graded:
            return self.used
        needed = self.graded | self.always
        todo = list(needed)
        while todo:
            for name in self.uses_of.get(todo.pop(), ()):
                if name not in needed:
                    needed.add(name)
                    todo.append(name)
        return needed

    def source(self) -> str:
        rendered = []
        needed = self.needed()
        for label, body in self.blocks:
            text = [
                _render(s) if isinstance(s, ast.stmt) else s
                for s in body
                if isinstance(s, str) or _import_needed(s, needed)
            ]
            if text:
                rendered.append(f"# --- {label} ---\n" + "\n".join(text))
        return "\n\n".join(rendered) + "\n"


def _bound_names(stmt: ast.stmt) -> set[str]:
    """The module-level names a kept definition binds (a ``try`` block binds none here)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else []
    if isinstance(stmt, ast.AnnAssign):
        targets = [stmt.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _names_used(statements: list[ast.stmt]) -> set[str]:
    """Every name the kept non-import code reads (``np`` in ``np.exp``, ``optimize``, ...)."""
    used: set[str] = set()
    for stmt in statements:
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            used |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    return used


def _import_needed(stmt: ast.stmt, used: set[str]) -> bool:
    """Imports only the training or plotting cells needed (scipy.optimize, matplotlib: ~0.5 s in
    the child) are dropped with those cells."""
    if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return True
    bound = {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return "*" in bound or bool(bound & used)


def _code_cells(text: str, lang: str = "en") -> list[tuple[int, str]]:
    """The code cells of an nbformat-4 notebook, read as plain JSON (its size checked first).

    Only ``cells[*].cell_type`` and ``source`` matter here, so the file is not validated against
    the full nbformat schema (which costs about a second per notebook); older formats go through
    nbformat's converter.
    """
    problem = _json_shape_problem(text, lang)
    if problem is not None:
        raise SubmissionError(problem)
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(msg("notebook_not_json", lang, detail=str(exc))) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SubmissionError(msg("notebook_unreadable", lang, detail=type(exc).__name__)) from None
    if not isinstance(nb, dict):
        raise SubmissionError(msg("notebook_not_object", lang))
    if nb.get("nbformat") != 4:
        nb = _converted(text, lang)
    cells = nb.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise SubmissionError(msg("notebook_bad_cells", lang))
    code = [c for c in cells if c.get("cell_type") == "code"]
    if len(code) > MAX_CODE_CELLS:
        raise SubmissionError(msg("notebook_too_many_cells", lang, limit=MAX_CODE_CELLS))
    return [(i + 1, _cell_source(c)) for i, c in enumerate(code)]


_JSON_SYNTAX = re.compile(r'["\[\]{}]')


def _json_shape_problem(text: str, lang: str) -> str | None:
    """Why the notebook's JSON is too deep or has too many objects and arrays, before parsing.

    One pass over the brackets outside strings (each string is skipped by the json module's own
    scanner, in linear time); it stops at the first cap crossed, so a bomb costs little. Broken
    JSON is left to the parser, which says where.
    """
    depth = containers = 0
    pos = 0
    search = _JSON_SYNTAX.search
    while True:
        found = search(text, pos)
        if found is None:
            return None
        char = found.group()
        if char == '"':
            try:
                pos = json.decoder.scanstring(text, found.end())[1]
            except ValueError:
                return None
            continue
        pos = found.end()
        if char in "[{":
            depth += 1
            containers += 1
            if depth > MAX_JSON_DEPTH:
                return msg("notebook_too_deep", lang, limit=MAX_JSON_DEPTH)
            if containers > MAX_JSON_CONTAINERS:
                return msg("notebook_too_many_values", lang, limit=MAX_JSON_CONTAINERS)
        else:
            depth -= 1


def _converted(text: str, lang: str = "en") -> dict:
    import nbformat

    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for broken files
        raise SubmissionError(msg("notebook_unreadable", lang, detail=type(exc).__name__)) from None


def _cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def strip_magics(source: str) -> str:
    """Drop IPython magics (``%``, ``%%``) and shell escapes (``!``); a cell magic drops the cell."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    return "\n".join("" if _is_magic(line) else line for line in lines)


def _is_magic(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("%", "!")) or (
        stripped.endswith("?") and not stripped.startswith("#")
    )


def _defined_functions(tree: ast.Module) -> set[str]:
    return {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _is_definition(stmt: ast.stmt, notebook_functions: set[str]) -> bool:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return _is_constant_like(stmt, notebook_functions)
    if isinstance(stmt, ast.Try):
        # ``try: from scipy.special import expit`` / ``except ImportError: expit = None``
        inner = (
            stmt.body + stmt.orelse + stmt.finalbody + [s for h in stmt.handlers for s in h.body]
        )
        return all(isinstance(s, ast.Pass) or _is_definition(s, notebook_functions) for s in inner)
    return False


def _is_constant_like(stmt: ast.stmt, notebook_functions: set[str]) -> bool:
    """No reference to the notebook's own functions, and calls only into numpy or math."""
    for sub in ast.walk(stmt):
        if isinstance(sub, ast.Name) and sub.id in notebook_functions:
            return False
        if isinstance(sub, ast.Call) and _root_name(sub.func) not in SAFE_CALL_ROOTS:
            return False
    return True


SAFE_CALL_ROOTS = frozenset(
    {"np", "numpy", "math", "float", "int", "list", "tuple", "range", "len"}
)


def _root_name(func: ast.expr) -> str | None:
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


def _tolerant(stmt: ast.stmt, errors: str) -> str:
    body = ast.unparse(stmt).replace("\n", "\n    ")
    return f"try:\n    {body}\nexcept {errors}:\n    pass"


def _render(stmt: ast.stmt) -> str:
    """Imports of plotting or data packages the grader does not ship, and assignments that read
    names from dropped cells (``X = digits.data`` after ``digits = load_digits()``), must not
    stop the definitions around them from loading."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)) and not _is_numpy_import(stmt):
        return _tolerant(stmt, "ImportError")
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return _tolerant(stmt, "Exception")
    if isinstance(stmt, ast.ClassDef) or getattr(stmt, "decorator_list", None):
        # ``class Net(torch.nn.Module)`` or ``@numba.njit`` runs code of a package the grader may
        # lack: losing that one definition must not lose the module's others.
        return _tolerant(stmt, "Exception")
    return ast.unparse(stmt)


def _is_numpy_import(stmt: ast.stmt) -> bool:
    names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""]
    return all(n.split(".")[0] == "numpy" for n in names)
