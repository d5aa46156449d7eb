"""What a grade was made with: grader version, spec hash, case seed id, tier, child runtime.

Every ``results.json`` carries ``extra_data.provenance`` (see :func:`provenance`), so that "why
did my score change?" has an answer: :mod:`autograder.regrade_diff` compares two gradings part by
part and names what differs between them. Shared by ``bpgrade grade``, ``grade-all`` and the
course server (whose result keys use :func:`grader_version` and :func:`seed_id`), so that the
three agree on the same submission.

Nothing here reveals the course secret or a seed: :func:`seed_id` is an HMAC of the student's
identity under the secret, truncated, which names the student's hidden cases without letting
anyone rebuild them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The grader's own code: a change here may change a grade, so it is part of the grader version.
#: The server, commands and integrations are not (they never change a score).
GRADING_CODE = ("autograder", "bpnet_ref")
NOT_GRADING = ("server", "commands", "integrations", "release", "batch", "__pycache__")
#: The per-part spec fields that decide a score (recorded so that a diff can name a change).
PART_FIELDS = ("points", "rtol", "atol", "float32", "public_cases", "hidden_cases", "check")
#: Child facts recorded for every grading (``"unknown"`` when they cannot be read).
CHILD_FIELDS = ("python", "numpy", "scipy", "blas")
UNKNOWN = "unknown"

# Run by the child's interpreter (trusted: installed by `bpgrade setup`), as the grader, once per
# runtime change: numpy's own build record names its BLAS; scipy's version from its metadata.
_VERSIONS_SCRIPT = r"""
import importlib.metadata, json, sys
out = {"python": "%d.%d.%d" % sys.version_info[:3]}
try:
    import numpy
    out["numpy"] = numpy.__version__
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["blas"] = " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k))
    except Exception:
        pass
except Exception:
    pass
try:
    out["scipy"] = importlib.metadata.version("scipy")
except Exception:
    pass
print(json.dumps(out))
"""


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the grading code (:data:`GRADING_CODE`), computed once per process."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(_grading_files(root)):
        rel = path.relative_to(root)
        digest.update(str(rel.as_posix()).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _grading_files(root: Path) -> list[Path]:
    """The ``.py`` and ``.toml`` files of :data:`GRADING_CODE` outside :data:`NOT_GRADING`.

    The folders left out are never entered (the server's templates and static files, every
    ``__pycache__``): a cold ``bpgrade grade`` computes this once.
    """
    found = []
    for package in GRADING_CODE:
        for folder, subfolders, files in os.walk(root / package):
            subfolders[:] = [d for d in subfolders if d not in NOT_GRADING]
            found += [Path(folder, f) for f in files if f.endswith((".py", ".toml"))]
    return found


def file_digest(path: str | Path) -> str:
    """The first 16 hex digits of a file's sha256 (the spec's hash)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def spec_for(spec_path: str, digest: str) -> Any:
    """The :class:`~autograder.spec.Spec` at ``spec_path``, loaded once per content (``digest``,
    from :func:`file_digest`): an edited spec file is read again, an unchanged one never."""
    from autograder.spec import load_spec

    return load_spec(spec_path)


def spec_hash(spec: Any) -> str:
    """The hash of a :class:`~autograder.spec.Spec`'s file (of its fields if it has none)."""
    path = getattr(spec, "path", None)
    if path is not None:
        try:
            return file_digest(path)
        except OSError:
            pass
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:16]


def grader_version(spec_path: str | Path) -> str:
    """The grading code's digest and the spec file's: what, besides the submission, sets a score."""
    return f"{code_version()}-{file_digest(spec_path)}"


def seed_id(secret: bytes, assignment: str, student_id: str) -> str:
    """Names the student's hidden cases without revealing the secret or the seeds themselves.

    ``assignment`` is the spec's name (what :func:`autograder.cases.case_seed` seeds with), so the
    batch and the course server give the same student the same id.
    """
    message = f"bpgrade-seed-id|{assignment}|{student_id}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:16]


