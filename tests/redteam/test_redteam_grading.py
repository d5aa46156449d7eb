"""Red team at the grading level (issue 4): hostile submissions through ``grade_submission``.

Every entry of ``hostile.HOSTILE`` (the correct submission with one function, or its top level,
made hostile) is graded once per tier - the default tier ("auto") for all, tier "seccomp" for a
subset - and each test below states ONE property of that grading:

* the grader completes with a well-formed report;
* the attacked part (and the parts that genuinely depend on it) scores 0 with a clear message;
* every independent part keeps full marks;
* no score exceeds its maximum;
* nothing hidden (hidden inputs, expected values, the student's exception text) reaches feedback;
* no process or file of the submission survives;
* whatever the attack aimed at (canary, grader files, planted modules...) is untouched.

A few entries also go through the CLI (``python -m autograder grade --format json --out``). The
harness-level assertions (call statuses, parent RSS, recovery) live in
``tests/harness/test_redteam_harness.py``; this suite reuses its attacks, canary and leftover
tracker. Hangs run with the real spec (2 s per call, 5 s load, 40 s budget).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import jsonschema
import numpy as np
import pytest
from harness.conftest import TIER_REPORT, LeftoverTracker
from harness.test_redteam_harness import REPO, Canary, _hides_files

from autograder import grading
from autograder.cases import HIDDEN, PUBLIC, Case, build_cases, resolve_secret
from autograder.grading import GradeReport, grade_submission
from autograder.harness.protocol import CallableSpec
from autograder.harness.runner import SandboxedSubmission
from autograder.harness.sandbox import MAX_SLOTS, SLOT_UID_BASE
from autograder.report import to_gradescope, to_text
from autograder.report.markdown import to_markdown
from autograder.spec import load_spec

from .hostile import HOSTILE, PARTS, PLANTED, Hostile, build_source

STUDENT = "mallory"
SECRET = b"redteam-course-secret"
FILE_SECRET = b"TOPSECRET-redteam-file-secret"
SLOT_UIDS = range(SLOT_UID_BASE, SLOT_UID_BASE + MAX_SLOTS)
AVAILABLE = [t for t, info in TIER_REPORT.items() if info["available"]]
AUTO = AVAILABLE[0] if AVAILABLE else None  # what tier="auto" resolves to here
#: Shared places a submission might write to fake a grade (besides the marker and --out).
RESULT_PATHS = (
    "/autograder/results/results.json",
    "/tmp/results.json",
    "/results.json",
    f"{REPO}/results.json",
    f"{REPO}/gradebook.csv",
)
VISIBILITIES = ["visible", "hidden", "after_due_date", "after_published"]
RESULTS_SCHEMA = {  # Gradescope's results.json, as bpgrade writes it
    "type": "object",
    "required": ["score", "execution_time", "output", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 100},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "visibility": {"enum": VISIBILITIES},
        "stdout_visibility": {"enum": VISIBILITIES},
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "minItems": len(PARTS),
            "maxItems": len(PARTS),
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status", "output", "visibility"],
                "properties": {
                    "name": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {"enum": VISIBILITIES},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


# --------------------------------------------------------------------------- one graded attack


@dataclass
class Run:
    """Everything observed while grading one hostile submission in one tier."""

    report: GradeReport
    visible: str  # every student-visible rendering of the report
    general: str  # the same without public-case messages and timings
    public_messages: str
    hidden_messages: str
    hidden_cases: list[Case]
    needles: dict[str, str]  # formatted hidden value -> where it comes from
    leftovers: list[str]
    submission_dir_changes: list[str]
    slot_files_in_repo: list[str]
    planted: list[str]
    stray_results: list[str]
    marker_exists: bool
    canary_received: list[bytes]
    hashes_before: str
    hashes_after: str
    regrade_score: float | None = None
    cli: dict = field(default_factory=dict)


def _tree_hash(*roots: str) -> str:
    """sha256 over the grader's source trees (names, modes, contents; caches excluded)."""
    digest = hashlib.sha256()
    for root in roots:
        for directory, dirs, files in sorted(os.walk(root)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(directory, name)
                info = os.lstat(path)
                digest.update(f"{path}\0{info.st_mode}\0".encode())
                with open(path, "rb") as fh:
                    digest.update(hashlib.sha256(fh.read()).digest())
    return digest.hexdigest()


def _slot_owned(root: str) -> list[str]:
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in dirs + files:
            path = os.path.join(directory, name)
            try:
                if os.lstat(path).st_uid in SLOT_UIDS:
                    found.append(path)
            except OSError:
                pass
    return found


def _planted_paths(subdir: Path) -> set[str]:
    dirs = ("/tmp", "/var/tmp", "/dev/shm", str(subdir), REPO, os.getcwd())
    return {
        os.path.join(d, n) for d in dirs for n in PLANTED if os.path.lexists(os.path.join(d, n))
    }


def _stat_or_none(path: str) -> tuple | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_uid)


