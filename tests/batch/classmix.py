"""A synthetic class: correct, buggy, hostile and broken submissions, deterministic by index.

Shared by the batch tests and ``benchmarks/bench_batch.py`` (which loads this file by path).
``make_class(folder, n)`` writes ``n`` submissions named ``s0000...`` (files, notebooks and
folders) and returns ``{student_id: kind}``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"
BUGGY = (
    "bias_regularized",
    "forgot_sigmoid_gradient",
    "forward_difference",
    "sigmoid_gradient_of_a",
)

# Appended to the correct solution: a later definition replaces the good one.
HOSTILE_TAILS = {
    "exit_at_import": "import sys\nsys.exit(3)\n",
    "loop_at_import": "while True:\n    pass\n",
    "loop_in_predict": "def predict(Theta1, Theta2, X):\n    while True:\n        pass\n",
    "os_exit_in_sigmoid_gradient": "import os\n\ndef sigmoidGradient(z):\n    os._exit(0)\n",
    "fake_score": (
        "import numpy as _np\n_np.allclose = lambda *a, **k: True\n"
        "print('{\"score\": 100, \"tests\": []}')\nprint('11 passed')\n"
        "def sigmoid(z):\n    return 0.5 + 0 * _np.asarray(z, dtype=float)\n"
    ),
    "output_flood": "def sigmoid(z):\n    print('x' * 10_000_000)\n    return 1 / (1 + np.exp(-z))\n",
    "memory_hog": "_hog = bytearray(6 * 2**30)\n",
    "raise_at_import": "raise RuntimeError('student code failed at import')\n",
}

# Broken files: (file name suffix, bytes); None marks the special cases built in _broken().
BROKEN = {
    "empty": (".py", b""),
    "binary": (".py", b"\x7fELF\x00\x01\x02\x03binary"),
    "bad_utf8": (".py", b"x = '\xff\xfe'\n"),
    "corrupt_notebook": (".ipynb", b'{"cells": [ {"cell_type": "code", "sour'),
    "wrong_extension": (".txt", b"def sigmoid(z):\n    return z\n"),
    "huge_file": (".py", None),
    "junk_folder": ("", None),
}

# Per 100 submissions: mostly correct and buggy, a few hostile and broken (each kind appears).
HOSTILE_EVERY = 50
BROKEN_EVERY = 50


def source(name: str) -> str:
    return (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")


def notebook(code: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Backprop homework"),
        nbformat.v4.new_code_cell(code),
        nbformat.v4.new_code_cell("%matplotlib inline\nprint(sigmoid(0))"),
    ]
    return nbformat.writes(nb)


def kind_of(i: int, n: int) -> str:
    """The kind of submission ``i``: hostile and broken ones are spread through the class."""
    hostile, broken = list(HOSTILE_TAILS), list(BROKEN)
    if i % HOSTILE_EVERY == 7:
        return "hostile:" + hostile[(i // HOSTILE_EVERY) % len(hostile)]
    if i % BROKEN_EVERY == 23:
        return "broken:" + broken[(i // BROKEN_EVERY) % len(broken)]
    if i % 2 == 0:
        return ["correct", "correct_notebook", "correct_folder"][(i // 2) % 3]
    return "buggy:" + BUGGY[(i // 2) % len(BUGGY)]


def _broken(folder: Path, sid: str, what: str) -> None:
    suffix, data = BROKEN[what]
    if what == "huge_file":
        with (folder / f"{sid}.py").open("wb") as f:
            f.truncate(100 * 2**20)  # sparse: 100 MB on paper, no disk
    elif what == "junk_folder":
        junk = folder / sid
        junk.mkdir()
        (junk / "notes.txt").write_text("I did my best\n")
        (junk / "data.bin").write_bytes(bytes(range(256)))
    else:
        (folder / f"{sid}{suffix}").write_bytes(data)


def write_one(folder: Path, sid: str, kind: str) -> None:
    """Write student ``sid``'s submission of ``kind`` into ``folder``."""
    good = source("correct")
    if kind == "correct":
        (folder / f"{sid}.py").write_text(good)
    elif kind == "correct_notebook":
        (folder / f"{sid}.ipynb").write_text(notebook(good))
    elif kind == "correct_folder":
        (folder / sid).mkdir()
        (folder / sid / "nn.py").write_text(good)
        (folder / sid / "README.txt").write_text("my submission\n")
    elif kind.startswith("buggy:"):
        (folder / f"{sid}.py").write_text(source(kind.split(":", 1)[1]))
    elif kind.startswith("hostile:"):
        tail = HOSTILE_TAILS[kind.split(":", 1)[1]]
        (folder / f"{sid}.py").write_text(good + "\n\n" + tail)
    else:
        _broken(folder, sid, kind.split(":", 1)[1])


def make_class(
    folder: str | Path, n: int, *, kinds: dict[int, str] | None = None
) -> dict[str, str]:
    """Write ``n`` submissions into ``folder``; return ``{student_id: kind}``.

    ``kinds`` overrides the kind of chosen indices (a test that needs every broken kind).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for i in range(n):
        sid = f"s{i:04d}"
        kind = (kinds or {}).get(i) or kind_of(i, n)
        write_one(folder, sid, kind)
        made[sid] = kind
    return made
