"""solutions/<hw>/<hw>.py -> assignments/<hw>/{en,zh}/{nn.py, <hw>.ipynb, check.py, submit.py, README.md}.

Everything is built in memory as ``{relative path: text}`` first, so writing, checking for drift
and testing all use the same function (:func:`build_release`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autograder.release import handout, markers
from autograder.release.notebook import NotebookCell, build_notebook, notebook_text
from autograder.release.source import LANGS, Cell, SourceError, read_source
from autograder.spec import Spec, load_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECK_TEMPLATE = Path(__file__).with_name("check_template.py")
SUBMIT_TEMPLATE = Path(__file__).with_name("submit_template.py")
_CONFIG_BLOCK = re.compile(r"# --- set by bpgrade release ---\n.*?# --- end ---\n", re.S)
_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.M)


@dataclass(frozen=True)
class Homework:
    """Where one homework's pieces live, by the repository's conventions."""

    name: str
    source: Path  # solutions/<name>/<name>.py
    spec: Path  # autograder/homeworks/<name>/spec.toml
    out: Path  # assignments/<name>

    @classmethod
    def in_repo(cls, name: str, root: Path = REPO_ROOT) -> Homework:
        return cls(
            name=name,
            source=root / "solutions" / name / f"{name}.py",
            spec=root / "autograder" / "homeworks" / name / "spec.toml",
            out=root / "assignments" / name,
        )


def build_release(
    source: Path,
    spec: Spec,
    langs: Iterable[str] = LANGS,
    *,
    solution: bool = False,
    install: str | None = None,
    server: str | None = None,
) -> dict[str, str]:
    """Build every file of a release in memory.

    Parameters
    ----------
    source : Path
        The instructor's percent-format source.
    spec : Spec
        The homework's spec (points, titles, function names).
    langs : iterable of str
        Languages to build, each into its own folder ``<lang>/``.
    solution : bool
        Keep the solution code (instructor version) instead of stubs.
    install : str, optional
        The instructor's command that installs the self-check (validated by
        :func:`~autograder.release.handout.check_install_line`); without it the handout says the
        instructor gives one.
    server : str, optional
        The course server's base URL (validated by
        :func:`~autograder.release.handout.check_server_url`), written into ``submit.py`` and the
        handout; without it students give ``--server`` or ``$BPGRADE_SERVER``.

    Returns
    -------
    dict of str to str
        Relative path (``"en/nn.py"``) -> file text. With every language, also the top ``README.md``.

    Raises
    ------
    SourceError, MarkerError, HandoutError
        On a malformed source, with the file and line.
    """
    langs = tuple(langs)
    install = None if install is None else handout.check_install_line(install)
    server = None if server is None else handout.check_server_url(server)
    unknown = set(langs) - set(LANGS)
    if unknown or not langs:
        raise ValueError(f"languages must be among {LANGS}, got {langs}")
    where = str(source)
    cells = read_source(source)
    part_order = validate(cells, spec, where=where)
    notebook_name = f"{spec.name}.ipynb"
    files: dict[str, str] = {}
    for lang in langs:
        files[f"{lang}/{spec.module_name}"] = build_module(
            cells, lang, solution=solution, where=where
        )
        nb_cells = notebook_cells(
            cells,
            spec,
            lang,
            part_order,
            solution=solution,
            where=where,
            install=install,
            server=server,
        )
        meta = {
            "homework": spec.name,
            "lang": lang,
            "variant": "solution" if solution else "student",
        }
        files[f"{lang}/{notebook_name}"] = notebook_text(build_notebook(nb_cells, meta))
        files[f"{lang}/README.md"] = readme(
            cells, spec, lang, part_order, where=where, install=install, server=server
        )
        files[f"{lang}/check.py"] = check_script(lang, spec.module_name, install, spec.name)
        files[f"{lang}/submit.py"] = submit_script(lang, spec.module_name, spec.name, server)
    if set(langs) == set(LANGS):
        files["README.md"] = handout.index_readme(spec)
    return files


def validate(cells: list[Cell], spec: Spec, *, where: str) -> list[str]:
    """Check the source against the spec; return the part ids in the order of their check cells.

    Every ``part=`` must name a spec part; every spec part needs exactly one check cell and its
    function defined in a module cell; Markdown must hold no solution markers.
    """
    part_ids = {p.id for p in spec.parts}
    order: list[str] = []
    defined: set[str] = set()
    for cell in cells:
        here = f"{where}:{cell.line}"
        if cell.part is not None and cell.part not in part_ids:
            raise SourceError(f"{here}: part {cell.part!r} is not in the spec {sorted(part_ids)}")
        if cell.kind == "markdown" and (markers.BEGIN in cell.text or markers.END in cell.text):
            raise markers.MarkerError(f"{here}: solution markers are only allowed in code cells")
        if cell.kind == "code":
            markers.find_regions(cell.text, where=where, first_line=cell.line + 1)
        if cell.role == "check":
            if cell.part in order:
                raise SourceError(f"{here}: a second check cell for part {cell.part!r}")
            order.append(cell.part)
        if cell.role in ("module", "module-only"):
            defined.update(_DEF.findall(cell.text))
    missing_checks = [p.id for p in spec.parts if p.id not in order]
    if missing_checks:
        raise SourceError(f"{where}: no check cell for part(s) {missing_checks}")
    missing_functions = sorted({p.function for p in spec.parts} - defined)
    if missing_functions:
        raise SourceError(f"{where}: no module cell defines {missing_functions}")
    return order


def _code(cell: Cell, lang: str, *, solution: bool, where: str) -> str:
    if solution:
        return markers.keep_solutions(cell.text, where=where, first_line=cell.line + 1)
    return markers.strip_solutions(cell.text, lang, where=where, first_line=cell.line + 1)


def build_module(cells: list[Cell], lang: str, *, solution: bool, where: str) -> str:
    """nn.py: the module-only and module cells, in order, compiled to catch mistakes early."""
    chunks = [
        (cell.role, _code(cell, lang, solution=solution, where=where))
        for cell in cells
        if cell.role in ("module", "module-only")
    ]
    text = ""
    for index, (_, code) in enumerate(chunks):
        if index:
            # A docstring is followed by one blank line, top-level code by two (PEP 8).
            text += "\n\n" if chunks[index - 1][0] == "module-only" else "\n\n\n"
        text += code.strip("\n")
    text += "\n"
    compile(text, f"<{lang} module built from {where}>", "exec")
    return text


def notebook_cells(
    cells: list[Cell],
    spec: Spec,
    lang: str,
    part_order: list[str],
    *,
    solution: bool,
    where: str,
    install: str | None = None,
    server: str | None = None,
) -> list[NotebookCell]:
    """The notebook's cells for one language, with text filled in and our metadata."""
    function_parts: dict[str, list[str]] = {}
    for part in spec.parts:
        function_parts.setdefault(part.function, []).append(part.id)
    out: list[NotebookCell] = []
    for cell in cells:
        if not cell.in_lang(lang) or cell.role in ("readme", "module-only"):
            continue
        if cell.kind == "markdown":
            here = f"{where}:{cell.line}"
            text = handout.fill(
                cell.text, spec, lang, part_order, where=here, install=install, server=server
            )
            meta = {"role": "markdown", **({"part": cell.part} if cell.part else {})}
            out.append(NotebookCell("markdown", text, meta))
            continue
        text = _code(cell, lang, solution=solution, where=where)
        meta: dict = {"role": cell.role}
        if cell.part:
            meta["part"] = cell.part
        if cell.role == "module":
            meta["parts"] = [
                p for name in _DEF.findall(cell.text) for p in function_parts.get(name, [])
            ]
            meta["solution"] = bool(markers.find_regions(cell.text))
        if cell.role == "check":
            meta["points"] = spec.part(cell.part).points
        out.append(NotebookCell("code", text, meta))
    return out


