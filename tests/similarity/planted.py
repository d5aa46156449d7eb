"""Planted copies of the independent solutions (tests/fixtures/similarity/independent/).

Each transformation is what a student who copies does to hide it: rename every identifier,
reorder the functions, replace the comments, swap ``np.dot`` for ``@``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

INDEPENDENT = Path(__file__).resolve().parents[1] / "fixtures" / "similarity" / "independent"

RENAMES = {
    "Theta1": "W_in", "Theta2": "W_out", "a1": "inputs", "z2": "hidden_z", "a2": "hidden",
    "a3": "outputs", "d3": "err_out", "d2": "err_hidden", "Y": "targets", "J": "loss", "m": "N",
    "split": "cut_at", "s": "sg", "grad": "gradient", "Theta1_grad": "dW_in",
    "Theta2_grad": "dW_out", "h1": "layer1", "h2": "layer2",
}  # fmt: skip


def source(name: str) -> str:
    return (INDEPENDENT / f"{name}.py").read_text(encoding="utf-8")


def renamed(text: str) -> str:
    """Every local identifier renamed (graded function names must stay)."""
    return re.sub(r"\b\w+\b", lambda m: RENAMES.get(m.group(), m.group()), text)


def reordered(text: str) -> str:
    """The top-level functions in reverse order, imports first."""
    tree = ast.parse(text)
    lines = text.splitlines()
    blocks = [(n, "\n".join(lines[n.lineno - 1 : n.end_lineno])) for n in tree.body]
    head = [b for n, b in blocks if not isinstance(n, ast.FunctionDef)]
    funcs = [b for n, b in blocks if isinstance(n, ast.FunctionDef)]
    return "\n\n\n".join(head + funcs[::-1]) + "\n"


def recommented(text: str) -> str:
    """Docstrings and comments replaced, a new comment above every statement line."""
    out = ['"""My own work for homework 4."""']
    for line in text.splitlines():
        if line.lstrip().startswith(('"""', "#")):
            continue
        stripped = line.split("  #")[0].rstrip()
        if stripped and not stripped.lstrip().startswith(("def ", "import", "from", ")")):
            indent = stripped[: len(stripped) - len(stripped.lstrip())]
            out.append(f"{indent}# step: compute {len(out)} (see lecture notes)")
        out.append(stripped)
    return "\n".join(out) + "\n"


def dot_to_matmul(text: str) -> str:
    """``np.dot(x, y)`` written ``(x @ y)``."""
    return re.sub(r"np\.dot\((\w+(?:\.T)?), (\w+(?:\.T)?)\)", r"(\1 @ \2)", text)


#: name -> (source, transformation); the copy pairs a test must find at the top.
PLANTED = {
    "p_renamed_a": ("a_vectorized_dot", renamed),
    "p_matmul_a": ("a_vectorized_dot", dot_to_matmul),
    "p_reordered_b": ("b_example_loop", reordered),
    "p_recommented_c": ("c_matmul_cstack", recommented),
}
COPY_PAIRS = {
    frozenset({"a_vectorized_dot", "p_renamed_a"}),
    frozenset({"a_vectorized_dot", "p_matmul_a"}),
    frozenset({"p_renamed_a", "p_matmul_a"}),
    frozenset({"b_example_loop", "p_reordered_b"}),
    frozenset({"c_matmul_cstack", "p_recommented_c"}),
}


def write_planted(folder: Path) -> list[str]:
    """Write the independent solutions and their planted copies into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for path in sorted(INDEPENDENT.glob("*.py")):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        names.append(path.stem)
    for name, (base, transform) in PLANTED.items():
        (folder / f"{name}.py").write_text(transform(source(base)), encoding="utf-8")
        names.append(name)
    return names