def child_versions(tier: str) -> dict[str, str]:
    """Python, numpy, scipy and BLAS of the interpreter that ran (or would run) student code.

    Tier ``local`` runs the grader's own interpreter, read in-process. Every sandboxed tier runs
    the child runtime (``/opt/bpgrade/child``): it is asked once per runtime change (one
    interpreter start, cached on disk with the sandbox probe's key) and then read from memory.
    Never raises: a fact that cannot be read is ``"unknown"``.
    """
    if tier == "local":
        return _complete(_own_versions())
    try:
        from autograder.harness.runtime import find_child_python

        python = find_child_python()
    except Exception:  # no child runtime: the grading that follows fails and says why
        return _complete({})
    return _complete(_runtime_versions(python, json.dumps(_cache_key(python), default=str)))


def provenance(spec: Any, secret: bytes, student_id: str, tier: str) -> dict[str, Any]:
    """The ``extra_data.provenance`` of a results document.

    Parameters
    ----------
    spec : Spec
        The assignment graded.
    secret : bytes
        The course secret (only its HMAC of the student's identity is recorded).
    student_id : str
    tier : str
        The sandbox tier that ran the code (``"none"``: nothing ran).

    Returns
    -------
    dict
        ``grader_version`` (``<code>-<spec>``), ``code_version``, ``spec_hash``, ``seed_id``,
        ``tier``, ``child`` (:data:`CHILD_FIELDS`) and ``parts`` (each part's
        :data:`PART_FIELDS`).
    """
    spec_digest = spec_hash(spec)
    return {
        "grader_version": f"{code_version()}-{spec_digest}",
        "code_version": code_version(),
        "spec_hash": spec_digest,
        "seed_id": seed_id(secret, spec.name, student_id),
        "tier": tier,
        "child": child_versions(tier),
        "parts": {p.id: {f: getattr(p, f) for f in PART_FIELDS} for p in spec.parts},
    }


def _complete(found: dict[str, Any]) -> dict[str, str]:
    return {k: str(found.get(k) or UNKNOWN) for k in CHILD_FIELDS}


def _own_versions() -> dict[str, str]:
    import importlib.metadata

    import numpy

    out = {"python": ".".join(map(str, sys.version_info[:3])), "numpy": numpy.__version__}
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["blas"] = " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k))
    except Exception:  # numpy < 1.25 has no mode="dicts"
        pass
    try:
        out["scipy"] = importlib.metadata.version("scipy")
    except importlib.metadata.PackageNotFoundError:
        pass
    return out


def _cache_key(python: str) -> list[object]:
    from autograder.harness.runtime import runtime_cache_key

    try:
        return runtime_cache_key(python)
    except OSError:
        return [python]


@functools.lru_cache(maxsize=8)
def _runtime_versions(python: str, key: str) -> dict[str, str]:
    """The child runtime's versions, from the disk cache if ``key`` still matches."""
    cache = _cache_path(python)
    if cache is not None:
        try:
            data = json.loads(Path(cache).read_text(encoding="utf-8"))
            if data.get("key") == key and isinstance(data.get("versions"), dict):
                return data["versions"]
        except (OSError, ValueError):
            pass
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "HOME": "/nonexistent"}
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _VERSIONS_SCRIPT],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        versions = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, ValueError, subprocess.SubprocessError):
        versions = {}
    if cache is not None and versions:
        from autograder.files import write_atomic

        try:
            write_atomic(cache, json.dumps({"key": key, "versions": versions}))
        except OSError:
            pass
    return versions if isinstance(versions, dict) else {}


def _cache_path(python: str) -> str | None:
    try:
        from autograder.harness.runtime import private_dir

        name = "versions-" + hashlib.sha256(python.encode()).hexdigest()[:16] + ".json"
        return os.path.join(private_dir(), name)
    except Exception:  # no private state dir (another platform): ask every process once
        return None
