"""Grade one submission: spec + cases → sandboxed calls → checks → diagnosis → scores.

This is the only module that sees both sides: it holds the expected values (from the trusted case
generators) and the untrusted child's answers (through the harness), and it decides what each
message may reveal.
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.cases import HIDDEN, PUBLIC, Case, build_cases, resolve_secret
from autograder.checks import FLOAT32_RTOL, CheckOutcome, run_check
from autograder.diagnosis import Diagnosis, Misconception, examine, load_catalog
from autograder.harness.client import CallOutcome, WorkerClient
from autograder.harness.sandbox import LOCAL_TIER, Limits, SandboxError, platform_problem
from autograder.imports import (
    ImportFacts,
    import_facts,
    missing_module_message,
    runtime_module_exists,
)
from autograder.intake import escaped
from autograder.messages import msg
from autograder.provenance import provenance
from autograder.scoring import part_score
from autograder.spec import PartSpec, Spec, load_spec
from autograder.submission import Source, SubmissionError, load_source, module_definitions

# Load failures after which a module is graded from its definitions (see _Grader.run).
_FALLS_BACK = frozenset({"exception", "timeout"})

if TYPE_CHECKING:
    from autograder.harness.runner import SandboxedSubmission as _Sandboxed
    from autograder.harness.zygote import Zygote

#: The sandboxed runner class, imported on first use (:func:`_sandboxed_runner`): it needs POSIX,
#: and grading must import without it for the self-check on Windows. Tests may replace it.
SandboxedSubmission: type[_Sandboxed] | None = None

# The worker's bad_result reasons for a wrong number of outputs (harness/worker.py ``convert``).
_ARITY = re.compile(r"\w+ (of length \d+|instead of \d+ values)")


@dataclass
class CaseResult:
    """One case's verdict.

    ``misconceptions`` are the catalogued mistakes whose variant reproduced this case's answer:
    evidence for the part, which names only those that explain all its failing cases (see
    :func:`_part_misconceptions`); ``message`` names only the mistakes its part names.
    ``diagnosed`` says the answer was compared with the catalogue at all, and ``unaffected`` lists
    the part's mistakes that would change nothing on this case.
    """

    case_id: str
    visibility: str
    label: str
    passed: bool
    fraction: float
    category: str
    message: str
    misconceptions: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    diagnosed: bool = False
    unaffected: list[str] = field(default_factory=list)
    # tag -> title of each matched mistake, in the report's language
    titles: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class PartResult:
    part: str
    title: str
    points: float
    score: float
    cases: list[CaseResult]
    misconceptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)


@dataclass
class GradeReport:
    student_id: str
    submission: str
    score: float
    max_score: float
    parts: list[PartResult]
    execution_time: float
    tier: str
    lang: str = "en"
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    #: What the grade was made with (:func:`autograder.provenance.provenance`); empty for a
    #: report built outside :func:`grade_submission`.
    provenance: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def grade_submission(
    path: str | Path,
    *,
    student_id: str | None = None,
    spec: Spec | None = None,
    secret: bytes | str | None = None,
    lang: str = "en",
    tier: str = "auto",
    visibility: Iterable[str] = (PUBLIC, HIDDEN),
    parts: Iterable[str] | None = None,
    zygote: Zygote | None = None,
    siblings: bool = False,
    beneath: str | Path | None = None,
) -> GradeReport:
    """Grade one submission file or folder.

    Parameters
    ----------
    path : str or Path
        ``nn.py``, a notebook, or a folder holding one.
    student_id : str, optional
        Seeds the hidden cases (with the course secret). Defaults to ``"anonymous"``.
    spec : Spec, optional
        The assignment; defaults to :data:`autograder.spec.DEFAULT_SPEC`.
    secret : bytes or str, optional
        The course secret; defaults to ``$BPGRADE_SECRET`` (see :func:`resolve_secret`).
    lang : {"en", "zh"}
        Language of the feedback.
    tier : str
        Isolation tier for the child (``"auto"`` picks the strongest available). ``"local"``
        runs it as a plain process, for the self-check where no sandbox exists; it is refused
        whenever hidden cases are asked for.
    visibility : iterable of {"public", "hidden"}
        Which cases to run; the student self-check runs only the public ones.
    parts : iterable of str, optional
        Restrict grading to these part ids.
    zygote : Zygote, optional
        Fork the submission's worker from this (already booted, reusable) zygote instead of
        starting one; its tier overrides ``tier``. ``grade-all`` keeps one per job.
    siblings : bool
        For a single file, also hand the worker the other files of its folder (helper modules,
        data), as a student's own homework folder holds them. Off for graders, where a folder
        may hold other students' files.
    beneath : str or Path, optional
        A trusted folder holding ``path`` (a repository checkout): no folder between the two may
        be a symbolic link either.

    Returns
    -------
    GradeReport
        Always returned for a gradable or broken submission. A broken submission scores 0 with
        ``error`` set; exceptions escape only when the grader itself cannot work (bad spec,
        no sandbox).

    Raises
    ------
    SandboxError
        No sandbox for ``tier``, or tier ``"local"`` with hidden cases.
    """
    visibility = tuple(visibility)
    if tier == LOCAL_TIER and HIDDEN in visibility:
        # Hidden cases and the course secret never reach a child that nothing isolates.
        raise SandboxError("tier 'local' runs the public cases only; hidden cases need a sandbox")
    started = time.perf_counter()
    spec = spec or load_spec()
    student_id = student_id or "anonymous"
    secret_bytes, is_demo = resolve_secret(secret)
    warnings = [msg("demo_secret", lang)] if is_demo and HIDDEN in visibility else []
    wanted = list(parts) if parts is not None else None
    part_specs = [p for p in spec.parts if wanted is None or p.id in wanted]

    def make_cases() -> list[Case]:
        return build_cases(
            spec,
            secret=secret_bytes,
            student_id=student_id,
            visibility=visibility,
            parts=wanted,
            lang=lang,
        )

    try:
        functions = {p.function for p in spec.parts}
        source = load_source(
            path, functions=functions, lang=lang, siblings=siblings, beneath=beneath
        )
    except SubmissionError as exc:
        cases = make_cases()
        shown = escaped(str(path))
        report = _broken(
            spec, part_specs, cases, shown, escaped(student_id), str(exc), lang, started
        )
        report.provenance = provenance(spec, secret_bytes, student_id, report.tier)
        return report
    warnings += source.warnings
    grader = _Grader(spec, source, lang, tier, zygote)
    cases, results, tier_used, load_error = grader.run(make_cases)
    report_parts = [_part_result(p, results, cases, lang, grader.part_notes) for p in part_specs]
    return GradeReport(
        student_id=escaped(student_id),  # printable: a GBK file name's bytes as \\xNN
        submission=escaped(str(path)),
        score=round(sum(p.score for p in report_parts), 4),
        max_score=sum(p.points for p in part_specs),
        parts=report_parts,
        execution_time=round(time.perf_counter() - started, 4),
        tier=tier_used,
        lang=lang,
        warnings=warnings + grader.warnings,
        error=load_error,
        provenance=provenance(spec, secret_bytes, student_id, tier_used),
    )


def _broken(spec, part_specs, cases, submission, student_id, error, lang, started) -> GradeReport:
    text = msg("load_failed", lang, detail=error)
    results = {c.case_id: _case_result(c, _failure("load_failed", text), lang) for c in cases}
    return GradeReport(
        student_id=student_id,
        submission=submission,
        score=0.0,
        max_score=sum(p.points for p in part_specs),
        parts=[_part_result(p, results, cases, lang) for p in part_specs],
        execution_time=round(time.perf_counter() - started, 4),
        tier="none",
        lang=lang,
        error=error,
    )


# ---------------------------------------------------------------------------------------------
# Running the cases
# ---------------------------------------------------------------------------------------------


@dataclass
class _Verdict:
    outcome: CheckOutcome
    misconceptions: list[Misconception] = field(default_factory=list)
    elapsed: float = 0.0
    diagnosis: Diagnosis | None = None  # None: the answer was not compared with the catalogue


class _Grader:
    """Runs a submission's cases through one sandboxed child, memoising shared calls.

    Memory: a call's value (up to the harness's 64 MiB result cap) is kept only while a case that
    shares its call still has to be checked; then only its status and timings stay (what
    :meth:`_call` needs to skip a hung function). So the parent holds about one value at a time,
    whatever every function returns.
    """

    def __init__(
        self,
        spec: Spec,
        source: Source,
        lang: str,
        tier: str,
        zygote: Zygote | None = None,
    ):
        self.spec, self.source, self.lang, self.tier = spec, source, lang, tier
        self.zygote = zygote
        self.warnings: list[str] = []
        self.part_notes: dict[str, list[str]] = {}
        self._calls: dict[str, CallOutcome] = {}
        self._uses: Counter[str] = Counter()  # checks still to come, per call key
        self._hung: set[str] = set()
        self._facts: ImportFacts | None = None
        self._next: dict[str, Case] = {}  # case id -> the case checked after it
        # Per part: mistakes a failing case refuted (see _part_misconceptions), never recomputed.
        self._refuted: dict[str, set[str]] = {}

    @functools.cached_property
    def catalog(self) -> list[Misconception]:
        """The homework's catalogued mistakes, imported at the first wrong answer (a correct
        submission never needs them)."""
        return load_catalog(self.spec.misconceptions_module)

    def run(
        self, make_cases: Callable[[], list[Case]]
    ) -> tuple[list[Case], dict[str, CaseResult], str, str | None]:
        """Start the child and queue its load, build the cases meanwhile, then run them all.

        A module whose top-level code fails is graded again from its definitions alone (see
        :func:`~autograder.submission.module_definitions`): a stray import, a plot or a demo
        must not cost the functions the student got right.
        """
        limits = Limits(
            total_budget=self.spec.time_budget_s,
            load_timeout=self.spec.load_timeout_s,
            call_timeout=self.spec.call_timeout_s,
        )
        started = time.monotonic()
        with self._open_child(self.source, limits) as child:
            child.queue_load()  # the worker starts and loads the module while the cases are built
            cases = make_cases()
            self.warnings += child.warnings
            loaded = child.load()
            if loaded.status == "ok":
                return *self._grade(child, cases), child.tier, None
            tier = child.tier
        # A crash or a forged frame at import is an attack on the harness, not a stray line.
        definitions = self._definitions_only() if loaded.status in _FALLS_BACK else None
        if definitions is not None:
            spent = time.monotonic() - started
            limits = replace(limits, total_budget=max(1.0, limits.total_budget - spent))
            with self._open_child(definitions, limits) as child:
                if child.load().status == "ok":
                    detail = _load_detail(loaded)
                    if loaded.status == "timeout":
                        detail = msg("ran_too_long", self.lang, seconds=self.spec.load_timeout_s)
                    elif loaded.error_type == "SystemExit":
                        detail = msg("called_exit", self.lang)
                    self.warnings.append(msg("top_level_failed", self.lang, detail=detail))
                    return *self._grade(child, cases), child.tier, None
        detail = _load_detail(loaded)
        text = msg("load_failed", self.lang, detail=detail)
        failed = {
            c.case_id: _case_result(c, _failure("load_failed", text), self.lang) for c in cases
        }
        return cases, failed, tier, detail

    def _definitions_only(self) -> Source | None:
        if self.source.kind != "module":
            return None  # a notebook is already graded from its definitions
        code = module_definitions(self.source.code, {p.function for p in self.spec.parts})
        if code is None:
            return None
        source = self.source
        return Source(code, source.origin, "definitions", list(source.warnings), source.files)

    def _grade(
        self, child: SandboxedSubmission, cases: list[Case]
    ) -> tuple[list[Case], dict[str, CaseResult]]:
        self.child = child
        self._uses.update(_key(c) for c in cases)
        self._uses.update(f"{c.call_key}#{i}" for c in cases for i in range(1, c.calls))
        verdicts = {}
        order = _by_call(cases)
        self._next = {a.case_id: b for a, b in zip(order, order[1:], strict=False)}
        for case in order:  # a shared call's value is dropped after its last check
            verdicts[case.case_id] = self._verdict(case)
            self._checked(_key(case))
            for i in range(1, case.calls):  # _repeated's own keys, counted like the others
                self._checked(f"{case.call_key}#{i}")
        self._explain_dependencies(cases, verdicts)
        results = {c.case_id: _case_result(c, verdicts[c.case_id], self.lang) for c in cases}
        return cases, results

    def _open_child(self, source: Source, limits: Limits) -> WorkerClient:
        """The one place a grading child is made, for the submission's source as given."""
        if self.tier == LOCAL_TIER:
            from autograder.harness.local import LocalSubmission

            child = LocalSubmission(
                source.code,
                filename=self.spec.module_name,
                files=source.files,
                limits=limits,
                runtime=self.spec.runtime,
                support=self.spec.support,
            )
            child.warnings.append(msg("local_tier", self.lang))
            return child
        problem = None if self.zygote is not None else platform_problem()
        if problem is not None:
            raise SandboxError(problem)
        return _sandboxed_runner()(
            source.code,
            filename=self.spec.module_name,
            files=source.files,
            tier=self.tier,
            limits=limits,
            zygote=self.zygote,
            support=self.spec.support,
        )

    def _checked(self, key: str) -> None:
        """One check of ``key``'s value is done; the last one drops the value."""
        self._uses[key] -= 1
        outcome = self._calls.get(key)
        if self._uses[key] <= 0 and outcome is not None and outcome.value is not None:
            self._calls[key] = replace(outcome, value=None)

    def _call(self, case: Case, substitute: dict[str, str] | None = None) -> CallOutcome:
        key = _key(case, substitute)
        if key not in self._calls and case.function in self._hung:
            # One timeout per function: a hanging function must not spend the budget that the
            # other parts need, so its later cases are marked without running.
            return CallOutcome("timeout", error_type="timeout", error_message="skipped")
        if key not in self._calls:
            self._calls[key] = self.child.call(
                case.function,
                case.args,
                case.kwargs,
                n_outputs=case.n_outputs,
                timeout=case.timeout or self.spec.call_timeout_s,
                substitute=substitute,
            )
            if self._calls[key].status == "timeout":
                self._hung.add(case.function)
        return self._calls[key]

    def _repeated(self, case: Case) -> CallOutcome:
        """``case.calls`` calls with the same arguments, each under its own call key.

        The value is the tuple of their results, or the outcome is the first call's failure.
        """
        outcomes = [self._call(case)]
        for i in range(1, case.calls):
            outcomes.append(self._call(replace(case, call_key=f"{case.call_key}#{i}")))
        failed = next((o for o in outcomes if o.status != "ok"), None)
        if failed is not None:
            return failed
        value = tuple(o.value for o in outcomes)
        wall, elapsed = max(o.wall for o in outcomes), sum(o.elapsed for o in outcomes)
        return replace(outcomes[0], value=value, wall=wall, elapsed=elapsed)

    def _verdict(self, case: Case) -> _Verdict:
        outcome = self._call(case) if case.calls == 1 else self._repeated(case)
        self._prefetch_after(case)
        if outcome.status != "ok":
            timeout = case.timeout or self.spec.call_timeout_s
            return _Verdict(_harness_failure(case, outcome, self.lang, timeout, self._imports))
        checked = run_check(
            case.check, case.expected, outcome.value, tolerance=case.tolerance, lang=self.lang
        )
        if checked.note is not None and self._float32_ambiguous(case, outcome.value):
            checked = run_check(  # as if the part rejected float32: its message says why
                case.check,
                case.expected,
                outcome.value,
                tolerance={**case.tolerance, "float32": "reject"},
                lang=self.lang,
            )
        checked = checked.settled(case.hidden)  # kept: it must not hold the value
        if checked.note is not None:
            self._note(case.part, checked.note)
        if checked.passed and case.time_limit is not None and outcome.wall > case.time_limit:
            text = msg("too_slow", self.lang, seconds=outcome.wall)
            return _Verdict(_fail("too_slow", text), elapsed=outcome.wall)
        # The timed case exists to catch finite differences; its size adds nothing to diagnosis.
        # Every catalogued mistake computes finite values, so NaN or inf matches none of them.
        skip = checked.passed or case.time_limit is not None or checked.category == "not_finite"
        if skip:
            return _Verdict(checked, [], outcome.elapsed, None)
        refuted = self._refuted.setdefault(case.part, set())
        found = examine(case, outcome.value, self.catalog, refuted=refuted)
        refuted.update(found.refuted)  # this case is evidence: the part can no longer name them
        return _Verdict(checked, found.matched, outcome.elapsed, found)

    def _prefetch_after(self, case: Case) -> None:
        """Have the worker start the next case's call while this case is checked.

        Not for a timed case (its limit is on the parent's wall clock, which would then include
        this check), nor for a call already made, repeated, or of a function that hung.
        """
        nxt = self._next.get(case.case_id)
        if nxt is None or nxt.calls != 1 or nxt.time_limit is not None:
            return
        if _key(nxt) in self._calls or nxt.function in self._hung:
            return
        timeout = nxt.timeout or self.spec.call_timeout_s
        self.child.prefetch(
            nxt.function, nxt.args, nxt.kwargs, n_outputs=nxt.n_outputs, timeout=timeout
        )

    def _float32_ambiguous(self, case: Case, value: object) -> bool:
        """A float32 answer is excused only if no catalogued mistake is as close to it.

        Single precision widens the tolerance to ``FLOAT32_RTOL``; where a mistake moves the
        answer by less than that (a sign flip under heavy regularization, say), the answer could
        be either, so it is not accepted.
        """
        loose = {"rtol": FLOAT32_RTOL, "atol": case.tolerance.get("atol", 0.0)}
        return bool(examine(replace(case, tolerance=loose), value, self.catalog).matched)

    def _imports(self) -> ImportFacts:
        """What the submission imports that the grader does not provide (read once, on need)."""
        if self._facts is None:
            # A sandboxed child knows its runtime's files; the local self-check has no runtime.
            runtime = getattr(getattr(self.child, "sandbox", None), "runtime", None)
            try:
                self._facts = import_facts(
                    self.source.code,
                    self.spec.runtime.modules,
                    exists=runtime_module_exists(runtime.package_dirs) if runtime else None,
                )
            except Exception:  # noqa: BLE001 - a message must never cost the whole grade
                self._facts = ImportFacts(tuple(self.spec.runtime.modules))
        return self._facts

    def _explain_dependencies(self, cases: list[Case], verdicts: dict[str, _Verdict]) -> None:
        """A part wrong only through a wrong helper (one the homework's support module carries in
        a known-correct form) is told so."""
        failed_functions = {
            c.function for c in cases if not verdicts[c.case_id].outcome.passed
        } & self.spec.support.helpers
        retries = []
        for case in cases:
            verdict = verdicts[case.case_id]
            part = self.spec.part(case.part)
            deps = [self.spec.part(d).function for d in part.depends_on]
            broken = [f for f in deps if f in failed_functions]
            if verdict.outcome.passed or verdict.outcome.category != "wrong_value" or not broken:
                continue
            retries.append((case, {f: f for f in broken}))
        self._uses.update(_key(case, substitute) for case, substitute in retries)
        noted: set[str] = set()
        for case, substitute in retries:
            if case.part in noted:
                # The note is the part's, and the same for each of its cases: one case that passes
                # with the helper replaced is enough (the timed case, last, is then never rerun).
                self._checked(_key(case, substitute))  # a call shared with another part's case
                continue
            retry = self._call(case, substitute=substitute)
            passed = (
                retry.status == "ok"
                and run_check(
                    case.check, case.expected, retry.value, tolerance=case.tolerance
                ).passed
            )
            self._checked(_key(case, substitute))
            if passed:
                self._note(case.part, msg("dependency", self.lang, dep=next(iter(substitute))))
                noted.add(case.part)

    def _note(self, part: str, note: str) -> None:
        notes = self.part_notes.setdefault(part, [])
        if note not in notes:
            notes.append(note)


