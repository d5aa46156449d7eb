"""What the handout tells students: the grader's rules and a self-check install line that works.

Read as a specification:
* both languages state what the grader provides, that top-level code runs, the time limits, how
  files are treated and the precision policy, with the figures taken from the spec;
* the install line is the instructor's (``bpgrade release --install``), and a line that would find
  nothing (``pip install bpgrade``: not on PyPI) is refused;
* without one, no command is printed: the handout says the instructor gives it.
"""

from __future__ import annotations

import re

import pytest

from autograder.release import LANGS, HandoutError, build_release, load_homework
from autograder.release.handout import check_install_line, grader_rules

HOMEWORK, SPEC = load_homework("backprop")
GIT = "pip install 'bpgrade @ git+https://git.example.edu/ml/bpgrade@v1'"

RULES = {
    "en": ["What the grader provides", "Top-level code runs", "__main__", "Time limits", "float64"],
    "zh": ["评分环境提供什么", "顶层代码会被运行", "__main__", "时间限制", "float64"],
}


@pytest.mark.parametrize("lang", LANGS)
def test_rules_state_every_rule_with_the_spec_figures(lang):
    rules = grader_rules(SPEC, lang)
    assert all(words in rules for words in RULES[lang])
    figures = {f"{SPEC.load_timeout_s:g}", f"{SPEC.call_timeout_s:g}", f"{SPEC.time_budget_s:g}"}
    assert figures <= set(re.findall(r"\d+(?:\.\d+)?", rules))
    assert SPEC.module_name in rules
    # what the spec's [runtime] provides, all of it (the handout imports matplotlib and sklearn)
    assert {"numpy", "scipy", "matplotlib", "sklearn"} <= set(SPEC.runtime.modules)
    assert all(module in rules for module in SPEC.runtime.modules)


@pytest.mark.parametrize("lang", LANGS)
def test_readme_and_notebook_carry_the_rules(lang):
    files = build_release(HOMEWORK.source, SPEC, [lang])
    rules = grader_rules(SPEC, lang)
    assert rules in files[f"{lang}/README.md"]
    assert rules.splitlines()[0] in files[f"{lang}/backprop.ipynb"].replace('\\"', '"')


@pytest.mark.parametrize(
    "line",
    [
        "pip install https://course.example.edu/bpgrade-0.1.0-py3-none-any.whl",
        "pip install ./bpgrade-0.1.0-py3-none-any.whl",
        GIT,
        "python -m pip install --index-url https://pypi.course.example.edu/simple bpgrade",
        "python3 -m pip install -i https://mirror.example.cn/simple bpgrade==0.1.0",
        "pip install bpgrade-0.1.0.tar.gz",
    ],
)
def test_install_lines_that_name_a_source_are_accepted(line):
    assert check_install_line(f"  {line} ") == line


@pytest.mark.parametrize(
    "line, says",
    [
        ("pip install bpgrade", "finds nothing on PyPI"),
        ("pip install -U bpgrade", "finds nothing on PyPI"),
        ("conda install bpgrade", "expected a pip install command"),
        ("curl https://x.example/bpgrade.whl", "expected a pip install command"),
        ("pip install 'unterminated", "cannot parse"),
        ("", "expected a pip install command"),
    ],
)
def test_install_lines_that_would_find_nothing_are_refused(line, says):
    with pytest.raises(HandoutError, match=says):
        check_install_line(line)


@pytest.mark.parametrize("lang", LANGS)
def test_the_install_line_reaches_readme_and_check_script(lang):
    files = build_release(HOMEWORK.source, SPEC, [lang], install=GIT)
    assert f"```\n{GIT}\n```" in files[f"{lang}/README.md"]
    assert f"INSTALL = {GIT!r}" in files[f"{lang}/check.py"]


@pytest.mark.parametrize("lang", LANGS)
def test_without_an_install_line_no_command_is_printed(lang):
    files = build_release(HOMEWORK.source, SPEC, [lang])
    readme = files[f"{lang}/README.md"]
    assert "pip install" not in readme and "PyPI" in readme
    assert "INSTALL = None" in files[f"{lang}/check.py"]


@pytest.mark.parametrize(
    "install, says",
    [
        (None, "your instructor gives the command"),
        (GIT, GIT),
    ],
)
def test_check_script_without_bpgrade_says_how_to_install_it(tmp_path, install, says):
    import subprocess
    import sys

    files = build_release(HOMEWORK.source, SPEC, ["en"], install=install)
    (tmp_path / "check.py").write_text(files["en/check.py"], encoding="utf-8")
    # -I -S: no site-packages, so no bpgrade, as on a student's fresh laptop
    done = subprocess.run(
        [sys.executable, "-I", "-S", "check.py", "nn.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and says in done.stdout, done.stdout + done.stderr
    assert "pip install bpgrade" not in done.stdout