def _numbers(item: object, limit: int | None) -> Iterator[float]:
    """The first ``limit`` numbers of every array/scalar in a case's arguments or expected value."""
    if isinstance(item, CallableSpec):
        item = list(item.params.values())
    if isinstance(item, dict):
        item = list(item.values())
    if isinstance(item, (list, tuple)) and not all(isinstance(v, (int, float)) for v in item):
        for value in item:
            yield from _numbers(value, limit)
        return
    arr = np.asarray(item)
    if arr.dtype.kind in "fiu":
        yield from (float(v) for v in arr.ravel()[:limit])


def _case_values(case: Case, limit: int | None) -> Iterator[float]:
    for item in [*case.args, *case.kwargs.values(), case.expected]:
        yield from _numbers(item, limit)


def hidden_needles(secret: bytes) -> dict[str, str]:
    """Hidden inputs and expected values, formatted the ways feedback might print them.

    Round numbers (labels, sizes, 0.5) and formats that public values also produce (public
    feedback may show public inputs: 1.65179 and 1.65189 share "1.6518") prove nothing.
    """
    spec = load_spec()
    public = " ".join(
        f"{v!r} {v:.6f}"
        for case in build_cases(spec, secret=secret, student_id=STUDENT, visibility=(PUBLIC,))
        for v in _case_values(case, None)
    )
    needles: dict[str, str] = {}
    for case in build_cases(spec, secret=secret, student_id=STUDENT, visibility=(HIDDEN,)):
        for value in _case_values(case, 8):
            if not np.isfinite(value) or abs(value) < 1e-3 or round(value, 2) == value:
                continue
            for text in (f"{value:.4f}", f"{value:.6f}", repr(value)):
                if text not in public:
                    needles.setdefault(text, case.case_id)
    return needles


def leaks(needles: dict[str, str], general: str, public_messages: str = "") -> dict[str, str]:
    """Needles found in the feedback. Public-case messages may quote the student's own text about
    public data (intermediate values included), so only the precise formats count there."""
    found = {n: case for n, case in needles.items() if n in general}
    found |= {
        n: case for n, case in needles.items() if n in public_messages and len(n.split(".")[-1]) > 4
    }
    return found


def _renderings(report: GradeReport) -> str:
    return "\n".join(
        [
            json.dumps(to_gradescope(report), ensure_ascii=False),
            to_text(report),
            to_markdown(report),
        ]
    )


def feedback(report: GradeReport) -> tuple[str, str]:
    """(what the student sees but public-case messages and timings, the public-case messages)"""
    shown = dataclasses.replace(
        report,
        execution_time=0.0,
        parts=[
            dataclasses.replace(
                p,
                cases=[
                    dataclasses.replace(c, message="" if c.visibility == PUBLIC else c.message)
                    for c in p.cases
                ],
            )
            for p in report.parts
        ],
    )
    public = [c.message for p in report.parts for c in p.cases if c.visibility == PUBLIC]
    return _renderings(shown), "\n".join(public)