def _by_call(cases: list[Case]) -> list[Case]:
    """The cases with those that share a call next to each other (otherwise in order): two parts
    that check one call's (J, grad) are checked before the next call is made and the value dropped."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.call_key, []).append(case)
    return [case for group in groups.values() for case in group]


def _key(case: Case, substitute: dict[str, str] | None = None) -> str:
    """The memo key of a case's call: cases with one ``call_key`` share one call."""
    return case.call_key if substitute is None else f"{case.call_key}+{sorted(substitute)}"


def _sandboxed_runner() -> type[_Sandboxed]:
    global SandboxedSubmission
    if SandboxedSubmission is None:
        from autograder.harness import runner

        SandboxedSubmission = runner.SandboxedSubmission
    return SandboxedSubmission


def _load_detail(loaded: CallOutcome) -> str:
    """Import-time failures carry no hidden data (no case has run yet), so the text is shown."""
    if loaded.status == "exception":
        return f"{loaded.error_type}: {loaded.error_message or ''}".strip().rstrip(":")
    return loaded.error_type or loaded.status


def _fail(category: str, public: str, hidden: str | None = None) -> CheckOutcome:
    return CheckOutcome(False, category, 0.0, public, public if hidden is None else hidden)


def _failure(category: str, text: str) -> _Verdict:
    return _Verdict(_fail(category, text))


