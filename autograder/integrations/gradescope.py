"""Gradescope: build ``autograder.zip`` and grade inside Gradescope's container.

The zip (https://gradescope-autograders.readthedocs.io/en/latest/specs/) holds, at its root:

``setup.sh``
    Run once as root when Gradescope builds the image (Ubuntu 22.04): installs bpgrade into its
    own venv (``/opt/bpgrade/grader``; the system ``python3`` is left alone), runs ``bpgrade setup``
    (the unprivileged child runtime ``/opt/bpgrade/child``), then makes the grader, the reference
    implementation and the secret unreadable to other uids.
``run_autograder``
    Run as root for every submission: ``python -I -m autograder.integrations.gradescope``, which
    grades ``/autograder/submission`` into ``/autograder/results/results.json``. The sandbox picks
    its tier itself (inside Gradescope's container: a per-slot unprivileged uid, rlimits, seccomp;
    student code never runs as root).
``pyproject.toml``, ``README.md``, ``autograder/``, ``bpnet_ref/``
    The grader's source. ``solutions/`` is never included.
``bpgrade_secret`` (mode 0600)
    The course secret that seeds each student's hidden cases. The zip is instructor-only (students
    never see it), so baking the secret in is the simplest way to get it into the container;
    ``run_autograder`` prefers ``$BPGRADE_SECRET`` / ``$BPGRADE_SECRET_FILE`` when they are set.

``AUTOGRADER_ROOT`` (default ``/autograder``) and ``BPGRADE_PYTHON`` (default the grader venv's
interpreter) parametrise ``run_autograder`` so tests can run it against a temporary root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
import zipfile
from collections.abc import Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("autograder", "bpnet_ref")
SECRET_NAME = "bpgrade_secret"
GRADER_VENV = "/opt/bpgrade/grader"
# Fixed timestamp: the same source and secret give a byte-identical zip.
_EPOCH = (1980, 1, 1, 0, 0, 0)

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while building the autograder image (Ubuntu 22.04).
set -euo pipefail
SRC="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
VENV="${{BPGRADE_VENV:-{GRADER_VENV}}}"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-venv python3-pip >/dev/null

# The grader gets its own venv: Gradescope's system python3 must not be replaced.
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "$SRC"

# The child runtime student code runs in: /opt/bpgrade/child (a venv of /usr/bin/python3 with
# numpy, readable by the unprivileged slot uids), plus bubblewrap when the kernel allows it.
"$VENV/bin/bpgrade" setup

# Student code runs as an unprivileged uid: it must not read the grader, the reference
# implementation (bpnet_ref) or the course secret.
chmod -R go-rwx "$SRC" "$VENV"
if [ -f "$SRC/{SECRET_NAME}" ]; then chmod 600 "$SRC/{SECRET_NAME}"; fi
"""

_RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope runs this as root for every submission, from /autograder.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{BPGRADE_PYTHON:-{GRADER_VENV}/bin/python}}"
if [ -z "${{BPGRADE_SECRET:-}}" ] && [ -z "${{BPGRADE_SECRET_FILE:-}}" ] \\
   && [ -f "$ROOT/source/{SECRET_NAME}" ]; then
  export BPGRADE_SECRET_FILE="$ROOT/source/{SECRET_NAME}"
