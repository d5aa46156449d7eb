"""What a homework gives the worker besides the student's code (no numpy here: the spec loader,
which the command line imports before the sandbox boots, reads it too)."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What a callable kind (and a helper) may be called: a plain identifier, nothing to evaluate.
KIND_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Support:
    """What a homework gives the worker besides the student's code, as source text.

    The worker runs ``source`` (trusted, written by the instructor; it may import only the
    standard library and numpy) before the student's module and takes two tables from it:
    ``HELPERS`` maps a helper's name to a known-correct function that replaces the student's
    function of that name for one call (a part "wrong only because a helper is wrong"), and
    ``CALLABLES`` maps a callable kind to ``build(params) -> function`` (arguments that are
    functions, such as the cost handed to a numerical-gradient routine). The text crosses the pipe
    like any other request field: no pickled code, and nothing in it is an expected value.

    Parameters
    ----------
    source : str
        The support module's source; empty for a homework that needs none.
    filename : str
        Its name in tracebacks.
    helpers : frozenset of str
        The keys of its ``HELPERS``: what the parent may ask to substitute.
    callables : frozenset of str
        The keys of its ``CALLABLES``: the :class:`CallableSpec` kinds the parent may send.
    """

    source: str = ""
    filename: str = "support.py"
    helpers: frozenset[str] = frozenset()
    callables: frozenset[str] = frozenset()

    def request(self) -> dict[str, str] | None:
        """The ``support`` field of a ``load`` request (None: no support module)."""
        return {"source": self.source, "filename": self.filename} if self.source else None