def _harness_failure(
    case: Case,
    out: CallOutcome,
    lang: str,
    timeout: float,
    imports: Callable[[], ImportFacts] | None = None,
) -> CheckOutcome:
    status, etype = out.status, out.error_type or "Exception"
    if status == "exception" and etype == "NotImplementedError":
        return _fail("not_implemented", msg("not_implemented", lang))
    if status == "exception" and etype == "ModuleNotFoundError" and imports is not None:
        # The module is named from the source: the child's text is shown on public cases only.
        facts = imports()
        return _fail(
            "exception",
            missing_module_message(facts, case.function, lang, detail=out.error_message),
            missing_module_message(facts, case.function, lang),
        )
    if status == "exception":
        public = msg("exception_public", lang, etype=etype, emsg=out.error_message or "")
        return _fail("exception", public, msg("exception", lang, etype=etype))
    if status in ("missing_function", "not_callable"):
        return _fail(status, msg(status, lang, function=case.function))
    if status == "timeout":
        return _fail("timeout", msg("timeout", lang, seconds=timeout))
    if status == "bad_result":
        # The worker's reason (error_message) tells a wrong count of outputs from a bad element.
        reason = out.error_message or ""
        if case.n_outputs > 1 and _ARITY.fullmatch(reason):
            return _fail("wrong_type", msg("wrong_arity", lang, n=case.n_outputs))
        if reason == "result too large":
            return _fail("wrong_type", msg("result_too_large", lang))
        return _fail("wrong_type", msg("bad_result", lang, detail=out.error_type or "?"))
    if status == "budget_exhausted":
        return _fail(status, msg(status, lang))
    if status in ("crash", "load_failed"):
        return _fail("crash", msg("crash", lang))
    return _fail("protocol_error", msg("protocol_error", lang))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _case_result(case: Case, verdict: _Verdict, lang: str) -> CaseResult:
    """A case's result; the mistakes it matched are named later, once its part has weighed them."""
    o = verdict.outcome
    fraction = max(0.0, min(1.0, o.fraction))
    message = o.message(case.hidden)
    if not o.passed and fraction > 0:
        message = msg("partial_case", lang, first=message, percent=f"{100 * fraction:.0f}")
    found = verdict.diagnosis
    return CaseResult(
        case_id=case.case_id,
        visibility=case.visibility,
        label=case.label,
        passed=o.passed,
        fraction=fraction,
        category=o.category,
        message=message,
        misconceptions=[m.tag for m in verdict.misconceptions],
        elapsed=round(verdict.elapsed, 6),
        diagnosed=found is not None,
        unaffected=list(found.unaffected) if found else [],
        titles={m.tag: m.title_in(lang) for m in verdict.misconceptions},
    )


