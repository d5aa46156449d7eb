"""Self-check for this homework: run the public test cases on your code and print a table.

    python check.py                   # checks nn.py next to this file
    python check.py backprop.ipynb    # checks the notebook (its code cells)
    python check.py nn.py --part nnGrad

Your code runs in a separate, sandboxed process through the course's grader, so the `bpgrade`
package must be installed (see README.md). On a machine without that sandbox (Windows, macOS) it
runs as a plain process instead, and the table says so. Only the *public* cases run here; the real
grade also uses hidden cases. In the notebook, ``check("part")`` (see ``make_checker``) checks the
functions defined in the running kernel, with the imports and constants they use.

自测：用公开测试用例检查你的代码并打印结果表。需要安装课程的 bpgrade 包（见 README.md）。
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import sys
import tempfile
import textwrap
import types
from pathlib import Path

# --- set by bpgrade release ---
LANG = 'en'
DEFAULT_FILE = 'logreg.py'
INSTALL = None
HOMEWORK = 'logreg'
# --- end ---

HERE = Path(__file__).resolve().parent

_TEXT = {
    "en": {
        "missing": "The self-check needs the course's bpgrade package; install it with:\n    {install}",
        "missing_no_line": (
            "The self-check needs the course's bpgrade package; your instructor gives the "
            "command that installs it (see README.md)."
        ),
        "error": "could not grade: {error}",
        "broken": "bpgrade is installed but cannot grade ({error}); reinstall it (see README.md).",
        "unknown_part": "unknown part {part!r}; parts: {parts}",
        "no_source": "no function of this notebook could be read; run the cells that define them first.",
        "hidden": "The final grade also uses hidden cases.",
    },
    "zh": {
        "missing": "自测需要课程的 bpgrade 包；用下面的命令安装：\n    {install}",
        "missing_no_line": "自测需要课程的 bpgrade 包；安装命令由任课教师提供（见 README.md）。",
        "error": "无法评分：{error}",
        "broken": "已安装 bpgrade，但无法评分（{error}）；请重新安装（见 README.md）。",
        "unknown_part": "没有名为 {part!r} 的部分；可选：{parts}",
        "no_source": "无法读取本 notebook 中的函数；请先运行定义它们的单元格。",
        "hidden": "最终成绩还会使用隐藏用例。",
    },
}


def _t(key: str, **kwargs) -> str:
    return _TEXT.get(LANG, _TEXT["en"])[key].format(**kwargs)


def boot_sandbox():
    """Start a sandboxed zygote now, before anything here imports numpy (both imports then run at
    once, as in ``bpgrade check``); ``None`` where there is none. The caller closes it."""
    try:
        from autograder.harness.sandbox import platform_problem
        from autograder.harness.zygote import boot_zygote
    except ImportError:  # no bpgrade (grade_public says so), or one without zygotes
        return None
    try:
        return None if platform_problem() is not None else boot_zygote()
    except Exception:  # noqa: BLE001 - no sandbox here: the self-check decides what to do
        return None


def kernel_zygote():
    """The zygote this notebook kernel keeps for its ``check()`` calls (closed with the kernel):
    a call then forks a worker from it instead of booting a sandbox. ``None`` without one."""
    try:
        from autograder.selfcheck import session_zygote
    except ImportError:  # an older bpgrade: every check boots its own sandbox
        return None
    return session_zygote()


def grade_public(path: str | Path, part: str | None = None, zygote=None):
    """Grade ``path`` on the public cases (of one part, or all); ``None`` if bpgrade cannot grade."""
    try:
        import autograder  # noqa: F401  (is the package there at all?)
    except ImportError:
        print(_t("missing", install=INSTALL) if INSTALL else _t("missing_no_line"))
        return None
    try:
        from autograder.homeworks import load_homework
        from autograder.selfcheck import self_check

        spec = load_homework(HOMEWORK)
    except (ImportError, ValueError) as exc:  # installed, but an incomplete or broken copy
        print(_t("broken", error=exc))
        return None
    kwargs = {"lang": LANG, "spec": spec}
    if zygote is not None:
        kwargs["zygote"] = zygote
    if part is not None:
        known = [p.id for p in spec.parts]
        if part not in known:
            print(_t("unknown_part", part=part, parts=", ".join(known)))
            return None
        kwargs["parts"] = [part]
    try:  # in the sandbox if this machine has one, else as a plain process (the table says so)
        return self_check(str(path), **kwargs)
    except Exception as exc:  # the grader itself failed: say so, do not drown the notebook
        print(_t("error", error=f"{type(exc).__name__}: {exc}"))
        return None


def print_report(report) -> bool:
    """Print the grader's own per-part table; True if every case shown passed."""
    from autograder.report import to_text

    print(to_text(report))
    print(_t("hidden"))
    return report.error is None and all(p.passed for p in report.parts)


