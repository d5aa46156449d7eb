"""Export the homework as an otter-assign master notebook whose tests delegate to this grader.

Layout of the master notebook (``otter assign`` format, otter-grader 7)::

    raw   # ASSIGNMENT CONFIG        name, files (client + check.py), exception-format tests, ...
    ...   handout cells outside any question (setup, training, summary)
    raw   # BEGIN QUESTION           name: <part id>, points: <spec points>
    md    the part's prompt
    raw   # BEGIN SOLUTION
    code  the student's function, regions as ``# BEGIN SOLUTION`` / ``# END SOLUTION``
    raw   # END SOLUTION
    code  the part's demo and self-check cells
    raw   # BEGIN TESTS
    code  one exception-format test per grading case of the part (public and hidden)
    raw   # END TESTS
    raw   # END QUESTION

**One otter test case per grading case.** otter scores a test case all or nothing and splits a
question's points evenly over its cases, so with one otter case per bpgrade case (the spec fixes
how many each part has) a part's otter score is ``points × passed / cases``: exactly bpgrade's
score whenever each case is fully right or fully wrong, and rounded *down* for a case bpgrade
credits in part (``cost_and_gradient``, ``descent`` checks). Every test case is a few lines that
ask the grader service (see :mod:`autograder.integrations.nbgrader`) for that case's verdict: the
hidden inputs and expected values never enter otter's kernel or ``autograder.zip``. All cases are
marked hidden in otter so that the student notebook carries no otter tests (students self-check with
``check("part")``); otter's ``results.json`` still lists every case with its score.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from autograder.integrations.nbgrader import (
    CHECK_FILE,
    CLIENT_FILE,
    ExportError,
    HomeworkCell,
    check_source,
    client_source,
    homework_cells,
)
from autograder.release import markers
from autograder.release.build import REPO_ROOT
from autograder.release.notebook import KERNELSPEC
from autograder.spec import PartSpec, Spec

# Lines otter-assign would rewrite or drop outside our markers (otter/assign/solutions.py).
_OTTER_SPECIAL = re.compile(r"#\s?SOLUTION|#\s*(BEGIN|END)\s*(IGNORE|PROMPT)|# (SEED|IGNORE)\s*$")


def assignment_config(spec: Spec) -> dict:
    """The ``# ASSIGNMENT CONFIG`` block (JSON, which is YAML)."""
    return {
        "name": spec.name,
        "files": [CLIENT_FILE, CHECK_FILE],
        "tests": {"ok_format": False},
        # The tests need the grader service; `otter assign` must not depend on one running.
        "run_tests": False,
        # A plain student notebook: no otter import, no otter checks (check("part") self-checks).
        "init_cell": False,
        "check_all_cell": False,
        "export_cell": False,
    }


def otter_solution_code(marked: str, *, where: str) -> str:
    """A module cell with its regions in otter's syntax (``...`` replaces each for students)."""
    lines = marked.splitlines()
    regions = markers.find_regions(marked, where=where)
    boundaries = {r.begin: r for r in regions} | {r.end: r for r in regions}
    out = []
    for index, line in enumerate(lines):
        region = boundaries.get(index)
        if region is not None:
            word = "BEGIN" if index == region.begin else "END"
            out.append(f"{region.indent}# {word} SOLUTION")
        elif _OTTER_SPECIAL.search(line):
            raise ExportError(f"{where}+{index + 1}: otter-assign would rewrite {line.strip()!r}")
        else:
            out.append(line)
    return "\n".join(out)


def case_ids(part: PartSpec) -> list[str]:
    """The grading cases of a part, as :mod:`autograder.cases` names them."""
    public = [f"{part.id}/public/{i}" for i in range(part.public_cases)]
    return public + [f"{part.id}/hidden/{i}" for i in range(part.hidden_cases)]


def otter_test_code(part: str, case_id: str) -> str:
    """One exception-format test: passes iff the grader service says this case passed."""
    name = re.sub(r"\W", "_", case_id)
    return (
        "# HIDDEN\n"
        f"def test_{name}():\n"
        f'    """bpgrade case {case_id}, graded by the course\'s sandboxed grader service."""\n'
        "    from bpgrade_client import check_case\n"
        "\n"
        f"    check_case({part!r}, {case_id!r})"
    )


