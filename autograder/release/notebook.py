"""Build the handout notebook (nbformat v4) deterministically.

Deterministic means: no execution counts, no outputs, no timestamps, cell ids derived from the
cell's position and role, and ``nbformat.writes`` (which sorts keys). So the committed release can
be compared byte for byte with a fresh one.

Our own per-cell data lives under ``cell.metadata["backprop"]`` (nbgrader's ``metadata["nbgrader"]``
rejects unknown keys), e.g. ``{"role": "check", "part": "nnGrad", "points": 20}``:

=========  ===================================================================================
key        meaning
=========  ===================================================================================
role       "markdown", "module" (graded functions; also in nn.py), "notebook" (demo/training),
           "check" (runs one part's public cases)
part       the spec part the cell belongs to (markdown, demo and check cells)
parts      module cells: the spec parts whose functions the cell defines
points     check cells: the part's points
solution   module cells: whether the cell had a solution region (i.e. the student edits it)
=========  ===================================================================================

The notebook-level ``metadata["backprop"]`` names the homework, the language and the variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


@dataclass(frozen=True)
class NotebookCell:
    """A rendered cell: final text plus our metadata."""

    kind: str  # "code" | "markdown"
    text: str
    meta: dict = field(default_factory=dict)


def build_notebook(cells: list[NotebookCell], notebook_meta: dict) -> nbformat.NotebookNode:
    """Assemble and validate a v4 notebook.

    Parameters
    ----------
    cells : list of NotebookCell
        In order.
    notebook_meta : dict
        Stored as ``metadata["backprop"]`` of the notebook.

    Returns
    -------
    nbformat.NotebookNode
        Valid nbformat v4 (validated before returning).
    """
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "backprop": dict(notebook_meta),
    }
    for index, cell in enumerate(cells):
        nb.cells.append(_new_cell(index, cell))
    nbformat.validate(nb)
    return nb


def _new_cell(index: int, cell: NotebookCell) -> nbformat.NotebookNode:
    role = cell.meta.get("role", cell.kind)
    part = cell.meta.get("part")
    # Stable ids: position + role (+ part), never random; nbformat allows [a-zA-Z0-9-_]{1,64}.
    cell_id = f"c{index:03d}-{role}" + (f"-{part}" if part else "")
    metadata = {"backprop": dict(cell.meta)}
    if cell.kind == "markdown":
        new = new_markdown_cell(cell.text, metadata=metadata)
    else:
        new = new_code_cell(cell.text, metadata=metadata)
    new["id"] = cell_id[:64]
    return new


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as written to disk (the same bytes as ``nbformat.write``)."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"