def split_cli_feedback(doc: dict) -> tuple[str, str]:
    """The same split for a results.json: lines of public cases apart, no execution time."""
    doc = {k: v for k, v in doc.items() if k != "execution_time"}
    lines = json.dumps(doc, ensure_ascii=False, indent=1).replace("\\n", "\n").splitlines()
    public = [line for line in lines if "[public]" in line]
    return "\n".join(line for line in lines if "[public]" not in line), "\n".join(public)


class RedTeam:
    """Grades each (hostile, tier) once and keeps what it observed, for the tests to inspect."""

    def __init__(self, workdir: Path, canary: Canary, secret_file: str) -> None:
        self.workdir, self.canary, self.secret_file = workdir, canary, secret_file
        self.runs: dict[tuple[str, str], Run] = {}
        self.needles = {SECRET: hidden_needles(SECRET)}

    def values(self, subdir: Path, out: Path, marker: str) -> dict[str, object]:
        return {
            "marker": marker,
            "repo": REPO,
            "secret": self.secret_file,
            "ppid": os.getpid(),
            "tcp_port": self.canary.tcp.getsockname()[1],
            "udp_port": self.canary.udp.getsockname()[1],
            "out": out,
            "subdir": subdir,
        }

    def grade(self, source: str, subdir: Path, tier: str, hostile: Hostile) -> tuple:
        """Grade ``source`` as ``subdir/nn.py`` with every sandbox tracked for leftovers."""
        path = subdir / "nn.py"
        path.write_text(source)
        tracker = LeftoverTracker()
        env = {"BPGRADE_SECRET_FILE": self.secret_file} if hostile.secret_from_file else {}
        with (
            mock.patch.object(
                grading,
                "SandboxedSubmission",
                lambda *a, **k: tracker.track(SandboxedSubmission(*a, **k)),
            ),
            mock.patch.dict(os.environ, env),
        ):
            if hostile.secret_from_file:
                os.environ.pop("BPGRADE_SECRET", None)
            secret = None if hostile.secret_from_file else SECRET
            report = grade_submission(path, student_id=STUDENT, secret=secret, tier=tier)
        if not tracker.subs:
            return report, ["grading started no sandbox: nothing was tracked"]
        try:
            tracker.check()
        except AssertionError as exc:
            return report, [str(exc)]
        return report, []

    def run(self, hostile: Hostile, tier: str) -> Run:
        key = (hostile.name, tier)
        if key not in self.runs:
            self.runs[key] = self._run(hostile, tier)
        return self.runs[key]

    def _run(self, hostile: Hostile, tier: str) -> Run:
        base = Path(tempfile.mkdtemp(prefix=f"{hostile.name}-{tier}-", dir=self.workdir))
        subdir, out = base / "submission", base / "out" / "results.json"
        subdir.mkdir()
        marker = f"/tmp/bpgrade-redteam-{uuid.uuid4().hex}"
        source = build_source(hostile, self.values(subdir, out, marker))
        watched = (*RESULT_PATHS, str(out), str(subdir / "results.json"))
        stats_before = {p: _stat_or_none(p) for p in watched}
        planted_before = _planted_paths(subdir)
        hashes_before = _tree_hash(f"{REPO}/autograder", f"{REPO}/bpnet_ref")
        received_before = len(self.canary.received)

        report, leftovers = self.grade(source, subdir, tier, hostile)

        general, public_messages = feedback(report)
        run = Run(
            report=report,
            visible=_renderings(report),
            general=general,
            public_messages=public_messages,
            hidden_messages="\n".join(
                c.message for p in report.parts for c in p.cases if c.visibility == HIDDEN
            ),
            hidden_cases=build_cases(
                load_spec(), secret=self._secret(hostile), student_id=STUDENT, visibility=(HIDDEN,)
            ),
            needles=self._needles(hostile),
            leftovers=leftovers,
            submission_dir_changes=sorted(set(os.listdir(subdir)) - {"nn.py"})
            + ([] if (subdir / "nn.py").read_text() == source else ["nn.py modified"]),
            slot_files_in_repo=_slot_owned(REPO),
            planted=sorted(_planted_paths(subdir) - planted_before),
            stray_results=[p for p in watched if _stat_or_none(p) != stats_before[p]],
            marker_exists=os.path.lexists(marker),
            canary_received=self.canary.received[received_before:],
            hashes_before=hashes_before,
            hashes_after=_tree_hash(f"{REPO}/autograder", f"{REPO}/bpnet_ref"),
        )
        if hostile.name == "plant_modules":
            regrade_dir = base / "regrade"
            regrade_dir.mkdir()
            correct = build_source(Hostile("correct"), {})
            regraded, problems = self.grade(correct, regrade_dir, tier, Hostile("correct"))
            run.regrade_score = regraded.score
            run.leftovers += problems
        return run

    @staticmethod
    def _secret(hostile: Hostile) -> bytes:
        return resolve_secret(FILE_SECRET)[0] if hostile.secret_from_file else SECRET

    def _needles(self, hostile: Hostile) -> dict[str, str]:
        secret = self._secret(hostile)
        if secret not in self.needles:
            self.needles[secret] = hidden_needles(secret)
        return self.needles[secret]

    def run_cli(self, hostile: Hostile) -> dict:
        """Grade through ``python -m autograder grade --format json --out FILE``."""
        base = Path(tempfile.mkdtemp(prefix=f"{hostile.name}-cli-", dir=self.workdir))
        subdir, out = base / "submission", base / "out" / "results.json"
        subdir.mkdir()
        marker = f"/tmp/bpgrade-redteam-{uuid.uuid4().hex}"
        path = subdir / "nn.py"
        path.write_text(build_source(hostile, self.values(subdir, out, marker)))
        env = {**os.environ, "BPGRADE_SECRET": SECRET.decode()}
        env.pop("BPGRADE_SECRET_FILE", None)
        args = ["grade", str(path), "--student-id", STUDENT, "--format", "json", "--out", str(out)]
        done = subprocess.run(
            [sys.executable, "-m", "autograder", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=300,
        )
        text = out.read_text() if out.exists() else ""
        return {"done": done, "text": text, "marker": marker, "subdir": subdir}


@pytest.fixture(scope="module")
def redteam(tmp_path_factory):
    base = tempfile.mkdtemp(prefix="bpgrade-secret-")
    os.chmod(base, 0o755)  # any uid may traverse: only the file's mode protects it
    secret_file = os.path.join(base, "course_secret")
    with open(secret_file, "wb") as fh:
        fh.write(FILE_SECRET)
    os.chmod(secret_file, 0o600)
    canary = Canary()
    team = RedTeam(tmp_path_factory.mktemp("redteam"), canary, secret_file)
    try:
        yield team
    finally:
        canary.close()
        if os.environ.get("BPGRADE_REDTEAM_TABLE"):  # the README's table, as measured
            Path(os.environ["BPGRADE_REDTEAM_TABLE"]).write_text(outcome_table(team.runs))
        os.unlink(secret_file)
        os.rmdir(base)


def outcome_table(runs: dict[tuple[str, str], Run]) -> str:
    """Markdown: attack -> what the attacked part got, per tier (BPGRADE_REDTEAM_TABLE=FILE)."""
    by_name = {h.name: h for h in HOSTILE}
    tiers = sorted({tier for _, tier in runs})
    lines = ["| attack | " + " | ".join(tiers) + " |", "|---|" + "---|" * len(tiers)]
    for name in dict.fromkeys(name for name, _ in runs):
        cells = []
        for tier in tiers:
            run = runs.get((name, tier))
            if run is None:
                cells.append("")
                continue
            report, hostile = run.report, by_name[name]
            if report.error is not None:
                cells.append(f"load fails ({report.error[:40]}), 0/100")
                continue
            attacked = [p for p in report.parts if p.part in hostile.zero_parts + hostile.partial]
            kinds = sorted({c.category for p in attacked for c in p.cases if not c.passed})
            lost = ", ".join(p.part for p in attacked)
            cells.append(f"{'/'.join(kinds)}: {lost} lost, {report.score:g}/100")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- parametrization


def _params(hostiles: list[Hostile], tiers: tuple[str, ...] = ("auto", "seccomp")) -> list:
    params = []
    for hostile in hostiles:
        for tier in ("auto", "seccomp") if hostile.seccomp else ("auto",):
            if tier not in tiers:
                continue
            resolved = AUTO if tier == "auto" else tier
            marks = []
            if resolved is None or not TIER_REPORT[resolved]["available"]:
                reason = TIER_REPORT.get(resolved or "", {}).get("reason", "no tier available")
                marks = [pytest.mark.skip(reason=f"tier {tier}: {reason}")]
            elif hostile.hides_files and not _hides_files(resolved):
                marks = [
                    pytest.mark.skip(
                        reason=f"tier {resolved} has no mount namespace or Landlock: "
                        "world-readable files stay readable"
                    )
                ]
            params.append(pytest.param(hostile, tier, id=f"{hostile.name}-{tier}", marks=marks))
    return params


CASES = _params(HOSTILE)
CHECKED = _params([h for h in HOSTILE if h.check is not None])
CLI = [pytest.param(h, id=h.name) for h in HOSTILE if h.cli]


def _part(report: GradeReport, part_id: str):
    return next(p for p in report.parts if p.part == part_id)


# --------------------------------------------------------------------------- the properties


@pytest.mark.parametrize("hostile, tier", CASES)
def test_grading_completes_with_a_full_report(redteam, hostile, tier):
    report = redteam.run(hostile, tier).report
    assert report.tier == (AUTO if tier == "auto" else tier)
    assert [p.part for p in report.parts] == list(PARTS)
    assert all(p.cases for p in report.parts)
    json.dumps(to_gradescope(report), allow_nan=False)  # what `grade --format json` writes
    assert (report.error is not None) == (hostile.load_error is not None), report.error


@pytest.mark.parametrize("hostile, tier", CASES)
def test_attacked_part_scores_zero_with_a_clear_message(redteam, hostile, tier):
    report = redteam.run(hostile, tier).report
    if hostile.top_level is not None:
        assert report.score == report.max_score and report.error is None
        failed = [w for w in report.warnings if "top-level code" in w]
        assert len(failed) == 1 and hostile.top_level in failed[0], report.warnings
        return
    lost = {p.part: p.score for p in report.parts if p.part in hostile.zero_parts}
    assert lost and set(lost.values()) == {0.0}, lost
    assert all(0 < _part(report, p).score < _part(report, p).points for p in hostile.partial)
    if hostile.load_error is not None:
        assert report.score == 0 and hostile.load_error in report.error
        messages = {c.message for p in report.parts for c in p.cases}
        assert all("could not be loaded" in m and hostile.load_error in m for m in messages)
        return
    attacked = [c for p in report.parts if p.part in hostile.zero_parts[:1] for c in p.cases]
    if hostile.target == "nnCostFunction":
        attacked = [c for p in report.parts if p.part in ("nnCost", "nnGrad") for c in p.cases]
    assert not any(c.passed for c in attacked)
    assert {c.category for c in attacked} <= set(hostile.expect), [
        (c.category, c.message) for c in attacked
    ]
    assert any(hostile.says in c.message for c in attacked), [c.message for c in attacked]


@pytest.mark.parametrize("hostile, tier", CASES)
def test_independent_parts_keep_full_marks(redteam, hostile, tier):
    report = redteam.run(hostile, tier).report
    short = {
        p.part: [(c.category, c.message) for c in p.cases if not c.passed]
        for p in report.parts
        if p.part in hostile.full_parts and p.score != p.points
    }
    assert short == {}


@pytest.mark.parametrize("hostile, tier", CASES)
def test_no_score_exceeds_its_maximum(redteam, hostile, tier):
    report = redteam.run(hostile, tier).report
    assert all(0 <= p.score <= p.points for p in report.parts)
    assert all(0 <= c.fraction <= 1 for p in report.parts for c in p.cases)
    # Every attack costs points, except top-level code: the definitions are graded without it.
    ceiling = report.max_score + (hostile.top_level is not None)
    assert report.max_score == 100 and 0 <= report.score < ceiling
    assert report.score == pytest.approx(sum(p.score for p in report.parts))


@pytest.mark.parametrize("hostile, tier", CASES)
def test_nothing_hidden_reaches_the_feedback(redteam, hostile, tier):
    run = redteam.run(hostile, tier)
    assert leaks(run.needles, run.general, run.public_messages) == {}
    assert "STUDENT-TEXT" not in run.hidden_messages


@pytest.mark.parametrize("hostile, tier", CASES)
def test_no_process_or_file_is_left_behind(redteam, hostile, tier):
    run = redteam.run(hostile, tier)
    assert run.leftovers == []  # slot-uid processes and /tmp, /var/tmp, /dev/shm files; stage
    assert run.submission_dir_changes == []
    assert run.slot_files_in_repo == []
    assert run.planted == []
    assert not run.marker_exists


@pytest.mark.parametrize("hostile, tier", CHECKED)
def test_what_the_attack_aimed_at_is_untouched(redteam, hostile, tier):
    hostile.check(redteam.run(hostile, tier))


# --------------------------------------------------------------------------- through the CLI


@pytest.mark.skipif(AUTO is None, reason="no sandbox tier available")
@pytest.mark.parametrize("hostile", CLI)
def test_cli_writes_valid_results_and_exits_0(redteam, hostile):
    result = redteam.run_cli(hostile)
    done = result["done"]
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(result["text"])  # the grader's own file, not the submission's
    jsonschema.validate(doc, RESULTS_SCHEMA)
    tests = {t["name"].split(":")[0]: t for t in doc["tests"]}
    assert all(t["score"] <= t["max_score"] for t in tests.values())
    assert doc["score"] == pytest.approx(sum(t["score"] for t in tests.values()))
    assert {p: tests[p]["score"] for p in hostile.zero_parts} == dict.fromkeys(
        hostile.zero_parts, 0
    )
    assert all(tests[p]["score"] == tests[p]["max_score"] for p in hostile.full_parts)
    assert leaks(redteam.needles[SECRET], *split_cli_feedback(doc)) == {}
    assert "tests passed" not in done.stdout + done.stderr  # student output never echoed
    assert not os.path.lexists(result["marker"])
    assert os.listdir(result["subdir"]) == ["nn.py"]


def test_the_table_covers_issue_4():
    """Every attack family of issue 4 has at least one entry (names are the specification)."""
    names = " ".join(h.name for h in HOSTILE)
    for word in (
        "loop_at_import loop_in sleep sigterm alloc return_ fork thread setsid recursion "
        "stdout_flood stderr_flood sys_exit os_exit segfault syntax missing_module wrong_type nan "
        "inf fake_results write_results monkeypatch eq_always ndarray_subclass pickle forged "
        "import_bpnet import_grader read_solutions secret gc_and_frames proc_parent canary "
        "modify_grader plant read_stdin clear_environ"
    ).split():
        assert re.search(word, names), word


def test_the_leak_detector_finds_a_hidden_value(redteam):
    """Control: the needles do catch a hidden value that reaches feedback, in any format."""
    case = build_cases(load_spec(), secret=SECRET, student_id=STUDENT, visibility=(HIDDEN,))[0]
    value = next(v for v in _case_values(case, None) if abs(v) > 1e-3 and round(v, 2) != v)
    for text in (f"got {value:.4f}", f"[{value!r}]"):
        assert leaks(redteam.needles[SECRET], text)
    assert leaks(redteam.needles[SECRET], "", f"raised ValueError: {value!r}")