def readme(
    cells: list[Cell],
    spec: Spec,
    lang: str,
    part_order: list[str],
    *,
    where: str,
    install: str | None = None,
    server: str | None = None,
) -> str:
    """README.md of one language: its readme cells, filled in."""
    texts = [
        handout.fill(
            cell.text,
            spec,
            lang,
            part_order,
            where=f"{where}:{cell.line}",
            install=install,
            server=server,
        )
        for cell in cells
        if cell.role == "readme" and cell.in_lang(lang)
    ]
    if not texts:
        raise SourceError(f'{where}: no Markdown cell with role="readme" for lang={lang!r}')
    return "\n\n".join(texts) + "\n"


def check_script(
    lang: str, module_name: str, install: str | None = None, homework: str = "backprop"
) -> str:
    """check.py of one language: the template with its settings block filled in."""
    settings = {"LANG": lang, "DEFAULT_FILE": module_name, "INSTALL": install}
    return _with_settings(CHECK_TEMPLATE, {**settings, "HOMEWORK": homework})


def submit_script(lang: str, module_name: str, homework: str, server: str | None = None) -> str:
    """submit.py of one language: the template with its settings block filled in."""
    return _with_settings(
        SUBMIT_TEMPLATE,
        {"LANG": lang, "SERVER": server, "DEFAULT_FILE": module_name, "HOMEWORK": homework},
    )


def _with_settings(template_path: Path, settings: dict[str, str | None]) -> str:
    """The template's text with its ``# --- set by bpgrade release ---`` block replaced."""
    lines = "".join(f"{name} = {value!r}\n" for name, value in settings.items())
    block = f"# --- set by bpgrade release ---\n{lines}# --- end ---\n"
    # A function as the replacement: a URL's backslashes must not be read as group references.
    text, count = _CONFIG_BLOCK.subn(lambda _: block, template_path.read_text(encoding="utf-8"))
    if count != 1:
        raise RuntimeError(f"{template_path}: the settings block is missing")
    return text


def write_release(files: dict[str, str], out: Path) -> list[Path]:
    """Write the files under ``out``; remove stale visible files in the language folders.

    Returns
    -------
    list of Path
        The files written.
    """
    written = []
    for rel, text in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    for stale in sorted(set(_visible_files(out, files)) - set(files)):
        (out / stale).unlink()
    return written


def _visible_files(out: Path, files: dict[str, str]) -> list[str]:
    # Only the folders the release owns; hidden entries (.ipynb_checkpoints) and caches are left alone.
    folders = {Path(rel).parent for rel in files}
    found = []
    for folder in folders:
        base = out / folder
        if not base.is_dir():
            continue
        for path in base.iterdir():
            if path.is_file() and not path.name.startswith("."):
                found.append(path.relative_to(out).as_posix())
    return found


def diff_release(files: dict[str, str], out: Path) -> list[str]:
    """What differs between ``files`` and the release on disk (empty when they agree)."""
    problems = []
    for rel, text in sorted(files.items()):
        path = out / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"differs: {rel}")
    for stale in sorted(set(_visible_files(out, files)) - set(files)):
        problems.append(f"not generated: {stale}")
    return problems


def load_homework(name: str, root: Path = REPO_ROOT) -> tuple[Homework, Spec]:
    """The homework's paths and its spec."""
    homework = Homework.in_repo(name, root)
    return homework, load_spec(homework.spec)