fi
mkdir -p "$ROOT/results"
cd "$ROOT"
# -I: the grader imports only its own installed code, never files from the working directory.
exec "$PY" -I -m autograder.integrations.gradescope --root "$ROOT"{{homework}}
"""


def run_autograder_script(homework: str | None = None) -> str:
    """``run_autograder``; with ``homework``, it grades that homework (else: inferred)."""
    if homework is not None and not re.fullmatch(r"[A-Za-z0-9_]+", homework):
        raise PackageError(f"homework {homework!r}: use letters, digits and '_'")
    return _RUN_AUTOGRADER.replace("{homework}", f" --homework {homework}" if homework else "")


RUN_AUTOGRADER = _RUN_AUTOGRADER.replace("{homework}", "")


class PackageError(RuntimeError):
    """The zip cannot be built; the message says why."""


# ---------------------------------------------------------------------------------------------
# Building the zip
# ---------------------------------------------------------------------------------------------


def source_files(project_root: Path = PROJECT_ROOT) -> Iterator[tuple[str, Path]]:
    """``(name in zip, file)`` for the grader's source: the packages plus pyproject and README.

    Caches and hidden files are skipped; nothing under a ``solutions`` folder is ever yielded.
    """
    for package in PACKAGES:
        base = project_root / package
        if not (base / "__init__.py").is_file():
            raise PackageError(f"{base} is not a package: run from a bpgrade source checkout")
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(project_root)
            if not path.is_file() or _skipped(rel):
                continue
            yield rel.as_posix(), path
    for name in ("pyproject.toml", "README.md"):
        if not (project_root / name).is_file():
            raise PackageError(
                f"{project_root / name} is missing: run from a bpgrade source checkout"
            )
        yield name, project_root / name


def _skipped(rel: Path) -> bool:
    parts = rel.parts
    return (
        "solutions" in parts
        or "__pycache__" in parts
        or any(p.startswith(".") for p in parts)
        or rel.suffix in (".pyc", ".pyo")
    )


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (0o100000 | mode) << 16  # regular file + permission bits
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_zip(
    out: str | Path,
    *,
    secret: bytes | None,
    project_root: Path = PROJECT_ROOT,
    homework: str | None = None,
) -> Path:
    """Write Gradescope's ``autograder.zip``.

    Parameters
    ----------
    out : str or Path
        The zip to write (replaced atomically).
    secret : bytes or None
        The course secret, stored as ``bpgrade_secret`` (0600). ``None``: no secret in the zip;
        hidden cases then use the demo secret unless the container provides one.
    project_root : Path
        The bpgrade source checkout.
    homework : str, optional
        The homework ``run_autograder`` grades; by default inferred from each submission.

    Returns
    -------
    Path
        ``out``.
    """
    script = run_autograder_script(homework)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    # 0600 from the start: the zip may hold the course secret.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as zf:
            _add(zf, "setup.sh", SETUP_SH.encode(), 0o755)
            _add(zf, "run_autograder", script.encode(), 0o755)
            for name, path in source_files(project_root):
                _add(zf, name, path.read_bytes(), 0o644)
            if secret is not None:
                _add(zf, SECRET_NAME, secret + b"\n", 0o600)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


# ---------------------------------------------------------------------------------------------
# Grading inside the container
# ---------------------------------------------------------------------------------------------


def student_id_from(metadata: dict) -> str:
    """The id that seeds the hidden cases: the first user's SID, else e-mail, else user id.

    A resubmission by the same student gets the same cases. Group submissions use the member
    whose id sorts first, so every member's upload is graded alike.
    """
    users = [u for u in metadata.get("users") or [] if isinstance(u, dict)]
    for key in ("sid", "email", "id"):
        ids = sorted(str(u[key]) for u in users if u.get(key) not in (None, ""))
        if ids:
            return ids[0]
    return "anonymous"


def _metadata(root: Path) -> dict:
    try:
        data = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _failure_results(exc: BaseException) -> dict:
    """What the student sees when the grader itself failed: no score is invented for them."""
    return {
        "score": 0.0,
        "output": (
            f"The autograder could not grade this submission ({type(exc).__name__}). "
            "This is not a problem with your code; please tell your instructor."
        ),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def run_autograder(root: str | Path, *, tier: str = "auto", homework: str | None = None) -> int:
    """Grade ``ROOT/submission`` into ``ROOT/results/results.json``.

    Returns
    -------
    int
        0 when the submission was graded (whatever its score), 1 when the grader failed; the
        results file is written in both cases, and the traceback goes to stderr (Gradescope keeps
        it in the instructor-visible log).
    """
    from autograder.files import dump_json, write_atomic
    from autograder.harness.zygote import boot_zygote

    root = Path(root)
    results = root / "results" / "results.json"
    zygote = None
    try:
        zygote = boot_zygote(tier)  # before numpy is imported here: both imports overlap
        from autograder.grading import grade_submission
        from autograder.homeworks import spec_for
        from autograder.report.gradescope import to_gradescope

        report = grade_submission(
            root / "submission",
            student_id=student_id_from(_metadata(root)),
            spec=spec_for(root / "submission", homework, beneath=root),
            tier=tier,
            zygote=zygote,
            beneath=root,  # read by the guarded reader: no link followed, regular files only
        )
        document, status = to_gradescope(report), 0
    except Exception as exc:  # the student must still get a results file
        traceback.print_exc()
        document, status = _failure_results(exc), 1
    finally:
        if zygote is not None:
            zygote.close()
    write_atomic(results, dump_json(document))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.integrations.gradescope",
        description="Grade a Gradescope submission (called by run_autograder).",
    )
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--tier", default="auto")
    parser.add_argument("--homework", default=None, help="default: inferred from the submission")
    args = parser.parse_args(argv)
    return run_autograder(args.root, tier=args.tier, homework=args.homework)


if __name__ == "__main__":
    sys.exit(main())