def build_otter_master(
    lang: str = "en", *, root: Path = REPO_ROOT, homework: str = "backprop"
) -> nbformat.NotebookNode:
    """The otter-assign master notebook of the homework.

    Parameters
    ----------
    lang : {"en", "zh"}
        The handout language.
    root : Path
        The repository.
    homework : str
        The homework (``solutions/<homework>/``).

    Returns
    -------
    nbformat.NotebookNode
    """
    spec, cells = homework_cells(homework, lang, root)
    nb = new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    config = json.dumps(assignment_config(spec), indent=2)
    nb.cells.append(new_raw_cell(f"# ASSIGNMENT CONFIG\n{config}"))
    for group in _questions(cells):
        nb.cells.extend(_render_group(spec, group))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"otter-{index:03d}"
    nbformat.validate(nb)
    return nb


def _questions(cells: list[HomeworkCell]) -> list[tuple[str | None, list[HomeworkCell]]]:
    """Split the cells into runs: a part's run ends with its check cell; others stand alone."""
    groups: list[tuple[str | None, list[HomeworkCell]]] = []
    current: list[HomeworkCell] = []
    current_part: str | None = None
    for cell in cells:
        part = cell.meta.get("part")
        if current and part != current_part:
            groups.extend((None, [c]) for c in current)  # a run that never reached its check
            current = []
        if part is None:
            if cell.has_solution:
                raise ExportError("a solution cell outside any part would not be stripped")
            groups.append((None, [cell]))
            continue
        current_part = part
        current.append(cell)
        if cell.meta.get("role") == "check":
            groups.append((part, current))
            current = []
    groups.extend((None, [c]) for c in current)
    if any(part is None and c.has_solution for part, run in groups for c in run):
        raise ExportError("a solution cell is not inside its part's question")
    return groups


def _render_group(spec: Spec, group: tuple[str | None, list[HomeworkCell]]) -> list:
    part_id, run = group
    if part_id is None:
        return [_plain(c) for c in run]
    part = spec.part(part_id)
    out = [new_raw_cell(f"# BEGIN QUESTION\nname: {part.id}\npoints: {part.points:g}")]
    for cell in run:
        if cell.has_solution:
            code = otter_solution_code(cell.marked or "", where=f"backprop:{part_id}")
            out += [
                new_raw_cell("# BEGIN SOLUTION"),
                new_code_cell(code, metadata={"backprop": dict(cell.meta)}),
                new_raw_cell("# END SOLUTION"),
            ]
        else:
            out.append(_plain(cell))
    out.append(new_raw_cell("# BEGIN TESTS"))
    out += [new_code_cell(otter_test_code(part.id, case)) for case in case_ids(part)]
    out += [new_raw_cell("# END TESTS"), new_raw_cell("# END QUESTION")]
    return out


def _plain(cell: HomeworkCell):
    meta = {"backprop": dict(cell.meta)}
    if cell.rendered.kind == "markdown":
        return new_markdown_cell(cell.rendered.text, metadata=meta)
    if _OTTER_SPECIAL.search(cell.rendered.text):
        raise ExportError(f"otter-assign would rewrite a line of cell {cell.meta}")
    return new_code_cell(cell.rendered.text, metadata=meta)


def export_otter(
    out_dir: Path, *, lang: str = "en", root: Path = REPO_ROOT, homework: str = "backprop"
) -> list[Path]:
    """Write ``OUT_DIR/backprop.ipynb`` (the master notebook) and the files it lists.

    Parameters
    ----------
    out_dir : Path
        Where to write; run ``otter assign OUT_DIR/backprop.ipynb DIST`` on the result.
    lang : {"en", "zh"}
        The handout and feedback language.
    root : Path
        The repository.
    homework : str
        The homework (``solutions/<homework>/``).

    Returns
    -------
    list of Path
        ``<homework>.ipynb``, ``bpgrade_client.py`` and ``check.py``.
    """
    spec, _ = homework_cells(homework, lang, root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(build_otter_master(lang, root=root, homework=homework), version=4)
    files = {
        f"{spec.name}.ipynb": text if text.endswith("\n") else text + "\n",
        CLIENT_FILE: client_source(spec, lang, spec.name),
        CHECK_FILE: check_source(lang, spec),
    }
    written = []
    for rel, content in files.items():
        path = out_dir / rel
        path.write_text(content, encoding="utf-8", newline="\n")
        written.append(path)
    return written
