"""Solution regions: find and validate ``### BEGIN SOLUTION`` / ``### END SOLUTION``, then strip them.

The student version replaces each region with a CS231n-style block::

    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("sigmoid: not implemented yet ...")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

so an untouched stub fails with "not implemented" in its own part only. ``### BEGIN SOLUTION stub=pass``
puts ``pass`` there instead, for a region that later code of the same function must get past (the
gradient block of nnCostFunction: the cost J above it stays gradable). The solution version keeps the
code and drops the marker lines. Anything that looks like a marker but is not exactly one (``# BEGIN
SOLUTION``, a typo) is an error: a malformed marker would otherwise leak the solution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUBS = ("raise", "pass")

# Student-facing marker lines; the release language picks one.
START_LINE = {
    "en": "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****",
    "zh": "# *****你的代码从这里开始 START OF YOUR CODE（不要删除或修改这一行）*****",
}
END_LINE = {
    "en": "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****",
    "zh": "# *****你的代码到此结束 END OF YOUR CODE（不要删除或修改这一行）*****",
}
NOT_IMPLEMENTED = {
    "en": "{where}: not implemented yet (write your code between the START/END lines)",
    "zh": "{where}：尚未实现（请在 START/END 两行之间写你的代码）",
}

_LOOKS_LIKE_MARKER = re.compile(r"\b(BEGIN|END)\s+SOLUTION\b", re.IGNORECASE)
_DEF = re.compile(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>\w+)\s*\(")


class MarkerError(ValueError):
    """Unbalanced, nested, misplaced or malformed solution markers; the message names the line."""


@dataclass(frozen=True)
class Region:
    """One solution region; ``begin``/``end`` are 0-based indices of the marker lines."""

    begin: int
    end: int
    indent: str
    stub: str  # "raise" | "pass"
    function: str | None  # the enclosing function, for the NotImplementedError message


def find_regions(code: str, *, where: str = "<code>", first_line: int = 1) -> list[Region]:
    """Find and validate the solution regions of one code cell.

    Parameters
    ----------
    code : str
        The cell's source.
    where : str
        Names the file in error messages.
    first_line : int
        The file's line number of ``code``'s first line, for error messages.

    Returns
    -------
    list of Region
        In order; they never nest or overlap.

    Raises
    ------
    MarkerError
        On an END without BEGIN, a BEGIN without END, a nested BEGIN, BEGIN/END at different
        indentation, an empty region, an unknown ``stub=`` option or a malformed marker.
    """
    lines = code.splitlines()
    regions: list[Region] = []
    open_at: int | None = None
    open_stub = "raise"
    for index, line in enumerate(lines):
        here = f"{where}:{first_line + index}"
        kind, stub = _classify(line, here)
        if kind == "begin":
            if open_at is not None:
                raise MarkerError(
                    f"{here}: nested {BEGIN} (the region opened at line "
                    f"{first_line + open_at} is not closed yet)"
                )
            open_at, open_stub = index, stub
        elif kind == "end":
            if open_at is None:
                raise MarkerError(f"{here}: {END} without a matching {BEGIN}")
            regions.append(_close(lines, open_at, index, open_stub, here))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{where}:{first_line + open_at}: {BEGIN} is never closed by {END}")
    return regions


def _classify(line: str, here: str) -> tuple[str | None, str]:
    stripped = line.strip()
    if stripped.startswith(BEGIN):
        return "begin", _stub_option(stripped[len(BEGIN) :], here)
    if stripped == END:
        return "end", ""
    if stripped.startswith("#") and _LOOKS_LIKE_MARKER.search(stripped):
        raise MarkerError(
            f"{here}: malformed solution marker {stripped!r}; write exactly {BEGIN!r} or {END!r}"
        )
    return None, ""


def _stub_option(rest: str, here: str) -> str:
    rest = rest.strip()
    if not rest:
        return "raise"
    key, _, value = rest.partition("=")
    if key != "stub" or value not in STUBS:
        raise MarkerError(f"{here}: unknown marker option {rest!r}; only stub=raise or stub=pass")
    return value


def _close(lines: list[str], begin: int, end: int, stub: str, here: str) -> Region:
    indent = _indent(lines[begin])
    if _indent(lines[end]) != indent:
        raise MarkerError(f"{here}: {END} is indented differently from its {BEGIN}")
    if not any(line.strip() for line in lines[begin + 1 : end]):
        raise MarkerError(f"{here}: empty solution region")
    return Region(begin, end, indent, stub, _enclosing_function(lines, begin, indent))


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _enclosing_function(lines: list[str], begin: int, indent: str) -> str | None:
    for line in reversed(lines[:begin]):
        match = _DEF.match(line)
        if match and len(match.group("indent")) < len(indent):
            return match.group("name")
    return None


def has_solution(code: str) -> bool:
    """Whether ``code`` holds at least one (well-formed) region."""
    return bool(find_regions(code))


def strip_solutions(code: str, lang: str, *, where: str = "<code>", first_line: int = 1) -> str:
    """The student version: every region becomes a START/END OF YOUR CODE block."""
    lines = code.splitlines()
    out: list[str] = []
    cursor = 0
    for region in find_regions(code, where=where, first_line=first_line):
        out.extend(lines[cursor : region.begin])
        out.extend(_stub_block(region, lang))
        cursor = region.end + 1
    out.extend(lines[cursor:])
    return "\n".join(out)


def _stub_block(region: Region, lang: str) -> list[str]:
    ind = region.indent
    if region.stub == "pass":
        body = f"{ind}pass"
    else:
        message = NOT_IMPLEMENTED[lang].format(where=region.function or "this cell")
        body = f"{ind}raise NotImplementedError({message!r})"
    return [f"{ind}{START_LINE[lang]}", body, f"{ind}{END_LINE[lang]}"]


def keep_solutions(code: str, *, where: str = "<code>", first_line: int = 1) -> str:
    """The solution version: the code stays, the marker lines go."""
    lines = code.splitlines()
    drop = set()
    for region in find_regions(code, where=where, first_line=first_line):
        drop.update((region.begin, region.end))
    return "\n".join(line for index, line in enumerate(lines) if index not in drop)


def solution_text(code: str) -> list[str]:
    """The lines inside the regions (for leak tests)."""
    lines = code.splitlines()
    return [line for region in find_regions(code) for line in lines[region.begin + 1 : region.end]]