def source_from_namespace(namespace: dict) -> str:
    """A module holding the functions of a notebook kernel, with the imports and constants they use.

    As ``bpgrade grade`` does for a notebook file, only definitions are graded, and an import is
    kept only when a collected function uses it: the setup cell's ``import matplotlib.pyplot as
    plt`` must not reach the grader, which has no matplotlib. Imports other than numpy's are
    wrapped in ``try``, like the notebook policy's, so a plotting helper that is never graded
    cannot stop the graded functions from loading.
    """
    module_name = namespace.get("__name__", "__main__")
    functions, used = [], set()
    for value in list(namespace.values()):
        if (
            isinstance(value, types.FunctionType)
            and value.__module__ == module_name
            and value.__name__ != "<lambda>"
        ):
            try:
                text = textwrap.dedent(inspect.getsource(value))
            except (OSError, TypeError):  # defined by exec or in a deleted cell: nothing to read
                continue
            functions.append(text)
            used |= _names_used(value, text)
    if not functions:
        print(_t("no_source"))
    lines = ["from __future__ import annotations", ""]
    for name, value in list(namespace.items()):
        if name.startswith("_") or name not in used:
            continue
        if isinstance(value, types.ModuleType):
            lines.append(_import_line(value.__name__, name))
        elif type(value) in (int, float, str, bool):
            # A function may read a notebook-level constant (EPS = 0.12): carry it along.
            lines.append(f"{name} = {value!r}")
    return "\n".join(dict.fromkeys(lines)) + "\n\n\n" + "\n\n".join(functions)


def _names_used(function: types.FunctionType, text: str) -> set:
    """Global names ``function`` reads: its code's ``co_names`` (through nested functions,
    lambdas and comprehensions) and the names of its ``def`` line (defaults, decorators), which
    the kernel evaluated outside the function."""
    names, stack = set(), [function.__code__]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return names
    return names | {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _import_line(module: str, alias: str) -> str:
    line = f"import {module} as {alias}"
    if module.split(".")[0] == "numpy":
        return line
    return f"try:\n    {line}\nexcept ImportError:\n    pass"


def check_part(part: str, namespace: dict) -> bool:
    """Check one part on the functions currently defined in ``namespace`` (a notebook's globals)."""
    with tempfile.TemporaryDirectory(prefix="bpgrade-check-") as tmp:
        path = Path(tmp) / DEFAULT_FILE
        path.write_text(source_from_namespace(namespace), encoding="utf-8")
        report = grade_public(path, part, zygote=kernel_zygote())
        return bool(report is not None and print_report(report))


def make_checker(namespace: dict):
    """``check = make_checker(globals())`` in a notebook; then ``check("sigmoid")``."""
    kernel_zygote()  # booted now, in the background: the first check() finds it ready

    def check(part: str) -> None:
        check_part(part, namespace)

    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "file", nargs="?", default=str(HERE / DEFAULT_FILE), help="nn.py or backprop.ipynb"
    )
    parser.add_argument("--part", help="check only this part")
    args = parser.parse_args(argv)
    # The grader's own math is small: one BLAS thread leaves the other cores to the sandbox (a
    # thread pool would spin on the core it boots on). Set before numpy is imported.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    zygote = boot_sandbox()
    try:
        report = grade_public(args.file, args.part, zygote=zygote)
    finally:
        if zygote is not None:
            zygote.close()
    if report is None:
        return 2
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