def _part_result(
    part: PartSpec,
    results: dict[str, CaseResult],
    cases: list[Case],
    lang: str,
    notes: dict[str, list[str]] | None = None,
) -> PartResult:
    mine = [results[c.case_id] for c in cases if c.part == part.id]
    tags = _part_misconceptions(mine)
    mine = [_name_mistakes(r, tags, lang) for r in mine]
    return PartResult(
        part=part.id,
        title=part.title_in(lang),
        points=part.points,
        score=part_score(part.points, [r.fraction for r in mine]),
        cases=mine,
        misconceptions=tags,
        notes=list((notes or {}).get(part.id, [])),
    )


def _name_mistakes(result: CaseResult, named: list[str], lang: str) -> CaseResult:
    """The case's message, naming the mistakes it matched that its part names (and no other)."""
    titles = [title for tag, title in result.titles.items() if tag in named]
    if not titles:
        return result
    text = msg("misconception", lang, name="; ".join(titles))
    return replace(result, message=msg("then", lang, first=result.message, second=text))


def _part_misconceptions(results: list[CaseResult]) -> list[str]:
    """The mistakes a part names: those that explain the student's answer on every failing case.

    On a small case two mistakes can give the same value (at m = 1, the labels used directly as
    targets and the Octave comparison ``y == 1:K`` agree for label 0; a ``(1 - y) log(h)`` typo and
    the raw labels agree for label 1), so a match on one case proves little. A mistake is named
    only if, on every failing case whose answer was compared with the catalogue, it reproduces that
    answer, or it would change nothing there (a regularization bug at λ = 0) and another named
    mistake reproduces it. Cases without a comparable answer (an exception, a timeout, NaN, the
    large timed case) neither confirm nor refute. Mistakes that agree on every case are genuinely
    indistinguishable and are all named.
    """
    evidence = [r for r in results if not r.passed and r.diagnosed]
    named = {tag for r in evidence for tag in r.misconceptions}
    while True:  # dropping a mistake can leave a case unexplained for another: repeat until stable
        kept = {tag for tag in named if all(_accounts_for(tag, r, named) for r in evidence)}
        if kept == named:
            return sorted(named)
        named = kept


def _accounts_for(tag: str, result: CaseResult, named: set[str]) -> bool:
    """Whether mistake ``tag`` is consistent with the failing ``result`` (see above)."""
    if tag in result.misconceptions:
        return True
    return tag in result.unaffected and any(t in named for t in result.misconceptions)
