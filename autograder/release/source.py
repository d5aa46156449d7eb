"""Read the instructor's single source: a "percent" Python file split into tagged cells.

Format (jupytext/VS Code "percent" style, so an instructor can run it cell by cell)::

    # %% [markdown] lang="en" part="sigmoid"      a Markdown cell; its lines are "# "-prefixed
    # %% role="module" part="sigmoid"             a code cell

Options are ``key=value`` pairs after the optional ``[markdown]``; values may be JSON-quoted.
Lines before the first ``# %%`` are the file's own header and are ignored.

=========  ==================================================================================
option     meaning
=========  ==================================================================================
lang       "en" or "zh"; omitted = the cell is in every language (code cells never have one)
role       code: "module" (nn.py + notebook), "module-only" (nn.py), "notebook" (default),
           "check" (a self-check cell of one part); markdown: "notebook" (default), "readme"
part       a part id of the homework's spec.toml (required for role="check")
=========  ==================================================================================
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

LANGS = ("en", "zh")
CODE_ROLES = ("module", "module-only", "notebook", "check")
MARKDOWN_ROLES = ("notebook", "readme")
KNOWN_OPTIONS = frozenset({"lang", "role", "part"})

_HEADER = re.compile(r"^# %%(?P<rest>.*)$")
_KIND = re.compile(r"^\s*\[(?P<kind>\w+)\]")


class SourceError(ValueError):
    """The source file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Cell:
    """One cell of the source, with its text already un-commented for Markdown."""

    kind: str  # "code" | "markdown"
    role: str
    lang: str | None
    part: str | None
    text: str
    line: int  # 1-based line number of the "# %%" header, for error messages
    options: dict[str, str] = field(default_factory=dict)

    def in_lang(self, lang: str) -> bool:
        return self.lang is None or self.lang == lang


def read_source(path: str | Path) -> list[Cell]:
    """Parse a source file into cells.

    Parameters
    ----------
    path : str or Path
        The percent-format source, e.g. ``solutions/backprop/backprop.py``.

    Returns
    -------
    list of Cell
        In file order.

    Raises
    ------
    SourceError
        On an unknown option, role or language, or a check cell without a part.
    """
    path = Path(path)
    return parse_source(path.read_text(encoding="utf-8"), where=str(path))


def parse_source(text: str, *, where: str = "<source>") -> list[Cell]:
    """Parse source text (see :func:`read_source`); ``where`` names it in errors."""
    cells: list[Cell] = []
    header: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match is None:
            body.append(line)
            continue
        if header is not None:
            cells.append(_make_cell(header, body, where))
        header, body = (number, match.group("rest")), []
    if header is not None:
        cells.append(_make_cell(header, body, where))
    return cells


def _make_cell(header: tuple[int, str], body: list[str], where: str) -> Cell:
    line, rest = header
    kind = "code"
    match = _KIND.match(rest)
    if match:
        kind = match.group("kind")
        rest = rest[match.end() :]
    if kind not in ("code", "markdown"):
        raise SourceError(f"{where}:{line}: unknown cell kind [{kind}]")
    options = _parse_options(rest, f"{where}:{line}")
    role = options.get("role", "notebook")
    lang = options.get("lang")
    part = options.get("part")
    allowed = CODE_ROLES if kind == "code" else MARKDOWN_ROLES
    if role not in allowed:
        raise SourceError(
            f"{where}:{line}: role {role!r} is not one of {allowed} for a {kind} cell"
        )
    if lang is not None and (kind == "code" or lang not in LANGS):
        raise SourceError(
            f"{where}:{line}: lang={lang!r} is only for markdown cells, one of {LANGS}"
        )
    if role == "check" and not part:
        raise SourceError(f'{where}:{line}: a check cell needs part="<part id>"')
    text = _markdown_text(body, f"{where}:{line}") if kind == "markdown" else "\n".join(body)
    return Cell(kind, role, lang, part, text.strip("\n"), line, options)


def _parse_options(rest: str, where: str) -> dict[str, str]:
    options: dict[str, str] = {}
    try:
        tokens = shlex.split(rest, posix=False)
    except ValueError as exc:
        raise SourceError(f"{where}: cannot read the cell options {rest.strip()!r}: {exc}") from exc
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or key not in KNOWN_OPTIONS:
            raise SourceError(
                f"{where}: unknown cell option {token!r}; known: {sorted(KNOWN_OPTIONS)}"
            )
        options[key] = _option_value(value)
    return options


def _option_value(value: str) -> str:
    # Values are written JSON-style (jupytext's habit) but bare words are accepted too.
    if value.startswith('"'):
        return str(json.loads(value))
    return value


def _markdown_text(body: list[str], where: str) -> str:
    lines = []
    for offset, line in enumerate(body, start=1):
        if line.startswith("# "):
            lines.append(line[2:])
        elif line.rstrip() in ("#", ""):
            lines.append("")
        else:
            raise SourceError(
                f"{where}+{offset}: a Markdown cell line must start with '# ': {line!r}"
            )
    return "\n".join(lines)
